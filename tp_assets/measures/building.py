"""What a bundle of measures does to one building: energy after it, cost of each measure."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from tp_assets._errors import InputError
from tp_assets._toml import suggest
from tp_assets.measures.table import KINDS, Measure

#: Heating fuels a heat pump replaces.
FOSSIL_FUELS: tuple[str, ...] = ("gas", "oil")


@dataclass(frozen=True)
class Effect:
    """What a bundle does to one building (a year's figures, before renewals).

    Attributes
    ----------
    electricity_kwh, heat_kwh
        Electricity bought and heating fuel burnt a year after the bundle (kWh/yr).
    generated_kwh
        PV generation used on site (kWh/yr).
    capex_gbp
        Capital cost of each measure, in the bundle's order (GBP, before optimism bias).
    heat_pump_kw, pv_kwp
        Sizes (kW thermal, kWp; 0 where none).
    """

    electricity_kwh: float
    heat_kwh: float
    generated_kwh: float
    capex_gbp: tuple[float, ...]
    heat_pump_kw: float = 0.0
    pv_kwp: float = 0.0


def ordered(bundle: Sequence[Measure]) -> list[Measure]:
    """A bundle in the order its measures act: demand, heat pump, PV (table order within)."""
    return sorted(bundle, key=lambda m: KINDS.index(m.kind))


@dataclass(frozen=True)
class Step:
    """What one measure of a bundle adds, after the measures before it (kWh a year, GBP).

    The steps of a bundle add up to its :class:`Effect`: the savings are attributed to
    each measure in the order they act.
    """

    measure: Measure
    capex_gbp: float
    electricity_kwh_saved: float
    heat_kwh_saved: float
    generated_kwh: float
    heat_pump_kw: float = 0.0
    pv_kwp: float = 0.0


def steps(bundle: Sequence[Measure], electricity_kwh: float, heat_kwh: float, gia_m2: float,
          heat_fuel: str) -> list[Step]:
    """Each measure's capital cost and saving, in the order the bundle's measures act.

    Parameters
    ----------
    bundle
        Measures fitted together.
    electricity_kwh, heat_kwh
        The building's use before (kWh/yr).
    gia_m2
        Gross internal area (m2).
    heat_fuel
        Its heating fuel (a heat pump acts on ``gas`` and ``oil`` only).
    """
    e, h = float(electricity_kwh), float(heat_kwh)
    out = []
    for m in ordered(bundle):
        cost = m.capex_fixed_gbp + m.capex_gbp_per_m2 * gia_m2
        e0, h0 = e, h
        kw = kwp = generated = 0.0
        if m.kind == "demand":
            e *= 1.0 - m.electricity_saving_share
            h *= 1.0 - m.heat_saving_share
        elif m.kind == "heat_pump":
            if heat_fuel in FOSSIL_FUELS:
                delivered = h * m.boiler_efficiency
                kw = delivered / m.full_load_hours
                cost += m.capex_gbp_per_kw * kw
                e += delivered / m.scop
                h = 0.0
        else:
            kwp = m.kwp_per_m2_gia * gia_m2
            cost += m.capex_gbp_per_kwp * kwp
            generated = min(e, kwp * m.kwh_per_kwp)
            e -= generated
        out.append(Step(m, cost, e0 - e, h0 - h, generated, kw, kwp))
    return out


def effect(bundle: Sequence[Measure], electricity_kwh: float, heat_kwh: float, gia_m2: float,
           heat_fuel: str) -> Effect:
    """The energy a building uses a year after a bundle, and what each measure costs.

    Parameters are as for :func:`steps`, whose figures this adds up.
    """
    done = steps(bundle, electricity_kwh, heat_kwh, gia_m2, heat_fuel)
    return Effect(float(electricity_kwh) - sum(s.electricity_kwh_saved for s in done),
                  float(heat_kwh) - sum(s.heat_kwh_saved for s in done),
                  sum(s.generated_kwh for s in done), tuple(s.capex_gbp for s in done),
                  sum(s.heat_pump_kw for s in done), sum(s.pv_kwp for s in done))


def installs(lifetime_years: int, fit_year: int, horizon: int) -> tuple[list[int], float]:
    """Years a measure is installed, and the share of its last life left at the horizon.

    A measure is renewed at the end of each life; the unexpired share of its last
    installation is its residual value (straight line).

    Parameters
    ----------
    lifetime_years
        Years a measure lasts.
    fit_year, horizon
        Appraisal year it is first fitted in, and the appraisal's last year.
    """
    years = list(range(fit_year, horizon + 1, lifetime_years))
    left = max(0, years[-1] + lifetime_years - 1 - horizon) / lifetime_years
    return years, left


def suits(measure: Measure, category: str, heat_fuel: str, heat_kwh: float) -> bool:
    """Whether a measure can be fitted to a building of this TM46 category and heating."""
    if measure.categories is not None and category not in measure.categories:
        return False
    if measure.kind == "heat_pump":
        return heat_fuel in FOSSIL_FUELS and heat_kwh > 0
    return True


def bundles(measures: Sequence[Measure]) -> list[tuple[Measure, ...]]:
    """Every non-empty set of the measures that excludes none of its members, in a fixed order."""
    out = []
    for size in range(1, len(measures) + 1):
        for combo in itertools.combinations(measures, size):
            ids = {m.measure for m in combo}
            if not any(m.excludes & (ids - {m.measure}) for m in combo):
                out.append(combo)
    return out


def site_measures(sites: pd.DataFrame, measures: Sequence[Measure], sites_file: str = "sites"
                  ) -> list[list[Measure]]:
    """The measures each site may take: suited, not fitted already, not impossible.

    Sites may list measure ids in ``measures_fitted`` and ``measures_impossible``
    (separated by spaces); a fitted measure also rules out those it excludes.

    Raises
    ------
    InputError
        A site naming a measure the table lacks (file, row, the ids it has).
    """
    ids = [m.measure for m in measures]
    problems = []
    out = []
    site: Any
    for site in sites.itertuples(index=False):
        fitted = str(getattr(site, "measures_fitted", "") or "").split()
        impossible = str(getattr(site, "measures_impossible", "") or "").split()
        for column, named in (("measures_fitted", fitted), ("measures_impossible", impossible)):
            for mid in named:
                if mid not in ids:
                    problems.append(f"{sites_file} site {site.site_id}: {column} names "
                                    f"{mid!r}, not a measure of the scenario's table"
                                    f"{suggest(mid, ids)}; measures: {', '.join(ids)}")
        barred = set(fitted) | set(impossible)
        barred |= {x for m in measures if m.measure in fitted for x in m.excludes}
        out.append([m for m in measures if m.measure not in barred
                    and suits(m, str(site.benchmark), str(site.heat_fuel),
                              float(site.heat_kwh_pa))])
    if problems:
        raise InputError(problems)
    return out
