"""The document viewer /doc/<doc_id> and the list /docs, each with a JSON twin."""

from __future__ import annotations

from flask import Blueprint, jsonify, render_template, request

from .api import document_json, documents_json

bp = Blueprint("documents", __name__)


@bp.get("/docs", endpoint="docs_page")
def docs_page():
    docs = documents_json()
    if request.args.get("format") == "json":
        return jsonify({"documents": docs})
    return render_template("docs.html", documents=docs)


@bp.get("/doc/<doc_id>.json", endpoint="doc_json")
def doc_json(doc_id: str):
    return jsonify(document_json(doc_id))


@bp.get("/doc/<doc_id>", endpoint="doc_page")
def doc_page(doc_id: str):
    if request.args.get("format") == "json":
        return jsonify(document_json(doc_id))
    doc = document_json(doc_id)  # ApiError 404 -> the HTML "no such report" page
    return render_template("doc.html", doc=doc, passages=doc["passages"])
