"""How long an infeasible demo-sized scenario takes to explain itself, and what it says.

Two scenarios extend the demo's ``optimisation/colocation.toml`` with rules that
cannot all hold, so that only the solver can prove the conflict (nothing is seen
before solving):

- ``forced``: ``[status] dispose = ["S002"]``, a police minimum of 12 sites, at most
  9 disposals and GBP 3 m of one-off spend (the README's example);
- ``moves``: the same, with ``[rules] max_move_minutes = 10`` and GBP 5 m.

For each it times, with the scenario's own solver settings, the search that proves
the conflict (``optimise.solve``) and the whole ``optimise.optimise`` call, which
adds the explanation (relaxed rules tried one by one, then the elastic model of
the fewest rules that give way), and prints the explanation. Informational: it
always exits 0.

Run from the repository root::

    python benchmarks/bench_explain.py
"""

from __future__ import annotations

import os
import platform
import tempfile
import time
from pathlib import Path

from _machine import cpu_model  # benchmarks/_machine.py

from tp_assets import optimise, pipeline
from tp_assets._errors import InfeasibleError

ROOT = Path(__file__).resolve().parents[1]
CASES = {
    "forced": "max_one_off_gbp = 3000000\n",
    "moves": "max_one_off_gbp = 5000000\n\n[rules]\nmax_move_minutes = 10\n",
}


def _scenario(folder: Path, name: str, extra: str) -> Path:
    path = folder / f"{name}.toml"
    path.write_text(f'extends = "{ROOT / "optimisation" / "colocation.toml"}"\n'
                    f'name = "{name}"\n\n[status]\ndispose = ["S002"]\n\n'
                    '[caps.min_sites_per_owner]\n"Metropolitan Police Service" = 12\n\n'
                    f"[caps]\nmax_disposals = 9\n{extra}")
    return path


def main() -> int:
    """Time each case and print its explanation."""
    print(f"machine: {os.cpu_count()} cores, {cpu_model()}, "
          f"Python {platform.python_version()}")
    with tempfile.TemporaryDirectory() as tmp:
        for name, extra in CASES.items():
            path = _scenario(Path(tmp), name, extra)
            scen, est = pipeline.load(path)
            times = pipeline._times(scen, est, Path(tmp) / "cache")
            problem = optimise.build_problem(est, times, scen)
            started = time.perf_counter()
            try:
                optimise.solve(problem, scen.solver)
                proved = "a plan was found: not infeasible"
            except InfeasibleError as exc:
                proved = str(exc).splitlines()[0]
            solve_s = time.perf_counter() - started
            started = time.perf_counter()
            try:
                optimise.optimise(est, times, scen)
                message = "(no conflict)"
            except InfeasibleError as exc:
                message = str(exc)
            total_s = time.perf_counter() - started
            print(f"\n{name}: proving the conflict {solve_s:.1f} s; optimise with the "
                  f"explanation {total_s:.1f} s (time_limit_s {scen.solver.time_limit_s:g})")
            print(f"  solve: {proved}")
            print("\n".join(f"  {line}" for line in message.splitlines()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
