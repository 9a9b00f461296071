"""The optimiser: brute force, published optima, properties, infeasibility in words."""

from __future__ import annotations

import dataclasses
import os
import pickle
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from optimise_cases import load, make_scenario, random_place, two_places

from tp_assets import access, check, estate, optimise, scenario
from tp_assets._errors import InfeasibleError, NoPlanError
from tp_assets.optimise import explain as why_
from tp_assets.optimise import model as model_
from tp_assets.optimise import search
from tp_assets.suitability import HostRule, Suitability

# --------------------------------------------------------------------------- brute force


def brute_force(p: optimise.Problem) -> float:
    """Best NPV by enumerating every assignment of every service to a candidate host.

    For a given assignment the best keep set disposes of every unused site that is
    not forced to stay (disposal values are never negative), keeping back the
    cheapest unused sites when a disposal cap binds. Returns -inf when nothing is
    feasible.
    """
    assert (p.disposal_value >= 0).all()
    n_s, n_b = len(p.service_ids), p.n_sites
    cands = [np.flatnonzero(p.pair_service == s) for s in range(n_s)]
    sizes = np.array([len(c) for c in cands])
    total = int(np.prod(sizes))
    strides = np.cumprod(np.r_[1, sizes[:-1]])
    best = -np.inf
    n_types = len(p.type_names)
    for start in range(0, total, 200_000):
        idx = np.arange(start, min(total, start + 200_000))
        pair = np.column_stack([cands[s][(idx // strides[s]) % sizes[s]] for s in range(n_s)])
        site = p.pair_site[pair]
        cost = p.pair_cost[pair].sum(axis=1)
        onehot = site[:, :, None] == np.arange(n_b)[None, None, :]  # N x S x B
        load = (onehot * p.area[None, :, None]).sum(axis=1)
        ok = (load <= p.capacity[None, :] + 1e-9).all(axis=1)
        ok &= ~onehot[:, :, p.keep_fixed == 0].any(axis=(1, 2))  # forced out: empty
        hosted = np.zeros((len(idx), n_types, n_b), dtype=bool)
        for s in range(n_s):
            hosted[:, p.service_type[s], :] |= onehot[:, s, :]
        for t1, t2 in p.conflicts:
            ok &= ~(hosted[:, t1, :] & hosted[:, t2, :]).any(axis=1)
        for rule in p.rules:
            served = np.column_stack([hosted[:, rule.service_type, g].any(axis=1)
                                      for g in rule.group_sites]) if rule.group_sites else \
                np.zeros((len(idx), 0), dtype=bool)
            if rule.rule == "no_loss":
                req = np.flatnonzero(rule.group_required)
                ok &= served[:, req].all(axis=1)
            else:
                ok &= served @ rule.group_demand >= rule.coverage * rule.total_demand - 1e-9
        if p.max_one_off_gbp is not None:
            ok &= cost <= p.max_one_off_gbp + 1e-9
        used = onehot.any(axis=1) | (p.keep_fixed == 1)[None, :]
        value = np.where(used, 0.0, p.disposal_value[None, :])
        if p.max_disposals is not None:
            extra = np.maximum(0, (~used).sum(axis=1) - p.max_disposals)
            cheapest = np.sort(np.where(used, np.inf, p.disposal_value[None, :]), axis=1)
            csum = np.cumsum(np.where(np.isfinite(cheapest), cheapest, 0.0), axis=1)
            back = np.where(extra > 0, csum[np.arange(len(idx)), np.maximum(extra - 1, 0)], 0)
            value = value.sum(axis=1) - back
        else:
            value = value.sum(axis=1)
        objective = np.where(ok, value - cost, -np.inf)
        best = max(best, float(objective.max()))
    return best


CASES = [(1, {}), (2, {"rules": scenario.Rules(max_move_minutes=60.0, max_candidates=2,
                                               incompatible=(("gp", "youth"),))}),
         (3, {"caps": scenario.Caps(max_disposals=2)}),
         (8, {"caps": scenario.Caps(max_one_off_gbp=90000.0)}),  # binds: 3.41m v 5.77m
         (5, {"retain": ("S0", "S1")})]


@pytest.mark.parametrize(("seed", "extra"), CASES, ids=[f"seed{c[0]}" for c in CASES])
def test_optimum_equals_brute_force(tmp_path: Path, seed: int, extra: dict) -> None:
    place = random_place(tmp_path / "p", seed)
    extra.setdefault("rules", scenario.Rules(max_move_minutes=60.0, max_candidates=2))
    scen = make_scenario(place, **extra)
    est, times = load(place, scen)
    problem = optimise.build_problem(est, times, scen)
    assert len(problem.service_ids) == 12
    assert problem.n_sites == 8
    expected = brute_force(problem)
    assert np.isfinite(expected)
    for backend in ("highs", "scip"):
        plan = optimise.solve(problem, dataclasses.replace(scen.solver, backend=backend))
        assert plan.status == "OPTIMAL"
        assert plan.objective_gbp == pytest.approx(expected, rel=1e-6, abs=1e-3), backend
        report = check.check_plan(est, times, scen, plan)
        assert report.npv_gbp == pytest.approx(expected, rel=1e-6, abs=1e-3)


def test_brute_force_sees_infeasible(tmp_path: Path) -> None:
    place = random_place(tmp_path / "p", 1)
    scen = make_scenario(place, caps=scenario.Caps(max_disposals=0, min_sites_per_owner={}),
                         rules=scenario.Rules(max_move_minutes=60.0, max_candidates=2))
    est, times = load(place, scen)
    problem = optimise.build_problem(est, times, scen)
    plan = optimise.solve(problem, scen.solver)
    assert plan.keep.all()
    assert plan.objective_gbp == pytest.approx(brute_force(problem), abs=1e-6)


# --------------------------------------------------------------------------- neighbourhood search


def _case(tmp_path: Path, seed: int, extra: dict) -> tuple:
    place = random_place(tmp_path / "p", seed)
    extra = dict(extra)
    extra.setdefault("rules", scenario.Rules(max_move_minutes=60.0, max_candidates=2))
    scen = make_scenario(place, **extra)
    est, times = load(place, scen)
    return est, times, scen, optimise.build_problem(est, times, scen)


def _start(problem: optimise.Problem, solver: scenario.SolverSettings
           ) -> tuple[np.ndarray, np.ndarray]:
    """The greedy plan, or (where the status quo breaks a rule) every free site kept."""
    start = optimise.feasible_start(problem, solver)
    if start is None:
        share = search.repair(problem, solver)
        assert share is not None
        start = (problem.keep_fixed != 0, share)
    return start


def _as_plan(problem: optimise.Problem, keep: np.ndarray, share: np.ndarray) -> optimise.Plan:
    value = optimise.plan_value(problem, keep, share)
    return optimise.Plan(problem.site_ids, keep, optimise.problem.assignment_frame(problem, share),
                         "FEASIBLE", value, np.inf, np.inf, 0.0, "test")


@pytest.mark.parametrize(("seed", "extra"), CASES, ids=[f"seed{c[0]}" for c in CASES])
def test_neighbourhood_search_over_every_site_reaches_the_optimum(
        tmp_path: Path, seed: int, extra: dict) -> None:
    est, times, scen, problem = _case(tmp_path, seed, extra)
    keep, share, rounds, clock, proved = optimise.improve(
        problem, *_start(problem, scen.solver), scen.solver)
    # 8 sites: one neighbourhood is the whole problem, solved exactly
    assert (rounds, clock, proved) == (1, False, True)
    assert optimise.plan_value(problem, keep, share) == pytest.approx(
        brute_force(problem), rel=1e-6, abs=1e-3)
    check.check_plan(est, times, scen, _as_plan(problem, keep, share))


@pytest.mark.parametrize(("seed", "extra"), CASES, ids=[f"seed{c[0]}" for c in CASES])
def test_neighbourhood_holds_the_rest_of_the_plan(tmp_path: Path, seed: int,
                                                  extra: dict) -> None:
    """The part around 3 sites, solved exactly: the best plan that changes only that part."""
    est, times, scen, problem = _case(tmp_path, seed, extra)
    keep, share = _start(problem, scen.solver)
    inside = np.zeros(problem.n_sites, dtype=bool)
    inside[np.random.default_rng(seed).choice(problem.n_sites, 3, replace=False)] = True
    sub, pairs, loose = optimise.neighbourhood(problem, keep, share, inside)
    held = ~np.isin(problem.pair_service, loose)
    outside = (problem.keep_fixed == -1) & ~inside
    assert (sub.keep_fixed[outside] == keep[outside]).all()
    plan = optimise.solve(sub, scen.solver)
    assert plan.status == "OPTIMAL"
    held_spend = float(share[held] @ problem.pair_cost[held])
    assert plan.objective_gbp == pytest.approx(brute_force(sub), rel=1e-6, abs=1e-3)
    new_share = np.where(held, share, 0.0)
    for k, (s, b) in enumerate(zip(sub.pair_service, sub.pair_site, strict=True)):
        row = plan.assignment[(plan.assignment["service_id"] == sub.service_ids[s])
                              & (plan.assignment["site_id"] == sub.site_ids[b])]
        new_share[pairs[k]] = float(row["share"].sum())
    combined = _as_plan(problem, plan.keep, new_share)
    assert combined.objective_gbp == pytest.approx(plan.objective_gbp - held_spend, abs=1e-3)
    assert combined.objective_gbp >= optimise.plan_value(problem, keep, share) - 1e-6
    report = check.check_plan(est, times, scen, combined)
    assert report.npv_gbp == pytest.approx(combined.objective_gbp, rel=1e-6, abs=1e-3)


@pytest.mark.parametrize("threads", [1, 2], ids=["one after the other", "side by side"])
@pytest.mark.parametrize(("seed", "extra"), [CASES[0], CASES[4]], ids=["seed1", "seed5"])
def test_the_split_search_reaches_the_optimum_however_many_processes(
        tmp_path: Path, seed: int, extra: dict, threads: int) -> None:
    """The two sides of the most valuable free site, in one process or two: the brute-force
    optimum, and the same plan."""
    est, times, scen, problem = _case(tmp_path, seed, extra)
    solver = dataclasses.replace(scen.solver, threads=threads, exact_max_pairs=0)
    plan = optimise.solve(problem, solver)
    # the split is the most valuable free site that some plan disposes of: those above
    # it were proved kept by their probes
    free = sorted(np.flatnonzero(problem.keep_fixed == -1),
                  key=lambda b: -problem.disposal_value[b])
    split = next(b for b in free if f"split on site {problem.site_ids[b]} (disposed / kept)"
                 in plan.solver)
    assert plan.work["split_site"] == problem.site_ids[split]
    assert plan.work["searches"] == 2
    assert plan.proved_kept == [str(problem.site_ids[b]) for b in
                                sorted(free[:free.index(split)])]
    for b in free[:free.index(split)]:
        out = dataclasses.replace(problem, keep_fixed=np.where(
            np.arange(problem.n_sites) == b, 0, problem.keep_fixed))
        assert brute_force(out) == -np.inf
    assert np.isfinite(brute_force(dataclasses.replace(problem, keep_fixed=np.where(
        np.arange(problem.n_sites) == split, 0, problem.keep_fixed))))
    assert plan.objective_gbp == pytest.approx(brute_force(problem), rel=1e-6, abs=1e-3)
    assert plan.best_bound_gbp >= plan.objective_gbp - 1e-3
    assert not plan.stopped_by_clock
    check.check_plan(est, times, scen, plan)
    other = optimise.solve(problem, dataclasses.replace(solver, threads=3 - threads))
    assert _fingerprint(other) == _fingerprint(plan)


def _fingerprint(plan: optimise.Plan) -> tuple:
    """Everything a plan decides, and what it says of itself, bar the seconds it took."""
    return (plan.keep.tobytes(), plan.assignment.to_csv(index=False), plan.status,
            plan.objective_gbp, plan.best_bound_gbp, plan.gap, plan.solver, plan.found_by,
            plan.stopped_by_clock, sorted(plan.work.items()), plan.proved_kept)


_SOLVE_ELSEWHERE = """
import hashlib, os, pickle, sys
from tp_assets.optimise import search
problem, solver, cpus = pickle.loads(open(sys.argv[1], "rb").read())
if cpus:
    os.sched_setaffinity(0, cpus)  # this process and the searches it starts
plan = search.solve(problem, solver)
print(hashlib.sha256(pickle.dumps((plan.keep.tobytes(), plan.assignment.to_csv(index=False),
      plan.objective_gbp, plan.best_bound_gbp, plan.found_by, plan.work))).hexdigest())
"""


def _plan_hash(tmp_path: Path, problem: optimise.Problem, solver: scenario.SolverSettings,
               cpus: set[int] | None = None) -> str:
    """The plan of ``problem``, solved in a fresh process (on ``cpus`` only), as a hash."""
    import subprocess
    import sys

    job = tmp_path / f"job{len(list(tmp_path.glob('job*')))}.pkl"
    job.write_bytes(pickle.dumps((problem, solver, cpus)))
    done = subprocess.run([sys.executable, "-c", _SOLVE_ELSEWHERE, str(job)], check=True,
                          capture_output=True, text=True)
    return done.stdout.strip()


def _busy_plan_hash(tmp_path: Path, problem: optimise.Problem,
                    solver: scenario.SolverSettings) -> str:
    """:func:`_plan_hash` with every core kept busy by CPU-burning processes."""
    import subprocess
    import sys

    burners = [subprocess.Popen([sys.executable, "-c", "while True: pass"])
               for _ in range(len(os.sched_getaffinity(0)) + 1)]
    try:
        return _plan_hash(tmp_path, problem, solver)
    finally:
        for burner in burners:
            burner.kill()
            burner.wait()


def _larger_case(tmp_path: Path) -> tuple[optimise.Problem, scenario.SolverSettings]:
    """30 sites, 60 services, the work-budgeted search (split, root node, rounds)."""
    place = random_place(tmp_path / "big", 7, n_sites=30, n_services=60, n_zones=80)
    scen = make_scenario(place, rules=scenario.Rules(max_move_minutes=60.0, max_candidates=6))
    est, times = load(place, scen)
    solver = dataclasses.replace(scen.solver, exact_max_pairs=0, rounds=8, round_sites=6,
                                 relative_gap=1e-4, threads=2)
    return optimise.build_problem(est, times, scen), solver


def test_the_same_plan_on_a_busy_machine(tmp_path: Path) -> None:
    """Every core kept busy by other work: the search takes longer, and finds the same plan."""
    problem, solver = _larger_case(tmp_path)
    quiet = _plan_hash(tmp_path, problem, solver)
    assert _busy_plan_hash(tmp_path, problem, solver) == quiet


def test_the_same_plan_of_two_boroughs_on_a_busy_machine(tmp_path: Path) -> None:
    """A decomposed search (bounds first, a fresh worker per part, seam rounds) finds the
    same plan with every core kept busy by other work."""
    place = two_places(tmp_path / "two", (1, 2), n_sites=5, n_services=6, n_zones=20)
    scen = make_scenario(place, standards={
        "library": scenario.Standard("library", 12.0, mode="straight_line"),
        "gp": scenario.Standard("gp", 15.0, mode="straight_line", rule="coverage",
                                coverage=0.3)},
        rules=scenario.Rules(max_move_minutes=60.0, max_candidates=2))
    est, times = load(place, scen)
    problem = optimise.build_problem(est, times, scen)
    solver = dataclasses.replace(scen.solver, exact_max_pairs=0, part_min_sites=3, threads=2)
    assert optimise.parts.couples(problem, optimise.parts.parts(problem, 3))
    quiet = _plan_hash(tmp_path, problem, solver)
    assert _busy_plan_hash(tmp_path, problem, solver) == quiet


def test_the_same_plan_on_one_core_or_several(tmp_path: Path) -> None:
    """Two searches given one core, or a core each, or run one after the other."""
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) < 2:
        pytest.skip("one core here: nothing to compare")
    problem, solver = _larger_case(tmp_path)
    several = _plan_hash(tmp_path, problem, solver)
    assert _plan_hash(tmp_path, problem, solver, cpus={cores[0]}) == several
    assert _plan_hash(tmp_path, problem, dataclasses.replace(solver, threads=1)) == several


@pytest.mark.parametrize("coverage", [False, True], ids=["parts apart", "a share to keep"])
def test_two_boroughs_are_searched_in_parts(tmp_path: Path, coverage: bool) -> None:
    """Two places that share nothing: searched one part at a time. With only no_loss rules
    the parts' optima make the optimum; with a coverage share over both, each part keeps
    a share of it, the plan holds every rule and the bound (from the least share each
    part must keep in any plan) is above the optimum."""
    place = two_places(tmp_path, (1, 2), n_sites=5, n_services=6, n_zones=20)
    standards = {"library": scenario.Standard("library", 12.0, mode="straight_line")}
    if coverage:
        standards["gp"] = scenario.Standard("gp", 15.0, mode="straight_line",
                                            rule="coverage", coverage=0.3)  # today 39.9 %
    scen = make_scenario(place, standards=standards,
                         rules=scenario.Rules(max_move_minutes=60.0, max_candidates=2))
    est, times = load(place, scen)
    problem = optimise.build_problem(est, times, scen)
    cut = optimise.parts.parts(problem, 3)  # a lone site of P1 packed with the rest of P1
    assert [sorted({str(i)[:2] for i in problem.site_ids[part.sites]}) for part in cut] == [
        ["P0"], ["P1"]]
    assert optimise.parts.couples(problem, cut) == coverage
    solver = dataclasses.replace(scen.solver, exact_max_pairs=0, part_min_sites=3)
    plan = optimise.solve(problem, solver)
    assert plan.work["parts"] == 2 and plan.solver.endswith(", 2 parts")
    assert check.check_plan(est, times, scen, plan).ok
    optimum = brute_force(problem)
    assert plan.objective_gbp <= optimum + 1e-3 <= plan.best_bound_gbp + 2e-3
    if not coverage:
        assert plan.objective_gbp == pytest.approx(optimum, rel=1e-6, abs=1e-3)
        assert plan.status == "OPTIMAL"
    whole = optimise.solve(problem, dataclasses.replace(solver, decompose=False))
    assert whole.work.get("parts") is None
    assert whole.objective_gbp >= plan.objective_gbp - 1e-3
    # the parts share the whole search's safety stop
    cut_short = optimise.solve(problem, dataclasses.replace(solver, time_limit_s=1e-9))
    assert cut_short.stopped_by_clock
    assert check.check_plan(est, times, scen, cut_short).ok


def _two_boroughs_with_shares(tmp_path: Path, caps: scenario.Caps) -> tuple:
    """Two boroughs tied by a coverage share and ``caps``, and their parts."""
    place = two_places(tmp_path, (1, 2), n_sites=5, n_services=6, n_zones=20)
    scen = make_scenario(place, standards={
        "library": scenario.Standard("library", 12.0, mode="straight_line"),
        "gp": scenario.Standard("gp", 15.0, mode="straight_line", rule="coverage",
                                coverage=0.3)},  # today 39.9 %
        rules=scenario.Rules(max_move_minutes=60.0, max_candidates=2), caps=caps)
    est, times = load(place, scen)
    problem = optimise.build_problem(est, times, scen)
    return est, times, scen, problem, optimise.parts.parts(problem, 3)


def test_a_plan_of_the_whole_shares_out_the_rules_so_each_part_keeps_its_own(
        tmp_path: Path) -> None:
    """Shares set from a plan of the whole: the plan keeps every part's share, and the
    shares add up to the whole's coverage need, caps and minimum."""
    *_, problem, cut = _two_boroughs_with_shares(tmp_path, scenario.Caps(
        max_disposals=4, max_one_off_gbp=400_000.0, min_sites_per_owner={"council": 2}))
    solver = dataclasses.replace(scenario.SolverSettings(), exact_max_pairs=0, decompose=False)
    plan = optimise.solve(problem, solver)
    keep, share = plan.keep, optimise.problem.pair_shares(problem, plan.assignment)
    assert optimise.problem.meets_rules(problem, keep, share)
    rules, caps = optimise.parts.apportion(problem, cut, (keep, share))
    for part, part_rules, part_caps in zip(cut, rules, caps, strict=True):
        sub = optimise.parts.restrict(problem, part, part_rules, part_caps)
        assert optimise.problem.meets_rules(sub, keep[part.sites], share[part.pairs])
    gp = next(k for k, r in enumerate(problem.rules) if r.rule == "coverage")
    need = problem.rules[gp].coverage * problem.rules[gp].total_demand
    given = sum(r[gp].coverage * r[gp].total_demand for r in rules)
    assert need - 1e-6 <= given <= need * (1 + 1e-9)
    assert sum(c[1] for c in caps) == 4  # type: ignore[misc]
    assert sum(c[0] for c in caps) == pytest.approx(400_000.0)  # type: ignore[misc]
    (owner, minimum), = problem.min_sites_per_owner.items()
    assert sum(c[2].get(owner, 0) for c in caps) == minimum
    # a plan that disposes of every free site keeps neither the whole's rules nor a share
    none = problem.keep_fixed == 1
    assert not optimise.problem.meets_rules(problem, none, share)


@pytest.mark.parametrize("cap", [None, 4], ids=["a coverage share", "and a disposals cap"])
def test_parts_tied_by_shares_are_bounded_and_planned_by_one_root_search_each(
        tmp_path: Path, cap: int | None) -> None:
    """Where rules add up over the parts, each part's root node is searched once, under
    the least share any plan leaves it: its bound, and a plan. Where those plans keep the
    whole's rules (a coverage share), nothing is searched again; where they break one (a
    disposals cap of 4, which each part's least share allows alone), the parts whose
    plan breaks its status-quo share are searched again under it. Either way the plan
    keeps every rule and lies within the bound of the optimum."""
    est, times, scen, problem, cut = _two_boroughs_with_shares(
        tmp_path, scenario.Caps(max_disposals=cap))
    assert len(cut) == 2 and optimise.parts.couples(problem, cut)
    solver = dataclasses.replace(scen.solver, exact_max_pairs=0, part_min_sites=3)
    plan = optimise.solve(problem, solver)
    assert plan.work["parts"] == 2
    assert (plan.work["searches"] == 2) == (cap is None)
    assert optimise.problem.meets_rules(
        problem, plan.keep, optimise.problem.pair_shares(problem, plan.assignment))
    assert check.check_plan(est, times, scen, plan).ok
    if cap is not None:
        assert (~plan.keep).sum() <= cap
    optimum = brute_force(problem)
    assert plan.objective_gbp <= optimum + 1e-3 <= plan.best_bound_gbp + 2e-3


def _two_boroughs_one_site_forced_out(
        tmp_path: Path, site: Callable[[pd.DataFrame], str], immovable: str | None = None
        ) -> tuple[estate.Estate, dict[str, access.TravelTimes], scenario.Scenario,
                   optimise.Problem, scenario.SolverSettings]:
    """Two random boroughs, ``site(services)`` forced out (after ``immovable`` is made so),
    a library standard, and the search that decomposes them."""
    place = two_places(tmp_path, (1, 2), n_sites=5, n_services=6, n_zones=20)
    services = pd.read_csv(place / "services.csv", keep_default_na=False)
    if immovable is not None:
        services.loc[services["service_id"] == immovable, "movable"] = False
        services.to_csv(place / "services.csv", index=False)
    sites = pd.read_csv(place / "sites.csv", keep_default_na=False)
    sites.loc[sites["site_id"] == site(services), "status"] = "dispose"
    sites.to_csv(place / "sites.csv", index=False)
    scen = make_scenario(place, standards={
        "library": scenario.Standard("library", 12.0, mode="straight_line")},
        rules=scenario.Rules(max_move_minutes=60.0, max_candidates=2))
    est, times = load(place, scen)
    problem = optimise.build_problem(est, times, scen)
    return est, times, scen, problem, dataclasses.replace(scen.solver, exact_max_pairs=0,
                                                          part_min_sites=3)


def _busiest_movable_site_of_p1(services: pd.DataFrame) -> str:
    mine = services[services["site_id"].str.startswith("P1")]
    movable = mine.groupby("site_id")["movable"].all()  # an immovable service could not go
    return str(mine[mine["site_id"].map(movable)].groupby("site_id").size().idxmax())


def test_a_decomposed_search_the_clock_stops_still_gives_a_plan(tmp_path: Path) -> None:
    """The safety stop spent before any part is searched: each part's start is still
    computed (the repair is bounded by nodes, not by the clock), also for a part whose
    services sit today in a site forced out of it, and the plan holds every rule."""
    est, times, scen, problem, solver = _two_boroughs_one_site_forced_out(
        tmp_path, _busiest_movable_site_of_p1)
    forced = _busiest_movable_site_of_p1(est.services)
    assert len(optimise.parts.parts(problem, 3)) == 2
    plan = optimise.solve(problem, dataclasses.replace(solver, time_limit_s=1e-9))
    assert plan.stopped_by_clock and plan.work["parts"] == 2
    assert not plan.keep[list(problem.site_ids).index(forced)]
    assert check.check_plan(est, times, scen, plan).ok


def test_a_service_that_can_go_nowhere_is_named_not_dropped(tmp_path: Path) -> None:
    """An immovable service in a site forced out has no candidate pair: the search says
    so (before, a decomposed search dropped it and failed on writing its plan)."""
    *_, problem, solver = _two_boroughs_one_site_forced_out(
        tmp_path, lambda services: str(services.set_index("service_id").at["P1V00", "site_id"]),
        immovable="P1V00")
    with pytest.raises(InfeasibleError, match=r"^service P1V00 can be placed nowhere: no site "
                       r"it may occupy \(an immovable service in a site forced out"):
        optimise.solve(problem, solver)


def test_a_service_whose_site_lies_in_another_part_is_placed_by_the_start(
        tmp_path: Path) -> None:
    """A part's service whose site today is outside the part (``current`` -1) has no
    status quo there: the start re-homes it like a service forced out, and the start is
    a plan that holds every rule."""
    est, times, scen, problem = _case(tmp_path, 3, {})
    movable = [s for s in range(len(problem.service_ids))
               if problem.movable[s] and (problem.pair_service == s).sum() > 1]
    away = dataclasses.replace(problem, current=np.where(
        np.arange(len(problem.service_ids)) == movable[0], -1, problem.current))
    start = optimise.feasible_start(away, scen.solver)
    assert start is not None
    keep, share = start
    ks = np.flatnonzero(away.pair_service == movable[0])
    assert share[ks].sum() == pytest.approx(1.0)  # placed, on a kept site
    assert keep[away.pair_site[ks[share[ks] > 0]]].all()
    assert check.check_plan(est, times, scen, _as_plan(away, keep, share)).ok


def test_without_a_split_one_search_runs(tmp_path: Path) -> None:
    est, times, scen, problem = _case(tmp_path, 1, {})
    plan = optimise.solve(problem, dataclasses.replace(scen.solver, exact_max_pairs=0,
                                                       split=False))
    assert plan.solver.endswith("MathOpt/HiGHS")
    assert plan.work["searches"] == 1 and plan.work["split_site"] is None
    assert plan.objective_gbp == pytest.approx(brute_force(problem), rel=1e-6, abs=1e-3)
    check.check_plan(est, times, scen, plan)


def test_split_answer_is_the_best_plan_and_the_highest_bound() -> None:
    """A solved side with the worse plan neither wins nor makes the answer OPTIMAL."""
    solver = scenario.SolverSettings(relative_gap=1e-4)
    plan = np.ones(2, dtype=bool), np.ones(3)

    def outcome(reason: str, objective: float, bound: float) -> search._Outcome:
        return search._Outcome(reason, objective, bound, *plan, {})

    sides = [(7, 0), (7, 1)]
    best, bound, gap, status = search._combine(
        sides, [outcome("TIME_LIMIT", 12.0, 15.0), outcome("OPTIMAL", 10.0, 10.0)], solver)
    assert (best.objective, bound, status) == (12.0, 15.0, "FEASIBLE")
    assert gap == pytest.approx(0.25)
    # the disposing side proved infeasible: the kept side's optimum is the answer
    best, bound, gap, status = search._combine(
        sides, [search._Outcome("INFEASIBLE", -np.inf, np.inf, None, None, {}),
                outcome("OPTIMAL", 10.0, 10.0)], solver)
    assert (best.objective, bound, status) == (10.0, 10.0, "OPTIMAL")
    # seeds of one branch: the tightest bound of the two counts
    best, bound, gap, status = search._combine(
        [None, None], [outcome("TIME_LIMIT", 9.0, 11.0), outcome("TIME_LIMIT", 10.0, 10.0005)],
        solver)
    assert (best.objective, bound, status) == (10.0, 10.0005, "OPTIMAL")  # within the gap
    with pytest.raises(InfeasibleError, match="cannot all hold"):
        search._combine(sides, [search._Outcome("INFEASIBLE", -np.inf, np.inf, None,
                                                    None, {})] * 2, solver)


def test_split_probes_fix_sites_that_cannot_go(tmp_path: Path) -> None:
    """With no disposal allowed, every probe proves its site kept, and none is split on."""
    _, _, scen, problem = _case(tmp_path, 1, {"caps": scenario.Caps(
        max_disposals=0, min_sites_per_owner={})})
    free = problem.keep_fixed == -1
    fixed, site, clock, _ = search._split_site(problem, scen.solver, deadline=np.inf)
    assert (site, clock) == (None, False)
    value = problem.disposal_value
    big = free & (value >= scen.solver.split_min_value_share * value[free].sum())
    assert big.sum() >= 2  # the probes have work to do
    assert (fixed.keep_fixed[free] == 1).sum() == min(int(big.sum()),
                                                      scen.solver.split_candidates)
    assert (fixed.keep_fixed[free & ~big] == -1).all()  # small sites are never probed
    assert (fixed.keep_fixed[~free] == problem.keep_fixed[~free]).all()


def test_no_split_where_no_site_carries_much_of_the_value(tmp_path: Path) -> None:
    """Equal disposal values (as in OR-Library's instances): nothing to split on."""
    *_, scen, problem = _case(tmp_path, 1, {})
    free = problem.keep_fixed == -1
    solver = dataclasses.replace(scen.solver, split_min_value_share=1.0 / free.sum() + 0.01)
    flat = dataclasses.replace(problem, disposal_value=np.full(problem.n_sites, 1e5))
    fixed, site, clock, _ = search._split_site(flat, solver, deadline=np.inf)
    assert (site, clock) == (None, False)
    assert (fixed.keep_fixed == problem.keep_fixed).all()


def test_neighbourhood_search_with_split_services(tmp_path: Path) -> None:
    """Split services held at fractional shares: every part re-solved keeps the plan valid."""
    place = random_place(tmp_path / "p", 4)
    scen = make_scenario(place, rules=scenario.Rules(max_move_minutes=60.0, max_candidates=3))
    est, times = load(place, scen)
    est.services.loc[est.services.index[:4], "splittable"] = True
    problem = optimise.build_problem(est, times, scen)
    optimum = optimise.solve(problem, scen.solver)
    assert optimum.status == "OPTIMAL"
    assert (optimum.assignment.groupby("service_id").size() > 1).any()  # something is split
    keep, share = _start(problem, scen.solver)
    for seed in range(4):
        inside = np.zeros(problem.n_sites, dtype=bool)
        inside[np.random.default_rng(seed).choice(problem.n_sites, 3, replace=False)] = True
        sub, pairs, loose = optimise.neighbourhood(problem, keep, share, inside)
        part = optimise.solve(sub, scen.solver)
        new_share = np.where(np.isin(problem.pair_service, loose), 0.0, share)
        for k, (s, b) in enumerate(zip(sub.pair_service, sub.pair_site, strict=True)):
            row = part.assignment[(part.assignment["service_id"] == sub.service_ids[s])
                                  & (part.assignment["site_id"] == sub.site_ids[b])]
            new_share[pairs[k]] = float(row["share"].sum())
        assert optimise.plan_value(problem, part.keep, new_share) >= optimise.plan_value(
            problem, keep, share) - 1e-6
        keep, share = part.keep, new_share
        check.check_plan(est, times, scen, _as_plan(problem, keep, share))
    keep, share, rounds, clock, proved = optimise.improve(problem, keep, share, scen.solver)
    assert (rounds, clock, proved) == (1, False, True)
    assert optimise.plan_value(problem, keep, share) == pytest.approx(optimum.objective_gbp,
                                                                      rel=1e-6)


def test_solver_values_are_made_exact(tmp_path: Path) -> None:
    """A binary read as 1e-10 must not count as a service hosted at that site."""
    *_, problem = _case(tmp_path, 1, {})
    problem = dataclasses.replace(problem, splittable=np.r_[True, np.zeros(11, dtype=bool)])
    raw = np.zeros(len(problem.pair_service))
    split, whole = (np.flatnonzero(problem.pair_service == s) for s in (0, 1))
    assert len(split) >= 3 and len(whole) >= 2
    raw[split[:2]] = [0.6, 0.4 - 2e-9]
    raw[whole[:2]] = [1e-10, 1.0 - 1e-9]
    clean = optimise.clean_shares(problem, raw)
    assert clean[split[:2]].sum() == pytest.approx(1.0, abs=1e-15)
    assert clean[split[0]] == pytest.approx(0.6, rel=1e-8)
    assert list(clean[whole[:2]]) == [0.0, 1.0]
    raw[split[2:]] = 5e-8  # slivers below SHARE_EPS are dropped
    assert (optimise.clean_shares(problem, raw)[split[2:]] == 0.0).all()
    # a neighbourhood with no candidate pairs left (seen on OR-Library capa)
    none = dataclasses.replace(problem, pair_service=problem.pair_service[:0],
                               pair_site=problem.pair_site[:0],
                               pair_cost=problem.pair_cost[:0])
    assert optimise.clean_shares(none, np.zeros(0)).shape == (0,)


# --------------------------------------------------------------------------- OR-Library


PUBLISHED = {"cap41": 1040444.375, "cap71": 932615.750, "cap101": 796648.437,
             "cap131": 793439.562}


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_orlib_published_optima(shared_data: Path, name: str) -> None:
    problem = optimise.orlib_problem(shared_data / "orlib" / f"{name}.txt")
    plan = optimise.solve(problem, scenario.SolverSettings(backend="highs", relative_gap=0.0,
                                                           time_limit_s=60))
    assert plan.status == "OPTIMAL"
    total_cost = problem.disposal_value.sum() - plan.objective_gbp  # fixed + assignment cost
    assert total_cost == pytest.approx(PUBLISHED[name], rel=1e-6)
    shares = plan.assignment.groupby("service_id")["share"].sum()
    assert np.allclose(shares, 1.0)


# --------------------------------------------------------------------------- properties


@settings(max_examples=8, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 10_000), minutes=st.sampled_from([8.0, 12.0, 20.0]),
       retain=st.integers(0, 7), share=st.sampled_from([0.3, 0.5]))
def test_properties(tmp_path_factory: pytest.TempPathFactory, seed: int, minutes: float,
                    retain: int, share: float) -> None:
    """Plans pass the checker, keep retained sites, and tighter standards never pay more.

    Tightening means demanding a larger covered share, or adding a standard. (Shortening
    a ``no_loss`` standard's minutes is not a tightening: fewer zones are within it
    today, so fewer zones are protected.)
    """
    place = random_place(tmp_path_factory.mktemp("p"), seed)

    def solve(standards: dict[str, scenario.Standard]) -> optimise.Plan | None:
        scen = make_scenario(place, standards=standards, retain=(f"S{retain}",))
        est, times = load(place, scen)
        try:
            plan = optimise.optimise(est, times, scen)
        except InfeasibleError:
            return None
        check.check_plan(est, times, scen, plan)  # any plan returned passes the checker
        assert plan.keep[list(plan.site_ids).index(f"S{retain}")]  # retained: kept
        return plan

    def cover(x: float) -> scenario.Standard:
        return scenario.Standard("library", minutes, mode="straight_line", rule="coverage",
                                 coverage=x)

    loose = solve({"library": cover(share)})
    tighter = solve({"library": cover(share + 0.2)})
    more = solve({"library": cover(share),
                  "youth": scenario.Standard("youth", minutes, mode="straight_line")})
    for plan in (tighter, more):
        if loose is None:
            assert plan is None  # a tighter scenario of an infeasible one is infeasible
        elif plan is not None:
            assert plan.objective_gbp <= loose.objective_gbp + 1e-6


# --------------------------------------------------------------------------- infeasible, in words

ACCESS = Path(__file__).parent / "data" / "access"


def _tiny(**kwargs: object) -> tuple:
    from tp_assets import access, estate

    est = estate.load_place(ACCESS)
    standards = {"library": scenario.Standard("library", 10.0),
                 "gp": scenario.Standard("gp", 20.0)}
    scen = scenario.Scenario(
        name="tiny", path=ACCESS / "scenario.toml", place=ACCESS,
        network=scenario.NetworkSpec(source="graphml"), standards=standards,
        **kwargs)  # type: ignore[arg-type]
    times = {"walk": access.travel_times(est, scen.network, mode="walk", cutoff_minutes=20,
                                         cache_dir="")}
    return est, times, scen


def _why(est: object, times: object, scen: scenario.Scenario) -> str:
    """The message of the :class:`InfeasibleError` that optimising raises."""
    with pytest.raises(InfeasibleError) as info:
        optimise.optimise(est, times, scen)  # type: ignore[arg-type]
    return str(info.value)


def test_tiny_plan_colocates_and_passes_check() -> None:
    est, times, scen = _tiny()
    plan = optimise.optimise(est, times, scen)
    report = check.check_plan(est, times, scen, plan)
    assert plan.status == "OPTIMAL"
    assert report.npv_gbp == pytest.approx(plan.objective_gbp)
    assert plan.objective_gbp > 0
    assert set(report.access["zones_lost"]) == {0}


def _with_solver(scen: scenario.Scenario, **changes: object) -> scenario.Scenario:
    return dataclasses.replace(scen, solver=dataclasses.replace(scen.solver, **changes))


def test_forced_disposals_that_break_no_loss_are_explained() -> None:
    est, times, scen = _tiny(dispose=("A", "B"))
    scen = _with_solver(scen, explain_forced=1)
    assert _why(est, times, scen) == (
        "scenario 'tiny' cannot hold all its rules:\n"
        # B (200 m2 of services) is tried before A (100 m2), which is not tried
        "  any one of these changes would let every other rule hold:\n"
        "  - keeping site B (Site B), which [status] dispose (scenario.toml) forces out\n"
        "  (1 more forced disposal not tried: A)\n"
        "  as the rules stand:\n"
        "  - no_loss for library (scenario.toml line 7) cannot hold: zone(s) Z1, Z2 are "
        "within 10 minutes only of site A (Site A; forced out) and site B (Site B; forced "
        "out)")
    assert InfeasibleError.exit_code == 3
    # none tried: the untried ones are not read as a change that works
    assert _why(est, times, _with_solver(scen, explain_forced=0)).startswith(
        "scenario 'tiny' cannot hold all its rules:\n"
        "  no single change tried would let every other rule hold\n"
        "  (2 more forced disposals not tried: B, A)\n"
        "  as the rules stand:\n")


def test_no_plan_within_the_budget_is_not_a_conflict() -> None:
    """A search that ended with no plan proved nothing: its own message and exit code."""
    outcome = search._Outcome("NO_SOLUTION_FOUND", -np.inf, np.inf, None, None, {})
    with pytest.raises(NoPlanError) as info:
        search._combine([None], [outcome], scenario.SolverSettings())
    assert str(info.value) == (
        "no plan was found within the search's budget (NO_SOLUTION_FOUND); the solver did "
        "not prove that the rules conflict. Raise [solver] root_nodes, or relax the rules")
    assert info.value.exit_code == 4
    assert not isinstance(info.value, InfeasibleError)
    assert isinstance(pickle.loads(pickle.dumps(info.value)), NoPlanError)  # from a process
    with pytest.raises(NoPlanError, match=r"\(stopped by the clock: \[solver\] time_limit_s = "
                                          r"7 s\); .* Raise \[solver\] time_limit_s"):
        search._combine([None], [dataclasses.replace(outcome, clock=True)],
                        scenario.SolverSettings(time_limit_s=7))


def test_a_plan_cut_short_by_the_clock_says_so_and_what_found_it() -> None:
    """The safety stop spent before the search began: the greedy start, and both said."""
    est, times, scen = _tiny()
    plan = optimise.optimise(est, times, _with_solver(scen, time_limit_s=1e-9))
    assert plan.stopped_by_clock and plan.found_by == "greedy start"
    assert plan.caveats == [
        "stopped by the clock ([solver] time_limit_s): this plan is not reproducible; raise "
        "time_limit_s or lower the search's work",
        "the solver found no better plan than its greedy start within its budget; this plan "
        "is that start"]
    assert check.check_plan(est, times, scen, plan).ok
    plan = optimise.optimise(est, times, scen)
    assert (plan.stopped_by_clock, plan.found_by, plan.caveats) == (False, "solver", [])


def test_immovable_service_at_forced_out_site_is_explained() -> None:
    est, times, scen = _tiny(dispose=("C",))
    est.services.loc[est.services["service_id"] == "G2", "movable"] = False
    msg = _why(est, times, scen)
    assert ("service G2 (gp) cannot be placed: it is at site C (Site C; forced out), and it "
            "is immovable (movable = false in services.csv row 5)") in msg
    assert ("  - keeping site C (Site C), which [status] dispose (scenario.toml) forces out\n"
            "  - letting G2 move (marked movable = false in services.csv row 5)\n") in msg


def test_service_with_no_site_in_reach_is_explained() -> None:
    # C must go; A is 19.5 minutes' walk from it, B 26.8 (no standard for gps)
    est, times, scen = _tiny(dispose=("C",), rules=scenario.Rules(max_move_minutes=15))
    scen = dataclasses.replace(scen, standards={"library": scen.standards["library"]})
    msg = _why(est, times, scen)
    assert ("service G2 (gp) cannot be placed: it is at site C (Site C; forced out), and no "
            "other site within [rules] max_move_minutes may host it") in msg
    assert ("  - raising [rules] max_move_minutes from 15 to 20 (the default; not set in "
            "scenario.toml or what it extends)") not in msg  # it is set (in code), not default
    assert "  - raising [rules] max_move_minutes from 15 to 20 (scenario.toml)\n" in msg


def test_solver_proven_conflict_names_the_cap() -> None:
    # B must go; its gp and library must move, but the one-off budget is £1
    est, times, scen = _tiny(dispose=("B",), caps=scenario.Caps(max_one_off_gbp=1.0))
    msg = _why(est, times, scen)
    # either rule gives way: the forced disposal (tried kept: every other rule holds) ...
    assert ("  any one of these changes would let every other rule hold:\n"
            "  - keeping site B (Site B), which [status] dispose (scenario.toml) forces "
            "out\n") in msg
    # ... or, with it kept as set, the cap (GBP 190,000 of moves: 70,000 of relocation
    # and general fit-out, and 120,000 to fit out clinical rooms for the gp in an office)
    assert msg.endswith("  as the rules stand, the fewest that must give way:\n"
                        "  - [caps] max_one_off_gbp = 1 is too low by £189,999 for the moves "
                        "the other rules require")


def test_forced_disposals_are_named_with_what_forces_them() -> None:
    # A is forced out by the scenario, B by the register: a cap of one disposal fails
    est, times, scen = _tiny(dispose=("A",), caps=scenario.Caps(max_disposals=1))
    est.sites.loc[est.sites["site_id"] == "B", "status"] = "dispose"
    scen = _rules_scenario(scen, '[status]\ndispose = ["A"]\n[caps]\nmax_disposals = 1\n')
    assert ("  - 2 sites are forced out ([status] dispose (rules.toml line 2): A; status = "
            "dispose in sites.csv row 3: B) but [caps] max_disposals = 1 (rules.toml line 4); "
            "raise the cap or dispose of fewer") in _why(est, times, scen)
    # forced out twice: both are named, as clearing one would not free it
    scen = dataclasses.replace(_rules_scenario(scen, '[status]\ndispose = ["A", "B"]\n[caps]\n'
                                                     'max_disposals = 1\n'), dispose=("A", "B"))
    assert ("  - 2 sites are forced out ([status] dispose (rules.toml line 2): A, B; status = "
            "dispose in sites.csv row 3: B) but") in _why(est, times, scen)
    # a disposal whose lease outlasts the appraisal
    est, times, scen = _tiny(dispose=("C",))
    scen = _rules_scenario(scen, '[status]\ndispose = ["C"]\n[finance]\nhorizon_years = 10\n')
    c = est.sites["site_id"] == "C"
    est.sites.loc[c, "tenure"], est.sites.loc[c, "lease_end"] = "leasehold", pd.Timestamp(
        "2045-01-01")
    assert ("  - site C (Site C) is to be disposed of ([status] dispose (rules.toml line 2): "
            "C), but its lease cannot be vacated before 2045-01-01, after the appraisal's last "
            "year (from 2036-04-01; [finance] horizon_years (rules.toml line 4)); extend "
            "horizon_years or drop the disposal") in _why(est, times, scen)


@pytest.mark.parametrize("threads", [1, 2], ids=["one step after the other", "side by side"])
def test_the_two_steps_of_an_explanation_agree_however_they_run(threads: int) -> None:
    est, times, scen = _tiny(dispose=("B",), caps=scenario.Caps(max_one_off_gbp=1.0))
    assert _why(est, times, _with_solver(scen, threads=threads)) == (
        "scenario 'tiny' cannot hold all its rules:\n"
        "  any one of these changes would let every other rule hold:\n"
        "  - keeping site B (Site B), which [status] dispose (scenario.toml) forces out\n"
        "  as the rules stand, the fewest that must give way:\n"
        "  - [caps] max_one_off_gbp = 1 is too low by £189,999 for the moves the other rules "
        "require")


def test_a_forced_disposal_from_the_register_is_named_as_such() -> None:
    est, times, scen = _tiny(caps=scenario.Caps(max_one_off_gbp=1.0))
    est.sites.loc[est.sites["site_id"] == "B", "status"] = "dispose"
    assert ("keeping site B (Site B), which status = dispose in sites.csv row 3 forces "
            "out") in _why(est, times, scen)
    # forced out twice: keeping it needs both lifted, and both are named
    scen = dataclasses.replace(scen, dispose=("B",))
    assert ("keeping site B (Site B), which [status] dispose (scenario.toml) and status = "
            "dispose in sites.csv row 3 force out") in _why(est, times, scen)


def _squeezed(conflict: bool = False, area: float = 10.0) -> optimise.Problem:
    """D must go; its three services (``area`` m2 each) may move only to P, Q or R, each
    with 5 m2 spare.

    Each of P, Q and R is full of an immovable service of its own (95 of 100 m2);
    the far site F has room but is no candidate.
    """
    sites = ["D", "P", "Q", "R", "F"]
    services = ["d1", "d2", "d3", "p", "q", "r", "f"]
    pair_service = [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 4, 5, 6]
    pair_site = [1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2, 3, 4]
    types = [0, 0, 0, 1, 1, 1, 1]
    return optimise.Problem(
        site_ids=np.array(sites, dtype=object), service_ids=np.array(services, dtype=object),
        disposal_value=np.array([1e6, 1e5, 1e5, 1e5, 1e5]),
        capacity=np.array([100.0, 100.0, 100.0, 100.0, 1000.0]),
        keep_fixed=np.array([0, -1, -1, -1, -1]), area=np.array([area] * 3 + [95.0] * 4),
        splittable=np.zeros(7, dtype=bool), current=np.array([0, 0, 0, 1, 2, 3, 4]),
        service_type=np.array(types), type_names=["library", "office"],
        pair_service=np.array(pair_service), pair_site=np.array(pair_site),
        pair_cost=np.array([1e3] * 9 + [0.0] * 4),
        conflicts=[(0, 1)] if conflict else [])


def test_explanation_names_the_fewest_rules_that_give_way() -> None:
    # least slack would overfill P, Q and R by 5.4 m2 each (16.2 m2, three rules); the
    # fewest rules overfill one of them by 26.2 m2, rounded up so that it is enough
    lines, heading = why_.explain(_squeezed(area=10.4), scenario.SolverSettings(
        time_limit_s=20))
    assert heading == "as the rules stand, the fewest that must give way:"
    assert len(lines) == 1, lines
    assert re.fullmatch(r"site [PQR] would need 27 m2 more than its capacity of 100 m2",
                        lines[0])


def test_explanation_says_how_far_a_coverage_standard_falls_short() -> None:
    # 92.5% of 1,000 people must be within 10 minutes of a library; D, which reaches
    # 600 of them, must go, and P, which reaches 349.6, is the only other host: the
    # share is said as set, and the share reached rounded down, so that it can be asked
    problem = optimise.Problem(
        site_ids=np.array(["D", "P"], dtype=object), service_ids=np.array(["l"], dtype=object),
        disposal_value=np.array([1e6, 1e5]), capacity=np.array([100.0, 100.0]),
        keep_fixed=np.array([0, -1]), area=np.array([10.0]), splittable=np.zeros(1, dtype=bool),
        current=np.array([0]), service_type=np.array([0]), type_names=["library"],
        pair_service=np.array([0, 0]), pair_site=np.array([0, 1]),
        pair_cost=np.array([0.0, 1e3]),
        rules=[optimise.AccessRule(
            0, "coverage", 0.925, [np.array([0]), np.array([1])], np.array([600.0, 349.6]),
            np.zeros(2, dtype=bool), [["Z1"], ["Z2"]], 1000.0, 10.0, "pop_65_plus")])
    lines, heading = why_.explain(problem, scenario.SolverSettings(time_limit_s=5))
    assert heading == "as the rules stand, the fewest that must give way:"
    assert lines == ["coverage for library cannot reach 92.5% with the other rules: 34.9% of "
                     "pop_65_plus within 10 minutes, 576 people short"]


def test_explanation_names_an_incompatibility_that_gives_way() -> None:
    # libraries may not share a site with offices: every move breaks that rule at
    # one site at least, and capacity at one site; the fewest is one of each
    problem = _squeezed(conflict=True)
    lines, _ = why_.explain(problem, scenario.SolverSettings(time_limit_s=20))
    assert len(lines) == 2, lines
    assert any(re.fullmatch(r"library and office would have to share site [PQR], which "
                            r"\[rules\] incompatible forbids", line) for line in lines)


def _rules_scenario(scen: scenario.Scenario, text: str) -> scenario.Scenario:
    """``scen`` read as if from a file holding ``text`` (for the lines in messages)."""
    return dataclasses.replace(scen, sources=((Path("rules.toml"), text),))


def test_rules_that_prune_candidate_sites_are_named_when_relaxing_them_helps() -> None:
    # C must go; its gp may move to A (19.5 minutes' walk) but not to B (26.8): A is
    # full with its library, which may not move (to B, 9.0 minutes away, with room);
    # no access standard for gps
    est, times, scen = _tiny(dispose=("C",), rules=scenario.Rules(max_move_minutes=22))
    scen = dataclasses.replace(scen, standards={"library": scen.standards["library"]})
    scen = _rules_scenario(scen, '[status]\ndispose = ["C"]\n[rules]\nmax_move_minutes = 22\n')
    est.sites.loc[est.sites["site_id"] == "A", "capacity_m2"] = 150.0
    est.services.loc[est.services["service_id"] == "L1", "movable"] = False
    assert _why(est, times, scen) == (
        "scenario 'tiny' cannot hold all its rules:\n"
        "  any one of these changes would let every other rule hold:\n"
        "  - keeping site C (Site C), which [status] dispose (rules.toml line 2) forces out\n"
        "  - raising [rules] max_move_minutes from 22 to 27 (rules.toml line 4)\n"
        "  - letting L1 move (marked movable = false in services.csv row 2)\n"
        "  as the rules stand, the fewest that must give way:\n"
        "  - site A (Site A) would need 50 m2 more than its capacity of 150 m2 (sites.csv row "
        "2)")


def test_least_improves_on_the_plan_found() -> None:
    # D's services may go to P (10 minutes away), Q or R (50); P and Q have room for
    # them: the plan found puts them in Q, the least longest move puts them in P, and
    # so does the least count of moves to Q or R
    problem = _squeezed()
    problem.capacity[[1, 2]] = 200.0
    found = (np.array([False, True, True, True, True]),
             np.where(np.isin(np.arange(13), [1, 4, 7, 9, 10, 11, 12]), 1.0, 0.0))
    far = np.array([10.0, 50.0, 50.0] * 3 + [0.0] * 4)
    share, _ = why_._least(problem, found, far, 30.0, scenario.SolverSettings(relative_gap=0))
    assert far[share > 0].max() == 10.0
    moved = np.array([0.0, 1.0, 1.0] * 3 + [0.0] * 4)
    share, _ = why_._least(problem, found, moved, 0.0, scenario.SolverSettings(relative_gap=0),
                           total=True)
    assert moved[share > 0].sum() == 0.0


def test_a_not_hosted_rule_is_named_when_dropping_it_helps() -> None:
    # as above, with B in reach but its category barred from hosting a gp (and no
    # suitability table, which would bar it too)
    est, times, scen = _tiny(dispose=("C",), rules=scenario.Rules(
        not_hosted={"emergency_services": ("gp",)}, suitability=Suitability()))
    scen = dataclasses.replace(scen, standards={"library": scen.standards["library"]})
    scen = _rules_scenario(scen, '[rules.not_hosted]\nemergency_services = ["gp"]\n')
    est.sites.loc[est.sites["site_id"] == "A", "capacity_m2"] = 150.0
    est.sites.loc[est.sites["site_id"] == "B", "benchmark"] = "emergency_services"
    est.services.loc[est.services["service_id"] == "L1", "movable"] = False
    msg = _why(est, times, scen)
    assert ("  - allowing gp in 'emergency_services' sites ([rules] not_hosted, rules.toml "
            "line 2)\n") in msg
    assert "max_move_minutes" not in msg  # lifting it gives the gp no other site


def test_suitability_keeps_a_gp_out_of_a_fire_station_and_prices_clinical_fit_out() -> None:
    """C must go; its gp may move to A (an office: clinical rooms fitted out at the
    table's extra GBP 1,200 per m2) or B (a fire station: never)."""
    est, times, scen = _tiny(dispose=("C",))
    scen = dataclasses.replace(scen, standards={"library": scen.standards["library"]})
    est.sites.loc[est.sites["site_id"] == "B", "benchmark"] = "emergency_services"
    problem = optimise.build_problem(est, times, scen)
    g2 = list(problem.service_ids).index("G2")
    hosts = problem.site_ids[problem.pair_site[problem.pair_service == g2]]
    assert list(hosts) == ["A"]  # not B, though in reach; not C, forced out
    cost = problem.pair_cost[problem.pair_service == g2][0]
    general = optimise.build_problem(est, times, dataclasses.replace(
        scen, rules=scenario.Rules(suitability=Suitability())))
    assert cost - general.pair_cost[(general.pair_service == g2)
                                    & (general.site_ids[general.pair_site] == "A")][0] == \
        pytest.approx(100.0 * 1200.0 * (1 + scen.finance.optimism_bias))
    plan = optimise.optimise(est, times, scen)
    report = check.check_plan(est, times, scen, plan)
    assert report.ok and report.npv_gbp == pytest.approx(plan.objective_gbp)
    from tp_assets import savings

    money = savings.compute(est, scen, plan)
    move = money.moves.set_index("service_id").loc["G2"]
    assert (move["to_site"], move["fitout_gbp_per_m2"], move["fitout_gbp"]) == (
        "A", 1550.0, 155_000.0)
    assert money.totals["npv_gbp"] == pytest.approx(plan.objective_gbp, abs=1.0)
    # a scenario's own entry wins over the table: a gp may go to the fire station at no extra
    scen = dataclasses.replace(scen, rules=scenario.Rules(
        suitability=scen.rules.suitability.overridden(
            {"gp": {"emergency_services": HostRule(hosts=True, source="scenario")}})))
    problem = optimise.build_problem(est, times, scen)
    assert set(problem.site_ids[problem.pair_site[problem.pair_service == g2]]) == {"A", "B"}


def test_the_suitability_table_is_named_when_dropping_it_helps() -> None:
    # C must go and its gp may not move; well, it may, but only to a fire station (B)
    est, times, scen = _tiny(dispose=("C",))
    scen = dataclasses.replace(scen, standards={"library": scen.standards["library"]})
    est.sites.loc[est.sites["site_id"] == "B", "benchmark"] = "emergency_services"
    est.sites.loc[est.sites["site_id"] == "A", "capacity_m2"] = 150.0
    est.services.loc[est.services["service_id"] == "L1", "movable"] = False
    assert ("  - letting gp, library move into buildings that [rules.suitability] rules out "
            "([rules.suitability] default = false, and no entries that say false)\n"
            in _why(est, times, scen))


def test_suitability_entries_in_a_scenario_are_read_and_checked(tmp_path: Path) -> None:
    from tp_assets._errors import InputError

    path = tmp_path / "s.toml"
    path.write_text(f'place = "{ACCESS}"\n[standards.library]\nmax_minutes = 10\n'
                    '[rules.suitability.gp]\nemergency_services = true\ngeneral_office = 900\n'
                    'clinic = false\n')
    rules = scenario.load(path).rules.suitability
    assert rules.rule("gp", "emergency_services") == HostRule(True, 0.0, "set in the scenario",
                                                               "scenario")
    assert rules.rule("gp", "general_office").extra_fitout_gbp_per_m2 == 900.0
    assert not rules.rule("gp", "clinic").hosts
    assert rules.rule("gp", "hospital").hosts  # the shipped table's, untouched
    path.write_text(f'place = "{ACCESS}"\n[rules.suitability]\ndefault = false\n'
                    '[rules.suitability.gp]\nclinic = -3\n')
    with pytest.raises(InputError, match=r"s\.toml line 5: \[rules\.suitability\.gp\] clinic "
                                         r"= -3 must be true \(hosts\), false \(cannot host\) "
                                         r"or the extra fit-out in GBP per m2, 0 or more"):
        scenario.load(path)
    path.write_text(f'place = "{ACCESS}"\n[rules.suitability]\ndefault = false\n')
    assert scenario.load(path).rules.suitability.rules == {}


def test_a_service_barred_from_its_own_site_moves_or_is_explained() -> None:
    # a gp sits at C today, a clinic; clinics may not host gps: it must move (to A or B)
    est, times, scen = _tiny(rules=scenario.Rules(not_hosted={"clinic": ("gp",)}))
    est.sites.loc[est.sites["site_id"] == "C", "benchmark"] = "clinic"
    plan = optimise.optimise(est, times, scen)
    assert check.check_plan(est, times, scen, plan).ok
    assert plan.assignment.set_index("service_id").loc["G2", "site_id"] in {"A", "B"}
    # immovable, it cannot: the rule that bars it is named, and dropping it works
    est.services.loc[est.services["service_id"] == "G2", "movable"] = False
    scen = _rules_scenario(scen, '[rules.not_hosted]\nclinic = ["gp"]\n')
    msg = _why(est, times, scen)
    assert ("service G2 (gp) cannot be placed: it is at site C (Site C), where [rules] "
            "not_hosted (rules.toml line 2) forbids gp in 'clinic' sites, and it is "
            "immovable (movable = false in services.csv row 5)") in msg
    assert "  - allowing gp in 'clinic' sites ([rules] not_hosted, rules.toml line 2)\n" in msg
    assert "  - letting G2 move (marked movable = false in services.csv row 5)\n" in msg


def test_coverage_out_of_reach_is_explained() -> None:
    est, times, scen = _tiny()
    scen = dataclasses.replace(scen, standards={
        "library": scenario.Standard("library", 10.0, rule="coverage", coverage=0.95)})
    with pytest.raises(InfeasibleError, match=r"coverage for library cannot reach 95%: even with "
                       r"library in every site that may host it, only 92\.3% of the demand"):
        optimise.optimise(est, times, scen)
    # shares are said as set (99.5%, not 100%), and those reached rounded down
    assert [why_._pct(x) for x in (0.995, 0.8, 0.9235)] == ["99.5%", "80%", "92.35%"]
    assert [why_._pct(x, down=True) for x in (0.98963, 0.35, 0.0)] == ["98.9%", "35%", "0%"]


def test_native_solver_output_stays_out_of_the_summary(capfd: pytest.CaptureFixture) -> None:
    """HiGHS prints a debugging line from C++ to fd 1 in some searches; it is dropped."""
    print("before", flush=True)
    with model_._native_stdout_silenced():
        os.write(1, b"HighsMipSolverData::transformNewIntegerFeasibleSolution\n")
    print("after", flush=True)
    assert capfd.readouterr().out == "before\nafter\n"


def test_gap_text_says_when_no_bound_was_proved() -> None:
    def plan(gap: float) -> optimise.Plan:
        return optimise.Plan(np.array(["S1"]), np.array([True]), pd.DataFrame(), "FEASIBLE",
                             1.0, np.inf if np.isinf(gap) else 1.0, gap, 1.0, "HiGHS")

    assert plan(0.044).gap_text == "gap 4.40%"
    assert plan(np.inf).gap_text == "gap unknown: the solver proved no bound within its budget"


def _apply(est: object, scen: scenario.Scenario, change: str) -> tuple[object, scenario.Scenario]:
    """The estate and scenario with one suggested change (a message line) made."""
    import copy

    est = copy.deepcopy(est)
    if found := re.match(r"keeping site (\S+) ", change):
        return est, dataclasses.replace(scen, dispose=tuple(
            d for d in scen.dispose if d != found.group(1)))
    if found := re.match(r"raising \[rules\] (max_move_minutes|max_candidates) from \S+ to "
                         r"(\d+)", change):
        key, value = found.group(1), int(found.group(2))
        return est, dataclasses.replace(scen, rules=dataclasses.replace(scen.rules,
                                                                        **{key: value}))
    if found := re.match(r"letting (.+) move \(", change):
        ids = found.group(1).replace(" and ", ", ").split(", ")
        services = est.services  # type: ignore[attr-defined]
        services.loc[services["service_id"].isin(ids), "movable"] = True
        return est, scen
    raise AssertionError(f"no way to apply {change!r}")


@pytest.mark.parametrize("seed", range(100, 112))
@pytest.mark.parametrize(("room", "minutes", "candidates", "one_off"), [
    (0.9, 25.0, 4, 60_000.0), (0.85, 20.0, 2, None)], ids=["one-off cap", "few candidates"])
def test_every_suggested_change_works(tmp_path: Path, seed: int, room: float, minutes: float,
                                      candidates: int, one_off: float | None) -> None:
    """On random infeasible scenarios, making any one suggested change finds a plan that
    passes the checker; so does making good every shortfall the rules as they stand show,
    where those are capacities and the one-off cap."""
    place = random_place(tmp_path / "place", seed, n_sites=8, n_services=14)
    sites = pd.read_csv(place / "sites.csv")
    busiest = pd.read_csv(place / "services.csv").groupby("site_id")["area_m2"].sum().idxmax()
    sites["capacity_m2"] = (sites["capacity_m2"] * room).round(0)  # less spare room
    sites.to_csv(place / "sites.csv", index=False)
    scen = make_scenario(place, dispose=(busiest,), caps=scenario.Caps(max_one_off_gbp=one_off),
                         rules=scenario.Rules(max_move_minutes=minutes, max_candidates=candidates))
    scen = _with_solver(scen, threads=1)  # no child process
    est, times = load(place, scen)
    try:
        optimise.optimise(est, times, scen)
        pytest.skip("this seed's scenario holds")
    except InfeasibleError as exc:
        changes, stand = str(exc).split("  as the rules stand")
    for change in re.findall(r"^  - (.+)$", changes, re.M):
        changed_est, changed = _apply(est, scen, change)
        plan = optimise.optimise(changed_est, times, changed)  # type: ignore[arg-type]
        assert check.check_plan(changed_est, times, changed,  # type: ignore[arg-type]
                                plan).ok, change
    needs = re.findall(r"site (\S+) \(.*?\) would need ([\d,]+) m2 more", stand)
    short = re.findall(r"max_one_off_gbp = [\d,]+ is too low by £([\d,]+)", stand)
    if (needs or short) and len(needs) + len(short) == stand.count("\n  - "):
        roomier = est.sites.copy()
        for sid, m2 in needs:
            roomier.loc[roomier["site_id"] == sid, "capacity_m2"] += float(m2.replace(",", ""))
        more = sum(float(gbp.replace(",", "")) for gbp in short)
        caps = scenario.Caps(max_one_off_gbp=None if one_off is None else one_off + more)
        optimise.optimise(dataclasses.replace(est, sites=roomier), times,
                          dataclasses.replace(scen, caps=caps))


def test_a_run_that_would_not_fit_in_memory_is_refused_with_what_to_reduce() -> None:
    from tp_assets._errors import InputError

    est, times, scen = _tiny()
    problem = optimise.build_problem(est, times, scen)
    need, words = optimise.memory_needed(est, scen, problem)
    assert need > optimise.adapter.BASE_BYTES
    assert "the searches' models 0.0 GB (" in words
    with pytest.raises(InputError) as info:
        optimise.check_memory(est, scen, 100 * 2**20, problem)
    assert str(info.value) == (
        "scenario.toml: this run would need about 0.4 GB of memory (travel times 0.0 GB "
        f"({len(est.zones)} zones x 3 sites x 1 mode), walking minutes between sites 0.0 GB, "
        f"the searches' models 0.0 GB ({len(problem.pair_site)} candidate pairs in the "
        "largest part, 2 searches at once)), and 0.1 GB is available; run it on fewer zones "
        "(a coarser zones table: MSOAs rather than LSOAs), fewer sites (one borough at a "
        "time), a lower [rules] max_candidates, or [solver] threads = 1")
    assert info.value.exit_code == 2
    optimise.check_memory(est, scen, need, problem)  # fits
    optimise.check_memory(est, scen, None, problem)  # unknown here: not checked


def test_each_error_has_its_exit_code() -> None:
    from tp_assets import cli
    from tp_assets._errors import InputError, InternalError

    assert (InputError("x").exit_code, InfeasibleError("x").exit_code,
            NoPlanError("x").exit_code, InternalError("x").exit_code) == (
        cli.EXIT_INPUT, cli.EXIT_INFEASIBLE, cli.EXIT_NO_PLAN, cli.EXIT_INTERNAL)


def test_model_terms_of_one_variable_are_added_and_zeros_dropped() -> None:
    rows, cols, values = model_._summed(np.array([1, 0, 1, 0, 2]), np.array([3, 5, 3, 4, 7]),
                                        np.array([2.0, 1.0, 0.5, -1.0, 0.0]))
    assert rows.tolist() == [0, 0, 1]  # row-major, (2, 7) dropped as zero
    assert cols.tolist() == [4, 5, 3]
    assert values.tolist() == [-1.0, 1.0, 2.5]


@pytest.mark.parametrize(("seed", "extra"), CASES[1:4], ids=[f"seed{c[0]}" for c in CASES[1:4]])
def test_model_built_from_arrays_holds_a_plan_at_its_value(tmp_path: Path, seed: int,
                                                           extra: dict) -> None:
    """The model, with keep flags and shares fixed to a plan's, is feasible at its NPV.

    The cases hold a conflict between types, a cap on disposals and one on one-off
    spend, so that every kind of row is built from arrays.
    """
    place = random_place(tmp_path / "p", seed)
    extra.setdefault("rules", scenario.Rules(max_move_minutes=60.0, max_candidates=2))
    scen = make_scenario(place, **extra)
    est, times = load(place, scen)
    problem = optimise.build_problem(est, times, scen)
    plan = optimise.solve(problem, scen.solver)
    share = search.pair_shares(problem, plan.assignment)
    built = model_.Model(problem)
    for var, value in zip(built.x, plan.keep, strict=True):
        var.lower_bound = var.upper_bound = float(value)
    for var, value in zip(built.y, share, strict=True):
        var.lower_bound = var.upper_bound = float(value)
    result = built.solve(scen.solver, hint=False)
    assert model_.reason(result) == "OPTIMAL"
    assert result.objective_value() == pytest.approx(
        optimise.plan_value(problem, plan.keep, share), rel=1e-9, abs=1e-3)
    assert len(built.x) == problem.n_sites and len(built.y) == len(problem.pair_site)
