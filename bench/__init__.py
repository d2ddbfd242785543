"""Benchmark suite: synthetic corpus, in-process latency, HTTP load. See docs/performance.md."""
