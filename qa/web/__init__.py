"""The web side: chat page, JSON API, document viewer and embeddable answers.

    from qa.web import create_app
    app = create_app()                      # configuration from QA_* environment variables
    app = create_app({"QA_CORPUS": "...", "QA_RATE_LIMIT": "5 per minute"})   # overrides (tests)

The engine is opened once per process (one per gunicorn worker) and asked, before each request,
to switch to a newer index if one was built on disk (``engine.reload_if_changed()``).
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import Any

from flask import Flask, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from werkzeug.middleware.proxy_fix import ProxyFix

from .core import REPO_ROOT, SETTINGS, ConfigError, load_settings  # noqa: F401 (re-exported)

__all__ = ["create_app", "ConfigError", "SETTINGS"]

log = logging.getLogger("qa.web")

STATIC_DIR = Path(__file__).resolve().parent / "static"

# Endpoints that run a question through the engine share one per-client rate limit.
ASK_ENDPOINTS = frozenset({"api.ask", "chat.index", "embed.answer"})


def _template_folder() -> Path:
    top = REPO_ROOT / "templates"
    if top.is_dir():
        return top
    return Path(__file__).resolve().parent / "templates"


def open_engine(cfg: dict[str, Any]):
    from qa.engine import Engine

    return Engine.open(corpus_dir=cfg["QA_CORPUS"] or None, index_path=cfg["QA_INDEX"] or None)


def _asset_versions() -> dict[str, str]:
    versions = {}
    if STATIC_DIR.is_dir():
        for f in STATIC_DIR.iterdir():
            if f.is_file():
                versions[f.name] = hashlib.sha256(f.read_bytes()).hexdigest()[:10]
    return versions


def create_app(config: dict[str, Any] | None = None) -> Flask:
    cfg = load_settings(config)
    extra = cfg["extra"]

    from .security import configure_logging, init_security

    configure_logging(cfg["QA_LOG_LEVEL"])

    app = Flask(__name__, template_folder=str(_template_folder()), static_folder=str(STATIC_DIR),
                static_url_path="/static")
    app.config.update(
        MAX_CONTENT_LENGTH=cfg["QA_MAX_BODY_BYTES"] + 1,  # see api.read_json_body
        MAX_FORM_MEMORY_SIZE=cfg["QA_MAX_BODY_BYTES"],
        MAX_FORM_PARTS=cfg["QA_MAX_PARAMS"],
        JSON_SORT_KEYS=False,
        SESSION_COOKIE_SECURE=True,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        TRAP_HTTP_EXCEPTIONS=False,
        PROPAGATE_EXCEPTIONS=False,
    )
    app.json.sort_keys = False
    app.json.ensure_ascii = True
    for key, value in extra.items():
        if key.isupper() and key != "ENGINE":
            app.config[key] = value
    app.config["PROPAGATE_EXCEPTIONS"] = False

    try:
        from qa.engine import MAX_TOP_K
    except ImportError:  # pragma: no cover - engine without the constant
        MAX_TOP_K = None
    if MAX_TOP_K is not None and cfg["QA_TOP_K_MAX"] > MAX_TOP_K:
        raise ConfigError(f"QA_TOP_K_MAX must be at most {MAX_TOP_K} (the engine's limit)")

    engine = extra.get("ENGINE")
    if engine is None:
        engine = open_engine(cfg)
    app.extensions["qa"] = {"settings": cfg, "engine": engine}

    if cfg["QA_TRUSTED_PROXIES"]:
        n = cfg["QA_TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n, x_port=n, x_prefix=n)

    init_security(app)

    @app.before_request
    def _reload_index():
        if request.endpoint in ("static", "embed.widget") or request.method == "OPTIONS":
            return None
        reload = getattr(app.extensions["qa"]["engine"], "reload_if_changed", None)
        if reload is not None:
            try:
                reload()
            except Exception:  # noqa: BLE001 - keep serving the index we have
                log.exception("index reload failed; still serving the previous index")
        return None

    def _rate_limited_request() -> bool:
        if request.method not in ("GET", "POST"):
            return False
        if request.endpoint == "api.ask":
            return True
        return request.endpoint in ASK_ENDPOINTS and bool(request.args.get("q"))

    limiter = Limiter(
        get_remote_address,
        app=app,
        application_limits=[cfg["QA_RATE_LIMIT"]] if cfg["QA_RATE_LIMIT"].strip() else [],
        application_limits_exempt_when=lambda: not _rate_limited_request(),
        storage_uri=cfg["QA_RATE_LIMIT_STORAGE"],
        headers_enabled=True,
        strategy="fixed-window",
        swallow_errors=True,
        in_memory_fallback_enabled=True,
        key_prefix="qa",
    )
    app.extensions["qa"]["limiter"] = limiter

    from . import api, chat, documents, embed

    app.register_blueprint(chat.bp)
    app.register_blueprint(documents.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(embed.bp)

    versions = _asset_versions()

    @app.context_processor
    def _globals():
        from flask import url_for

        from qa.answer import NEEDS_EARLIER_QUESTION

        from .core import answer_segments, highlight_segments

        def asset(name: str) -> str:
            return url_for("static", filename=name, v=versions.get(name, "0"))

        return {
            "asset": asset,
            "highlight_segments": highlight_segments,
            "answer_segments": answer_segments,
            "needs_earlier_question": NEEDS_EARLIER_QUESTION,
            "max_question_chars": cfg["QA_MAX_QUESTION_CHARS"],
            "max_history": cfg["QA_MAX_HISTORY"],
        }

    return app
