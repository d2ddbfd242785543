"""Gunicorn on loopback and wrk (or a Python thread pool) against it, for bench.run and bench.load.

Everything here is bounded: the server is started in its own process group on 127.0.0.1 and a free
port, and is always stopped (SIGTERM, then SIGKILL after a grace period) by ``Gunicorn.stop`` or
the ``with`` block; wrk runs for a fixed time under a subprocess timeout and can stop each thread
after a number of responses.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench.stats import children, latency_summary, proc_status_kb, pss_kb

REPO = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
# the API is rate limited per client (QA_RATE_LIMIT, 60/minute by default): a load test from one
# loopback client must lift it, or it measures the limiter's 429s
LOAD_ENV = {"QA_RATE_LIMIT": "100000000 per minute"}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(url: str, timeout: float = 5.0) -> tuple[int, bytes]:
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


class Gunicorn:
    """``gunicorn wsgi:app`` with N workers on 127.0.0.1:<free port>, QA_CORPUS/QA_INDEX set."""

    def __init__(self, corpus: Path, index: Path | None, workers: int = 2, *, preload: bool = False,
                 extra_args: list[str] | None = None, env: dict | None = None, log: Path | None = None,
                 worker_class: str | None = None, threads: int | None = None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.workers_n = workers
        self.log_path = log or Path(tempfile.mkstemp(prefix="bench-gunicorn-", suffix=".log")[1])
        self.proc: subprocess.Popen | None = None
        self.cmd = [str(VENV_BIN / "gunicorn"), "--workers", str(workers), "--bind", f"127.0.0.1:{self.port}",
                    "--timeout", "120", "--graceful-timeout", "5", "--chdir", str(REPO)]
        if worker_class:
            self.cmd += ["--worker-class", worker_class]
        if threads:
            self.cmd += ["--threads", str(threads)]
        if preload:
            self.cmd.append("--preload")
        self.cmd += list(extra_args or []) + ["wsgi:app"]
        self.env = dict(os.environ, QA_CORPUS=str(corpus), **LOAD_ENV)
        if index is not None:
            self.env["QA_INDEX"] = str(index)
        self.env.update(env or {})

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self, timeout: float = 180.0) -> "Gunicorn":
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.cmd, cwd=REPO, env=self.env, stdout=self._log,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     start_new_session=True)
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                status, body = http_get(self.url + "/healthz", timeout=5)
                if status == 200 and len(self.workers()) >= self.workers_n:
                    return self
                last = f"{status} {body[:200]!r}"
            except OSError as e:
                last = repr(e)
            time.sleep(0.25)
        self.stop()
        raise RuntimeError(f"gunicorn not healthy after {timeout:.0f}s ({last}):\n{self.log_tail()}")

    def stop(self, grace: float = 10.0) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGTERM)  # our own process group (start_new_session)
            except ProcessLookupError:
                pass
            try:
                proc.wait(grace)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                proc.wait(5)
        self._log.close()

    def __enter__(self) -> "Gunicorn":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def log_tail(self, n: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""

    # -- observation -------------------------------------------------------------------------
    def workers(self) -> list[int]:
        return children(self.proc.pid) if self.proc else []

    def memory(self) -> dict:
        """RSS and PSS (MB) of the master and of each worker."""
        ws = self.workers()
        rss = {pid: (proc_status_kb(pid, "VmRSS") or 0) / 1024 for pid in ws}
        pss = {pid: (pss_kb(pid) or 0) / 1024 for pid in ws}
        master = self.proc.pid if self.proc else None
        return {"workers_rss_mb": [round(rss[p], 1) for p in ws],
                "workers_pss_mb": [round(pss[p], 1) for p in ws],
                "workers_rss_total_mb": round(sum(rss.values()), 1),
                "workers_pss_total_mb": round(sum(pss.values()), 1),
                "master_rss_mb": round((proc_status_kb(master, "VmRSS") or 0) / 1024, 1) if master else None,
                "master_pss_mb": round((pss_kb(master) or 0) / 1024, 1) if master else None}


# -- wrk ---------------------------------------------------------------------------------------
_LUA = r"""
-- generated by bench/serve.py: rotate through prepared requests, count statuses, stop a thread
-- after `limit` responses (0: no limit), print one JSON line in done()
local method = %(method)s
local path = %(path)s
local bodies = {%(bodies)s}
limit = %(limit)d
local threads = {}
local n_threads = 0

function setup(thread)
  thread:set("offset", n_threads * 7919)
  n_threads = n_threads + 1
  table.insert(threads, thread)
end

function init(args)
  statuses = {}
  count = 0
  reqs = {}
  local headers = {}
  if #bodies > 0 then
    headers["Content-Type"] = "application/json"
    for i, b in ipairs(bodies) do reqs[i] = wrk.format(method, path, headers, b) end
  else
    reqs[1] = wrk.format(method, path, headers, nil)
  end
end

function request()
  count = count + 1
  return reqs[((offset or 0) + count) %% #reqs + 1]
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  if limit > 0 then
    limit = limit - 1
    if limit == 0 then wrk.thread:stop() end
  end
end

function done(summary, latency, requests)
  local codes = {}
  for _, t in ipairs(threads) do
    local s = t:get("statuses")
    if s then for k, v in pairs(s) do codes[k] = (codes[k] or 0) + v end end
  end
  local parts = {}
  for k, v in pairs(codes) do table.insert(parts, string.format('"%%d": %%d', k, v)) end
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests": %%d, "duration_s": %%.3f, "bytes": %%d, ' ..
    '"errors": {"connect": %%d, "read": %%d, "write": %%d, "status": %%d, "timeout": %%d}, ' ..
    '"latency_ms": {"p50": %%.3f, "p90": %%.3f, "p99": %%.3f, "mean": %%.3f, "max": %%.3f}, ' ..
    '"statuses": {%%s}}\n',
    summary.requests, summary.duration / 1e6, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency.mean / 1000, latency.max / 1000, table.concat(parts, ", ")))
end
"""


def _lua_str(s: str) -> str:
    level = 0
    while f"]{'=' * level}]" in s:
        level += 1
    eq = "=" * level
    return f"[{eq}[{s}]{eq}]"


def have_wrk() -> bool:
    return shutil.which("wrk") is not None


def run_wrk(url: str, seconds: float, connections: int = 8, threads: int = 1, *, method: str = "GET",
            path: str = "/healthz", bodies: list[str] | None = None, max_requests: int = 0,
            timeout_s: float = 10.0) -> dict:
    """One wrk run; returns requests, rps, latency percentiles (ms), error counts and statuses."""
    threads = max(1, min(threads, connections))
    per_thread = -(-max_requests // threads) if max_requests else 0
    lua = _LUA % {"method": _lua_str(method), "path": _lua_str(path), "limit": per_thread,
                  "bodies": ", ".join(_lua_str(b) for b in (bodies or []))}
    with tempfile.NamedTemporaryFile("w", suffix=".lua", prefix="bench-wrk-", delete=False) as f:
        f.write(lua)
        script = f.name
    try:
        cmd = ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{max(1, round(seconds))}s",
               "--timeout", f"{max(1, round(timeout_s))}s", "-s", script, url + path]
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + timeout_s + 30)
    finally:
        os.unlink(script)
    line = next((x for x in p.stdout.splitlines() if x.startswith("WRKJSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk failed ({p.returncode}): {p.stdout[-2000:]} {p.stderr[-2000:]}")
    r = json.loads(line[len("WRKJSON "):])
    ok = sum(v for k, v in r["statuses"].items() if 200 <= int(k) < 300)
    r["errors"]["non_2xx"] = r["requests"] - ok if r["statuses"] else 0
    r["error_count"] = (r["errors"]["connect"] + r["errors"]["read"] + r["errors"]["write"]
                        + r["errors"]["timeout"] + r["errors"]["non_2xx"])
    r["rps"] = round(r["requests"] / r["duration_s"], 1) if r["duration_s"] else 0.0
    r.update(client="wrk", connections=connections, threads=threads, path=path, method=method)
    return r


def run_pool(url: str, seconds: float, connections: int = 8, *, method: str = "GET", path: str = "/healthz",
             bodies: list[str] | None = None, max_requests: int = 0, timeout_s: float = 10.0) -> dict:
    """The same measurement with a pool of Python threads (requests.Session each), if wrk is missing."""
    import requests

    deadline = time.monotonic() + seconds
    lock = threading.Lock()
    lat: list[float] = []
    statuses: dict[str, int] = {}
    errors = {"connect": 0, "read": 0, "write": 0, "status": 0, "timeout": 0}
    issued = [0]

    def client(k: int) -> None:
        s = requests.Session()
        i = k * 7919
        while time.monotonic() < deadline:
            with lock:
                if max_requests and issued[0] >= max_requests:
                    return
                issued[0] += 1
            i += 1
            t0 = time.perf_counter()
            try:
                if bodies:
                    r = s.post(url + path, data=bodies[i % len(bodies)].encode(),
                               headers={"Content-Type": "application/json"}, timeout=timeout_s)
                else:
                    r = s.request(method, url + path, timeout=timeout_s)
                code = str(r.status_code)
                dt = time.perf_counter() - t0
                with lock:
                    lat.append(dt)
                    statuses[code] = statuses.get(code, 0) + 1
                    if r.status_code > 399:
                        errors["status"] += 1
            except requests.Timeout:
                with lock:
                    errors["timeout"] += 1
            except requests.ConnectionError:
                with lock:
                    errors["connect"] += 1

    t0 = time.perf_counter()
    with ThreadPoolExecutor(connections) as ex:
        list(ex.map(client, range(connections)))
    dur = time.perf_counter() - t0
    ok = sum(v for k, v in statuses.items() if 200 <= int(k) < 300)
    errors["non_2xx"] = len(lat) - ok
    summ = latency_summary(lat)
    return {"requests": len(lat), "duration_s": round(dur, 3), "errors": errors, "statuses": statuses,
            "latency_ms": {k: summ.get(k) for k in ("p50", "p90", "p99", "mean", "max")},
            "error_count": errors["connect"] + errors["timeout"] + errors["non_2xx"],
            "rps": round(len(lat) / dur, 1) if dur else 0.0, "client": "python-threads",
            "connections": connections, "threads": connections, "path": path, "method": method}


def run_load(url: str, seconds: float, connections: int = 8, threads: int = 1, client: str = "auto", **kw) -> dict:
    if client == "wrk" or (client == "auto" and have_wrk()):
        return run_wrk(url, seconds, connections, threads, **kw)
    return run_pool(url, seconds, connections, **kw)


def ask_bodies(questions: list[str], top_k: int = 5) -> list[str]:
    return [json.dumps({"question": q, "top_k": top_k}, ensure_ascii=False) for q in questions]


class MemorySampler(threading.Thread):
    """Samples the workers' RSS/PSS every ``every`` seconds while a load runs."""

    def __init__(self, server: Gunicorn, every: float = 5.0, echo: bool = False):
        super().__init__(daemon=True)
        self.server, self.every, self.echo = server, every, echo
        self.samples: list[dict] = []
        self._halt = threading.Event()
        self.t0 = time.monotonic()

    def sample(self) -> dict:
        m = self.server.memory()
        m["t_s"] = round(time.monotonic() - self.t0, 1)
        self.samples.append(m)
        if self.echo:
            print(f"  t={m['t_s']:6.1f}s  workers RSS MB {m['workers_rss_mb']}  total {m['workers_rss_total_mb']:.1f}"
                  f"  PSS total {m['workers_pss_total_mb']:.1f}", flush=True)
        return m

    def run(self) -> None:
        while not self._halt.wait(self.every):
            self.sample()

    def stop(self) -> list[dict]:
        self._halt.set()
        self.join(self.every + 5)
        self.sample()
        return self.samples
