"""The OpenAPI 3 description served at /api/openapi.json, built from the live limits."""

from __future__ import annotations

from typing import Any

from .core import MAX_DOC_FILTER

# Characters the API refuses in any text: C0/C1 controls other than tab, newline and return.
# (U+FFFD too: it is what undecodable bytes become.)
_TEXT_PATTERN = r"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\ufffd]*$"
_QUESTION_PATTERN = (r"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\ufffd]*"
                     r"[^\s\u0000-\u001f\u007f-\u009f\ufffd]"
                     r"[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\ufffd]*$")
# An empty value means "no filter".
_DATE_PATTERN = r"^(\d{4}(-\d{2}(-\d{2})?)?)?$"


def _error(description: str) -> dict[str, Any]:
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


def spec(cfg: dict[str, Any], script_root: str = "") -> dict[str, Any]:
    max_q = cfg["QA_MAX_QUESTION_CHARS"]
    top_max = cfg["QA_TOP_K_MAX"]
    max_hist = cfg["QA_MAX_HISTORY"]
    nullable_str = {"type": "string", "nullable": True}
    nullable_int_or_str = {"nullable": True, "oneOf": [{"type": "string"}, {"type": "integer"}]}
    question = {"type": "string", "minLength": 1, "maxLength": max_q, "pattern": _QUESTION_PATTERN,
                "description": f"The question (at most {max_q} characters)."}
    history_item = {"type": "string", "maxLength": max_q, "pattern": _TEXT_PATTERN}
    rate_limited = _error("Too many requests from this client; see Retry-After")
    rate_limited["headers"] = {"Retry-After": {"description": "Seconds to wait", "schema": {"type": "string"}}}
    filter_params = [
        {"name": "doc", "in": "query", "required": False, "description": "Only these document ids",
         "schema": {"type": "array", "maxItems": MAX_DOC_FILTER,
                    "items": {"type": "string", "maxLength": 200, "pattern": _TEXT_PATTERN}},
         "style": "form", "explode": True},
        {"name": "publisher", "in": "query", "required": False,
         "schema": {"type": "string", "maxLength": 200, "pattern": _TEXT_PATTERN}},
        {"name": "date_from", "in": "query", "required": False,
         "schema": {"type": "string", "pattern": _DATE_PATTERN}},
        {"name": "date_to", "in": "query", "required": False,
         "schema": {"type": "string", "pattern": _DATE_PATTERN}},
    ]
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Safeguarding reports question answering",
            "version": "1",
            "description": "Ask questions about child-safeguarding case review reports and get "
                           "extractive answers with citations to the reports' paragraphs.",
        },
        "servers": [{"url": script_root or "/"}],
        "paths": {
            "/api/ask": {
                "get": {
                    "operationId": "askGet",
                    "summary": "Answer a question (query string form)",
                    "parameters": [
                        {"name": "q", "in": "query", "required": True, "schema": question},
                        {"name": "h", "in": "query", "required": False, "style": "form", "explode": True,
                         "description": "Earlier questions of the conversation, oldest first",
                         "schema": {"type": "array", "maxItems": max_hist, "items": history_item}},
                        {"name": "top_k", "in": "query", "required": False,
                         "schema": {"type": "integer", "minimum": 1, "maximum": top_max}},
                        *filter_params,
                    ],
                    "responses": {
                        "200": {"description": "The result object",
                                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Result"}}}},
                        "400": _error("Missing, empty or malformed parameters"),
                        "422": _error("top_k out of range, question or history too long"),
                        "429": rate_limited,
                    },
                },
                "post": {
                    "operationId": "askPost",
                    "summary": "Answer a question",
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/AskRequest"}}},
                    },
                    "responses": {
                        "200": {"description": "The result object",
                                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Result"}}}},
                        "400": _error("Missing or empty question, wrong JSON types, invalid JSON"),
                        "413": _error(f"Body larger than {cfg['QA_MAX_BODY_BYTES']} bytes"),
                        "415": _error("Body is not JSON"),
                        "422": _error("top_k out of range, question or history too long"),
                        "429": rate_limited,
                    },
                },
            },
            "/api/documents": {
                "get": {
                    "operationId": "listDocuments",
                    "summary": "The catalogue with passage counts",
                    "responses": {
                        "200": {"description": "Documents",
                                "content": {"application/json": {"schema": {
                                    "type": "object", "required": ["documents"],
                                    "properties": {"documents": {"type": "array", "items": {
                                        "$ref": "#/components/schemas/DocumentSummary"}}}}}}},
                    },
                },
            },
            "/api/documents/{doc_id}": {
                "get": {
                    "operationId": "getDocument",
                    "summary": "One document with its passages in reading order",
                    "parameters": [{"name": "doc_id", "in": "path", "required": True,
                                    "schema": {"type": "string", "minLength": 1}}],
                    "responses": {
                        "200": {"description": "The document",
                                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Document"}}}},
                        "404": _error("Unknown document"),
                    },
                },
            },
            "/healthz": {
                "get": {
                    "operationId": "health",
                    "summary": "Whether the index is loaded",
                    "responses": {
                        "200": {"description": "Serving",
                                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Health"}}}},
                        "503": {"description": "Not serving",
                                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Health"}}}},
                    },
                },
            },
        },
        "components": {
            "schemas": {
                "AskRequest": {
                    "type": "object",
                    "required": ["question"],
                    "properties": {
                        "question": question,
                        "history": {"type": "array", "maxItems": max_hist, "items": history_item,
                                    "description": "Earlier questions of the conversation, oldest first"},
                        "top_k": {"type": "integer", "minimum": 1, "maximum": top_max, "default": cfg["QA_TOP_K_DEFAULT"]},
                        "filters": {
                            "type": "object",
                            "properties": {
                                "doc": {"oneOf": [
                                    {"type": "string", "maxLength": 200, "pattern": _TEXT_PATTERN},
                                    {"type": "array", "maxItems": MAX_DOC_FILTER,
                                     "items": {"type": "string", "maxLength": 200, "pattern": _TEXT_PATTERN}}]},
                                "publisher": {"type": "string", "maxLength": 200, "pattern": _TEXT_PATTERN},
                                "date_from": {"type": "string", "pattern": _DATE_PATTERN},
                                "date_to": {"type": "string", "pattern": _DATE_PATTERN},
                            },
                        },
                    },
                },
                "Passage": {
                    "type": "object",
                    "required": ["id", "doc_id", "anchor", "text", "url"],
                    "properties": {
                        "rank": {"type": "integer"},
                        "id": {"type": "string"},
                        "anchor": {"type": "string"},
                        "doc_id": {"type": "string"},
                        "title": nullable_str,
                        "publisher": nullable_str,
                        "date": nullable_str,
                        "section": nullable_str,
                        "paragraph": nullable_int_or_str,
                        "page": nullable_int_or_str,
                        "kind": nullable_str,
                        "text": {"type": "string"},
                        "score": {"type": "number", "nullable": True},
                        "start": {"type": "integer", "nullable": True},
                        "end": {"type": "integer", "nullable": True},
                        "highlights": {
                            "type": "array",
                            "description": "[start, end) character (code point) spans of `text` holding the "
                                           "question's words as the engine's analyzer sees them (stems, "
                                           "British/American spellings, abbreviations, equivalents), sorted "
                                           "and not overlapping. Only on the passages of an answer.",
                            "items": {"type": "array", "minItems": 2, "maxItems": 2,
                                      "items": {"type": "integer", "minimum": 0}},
                        },
                        "url": {"type": "string", "format": "uri",
                                "description": "Absolute link to the passage in the document viewer"},
                    },
                },
                "Result": {
                    "type": "object",
                    "required": ["question", "answer", "status", "sentences", "passages"],
                    "properties": {
                        "question": {"type": "string"},
                        "answer": {"type": "string", "nullable": True},
                        "status": {"type": "string", "enum": ["answered", "not_found"]},
                        "sentences": {"type": "array", "items": {
                            "type": "object", "required": ["text", "citations"],
                            "properties": {"text": {"type": "string"},
                                           "citations": {"type": "array", "items": {"type": "integer"}}}}},
                        "passages": {"type": "array", "items": {"$ref": "#/components/schemas/Passage"}},
                        "search": {
                            "type": "object",
                            "description": "How the question was read: misspellings corrected (and a follow-up's 'the year before' read as years), and words no report uses",
                            "properties": {
                                "corrected": {"type": "object", "additionalProperties": {"type": "string"}},
                                "not_in_reports": {"type": "array", "items": {"type": "string"}},
                                "needs_earlier_question": {
                                    "type": "boolean",
                                    "description": "The question reads as a follow-up ('and the year before?') but no history was sent: it is not answered; ask the whole question or send history",
                                },
                            },
                        },
                    },
                },
                "DocumentSummary": {
                    "type": "object",
                    "required": ["doc_id", "url"],
                    "properties": {
                        "doc_id": {"type": "string"},
                        "title": nullable_str,
                        "publisher": nullable_str,
                        "date": nullable_str,
                        "passages": {"type": "integer"},
                        "url": {"type": "string", "format": "uri"},
                    },
                },
                "Document": {
                    "type": "object",
                    "required": ["doc_id", "passages", "url"],
                    "properties": {
                        "doc_id": {"type": "string"},
                        "title": nullable_str,
                        "publisher": nullable_str,
                        "date": nullable_str,
                        "url": {"type": "string", "format": "uri"},
                        "passages": {"type": "array", "items": {"$ref": "#/components/schemas/Passage"}},
                    },
                },
                "Health": {
                    "type": "object",
                    "required": ["status"],
                    "properties": {
                        "status": {"type": "string"},
                        "index_loaded": {"type": "boolean"},
                        "fingerprint": nullable_str,
                        "passages": {"type": "integer"},
                        "documents": {"type": "integer"},
                    },
                },
                "Error": {
                    "type": "object",
                    "required": ["error"],
                    "properties": {"error": {
                        "type": "object", "required": ["code", "message"],
                        "properties": {"code": {"type": "string"}, "message": {"type": "string"}}}},
                },
            },
        },
    }
