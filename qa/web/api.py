"""JSON API: /api/ask, /api/documents, /api/documents/<id>, /api/openapi.json, /healthz."""

from __future__ import annotations

import json

from flask import Blueprint, current_app, jsonify, request

from .core import (ApiError, ask, decorate_passages, get_engine, params_from_args, params_from_json,
                   passage_url, settings)

bp = Blueprint("api", __name__)


def read_json_body():
    """The request body as JSON, or an ApiError: 415 not JSON, 413 too large, 400 unreadable."""
    if not request.is_json:
        raise ApiError(415, "unsupported_media_type",
                       "send the question as JSON with Content-Type: application/json")
    raw = request.get_data(cache=False)  # raises 413 when Content-Length is past the limit
    limit = current_app.config["MAX_CONTENT_LENGTH"]
    if limit and len(raw) >= limit:
        # A streamed (chunked) body is cut at the limit instead: anything that long is too large.
        raise ApiError(413, "body_too_large", f"the request body is larger than {limit - 1} bytes")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ApiError(400, "invalid_encoding", "the request body is not valid UTF-8") from None
    if text.startswith("\ufeff"):
        text = text[1:]
    try:
        return json.loads(text)
    except RecursionError:
        raise ApiError(400, "invalid_json", "the JSON is nested too deeply") from None
    except ValueError:
        raise ApiError(400, "invalid_json", "the request body is not valid JSON") from None


@bp.route("/api/ask", methods=["GET", "POST"], endpoint="ask")
def ask_view():
    cfg = settings()
    if request.method == "POST":
        params = params_from_json(read_json_body(), cfg)
    else:
        params = params_from_args(request.args, cfg, strict=True)
    return jsonify(ask(params))


def documents_json():
    docs = []
    for d in get_engine().documents():
        d = dict(d)
        if d.get("doc_id"):
            d["url"] = passage_url(str(d["doc_id"]), None)
        docs.append(d)
    return docs


def document_json(doc_id: str):
    doc = None
    if 0 < len(doc_id) <= 200:
        doc = get_engine().document(doc_id)
    if doc is None:
        raise ApiError(404, "unknown_document", "There is no report with this id.")
    doc = dict(doc)
    doc["passages"] = decorate_passages(doc.get("passages") or [])
    doc["url"] = passage_url(doc_id, None)
    return doc


@bp.get("/api/documents", endpoint="documents")
def documents_view():
    return jsonify({"documents": documents_json()})


@bp.get("/api/documents/<doc_id>", endpoint="document")
def document_view(doc_id: str):
    return jsonify(document_json(doc_id))


@bp.get("/healthz", endpoint="healthz")
def healthz():
    try:
        health = dict(get_engine().health())
    except Exception:  # noqa: BLE001
        health = {"status": "error", "index_loaded": False}
    resp = jsonify(health)
    resp.headers["Cache-Control"] = "no-store"
    if health.get("status") != "ok":
        resp.status_code = 503
    return resp


@bp.get("/api/openapi.json", endpoint="openapi")
def openapi():
    from .openapi import spec

    return jsonify(spec(settings(), request.script_root))
