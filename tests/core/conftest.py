"""Shared fixtures for the engine tests: the bundled corpus, indexed once per session."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from qa.documents import load_corpus
from qa.engine import Engine
from qa.passages import build_passages
from qa.sentences import SentenceSplitter, train_punkt

REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO / "corpus"
REPORT_2009 = "003_4f43f8225b928628"


@pytest.fixture(scope="session")
def documents():
    return {d.doc_id: d for d in load_corpus(CORPUS)}


@pytest.fixture(scope="session")
def passages(documents):
    splitter = SentenceSplitter(train_punkt([d.text for d in documents.values()]))
    return {doc_id: build_passages(d, splitter) for doc_id, d in documents.items()}


@pytest.fixture(scope="session")
def engine(tmp_path_factory) -> Engine:
    return Engine.open(CORPUS, tmp_path_factory.mktemp("index") / "index.qaidx")


@pytest.fixture()
def corpus_copy(tmp_path) -> Path:
    target = tmp_path / "corpus"
    shutil.copytree(CORPUS, target)
    return target
