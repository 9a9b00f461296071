"""Phasing: the year each disposal of a chosen plan happens, within a cap a year.

The optimiser decides which sites go, each valued at the first year it can be vacated
(its ``lease_end``, its ``vacate_from``). Where a scenario caps the disposals a year
(``[phasing] max_disposals_per_year``), a second, smaller optimisation schedules that
plan: each disposed site gets a year from its first onwards, no year more than the cap,
so that the NPV is the largest it can be. It is an assignment problem (sites to
year-slots, a slot per disposal a year can take), solved exactly by
:func:`scipy.optimize.linear_sum_assignment`. The schedule is written into the sites'
``vacate_from``, so the savings, the cash flow and the checker all follow it.

What this may miss: the optimiser chose the plan without knowing the cap; a plan chosen
with it might dispose of other sites (say, fewer with slower savings). The moves'
one-off costs stay in year 0, as for any disposal later than year 1 (a leasehold's).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from tp_assets import finance as fin
from tp_assets._errors import InfeasibleError
from tp_assets.estate import Estate
from tp_assets.optimise.problem import Plan, relative_gap
from tp_assets.scenario import Phasing, Scenario


def _values_by_year(sites: pd.DataFrame, scenario: Scenario) -> np.ndarray:
    """NPV (GBP) of disposing each site in each appraisal year (``-inf`` before its first)."""
    f = scenario.finance
    first = fin.disposal_values(sites, f)["vacate_year"].to_numpy()
    out = np.full((len(sites), f.horizon_years), -np.inf)
    for year in range(1, f.horizon_years + 1):
        start = pd.Timestamp(f.year_start(year))
        later = sites["vacate_from"].where(sites["vacate_from"] > start, start)
        npv = fin.disposal_values(sites.assign(vacate_from=later), f)["npv_gbp"].to_numpy()
        ok = first <= year
        out[ok, year - 1] = npv[ok]
    return out


def schedule(estate: Estate, scenario: Scenario, plan: Plan, phasing: Phasing
             ) -> tuple[Estate, Plan]:
    """The plan with its disposals placed in years within the cap.

    Parameters
    ----------
    estate, scenario, plan
        The run's.
    phasing
        The cap.

    Returns
    -------
    estate, plan
        The estate with each deferred disposal's ``vacate_from`` set to the start of its
        year; the plan with its objective (and gap against the bound the search proved,
        still a bound: a cap only lowers what a plan can make) for that schedule.

    Raises
    ------
    InfeasibleError
        The plan disposes of more sites than the cap lets go within the appraisal.
    """
    f = scenario.finance
    sites = estate.sites.reset_index(drop=True)
    keep = dict(zip(plan.site_ids, plan.keep, strict=True))
    disposed = np.flatnonzero(~sites["site_id"].map(keep).to_numpy(dtype=bool))
    if not len(disposed):
        return estate, plan
    cap = phasing.max_disposals_per_year
    values = _values_by_year(sites, scenario)[disposed]
    first = np.argmax(np.isfinite(values), axis=1) + 1
    needed = len(disposed)
    # never more slots a year than sites to place: a huge cap means no cap
    slots = np.repeat(np.arange(1, f.horizon_years + 1), min(cap, needed))
    most = needed - _excess(first, cap, f.horizon_years)
    if most < needed:
        forced = set(sites["site_id"].iloc[disposed]) & (
            set(scenario.dispose) | set(sites.loc[sites["status"] == "dispose", "site_id"]))
        raise InfeasibleError(
            f"scenario '{scenario.name}' cannot hold all its rules: its plan disposes of "
            f"{needed} sites, and [phasing] max_disposals_per_year = {cap} lets at most "
            f"{most} go within the appraisal's {f.horizon_years} years from the years they "
            "can first go; raise max_disposals_per_year or horizon_years"
            + (", or cap the plan's disposals ([caps] max_disposals)" if len(forced) < most
               else f"; {len(forced)} of them are forced out (status = dispose), so a cap "
               "on the plan's disposals cannot help"))
    from scipy.optimize import linear_sum_assignment

    gain = np.where(np.isfinite(values[:, slots - 1]), values[:, slots - 1], -1e18)
    rows, cols = linear_sum_assignment(gain, maximize=True)
    year = np.zeros(len(disposed), dtype=int)
    year[rows] = slots[cols]
    best = values[np.arange(len(disposed)), first - 1]
    chosen = values[np.arange(len(disposed)), year - 1]
    starts = [pd.Timestamp(f.year_start(int(y))) for y in year]
    vacate_from = sites["vacate_from"].copy()
    for k, (i, y) in enumerate(zip(disposed, year, strict=True)):
        if y > first[k]:
            vacate_from.iloc[i] = starts[k]
    phased = dataclasses.replace(estate, sites=estate.sites.assign(
        vacate_from=vacate_from.to_numpy()))
    deferred = int((year > first).sum())
    if not deferred:  # every site goes when it first can: the plan as it was
        return estate, dataclasses.replace(
            plan, work={**plan.work, "phased_max_disposals_per_year": cap, "deferred": 0})
    objective = plan.objective_gbp + float((chosen - best).sum())
    bound = plan.best_bound_gbp
    gap = relative_gap(bound, objective)
    status = "OPTIMAL" if gap <= scenario.solver.relative_gap else "FEASIBLE"
    return phased, dataclasses.replace(
        plan, objective_gbp=objective, gap=gap, status=status,
        work={**plan.work, "phased_max_disposals_per_year": cap, "deferred": deferred})


def _excess(first: np.ndarray, cap: int, horizon: int) -> int:
    """How many sites whose first years are ``first`` cannot go at ``cap`` a year.

    Hall's condition for this nested structure: the sites that can go only from year y
    on must fit in the slots from y to the horizon; the largest shortfall over the years
    is how many cannot be placed (0: they all fit).
    """
    return max([0] + [int((first >= y).sum()) - cap * (horizon - y + 1)
                      for y in range(1, horizon + 1)])


def programme(money_sites: pd.DataFrame, horizon: int) -> pd.DataFrame:
    """Sites disposed of and net receipts by appraisal year (the programme's chart).

    Parameters
    ----------
    money_sites
        The run's sites.csv table (``decision``, ``vacate_year``, ``receipts_net_gbp``).
    horizon
        The appraisal's years.
    """
    gone = money_sites[money_sites["decision"] == "dispose"]
    by = gone.groupby("vacate_year").agg(sites_disposed=("site_id", "count"),
                                         receipts_net_gbp=("receipts_net_gbp", "sum"))
    return by.reindex(range(1, horizon + 1), fill_value=0).rename_axis("year").reset_index()
