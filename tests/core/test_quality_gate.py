"""CI's quality floor: `qa eval` on the repository set must keep the right passage in the top 5
for at least 85% of answerable questions (the issue's CI check).

The full report (per kind, peers, ablations) is `qa eval eval/questions.jsonl --peers --ablation`;
this is the fast guard that fails the build if retrieval quality regresses.
"""

from __future__ import annotations

import subprocess
import sys

from .conftest import CORPUS, REPO

FLOOR = "0.85"


def test_top5_hit_rate_on_the_repository_set_stays_above_the_floor(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "qa.cli", "eval", str(REPO / "eval" / "questions.jsonl"), "--corpus", str(CORPUS),
         "--index", str(tmp_path / "index.qaidx"), "--min-top5", FLOOR, "--misses", "30"],
        capture_output=True, text=True, timeout=600, cwd=REPO,
    )
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    assert "hit@5" in done.stdout
