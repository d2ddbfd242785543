"""``qa eval FILE``: score the real engine (and peers) on an evaluation set of questions.

An evaluation set is JSON lines, one question per line::

    {"id": "q001", "question": "...", "kind": "paraphrase", "doc_id": "003_...",
     "key_phrases": ["verbatim words from the passage that answers"], "history": ["earlier question"]}

Rows of kind ``out_of_scope`` have no key phrases (and no ``doc_id``): the engine should refuse them.

**A hit.** A returned passage is a hit when, after :func:`fold` (lower case, curly quotes to straight,
every dash to ``-``, runs of white space to one space, NFKC), its text contains any of the row's key
phrases, or the folded source document text inside the passage's ``[start, end)`` span contains one
(passage texts join hard-wrapped lines and drop page furniture, so a phrase copied from the source
can differ from the passage text in the characters between words).

**Figures**, overall and per kind (retrieval figures over answerable rows only):

* hit@1, hit@3, hit@5: share of answerable rows with a hit among the first 1 / 3 / 5 passages;
* MRR@10: mean of 1/rank of the first hit within 10 passages (0 when none);
* answered: share of answerable rows whose ``answer`` is not None;
* refused: share of out-of-scope rows whose ``answer`` is None;
* answer has key: share of answerable rows whose answer text (citation markers like `` [1]`` removed,
  folded) contains a key phrase;
* mean chars@5: mean length in characters of the returned top-5 passages (answerable rows);
* median / p95 ms: wall time of ``engine.ask(question, history, top_k=10)`` per question.

Retrieval is scored on the passages the engine returns even when it refuses (it lists the passages
it looked at), so retrieval and refusal are measured separately.

``--peers`` adds bm25s and, when installed, a dense all-MiniLM-L6-v2 model (see :mod:`qa.peers`),
scored on the same passages. ``--ablation`` runs every configuration of
``qa.retrieval.ABLATIONS``. ``--json`` / ``--markdown`` write the figures; ``--min-top5 X`` makes the
command exit 1 when our overall hit@5 is below ``X`` (CI).
"""

from __future__ import annotations

import json
import platform
import re
import shlex
import statistics
import sys
import time
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterable, Sequence

OUT_OF_SCOPE = "out_of_scope"
DEPTH = 10
"""Passages asked for per question (MRR@10)."""

BASELINE_MS_PER_QUESTION = 1.0
"""Median ms per question of the engine before the issue-4 work (plain TF-IDF cosine,
``engine.ask(top_k=10)`` over eval/questions.jsonl on the development machine). Used for the
latency target (at most twice this) only when ``qa.retrieval.ABLATIONS`` has no baseline row; when
it has one (``qa.retrieval.BASELINE_ABLATION``, or a label containing "all off"), that
configuration is timed in the same run on the same machine instead, which is fairer on a busy or
different machine."""

# --------------------------------------------------------------------------------------------
# Folding and hits

_FOLD = str.maketrans(
    {
        "‘": "'", "’": "'", "‚": "'", "‛": "'", "′": "'",
        "“": '"', "”": '"', "„": '"', "‟": '"', "″": '"',
        "‐": "-", "‑": "-", "‒": "-", "–": "-", "—": "-", "―": "-", "−": "-", "﹘": "-", "﹣": "-", "－": "-",
        "\u00ad": None, "\u200b": None,
    }
)
_CITATION_RE = re.compile(r"\s*\[\d+(?:\s*[,;–-]\s*\d+)*\]")


def fold(text: str) -> str:
    """Lower case, NFKC, curly quotes -> straight, every dash -> "-", white-space runs -> one space."""
    text = unicodedata.normalize("NFKC", text or "").translate(_FOLD).lower()
    return " ".join(text.split())


def strip_citations(answer: str) -> str:
    """``"A sentence. [1] Another. [2]"`` -> ``"A sentence. Another."``."""
    return _CITATION_RE.sub("", answer or "")


def fold_phrases(phrases: Iterable[str]) -> list[str]:
    """Folded, non-empty key phrases (an empty phrase would match everything)."""
    return [f for f in (fold(p) for p in phrases or []) if f]


def contains_phrase(folded_phrases: Sequence[str], *folded_texts: str | None) -> bool:
    """Whether any of the (already folded) texts contains any of the folded phrases."""
    return any(p in t for t in folded_texts if t for p in folded_phrases)


def passage_hit(phrases: Iterable[str], text: str, source_span: str | None = None) -> bool:
    """Does a passage (its text, and optionally the source text of its span) contain a key phrase?"""
    folded = fold_phrases(phrases)
    return contains_phrase(folded, fold(text), fold(source_span) if source_span is not None else None)


def first_hit_rank(hits: Sequence[bool], depth: int = DEPTH) -> int | None:
    """1-based rank of the first True within ``depth``, or None."""
    for i, hit in enumerate(list(hits)[:depth], start=1):
        if hit:
            return i
    return None


class Judge:
    """Decides hits for passages of one index, caching folded texts and source spans per row."""

    def __init__(self, index, documents: dict[str, str] | None = None) -> None:
        self.index = index
        self.documents = documents or {}
        self._text: dict[int, str] = {}
        self._span: dict[int, str | None] = {}
        self._row_of: dict[str, int] | None = None

    def row_of(self, passage_id: str) -> int | None:
        if self._row_of is None:
            self._row_of = {self.index.passage(i)["id"]: i for i in range(self.index.n_passages)}
        return self._row_of.get(passage_id)

    def folded_text(self, row: int) -> str:
        if row not in self._text:
            self._text[row] = fold(self.index.text(row))
        return self._text[row]

    def folded_span(self, row: int) -> str | None:
        if row not in self._span:
            p = self.index.passage(row)
            source = self.documents.get(p["doc_id"])
            self._span[row] = fold(source[p["start"] : p["end"]]) if source is not None and p.get("end") is not None else None
        return self._span[row]

    def row_hit(self, row: int, folded_phrases: Sequence[str]) -> bool:
        if not folded_phrases:
            return False
        return contains_phrase(folded_phrases, self.folded_text(row)) or contains_phrase(folded_phrases, self.folded_span(row))

    def result_passage_hit(self, passage: dict, folded_phrases: Sequence[str]) -> bool:
        """A passage of a result object: judged through its index row when known, else its own fields."""
        row = self.row_of(passage.get("id", ""))
        if row is not None:
            return self.row_hit(row, folded_phrases)
        source = self.documents.get(passage.get("doc_id"))
        span = fold(source[passage["start"] : passage["end"]]) if source is not None and passage.get("end") is not None else None
        return contains_phrase(folded_phrases, fold(passage.get("text", "")), span)

    def phrases_found(self, folded_phrases: Sequence[str]) -> bool:
        """Whether any passage of the index contains a phrase (else the row can never be hit)."""
        return any(self.row_hit(i, folded_phrases) for i in range(self.index.n_passages))


# --------------------------------------------------------------------------------------------
# Evaluation sets


@dataclass
class Row:
    id: str
    question: str
    kind: str
    key_phrases: list[str] = field(default_factory=list)
    doc_id: str | None = None
    history: list[str] = field(default_factory=list)

    @property
    def answerable(self) -> bool:
        return self.kind != OUT_OF_SCOPE

    @property
    def folded(self) -> list[str]:
        return fold_phrases(self.key_phrases)


def load_rows(path: str | Path) -> list[Row]:
    """The rows of an evaluation set; raises ValueError naming the line of a malformed row."""
    path = Path(path)
    rows: list[Row] = []
    seen: set[str] = set()
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
                question = data["question"]
                if not isinstance(question, str) or not question.strip():
                    raise ValueError("empty question")
            except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
                raise ValueError(f"{path}:{n}: not an evaluation row ({exc})") from None
            row = Row(
                id=str(data.get("id") or f"line{n}"),
                question=question,
                kind=str(data.get("kind") or "unspecified"),
                key_phrases=[p for p in data.get("key_phrases") or [] if isinstance(p, str)],
                doc_id=data.get("doc_id"),
                history=[h for h in data.get("history") or [] if isinstance(h, str) and h.strip()],
            )
            if row.id in seen:
                raise ValueError(f"{path}:{n}: duplicate id {row.id!r}")
            seen.add(row.id)
            rows.append(row)
    if not rows:
        raise ValueError(f"{path} has no questions")
    return rows


# --------------------------------------------------------------------------------------------
# Running systems


def run_engine(engine, rows: Sequence[Row], judge: Judge, depth: int = DEPTH) -> list[dict]:
    """One record per row: rank of the first hit, answered, answer-has-key, top passages, ms."""
    try:
        engine.ask("warm up the caches", top_k=depth)
    except Exception:
        pass
    records = []
    for row in rows:
        started = time.perf_counter()
        result = engine.ask(row.question, history=row.history or None, top_k=depth)
        ms = (time.perf_counter() - started) * 1000
        folded = row.folded
        passages = result.get("passages") or []
        hits = [judge.result_passage_hit(p, folded) for p in passages] if row.answerable else []
        answer = result.get("answer")
        records.append(
            {
                "id": row.id,
                "kind": row.kind,
                "answerable": row.answerable,
                "rank": first_hit_rank(hits, depth) if row.answerable else None,
                "answered": answer is not None,
                "answer_has_key": bool(answer) and contains_phrase(folded, fold(strip_citations(answer))) if row.answerable else None,
                "chars_top5": [len(p.get("text") or "") for p in passages[:5]],
                "top": [p.get("id") for p in passages[:5]],
                "answer": answer,
                "evidence": result.get("evidence"),
                "ms": ms,
            }
        )
    return records


def run_peer(peer, rows: Sequence[Row], judge: Judge, depth: int = DEPTH) -> list[dict]:
    """Retrieval-only records for a peer (answerable rows; a follow-up is asked with its history)."""
    from qa.peers import peer_query

    for _ in range(3):  # warm-up: first calls pay for lazy initialisation
        peer.search("warm up the caches", k=depth)
    records = []
    for row in rows:
        if not row.answerable:
            continue
        started = time.perf_counter()
        ranked = peer.search(peer_query(row.question, row.history), k=depth)
        ms = (time.perf_counter() - started) * 1000
        folded = row.folded
        records.append(
            {
                "id": row.id,
                "kind": row.kind,
                "answerable": True,
                "rank": first_hit_rank([judge.row_hit(r, folded) for r in ranked], depth),
                "chars_top5": [len(judge.index.text(r)) for r in ranked[:5]],
                "top": [judge.index.passage(r)["id"] for r in ranked[:5]],
                "ms": ms,
            }
        )
    return records


def _share(values: list[bool]) -> float | None:
    return sum(values) / len(values) if values else None


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def metrics(records: Sequence[dict]) -> dict:
    """Figures of one group of records (None where a figure does not apply)."""
    answerable = [r for r in records if r["answerable"]]
    oos = [r for r in records if not r["answerable"]]
    ranks = [r["rank"] for r in answerable]
    chars = [c for r in answerable for c in r["chars_top5"]]
    ms = [r["ms"] for r in records if r.get("ms") is not None]
    out = {
        "n": len(records),
        "answerable": len(answerable),
        "out_of_scope": len(oos),
        "hit@1": _share([k is not None and k <= 1 for k in ranks]),
        "hit@3": _share([k is not None and k <= 3 for k in ranks]),
        "hit@5": _share([k is not None and k <= 5 for k in ranks]),
        "mrr@10": (sum(1 / k for k in ranks if k) / len(ranks)) if ranks else None,
        "mean_chars_top5": (sum(chars) / len(chars)) if chars else None,
        "ms_median": statistics.median(ms) if ms else None,
        "ms_p95": _percentile(ms, 0.95),
    }
    if records and "answered" in records[0]:
        out["answered"] = _share([r["answered"] for r in answerable])
        out["refused"] = _share([not r["answered"] for r in oos])
        out["answer_has_key"] = _share([bool(r["answer_has_key"]) for r in answerable])
    return out


def summarise(records: Sequence[dict], kinds: Sequence[str]) -> dict:
    """{"overall": figures, "by_kind": {kind: figures}} (kinds in the given order)."""
    return {
        "overall": metrics(records),
        "by_kind": {k: metrics([r for r in records if r["kind"] == k]) for k in kinds if any(r["kind"] == k for r in records)},
    }


# --------------------------------------------------------------------------------------------
# Ablations


def ablation_configs() -> tuple[dict[str, dict] | None, type | None, str]:
    """``qa.retrieval.ABLATIONS`` and ``RetrievalConfig``, or (None, None, why not)."""
    try:
        from qa import retrieval
    except ImportError as exc:  # pragma: no cover
        return None, None, str(exc)
    ablations = getattr(retrieval, "ABLATIONS", None)
    config = getattr(retrieval, "RetrievalConfig", None)
    if not isinstance(ablations, dict) or not ablations:
        return None, None, "qa.retrieval has no ABLATIONS table yet"
    if config is None:
        return None, None, "qa.retrieval has no RetrievalConfig yet"
    return ablations, config, ""


def _baseline_label(table: dict | None) -> str | None:
    """The ablation row that stands for the engine before the issue-4 mechanisms (for the latency
    target): ``qa.retrieval.BASELINE_ABLATION`` if set, else a label containing "all off"."""
    if not table:
        return None
    from qa import retrieval

    named = getattr(retrieval, "BASELINE_ABLATION", None)
    if named in table:
        return named
    return next((label for label in table if "all off" in label.lower()), None)


def open_engine(corpus: Path, index_path: Path, config=None, base=None):
    """An engine with ``config``; reuses ``base``'s loaded index when the constructor allows it."""
    from qa.engine import Engine

    if config is None:
        return Engine.open(corpus, index_path)
    if base is not None:
        try:
            return Engine(base.index, corpus, config=config)
        except TypeError:
            pass
    return Engine.open(corpus, index_path, config=config)


# --------------------------------------------------------------------------------------------
# Targets (issue 4)


def targets(ours: dict, peers: dict[str, dict], baseline_ms: float, baseline_source: str) -> list[dict]:
    """Each target of issue 4 with its threshold, our value and whether it is met (None: not measured)."""
    o = ours["overall"]

    def row(name: str, value, threshold: str, met) -> dict:
        return {"target": name, "value": value, "threshold": threshold, "met": met}

    def at_least(x, t):
        return None if x is None else x >= t

    best_peer = max((p["overall"]["hit@5"] for p in peers.values() if p["overall"].get("hit@5") is not None), default=None)
    margin = None if best_peer is None or o["hit@5"] is None else o["hit@5"] - best_peer
    chars = o.get("mean_chars_top5")
    return [
        row("hit@5 (answerable)", o["hit@5"], ">= 0.90", at_least(o["hit@5"], 0.90)),
        row("hit@1 (answerable)", o["hit@1"], ">= 0.65", at_least(o["hit@1"], 0.65)),
        row("MRR@10", o["mrr@10"], ">= 0.75", at_least(o["mrr@10"], 0.75)),
        row("mean chars of top-5 passages", chars, "<= ~600", None if chars is None else chars <= 600),
        row("hit@5 margin over best peer", margin, ">= +0.15" + ("" if peers else " (run with --peers)"), at_least(margin, 0.15 - 1e-9)),
        row("out-of-scope refused", o.get("refused"), ">= 0.85", at_least(o.get("refused"), 0.85)),
        row("answerable answered", o.get("answered"), ">= 0.95", at_least(o.get("answered"), 0.95)),
        row("answer text has key phrase", o.get("answer_has_key"), ">= 0.60", at_least(o.get("answer_has_key"), 0.60)),
        row(
            "median ms per question",
            o.get("ms_median"),
            f"<= 2 x {baseline_ms:.2f} ms ({baseline_source})",
            None if o.get("ms_median") is None else o["ms_median"] <= 2 * baseline_ms,
        ),
    ]


# --------------------------------------------------------------------------------------------
# Formatting


def _fmt(value, kind: str = "rate") -> str:
    if value is None:
        return "—"
    if kind == "rate":
        return f"{value:.3f}"
    if kind == "ms":
        return f"{value:.2f}"
    if kind == "signed":
        return f"{value:+.3f}"
    if kind == "int":
        return str(int(value))
    return f"{value:.0f}"


def text_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A plain-text table: first column left-aligned, the others right-aligned."""
    widths = [max(len(str(h)), *(len(str(r[i])) for r in rows)) if rows else len(str(h)) for i, h in enumerate(headers)]

    def line(cells):
        return "  ".join(str(c).ljust(w) if i == 0 else str(c).rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))

    return "\n".join([line(headers), line(["-" * w for w in widths]), *(line(r) for r in rows)])


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[str]], left: int = 1) -> str:
    """A Markdown table; the first ``left`` columns left-aligned, the others right-aligned."""
    out = ["| " + " | ".join(headers) + " |", "|" + "|".join(["---"] * left + ["---:"] * (len(headers) - left)) + "|"]
    out += ["| " + " | ".join(str(c).replace("|", "\\|") for c in r) + " |" for r in rows]
    return "\n".join(out)


OURS_COLUMNS = [
    ("n", "n", "int"),
    ("hit@1", "hit@1", "rate"),
    ("hit@3", "hit@3", "rate"),
    ("hit@5", "hit@5", "rate"),
    ("MRR@10", "mrr@10", "rate"),
    ("answered", "answered", "rate"),
    ("refused OOS", "refused", "rate"),
    ("answer has key", "answer_has_key", "rate"),
    ("chars@5", "mean_chars_top5", "chars"),
    ("median ms", "ms_median", "ms"),
    ("p95 ms", "ms_p95", "ms"),
]


def ours_rows(summary: dict) -> list[list[str]]:
    groups = list(summary["by_kind"].items()) + [("overall", summary["overall"])]
    return [[name] + [_fmt(m.get(key), kind) for _, key, kind in OURS_COLUMNS] for name, m in groups]


def comparison_rows(ours: dict, peers: dict[str, dict]) -> tuple[list[str], list[list[str]]]:
    systems = [("ours", ours)] + list(peers.items())
    headers = ["kind", "n"] + [f"{name} {m}" for name, _ in systems for m in ("hit@1", "hit@5", "MRR")]
    rows = []
    for kind in list(ours["by_kind"]) + ["overall"]:
        if kind != "overall" and not ours["by_kind"][kind]["answerable"]:
            continue
        base = ours["overall"] if kind == "overall" else ours["by_kind"][kind]
        cells = [kind, str(base["answerable"])]
        for _, summary in systems:
            m = summary["overall"] if kind == "overall" else summary["by_kind"].get(kind, {})
            cells += [_fmt(m.get("hit@1")), _fmt(m.get("hit@5")), _fmt(m.get("mrr@10"))]
        rows.append(cells)
    return headers, rows


ABLATION_HEADERS = ["configuration", "hit@1", "hit@5", "MRR@10", "refused OOS", "answered", "answer has key", "median ms"]


def ablation_rows(ablations: list[dict]) -> list[list[str]]:
    out = []
    for a in ablations:
        m = a["overall"]
        out.append([a["label"], _fmt(m["hit@1"]), _fmt(m["hit@5"]), _fmt(m["mrr@10"]), _fmt(m.get("refused")), _fmt(m.get("answered")), _fmt(m.get("answer_has_key")), _fmt(m.get("ms_median"), "ms")])
    return out


def target_rows(items: list[dict]) -> list[list[str]]:
    out = []
    for t in items:
        kind = "ms" if "ms" in t["target"] else "chars" if "chars" in t["target"] else "signed" if "margin" in t["target"] else "rate"
        met = "not measured" if t["met"] is None else ("met" if t["met"] else "NOT met")
        out.append([t["target"], t["threshold"], _fmt(t["value"], kind), met])
    return out


def misses(result: dict, limit: int | None = None) -> list[dict]:
    """Answerable rows without a hit in our top 5, those a peer found first, then the furthest off."""
    rows = {r.id: r for r in result["rows"]}
    peer_ranks = {name: {r["id"]: r["rank"] for r in recs} for name, recs in result["peer_records"].items()}
    out = []
    for rec in result["records"]:
        if not rec["answerable"] or (rec["rank"] is not None and rec["rank"] <= 5):
            continue
        row = rows[rec["id"]]
        peers = {name: ranks.get(rec["id"]) for name, ranks in peer_ranks.items()}
        out.append(
            {
                "id": rec["id"],
                "kind": rec["kind"],
                "question": row.question,
                "history": row.history,
                "key_phrases": row.key_phrases,
                "doc_id": row.doc_id,
                "rank": rec["rank"],
                "answered": rec["answered"],
                "peer_ranks": peers,
                "top_passage": rec["top"][0] if rec["top"] else None,
                "top_text": result["top_texts"].get(rec["id"], ""),
            }
        )
    found_by_peer = lambda m: any(k is not None and k <= 5 for k in m["peer_ranks"].values())  # noqa: E731
    out.sort(key=lambda m: (not found_by_peer(m), m["rank"] is not None, m["rank"] or 0))
    return out[:limit] if limit else out


def wrong_refusals(result: dict) -> tuple[list[dict], list[dict]]:
    """(answerable rows refused, out-of-scope rows answered)."""
    rows = {r.id: r for r in result["rows"]}
    refused = [{"id": r["id"], "kind": r["kind"], "question": rows[r["id"]].question, "evidence": r.get("evidence")} for r in result["records"] if r["answerable"] and not r["answered"]]
    accepted = [{"id": r["id"], "question": rows[r["id"]].question, "answer": r["answer"], "evidence": r.get("evidence")} for r in result["records"] if not r["answerable"] and r["answered"]]
    return refused, accepted


def _clip(text: str, n: int = 160) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= n else text[: n - 1] + "…"


def format_report(result: dict, misses_shown: int = 10) -> str:
    """The readable stdout report of one evaluation set."""
    s = result["ours"]
    o = s["overall"]
    lines = [
        f"Evaluation set {result['file']}: {o['n']} questions ({o['answerable']} answerable, {o['out_of_scope']} out of scope); "
        f"{result['passages']} passages in {result['documents']} documents",
        "",
        "Ours (engine.ask, top_k=10); retrieval figures over answerable rows:",
        text_table(["kind"] + [c for c, _, _ in OURS_COLUMNS], ours_rows(s)),
    ]
    if result["unreachable"]:
        lines += ["", f"Note: {len(result['unreachable'])} answerable rows have key phrases found in no passage (they can never hit): {', '.join(result['unreachable'])}"]
    if result["peers"] or result["peer_notes"]:
        lines += ["", "Peers on the same passages (retrieval only; follow-ups asked as history + question):"]
        if result["peers"]:
            headers, rows = comparison_rows(s, result["peers"])
            lines.append(text_table(headers, rows))
            for name, info in result["peer_info"].items():
                pm = result["peers"][name]["overall"]
                lines.append(f"  {name}: {info}; median {_fmt(pm['ms_median'], 'ms')} ms, p95 {_fmt(pm['ms_p95'], 'ms')} ms per query")
        lines += [f"  {note}" for note in result["peer_notes"]]
    if result.get("ablations") is not None or result.get("ablation_note"):
        lines += ["", "Ablations (each row one RetrievalConfig from qa.retrieval.ABLATIONS):"]
        if result.get("ablations"):
            lines.append(text_table(ABLATION_HEADERS, ablation_rows(result["ablations"])))
        if result.get("ablation_note"):
            lines.append(f"  {result['ablation_note']}")
    lines += ["", "Targets (issue 4):", text_table(["target", "threshold", "value", "status"], target_rows(result["targets"]))]
    miss = misses(result)
    if miss and misses_shown:
        order = "those a peer found first, then by rank" if result["peers"] else "by rank"
        lines += ["", f"Misses (no key phrase in our top 5): {len(miss)}; the first {min(misses_shown, len(miss))} ({order}; --json has all):"]
        for m in miss[:misses_shown]:
            peers = ", ".join(f"{k} {v if v else '-'}" for k, v in m["peer_ranks"].items())
            lines.append(f"  {m['id']} [{m['kind']}] rank {m['rank'] or '>10'}{'; peers: ' + peers if peers else ''}: {m['question']}")
            lines.append(f"      wanted: {_clip(' | '.join(m['key_phrases']), 140)}")
            lines.append(f"      our #1: {m['top_passage']}: {_clip(m['top_text'], 140)}")
    refused, accepted = wrong_refusals(result)
    if refused or accepted:
        lines += ["", f"Refused although answerable: {', '.join(r['id'] for r in refused) or 'none'}",
                  f"Answered although out of scope: {', '.join(r['id'] for r in accepted) or 'none'}"]
    return "\n".join(lines)


def format_markdown(results: list[dict], meta: dict) -> str:
    out = [
        "# Answer quality",
        "",
        "Produced by:",
        "",
        "```",
        meta["command"],
        "```",
        "",
        f"on {meta['date']} ({meta['machine']}); corpus `{meta['corpus']}` (fingerprint `{meta['fingerprint'][:16]}`), "
        f"{meta['passages']} passages in {meta['documents']} documents.",
        "",
        "A passage is a *hit* when it contains one of the question's key phrases (copied verbatim from the "
        "report) after folding case, quote styles, dashes and white space (`qa/evaluation.py`). Retrieval "
        "figures count answerable questions only; *refused OOS* is the share of out-of-scope questions "
        "refused; *answer has key* the share of answerable questions whose answer text contains a key "
        "phrase; *chars@5* the mean length of the top-5 passages returned.",
    ]
    for r in results:
        s = r["ours"]
        out += ["", f"## {r['file']} ({s['overall']['n']} questions: {s['overall']['answerable']} answerable, {s['overall']['out_of_scope']} out of scope)", ""]
        out += ["### Targets (issue 4)", "", markdown_table(["target", "threshold", "value", "status"], target_rows(r["targets"]), left=2)]
        if r["peers"]:
            headers, rows = comparison_rows(s, r["peers"])
            out += ["", "### Ours beside the peers, per kind (same passages)", "", markdown_table(headers, rows), ""]
            for name, info in r["peer_info"].items():
                pm = r["peers"][name]["overall"]
                out.append(f"- **{name}**: {info}; median {_fmt(pm['ms_median'], 'ms')} ms per query.")
        for note in r["peer_notes"]:
            out.append(f"- {note}")
        out += ["", "### Ours per kind", "", markdown_table(["kind"] + [c for c, _, _ in OURS_COLUMNS], ours_rows(s))]
        if r.get("ablations"):
            out += ["", "### Ablations", "", "Each row is one `RetrievalConfig` from `qa.retrieval.ABLATIONS`, on this set.", "",
                    markdown_table(ABLATION_HEADERS, ablation_rows(r["ablations"]))]
        elif r.get("ablation_note"):
            out += ["", f"Ablations: {r['ablation_note']}"]
        miss = misses(r, 10)
        if miss:
            out += ["", f"### Misses (first {len(miss)} of {len(misses(r))} without a hit in our top 5)", ""]
            for m in miss:
                out.append(f"- `{m['id']}` ({m['kind']}, our rank {m['rank'] or '>10'}): {m['question']} — our #1 `{m['top_passage']}`")
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------------------------
# The command


def _documents(corpus: Path) -> dict[str, str]:
    """Source texts by doc id (for the span check); empty if the corpus cannot be read."""
    try:
        from qa.documents import load_corpus

        return {d.doc_id: d.text for d in load_corpus(corpus)}
    except Exception:  # the span check is a refinement; passage texts still decide hits
        return {}


def evaluate_set(
    path: Path,
    engine,
    judge: Judge,
    ablation: bool = False,
    corpus: Path | None = None,
    index_path: Path | None = None,
    log: Callable[[str], None] = lambda s: None,
) -> dict:
    """Our engine (and its ablations) on one set; peers are added by :func:`add_peers`.

    Timed runs of our engine happen before any peer is loaded: a loaded torch keeps threads that
    would slow down and blur our timings.
    """
    rows = load_rows(path)
    kinds = list(dict.fromkeys(r.kind for r in rows))
    log(f"Asking the engine {len(rows)} questions from {path} ...")
    records = run_engine(engine, rows, judge)
    top_texts = {}
    for rec in records:
        row = judge.row_of(rec["top"][0]) if rec["top"] else None
        top_texts[rec["id"]] = engine.index.text(row) if row is not None else ""
    result = {
        "file": str(path),
        "rows": rows,
        "kinds": kinds,
        "records": records,
        "top_texts": top_texts,
        "ours": summarise(records, kinds),
        "passages": engine.index.n_passages,
        "documents": len(engine.index.documents),
        "unreachable": [r.id for r in rows if r.answerable and not judge.phrases_found(r.folded)],
        "peers": {},
        "peer_records": {},
        "peer_info": {},
        "peer_notes": [],
        "ablations": None,
        "ablation_note": "",
        "baseline_ms": (BASELINE_MS_PER_QUESTION, "before issue 4, dev machine"),
    }
    table, config_cls, why = ablation_configs()
    baseline_label = _baseline_label(table)
    if ablation and table is None:
        result["ablation_note"] = f"skipped: {why}"
    elif not ablation and baseline_label is not None:
        # Only for the latency target: the plain configuration, timed in this run on this machine.
        log(f"Timing the baseline configuration {baseline_label!r} ...")
        try:
            variant = open_engine(corpus, index_path, config_cls(**(table[baseline_label] or {})), base=engine)
            baseline = metrics(run_engine(variant, rows, judge))["ms_median"]
            result["baseline_ms"] = (baseline, f"{baseline_label!r} in this run")
        except TypeError:
            pass
    if ablation and table is not None:
        result["ablations"] = []
        for label, overrides in table.items():
            log(f"Ablation: {label} ...")
            try:
                variant = open_engine(corpus, index_path, config_cls(**(overrides or {})), base=engine)
            except TypeError as exc:
                result["ablation_note"] += f"{label!r} skipped ({exc}). "
                continue
            recs = run_engine(variant, rows, judge)
            result["ablations"].append({"label": label, "overrides": overrides, **summarise(recs, kinds)})
            if label == baseline_label:
                result["baseline_ms"] = (result["ablations"][-1]["overall"]["ms_median"], f"{label!r} in this run")
    result["targets"] = targets(result["ours"], result["peers"], *result["baseline_ms"])
    return result


def add_peers(result: dict, peers: Sequence, notes: Sequence[str], judge: Judge, log: Callable[[str], None] = lambda s: None) -> None:
    """Score ``peers`` on the set of ``result`` and update its peer figures and targets."""
    for peer in peers:
        log(f"Asking {peer.name} {len(result['rows'])} questions from {result['file']} ...")
        recs = run_peer(peer, result["rows"], judge)
        result["peer_records"][peer.name] = recs
        result["peers"][peer.name] = summarise(recs, result["kinds"])
        result["peer_info"][peer.name] = peer.description
    result["peer_notes"] = list(notes)
    result["targets"] = targets(result["ours"], result["peers"], *result["baseline_ms"])


def to_json(results: list[dict], meta: dict) -> dict:
    sets = []
    for r in results:
        sets.append(
            {
                "file": r["file"],
                "ours": r["ours"],
                "peers": r["peers"],
                "peer_info": r["peer_info"],
                "peer_notes": r["peer_notes"],
                "ablations": r["ablations"],
                "ablation_note": r["ablation_note"],
                "targets": r["targets"],
                "unreachable": r["unreachable"],
                "misses": misses(r),
                "refused_answerable": wrong_refusals(r)[0],
                "answered_out_of_scope": wrong_refusals(r)[1],
                "questions": [
                    {**{k: v for k, v in rec.items()}, "peer_ranks": {n: next((p["rank"] for p in recs if p["id"] == rec["id"]), None) for n, recs in r["peer_records"].items()}}
                    for rec in r["records"]
                ],
            }
        )
    return {**meta, "sets": sets}


def _command_line(args) -> str:
    argv = sys.argv[1:]
    if "eval" in argv:
        return "qa " + shlex.join(argv)
    parts = ["qa", "eval"]
    files = args.file if isinstance(args.file, (list, tuple)) else [args.file]
    parts += [str(f) for f in files]
    for flag, value in (("--corpus", args.corpus), ("--index", args.index), ("--json", args.json), ("--markdown", args.markdown), ("--min-top5", args.min_top5)):
        if value is not None:
            parts += [flag, str(value)]
    if getattr(args, "peers", False):
        parts.append("--peers")
    if getattr(args, "ablation", False):
        parts.append("--ablation")
    return shlex.join(parts)


def run_cli(args) -> int:
    """``qa eval``: see the module docstring. Returns the exit code."""
    from qa.engine import Engine, resolve_paths

    corpus, index_path = resolve_paths(getattr(args, "corpus", None), getattr(args, "index", None))
    files = args.file if isinstance(args.file, (list, tuple)) else [args.file or "eval/questions.jsonl"]
    files = [Path(f) for f in files]
    for f in files:
        if not f.is_file():
            raise FileNotFoundError(f"No evaluation set at {f}")

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    engine = Engine.open(corpus, index_path)
    index = engine.index
    judge = Judge(index, _documents(corpus))
    results = [
        evaluate_set(f, engine, judge, ablation=bool(getattr(args, "ablation", False)), corpus=corpus, index_path=index_path, log=log)
        for f in files
    ]
    if getattr(args, "peers", False):
        from qa.peers import build_peers

        peers, notes = build_peers([index.text(i) for i in range(index.n_passages)], log=log)
        for r in results:
            add_peers(r, peers, notes, judge, log=log)
    for i, r in enumerate(results):
        if i:
            print("\n" + "=" * 100 + "\n")
        print(format_report(r, misses_shown=int(getattr(args, "misses", 10) or 0)))

    meta = {
        "command": _command_line(args),
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.machine()}, Python {platform.python_version()}, {platform.system()}",
        "corpus": str(corpus),
        "fingerprint": index.fingerprint,
        "passages": index.n_passages,
        "documents": len(index.documents),
    }
    if getattr(args, "json", None):
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(to_json(results, meta), indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8")
    if getattr(args, "markdown", None):
        Path(args.markdown).parent.mkdir(parents=True, exist_ok=True)
        Path(args.markdown).write_text(format_markdown(results, meta), encoding="utf-8")

    threshold = getattr(args, "min_top5", None)
    if threshold is not None:
        failed = [r for r in results if (r["ours"]["overall"]["hit@5"] or 0.0) < threshold]
        for r in failed:
            print(f"qa eval: hit@5 {r['ours']['overall']['hit@5']:.3f} on {r['file']} is below --min-top5 {threshold}", file=sys.stderr)
        if failed:
            return 1
    return 0
