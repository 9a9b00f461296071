"""Why a scenario cannot hold, in an estates officer's words.

Conflicts seen before solving (:func:`precheck`), the fewest rules that must give way
(:func:`explain`, an elastic model) and the changes any one of which lets every other
rule hold (:func:`culprits`).
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from tp_assets import _interrupt, settings
from tp_assets._errors import shortlist
from tp_assets._toml import Sources, locate, locate_value
from tp_assets.access import TravelTimes, walk_minutes_between
from tp_assets.estate import Estate
from tp_assets.optimise.adapter import at_line, build_problem, forced_by
from tp_assets.optimise.model import Model, reason
from tp_assets.optimise.problem import OptionRow, Problem
from tp_assets.optimise.search import feasible_start
from tp_assets.scenario import Scenario, SolverSettings
from tp_assets.suitability import Suitability


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


def _in_register(estate: Estate | None, role: str, ids: list[str], before: str = " in ",
                 after: str = "") -> str:
    """Where records are in the register (``" in sites.csv row 4"``); empty if unknown."""
    return "" if estate is None else f"{before}{estate.where(role, ids)}{after}"


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
                   f"{at_line(sources, 'max_move_minutes', 'rules')} may host it"
                   if p.movable is not None and p.movable[s] else
                   f"it is immovable (movable = false{marked})" if p.movable is not None else
                   "it is immovable (movable = false) or no other site within reach may host "
                   "it")
            where = _why_not(p, int(c), names)
            if barred and p.keep_fixed[c] != 0:
                category = ("" if estate is None else
                            str(estate.sites["benchmark"].iloc[int(c)]))
                where += (f", where [rules] not_hosted"
                          f"{at_line(sources, category, 'rules.not_hosted') if category else ''} "
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
                at = at_line(sources, "", f"standards.{t}")
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
                out.append(f"coverage for {t}{at_line(sources, 'coverage', f'standards.{t}')} "
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
            at = at_line(sources, p.owner_names[owner], "caps.min_sites_per_owner")
            if int(held.sum()) < minimum:
                n = int(held.sum())
                out.append(f"{p.owner_names[owner]} holds only {n} site{'s' * (n != 1)} but "
                           f"[caps.min_sites_per_owner]{at} asks it to keep {minimum}; lower "
                           "the minimum")
            elif available < minimum:
                forced = [str(i) for i in p.site_ids[held & ~free]]
                out.append(f"{p.owner_names[owner]} must keep at least {minimum} sites{at} but "
                           f"only {available} of its {int(held.sum())} are not forced out "
                           f"({forced_by(forced, estate, sources)}); lower the minimum or "
                           "dispose of fewer")
    if p.max_disposals is not None and (p.keep_fixed == 0).sum() > p.max_disposals:
        forced = [str(i) for i in p.site_ids[p.keep_fixed == 0]]
        out.append(f"{len(forced)} sites are forced out ({forced_by(forced, estate, sources)}) "
                   f"but [caps] max_disposals = {p.max_disposals}"
                   f"{at_line(sources, 'max_disposals', 'caps')}; raise the cap or dispose "
                   "of fewer")
    return out


#: The heading of the conflicts seen before solving.
AS_THEY_STAND = "as the rules stand:"


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
    solve, their shortfall, and each row that gives way is reported. Each solve has
    ``solver.explain_nodes`` branch-and-bound nodes (and the safety stop).

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
        return seen, AS_THEY_STAND
    backend = solver.backend if solver.backend != "cpsat" else "highs"
    model = Model(problem, elastic=True)
    exact = dataclasses.replace(solver, backend=backend, relative_gap=0.0)
    deadline = time.time() + solver.time_limit_s
    result = model.solve(exact, node_limit=solver.explain_nodes,
                         time_limit_s=deadline - time.time())
    fewest = reason(result) == "OPTIMAL"
    least_found = False
    if result.has_primal_feasible_solution():
        model.least_slack(result.objective_value())
        least = model.solve(exact, values=result.variable_values(),
                            node_limit=solver.explain_nodes,
                            time_limit_s=deadline - time.time())
        if least.has_primal_feasible_solution():
            result = least
            least_found = reason(least) == "OPTIMAL"
    if not fewest:
        heading = ("as the rules stand, these give way (the fewest found within the search's "
                   "budget; a smaller set may exist):")
    elif not least_found:
        heading = ("as the rules stand, the fewest that must give way (each shortfall is "
                   "enough; the search for the least did not finish within its budget):")
    else:
        heading = "as the rules stand, the fewest that must give way:"
    if not result.has_primal_feasible_solution():
        return [f"the search for the rules that give way found none within its budget "
                f"([solver] explain_nodes = {solver.explain_nodes})"], heading
    p = problem
    names = ({} if estate is None else
             dict(zip(estate.sites["site_id"], estate.sites["name"], strict=True)))
    out = []
    values = result.variable_values([v for v, *_ in model.slacks])
    kept = np.asarray(result.variable_values(model.x), dtype=float) > 0.5
    for (_, _, kind, key, _), value in zip(model.slacks, values, strict=True):
        if value <= 1e-6:
            continue
        if kind == "no_loss":
            r_index, g = key
            rule = p.rules[r_index]
            t = p.type_names[rule.service_type]
            listed = _site_list(p, rule.group_sites[g], names)
            out.append(f"no_loss for {t}{at_line(sources, '', f'standards.{t}')} cannot hold with "
                       "the other rules: zone(s) "
                       f"{shortlist(rule.group_zones[g])} are within {rule.max_minutes:g} minutes "
                       f"only of {listed}")
        elif kind == "coverage":
            rule = p.rules[int(key)]
            t = p.type_names[rule.service_type]
            short = _up(value)
            reached = (rule.coverage * rule.total_demand - short) / rule.total_demand
            out.append(f"coverage for {t}{at_line(sources, 'coverage', f'standards.{t}')} cannot "
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
                       f"{at_line(sources, 'max_one_off_gbp', 'caps')} is too low by "
                       f"£{_up(value):,} for the moves the other rules require")
        elif kind == "disposals":
            out.append(f"[caps] max_disposals = {p.max_disposals}"
                       f"{at_line(sources, 'max_disposals', 'caps')} is too low by {_up(value)}")
        elif kind == "owner":
            owner = p.owner_names[int(key)]
            out.append(f"{owner} cannot keep its minimum of {p.min_sites_per_owner[int(key)]} "
                       f"sites{at_line(sources, owner, 'caps.min_sites_per_owner')} (short by "
                       f"{_up(value)})")
        elif kind in ("capital", "capital_year", "carbon", "fossil"):
            assert p.options is not None
            out.append(_energy_words(p, p.options.rows[int(key)], value, names, kept))
        elif kind == "conflict":
            t1, t2, b = key
            out.append(f"{p.type_names[t1]} and {p.type_names[t2]} would have to share "
                       f"{_why_not(p, int(b), names)}, which [rules] incompatible"
                       f"{at_line(sources, 'incompatible', 'rules')} forbids")
    if not out:
        return ["the solver reported the rules infeasible but no single rule gives way"], heading
    return out, heading


def _energy_words(problem: Problem, row: OptionRow, shortfall: float,
                  names: dict[str, str], kept: np.ndarray) -> str:
    """What a rule over measures that gives way says, and by how much it falls short.

    For a carbon target, the largest emitters the elastic plan keeps that the rules let
    go (free sites, vacated by the target year) are named: disposing of them would cut
    the most.
    """
    if row.kind == "carbon":
        free = (problem.keep_fixed[row.site_index] == -1) & kept[row.site_index]
        order = np.argsort(-row.site_coef[free], kind="stable")[:3]
        big = [f"{_why_not(problem, int(b), names)}, {t:,.1f} t" for b, t in
               zip(row.site_index[free][order], row.site_coef[free][order], strict=True)]
        return (f"{row.words} cannot be met with the other rules: the estate would still "
                f"emit {shortfall:,.1f} tCO2e too much that year; more capital for measures, "
                "a later target year, or disposing of more of the largest emitters would "
                "close it" + (f" (the largest it keeps that may go: {'; '.join(big)})"
                               if big else ""))
    if row.kind == "fossil":
        b = int(row.key or 0)
        return (f"{row.words}: {_why_not(problem, b, names)} would still heat with gas or "
                "oil; it can take no heat pump within the other rules (none suits it, or "
                "the budget cannot pay for one), and it cannot be disposed of")
    return (f"{row.words} is too low by £{_up(shortfall):,} for the measures the other rules "
            "require")


def explain_both(estate: Estate, times: dict[str, TravelTimes], scenario: Scenario,
                  problem: Problem) -> tuple[list[str], str, tuple[list[str], str]]:
    """:func:`culprits` and :func:`explain` of a solver-proven conflict.

    With ``[solver] threads`` of 2 or more the elastic model is solved in a child
    process while the relaxed rules are tried here; otherwise one after the other
    (the same words either way).
    """
    if scenario.solver.threads < 2:
        changes, untried = culprits(estate, times, scenario, problem)
        return changes, untried, explain(problem, scenario.solver, estate, scenario.texts)
    with _interrupt.worker_pool(1) as pool:
        elastic = pool.submit(explain, problem, scenario.solver, estate, scenario.texts)
        changes, untried = culprits(estate, times, scenario, problem)
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
    forced: bool = False  # tried even with no new candidate site (a forced disposal kept,
    # an energy rule relaxed)
    measure: Callable[[Problem], np.ndarray] | None = None
    floor: float = 0.0
    total: bool = False
    group: str = ""  # of a group (later target years, say), only the first that works


def culprits(estate: Estate, times: dict[str, TravelTimes], scenario: Scenario,
              problem: Problem) -> tuple[list[str], str]:
    """The rules that alone stop the others holding: with one relaxed, all hold.

    These are the rules that remove candidate sites before the model is built, so
    the elastic model of :func:`explain` cannot relax them. Each relaxation of
    :func:`_relaxations` is tried on its own, the others as they are, within
    ``[solver] explain_try_nodes`` nodes, and only when it gives some service a
    candidate site that ``problem`` (the scenario's own) lacks or keeps a forced
    disposal; a plan found (the greedy start, else a short search) names it.

    Returns
    -------
    changes
        One sentence per change that would let every other rule hold.
    untried
        Which forced disposals were not tried, or ``""``.
    """
    relaxations, untried = _relaxations(estate, scenario)
    solver = scenario.solver
    quick = dataclasses.replace(  # as explain(): CP-SAT cannot take the continuous shares
        solver, relative_gap=1.0, round_nodes=solver.explain_try_nodes,
        backend="highs" if solver.backend == "cpsat" else solver.backend)
    deadline = time.time() + solver.time_limit_s
    exact = dataclasses.replace(quick, relative_gap=0.0)
    known = set(zip(problem.pair_service.tolist(), problem.pair_site.tolist(), strict=True))
    out = []
    done: set[str] = set()
    for r in relaxations:
        if r.group and r.group in done:
            continue
        relaxed = build_problem(r.estate, times, r.scenario)
        new = set(zip(relaxed.pair_service.tolist(), relaxed.pair_site.tolist(),
                      strict=True)) - known
        if not (r.forced or new) or precheck(relaxed, r.estate):
            continue
        found = feasible_start(relaxed, quick)
        if found is None:
            model = Model(relaxed)
            result = model.solve(quick, node_limit=solver.explain_try_nodes, hint=False,
                                 time_limit_s=deadline - time.time())
            if result.has_primal_feasible_solution():
                found = model.plan(result)
        if found is None:
            continue
        share, worth = found[1], 0.0
        if r.measure is not None:
            share, worth = _least(relaxed, found, r.measure(relaxed), r.floor, exact,
                                  deadline, total=r.total)
        out.append(r.says(relaxed, share, worth))
        if r.group:
            done.add(r.group)
    return out, untried


def _energy_relaxations(estate: Estate, scenario: Scenario) -> list[_Relaxation]:
    """The ``[energy]`` rules relaxed, each on its own.

    The capital budget lifted; the carbon target, or the fuel rule, moved to each later
    year in turn (only the first that works is named).
    """
    energy, f = scenario.energy, scenario.finance
    last = f.start_date.year + f.horizon_years - 1
    out = []

    def changed(**kwargs: Any) -> Scenario:
        return dataclasses.replace(scenario, energy=dataclasses.replace(energy, **kwargs))

    if energy.capital_gbp is not None or energy.capital_gbp_per_year is not None:
        keys = [k for k in ("capital_gbp", "capital_gbp_per_year")
                if getattr(energy, k) is not None]
        text = ("lifting [energy.budget] " + " and ".join(
            f"{k} = {getattr(energy, k):,.0f}{at_line(scenario.texts, k, 'energy.budget')}"
            for k in keys))
        out.append(_Relaxation(estate, changed(capital_gbp=None, capital_gbp_per_year=None),
                               lambda *_, text=text: text, forced=True))
    target = energy.target
    if target is not None and target.offset_gbp_per_tco2e is None:
        where = at_line(scenario.texts, "year", "energy.target")
        for year in range(target.year + 1, last + 1):
            text = f"moving the carbon target{where} from {target.year} to {year}"
            out.append(_Relaxation(estate, changed(target=dataclasses.replace(
                target, year=year)), lambda *_, text=text: text, forced=True,
                group="target"))
    if energy.fossil_heating_until is not None:
        where = at_line(scenario.texts, "fossil_heating_until", "energy.rules")
        for year in range(energy.fossil_heating_until + 1, last + 1):
            text = (f"moving [energy.rules] fossil_heating_until{where} from "
                    f"{energy.fossil_heating_until} to {year}")
            out.append(_Relaxation(estate, changed(fossil_heating_until=year),
                                   lambda *_, text=text: text, forced=True, group="fossil"))
    return out


def _relaxations(estate: Estate, scenario: Scenario) -> tuple[list[_Relaxation], str]:
    """The relaxations :func:`culprits` tries, and the forced disposals left out.

    Every site forced out (``[status] dispose`` or ``status = dispose``; the
    ``[solver] explain_forced`` hosting the most space) kept; ``[rules]
    max_move_minutes`` and ``max_candidates`` lifted (naming the least limit a plan
    needs); each ``[rules] not_hosted`` entry dropped; ``[rules.suitability]`` dropped
    (where it rules out some service type's moves); the services marked
    ``movable = false`` let move (naming the fewest that must).
    """
    sites, services = estate.sites, estate.services
    names = dict(zip(sites["site_id"], sites["name"], strict=True))
    rules = scenario.rules
    registered = list(sites.loc[sites["status"] == "dispose", "site_id"])
    forced = list(dict.fromkeys([*scenario.dispose, *registered]))
    hosted = services.groupby("site_id")["area_m2"].sum()
    forced.sort(key=lambda sid: -float(hosted.get(sid, 0.0)))  # stable: ties as written
    most = scenario.solver.explain_forced
    tried, skipped = forced[:most], forced[most:]
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
    barred_by_suitability = [t for t, by_category in rules.suitability.rules.items()
                             if t in set(services["service_type"])
                             and any(not r.hosts for r in by_category.values())]
    if barred_by_suitability:
        text = (f"letting {shortlist(sorted(barred_by_suitability))} move into buildings that "
                "[rules.suitability] rules out ([rules.suitability] default = false, and no "
                "entries that say false)")
        out.append(_Relaxation(estate, relaxed(suitability=Suitability()),
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
    return out + _energy_relaxations(estate, scenario), untried


def _least(problem: Problem, found: tuple[np.ndarray, np.ndarray], measure: np.ndarray,
           floor: float, solver: SolverSettings, deadline: float = np.inf, *,
           total: bool = False) -> tuple[np.ndarray, float]:
    """A plan whose largest ``measure`` over the pairs it uses is least (at least ``floor``).

    With ``total``, the plan whose sum of ``measure`` over the pairs it uses is least
    instead. ``found`` is a feasible plan; a search of ``solver.explain_try_nodes``
    nodes (safety stop ``deadline``, :func:`time.time` seconds) looks for a better
    one. Returns the share per pair of the better, and its largest (or total) measure.
    """
    def worth(share: np.ndarray) -> float:
        used = measure[share > 1e-9]
        return float(used.sum()) if total else max(float(used.max(initial=0.0)), floor)

    model = Model(problem)
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
    result = model.solve(solver, node_limit=solver.explain_try_nodes, start=found,
                         time_limit_s=deadline - time.time())
    if result.has_primal_feasible_solution():
        share = model.plan(result)[1]
        if worth(share) < best[1]:
            return share, worth(share)
    return best
