"""The search for a plan: a start, the MIP search, neighbourhood rounds and a split.

Every budget is counted in work (branch-and-bound nodes, rounds, the sites a round
frees), never read from the clock or the machine's load, so a plan is a function of
the problem and the solver settings alone: the same on a quiet or a busy machine, on
one core or several. ``[solver] time_limit_s`` is a safety stop only; a plan it cuts
short says so (:attr:`Plan.stopped_by_clock`).

The search, for a problem of at least ``solver.exact_max_pairs`` candidate pairs:

1. the decisive site: the free sites of highest disposal value are probed in turn
   (:func:`_split_site`); one whose disposal no plan allows is fixed kept, and the
   first that may go splits the plans in two, those that dispose of it and those
   that keep it;
2. on each side, a feasible start (:func:`feasible_start`), the MIP search for
   ``solver.root_nodes`` nodes hinted with it, then ``solver.rounds`` neighbourhood
   rounds (:func:`improve`), each a small model of ``solver.round_sites`` sites
   solved within ``solver.round_nodes`` nodes;
3. the answer is the better side's plan and the higher side's bound
   (:func:`_combine`). The sides run in parallel processes where ``solver.threads``
   allows, one after the other otherwise: the same plan either way.

A smaller problem is solved by the MIP search alone, within ``solver.exact_nodes``.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from tp_assets import _interrupt
from tp_assets._errors import InfeasibleError, InputError, NoPlanError, shortlist
from tp_assets.optimise.model import (
    Model,
    choose_options,
    dual_bound,
    node_count,
    reason,
    solver_name,
    stopped_by_clock,
)
from tp_assets.optimise.parts import Part, apportion, couples, parts, relax, restrict
from tp_assets.optimise.problem import (
    Plan,
    Problem,
    assignment_frame,
    hosting,
    measures_frame,
    meets_rules,
    pair_shares,
    plan_value,
    relative_gap,
    rule_incidence,
    served_groups,
)
from tp_assets.scenario import SolverSettings


def _value(problem: Problem, keep: np.ndarray, share: np.ndarray,
           solver: SolverSettings) -> float:
    """NPV of a plan (GBP) with the measures its kept sites take.

    ``-inf`` where no choice of measures keeps the rules that tie them
    (:func:`choose_options`).
    """
    value = plan_value(problem, keep, share)
    if problem.coupled_options is None:
        return value
    chosen = choose_options(problem, keep, solver)
    return -np.inf if chosen is None else value + chosen[1]


def _unsafe(problem: Problem) -> np.ndarray:
    """Sites whose disposal could break a rule over measures.

    Such a site would still emit in the target year, vacating after it, while its
    measures would cut what it emits. Disposing of any other site keeps a choice of
    measures that held: its measures go, and with them no more than its own
    emissions, spend or fuel-rule row.
    """
    o = problem.coupled_options
    unsafe = np.zeros(problem.n_sites, dtype=bool)
    if o is None:
        return unsafe
    for row in o.rows:
        if row.kind != "carbon":
            continue
        coef = np.zeros(problem.n_sites)
        coef[row.site_index] = row.site_coef
        cut = np.zeros(problem.n_sites)
        np.maximum.at(cut, o.site[row.option_index], -row.option_coef)
        unsafe |= cut > coef + 1e-9
    return unsafe


def greedy(problem: Problem, start: np.ndarray | None = None,
           solver: SolverSettings | None = None) -> tuple[np.ndarray, np.ndarray] | None:
    """A feasible plan built greedily, to give the solver a good start.

    Starts from the status quo, re-homes the services of sites forced out, then tries
    to dispose of sites in order of falling disposal value, moving each of their
    services to the nearest candidate host with room (a site already hosting its type
    first) and keeping a disposal only when every rule still holds.

    Parameters
    ----------
    problem
        The problem; a service without a current site (``current`` -1: a part's
        service whose site lies in another part) is re-homed like one forced out.
    start
        Shares per candidate pair of a feasible plan that keeps every site not forced
        out (see :func:`repair`); by default the status quo with the services of
        forced-out sites re-homed greedily.
    solver
        Settings for choosing measures where rules tie them (:func:`choose_options`);
        the start must then allow a choice, and sites whose disposal could break one
        (:func:`_unsafe`) are left to the MIP search.

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
    incidence = rule_incidence(p)
    # together[t][b, d]: groups (demand) of type t's rules that sites b and d both serve
    # (sparse: a site shares groups with its neighbours only)
    together = {t: sparse.csr_matrix((n_b, n_b)) for t in range(len(p.type_names))}
    for rule, inc in zip(p.rules, incidence, strict=True):
        weight = sparse.diags(rule.group_demand + 1.0)
        together[rule.service_type] = (together[rule.service_type]
                                       + inc.T @ weight @ inc).tocsr()

    def feasible(share: np.ndarray, keep: np.ndarray) -> bool:
        return meets_rules(p, keep, share, incidence)

    def rehome(s: int, share: np.ndarray, keep: np.ndarray) -> bool:
        """Move service s off closed sites onto kept candidates; False if no room."""
        ks = pairs[s]
        origin = p.pair_site[ks[share[ks] > 0]]
        rows = origin if len(origin) else p.current[s:s + 1][p.current[s:s + 1] >= 0]
        overlap = np.asarray(together[p.service_type[s]][rows].sum(axis=0)).ravel()
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
    solver = solver or SolverSettings()
    if _value(p, keep, share, solver) == -np.inf:
        return None
    unsafe = _unsafe(p)
    hosted_area = np.bincount(p.pair_site, weights=share * p.area[p.pair_service],
                              minlength=n_b)
    orders = (np.argsort(-p.disposal_value, kind="stable"),
              np.argsort(-p.disposal_value / (hosted_area + 50.0), kind="stable"))
    best: tuple[float, np.ndarray, np.ndarray] | None = None
    for order in orders:
        k_keep, k_share = keep.copy(), share.copy()
        for _ in range(2):  # a second pass picks up sites freed by later moves
            for b in order:
                if p.keep_fixed[b] != -1 or not k_keep[b] or unsafe[b]:
                    continue
                trial_keep, trial_share = k_keep.copy(), k_share.copy()
                trial_keep[b] = False
                movers = np.unique(p.pair_service[(p.pair_site == b) & (k_share > 0)])
                if all(rehome(int(s), trial_share, trial_keep) for s in movers) and feasible(
                        trial_share, trial_keep):
                    k_keep, k_share = trial_keep, trial_share
        value = _value(p, k_keep, k_share, solver)
        if best is None or value > best[0]:
            best = (value, k_keep, k_share)
    assert best is not None
    return best[1], best[2]


def improve(problem: Problem, keep: np.ndarray, share: np.ndarray, solver: SolverSettings,
            deadline: float = np.inf) -> tuple[np.ndarray, np.ndarray, int, bool, bool]:
    """Large-neighbourhood search: re-optimise a feasible plan one neighbourhood at a time.

    Each of ``solver.rounds`` rounds picks a free site (drawn with ``solver.seed``)
    and the ``solver.round_sites`` sites sharing most candidate services with it, and
    re-solves, within ``solver.round_nodes`` branch-and-bound nodes and hinted with
    the current plan, the plan of the services placed in or coming from them, every
    other decision held as the plan has it (see :func:`neighbourhood`). A better plan
    replaces the current one; every plan visited is feasible for the whole problem.

    Parameters
    ----------
    problem
        The problem.
    keep, share
        A feasible plan: keep flag per site and share per candidate pair.
    solver
        The work budget and the seed.
    deadline
        The safety stop (:func:`time.time`, seconds).

    Returns
    -------
    keep, share, rounds, clock, proved
        The best plan found (the given one if none is better), the rounds run,
        whether the safety stop cut them short, and whether a round's neighbourhood
        was the whole problem, solved to a proved optimum (the plan is then optimal).
    """
    from scipy import sparse

    p = problem
    free = np.flatnonzero(p.keep_fixed == -1)
    incidence = sparse.csr_matrix((np.ones(len(p.pair_site)), (p.pair_service, p.pair_site)),
                                  shape=(len(p.service_ids), p.n_sites))
    links = (incidence.T @ incidence).tocsr()  # sites sharing candidate services
    rng = np.random.default_rng(solver.seed)
    best = _value(p, keep, share, solver)
    rounds = 0
    while rounds < solver.rounds and len(free):
        if time.time() >= deadline:
            return keep, share, rounds, True, False
        rounds += 1
        centre = rng.choice(free)
        near = np.argsort(-(links[centre].toarray().ravel() + rng.random(p.n_sites)),
                          kind="stable")
        inside = np.zeros(p.n_sites, dtype=bool)
        inside[near[:solver.round_sites]] = True
        inside[centre] = True
        sub, pairs, loose = neighbourhood(p, keep, share, inside)
        model = Model(sub, integer_coverage=solver.backend == "cpsat")
        step = dataclasses.replace(solver, seed=solver.seed + rounds)
        result = model.solve(step, node_limit=solver.round_nodes, gap=1e-6,
                             start=(keep, share[pairs]), time_limit_s=deadline - time.time())
        if stopped_by_clock(result):
            return keep, share, rounds, True, False
        if not result.has_primal_feasible_solution():
            continue
        new_share = share.copy()
        new_share[np.isin(p.pair_service, loose)] = 0.0
        new_keep, new_share[pairs] = model.plan(result)
        value = _value(p, new_keep, new_share, solver)
        if value > best + 1e-6:
            best, keep, share = value, new_keep, new_share
        if (inside[free].all() and len(loose) == len(p.service_ids)
                and reason(result) == "OPTIMAL"):
            return keep, share, rounds, False, True  # the whole problem, solved exactly
    return keep, share, rounds, False, False


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
    hosted = hosting(p, np.where(fixed, share, 0.0))
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
        served = served_groups(hosted[rule.service_type], rule)
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


def repair(problem: Problem, solver: SolverSettings) -> np.ndarray | None:
    """Cheapest moves that re-home the services of forced-out sites, keeping every other site.

    A small model (every free site kept) solved within ``solver.round_nodes`` nodes;
    its plan starts :func:`greedy` when the forced disposals break the status quo.

    Parameters
    ----------
    problem
        The problem.
    solver
        Backend, seed and work budget (``round_nodes``); the safety stop does not cut
        it, so that every search has a plan to fall back on.

    Returns
    -------
    numpy.ndarray or None
        Share per candidate pair, or ``None`` when no such plan was found.
    """
    fixed = np.where(problem.keep_fixed == -1, 1, problem.keep_fixed)
    restricted = dataclasses.replace(problem, keep_fixed=fixed, max_disposals=None)
    model = Model(restricted, integer_coverage=solver.backend == "cpsat")
    # the start every search falls back on: its work is bounded by nodes, and the safety
    # stop does not cut it, so that a search the clock stops still has a plan to give
    result = model.solve(solver, node_limit=solver.round_nodes, hint=False,
                         time_limit_s=solver.time_limit_s)
    if not result.has_primal_feasible_solution():
        return None
    return model.plan(result)[1]


def feasible_start(problem: Problem, solver: SolverSettings
                   ) -> tuple[np.ndarray, np.ndarray] | None:
    """A feasible plan to start from: :func:`greedy`, after :func:`repair` where it fails.

    Parameters
    ----------
    problem
        The problem; a service without a current site in it (a part's service whose
        site lies in another part) is placed like one whose site is forced out.
    solver
        Settings for the repair model (bounded by nodes, never cut by the clock).
    """
    start = greedy(problem, solver=solver)
    if start is None:  # sites forced out, barred moves, or a status quo that breaks a rule
        placed = repair(problem, solver)
        start = None if placed is None else greedy(problem, placed, solver)
    return start


def solve(problem: Problem, solver: SolverSettings | None = None) -> Plan:
    """Solve a :class:`Problem` with OR-Tools MathOpt, within a budget of work.

    Parameters
    ----------
    problem
        The problem in arrays.
    solver
        Backend, seed, relative gap, the work budget, the parallel searches
        (``threads``) and the safety stop (``time_limit_s``).

    Returns
    -------
    Plan
        OPTIMAL only where proved, else FEASIBLE with the best bound proved and the
        gap; what found it, the work done, and whether the safety stop cut it short.

    Raises
    ------
    InfeasibleError
        The solver proved that the rules cannot all hold (call :func:`explain` for
        why).
    NoPlanError
        The budget ended with no plan, and no proof that none exists.
    InputError
        A backend that cannot handle the problem (CP-SAT with splittable services).
    """
    solver = solver or SolverSettings()
    plan = _solve(problem, solver, time.time() + solver.time_limit_s)
    if problem.options is not None:
        chosen = choose_options(problem, plan.keep, solver)
        assert chosen is not None  # the plan's own measures keep every rule
        plan.measures = measures_frame(problem, chosen[0])
    return plan


def _solve(problem: Problem, solver: SolverSettings, deadline: float) -> Plan:
    """:func:`solve` with the safety stop at ``deadline`` (:func:`time.time`, seconds)."""
    if solver.backend == "cpsat" and problem.splittable.any():
        raise InputError("[solver] backend = \"cpsat\" cannot place splittable services "
                         "(CP-SAT has no continuous variables); use \"highs\" or \"scip\"")
    nowhere = np.setdiff1d(np.arange(len(problem.service_ids)), problem.pair_service)
    if len(nowhere):  # (the pipeline's precheck says why in the scenario's words)
        raise InfeasibleError(
            f"service{'s' * (len(nowhere) > 1)} {shortlist(list(problem.service_ids[nowhere]))} "
            "can be placed nowhere: no site it may occupy (an immovable service in a site "
            "forced out, or no site in reach that may host it)")
    started = time.perf_counter()
    given = problem.keep_fixed
    exact = len(problem.pair_site) < solver.exact_max_pairs
    if problem.coupled_options is not None and not exact:
        plan = _solve_priced(problem, solver, deadline)
        if plan is not None:
            return dataclasses.replace(plan, solve_seconds=time.perf_counter() - started)
    if solver.decompose and not exact and problem.coupled_options is None:
        cut = parts(problem, solver.part_min_sites)
        if len(cut) > 1:
            plan = _solve_in_parts(problem, solver, cut, deadline)
            if plan is not None:
                return dataclasses.replace(plan, solve_seconds=time.perf_counter() - started)
            if time.time() >= deadline:  # no time left to search the whole as one
                raise NoPlanError(no_plan_words(solver, True, "TIME_LIMIT"))
    site, probe_clock, disposing = None, False, None
    if not exact and solver.split:
        problem, site, probe_clock, disposing = _split_site(problem, solver, deadline)
    branches: list[tuple[int, int] | None] = [None] if site is None else [(site, 0), (site, 1)]
    args = [(problem, solver, deadline, branch, exact,
             disposing if branch is not None and branch[1] == 0 else None)
            for branch in branches]
    if solver.threads > 1 and len(branches) > 1:
        with _interrupt.worker_pool(min(solver.threads, len(branches))) as pool:
            outcomes = list(pool.map(_search, *zip(*args, strict=True)))
    else:
        outcomes = [_search(*a) for a in args]
    best, bound, gap, status = _combine(branches, outcomes, solver)
    assert best.keep is not None and best.y is not None
    label = solver_name(solver.backend)
    if site is not None:
        label += f", split on site {problem.site_ids[site]} (disposed / kept)"
    proved = [str(problem.site_ids[b]) for b in np.flatnonzero(problem.keep_fixed != given)]
    work: dict[str, int | str | None] = {
        "nodes": sum(o.nodes for o in outcomes), "rounds": sum(o.rounds for o in outcomes),
        "searches": len(outcomes),
        "split_site": None if site is None else str(problem.site_ids[site])}
    return Plan(problem.site_ids, best.keep, assignment_frame(problem, best.y), status,
                best.objective, bound, gap, time.perf_counter() - started, label,
                outcomes[0].size, proved, found_by=best.found_by,
                stopped_by_clock=probe_clock or any(o.clock for o in outcomes), work=work)


def _solve_in_parts(problem: Problem, solver: SolverSettings, cut: list[Part],
                    deadline: float) -> Plan | None:
    """A plan of the whole from plans of its parts, then rounds across their seams.

    Where no rule adds up over more than one part, each part is searched in full
    (:func:`_solve`), ``solver.threads`` parts at a time, and the parts' bounds add up
    to the whole's. Where some do (:func:`~tp_assets.optimise.parts.couples`), see
    :func:`_coupled_parts`. The parts' plans make a plan of the whole, which
    ``solver.seam_rounds`` neighbourhood rounds over the whole improve.

    Returns
    -------
    Plan or None
        ``None`` where the shares cannot be set (the status quo falls short of a
        coverage rule) or some part finds no plan: the whole is then searched as one.
    """
    shared = apportion(problem, cut)
    if shared is None:
        return None
    one = dataclasses.replace(solver, threads=1, decompose=False)
    subs = [restrict(problem, part, rules, caps)
            for part, rules, caps in zip(cut, *shared, strict=True)]
    coupled = couples(problem, cut)
    proved, kept = False, []
    if coupled:
        found = _coupled_parts(problem, solver, cut, subs, deadline)
        if found is None:
            return None
        keep, share, bounds, work, clock, found_by, variables = found
    else:
        found_plans = _in_workers(_part_plan, [(sub, one, deadline) for sub in subs],
                                  solver.threads)
        plans = [plan for plan in found_plans if plan is not None]
        if len(plans) < len(cut):
            return None
        keep = problem.keep_fixed != 0
        share = np.zeros(len(problem.pair_site))
        work, clock, greedy_only = _put(cut, subs, plans, keep, share)
        bounds = [plan.best_bound_gbp for plan in plans]
        found_by = "greedy start" if greedy_only else "solver"
        proved = all(p.status == "OPTIMAL" for p in plans)
        kept = [sid for p in plans for sid in p.proved_kept]
        variables = sum(p.model_size.get("variables", 0) for p in plans)
    bound = sum(bounds)
    before = plan_value(problem, keep, share)
    keep, share, rounds, seam_clock, _ = improve(
        problem, keep, share, dataclasses.replace(solver, rounds=solver.seam_rounds,
                                                  seed=solver.seed + 7919), deadline)
    objective = plan_value(problem, keep, share)
    if objective > before + 1e-6:
        found_by = "neighbourhood search"
    gap = relative_gap(bound, objective)
    status = "OPTIMAL" if proved or gap <= solver.relative_gap else "FEASIBLE"
    done: dict[str, int | str | None] = {"parts": len(cut), **work,
                                         "rounds": work["rounds"] + rounds, "split_site": None}
    return Plan(problem.site_ids, keep, assignment_frame(problem, share), status, objective,
                bound, min(gap, solver.relative_gap) if status == "OPTIMAL" else gap, 0.0,
                f"{solver_name(solver.backend)}, {len(cut)} parts", {"variables": variables},
                kept, found_by=found_by, stopped_by_clock=clock or seam_clock, work=done)


def _coupled_parts(problem: Problem, solver: SolverSettings, cut: list[Part],
                   subs: list[Problem], deadline: float
                   ) -> tuple[np.ndarray, np.ndarray, list[float], dict[str, int], bool, str,
                              int] | None:
    """Plans and bounds of parts that rules adding up over the whole tie together.

    1. Each part's root node is searched under the least share any plan of the whole
       leaves it (:func:`~tp_assets.optimise.parts.relax`): its bound is the part's
       share of a bound of the whole. The search is hinted with the part's start under
       its status-quo share (``subs``), so that its plan tends to keep that share.
    2. Where the parts' root plans together break a rule of the whole, each part whose
       root plan breaks its status-quo share (:func:`~tp_assets.optimise.parts.apportion`)
       is searched in full under that share (:func:`_solve`); the plans then keep every
       rule of the whole, as each part keeps its share.
    3. Each part is given the share the plan of the whole leaves it (``apportion`` with
       the plan), and the parts not searched again are improved by ``solver.rounds``
       neighbourhood rounds within their share.

    The parts are searched ``solver.threads`` at a time, in fresh processes.

    Returns
    -------
    keep, share, bounds, work, clock, found_by, variables
        The plan of the whole, each part's bound (GBP), the work done, whether the
        safety stop cut a search short, what found the plan and the variables of the
        parts' root models; ``None`` where some part finds no plan.
    """
    one = dataclasses.replace(solver, threads=1, decompose=False)
    root = dataclasses.replace(one, rounds=0, split=False)
    relaxed = [restrict(problem, part, rules, caps)
               for part, rules, caps in zip(cut, *relax(problem, cut), strict=True)]
    roots = _in_workers(_part_root, [(r, sub, root, deadline)
                                     for r, sub in zip(relaxed, subs, strict=True)],
                        solver.threads)
    if any(o.keep is None for o in roots):
        return None
    keep = problem.keep_fixed != 0
    share = np.zeros(len(problem.pair_site))
    for part, o in zip(cut, roots, strict=True):
        keep[part.sites], share[part.pairs] = o.keep, o.y  # restrict() keeps pair order
    bounds = [o.bound for o in roots]
    work = {"nodes": sum(o.nodes for o in roots), "rounds": 0, "searches": len(roots)}
    clock = any(o.clock for o in roots)
    found_by = ("greedy start" if all(o.found_by == "greedy start" for o in roots)
                else "solver")
    variables = sum(o.size.get("variables", 0) for o in roots)
    searched = np.zeros(len(cut), dtype=bool)
    if not meets_rules(problem, keep, share):
        # the parts whose root plan breaks their status-quo share are searched under it
        searched = np.array([not meets_rules(sub, o.keep, o.y)
                             for sub, o in zip(subs, roots, strict=True)])
        again = np.flatnonzero(searched)
        found_plans = _in_workers(_part_plan, [(subs[k], one, deadline) for k in again],
                                  solver.threads)
        plans = [plan for plan in found_plans if plan is not None]
        if len(plans) < len(again):
            return None
        more, more_clock, greedy_only = _put([cut[k] for k in again], [subs[k] for k in again],
                                             plans, keep, share)
        work = {key: work[key] + more[key] for key in more}
        clock = clock or more_clock
        if not greedy_only:
            found_by = "solver"
    # each part's share as the plan leaves it: any better plans of the parts that keep
    # theirs make a better plan of the whole that keeps its rules
    shared = apportion(problem, cut, (keep, share))
    assert shared is not None  # the plan serves what the whole needs
    jobs = [(restrict(problem, part, rules, caps), keep[part.sites], share[part.pairs],
             one, deadline)
            for part, rules, caps, again in zip(cut, *shared, searched, strict=True)
            if not again]  # (a part searched again has had its rounds)
    before = plan_value(problem, keep, share)
    improved = _in_workers(_part_rounds, jobs, solver.threads)
    for part, (k_keep, k_share, n, k_clock) in zip(
            [part for part, again in zip(cut, searched, strict=True) if not again], improved,
            strict=True):
        keep[part.sites], share[part.pairs] = k_keep, k_share
        work["rounds"] += n
        clock = clock or k_clock
    if plan_value(problem, keep, share) > before + 1e-6:
        found_by = "neighbourhood search"
    return keep, share, bounds, work, clock, found_by, variables


def _put(cut: list[Part], subs: list[Problem], plans: list[Plan], keep: np.ndarray,
         share: np.ndarray) -> tuple[dict[str, int], bool, bool]:
    """Parts' plans written into a plan of the whole (``keep``, ``share``, in place).

    Returns
    -------
    work, clock, greedy_only
        The parts' work summed (nodes, rounds, searches), whether the safety stop cut
        one short, and whether every one is its greedy start.
    """
    for part, sub, plan in zip(cut, subs, plans, strict=True):
        keep[part.sites] = plan.keep
        share[part.pairs] = pair_shares(sub, plan.assignment)  # restrict() keeps pair order
    work = {key: sum(_count(plan, key) for plan in plans)
            for key in ("nodes", "rounds", "searches")}
    return (work, any(plan.stopped_by_clock for plan in plans),
            all(plan.found_by == "greedy start" for plan in plans))


def _in_workers(function: Callable[..., Any], jobs: list[tuple[Any, ...]],
                threads: int) -> list[Any]:
    """``function`` over ``jobs`` (argument tuples), in order.

    ``threads`` at a time in fresh processes (a part's solver memory is not carried to
    the next), or one after the other where ``threads`` is 1: the same answers.
    """
    if threads > 1 and len(jobs) > 1:
        with _interrupt.worker_pool(min(threads, len(jobs)), tasks_per_worker=1) as pool:
            return list(pool.map(function, *zip(*jobs, strict=True)))
    return [function(*job) for job in jobs]


def _part_root(relaxed: Problem, sub: Problem, solver: SolverSettings,
               deadline: float) -> _Outcome:
    """One part's root search under its least share, hinted with a start under ``sub``'s.

    Module level, for parallel processes; ``solver`` has no rounds and no split.
    """
    start = feasible_start(sub, solver)
    exact = len(relaxed.pair_site) < solver.exact_max_pairs
    return _search(relaxed, solver, deadline, None, exact, start)


def _part_rounds(sub: Problem, keep: np.ndarray, share: np.ndarray, solver: SolverSettings,
                 deadline: float) -> tuple[np.ndarray, np.ndarray, int, bool]:
    """One part's plan improved by ``solver.rounds`` rounds (module level, for processes).

    Returns
    -------
    keep, share, rounds, clock
        The plan, the rounds run and whether the safety stop cut them short.
    """
    keep, share, rounds, clock, _ = improve(sub, keep, share, solver, deadline)
    return keep, share, rounds, clock


def _solve_priced(problem: Problem, solver: SolverSettings, deadline: float) -> Plan | None:
    """A plan of a problem whose measures rules tie together, searched with them priced.

    :func:`~tp_assets.optimise.priced.priced_problem` prices the rules at the linear
    relaxation's duals; its plan's sites take their measures under the real rules
    (:func:`choose_options`), and its bound bounds the original (a Lagrangian bound).

    Returns
    -------
    Plan or None
        ``None`` where the relaxation has no optimum or the rules cannot hold with the
        sites the priced plan keeps: the caller then searches the model with option
        variables.
    """
    from tp_assets.optimise.priced import priced_problem

    priced = priced_problem(problem)
    if priced is None:
        return None
    plan = _solve(priced[0], solver, deadline)
    share = pair_shares(problem, plan.assignment)
    chosen = choose_options(problem, plan.keep, solver)
    if chosen is None:
        return None
    objective = plan_value(problem, plan.keep, share) + chosen[1]
    bound = max(plan.best_bound_gbp, objective)
    gap = relative_gap(bound, objective)
    status = "OPTIMAL" if gap <= solver.relative_gap else "FEASIBLE"
    prices = ", ".join(f"{row.kind} {price:,.4g}" for row, price in
                       zip(problem.options.rows, priced[1], strict=True)  # type: ignore[union-attr]
                       if price > 0)
    return dataclasses.replace(
        plan, objective_gbp=objective, best_bound_gbp=bound, gap=gap, status=status,
        solver=f"{plan.solver}, measures' rules priced ({prices or 'none binding'})",
        work={**plan.work, "priced_rules": len(problem.options.rows)})  # type: ignore[union-attr]


def no_plan_words(solver: SolverSettings, clock: bool, why: str) -> str:
    """The message of a search that ended with no plan (``why``: the solver's reason)."""
    return ("no plan was found within the search's budget"
            + (f" (stopped by the clock: [solver] time_limit_s = {solver.time_limit_s:g} s)"
               if clock else f" ({why})")
            + "; the solver did not prove that the rules conflict. Raise [solver] "
            + ("time_limit_s" if clock else "root_nodes") + ", or relax the rules")


def _count(plan: Plan | None, key: str) -> int:
    """A whole number of work a part's plan records (0 where there is none)."""
    value = None if plan is None else plan.work.get(key)
    return value if isinstance(value, int) else 0


def _part_plan(problem: Problem, solver: SolverSettings, deadline: float,
               bound_only: bool = False) -> Plan | None:
    """One part's plan (module level, for parallel processes); ``None`` where none.

    ``deadline`` is the whole search's safety stop, shared by every part; a bound's
    search (no rounds) that would start after it is not started.
    """
    if bound_only and time.time() >= deadline:
        return None
    try:
        return _solve(problem, solver, deadline)
    except (InfeasibleError, NoPlanError):
        return None


@dataclass
class _Outcome:
    """What one search returns: its termination, plan, bound and the work it did."""

    reason: str
    objective: float
    bound: float
    keep: np.ndarray | None
    y: np.ndarray | None
    size: dict[str, int]
    found_by: str = "solver"
    nodes: int = 0
    rounds: int = 0
    clock: bool = False


def _combine(branches: Sequence[tuple[int, int] | None], outcomes: list[_Outcome],
             solver: SolverSettings) -> tuple[_Outcome, float, float, str]:
    """The answer of the searches: best plan, bound, gap and status.

    Each branch's bound is the tightest of its searches' (-inf where one proved it
    infeasible); the answer's bound is the highest branch bound, its plan the best of
    all (the first, in the order given, of equal plans). It is OPTIMAL when every
    branch was solved or proved infeasible, or when the gap is within
    ``solver.relative_gap``.

    Raises
    ------
    InfeasibleError
        Every branch proved infeasible.
    NoPlanError
        No search found a plan, and not every branch was proved infeasible.
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
    if not found:
        raise NoPlanError(no_plan_words(solver, any(o.clock for o in outcomes),
                                        outcomes[0].reason))
    best = found[int(np.argmax([o.objective for o in found]))]  # first of equal plans
    bound = max(bounds.values())
    if all(closed.values()) and not np.isfinite(bound):
        bound = best.objective
    gap = relative_gap(bound, best.objective)
    status = "OPTIMAL" if all(closed.values()) or gap <= solver.relative_gap else "FEASIBLE"
    if status == "OPTIMAL":
        gap = min(gap, solver.relative_gap)
    return best, bound, gap, status


def _split_site(problem: Problem, solver: SolverSettings, deadline: float
                ) -> tuple[Problem, int | None, bool, tuple[np.ndarray, np.ndarray] | None]:
    """The site whose keep/dispose decision splits the search in two.

    The most valuable disposals decide the most: the candidates are the free sites of
    highest disposal value (``solver.split_candidates``), each holding at least
    ``solver.split_min_value_share`` of all free sites' disposal value. Each, in
    falling value, is probed: a MIP search of ``solver.probe_nodes`` nodes (0: HiGHS's
    presolve alone, a fraction of a second on the demo), then, where that proves
    nothing, a feasible start that disposes of it (:func:`feasible_start`). A site
    whose disposal is proved infeasible must be kept in every plan, and is fixed so;
    the first site not proved so is the split.

    Returns
    -------
    problem, site, clock, start
        The problem with the proved keeps fixed, the split site's index (``None``
        when none was found), whether the safety stop cut a probe short, and the
        probe's feasible start that disposes of the split site (``None`` where none),
        which that side's search starts from.
    """
    p = problem
    free = p.keep_fixed == -1
    least = max(solver.split_min_value_share * float(p.disposal_value[free].clip(0).sum()),
                np.finfo(float).tiny)
    candidates = [int(b) for b in np.argsort(-p.disposal_value, kind="stable")
                  if free[b] and p.disposal_value[b] >= least]
    keep_fixed = p.keep_fixed.copy()
    for b in candidates[:solver.split_candidates]:
        fixed = dataclasses.replace(p, keep_fixed=keep_fixed)
        verdict, start = _probe(fixed, solver, b, deadline)
        if verdict == "clock":
            return fixed, None, True, None
        if verdict != "infeasible":
            return fixed, b, False, start
        keep_fixed[b] = 1
    return dataclasses.replace(p, keep_fixed=keep_fixed), None, False, None


def _with_site_fixed(problem: Problem, site: int, keep: int) -> Problem:
    """The problem with one site's decision fixed: 1 kept, 0 disposed of."""
    keep_fixed = problem.keep_fixed.copy()
    keep_fixed[site] = keep
    return dataclasses.replace(problem, keep_fixed=keep_fixed)


def _probe(problem: Problem, solver: SolverSettings, site: int, deadline: float
           ) -> tuple[str, tuple[np.ndarray, np.ndarray] | None]:
    """Whether plans may dispose of ``site``, and the feasible start that shows it.

    The verdict is ``"feasible"``, ``"infeasible"``, ``"unknown"``, or ``"clock"``
    where the safety stop cut the probe short.
    """
    fixed = _with_site_fixed(problem, site, 0)
    # the MIP search first: on the demo its presolve proves most candidates kept in
    # 0.3 s, where looking for a start (a greedy start, then a repair model) first
    # took 2 s each; a start exists only where no proof does, so the verdicts and the
    # start are the same either way
    result = Model(fixed, integer_coverage=solver.backend == "cpsat").solve(
        solver, node_limit=solver.probe_nodes, gap=1.0, hint=False,
        time_limit_s=deadline - time.time())
    if stopped_by_clock(result):
        return "clock", None
    if reason(result).startswith("INFEASIBLE"):
        return "infeasible", None
    start = feasible_start(fixed, solver)
    if start is not None:
        return "feasible", start
    return ("feasible" if result.has_primal_feasible_solution() else "unknown"), None


def _search(problem: Problem, solver: SolverSettings, deadline: float,
            branch: tuple[int, int] | None, exact: bool,
            start: tuple[np.ndarray, np.ndarray] | None = None) -> _Outcome:
    """One search: a start, the MIP search, then neighbourhood rounds where not optimal.

    Module level, so parallel processes can run it. ``branch`` (site, 0 or 1) limits
    the search to the plans that dispose of (0) or keep (1) the site. ``exact``: the
    MIP search has ``solver.exact_nodes`` nodes and no rounds follow; otherwise
    ``solver.root_nodes`` and :func:`improve`. ``start``: the feasible start, where
    already found (the split probe's); else :func:`feasible_start`.
    """
    if branch is not None:
        problem = _with_site_fixed(problem, *branch)
    if start is None:
        start = feasible_start(problem, solver)
    if start is not None and time.time() >= deadline:  # the safety stop before the search
        return _Outcome("TIME_LIMIT", _value(problem, *start, solver), np.inf, *start, {},
                        "greedy start", clock=True)
    model = Model(problem, integer_coverage=solver.backend == "cpsat")
    result = model.solve(solver, node_limit=solver.exact_nodes if exact else solver.root_nodes,
                         time_limit_s=deadline - time.time(), start=start)
    why, nodes, clock = reason(result), node_count(result), stopped_by_clock(result)
    if not result.has_primal_feasible_solution():
        if why.startswith("INFEASIBLE") or start is None:
            return _Outcome(why, -np.inf, np.inf, None, None, model.size, nodes=nodes,
                            clock=clock)
        (keep, y), bound, found_by = start, np.inf, "greedy start"
    else:
        bound = dual_bound(result)
        keep, y = model.plan(result)
        found_by = "solver"
        if why == "OPTIMAL":
            return _Outcome(why, _value(problem, keep, y, solver), bound, keep, y, model.size,
                            nodes=nodes, clock=clock)
        if start is not None and (_value(problem, *start, solver)
                                  >= _value(problem, keep, y, solver)):
            (keep, y), found_by = start, "greedy start"
    rounds = 0
    if not exact and not clock and solver.rounds > 0:
        before = _value(problem, keep, y, solver)
        keep, y, rounds, clock, proved = improve(problem, keep, y, solver, deadline)
        if _value(problem, keep, y, solver) > before + 1e-6:
            found_by = "neighbourhood search"
        if proved:
            why, bound = "OPTIMAL", _value(problem, keep, y, solver)
    return _Outcome(why, _value(problem, keep, y, solver), bound, keep, y, model.size, found_by,
                    nodes, rounds, clock)
