"""Fit the answer/refuse model (qa.answer.AnswerPolicy) on an evaluation set.

Runs every question through the real engine, collects the evidence signals, fits a logistic
regression (answerable = 1, out of scope = 0) and picks the confidence threshold that keeps at
least --answered of the answerable questions answered while refusing as many out-of-scope ones as
possible. Prints the weights to paste into AnswerPolicy, and the figures on each given file.

    .venv/bin/python eval/calibrate.py eval/questions.jsonl eval/heldout.jsonl eval/heldout2.jsonl \
        eval/heldout3.jsonl eval/heldout4.jsonl eval/heldout5.jsonl eval/heldout6.jsonl eval/heldout7.jsonl \
        eval/heldout8.jsonl eval/heldout9.jsonl --check eval/heldout10.jsonl \
        --answered 0.875

The refusal model is fitted on the development set and the first nine held-out sets pooled (185
out-of-scope rows are few for eleven weights); eval/heldout10.jsonl, written blind and never fitted
on or read row by row, is the check.
"""

from __future__ import annotations

import argparse
import dataclasses
import json

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from qa.answer import evidence_signals
from qa.engine import Engine

FEATURES = (
    "best_score", "coverage", "top_coverage", "missing_specific", "unknown_nouns", "missing_number",
    "sentence_coverage", "bigram_coverage", "count_coverage", "asks_procedure",
)


def signals_for(engine: Engine, path: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Signals per question, whether it is answerable, and whether the answer-type check passes
    (the engine's answer with the confidence threshold at zero)."""
    open_engine = Engine(engine.index, engine.corpus_dir, policy=dataclasses.replace(engine.policy, min_confidence=0.0))
    X, y, typed = [], [], []
    for line in open(path, encoding="utf-8"):
        row = json.loads(line)
        query, hits = engine.retriever.search(row["question"], row.get("history") or [], top_k=10)
        s = evidence_signals(query, hits, engine.index, engine.analyzer)
        X.append([s[f] for f in FEATURES])
        y.append(0 if row["kind"] == "out_of_scope" else 1)
        typed.append(open_engine.ask(row["question"], history=row.get("history"))["answer"] is not None)
    return np.asarray(X), np.asarray(y), np.asarray(typed)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("train", nargs="+", help="question files to fit on (pooled)")
    parser.add_argument("--check", action="append", default=[])
    parser.add_argument("--answered", type=float, default=0.95, help="share of answerable questions to keep answered")
    parser.add_argument("--corpus")
    parser.add_argument("--index")
    args = parser.parse_args()
    engine = Engine.open(args.corpus, args.index)
    parts = [signals_for(engine, path) for path in args.train]
    X, y, typed = (np.concatenate([part[i] for part in parts]) for i in range(3))
    model = LogisticRegression(C=1.0, class_weight="balanced", max_iter=1000).fit(X, y)
    p = model.predict_proba(X)[:, 1]
    # The highest threshold that still answers the wanted share (the type check refuses some too).
    candidates = sorted(set(np.round(p, 3)), reverse=True)
    threshold = 0.0
    for t in candidates:
        if ((p >= t) & typed)[y == 1].mean() >= args.answered:
            threshold = float(t)
            break
    weights = (("bias", float(model.intercept_[0])),) + tuple((f, float(w)) for f, w in zip(FEATURES, model.coef_[0]))
    print("weights = (")
    for name, w in weights:
        print(f'    ("{name}", {w:.3f}),')
    print(")")
    print(f"min_confidence = {threshold:.3f}")
    for path in args.train + args.check:
        Xc, yc, tc = signals_for(engine, path)
        z = sum(w * (1.0 if n == "bias" else Xc[:, FEATURES.index(n)]) for n, w in weights)
        pc = 1 / (1 + np.exp(-z))
        answers = (pc >= threshold) & tc
        answered = answers[yc == 1].mean()
        refused = (~answers)[yc == 0].mean()
        auc = roc_auc_score(yc, pc)  # how well confidence separates the two kinds, whatever the threshold
        # The same with the answer-type check's refusals counted as confidence 0: how well the
        # whole decision separates them (the model need not learn what the check already refuses).
        decided = roc_auc_score(yc, pc * tc)
        print(f"{path}: answered {answered:.2f} of answerable, refused {refused:.2f} of out-of-scope, AUC {auc:.3f} (with the type check {decided:.3f})")


if __name__ == "__main__":
    main()
