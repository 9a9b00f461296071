"""Benchmark: the optimiser's search: the same plan on a busy machine, its quality, its scale.

What it measures
----------------
:func:`tp_assets.optimise.solve` counts its budget in work (HiGHS node limits, a fixed
number of neighbourhood rounds), never the clock or the machine's load;
``[solver] time_limit_s`` is a safety stop only (``Plan.stopped_by_clock`` says when it
fired). Three sections:

1. **Demo stability and quality** (``optimisation/colocation.toml`` on ``data/demo``).
   The travel times (no cache) and the :class:`~tp_assets.optimise.Problem` are built
   once, then the problem is solved with the scenario's own solver settings ``--runs``
   times (default 3) on a quiet machine and as many times beside ``--burners`` CPU
   burners (``python -c "while True: pass"``; default one per core). Per run: a hash
   of the plan (sha256 of the keep flags' bytes and the assignment's CSV text), NPV,
   bound, gap, status, what found the plan, whether the clock stopped it, the work
   done and the wall time. Targets (from the issue): every run the same plan (one
   hash); a gap of at most 1 % of the bound each run proves; an NPV within 0.5 % of
   the best plan known (:data:`BEST_KNOWN_GBP`); each quiet run within 90 s.
2. **Scale.** For each K in ``--scale`` (default 1, 2, 4, 8, 20), a sub-region of K
   copies of the demo place (``benchmarks/make_place.py --copies K``, into a temporary
   folder or ``--places-dir``), then, in a child process whose peak memory is read
   from ``os.wait4`` when it exits: load the scenario and estate, travel times (a
   fresh cache in a temporary folder), ``build_problem`` and ``solve`` with the
   scenario's solver settings. Per K: sites, services, candidate pairs, the seconds
   of each step, peak RSS (the largest process: the child or one of the search's
   worker processes), NPV, bound, gap, status, stopped by the clock. Each K runs under
   ``--scale-timeout`` seconds (default 1800); a child that runs out of time, is
   killed or fails gives a row that says so.
3. **OR-Library** cap131 (50 warehouses x 50 customers) and capa with capacity 14000
   (100 x 1000), read with :func:`tp_assets.optimise.orlib_problem` from
   ``../shared/data/orlib`` (skipped where absent) and solved with
   ``SolverSettings(backend, relative_gap=0.0)`` for ``highs`` and ``scip``; the total
   cost is compared with the published optimum (target: equal within a relative 1e-6).

``--quick`` replaces every solver budget with a tiny one (2 neighbourhood rounds, the
root node, no split), for smoke-testing this script only: its quality figures mean
nothing. Informational: the exit status is 0 whether or not a target is met; the
tables say which are. The machine (cores, CPU model, load average), Python and
OR-Tools versions and the date are printed at the start, the load at the end.

Run from the repository root::

    .venv/bin/python benchmarks/bench_optimise.py                      # everything
    .venv/bin/python benchmarks/bench_optimise.py --skip-scale         # demo + OR-Library
    .venv/bin/python benchmarks/bench_optimise.py --skip-demo --skip-orlib --scale 1,2,4
    .venv/bin/python benchmarks/bench_optimise.py --skip-demo --skip-orlib --scale 1 --quick
    .venv/bin/python benchmarks/bench_optimise.py --help

How long: the demo section is 2 x ``--runs`` solves plus about half a minute of travel
times (with the 90 s target met, at most about 10 minutes for the default 3 + 3 runs;
loaded runs may take longer); the scale series grows with K (generation, travel times
and the search for 20 copies may take tens of minutes each; each K is cut at
``--scale-timeout``), so the full default series can take an hour or more; OR-Library
takes a few minutes. The whole run's seconds are printed at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime
import hashlib
import json
import os
import platform
import resource
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from _machine import cpu_model  # benchmarks/_machine.py

if TYPE_CHECKING:
    from tp_assets.optimise import Plan, Problem
    from tp_assets.scenario import SolverSettings

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "optimisation" / "colocation.toml"
ORLIB = ROOT.parent / "shared" / "data" / "orlib"
MAKE_PLACE = ROOT / "benchmarks" / "make_place.py"

#: NPV (GBP) of the best demo plan known, the yardstick of the quality target: the demo
#: with the suitability table (2026-11-29), found by the search with 300 rounds of 25
#: sites (GBP 196.29 m), then 1,200 s of HiGHS from that plan (196.45 m; its bound
#: 196.83 m). Raise it whenever a run finds a better plan (the demo table says "new
#: best").
BEST_KNOWN_GBP: float = 196_445_297.05

TARGET_GAP = 0.01  # demo: gap at most 1 % of the bound the run proves
TARGET_BEST = 0.005  # demo: NPV within 0.5 % of BEST_KNOWN_GBP
TARGET_QUIET_S = 90.0  # demo: each quiet run within 90 s (wall)
TARGET_REL = 1e-6  # OR-Library: total cost equal to the published optimum
DEFAULT_SCALE = "1,2,4,8,20"
ORLIB_BACKENDS = ("highs", "scip")

#: The budget ``--quick`` puts in place of the scenario's (smoke tests of this script).
QUICK_BUDGET: dict[str, Any] = {"rounds": 2, "root_nodes": 1, "split": False}


@dataclass
class Run:
    """One solve of the demo: the plan or why there is none, and its wall time.

    Attributes
    ----------
    label
        ``"quiet 1"``, ``"loaded 2"``, ...
    seconds
        Wall time of the :func:`~tp_assets.optimise.solve` call.
    plan
        The plan; ``None`` when the solve raised.
    error
        The exception's type and message where it raised.
    """

    label: str
    seconds: float
    plan: Plan | None
    error: str = ""

    @property
    def hash(self) -> str:
        """The plan's hash (:func:`plan_hash`), or ``""`` without a plan."""
        return plan_hash(self.plan) if self.plan is not None else ""


@dataclass
class OrlibCase:
    """An OR-Library instance.

    Attributes
    ----------
    label
        How the tables name it.
    file
        File name in :data:`ORLIB`.
    capacity
        Capacity of every warehouse where the file says ``capacity``.
    optimum
        Published optimal total cost.
    """

    label: str
    file: str
    capacity: float | None
    optimum: float


ORLIB_CASES = (
    OrlibCase("cap131 (50 x 50)", "cap131.txt", None, 793439.562),
    OrlibCase("capa, capacity 14000 (100 x 1000)", "capa.txt", 14000.0, 17160439.012),
)


# --------------------------------------------------------------------------- helpers


def gbp(value: float | None) -> str:
    """Money with thousands separators, or the non-finite or missing value as is."""
    if value is None:
        return ""
    return f"{value:,.0f}" if np.isfinite(value) else str(value)


def pct(value: float | None, digits: int = 3) -> str:
    """A share as a percentage, or the non-finite or missing value as is."""
    if value is None:
        return ""
    return f"{100 * value:.{digits}f}%" if np.isfinite(value) else str(value)


def secs(value: float | None) -> str:
    """Seconds with one decimal, or ``""`` when missing."""
    return "" if value is None else f"{value:.1f}"


def met(ok: bool) -> str:
    """``met`` or ``MISSED``."""
    return "met" if ok else "MISSED"


def load_average() -> str:
    """The 1, 5 and 15 minute load averages, or ``n/a``."""
    try:
        return ", ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:
        return "n/a"


def usable_cores() -> int:
    """Cores this process may run on (``nproc``)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def print_machine(when: str = "at start") -> None:
    """Date, cores, CPU model, platform, versions and the load average.

    Parameters
    ----------
    when
        Said after the load average (``"at start"``, ``"at the end"``).
    """
    import ortools

    print(f"date:     {datetime.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}")
    print(f"machine:  {os.cpu_count()} cores (os.cpu_count), {usable_cores()} usable "
          f"(nproc); {cpu_model()}")
    print(f"          {platform.platform()}")
    print(f"versions: Python {platform.python_version()}, OR-Tools {ortools.__version__} "
          "(MathOpt with its bundled HiGHS and SCIP)")
    print(f"load avg: {load_average()} (1, 5, 15 min) {when}", flush=True)


def budget(solver: SolverSettings, quick: bool) -> SolverSettings:
    """The solver settings to run: as given, or with :data:`QUICK_BUDGET` in place."""
    return dataclasses.replace(solver, **QUICK_BUDGET) if quick else solver


def describe(solver: SolverSettings) -> str:
    """The solver settings that decide the search, in one line."""
    keys = ("backend", "seed", "threads", "relative_gap", "time_limit_s", "exact_max_pairs",
            "exact_nodes", "root_nodes", "rounds", "round_sites", "round_nodes", "split",
            "split_candidates", "probe_nodes")
    return ", ".join(f"{k}={getattr(solver, k)!r}" for k in keys if hasattr(solver, k))


def plan_hash(plan: Plan) -> str:
    """sha256 of a plan: its keep flags' bytes, then its assignment as CSV text.

    Parameters
    ----------
    plan
        The plan.

    Returns
    -------
    str
        Hex digest; equal plans (the same sites kept, the same hosts and shares)
        give equal hashes.
    """
    digest = hashlib.sha256(np.asarray(plan.keep, dtype=bool).tobytes())
    digest.update(plan.assignment.to_csv(index=False).encode())
    return digest.hexdigest()


def work_text(work: dict[str, object]) -> str:
    """``Plan.work`` in a table cell: nodes, rounds, searches and the split site."""
    if not work:
        return ""
    split = work.get("split_site")
    return (f"{work.get('nodes', '?')} nodes, {work.get('rounds', '?')} rounds, "
            f"{work.get('searches', '?')} searches, "
            + (f"split on {split}" if split is not None else "no split"))


def bound_gap(objective: float, bound: float) -> float:
    """Gap as a share of the bound: ``(bound - objective) / |bound|``."""
    if not (np.isfinite(objective) and np.isfinite(bound)):
        return float("inf")
    return (bound - objective) / max(abs(bound), 1e-9)


def solve_once(label: str, problem: Problem, solver: SolverSettings) -> Run:
    """Solve once, timing the call and catching the errors a solve may raise.

    Parameters
    ----------
    label
        Name of the run.
    problem, solver
        As for :func:`tp_assets.optimise.solve`.
    """
    from tp_assets import optimise
    from tp_assets._errors import InfeasibleError, InputError, NoPlanError

    started = time.perf_counter()
    try:
        plan = optimise.solve(problem, solver)
    except (InputError, InfeasibleError, NoPlanError) as exc:
        return Run(label, time.perf_counter() - started, None, f"{type(exc).__name__}: {exc}")
    return Run(label, time.perf_counter() - started, plan)


def _die_with_parent() -> None:
    """Linux: the kernel kills a burner when this script dies, however it dies."""
    with contextlib.suppress(OSError, AttributeError):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


@contextlib.contextmanager
def burners(count: int) -> Iterator[list[subprocess.Popen[bytes]]]:
    """Run ``count`` CPU burners (``python -c "while True: pass"``) while inside.

    Each is killed, by its own process id, on leaving (also on an error).

    Parameters
    ----------
    count
        Number of burner processes.

    Yields
    ------
    list of subprocess.Popen
        The burners.
    """
    procs: list[subprocess.Popen[bytes]] = []
    try:
        for _ in range(count):
            procs.append(subprocess.Popen([sys.executable, "-c", "while True: pass"],
                                          stdin=subprocess.DEVNULL,
                                          stdout=subprocess.DEVNULL,
                                          stderr=subprocess.DEVNULL,
                                          preexec_fn=_die_with_parent))
        time.sleep(1.0)  # let them take the cores before the first solve
        yield procs
    finally:
        for proc in procs:
            proc.kill()
        for proc in procs:
            proc.wait()


# --------------------------------------------------------------------------- the demo


def print_runs(runs: list[Run]) -> None:
    """The demo's runs as a markdown table."""
    print("| run | plan hash | NPV (GBP) | bound (GBP) | gap | status | found by "
          "| stopped by clock | work | wall (s) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for run in runs:
        plan = run.plan
        if plan is None:
            print(f"| {run.label} | no plan: {run.error} | | | | | | | | {run.seconds:.1f} |")
            continue
        print(f"| {run.label} | `{run.hash[:16]}` | {gbp(plan.objective_gbp)} "
              f"| {gbp(plan.best_bound_gbp)} | {pct(plan.gap)} | {plan.status} "
              f"| {plan.found_by} | {'yes' if plan.stopped_by_clock else 'no'} "
              f"| {work_text(plan.work)} | {run.seconds:.1f} |")


def demo_verdict(quiet: list[Run], loaded: list[Run], quick: bool) -> None:
    """Whether the demo's runs gave one plan, and the quality and time targets."""
    runs = quiet + loaded
    plans = [r for r in runs if r.plan is not None]
    hashes = {r.hash for r in plans}
    print("\n**Verdict**\n")
    same = len(plans) == len(runs) and len(hashes) == 1
    print(f"- same plan in all {len(runs)} runs ({len(quiet)} quiet, {len(loaded)} loaded): "
          f"{'yes' if same else 'no'} ({len(hashes)} distinct plan hash"
          f"{'es' if len(hashes) != 1 else ''}"
          + (f", {len(runs) - len(plans)} runs without a plan" if len(plans) < len(runs)
             else "") + ")")
    if any(r.plan is not None and r.plan.stopped_by_clock for r in runs):
        print("- the safety stop (time_limit_s) cut at least one run short: its plan is "
              "not reproducible")
    if not plans:
        print("- quality targets: n/a (no plan)")
    else:
        gaps = [bound_gap(r.plan.objective_gbp, r.plan.best_bound_gbp)
                for r in plans if r.plan is not None]
        worst_gap = max(gaps)
        print(f"- gap <= {TARGET_GAP:.0%} of the bound each run proves: "
              f"{met(worst_gap <= TARGET_GAP and len(plans) == len(runs))} "
              f"(worst {pct(worst_gap)})")
        values = [r.plan.objective_gbp for r in plans if r.plan is not None]
        worst, best = min(values), max(values)
        short = (BEST_KNOWN_GBP - worst) / BEST_KNOWN_GBP
        print(f"- NPV within {TARGET_BEST:.1%} of the best plan known "
              f"({gbp(BEST_KNOWN_GBP)}): {met(short <= TARGET_BEST and len(plans) == len(runs))}"
              f" (worst {gbp(worst)}, {pct(short)} short of it)")
        if best > BEST_KNOWN_GBP + 0.5:
            print(f"  new best: {gbp(best)}; raise BEST_KNOWN_GBP in this file")
    if quiet:
        slowest = max(r.seconds for r in quiet)
        print(f"- each quiet run within {TARGET_QUIET_S:g} s: "
              f"{met(slowest <= TARGET_QUIET_S)} (slowest {slowest:.1f} s)")
    if quiet and loaded:
        ratio = (float(np.mean([r.seconds for r in loaded]))
                 / max(float(np.mean([r.seconds for r in quiet])), 1e-9))
        print(f"- loaded runs took {ratio:.2f}x the quiet runs' mean wall time "
              "(information)")
    if quick:
        print("- `--quick`: a tiny budget, so the quality and time targets say nothing "
              "about the scenario's own budget")


def bench_demo(runs: int, n_burners: int, quick: bool) -> None:
    """Section 1: the demo solved quietly and beside CPU burners.

    Parameters
    ----------
    runs
        Solves on a quiet machine, and again with the burners.
    n_burners
        CPU burner processes during the loaded solves.
    quick
        Put :data:`QUICK_BUDGET` in place of the scenario's budget.
    """
    from tp_assets import access, estate, optimise, scenario

    print("\n## 1. Demo: the same plan on a quiet and a busy machine, and its quality\n")
    started = time.perf_counter()
    scen = scenario.load(SCENARIO)
    est = estate.load_place(scen.place)
    loaded_at = time.perf_counter()
    times = {m: access.travel_times(est, scen.network, mode=m, cutoff_minutes=c, cache_dir="")
             for m, c in access.cutoffs(scen.standards).items()}
    timed_at = time.perf_counter()
    problem = optimise.build_problem(est, times, scen)
    built_at = time.perf_counter()
    solver = budget(scen.solver, quick)
    print(f"{problem.n_sites} sites ({int((problem.keep_fixed == -1).sum())} free), "
          f"{len(problem.service_ids)} services ({int(problem.splittable.sum())} splittable), "
          f"{len(problem.pair_service):,} candidate pairs, {len(problem.rules)} access rules; "
          f"load {loaded_at - started:.1f} s, travel times (no cache) "
          f"{timed_at - loaded_at:.1f} s, build_problem {built_at - timed_at:.1f} s")
    whose = "the --quick budget" if quick else "the scenario's"
    print(f"solver settings ({whose}): {describe(solver)}")
    plural = "s" if runs != 1 else ""
    print(f"{runs} quiet run{plural}, then {runs} run{plural} beside {n_burners} CPU burner"
          f"{'s' if n_burners != 1 else ''} ({usable_cores()} usable cores)\n", flush=True)

    quiet: list[Run] = []
    for i in range(runs):
        quiet.append(solve_once(f"quiet {i + 1}", problem, solver))
        print(f"  ... quiet {i + 1}: {quiet[-1].seconds:.1f} s", flush=True)
    print(f"  load avg after the quiet runs: {load_average()}", flush=True)
    loaded: list[Run] = []
    if runs:
        with burners(n_burners):
            for i in range(runs):
                loaded.append(solve_once(f"loaded {i + 1}", problem, solver))
                print(f"  ... loaded {i + 1}: {loaded[-1].seconds:.1f} s", flush=True)
            print(f"  load avg with the burners: {load_average()}", flush=True)
    print()
    print_runs(quiet + loaded)
    demo_verdict(quiet, loaded, quick)


# --------------------------------------------------------------------------- scale


@dataclass
class ChildResult:
    """How a child process ended and what it used.

    Attributes
    ----------
    outcome
        ``"ok"``, ``"timed out after S s"``, ``"killed by SIGNAME"`` or
        ``"failed (exit N)"``.
    seconds
        Wall time from start to exit.
    peak_mb
        Peak resident memory of the child or of the largest of its waited-for
        descendants (``os.wait4``'s ``ru_maxrss``), MB.
    group_peak_mb
        Peak of the resident memory of the child and its workers together (its
        process group), sampled every 0.2 s, MB.
    log
        The last lines of its output (where it did not end ``"ok"``).
    """

    outcome: str
    seconds: float
    peak_mb: float
    log: str = ""
    group_peak_mb: float = 0.0


def run_child(cmd: list[str], timeout: float, log: Path) -> ChildResult:
    """Run a command in its own session under a timeout; measure its peak memory.

    On timeout its whole process group (the child and the search's worker processes)
    is killed; rows then say "timed out" instead of the script failing.

    Parameters
    ----------
    cmd
        The command.
    timeout
        Seconds before it is killed.
    log
        File for its stdout and stderr.
    """
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, cwd=ROOT, start_new_session=True)
    started = time.perf_counter()
    timed_out = False
    group_peak = 0.0
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        group_peak = max(group_peak, group_rss_mb(proc.pid))
        if time.perf_counter() - started > timeout:
            timed_out = True
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            pid, status, usage = os.wait4(proc.pid, 0)
            break
        time.sleep(0.2)
    seconds = time.perf_counter() - started
    proc.returncode = code = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
    if timed_out:
        outcome = f"timed out after {timeout:g} s"
    elif code < 0:
        outcome = f"killed by {signal.Signals(-code).name}"
    elif code:
        outcome = f"failed (exit {code})"
    else:
        outcome = "ok"
    tail = ""
    if outcome != "ok":
        lines = log.read_text(errors="replace").strip().splitlines()
        tail = " / ".join(lines[-3:])
    return ChildResult(outcome, seconds, usage.ru_maxrss / 1024.0, tail, group_peak)


def group_rss_mb(group: int) -> float:
    """Resident memory of the processes of one process group together, MB (Linux /proc)."""
    page = os.sysconf("SC_PAGE_SIZE")
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, ValueError, IndexError):
            stat = (entry / "stat").read_text()
            if int(stat[stat.rindex(")") + 2:].split()[2]) == group:  # pgrp, after state, ppid
                total += int((entry / "statm").read_text().split()[1]) * page
    return total / 2**20


def write_report(path: Path, report: dict[str, Any]) -> None:
    """Write the child's report as JSON, atomically (a killed child leaves the last one)."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(report, default=str))
    os.replace(tmp, path)


def scale_child(place: Path, cache: Path, report_path: Path, quick: bool) -> int:
    """The child of one scale run: load, travel times, build, solve; report as JSON.

    The report (:func:`write_report`) is rewritten after each step, so one cut short
    still says which step it reached and how long the steps before took.

    Parameters
    ----------
    place
        Folder of the generated place (holds ``colocation.toml``).
    cache
        Travel-time cache folder (empty: the times are computed).
    report_path
        JSON file to write.
    quick
        Put :data:`QUICK_BUDGET` in place of the scenario's budget.

    Returns
    -------
    int
        Exit status: 0.
    """
    from tp_assets import access, estate, optimise, scenario
    from tp_assets._errors import InfeasibleError, InputError, NoPlanError

    report: dict[str, Any] = {"step": "load"}
    write_report(report_path, report)
    t0 = time.perf_counter()
    scen = scenario.load(place / "colocation.toml")
    est = estate.load_place(scen.place)
    t1 = time.perf_counter()
    report.update(load_s=t1 - t0, step="travel times")
    write_report(report_path, report)
    times = {m: access.travel_times(est, scen.network, mode=m, cutoff_minutes=c,
                                    cache_dir=cache)
             for m, c in access.cutoffs(scen.standards).items()}
    t2 = time.perf_counter()
    report.update(travel_s=t2 - t1, step="build", rss_travel_mb=_peak_mb())
    write_report(report_path, report)
    problem = optimise.build_problem(est, times, scen)
    t3 = time.perf_counter()
    report.update(build_s=t3 - t2, step="solve", rss_build_mb=_peak_mb(), sites=problem.n_sites,
                  services=len(problem.service_ids), pairs=len(problem.pair_service))
    write_report(report_path, report)
    solver = budget(scen.solver, quick)
    try:
        plan = optimise.solve(problem, solver)
    except (InputError, InfeasibleError, NoPlanError) as exc:
        report["error"] = f"{type(exc).__name__}: {exc}".splitlines()[0]
    else:
        report.update(npv=plan.objective_gbp, bound=plan.best_bound_gbp, gap=plan.gap,
                      status=plan.status, stopped_by_clock=plan.stopped_by_clock,
                      found_by=plan.found_by, work=plan.work, hash=plan_hash(plan))
    t4 = time.perf_counter()
    report.update(solve_s=t4 - t3, step="done",
                  rss_self_mb=_peak_mb(),
                  rss_workers_mb=resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
                  / 1024.0)
    write_report(report_path, report)
    return 0


def _peak_mb() -> float:
    """The peak resident memory of this process so far (MB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def place_for(k: int, places: Path, timeout: float, logs: Path) -> tuple[Path, str, float]:
    """The place of K copies: reused where it exists, else made by ``make_place.py``.

    Parameters
    ----------
    k
        Copies of the demo place.
    places
        Folder of the places (``place_x{k}`` each).
    timeout
        Seconds ``make_place.py`` may take.
    logs
        Folder for its output.

    Returns
    -------
    place, outcome, seconds
        The place's folder; ``"reused"``, ``"ok"`` or what went wrong; seconds taken.
    """
    place = places / f"place_x{k}"
    if (place / "colocation.toml").exists():
        return place, "reused", 0.0
    cmd = [sys.executable, str(MAKE_PLACE), "--copies", str(k), "--out", str(place)]
    result = run_child(cmd, timeout, logs / f"make_place_x{k}.log")
    outcome = result.outcome if result.outcome == "ok" else (
        f"make_place {result.outcome}: {result.log}")
    return place, outcome, result.seconds


def bench_scale(copies: list[int], places_dir: Path | None, timeout: float,
                quick: bool, n_burners: int = 0) -> None:
    """Section 2: generate, load, time, build and solve sub-regions of K demo copies.

    Parameters
    ----------
    copies
        The values of K.
    places_dir
        Where the places are kept (``place_x{K}``; reused where they exist), else a
        temporary folder removed at the end.
    timeout
        Seconds each K's ``make_place.py`` and each K's child may take.
    quick
        Put :data:`QUICK_BUDGET` in place of the scenarios' budget.
    n_burners
        CPU burner processes running beside every child (0: a quiet machine).
    """
    print("\n## 2. Scale: K copies of the demo place (benchmarks/make_place.py)\n")
    print(f"each K in a child process (timeout {timeout:g} s); travel times computed "
          "afresh (empty cache); solver settings: "
          + ("the --quick budget" if quick else "each place's colocation.toml [solver]")
          + "; peak RSS: the largest process (the child or a search worker); "
          + (f"beside {n_burners} CPU burner{'s' * (n_burners > 1)}\n" if n_burners
             else "a quiet machine\n"))
    print("| K | make_place (s) | sites | services | candidate pairs | travel times (s) "
          "| build (s) | solve (s) | total (s) | peak RSS (MB) | NPV (GBP) | bound (GBP) "
          "| gap | status | stopped by clock |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench_optimise_") as tmp_name:
        tmp = Path(tmp_name)
        places = places_dir if places_dir is not None else tmp / "places"
        places.mkdir(parents=True, exist_ok=True)
        notes: list[str] = []
        for k in copies:
            place, made, made_s = place_for(k, places, timeout, tmp)
            generated = "reused" if made == "reused" else f"{made_s:.1f}"
            if made not in ("ok", "reused"):
                print(f"| {k} | {generated} | | | | | | | | | | | | {made} | |", flush=True)
                continue
            report_path = tmp / f"report_x{k}.json"
            cmd = [sys.executable, str(Path(__file__).resolve()), "--scale-child", str(place),
                   "--child-cache", str(tmp / f"cache_x{k}"), "--child-report",
                   str(report_path)] + (["--quick"] if quick else [])
            with burners(n_burners):
                result = run_child(cmd, timeout, tmp / f"child_x{k}.log")
            rep: dict[str, Any] = (json.loads(report_path.read_text())
                                   if report_path.exists() else {})
            if result.outcome != "ok" or rep.get("step") != "done":
                status = f"{result.outcome} (in step: {rep.get('step', 'start')})"
                if result.log:
                    notes.append(f"K = {k}: {result.log}")
            elif "error" in rep:
                status = f"no plan: {rep['error']}"
            else:
                status = str(rep.get("status", ""))
            if "rss_self_mb" in rep:
                workers = rep["rss_workers_mb"]
                notes.append(f"K = {k}: peak RSS {rep['rss_self_mb']:,.0f} MB in the child "
                             f"({result.group_peak_mb:,.0f} MB with its workers together, "
                             "sampled every 0.2 s; "
                             f"{rep.get('rss_travel_mb', 0):,.0f} MB by the end of the travel "
                             f"times, {rep.get('rss_build_mb', 0):,.0f} MB by the end of the "
                             "build), "
                             + (f"{workers:,.0f} MB in its largest worker" if workers >= 1
                                else "no worker processes") + "; "
                             f"search work: {work_text(rep.get('work') or {})}; found by "
                             f"{rep.get('found_by', '')}; plan hash {rep.get('hash', '')}")
            clock = rep.get("stopped_by_clock")
            print(f"| {k} | {generated} | {rep.get('sites', '')} | {rep.get('services', '')} "
                  f"| {rep.get('pairs', '')} | {secs(rep.get('travel_s'))} "
                  f"| {secs(rep.get('build_s'))} | {secs(rep.get('solve_s'))} "
                  f"| {result.seconds:.1f} | {result.peak_mb:,.0f} | {gbp(rep.get('npv'))} "
                  f"| {gbp(rep.get('bound'))} | {pct(rep.get('gap'))} | {status} "
                  f"| {'' if clock is None else ('yes' if clock else 'no')} |", flush=True)
        if notes:
            print()
            for note in notes:
                print(f"- {note}")
        print("\n'total' is the child's wall time: Python start, loading the scenario and "
              "estate, travel times, build and solve.")
        if places_dir is not None:
            print(f"places kept in {places_dir}")


# --------------------------------------------------------------------------- OR-Library


def bench_orlib(quick: bool) -> None:
    """Section 3: OR-Library instances against their published optima.

    Parameters
    ----------
    quick
        Put :data:`QUICK_BUDGET` in place of the default budget.
    """
    from tp_assets import optimise, scenario

    print("\n## 3. OR-Library capacitated warehouse location (relative_gap = 0)\n")
    if not ORLIB.is_dir():
        print(f"skipped: {ORLIB} is absent (the shared open data is not checked out)")
        return
    print("| instance | backend | status | total cost | lower bound | published optimum "
          "| difference | work | stopped by clock | seconds | target (equal within 1e-6) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|", flush=True)
    for case in ORLIB_CASES:
        path = ORLIB / case.file
        if not path.exists():
            print(f"| {case.label} | | skipped: {path} is absent | | | | | | | | |")
            continue
        started = time.perf_counter()
        problem = optimise.orlib_problem(path, case.capacity)
        read = time.perf_counter() - started
        for backend in ORLIB_BACKENDS:
            settings = budget(scenario.SolverSettings(backend=backend, relative_gap=0.0),
                              quick)
            run = solve_once(backend, problem, settings)
            if run.plan is None:
                print(f"| {case.label} | {backend} | no plan: {run.error} | | | "
                      f"{case.optimum:,.3f} | | | | {run.seconds:.1f} | MISSED |", flush=True)
                continue
            plan = run.plan
            total = float(problem.disposal_value.sum() - plan.objective_gbp)
            lower = float(problem.disposal_value.sum() - plan.best_bound_gbp)
            rel = (total - case.optimum) / case.optimum
            print(f"| {case.label} | {backend} | {plan.status} | {total:,.3f} "
                  f"| {lower:,.3f} | {case.optimum:,.3f} | {rel:+.2e} | {work_text(plan.work)} "
                  f"| {'yes' if plan.stopped_by_clock else 'no'} | {run.seconds:.1f} "
                  f"| {met(abs(rel) <= TARGET_REL)} |", flush=True)
        print(f"|   ({case.label}: read {read:.1f} s; "
              f"{len(problem.pair_service):,} pair variables) | | | | | | | | | | |")


# --------------------------------------------------------------------------- main


def parse_copies(text: str) -> list[int]:
    """``"1,2,4"`` as ``[1, 2, 4]``; each a positive integer."""
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a comma-separated list of integers: {text}"
                                         ) from None
    if any(v < 1 for v in values):
        raise argparse.ArgumentTypeError(f"copies must be positive: {text}")
    return values


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run the sections asked for.

    Parameters
    ----------
    argv
        Command-line arguments; defaults to ``sys.argv[1:]``.

    Returns
    -------
    int
        0 (informational: the tables say which targets are met).
    """
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--skip-demo", action="store_true",
                        help="skip the demo's stability and quality runs")
    parser.add_argument("--skip-scale", action="store_true",
                        help="skip the scale series")
    parser.add_argument("--skip-orlib", action="store_true",
                        help="skip the OR-Library cases")
    parser.add_argument("--runs", type=int, default=3,
                        help="demo solves on a quiet machine, and again beside the burners "
                             "(default 3)")
    parser.add_argument("--burners", type=int, default=usable_cores(),
                        help="CPU burner processes during the loaded demo runs "
                             f"(default one per usable core: {usable_cores()})")
    parser.add_argument("--scale", type=parse_copies, default=parse_copies(DEFAULT_SCALE),
                        help=f"copies K of the demo place, comma-separated "
                             f"(default {DEFAULT_SCALE})")
    parser.add_argument("--places-dir", type=Path, default=None,
                        help="folder of the scale places (place_x{K}): those there are "
                             "reused, the others made there and kept (default: a temporary "
                             "folder)")
    parser.add_argument("--scale-timeout", type=float, default=1800.0,
                        help="seconds each K's make_place and each K's run may take "
                             "(default 1800)")
    parser.add_argument("--scale-burners", type=int, default=0,
                        help="CPU burner processes beside each scale run (default 0: quiet)")
    parser.add_argument("--quick", action="store_true",
                        help="a tiny solver budget (2 rounds, the root node, no split) for "
                             "smoke-testing this script; the figures then mean nothing")
    parser.add_argument("--scale-child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--child-cache", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--child-report", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.scale_child is not None:
        return scale_child(args.scale_child, args.child_cache, args.child_report, args.quick)

    started = time.perf_counter()
    print("# Optimiser search: stability, quality and scale\n")
    print_machine("at start")
    if args.quick:
        print(f"--quick: every solver budget replaced by {QUICK_BUDGET} (smoke test)")
    if not args.skip_demo:
        bench_demo(max(args.runs, 0), max(args.burners, 0), args.quick)
    if not args.skip_scale:
        bench_scale(args.scale, args.places_dir, args.scale_timeout, args.quick,
                    max(args.scale_burners, 0))
    if not args.skip_orlib:
        bench_orlib(args.quick)
    print(f"\nwhole run {time.perf_counter() - started:.0f} s. Informational: exit status 0.\n")
    print_machine("at the end")
    return 0


if __name__ == "__main__":
    sys.exit(main())
