"""Choose which sites to keep, which to dispose of and where each service goes.

The only module that imports OR-Tools. A pure-array core (:class:`Problem` in,
:class:`Plan` out; no files, no geometry) solved through MathOpt, and an adapter
(:func:`build_problem`) from an estate, its travel times and a scenario.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import math
import os
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tp_assets import finance as fin
from tp_assets import settings
from tp_assets._errors import InfeasibleError, InputError, shortlist
from tp_assets._toml import Sources, locate, locate_value, suggest
from tp_assets.access import TravelTimes, sites_offering
from tp_assets.estate import Estate, tm46_benchmarks
from tp_assets.scenario import Scenario, SolverSettings

# --------------------------------------------------------------------------- the core


@dataclass
class AccessRule:
    """One access standard in array form.

    Zones that can reach exactly the same candidate host sites within the standard
    are merged into one *group*; a group is served when any of its sites hosts the
    service type.

    Attributes
    ----------
    service_type
        Index into :attr:`Problem.type_names`.
    rule
        ``{"no_loss", "coverage"}``.
    coverage
        Required share of demand served (``coverage`` rule), 0-1.
    group_sites
        Per group, the site indices within the standard that could host the type.
    group_demand
        Per group, the demand of its zones (people).
    group_required
        Per group, whether it must stay served (``no_loss``: served today).
    group_zones
        Per group, the zone ids (for explanations).
    total_demand
        Demand of all zones, including zones no candidate site can serve (people).
    """

    service_type: int
    rule: str
    coverage: float
    group_sites: list[np.ndarray]
    group_demand: np.ndarray
    group_required: np.ndarray
    group_zones: list[list[str]]
    total_demand: float
    max_minutes: float = 0.0
    demand: str = "population"


@dataclass
class Problem:
    r"""A co-location and disposal problem in arrays.

    Formulation (maximise the NPV of the plan against the status quo):

    .. math::

        \max \sum_b V_b (1 - x_b) - \sum_{(s,b) \in P} c_{sb} y_{sb}

    subject to, for every service :math:`s`, :math:`\sum_b y_{sb} = 1` over its
    candidate hosts :math:`P_s`; :math:`y_{sb} \le x_b`; capacity
    :math:`\sum_s a_s y_{sb} \le K_b x_b`; :math:`y_{sb} \le h_{t(s)b}`,
    :math:`h_{tb} \le \sum_{s \in t} y_{sb}`, :math:`h_{tb} \le x_b` (type :math:`t`
    hosted at :math:`b`, a variable only for types in a conflict or with a splittable
    service; otherwise :math:`h_{tb}` stands for :math:`\sum_{s \in t} y_{sb}`, which
    is at least 1 exactly when a whole service of type :math:`t` is at :math:`b`);
    incompatible types :math:`h_{t_1 b} + h_{t_2 b} \le 1`;
    ``no_loss`` groups :math:`\sum_{b \in G} h_{tb} \ge 1`; ``coverage``
    :math:`u_g \le \sum_{b \in G} h_{tb}`, :math:`\sum_g d_g u_g \ge X D`; optional
    caps on one-off spend :math:`\sum c_{sb} y_{sb}`, on disposals and on sites kept
    per owner. :math:`x_b` (keep), :math:`h_{tb}` binary; :math:`y_{sb}` binary, or in
    [0, 1] for a splittable service; :math:`u_g \in [0, 1]`.

    Attributes
    ----------
    site_ids, service_ids
        Labels.
    disposal_value
        :math:`V_b`, NPV gained by disposing site b (GBP).
    capacity
        :math:`K_b` (m2).
    keep_fixed
        1: must keep, 0: must dispose, -1: free.
    area
        :math:`a_s` (m2).
    splittable
        Whether service s may be spread over several sites.
    current
        Site index of each service today (-1: none, e.g. a published instance).
    service_type
        Type index of each service; names in ``type_names``.
    pair_service, pair_site, pair_cost
        Candidate (service, site) pairs and the one-off cost :math:`c_{sb}` (GBP) of
        placing the whole service there (0 for its current site).
    conflicts
        Pairs of type indices that must not share a site.
    rules
        Access standards.
    max_one_off_gbp, max_disposals
        Optional caps.
    site_owner, owner_names, min_sites_per_owner
        Owner index of each site, the owners' names, and owner index -> fewest
        sites kept.
    seen_conflicts
        Conflicts the adapter saw in the inputs (reported by :func:`precheck`).
    movable
        Whether each service may move (``movable`` in the register), for messages;
        ``None`` where unknown.
    barred
        Whether ``[rules] not_hosted`` forbids each service's type at its own site today
        (it must move), for messages; ``None`` where unknown.
    """

    site_ids: np.ndarray
    service_ids: np.ndarray
    disposal_value: np.ndarray
    capacity: np.ndarray
    keep_fixed: np.ndarray
    area: np.ndarray
    splittable: np.ndarray
    current: np.ndarray
    service_type: np.ndarray
    type_names: list[str]
    pair_service: np.ndarray
    pair_site: np.ndarray
    pair_cost: np.ndarray
    conflicts: list[tuple[int, int]] = field(default_factory=list)
    rules: list[AccessRule] = field(default_factory=list)
    max_one_off_gbp: float | None = None
    max_disposals: int | None = None
    site_owner: np.ndarray | None = None
    owner_names: list[str] = field(default_factory=list)
    min_sites_per_owner: dict[int, int] = field(default_factory=dict)
    seen_conflicts: list[str] = field(default_factory=list)
    movable: np.ndarray | None = None
    barred: np.ndarray | None = None

    @property
    def n_sites(self) -> int:
        """Number of sites."""
        return len(self.site_ids)


@dataclass
class Plan:
    """The solver's answer.

    Attributes
    ----------
    site_ids
        Site labels, in the order of ``keep``.
    keep
        Whether each site is kept.
    assignment
        One row per service and host: ``service_id``, ``site_id``, ``share`` (1.0
        unless the service is split).
    status
        ``{"OPTIMAL", "FEASIBLE"}``.
    objective_gbp
        NPV of the plan against the status quo (GBP).
    best_bound_gbp
        Best bound on the NPV the solver proved (GBP).
    gap
        Relative gap between them (0 when optimal).
    solve_seconds
        Wall time of the solve (seconds).
    solver
        ``"OR-Tools <version> MathOpt/<backend>"``.
    model_size
        Variables and constraints of the model.
    proved_kept
        Ids of free sites the solver proved can be disposed of in no plan that keeps
        every rule (found while choosing where to split parallel searches).
    """

    site_ids: np.ndarray
    keep: np.ndarray
    assignment: pd.DataFrame
    status: str
    objective_gbp: float
    best_bound_gbp: float
    gap: float
    solve_seconds: float
    solver: str
    model_size: dict[str, int] = field(default_factory=dict)
    proved_kept: list[str] = field(default_factory=list)

    @property
    def disposed(self) -> list[str]:
        """Ids of the sites disposed of."""
        return [str(s) for s in self.site_ids[~self.keep]]

    @property
    def gap_text(self) -> str:
        """The gap for people: ``"gap 4.40%"``, or says that no bound was proved."""
        return (f"gap {self.gap:.2%}" if np.isfinite(self.gap)
                else "gap unknown: the solver proved no bound in the time allowed")


@contextlib.contextmanager
def _native_stdout_silenced() -> Iterator[None]:
    """Send what native solver code prints to file descriptor 1 to the null device.

    HiGHS (as bundled with OR-Tools 9.15) prints a debugging line from its MIP search
    straight to standard output, which would land in the middle of the run summary.
    """
    sys.stdout.flush()
    try:
        saved = os.dup(1)
    except OSError:  # no standard output to protect
        yield
        return
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 1)
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)


_BACKENDS = {"highs": "HIGHS", "scip": "GSCIP", "cpsat": "CP_SAT"}


#: Elastic model: a service left without a site counts as this many broken rules, so
#: that a rule which can give way (a capacity, an access standard, a cap) is named first.
_UNPLACED_WEIGHT = 10.0


class _Model:
    """MathOpt model of a :class:`Problem`, optionally with elastic slack on its rules.

    The elastic model gives every rule's row a slack, bounded by what the row could
    ever need, and a binary indicator that the row gives way; it minimises the number
    of rows that give way (:data:`_UNPLACED_WEIGHT` for a service left unplaced);
    :meth:`least_slack` then finds the least slack among the smallest sets.
    """

    def __init__(self, problem: Problem, *, elastic: bool = False,
                 integer_coverage: bool = False):
        """Build the model; ``integer_coverage`` makes coverage indicators binary (CP-SAT)."""
        from ortools.math_opt.python import mathopt

        self.mo = mathopt
        self.p = p = problem
        self.model = m = mathopt.Model(name="tp-assets")
        self.elastic = elastic
        #: (slack, gives-way indicator, kind, key, largest slack the row can need)
        self.slacks: list[tuple[Any, Any, str, Any, float]] = []
        self.x = [m.add_binary_variable(name=f"keep[{p.site_ids[b]}]") for b in range(p.n_sites)]
        for b, fixed in enumerate(p.keep_fixed):
            if fixed >= 0:
                self.x[b].lower_bound = self.x[b].upper_bound = float(fixed)
        self.y = []
        for s, b in zip(p.pair_service, p.pair_site, strict=True):
            name = f"place[{p.service_ids[s]},{p.site_ids[b]}]"
            if p.splittable[s]:
                self.y.append(m.add_variable(lb=0.0, ub=1.0, name=name))
            else:
                self.y.append(m.add_binary_variable(name=name))
        by_service: dict[int, list[int]] = defaultdict(list)
        by_site: dict[int, list[int]] = defaultdict(list)
        by_type_site: dict[tuple[int, int], list[int]] = defaultdict(list)
        for k, (s, b) in enumerate(zip(p.pair_service, p.pair_site, strict=True)):
            by_service[int(s)].append(k)
            by_site[int(b)].append(k)
            by_type_site[(int(p.service_type[s]), int(b))].append(k)
        fast_sum = mathopt.fast_sum
        for s in range(len(p.service_ids)):
            expr = fast_sum(self.y[k] for k in by_service[s])
            if elastic:
                expr = expr + self._slack("unplaced", s, 1.0)
            m.add_linear_constraint(expr == 1.0, name=f"assign[{p.service_ids[s]}]")
        for k, b in enumerate(p.pair_site):
            m.add_linear_constraint(self.y[k] <= self.x[b])
        for b in range(p.n_sites):
            if not by_site[b]:
                continue
            load = fast_sum(p.area[p.pair_service[k]] * self.y[k] for k in by_site[b])
            rhs = p.capacity[b] * self.x[b]
            if elastic:
                most = float(p.area[p.pair_service[by_site[b]]].sum())
                rhs = rhs + self._slack("capacity", b, most)
            m.add_linear_constraint(load <= rhs, name=f"capacity[{p.site_ids[b]}]")
        # which (type, site) pairs need a "hosted" indicator: types in a conflict, and
        # ruled types with a splittable service (a share of one counts as hosting it);
        # a ruled type whose services are whole is hosted where the sum of its
        # placements there is at least one, which needs no extra variable
        whole = {t: not p.splittable[p.service_type == t].any()
                 for t in range(len(p.type_names))}
        needed_types = ({r.service_type for r in p.rules if not whole[r.service_type]}
                        | {t for pair in p.conflicts for t in pair})
        self.h: dict[tuple[int, int], Any] = {}
        for (t, b), ks in by_type_site.items():
            if t not in needed_types:
                continue
            h = m.add_binary_variable(name=f"hosts[{p.type_names[t]},{p.site_ids[b]}]")
            self.h[(t, b)] = h
            for k in ks:
                m.add_linear_constraint(self.y[k] <= h)
            m.add_linear_constraint(h <= fast_sum(self.y[k] for k in ks))
            m.add_linear_constraint(h <= self.x[b])
        for t1, t2 in p.conflicts:
            for b in range(p.n_sites):
                if (t1, b) in self.h and (t2, b) in self.h:
                    both = self.h[(t1, b)] + self.h[(t2, b)]
                    if elastic:
                        both = both - self._slack("conflict", (t1, t2, b), 1.0)
                    m.add_linear_constraint(both <= 1.0)
        for r_index, rule in enumerate(p.rules):
            t = rule.service_type
            served = []
            binding = set(minimal_groups(rule)) if rule.rule == "no_loss" else set()
            for g, sites in enumerate(rule.group_sites):
                if t in needed_types:
                    hosts = [self.h[(t, int(b))] for b in sites if (t, int(b)) in self.h]
                else:
                    hosts = [self.y[k] for b in sites for k in by_type_site.get((t, int(b)), [])]
                if rule.rule == "no_loss":
                    if g not in binding:
                        continue
                    expr = fast_sum(hosts) if hosts else 0.0
                    if elastic:
                        expr = expr + self._slack("no_loss", (r_index, g), 1.0)
                    m.add_linear_constraint(lb=1.0, expr=expr)
                elif hosts:
                    u = m.add_variable(lb=0.0, ub=1.0, is_integer=integer_coverage)
                    m.add_linear_constraint(u <= fast_sum(hosts))
                    served.append(rule.group_demand[g] * u)
            if rule.rule == "coverage":
                expr = fast_sum(served) if served else 0.0
                need = rule.coverage * rule.total_demand
                if elastic and need > 0:
                    expr = expr + self._slack("coverage", r_index, need)
                m.add_linear_constraint(lb=need, expr=expr)
        spend = fast_sum(float(p.pair_cost[k]) * self.y[k] for k in range(len(self.y))
                         if p.pair_cost[k] != 0.0)
        if p.max_one_off_gbp is not None:
            spend_row = spend
            if elastic:
                dearest = np.zeros(len(p.service_ids))  # each service's dearest placement
                np.maximum.at(dearest, p.pair_service, p.pair_cost)
                spend_row = spend - self._slack("one_off", None, float(dearest.sum()))
            m.add_linear_constraint(spend_row <= p.max_one_off_gbp)
        if p.max_disposals is not None:
            expr = fast_sum(1.0 - self.x[b] for b in range(p.n_sites))
            if elastic:
                expr = expr - self._slack("disposals", None, float(p.n_sites))
            m.add_linear_constraint(expr <= float(p.max_disposals))
        for owner, minimum in p.min_sites_per_owner.items():
            assert p.site_owner is not None
            expr = fast_sum(self.x[b] for b in np.flatnonzero(p.site_owner == owner))
            if elastic:
                expr = expr + self._slack("owner", owner, float(minimum))
            m.add_linear_constraint(expr >= float(minimum))
        if elastic:  # fewest rows giving way (then least_slack())
            self.gives_way = fast_sum((_UNPLACED_WEIGHT if kind == "unplaced" else 1.0) * gives
                                      for _, gives, kind, _, _ in self.slacks)
            m.minimize(self.gives_way)
        else:
            value = fast_sum(float(p.disposal_value[b]) * (1.0 - self.x[b])
                             for b in range(p.n_sites) if p.disposal_value[b] != 0.0)
            m.maximize(value - spend)
        self.size = {"variables": len(self.x) + len(self.y) + len(self.h),
                     "keep_variables": len(self.x), "placement_variables": len(self.y)}

    def least_slack(self, gives_way: float) -> None:
        """Elastic model: keep to ``gives_way`` (the fewest found), minimise the slack.

        Each kind of slack (m2, people, GBP, ...) counts in units of its largest
        possible value, so that no kind swamps another.
        """
        scale: dict[str, float] = defaultdict(float)
        for _, _, kind, _, most in self.slacks:
            scale[kind] = max(scale[kind], most)
        self.model.add_linear_constraint(self.gives_way <= gives_way + 0.5)
        self.model.minimize(self.mo.fast_sum(slack / scale[kind]
                                             for slack, _, kind, _, _ in self.slacks))

    def _slack(self, kind: str, key: Any, most: float) -> Any:
        """A slack of at most ``most`` on one row, and its gives-way indicator."""
        if most <= 0.0:  # the row can never need one
            return 0.0
        slack = self.model.add_variable(lb=0.0, ub=most)
        gives = self.model.add_binary_variable()
        self.model.add_linear_constraint(slack <= most * gives)
        self.slacks.append((slack, gives, kind, key, most))
        return slack

    def plan(self, result: Any) -> tuple[np.ndarray, np.ndarray]:
        """Keep flag per site and exact share per candidate pair of a solved model."""
        keep = np.array([v > 0.5 for v in result.variable_values(self.x)], dtype=bool)
        return keep, clean_shares(self.p, np.asarray(result.variable_values(self.y),
                                                     dtype=float))

    def hint(self, start: tuple[np.ndarray, np.ndarray] | None) -> Any:
        """A solution hint: ``start`` (keep flags, pair shares), else the status quo."""
        p = self.p
        if (p.current < 0).any() or self.elastic:
            return None
        if start is None:  # status quo, partial where services must move (forced out, barred)
            keep = p.keep_fixed != 0
            share = (p.current[p.pair_service] == p.pair_site).astype(float)
        else:
            keep, share = start
        values = {}
        for b, var in enumerate(self.x):
            values[var] = float(keep[b])
        for k, var in enumerate(self.y):
            values[var] = float(share[k])
        for (t, b), var in self.h.items():
            ks = (p.pair_site == b) & (p.service_type[p.pair_service] == t)
            values[var] = 1.0 if (share[ks] > 0).any() else 0.0
        return self.mo.SolutionHint(variable_values=values)

    def solve(self, solver: SolverSettings, *, time_limit_s: float | None = None,
              start: tuple[np.ndarray, np.ndarray] | None = None, hint: bool = True,
              values: dict[Any, float] | None = None) -> Any:
        """Solve within ``time_limit_s`` (default the settings'), hinting ``start``.

        ``values`` (every variable's, e.g. from an earlier solve) is the hint instead.
        """
        mathopt = self.mo
        left = solver.time_limit_s if time_limit_s is None else time_limit_s
        kwargs: dict[str, object] = {
            "time_limit": datetime.timedelta(seconds=left),
            "random_seed": solver.seed,
            "relative_gap_tolerance": solver.relative_gap,
        }
        if solver.backend != "highs":  # HiGHS through MathOpt rejects a thread count
            kwargs["threads"] = solver.threads
        if solver.backend == "highs":
            from ortools.math_opt.solvers import highs_pb2

            options = highs_pb2.HighsOptionsProto()
            options.double_options["mip_heuristic_effort"] = settings.HIGHS_HEURISTIC_EFFORT
            kwargs["highs"] = options
        params = mathopt.SolveParameters(**kwargs)
        guess = self.hint(start) if hint else None
        if values is not None:
            guess = mathopt.SolutionHint(variable_values=values)
        model_params = (mathopt.ModelSolveParameters(solution_hints=[guess]) if guess
                        else None)
        backend = getattr(mathopt.SolverType, _BACKENDS[solver.backend])
        with _native_stdout_silenced():
            return mathopt.solve(self.model, backend, params=params, model_params=model_params)


def greedy(problem: Problem, start: np.ndarray | None = None
           ) -> tuple[np.ndarray, np.ndarray] | None:
    """A feasible plan built greedily, to give the solver a good start.

    Starts from the status quo, re-homes the services of sites forced out, then tries
    to dispose of sites in order of falling disposal value, moving each of their
    services to the nearest candidate host with room (a site already hosting its type
    first) and keeping a disposal only when every rule still holds.

    Parameters
    ----------
    problem
        The problem (its services must all have a current site).
    start
        Shares per candidate pair of a feasible plan that keeps every site not forced
        out (see :func:`repair`); by default the status quo with the services of
        forced-out sites re-homed greedily.

    Returns
    -------
    keep, share
        Keep flag per site and share per candidate pair; ``None`` when the status quo
        with the forced moves cannot be made feasible this way.
    """
    from scipy import sparse

    p = problem
    n_b, n_s = p.n_sites, len(p.service_ids)
    pairs = [np.flatnonzero(p.pair_service == s) for s in range(n_s)]
    keep = p.keep_fixed != 0
    if start is not None:
        share = start.copy()
    else:
        share = (p.current[p.pair_service] == p.pair_site).astype(float)
    incidence = []
    for rule in p.rules:
        rows = np.repeat(np.arange(len(rule.group_sites)), [len(g) for g in rule.group_sites])
        cols = np.concatenate(rule.group_sites) if rule.group_sites else np.zeros(0, int)
        incidence.append(sparse.csr_matrix((np.ones(len(rows)), (rows, cols)),
                                           shape=(len(rule.group_sites), n_b)))
    # together[t][b, d]: groups (demand) of type t's rules that sites b and d both serve
    together = {t: np.zeros((n_b, n_b)) for t in range(len(p.type_names))}
    for rule, inc in zip(p.rules, incidence, strict=True):
        weight = sparse.diags(rule.group_demand + 1.0)
        together[rule.service_type] += (inc.T @ weight @ inc).toarray()

    def feasible(share: np.ndarray, keep: np.ndarray) -> bool:
        used = np.bincount(p.pair_site, weights=share * p.area[p.pair_service], minlength=n_b)
        if (used > p.capacity * keep + 1e-9).any():
            return False
        hosted = np.zeros((len(p.type_names), n_b), dtype=bool)
        on = share > 0
        hosted[p.service_type[p.pair_service[on]], p.pair_site[on]] = True
        for t1, t2 in p.conflicts:
            if (hosted[t1] & hosted[t2]).any():
                return False
        for rule, inc in zip(p.rules, incidence, strict=True):
            served = inc @ hosted[rule.service_type].astype(float) > 0
            if rule.rule == "no_loss" and (rule.group_required & ~served).any():
                return False
            if rule.rule == "coverage" and (
                    rule.group_demand @ served < rule.coverage * rule.total_demand - 1e-9):
                return False
        if p.max_one_off_gbp is not None and share @ p.pair_cost > p.max_one_off_gbp + 1e-6:
            return False
        if p.max_disposals is not None and (~keep).sum() > p.max_disposals:
            return False
        if p.site_owner is not None:
            for owner, minimum in p.min_sites_per_owner.items():
                if (keep & (p.site_owner == owner)).sum() < minimum:
                    return False
        return True

    def rehome(s: int, share: np.ndarray, keep: np.ndarray) -> bool:
        """Move service s off closed sites onto kept candidates; False if no room."""
        ks = pairs[s]
        origin = p.pair_site[ks[share[ks] > 0]]
        overlap = together[p.service_type[s]][origin].sum(axis=0) if len(origin) else \
            np.zeros(n_b)
        if not len(origin):
            overlap = together[p.service_type[s]][p.current[s]]
        share[ks] = 0.0
        used = np.bincount(p.pair_site, weights=share * p.area[p.pair_service], minlength=n_b)
        room = p.capacity - used
        hosting = np.zeros(n_b, dtype=bool)
        on = (share > 0) & (p.service_type[p.pair_service] == p.service_type[s])
        hosting[p.pair_site[on]] = True
        options = [k for k in ks if keep[p.pair_site[k]]]
        options.sort(key=lambda k: (-overlap[p.pair_site[k]], not hosting[p.pair_site[k]],
                                    p.pair_cost[k], -room[p.pair_site[k]]))
        need = 1.0
        for k in options:
            b = p.pair_site[k]
            if room[b] <= 1e-9:
                continue
            if not p.splittable[s]:
                if room[b] + 1e-9 >= p.area[s]:
                    share[k] = 1.0
                    return True
                continue
            take = min(need, room[b] / p.area[s])
            share[k] += take
            need -= take
            if need <= 1e-9:
                return True
        return False

    for s in range(n_s):
        if share[pairs[s]].sum() < 1.0 - 1e-9 and not rehome(s, share, keep):
            return None
    if not feasible(share, keep):
        return None
    hosted_area = np.bincount(p.pair_site, weights=share * p.area[p.pair_service],
                              minlength=n_b)
    orders = (np.argsort(-p.disposal_value, kind="stable"),
              np.argsort(-p.disposal_value / (hosted_area + 50.0), kind="stable"))
    best: tuple[float, np.ndarray, np.ndarray] | None = None
    for order in orders:
        k_keep, k_share = keep.copy(), share.copy()
        for _ in range(2):  # a second pass picks up sites freed by later moves
            for b in order:
                if p.keep_fixed[b] != -1 or not k_keep[b]:
                    continue
                trial_keep, trial_share = k_keep.copy(), k_share.copy()
                trial_keep[b] = False
                movers = np.unique(p.pair_service[(p.pair_site == b) & (k_share > 0)])
                if all(rehome(int(s), trial_share, trial_keep) for s in movers) and feasible(
                        trial_share, trial_keep):
                    k_keep, k_share = trial_keep, trial_share
        value = plan_value(p, k_keep, k_share)
        if best is None or value > best[0]:
            best = (value, k_keep, k_share)
    assert best is not None
    return best[1], best[2]


def clean_shares(problem: Problem, share: np.ndarray) -> np.ndarray:
    """Solver values made exact: 0 or 1 for whole services, shares summing to 1 when split.

    Values within the solver's tolerance of 0 (at most ``SHARE_EPS``) would otherwise
    read as a sliver of a service hosted at a site.

    Parameters
    ----------
    problem
        The problem.
    share
        A value per candidate pair, as the solver returned it.

    Returns
    -------
    numpy.ndarray
        Per candidate pair: a whole service's one host gets 1 (its largest value), a
        split service's shares above ``SHARE_EPS`` are scaled to sum to 1.
    """
    p = problem
    share = np.where(share > SHARE_EPS, share, 0.0)
    total = np.bincount(p.pair_service, weights=share, minlength=len(p.service_ids))
    split = p.splittable[p.pair_service]
    out = np.where(split, share / np.maximum(total[p.pair_service], SHARE_EPS), 0.0)
    order = np.lexsort((-share, p.pair_service))
    first = np.r_[True, p.pair_service[order][1:] != p.pair_service[order][:-1]]
    head = order[first[:len(order)]]  # no pairs at all: no heads
    head = head[~split[head] & (share[head] > 0)]
    out[head] = 1.0
    return out


#: Solver values at most this are read as 0 (a share of a service, or a binary).
SHARE_EPS = 1e-7


def plan_value(problem: Problem, keep: np.ndarray, share: np.ndarray) -> float:
    """NPV of a plan against the status quo (GBP): disposal values less one-off costs.

    Parameters
    ----------
    problem
        The problem.
    keep, share
        Keep flag per site and share per candidate pair.
    """
    return float(problem.disposal_value[~keep].sum() - share @ problem.pair_cost)


def improve(problem: Problem, keep: np.ndarray, share: np.ndarray, solver: SolverSettings,
            time_limit_s: float) -> tuple[np.ndarray, np.ndarray, int]:
    """Large-neighbourhood search: re-optimise a feasible plan one neighbourhood at a time.

    Each round picks a random free site and the ``settings.LNS_SITES`` sites sharing
    most candidate services with it, and re-solves, to optimality or for at most
    ``settings.LNS_ROUND_S`` seconds, the plan of the services placed in or coming
    from them, every other decision held as the plan has it (see
    :func:`neighbourhood`). A better plan replaces the current one; every plan
    visited is feasible for the whole problem.

    Parameters
    ----------
    problem
        The problem.
    keep, share
        A feasible plan: keep flag per site and share per candidate pair.
    solver
        Backend and seed (the seed draws the neighbourhoods).
    time_limit_s
        Wall-clock budget (seconds).

    Returns
    -------
    keep, share, rounds
        The best plan found (the given one if none is better) and the rounds run.
    """
    from scipy import sparse

    started = time.perf_counter()
    p = problem
    free = np.flatnonzero(p.keep_fixed == -1)
    incidence = sparse.csr_matrix((np.ones(len(p.pair_site)), (p.pair_service, p.pair_site)),
                                  shape=(len(p.service_ids), p.n_sites))
    links = (incidence.T @ incidence).toarray()
    rng = np.random.default_rng(solver.seed)
    best = plan_value(p, keep, share)
    rounds = 0
    while len(free) and (left := time_limit_s - (time.perf_counter() - started)) > 0.5:
        rounds += 1
        centre = rng.choice(free)
        near = np.argsort(-(links[centre] + rng.random(p.n_sites)), kind="stable")
        inside = np.zeros(p.n_sites, dtype=bool)
        inside[near[:settings.LNS_SITES]] = True
        inside[centre] = True
        sub, pairs, loose = neighbourhood(p, keep, share, inside)
        model = _Model(sub, integer_coverage=solver.backend == "cpsat")
        step = dataclasses.replace(solver, seed=solver.seed + rounds, relative_gap=1e-6)
        result = model.solve(step, time_limit_s=min(settings.LNS_ROUND_S, left), hint=False)
        if not result.has_primal_feasible_solution():
            continue
        new_share = share.copy()
        new_share[np.isin(p.pair_service, loose)] = 0.0
        new_keep, new_share[pairs] = model.plan(result)
        value = plan_value(p, new_keep, new_share)
        if value > best + 1e-6:
            best, keep, share = value, new_keep, new_share
        if (inside[free].all() and len(loose) == len(p.service_ids)
                and result.termination.reason.name == "OPTIMAL"):
            break  # the neighbourhood was the whole problem, solved exactly
    return keep, share, rounds


def neighbourhood(problem: Problem, keep: np.ndarray, share: np.ndarray, inside: np.ndarray
                  ) -> tuple[Problem, np.ndarray, np.ndarray]:
    """The part of a plan around some sites, as a smaller problem.

    Services placed at or coming from the ``inside`` sites are *loose*: they keep their
    candidate hosts that are inside or kept. Every other service stays where the plan
    puts it, its area taken off its host's room, and every site outside keeps the
    plan's decision. Access groups the fixed services already serve are dropped (a
    ``coverage`` rule keeps the demand still needed), the one-off cap keeps what the
    fixed moves leave, and hosts where a loose service would meet a fixed service of
    a conflicting type are removed. The plan itself is feasible for the smaller
    problem, and any plan of it, with the fixed services added back, for the whole.

    Parameters
    ----------
    problem
        The problem.
    keep, share
        A feasible plan: keep flag per site and share per candidate pair.
    inside
        Flag per site: the sites whose decisions are freed.

    Returns
    -------
    sub, pairs, loose
        The smaller problem (same sites, the loose services only), the index in
        ``problem``'s candidate pairs of each of its pairs, and the loose services'
        indices in ``problem``.
    """
    p = problem
    n_s = len(p.service_ids)
    placed = share > 0
    is_loose = np.zeros(n_s, dtype=bool)
    is_loose[p.pair_service[placed & inside[p.pair_site]]] = True
    homed = p.current >= 0
    is_loose[homed] |= inside[p.current[homed]]
    loose = np.flatnonzero(is_loose)
    fixed = placed & ~is_loose[p.pair_service]
    fixed_load = np.bincount(p.pair_site[fixed], minlength=p.n_sites,
                             weights=share[fixed] * p.area[p.pair_service[fixed]])
    keep_fixed = np.where((p.keep_fixed == -1) & ~inside, keep.astype(int), p.keep_fixed)
    hosted = np.zeros((len(p.type_names), p.n_sites), dtype=bool)
    hosted[p.service_type[p.pair_service[fixed]], p.pair_site[fixed]] = True
    pair_type = p.service_type[p.pair_service]
    usable = is_loose[p.pair_service] & (keep_fixed[p.pair_site] != 0)
    for t1, t2 in p.conflicts:
        usable &= ~((pair_type == t1) & hosted[t2, p.pair_site])
        usable &= ~((pair_type == t2) & hosted[t1, p.pair_site])
    pairs = np.flatnonzero(usable)
    code = np.full(n_s, -1)
    code[loose] = np.arange(len(loose))
    rules = []
    for rule in p.rules:
        served = np.array([hosted[rule.service_type, g].any() for g in rule.group_sites],
                          dtype=bool)
        coverage = rule.coverage
        if rule.rule == "coverage" and rule.total_demand > 0:
            still = rule.coverage * rule.total_demand - rule.group_demand[served].sum()
            coverage = max(0.0, still / rule.total_demand)
        open_ = np.flatnonzero(~served)
        rules.append(dataclasses.replace(
            rule, coverage=coverage, group_sites=[rule.group_sites[g] for g in open_],
            group_demand=rule.group_demand[open_], group_required=rule.group_required[open_],
            group_zones=[rule.group_zones[g] for g in open_]))
    spent = float(share[fixed] @ p.pair_cost[fixed])
    sub = dataclasses.replace(
        p, capacity=np.maximum(p.capacity - fixed_load, 0.0), keep_fixed=keep_fixed,
        service_ids=p.service_ids[loose], area=p.area[loose], splittable=p.splittable[loose],
        current=p.current[loose], service_type=p.service_type[loose],
        pair_service=code[p.pair_service[pairs]], pair_site=p.pair_site[pairs],
        pair_cost=p.pair_cost[pairs], rules=rules,
        max_one_off_gbp=None if p.max_one_off_gbp is None else p.max_one_off_gbp - spent)
    return sub, pairs, loose


def repair(problem: Problem, solver: SolverSettings, time_limit_s: float | None = None
           ) -> np.ndarray | None:
    """Cheapest moves that re-home the services of forced-out sites, keeping every other site.

    A small model (every free site kept) solved quickly; its plan starts
    :func:`greedy` when the forced disposals break the status quo.

    Parameters
    ----------
    problem
        The problem.
    solver
        Backend, seed and time limit of the search (capped at 10 s).
    time_limit_s
        Seconds left for it, building the model included, when less than the
        settings' time limit.

    Returns
    -------
    numpy.ndarray or None
        Share per candidate pair, or ``None`` when no such plan was found.
    """
    started = time.time()
    fixed = np.where(problem.keep_fixed == -1, 1, problem.keep_fixed)
    restricted = dataclasses.replace(problem, keep_fixed=fixed, max_disposals=None)
    model = _Model(restricted, integer_coverage=solver.backend == "cpsat")
    # the settings' limit is for the search alone; time_limit_s includes the building
    left = (solver.time_limit_s if time_limit_s is None
            else time_limit_s - (time.time() - started))
    quick = dataclasses.replace(solver, time_limit_s=max(0.5, min(10.0, left)))
    result = model.solve(quick, hint=False)
    if not result.has_primal_feasible_solution():
        return None
    return model.plan(result)[1]


def minimal_groups(rule: AccessRule) -> list[int]:
    """The required groups of a ``no_loss`` rule whose site sets contain no other's.

    Serving a group whose sites include all the sites of another required group is
    implied by serving that group, so only these rows need enter the model.

    Parameters
    ----------
    rule
        A ``no_loss`` access rule.

    Returns
    -------
    list of int
        Group indices, in order.
    """
    masks: dict[int, int] = {}
    for group in np.flatnonzero(rule.group_required).tolist():
        mask = 0
        for b in rule.group_sites[group]:
            mask |= 1 << int(b)
        masks[group] = mask
    kept: list[int] = []
    for group in sorted(masks, key=lambda k: (masks[k].bit_count(), k)):
        mask = masks[group]
        if not any(masks[k] & mask == masks[k] for k in kept):
            kept.append(group)
    return sorted(kept)


def solver_name(backend: str) -> str:
    """``"OR-Tools <version> MathOpt/<backend>"`` for summaries.

    Parameters
    ----------
    backend
        ``{"highs", "scip", "cpsat"}``.
    """
    import ortools

    label = {"highs": "HiGHS", "scip": "SCIP", "cpsat": "CP-SAT"}[backend]
    return f"OR-Tools {ortools.__version__} MathOpt/{label}"


def solve(problem: Problem, solver: SolverSettings | None = None) -> Plan:
    """Solve a :class:`Problem` with OR-Tools MathOpt.

    Parameters
    ----------
    problem
        The problem in arrays.
    solver
        Backend, time limit (s), threads, seed and relative gap.

    Returns
    -------
    Plan
        Status OPTIMAL or FEASIBLE with objective, best bound and gap.

    Raises
    ------
    InfeasibleError
        When the solver proves the rules cannot all hold (call :func:`explain` for
        why), or finds no plan within the time limit.
    InputError
        A backend that cannot handle the problem (CP-SAT with splittable services).
    """
    solver = solver or SolverSettings()
    if solver.backend == "cpsat" and problem.splittable.any():
        raise InputError("[solver] backend = \"cpsat\" cannot place splittable services "
                         "(CP-SAT has no continuous variables); use \"highs\" or \"scip\"")
    started, wall = time.perf_counter(), time.time()
    given = problem.keep_fixed
    workers = solver.threads if (solver.backend == "highs" and len(problem.pair_site)
                                 >= settings.PORTFOLIO_MIN_PAIRS) else 1
    idle = free_cores() if workers > 1 else None
    if idle is not None and round(idle) < workers:
        workers = max(1, round(idle))  # searches sharing a core each do half the work
    # a wall-clock deadline, the same in every process: starting the parallel searches'
    # processes (seconds on a busy machine) comes out of their time, not on top of it
    deadline = wall + solver.time_limit_s - (_COLLECT_S if workers > 1 else _FINISH_S)
    site = None
    if workers > 1:
        # HiGHS's MIP search uses one core: run one search per thread in its own
        # process. Given settings.SPLIT_MIN_S or more, the searches split the plans
        # between them on one decisive site (disposed / kept; see _split_site);
        # otherwise, or where no site is found, each searches them all with its own seed.
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(workers,
                                 mp_context=multiprocessing.get_context("spawn")) as pool:
            if solver.time_limit_s >= settings.SPLIT_MIN_S:
                problem, site = _split_site(problem, solver, pool, workers, deadline)
            runs = [dataclasses.replace(solver, seed=solver.seed + k) for k in range(workers)]
            branches = ([(site, k % 2) for k in range(workers)] if site is not None
                        else [None] * workers)
            outcomes = list(pool.map(_search, [problem] * workers, runs,
                                     [deadline] * workers, branches))
    else:
        branches = [None]
        outcomes = [_search(problem, solver, deadline, None)]
    seconds = time.perf_counter() - started
    best, bound, gap, status = _combine(branches, outcomes, solver)
    keep, y, objective = best.keep, best.y, best.objective
    assert keep is not None and y is not None
    label = solver_name(solver.backend)
    if workers < solver.threads and idle is not None:
        label += (f" ({workers} search{'es' * (workers > 1)}: {idle:.1f} of "
                  f"{solver.threads} cores free)")
    if site is not None:
        label += f" x{workers} searches (site {problem.site_ids[site]} disposed / kept)"
    elif workers > 1:
        label += f" x{workers} seeds"
    proved = [str(problem.site_ids[b]) for b in np.flatnonzero(problem.keep_fixed != given)]
    return Plan(problem.site_ids, keep, _assignment(problem, y), status, objective, bound,
                gap, seconds, label, outcomes[0].size, proved)


def free_cores(window_s: float | None = None) -> float | None:
    """Cores this process may use that are idle now, from ``/proc/stat`` (Linux).

    Parameters
    ----------
    window_s
        Sampling window (seconds; default ``settings.CPU_SAMPLE_S``).

    Returns
    -------
    float or None
        Idle cores (e.g. 1.0 on two cores with one busy); ``None`` where unknown.
    """
    try:
        allowed = {f"cpu{c}" for c in os.sched_getaffinity(0)}
    except (AttributeError, OSError):
        return None

    def sample() -> dict[str, tuple[int, int]]:
        out = {}
        with open("/proc/stat", encoding="ascii") as f:
            for line in f:
                name, *fields = line.split()
                if name in allowed:
                    ticks = [int(v) for v in fields[:8]]  # guest time is inside user
                    out[name] = (ticks[3] + ticks[4], sum(ticks))  # idle + iowait, all
        return out

    try:
        before = sample()
        time.sleep(settings.CPU_SAMPLE_S if window_s is None else window_s)
        after = sample()
    except (OSError, ValueError, IndexError):
        return None
    idle = 0.0
    for cpu, (idle0, total0) in before.items():
        idle1, total1 = after.get(cpu, (idle0, total0))
        idle += (idle1 - idle0) / (total1 - total0) if total1 > total0 else 1.0
    return idle if before else None


def _combine(branches: Sequence[tuple[int, int] | None], outcomes: list[_Outcome],
             solver: SolverSettings) -> tuple[_Outcome, float, float, str]:
    """The answer of parallel searches: best plan, bound, gap and status.

    Each branch's bound is the tightest of its searches' (-inf where one proved it
    infeasible); the answer's bound is the highest branch bound, its plan the best of
    all. It is OPTIMAL when every branch was solved or proved infeasible, or when the
    gap is within ``solver.relative_gap``.

    Raises
    ------
    InfeasibleError
        Every branch proved infeasible, or no search found a plan.
    """
    bounds: dict[object, float] = {}
    closed: dict[object, bool] = {}
    for branch, o in zip(branches, outcomes, strict=True):
        infeasible = o.reason in ("INFEASIBLE", "INFEASIBLE_OR_UNBOUNDED")
        bounds[branch] = min(bounds.get(branch, np.inf), -np.inf if infeasible else o.bound)
        closed[branch] = closed.get(branch, False) or infeasible or o.reason == "OPTIMAL"
    if all(b == -np.inf for b in bounds.values()):
        raise InfeasibleError("the scenario's rules cannot all hold")
    found = [o for o in outcomes if o.keep is not None]
    if not found:  # a search returns the start when it finds nothing better
        raise InfeasibleError(
            f"no plan found within the time limit of {solver.time_limit_s:g} s "
            f"({outcomes[0].reason}); raise [solver] time_limit_s or relax the rules",
            proven=False)
    best = max(found, key=lambda o: o.objective)
    bound = max(bounds.values())
    if all(closed.values()) and not np.isfinite(bound):
        bound = best.objective
    gap = (abs(bound - best.objective) / max(abs(best.objective), 1e-9)
           if np.isfinite(bound) else np.inf)
    status = "OPTIMAL" if all(closed.values()) or gap <= solver.relative_gap else "FEASIBLE"
    if status == "OPTIMAL":
        gap = min(gap, solver.relative_gap)
    return best, bound, gap, status


def _split_site(problem: Problem, solver: SolverSettings, pool: Any, workers: int,
                deadline: float) -> tuple[Problem, int | None]:
    """The site whose keep/dispose decision parallel searches split the plans on.

    The most valuable disposals decide the most: the candidates are the free sites of
    highest disposal value (``settings.SPLIT_CANDIDATES``), each holding at least
    ``settings.SPLIT_MIN_VALUE_SHARE`` of all free sites' disposal value. Each, in
    falling value, is probed by a short search (``settings.SPLIT_PROBE_S``) for plans
    that dispose of it, ``workers`` at a time; a site whose disposal is proved
    infeasible must be kept in every plan, and is fixed so. The first site not proved
    so is the split: one search looks at the plans that dispose of it, the other at
    those that keep it, and the better plan of the two is the answer, the higher of
    their bounds its bound.
    Probing stops when it has taken ``settings.SPLIT_PROBE_SHARE`` of the time.

    Returns
    -------
    problem, site
        The problem with the proved keeps fixed, and the split site's index (``None``
        when none was found).
    """
    p = problem
    free = p.keep_fixed == -1
    least = max(settings.SPLIT_MIN_VALUE_SHARE * float(p.disposal_value[free].clip(0).sum()),
                np.finfo(float).tiny)
    candidates = [int(b) for b in np.argsort(-p.disposal_value, kind="stable")
                  if free[b] and p.disposal_value[b] >= least]
    candidates = candidates[:settings.SPLIT_CANDIDATES]
    stop = time.time() + settings.SPLIT_PROBE_SHARE * solver.time_limit_s
    keep_fixed = p.keep_fixed.copy()
    while candidates and time.time() + settings.SPLIT_PROBE_S < min(stop, deadline):
        wave, candidates = candidates[:workers], candidates[workers:]
        reasons = list(pool.map(_probe, [dataclasses.replace(p, keep_fixed=keep_fixed)]
                                * len(wave), [solver] * len(wave), wave))
        for b, reason in zip(wave, reasons, strict=True):
            if reason.startswith("INFEASIBLE"):
                keep_fixed[b] = 1
            else:
                return dataclasses.replace(p, keep_fixed=keep_fixed), b
    return dataclasses.replace(p, keep_fixed=keep_fixed), None


def _with_site_fixed(problem: Problem, site: int, keep: int) -> Problem:
    """The problem with one site's decision fixed: 1 kept, 0 disposed of."""
    keep_fixed = problem.keep_fixed.copy()
    keep_fixed[site] = keep
    return dataclasses.replace(problem, keep_fixed=keep_fixed)


def _probe(problem: Problem, solver: SolverSettings, site: int) -> str:
    """Termination reason of a short search for plans that dispose of ``site``."""
    model = _Model(_with_site_fixed(problem, site, 0),
                   integer_coverage=solver.backend == "cpsat")
    result = model.solve(solver, time_limit_s=settings.SPLIT_PROBE_S, hint=False)
    return str(result.termination.reason.name)


#: Seconds kept back from the time limit for collecting the parallel searches' answers
#: and combining them, and for writing one search's answer as a plan.
_COLLECT_S = 1.0
_FINISH_S = 0.25

#: Seconds a MIP search may run past its time limit (HiGHS at 60 s on the demo, with
#: no neighbourhood search after it: 61.4 s).
_MIP_OVERRUN_S = 2.0


@dataclass
class _Outcome:
    reason: str
    objective: float
    bound: float
    keep: np.ndarray | None
    y: np.ndarray | None
    size: dict[str, int]


def _search(problem: Problem, solver: SolverSettings, deadline: float,
            branch: tuple[int, int] | None) -> _Outcome:
    """One MathOpt search, then :func:`improve` on its best plan when it is not optimal.

    Module level, so parallel processes can run it. ``branch`` (site, 0 or 1) limits
    the search to the plans that dispose of (0) or keep (1) the site. The search
    starts from :func:`feasible_start`; the MIP search has ``1 - solver.local_search``
    of the time left before ``deadline`` (:func:`time.time`, seconds), the
    neighbourhood search the rest.
    """
    if branch is not None:
        problem = _with_site_fixed(problem, *branch)
    start = feasible_start(problem, solver, deadline - time.time())
    left = deadline - time.time()
    model = _Model(problem, integer_coverage=solver.backend == "cpsat")
    # HiGHS can run on for a second or so past its limit: with no neighbourhood search
    # after it to absorb that, the MIP search stops short of the deadline
    mip_s = min(left * (1.0 - solver.local_search), left - _MIP_OVERRUN_S)
    result = model.solve(solver, time_limit_s=max(0.5, mip_s),
                         start=start)
    reason = result.termination.reason.name
    if not result.has_primal_feasible_solution():
        if reason.startswith("INFEASIBLE") or start is None:
            return _Outcome(reason, -np.inf, np.inf, None, None, model.size)
        keep, y = start
        bound = np.inf
    else:
        dual = float(result.termination.objective_bounds.dual_bound)
        bound = dual if np.isfinite(dual) else np.inf
        keep, y = model.plan(result)
        if reason == "OPTIMAL":
            return _Outcome(reason, plan_value(problem, keep, y), bound, keep, y, model.size)
        if start is not None and plan_value(problem, *start) > plan_value(problem, keep, y):
            keep, y = start
    if solver.local_search > 0:
        keep, y, _ = improve(problem, keep, y, solver, deadline - time.time())
    return _Outcome(reason, plan_value(problem, keep, y), bound, keep, y, model.size)


def feasible_start(problem: Problem, solver: SolverSettings, time_limit_s: float | None = None
                   ) -> tuple[np.ndarray, np.ndarray] | None:
    """A feasible plan to start from: :func:`greedy`, after :func:`repair` if needed.

    Parameters
    ----------
    problem
        The problem (``None`` is returned where services have no current site).
    solver
        Settings for the repair model.
    time_limit_s
        Seconds left for the repair model, when less than the settings' time limit.
    """
    if (problem.current < 0).any():
        return None
    start = greedy(problem)
    must_move = (problem.keep_fixed == 0).any() or (
        problem.barred is not None and problem.barred.any())
    if start is None and must_move:
        start = greedy(problem, repair(problem, solver, time_limit_s))
    return start


def _assignment(problem: Problem, y: np.ndarray) -> pd.DataFrame:
    rows = []
    for s in range(len(problem.service_ids)):
        ks = np.flatnonzero(problem.pair_service == s)
        values = y[ks]
        if problem.splittable[s]:
            values = np.where(values > SHARE_EPS, values, 0.0)
            values = values / values.sum()
            for k, v in zip(ks, values, strict=True):
                if v > 0:
                    rows.append((problem.service_ids[s], problem.site_ids[problem.pair_site[k]],
                                 float(v)))
        else:
            k = ks[int(values.argmax())]
            rows.append((problem.service_ids[s], problem.site_ids[problem.pair_site[k]], 1.0))
    return pd.DataFrame(rows, columns=["service_id", "site_id", "share"])


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


# --------------------------------------------------------------------------- the adapter


def walk_minutes_between(xy_a: np.ndarray, xy_b: np.ndarray) -> np.ndarray:
    """Walking minutes between points, crow-fly distance x circuity (for pruning).

    Parameters
    ----------
    xy_a, xy_b
        Arrays of shape (n, 2) and (m, 2), metres in EPSG:27700.

    Returns
    -------
    numpy.ndarray
        ``n x m`` minutes.
    """
    metres = np.hypot(xy_a[:, None, 0] - xy_b[None, :, 0], xy_a[:, None, 1] - xy_b[None, :, 1])
    return metres * settings.STRAIGHT_LINE_CIRCUITY / (settings.WALK_SPEED_KMH * 1000 / 60)


def check_names(estate: Estate, scenario: Scenario) -> None:
    """Check the sites, service types, owners and categories a scenario names.

    Parameters
    ----------
    estate
        The validated estate.
    scenario
        The scenario (its ``[status]``, ``[standards]``, ``[rules]`` and ``[caps]``).

    Raises
    ------
    InputError
        Every name the estate lacks, with the scenario file's line and the closest
        name it has; a site both retained and disposed of.
    """
    sites = estate.sites
    marked = dict(zip(sites["site_id"], sites["status"], strict=True))
    names = dict(zip(sites["site_id"], sites["name"], strict=True))
    types = sorted(set(estate.services["service_type"]))
    owners = sorted(set(sites["owner"]))
    problems = []
    sources = scenario.texts

    def at(value: str, key: str | None = None, table: str | None = None) -> str:
        return locate_value(sources, value, key, table)  # "colocation.toml line 12"

    def no_such_type(where: str, names: str, t: str) -> str:
        return (f"{where}: {names} service type {t!r}, which no service has"
                f"{suggest(t, types)}; types: {', '.join(types)}")

    for key, ids in (("retain", scenario.retain), ("dispose", scenario.dispose)):
        for sid in ids:
            if sid not in marked:
                problems.append(f"{at(sid, key, 'status')}: [status] {key} names site "
                                f"{sid!r}, which is not "
                                f"in the sites table{suggest(sid, marked)}; use the site_id "
                                "column of sites.csv")
    for sid in sorted(set(scenario.retain) & set(scenario.dispose)):
        problems.append(f"{at(sid)}: [status] names site {sid!r} in both retain and dispose; "
                        "keep it in one")
    for key, ids, other in (("dispose", scenario.dispose, "retain"),
                            ("retain", scenario.retain, "dispose")):
        for sid in ids:
            if marked.get(sid) == other:
                name = names[sid]
                problems.append(f"{at(sid, key, 'status')}: [status] {key} names site {sid!r} "
                                f"({name}), which the sites table marks status = {other} "
                                f"({estate.where('sites', [sid])}); drop it from {key}, or "
                                "clear its status in the sites table")
    for st in scenario.standards.values():
        if st.service_type not in types:
            problems.append(f"{locate(sources, '', f'standards.{st.service_type}')}: "
                            f"[standards.{st.service_type}] names a service type no service "
                            f"has{suggest(st.service_type, types)}; types: {', '.join(types)}")
    for pair in scenario.rules.incompatible:
        for t in pair:
            if t not in types:
                problems.append(no_such_type(at(t, "incompatible", "rules"),
                                             "[rules] incompatible names", t))
    categories = set(sites["benchmark"]) | _tm46_categories()
    for category, excluded in scenario.rules.not_hosted.items():
        if category not in categories:  # line_of finds it inline too: not_hosted = {...}
            problems.append(f"{locate(sources, category, 'rules.not_hosted')}: "
                            f"[rules.not_hosted] {category!r} is not a site benchmark category"
                            f"{suggest(category, categories)}; categories: "
                            f"{', '.join(sorted(categories))}")
        for t in excluded:
            if t not in types:
                problems.append(no_such_type(at(t, category, "rules.not_hosted"),
                                             f"[rules.not_hosted] {category} names", t))
    for owner in scenario.caps.min_sites_per_owner:
        if owner not in owners:
            problems.append(f"{at(owner)}: [caps.min_sites_per_owner] owner {owner!r} holds "
                            f"no site{suggest(owner, owners)}; owners: {', '.join(owners)}")
    if problems:
        raise InputError(problems)


def build_problem(estate: Estate, times: dict[str, TravelTimes], scenario: Scenario) -> Problem:
    """Turn an estate, its travel times and a scenario into a :class:`Problem`.

    Candidate hosts of each movable service are pruned to sites that are not forced
    out, may host its type (``[rules.not_hosted]``) and lie within
    ``[rules] max_move_minutes`` walk of its current site, keeping the nearest
    ``[rules] max_candidates`` of them besides its current site; an immovable
    service stays where it is. (Dropping candidates too small for a whole service
    was tried: it made HiGHS's search markedly worse on the demo, so capacity is
    left to the model.) A site over-occupied today keeps its current load as its capacity,
    so the status quo is always a feasible plan. A leasehold that cannot be vacated
    within the appraisal (``lease_end`` after the horizon) is kept.

    Parameters
    ----------
    estate
        The validated estate.
    times
        Travel times by mode, up to each mode's largest standard.
    scenario
        Standards, rules, caps and finance.

    Returns
    -------
    Problem

    Raises
    ------
    InputError
        Site ids, service types or owners in the scenario that the estate lacks.
    """
    check_names(estate, scenario)
    sites = estate.sites.reset_index(drop=True)
    services = estate.services.reset_index(drop=True)
    site_ids = sites["site_id"].to_numpy(dtype=object)
    index = {sid: i for i, sid in enumerate(site_ids)}
    types = sorted(set(services["service_type"]))
    type_code = {t: i for i, t in enumerate(types)}
    owners = sorted(set(sites["owner"]))
    owner_code = {o: i for i, o in enumerate(owners)}

    values = fin.disposal_values(sites, scenario.finance)
    keep_fixed = np.full(len(sites), -1, dtype=int)
    keep_fixed[(sites["status"] == "retain").to_numpy()] = 1
    keep_fixed[values["vacate_year"].to_numpy() > scenario.finance.horizon_years] = 1
    keep_fixed[[index[s] for s in scenario.retain]] = 1
    if scenario.retain_all:
        keep_fixed[:] = 1
    locked = keep_fixed == 1
    keep_fixed[(sites["status"] == "dispose").to_numpy()] = 0
    keep_fixed[[index[s] for s in scenario.dispose]] = 0
    seen = []
    last = scenario.finance.year_start(scenario.finance.horizon_years)
    for b in np.flatnonzero(locked & (keep_fixed == 0)):
        row = sites.iloc[b]
        if values["vacate_year"].iloc[b] > scenario.finance.horizon_years:
            seen.append(f"site {row['site_id']} ({row['name']}) is to be disposed of "
                        f"({_forced_by([row['site_id']], estate, scenario.texts)}), but its "
                        f"lease cannot be vacated before {row['lease_end'].date()}, after the "
                        f"appraisal's last year (from {last}; [finance] horizon_years"
                        f"{_at(scenario.texts, 'horizon_years', 'finance')}); extend "
                        "horizon_years or drop the disposal")

    current = services["site_id"].map(index).to_numpy(dtype=int)
    area = services["area_m2"].to_numpy(dtype=float)
    load = np.bincount(current, weights=area, minlength=len(sites))
    capacity = np.maximum(sites["capacity_m2"].to_numpy(dtype=float), load)
    service_type = services["service_type"].map(type_code).to_numpy(dtype=int)
    movable = services["movable"].to_numpy(dtype=bool)
    move_cost = fin.move_costs(services, scenario.finance)
    xy = np.column_stack([sites.geometry.x, sites.geometry.y])
    apart = walk_minutes_between(xy, xy)
    near = apart <= scenario.rules.max_move_minutes
    banned = np.zeros((len(types), len(sites)), dtype=bool)
    benchmark = sites["benchmark"].to_numpy()
    for category, banned_types in scenario.rules.not_hosted.items():
        for name in banned_types:
            banned[type_code[name], benchmark == category] = True
    barred = banned[service_type, current]  # its own site may not host it: it must move
    pair_s, pair_b, pair_c = [], [], []
    for s in range(len(services)):
        c = current[s]
        stay = [c] if keep_fixed[c] != 0 and not barred[s] else []
        if not movable[s]:  # stays put; none left if its site is forced out or barred
            hosts = np.array(stay, dtype=int)
        else:
            ok = near[c] & (keep_fixed != 0) & ~banned[service_type[s]]
            ok[c] = False
            others = np.flatnonzero(ok)
            others = others[np.argsort(apart[c, others], kind="stable")]
            others = others[:scenario.rules.max_candidates]
            hosts = np.sort(np.r_[others, stay].astype(int))
        pair_s += [s] * len(hosts)
        pair_b += hosts.tolist()
        pair_c += [0.0 if b == c else float(move_cost[s]) for b in hosts]
    pair_service = np.array(pair_s, dtype=int)
    pair_site = np.array(pair_b, dtype=int)

    offering = sites_offering(estate)
    rules = []
    for st in scenario.standards.values():
        code = type_code[st.service_type]
        hosts = np.unique(pair_site[service_type[pair_service] == code])
        minutes = times[st.mode].minutes
        within: np.ndarray = minutes[:, hosts] <= st.max_minutes
        today = np.asarray((minutes[:, offering[st.service_type]] <= st.max_minutes).any(axis=1))
        demand = estate.zones[st.demand].to_numpy(dtype=float)
        zone_ids = estate.zones["zone_id"].to_numpy()
        groups: dict[bytes, list[int]] = defaultdict(list)
        for z in range(len(zone_ids)):
            if within[z].any() or today[z]:
                groups[np.packbits(within[z]).tobytes()].append(z)
        members = list(groups.values())
        rules.append(AccessRule(
            service_type=code, rule=st.rule, coverage=float(st.coverage or 0.0),
            group_sites=[hosts[within[zs[0]]] for zs in members],
            group_demand=np.array([demand[zs].sum() for zs in members]),
            group_required=np.array([bool(today[zs].any()) for zs in members]),
            group_zones=[[str(zone_ids[z]) for z in zs] for zs in members],
            total_demand=float(demand.sum()), max_minutes=st.max_minutes, demand=st.demand))
    conflicts = [(type_code[a], type_code[b]) for a, b in scenario.rules.incompatible]
    return Problem(
        site_ids=site_ids, service_ids=services["service_id"].to_numpy(dtype=object),
        disposal_value=values["npv_gbp"].to_numpy(dtype=float), capacity=capacity,
        keep_fixed=keep_fixed, area=area, splittable=services["splittable"].to_numpy(bool),
        current=current, service_type=service_type, type_names=types,
        pair_service=pair_service, pair_site=pair_site, pair_cost=np.array(pair_c),
        conflicts=conflicts, rules=rules, max_one_off_gbp=scenario.caps.max_one_off_gbp,
        max_disposals=scenario.caps.max_disposals,
        site_owner=sites["owner"].map(owner_code).to_numpy(dtype=int), owner_names=owners,
        min_sites_per_owner={owner_code[o]: n for o, n in
                             scenario.caps.min_sites_per_owner.items()},
        seen_conflicts=seen, movable=movable, barred=barred)


def _tm46_categories() -> set[str]:
    return set(tm46_benchmarks().index)


# --------------------------------------------------------------------------- explanations


def _why_not(problem: Problem, b: int, names: dict[str, str]) -> str:
    """``site S1 (Name)``, with ``; forced out`` inside the brackets where it must go."""
    sid = str(problem.site_ids[b])
    notes = [names[sid]] if sid in names else []
    if problem.keep_fixed[b] == 0:
        notes.append("forced out")
    return f"site {sid}" + (f" ({'; '.join(notes)})" if notes else "")


def _site_list(problem: Problem, sites: Sequence[int], names: dict[str, str]) -> str:
    """The first four sites as :func:`_why_not` names them, then ``and N more``."""
    named = [_why_not(problem, int(b), names) for b in sites] or ["no site"]
    if len(named) > 4 or len(named) == 1:
        return shortlist(named, limit=4)
    return f"{', '.join(named[:-1])} and {named[-1]}"


def _forced_by(ids: list[str], estate: Estate | None, sources: Sources) -> str:
    """Who forces sites out, for messages.

    ``[status] dispose (x.toml line 5): S1; status = dispose in sites.csv row 9: S2``:
    a site not so marked in the register is forced out by the scenario, and one so
    marked is named under the scenario too where its file lists it.
    """
    if estate is None:
        return f"forced out: {shortlist(ids)}"
    status = dict(zip(estate.sites["site_id"], estate.sites["status"], strict=True))
    register = [i for i in ids if status.get(i) == "dispose"]
    lines = {i: locate_value(sources, i, "dispose", "status") for i in ids}
    listed = [i for i in ids if i not in register or " line " in lines[i]]
    parts = [f"[status] dispose ({lines[listed[0]]}): {shortlist(listed)}"] if listed else []
    if register:
        parts.append(f"status = dispose in {estate.where('sites', register)}: "
                     f"{shortlist(register)}")
    return "; ".join(parts)


def _in_register(estate: Estate | None, role: str, ids: list[str], before: str = " in ",
                 after: str = "") -> str:
    """Where records are in the register (``" in sites.csv row 4"``); empty if unknown."""
    return "" if estate is None else f"{before}{estate.where(role, ids)}{after}"


def _at(sources: Sources, key: str, table: str | None = None) -> str:
    """`` (colocation.toml line 12)`` where the scenario sets ``key``, else ``""``."""
    where = locate(sources, key, table)
    return f" ({where})" if " line " in where else ""


def precheck(problem: Problem, estate: Estate | None = None, sources: Sources = ()
             ) -> list[str]:
    """Conflicts that can be seen before solving, in an estates officer's words.

    Parameters
    ----------
    problem
        The problem.
    estate
        The estate, for site and service names in the messages.
    sources
        The scenario's files (:attr:`Scenario.texts`), to say where each rule is set.

    Returns
    -------
    list of str
        One sentence per conflict; empty when none is visible.
    """
    p = problem
    names = ({} if estate is None else
             dict(zip(estate.sites["site_id"], estate.sites["name"], strict=True)))
    out = list(p.seen_conflicts)
    placed = np.bincount(p.pair_service, minlength=len(p.service_ids))
    for s in np.flatnonzero(placed == 0):
        c = p.current[s]
        label = f"service {p.service_ids[s]} ({p.type_names[p.service_type[s]]})"
        marked = _in_register(estate, "services", [str(p.service_ids[s])])
        barred = p.barred is not None and p.barred[s]
        if c < 0:
            out.append(f"{label} has no candidate site")
        elif p.keep_fixed[c] == 0 or barred:
            why = (f"no other site within [rules] max_move_minutes"
                   f"{_at(sources, 'max_move_minutes', 'rules')} may host it"
                   if p.movable is not None and p.movable[s] else
                   f"it is immovable (movable = false{marked})" if p.movable is not None else
                   "it is immovable (movable = false) or no other site within reach may host "
                   "it")
            where = _why_not(p, int(c), names)
            if barred and p.keep_fixed[c] != 0:
                category = ("" if estate is None else
                            str(estate.sites["benchmark"].iloc[int(c)]))
                where += (f", where [rules] not_hosted"
                          f"{_at(sources, category, 'rules.not_hosted') if category else ''} "
                          f"forbids {p.type_names[p.service_type[s]]}"
                          + (f" in {category!r} sites" if category else ""))
            out.append(f"{label} cannot be placed: it is at {where}, and {why}")
        else:
            out.append(f"{label} has no site it may use")
    for rule in p.rules:
        t = p.type_names[rule.service_type]
        if rule.rule == "no_loss":
            for g in np.flatnonzero(rule.group_required):
                sites = [b for b in rule.group_sites[g] if p.keep_fixed[b] != 0]
                if sites:
                    continue
                today = [b for b in range(p.n_sites) if b in set(p.current[
                    p.service_type == rule.service_type]) and p.keep_fixed[b] == 0]
                zones = rule.group_zones[g]
                at = _at(sources, "", f"standards.{t}")
                if today:
                    only = _site_list(p, today, names)
                    out.append(f"no_loss for {t}{at} cannot hold: zone(s) {shortlist(zones)} are "
                               f"within {rule.max_minutes:g} minutes only of {only}")
                else:
                    out.append(f"no_loss for {t}{at} cannot hold: zone(s) {shortlist(zones)} can "
                               f"reach no site that may host {t} within {rule.max_minutes:g} "
                               "minutes")
        else:
            reachable = sum(d for d, sites in zip(rule.group_demand, rule.group_sites,
                                                  strict=True) if len(sites))
            best = reachable / rule.total_demand if rule.total_demand else 1.0
            if best + 1e-12 < rule.coverage:
                out.append(f"coverage for {t}{_at(sources, 'coverage', f'standards.{t}')} "
                           f"cannot reach {_pct(rule.coverage)}: even with {t} in "
                           f"every site that may host it, only {_pct(best, down=True)} of the "
                           "demand is "
                           f"within {rule.max_minutes:g} minutes")
    free = p.keep_fixed != 0
    if p.area.sum() > p.capacity[free].sum() + 1e-6:
        out.append(f"the services need {p.area.sum():,.0f} m2 but the sites not forced out offer "
                   f"only {p.capacity[free].sum():,.0f} m2")
    if p.site_owner is not None:
        for owner, minimum in p.min_sites_per_owner.items():
            held = p.site_owner == owner
            available = int((free & held).sum())
            at = _at(sources, p.owner_names[owner], "caps.min_sites_per_owner")
            if int(held.sum()) < minimum:
                n = int(held.sum())
                out.append(f"{p.owner_names[owner]} holds only {n} site{'s' * (n != 1)} but "
                           f"[caps.min_sites_per_owner]{at} asks it to keep {minimum}; lower "
                           "the minimum")
            elif available < minimum:
                forced = [str(i) for i in p.site_ids[held & ~free]]
                out.append(f"{p.owner_names[owner]} must keep at least {minimum} sites{at} but "
                           f"only {available} of its {int(held.sum())} are not forced out "
                           f"({_forced_by(forced, estate, sources)}); lower the minimum or "
                           "dispose of fewer")
    if p.max_disposals is not None and (p.keep_fixed == 0).sum() > p.max_disposals:
        forced = [str(i) for i in p.site_ids[p.keep_fixed == 0]]
        out.append(f"{len(forced)} sites are forced out ({_forced_by(forced, estate, sources)}) "
                   f"but [caps] max_disposals = {p.max_disposals}"
                   f"{_at(sources, 'max_disposals', 'caps')}; raise the cap or dispose "
                   "of fewer")
    return out


#: The heading of the conflicts seen before solving.
_AS_THEY_STAND = "as the rules stand:"


def _pct(share: float, *, down: bool = False) -> str:
    """A share as a percentage with the decimals it needs (``99.5%``, ``80%``).

    ``down`` rounds down to a tenth of a percent, so that a share said to be reached
    can be asked for.
    """
    value = share * 100.0
    if down:
        value = math.floor(value * 10.0 + 1e-9) / 10.0
    return f"{value:.2f}".rstrip("0").rstrip(".") + "%"


def _up(value: float) -> int:
    """A shortfall rounded up to a whole unit, so that the fix it suggests is enough."""
    return max(1, math.ceil(value - 1e-6))


def explain(problem: Problem, solver: SolverSettings, estate: Estate | None = None,
            sources: Sources = ()) -> tuple[list[str], str]:
    """Why a problem is infeasible: the fewest rules that must give way, from an elastic model.

    Every access, capacity, placement, incompatibility and cap row gets a slack
    variable and an indicator that it gives way; the model minimises the number of
    rows that give way (a service left unplaced counts as ten), then, in a second
    solve, their shortfall, and each row that gives way is reported. The search has
    the solver's time limit, and at least ``settings.EXPLAIN_MIN_S`` (the second
    solve at least half that).

    Parameters
    ----------
    problem
        A problem the solver proved infeasible.
    solver
        Solver settings (the elastic model is solved with the same backend, or HiGHS
        for CP-SAT).
    estate
        For names in the messages.
    sources
        The scenario's files (:attr:`Scenario.texts`), to say where each rule is set.

    Returns
    -------
    lines
        One sentence per rule that gives way, shortfalls rounded up.
    heading
        What the lines are: ``"as the rules stand, the fewest that must give way:"``,
        or, where time ran out, that a smaller set or smaller shortfalls may exist.
    """
    seen = precheck(problem, estate, sources)
    if seen:
        return seen, _AS_THEY_STAND
    backend = solver.backend if solver.backend != "cpsat" else "highs"
    model = _Model(problem, elastic=True)
    limit = max(solver.time_limit_s, settings.EXPLAIN_MIN_S)
    exact = SolverSettings(backend=backend, time_limit_s=limit, threads=solver.threads,
                           seed=solver.seed, relative_gap=0.0)
    deadline = time.time() + limit
    result = model.solve(exact)
    fewest = result.termination.reason.name == "OPTIMAL"
    least_found = False
    if result.has_primal_feasible_solution():  # at least half the floor for the shortfalls
        model.least_slack(result.objective_value())
        least = model.solve(exact, values=result.variable_values(), time_limit_s=max(
            deadline - time.time(), settings.EXPLAIN_MIN_S / 2))
        if least.has_primal_feasible_solution():
            result = least
            least_found = least.termination.reason.name == "OPTIMAL"
    if not fewest:
        heading = ("as the rules stand, these give way (the fewest found in the time allowed; "
                   "a smaller set may exist):")
    elif not least_found:
        heading = ("as the rules stand, the fewest that must give way (each shortfall is "
                   "enough; the search for the least ran out of time):")
    else:
        heading = "as the rules stand, the fewest that must give way:"
    if not result.has_primal_feasible_solution():
        return [f"the search for the rules that give way did not finish within {limit:g} s"
                ], heading
    p = problem
    names = ({} if estate is None else
             dict(zip(estate.sites["site_id"], estate.sites["name"], strict=True)))
    out = []
    values = result.variable_values([v for v, *_ in model.slacks])
    for (_, _, kind, key, _), value in zip(model.slacks, values, strict=True):
        if value <= 1e-6:
            continue
        if kind == "no_loss":
            r_index, g = key
            rule = p.rules[r_index]
            t = p.type_names[rule.service_type]
            listed = _site_list(p, rule.group_sites[g], names)
            out.append(f"no_loss for {t}{_at(sources, '', f'standards.{t}')} cannot hold with "
                       "the other rules: zone(s) "
                       f"{shortlist(rule.group_zones[g])} are within {rule.max_minutes:g} minutes "
                       f"only of {listed}")
        elif kind == "coverage":
            rule = p.rules[int(key)]
            t = p.type_names[rule.service_type]
            short = _up(value)
            reached = (rule.coverage * rule.total_demand - short) / rule.total_demand
            out.append(f"coverage for {t}{_at(sources, 'coverage', f'standards.{t}')} cannot "
                       f"reach {_pct(rule.coverage)} with the other rules: "
                       f"{_pct(max(reached, 0.0), down=True)} "
                       f"of {rule.demand} within {rule.max_minutes:g} minutes, {short:,} "
                       "people short")
        elif kind == "capacity":
            b = int(key)
            out.append(f"{_why_not(p, b, names)} would need {_up(value):,} m2 more than its "
                       f"capacity of {p.capacity[b]:,.0f} m2"
                       f"{_in_register(estate, 'sites', [str(p.site_ids[b])], ' (', ')')}")
        elif kind == "unplaced":
            s = int(key)
            out.append(f"service {p.service_ids[s]} ({p.type_names[p.service_type[s]]}) has no "
                       "site left that satisfies the rules")
        elif kind == "one_off":
            out.append(f"[caps] max_one_off_gbp = {p.max_one_off_gbp:,.0f}"
                       f"{_at(sources, 'max_one_off_gbp', 'caps')} is too low by "
                       f"£{_up(value):,} for the moves the other rules require")
        elif kind == "disposals":
            out.append(f"[caps] max_disposals = {p.max_disposals}"
                       f"{_at(sources, 'max_disposals', 'caps')} is too low by {_up(value)}")
        elif kind == "owner":
            owner = p.owner_names[int(key)]
            out.append(f"{owner} cannot keep its minimum of {p.min_sites_per_owner[int(key)]} "
                       f"sites{_at(sources, owner, 'caps.min_sites_per_owner')} (short by "
                       f"{_up(value)})")
        elif kind == "conflict":
            t1, t2, b = key
            out.append(f"{p.type_names[t1]} and {p.type_names[t2]} would have to share "
                       f"{_why_not(p, int(b), names)}, which [rules] incompatible"
                       f"{_at(sources, 'incompatible', 'rules')} forbids")
    if not out:
        return ["the solver reported the rules infeasible but no single rule gives way"], heading
    return out, heading


def optimise(estate: Estate, times: dict[str, TravelTimes], scenario: Scenario) -> Plan:
    """Build, pre-check and solve a scenario; explain it when it cannot hold.

    Parameters
    ----------
    estate, times, scenario
        As for :func:`build_problem`.

    Returns
    -------
    Plan
        Still to be verified with :func:`tp_assets.check.check_plan`.

    Raises
    ------
    InfeasibleError
        In the user's words: the changes any one of which would let every other rule
        hold (:func:`_culprits`), then, as the rules stand, the conflicts seen before
        solving (:func:`precheck`) or the fewest rules that must give way
        (:func:`explain`).
    """
    problem = build_problem(estate, times, scenario)
    seen = precheck(problem, estate, scenario.texts)
    if seen:
        changes, untried = _culprits(estate, times, scenario, problem)
        reasons, stand = seen, _AS_THEY_STAND
    else:
        try:
            return solve(problem, scenario.solver)
        except InfeasibleError as exc:
            if not exc.proven:
                raise
        changes, untried, (reasons, stand) = _explain_both(estate, times, scenario, problem)
    lines = [f"scenario {scenario.name!r} cannot hold all its rules:"]
    if changes:
        lines += ["  any one of these changes would let every other rule hold:",
                  *(f"  - {line}" for line in changes)]
    elif untried:
        lines.append("  no single change tried would let every other rule hold")
    if untried:
        lines.append(f"  ({untried})")
    lines += [f"  {stand}", *(f"  - {line}" for line in reasons)]
    raise InfeasibleError("\n".join(lines)) from None


def _explain_both(estate: Estate, times: dict[str, TravelTimes], scenario: Scenario,
                  problem: Problem) -> tuple[list[str], str, tuple[list[str], str]]:
    """:func:`_culprits` and :func:`explain` of a solver-proven conflict.

    Where a second core is idle the elastic model is solved in a child process while
    the relaxed rules are tried here (on the demo about 45 s and 40 s, one after the
    other); otherwise one after the other.
    """
    idle = free_cores()
    if idle is None or idle < 1.5:
        changes, untried = _culprits(estate, times, scenario, problem)
        return changes, untried, explain(problem, scenario.solver, estate, scenario.texts)
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        elastic = pool.submit(explain, problem, scenario.solver, estate, scenario.texts)
        changes, untried = _culprits(estate, times, scenario, problem)
        return changes, untried, elastic.result()


@dataclass
class _Relaxation:
    """The scenario with one rule relaxed, and the change it names when a plan exists.

    ``says(problem, share, worth)`` words the change from the relaxed problem and the
    plan found; with ``measure``, the plan is first improved by :func:`_least` (the
    least largest, or with ``total`` the least total, ``measure(problem)`` over the
    pairs it uses, at least ``floor``), whose value is ``worth``.
    """

    estate: Estate
    scenario: Scenario
    says: Callable[[Problem, np.ndarray, float], str]
    forced: bool = False  # a forced disposal kept: tried even with no new candidate site
    measure: Callable[[Problem], np.ndarray] | None = None
    floor: float = 0.0
    total: bool = False


def _culprits(estate: Estate, times: dict[str, TravelTimes], scenario: Scenario,
              problem: Problem) -> tuple[list[str], str]:
    """The rules that alone stop the others holding: with one relaxed, all hold.

    These are the rules that remove candidate sites before the model is built, so
    the elastic model of :func:`explain` cannot relax them. Each relaxation of
    :func:`_relaxations` is tried on its own, the others as they are, for at most
    ``settings.EXPLAIN_TRY_S``, and only when it gives some service a candidate site
    that ``problem`` (the scenario's own) lacks or keeps a forced disposal; a plan
    found (the greedy start, else a short search) names it.

    Returns
    -------
    changes
        One sentence per change that would let every other rule hold.
    untried
        Which forced disposals were not tried, or ``""``.
    """
    relaxations, untried = _relaxations(estate, scenario)
    quick = dataclasses.replace(  # as explain(): CP-SAT cannot take the continuous shares
        scenario.solver, threads=1, relative_gap=1.0, time_limit_s=settings.EXPLAIN_TRY_S,
        backend="highs" if scenario.solver.backend == "cpsat" else scenario.solver.backend)
    exact = dataclasses.replace(quick, relative_gap=0.0)
    known = set(zip(problem.pair_service.tolist(), problem.pair_site.tolist(), strict=True))
    out = []
    for r in relaxations:
        relaxed = build_problem(r.estate, times, r.scenario)
        new = set(zip(relaxed.pair_service.tolist(), relaxed.pair_site.tolist(),
                      strict=True)) - known
        if not (r.forced or new) or precheck(relaxed, r.estate):
            continue
        deadline = time.time() + settings.EXPLAIN_TRY_S
        found = feasible_start(relaxed, quick)  # EXPLAIN_TRY_S of search
        left = deadline - time.time()
        if found is None and left > 0.5:
            model = _Model(relaxed)
            result = model.solve(quick, time_limit_s=left, hint=False)
            if result.has_primal_feasible_solution():
                found = model.plan(result)
        if found is None:
            continue
        share, worth = found[1], 0.0
        if r.measure is not None:
            share, worth = _least(relaxed, found, r.measure(relaxed), r.floor, exact,
                                  deadline - time.time(), total=r.total)
        out.append(r.says(relaxed, share, worth))
    return out, untried


def _relaxations(estate: Estate, scenario: Scenario) -> tuple[list[_Relaxation], str]:
    """The relaxations :func:`_culprits` tries, and the forced disposals left out.

    Every site forced out (``[status] dispose`` or ``status = dispose``; the
    ``settings.EXPLAIN_MAX_FORCED`` hosting the most space) kept; ``[rules]
    max_move_minutes`` and ``max_candidates`` lifted (naming the least limit a plan
    needs); each ``[rules] not_hosted`` entry dropped; the services marked
    ``movable = false`` let move (naming the fewest that must).
    """
    sites, services = estate.sites, estate.services
    names = dict(zip(sites["site_id"], sites["name"], strict=True))
    rules = scenario.rules
    registered = list(sites.loc[sites["status"] == "dispose", "site_id"])
    forced = list(dict.fromkeys([*scenario.dispose, *registered]))
    hosted = services.groupby("site_id")["area_m2"].sum()
    forced.sort(key=lambda sid: -float(hosted.get(sid, 0.0)))  # stable: ties as written
    tried, skipped = forced[:settings.EXPLAIN_MAX_FORCED], forced[settings.EXPLAIN_MAX_FORCED:]
    untried = (f"{len(skipped)} more forced disposal{'s' * (len(skipped) != 1)} not tried: "
               f"{shortlist([str(s) for s in skipped])}" if skipped else "")
    out = []
    for sid in tried:
        kept = estate
        if sid in registered:
            status = sites["status"].where(sites["site_id"] != sid, "candidate")
            kept = dataclasses.replace(estate, sites=sites.assign(status=status))
        by = ([f"[status] dispose ({locate_value(scenario.texts, sid, 'dispose', 'status')})"]
              * (sid in scenario.dispose)
              + [f"status = dispose in {estate.where('sites', [sid])}"] * (sid in registered))
        text = (f"keeping site {sid} ({names[sid]}), which {' and '.join(by)} "
                f"force{'s' * (len(by) == 1)} out")
        out.append(_Relaxation(kept, dataclasses.replace(scenario, dispose=tuple(
            d for d in scenario.dispose if d != sid)), lambda *_, text=text: text, forced=True))

    def where(key: str, default: object, entry: str | None = None) -> str:
        found = (locate(scenario.texts, entry, f"rules.{key}") if entry
                 else locate(scenario.texts, key, "rules"))
        if " line " not in found and getattr(rules, key) == default:
            return f"the default; not set in {found} or what it extends"
        return found

    def relaxed(**changes: Any) -> Scenario:
        return dataclasses.replace(scenario, rules=dataclasses.replace(rules, **changes))

    xy = np.column_stack([sites.geometry.x, sites.geometry.y])
    apart = walk_minutes_between(xy, xy)

    def minutes(p: Problem) -> np.ndarray:
        return apart[p.current[p.pair_service], p.pair_site]

    def rank(p: Problem) -> np.ndarray:  # 1 = nearest other site, ties as build_problem
        away = np.flatnonzero(p.pair_site != p.current[p.pair_service])
        order = away[np.lexsort((away, minutes(p)[away], p.pair_service[away]))]
        first = np.searchsorted(p.pair_service[order], p.pair_service[order])
        out = np.zeros(len(p.pair_service))
        out[order] = np.arange(len(order)) - first + 1
        return out

    if np.isfinite(rules.max_move_minutes):
        at = where("max_move_minutes", settings.MAX_MOVE_MINUTES)
        out.append(_Relaxation(
            estate, relaxed(max_move_minutes=np.inf), lambda _p, _s, top: (
                f"raising [rules] max_move_minutes from {rules.max_move_minutes:g} to "
                f"{math.ceil(top - 1e-9):g} ({at})"),
            measure=minutes, floor=rules.max_move_minutes))
    at_candidates = where("max_candidates", settings.MAX_CANDIDATES)
    out.append(_Relaxation(
        estate, relaxed(max_candidates=len(sites)), lambda _p, _s, top: (
            f"raising [rules] max_candidates from {rules.max_candidates} to {round(top)} "
            f"({at_candidates})"),
        measure=rank, floor=rules.max_candidates))
    for category, banned in rules.not_hosted.items():
        for service_type in banned:
            rest = {c: tuple(t for t in ts if c != category or t != service_type)
                    for c, ts in rules.not_hosted.items()}
            text = (f"allowing {service_type} in {category!r} sites ([rules] not_hosted, "
                    f"{where('not_hosted', {}, category)})")
            out.append(_Relaxation(estate, relaxed(not_hosted=rest),
                                   lambda *_, text=text: text))
    fixed = ~services["movable"].astype(bool).to_numpy()
    if fixed.any():
        def moves(p: Problem) -> np.ndarray:  # 1 for a pair moving a fixed service away
            return ((p.pair_site != p.current[p.pair_service])
                    & fixed[p.pair_service]).astype(float)

        def moved(p: Problem, share: np.ndarray, _: float) -> str:
            ids = [str(p.service_ids[s]) for s in np.unique(p.pair_service[
                (share > 1e-9) & (moves(p) > 0)])]
            return (f"letting {shortlist(ids)} move (marked movable = false in "
                    f"{estate.where('services', ids)})")

        out.append(_Relaxation(dataclasses.replace(estate, services=services.assign(
            movable=True)), scenario, moved, measure=moves, total=True))
    return out, untried


def _least(problem: Problem, found: tuple[np.ndarray, np.ndarray], measure: np.ndarray,
           floor: float, solver: SolverSettings, time_limit_s: float, *, total: bool = False
           ) -> tuple[np.ndarray, float]:
    """A plan whose largest ``measure`` over the pairs it uses is least (at least ``floor``).

    With ``total``, the plan whose sum of ``measure`` over the pairs it uses is least
    instead. ``found`` is a feasible plan; a search of at most ``time_limit_s`` (at
    least 1 s) looks for a better one. Returns the share per pair of the better, and
    its largest (or total) measure.
    """
    def worth(share: np.ndarray) -> float:
        used = measure[share > 1e-9]
        return float(used.sum()) if total else max(float(used.max(initial=0.0)), floor)

    model = _Model(problem)
    m = model.model
    uses = []
    for k in np.flatnonzero(measure > floor):
        used = model.y[k]
        if problem.splittable[problem.pair_service[k]]:  # any share of it counts
            used = m.add_binary_variable()
            m.add_linear_constraint(model.y[k] <= used)
        uses.append(float(measure[k]) * used)
    best = found[1], worth(found[1])
    if total:
        m.minimize(model.mo.fast_sum(uses))
    else:
        top = m.add_variable(lb=floor, ub=best[1])
        for use in uses:
            m.add_linear_constraint(top >= use)
        m.minimize(top)
    result = model.solve(solver, time_limit_s=max(1.0, time_limit_s), start=found)
    if result.has_primal_feasible_solution():
        share = model.plan(result)[1]
        if worth(share) < best[1]:
            return share, worth(share)
    return best
