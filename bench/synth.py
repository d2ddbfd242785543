"""Deterministic synthetic corpus of report-like case reviews, for the benchmark suite.

    .venv/bin/python -m bench.synth --passages 150000 --out bench/data/corpus-150000
    .venv/bin/python -m bench.synth --questions bench/data/questions.json

Each report is a ``.txt`` file of about 100 numbered paragraphs ("12. ...", about 85 words each)
under a few headings, like the paragraph-numbered reviews in ``corpus/``. Paragraphs are made of the
bundled reports' sentences; a share of their content words is replaced by generated pseudo-words
drawn from a Zipf-Mandelbrot (Lomax) law, so that the vocabulary keeps growing with the corpus like
real text does (Heaps' law): about 60,000 distinct terms at 150,000 passages.

Everything is seeded: report ``i`` depends only on (seed, i), so the first 10,000 passages of the
300,000-passage corpus are the 10,000-passage corpus, and two runs write identical bytes.
No catalogue.toml is written; the engine accepts files without catalogue entries.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

GENERATOR_VERSION = 3
DEFAULT_SEED = 20240607
PASSAGES_PER_REPORT = 100
WORDS_PER_PASSAGE = 85
# Share of the replaceable (lower-case content) tokens swapped for pseudo-words, and the law the
# pseudo-words are drawn from: P(rank r) ~ (1 + r / ZIPF_Q) ** -ZIPF_A. Calibrated so that the
# distinct terms (sklearn's default tokenizer) are ~60k at 150k passages; see docs/performance.md.
REPLACE_SHARE = 0.13
ZIPF_A = 1.6
ZIPF_Q = 180.0

REPO = Path(__file__).resolve().parent.parent
BUNDLED = REPO / "corpus"

STOPWORDS = frozenset(
    """a about above after again against all also am an and any are as at be because been before
    being below between both but by can could did do does doing down during each few for from
    further had has have having he her here hers herself him himself his how i if in into is it its
    itself just me more most my myself no nor not now of off on once only or other our ours
    ourselves out over own same she should so some such than that the their theirs them themselves
    then there these they this those through to too under until up very was we were what when where
    which while who whom why will with would you your yours yourself yourselves may might must shall
    one two three four five six seven eight nine ten there's it's""".split()
)

HEADINGS = [
    "Executive summary", "Introduction", "Background", "The family", "The children and their family",
    "Agency involvement", "Chronology of key events", "Analysis of practice", "Information sharing",
    "Assessment of risk", "The voice of the child", "Supervision and management oversight",
    "Multi-agency working", "Health services", "Children's social care", "Police involvement",
    "Education", "Housing and adult services", "Findings", "Key learning", "Good practice",
    "Conclusions", "Recommendations", "Methodology", "Terms of reference", "Family involvement",
]

# Pseudo-words: syllables are (onset, vowel) with consonant onsets and vowel nuclei, so the
# concatenation is uniquely decodable (rank -> word is injective); an optional coda that is not an
# onset ends the word. Onsets and codas avoid the common English suffixes a stemmer would strip.
_ONSETS = ["b", "d", "f", "g", "k", "l", "m", "n", "p", "r", "s", "t", "br", "ch", "cl", "dr",
           "fl", "gr", "pl", "sh", "st", "tr"]
_VOWELS = ["a", "e", "i", "o", "u", "ai", "ea", "oo"]
_CODAS = ["", "x", "nk", "rn", "lp", "mb"]
_SYLLABLES = [o + v for o in _ONSETS for v in _VOWELS]


def pseudo_word(rank: int) -> str:
    """The generated word of a rank (0-based): short words for small ranks, never the same twice."""
    coda = _CODAS[rank % len(_CODAS)]
    n = rank // len(_CODAS)
    base = len(_SYLLABLES)
    syllables = 2
    span = base**syllables
    while n >= span:  # 2 syllables first, then 3, ...
        n -= span
        syllables += 1
        span = base**syllables
    parts = []
    for _ in range(syllables):
        n, digit = divmod(n, base)
        parts.append(_SYLLABLES[digit])
    return "".join(parts) + coda


_WORD_CACHE: dict[int, str] = {}


def _pseudo(rank: int) -> str:
    word = _WORD_CACHE.get(rank)
    if word is None:
        word = _WORD_CACHE[rank] = pseudo_word(rank)
    return word


def zipf_ranks(rng: np.random.Generator, n: int, a: float = ZIPF_A, q: float = ZIPF_Q) -> np.ndarray:
    """n ranks from a discretised Lomax law: P(rank >= r) = (1 + r / q) ** (1 - a)."""
    u = rng.random(n)
    x = q * (np.power(1.0 - u, -1.0 / (a - 1.0)) - 1.0)
    return np.minimum(x, 1e12).astype(np.int64)


def load_sentences(corpus_dir: Path = BUNDLED) -> list[str]:
    """Clean prose sentences of the bundled reports (6-60 words, mostly words, no URLs)."""
    sentences: list[str] = []
    seen: set[str] = set()
    for path in sorted(corpus_dir.glob("*.txt")):
        text = path.read_text(encoding="utf-8", errors="replace")
        for block in re.split(r"\n\s*\n", text):
            block = re.sub(r"(\w)-\s*\n\s*(\w)", r"\1-\2", block)  # words split across lines
            block = re.sub(r"\s+", " ", block).strip()
            block = re.sub(r"^[\u2022\u2212\u2013\-]\s*", "", block)
            block = re.sub(r"^\d+\.\s+", "", block)
            for s in re.split(r"(?<=[.!?])\s+(?=[A-Z\u201c\"\u2018(])", block):
                s = re.sub(r"\s+\d+\.$", ".", s.strip())  # a following paragraph's number
                words = s.split()
                if not 6 <= len(words) <= 60 or "www" in s or "http" in s or "@" in s:
                    continue
                alpha = sum(bool(re.fullmatch(r"[A-Za-z][A-Za-z\u2019'\-]*[.,;:]?", w)) for w in words)
                if alpha / len(words) < 0.75 or s[-1] not in ".!?" or s in seen or not s[0].isupper():
                    continue
                seen.add(s)
                sentences.append(s)
    if not sentences:
        raise SystemExit(f"no usable sentences in {corpus_dir}")
    return sentences


@dataclass
class _Pool:
    """The sentences as flat token arrays, with what each distinct token allows."""

    sentences: list[str]
    vocab: list[str]  # distinct whitespace tokens
    core: list[str]  # token without trailing punctuation
    suffix: list[str]  # its trailing punctuation
    replaceable: np.ndarray  # bool per vocab id: lower-case content word
    flat: np.ndarray  # token ids of all sentences, concatenated
    start: np.ndarray  # per sentence
    length: np.ndarray  # per sentence


def _pool(sentences: list[str]) -> _Pool:
    ids: dict[str, int] = {}
    vocab: list[str] = []
    flat: list[int] = []
    start: list[int] = []
    length: list[int] = []
    for s in sentences:
        toks = s.split()
        start.append(len(flat))
        length.append(len(toks))
        for t in toks:
            i = ids.get(t)
            if i is None:
                i = ids[t] = len(vocab)
                vocab.append(t)
            flat.append(i)
    core, suffix, repl = [], [], []
    for t in vocab:
        m = re.fullmatch(r"([a-z]+)([.,;:!?]?)", t)
        ok = bool(m) and len(m.group(1)) >= 3 and m.group(1) not in STOPWORDS
        core.append(m.group(1) if m else t)
        suffix.append(m.group(2) if m else "")
        repl.append(ok)
    return _Pool(sentences, vocab, core, suffix, np.array(repl), np.array(flat, np.int64),
                 np.array(start, np.int64), np.array(length, np.int64))


class Synth:
    def __init__(self, seed: int = DEFAULT_SEED, corpus_dir: Path = BUNDLED,
                 replace_share: float = REPLACE_SHARE, zipf_a: float = ZIPF_A, zipf_q: float = ZIPF_Q):
        self.seed = seed
        self.pool = _pool(load_sentences(corpus_dir))
        self.replace_share = replace_share
        self.zipf_a = zipf_a
        self.zipf_q = zipf_q
        self._vocab_arr = np.array(self.pool.vocab, dtype=object)

    # -- one report -------------------------------------------------------------------------
    def report(self, index: int, n_passages: int = PASSAGES_PER_REPORT) -> tuple[str, list[str]]:
        """(file text, its numbered paragraphs' texts without the number) of report ``index``."""
        rng = np.random.default_rng([self.seed, index])
        pool = self.pool
        targets = np.clip(rng.normal(WORDS_PER_PASSAGE, 14, n_passages), 45, 140).astype(np.int64)
        mean_len = float(pool.length.mean())
        n_draw = int(targets.sum() / mean_len * 1.6) + 16
        draws = rng.integers(0, len(pool.sentences), n_draw)
        lens = pool.length[draws]
        cum = np.cumsum(lens)
        while cum[-1] < targets.sum() + 200:  # practically never
            more = rng.integers(0, len(pool.sentences), n_draw)
            draws = np.concatenate([draws, more])
            lens = pool.length[draws]
            cum = np.cumsum(lens)
        # paragraph k takes the sentences up to the first whose cumulative length reaches its
        # cumulative target (at least one sentence each): lengths average out to the targets
        ends = np.searchsorted(cum, np.cumsum(targets)) + 1
        ends = np.maximum(ends, np.arange(1, n_passages + 1))
        ends = np.maximum.accumulate(ends)
        n_sent = int(ends[-1])
        draws, lens = draws[:n_sent], lens[:n_sent]
        # token ids of the drawn sentences, concatenated (vectorised ranges)
        offsets = np.concatenate([[0], np.cumsum(lens)[:-1]])
        tok = np.repeat(pool.start[draws] - offsets, lens) + np.arange(int(lens.sum()))
        tok_ids = pool.flat[tok]
        words = self._vocab_arr[tok_ids].copy()
        swap = np.flatnonzero(pool.replaceable[tok_ids] & (rng.random(len(tok_ids)) < self.replace_share))
        ranks = zipf_ranks(rng, len(swap), self.zipf_a, self.zipf_q)
        for pos, r in zip(swap.tolist(), ranks.tolist()):
            words[pos] = _pseudo(r) + pool.suffix[tok_ids[pos]]
        words = words.tolist()
        word_ends = np.cumsum(lens)[ends - 1].tolist()
        paragraphs = []
        prev = 0
        for e in word_ends:
            paragraphs.append(" ".join(words[prev:e]))
            prev = e
        # layout: title, date line, sections of 8-25 paragraphs under headings
        name = _pseudo(int(zipf_ranks(rng, 1)[0]) + 1000).capitalize()
        area = _pseudo(int(rng.integers(0, 4000))).capitalize()
        year = int(rng.integers(2008, 2025))
        month = ["January", "February", "March", "April", "May", "June", "July", "August",
                 "September", "October", "November", "December"][int(rng.integers(0, 12))]
        out = [f"Serious case review: Child {name}", "",
               f"{area} Local Safeguarding Children Board, published {month} {year}", ""]
        heading_order = rng.permutation(len(HEADINGS)).tolist()
        h = 0
        next_heading = 0
        for k, para in enumerate(paragraphs):
            if k == next_heading:
                out += [HEADINGS[heading_order[h % len(HEADINGS)]], ""]
                h += 1
                next_heading = k + int(rng.integers(8, 26))
            out += [f"{k + 1}. {para}", ""]
        return "\n".join(out), paragraphs

    # -- a corpus ---------------------------------------------------------------------------
    def report_sizes(self, n_passages: int) -> list[int]:
        full, rest = divmod(n_passages, PASSAGES_PER_REPORT)
        return [PASSAGES_PER_REPORT] * full + ([rest] if rest else [])

    def write_corpus(self, out: Path, n_passages: int) -> dict:
        """Write the reports of an ``n_passages`` corpus into ``out`` (replaced if stale)."""
        manifest = self.manifest(n_passages)
        stamp = out.with_name(out.name + ".manifest.json")
        if out.is_dir() and stamp.exists():
            try:
                if json.loads(stamp.read_text())["key"] == manifest["key"]:
                    return json.loads(stamp.read_text())
            except (ValueError, KeyError):
                pass
        if out.exists():
            shutil.rmtree(out)
        stamp.unlink(missing_ok=True)
        tmp = out.with_name(out.name + ".tmp")
        if tmp.exists():
            shutil.rmtree(tmp)
        tmp.mkdir(parents=True)
        t0 = time.perf_counter()
        words = 0
        for i, n in enumerate(self.report_sizes(n_passages)):
            text, paragraphs = self.report(i, n)
            words += sum(p.count(" ") + 1 for p in paragraphs)
            (tmp / f"syn{i:05d}.txt").write_text(text, encoding="utf-8")
        tmp.rename(out)
        manifest.update(seconds=round(time.perf_counter() - t0, 2), words=words,
                        words_per_passage=round(words / n_passages, 1))
        stamp.write_text(json.dumps(manifest, indent=1))
        return manifest

    def manifest(self, n_passages: int) -> dict:
        params = dict(version=GENERATOR_VERSION, seed=self.seed, passages=n_passages,
                      replace_share=self.replace_share, zipf_a=self.zipf_a, zipf_q=self.zipf_q,
                      sentences=len(self.pool.sentences))
        key = json.dumps(params, sort_keys=True)
        return dict(params, key=key, reports=len(self.report_sizes(n_passages)))

    def passages(self, n_passages: int) -> list[str]:
        """The numbered paragraphs' texts of an ``n_passages`` corpus, in file order."""
        out: list[str] = []
        for i, n in enumerate(self.report_sizes(n_passages)):
            out += self.report(i, n)[1]
        return out

    # -- questions --------------------------------------------------------------------------
    def questions(self, n: int = 200) -> list[str]:
        """``n`` questions: content words of the reports' sentences, some with pseudo-words that
        occur in every corpus size (small ranks), some phrased the way practitioners ask."""
        rng = np.random.default_rng([self.seed, 999_999])
        pool = self.pool
        out: list[str] = []
        seen: set[str] = set()

        def content(sentence: str) -> list[str]:
            ws = [w.strip(".,;:!?()\u2018\u2019\u201c\u201d'\"") for w in sentence.split()]
            return [w for w in ws if len(w) >= 4 and w.lower() not in STOPWORDS and w.isalpha()]

        forms = ["What did the reviews find about {}?", "What do the reports say about {}?",
                 "How many {} were there?", "Why was {} a concern?", "What is known about {}?",
                 "{}?", "Tell me about {}", "What lessons were learnt about {}?",
                 "Were there problems with {}?", "What happened with {}?"]
        practitioner = [
            "What are the lessons about information sharing between agencies?",
            "Why were risks from parents' mental health underestimated?",
            "How should practitioners listen to the voice of the child?",
            "What went wrong with pre-birth assessments?",
            "How many children died and how many were seriously injured?",
            "What was said about domestic violence and alcohol misuse?",
            "How were teenagers treated by child protection services?",
            "What do reviews say about supervision of social workers?",
            "Which agencies held information that was not shared?",
            "What is a serious case review?",
            "How many reviews were judged inadequate?",
            "What are the recommendations for Local Safeguarding Children Boards?",
            "How can health visitors support young parents?",
            "What role did fathers play in the cases reviewed?",
            "Why were hostile and evasive families a problem for professionals?",
            "What support was there for disabled children?",
            "How did agencies respond to neglect?",
            "What was the age profile of the children?",
            "What are the common characteristics of the families?",
            "How should GPs share concerns about a child?",
            "Did the police attend incidents of domestic abuse?",
            "What learning is there about self-harm and suicide in young people?",
            "How did schools identify concerns about attendance?",
            "What does good multi-agency working look like?",
            "What should happen when a child is not brought to appointments?",
            "Were child protection plans effective?",
            "What is the role of Ofsted in evaluating reviews?",
            "How were cultural and language barriers handled?",
            "What happened in the case of the baby who drowned?",
            "What about children living with substance misuse?",
        ]
        # 1) content-word questions (about 45%)
        while len(out) < int(n * 0.45):
            s = pool.sentences[int(rng.integers(len(pool.sentences)))]
            words = content(s)
            if len(words) < 2:
                continue
            k = int(rng.integers(2, min(5, len(words)) + 1))
            pick = sorted(rng.choice(len(words), k, replace=False).tolist())
            phrase = " ".join(words[i].lower() if not words[i].isupper() else words[i] for i in pick)
            q = forms[int(rng.integers(len(forms)))].format(phrase)
            q = q[0].upper() + q[1:]
            if q not in seen:
                seen.add(q)
                out.append(q)
        # 2) with pseudo-words of small rank (they occur at every size) (about 30%)
        while len(out) < int(n * 0.75):
            s = pool.sentences[int(rng.integers(len(pool.sentences)))]
            words = [w.lower() for w in content(s)][:4]
            if not words:
                continue
            extra = [_pseudo(int(r)) for r in zipf_ranks(rng, int(rng.integers(1, 3))) if r < 400]
            if not extra:
                continue
            phrase = " ".join(words[: int(rng.integers(1, len(words) + 1))] + extra)
            q = forms[int(rng.integers(len(forms)))].format(phrase)
            q = q[0].upper() + q[1:]
            if q not in seen:
                seen.add(q)
                out.append(q)
        # 3) practitioner-style questions, then variants of them
        for q in practitioner:
            if len(out) >= n:
                break
            out.append(q)
        while len(out) < n:
            q = practitioner[int(rng.integers(len(practitioner)))]
            q = q[:-1] + f" in the {_pseudo(int(rng.integers(0, 4000))).capitalize()} review?"
            if q not in seen:
                seen.add(q)
                out.append(q)
        return out[:n]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--passages", type=int, help="corpus size in numbered paragraphs")
    ap.add_argument("--out", type=Path, help="directory to write the reports into")
    ap.add_argument("--questions", type=Path, help="write the 200 questions as JSON here")
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED)
    ap.add_argument("--stats", action="store_true", help="print distinct-term counts (sklearn tokenizer)")
    args = ap.parse_args(argv)
    synth = Synth(seed=args.seed)
    if args.passages and args.out:
        print(json.dumps(synth.write_corpus(args.out, args.passages), indent=1))
    if args.questions:
        args.questions.parent.mkdir(parents=True, exist_ok=True)
        args.questions.write_text(json.dumps(synth.questions(), indent=1, ensure_ascii=False))
        print(f"wrote {args.questions}")
    if args.stats and args.passages:
        from sklearn.feature_extraction.text import CountVectorizer

        texts = synth.passages(args.passages)
        cv = CountVectorizer().fit(texts)
        words = sum(t.count(" ") + 1 for t in texts)
        print(f"passages={len(texts)} words/passage={words / len(texts):.1f} distinct={len(cv.vocabulary_)}")


if __name__ == "__main__":
    main()
