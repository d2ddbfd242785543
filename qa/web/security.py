"""Response headers (CSP, framing, nosniff, referrer), CORS for /api/*, JSON errors, access log.

Design notes
- Pages use external scripts only (script-src 'self'), never inline script, so no nonce is needed.
- /embed and /embed/answer may be framed by the origins in QA_FRAME_ANCESTORS; everything else
  (and those too, by default) sends frame-ancestors 'none'.
- CORS headers are sent only on /api/* and only to an Origin listed in QA_ALLOWED_ORIGINS.
- Errors under /api (and /healthz, *.json, ?format=json) are JSON {"error": {"code", "message"}};
  page errors are HTML pages; neither ever carries a stack trace.
- The access log line has method, path (never the query string), status, latency and passage ids;
  the question only when QA_LOG_QUESTIONS is set.
"""

from __future__ import annotations

import logging
import sys
import time
import traceback

from flask import Flask, g, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from .core import ApiError, normalise_origin, settings

access_log = logging.getLogger("qa.web.access")
error_log = logging.getLogger("qa.web")

EMBED_ENDPOINTS = frozenset({"embed.embed_page", "embed.answer"})
CROSS_ORIGIN_RESOURCES = frozenset({"embed.widget"})

HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    408: "request_timeout",
    411: "length_required",
    413: "body_too_large",
    414: "uri_too_long",
    415: "unsupported_media_type",
    416: "range_not_satisfiable",
    422: "unprocessable",
    429: "rate_limited",
    431: "headers_too_large",
    500: "internal_error",
    501: "not_implemented",
    503: "unavailable",
}

FRIENDLY = {
    404: "There is no page at this address.",
    405: "This address does not accept that kind of request.",
    413: "The request is too large.",
    429: "Too many questions in a short time. Please wait a moment and try again.",
    500: "Something went wrong on our side. Please try again.",
}


def page_csp(frame_ancestors: str) -> str:
    return ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            "font-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; "
            f"manifest-src 'self'; object-src 'none'; frame-ancestors {frame_ancestors}")


DATA_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'; sandbox"


def is_api_path(path: str) -> bool:
    return path.startswith("/api/") or path == "/api"


def wants_json() -> bool:
    path = request.path
    return (is_api_path(path) or path == "/healthz" or path.endswith(".json")
            or request.args.get("format") == "json")


def error_response(status: int, code: str, message: str, headers=None, page_message: str | None = None):
    if wants_json():
        resp = jsonify({"error": {"code": code, "message": message}})
        resp.status_code = status
    else:
        body = render_template("error.html", status=status, code=code,
                               message=page_message or FRIENDLY.get(status, message))
        resp = Flask.response_class(body, status=status, mimetype="text/html")
    for name, value in headers or []:
        if name.lower() not in ("content-type", "content-length"):
            resp.headers[name] = value
    return resp


def _safe_for_log(text: str, limit: int = 300) -> str:
    text = text[:limit]
    return text.encode("unicode_escape").decode("ascii").replace('"', '\\"')


def init_security(app: Flask) -> None:
    cfg = app.extensions["qa"]["settings"]
    allowed = cfg["allowed_origins"]

    def origin_allowed(origin: str | None) -> str | None:
        if not origin:
            return None
        norm = normalise_origin(origin)
        if norm is None:
            return None
        if "*" in allowed or norm in allowed:
            return origin
        return None

    @app.before_request
    def _start_and_preflight():
        request.environ.setdefault("qa.start", time.perf_counter())
        if request.method == "OPTIONS" and is_api_path(request.path) and request.headers.get("Origin"):
            if not request.headers.get("Access-Control-Request-Method"):
                return None  # a plain OPTIONS: Flask answers it with Allow
            origin = origin_allowed(request.headers.get("Origin"))
            if origin is None:
                return error_response(403, "origin_not_allowed",
                                      "this origin is not allowed to call the API")
            resp = app.response_class(status=204)
            resp.headers["Access-Control-Allow-Methods"] = "GET, POST"
            resp.headers["Access-Control-Allow-Headers"] = "Content-Type"
            resp.headers["Access-Control-Max-Age"] = "600"
            return resp
        return None

    @app.after_request
    def _headers(resp):
        path = request.path
        endpoint = request.endpoint or ""
        h = resp.headers
        if resp.status_code != 429:
            h.pop("Retry-After", None)  # Flask-Limiter adds it to every response
        h.setdefault("X-Content-Type-Options", "nosniff")
        h.setdefault("Referrer-Policy", "no-referrer")
        h.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=(), interest-cohort=()")
        if request.is_secure:
            h.setdefault("Strict-Transport-Security", "max-age=31536000")
        ancestors = cfg["frame_ancestors"] if endpoint in EMBED_ENDPOINTS else "'none'"
        if resp.mimetype == "text/html":
            h["Content-Security-Policy"] = page_csp(ancestors)
            h.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        else:
            h["Content-Security-Policy"] = DATA_CSP
        if ancestors == "'none'":
            h["X-Frame-Options"] = "DENY"
        if endpoint in CROSS_ORIGIN_RESOURCES or is_api_path(path):
            h["Cross-Origin-Resource-Policy"] = "cross-origin"
        else:
            h.setdefault("Cross-Origin-Resource-Policy", "same-origin")
        if is_api_path(path):
            h.setdefault("Cache-Control", "no-store")
            origin = origin_allowed(request.headers.get("Origin"))
            if origin is not None:
                h["Access-Control-Allow-Origin"] = origin
                h["Access-Control-Expose-Headers"] = (
                    "Retry-After, X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset")
            h.add("Vary", "Origin")
        elif request.args.get("q") is not None:
            # a page showing someone's question: do not keep it in shared caches
            h.setdefault("Cache-Control", "no-store")
        return resp

    @app.after_request
    def _access_log(resp):
        start = request.environ.get("qa.start")
        ms = (time.perf_counter() - start) * 1000 if start else 0.0
        parts = [request.method, _safe_for_log(request.path), str(resp.status_code), f"{ms:.1f}ms"]
        ids = g.get("qa_passage_ids")
        if ids:
            parts.append("passages=" + ",".join(_safe_for_log(i, 120) for i in ids))
        if cfg["QA_LOG_QUESTIONS"] and g.get("qa_question"):
            parts.append('question="' + _safe_for_log(g.qa_question, 1000) + '"')
        access_log.info(" ".join(parts))
        return resp

    @app.errorhandler(ApiError)
    def _api_error(e: ApiError):
        return error_response(e.status, e.code, e.message, page_message=e.message)

    @app.errorhandler(HTTPException)
    def _http_error(e: HTTPException):
        status = e.code or 500
        code = HTTP_CODES.get(status, "http_error")
        message = e.description or e.name
        if status == 413:
            message = f"the request body is larger than {settings()['QA_MAX_BODY_BYTES']} bytes"
        elif status == 429:
            message = "too many requests; wait and try again (see Retry-After)"
        elif status == 400 and not message:
            message = "bad request"
        headers = []
        try:
            headers = [(k, v) for k, v in e.get_headers() if k.lower() in ("allow", "retry-after")]
        except Exception:  # noqa: BLE001
            pass
        return error_response(status, code, message, headers)

    @app.errorhandler(Exception)
    def _unexpected(e: Exception):
        # The traceback goes to the log (without the exception's message, which may quote the
        # question), never to the client.
        frames = "".join(traceback.format_tb(e.__traceback__))
        error_log.error("unhandled %s on %s %s\n%s", type(e).__name__, request.method,
                        _safe_for_log(request.path), frames)
        return error_response(500, "internal_error", "internal error")


def configure_logging(level: str) -> None:
    logger = logging.getLogger("qa.web")
    try:
        logger.setLevel(level.upper())
    except ValueError:
        logger.setLevel(logging.INFO)
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
        logger.addHandler(handler)
        logger.propagate = False
