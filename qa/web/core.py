"""Shared pieces of the web layer: settings, request validation, result decoration, highlight segments.

Nothing here renders HTML: pages go through Jinja (autoescaping on), the API through JSON.
"""

from __future__ import annotations

import os
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping
from urllib.parse import unquote_to_bytes

from flask import current_app, g, request, url_for

REPO_ROOT = Path(__file__).resolve().parents[2]

# ---------------------------------------------------------------------------
# Settings
# ---------------------------------------------------------------------------

# name -> (type, default). Every one is read from the environment variable of the same name
# and can be overridden by create_app({name: value}).
SETTINGS: dict[str, tuple[type, Any]] = {
    "QA_CORPUS": (str, ""),  # empty: the engine's default (the bundled corpus/)
    "QA_INDEX": (str, ""),  # empty: the engine's default location (user cache)
    "QA_ALLOWED_ORIGINS": (str, ""),  # CORS on /api/*: closed by default
    "QA_FRAME_ANCESTORS": (str, ""),  # who may frame /embed: 'none' by default
    "QA_TOP_K_DEFAULT": (int, 5),
    "QA_TOP_K_MAX": (int, 20),
    "QA_MAX_BODY_BYTES": (int, 16384),
    "QA_MAX_QUESTION_CHARS": (int, 500),
    "QA_MAX_HISTORY": (int, 10),
    "QA_MAX_PARAMS": (int, 100),
    "QA_RATE_LIMIT": (str, "60 per minute"),
    "QA_RATE_LIMIT_STORAGE": (str, "memory://"),
    "QA_LOG_QUESTIONS": (bool, False),
    "QA_LOG_LEVEL": (str, "INFO"),
    "QA_TRUSTED_PROXIES": (int, 1),  # reverse proxies in front of the app whose X-Forwarded-* count
}

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class ConfigError(ValueError):
    """A configuration value that cannot be used; raised at start-up, never per request."""


def _coerce(name: str, kind: type, value: Any) -> Any:
    if kind is bool:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise ConfigError(f"{name} must be true or false, not {value!r}")
    if kind is int:
        if isinstance(value, bool):
            raise ConfigError(f"{name} must be an integer, not {value!r}")
        try:
            return int(str(value).strip())
        except ValueError:
            raise ConfigError(f"{name} must be an integer, not {value!r}") from None
    return "" if value is None else str(value)


def load_settings(overrides: Mapping[str, Any] | None = None,
                  environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    environ = os.environ if environ is None else environ
    overrides = dict(overrides or {})
    settings: dict[str, Any] = {}
    for name, (kind, default) in SETTINGS.items():
        if name in overrides:
            raw = overrides.pop(name)
        elif name in environ:
            raw = environ[name]
        else:
            raw = default
        settings[name] = _coerce(name, kind, raw)
    for name, low in (("QA_TOP_K_DEFAULT", 1), ("QA_TOP_K_MAX", 1), ("QA_MAX_BODY_BYTES", 256),
                      ("QA_MAX_QUESTION_CHARS", 10), ("QA_MAX_HISTORY", 0), ("QA_MAX_PARAMS", 10),
                      ("QA_TRUSTED_PROXIES", 0)):
        if settings[name] < low:
            raise ConfigError(f"{name} must be at least {low}, not {settings[name]}")
    if settings["QA_TOP_K_DEFAULT"] > settings["QA_TOP_K_MAX"]:
        raise ConfigError("QA_TOP_K_DEFAULT must not exceed QA_TOP_K_MAX")
    settings["allowed_origins"] = parse_origins(settings["QA_ALLOWED_ORIGINS"])
    settings["frame_ancestors"] = parse_frame_ancestors(settings["QA_FRAME_ANCESTORS"])
    settings["extra"] = overrides  # anything else (ENGINE, TESTING, ...) passes through
    return settings


_ORIGIN_RE = re.compile(r"^(https?)://([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::(\d{1,5}))?$")


def normalise_origin(origin: str) -> str | None:
    """'HTTPS://Intranet.example:443/' -> 'https://intranet.example'; None if not an origin."""
    origin = origin.strip().rstrip("/")
    m = _ORIGIN_RE.match(origin)
    if not m:
        return None
    scheme, host, port = m.group(1).lower(), m.group(2).lower(), m.group(3)
    if port and ((scheme == "http" and port == "80") or (scheme == "https" and port == "443")):
        port = None
    return f"{scheme}://{host}" + (f":{port}" if port else "")


def parse_origins(text: str) -> frozenset[str]:
    origins = set()
    for item in re.split(r"[\s,]+", text.strip()):
        if not item:
            continue
        if item == "*":
            origins.add("*")
            continue
        norm = normalise_origin(item)
        if norm is None:
            raise ConfigError(f"QA_ALLOWED_ORIGINS: {item!r} is not an origin like https://intranet.example")
        origins.add(norm)
    return frozenset(origins)


_SOURCE_RE = re.compile(r"^(?:'self'|'none'|https?:|(https?://)?(\*\.)?[A-Za-z0-9.-]+(:(\d{1,5}|\*))?)$")


def parse_frame_ancestors(text: str) -> str:
    """A CSP source list for frame-ancestors; "'none'" when empty. Rejects anything that could
    smuggle another directive into the header."""
    items = [i for i in re.split(r"[\s,]+", text.strip()) if i]
    if not items:
        return "'none'"
    for item in items:
        if item in ("self", "none"):
            raise ConfigError(f"QA_FRAME_ANCESTORS: write '{item}' with single quotes")
        if not _SOURCE_RE.match(item.rstrip("/")):
            raise ConfigError(f"QA_FRAME_ANCESTORS: {item!r} is not a CSP source such as https://intranet.example")
    if "'none'" in items and len(items) > 1:
        raise ConfigError("QA_FRAME_ANCESTORS: 'none' cannot be combined with other sources")
    return " ".join(i.rstrip("/") for i in items)


def settings() -> dict[str, Any]:
    return current_app.extensions["qa"]["settings"]


def get_engine():
    return current_app.extensions["qa"]["engine"]


# ---------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------

class ApiError(Exception):
    """An error answered as {"error": {"code", "message"}} (JSON) or an error page (HTML)."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


# ---------------------------------------------------------------------------
# Validation of a question request
# ---------------------------------------------------------------------------

MAX_DOC_FILTER = 20
_DATE_RE = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")


@dataclass
class AskParams:
    question: str
    history: list[str] = field(default_factory=list)
    top_k: int = 5
    doc_ids: list[str] | None = None
    publisher: str | None = None
    date_from: str | None = None
    date_to: str | None = None

    def filters(self):
        if not (self.doc_ids or self.publisher or self.date_from or self.date_to):
            return None
        from qa.engine import Filters  # the engine's own type

        return Filters(doc_ids=tuple(self.doc_ids) if self.doc_ids else None, publisher=self.publisher,
                       date_from=self.date_from, date_to=self.date_to)

    def engine_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"history": list(self.history), "top_k": self.top_k}
        filters = self.filters()
        if filters is not None:
            kwargs["filters"] = filters
        return kwargs


def _bad_characters(text: str) -> bool:
    for ch in text:
        o = ord(ch)
        if ch in "\t\n\r":
            continue
        if o < 32 or o == 127 or 0x80 <= o < 0xA0 or 0xD800 <= o <= 0xDFFF:
            return True
    return False


def clean_text(value: Any, what: str, *, max_chars: int, required: bool) -> str:
    """Validate one user-supplied string. Raises ApiError; returns it with whitespace collapsed."""
    if value is None:
        if required:
            raise ApiError(400, "missing_question", f"{what} is required")
        return ""
    if not isinstance(value, str):
        raise ApiError(400, "invalid_type", f"{what} must be a string")
    if "\ufffd" in value:
        raise ApiError(400, "invalid_encoding", f"{what} is not valid UTF-8 text")
    if _bad_characters(value):
        raise ApiError(400, "invalid_characters", f"{what} contains control characters")
    if len(value) > max_chars:
        raise ApiError(422, "question_too_long", f"{what} is longer than {max_chars} characters")
    value = " ".join(unicodedata.normalize("NFC", value).split())
    if not value and required:
        raise ApiError(400, "empty_question", f"{what} must not be empty")
    return value


def _parse_top_k(value: Any, cfg: Mapping[str, Any], *, from_query: bool = False, strict: bool = True) -> int:
    if value is None or (from_query and value == "" and not strict):
        return cfg["QA_TOP_K_DEFAULT"]
    if from_query:
        if not isinstance(value, str) or not re.fullmatch(r"\s*[+-]?\d{1,6}\s*", value):
            raise ApiError(400, "invalid_type", "top_k must be an integer")
        value = int(value)
    elif isinstance(value, bool) or not isinstance(value, int):
        raise ApiError(400, "invalid_type", "top_k must be an integer")
    if not 1 <= value <= cfg["QA_TOP_K_MAX"]:
        raise ApiError(422, "top_k_out_of_range", f"top_k must be between 1 and {cfg['QA_TOP_K_MAX']}")
    return value


def _parse_history(items: Any, cfg: Mapping[str, Any], *, strict: bool) -> list[str]:
    if items is None:
        return []
    if not isinstance(items, list):
        raise ApiError(400, "invalid_type", "history must be a list of strings")
    limit = cfg["QA_MAX_HISTORY"]
    if len(items) > limit:
        if strict:
            raise ApiError(422, "history_too_long", f"history holds at most {limit} earlier questions")
        items = items[-limit:] if limit else []
    out = []
    for item in items:
        if not isinstance(item, str):
            raise ApiError(400, "invalid_type", "history must be a list of strings")
        text = clean_text(item, "each history item", max_chars=cfg["QA_MAX_QUESTION_CHARS"], required=False)
        if text:
            out.append(text)
    return out


def _parse_filters(doc: Any, publisher: Any, date_from: Any, date_to: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if doc not in (None, "", []):
        docs = [doc] if isinstance(doc, str) else doc
        if not isinstance(docs, list) or not all(isinstance(d, str) for d in docs):
            raise ApiError(400, "invalid_type", "doc must be a document id or a list of them")
        if len(docs) > MAX_DOC_FILTER:
            raise ApiError(422, "too_many_documents", f"at most {MAX_DOC_FILTER} documents can be selected")
        ids = []
        for d in docs:
            d = clean_text(d, "doc", max_chars=200, required=False)
            if d:
                ids.append(d)
        out["doc_ids"] = ids or None
    if publisher not in (None, ""):
        out["publisher"] = clean_text(publisher, "publisher", max_chars=200, required=False) or None
    for name, value in (("date_from", date_from), ("date_to", date_to)):
        if value in (None, ""):
            continue
        if not isinstance(value, str) or not _DATE_RE.match(value):
            raise ApiError(400, "invalid_date", f"{name} must be a date like 2010, 2010-10 or 2010-10-31")
        out[name] = value
    return out


def params_from_json(body: Any, cfg: Mapping[str, Any]) -> AskParams:
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_type", "the request body must be a JSON object")
    question = clean_text(body.get("question"), "question", max_chars=cfg["QA_MAX_QUESTION_CHARS"],
                          required=True)
    # Optional members may be left out, but when present they must have their type (no null).
    for name in ("history", "top_k", "filters"):
        if name in body and body[name] is None:
            raise ApiError(400, "invalid_type", f"{name} must not be null; leave it out instead")
    history = _parse_history(body.get("history"), cfg, strict=True)
    top_k = _parse_top_k(body.get("top_k"), cfg)
    filters = body.get("filters", {})
    if not isinstance(filters, dict):
        raise ApiError(400, "invalid_type", "filters must be an object")
    for name in ("doc", "publisher", "date_from", "date_to"):
        if name in filters and filters[name] is None:
            raise ApiError(400, "invalid_type", f"filters.{name} must not be null; leave it out instead")
        if name in ("publisher", "date_from", "date_to") and name in filters and not isinstance(filters[name], str):
            raise ApiError(400, "invalid_type", f"filters.{name} must be a string")
    extra = _parse_filters(filters.get("doc"), filters.get("publisher"), filters.get("date_from"),
                           filters.get("date_to"))
    return AskParams(question=question, history=history, top_k=top_k, **extra)


def check_query(cfg: Mapping[str, Any]) -> None:
    """The query string must be UTF-8 and hold at most QA_MAX_PARAMS parameters."""
    raw = request.query_string
    if raw.count(b"&") + raw.count(b";") >= cfg["QA_MAX_PARAMS"] * 4:
        raise ApiError(400, "too_many_parameters", f"at most {cfg['QA_MAX_PARAMS']} query parameters are accepted")
    try:
        unquote_to_bytes(raw.replace(b"+", b" ")).decode("utf-8")
    except UnicodeDecodeError:
        raise ApiError(400, "invalid_encoding", "the query string is not valid UTF-8") from None
    count = sum(len(v) for v in request.args.listvalues())
    if count > cfg["QA_MAX_PARAMS"]:
        raise ApiError(400, "too_many_parameters", f"at most {cfg['QA_MAX_PARAMS']} query parameters are accepted")


def params_from_args(args, cfg: Mapping[str, Any], *, strict: bool = True, required: bool = True) -> AskParams | None:
    """GET /api/ask?q=&h=&top_k=&doc=&publisher=&date_from=&date_to= (and the pages' ?q=&h=)."""
    check_query(cfg)
    for single in ("q", "top_k", "publisher", "date_from", "date_to"):
        if len(args.getlist(single)) > 1:
            raise ApiError(400, "repeated_parameter", f"{single} may be given only once")
    raw_q = args.get("q")
    if raw_q is None and not required:
        return None
    question = clean_text(raw_q, "question", max_chars=cfg["QA_MAX_QUESTION_CHARS"], required=True)
    history = _parse_history(args.getlist("h"), cfg, strict=strict)
    top_k = _parse_top_k(args.get("top_k"), cfg, from_query=True, strict=strict)
    docs = args.getlist("doc")
    extra = _parse_filters(docs or None, args.get("publisher"), args.get("date_from"), args.get("date_to"))
    return AskParams(question=question, history=history, top_k=top_k, **extra)


# ---------------------------------------------------------------------------
# Calling the engine
# ---------------------------------------------------------------------------

def passage_url(doc_id: str, anchor: str | None, *, external: bool = True) -> str:
    return url_for("documents.doc_page", doc_id=doc_id, _anchor=anchor or None, _external=external)


def decorate_passages(passages: list[dict], *, external: bool = True) -> list[dict]:
    out = []
    for p in passages or []:
        p = dict(p)
        if p.get("doc_id"):
            p["url"] = passage_url(str(p["doc_id"]), p.get("anchor"), external=external)
        out.append(p)
    return out


def ask(params: AskParams) -> dict:
    """engine.ask with the request's parameters; every passage gets an absolute `url`."""
    result = dict(get_engine().ask(params.question, **params.engine_kwargs()))
    result["passages"] = decorate_passages(result.get("passages") or [])
    g.qa_passage_ids = [str(p.get("id")) for p in result["passages"]]
    if cfg_log_questions():
        g.qa_question = params.question
    return result


def cfg_log_questions() -> bool:
    return bool(settings()["QA_LOG_QUESTIONS"])


# ---------------------------------------------------------------------------
# Highlighting: the engine's spans of the question's words (data only; templates/JS make <mark>)
# ---------------------------------------------------------------------------

def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def highlight_segments(text: str | None, spans: Any) -> list[tuple[str, bool]]:
    """Split text into (segment, is_match) pairs, a match for each of the engine's highlight spans.

    ``spans`` is a passage's ``highlights``: ``[start, end)`` character offsets into ``text``,
    sorted and not overlapping. A span that is not a pair of ints, falls outside the text, is empty,
    or starts before the previous kept span ends is ignored, so the text always comes out whole,
    once, in order.
    """
    text = "" if text is None else str(text)
    segments: list[tuple[str, bool]] = []
    pos = 0
    for span in spans if isinstance(spans, (list, tuple)) else ():
        if not isinstance(span, (list, tuple)) or len(span) != 2 or not all(map(_is_int, span)):
            continue
        start, end = span
        if not pos <= start < end <= len(text):
            continue
        if start > pos:
            segments.append((text[pos:start], False))
        segments.append((text[start:end], True))
        pos = end
    if pos < len(text):
        segments.append((text[pos:], False))
    return segments


_MARKER_RE = re.compile(r"\[(\d{1,3}(?:\s*,\s*\d{1,3})*)\]")


def answer_segments(answer: str | None) -> list[tuple[str, list[int]]]:
    """'text [1] more [2, 3]' -> [('text ', []), ('', [1]), (' more ', []), ('', [2, 3])]."""
    out: list[tuple[str, list[int]]] = []
    if not answer:
        return out
    pos = 0
    for m in _MARKER_RE.finditer(answer):
        if m.start() > pos:
            out.append((answer[pos:m.start()], []))
        out.append(("", [int(n) for n in re.split(r"\s*,\s*", m.group(1))]))
        pos = m.end()
    if pos < len(answer):
        out.append((answer[pos:], []))
    return out
