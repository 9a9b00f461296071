"""Benchmark: the OR-Tools MathOpt backends the optimiser's default is chosen from.

What it measures
----------------
:func:`tp_assets.optimise.solve` with each backend (``highs``, ``scip``, ``cpsat``),
in one run, on three cases:

1. **The demo scenario** (``optimisation/colocation.toml`` on ``data/demo``): the
   travel times and the :class:`~tp_assets.optimise.Problem` are built once, as
   ``tp-assets optimise`` does, then solved with the scenario's solver settings and
   ``time_limit_s`` = ``--time-limit`` (default 60 s) and ``--short-limit`` (default
   20 s). Reported: status, objective (NPV, GBP), best bound, gap, seconds (the
   ``solve`` call: model build, greedy start and solve), disposals and model size.
   The objective at the short limit against the long one stands in for "time to reach
   within 1% of the final objective" (which would need solver callbacks). CP-SAT
   cannot run the demo (it has splittable services): the ``InputError`` is reported.
   Then HiGHS at ``--time-limit`` for each of ``--seeds`` (default 0, 20, 40), with the
   scenario's ``local_search`` share and with 0 (no neighbourhood search): objective,
   bound, gap, and the mean, worst and spread of the objectives.
   Target (from the issue): OPTIMAL, or gap <= 0.5% when stopped at the time limit.
2. **OR-Library cap131** (50 warehouses x 50 customers) and
3. **OR-Library capa, capacity 14000** (100 warehouses x 1000 customers), read as in
   ``tp_assets.optimise.orlib_problem`` (every customer splittable, fixed cost as the
   "disposal value", total cost = sum of fixed costs - objective), solved with
   ``relative_gap = 0`` and ``--time-limit``; the total cost is compared with the
   published optimum (target: OPTIMAL and equal within a relative 1e-6). CP-SAT has no
   continuous variables, so it is reported as "n/a (continuous)".

The OR-Library files are read from ``../shared/data/orlib`` (relative to the
repository root); those cases are skipped, with a message, where it is absent.

Informational: the exit status is 0 whether or not a target is met; the tables say
which are. The machine (cores, CPU model, load average), Python and OR-Tools versions
and the date are printed too.

Run from the repository root::

    .venv/bin/python benchmarks/bench_optimise.py                  # about 10 minutes
    .venv/bin/python benchmarks/bench_optimise.py --time-limit 30  # quicker
    .venv/bin/python benchmarks/bench_optimise.py --skip-demo      # OR-Library only
    .venv/bin/python benchmarks/bench_optimise.py --help
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import os
import platform
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from _machine import cpu_model  # benchmarks/_machine.py

if TYPE_CHECKING:
    from tp_assets.optimise import Plan, Problem
    from tp_assets.scenario import SolverSettings

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "optimisation" / "colocation.toml"
ORLIB = ROOT.parent / "shared" / "data" / "orlib"

BACKENDS = ("highs", "scip", "cpsat")
TARGET_GAP = 0.005  # demo: optimal, or gap <= 0.5% within the time limit
TARGET_REL = 1e-6  # OR-Library: total cost equal to the published optimum
WITHIN = 0.01  # "within 1% of the final objective"


@dataclass
class Run:
    """One solve: the plan, or why there is none, and the wall time of the call."""

    backend: str
    time_limit: float
    plan: Plan | None
    seconds: float
    error: str = ""


@dataclass
class OrlibCase:
    """An OR-Library instance: file, capacity for ``capacity`` entries, published optimum."""

    label: str
    file: str
    capacity: float | None
    optimum: float


ORLIB_CASES = (
    OrlibCase("cap131 (50 x 50)", "cap131.txt", None, 793439.562),
    OrlibCase("capa, capacity 14000 (100 x 1000)", "capa.txt", 14000.0, 17160439.012),
)


# --------------------------------------------------------------------------- helpers


def run_solve(problem: Problem, settings: SolverSettings) -> Run:
    """Solve, catching the errors a backend reports for a problem it cannot take."""
    from tp_assets import optimise
    from tp_assets._errors import InfeasibleError, InputError

    started = time.perf_counter()
    try:
        plan = optimise.solve(problem, settings)
    except (InputError, InfeasibleError) as exc:
        return Run(settings.backend, settings.time_limit_s, None,
                   time.perf_counter() - started, f"{type(exc).__name__}: {exc}")
    return Run(settings.backend, settings.time_limit_s, plan, time.perf_counter() - started)


def gbp(value: float) -> str:
    """Money with thousands separators, or the non-finite value as is."""
    return f"{value:,.0f}" if np.isfinite(value) else str(value)


def pct(value: float) -> str:
    """A share as a percentage with three decimals."""
    return f"{100 * value:.3f}%" if np.isfinite(value) else str(value)


def met(ok: bool) -> str:
    """``met`` or ``MISSED``."""
    return "met" if ok else "MISSED"


def load_average() -> str:
    """The 1, 5 and 15 minute load averages, or ``n/a``."""
    try:
        return ", ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:
        return "n/a"


def overhead(problem: Problem, settings: SolverSettings) -> str:
    """Seconds to build the MathOpt model and its greedy start, outside the solver.

    Uses the private ``optimise._Model`` (informational; ``n/a`` if it changed).
    """
    from tp_assets import optimise

    started = time.perf_counter()
    try:
        model = optimise._Model(problem)
        model.hint(optimise.feasible_start(problem, settings))
    except Exception as exc:  # a private API: report, never fail
        return f"n/a ({type(exc).__name__})"
    return f"{time.perf_counter() - started:.1f} s"


def print_machine() -> None:
    import ortools

    print(f"date:     {datetime.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}")
    print(f"machine:  {os.cpu_count()} cores (os.cpu_count), "
          f"{len(os.sched_getaffinity(0))} usable (nproc); {cpu_model()}")
    print(f"          {platform.platform()}")
    print(f"versions: Python {platform.python_version()}, OR-Tools {ortools.__version__} "
          "(MathOpt with its bundled HiGHS, SCIP and CP-SAT)")
    print(f"load avg: {load_average()} (1, 5, 15 min) at start")


# --------------------------------------------------------------------------- the demo


def bench_seeds(problem: Problem, solver: SolverSettings, time_limit: float,
                seeds: list[int]) -> None:
    """HiGHS with and without the neighbourhood search, over several seeds."""
    if not seeds:
        return
    print(f"\nHiGHS at {time_limit:g} s over seeds {seeds}, with the neighbourhood search "
          f"(`local_search` = {solver.local_search:g}) and without (0):\n")
    print("| seed | local_search | objective (GBP) | best bound (GBP) | gap | seconds |")
    print("|---|---|---|---|---|---|")
    found: dict[float, list[float]] = {}
    for share in (solver.local_search, 0.0):
        for seed in seeds:
            settings = dataclasses.replace(solver, backend="highs", time_limit_s=time_limit,
                                           seed=seed, local_search=share)
            run = run_solve(problem, settings)
            if run.plan is None:
                print(f"| {seed} | {share:g} | n/a: {run.error} | | | {run.seconds:.1f} |")
                continue
            found.setdefault(share, []).append(run.plan.objective_gbp)
            print(f"| {seed} | {share:g} | {gbp(run.plan.objective_gbp)} "
                  f"| {gbp(run.plan.best_bound_gbp)} | {pct(run.plan.gap)} "
                  f"| {run.seconds:.1f} |", flush=True)
    for share, values in found.items():
        spread = (max(values) - min(values)) / max(abs(max(values)), 1e-9)
        print(f"- local_search {share:g}: mean {gbp(float(np.mean(values)))}, worst "
              f"{gbp(min(values))}, spread {pct(spread)} of the best")


def bench_long(problem: Problem, solver: SolverSettings, seconds: float,
               polish: float) -> None:
    """One long HiGHS search, then the neighbourhood search on its plan.

    Shows how far apart the best plan and the best bound stay when time is not short.
    """
    from tp_assets import optimise

    print(f"\nLong run: one HiGHS search of {seconds:g} s (seed {solver.seed}, from the "
          f"greedy start), then {polish:g} s of neighbourhood search on its plan:\n")
    settings = dataclasses.replace(solver, backend="highs", relative_gap=1e-4)
    start = optimise.feasible_start(problem, settings)
    model = optimise._Model(problem)
    started = time.perf_counter()
    result = model.solve(settings, time_limit_s=seconds, start=start)
    if not result.has_primal_feasible_solution():
        print(f"- no plan ({result.termination.reason.name})")
        return
    keep = np.array([v > 0.5 for v in result.variable_values(model.x)], dtype=bool)
    share = optimise.clean_shares(problem, np.asarray(result.variable_values(model.y)))
    bound = float(result.termination.objective_bounds.dual_bound)
    value = optimise.plan_value(problem, keep, share)
    print(f"- HiGHS: plan {gbp(value)}, bound {gbp(bound)}, gap {pct((bound - value) / value)}"
          f" ({time.perf_counter() - started:.0f} s)")
    keep, share, rounds = optimise.improve(problem, keep, share, settings, polish)
    best = optimise.plan_value(problem, keep, share)
    print(f"- then neighbourhood search ({rounds} rounds): plan {gbp(best)}; gap to the "
          f"HiGHS bound {pct((bound - best) / best)}")


def bench_demo(time_limit: float, short_limit: float, seeds: list[int],
               long_s: float = 0.0) -> None:
    from tp_assets import access, estate, optimise, scenario

    print("\n## 1. Demo scenario (optimisation/colocation.toml)\n")
    started = time.perf_counter()
    scen = scenario.load(SCENARIO)
    est = estate.load_place(scen.place)
    times = {m: access.travel_times(est, scen.network, mode=m, cutoff_minutes=c, cache_dir="")
             for m, c in access.cutoffs(scen.standards).items()}
    problem = optimise.build_problem(est, times, scen)
    prep = time.perf_counter() - started
    print(f"{problem.n_sites} sites ({int((problem.keep_fixed == -1).sum())} free), "
          f"{len(problem.service_ids)} services ({int(problem.splittable.sum())} splittable), "
          f"{len(problem.pair_service)} candidate pairs, {len(problem.rules)} access rules; "
          f"load + travel times + build_problem {prep:.1f} s")
    print(f"solver settings: {scen.solver} (time_limit_s replaced below)")
    print(f"'seconds' is the whole solve() call; of it, {overhead(problem, scen.solver)} "
          "is building the MathOpt model and the greedy start (measured once, highs)\n")

    runs: dict[tuple[str, float], Run] = {}
    for backend in BACKENDS:
        limits = (time_limit,) if backend == "cpsat" else (short_limit, time_limit)
        for limit in limits:
            settings = dataclasses.replace(scen.solver, backend=backend, time_limit_s=limit)
            run = run_solve(problem, settings)
            runs[(backend, limit)] = run
            print(f"  ... {backend:5s} T={limit:g} s: {run.seconds:.1f} s", flush=True)
    print()
    print("| backend | T (s) | status | objective (GBP) | best bound (GBP) | gap | seconds "
          "| disposals | model size (vars / keep / placement) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for (backend, limit), run in runs.items():
        plan = run.plan
        if plan is None:
            print(f"| {backend} | {limit:g} | n/a: {run.error} | | | | {run.seconds:.1f} | | |")
            continue
        size = plan.model_size
        print(f"| {backend} | {limit:g} | {plan.status} | {gbp(plan.objective_gbp)} "
              f"| {gbp(plan.best_bound_gbp)} | {pct(plan.gap)} | {run.seconds:.1f} "
              f"| {len(plan.disposed)} | {size.get('variables')} / "
              f"{size.get('keep_variables')} / {size.get('placement_variables')} |")
    print()
    for backend in BACKENDS:
        long, short = runs.get((backend, time_limit)), runs.get((backend, short_limit))
        if long is None or long.plan is None:
            print(f"- {backend}: target n/a (no plan: {long.error if long else 'not run'})")
            continue
        plan = long.plan
        ok = plan.status == "OPTIMAL" or plan.gap <= TARGET_GAP
        print(f"- {backend}: optimal or gap <= {TARGET_GAP:.1%} within {time_limit:g} s: "
              f"{met(ok)} ({plan.status}, gap {pct(plan.gap)}, {long.seconds:.1f} s)")
        if short is not None and short.plan is not None:
            rel = (plan.objective_gbp - short.plan.objective_gbp) / max(
                abs(plan.objective_gbp), 1e-9)
            verdict = "yes" if abs(rel) <= WITHIN else "no"
            print(f"  objective at {short_limit:g} s {gbp(short.plan.objective_gbp)} vs "
                  f"{time_limit:g} s {gbp(plan.objective_gbp)}: {pct(rel)} short of it; "
                  f"within {WITHIN:.0%} of the final objective by {short_limit:g} s: {verdict}")
    bench_seeds(problem, scen.solver, time_limit, seeds)
    if long_s > 0:
        bench_long(problem, scen.solver, long_s, min(120.0, long_s / 2))
    objectives = {b: r.plan.objective_gbp for (b, t), r in runs.items()
                  if t == time_limit and r.plan is not None}
    if len(objectives) > 1:
        best = max(objectives.values())
        print("- best objective at "
              f"{time_limit:g} s: {gbp(best)}; "
              + ", ".join(f"{b} {pct((best - v) / max(abs(best), 1e-9))} below"
                          for b, v in objectives.items()))


# --------------------------------------------------------------------------- OR-Library


def bench_orlib(time_limit: float) -> None:
    from tp_assets import optimise, scenario

    print("\n## 2-3. OR-Library capacitated warehouse location (relative_gap = 0)\n")
    if not ORLIB.is_dir():
        print(f"skipped: {ORLIB} is absent (the shared open data is not checked out)")
        return
    print("| instance | backend | status | total cost | lower bound | published optimum "
          "| difference | seconds | target (OPTIMAL, equal within 1e-6) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for case in ORLIB_CASES:
        path = ORLIB / case.file
        if not path.exists():
            print(f"| {case.label} | | skipped: {path} is absent | | | | | | |")
            continue
        started = time.perf_counter()
        problem = optimise.orlib_problem(path, case.capacity)
        read = time.perf_counter() - started
        for backend in BACKENDS:
            if backend == "cpsat":
                print(f"| {case.label} | cpsat | n/a (continuous) | | | {case.optimum:,.3f} "
                      "| | | n/a |", flush=True)
                continue
            settings = scenario.SolverSettings(backend=backend, relative_gap=0.0,
                                               time_limit_s=time_limit)
            run = run_solve(problem, settings)
            if run.plan is None:
                print(f"| {case.label} | {backend} | no plan: {run.error} | | | "
                      f"{case.optimum:,.3f} | | {run.seconds:.1f} | MISSED |", flush=True)
                continue
            total = float(problem.disposal_value.sum() - run.plan.objective_gbp)
            lower = float(problem.disposal_value.sum() - run.plan.best_bound_gbp)
            rel = (total - case.optimum) / case.optimum
            ok = run.plan.status == "OPTIMAL" and abs(rel) <= TARGET_REL
            print(f"| {case.label} | {backend} | {run.plan.status} | {total:,.3f} "
                  f"| {lower:,.3f} | {case.optimum:,.3f} | {rel:+.2e} | {run.seconds:.1f} "
                  f"| {met(ok)} |",
                  flush=True)
        print(f"|   ({case.label}: read {read:.1f} s; "
              f"{len(problem.pair_service):,} pair variables) | | | | | | | | |")


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--time-limit", type=float, default=60.0,
                        help="solver time limit in seconds for every case (default 60)")
    parser.add_argument("--short-limit", type=float, default=20.0,
                        help="the demo's second, shorter time limit in seconds (default 20)")
    parser.add_argument("--seeds", default="0,20,40",
                        help="seeds for the demo's HiGHS runs with and without the "
                             "neighbourhood search, comma-separated ('' to skip)")
    parser.add_argument("--long", type=float, default=0.0,
                        help="also one long HiGHS search of this many seconds on the demo, "
                             "then up to 120 s of neighbourhood search (default 0: skip)")
    parser.add_argument("--skip-orlib", action="store_true",
                        help="run the demo scenario only")
    parser.add_argument("--skip-demo", action="store_true",
                        help="run the OR-Library cases only")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    started = time.perf_counter()
    print("# Optimisation backends (OR-Tools MathOpt)\n")
    print_machine()
    seeds = [int(v) for v in args.seeds.split(",") if v.strip()]
    if not args.skip_demo:
        bench_demo(args.time_limit, args.short_limit, seeds, args.long)
    if not args.skip_orlib:
        bench_orlib(args.time_limit)
    print(f"\nload avg: {load_average()} (1, 5, 15 min) at the end; "
          f"whole run {time.perf_counter() - started:.0f} s. Informational: exit status 0.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
