"""End-to-end timing of ``tp-assets demo``: fresh travel-time cache, then warm.

Runs the real command line twice in child processes (results and cache in a
temporary folder) and reports wall time and peak memory (max RSS of the child) of
each run against the targets: within 90 s each (the issue on trustworthy plans: the
demo's plan within 90 s on a quiet 2-core machine; the search's budget is work, so a
warm cache saves only the travel times), under 2 GB. The plan is the same in both runs
(it prints the first line of each run's summary).

Run from the repository root::

    python benchmarks/bench_demo.py
"""

from __future__ import annotations

import os
import platform
import tempfile
from pathlib import Path

from _machine import cpu_model, tp_assets  # benchmarks/_machine.py

TARGETS_S = {"fresh cache": 90.0, "warm cache": 90.0}
TARGET_MEMORY_MB = 2048.0


def _run(out: Path, cache: Path) -> tuple[float, float, str]:
    """One ``tp-assets demo``: wall seconds, its peak RSS (MB) and its first line."""
    wall, peak, done = tp_assets("demo", "--quiet", "--out", str(out), "--cache", str(cache))
    return wall, peak, done.stdout.splitlines()[0]


def main() -> int:
    """Time the demo twice and print the figures; exit 1 if a target is missed."""
    with tempfile.TemporaryDirectory() as tmp:
        out, cache = Path(tmp) / "results", Path(tmp) / "cache"
        rows = [(label, *_run(out, cache)) for label in TARGETS_S]
    print(f"machine: {os.cpu_count()} cores, {cpu_model()}, "
          f"Python {platform.python_version()}")
    ok = True
    for label, wall, memory, headline in rows:
        met = wall <= TARGETS_S[label] and memory <= TARGET_MEMORY_MB
        ok &= met
        print(f"{label:<12} {wall:6.1f} s (target {TARGETS_S[label]:g} s)  peak RSS "
              f"{memory:,.0f} MB (target {TARGET_MEMORY_MB:,.0f})  {'ok' if met else 'MISSED'}")
        print(f"  {headline}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
