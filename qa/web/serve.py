"""`qa serve`: run the web app under gunicorn and print the chat page's URL once it answers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from .core import REPO_ROOT


def gunicorn_command(host: str, port: int, workers: int) -> list[str]:
    """gunicorn from this interpreter's environment, with the app factory (no wsgi.py needed)."""
    return [
        sys.executable, "-m", "gunicorn",
        "--workers", str(max(1, int(workers))),
        "--bind", f"{_bind_host(host)}:{int(port)}",
        "--timeout", "60",
        "--graceful-timeout", "20",
        "--limit-request-line", "8190",
        # No --access-logfile: gunicorn's access log would record query strings (questions);
        # the app writes its own privacy-preserving access line.
        "--error-logfile", "-",
        "qa.web:create_app()",
    ]


def _bind_host(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def _url_host(host: str) -> str:
    if host in ("0.0.0.0", "", "::", "[::]"):
        return "127.0.0.1"
    return _bind_host(host)


def _wait_ready(url: str, proc: subprocess.Popen, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:  # noqa: S310 - our own loopback URL
                if resp.status == 200:
                    return True
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    return False


def serve(host: str = "127.0.0.1", port: int = 8000, workers: int = 2,
          corpus: str | Path | None = None, index: str | Path | None = None,
          ready_timeout: float = 120.0) -> int:
    """Start gunicorn with the app, print the chat URL when it answers, wait until it stops.

    The index is built (if missing or stale) here, once, before the workers start, so a start-up
    problem such as an empty corpus is reported clearly instead of as a worker boot failure.
    """
    env = dict(os.environ)
    if corpus:
        env["QA_CORPUS"] = str(Path(corpus).expanduser().resolve())
    if index:
        env["QA_INDEX"] = str(Path(index).expanduser().resolve())
    pythonpath = env.get("PYTHONPATH", "")
    env["PYTHONPATH"] = str(REPO_ROOT) + (os.pathsep + pythonpath if pythonpath else "")

    from qa.engine import Engine

    print("Loading the index (building it if needed)...", file=sys.stderr, flush=True)
    Engine.open(corpus_dir=env.get("QA_CORPUS") or None, index_path=env.get("QA_INDEX") or None)

    cmd = gunicorn_command(host, port, workers)
    proc = subprocess.Popen(cmd, env=env, cwd=str(REPO_ROOT))

    def forward(signum, _frame):
        if proc.poll() is None:
            proc.send_signal(signum)

    previous = {s: signal.signal(s, forward) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        base = f"http://{_url_host(host)}:{int(port)}"
        if _wait_ready(base + "/healthz", proc, ready_timeout):
            print(f"Chat page: {base}/", flush=True)
            print("Press Ctrl+C to stop.", file=sys.stderr, flush=True)
        elif proc.poll() is None:
            print(f"The server did not answer within {ready_timeout:.0f}s; it may still be starting: {base}/",
                  file=sys.stderr, flush=True)
        while True:
            try:
                return proc.wait()
            except KeyboardInterrupt:  # pragma: no cover - interactive
                continue
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
