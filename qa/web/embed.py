"""Embedding: /widget.js (shadow-DOM chat box for any page), /embed (compact chat for an iframe),
/embed/answer?q= (a server-rendered answer card that needs no JavaScript)."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, render_template, request, send_from_directory

from .core import ApiError, ask, params_from_args, settings

bp = Blueprint("embed", __name__)


@bp.get("/widget.js", endpoint="widget")
def widget():
    resp = send_from_directory(current_app.static_folder, "widget.js",
                               mimetype="text/javascript", max_age=300)
    resp.headers["Access-Control-Allow-Origin"] = "*"  # a public script, no credentials
    return resp


@bp.get("/embed", endpoint="embed_page")
def embed_page():
    return render_template("embed.html")


@bp.get("/embed/answer", endpoint="answer")
def answer():
    cfg = settings()
    as_json = request.args.get("format") == "json"
    try:
        params = params_from_args(request.args, cfg, strict=as_json, required=True)
    except ApiError as e:
        if as_json:
            raise
        return render_template("answer_card.html", result=None, question=None, error=e.message), e.status
    result = ask(params)
    if as_json:
        return jsonify(result)
    return render_template("answer_card.html", result=result, question=params.question,
                           history=params.history, error=None)
