"""Independent verification of a plan against every rule of its scenario.

Works from first principles on the estate's tables, the travel-time matrix and the
scenario, never on the optimiser's arrays, so a modelling bug cannot hide behind
itself. Every solve is checked; a plan that fails is an internal error, never an
output.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd

from tp_assets import access
from tp_assets import finance as fin
from tp_assets._errors import InternalError
from tp_assets.access import TravelTimes
from tp_assets.estate import Estate
from tp_assets.optimise.problem import Plan
from tp_assets.scenario import Scenario, Standard

TOLERANCE_M2 = 1e-6
TOLERANCE_SHARE = 1e-6


@dataclass
class CheckReport:
    """What the checker found.

    Attributes
    ----------
    failures
        One sentence per broken rule (empty when the plan is valid).
    npv_gbp
        The plan's NPV recomputed year by year (GBP).
    access
        Per standard: ``service_type``, ``rule``, ``demand_within_before``,
        ``demand_within_after``, ``share_before``, ``share_after``,
        ``zones_lost``, ``zones_gained``.
    """

    failures: list[str] = field(default_factory=list)
    npv_gbp: float = 0.0
    access: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def ok(self) -> bool:
        """Whether every rule holds."""
        return not self.failures


def _year_start(start: date, year: int) -> date:
    return start.replace(year=start.year + year - 1)


def _site_npv(site: pd.Series, scenario: Scenario) -> float:
    """NPV of disposing one site, summed year by year (independent of the optimiser)."""
    f = scenario.finance
    prices = f.energy_prices_gbp_per_kwh
    fuel = {"electric": "electricity"}.get(site["heat_fuel"], site["heat_fuel"])
    annual = (site["rent_gbp_pa"] + site["rates_gbp_pa"] + site["fm_gbp_pa"]
              + site["electricity_kwh_pa"] * prices["electricity"]
              + site["heat_kwh_pa"] * prices.get(fuel, 0.0))
    first = 1
    if site["tenure"] == "leasehold" and not pd.isna(site["lease_end"]):
        first = next((y for y in range(1, f.horizon_years + 1)
                      if _year_start(f.start_date, y) >= site["lease_end"].date()),
                     f.horizon_years + 1)
    total = 0.0
    for year in range(first, f.horizon_years + 1):
        factor = (1.0 + f.discount_rate) ** -year
        total += annual * factor
        if year == first:
            receipt = site["market_value_gbp"] if site["tenure"] == "freehold" else 0.0
            total += (receipt * (1.0 - f.disposal_cost_share) + site["backlog_gbp"]) * factor
    return float(total)


def check_plan(estate: Estate, times: dict[str, TravelTimes], scenario: Scenario,
               plan: Plan, *, raise_on_failure: bool = True) -> CheckReport:
    """Verify a plan against every rule of the scenario and recompute its NPV.

    Checks: each service placed exactly once (shares summing to 1 for a splittable
    service, one whole site otherwise); nothing in a disposed site; capacity (a site
    over-occupied today may keep its current load); incompatible service types apart;
    ``[rules.not_hosted]``; moves only into buildings ``[rules.suitability]`` lets host
    the service; ``status`` and ``[status]`` retain/dispose; leaseholds not
    vacated within the appraisal kept; immovable services in place; moves within
    ``max_move_minutes``; every access standard recomputed from the matrix; caps;
    and the objective.

    Parameters
    ----------
    estate, times, scenario
        What the plan was made from.
    plan
        The optimiser's plan.
    raise_on_failure
        Raise :class:`InternalError` when any rule is broken (the default).

    Returns
    -------
    CheckReport
    """
    fails: list[str] = []
    sites = estate.sites.set_index("site_id")
    services = estate.services.set_index("service_id")
    keep = pd.Series(plan.keep, index=pd.Index(plan.site_ids, name="site_id"))
    if set(keep.index) != set(sites.index):
        fails.append("the plan does not decide every site exactly once")
        return _finish(CheckReport(fails), raise_on_failure)
    a = plan.assignment.merge(services[["site_id", "service_type", "area_m2", "fte",
                                        "movable", "splittable"]].rename(
        columns={"site_id": "current_site"}), left_on="service_id", right_index=True,
        how="left")
    # placement
    missing = set(services.index) - set(a["service_id"])
    if missing:
        fails.append(f"services not placed: {sorted(missing)[:10]}")
    unknown = set(a["site_id"]) - set(sites.index)
    if unknown:
        fails.append(f"services placed in unknown sites: {sorted(unknown)[:10]}")
        return _finish(CheckReport(fails), raise_on_failure)
    if (a["share"] <= 0).any() or (a["share"] > 1 + TOLERANCE_SHARE).any():
        fails.append("a placement share is not in (0, 1]")
    totals = a.groupby("service_id")["share"].sum()
    for sid, total in totals.items():
        if abs(total - 1.0) > TOLERANCE_SHARE:
            fails.append(f"service {sid} is placed {total:.6f} times, not once")
    counts = a.groupby("service_id").size()
    whole = services.index[~services["splittable"].astype(bool)]
    for sid in whole:
        if counts.get(sid, 0) > 1:
            fails.append(f"service {sid} is not splittable but is split over {counts[sid]} sites")
    # nothing in a disposed site
    for row in a[~a["site_id"].map(keep)].itertuples():
        fails.append(f"service {row.service_id} is placed in site {row.site_id}, which is "
                     "disposed of")
    # capacity
    today = services.groupby("site_id")["area_m2"].sum()
    load = (a["area_m2"] * a["share"]).groupby(a["site_id"]).sum()
    for sid, used in load.items():
        limit = max(float(sites.loc[sid, "capacity_m2"]), float(today.get(sid, 0.0)))
        if used > limit + TOLERANCE_M2:
            fails.append(f"site {sid} holds {used:,.1f} m2 of services, above its "
                         f"{limit:,.1f} m2")
    # compatibility
    present = a.groupby("site_id")["service_type"].apply(set)
    for t1, t2 in scenario.rules.incompatible:
        for sid, kinds in present.items():
            if t1 in kinds and t2 in kinds:
                fails.append(f"site {sid} hosts both {t1} and {t2}, which may not share a site")
    for category, banned in scenario.rules.not_hosted.items():
        for sid, kinds in present.items():
            if sites.loc[sid, "benchmark"] == category and kinds & set(banned):
                fails.append(f"site {sid} ({category}) hosts {sorted(kinds & set(banned))}, "
                             "which [rules.not_hosted] forbids")
    suitability = scenario.rules.suitability
    for row in a[a["site_id"] != a["current_site"]].itertuples():
        category = str(sites.loc[row.site_id, "benchmark"])
        rule = suitability.rule(str(row.service_type), category)
        if rule is not None and not rule.hosts:
            fails.append(f"service {row.service_id} ({row.service_type}) moves into site "
                         f"{row.site_id} ({category}), which [rules.suitability] says cannot "
                         "host it")
    # status and leases
    forced_keep = set(sites.index[sites["status"] == "retain"]) | set(scenario.retain)
    forced_out = set(sites.index[sites["status"] == "dispose"]) | set(scenario.dispose)
    if scenario.retain_all:
        forced_keep = set(sites.index) - forced_out
    last_start = _year_start(scenario.finance.start_date, scenario.finance.horizon_years)
    for sid, row in sites.iterrows():
        if sid in forced_out and keep[sid]:  # dispose wins over retain_all
            fails.append(f"site {sid} must be disposed of (status) but is kept")
        elif sid in forced_keep and not keep[sid]:
            fails.append(f"site {sid} must be retained (status) but is disposed of")
        if (not keep[sid] and row["tenure"] == "leasehold" and not pd.isna(row["lease_end"])
                and row["lease_end"].date() > last_start):
            fails.append(f"leasehold site {sid} is disposed of but its lease runs to "
                         f"{row['lease_end'].date()}, beyond the appraisal")
    # immovable services and move distance
    for row in a.itertuples():
        if str(row.site_id) == str(row.current_site):
            continue
        if not bool(row.movable):
            fails.append(f"service {row.service_id} is immovable but moved to {row.site_id}")
        d = sites.loc[row.site_id, "geometry"].distance(sites.loc[row.current_site, "geometry"])
        if access.crow_fly_minutes(d) > scenario.rules.max_move_minutes + 1e-9:
            fails.append(f"service {row.service_id} moves {d:,.0f} m, beyond "
                         f"max_move_minutes = {scenario.rules.max_move_minutes:g}")
    # access
    rows = []
    for st in scenario.standards.values():
        t = times[st.mode]
        col = {s: i for i, s in enumerate(t.site_ids)}
        before_sites = services.loc[services["service_type"] == st.service_type, "site_id"]
        after_sites = a.loc[a["service_type"] == st.service_type, "site_id"]
        demand = estate.zones[st.demand].to_numpy(float)

        def within(hosts: pd.Series, st: Standard = st, t: TravelTimes = t,
                   col: dict[str, int] = col) -> np.ndarray:
            idx = [col[s] for s in set(hosts)]
            if not idx:
                return np.zeros(len(t.zone_ids), dtype=bool)
            return np.asarray((t.minutes[:, idx] <= st.max_minutes).any(axis=1))

        before, after = within(before_sites), within(after_sites)
        total = demand.sum()
        share_before = demand[before].sum() / total if total else 1.0
        share_after = demand[after].sum() / total if total else 1.0
        lost = before & ~after
        if st.rule == "no_loss" and lost.any():
            fails.append(f"no_loss for {st.service_type} broken: zones "
                         f"{list(t.zone_ids[lost][:10])} lose access")
        if st.rule == "coverage" and share_after + 1e-9 < (st.coverage or 0.0):
            fails.append(f"coverage for {st.service_type} is {share_after:.4f}, below "
                         f"{st.coverage}")
        rows.append({"service_type": st.service_type, "rule": st.rule,
                     "demand_within_before": float(demand[before].sum()),
                     "demand_within_after": float(demand[after].sum()),
                     "share_before": share_before, "share_after": share_after,
                     "zones_lost": int(lost.sum()), "zones_gained": int((after & ~before).sum())})
    # caps and objective
    f = scenario.finance
    moved = a[a["site_id"] != a["current_site"]]
    extra = scenario.rules.suitability.extra_fitout(
        moved["service_type"].to_numpy(), sites.loc[moved["site_id"], "benchmark"].to_numpy())
    one_off = float((moved["share"] * fin.move_costs(moved, f, extra)).sum())
    caps = scenario.caps
    if caps.max_one_off_gbp is not None and one_off > caps.max_one_off_gbp + 0.01:
        fails.append(f"one-off spend £{one_off:,.2f} exceeds the cap £{caps.max_one_off_gbp:,.2f}")
    n_disposed = int((~keep).sum())
    if caps.max_disposals is not None and n_disposed > caps.max_disposals:
        fails.append(f"{n_disposed} disposals exceed the cap of {caps.max_disposals}")
    kept_by_owner = sites.loc[keep[keep].index, "owner"].value_counts()
    for owner, minimum in caps.min_sites_per_owner.items():
        if kept_by_owner.get(owner, 0) < minimum:
            fails.append(f"{owner} keeps {kept_by_owner.get(owner, 0)} sites, fewer than "
                         f"{minimum}")
    npv = sum(_site_npv(sites.loc[sid], scenario) for sid in keep.index[~keep.to_numpy()])
    npv -= one_off
    if abs(npv - plan.objective_gbp) > 1e-6 * max(1.0, abs(npv)) + 0.01:
        fails.append(f"the plan's objective £{plan.objective_gbp:,.2f} differs from its NPV "
                     f"recomputed year by year, £{npv:,.2f}")
    return _finish(CheckReport(fails, npv, pd.DataFrame(rows)), raise_on_failure)


def _finish(report: CheckReport, raise_on_failure: bool) -> CheckReport:
    if report.failures and raise_on_failure:
        raise InternalError("the optimiser's plan failed the independent check (a bug in "
                            "tp-assets; please report it):\n"
                            + "\n".join(f"  - {f}" for f in report.failures[:20]))
    return report
