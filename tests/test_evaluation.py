"""``qa eval``: the folding and hit logic on hand-made cases, and one real run on the corpus."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import pytest

from qa import evaluation as ev
from qa.evaluation import Judge, contains_phrase, first_hit_rank, fold, fold_phrases, metrics, passage_hit, strip_citations

ROOT = Path(__file__).resolve().parent.parent
QUESTIONS = ROOT / "eval" / "questions.jsonl"
_SCRIPT = Path(sys.executable).parent / "qa"
QA = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "qa.cli"]


# -- folding and hits ------------------------------------------------------------------------


def test_fold_quotes_dashes_case_and_whitespace():
    assert fold("Children’s  “Social”\n  Care – 2009—10 − x\u00a0y") == "children's \"social\" care - 2009-10 - x y"


def test_phrase_across_a_line_wrap():
    source = "Of the 194 children, 119 were known to\n   children’s social care at the time"
    assert passage_hit(["119 were known to children's social care"], source)


def test_curly_and_straight_quotes_match_both_ways():
    assert passage_hit(["the child’s voice"], 'They did not hear the child\'s voice.')
    assert passage_hit(["the child's voice"], "They did not hear the CHILD’S VOICE.")


def test_a_miss_is_a_miss():
    assert not passage_hit(["domestic violence"], "The most common issues were substance misuse and mental ill-health.")
    assert not passage_hit([], "anything at all")  # no phrases never hits
    assert not passage_hit([""], "an empty phrase would match everything")


def test_phrase_found_only_in_the_source_span():
    # The passage builder rejoined a hyphenated word; the key phrase was copied from the source.
    passage = "The reviews were multiagency in scope."
    source = "The reviews were multi-\nagency in scope."
    assert not passage_hit(["were multi- agency"], passage)
    assert passage_hit(["were multi- agency"], passage, source)


def test_strip_citations():
    assert strip_citations("The figure was 147. [1] Most were good. [2, 3]") == "The figure was 147. Most were good."
    assert contains_phrase(fold_phrases(["147. Most were good"]), fold(strip_citations("The figure was 147. [1] Most were good. [2]")))


def test_first_hit_rank():
    assert first_hit_rank([False, False, True, True]) == 3
    assert first_hit_rank([False] * 12 + [True]) is None
    assert first_hit_rank([]) is None


class FakeIndex:
    """Just enough of qa.index.Index for the Judge."""

    def __init__(self, texts: list[str], spans: list[tuple[int, int]], doc_id: str = "d1"):
        self.texts, self.spans, self.doc_id = texts, spans, doc_id
        self.n_passages = len(texts)

    def text(self, i: int) -> str:
        return self.texts[i]

    def passage(self, i: int) -> dict:
        s, e = self.spans[i]
        return {"id": f"{self.doc_id}:p-{i}", "doc_id": self.doc_id, "text": self.texts[i], "start": s, "end": e}


def test_judge_uses_text_and_source_span_of_the_right_passage():
    source = "First para about babies.\n\nSecond para: drug and alcohol\nmis-\nuse was common.\n\nThird."
    a = source.index("Second")
    b = source.index("\n\nThird")
    index = FakeIndex(["First para about babies.", "Second para: drug and alcohol misuse was common.", "Third."], [(0, 24), (a, b), (b + 2, len(source))])
    judge = Judge(index, {"d1": source})
    phrases = fold_phrases(["alcohol mis- use"])
    assert [judge.row_hit(i, phrases) for i in range(3)] == [False, True, False]
    assert judge.result_passage_hit({"id": "d1:p-1"}, fold_phrases(["alcohol misuse"]))
    assert judge.phrases_found(phrases) and not judge.phrases_found(fold_phrases(["not there"]))


def test_metrics_of_hand_made_records():
    records = [
        {"kind": "a", "answerable": True, "rank": 1, "answered": True, "answer_has_key": True, "chars_top5": [100, 300], "ms": 1.0},
        {"kind": "a", "answerable": True, "rank": 4, "answered": False, "answer_has_key": False, "chars_top5": [200], "ms": 3.0},
        {"kind": "a", "answerable": True, "rank": None, "answered": True, "answer_has_key": False, "chars_top5": [], "ms": 2.0},
        {"kind": "out_of_scope", "answerable": False, "rank": None, "answered": False, "answer_has_key": None, "chars_top5": [50], "ms": 5.0},
    ]
    m = metrics(records)
    assert (m["n"], m["answerable"], m["out_of_scope"]) == (4, 3, 1)
    assert m["hit@1"] == pytest.approx(1 / 3) and m["hit@3"] == pytest.approx(1 / 3) and m["hit@5"] == pytest.approx(2 / 3)
    assert m["mrr@10"] == pytest.approx((1 + 0.25) / 3)
    assert m["answered"] == pytest.approx(2 / 3) and m["refused"] == 1.0 and m["answer_has_key"] == pytest.approx(1 / 3)
    assert m["mean_chars_top5"] == 200  # answerable rows only
    assert m["ms_median"] == 2.5


def test_load_rows_rejects_bad_lines(tmp_path):
    path = tmp_path / "set.jsonl"
    path.write_text('{"id": "a", "question": "ok?", "kind": "typo", "key_phrases": ["x"]}\n{"id": "b"}\n', encoding="utf-8")
    with pytest.raises(ValueError, match=":2:"):
        ev.load_rows(path)


def test_ablation_is_skipped_cleanly_without_a_table(monkeypatch):
    import qa.retrieval

    monkeypatch.delattr(qa.retrieval, "ABLATIONS", raising=False)
    table, config, why = ev.ablation_configs()
    assert table is None and config is None and "ABLATIONS" in why


def test_bm25s_peer_ranks_the_passage_with_the_words():
    pytest.importorskip("bm25s")
    from qa.peers import BM25sPeer, peer_query

    peer = BM25sPeer(["The fathers were rarely seen.", "Babies under one year old.", "Domestic violence and drug misuse."])
    assert peer.search("were the fathers seen?")[0] == 0
    assert peer.search("babies")[0] == 1
    assert peer_query("and babies?", ["what about fathers"]) == "what about fathers and babies?"
    assert peer.search("zzzz the of") == []
    assert "stemmer" in peer.description


# -- the real command ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def real_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("eval")
    index, out = tmp / "index.qaidx", tmp / "figures.json"
    proc = subprocess.run(
        [*QA, "eval", str(QUESTIONS), "--index", str(index), "--min-top5", "0.0", "--json", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    return proc, index, out


def test_qa_eval_prints_a_row_per_kind_and_overall(real_run):
    proc, _, out = real_run
    assert proc.returncode == 0, proc.stderr
    kinds = list(dict.fromkeys(json.loads(line)["kind"] for line in QUESTIONS.read_text(encoding="utf-8").splitlines() if line.strip()))
    lines = proc.stdout.splitlines()
    header = next(i for i, line in enumerate(lines) if line.split()[:2] == ["kind", "n"])
    table = [line.split()[0] for line in lines[header + 2 : header + 3 + len(kinds)]]
    assert table == kinds + ["overall"]
    for column in ("hit@1", "hit@3", "hit@5", "MRR@10", "answered", "refused OOS", "answer has key", "chars@5", "median ms", "p95 ms"):
        assert column in lines[header]
    assert "Targets (issue 4)" in proc.stdout
    figures = json.loads(out.read_text(encoding="utf-8"))
    overall = figures["sets"][0]["ours"]["overall"]
    assert overall["n"] == sum(1 for line in QUESTIONS.read_text(encoding="utf-8").splitlines() if line.strip())
    assert 0.0 <= overall["hit@5"] <= 1.0 and overall["hit@1"] <= overall["hit@3"] <= overall["hit@5"]


def test_min_top5_fails_the_run_when_below(real_run, tmp_path, capsys):
    proc, index, _ = real_run
    assert proc.returncode == 0, proc.stderr
    small = tmp_path / "small.jsonl"
    rows = [json.loads(line) for line in QUESTIONS.read_text(encoding="utf-8").splitlines() if line.strip()][:5]
    small.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    md = tmp_path / "quality.md"
    args = argparse.Namespace(corpus=None, index=str(index), file=str(small), peers=False, json=None, markdown=str(md), min_top5=1.01)
    assert ev.run_cli(args) == 1
    assert "below --min-top5" in capsys.readouterr().err
    text = md.read_text(encoding="utf-8")
    assert "qa eval" in text and "| hit@5 (answerable) |" in text


@pytest.mark.slow
def test_dense_peer_when_installed():
    from qa.peers import DensePeer, dense_available

    ok, why = dense_available()
    if not ok:
        pytest.skip(why)
    peer = DensePeer(["Mothers and fathers of the children.", "The weather in Spain.", "Babies under one year old."])
    assert peer.search("mums and dads")[0] == 0
    assert peer.search("infants")[0] == 2


@pytest.mark.parametrize("name", ["questions.jsonl", "heldout.jsonl", "heldout2.jsonl", "heldout3.jsonl", "heldout4.jsonl", "heldout5.jsonl", "heldout6.jsonl", "heldout7.jsonl", "heldout8.jsonl", "heldout9.jsonl", "heldout10.jsonl", "heldout11.jsonl", "heldout12.jsonl"])
def test_every_key_phrase_is_in_the_report_its_row_names(name):
    """The sets are only a measure while their key phrases are really in the reports: a corpus or
    phrase edit that breaks one must fail here, not quietly turn a question into a miss."""
    from qa.documents import load_corpus

    texts = {d.doc_id: fold(d.text) for d in load_corpus(ROOT / "corpus")}
    rows = ev.load_rows(ROOT / "eval" / name)
    answerable = [r for r in rows if r.kind != "out_of_scope"]
    assert len(answerable) >= 60 and len(rows) - len(answerable) >= 16
    broken = [r.id for r in answerable if not r.key_phrases or not any(fold(p) in texts.get(r.doc_id, "") for p in r.key_phrases)]
    assert broken == []
