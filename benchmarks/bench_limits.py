"""The machine's limits, measured: Ctrl-C latency, and a scenario's time limit at scale.

(1) Ctrl-C: ``tp-assets demo`` is started, sent SIGINT a set number of seconds in
(while the solver is working), and the seconds from the signal to the exit are
measured, with the exit code; quiet, then beside one CPU burner per core. (2) The
safety stop: sub-regions of K copies of the demo (``make_place.py``) run end to end by
``tp-assets run`` with ``[solver] time_limit_s`` set (35 s by default, the figure the
issue measured 182 s against), each in a child process: the solve's seconds
(timings.json), the whole run's, its peak memory, the gap, and whether the plan says
it was stopped by the clock.

Run from the repository root::

    .venv/bin/python benchmarks/bench_limits.py                  # K = 1, 4, 20: ~10 minutes
    .venv/bin/python benchmarks/bench_limits.py --copies 4 --time-limit 35 --skip-interrupt

Informational: always exits 0; prints markdown tables for benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_optimise import (
    burners,
    parse_copies,
    place_for,
    print_machine,
    run_child,
    usable_cores,
)

ROOT = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-m", "tp_assets"]


def _ctrl_c_as_at_a_terminal() -> None:
    """SIGINT's default action, as at a terminal (a background job inherits it ignored)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def interrupt_once(after_s: float, work: Path) -> tuple[int, float]:
    """Start the demo, SIGINT it ``after_s`` seconds in; exit code and seconds to exit."""
    proc = subprocess.Popen([*CLI, "demo", "--out", str(work / "results"), "--maps",
                             str(work / "maps"), "--cache", str(work / "cache"), "--quiet"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT,
                            preexec_fn=_ctrl_c_as_at_a_terminal)
    time.sleep(after_s)
    sent = time.perf_counter()
    proc.send_signal(signal.SIGINT)
    proc.wait()
    return proc.returncode, time.perf_counter() - sent


def bench_interrupt(after_s: float, n_burners: int) -> None:
    """Ctrl-C during the demo's solve, quiet and loaded."""
    print(f"\n## Ctrl-C {after_s:g} s into `tp-assets demo`\n")
    print("| machine | exit code | seconds from SIGINT to exit |")
    print("|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        subprocess.run([*CLI, "access", "optimisation/colocation.toml", "--out",
                        str(work / "warm"), "--cache", str(work / "cache")], cwd=ROOT,
                       check=True, capture_output=True)  # travel times cached: solving by then
        code, seconds = interrupt_once(after_s, work)
        print(f"| quiet | {code} | {seconds:.3f} |")
        with burners(n_burners):
            code, seconds = interrupt_once(after_s, work)
        print(f"| {n_burners} CPU burner(s) beside it | {code} | {seconds:.3f} |")


def bench_time_limit(copies: list[int], limit_s: float, places: Path) -> None:
    """Run sub-regions end to end with a time limit, and say whether it is kept."""
    print(f"\n## `[solver] time_limit_s = {limit_s:g}` on K copies of the demo\n")
    print("| K | sites | outcome | solve (s) | whole run (s) | peak RSS (MB) | gap | "
          "stopped by the clock |")
    print("|---|---|---|---|---|---|---|---|")
    for k in copies:
        place, made, _ = place_for(k, places, 600, places)
        if made not in ("ok", "reused"):
            print(f"| {k} | | {made} | | | | | |")
            continue
        scenario = place / f"limit_{limit_s:g}.toml"
        text = (place / "colocation.toml").read_text()
        scenario.write_text(text.replace("time_limit_s = 900", f"time_limit_s = {limit_s:g}")
                            .replace(f'name = "colocation_x{k}"',
                                     f'name = "limit_x{k}"'))
        out = places / f"results_x{k}"
        child = run_child([*CLI, "run", str(scenario), "--out", str(out), "--maps",
                           str(places / "maps"), "--cache", str(places / "cache"), "--quiet"],
                          3600, places / f"limit_x{k}.log")
        folder = out / f"limit_x{k}"
        if child.outcome != "ok":
            print(f"| {k} | {259 * k:,} | {child.outcome}: {child.log} | | "
                  f"{child.seconds:.1f} | {child.peak_mb:,.0f} | | |")
            continue
        summary = json.loads((folder / "summary.json").read_text())
        timings = json.loads((folder / "timings.json").read_text())
        gap = summary["gap"]
        print(f"| {k} | {259 * k:,} | ok | {timings['solve_seconds']:.1f} | "
              f"{child.seconds:.1f} | {child.peak_mb:,.0f} | "
              f"{'none' if gap is None else f'{gap:.2%}'} | "
              f"{'yes' if not summary['search']['reproducible'] else 'no'} |")


def main(argv: list[str] | None = None) -> int:
    """Run the benchmarks; always 0."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--copies", type=parse_copies, default=[1, 4, 20],
                        help="sizes of the time-limit series (default 1,4,20)")
    parser.add_argument("--time-limit", type=float, default=35.0,
                        help="[solver] time_limit_s of the series (default 35)")
    parser.add_argument("--interrupt-after", type=float, default=20.0,
                        help="seconds into the demo before SIGINT (default 20)")
    parser.add_argument("--burners", type=int, default=usable_cores())
    parser.add_argument("--places", type=Path, default=None,
                        help="folder for the generated places (default: a temporary one)")
    parser.add_argument("--skip-interrupt", action="store_true")
    parser.add_argument("--skip-limit", action="store_true")
    args = parser.parse_args(argv)
    print_machine()
    if not args.skip_interrupt:
        bench_interrupt(args.interrupt_after, args.burners)
    if not args.skip_limit:
        if args.places is not None:
            args.places.mkdir(parents=True, exist_ok=True)
            bench_time_limit(args.copies, args.time_limit, args.places)
        else:
            with tempfile.TemporaryDirectory() as tmp:
                bench_time_limit(args.copies, args.time_limit, Path(tmp))
    return 0


if __name__ == "__main__":
    sys.exit(main())
