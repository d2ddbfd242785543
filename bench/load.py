"""Load test against gunicorn on loopback (issue 5, point 7).

    .venv/bin/python -m bench.load                          # 60 s, 8 connections, 2 workers, bundled corpus
    .venv/bin/python -m bench.load --seconds 120 --workers 4 --connections 16
    .venv/bin/python -m bench.load --url http://127.0.0.1:8000   # an already running server (no memory sampling
                                                                 # unless --pid gives its gunicorn master)

Starts ``gunicorn wsgi:app`` on 127.0.0.1 and a free port (the index is built beforehand with
``qa index``, so workers only load it), lifts the per-client rate limit for the run, warms up, then
drives POST /api/ask with the 200 benchmark questions in rotation from concurrent clients (wrk if
installed, else a pool of Python threads) for ``--seconds`` and at most ``--max-requests``. Every
``--sample-every`` seconds it prints the workers' resident memory (VmRSS from /proc/<pid>/status,
and PSS), so growth across the run is visible. At the end it prints throughput, p50/p99 latency,
the error count and the memory growth, and stops the server.

Exit status: 0 when there were no errors and no worker grew by more than ``--max-growth-mb``;
1 otherwise; 2 if the server could not be started.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from bench import serve
from bench.ours import index_cmd, run_measured
from bench.stats import children, proc_status_kb, pss_kb
from bench.synth import Synth

REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "bench" / "data"


class _External:
    """An already running server: memory from its master's children when --pid is given."""

    def __init__(self, url: str, pid: int | None):
        self.url, self.pid = url.rstrip("/"), pid

    def memory(self) -> dict:
        ws = children(self.pid) if self.pid else []
        rss = [round((proc_status_kb(p, "VmRSS") or 0) / 1024, 1) for p in ws]
        pss = [round((pss_kb(p) or 0) / 1024, 1) for p in ws]
        return {"workers_rss_mb": rss, "workers_pss_mb": pss, "workers_rss_total_mb": round(sum(rss), 1),
                "workers_pss_total_mb": round(sum(pss), 1), "master_rss_mb": None}

    def workers(self) -> list[int]:
        return children(self.pid) if self.pid else []


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Load test /api/ask on loopback; prints throughput, latency, "
                                             "errors and the workers' memory over time.")
    ap.add_argument("--seconds", type=float, default=60, help="duration of the measured run (default 60)")
    ap.add_argument("--max-requests", type=int, default=1_000_000, help="stop after this many responses")
    ap.add_argument("--connections", type=int, default=8, help="concurrent clients (default 8)")
    ap.add_argument("--threads", type=int, default=1, help="wrk threads (default 1)")
    ap.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    ap.add_argument("--corpus", type=Path, default=REPO / "corpus")
    ap.add_argument("--index", type=Path, default=None, help="index file (default: built under bench/data)")
    ap.add_argument("--url", default=None, help="load this server instead of starting one")
    ap.add_argument("--pid", type=int, default=None, help="with --url: its gunicorn master pid, for memory")
    ap.add_argument("--path", default="/api/ask", help="/api/ask (POST, the questions) or a GET path such as /healthz")
    ap.add_argument("--client", choices=("auto", "wrk", "python"), default="auto")
    ap.add_argument("--warmup", type=float, default=3, help="seconds of load before measuring")
    ap.add_argument("--sample-every", type=float, default=5, help="seconds between memory samples")
    ap.add_argument("--max-growth-mb", type=float, default=50,
                    help="fail if a worker's RSS grows more than this from the first to the last sample")
    ap.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = ap.parse_args(argv)

    questions = Synth().questions()
    bodies = serve.ask_bodies(questions) if args.path == "/api/ask" else None
    method = "POST" if bodies else "GET"
    if args.url:
        server = _External(args.url, args.pid)
        gunicorn = None
    else:
        index = args.index
        if index is None:
            index = DATA / f"index-load-{args.corpus.resolve().name}" / "index.qaidx"
            index.parent.mkdir(parents=True, exist_ok=True)
            print(f"building the index of {args.corpus} with qa index ...", flush=True)
            b = run_measured(index_cmd(args.corpus.resolve(), index), 900, log=index.parent / "build.log")
            if b["returncode"] != 0:
                print(f"qa index failed; see {index.parent / 'build.log'}", file=sys.stderr)
                return 2
        gunicorn = serve.Gunicorn(args.corpus.resolve(), index.resolve(), args.workers,
                                  log=DATA / "gunicorn-load.log")
        try:
            gunicorn.start()
        except RuntimeError as e:
            print(f"could not start gunicorn: {e}", file=sys.stderr)
            return 2
        server = gunicorn
    try:
        client = "wrk" if args.client == "wrk" or (args.client == "auto" and serve.have_wrk()) else "python"
        print(f"server {server.url}, workers {server.workers()}, client {client}, {args.connections} connections, "
              f"{method} {args.path}, {args.seconds:.0f} s (max {args.max_requests:,} requests)", flush=True)
        kw = dict(connections=args.connections, threads=args.threads, client=args.client, method=method,
                  path=args.path, bodies=bodies)
        if args.warmup > 0:
            serve.run_load(server.url, args.warmup, **kw)
        sampler = serve.MemorySampler(server, every=args.sample_every, echo=True)
        sampler.sample()
        sampler.start()
        try:
            result = serve.run_load(server.url, args.seconds, max_requests=args.max_requests, **kw)
        finally:
            samples = sampler.stop()
    except (RuntimeError, OSError, subprocess.SubprocessError) as e:
        print(f"RESULT     FAIL: the load could not run: {e}", file=sys.stderr)
        return 1
    finally:
        if gunicorn is not None:
            gunicorn.stop()

    first, last = samples[0]["workers_rss_mb"], samples[-1]["workers_rss_mb"]
    growth = [round(b - a, 1) for a, b in zip(first, last)] if len(first) == len(last) else []
    lat = result["latency_ms"]
    print()
    capped = " (stopped at --max-requests: the rate is over the whole duration)" if result["requests"] >= args.max_requests else ""
    print(f"requests   {result['requests']:,} in {result['duration_s']:.1f} s = {result['rps']:,.1f} req/s{capped}")
    print(f"latency    p50 {lat['p50']:.2f} ms   p90 {lat['p90']:.2f} ms   p99 {lat['p99']:.2f} ms   max {lat['max']:.2f} ms")
    print(f"errors     {result['error_count']}  {json.dumps(result['errors'])}  statuses {json.dumps(result['statuses'])}")
    if growth:
        print(f"memory     workers RSS MB first {first} -> last {last} (growth {growth}); "
              f"PSS total {samples[0]['workers_pss_total_mb']} -> {samples[-1]['workers_pss_total_mb']} MB")
    elif server.workers() or first or last:
        print(f"memory     workers changed during the run: first {first}, last {last}")
    failed = []
    if result["error_count"]:
        failed.append(f"{result['error_count']} errors")
    if growth and max(growth) > args.max_growth_mb:
        failed.append(f"a worker grew by {max(growth)} MB (> {args.max_growth_mb})")
    if len(first) != len(last):
        failed.append("the set of workers changed (a worker died or was restarted)")
    if result["requests"] == 0:
        failed.append("no request completed")
    print("RESULT     " + ("FAIL: " + "; ".join(failed) if failed else "ok: zero errors, memory flat"))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"args": {k: str(v) for k, v in vars(args).items()}, "result": result,
                                         "memory_samples": samples, "growth_mb": growth, "failed": failed}, indent=1))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
