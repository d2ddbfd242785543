"""Faults with nothing lost: killed builds, unreadable reports, empty corpora, and a corpus that
changes under a running server with requests in flight."""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

from qa.documents import CorpusError
from qa.engine import Engine
from qa.index import Index, ensure_index

from .conftest import CORPUS, REPO

REPORT = CORPUS / "003_4f43f8225b928628.txt"


def big_corpus(target: Path, copies: int) -> Path:
    """The bundled corpus plus many copies of the long report: slow enough to kill mid-build."""
    import shutil

    shutil.copytree(CORPUS, target)
    text = REPORT.read_text(encoding="utf-8")
    for i in range(copies):
        (target / f"copy{i:03d}.txt").write_text(f"Copy {i} of the 2009-10 report\n\n" + text, encoding="utf-8")
    return target


def test_a_build_killed_half_way_leaves_the_previous_index_and_the_next_start_completes(tmp_path):
    corpus = big_corpus(tmp_path / "corpus", copies=0)
    path = tmp_path / "index.qaidx"
    before = ensure_index(corpus, path)
    before_bytes = path.read_bytes()
    big_corpus(tmp_path / "bigger", copies=40)
    build = subprocess.Popen([sys.executable, "-m", "qa.cli", "index", "--corpus", str(tmp_path / "bigger"), "--index", str(path)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1.5)
    assert build.poll() is None, "the build finished before it could be killed; make the corpus bigger"
    os.kill(build.pid, signal.SIGKILL)
    build.wait()
    assert path.read_bytes() == before_bytes  # the previous index is intact and still serves
    assert Index(path).fingerprint == before.fingerprint
    engine = Engine.open(tmp_path / "bigger", path)  # a later start completes the build
    assert engine.index.fingerprint != before.fingerprint
    assert len(engine.documents()) == 45
    assert not list(tmp_path.glob(".index.qaidx.*.tmp"))


def test_unreadable_reports_are_skipped_with_a_warning_naming_them(corpus_copy, tmp_path, caplog):
    (corpus_copy / "latin1.txt").write_bytes("Caf\xe9 report about neglect\n".encode("latin-1"))
    (corpus_copy / "broken.pdf").write_bytes(b"%PDF-1.4\n1 0 obj <<>> endobj\n")  # truncated
    with caplog.at_level(logging.WARNING, logger="qa.documents"):
        engine = Engine.open(corpus_copy, tmp_path / "index.qaidx")
    assert "latin1.txt" in caplog.text and "broken.pdf" in caplog.text
    assert len(engine.documents()) == 5  # the rest is indexed


def test_an_empty_corpus_is_a_clear_start_up_error(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(CorpusError, match="No readable reports"):
        Engine.open(tmp_path / "empty", tmp_path / "index.qaidx")
    assert not (tmp_path / "index.qaidx").exists()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_running_workers_switch_to_a_rebuilt_index_without_dropping_requests(corpus_copy, tmp_path):
    index = tmp_path / "index.qaidx"
    ensure_index(corpus_copy, index)
    port = _free_port()
    env = {**os.environ, "QA_CORPUS": str(corpus_copy), "QA_INDEX": str(index), "QA_RATE_LIMIT": "100000 per minute",
           "PYTHONPATH": str(REPO)}
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "-w", "2", "-b", f"127.0.0.1:{port}", "wsgi:app"],
                              cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=open(tmp_path / "server.log", "w"))
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if requests.get(base + "/healthz", timeout=5).ok:
                    break
            except requests.RequestException:
                time.sleep(0.2)
        failures: list[str] = []
        answered = [0]
        stop = threading.Event()

        def hammer() -> None:
            while not stop.is_set():
                try:
                    r = requests.post(base + "/api/ask", json={"question": "what did reviews find about fathers?"}, timeout=30)
                    if r.status_code != 200 or not r.json()["passages"]:
                        failures.append(f"{r.status_code} {r.text[:100]}")
                    answered[0] += 1
                except requests.RequestException as exc:
                    failures.append(repr(exc))

        threads = [threading.Thread(target=hammer) for _ in range(3)]
        for t in threads:
            t.start()
        time.sleep(1)
        (corpus_copy / "kestrel.txt").write_text("Kestrel review\n\n1. The kestrel protocol was agreed by the partnership in 2021.\n", encoding="utf-8")
        build = subprocess.run([sys.executable, "-m", "qa.cli", "index", "--corpus", str(corpus_copy), "--index", str(index)],
                               capture_output=True, text=True, timeout=120)
        assert build.returncode == 0, build.stderr
        switched = False
        for _ in range(50):
            r = requests.get(base + "/api/ask", params={"q": "kestrel protocol"}, timeout=10)
            if r.ok and r.json()["passages"] and r.json()["passages"][0]["doc_id"] == "kestrel":
                switched = True
                break
            time.sleep(0.2)
        time.sleep(1)
        stop.set()
        for t in threads:
            t.join()
        assert switched, "the running server never answered from the rebuilt index"
        assert answered[0] > 20
        assert failures == [], (tmp_path / "server.log").read_text()[-3000:]
    finally:
        server.terminate()
        server.wait(timeout=20)
