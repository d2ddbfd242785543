"""Sentence boundaries with NLTK's Punkt, trained on the corpus itself.

NLTK's pre-trained ``punkt`` data is a download, and intranet servers cannot fetch it, so the
tokenizer learns abbreviations and sentence starters from the reports being indexed. The learned
parameters are small and are stored in the index, so answering never retrains.
"""

from __future__ import annotations

from nltk.tokenize.punkt import PunktParameters, PunktSentenceTokenizer, PunktTrainer

# Abbreviations common in UK safeguarding prose that a small corpus may not teach Punkt.
KNOWN_ABBREVIATIONS = frozenset(
    {"e.g", "i.e", "etc", "no", "nos", "para", "paras", "dr", "mr", "mrs", "ms", "st", "cf", "vs", "approx", "fig", "p", "pp"}
)


TRAINING_CHARS = 400_000
"""Punkt learns from at most this much text (spread over the documents): enough to learn a
corpus' abbreviations, and it keeps a build of thousands of reports from spending minutes here."""


def train_punkt(texts: list[str]) -> PunktParameters:
    """Learn Punkt parameters from ``texts`` (the corpus' documents)."""
    trainer = PunktTrainer()
    trainer.INCLUDE_ALL_COLLOCS = True
    share = max(4_000, TRAINING_CHARS // max(1, len(texts)))
    for text in texts:
        trainer.train(text[:share], finalize=False)
    trainer.finalize_training()
    params = trainer.get_params()
    params.abbrev_types.update(KNOWN_ABBREVIATIONS)
    return params


def params_to_json(params: PunktParameters) -> dict:
    """JSON-ready form of the learned parameters (for the index header)."""
    return {
        "abbrev_types": sorted(params.abbrev_types),
        "collocations": sorted([a, b] for a, b in params.collocations),
        "sent_starters": sorted(params.sent_starters),
    }


def params_from_json(data: dict) -> PunktParameters:
    params = PunktParameters()
    params.abbrev_types = set(data.get("abbrev_types", ())) | KNOWN_ABBREVIATIONS
    params.collocations = {tuple(pair) for pair in data.get("collocations", ())}
    params.sent_starters = set(data.get("sent_starters", ()))
    return params


class SentenceSplitter:
    """Splits text into sentence character spans using trained Punkt parameters."""

    def __init__(self, params: PunktParameters | None = None) -> None:
        params = params or PunktParameters()
        if not params.abbrev_types:
            params.abbrev_types = set(KNOWN_ABBREVIATIONS)
        self._tokenizer = PunktSentenceTokenizer(params)

    def spans(self, text: str) -> list[tuple[int, int]]:
        """``[(start, end), ...]`` character offsets of each sentence in ``text``.

        List items (lines starting with "• ") are treated as sentences of their own, because a
        list item rarely ends with a full stop and Punkt would glue the whole list together.
        """
        spans: list[tuple[int, int]] = []
        offset = 0
        for line in text.split("\n"):
            for start, end in self._tokenizer.span_tokenize(line):
                spans.append((offset + start, offset + end))
            offset += len(line) + 1
        return spans
