"""Time ``tp-assets report`` on the demo's three shipped scenarios, quiet and beside burners.

Runs the three demo scenarios (baseline, colocation, hubs) once into a results folder
(or reuses ``--results`` where they are already there), then times the real command
line ``tp-assets report results/baseline results/colocation results/hubs`` in child
processes: ``--repeat`` times on a quiet machine, then as many beside ``--burners`` CPU
burners (default 2, one per core here). Per run: wall seconds, peak memory (max RSS of
the child), the page's size and its SHA-256 (the same page every time: the report reads
files and writes one; nothing in it depends on the clock or the load). The target (the
issue): under 10 s on 2 cores, a file under 20 MB.

Run from the repository root::

    python benchmarks/bench_report.py [--results /tmp/report-bench] [--burners 2]
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import platform
from pathlib import Path

from _machine import cpu_model, tp_assets  # benchmarks/_machine.py
from bench_optimise import burners

SCENARIOS = ("baseline", "colocation", "hubs")
TARGET_S = 10.0
TARGET_MB = 20.0


def main() -> None:
    """Run the benchmark and print its table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--results", type=Path, default=Path("/tmp/tp-assets-report-bench"),
                        help="where the three runs' results go (reused where present)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--burners", type=int, default=2)
    args = parser.parse_args()
    results = args.results / "results"
    for name in SCENARIOS:
        if not (results / name / "summary.json").exists():
            seconds, _, _ = tp_assets("run", f"optimisation/{name}.toml", "--out",
                                       str(results), "--maps", str(args.results / "maps"),
                                       "--cache", str(args.results / "cache"), "--quiet")
            print(f"ran {name} in {seconds:.1f} s")
    folders = [str(results / name) for name in SCENARIOS]
    out = args.results / "report.html"
    print(f"machine: {cpu_model()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}")
    print("| load | run | seconds | peak RSS (MB) | page (MB) | sha256 |")
    print("|---|---|---|---|---|---|")
    hashes = set()
    worst = 0.0
    for load in ("quiet", f"{args.burners} burners"):
        for k in range(args.repeat):
            with burners(args.burners) if load != "quiet" else contextlib.nullcontext():
                seconds, peak, _ = tp_assets("report", *folders, "--out", str(out))
            data = out.read_bytes()
            digest = hashlib.sha256(data).hexdigest()[:16]
            hashes.add(digest)
            worst = max(worst, seconds) if load == "quiet" else worst
            print(f"| {load} | {k + 1} | {seconds:.2f} | {peak:.0f} | "
                  f"{len(data) / 1e6:.2f} | {digest} |")
    print(f"same page every run: {len(hashes) == 1}; slowest quiet run {worst:.2f} s "
          f"(target {TARGET_S:g} s); page {out.stat().st_size / 1e6:.2f} MB "
          f"(target {TARGET_MB:g} MB)")


if __name__ == "__main__":
    main()
