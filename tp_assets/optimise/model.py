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

from tp_assets.optimise.problem import Problem, clean_shares, minimal_groups
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


class _Arrays:
    """A MathOpt model's variables and linear rows, gathered as arrays into one ModelProto.

    Ids are given out in the order in which a model built expression by expression
    would give them, so the model, and with it the solver's path, is the same; it is
    built in about a fifth of the time (0.4 s against 1.8-2.2 s for the demo's models),
    which counts because the search builds a model for the root, every round and probe.
    In an ``elastic`` model, rows added by :meth:`slack_rows` get a slack each.
    """

    def __init__(self, elastic: bool) -> None:
        self.elastic = elastic
        #: (slack id, gives-way indicator id, kind, key, largest slack the row can need)
        self.slacks: list[tuple[int, int, str, Any, float]] = []
        self.n_vars = 0
        self.n_rows = 0
        self.var_parts: list[tuple[np.ndarray, ...]] = []
        self.var_names: list[tuple[np.ndarray, list[str]]] = []
        self.row_parts: list[tuple[np.ndarray, ...]] = []
        self.row_names: list[tuple[np.ndarray, list[str]]] = []
        self.entries: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []

    def take_vars(self, n: int) -> np.ndarray:
        """The next ``n`` variable ids."""
        self.n_vars += n
        return np.arange(self.n_vars - n, self.n_vars)

    def take_rows(self, n: int) -> np.ndarray:
        """The next ``n`` row ids."""
        self.n_rows += n
        return np.arange(self.n_rows - n, self.n_rows)

    def variables(self, ids: np.ndarray, lb: Any, ub: Any, integer: Any,
                  names: list[str] | None = None) -> None:
        """Variables ``ids`` with their bounds, integrality and (optional) names."""
        n = len(ids)
        self.var_parts.append((ids, *(np.broadcast_to(np.asarray(v, dtype=dtype), (n,))
                                      for v, dtype in ((lb, float), (ub, float),
                                                       (integer, bool)))))
        if names is not None:
            self.var_names.append((ids, names))

    def rows(self, ids: np.ndarray, lb: Any, ub: Any, names: list[str] | None = None) -> None:
        """Rows ``ids``: ``lb <= terms <= ub``."""
        n = len(ids)
        self.row_parts.append((ids, np.broadcast_to(np.asarray(lb, dtype=float), (n,)),
                               np.broadcast_to(np.asarray(ub, dtype=float), (n,))))
        if names is not None:
            self.row_names.append((ids, names))

    def terms(self, rows: np.ndarray, cols: np.ndarray, coefs: Any) -> None:
        """Coefficients ``coefs`` of variables ``cols`` in rows ``rows``."""
        rows = np.asarray(rows, dtype=np.int64)
        self.entries.append((rows, np.asarray(cols, dtype=np.int64),
                             np.broadcast_to(np.asarray(coefs, dtype=float), rows.shape)))

    def slack_rows(self, n: int, row: np.ndarray, cols: np.ndarray, coefs: Any, lb: Any,
                   ub: Any, names: list[str] | None,
                   slack: tuple[str, list[Any], np.ndarray, float]) -> np.ndarray:
        """``n`` rows, term ``i`` in row ``row[i]``; in the elastic model each with a slack.

        ``slack`` is (kind, key per row, largest slack per row, sign): in the elastic
        model a row that can need a slack (largest above 0) gets ``sign * slack``, with
        ``slack <= largest * gives_way`` and the two variables added just before it.

        Returns
        -------
        numpy.ndarray
            The rows' ids.
        """
        kind, keys, most, sign = slack
        has = (most > 0.0) if self.elastic else np.zeros(n, dtype=bool)
        before = np.cumsum(has) - has  # slacks before each row
        pairs = self.take_vars(2 * int(has.sum()))
        rows = self.take_rows(n + int(has.sum()))
        main = rows[np.arange(n) + before + has]
        self.rows(main, lb, ub, names)
        self.terms(main[row], cols, coefs)
        if has.any():
            s, g = pairs[0::2], pairs[1::2]
            self.variables(s, 0.0, most[has], False)
            self.variables(g, 0.0, 1.0, True)
            guard = rows[np.flatnonzero(has) + before[has]]
            self.rows(guard, -np.inf, 0.0)
            self.terms(np.r_[guard, guard, main[has]], np.r_[s, g, s],
                       np.r_[np.ones(len(s)), -most[has], np.full(len(s), sign)])
            self.slacks.extend(zip(s.tolist(), g.tolist(), [kind] * len(s),
                                   [keys[i] for i in np.flatnonzero(has)],
                                   most[has].tolist(), strict=True))
        return main

    def proto(self, name: str, maximize: bool, offset: float, cols: np.ndarray,
              coefs: np.ndarray) -> Any:
        """The ModelProto, with the objective ``offset + coefs @ vars[cols]``.

        Terms of one variable in one row (or the objective) are added together and zero
        coefficients dropped, as MathOpt's expressions do.
        """
        from ortools.math_opt import model_pb2

        proto = model_pb2.ModelProto(name=name)
        _fill(proto.variables, self.var_parts, ("lower_bounds", "upper_bounds", "integers"),
              _names(self.n_vars, self.var_names) if self.var_names else None)
        _fill(proto.linear_constraints, self.row_parts, ("lower_bounds", "upper_bounds"),
              _names(self.n_rows, self.row_names) if self.row_names else None)
        rows, cols_, values = _summed(*(np.concatenate(x) for x in zip(*self.entries,
                                                                          strict=True)))
        matrix = proto.linear_constraint_matrix
        matrix.row_ids.extend(rows.tolist())
        matrix.column_ids.extend(cols_.tolist())
        matrix.coefficients.extend(values.tolist())
        _, o_cols, o_values = _summed(np.zeros(len(cols), dtype=np.int64), cols, coefs)
        proto.objective.maximize = maximize
        proto.objective.offset = offset
        proto.objective.linear_coefficients.ids.extend(o_cols.tolist())
        proto.objective.linear_coefficients.values.extend(o_values.tolist())
        return proto


def _fill(message: Any, parts: list[tuple[np.ndarray, ...]], fields: tuple[str, ...],
          names: list[str] | None) -> None:
    """Fill a VariablesProto or LinearConstraintsProto: ids in order, then ``fields``."""
    ids, *values = (np.concatenate(v) for v in zip(*parts, strict=True))
    order = np.argsort(ids, kind="stable")
    message.ids.extend(ids[order].astype(np.int64).tolist())
    for field, value in zip(fields, values, strict=True):
        getattr(message, field).extend(value[order].tolist())
    if names is not None:
        message.names.extend(names)


def _names(n: int, parts: list[tuple[np.ndarray, list[str]]]) -> list[str]:
    """Names of ids ``0..n-1`` (empty where none was given)."""
    out = [""] * n
    for ids, names in parts:
        for i, name in zip(ids.tolist(), names, strict=True):
            out[i] = name
    return out


def _summed(rows: np.ndarray, cols: np.ndarray, values: np.ndarray
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Entries in row-major order, those of one (row, column) added, zeros dropped."""
    order = np.lexsort((cols, rows))
    rows, cols, values = rows[order], cols[order], values[order]
    first = np.r_[True, (rows[1:] != rows[:-1]) | (cols[1:] != cols[:-1])]
    starts = np.flatnonzero(first)
    total = np.add.reduceat(values, starts) if len(values) else values
    keep = total != 0.0
    return rows[starts][keep], cols[starts][keep], total[keep]


def _lists(groups: list[Any]) -> tuple[np.ndarray, np.ndarray]:
    """Each term's group (0..len-1) and the terms of ``groups`` (lists of ints), flattened."""
    lengths = [len(g) for g in groups]
    flat = (np.concatenate([np.asarray(g, dtype=np.int64) for g in groups])
            if sum(lengths) else np.zeros(0, dtype=np.int64))
    return np.repeat(np.arange(len(groups)), lengths), flat


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
        self.elastic = elastic
        a = _Arrays(elastic)
        binary = not relaxed
        n_b, n_s, n_k = p.n_sites, len(p.service_ids), len(p.pair_site)
        x = a.take_vars(n_b)
        a.variables(x, np.where(p.keep_fixed >= 0, p.keep_fixed, 0.0),
                    np.where(p.keep_fixed >= 0, p.keep_fixed, 1.0), binary,
                    [f"keep[{sid}]" for sid in p.site_ids])
        y = a.take_vars(n_k)
        a.variables(y, 0.0, 1.0, binary & ~p.splittable[p.pair_service],
                    [f"place[{p.service_ids[s]},{p.site_ids[b]}]"
                     for s, b in zip(p.pair_service, p.pair_site, strict=True)])
        by_service = np.argsort(p.pair_service, kind="stable")
        a.slack_rows(n_s, p.pair_service[by_service], y[by_service], 1.0, 1.0, 1.0,
                     [f"assign[{sid}]" for sid in p.service_ids],
                     ("unplaced", list(range(n_s)), np.ones(n_s), 1.0))
        rows = a.take_rows(n_k)  # y[k] <= x[site]
        a.rows(rows, -np.inf, 0.0)
        a.terms(np.r_[rows, rows], np.r_[y, x[p.pair_site]], np.r_[np.ones(n_k), -np.ones(n_k)])
        sites = np.unique(p.pair_site)  # capacity, of sites with candidate pairs
        at = np.searchsorted(sites, p.pair_site)
        load = np.bincount(at, weights=p.area[p.pair_service], minlength=len(sites))
        a.slack_rows(len(sites), np.r_[at, np.arange(len(sites))], np.r_[y, x[sites]],
                     np.r_[p.area[p.pair_service], -p.capacity[sites]], -np.inf, 0.0,
                     [f"capacity[{p.site_ids[b]}]" for b in sites],
                     ("capacity", sites.tolist(), load, -1.0))
        # which (type, site) pairs need a "hosted" indicator: types in a conflict, and
        # ruled types with a splittable service (a share of one counts as hosting it);
        # a ruled type whose services are whole is hosted where the sum of its
        # placements there is at least one, which needs no extra variable
        whole = {t: not p.splittable[p.service_type == t].any()
                 for t in range(len(p.type_names))}
        needed_types = ({r.service_type for r in p.rules if not whole[r.service_type]}
                        | {t for pair in p.conflicts for t in pair})
        pair_type = p.service_type[p.pair_service]
        by_type_site: dict[tuple[int, int], list[int]] = defaultdict(list)
        for k, key in enumerate(zip(pair_type.tolist(), p.pair_site.tolist(), strict=True)):
            by_type_site[key].append(k)
        keys = [key for key in by_type_site if key[0] in needed_types]
        h = a.take_vars(len(keys))
        a.variables(h, 0.0, 1.0, binary,
                    [f"hosts[{p.type_names[t]},{p.site_ids[b]}]" for t, b in keys])
        h_id = dict(zip(keys, h.tolist(), strict=True))
        if keys:  # per indicator: y[k] <= h for its pairs, h <= their sum, h <= x[site]
            group, members = _lists([by_type_site[key] for key in keys])
            size = np.bincount(group, minlength=len(keys))
            rows = a.take_rows(len(members) + 2 * len(keys))
            first = np.r_[0, np.cumsum(size + 2)[:-1]]  # each indicator's first row
            within = np.arange(len(members)) - np.r_[0, np.cumsum(size)[:-1]][group]
            each = rows[first[group] + within]
            total, own = rows[first + size], rows[first + size + 1]
            a.rows(rows, -np.inf, 0.0)
            a.terms(np.r_[each, each, np.repeat(total, size), total, own, own],
                    np.r_[y[members], h[group], y[members], h, h,
                          x[[b for _, b in keys]]],
                    np.r_[np.ones(len(members)), -np.ones(len(members)),
                          -np.ones(len(members)), np.ones(len(keys)), np.ones(len(keys)),
                          -np.ones(len(keys))])
        for t1, t2 in p.conflicts:
            both = [b for b in range(n_b) if (t1, b) in h_id and (t2, b) in h_id]
            n = len(both)
            a.slack_rows(n, np.r_[np.arange(n), np.arange(n)],
                         np.r_[[h_id[(t1, b)] for b in both], [h_id[(t2, b)] for b in both]],
                         1.0, -np.inf, 1.0, None,
                         ("conflict", [(t1, t2, b) for b in both], np.ones(n), -1.0))
        for r_index, rule in enumerate(p.rules):
            t = rule.service_type
            if t in needed_types:
                hosts = [[h_id[(t, int(b))] for b in sites if (t, int(b)) in h_id]
                         for sites in rule.group_sites]
            else:
                hosts = [[int(y[k]) for b in sites for k in by_type_site.get((t, int(b)), [])]
                         for sites in rule.group_sites]
            if rule.rule == "no_loss":
                binding = minimal_groups(rule)
                group, members = _lists([hosts[g] for g in binding])
                a.slack_rows(len(binding), group, members, 1.0, 1.0, np.inf, None,
                             ("no_loss", [(r_index, g) for g in binding],
                              np.ones(len(binding)), 1.0))
                continue
            served = [g for g in range(len(hosts)) if hosts[g]]
            u = np.zeros(0, dtype=np.int64)
            if served:  # per served group: its indicator u, then u <= sum(hosts)
                u = a.take_vars(len(served))
                a.variables(u, 0.0, 1.0, integer_coverage)
                rows = a.take_rows(len(served))
                a.rows(rows, -np.inf, 0.0)
                group, members = _lists([hosts[g] for g in served])
                a.terms(np.r_[rows, rows[group]], np.r_[u, members],
                        np.r_[np.ones(len(served)), -np.ones(len(members))])
            need = rule.coverage * rule.total_demand
            a.slack_rows(1, np.zeros(len(served), dtype=np.int64), u,
                         rule.group_demand[served], need, np.inf, None,
                         ("coverage", [r_index], np.array([need]), 1.0))
        cost = p.pair_cost.astype(float)
        if p.max_one_off_gbp is not None:
            dearest = np.zeros(n_s)  # each service's dearest placement
            np.maximum.at(dearest, p.pair_service, p.pair_cost)
            a.slack_rows(1, np.zeros(n_k, dtype=np.int64), y, cost, -np.inf,
                         float(p.max_one_off_gbp), None,
                         ("one_off", [None], np.array([float(dearest.sum())]), -1.0))
        if p.max_disposals is not None:  # sum(1 - x) <= max
            a.slack_rows(1, np.zeros(n_b, dtype=np.int64), x, -1.0, -np.inf,
                         float(p.max_disposals) - n_b, None,
                         ("disposals", [None], np.array([float(n_b)]), -1.0))
        for owner, minimum in p.min_sites_per_owner.items():
            assert p.site_owner is not None
            theirs = np.flatnonzero(p.site_owner == owner)
            a.slack_rows(1, np.zeros(len(theirs), dtype=np.int64), x[theirs], 1.0,
                         float(minimum), np.inf, None,
                         ("owner", [owner], np.array([float(minimum)]), 1.0))
        z = np.zeros(0, dtype=np.int64)
        option_rows = np.zeros(0, dtype=np.int64)
        options = p.coupled_options
        obj_cols = [x, y]
        obj_coefs = [-p.disposal_value.astype(float), -cost]
        if options is not None:
            z = a.take_vars(len(options.site))
            a.variables(z, 0.0, 1.0, binary,
                        [f"measures[{p.site_ids[b]},{ids}@{year}]"
                         for b, ids, year in zip(options.site, options.measures,
                                                 options.fit_year, strict=True)])
            on = np.unique(options.site)  # at most one option, on a kept site
            rows = a.take_rows(len(on))
            a.rows(rows, -np.inf, 0.0)
            a.terms(np.r_[rows[np.searchsorted(on, options.site)], rows],
                    np.r_[z, x[on]], np.r_[np.ones(len(z)), -np.ones(len(on))])
            option_rows = np.zeros(len(options.rows), dtype=np.int64)
            for r_index, row in enumerate(options.rows):
                sign = 1.0 if row.sense == "<=" else -1.0
                most = float(np.abs(row.option_coef).sum() + np.abs(row.site_coef).sum()
                             + abs(row.rhs))
                n_terms = len(row.option_index) + len(row.site_index)
                option_rows[r_index] = a.slack_rows(
                    1, np.zeros(n_terms, dtype=np.int64),
                    np.r_[z[row.option_index], x[row.site_index]],
                    sign * np.r_[row.option_coef, row.site_coef], -np.inf, sign * row.rhs,
                    None, (row.kind, [r_index], np.array([most]), -1.0))[0]
            obj_cols.append(z)
            obj_coefs.append(options.value.astype(float))
        weight = np.array([_UNPLACED_WEIGHT if kind == "unplaced" else 1.0
                           for _, _, kind, _, _ in a.slacks])
        if elastic:  # fewest rows giving way (then least_slack())
            gives = np.array([g for _, g, _, _, _ in a.slacks], dtype=np.int64)
            proto = a.proto("tp-assets", False, 0.0, gives, weight)
        else:
            base = 0.0 if p.base_value is None else float(p.base_value.sum())
            # the constant added up in the order MathOpt's expressions add it (to the bit:
            # the solver's path depends on it)
            offset = float(sum((float(v) for v in p.disposal_value if v != 0.0), base))
            proto = a.proto("tp-assets", True, offset, np.concatenate(obj_cols),
                            np.concatenate(obj_coefs))
        self.model = m = mathopt.Model.from_model_proto(proto)
        var = m.get_variable
        self.x = [var(int(i)) for i in x]
        self.y = [var(int(i)) for i in y]
        self.h = {key: var(i) for key, i in h_id.items()}
        self.z = [var(int(i)) for i in z]
        #: the option rows' constraints, each as ``... <= rhs`` (a ``>=`` row negated)
        self.option_rows = [m.get_linear_constraint(int(i)) for i in option_rows]
        #: (slack, gives-way indicator, kind, key, largest slack the row can need)
        self.slacks = [(var(s), var(g), kind, key, most)
                       for s, g, kind, key, most in a.slacks]
        if elastic:
            self.gives_way = mathopt.fast_sum(float(w) * g for w, (_, g, _, _, _)
                                              in zip(weight, self.slacks, strict=True))
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


