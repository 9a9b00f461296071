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
from tp_assets.measures import carbon_value
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
        The plan's cash NPV recomputed year by year (GBP).
    social_gbp
        The carbon value the scenario puts in its objective, recomputed (GBP; 0 where
        it values none): the objective is the two together.
    access
        Per standard: ``service_type``, ``rule``, ``demand_within_before``,
        ``demand_within_after``, ``share_before``, ``share_after``,
        ``zones_lost``, ``zones_gained``.
    """

    failures: list[str] = field(default_factory=list)
    npv_gbp: float = 0.0
    access: pd.DataFrame = field(default_factory=pd.DataFrame)
    social_gbp: float = 0.0

    @property
    def ok(self) -> bool:
        """Whether every rule holds."""
        return not self.failures


def _year_start(start: date, year: int) -> date:
    return start.replace(year=start.year + year - 1)


def _first_free_year(site: pd.Series, scenario: Scenario) -> int:
    """First appraisal year a site can stand empty.

    1, or the first year that starts on or after a leasehold's ``lease_end`` and the
    site's ``vacate_from`` (horizon + 1 where none does).
    """
    f = scenario.finance
    ends = [d.date() for d in (site["lease_end"] if site["tenure"] == "leasehold" else None,
                               site.get("vacate_from")) if d is not None and not pd.isna(d)]
    if not ends:
        return 1
    return next((y for y in range(1, f.horizon_years + 1)
                 if _year_start(f.start_date, y) >= max(ends)),
                f.horizon_years + 1)


def _site_npv(site: pd.Series, scenario: Scenario) -> float:
    """NPV of disposing one site, summed year by year (independent of the optimiser)."""
    f = scenario.finance
    prices = f.energy_prices_gbp_per_kwh
    fuel = {"electric": "electricity"}.get(site["heat_fuel"], site["heat_fuel"])
    growth = f.energy_price_growth

    def annual(year: int) -> float:  # energy at year 1's price, grown year by year
        return float(site["rent_gbp_pa"] + site["rates_gbp_pa"] + site["fm_gbp_pa"]
                     + site["electricity_kwh_pa"] * prices["electricity"]
                     * (1 + growth.get("electricity", 0.0)) ** (year - 1)
                     + site["heat_kwh_pa"] * prices.get(fuel, 0.0)
                     * (1 + growth.get(fuel, 0.0)) ** (year - 1))

    first = _first_free_year(site, scenario)
    total = 0.0
    for year in range(first, f.horizon_years + 1):
        factor = (1.0 + f.discount_rate) ** -year
        total += annual(year) * factor
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
        vacate_from = row.get("vacate_from")
        if (not keep[sid] and vacate_from is not None and not pd.isna(vacate_from)
                and vacate_from.date() > last_start):
            fails.append(f"site {sid} is disposed of but cannot be vacated before "
                         f"{vacate_from.date()} (vacate_from), beyond the appraisal")
    if scenario.phasing is not None:  # the disposals a year, as dated
        years = pd.Series([_first_free_year(sites.loc[s], scenario) for s in sites.index
                           if not keep[s]], dtype=int)
        over = years.value_counts()
        over = over[over > scenario.phasing.max_disposals_per_year]
        for year, count in over.sort_index().items():
            fails.append(f"{count} sites are disposed of in appraisal year {year}, above "
                         f"[phasing] max_disposals_per_year = "
                         f"{scenario.phasing.max_disposals_per_year}")
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
    energy_cash, social = _check_energy(sites, scenario, plan, keep, fails)
    npv += energy_cash
    objective = npv + social
    if abs(objective - plan.objective_gbp) > 1e-6 * max(1.0, abs(objective)) + 0.01:
        fails.append(f"the plan's objective £{plan.objective_gbp:,.2f} differs from its NPV "
                     f"recomputed year by year, £{objective:,.2f}")
    return _finish(CheckReport(fails, npv, pd.DataFrame(rows), social), raise_on_failure)


def _check_energy(sites: pd.DataFrame, scenario: Scenario, plan: Plan, keep: pd.Series,
                  fails: list[str]) -> tuple[float, float]:
    """The plan's measures against the ``[energy]`` rules, and their money, year by year.

    Recomputed from the measures table and the sites, apart from
    :mod:`tp_assets.measures`: each building's energy after its measures, every year's
    cash and emissions, the budgets, the carbon target and the fuel rule.

    Returns
    -------
    cash, social
        The cash NPV of the measures and offsets, and the carbon value the objective
        counts (GBP).
    """
    energy, f = scenario.energy, scenario.finance
    if not energy.active:
        if len(plan.measures):
            fails.append("the plan fits measures, but the scenario has none")
        return 0.0, 0.0
    table = {m.measure: m for m in energy.measures}
    prices = f.energy_prices_gbp_per_kwh
    start, horizon = f.start_date.year, f.horizon_years

    def grid(year: int) -> float:  # the series' nearest year outside it
        known = sorted(energy.grid_kg_per_kwh)
        return float(energy.grid_kg_per_kwh[min(max(year, known[0]), known[-1])])

    def factor(fuel: str, year: int) -> float:
        if fuel == "electric":
            return grid(year)
        return 0.0 if fuel == "none" else float(f.carbon_kg_per_kwh.get(fuel, 0.0))

    def value(year: int) -> float:
        return carbon_value(energy.carbon_value, year, energy.price_base_year)

    # energy a year and tonnes by site and year, with and without the plan
    use: dict[str, tuple[float, float, int]] = {}  # after measures: elec, heat, from year
    spend = np.zeros(horizon + 1)
    cash = 0.0
    for sid, ids, fit in zip(plan.measures["site_id"], plan.measures["measures"],
                             plan.measures["fit_year"], strict=True):
        site = sites.loc[sid]
        chosen = [table.get(m) for m in str(ids).split("+")]
        if not keep.get(sid, False):
            fails.append(f"site {sid} is disposed of but fits measures {ids}")
        if any(m is None for m in chosen):
            fails.append(f"site {sid} fits {ids}, not all in the measures table")
            continue
        fitted = set(str(site.get("measures_fitted", "") or "").split())
        barred = fitted | set(str(site.get("measures_impossible", "") or "").split())
        names = {m.measure for m in chosen}  # type: ignore[union-attr]
        for m in chosen:
            assert m is not None
            if m.measure in barred or m.excludes & (names | fitted):
                fails.append(f"site {sid} fits {m.measure}, which it already has, cannot "
                             "take, or which excludes another of its measures")
            if m.categories is not None and site["benchmark"] not in m.categories:
                fails.append(f"site {sid} ({site['benchmark']}) fits {m.measure}, which does "
                             "not suit its category")
            if m.kind == "heat_pump" and site["heat_fuel"] not in ("gas", "oil"):
                fails.append(f"site {sid} fits a heat pump but heats with {site['heat_fuel']}")
        if int(fit) not in energy.fit_years:
            fails.append(f"site {sid} fits measures in year {fit}, not one of fit_years")
        elec, heat = float(site["electricity_kwh_pa"]), float(site["heat_kwh_pa"])
        gia, fuel = float(site["gia_m2"]), str(site["heat_fuel"])
        kinds = {"demand": 0, "heat_pump": 1, "pv": 2}
        costs: list[tuple[float, int]] = []
        for m in sorted(chosen, key=lambda m: kinds[m.kind]):  # type: ignore[union-attr]
            assert m is not None
            cost = m.capex_fixed_gbp + m.capex_gbp_per_m2 * gia
            if m.kind == "demand":
                elec, heat = elec * (1 - m.electricity_saving_share), \
                    heat * (1 - m.heat_saving_share)
            elif m.kind == "heat_pump":
                cost += m.capex_gbp_per_kw * heat * m.boiler_efficiency / m.full_load_hours
                elec, heat = elec + heat * m.boiler_efficiency / m.scop, 0.0
            else:
                kwp = m.kwp_per_m2_gia * gia
                cost += m.capex_gbp_per_kwp * kwp
                elec = max(0.0, elec - kwp * m.kwh_per_kwp)
            costs.append((cost, m.lifetime_years))
        use[sid] = (elec, heat, int(fit))
        key = "electricity" if fuel == "electric" else fuel
        growth = f.energy_price_growth
        for year in range(int(fit), horizon + 1):
            saving = ((float(site["electricity_kwh_pa"]) - elec) * prices["electricity"]
                      * (1 + growth.get("electricity", 0.0)) ** (year - 1)
                      + (float(site["heat_kwh_pa"]) - heat) * prices.get(key, 0.0)
                      * (1 + growth.get(key, 0.0)) ** (year - 1))
            cash += saving / (1 + f.discount_rate) ** year
        for cost, life in costs:
            year = int(fit)
            while year <= horizon:
                spend[year] += cost * (1 + f.optimism_bias)
                cash -= cost * (1 + f.optimism_bias) / (1 + f.discount_rate) ** year
                last = year
                year += life
            left = last + life - 1 - horizon
            if left > 0:
                cash += cost * left / life / (1 + f.discount_rate) ** horizon
    if energy.capital_gbp is not None and spend.sum() > energy.capital_gbp + 0.01:
        fails.append(f"measures cost £{spend.sum():,.2f}, above [energy.budget] capital_gbp")
    if energy.capital_gbp_per_year is not None and (
            spend > energy.capital_gbp_per_year + 0.01).any():
        fails.append("measures cost more than [energy.budget] capital_gbp_per_year in a year")
    first_year = {sid: _first_free_year(row, scenario) for sid, row in sites.iterrows()}
    tonnes = np.zeros((2, horizon + 1))  # baseline, plan; by year
    social = 0.0
    offsets = energy.target.offset_gbp_per_tco2e if energy.target is not None else None
    for sid, row in sites.iterrows():
        fuel = str(row["heat_fuel"])
        for year in range(1, horizon + 1):
            c = start + year - 1
            before = (row["electricity_kwh_pa"] * grid(c) + row["heat_kwh_pa"]
                      * factor(fuel, c)) / 1000
            after = before
            if not keep[str(sid)] and year >= first_year[sid]:
                after = 0.0
            elif sid in use and year >= use[sid][2]:
                after = (use[sid][0] * grid(c) + use[sid][1] * factor(fuel, c)) / 1000
            tonnes[:, year] += (before, after)
            social += (before - after) * value(c) / (1 + f.discount_rate) ** year
            if offsets is not None and energy.target is not None and c >= energy.target.year:
                cash -= offsets * after / (1 + f.discount_rate) ** year
    target = energy.target
    if target is not None and offsets is None:
        allowed = target.share_of_baseline * tonnes[0, 1]
        reached = tonnes[1, target.year - start + 1]
        if reached > allowed + 1e-6:
            fails.append(f"the estate emits {reached:,.3f} tCO2e in {target.year}, above the "
                         f"target of {allowed:,.3f}")
    if energy.fossil_heating_until is not None:
        rule = energy.fossil_heating_until - start + 1
        for sid, row in sites.iterrows():
            if (keep[str(sid)] and row["heat_fuel"] in ("gas", "oil") and row["heat_kwh_pa"] > 0
                    and not (sid in use and use[sid][1] == 0.0 and use[sid][2] <= rule)):
                fails.append(f"site {sid} is kept and still heats with {row['heat_fuel']} in "
                             f"{energy.fossil_heating_until}")
    return cash, social


def _finish(report: CheckReport, raise_on_failure: bool) -> CheckReport:
    if report.failures and raise_on_failure:
        raise InternalError("the optimiser's plan failed the independent check (a bug in "
                            "tp-assets; please report it):\n"
                            + "\n".join(f"  - {f}" for f in report.failures[:20]))
    return report
