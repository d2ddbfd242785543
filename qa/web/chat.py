"""The chat page `/`: a conversation of questions and cited answers.

Without JavaScript it is a plain GET form: /?q=question&h=earlier&h=questions renders the whole
conversation on the server. With JavaScript (static/chat.js) the same form asks /api/ask without a
reload and keeps the address bar at the shareable /?q=...&h=... URL.
"""

from __future__ import annotations

from flask import Blueprint, jsonify, redirect, render_template, request, url_for

from .core import ApiError, AskParams, ask, params_from_args, settings

bp = Blueprint("chat", __name__)

EXAMPLE_QUESTIONS = [
    "How many serious case reviews did Ofsted evaluate in 2009-10?",
    "What did reviews find about fathers?",
    "Why were babies under one year old especially vulnerable?",
    "What helped families of teenagers stay together?",
]


def conversation(params: AskParams) -> list[dict]:
    """Answer each question of the conversation with the questions before it as history."""
    questions = params.history + [params.question]
    turns = []
    for i, question in enumerate(questions):
        sub = AskParams(question=question, history=questions[:i], top_k=params.top_k,
                        doc_ids=params.doc_ids, publisher=params.publisher,
                        date_from=params.date_from, date_to=params.date_to)
        turns.append({"number": i + 1, "question": question, "result": ask(sub)})
    return turns


@bp.get("/", endpoint="index")
def index():
    cfg = settings()
    as_json = request.args.get("format") == "json"
    try:
        params = params_from_args(request.args, cfg, strict=as_json, required=False)
    except ApiError as e:
        if as_json:
            raise
        return render_template("chat.html", turns=[], questions=[], examples=EXAMPLE_QUESTIONS,
                               error=e.message, draft=(request.args.get("q") or "")[:2000]), e.status
    if params is None:
        if as_json:
            raise ApiError(400, "missing_question", "question is required (?q=...)")
        return render_template("chat.html", turns=[], questions=[], examples=EXAMPLE_QUESTIONS,
                               error=None, draft="")
    if as_json:
        return jsonify(ask(params))
    turns = conversation(params)
    questions = [t["question"] for t in turns][-cfg["QA_MAX_HISTORY"]:] if cfg["QA_MAX_HISTORY"] else []
    return render_template("chat.html", turns=turns, questions=questions, examples=EXAMPLE_QUESTIONS,
                           error=None, draft="")


@bp.post("/", endpoint="form_post")
def form_post():
    """A plain HTML form posted here (method="post") is redirected to its shareable GET address."""
    cfg = settings()
    form = request.form  # form size and part count are capped by the app config
    q = form.get("q", "")
    history = [h for h in form.getlist("h")][-cfg["QA_MAX_HISTORY"]:] if cfg["QA_MAX_HISTORY"] else []
    if not isinstance(q, str) or not q.strip():
        return redirect(url_for("chat.index"), code=303)
    return redirect(url_for("chat.index", q=q[:cfg["QA_MAX_QUESTION_CHARS"] * 2], h=history), code=303)
