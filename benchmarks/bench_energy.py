"""End-to-end timing of the demo's net-zero scenario, quiet and beside CPU burners.

Runs the real command line (``tp-assets run optimisation/net_zero.toml``) in child
processes, first on a quiet machine, then beside ``--burners`` CPU burners (default 2,
one per core here), each with a fresh travel-time cache in a temporary folder, and
reports per run: wall time, peak memory (max RSS of the child), the plan's NPV, gap,
measures fitted and their capital, whether the carbon target holds, and a hash of the
results' CSVs (sites, measures, carbon, cash flow), which must be the same in every run
(the search's budget is work, never the clock or the load). The target: the demo's
time budget on 2 cores (90 s, ``benchmarks/bench_demo.py``).

Run from the repository root::

    python benchmarks/bench_energy.py [--burners 2]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import tempfile
from pathlib import Path

from _machine import cpu_model, tp_assets  # benchmarks/_machine.py
from bench_optimise import burners

SCENARIO = Path("optimisation/net_zero.toml")
TARGET_S = 90.0
HASHED = ("sites.csv", "measures.csv", "carbon.csv", "cashflow.csv")


def _run(folder: Path) -> tuple[float, float, dict[str, object]]:
    """One run into ``folder``: wall seconds, peak RSS (MB) and the figures to report."""
    wall, peak, _ = tp_assets("run", str(SCENARIO), "--quiet", "--out", str(folder / "results"),
                              "--maps", str(folder / "maps"), "--cache", str(folder / "cache"))
    out = folder / "results" / "net_zero"
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    digest = hashlib.sha256()
    for name in HASHED:
        digest.update((out / name).read_bytes())
    totals = summary["totals"]
    timings = json.loads((out / "timings.json").read_text(encoding="utf-8"))
    return wall, peak, {
        "npv_gbp": totals["npv_gbp"], "social_gbp": totals["social_carbon_value_gbp"],
        "gap": summary["gap"], "measures": totals["measures_fitted"],
        "capex_gbp": totals["measures_capex_gbp"], "target": totals.get("carbon_target"),
        "search_s": timings["solve_seconds"], "hash": digest.hexdigest()[:16],
        "solver": summary["solver"]}


def main() -> int:
    """Time the net-zero scenario quiet and loaded; exit 1 where the plans differ."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--burners", type=int, default=2, help="CPU burners beside run 2")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        rows.append(("quiet", *_run(Path(tmp) / "quiet")))
        with burners(args.burners):
            rows.append((f"{args.burners} burners", *_run(Path(tmp) / "loaded")))
    print(f"machine: {os.cpu_count()} cores, {cpu_model()}, Python {platform.python_version()}")
    for label, wall, peak, f in rows:
        target = f["target"]
        held = (f"target {target['year']}: {target['plan_tco2e']:,.1f} of "  # type: ignore[index]
                f"{target['allowed_tco2e']:,.1f} tCO2e allowed, "  # type: ignore[index]
                f"{'met' if target['met'] else 'NOT met'}")  # type: ignore[index]
        print(f"{label:<10} {wall:6.1f} s (search {f['search_s']:.1f} s; target {TARGET_S:g} s: "
              f"{'ok' if wall <= TARGET_S else 'MISSED'})  peak RSS {peak:,.0f} MB")
        print(f"  NPV £{f['npv_gbp']:,.2f} (+ social carbon £{f['social_gbp']:,.2f}), gap "
              f"{f['gap']:.2%}; {f['measures']} measures, capital £{f['capex_gbp']:,.2f}; "
              f"{held}; hash {f['hash']}")
    print(f"solver: {rows[0][3]['solver']}")
    same = len({f["hash"] for *_, f in rows}) == 1
    print("the same plan in every run" if same else "PLANS DIFFER")
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
