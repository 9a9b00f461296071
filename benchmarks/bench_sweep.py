"""A sweep of 16 demo variants: one worker against a local cluster, quiet and loaded.

Runs the real command line ``tp-assets sweep optimisation/baseline.toml`` over 2
discount rates x 2 optimism biases x 2 move limits x 2 candidate counts (16 full runs
of the demo's baseline scenario), each time into a fresh results folder (travel times
from a warm cache, computed once first): with ``--workers 1`` (the variants one after
another), with ``--workers 2`` (a local Dask cluster on this machine's 2 cores), and
``--workers 2`` again beside ``--burners`` CPU burners. Per run: wall seconds, peak
RSS of the largest process (the command or a worker), and the SHA-256 of sweep.csv,
which must be the same in every run. The ratio of the first two is the local cluster's
speed-up.

Run from the repository root::

    python benchmarks/bench_sweep.py [--burners 2]
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import math
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

from _machine import cpu_model, tp_assets  # benchmarks/_machine.py
from bench_optimise import burners

VARY = ["--vary", "finance.discount_rate=0.03,0.035", "--vary", "finance.optimism_bias=0,0.1",
        "--vary", "rules.max_move_minutes=20,30", "--vary", "rules.max_candidates=10,20"]
#: Variants the grid makes: the product of each --vary's number of values.
VARIANTS = math.prod(len(v.split("=", 1)[1].split(",")) for v in VARY[1::2])


def _sweep(out: Path, cache: Path, workers: int) -> tuple[float, float, str]:
    """One sweep: wall seconds, peak RSS (MB: the child or its largest worker), its hash."""
    seconds, peak, _ = tp_assets("sweep", "optimisation/baseline.toml", *VARY, "--out",
                                 str(out), "--cache", str(cache), "--workers", str(workers))
    digest = hashlib.sha256((out / "baseline" / "sweep" / "sweep.csv").read_bytes()).hexdigest()
    return seconds, peak, digest[:16]


def main() -> None:
    """Run the benchmark and print its table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--burners", type=int, default=2)
    args = parser.parse_args()
    print(f"machine: {cpu_model()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    with tempfile.TemporaryDirectory(prefix="tp-assets-sweep-bench-") as tmp:
        cache = Path(tmp) / "cache"
        subprocess.run([sys.executable, "-m", "tp_assets", "access",
                        "optimisation/baseline.toml", "--out", str(Path(tmp) / "warm"),
                        "--cache", str(cache)], capture_output=True, check=True)
        print("| run | workers | load | seconds | s per variant | peak RSS (MB) | sweep.csv |")
        print("|---|---|---|---|---|---|---|")
        times = {}
        digests: set[str] = set()
        for k, (workers, load) in enumerate(((1, "quiet"), (2, "quiet"),
                                             (2, f"{args.burners} burners"))):
            out = Path(tmp) / f"run{k}"
            with burners(args.burners) if load != "quiet" else contextlib.nullcontext():
                seconds, peak, digest = _sweep(out, cache, workers)
            times[(workers, load)] = seconds
            digests.add(digest)
            print(f"| {k + 1} | {workers} | {load} | {seconds:.1f} | "
                  f"{seconds / VARIANTS:.1f} | {peak:.0f} | {digest} |")
        ratio = times[(1, "quiet")] / times[(2, "quiet")]
        print(f"local cluster of 2 workers: {ratio:.2f}x the speed of one worker")
        print(f"the same sweep.csv in every run: {'yes' if len(digests) == 1 else 'NO'}")


if __name__ == "__main__":
    main()
