"""The service as deployed: gunicorn on a free loopback port, spoken to over real HTTP."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from urllib.parse import urlsplit

import pytest
import requests

from .conftest import FAST_RATE, REPO, Gunicorn, free_port

FATHERS = "What did reviews find about fathers?"
SECRET = "Did anyone check on Jayden Smith-Okafor's stepfather?"


def post_ask(base, body, **kw):
    return requests.post(base + "/api/ask", json=body, timeout=30, **kw)


def assert_json_error(resp, status, code=None):
    assert resp.status_code == status, resp.text[:300]
    assert resp.headers["Content-Type"].startswith("application/json")
    body = resp.json()
    assert set(body) == {"error"} and body["error"]["message"]
    if code:
        assert body["error"]["code"] == code
    assert "Traceback" not in resp.text


def raw_request(port: int, data: bytes, timeout: float = 10) -> tuple[int, dict, bytes]:
    """Send bytes as they are and read the whole response (connection: close)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may answer and close before the body is all sent
        chunks = []
        while True:
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            chunks.append(chunk)
    raw = b"".join(chunks)
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return status, headers, body


def test_ask_over_http_returns_cited_passages_with_working_urls(server):
    resp = post_ask(server.base, {"question": FATHERS})
    assert resp.status_code == 200
    result = resp.json()
    assert result["status"] == "answered" and re.search(r"\[\d+\]", result["answer"])
    for p in result["passages"]:
        url = urlsplit(p["url"])
        assert f"{url.scheme}://{url.netloc}" == server.base
        page = requests.get(p["url"], timeout=10)
        assert page.status_code == 200
        assert f'id="{p["anchor"]}"' in page.text


def test_pages_and_json_twins_over_http(server):
    home = requests.get(server.base + "/", timeout=10)
    assert home.status_code == 200 and 'name="q"' in home.text
    assert "script-src 'self'" in home.headers["Content-Security-Policy"]
    assert requests.get(server.base + "/healthz", timeout=10).json()["index_loaded"] is True
    docs = requests.get(server.base + "/api/documents", timeout=10).json()["documents"]
    assert len(docs) == 6
    missing = requests.get(server.base + "/doc/nope", timeout=10)
    assert missing.status_code == 404 and missing.headers["Content-Type"].startswith("text/html")
    assert_json_error(requests.get(server.base + "/api/nope", timeout=10), 404, "not_found")


def test_cors_over_http(server):
    ok = requests.options(server.base + "/api/ask", timeout=10, headers={
        "Origin": server.allowed_origin, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type"})
    assert ok.status_code == 204 and ok.headers["Access-Control-Allow-Origin"] == server.allowed_origin
    denied = requests.options(server.base + "/api/ask", timeout=10, headers={
        "Origin": "http://127.0.0.1:1", "Access-Control-Request-Method": "POST"})
    assert_json_error(denied, 403, "origin_not_allowed")
    assert "Access-Control-Allow-Origin" not in denied.headers


def test_hostile_requests_over_http(server):
    base, port = server.base, server.port
    # body far over the limit, announced by Content-Length
    big = json.dumps({"question": "x" * 200_000}).encode()
    status, headers, body = raw_request(port, b"POST /api/ask HTTP/1.1\r\nHost: t\r\nConnection: close\r\n"
                                        b"Content-Type: application/json\r\nContent-Length: "
                                        + str(len(big)).encode() + b"\r\n\r\n" + big)
    assert status == 413 and headers["content-type"].startswith("application/json")
    assert json.loads(body)["error"]["code"] == "body_too_large"
    # the same body sent chunked, with no Content-Length
    chunked = b"".join(b"%x\r\n%s\r\n" % (len(big[i:i + 8192]), big[i:i + 8192]) for i in range(0, len(big), 8192))
    status, headers, body = raw_request(port, b"POST /api/ask HTTP/1.1\r\nHost: t\r\nConnection: close\r\n"
                                        b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
                                        + chunked + b"0\r\n\r\n")
    assert status == 413 and json.loads(body)["error"]["code"] == "body_too_large"
    # invalid UTF-8, null bytes, nesting, thousands of parameters
    assert_json_error(requests.post(base + "/api/ask", data=b'{"question": "\xff\xfe"}', timeout=10,
                                    headers={"Content-Type": "application/json"}), 400, "invalid_encoding")
    assert_json_error(post_ask(base, {"question": "a\x00b"}), 400, "invalid_characters")
    assert_json_error(requests.post(base + "/api/ask", data=b"[" * 8000, timeout=10,
                                    headers={"Content-Type": "application/json"}), 400, "invalid_json")
    assert_json_error(requests.get(base + "/api/ask?q=x&" + "&".join(["a"] * 2500), timeout=10),
                      400, "too_many_parameters")
    assert_json_error(requests.get(base + "/api/ask?q=%FF%FE", timeout=10), 400, "invalid_encoding")
    assert_json_error(post_ask(base, {"question": FATHERS, "history": ["q"] * 5000}), 413, "body_too_large")
    assert_json_error(requests.post(base + "/api/ask", data="question=x", timeout=10,
                                    headers={"Content-Type": "application/x-www-form-urlencoded"}),
                      415, "unsupported_media_type")
    # and the service is still answering
    assert post_ask(base, {"question": FATHERS}).status_code == 200


def test_sub_path_behind_a_proxy_over_http(server):
    headers = {"X-Forwarded-Prefix": "/safeguarding-qa", "X-Forwarded-Host": "intranet.example",
               "X-Forwarded-Proto": "https"}
    result = post_ask(server.base, {"question": FATHERS}, headers=headers).json()
    assert result["passages"][0]["url"].startswith("https://intranet.example/safeguarding-qa/doc/")
    page = requests.get(server.base + "/", headers=headers, timeout=10).text
    assert 'href="/safeguarding-qa/static/style.css' in page
    assert 'data-api="/safeguarding-qa/api/ask"' in page


def test_access_log_lines_without_questions(server):
    post_ask(server.base, {"question": SECRET, "history": ["Kayleigh was seen at school"]})
    requests.get(server.base + "/", params={"q": SECRET}, timeout=10)
    requests.get(server.base + "/embed/answer", params={"q": SECRET}, timeout=10)
    time.sleep(0.3)
    log = server.log()
    assert "Jayden" not in log and "Kayleigh" not in log and "stepfather" not in log
    assert re.search(r"POST /api/ask 200 \d+\.\dms passages=\S+", log)
    assert re.search(r"GET / 200 \d+\.\dms passages=", log)
    assert "GET /embed/answer 200" in log
    assert "?q=" not in log


@pytest.fixture(scope="module")
def limited_server(tmp_path_factory, corpus_dir, index_path):
    g = Gunicorn({"QA_CORPUS": str(corpus_dir), "QA_INDEX": str(index_path), "QA_RATE_LIMIT": "3 per minute"},
                 workers=1, log_path=tmp_path_factory.mktemp("limited") / "server.log")
    yield g
    g.stop()


def test_rate_limit_over_http(limited_server):
    base = limited_server.base
    statuses = [post_ask(base, {"question": FATHERS}).status_code for _ in range(3)]
    assert statuses == [200, 200, 200]
    resp = post_ask(base, {"question": FATHERS})
    assert_json_error(resp, 429, "rate_limited")
    assert 0 < int(resp.headers["Retry-After"]) <= 60
    assert requests.get(base + "/healthz", timeout=10).status_code == 200


def test_serve_prints_the_chat_url_and_stops_cleanly(corpus_dir, index_path, tmp_path):
    port = free_port()
    env = dict(os.environ, PYTHONPATH=str(REPO), QA_RATE_LIMIT=FAST_RATE)
    code = ("import sys; from qa.web.serve import serve; "
            f"sys.exit(serve('127.0.0.1', {port}, 1, {str(corpus_dir)!r}, {str(index_path)!r}))")
    proc = subprocess.Popen([sys.executable, "-c", code], env=env, cwd=str(tmp_path), stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    try:
        line = ""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and "Chat page:" not in line:
            line = proc.stdout.readline()
            if not line and proc.poll() is not None:
                break
        assert line.strip() == f"Chat page: http://127.0.0.1:{port}/"
        page = requests.get(f"http://127.0.0.1:{port}/", params={"q": FATHERS}, timeout=10)
        assert page.status_code == 200 and "Sources" in page.text
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            rc = proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    assert rc == 0
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
