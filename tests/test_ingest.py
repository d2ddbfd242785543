"""qa add / qa remove / qa catalogue: adding reports without downtime, all or nothing.

Every test works on a copy of the bundled corpus in tmp_path (with a copy of an index built once
for the module), and the reports it adds are generated here with reportlab.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest

from qa import cli, ingest
from qa.documents import CATALOGUE_NAME, corpus_fingerprint
from qa.engine import Engine
from qa.index import Index, build_index

REPO = Path(__file__).resolve().parents[1]
BUNDLED = REPO / "corpus"

QUESTION = "How many health appointments did the lantern clinic miss?"
FACT = "missed 83 health appointments"


# --------------------------------------------------------------------------------------------
# Generated reports


def make_pdf(path: Path, title: str | None = None, author: str | None = None) -> Path:
    """Two pages; the fact only this report holds is on page 2."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate

    styles = getSampleStyleSheet()
    kwargs = {k: v for k, v in (("title", title), ("author", author)) if v}
    doc = SimpleDocTemplate(str(path), pagesize=A4, **kwargs)
    body = styles["BodyText"]
    doc.build([
        Paragraph("Rapid review of the Wrenfield family", styles["Heading1"]),
        Paragraph("1. The review considered how agencies in Wrenfield shared information about the "
                  "children between 2021 and 2023. It looked at health, education and police records.", body),
        Paragraph("2. Practitioners described heavy caseloads and frequent changes of social worker, "
                  "which made it hard to build a relationship with the family.", body),
        PageBreak(),
        Paragraph("Findings", styles["Heading1"]),
        Paragraph("3. The Wrenfield panel found that the lantern clinic missed 83 health appointments "
                  "for the youngest child before any referral was made.", body),
        Paragraph("4. The panel recommends that the lantern clinic escalates missed appointments to "
                  "the named nurse after the second missed visit.", body),
    ])
    return path


def corrupt_pdf(path: Path, good: Path) -> Path:
    """A real PDF cut short, as after an interrupted download."""
    path.write_bytes(good.read_bytes()[: len(good.read_bytes()) // 2])
    return path


# --------------------------------------------------------------------------------------------
# Fixtures and helpers


@pytest.fixture(scope="module")
def built_index(tmp_path_factory) -> Path:
    """An index of the bundled corpus, built once; tests copy it (it is matched by fingerprint)."""
    path = tmp_path_factory.mktemp("built") / "index.qaidx"
    build_index(BUNDLED, path)
    return path


@pytest.fixture
def env(tmp_path, built_index):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for f in BUNDLED.iterdir():
        if f.is_file():
            shutil.copyfile(f, corpus / f.name)
    index = tmp_path / "index" / "index.qaidx"
    index.parent.mkdir()
    shutil.copyfile(built_index, index)
    files = tmp_path / "incoming"
    files.mkdir()
    return corpus, index, files


def qa(capsys, *argv: str) -> tuple[int, str, str]:
    """Run the qa command line in this process."""
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def snapshot(corpus: Path) -> dict[str, bytes]:
    """Every entry in the corpus folder, hidden ones included (no temp files left behind)."""
    return {p.name: p.read_bytes() for p in sorted(corpus.iterdir())}


def cited_pages(result: dict, doc_id: str) -> set:
    return {p["page"] for p in result["passages"] if p["doc_id"] == doc_id}


# --------------------------------------------------------------------------------------------
# qa add


def test_add_pdf_answers_with_page_number(env, capsys):
    corpus, index, files = env
    pdf = make_pdf(files / "Wrenfield rapid review (final).pdf", title="Draft v3", author="J. Smith")
    code, out, err = qa(capsys, "add", pdf, "--corpus", corpus, "--index", index,
                        "--title", "Rapid review: the Wrenfield family",
                        "--publisher", "Wrenfield Safeguarding Partnership", "--date", "March 2024",
                        "--kind", "rapid review", "--source-url", "https://example.org/wrenfield.pdf")
    assert code == 0, err
    doc_id = "Wrenfield-rapid-review-final"
    assert (corpus / f"{doc_id}.pdf").read_bytes() == pdf.read_bytes()
    assert f"as document {doc_id}" in out and "passages" in out and "no restart" in out

    entry = tomllib.loads((corpus / CATALOGUE_NAME).read_text("utf-8"))[f"{doc_id}.pdf"]
    assert entry == {"title": "Rapid review: the Wrenfield family", "publisher": "Wrenfield Safeguarding Partnership",
                     "date": "2024-03", "kind": "rapid review", "source_url": "https://example.org/wrenfield.pdf"}

    engine = Engine.open(corpus, index)
    assert engine.index.fingerprint == corpus_fingerprint(corpus)  # rebuilt by qa add, not by this open
    result = engine.ask(QUESTION)
    assert result["status"] == "answered"
    top = result["passages"][0]
    assert top["doc_id"] == doc_id and top["page"] == 2 and FACT in top["text"]
    assert top["title"] == "Rapid review: the Wrenfield family" and top["publisher"] == "Wrenfield Safeguarding Partnership"
    cited = {c for s in result["sentences"] for c in s["citations"]}
    assert top["rank"] in cited

    # The command line answers the same way, with the page in the citation.
    code, out, err = qa(capsys, "ask", "--corpus", corpus, "--index", index, QUESTION)
    assert code == 0 and "83" in out and "p. 2" in out and f"({doc_id}:" in out


def test_same_file_again_is_a_duplicate(env, capsys):
    corpus, index, files = env
    pdf = make_pdf(files / "review.pdf")
    assert qa(capsys, "add", pdf, "--corpus", corpus, "--index", index, "--title", "The Wrenfield review")[0] == 0
    before, index_before = snapshot(corpus), index.read_bytes()

    renamed = files / "another name.pdf"
    shutil.copyfile(pdf, renamed)
    for candidate in (pdf, renamed):
        code, out, err = qa(capsys, "add", candidate, "--corpus", corpus, "--index", index)
        assert code == 2
        assert "already in the corpus" in err and "document review" in err and "The Wrenfield review" in err
        assert "Nothing was added" in err
    # Different content under a name that is taken: refused too, naming the document there.
    (files / "sub").mkdir()
    other = make_pdf(files / "sub" / "review.pdf", title="Another report")
    code, out, err = qa(capsys, "add", other, "--corpus", corpus, "--index", index)
    assert code == 2 and "already has document review" in err and "--name" in err
    assert snapshot(corpus) == before and index.read_bytes() == index_before

    # ...and --name stores it under another id; without --title the PDF's own title is used.
    code, out, err = qa(capsys, "add", other, "--name", "review 2 (appendix).pdf", "--corpus", corpus, "--index", index)
    assert code == 0, err
    assert (corpus / "review-2-appendix.pdf").exists()
    doc = Engine.open(corpus, index).document("review-2-appendix")
    assert doc["title"] == "Another report" and "title" not in doc["guessed"]


def test_concurrent_adds_are_serialised(env):
    import threading

    corpus, index, files = env
    pdfs = [make_pdf(files / "first.pdf", title="First"), make_pdf(files / "second.pdf", title="Second")]
    errors = []

    def add(pdf):
        try:
            ingest.add_reports(corpus, index, [pdf], {"publisher": pdf.stem})
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=add, args=(pdf,)) for pdf in pdfs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    catalogue = tomllib.loads((corpus / CATALOGUE_NAME).read_text("utf-8"))
    assert catalogue["first.pdf"] == {"publisher": "first"} and catalogue["second.pdf"] == {"publisher": "second"}
    assert {"first", "second"} <= {d["doc_id"] for d in Index(index).documents}
    assert Index(index).fingerprint == corpus_fingerprint(corpus)


def test_unsupported_and_corrupt_files_change_nothing(env, capsys):
    corpus, index, files = env
    before, index_before = snapshot(corpus), index.read_bytes()
    xyz = files / "notes.xyz"
    xyz.write_text("The lantern clinic notes.", encoding="utf-8")
    broken = corrupt_pdf(files / "broken.pdf", make_pdf(files / "good.pdf"))
    doc = files / "old.doc"
    doc.write_bytes(b"\xd0\xcf\x11\xe0 old word file")

    code, out, err = qa(capsys, "add", xyz, "--corpus", corpus, "--index", index)
    assert code == 2 and "'.xyz' files are not supported" in err and "Supported types" in err
    code, out, err = qa(capsys, "add", broken, "--corpus", corpus, "--index", index)
    assert code == 2 and "'broken.pdf'" in err and "damaged" in err
    code, out, err = qa(capsys, "add", doc, "--corpus", corpus, "--index", index)
    assert code == 2 and "Save As" in err
    code, out, err = qa(capsys, "add", files / "missing.pdf", "--corpus", corpus, "--index", index)
    assert code == 2 and "not found" in err
    # One bad file in a batch: the good one is not added either, and every problem is listed.
    code, out, err = qa(capsys, "add", files / "good.pdf", xyz, broken, "--corpus", corpus, "--index", index)
    assert code == 2 and "notes.xyz" in err and "broken.pdf" in err and "Nothing was added" in err
    # Bad metadata is refused before anything is touched.
    for option, value in (("--date", "sometime soon"), ("--source-url", "javascript:alert(1)")):
        code, out, err = qa(capsys, "add", files / "good.pdf", option, value, "--corpus", corpus, "--index", index)
        assert code == 2 and option in err

    assert snapshot(corpus) == before
    assert index.read_bytes() == index_before


def test_failure_after_copy_rolls_everything_back(env, capsys, monkeypatch):
    corpus, index, files = env
    before = snapshot(corpus)
    pdf = make_pdf(files / "wrenfield.pdf")
    real_rebuild = ingest._rebuild

    def rebuild_then_fail(corpus_dir, index_path):
        real_rebuild(corpus_dir, index_path)  # the new index is even written...
        raise OSError(28, "No space left on device")  # ...and then something fails

    monkeypatch.setattr(ingest, "_rebuild", rebuild_then_fail)
    code, out, err = qa(capsys, "add", pdf, "--title", "Wrenfield", "--corpus", corpus, "--index", index)
    assert code == 2 and "No space left" in err and "rolled back" in err
    assert snapshot(corpus) == before
    # The index was brought back in line with the corpus.
    assert Index(index).fingerprint == corpus_fingerprint(corpus)
    assert "wrenfield" not in {d["doc_id"] for d in Index(index).documents}

    monkeypatch.setattr(ingest, "_rebuild", real_rebuild)
    assert qa(capsys, "add", pdf, "--corpus", corpus, "--index", index)[0] == 0
    with_doc = snapshot(corpus)
    monkeypatch.setattr(ingest, "_rebuild", rebuild_then_fail)
    code, out, err = qa(capsys, "remove", "wrenfield", "--corpus", corpus, "--index", index)
    assert code == 2 and "Nothing was removed" in err
    assert snapshot(corpus) == with_doc
    assert "wrenfield" in {d["doc_id"] for d in Index(index).documents}


# --------------------------------------------------------------------------------------------
# The catalogue keeps what the operator wrote


OPERATOR_CATALOGUE = """\
# Wrenfield partnership catalogue -- maintained by the business unit.
# Please keep entries in date order.

["000_6424fe1324f49235.txt"]   # checked 2024-05
title = "General Research & Information"
# publisher confirmed by phone
publisher = "Local Safeguarding Children Board"
notes = \"\"\"Two lines
[not a table]\"\"\"

# -- Ofsted material below --

["003_4f43f8225b928628.txt"]
title = "Learning lessons from serious case reviews 2009–2010"
publisher = "Ofsted"
date = "2010-10"

# end of catalogue
"""


def test_catalogue_comments_survive_add_and_remove(env, capsys):
    corpus, index, files = env
    path = corpus / CATALOGUE_NAME
    path.write_text(OPERATOR_CATALOGUE, encoding="utf-8")
    original = path.read_bytes()
    pdf = make_pdf(files / "wrenfield.pdf")

    code, out, err = qa(capsys, "add", pdf, "--title", 'The "Wrenfield" review', "--date", "2024",
                        "--corpus", corpus, "--index", index)
    assert code == 0, err
    text = path.read_text("utf-8")
    assert text.startswith(OPERATOR_CATALOGUE)  # everything the operator wrote, untouched
    data = tomllib.loads(text)
    assert data["wrenfield.pdf"] == {"title": 'The "Wrenfield" review', "date": "2024"}
    assert data["000_6424fe1324f49235.txt"]["notes"] == "Two lines\n[not a table]"

    code, out, err = qa(capsys, "remove", "wrenfield", "--corpus", corpus, "--index", index)
    assert code == 0, err
    assert path.read_bytes() == original  # byte for byte

    # Removing an operator's entry cuts out only that table; the comments around it stay.
    code, out, err = qa(capsys, "remove", "000_6424fe1324f49235", "--corpus", corpus, "--index", index)
    assert code == 0, err
    text = path.read_text("utf-8")
    for kept in ("# Wrenfield partnership catalogue", "# Please keep entries", "# -- Ofsted material below --",
                 "# end of catalogue", '["003_4f43f8225b928628.txt"]'):
        assert kept in text
    assert "000_6424fe1324f49235" not in text and "[not a table]" not in text
    assert list(tomllib.loads(text)) == ["003_4f43f8225b928628.txt"]
    assert not (corpus / "000_6424fe1324f49235.txt").exists()


def test_catalogue_without_final_newline(env, capsys):
    corpus, index, files = env
    path = corpus / CATALOGUE_NAME
    path.write_text(OPERATOR_CATALOGUE.rstrip("\n"), encoding="utf-8")
    assert qa(capsys, "add", make_pdf(files / "w.pdf"), "--date", "2024", "--corpus", corpus, "--index", index)[0] == 0
    text = path.read_text("utf-8")
    assert text.startswith(OPERATOR_CATALOGUE.rstrip("\n") + "\n")
    assert tomllib.loads(text)["w.pdf"] == {"date": "2024"}
    assert qa(capsys, "remove", "w", "--corpus", corpus, "--index", index)[0] == 0
    assert path.read_text("utf-8") == OPERATOR_CATALOGUE  # only a final newline was added


def test_entry_written_before_the_file_arrives_is_kept(env, capsys):
    corpus, index, files = env
    path = corpus / CATALOGUE_NAME
    path.write_text(path.read_text("utf-8") + '\n["wrenfield.pdf"]\n# from the panel\'s letter\n'
                    'title = "Wrenfield rapid review"\npublisher = "Wrenfield SP"\n', encoding="utf-8")
    code, out, err = qa(capsys, "add", make_pdf(files / "wrenfield.pdf"), "--publisher", "Wrenfield Safeguarding Partnership",
                        "--corpus", corpus, "--index", index)
    assert code == 0, err
    text = path.read_text("utf-8")
    assert "# from the panel's letter" in text and text.count('["wrenfield.pdf"]') == 1
    assert tomllib.loads(text)["wrenfield.pdf"] == {"title": "Wrenfield rapid review",
                                                    "publisher": "Wrenfield Safeguarding Partnership"}


def test_missing_catalogue_is_created(env, capsys):
    corpus, index, files = env
    (corpus / CATALOGUE_NAME).unlink()
    code, out, err = qa(capsys, "add", make_pdf(files / "wrenfield.pdf"), "--title", "Wrenfield",
                        "--corpus", corpus, "--index", index)
    assert code == 0, err
    text = (corpus / CATALOGUE_NAME).read_text("utf-8")
    assert text.startswith("# Metadata for the reports in this folder")
    assert tomllib.loads(text) == {"wrenfield.pdf": {"title": "Wrenfield"}}


# --------------------------------------------------------------------------------------------
# qa remove, qa catalogue


def test_remove(env, capsys):
    corpus, index, files = env
    before = snapshot(corpus)
    assert qa(capsys, "add", make_pdf(files / "wrenfield.pdf"), "--corpus", corpus, "--index", index)[0] == 0
    assert cited_pages(Engine.open(corpus, index).ask(QUESTION), "wrenfield") == {2}

    code, out, err = qa(capsys, "remove", "wrenfield", "--corpus", corpus, "--index", index)
    assert code == 0, err
    assert "Removed document wrenfield" in out
    assert snapshot(corpus) == before
    result = Engine.open(corpus, index).ask(QUESTION)
    assert not cited_pages(result, "wrenfield") and all(FACT not in p["text"] for p in result["passages"])

    code, out, err = qa(capsys, "remove", "wrenfield", "--corpus", corpus, "--index", index)
    assert code == 2 and "no document 'wrenfield'" in err and "qa catalogue" in err
    code, out, err = qa(capsys, "remove", "003_4f43f8225b92862", "--corpus", corpus, "--index", index)
    assert code == 2 and "Did you mean 003_4f43f8225b928628" in err
    assert snapshot(corpus) == before


def test_catalogue_lists_documents_and_flags_guessed_metadata(env, capsys):
    corpus, index, files = env
    note = files / "oakbridge note.txt"
    note.write_text("Oakbridge briefing on neglect\n\nThe Oakbridge partnership reviewed 12 cases of neglect "
                    "in 2023 and found that chronologies were missing in most of them.\n", encoding="utf-8")
    assert qa(capsys, "add", note, "--corpus", corpus, "--index", index)[0] == 0
    (corpus / "dropped-in.md").write_text("# A report copied in by hand\n\nIt has a paragraph of text "
                                          "about supervision of practitioners.\n", encoding="utf-8")
    (corpus / "empty.txt").write_text("", encoding="utf-8")

    code, out, err = qa(capsys, "catalogue", "--json", "--corpus", corpus, "--index", index)
    assert code == 0, err
    report = json.loads(out)
    docs = {d["doc_id"]: d for d in report["documents"]}
    assert set(docs) == {p.stem for p in BUNDLED.glob("*.txt")} | {"oakbridge-note", "dropped-in"}
    for doc_id in (p.stem for p in BUNDLED.glob("*.txt")):
        assert docs[doc_id]["guessed"] == [] and docs[doc_id]["flags"] == [] and docs[doc_id]["in_catalogue"]
    bundled = docs["003_4f43f8225b928628"]
    assert bundled["publisher"] == "Ofsted" and bundled["date"] == "2010-10" and bundled["kind"] == "report"
    assert bundled["format"] == "txt" and bundled["passages"] > 100

    note_doc = docs["oakbridge-note"]
    assert set(note_doc["guessed"]) == {"title", "publisher", "date"}
    assert note_doc["title"] == "Oakbridge briefing on neglect" and note_doc["in_catalogue"]
    assert "title guessed" in note_doc["flags"] and note_doc["passages"] >= 1
    assert not docs["dropped-in"]["in_catalogue"] and "no catalogue entry" in docs["dropped-in"]["flags"]
    assert [s["filename"] for s in report["skipped"]] == ["empty.txt"]

    code, out, err = qa(capsys, "catalogue", "--corpus", corpus, "--index", index)
    assert code == 0 and "oakbridge-note" in out and "title guessed" in out and "no catalogue entry" in out
    assert "NOT INDEXED: empty.txt" in out


def test_safe_stem():
    assert ingest.safe_stem("Wrenfield rapid review (final)") == "Wrenfield-rapid-review-final"
    assert ingest.safe_stem("Adolygiad Ŵyr – 2024") == "Adolygiad-Wyr-2024"
    assert ingest.safe_stem("../../etc/passwd") == "etc-passwd"
    assert ingest.safe_stem(".hidden") == "hidden"
    assert ingest.safe_stem("README") == "report-README"
    assert ingest.safe_stem("日本語", fallback="report-1234") == "report-1234"
    assert len(ingest.safe_stem("x" * 300)) <= 80


# --------------------------------------------------------------------------------------------
# End to end: a running server picks up qa add and qa remove without a restart


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_running_server_answers_from_added_pdf_then_forgets_it(env, tmp_path):
    requests = pytest.importorskip("requests")
    if not (REPO / "wsgi.py").exists():
        pytest.skip("wsgi.py is missing, so there is no app for gunicorn to serve")
    gunicorn = REPO / ".venv" / "bin" / "gunicorn"
    if not gunicorn.exists():
        pytest.skip(f"gunicorn is not installed at {gunicorn}")
    corpus, index, files = env
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    environ = dict(os.environ, QA_CORPUS=str(corpus), QA_INDEX=str(index), QA_RATE_LIMIT="100000 per minute",
                   PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    log = open(tmp_path / "gunicorn.log", "wb")
    server = subprocess.Popen([str(gunicorn), "-w", "1", "-b", f"127.0.0.1:{port}", "wsgi:app"], cwd=REPO,
                              env=environ, stdout=log, stderr=subprocess.STDOUT)

    def server_log() -> str:
        log.flush()
        return (tmp_path / "gunicorn.log").read_text("utf-8", errors="replace")[-3000:]

    def ask() -> dict:
        r = requests.post(f"{base}/api/ask", json={"question": QUESTION}, timeout=10)
        assert r.status_code == 200, r.text
        return r.json()

    def run_qa(*argv) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "qa.cli", *map(str, argv), "--corpus", str(corpus),
                               "--index", str(index)], cwd=REPO, env=environ, capture_output=True, text=True,
                              timeout=60)

    try:
        deadline = time.monotonic() + 30
        while True:
            assert server.poll() is None, "gunicorn exited:\n" + server_log()
            try:
                if requests.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            assert time.monotonic() < deadline, "gunicorn did not start:\n" + server_log()
            time.sleep(0.2)
        assert not cited_pages(ask(), "wrenfield")

        done = run_qa("add", make_pdf(files / "wrenfield.pdf"), "--title", "Wrenfield rapid review")
        assert done.returncode == 0, done.stderr
        deadline = time.monotonic() + 60
        while True:
            result = ask()
            hits = [p for p in result["passages"] if p["doc_id"] == "wrenfield"]
            if hits:
                break
            assert time.monotonic() < deadline, "the server never answered from the added PDF:\n" + server_log()
            time.sleep(0.5)
        assert hits[0]["page"] == 2 and FACT in hits[0]["text"] and hits[0]["title"] == "Wrenfield rapid review"
        assert result["status"] == "answered" and "83" in result["answer"]

        done = run_qa("remove", "wrenfield")
        assert done.returncode == 0, done.stderr
        deadline = time.monotonic() + 60
        while cited_pages(ask(), "wrenfield"):
            assert time.monotonic() < deadline, "the server kept citing the removed PDF:\n" + server_log()
            time.sleep(0.5)
        assert server.poll() is None, "the server stopped:\n" + server_log()
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()
