"""Our engine, measured the way the service runs it.

- build: ``qa index --corpus DIR --index PATH`` in a child process; wall time and the child's peak
  RSS from ``os.wait4`` (the rusage of that child and its waited-for descendants, nothing else);
- index size: every file in the index's own folder;
- load and latency: a fresh Python process (``python -m bench.ours``, so the code measured is the
  code that built the index) imports the engine, opens the built index (open time, resident memory
  afterwards: what one gunicorn worker holds before serving), then, after a warm-up, times each
  question in-process: retrieval alone (``engine.retriever.search``) and the full answer
  (``engine.ask``, with sentence selection).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from bench.baselines import time_queries
from bench.stats import tree_size

REPO = Path(__file__).resolve().parent.parent
PY = sys.executable
TOP = 10


def index_cmd(corpus: Path, index: Path) -> list[str]:
    """The documented CLI if installed, else the same command through ``python -m qa.cli``,
    else (CLI not written yet) the library's build function."""
    qa_bin = Path(PY).parent / "qa"
    if qa_bin.exists():
        return [str(qa_bin), "index", "--corpus", str(corpus), "--index", str(index)]
    if (REPO / "qa" / "cli.py").exists():
        return [PY, "-m", "qa.cli", "index", "--corpus", str(corpus), "--index", str(index)]
    code = ("import sys; from pathlib import Path; from qa.index import build_index; "
            "s = build_index(Path(sys.argv[1]), Path(sys.argv[2])); print(s)")
    return [PY, "-c", code, str(corpus), str(index)]


def run_measured(cmd: list[str], timeout: float, log: Path | None = None, env: dict | None = None) -> dict:
    """Run ``cmd``; wall seconds, exit code and the child's peak RSS (MB)."""
    out = open(log, "wb") if log else subprocess.DEVNULL
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            env=dict(os.environ, PYTHONPATH=str(REPO), **(env or {})))
    deadline = t0 + timeout
    timed_out = False
    while True:
        pid, status, ru = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.perf_counter() > deadline:
            proc.kill()  # our own child, by its pid
            pid, status, ru = os.wait4(proc.pid, 0)
            timed_out = True
            break
        time.sleep(0.05)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - t0
    if log:
        out.close()
    return {"seconds": round(wall, 2), "returncode": proc.returncode, "timed_out": timed_out,
            "peak_rss_mb": round(ru.ru_maxrss / 1024, 1), "cmd": " ".join(cmd)}


def code_fingerprint() -> str:
    """Hash of the engine's source (qa/**/*.py): tells whether qa/ changed during a run."""
    h = hashlib.sha256()
    for path in sorted((REPO / "qa").rglob("*.py")):
        h.update(str(path.relative_to(REPO)).encode() + b"\0" + path.read_bytes())
    return h.hexdigest()[:16]


def ensure_loadable(corpus: Path, index: Path, timeout: float = 600, log: Path | None = None) -> dict:
    """Make sure the current code loads ``index`` as it is (else workers would rebuild it while
    being measured): check in a fresh process, rebuild with ``qa index`` if it does not load."""
    code = "import sys; from pathlib import Path; from qa.index import load_index; load_index(Path(sys.argv[1]))"
    p = subprocess.run([PY, "-c", code, str(index)], cwd=REPO, capture_output=True, text=True, timeout=120,
                       env=dict(os.environ, PYTHONPATH=str(REPO)))
    if p.returncode == 0:
        return {"rebuilt": False}
    index.parent.mkdir(parents=True, exist_ok=True)
    b = run_measured(index_cmd(corpus, index), timeout, log=log)
    return {"rebuilt": True, "reason": (p.stderr.strip().splitlines() or ["?"])[-1][:300], "build": b}


def measure(corpus: Path, index: Path, questions: list[str], repeat: int = 1) -> dict:
    """Run in a fresh process (``python -m bench.ours``): open the index, then time the questions.

    A fresh process per size means the engine code measured is the code that built the index, and
    its resident memory is what one worker holding this index needs."""
    t0 = time.perf_counter()
    from qa.engine import Engine
    from qa.index import load_index

    t1 = time.perf_counter()
    try:  # the file the CLI built must load as it is: Engine.open would silently rebuild it
        load_index(index)
    except Exception as e:  # noqa: BLE001
        return {"error": f"the built index does not load: {e}"}
    t2 = time.perf_counter()
    before = index.stat().st_mtime_ns
    engine = Engine.open(corpus, index)
    t3 = time.perf_counter()
    if index.stat().st_mtime_ns != before:
        return {"error": "Engine.open rebuilt the index instead of loading it"}
    first = engine.ask("What did the review find about information sharing between agencies?", top_k=TOP)
    t4 = time.perf_counter()
    out: dict = {"import_s": round(t1 - t0, 3), "load_index_s": round(t2 - t1, 3), "open_s": round(t3 - t2, 3),
                 "first_ask_s": round(t4 - t3, 3), "rss_after_open_mb": round(_kb("VmRSS") / 1024, 1)}
    h = engine.health()
    out["passages"], out["documents"] = h.get("passages"), h.get("documents")
    store = getattr(engine.index, "store", None)
    out["terms"] = store.header.get("n_terms") if store is not None else None
    del first
    retriever = engine.retriever

    def retrieve(q: str):
        _query, hits = retriever.search(q, top_k=TOP)
        return [h.row for h in hits]

    def answer(q: str):
        return engine.ask(q, top_k=TOP)

    import resource

    f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    out["retrieval_ms"], _ = time_queries(retrieve, questions, repeat)
    f1 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    # page faults per question: large numpy temporaries that malloc hands back to the OS and
    # maps again on the next query cost a fault per 4 KB page touched
    out["minor_faults_per_retrieval"] = round((f1 - f0) / max(1, len(questions) * repeat + min(20, len(questions))))
    out["answer_ms"], answers = time_queries(answer, questions, repeat)
    out["answered"] = sum(1 for a in answers if a.get("status") == "answered")
    out["retrieval_stages_ms"] = stage_breakdown(retriever, questions)
    out["rss_after_questions_mb"] = round(_kb("VmRSS") / 1024, 1)
    out["hwm_mb"] = round(_kb("VmHWM") / 1024, 1)
    return out


def _kb(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def measure_in_child(corpus: Path, index: Path, questions_file: Path, repeat: int, timeout: float = 600) -> dict:
    p = subprocess.run([PY, "-m", "bench.ours", str(corpus), str(index), str(questions_file), str(repeat)],
                       cwd=REPO, capture_output=True, text=True, timeout=timeout,
                       env=dict(os.environ, PYTHONPATH=str(REPO)))
    line = next((x for x in p.stdout.splitlines() if x.startswith("MEASURE ")), None)
    if line is None:
        return {"error": f"measuring process failed ({p.returncode}): {p.stderr.strip()[-1500:]}"}
    return json.loads(line[len("MEASURE "):])


def bench_ours(corpus: Path, index_dir: Path, questions_file: Path, *, repeat: int = 1,
               build_timeout: float = 600, log_dir: Path | None = None) -> dict:
    """Build, size, load and latency of our engine on ``corpus``; a dict for the results JSON.
    If qa/ changes while this runs (the built index no longer loads), build and measure once more."""
    for attempt in (1, 2):
        code = code_fingerprint()
        out = _bench_ours_once(corpus, index_dir, questions_file, repeat, build_timeout, log_dir)
        out["code"] = code
        if "error" in out and code_fingerprint() != code and attempt == 1:
            continue  # the engine changed under us: once more with the new code
        if attempt == 2:
            out["note"] = "qa/ changed during the first attempt; built and measured again"
        return out
    return out


def _bench_ours_once(corpus, index_dir, questions_file, repeat, build_timeout, log_dir) -> dict:
    if index_dir.exists():
        shutil.rmtree(index_dir)
    index_dir.mkdir(parents=True)
    index = index_dir / "index.qaidx"
    out: dict = {}
    build = run_measured(index_cmd(corpus, index), build_timeout,
                         log=(log_dir / f"build-{corpus.name}.log") if log_dir else None)
    out["build"] = build
    if build["returncode"] != 0 or not index.exists():
        out["error"] = ("build timed out after %.0f s" % build_timeout if build["timed_out"]
                        else f"build failed (exit {build['returncode']})")
        return out
    out["build_s"] = build["seconds"]
    out["build_peak_rss_mb"] = build["peak_rss_mb"]
    out["index_mb"] = round(tree_size(index_dir) / 2**20, 1)
    m = measure_in_child(corpus, index, questions_file, repeat)
    out["measure"] = {k: v for k, v in m.items() if not k.endswith("_ms")}
    if "error" in m:
        out["error"] = m["error"]
        return out
    out["load_s"] = m["open_s"]
    out["worker_rss_mb"] = m["rss_after_open_mb"]
    out["rss_after_questions_mb"] = m["rss_after_questions_mb"]
    for k in ("passages", "terms", "answered", "retrieval_ms", "answer_ms", "retrieval_stages_ms",
              "minor_faults_per_retrieval"):
        out[k] = m.get(k)
    return out


def stage_breakdown(retriever, questions: list[str]) -> dict | None:
    """Where retrieval time goes (p50/p99 ms per stage), from the stages the retriever exposes:
    ``analyse(question) -> query``; then ``candidates(query) -> (rows, scores)`` and
    ``top_hits(rows, scores, k)``, or ``scores(query) -> array`` and ``top_hits(scores, k)``.
    A diagnostic only: if the engine's internals differ, it reports the error and the run goes on."""
    import inspect

    import numpy as np

    try:
        from qa.retrieval import top_hits
    except ImportError:
        return None
    if not hasattr(retriever, "analyse"):
        return None
    two_arg = len(inspect.signature(top_hits).parameters) == 2
    if hasattr(retriever, "candidates") and not two_arg:
        def score(query):
            return retriever.candidates(query)

        def top(scored):
            return top_hits(scored[0], scored[1], TOP)
    elif hasattr(retriever, "scores") and two_arg:
        def score(query):
            return retriever.scores(query)

        def top(scored):
            return top_hits(scored, TOP)
    else:
        return {"error": "unknown retriever stages"}
    stages: dict[str, list[float]] = {"analyse": [], "scores": [], "top_hits": []}
    try:
        for q in questions:
            t0 = time.perf_counter()
            query = retriever.analyse(q)
            t1 = time.perf_counter()
            scored = score(query)
            t2 = time.perf_counter()
            top(scored)
            t3 = time.perf_counter()
            stages["analyse"].append(t1 - t0)
            stages["scores"].append(t2 - t1)
            stages["top_hits"].append(t3 - t2)
    except Exception as e:  # noqa: BLE001 - the engine's internals changed: not worth failing the run
        return {"error": f"{type(e).__name__}: {e}"}
    return {k: {"p50": round(float(np.percentile(v, 50)) * 1000, 3), "p99": round(float(np.percentile(v, 99)) * 1000, 3)}
            for k, v in stages.items()}


if __name__ == "__main__":  # the measuring child: corpus index questions.json repeat
    _corpus, _index, _qfile, _repeat = sys.argv[1:5]
    _res = measure(Path(_corpus), Path(_index), json.loads(Path(_qfile).read_text()), int(_repeat))
    print("MEASURE " + json.dumps(_res), flush=True)
