"""Fit the answer-sentence model (AnswerPolicy.sentence_weights) on evaluation sets.

For every answerable question, the real engine's candidate sentences (qa.answer.sentence_candidates
over the three best passages) are labelled by whether they contain one of the row's key phrases.
A pairwise logistic regression learns which features put a key sentence above the others of the
same question (questions with no key sentence among the candidates teach nothing and are
skipped). Prints, for each file left out in turn, how often a key sentence is the best, or among
the best two or three, under the current policy and under the model fitted on the other files;
then the weights fitted on all files, to paste into AnswerPolicy.

    .venv/bin/python eval/fit_sentences.py eval/questions.jsonl eval/heldout.jsonl eval/heldout2.jsonl \
        eval/heldout3.jsonl eval/heldout4.jsonl eval/heldout5.jsonl eval/heldout6.jsonl eval/heldout7.jsonl \
        eval/heldout8.jsonl eval/heldout9.jsonl eval/heldout10.jsonl eval/heldout11.jsonl

Fit on the development sets only; a blind held-out set is the check (``qa eval``'s "answer has key").
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression

from qa.answer import SENTENCE_FEATURES, sentence_candidates
from qa.engine import Engine
from qa.evaluation import contains_phrase, fold, fold_phrases, load_rows


def candidates_for(engine: Engine, path: str) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per answerable question with a key sentence: (features, shape (n, k); labels, shape (n,))."""
    out = []
    for row in load_rows(path):
        if not row.answerable:
            continue
        query, hits = engine.retriever.search(row.question, list(row.history), top_k=10)
        found = [c for c in sentence_candidates(row.question, query, hits, engine.index, engine.analyzer) if c.features["weight"] > 0]
        labels = np.asarray([contains_phrase(fold_phrases(row.key_phrases), fold(c.text)) for c in found], dtype=bool)
        if labels.any() and not labels.all():
            out.append((np.asarray([[c.features[f] for f in SENTENCE_FEATURES] for c in found]), labels))
    return out


def pairs(questions: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """Differences key sentence minus other sentence (label 1) and the reverse (label 0)."""
    X, y = [], []
    for features, labels in questions:
        for p in np.flatnonzero(labels):
            for n in np.flatnonzero(~labels):
                X += [features[p] - features[n], features[n] - features[p]]
                y += [1, 0]
    return np.asarray(X), np.asarray(y)


def fit(questions: list[tuple[np.ndarray, np.ndarray]], c: float) -> np.ndarray:
    """Weights per feature (in the features' own units)."""
    X, y = pairs(questions)
    scale = X.std(axis=0) + 1e-9
    model = LogisticRegression(C=c, fit_intercept=False, max_iter=5000).fit(X / scale, y)
    return model.coef_[0] / scale


def key_in_best(questions: list[tuple[np.ndarray, np.ndarray]], score) -> list[float]:
    """Share of questions with a key sentence at the top 1, 2 and 3 of ``score``'s order."""
    found = np.zeros(3)
    for features, labels in questions:
        order = np.argsort(-score(features), kind="stable")
        found += [labels[order[:k]].any() for k in (1, 2, 3)]
    return list(found / max(1, len(questions)))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("files", nargs="+", help="question files to fit on")
    parser.add_argument("--C", type=float, default=0.1, help="inverse regularisation strength")
    parser.add_argument("--corpus")
    parser.add_argument("--index")
    args = parser.parse_args()
    engine = Engine.open(args.corpus, args.index)
    current = np.asarray([dict(engine.policy.sentence_weights).get(f, 0.0) for f in SENTENCE_FEATURES])
    data = {path: candidates_for(engine, path) for path in args.files}
    print(f"{'left out':<28} {'n':>4}  current top-1/2/3    fitted on the others top-1/2/3")
    for path, questions in data.items():
        others = [q for p, qs in data.items() if p != path for q in qs]
        w = fit(others, args.C)
        now = key_in_best(questions, lambda f: f @ current)
        new = key_in_best(questions, lambda f: f @ w)
        print(f"{Path(path).stem:<28} {len(questions):>4}  {' '.join(f'{x:.3f}' for x in now)}    {' '.join(f'{x:.3f}' for x in new)}")
    w = fit([q for qs in data.values() for q in qs], args.C)
    print("\nsentence_weights: tuple[tuple[str, float], ...] = (")
    for name, value in zip(SENTENCE_FEATURES, w):
        print(f'    ("{name}", {value:.3f}),')
    print(")")


if __name__ == "__main__":
    main()
