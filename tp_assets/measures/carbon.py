"""Carbon and energy settings over the years: grid factors, appraisal carbon values, emissions."""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tp_assets._errors import InputError
from tp_assets._tables import data_table, read_csv_cells
from tp_assets._toml import NUMBER, Reader, locate, shown
from tp_assets.finance import Finance, heat_fuel_price_key
from tp_assets.measures.table import Measure, read_measures, shipped_measures

#: Appraisal carbon value series a scenario may put in its objective.
CARBON_SERIES: tuple[str, ...] = ("none", "low", "central", "high")


@dataclass(frozen=True)
class Target:
    """A carbon target: from ``year`` on, estate emissions at most a share of the baseline.

    Attributes
    ----------
    year
        Calendar year the target applies from (within the appraisal).
    share_of_baseline
        Most emissions allowed, as a share of the estate's emissions in appraisal
        year 1 with no plan (0 = net zero).
    offset_gbp_per_tco2e
        Net zero only: every tonne still emitted from ``year`` is offset at this price
        (a cash cost), so the target always holds; ``None``: a hard rule.
    """

    year: int
    share_of_baseline: float
    offset_gbp_per_tco2e: float | None = None


@dataclass(frozen=True)
class Energy:
    """A scenario's ``[energy]`` settings (optimisation/README.md).

    Attributes
    ----------
    measures
        The measures that may be fitted (empty: none; the plan decides disposals only).
    measures_file
        Where they were read from (``None``: the shipped table).
    fit_years
        Appraisal years (1-based) a bundle may be fitted in.
    carbon_value
        Appraisal carbon value series in the objective: ``{"none", "low", "central",
        "high"}`` (a separate "social" line, never in the cash NPV).
    price_base_year
        Price base of the carbon values (rebased from 2022 prices by the GDP deflator).
    grid_kg_per_kwh
        Electricity factor (kgCO2e/kWh) by calendar year.
    grid_source
        Where that series comes from.
    capital_gbp, capital_gbp_per_year
        Capital budget for measures over the appraisal and in any one year (GBP,
        optimism bias included); ``None``: no cap.
    target
        Carbon target, or ``None``.
    fossil_heating_until
        Calendar year from which no site the plan keeps heats with gas or oil (a heat
        pump fitted by then, or the site disposed of); ``None``: no rule.
    """

    measures: tuple[Measure, ...] = ()
    measures_file: Path | None = None
    fit_years: tuple[int, ...] = (1,)
    carbon_value: str = "none"
    price_base_year: int = 2025
    grid_kg_per_kwh: Mapping[int, float] = field(default_factory=lambda: _shipped_grid())
    grid_source: str = "shipped: DESNZ appraisal long-run marginal factors (commercial/public)"
    capital_gbp: float | None = None
    capital_gbp_per_year: float | None = None
    target: Target | None = None
    fossil_heating_until: int | None = None

    @property
    def active(self) -> bool:
        """Whether the scenario asks anything of energy.

        Measures, a carbon value, a target or a fuel rule: its run then writes
        measures.csv, carbon.csv and their charts.
        """
        return bool(self.measures) or self.carbon_value != "none" or self.target is not None \
            or self.fossil_heating_until is not None

    @property
    def coupled(self) -> bool:
        """Whether a rule ties the sites' measures together (budget, hard target, fuel rule)."""
        hard = self.target is not None and self.target.offset_gbp_per_tco2e is None
        budget = self.capital_gbp is not None or self.capital_gbp_per_year is not None
        return hard or self.fossil_heating_until is not None or (bool(self.measures) and budget)

    def grid(self, year: int) -> float:
        """Electricity factor (kgCO2e/kWh) of a calendar year; the nearest year given outside."""
        years = sorted(self.grid_kg_per_kwh)
        year = min(max(year, years[0]), years[-1])
        return float(self.grid_kg_per_kwh[year])


def _shipped_grid() -> dict[int, float]:
    return shipped_grid()


@functools.cache
def shipped_grid() -> dict[int, float]:
    """The shipped electricity factors: kgCO2e/kWh by calendar year (2025-2070).

    DESNZ appraisal long-run marginal, consumption-based, commercial/public factors for
    2025-2039; later years are held at 2039's (an assumption, marked in the file).
    """
    table = data_table("grid_electricity_factors.csv")
    return {int(y): float(v) for y, v in zip(table["year"], table["kg_co2e_per_kwh"],
                                             strict=True)}


def read_grid(path: Path) -> dict[int, float]:
    """A scenario's own electricity factors: a CSV with ``year`` and ``kg_co2e_per_kwh``.

    Raises
    ------
    InputError
        A missing column, a year or factor that is not a number, a year given twice.
    """
    cells = read_csv_cells(path)
    missing = [c for c in ("year", "kg_co2e_per_kwh") if c not in cells.columns]
    if missing:
        raise InputError(f"{path.name}: missing column {', '.join(missing)}; the table needs "
                         "year,kg_co2e_per_kwh (one row per calendar year)")
    out: dict[int, float] = {}
    problems = []
    for i, (y, v) in enumerate(zip(cells["year"], cells["kg_co2e_per_kwh"], strict=True)):
        row = f"{path.name} row {int(cells.index[i]) + 2}"
        try:
            year, value = int(y), float(v)
        except ValueError:
            problems.append(f"{row}: year {y!r} and kg_co2e_per_kwh {v!r} must be a whole "
                            "year and a number, e.g. 2030,0.091")
            continue
        if not math.isfinite(value) or value < 0:
            problems.append(f"{row}: kg_co2e_per_kwh {v!r} must be 0 or more")
        elif year in out:
            problems.append(f"{row}: year {year} is given twice; keep one row per year")
        out[year] = value
    if problems:
        raise InputError(problems)
    return out


@functools.cache
def _carbon_table() -> pd.DataFrame:
    return data_table("carbon_values.csv").set_index("year")


@functools.cache
def _deflator() -> dict[int, float]:
    table = data_table("gdp_deflator.csv")
    return {int(y): float(v) for y, v in zip(table["year"], table["index_2022_eq_100"],
                                             strict=True)}


def deflator_years() -> tuple[int, int]:
    """First and last year of the shipped GDP deflator (a price base must lie within)."""
    years = sorted(_deflator())
    return years[0], years[-1]


def carbon_value(series: str, year: int, price_base_year: int) -> float:
    """Appraisal carbon value (GBP per tCO2e, in ``price_base_year`` prices) of a calendar year.

    DESNZ *Valuation of energy use and greenhouse gas emissions for appraisal*, data
    table 3 (2022 prices, 2020-2050; later years held at 2050's), rebased by the GDP
    deflator. ``series`` ``"none"`` values carbon at 0.

    Parameters
    ----------
    series
        ``{"none", "low", "central", "high"}``.
    year
        Calendar year.
    price_base_year
        Year whose prices the value is in.
    """
    if series == "none":
        return 0.0
    table = _carbon_table()
    years = table.index.astype(int)
    year = min(max(year, int(years.min())), int(years.max()))
    value = float(str(table.loc[str(year), f"{series}_gbp2022_per_tco2e"]))
    return value * _deflator()[price_base_year] / _deflator()[2022]


def calendar_year(finance: Finance, year: int) -> int:
    """Calendar year in which appraisal year ``year`` (1-based) starts."""
    return finance.start_date.year + year - 1


def appraisal_year(finance: Finance, calendar: int) -> int:
    """Appraisal year (1-based) that starts in a calendar year (:func:`calendar_year` undone)."""
    return calendar - finance.start_date.year + 1


def fuel_factor(energy: Energy, finance: Finance, heat_fuel: str, year: int) -> float:
    """kgCO2e per kWh of a heating fuel in a calendar year (electric heating: the grid's)."""
    key = heat_fuel_price_key(heat_fuel)
    if key is None:
        return 0.0
    if key == "electricity":
        return energy.grid(year)
    return float(finance.carbon_kg_per_kwh.get(key, 0.0))


def emissions(sites: pd.DataFrame, energy: Energy, finance: Finance) -> np.ndarray:
    """Each site's emissions with no plan, by appraisal year (tCO2e; sites x years 1..horizon).

    Parameters
    ----------
    sites
        Sites table (``electricity_kwh_pa``, ``heat_kwh_pa``, ``heat_fuel``).
    energy, finance
        Factors by year and the appraisal's start and horizon.
    """
    years = range(1, finance.horizon_years + 1)
    e = sites["electricity_kwh_pa"].to_numpy(dtype=float)
    h = sites["heat_kwh_pa"].to_numpy(dtype=float)
    fuels = sites["heat_fuel"].astype(str).tolist()
    out = np.zeros((len(sites), finance.horizon_years))
    for t in years:
        c = calendar_year(finance, t)
        heat = np.array([fuel_factor(energy, finance, f, c) for f in fuels])
        out[:, t - 1] = (e * energy.grid(c) + h * heat) / 1000.0
    return out


ENERGY_KEYS = ("measures", "fit_years", "carbon_value", "price_base_year", "grid_factors",
               "budget", "target", "rules")


def read_energy(r: Reader, t: dict[str, Any], base: Path, finance: Finance) -> Energy:
    """A scenario's ``[energy]`` table: measures, carbon values, budgets, a target, a fuel rule.

    Parameters
    ----------
    r
        The scenario's reader (it records each problem with its key and line).
    t
        The ``[energy]`` table.
    base
        The scenario's folder (paths are relative to it).
    finance
        The scenario's finance (the appraisal's years).
    """
    r.keys(t, ENERGY_KEYS, "energy")
    d = Energy()
    first, last = finance.start_date.year, finance.start_date.year + finance.horizon_years - 1
    horizon = (f"the appraisal's years, {first} to {last} ([finance] start_date and "
               "horizon_years)")
    chosen: tuple[Measure, ...] = ()
    file = None
    given = t.get("measures", False)
    if given is True:
        chosen = shipped_measures()
    elif isinstance(given, str) and given:
        file = base / given
        if not file.exists():
            r.problems.append(f"{r.where('measures', 'energy')}measures file {given!r} not "
                              f"found (looked for {file}); paths are relative to the scenario "
                              "file, or write measures = true for the shipped table")
        else:
            try:
                chosen = read_measures(file)
            except InputError as exc:
                r.problems += exc.problems
    elif given is not False:
        r.problems.append(f"{r.where('measures', 'energy')}measures = {shown(given)} must be "
                          'true (the shipped table), false, or a CSV path, e.g. measures = '
                          '"my_measures.csv"')
    years = r.get(t, "fit_years", list, list(d.fit_years), "energy",
                  "a list of appraisal years, e.g. fit_years = [1, 3]")
    if not years or not all(isinstance(y, int) and not isinstance(y, bool)
                            and 1 <= y <= finance.horizon_years for y in years):
        r.problems.append(f"{r.where('fit_years', 'energy')}fit_years = {shown(years)} must "
                          f"list appraisal years from 1 to {finance.horizon_years} "
                          "([finance] horizon_years), e.g. fit_years = [1, 3]")
        years = list(d.fit_years)
    series = r.get(t, "carbon_value", str, d.carbon_value, "energy",
                   "one of " + ", ".join(CARBON_SERIES))
    if series not in CARBON_SERIES:
        r.problems.append(f"{r.where('carbon_value', 'energy')}carbon_value = {shown(series)} "
                          f"must be one of {', '.join(CARBON_SERIES)} (the appraisal carbon "
                          "value series; none leaves carbon out of the objective)")
        series = d.carbon_value
    low, high = deflator_years()
    price_base = r.get(t, "price_base_year", int, d.price_base_year, "energy",
                       f"a year from {low} to {high} (the GDP deflator's years)",
                       minimum=low, maximum=high)
    grid, grid_source = d.grid_kg_per_kwh, d.grid_source
    grid_file = r.get(t, "grid_factors", str, None, "energy",
                      'a CSV path, e.g. grid_factors = "grid.csv"')
    if grid_file:
        path = base / grid_file
        try:
            grid, grid_source = read_grid(path), f"scenario: {grid_file}"
        except InputError as exc:
            r.problems += [f"{r.where('grid_factors', 'energy')}{p}" for p in exc.problems]
    budget = r.table(t, "budget", "energy")
    r.keys(budget, ("capital_gbp", "capital_gbp_per_year"), "energy.budget")
    money = {key: r.get(budget, key, NUMBER, None, "energy.budget",
                        "a sum in GBP, 0 or more, written without quotes, e.g. "
                        f"{key} = 2000000", minimum=0.0)
             for key in ("capital_gbp", "capital_gbp_per_year")}
    target = None
    raw = r.table(t, "target", "energy")
    r.keys(raw, ("year", "share_of_baseline", "offset_gbp_per_tco2e"), "energy.target")
    if raw:
        where = f"{locate(r.sources, '', 'energy.target')}: [energy.target]"
        year = r.get(raw, "year", int, None, "energy.target", f"a calendar year within {horizon}")
        if "year" not in raw:
            r.problems.append(f"{where} needs year = <calendar year>, e.g. year = {first + 3}")
        elif year is not None and not first <= year <= last:
            r.problems.append(f"{r.where('year', 'energy.target')}year = {year} is outside "
                              f"{horizon}; pick a year within them or lengthen horizon_years")
            year = None
        share = r.get(raw, "share_of_baseline", NUMBER, None, "energy.target",
                      "a share between 0 and 1 (0 = net zero, 0.5 = half the baseline)",
                      minimum=0.0, maximum=1.0)
        if "share_of_baseline" not in raw:
            r.problems.append(f"{where} needs share_of_baseline = <0-1>, e.g. "
                              "share_of_baseline = 0.5 (0 = net zero)")
        offset = r.get(raw, "offset_gbp_per_tco2e", NUMBER, None, "energy.target",
                       "a price in GBP per tCO2e, 0 or more", minimum=0.0)
        if offset is not None and share not in (None, 0, 0.0):
            r.problems.append(f"{r.where('offset_gbp_per_tco2e', 'energy.target')}offsets "
                              "buy every tonne still emitted, so they go with net zero: set "
                              "share_of_baseline = 0, or drop offset_gbp_per_tco2e for a hard "
                              "target")
        if year is not None and share is not None:
            target = Target(int(year), float(share),
                            None if offset is None else float(offset))
    rules = r.table(t, "rules", "energy")
    r.keys(rules, ("fossil_heating_until",), "energy.rules")
    fossil = r.get(rules, "fossil_heating_until", int, None, "energy.rules",
                   f"a calendar year within {horizon}")
    if fossil is not None and not first <= fossil <= last:
        r.problems.append(f"{r.where('fossil_heating_until', 'energy.rules')}"
                          f"fossil_heating_until = {fossil} is outside {horizon}; pick a year "
                          "within them")
        fossil = None
    return Energy(measures=chosen, measures_file=file, fit_years=tuple(sorted(set(years))),
                  carbon_value=series, price_base_year=price_base, grid_kg_per_kwh=grid,
                  grid_source=grid_source, capital_gbp=money["capital_gbp"],
                  capital_gbp_per_year=money["capital_gbp_per_year"], target=target,
                  fossil_heating_until=fossil)
