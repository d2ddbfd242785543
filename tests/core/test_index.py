"""The index is rebuilt when the corpus changes, written atomically, and never trusted when damaged."""

from __future__ import annotations

import logging

import pytest

from qa import store
from qa.index import Index, build_index, ensure_index
from qa.store import StoreError


def test_rebuilds_when_a_corpus_file_changes(corpus_copy, tmp_path):
    path = tmp_path / "index.qaidx"
    first = ensure_index(corpus_copy, path)
    assert ensure_index(corpus_copy, path).identity == first.identity  # unchanged corpus: loaded, not rebuilt
    report = corpus_copy / "000_6424fe1324f49235.txt"
    report.write_text(report.read_text(encoding="utf-8") + "\n\nThe quokka protocol was adopted in 2013.\n", encoding="utf-8")
    second = ensure_index(corpus_copy, path)
    assert second.fingerprint != first.fingerprint
    assert any("quokka" in second.text(i) for i in range(second.n_passages))


def test_rebuilds_when_the_catalogue_changes(corpus_copy, tmp_path):
    path = tmp_path / "index.qaidx"
    first = ensure_index(corpus_copy, path)
    catalogue = corpus_copy / "catalogue.toml"
    catalogue.write_text(catalogue.read_text(encoding="utf-8").replace('publisher = "Ofsted"', 'publisher = "Ofsted (England)"', 1), encoding="utf-8")
    second = ensure_index(corpus_copy, path)
    assert second.fingerprint != first.fingerprint
    assert any(d["publisher"] == "Ofsted (England)" for d in second.documents)


def test_an_interrupted_write_leaves_the_previous_index(corpus_copy, tmp_path, monkeypatch):
    path = tmp_path / "index.qaidx"
    before = ensure_index(corpus_copy, path)
    before_bytes = path.read_bytes()

    real_replace = store.os.replace

    def crash(*args, **kwargs):
        raise KeyboardInterrupt("killed during the build")

    monkeypatch.setattr(store.os, "replace", crash)
    with pytest.raises(KeyboardInterrupt):
        build_index(corpus_copy, path)
    monkeypatch.setattr(store.os, "replace", real_replace)
    assert path.read_bytes() == before_bytes
    assert Index(path).fingerprint == before.fingerprint
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]  # no temporary file left behind


@pytest.mark.parametrize(
    "damage",
    [
        lambda b: b[: len(b) // 2],  # truncated
        lambda b: b[:-100] + bytes(100),  # corrupt payload
        lambda b: b"not an index at all",  # wrong file
        lambda b: b"",  # empty
    ],
    ids=["truncated", "corrupt", "foreign", "empty"],
)
def test_a_damaged_index_is_detected_and_rebuilt_with_a_log_line(corpus_copy, tmp_path, damage, caplog):
    path = tmp_path / "index.qaidx"
    good = ensure_index(corpus_copy, path)
    path.write_bytes(damage(path.read_bytes()))
    with pytest.raises(StoreError):
        Index(path)
    with caplog.at_level(logging.WARNING, logger="qa.index"):
        rebuilt = ensure_index(corpus_copy, path)
    assert rebuilt.n_passages == good.n_passages
    assert "rebuilding" in caplog.text


def test_an_index_from_another_format_version_is_rebuilt(corpus_copy, tmp_path, monkeypatch, caplog):
    path = tmp_path / "index.qaidx"
    ensure_index(corpus_copy, path)
    import qa.index as index_module

    monkeypatch.setattr(index_module, "FORMAT_VERSION", index_module.FORMAT_VERSION + 1)
    with caplog.at_level(logging.WARNING, logger="qa.index"):
        rebuilt = ensure_index(corpus_copy, path)
    assert rebuilt.store.header["format_version"] == index_module.FORMAT_VERSION
    assert "another version" in caplog.text
