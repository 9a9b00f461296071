"""The MathOpt model of a :class:`~tp_assets.optimise.problem.Problem`: the only OR-Tools import.

OR-Tools is imported when a model is built or solved, never when this module is.
"""

from __future__ import annotations

import contextlib
import datetime
import os
import sys
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import numpy as np

from tp_assets.optimise.problem import OptionRow, Problem, clean_shares, minimal_groups
from tp_assets.scenario import SolverSettings


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


class Model:
    """MathOpt model of a :class:`Problem`, optionally with elastic slack on its rules.

    The elastic model gives every rule's row a slack, bounded by what the row could
    ever need, and a binary indicator that the row gives way; it minimises the number
    of rows that give way (:data:`_UNPLACED_WEIGHT` for a service left unplaced);
    :meth:`least_slack` then finds the least slack among the smallest sets.
    """

    def __init__(self, problem: Problem, *, elastic: bool = False,
                 integer_coverage: bool = False, relaxed: bool = False):
        """Build the model.

        ``integer_coverage`` makes coverage indicators binary (CP-SAT); ``relaxed``
        makes every variable continuous (the linear relaxation).
        """
        from ortools.math_opt.python import mathopt

        self.mo = mathopt
        self.p = p = problem
        self.model = m = mathopt.Model(name="tp-assets")
        self.elastic = elastic
        #: (slack, gives-way indicator, kind, key, largest slack the row can need)
        self.slacks: list[tuple[Any, Any, str, Any, float]] = []
        binary = ((lambda name: m.add_variable(lb=0.0, ub=1.0, name=name)) if relaxed
                  else (lambda name: m.add_binary_variable(name=name)))
        self.x = [binary(f"keep[{p.site_ids[b]}]") for b in range(p.n_sites)]
        for b, fixed in enumerate(p.keep_fixed):
            if fixed >= 0:
                self.x[b].lower_bound = self.x[b].upper_bound = float(fixed)
        self.y = []
        for s, b in zip(p.pair_service, p.pair_site, strict=True):
            name = f"place[{p.service_ids[s]},{p.site_ids[b]}]"
            if p.splittable[s]:
                self.y.append(m.add_variable(lb=0.0, ub=1.0, name=name))
            else:
                self.y.append(binary(name))
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
            h = binary(f"hosts[{p.type_names[t]},{p.site_ids[b]}]")
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
        self.z: list[Any] = []
        #: the option rows' constraints, each as ``... <= rhs`` (a ``>=`` row negated)
        self.option_rows: list[Any] = []
        options = p.coupled_options
        option_value = 0.0
        if options is not None:
            self.z = [binary(f"measures[{p.site_ids[b]},{ids}@{year}]")
                      for b, ids, year in zip(options.site, options.measures,
                                              options.fit_year, strict=True)]
            for b in np.unique(options.site):  # at most one option, on a kept site
                at = np.flatnonzero(options.site == b)
                m.add_linear_constraint(fast_sum(self.z[k] for k in at) <= self.x[int(b)])
            for r_index, row in enumerate(options.rows):
                expr = _row_expr(row, self.z, self.x)
                if elastic:  # keyed by the row's index in options.rows
                    most = float(np.abs(row.option_coef).sum() + np.abs(row.site_coef).sum()
                                 + abs(row.rhs))
                    slack = self._slack(row.kind, r_index, most)
                    expr = expr - slack if row.sense == "<=" else expr + slack
                if row.sense == "<=":
                    self.option_rows.append(m.add_linear_constraint(expr <= row.rhs))
                else:
                    self.option_rows.append(m.add_linear_constraint(-expr <= -row.rhs))
            option_value = fast_sum(float(v) * z for v, z in zip(options.value, self.z,
                                                                   strict=True) if v != 0.0)
        if elastic:  # fewest rows giving way (then least_slack())
            self.gives_way = fast_sum((_UNPLACED_WEIGHT if kind == "unplaced" else 1.0) * gives
                                      for _, gives, kind, _, _ in self.slacks)
            m.minimize(self.gives_way)
        else:
            value = fast_sum(float(p.disposal_value[b]) * (1.0 - self.x[b])
                             for b in range(p.n_sites) if p.disposal_value[b] != 0.0)
            base = 0.0 if p.base_value is None else float(p.base_value.sum())
            m.maximize(value - spend + option_value + base)
        self.size = {"variables": len(self.x) + len(self.y) + len(self.h) + len(self.z),
                     "keep_variables": len(self.x), "placement_variables": len(self.y)}
        if self.z:
            self.size["measure_variables"] = len(self.z)

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

    def taken(self, result: Any) -> np.ndarray:
        """Indices of the options a solved model takes (none where the model has none)."""
        if not self.z:
            return np.zeros(0, dtype=int)
        return np.flatnonzero(np.asarray(result.variable_values(self.z)) > 0.5)

    def row_prices(self) -> np.ndarray | None:
        """The option rows' prices in the linear relaxation (GBP per unit of each row).

        Solves this model (built ``relaxed``) as a linear programme; ``None`` where it
        has no optimum (the rows cannot hold even relaxed).
        """
        params = self.mo.SolveParameters(random_seed=0)
        with _native_stdout_silenced():
            result = self.mo.solve(self.model, self.mo.SolverType.HIGHS, params=params)
        if reason(result) != "OPTIMAL":
            return None
        return np.maximum(np.asarray(result.dual_values(self.option_rows), dtype=float), 0.0)

    def hint(self, start: tuple[np.ndarray, np.ndarray] | None,
             solver: SolverSettings | None = None) -> Any:
        """A solution hint: ``start`` (keep flags, pair shares), else the status quo.

        Where the model decides measures, the options :func:`choose_options` takes for
        the hinted keep flags are hinted with them (none where it finds no choice).
        """
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
        if self.z:
            chosen = choose_options(p, np.asarray(keep, dtype=bool), solver or SolverSettings())
            if chosen is not None:
                on = set(chosen[0].tolist())
                for k, var in enumerate(self.z):
                    values[var] = 1.0 if k in on else 0.0
        return self.mo.SolutionHint(variable_values=values)

    def solve(self, solver: SolverSettings, *, node_limit: int | None = None,
              time_limit_s: float | None = None, gap: float | None = None,
              start: tuple[np.ndarray, np.ndarray] | None = None, hint: bool = True,
              values: dict[Any, float] | None = None) -> Any:
        """Solve within a work limit, hinting ``start``.

        Parameters
        ----------
        solver
            Backend, seed, gap and HiGHS's heuristic effort.
        node_limit
            Branch-and-bound nodes (``None``: no limit): the budget that makes the
            answer the same on any machine.
        time_limit_s
            The safety stop (seconds; ``None``: none). A solve it cuts short is not
            reproducible: the caller checks ``result.termination.limit``.
        gap
            Relative gap at which to stop (default ``solver.relative_gap``).
        start, hint
            A plan to hint (keep flags, pair shares); with ``hint`` and no ``start``,
            the status quo.
        values
            Every variable's value (e.g. from an earlier solve), hinted instead.
        """
        mathopt = self.mo
        kwargs: dict[str, object] = {
            "random_seed": solver.seed,
            "relative_gap_tolerance": solver.relative_gap if gap is None else gap,
        }
        if node_limit is not None:
            kwargs["node_limit"] = int(node_limit)
        if time_limit_s is not None and np.isfinite(time_limit_s):
            kwargs["time_limit"] = datetime.timedelta(seconds=max(time_limit_s, 0.01))
        if solver.backend == "highs":  # HiGHS through MathOpt rejects a thread count
            from ortools.math_opt.solvers import highs_pb2

            options = highs_pb2.HighsOptionsProto()
            options.double_options["mip_heuristic_effort"] = solver.heuristic_effort
            kwargs["highs"] = options
        else:  # one thread: a multi-threaded search is not reproducible
            kwargs["threads"] = 1
        params = mathopt.SolveParameters(**kwargs)
        guess = self.hint(start, solver) if hint else None
        if values is not None:
            guess = mathopt.SolutionHint(variable_values=values)
        model_params = (mathopt.ModelSolveParameters(solution_hints=[guess]) if guess
                        else None)
        backend = getattr(mathopt.SolverType, _BACKENDS[solver.backend])
        with _native_stdout_silenced():
            return mathopt.solve(self.model, backend, params=params, model_params=model_params)


def _row_expr(row: OptionRow, z: list[Any], x: list[Any]) -> Any:
    """The left-hand side of an option row over option variables ``z`` and keep flags ``x``."""
    from ortools.math_opt.python import mathopt

    terms = [float(c) * z[int(k)] for k, c in zip(row.option_index, row.option_coef,
                                                   strict=True) if c != 0.0]
    terms += [float(c) * x[int(b)] for b, c in zip(row.site_index, row.site_coef, strict=True)
              if c != 0.0]
    return mathopt.fast_sum(terms) if terms else mathopt.LinearSum([])


def choose_options(problem: Problem, keep: np.ndarray, solver: SolverSettings
                   ) -> tuple[np.ndarray, float] | None:
    """The options a plan's kept sites take under the rules that tie them.

    A function of the keep flags alone, so that every plan a search visits carries its
    measures. Where the kept sites have at most ``solver.exact_max_pairs / 5`` options,
    the model of the options (keep flags fixed) is solved as a MIP to a proved optimum
    (within ``solver.exact_nodes`` nodes). Otherwise its linear relaxation is solved
    first; every site's choice is then fixed as the relaxation has it, except the
    fractional sites (at most one per rule: it is a multiple-choice knapsack) and the
    ``solver.measure_sites`` sites whose best two options (or none) are nearest in
    value at the relaxation's prices for the rules, and those are solved as a MIP,
    within ``solver.exact_nodes`` nodes (figures: ``settings.MEASURE_SITES``; the whole
    MIP's proof took 104 s on the demo's net-zero scenario, its root node 9 s). Where
    no rule ties options together, each kept site's one option
    (:func:`~.problem.options_taken`).

    Parameters
    ----------
    problem
        The problem.
    keep
        Keep flag per site.
    solver
        Seed and work budget.

    Returns
    -------
    (indices, value) or None
        The options taken and their value (GBP); ``None`` where no choice keeps every
        rule (a carbon target out of reach with these sites, say).
    """
    from tp_assets.optimise.problem import options_taken

    o = problem.options
    if o is None:
        return np.zeros(0, dtype=int), 0.0
    if not o.coupled:
        taken = options_taken(problem, keep)
        return taken, 0.0  # already in base_value
    live = np.flatnonzero(keep[o.site])
    rows = _fixed_rows(problem, keep)
    if rows is None:
        return None
    if not len(live):
        return (np.zeros(0, dtype=int), 0.0) if all(r >= -1e-9 for _, r in rows) else None
    coef = np.array([c for c, _ in rows]).reshape(len(rows), len(o.site))
    rhs = np.array([r for _, r in rows])
    if len(live) <= solver.exact_max_pairs // 5:
        found = _options_mip(o.site, o.value, coef, rhs, live, solver, binary=True)
        return None if found is None else (found[0], float(o.value[found[0]].sum()))
    relaxed = _options_mip(o.site, o.value, coef, rhs, live, solver, binary=False)
    if relaxed is None:
        return None
    values, prices = relaxed
    share = np.zeros(len(o.site))
    share[live] = values
    reduced = o.value - prices @ coef  # each option's value at the rules' prices
    sites = o.site[live]
    order = np.lexsort((live, -reduced[live], sites))  # by site, best reduced value first
    ranked = live[order]
    first = np.r_[True, sites[order][1:] != sites[order][:-1]]
    top = np.flatnonzero(first)
    ambiguity = {}
    for start, stop in zip(top, [*top[1:], len(ranked)], strict=True):
        values_here = sorted([0.0, *reduced[ranked[start:stop]].tolist()], reverse=True)
        ambiguity[int(o.site[ranked[start]])] = values_here[0] - values_here[1]
    fractional = {int(b) for b in sites[(values > 1e-6) & (values < 1 - 1e-6)]}
    near = sorted(ambiguity, key=lambda b: (ambiguity[b], b))[:solver.measure_sites]
    free = fractional | set(near)
    loose = live[np.isin(sites, sorted(free))]
    fixed = live[~np.isin(sites, sorted(free)) & (values > 0.5)]
    found = _options_mip(o.site, o.value, coef, rhs - coef[:, fixed].sum(axis=1), loose, solver,
                         binary=True)
    if found is None:
        return None
    taken = np.sort(np.r_[fixed, found[0]]).astype(int)
    return taken, float(o.value[taken].sum())


def _fixed_rows(problem: Problem, keep: np.ndarray
                ) -> list[tuple[np.ndarray, float]] | None:
    """The option rows with the keep flags fixed, each as ``coef @ z <= rhs`` (dense).

    ``None`` where a row no option enters does not hold (nothing to choose).
    """
    o = problem.options
    assert o is not None
    out = []
    for row in o.rows:
        sign = 1.0 if row.sense == "<=" else -1.0
        coef = np.zeros(len(o.site))
        coef[row.option_index] = sign * row.option_coef
        on = keep[row.site_index]
        rhs = sign * (row.rhs - float(row.site_coef[on].sum()))
        coef[~keep[o.site]] = 0.0
        if not coef.any():
            if rhs < -1e-9:
                return None
            continue
        out.append((coef, rhs))
    return out


def _options_mip(site: np.ndarray, value: np.ndarray, coef: np.ndarray, rhs: np.ndarray,
                 live: np.ndarray, solver: SolverSettings, *, binary: bool
                 ) -> tuple[np.ndarray, np.ndarray] | None:
    """Options ``live``, at most one per site, with ``coef @ z <= rhs``, of most value.

    Returns, for a MIP (``binary``), the options taken, else each live option's relaxed
    value; and the rules' prices (the relaxation's duals, zeros for a MIP). ``None``
    where no choice keeps the rows.
    """
    from ortools.math_opt.python import mathopt

    m = mathopt.Model(name="tp-assets measures")
    z = [m.add_binary_variable() if binary else m.add_variable(lb=0.0, ub=1.0) for _ in live]
    at = site[live]
    for b in np.unique(at):
        m.add_linear_constraint(mathopt.fast_sum(z[i] for i in np.flatnonzero(at == b)) <= 1.0)
    constraints = []
    for r in range(len(rhs)):
        terms = [float(coef[r, k]) * z[i] for i, k in enumerate(live) if coef[r, k] != 0.0]
        expr = mathopt.fast_sum(terms) if terms else mathopt.LinearSum([])
        constraints.append(m.add_linear_constraint(expr <= float(rhs[r])))
    m.maximize(mathopt.fast_sum(float(value[k]) * z[i] for i, k in enumerate(live))
               if len(live) else mathopt.LinearSum([]))
    params = mathopt.SolveParameters(random_seed=solver.seed, relative_gap_tolerance=1e-9,
                                     node_limit=int(solver.exact_nodes))
    with _native_stdout_silenced():
        result = mathopt.solve(m, mathopt.SolverType.HIGHS, params=params)
    if not result.has_primal_feasible_solution():
        return None
    values = np.asarray(result.variable_values(z), dtype=float) if z else np.zeros(0)
    if binary:
        return live[values > 0.5], np.zeros(len(rhs))
    prices = (np.asarray(result.dual_values(constraints), dtype=float) if constraints
              else np.zeros(0))
    return values, np.maximum(prices, 0.0)


def stopped_by_clock(result: Any) -> bool:
    """Whether a MathOpt result was cut short by its time limit (the safety stop)."""
    return bool(result.termination.limit is not None
                and result.termination.limit.name == "TIME")


def reason(result: Any) -> str:
    """The termination reason's name: ``"OPTIMAL"``, ``"FEASIBLE"``, ``"INFEASIBLE"``..."""
    return str(result.termination.reason.name)


def dual_bound(result: Any) -> float:
    """The bound on the objective the solve proved (``inf`` where none)."""
    bound = float(result.termination.objective_bounds.dual_bound)
    return bound if np.isfinite(bound) else np.inf


def node_count(result: Any) -> int:
    """Branch-and-bound nodes the solve explored."""
    return int(result.solve_stats.node_count)


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


