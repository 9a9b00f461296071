"""What a plan saves: by site, by owner and by year, in pence that reconcile exactly.

Every figure comes from one long cash-flow table (one row per owner x site x year x
category), each row rounded to the penny once; the site, owner, year and summary
totals are sums of those rows, so they agree to the penny by construction. The
year conventions are those of :mod:`tp_assets.finance`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from tp_assets import finance as fin
from tp_assets import measures as me
from tp_assets.estate import Estate
from tp_assets.optimise.problem import Plan
from tp_assets.scenario import Scenario

#: One-off cost categories (year 0, negative).
ONE_OFF_COSTS = ("relocation", "fitout", "optimism_bias")

#: Cash-flow categories, in the order rows are written: each one's kind, and how a
#: council budgets it: ``capital`` (capital receipts net of disposal costs, which may be
#: met from the receipt; fit-out works and the optimism bias on the moves' one-off costs,
#: mostly fit-out; maintenance backlog avoided, a capital programme's; energy measures'
#: capital) or ``revenue`` (running costs and energy saved, relocation, carbon offsets).
CATEGORY_TABLE: dict[str, tuple[str, str]] = {
    "rent": ("recurring", "revenue"), "rates": ("recurring", "revenue"),
    "fm": ("recurring", "revenue"), "electricity": ("recurring", "revenue"),
    "heat": ("recurring", "revenue"), "receipt": ("receipt", "capital"),
    "disposal_costs": ("receipt", "capital"), "backlog_avoided": ("one_off", "capital"),
    "relocation": ("one_off", "revenue"), "fitout": ("one_off", "capital"),
    "optimism_bias": ("one_off", "capital"), "measure_electricity": ("recurring", "revenue"),
    "measure_heat": ("recurring", "revenue"), "offsets": ("recurring", "revenue"),
    "measure_capex": ("capital", "capital"), "measure_optimism_bias": ("capital", "capital"),
    "measure_residual": ("capital", "capital"),
}
#: Each category's kind, and its budget (:data:`CATEGORY_TABLE`).
CATEGORIES: dict[str, str] = {c: kind for c, (kind, _) in CATEGORY_TABLE.items()}
BUDGETS: dict[str, str] = {c: budget for c, (_, budget) in CATEGORY_TABLE.items()}
#: Capital categories of energy measures (installations, renewals and residual value).
CAPITAL = ("measure_capex", "measure_optimism_bias", "measure_residual")


@dataclass
class Savings:
    """The savings of a plan.

    Attributes
    ----------
    cashflow
        Long format: ``scenario``, ``owner``, ``site_id``, ``year`` (0 = now),
        ``fin_year``, ``category``, ``measure`` (the energy measure a row is of, else
        blank), ``kind`` (``one_off`` | ``recurring`` | ``receipt`` | ``capital``),
        ``gbp`` and ``discounted_gbp`` (signed: savings and receipts positive, costs
        negative; pounds with 2 decimals).
    sites
        One row per site with its decision and its savings (see README, Output
        reference).
    moves
        One row per service relocation.
    owners
        Totals per owner.
    totals
        Headline figures (GBP, kWh, tCO2e).
    measures
        One row per energy measure fitted (see README, Output reference).
    carbon
        One row per appraisal year and owner: baseline and plan tCO2e, the carbon value.
    """

    cashflow: pd.DataFrame
    sites: pd.DataFrame
    moves: pd.DataFrame
    owners: pd.DataFrame
    totals: dict[str, Any]
    measures: pd.DataFrame = field(default_factory=pd.DataFrame)
    carbon: pd.DataFrame = field(default_factory=pd.DataFrame)


def _pence(values: np.ndarray | pd.Series) -> np.ndarray:
    return np.round(np.asarray(values, dtype=float) * 100.0).astype(np.int64)


def _p(value: float) -> int:
    """Pounds to whole pence (half to even, as numpy rounds)."""
    return int(np.round(float(value) * 100.0))


def compute(estate: Estate, scenario: Scenario, plan: Plan) -> Savings:
    """Savings tables of a plan.

    Parameters
    ----------
    estate
        The estate the plan was made for.
    scenario
        Finance parameters (prices, carbon factors, rate, horizon, one-off costs).
    plan
        The checked plan.

    Returns
    -------
    Savings
    """
    f = scenario.finance
    sites = estate.sites.reset_index(drop=True)
    keep = dict(zip(plan.site_ids, plan.keep, strict=True))
    disposed = ~sites["site_id"].map(keep).to_numpy(dtype=bool)
    gbp = fin.recurring_costs(sites, f)  # year 1's
    costs = pd.DataFrame({c: _pence(gbp[c]) for c in gbp.columns}, index=gbp.index)
    values = fin.disposal_values(sites, f)
    rows: list[tuple[str, str, int, str, int, str]] = []  # owner, site, year, category, p, measure
    for i in np.flatnonzero(disposed):
        site = sites.iloc[i]
        first = int(values["vacate_year"].iloc[i])
        owner, sid = str(site["owner"]), str(site["site_id"])
        fuel = {"electricity": "electricity",
                "heat": fin.heat_fuel_price_key(str(site["heat_fuel"]))}
        for year in range(first, f.horizon_years + 1):
            for cat in fin.RECURRING:  # energy at its price path, each row to the penny
                pence = (int(costs[cat].iloc[i]) if cat not in fuel else
                         _p(float(gbp[cat].iloc[i]) * float(f.price_index(fuel[cat], year))))
                rows.append((owner, sid, year, cat, pence, ""))
        if first <= f.horizon_years:
            receipt = float(values["receipt_gbp"].iloc[i])
            if receipt:
                rows.append((owner, sid, first, "receipt", _p(receipt), ""))
                rows.append((owner, sid, first, "disposal_costs",
                             -_p(values["disposal_cost_gbp"].iloc[i]), ""))
            if site["backlog_gbp"]:
                rows.append((owner, sid, first, "backlog_avoided",
                             _p(site["backlog_gbp"]), ""))
    moves = _moves(estate, scenario, plan)
    for m in moves.itertuples():
        for cat, column in (("relocation", "relocation_gbp"), ("fitout", "fitout_gbp"),
                            ("optimism_bias", "optimism_bias_gbp")):
            amount = getattr(m, column)
            if amount:
                rows.append((str(m.owner), str(m.to_site), 0, cat, -_p(amount), ""))
    emitted = me.plan_emissions(sites, ~disposed, values["vacate_year"].to_numpy(dtype=int),
                                plan.measures, scenario.energy, f)  # tCO2e, sites x years
    rows += _energy_rows(sites, emitted, scenario, plan)
    columns = ["owner", "site_id", "year", "category", "pence", "measure"]
    cash = pd.DataFrame(rows, columns=columns)
    keys = ["owner", "site_id", "year", "category", "measure"]
    cash = cash.groupby(keys, as_index=False).agg(pence=("pence", "sum"))
    order = {c: k for k, c in enumerate(CATEGORIES)}
    cash = cash.sort_values(keys, key=lambda s: s.map(order) if s.name == "category" else s,
                            ignore_index=True)
    factor = f.discount(cash["year"].to_numpy())
    cash["discounted_pence"] = np.round(cash["pence"].to_numpy() * factor).astype(np.int64)
    cash.insert(0, "scenario", scenario.name)
    cash.insert(4, "fin_year", [f.fin_year(int(y)) for y in cash["year"]])
    cash.insert(7, "kind", cash["category"].map(CATEGORIES))
    cash.insert(8, "budget", cash["category"].map(BUDGETS))
    site_table = _site_table(sites, disposed, values, costs, cash, moves, plan, estate, scenario)
    owners = _owner_table(cash, site_table)
    totals = _totals(cash, site_table, moves, scenario)
    measure_table = _measure_table(sites, cash, scenario, plan)
    carbon = _carbon_table(sites, emitted, scenario)
    totals.update(_carbon_totals(carbon, measure_table, scenario))
    out_cash = cash.assign(gbp=cash["pence"] / 100.0,
                           discounted_gbp=cash["discounted_pence"] / 100.0
                           ).drop(columns=["pence", "discounted_pence"])
    return Savings(out_cash, site_table, moves, owners, totals, measure_table, carbon)


def _energy_rows(sites: pd.DataFrame, emitted: np.ndarray, scenario: Scenario, plan: Plan
                 ) -> list[tuple[str, str, int, str, int, str]]:
    """Cash rows of the plan's measures (by measure) and of offsets bought (by site).

    ``emitted``: what each site still emits, tCO2e, sites x years
    (:func:`~tp_assets.measures.plan_emissions`).
    """
    f, energy = scenario.finance, scenario.energy
    horizon = f.horizon_years
    prices = f.energy_prices_gbp_per_kwh
    by_id = {m.measure: m for m in energy.measures}
    row_of = {sid: i for i, sid in enumerate(sites["site_id"])}
    rows: list[tuple[str, str, int, str, int, str]] = []
    for sid, ids, fit in zip(plan.measures["site_id"], plan.measures["measures"],
                             plan.measures["fit_year"], strict=True):
        site = sites.iloc[row_of[sid]]
        owner = str(site["owner"])
        fuel_key = fin.heat_fuel_price_key(str(site["heat_fuel"]))
        fuel_price = prices.get(fuel_key or "", 0.0)
        for step in me.steps([by_id[m] for m in str(ids).split("+")], site["electricity_kwh_pa"],
                             site["heat_kwh_pa"], site["gia_m2"], str(site["heat_fuel"])):
            mid = step.measure.measure
            when, left = me.installs(step.measure.lifetime_years, int(fit), horizon)
            for year in when:
                rows.append((owner, sid, year, "measure_capex", -_p(step.capex_gbp), mid))
                if f.optimism_bias:
                    rows.append((owner, sid, year, "measure_optimism_bias",
                                 -_p(step.capex_gbp * f.optimism_bias), mid))
            if left:
                rows.append((owner, sid, horizon, "measure_residual",
                             _p(step.capex_gbp * left), mid))
            for year in range(int(fit), horizon + 1):
                if step.electricity_kwh_saved:
                    rows.append((owner, sid, year, "measure_electricity", _p(
                        step.electricity_kwh_saved * prices["electricity"]
                        * float(f.price_index("electricity", year))), mid))
                if step.heat_kwh_saved:
                    rows.append((owner, sid, year, "measure_heat", _p(
                        step.heat_kwh_saved * fuel_price
                        * float(f.price_index(fuel_key, year))), mid))
    target = energy.target
    if target is not None and target.offset_gbp_per_tco2e is not None:
        first = me.appraisal_year(f, target.year)
        for b in np.flatnonzero(emitted[:, first - 1:].sum(axis=1) > 0):
            site = sites.iloc[b]
            for year in range(first, horizon + 1):
                tonnes = emitted[b, year - 1]
                if tonnes > 0:
                    rows.append((str(site["owner"]), str(site["site_id"]), year, "offsets",
                                 -_p(tonnes * target.offset_gbp_per_tco2e), ""))
    return rows


#: Columns of measures.csv, in order.
MEASURE_COLUMNS = (
    "site_id", "site_name", "owner", "measure", "measure_name", "bundle", "fit_year",
    "fit_fin_year", "capex_gbp", "optimism_bias_gbp", "renewals", "residual_value_gbp",
    "electricity_kwh_saved_pa", "heat_kwh_saved_pa", "heat_fuel", "generated_kwh_pa",
    "heat_pump_kw", "pv_kwp", "gbp_saved_pa", "tco2e_saved_first_year",
    "tco2e_saved_horizon", "npv_gbp", "gbp_per_tco2e", "lifetime_years", "source")


def _measure_table(sites: pd.DataFrame, cash: pd.DataFrame, scenario: Scenario,
                   plan: Plan) -> pd.DataFrame:
    """measures.csv: one row per measure fitted, its money from the cash flow's own rows."""
    f, energy = scenario.finance, scenario.energy
    horizon = f.horizon_years
    by_id = {m.measure: m for m in energy.measures}
    row_of = {sid: i for i, sid in enumerate(sites["site_id"])}
    mine = cash[cash["measure"] != ""]
    per = mine.groupby(["site_id", "measure", "category"])["pence"].sum()
    npv = mine.groupby(["site_id", "measure"])["discounted_pence"].sum()
    out = []
    for sid, ids, fit in zip(plan.measures["site_id"], plan.measures["measures"],
                             plan.measures["fit_year"], strict=True):
        site = sites.iloc[row_of[sid]]
        fuel = str(site["heat_fuel"])
        for step in me.steps([by_id[m] for m in str(ids).split("+")], site["electricity_kwh_pa"],
                             site["heat_kwh_pa"], site["gia_m2"], fuel):
            m = step.measure
            when, _ = me.installs(m.lifetime_years, int(fit), horizon)
            years = range(int(fit), horizon + 1)
            tonnes = [(step.electricity_kwh_saved * energy.grid(me.calendar_year(f, t))
                       + step.heat_kwh_saved * me.fuel_factor(energy, f, fuel,
                                                              me.calendar_year(f, t))) / 1000.0
                      for t in years]

            def pounds(category: str, sid: str = sid, mid: str = m.measure) -> float:
                return int(per.get((sid, mid, category), 0)) / 100.0

            saved = (pounds("measure_electricity") + pounds("measure_heat")) / len(years)
            # levelised: capital spread evenly over its life, less a year's saving, per tonne
            yearly = step.capex_gbp * (1 + f.optimism_bias) / m.lifetime_years
            mean_t = float(np.mean(tonnes))
            out.append({
                "site_id": sid, "site_name": site["name"], "owner": site["owner"],
                "measure": m.measure, "measure_name": m.name, "bundle": ids,
                "fit_year": int(fit), "fit_fin_year": f.fin_year(int(fit)),
                "capex_gbp": _p(step.capex_gbp) / 100.0,
                "optimism_bias_gbp": _p(step.capex_gbp * f.optimism_bias) / 100.0,
                "renewals": len(when) - 1, "residual_value_gbp": pounds("measure_residual"),
                "electricity_kwh_saved_pa": step.electricity_kwh_saved,
                "heat_kwh_saved_pa": step.heat_kwh_saved, "heat_fuel": fuel,
                "generated_kwh_pa": step.generated_kwh, "heat_pump_kw": step.heat_pump_kw,
                "pv_kwp": step.pv_kwp, "gbp_saved_pa": round(saved, 2),
                "tco2e_saved_first_year": tonnes[0], "tco2e_saved_horizon": float(sum(tonnes)),
                "npv_gbp": int(npv.get((sid, m.measure), 0)) / 100.0,
                "gbp_per_tco2e": ((yearly - saved) / mean_t) if mean_t > 1e-9 else np.nan,
                "lifetime_years": m.lifetime_years, "source": m.source})
    return pd.DataFrame(out, columns=list(MEASURE_COLUMNS))


def _carbon_table(sites: pd.DataFrame, emitted: np.ndarray, scenario: Scenario
                  ) -> pd.DataFrame:
    """carbon.csv: per appraisal year and owner, baseline and plan tCO2e and the carbon value."""
    f, energy = scenario.finance, scenario.energy
    baseline = me.emissions(sites, energy, f)
    series = energy.carbon_value if energy.carbon_value != "none" else "central"
    rows = []
    owners = sites["owner"].astype(str).to_numpy()
    for t in range(1, f.horizon_years + 1):
        c = me.calendar_year(f, t)
        value = me.carbon_value(series, c, energy.price_base_year)
        for owner in sorted(set(owners)):
            mine = owners == owner
            before, after = float(baseline[mine, t - 1].sum()), float(emitted[mine, t - 1].sum())
            rows.append({"scenario": scenario.name, "year": t, "fin_year": f.fin_year(t),
                         "calendar_year": c, "owner": owner, "baseline_tco2e": before,
                         "plan_tco2e": after, "saved_tco2e": before - after,
                         "carbon_value_gbp_per_tco2e": round(value, 2),
                         "carbon_value_gbp": _p((before - after) * round(value, 2)) / 100.0})
    table = pd.DataFrame(rows)
    pence = np.round(table["carbon_value_gbp"].to_numpy() * 100).astype(np.int64)
    table["discounted_carbon_value_gbp"] = np.round(
        pence * f.discount(table["year"].to_numpy())).astype(np.int64) / 100.0
    table.attrs["series"] = series
    return table


def _carbon_totals(carbon: pd.DataFrame, measures: pd.DataFrame, scenario: Scenario
                   ) -> dict[str, Any]:
    """Headline carbon figures: baseline and plan tCO2e by year, the target, the social line."""
    energy = scenario.energy
    by_year = carbon.groupby("calendar_year")[["baseline_tco2e", "plan_tco2e"]].sum()
    out: dict[str, Any] = {
        "carbon_baseline_tco2e_by_year": {int(str(y)): round(float(v), 3) for y, v in
                                          by_year["baseline_tco2e"].items()},
        "carbon_plan_tco2e_by_year": {int(str(y)): round(float(v), 3) for y, v in
                                      by_year["plan_tco2e"].items()},
        "carbon_saved_tco2e_horizon": round(float(carbon["saved_tco2e"].sum()), 3),
        "carbon_value_series": carbon.attrs.get("series", "central"),
        "social_carbon_value_gbp": int(np.round(carbon["discounted_carbon_value_gbp"]
                                                .to_numpy() * 100).sum()) / 100.0,
        "carbon_valued_in_objective": energy.carbon_value != "none",
        "measures_fitted": len(measures),
        "measures_capex_gbp": int(np.round(measures["capex_gbp"].to_numpy() * 100).sum())
        / 100.0 if len(measures) else 0.0,
    }
    target = energy.target
    if target is not None:
        base = float(by_year["baseline_tco2e"].iloc[0])
        allowed = target.share_of_baseline * base
        reached = float(by_year["plan_tco2e"].get(target.year, np.nan))
        out["carbon_target"] = {
            "year": target.year, "share_of_baseline": target.share_of_baseline,
            "baseline_tco2e": round(base, 3), "allowed_tco2e": round(allowed, 3),
            "plan_tco2e": round(reached, 3), "met": bool(reached <= allowed + 1e-6)
            or target.offset_gbp_per_tco2e is not None,
            "offset_gbp_per_tco2e": target.offset_gbp_per_tco2e}
    return out


def _moves(estate: Estate, scenario: Scenario, plan: Plan) -> pd.DataFrame:
    f = scenario.finance
    services = estate.services.set_index("service_id")
    a = plan.assignment
    a = a[a["site_id"].to_numpy() != services.loc[a["service_id"], "site_id"].to_numpy()]
    s = services.loc[a["service_id"]]
    share = a["share"].to_numpy()
    category = estate.sites.set_index("site_id").loc[a["site_id"], "benchmark"].to_numpy()
    extra = scenario.rules.suitability.extra_fitout(s["service_type"].to_numpy(), category)
    relocation, fitout = fin.move_cost_parts(share * s["fte"].to_numpy(),
                                             share * s["area_m2"].to_numpy(), f, extra)
    relocation, fitout = _pence(relocation) / 100, _pence(fitout) / 100
    bias = _pence((relocation + fitout) * f.optimism_bias) / 100
    return pd.DataFrame({
        "service_id": a["service_id"].to_numpy(), "name": s["name"].to_numpy(),
        "service_type": s["service_type"].to_numpy(), "owner": s["owner"].to_numpy(),
        "from_site": s["site_id"].to_numpy(), "to_site": a["site_id"].to_numpy(),
        "share": share, "area_m2": share * s["area_m2"].to_numpy(),
        "fte": share * s["fte"].to_numpy(), "relocation_gbp": relocation,
        "fitout_gbp_per_m2": f.fitout_gbp_per_m2 + extra, "fitout_gbp": fitout,
        "optimism_bias_gbp": bias,
        "one_off_gbp": relocation + fitout + bias,
    }).sort_values(["from_site", "service_id", "to_site"], ignore_index=True)


def _site_table(sites: pd.DataFrame, disposed: np.ndarray, values: pd.DataFrame,
                costs: pd.DataFrame, cash: pd.DataFrame, moves: pd.DataFrame, plan: Plan,
                estate: Estate, scenario: Scenario) -> pd.DataFrame:
    f = scenario.finance
    receiving = set(moves["to_site"])
    decision = np.where(disposed, "dispose",
                        np.where(sites["site_id"].isin(receiving), "receives", "retain"))
    by_site = cash.groupby("site_id")
    npv = by_site["discounted_pence"].sum()
    total = by_site["pence"].sum()
    one_off = cash[cash["category"].isin(ONE_OFF_COSTS)].groupby("site_id")["pence"].sum()
    backlog = cash[cash["category"] == "backlog_avoided"].groupby("site_id")["pence"].sum()
    receipts = cash[cash["kind"] == "receipt"].groupby("site_id")["pence"].sum()
    capital = cash[cash["kind"] == "capital"].groupby("site_id")["pence"].sum()
    bundle = dict(zip(plan.measures["site_id"], plan.measures["measures"], strict=True))
    fit_year = dict(zip(plan.measures["site_id"], plan.measures["fit_year"], strict=True))
    sid = sites["site_id"]
    elec = np.where(disposed, sites["electricity_kwh_pa"], 0.0)
    fuel = sites["heat_fuel"].map(fin.heat_fuel_price_key)
    heat = np.where(disposed, sites["heat_kwh_pa"], 0.0)
    carbon = f.carbon_kg_per_kwh
    heat_factor = fuel.map(lambda k: carbon.get(k, 0.0) if k else 0.0).to_numpy(dtype=float)
    tco2e = (elec * carbon["electricity"] + heat * heat_factor) / 1000.0
    vacate = values["vacate_year"].to_numpy()
    services_before = estate.services.groupby("site_id")["service_id"].apply(
        lambda s: " ".join(sorted(s)))
    assigned = plan.assignment.groupby("site_id")["service_id"].apply(
        lambda s: " ".join(sorted(set(s))))
    return pd.DataFrame({
        "site_id": sid, "name": sites["name"], "owner": sites["owner"],
        "tenure": sites["tenure"], "lease_end": sites["lease_end"], "decision": decision,
        "vacate_year": np.where(disposed, vacate, 0),
        "vacate_fin_year": [f.fin_year(int(y)) if d else "" for y, d in
                            zip(vacate, disposed, strict=True)],
        "services_before": sid.map(services_before).fillna(""),
        "services_after": sid.map(assigned).fillna(""),
        **{f"{c}_saving_gbp_pa": np.where(disposed, costs[c], 0) / 100.0
           for c in fin.RECURRING},
        "annual_saving_gbp_pa": np.where(disposed, costs[list(fin.RECURRING)].sum(axis=1), 0)
        / 100.0,
        "receipts_net_gbp": sid.map(receipts).fillna(0).to_numpy() / 100.0,
        "backlog_avoided_gbp": sid.map(backlog).fillna(0).to_numpy() / 100.0,
        "one_off_cost_gbp": sid.map(one_off).fillna(0).to_numpy() / 100.0,
        "measures": [str(bundle.get(x, "")) for x in sid],
        "measures_fit_year": [int(fit_year.get(x, 0)) for x in sid],
        "capital_gbp": sid.map(capital).fillna(0).to_numpy() / 100.0,
        "total_gbp": sid.map(total).fillna(0).to_numpy() / 100.0,
        "npv_gbp": sid.map(npv).fillna(0).to_numpy() / 100.0,
        "electricity_kwh_saved_pa": elec, "heat_kwh_saved_pa": heat,
        "tco2e_saved_pa": tco2e,
        "energy_source": sites["energy_source"],
        "electricity_source": sites["electricity_source"], "heat_source": sites["heat_source"],
    })


def _owner_table(cash: pd.DataFrame, sites: pd.DataFrame) -> pd.DataFrame:
    kinds = cash["kind"].where(~cash["category"].eq("backlog_avoided"), "backlog")
    pivot = cash.assign(kind=kinds).pivot_table(index="owner", columns="kind", values="pence",
                                                aggfunc="sum", fill_value=0)
    for kind in ("recurring", "receipt", "one_off", "backlog", "capital"):
        if kind not in pivot.columns:
            pivot[kind] = 0
    disc = cash.groupby("owner")["discounted_pence"].sum()
    per_site = sites.groupby("owner").agg(
        sites_disposed=("decision", lambda d: int((d == "dispose").sum())),
        annual_saving_gbp_pa=("annual_saving_gbp_pa", lambda v: int(_pence(v).sum()) / 100.0),
        electricity_kwh_saved_pa=("electricity_kwh_saved_pa", "sum"),
        heat_kwh_saved_pa=("heat_kwh_saved_pa", "sum"),
        tco2e_saved_pa=("tco2e_saved_pa", "sum"))
    out = per_site.join(pd.DataFrame({
        "recurring_gbp": pivot["recurring"] / 100.0, "receipts_net_gbp": pivot["receipt"] / 100.0,
        "backlog_avoided_gbp": pivot["backlog"] / 100.0,
        "one_off_cost_gbp": pivot["one_off"] / 100.0,
        "capital_gbp": pivot["capital"] / 100.0,
        "total_gbp": pivot[["recurring", "receipt", "backlog", "one_off", "capital"]].sum(axis=1)
        / 100.0,
        "npv_gbp": disc / 100.0,
        **{f"{b}_budget_gbp": cash[cash["budget"] == b].groupby("owner")["pence"].sum()
           / 100.0 for b in ("capital", "revenue")}}), how="outer").fillna(0.0)
    return out.reset_index().rename(columns={"index": "owner"})


def _totals(cash: pd.DataFrame, sites: pd.DataFrame, moves: pd.DataFrame,
            scenario: Scenario) -> dict[str, Any]:
    f = scenario.finance
    by_year = cash.groupby("year")["pence"].sum().reindex(range(f.horizon_years + 1),
                                                          fill_value=0)
    cumulative = by_year.cumsum()
    years = cumulative.index.to_numpy(dtype=int)
    values = cumulative.to_numpy()
    if values[0] >= 0:
        payback: int | None = 0
    else:
        paid = np.flatnonzero(values >= 0)
        payback = int(years[paid[0]]) if len(paid) else None
    disposed = sites["decision"] == "dispose"
    # the part resting on TM46 estimates: only the figures estimated, not a whole site
    # whose other figure is metered
    elec_bench = sites["electricity_source"] == "benchmark"
    heat_bench = sites["heat_source"] == "benchmark"
    elec_t = sites["electricity_kwh_saved_pa"] * f.carbon_kg_per_kwh["electricity"] / 1000.0
    heat_t = sites["tco2e_saved_pa"] - elec_t
    return {
        "npv_gbp": int(cash["discounted_pence"].sum()) / 100.0,
        "total_gbp": int(cash["pence"].sum()) / 100.0,
        "annual_saving_gbp_pa": int(_pence(sites["annual_saving_gbp_pa"]).sum()) / 100.0,
        "receipts_net_gbp": int(cash.loc[cash["kind"] == "receipt", "pence"].sum()) / 100.0,
        "one_off_cost_gbp": int(cash.loc[cash["category"].isin(ONE_OFF_COSTS), "pence"].sum())
        / 100.0,
        "capital_gbp": int(cash.loc[cash["kind"] == "capital", "pence"].sum()) / 100.0,
        "offsets_gbp": int(cash.loc[cash["category"] == "offsets", "pence"].sum()) / 100.0,
        "backlog_avoided_gbp": int(cash.loc[cash["category"] == "backlog_avoided", "pence"]
                                   .sum()) / 100.0,
        "budget_gbp": {b: int(cash.loc[cash["budget"] == b, "pence"].sum()) / 100.0
                       for b in ("capital", "revenue")},
        "budget_npv_gbp": {b: int(cash.loc[cash["budget"] == b, "discounted_pence"].sum())
                           / 100.0 for b in ("capital", "revenue")},
        "payback_year": payback,
        "payback_fin_year": f.fin_year(payback) if payback else None,
        "sites_disposed": int(disposed.sum()), "sites_kept": int((~disposed).sum()),
        "services_moved": int(moves["service_id"].nunique()),
        "electricity_kwh_saved_pa": float(sites["electricity_kwh_saved_pa"].sum()),
        "heat_kwh_saved_pa": float(sites["heat_kwh_saved_pa"].sum()),
        "tco2e_saved_pa": float(sites["tco2e_saved_pa"].sum()),
        "tco2e_saved_pa_on_benchmarks": float(elec_t[elec_bench].sum()
                                              + heat_t[heat_bench].sum()),
        "kwh_saved_pa_on_benchmarks": float(
            sites.loc[elec_bench, "electricity_kwh_saved_pa"].sum()
            + sites.loc[heat_bench, "heat_kwh_saved_pa"].sum()),
        "by_year_gbp": {int(y): int(v) / 100.0 for y, v in
                        zip(by_year.index.to_numpy(dtype=int), by_year.to_numpy(), strict=True)},
    }
