"""CI's quality floor: the repository evaluation set must keep the right passage in the top 5.

The full report (per kind, peers, ablations) is `qa eval eval/questions.jsonl --peers`; this is
the fast guard that fails the build if retrieval quality regresses.
"""

from __future__ import annotations

import json

from .conftest import REPO

FLOOR = 0.85


def fold(text: str) -> str:
    table = str.maketrans({"‘": "'", "’": "'", "“": '"', "”": '"', "–": "-", "—": "-", "−": "-"})
    return " ".join(text.translate(table).lower().split())


def test_top5_hit_rate_on_the_repository_set_stays_above_the_floor(engine):
    rows = [json.loads(line) for line in (REPO / "eval" / "questions.jsonl").read_text(encoding="utf-8").splitlines()]
    answerable = [r for r in rows if r["kind"] != "out_of_scope"]
    hits = 0
    for row in answerable:
        result = engine.ask(row["question"], history=row.get("history"), top_k=5)
        phrases = [fold(p) for p in row["key_phrases"]]
        hits += any(any(ph in fold(p["text"]) for ph in phrases) for p in result["passages"])
    rate = hits / len(answerable)
    assert rate >= FLOOR, f"top-5 hit rate {rate:.3f} fell below {FLOOR}"
