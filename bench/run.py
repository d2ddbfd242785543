"""The benchmark suite: one command, one process run, the same passages for every system.

    .venv/bin/python -m bench.run                      # 10k, 150k, 300k passages + HTTP (< 10 min)
    .venv/bin/python -m bench.run --quick              # 10k only, short HTTP run (< 1 min)
    .venv/bin/python -m bench.run --sizes 10000,150000 --no-http

For each corpus size (bench/synth.py generates it, deterministic) it measures
  ours   build time and peak memory (``qa index`` in a child process), index size on disk, load time
         and resident memory of a fresh process that opened the index, latency p50/p99 of
         retrieval alone and of the full answer over 200 questions (in-process, after a warm-up);
  bm25s  build time (tokenize + index) and top-10 query p50/p99 on the same passage texts;
  floor  the inverted-index floor: sklearn TF-IDF, CSC term-major, per query add the query terms'
         columns, top 10 by argpartition;
  naive  the same matrix CSR, ``X @ q.T`` per query;
then HTTP: gunicorn (N workers, loopback) on the bundled corpus under wrk for a fixed time,
/api/ask against /healthz (the no-op endpoint), and the workers' memory with 4 workers on the
150k index. It prints a table, writes bench/results/latest.json (quick: quick.json), draws
docs/performance.png and writes docs/performance.md (not in --quick mode unless --doc is given).
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import platform
import shlex
import sys
import time
from pathlib import Path

from bench import baselines, ours, serve
from bench.synth import Synth

REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "bench" / "data"
RESULTS = REPO / "bench" / "results"
DOC = REPO / "docs" / "performance.md"
PNG = REPO / "docs" / "performance.png"
TARGET_SIZE = 150_000


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


# ------------------------------------------------------------------------------------------------
# measuring


def bench_size(synth: Synth, n: int, questions: list[str], args) -> dict:
    res: dict = {"passages_generated": n, "loadavg_before": [round(x, 2) for x in os.getloadavg()],
                 "code": ours.code_fingerprint()}
    corpus = DATA / f"corpus-{n}"
    t0 = time.perf_counter()
    manifest = synth.write_corpus(corpus, n)
    res["corpus"] = {"dir": str(corpus.relative_to(REPO)), "reports": manifest["reports"],
                     "generate_s": round(time.perf_counter() - t0, 2)}
    texts = synth.passages(n)
    res["corpus"]["words_per_passage"] = round(sum(t.count(" ") + 1 for t in texts) / len(texts), 1)
    log(f"{n:,} passages: corpus ready in {res['corpus']['generate_s']} s ({manifest['reports']} reports)")

    if not args.no_ours:
        log(f"{n:,}: ours (qa index in a child process, then load and 200 questions)")
        try:
            res["ours"] = ours.bench_ours(corpus, DATA / f"index-{n}", DATA / "questions.json", repeat=args.repeat,
                                          build_timeout=args.build_timeout, log_dir=DATA)
        except Exception as e:  # report and go on with the others
            res["ours"] = {"error": f"{type(e).__name__}: {e}"}
        o = res["ours"]
        if "error" in o:
            log(f"{n:,}: ours FAILED: {o['error']}")
        else:
            log(f"{n:,}: ours build {o['build_s']} s, peak {o['build_peak_rss_mb']} MB, "
                f"retrieval p50 {o['retrieval_ms']['p50']} ms, answer p50 {o['answer_ms']['p50']} ms")
        gc.collect()

    log(f"{n:,}: bm25s")
    res["bm25s"], bm_hits = baselines.bench_bm25s(texts, questions, args.repeat)
    log(f"{n:,}: bm25s build {res['bm25s']['build_s']} s, p50 {res['bm25s']['query_ms']['p50']} ms")
    log(f"{n:,}: TF-IDF floor and naive product")
    res["floor"], res["naive"], floor_hits, _ = baselines.bench_tfidf(texts, questions, args.repeat)
    res["terms_unigram"] = res["floor"]["vocabulary"]
    # how often bm25s and the floor agree on the top 10 (same texts, different weighting)
    res["bm25s_floor_top10_overlap"] = round(sum(len(set(a) & set(b)) for a, b in zip(bm_hits, floor_hits))
                                             / max(1, sum(len(b) for b in floor_hits)), 3)
    log(f"{n:,}: floor p50 {res['floor']['query_ms']['p50']} ms, naive p50 {res['naive']['query_ms']['p50']} ms")
    del texts
    gc.collect()
    res["loadavg_after"] = [round(x, 2) for x in os.getloadavg()]
    return res


def bench_http(questions: list[str], args, index_150k: Path | None) -> dict:
    out: dict = {"code": ours.code_fingerprint(), "workers": args.workers, "connections": args.connections, "seconds": args.http_seconds,
                 "client": "wrk" if serve.have_wrk() else "python-threads", "wrk_threads": args.wrk_threads}
    bodies = serve.ask_bodies(questions)
    # the bundled corpus, its index built by the CLI beforehand (not by the workers)
    idx_dir = DATA / "index-bundled"
    idx_dir.mkdir(parents=True, exist_ok=True)
    build = ours.run_measured(ours.index_cmd(REPO / "corpus", idx_dir / "index.qaidx"), 300,
                              log=DATA / "build-bundled.log")
    if build["returncode"] != 0:
        out["error"] = f"building the bundled index failed: see {DATA / 'build-bundled.log'}"
        return out
    out["code_changed_since_bundled_build"] = ours.ensure_loadable(REPO / "corpus", idx_dir / "index.qaidx")["rebuilt"]
    bundled_mtime = (idx_dir / "index.qaidx").stat().st_mtime_ns
    kw = dict(connections=args.connections, threads=args.wrk_threads)
    log(f"HTTP: gunicorn {args.workers} workers on the bundled corpus, {args.http_seconds} s per endpoint")
    with serve.Gunicorn(REPO / "corpus", idx_dir / "index.qaidx", args.workers, log=DATA / "gunicorn-http.log") as g:
        serve.run_load(g.url, min(3, args.http_seconds), method="POST", path="/api/ask", bodies=bodies, **kw)  # warm-up
        out["noop"] = serve.run_load(g.url, args.http_seconds, path="/healthz", **kw)
        out["ask"] = serve.run_load(g.url, args.http_seconds, method="POST", path="/api/ask", bodies=bodies, **kw)
        out["memory_bundled"] = g.memory()
    if (idx_dir / "index.qaidx").stat().st_mtime_ns != bundled_mtime:
        out["warning"] = "the workers rebuilt the bundled index during the run (qa/ changed?)"
    out["ask_vs_noop"] = round(out["ask"]["rps"] / out["noop"]["rps"], 3) if out["noop"]["rps"] else None
    log(f"HTTP: /healthz {out['noop']['rps']} req/s, /api/ask {out['ask']['rps']} req/s "
        f"(ratio {out['ask_vs_noop']}), errors {out['noop']['error_count']} + {out['ask']['error_count']}")
    if index_150k is not None and args.mem_workers:
        n = int(index_150k.parent.name.split("-")[1])
        log(f"HTTP: {args.mem_workers} workers on the {n:,}-passage index: memory after {args.mem_seconds} s of /api/ask")
        corpus = DATA / f"corpus-{n}"
        check = ours.ensure_loadable(corpus, index_150k, log=DATA / f"rebuild-{n}.log")
        if check["rebuilt"]:
            log(f"HTTP: qa/ changed since the {n:,} build ({check['reason']}); rebuilt it before serving")
        mtime = index_150k.stat().st_mtime_ns
        with serve.Gunicorn(corpus, index_150k, args.mem_workers, log=DATA / "gunicorn-mem.log") as g:
            before = g.memory()
            serve.run_load(g.url, 3, method="POST", path="/api/ask", bodies=bodies, **kw)  # warm-up
            load = serve.run_load(g.url, args.mem_seconds, method="POST", path="/api/ask", bodies=bodies, **kw)
            after = g.memory()
        out["large"] = {"passages": n, "workers": args.mem_workers, "memory_idle": before,
                        "memory_after_load": after, "ask": load, "rebuilt_before_serving": check["rebuilt"]}
        if index_150k.stat().st_mtime_ns != mtime:
            out["large"]["invalid"] = "the workers rebuilt the index while being measured (qa/ changed during the run)"
            log(f"HTTP: WARNING {out['large']['invalid']}")
        log(f"HTTP: {n:,}: /api/ask {load['rps']} req/s p50 {load['latency_ms']['p50']} ms; workers RSS "
            f"{after['workers_rss_mb']} MB, PSS total {after['workers_pss_total_mb']} MB")
    return out


# ------------------------------------------------------------------------------------------------
# targets (issue 7), evaluated at 150k passages (or the size closest to it)


def _get(d: dict, *keys):
    for k in keys:
        if not isinstance(d, dict) or k not in d:
            return None
        d = d[k]
    return d


def _slope(xs: list[float], ys: list[float]) -> float | None:
    pts = [(math.log(x), math.log(y)) for x, y in zip(xs, ys) if x and y]
    if len(pts) < 2:
        return None
    (x0, y0), (x1, y1) = pts[0], pts[-1]
    return round((y1 - y0) / (x1 - x0), 2) if x1 != x0 else None


def evaluate_targets(results: dict) -> list[dict]:
    sizes = sorted(int(n) for n in results["sizes"])
    if not sizes:
        return []
    n = min(sizes, key=lambda s: abs(s - TARGET_SIZE))
    r = results["sizes"][str(n)]
    o = r.get("ours", {})
    rows: list[dict] = []
    na = f"n/a: {o['error']}" if o.get("error") else "n/a"

    def add(target: str, measured, ok, note: str = ""):
        rows.append({"target": target, "measured": measured, "met": ok, "note": note})

    p50 = _get(o, "retrieval_ms", "p50")
    bm = _get(r, "bm25s", "query_ms", "p50")
    fl = _get(r, "floor", "query_ms", "p50")
    at = f" (at {n:,})"
    add("retrieval p50 <= bm25s p50" + at, f"{p50} ms vs {bm} ms" if p50 is not None else na,
        None if p50 is None else p50 <= bm)
    add("retrieval p50 <= 1.3 x floor p50" + at, f"{p50} ms vs 1.3 x {fl} = {round(1.3 * fl, 3)} ms" if p50 is not None else na,
        None if p50 is None else p50 <= 1.3 * fl)
    p99 = _get(o, "retrieval_ms", "p99")
    add("retrieval p99 < 20 ms" + at, f"{p99} ms" if p99 is not None else na, None if p99 is None else p99 < 20)
    a50 = _get(o, "answer_ms", "p50")
    add("full answer p50 < 10 ms" + at, f"{a50} ms" if a50 is not None else na, None if a50 is None else a50 < 10)
    b = o.get("build_s")
    if b is None and _get(o, "build", "timed_out"):
        add("index build < 60 s" + at, f"> {o['build']['seconds']} s (stopped by --build-timeout)", False)
    else:
        add("index build < 60 s" + at, f"{b} s" if b is not None else na, None if b is None else b < 60)
    m = o.get("build_peak_rss_mb")
    add("build peak memory < 2 GB" + at, f"{m} MB" if m is not None else na, None if m is None else m < 2048)
    ld = o.get("load_s")
    add("load < 2 s" + at, f"{ld} s" if ld is not None else na, None if ld is None else ld < 2)
    large = _get(results, "http", "large")
    if large and large.get("invalid"):
        large = None
    if large:
        w = large["memory_after_load"]["workers_rss_mb"]
        add(f"one worker RSS < 600 MB (at {large['passages']:,}, after load)", f"max {max(w)} MB of {w}",
            max(w) < 600)
        tot = large["memory_after_load"]["workers_pss_total_mb"]
        one = max(w)
        add(f"{large['workers']} workers together well under {large['workers']}x one (PSS)",
            f"{tot} MB PSS vs {large['workers']} x {one} = {round(large['workers'] * one)} MB",
            tot < 0.75 * large["workers"] * one, "well under: taken as < 75%")
    else:
        w = o.get("worker_rss_mb")
        add("one worker RSS < 600 MB" + at + " (fresh process with the index open)",
            f"{w} MB" if w is not None else "n/a", None if w is None else w < 600)
    xs = [s for s in sizes if "build_s" in results["sizes"][str(s)].get("ours", {})]
    if len(xs) >= 2:
        bs = _slope(xs, [results["sizes"][str(s)]["ours"]["build_s"] for s in xs])
        add(f"build time ~linear ({xs[0]:,} -> {xs[-1]:,})", f"log-log slope {bs}", bs is not None and bs <= 1.2,
            "slope 1 = linear; <= 1.2 accepted")
    else:
        add("build time ~linear", "fewer than two sizes built", None)
    xs = [s for s in sizes if "retrieval_ms" in results["sizes"][str(s)].get("ours", {})]
    if len(xs) >= 2:
        qs = _slope(xs, [results["sizes"][str(s)]["ours"]["retrieval_ms"]["p50"] for s in xs])
        add(f"query time sublinear ({xs[0]:,} -> {xs[-1]:,})", f"log-log slope of p50 {qs}", qs is not None and qs < 1)
    else:
        add("query time sublinear", "fewer than two sizes measured", None)
    http = results.get("http") or {}
    if "ask" in http:
        ratio = http.get("ask_vs_noop")
        add("HTTP /api/ask throughput >= 0.5 x no-op (bundled corpus)",
            f"{http['ask']['rps']} vs {http['noop']['rps']} req/s = {ratio}", ratio is not None and ratio >= 0.5)
        errs = http["ask"]["error_count"] + http["noop"]["error_count"]
        add("HTTP zero errors", f"{errs}", errs == 0)
    return rows


# ------------------------------------------------------------------------------------------------
# reporting


def _f(v, nd=1):
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:,.{nd}f}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def main_table(results: dict) -> list[list[str]]:
    sizes = sorted(int(n) for n in results["sizes"])
    rows: list[tuple[str, callable]] = [
        ("passages generated (numbered paragraphs)", lambda r: _f(r["passages_generated"], 0)),
        ("ours: passages as cut by the engine", lambda r: _f(_get(r, "ours", "passages"), 0)),
        ("distinct unigrams (sklearn tokenizer)", lambda r: _f(r.get("terms_unigram"), 0)),
        ("ours: index terms (stems + bigrams)", lambda r: _f(_get(r, "ours", "terms"), 0)),
        ("ours: build s", lambda r: _f(_get(r, "ours", "build_s"), 1) if "build_s" in r.get("ours", {}) else _get(r, "ours", "error") or "-"),
        ("ours: build peak RSS MB", lambda r: _f(_get(r, "ours", "build_peak_rss_mb"), 0)),
        ("ours: index on disk MB", lambda r: _f(_get(r, "ours", "index_mb"), 1)),
        ("ours: load s (fresh process)", lambda r: _f(_get(r, "ours", "load_s"), 3)),
        ("ours: RSS of a process with the index open, MB", lambda r: _f(_get(r, "ours", "worker_rss_mb"), 0)),
        ("ours: retrieval p50 / p99 ms", lambda r: _pp(_get(r, "ours", "retrieval_ms"))),
        ("ours: full answer p50 / p99 ms", lambda r: _pp(_get(r, "ours", "answer_ms"))),
        ("ours: retrieval stages p50 ms: analyse / scores / top 10",
         lambda r: " / ".join(f"{_get(r, 'ours', 'retrieval_stages_ms', k, 'p50'):.2f}" for k in ("analyse", "scores", "top_hits"))
         if _get(r, "ours", "retrieval_stages_ms", "scores", "p50") is not None else "-"),
        ("ours: minor page faults per retrieval", lambda r: _f(_get(r, "ours", "minor_faults_per_retrieval"), 0)),
        ("bm25s: build s", lambda r: _f(_get(r, "bm25s", "build_s"), 1)),
        ("bm25s: query p50 / p99 ms", lambda r: _pp(_get(r, "bm25s", "query_ms"))),
        ("floor: build s (TfidfVectorizer + CSC)", lambda r: _f(_get(r, "floor", "build_s"), 1)),
        ("floor: query p50 / p99 ms", lambda r: _pp(_get(r, "floor", "query_ms"))),
        ("naive X @ q.T: query p50 / p99 ms", lambda r: _pp(_get(r, "naive", "query_ms"))),
    ]
    table = [["metric"] + [f"{n:,}" for n in sizes]]
    for name, fn in rows:
        table.append([name] + [fn(results["sizes"][str(n)]) for n in sizes])
    return table


def _pp(lat: dict | None) -> str:
    if not lat or "p50" not in lat:
        return "-"
    return f"{lat['p50']:.2f} / {lat['p99']:.2f}"


def http_table(http: dict) -> list[list[str]]:
    rows = [["endpoint", "req/s", "p50 ms", "p99 ms", "errors", "statuses"]]
    for key, name in (("noop", "GET /healthz (no-op)"), ("ask", "POST /api/ask")):
        if key in http:
            h = http[key]
            rows.append([name, _f(h["rps"], 0), _f(h["latency_ms"]["p50"], 2), _f(h["latency_ms"]["p99"], 2),
                         str(h["error_count"]), json.dumps(h["statuses"])])
    if "large" in http:
        h = http["large"]["ask"]
        rows.append([f"POST /api/ask, {http['large']['passages']:,} passages, {http['large']['workers']} workers",
                     _f(h["rps"], 0), _f(h["latency_ms"]["p50"], 2), _f(h["latency_ms"]["p99"], 2),
                     str(h["error_count"]), json.dumps(h["statuses"])])
    return rows


def text_table(rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))) for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def md_table(rows: list[list[str]]) -> str:
    out = ["| " + " | ".join(rows[0]) + " |", "|" + "|".join(["---"] + ["---:"] * (len(rows[0]) - 1)) + "|"]
    out += ["| " + " | ".join(c.replace("|", "\\|") for c in r) + " |" for r in rows[1:]]
    return "\n".join(out)


def plot(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = sorted(int(n) for n in results["sizes"])
    R = [results["sizes"][str(n)] for n in sizes]

    def series(*keys):
        xs, ys = [], []
        for n, r in zip(sizes, R):
            v = _get(r, *keys)
            if v is not None:
                xs.append(n)
                ys.append(v)
        return xs, ys

    fig, ax = plt.subplots(2, 2, figsize=(12, 9))
    a = ax[0][0]
    for keys, label in ((("ours", "build_s"), "ours (qa index)"), (("bm25s", "build_s"), "bm25s"),
                        (("floor", "build_s"), "floor (TfidfVectorizer)")):
        a.plot(*series(*keys), "o-", label=label)
    a.axhline(60, color="grey", ls=":", lw=1, label="target at 150k: 60 s")
    a.set_title("Index build time")
    a.set_ylabel("seconds")
    a = ax[0][1]
    for keys, label, c in ((("ours", "retrieval_ms"), "ours retrieval", "C0"), (("ours", "answer_ms"), "ours full answer", "C3"),
                           (("bm25s", "query_ms"), "bm25s", "C1"), (("floor", "query_ms"), "floor", "C2"),
                           (("naive", "query_ms"), "naive X @ q.T", "C7")):
        a.plot(*series(*keys, "p50"), "o-", color=c, label=f"{label} p50")
        a.plot(*series(*keys, "p99"), "x--", color=c, alpha=0.6, label=f"{label} p99")
    a.set_title("Latency per question (200 questions)")
    a.legend(fontsize=7, loc="upper left", ncol=2)
    a.set_ylabel("milliseconds")
    a.set_yscale("log")
    a = ax[1][0]
    for keys, label in ((("ours", "build_peak_rss_mb"), "ours build peak RSS"),
                        (("ours", "worker_rss_mb"), "ours process with index open (RSS)"),
                        (("ours", "index_mb"), "ours index on disk")):
        a.plot(*series(*keys), "o-", label=label)
    a.set_title("Memory and disk")
    a.set_ylabel("MB")
    a = ax[1][1]
    a.plot(*series("terms_unigram"), "o-", label="distinct unigrams (sklearn)")
    a.plot(*series("ours", "terms"), "o-", label="ours: index terms")
    a.plot(*series("bm25s", "vocabulary"), "x--", label="bm25s vocabulary")
    a.set_title("Vocabulary")
    a.set_ylabel("terms")
    for row in ax:
        for a in row:
            a.set_xlabel("passages")
            a.grid(True, alpha=0.3)
            if a.get_legend() is None:
                a.legend(fontsize=7)
            a.set_xscale("log")
    fig.suptitle(f"Scaling with the corpus ({results['meta']['date']}, {results['meta']['cpu']})", fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)


def machine() -> dict:
    cpu = platform.processor() or ""
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = None
    try:
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal"):
                mem = round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    import bm25s
    import numpy
    import scipy
    import sklearn

    return {"cpu": cpu, "cores": os.cpu_count(), "mem_gb": mem, "python": platform.python_version(),
            "numpy": numpy.__version__, "scipy": scipy.__version__, "sklearn": sklearn.__version__,
            "bm25s": getattr(bm25s, "__version__", "?"), "date": time.strftime("%Y-%m-%d %H:%M"),
            "cpu_short": f"{os.cpu_count()} cores"}


def write_doc(results: dict, path: Path, png: Path) -> None:
    meta = results["meta"]
    t = results["targets"]
    lines = [
        "# Performance",
        "",
        "Generated by the benchmark suite (`bench/`, issue 7); do not edit by hand: re-run it.",
        "",
        "```sh",
        results["command"],
        "```",
        "",
        f"Run {meta['date']} on {meta['cpu']} ({meta['cores']} cores, {meta['mem_gb']} GB), Python {meta['python']}, "
        f"numpy {meta['numpy']}, scipy {meta['scipy']}, scikit-learn {meta['sklearn']}, bm25s {meta['bm25s']}; "
        f"the whole run took {results['total_s'] / 60:.1f} minutes. Raw numbers: `bench/results/latest.json`.",
        "`.venv/bin/python -m bench.run --quick` (10k passages, short HTTP run, under a minute) checks the suite works.",
        "",
    ]
    warnings = [w for w in (results.get("warning"), _get(results, "http", "warning"), _get(results, "http", "large", "invalid"),
                            _get(results, "http", "error")) if w]
    loads = [f"{int(n):,}: {r.get('loadavg_before', ['?'])[0]} -> {r.get('loadavg_after', ['?'])[0]}"
             for n, r in sorted(results["sizes"].items(), key=lambda kv: int(kv[0]))]
    lines += [f"> **Warning**: {w}" for w in warnings] + ([""] if warnings else [])
    lines += [
        f"1-minute load average of the machine before -> after each size ({'; '.join(loads)}; the suite itself "
        "keeps one core busy, so ~1 means nothing else was running); other work on this 2-core machine during "
        "the run shows up mostly in the p99 columns.",
        "",
        "## Targets (issue 7)",
        "",
        md_table([["target", "measured", "met"]] + [[r["target"], str(r["measured"]),
                 {True: "yes", False: "**no**", None: "n/a"}[r["met"]] + (f" ({r['note']})" if r["note"] else "")] for r in t]),
        "",
        "## Scaling",
        "",
        md_table(main_table(results)),
        "",
        f"![scaling curves]({png.name})",
        "",
    ]
    http = results.get("http")
    if http and "ask" in http:
        mb = http.get("memory_bundled", {})
        lines += [
            "## HTTP",
            "",
            f"gunicorn, {http['workers']} sync workers on 127.0.0.1, {http['client']} with {http['connections']} connections "
            f"({http['wrk_threads']} thread) for {http['seconds']} s per endpoint after a warm-up, on the bundled corpus; "
            f"/api/ask rotates through the 200 questions (top_k 5). The rate limit is lifted for the run "
            f"(`QA_RATE_LIMIT={serve.LOAD_ENV['QA_RATE_LIMIT']!r}`).",
            "",
            md_table(http_table(http)),
            "",
            f"/api/ask throughput is {http['ask_vs_noop']} of the no-op's. Workers on the bundled corpus: "
            f"RSS {mb.get('workers_rss_mb')} MB, PSS total {mb.get('workers_pss_total_mb')} MB.",
            "",
        ]
        if "large" in http:
            L = http["large"]
            lines += [
                f"Memory with {L['workers']} workers on the {L['passages']:,}-passage index (after a 3 s warm-up and "
                f"{results['args']['mem_seconds']} s of /api/ask): RSS per worker {L['memory_after_load']['workers_rss_mb']} MB, "
                f"PSS per worker {L['memory_after_load']['workers_pss_mb']} MB, PSS total "
                f"{L['memory_after_load']['workers_pss_total_mb']} MB (master {L['memory_after_load']['master_rss_mb']} MB RSS). "
                "RSS counts the memory-mapped index pages in every worker; PSS divides shared pages among "
                "the processes sharing them, so the PSS total is what the workers cost together.",
                "",
            ]
    lines += [
        "## What is measured",
        "",
        "- **Corpus**: `bench/synth.py`, seeded. Reports of 100 numbered paragraphs (~85 words) under a few headings, "
        "made of the bundled reports' sentences with ~13% of their lower-case content words replaced by generated "
        "pseudo-words drawn from a Zipf-Mandelbrot law, so the vocabulary grows like real text (Heaps' law). The 10k "
        "corpus is the first 100 reports of the 150k one, which is the first half of the 300k one. "
        "The engine also indexes each report's title line and headings, so it holds slightly more passages.",
        "- **Questions**: 200, fixed (`python -m bench.synth --questions FILE`): ~45% content words of a sentence, ~30% "
        "with pseudo-words that occur at every size, ~25% practitioner-style.",
        "- **ours**: build = `qa index --corpus DIR --index PATH` in a child process (wall time; peak RSS from `wait4`); "
        "index size = the index folder. Then a fresh process (`python -m bench.ours`, so the code measured is the "
        "code that built the index) times `Engine.open` (load; its RSS right after is the 'process with the index "
        "open' row) and, after a 20-question warm-up, "
        f"{results['args']['repeat']} passes over the 200 questions in-process: retrieval = "
        "`engine.retriever.search(q, top_k=10)`, full answer = `engine.ask(q, top_k=10)`; the stage row splits "
        "retrieval into `retriever.analyse`, `retriever.candidates` (or `retriever.scores`) and "
        "`qa.retrieval.top_hits`, timed after the passes; the page-fault row is the process's minor faults "
        "during the retrieval passes divided by the calls.",
        "- **bm25s**: `bm25s.tokenize(texts, stopwords='en')` + `BM25().index` (numpy backend); a query is "
        "`bm25s.tokenize(q)` + `retrieve(k=10)`.",
        "- **floor**: `TfidfVectorizer(stop_words='english', dtype=float32)` over the same passage texts, stored CSC; "
        "a query is analysed with the vectorizer's analyzer, its terms' columns are added (weighted by the query's "
        "idf) into a dense score vector, top 10 by `argpartition(-scores, 9)`. **naive**: the CSR matrix, "
        "`X @ vectorizer.transform([q]).T`, same top 10 (the two agree on every top 10).",
        "- Percentiles are over all timed calls (200 questions x passes); p99 of 200-600 samples is a few slowest questions.",
        "",
    ]
    notes = REPO / "bench" / "NOTES.md"
    if notes.exists():
        lines += [notes.read_text().strip(), ""]
    path.write_text("\n".join(lines))


# ------------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Benchmark suite (issue 7). See docs/performance.md.")
    ap.add_argument("--sizes", default="10000,150000,300000", help="comma-separated passage counts")
    ap.add_argument("--quick", action="store_true", help="10k only, 1 pass, short HTTP run, no doc")
    ap.add_argument("--repeat", type=int, default=None, help="passes over the 200 questions (default 3; quick 1)")
    ap.add_argument("--build-timeout", type=float, default=300, help="seconds allowed for one `qa index`")
    ap.add_argument("--no-ours", action="store_true", help="only the baselines")
    ap.add_argument("--no-http", action="store_true")
    ap.add_argument("--workers", type=int, default=2, help="gunicorn workers for the HTTP comparison")
    ap.add_argument("--connections", type=int, default=8)
    ap.add_argument("--wrk-threads", type=int, default=1)
    ap.add_argument("--http-seconds", type=float, default=None, help="per endpoint (default 15; quick 4)")
    ap.add_argument("--mem-workers", type=int, default=None, help="workers for the memory check on the 150k index (0: skip)")
    ap.add_argument("--mem-seconds", type=float, default=8)
    ap.add_argument("--doc", action="store_true", help="write docs/performance.md even with --quick")
    ap.add_argument("--no-doc", action="store_true")
    ap.add_argument("--out", type=Path, default=None, help="results JSON (default bench/results/latest.json)")
    ap.add_argument("--wait-idle", type=float, default=0, metavar="SECONDS",
                    help="first wait up to this long for the 1-minute load average to fall below 1 "
                         "(the machine may be shared; busy cores show up in every p99)")
    ap.add_argument("--report-only", type=Path, default=None, metavar="JSON",
                    help="measure nothing: re-print, re-plot and re-write the doc from a results JSON")
    args = ap.parse_args(argv)
    if args.report_only:
        results = json.loads(args.report_only.read_text())
        results["targets"] = evaluate_targets(results)
        report(results, write_doc_flag=not args.no_doc)
        return 0
    if args.quick:
        args.sizes = "10000"
    args.repeat = args.repeat or (1 if args.quick else 3)
    args.http_seconds = args.http_seconds or (4 if args.quick else 15)
    if args.mem_workers is None:
        args.mem_workers = 0 if args.quick else 4
    write_doc_flag = (args.doc or not args.quick) and not args.no_doc
    out_json = args.out or RESULTS / ("quick.json" if args.quick else "latest.json")
    sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]

    if args.wait_idle:
        deadline = time.monotonic() + args.wait_idle
        while os.getloadavg()[0] >= 1.0 and time.monotonic() < deadline:
            time.sleep(5)
    if os.getloadavg()[0] >= 1.5:
        log(f"note: the machine is busy (load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores); "
            "expect noisy tails")
    started = time.perf_counter()
    DATA.mkdir(parents=True, exist_ok=True)
    command = ".venv/bin/python -m bench.run" + ("" if argv is None and len(sys.argv) == 1 else " " + " ".join(
        shlex.quote(a) for a in (sys.argv[1:] if argv is None else argv)))
    results: dict = {"command": command, "meta": machine(), "args": vars(args) | {"out": str(out_json)}, "sizes": {}}
    results["code_before"] = ours.code_fingerprint()
    synth = Synth()
    questions = synth.questions()
    (DATA / "questions.json").write_text(json.dumps(questions, indent=1, ensure_ascii=False))
    for n in sizes:
        results["sizes"][str(n)] = bench_size(synth, n, questions, args)
        _save(results, out_json, started)
    if not args.no_http:
        big = None
        if args.mem_workers and not args.no_ours:
            cand = min(sizes, key=lambda s: abs(s - TARGET_SIZE))
            idx = DATA / f"index-{cand}" / "index.qaidx"
            big = idx if idx.exists() and "error" not in results["sizes"][str(cand)].get("ours", {}) else None
        try:
            results["http"] = bench_http(questions, args, big)
        except Exception as e:  # the server is stopped by the with-blocks; report and continue
            results["http"] = {"error": f"{type(e).__name__}: {e}"}
            log(f"HTTP FAILED: {results['http']['error']}")
    results["code_after"] = ours.code_fingerprint()
    codes = {_get(r, "ours", "code") for r in results["sizes"].values()} - {None}
    if len(codes) > 1:
        results["warning"] = ("qa/ changed during this run: the sizes were measured on different versions of "
                              "the engine; re-run for consistent numbers")
    elif codes and _get(results, "http", "code") and results["http"]["code"] not in codes:
        results["warning"] = ("qa/ changed between the in-process measurements and the HTTP ones: the HTTP "
                              "numbers are of a newer engine")
    if results.get("warning"):
        log("WARNING: " + results["warning"])
    _save(results, out_json, started)
    try:
        results["targets"] = evaluate_targets(results)
    except Exception as e:  # never lose the measurements to a reporting bug
        results["targets"] = [{"target": "evaluation", "measured": f"{type(e).__name__}: {e}", "met": None, "note": ""}]
    _save(results, out_json, started)

    report(results, write_doc_flag)
    log(f"results in {out_json.relative_to(REPO) if out_json.is_relative_to(REPO) else out_json}; "
        f"total {results['total_s']:.0f} s")
    return 0


def report(results: dict, write_doc_flag: bool) -> None:
    print()
    print(text_table(main_table(results)))
    if results.get("http") and "ask" in results["http"]:
        print()
        print(text_table(http_table(results["http"])))
    print()
    for r in results["targets"]:
        mark = {True: "ok  ", False: "MISS", None: "n/a "}[r["met"]]
        print(f"{mark} {r['target']}: {r['measured']}")
    plot(results, PNG if write_doc_flag else DATA / "quick.png")
    if write_doc_flag:
        write_doc(results, DOC, PNG)
        log(f"wrote {DOC.relative_to(REPO)} and {PNG.relative_to(REPO)}")


def _save(results: dict, path: Path, started: float) -> None:
    results["total_s"] = round(time.perf_counter() - started, 1)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    sys.exit(main())
