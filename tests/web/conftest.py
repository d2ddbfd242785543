"""Fixtures for the web tests: a corpus with hostile text, the Flask app, a real gunicorn, and two
host pages on other origins for the widget."""

from __future__ import annotations

import http.server
import os
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest
import requests

REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO / "corpus"

XSS_DOC_ID = "900_zebrafinch"
# Each payload increments window.__xss if it ever runs.
XSS_TITLE = ('Zebrafinch <script>window.__xss=(window.__xss||0)+1</script> review '
             '<img src=x onerror="window.__xss=(window.__xss||0)+1">')
XSS_PUBLISHER = '<b onmouseover="window.__xss=(window.__xss||0)+1">Hostile Board</b>'
XSS_TEXT = """Zebrafinch protocol

1. The zebrafinch protocol requires every practitioner to record the zebrafinch assessment <script>window.__xss=(window.__xss||0)+1;alert("script")</script> before the first home visit.

2. Zebrafinch assessments were missing in several reviews <img src=x onerror="window.__xss=(window.__xss||0)+1;alert('img')"> and practitioners did not escalate concerns.

3. The zebrafinch checklist is published at <a href="javascript:window.__xss=(window.__xss||0)+1">javascript:window.__xss=1</a> for practitioners to follow.
"""
FAST_RATE = "100000 per minute"

# Questions whose words the engine matches in other forms; the pages must mark what the engine marks.
MUMS_AND_DADS = "what did reviews find about mums and dads?"  # thesaurus: mums -> mothers, dads -> fathers
BEHAVIOR = "How was the behavior of parents described?"  # American spelling; the reports write behaviour

# A passage text with hostile markup and characters outside the BMP (two code points, four UTF-16
# units, before the first highlight), and highlight spans some of which are broken.
MARKED_TEXT = ('\U0001F476\U0001F3FD Mums <img src=x onerror="window.__xss=(window.__xss||0)+1"> and dads '
               '\U0001D4B3 <script>window.__xss=(window.__xss||0)+1</script> behaviour.')


def _span(word: str) -> list[int]:
    start = MARKED_TEXT.index(word)
    return [start, start + len(word)]


MARKED_SPANS = [
    _span("Mums"), [True, 5], [1.0, 2.0], ["3", "7"], [4], None, "3,7", [2, 1], [-1, 3],
    _span("<img src"),  # a span may cut through markup: it is still only text
    _span("dads"), [_span("dads")[0] + 1, _span("dads")[1] + 2],  # overlaps the one before
    _span("<script>window"), _span("behaviour"), [0, 2],  # out of order
    [0, len(MARKED_TEXT) + 1], [len(MARKED_TEXT), len(MARKED_TEXT) + 1],
]
MARKED_WORDS = ["Mums", "<img src", "dads", "<script>window", "behaviour"]


def _toml_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def make_corpus(target: Path) -> Path:
    """The bundled corpus plus one report whose title, publisher, source and text are hostile."""
    target.mkdir(parents=True, exist_ok=True)
    for f in CORPUS.iterdir():
        if f.is_file():
            shutil.copyfile(f, target / f.name)
    (target / f"{XSS_DOC_ID}.txt").write_text(XSS_TEXT, encoding="utf-8")
    with open(target / "catalogue.toml", "a", encoding="utf-8") as fh:
        fh.write(f'\n\n["{XSS_DOC_ID}.txt"]\n')
        fh.write(f"title = {_toml_string(XSS_TITLE)}\n")
        fh.write(f"publisher = {_toml_string(XSS_PUBLISHER)}\n")
        fh.write('date = "2020-01"\nkind = "report"\n')
        fh.write('source_url = "javascript:window.__xss=(window.__xss||0)+1"\n')
    return target


@pytest.fixture(scope="session")
def corpus_dir(tmp_path_factory) -> Path:
    return make_corpus(tmp_path_factory.mktemp("corpus"))


@pytest.fixture(scope="session")
def index_path(tmp_path_factory, corpus_dir) -> Path:
    from qa.engine import Engine

    path = tmp_path_factory.mktemp("index") / "index"
    Engine.open(corpus_dir=corpus_dir, index_path=path)  # build once for every app below
    return path


@pytest.fixture(scope="session")
def engine(corpus_dir, index_path):
    from qa.engine import Engine

    return Engine.open(corpus_dir=corpus_dir, index_path=index_path)


@pytest.fixture(scope="session")
def make_app(corpus_dir, index_path, engine):
    """create_app with the test corpus; keyword overrides win."""
    from qa.web import create_app

    def factory(**overrides):
        config = {"QA_CORPUS": str(corpus_dir), "QA_INDEX": str(index_path), "QA_RATE_LIMIT": FAST_RATE,
                  "TESTING": True}
        config.update(overrides)
        return create_app(config)

    return factory


@pytest.fixture(scope="session")
def app(make_app):
    return make_app()


@pytest.fixture()
def client(app):
    return app.test_client()


# ---------------------------------------------------------------------------------------------
# Real servers
# ---------------------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Gunicorn:
    def __init__(self, env: dict[str, str], workers: int, log_path: Path):
        from qa.web.serve import gunicorn_command

        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        full_env = dict(os.environ)
        full_env.update(env)
        full_env["PYTHONPATH"] = str(REPO) + os.pathsep + full_env.get("PYTHONPATH", "")
        self._log = open(log_path, "wb")
        self.proc = subprocess.Popen(gunicorn_command("127.0.0.1", self.port, workers), env=full_env,
                                     cwd=str(REPO), stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("gunicorn exited:\n" + self.log())
            try:
                if requests.get(self.base + "/healthz", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError("gunicorn did not start:\n" + self.log())

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()


class HostPage:
    """A static intranet page on its own origin that embeds the widget from the service."""

    def __init__(self, service_base: str, port: int = 0):
        pages = {path: html.replace("SERVICE", service_base).encode("utf-8") for path, html in HOST_PAGES.items()}

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                page = pages.get(self.path.split("?")[0])
                if page is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(page)))
                self.end_headers()
                self.wfile.write(page)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.origin = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


HOST_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Safeguarding training - intranet</title>
<style>
  body { font-family: Georgia, serif; color: #222; margin: 2rem; }
  button { background: rgb(255, 105, 180); }
  p { color: rgb(0, 128, 0); }
</style>
</head>
<body>
<main>
<h1>Safeguarding training</h1>
<p id="host-text">Host page text that the widget must not restyle.</p>
<div data-qa-widget data-qa-title="Ask the case reviews"></div>
</main>
<script src="SERVICE/widget.js" defer></script>
</body>
</html>
"""

FRAME_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Intranet page with a framed chat</title></head>
<body><h1>Ask in the frame</h1>
<iframe src="SERVICE/embed" title="Ask the case reviews" width="700" height="700"></iframe>
</body></html>
"""

CARD_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Guidance page with an answer card</title></head>
<body><h1>Guidance</h1>
<iframe src="SERVICE/embed/answer?q=What+did+reviews+find+about+fathers%3F" title="Answer" width="700" height="700"></iframe>
</body></html>
"""

HOST_PAGES = {"/": HOST_PAGE, "/frame": FRAME_PAGE, "/card": CARD_PAGE}


@pytest.fixture(scope="session")
def server(tmp_path_factory, corpus_dir, index_path):
    """gunicorn (2 workers) serving the test corpus; CORS open to ALLOWED_ORIGIN only."""
    host_port = free_port()
    allowed = f"http://127.0.0.1:{host_port}"
    log = tmp_path_factory.mktemp("gunicorn") / "server.log"
    g = Gunicorn({"QA_CORPUS": str(corpus_dir), "QA_INDEX": str(index_path),
                  "QA_ALLOWED_ORIGINS": allowed, "QA_RATE_LIMIT": FAST_RATE,
                  "QA_FRAME_ANCESTORS": allowed, "QA_LOG_LEVEL": "INFO"}, workers=2, log_path=log)
    g.allowed_origin = allowed
    g.allowed_port = host_port
    yield g
    g.stop()


def browser_args() -> list[str]:
    return ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run"]


CHROMIUM = "/usr/bin/chromium"


def require_chromium() -> None:
    if not os.path.exists(CHROMIUM):
        message = (f"{CHROMIUM} is not installed (apt-get install chromium); "
                   "browser tests need Debian's Chromium")
        if os.environ.get("CI"):
            pytest.fail(message + " - and CI is set, so this is a failure", pytrace=False)
        pytest.skip(message)


@pytest.fixture(scope="session")
def browser():
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=browser_args())
        yield b
        b.close()
