"""The ``qa`` command line: index, ask, chunks, serve, eval, and the corpus commands.

Every command that reads or writes the corpus or the index takes ``--corpus DIR`` and
``--index PATH`` (defaults: the bundled ``corpus/`` and a file in the user's cache; the
``QA_CORPUS`` / ``QA_INDEX`` environment variables override the defaults).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys

from qa.answer import NEEDS_EARLIER_QUESTION
from qa.documents import CorpusError, load_corpus
from qa.engine import MAX_TOP_K, Engine, resolve_paths
from qa.index import rebuild_index
from qa.passages import build_passages
from qa.retrieval import Filters
from qa.sentences import SentenceSplitter, train_punkt
from qa.store import StoreError

log = logging.getLogger("qa")


def _paths(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--corpus", metavar="DIR", help="folder of report files (default: the bundled corpus/, or $QA_CORPUS)")
    parser.add_argument("--index", metavar="PATH", help="index file (default: in ~/.cache/safeguarding-qa, or $QA_INDEX)")


def _filters(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--doc", action="append", metavar="DOC_ID", help="only this document (repeatable)")
    parser.add_argument("--publisher", help="only documents whose publisher contains this text")
    parser.add_argument("--date-from", metavar="YYYY[-MM[-DD]]", help="only documents dated on or after this")
    parser.add_argument("--date-to", metavar="YYYY[-MM[-DD]]", help="only documents dated on or before this")


def filters_from(args: argparse.Namespace) -> Filters | None:
    filters = Filters(
        doc_ids=tuple(args.doc) if getattr(args, "doc", None) else None,
        publisher=getattr(args, "publisher", None),
        date_from=getattr(args, "date_from", None),
        date_to=getattr(args, "date_to", None),
    )
    return None if filters.is_empty() else filters


def _top_k(value: str) -> int:
    try:
        k = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--top-k takes a whole number from 1 to {MAX_TOP_K}, not {value!r}")
    if not 1 <= k <= MAX_TOP_K:
        raise argparse.ArgumentTypeError(f"--top-k must be between 1 and {MAX_TOP_K}")
    return k


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="qa", description="Answers questions from safeguarding case review reports, with citations.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log more detail")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("index", help="build the index from the corpus")
    _paths(p)
    p.set_defaults(func=cmd_index)

    p = sub.add_parser("ask", help="answer a question (QUESTION '-' reads one question per line from stdin)")
    _paths(p)
    _filters(p)
    p.add_argument("--top-k", type=_top_k, default=5, metavar="N", help=f"passages to return, 1 to {MAX_TOP_K} (default 5)")
    p.add_argument("--json", action="store_true", help="print the result object as JSON (one object per line with '-')")
    p.add_argument("--history", action="append", default=[], metavar="QUESTION", help="an earlier question of the conversation (repeatable, oldest first)")
    p.add_argument("question", nargs="+", help="the question, or '-' for stdin")
    p.set_defaults(func=cmd_ask)

    p = sub.add_parser("chunks", help="print every passage as one JSON object per line")
    _paths(p)
    p.add_argument("--doc", metavar="DOC_ID", help="only this document")
    p.set_defaults(func=cmd_chunks)

    p = sub.add_parser("serve", help="start the web service (gunicorn)")
    _paths(p)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--workers", type=int, default=2)
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("eval", help="score retrieval and answers on an evaluation set")
    _paths(p)
    p.add_argument("file", nargs="*", default=["eval/questions.jsonl"], help="JSON lines of questions (default eval/questions.jsonl)")
    p.add_argument("--ablation", action="store_true", help="also score each retrieval mechanism switched off (qa.retrieval.ABLATIONS)")
    p.add_argument("--misses", type=int, default=10, metavar="N", help="list this many missed questions (default 10)")
    p.add_argument("--peers", action="store_true", help="also score bm25s (and the dense model if installed) on the same passages")
    p.add_argument("--json", metavar="PATH", help="also write the figures as JSON here")
    p.add_argument("--markdown", metavar="PATH", help="write the report as Markdown here (e.g. docs/quality.md)")
    p.add_argument("--min-top5", type=float, default=None, help="exit 1 if top-5 hit rate of answerable questions is below this (0..1)")
    p.set_defaults(func=cmd_eval)

    _add_corpus_commands(sub)
    return parser


def _add_corpus_commands(sub: argparse._SubParsersAction) -> None:
    """``qa add`` / ``qa remove`` / ``qa catalogue`` live in qa.ingest."""
    try:
        from qa import ingest
    except ImportError:
        return
    ingest.add_commands(sub, _paths)


# --------------------------------------------------------------------------------------------


def _progress_bar(total_hint: str = "documents"):
    from tqdm import tqdm

    bar = None

    def update(done: int, total: int) -> None:
        nonlocal bar
        if total < 20:  # a progress bar only helps on large corpora
            return
        if bar is None:
            bar = tqdm(total=total, unit=" docs", desc="Cutting passages", file=sys.stderr)
        bar.update(done - bar.n)
        if done == total:
            bar.close()

    return update


def cmd_index(args: argparse.Namespace) -> int:
    corpus, index = resolve_paths(args.corpus, args.index)
    stats = rebuild_index(corpus, index, progress=_progress_bar())
    print(
        f"Indexed {stats.documents} documents into {stats.passages} passages "
        f"({stats.terms} terms) in {stats.seconds:.1f}s -> {index}"
    )
    return 0


def search_notes(result: dict) -> list[str]:
    """How the question was read, in words (the pages say the same): a follow-up with nothing to
    follow, corrections, and words that no report uses."""
    search = result.get("search") or {}
    notes = []
    if search.get("needs_earlier_question"):
        notes.append(NEEDS_EARLIER_QUESTION)
    corrected = search.get("corrected") or {}
    if corrected:
        notes.append("Read " + ", ".join(f"“{typed}” as “{fixed}”" for typed, fixed in corrected.items()) + ".")
    missing = search.get("not_in_reports") or []
    if missing:
        words = ", ".join(f"“{w}”" for w in missing)
        notes.append(f"No report uses the word{'s' if len(missing) > 1 else ''} {words}.")
    return notes


def format_result(result: dict) -> str:
    """A readable answer with numbered citations, for the terminal."""
    lines = []
    if result["answer"]:
        lines.append(result["answer"])
        lines.append("")
        cited = sorted({c for s in result["sentences"] for c in s["citations"]})
        label = "Sources"
        shown = [p for p in result["passages"] if p["rank"] in cited]
    else:
        lines.append("Not found in these reports. The closest passages looked at were:")
        lines.append("")
        label = "Looked in"
        shown = result["passages"][:3]
    notes = search_notes(result)
    if notes:
        lines += notes + [""]
    lines.append(f"{label}:")
    for p in shown:
        where = ", ".join(
            x for x in (
                p.get("section") and f"section \"{p['section']}\"",
                p.get("paragraph") and f"paragraph {p['paragraph']}",
                p.get("page") and f"p. {p['page']}",
            ) if x
        )
        lines.append(f"  [{p['rank']}] {p['title']}" + (f" — {where}" if where else "") + f"  ({p['id']})")
    return "\n".join(lines)


def cmd_ask(args: argparse.Namespace) -> int:
    engine = Engine.open(*resolve_paths(args.corpus, args.index))
    filters = filters_from(args)
    if args.question == ["-"]:
        for line in sys.stdin:
            question = line.strip()
            if not question:
                continue
            result = engine.ask(question, top_k=args.top_k, filters=filters)
            print(json.dumps(result, ensure_ascii=False) if args.json else format_result(result) + "\n", flush=True)
        return 0
    question = " ".join(args.question)
    result = engine.ask(question, history=args.history, top_k=args.top_k, filters=filters)
    print(json.dumps(result, ensure_ascii=False, indent=2) if args.json else format_result(result))
    return 0


def cmd_chunks(args: argparse.Namespace) -> int:
    corpus, _ = resolve_paths(args.corpus, args.index)
    corpus_documents = load_corpus(corpus)
    splitter = SentenceSplitter(train_punkt([d.text for d in corpus_documents]))  # as the index build does
    documents = [d for d in corpus_documents if not args.doc or d.doc_id == args.doc]
    if not documents:
        raise CorpusError(f"No document {args.doc!r} in {corpus}; `qa catalogue` lists the ids.")
    for document in documents:
        for p in build_passages(document, splitter):
            record = {"id": p.id, "doc_id": p.doc_id, "anchor": p.anchor, "kind": p.kind, "section": p.section,
                      "paragraph": p.paragraph, "page": p.page, "parent": p.parent, "start": p.start, "end": p.end,
                      "chars": len(p.text), "text": p.text}
            print(json.dumps(record, ensure_ascii=False))
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from qa.web.serve import serve

    corpus, index = resolve_paths(args.corpus, args.index)
    return serve(host=args.host, port=args.port, workers=args.workers, corpus=corpus, index=index)


def cmd_eval(args: argparse.Namespace) -> int:
    from qa.evaluation import run_cli

    return run_cli(args)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        return args.func(args)
    except (CorpusError, StoreError, ValueError, FileNotFoundError) as exc:
        print(f"qa: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
