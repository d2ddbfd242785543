"""The `qa` command end to end, as a subprocess, the way an operator runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .conftest import CORPUS

QA = [sys.executable, "-m", "qa.cli"]


def qa(*args: str, stdin: str | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([*QA, *args], input=stdin, capture_output=True, text=True, timeout=120, env={**os.environ, **(env or {})})


@pytest.fixture(scope="module")
def index_path(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("cli") / "index.qaidx"
    done = qa("index", "--corpus", str(CORPUS), "--index", str(path))
    assert done.returncode == 0, done.stderr
    assert "Indexed 5 documents into" in done.stdout and "terms" in done.stdout
    return path


def test_ask_prints_a_cited_answer(index_path):
    done = qa("ask", "--corpus", str(CORPUS), "--index", str(index_path), "How many serious case reviews did Ofsted evaluate in 2009-10?")
    assert done.returncode == 0, done.stderr
    # The answer is the sentence that gives the figure, not the background sentence before it.
    assert done.stdout.startswith("This report covers 147 serious case reviews which were evaluated by Ofsted")
    assert "Sources:" in done.stdout and "Learning lessons from serious case reviews 2009–2010" in done.stdout
    assert "paragraph 7" in done.stdout


def test_ask_says_a_follow_up_needs_its_earlier_question(index_path):
    args = ("ask", "--corpus", str(CORPUS), "--index", str(index_path), "and the year before?")
    alone = qa(*args)
    assert alone.returncode == 0, alone.stderr
    assert "there is none in this conversation: ask the whole question" in alone.stdout
    followed = qa(*args, "--history", "how many SCRs were judged good in 2009-10?")
    assert followed.stdout.startswith("Table 2: Number of judgements")
    assert "Read “the year before” as “2008 2009”." in followed.stdout


def test_ask_json_refuses_out_of_scope(index_path):
    done = qa("ask", "--json", "--index", str(index_path), "--corpus", str(CORPUS), "What is the capital of France?")
    result = json.loads(done.stdout)
    assert result["answer"] is None and result["status"] == "not_found"


def test_ask_from_stdin_answers_one_json_line_per_question_quickly(index_path):
    questions = ["what did reviews find about fathers?", "What is the capital of France?", "suicide cause of death table"] * 34
    started = time.perf_counter()
    done = qa("ask", "--json", "--index", str(index_path), "--corpus", str(CORPUS), "-", stdin="\n".join(questions[:100]) + "\n")
    elapsed = time.perf_counter() - started
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 100
    results = [json.loads(line) for line in lines]
    assert results[0]["answer"] and results[1]["answer"] is None
    assert elapsed < 30  # generous for a shared CI machine; benchmarks quote the real figure


def test_chunks_lists_passages_as_json_lines():
    done = qa("chunks", "--corpus", str(CORPUS), "--doc", "003_4f43f8225b928628")
    assert done.returncode == 0, done.stderr
    chunks = [json.loads(line) for line in done.stdout.splitlines()]
    p35 = next(c for c in chunks if c["anchor"] == "p-35")
    assert p35["paragraph"] == "35" and p35["section"] == "Focusing on good practice"
    assert all(c["doc_id"] == "003_4f43f8225b928628" for c in chunks)


def test_bad_input_gets_a_clear_error(tmp_path, index_path):
    done = qa("ask", "--top-k", "0", "--index", str(index_path), "fathers")
    assert done.returncode == 2 and "--top-k must be between 1 and 20" in done.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    done = qa("index", "--corpus", str(empty), "--index", str(tmp_path / "x.qaidx"))
    assert done.returncode == 2 and "No readable reports" in done.stderr
    assert not (tmp_path / "x.qaidx").exists()
    done = qa("ask", "--corpus", str(tmp_path / "missing"), "--index", str(tmp_path / "y.qaidx"), "fathers")
    assert done.returncode == 2 and "does not exist" in done.stderr


def test_environment_variables_choose_corpus_and_index(tmp_path):
    path = tmp_path / "env.qaidx"
    done = qa("ask", "--json", "fathers", env={"QA_CORPUS": str(CORPUS), "QA_INDEX": str(path)})
    assert done.returncode == 0, done.stderr
    assert path.exists()
