"""Published test instances (OR-Library) as :class:`Problem` objects."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tp_assets._errors import InputError
from tp_assets.optimise.problem import Problem


def orlib_problem(path: str | Path, capacity: float | None = None) -> Problem:
    """An OR-Library capacitated warehouse location instance as a :class:`Problem`.

    Beasley's format: ``m n``; ``m`` lines ``capacity fixed_cost`` (capa files write
    the word ``capacity``: pass ``capacity``); then per customer its demand and the
    ``m`` costs of serving all of it from each warehouse. Warehouses become sites whose
    fixed cost is the value of closing them, customers splittable services whose
    demand is their area and whose assignment costs are placement costs; the
    published optimum equals ``disposal_value.sum() - plan.objective_gbp``.

    Parameters
    ----------
    path
        The instance file (e.g. ``cap41.txt``).
    capacity
        Capacity of every warehouse where the file says ``capacity``.
    """
    tokens = Path(path).read_text().split()
    m, n = int(tokens[0]), int(tokens[1])
    pos = 2
    caps, fixed = [], []
    for _ in range(m):
        if tokens[pos] == "capacity" and capacity is None:
            raise InputError(f"{Path(path).name}: capacities are not given; pass capacity=")
        caps.append(capacity if tokens[pos] == "capacity" else float(tokens[pos]))
        fixed.append(float(tokens[pos + 1]))
        pos += 2
    demand, cost = [], []
    for _ in range(n):
        demand.append(float(tokens[pos]))
        cost.append([float(v) for v in tokens[pos + 1:pos + 1 + m]])
        pos += 1 + m
    return Problem(
        site_ids=np.array([f"W{i}" for i in range(m)], dtype=object),
        service_ids=np.array([f"C{j}" for j in range(n)], dtype=object),
        disposal_value=np.array(fixed), capacity=np.array(caps, dtype=float),
        keep_fixed=np.full(m, -1), area=np.array(demand), splittable=np.ones(n, dtype=bool),
        current=np.full(n, -1), service_type=np.zeros(n, dtype=int), type_names=["demand"],
        pair_service=np.repeat(np.arange(n), m), pair_site=np.tile(np.arange(m), n),
        pair_cost=np.array(cost).ravel())


