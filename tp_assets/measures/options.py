"""Each site's options (a bundle and its year) with their money and carbon; plan emissions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from tp_assets.finance import Finance, heat_fuel_price_key
from tp_assets.measures.building import (
    FOSSIL_FUELS,
    bundles,
    effect,
    installs,
    ordered,
    site_measures,
)
from tp_assets.measures.carbon import (
    Energy,
    appraisal_year,
    calendar_year,
    carbon_value,
    emissions,
    fuel_factor,
)


def plan_emissions(sites: pd.DataFrame, keep: np.ndarray, vacate: np.ndarray,
                   taken: pd.DataFrame, energy: Energy, finance: Finance) -> np.ndarray:
    """Each site's emissions under a plan, by appraisal year (tCO2e; sites x years).

    A disposed site emits until its vacate year; a kept site emits what it uses, less
    what its measures save from the year they are fitted.

    Parameters
    ----------
    sites
        Sites table (index 0..n-1).
    keep
        Keep flag per site.
    vacate
        Vacate year per site (1-based; horizon + 1 where never).
    taken
        The plan's measures: ``site_id``, ``measures`` (ids joined by ``+``), ``fit_year``.
    energy, finance
        Factors by year, the measures table, start and horizon.
    """
    out = emissions(sites, energy, finance)
    years = np.arange(1, finance.horizon_years + 1)
    out[~keep] *= years[None, :] < vacate[~keep, None]
    by_id = {m.measure: m for m in energy.measures}
    row_of = {sid: i for i, sid in enumerate(sites["site_id"])}
    for sid, ids, fit in zip(taken["site_id"], taken["measures"], taken["fit_year"],
                             strict=True):
        b = row_of[sid]
        site: Any = sites.iloc[b]
        eff = effect([by_id[m] for m in str(ids).split("+")], site["electricity_kwh_pa"],
                     site["heat_kwh_pa"], site["gia_m2"], str(site["heat_fuel"]))
        for t in years[years >= int(fit)]:
            c = calendar_year(finance, int(t))
            out[b, t - 1] = (eff.electricity_kwh * energy.grid(c) + eff.heat_kwh
                             * fuel_factor(energy, finance, str(site["heat_fuel"]), c)) / 1000.0
    return out


@dataclass
class Options:
    """The options of every site: one row per (site, bundle, fit year) worth considering.

    Attributes
    ----------
    table
        ``site`` (index into the sites), ``site_id``, ``measures`` (ids joined by
        ``+``), ``fit_year``, ``electricity_kwh_saved_pa`` (may be negative: a heat
        pump adds electricity), ``heat_kwh_saved_pa``, ``generated_kwh_pa``,
        ``capex_gbp`` (first installation, optimism bias included), ``cash_gbp``
        (discounted cash: savings less capex and renewals plus residual value),
        ``social_gbp`` (discounted carbon value), ``value_gbp`` (the two),
        ``removes_fossil`` (a heat pump).
    capex_by_year
        Options x appraisal years 1..horizon: capital spent (GBP, bias included).
    cut_by_year
        Options x appraisal years: tCO2e saved (0 before the fit year).
    """

    table: pd.DataFrame
    capex_by_year: np.ndarray
    cut_by_year: np.ndarray


def options(sites: pd.DataFrame, energy: Energy, finance: Finance,
            sites_file: str = "sites") -> Options:
    """Every site's options with their money and carbon, dominated ones left out.

    An option is left out where another of the same site is at least as good in value,
    in capital spent each year (where a budget counts it), in tCO2e saved in the target
    year (where a hard target counts it) and in removing fossil heat by the fuel rule's
    year: no plan needs it. Without such rules, only each site's best option is kept,
    and only where it is worth more than nothing.

    Parameters
    ----------
    sites
        Sites table of an :class:`~tp_assets.estate.Estate`.
    energy, finance
        The scenario's energy and finance settings.
    sites_file
        Name of the sites file, for messages.
    """
    horizon = finance.horizon_years
    allowed = site_measures(sites, energy.measures, sites_file)
    disc = finance.discount(np.arange(1, horizon + 1))
    elec_index = finance.price_index("electricity", np.arange(1, horizon + 1))
    cal = [calendar_year(finance, t) for t in range(1, horizon + 1)]
    grid = np.array([energy.grid(c) for c in cal])
    values = np.array([carbon_value(energy.carbon_value, c, energy.price_base_year)
                       for c in cal])
    prices = finance.energy_prices_gbp_per_kwh
    offset = (energy.target.offset_gbp_per_tco2e if energy.target is not None
              and energy.target.offset_gbp_per_tco2e is not None else 0.0)
    offset_from = (appraisal_year(finance, energy.target.year) if energy.target is not None
                   else horizon + 1)
    target_t = offset_from if energy.target is not None and not offset else None
    rule_t = (None if energy.fossil_heating_until is None
              else appraisal_year(finance, energy.fossil_heating_until))
    rows: list[dict[str, object]] = []
    capex_rows: list[np.ndarray] = []
    cut_rows: list[np.ndarray] = []
    bias = 1.0 + finance.optimism_bias
    site: Any
    for b, site in enumerate(sites.itertuples(index=False)):
        if not allowed[b]:
            continue
        fuel = str(site.heat_fuel)
        heat_f = np.array([fuel_factor(energy, finance, fuel, c) for c in cal])
        fuel_price = prices.get(heat_fuel_price_key(fuel) or "", 0.0)
        fuel_index = finance.price_index(heat_fuel_price_key(fuel), np.arange(1, horizon + 1))
        found: list[tuple[dict[str, object], np.ndarray, np.ndarray]] = []
        for bundle in bundles(allowed[b]):
            eff = effect(bundle, site.electricity_kwh_pa, site.heat_kwh_pa, site.gia_m2, fuel)
            d_e = float(site.electricity_kwh_pa) - eff.electricity_kwh
            d_h = float(site.heat_kwh_pa) - eff.heat_kwh
            saving = (d_e * prices["electricity"] * elec_index  # GBP by year
                      + d_h * fuel_price * fuel_index)
            cut = (d_e * grid + d_h * heat_f) / 1000.0
            for year in energy.fit_years:
                if year > horizon:
                    continue
                on = np.arange(1, horizon + 1) >= year
                capex = np.zeros(horizon)
                residual = 0.0
                for m, cost in zip(ordered(bundle), eff.capex_gbp, strict=True):
                    when, left = installs(m.lifetime_years, year, horizon)
                    for t in when:
                        capex[t - 1] += cost * bias
                    residual += cost * left
                cuts = np.where(on, cut, 0.0)
                cash = float((saving * on * disc).sum() - (capex * disc).sum()
                             + residual * disc[-1])
                cash += offset * float((cuts * disc)[offset_from - 1:].sum())
                social = float((cuts * values * disc).sum())
                found.append(({
                    "site": b, "site_id": site.site_id,
                    "measures": "+".join(m.measure for m in ordered(bundle)),
                    "fit_year": year, "electricity_kwh_saved_pa": d_e,
                    "heat_kwh_saved_pa": d_h, "generated_kwh_pa": eff.generated_kwh,
                    "capex_gbp": float(capex[year - 1]), "cash_gbp": cash,
                    "social_gbp": social, "value_gbp": cash + social,
                    "removes_fossil": any(m.kind == "heat_pump" for m in bundle)
                    and fuel in FOSSIL_FUELS,
                    "heat_pump_kw": eff.heat_pump_kw, "pv_kwp": eff.pv_kwp,
                }, capex, cuts))
        keep = _undominated(found, energy, target_t, rule_t)
        for k in keep:
            rows.append(found[k][0])
            capex_rows.append(found[k][1])
            cut_rows.append(found[k][2])
    columns = ["site", "site_id", "measures", "fit_year", "electricity_kwh_saved_pa",
               "heat_kwh_saved_pa", "generated_kwh_pa", "capex_gbp", "cash_gbp", "social_gbp",
               "value_gbp", "removes_fossil", "heat_pump_kw", "pv_kwp"]
    return Options(pd.DataFrame(rows, columns=columns),
                   np.array(capex_rows).reshape(len(rows), horizon),
                   np.array(cut_rows).reshape(len(rows), horizon))


def _undominated(found: list[tuple[dict[str, object], np.ndarray, np.ndarray]],
                 energy: Energy, target_t: int | None, rule_t: int | None) -> list[int]:
    """Indices of the options no other option of the site dominates (see :func:`options`)."""
    if not found:
        return []
    value = np.array([float(f[0]["value_gbp"]) for f in found])  # type: ignore[arg-type]
    if not energy.coupled:
        best = int(np.argmax(value))  # first of equal values
        return [best] if value[best] > 0 else []
    crit = [value]  # larger is better in every criterion
    capex = np.array([f[1] for f in found])
    if energy.capital_gbp_per_year is not None:  # each year's spend counts
        crit += [-capex[:, t] for t in range(capex.shape[1]) if capex[:, t].any()]
    elif energy.capital_gbp is not None:  # only the total counts
        crit.append(-capex.sum(axis=1))
    if target_t is not None:
        crit.append(np.array([f[2][target_t - 1] for f in found]))
    if rule_t is not None:
        crit.append(np.array([float(bool(f[0]["removes_fossil"])
                                    and int(f[0]["fit_year"]) <= rule_t)  # type: ignore[call-overload]
                              for f in found]))
    score = np.column_stack(crit)
    # [j, i]: option j is at least as good as i in every criterion, better in one, or
    # the same in all and earlier (all pairs at once: a site has a few hundred options)
    at_least = (score[:, None, :] >= score[None, :, :] - 1e-9).all(axis=2)
    better = (score[:, None, :] > score[None, :, :] + 1e-9).any(axis=2)
    same = (np.abs(score[:, None, :] - score[None, :, :]) <= 1e-9).all(axis=2)
    earlier = np.arange(len(found))[:, None] < np.arange(len(found))[None, :]
    beaten = (at_least & better).any(axis=0) | (same & earlier).any(axis=0)
    if len(crit) == 1:
        beaten |= value <= 0
    return np.flatnonzero(~beaten).tolist()


def describe(opts: Options) -> str:
    """``"412 options on 180 sites"`` for logs and the summary."""
    sites = opts.table["site"].nunique() if len(opts.table) else 0
    return f"{len(opts.table):,} options on {sites:,} sites"
