"""The chat page `/`: a conversation of questions and cited answers.

Without JavaScript it is a plain GET form: /?q=question&h=earlier&h=questions renders the whole
conversation on the server. With JavaScript (static/chat.js) the same form asks /api/ask without a
reload and keeps the address bar at the shareable /?q=...&h=... URL.

The form's "Filter reports" disclosure adds ordinary GET fields - publisher, date_from, date_to and
doc - so /?q=...&publisher=Ofsted&date_from=2024 answers from Ofsted's reports of 2024 onwards only,
with or without JavaScript.
"""

from __future__ import annotations

from flask import Blueprint, jsonify, redirect, render_template, request, url_for

from .core import ApiError, AskParams, ask, get_engine, params_from_args, settings

bp = Blueprint("chat", __name__)

EXAMPLE_QUESTIONS = [
    "How many serious case reviews did Ofsted evaluate in 2009-10?",
    "What did reviews find about fathers?",
    "Why were babies under one year old especially vulnerable?",
    "What helped families of teenagers stay together?",
]


FILTER_FIELDS = ("publisher", "date_from", "date_to", "doc")
_FILTER_LABELS = {"publisher": "Publisher", "date_from": "From year", "date_to": "To year", "doc": "Report"}


def filter_choices() -> tuple[list[str], list[tuple[str, str]]]:
    """The publishers (distinct, sorted) and the reports (id, title; by title) of the index."""
    docs = get_engine().documents()
    publishers = sorted({str(d.get("publisher") or "").strip() for d in docs} - {""}, key=str.casefold)
    reports = sorted(((str(d["doc_id"]), str(d.get("title") or d["doc_id"])) for d in docs),
                     key=lambda r: (r[1].casefold(), r[0]))
    return publishers, reports


def filter_values(params: AskParams | None, args) -> dict:
    """The filters to show in the form: the validated ones, or (after an error) what was typed."""
    if params is not None:
        return {"publisher": params.publisher or "", "date_from": params.date_from or "",
                "date_to": params.date_to or "", "doc": list(params.doc_ids or [])}
    def raw(name: str) -> str:
        return (args.get(name) or "")[:200]
    return {"publisher": raw("publisher"), "date_from": raw("date_from"), "date_to": raw("date_to"),
            "doc": [d[:200] for d in args.getlist("doc") if d][:20]}


def filter_summary(values: dict, titles: dict[str, str]) -> str:
    """'Ofsted, from 2024' for the filters in effect; '' when there are none."""
    bits = []
    docs = values.get("doc") or []
    if len(docs) == 1:
        bits.append(titles.get(docs[0], docs[0]))
    elif docs:
        bits.append(f"{len(docs)} reports")
    if values.get("publisher"):
        bits.append(values["publisher"])
    start, end = values.get("date_from"), values.get("date_to")
    if start and end:
        bits.append(f"in {start}" if start == end else f"from {start} to {end}")
    elif start:
        bits.append(f"from {start}")
    elif end:
        bits.append(f"up to {end}")
    return ", ".join(bits)


def filter_args(values: dict) -> dict:
    """The filters as url_for arguments (only those that are set)."""
    return {name: values[name] for name in FILTER_FIELDS if values.get(name)}


def page_context(params: AskParams | None, args) -> dict:
    publishers, reports = filter_choices()
    values = filter_values(params, args)
    titles = dict(reports)
    if values["publisher"] and values["publisher"] not in publishers:
        publishers = [values["publisher"]] + publishers  # a shared URL with part of a name
    known = set(titles)
    reports = [(d, d) for d in values["doc"] if d not in known] + reports
    return {"publishers": publishers, "reports": reports, "filters": values,
            # after an error nothing was filtered: the form shows what was typed, the summary nothing
            "filter_summary": filter_summary(values, titles) if params is not None else "",
            "filter_args": filter_args(values) if params is not None else {}}


def conversation(params: AskParams, summary: str = "") -> list[dict]:
    """Answer each question of the conversation with the questions before it as history."""
    questions = params.history + [params.question]
    turns = []
    for i, question in enumerate(questions):
        sub = AskParams(question=question, history=questions[:i], top_k=params.top_k,
                        doc_ids=params.doc_ids, publisher=params.publisher,
                        date_from=params.date_from, date_to=params.date_to)
        turns.append({"number": i + 1, "question": question, "result": ask(sub), "filters": summary})
    return turns


def _error_field(e: ApiError) -> str:
    """Which control an error is about: one of the filters, or the question box."""
    first = e.message.split(" ", 1)[0].removeprefix("filters.")
    return first if first in FILTER_FIELDS else "q"


def _page_error(e: ApiError, field: str) -> str:
    if field == "q":
        return e.message
    label = _FILTER_LABELS[field]
    if e.code == "invalid_date":
        return f"{label} must be a year like 2024 (or a month like 2024-03, or a day like 2024-03-08)."
    return label + " " + e.message.split(" ", 1)[1] if " " in e.message else e.message


@bp.get("/", endpoint="index")
def index():
    cfg = settings()
    as_json = request.args.get("format") == "json"
    try:
        params = params_from_args(request.args, cfg, strict=as_json, required=False)
    except ApiError as e:
        if as_json:
            raise
        field = _error_field(e)
        return render_template("chat.html", turns=[], questions=[], examples=EXAMPLE_QUESTIONS,
                               error=_page_error(e, field), error_field=field,
                               draft=(request.args.get("q") or "")[:2000],
                               **page_context(None, request.args)), e.status
    if params is None:
        if as_json:
            raise ApiError(400, "missing_question", "question is required (?q=...)")
        try:
            # filters alone (/?publisher=Ofsted) preselect the form for the first question
            args = request.args.copy()
            args["q"] = "filters only"
            context = page_context(params_from_args(args, cfg, strict=False), request.args)
        except ApiError as e:
            field = _error_field(e)
            return render_template("chat.html", turns=[], questions=[], examples=EXAMPLE_QUESTIONS,
                                   error=_page_error(e, field), error_field=field, draft="",
                                   **page_context(None, request.args)), e.status
        return render_template("chat.html", turns=[], questions=[], examples=EXAMPLE_QUESTIONS,
                               error=None, draft="", **context)
    if as_json:
        return jsonify(ask(params))
    context = page_context(params, request.args)
    turns = conversation(params, context["filter_summary"])
    questions = [t["question"] for t in turns][-cfg["QA_MAX_HISTORY"]:] if cfg["QA_MAX_HISTORY"] else []
    return render_template("chat.html", turns=turns, questions=questions, examples=EXAMPLE_QUESTIONS,
                           error=None, draft="", **context)


@bp.post("/", endpoint="form_post")
def form_post():
    """A plain HTML form posted here (method="post") is redirected to its shareable GET address."""
    cfg = settings()
    form = request.form  # form size and part count are capped by the app config
    q = form.get("q", "")
    history = [h for h in form.getlist("h")][-cfg["QA_MAX_HISTORY"]:] if cfg["QA_MAX_HISTORY"] else []
    kept = {name: form.get(name, "")[:200] for name in ("publisher", "date_from", "date_to") if form.get(name)}
    docs = [d[:200] for d in form.getlist("doc") if d][:20]
    if docs:
        kept["doc"] = docs
    if not isinstance(q, str) or not q.strip():
        return redirect(url_for("chat.index", **kept), code=303)
    return redirect(url_for("chat.index", q=q[:cfg["QA_MAX_QUESTION_CHARS"] * 2], h=history, **kept), code=303)
