"""Benchmark: building the optimiser's MathOpt model, quiet and beside CPU burners.

The search builds a model for its root node, every neighbourhood round and every split
probe (15 models in the demo's search), so the build time counts. This times
:class:`tp_assets.optimise.model.Model` on the demo's co-location problem (plain, elastic
as for explanations, and the linear relaxation) and on the net-zero problem (with the
measures' options), ``--repeats`` times each (the median is reported), first on a quiet
machine and then beside ``--burners`` CPU burners, and checks that every build of one
case exports the same ModelProto bytes.

Run from the repository root::

    .venv/bin/python benchmarks/bench_model.py [--repeats 5] [--burners 2]   # about 1 minute
"""

from __future__ import annotations

import argparse
import hashlib
import platform
import statistics
import sys
import time

from _machine import cpu_model  # benchmarks/_machine.py
from bench_optimise import burners


def _problems() -> dict[str, object]:
    """The demo's co-location and net-zero problems (travel times from no cache)."""
    from tp_assets import access, estate, optimise, scenario

    out = {}
    for name in ("colocation", "net_zero"):
        scen = scenario.load(f"optimisation/{name}.toml")
        est = estate.load_place(scen.place)
        times = {m: access.travel_times(est, scen.network, mode=m, cutoff_minutes=c,
                                        cache_dir="")
                 for m, c in access.cutoffs(scen.standards).items()}
        out[name] = optimise.build_problem(est, times, scen)
    return out


def _time(problems: dict[str, object], repeats: int) -> dict[str, tuple[float, str]]:
    """Median build seconds and the proto's hash, per case."""
    from tp_assets.optimise.model import Model

    cases = {"co-location": (problems["colocation"], {}),
             "co-location, elastic": (problems["colocation"], {"elastic": True}),
             "co-location, relaxed": (problems["colocation"], {"relaxed": True}),
             "net-zero (with options)": (problems["net_zero"], {})}
    out = {}
    for label, (problem, kwargs) in cases.items():
        seconds, digests = [], set()
        for _ in range(repeats):
            started = time.perf_counter()
            model = Model(problem, **kwargs)  # type: ignore[arg-type]
            seconds.append(time.perf_counter() - started)
            digests.add(hashlib.sha256(model.model.export_model().SerializeToString())
                        .hexdigest()[:16])
        if len(digests) != 1:
            raise SystemExit(f"{label}: builds differ ({sorted(digests)})")
        out[label] = (statistics.median(seconds), digests.pop())
    return out


def main(argv: list[str] | None = None) -> int:
    """Time the builds quiet, then beside the burners; print a markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="builds per case")
    parser.add_argument("--burners", type=int, default=2, help="CPU burners beside run 2")
    args = parser.parse_args(argv)
    print(f"machine: {cpu_model()}, Python {platform.python_version()}")
    problems = _problems()
    quiet = _time(problems, args.repeats)
    with burners(args.burners):
        loaded = _time(problems, args.repeats)
    print(f"\n| model | quiet (s) | beside {args.burners} burners (s) | proto hash |")
    print("|---|---|---|---|")
    for label, (seconds, digest) in quiet.items():
        same = "same" if loaded[label][1] == digest else f"DIFFERS: {loaded[label][1]}"
        print(f"| {label} | {seconds:.2f} | {loaded[label][0]:.2f} | `{digest}` ({same}) |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
