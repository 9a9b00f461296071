"""Energy and carbon: the measures table, what measures do to a building, carbon by year.

A *measure* (LED lighting, heating controls, fabric, glazing, a heat pump, rooftop
solar PV) is fitted to a site the plan keeps. A site's *bundle* is the set of
measures fitted to it, all in one appraisal year; an *option* is a bundle and its
year. Conventions (documented with a worked example in data/README.md):

- A building's energy follows its floor area (CIBSE TM46 benchmarks are per m2 of
  GIA), not its occupants: services moving in or out leave its kWh unchanged, so a
  measure saves on the building's own ``electricity_kwh_pa`` and ``heat_kwh_pa``.
- Measures act in a fixed order, each on what the earlier ones leave: demand
  measures first (each saves its share of the electricity and heat left), then a
  heat pump (removes the gas or oil left: heat delivered = fuel x boiler
  efficiency, electricity added = heat delivered / SCOP, sized at heat delivered /
  full-load hours), then PV (generation = kWp x kWh/kWp, offsetting at most the
  electricity left; export is not valued). No kWh is counted twice.
- A measure is renewed at the end of its life at the same cost (a cost in that
  year), so its effect lasts to the horizon; the last installation's unexpired
  life is a residual value in the horizon year (straight line).
- Carbon by year uses the appraisal electricity factor of that calendar year (the
  long-run marginal series, :func:`shipped_grid`) and the scenario's fuel factors;
  the reported ``tco2e_saved_pa`` of disposals keeps the reporting factors.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tp_assets._errors import InputError
from tp_assets._tables import read_csv_cells
from tp_assets._toml import suggest
from tp_assets.finance import Finance, heat_fuel_price_key

#: Kinds of measure and the order they act in.
KINDS: tuple[str, ...] = ("demand", "heat_pump", "pv")
#: Appraisal carbon value series a scenario may put in its objective.
CARBON_SERIES: tuple[str, ...] = ("none", "low", "central", "high")
#: Heating fuels a heat pump replaces.
FOSSIL_FUELS: tuple[str, ...] = ("gas", "oil")

#: Columns of a measures table: name -> (needed for which kinds, what it holds).
MEASURE_COLUMNS: dict[str, tuple[tuple[str, ...], str]] = {
    "measure": (KINDS, "short id, e.g. led"),
    "name": ((), "what it is, for tables and maps"),
    "kind": (KINDS, "demand, heat_pump or pv"),
    "capex_fixed_gbp": ((), "capital cost per site (GBP)"),
    "capex_gbp_per_m2": ((), "capital cost per m2 of GIA (GBP)"),
    "capex_gbp_per_kw": ((), "heat pump: capital cost per kW thermal (GBP)"),
    "capex_gbp_per_kwp": ((), "PV: capital cost per kWp (GBP)"),
    "electricity_saving_share": ((), "share of the electricity left that it saves, 0-1"),
    "heat_saving_share": ((), "share of the heat fuel left that it saves, 0-1"),
    "scop": (("heat_pump",), "heat pump: seasonal coefficient of performance, at least 1"),
    "boiler_efficiency": (("heat_pump",), "heat pump: seasonal efficiency of the boiler it "
                          "replaces, 0-1"),
    "full_load_hours": (("heat_pump",), "heat pump: full-load hours a year, to size kW"),
    "kwp_per_m2_gia": (("pv",), "PV: kWp per m2 of GIA (usable roof x panel density)"),
    "kwh_per_kwp": (("pv",), "PV: kWh generated per kWp a year"),
    "lifetime_years": (KINDS, "years before it is renewed, at least 1"),
    "categories": ((), "TM46 categories it suits, separated by spaces, or all"),
    "excludes": ((), "measures it cannot be fitted with, separated by spaces"),
    "source": ((), "where its figures come from"),
}
_SHARES = ("electricity_saving_share", "heat_saving_share", "boiler_efficiency")
_NUMBERS = ("capex_fixed_gbp", "capex_gbp_per_m2", "capex_gbp_per_kw", "capex_gbp_per_kwp",
            "electricity_saving_share", "heat_saving_share", "scop", "boiler_efficiency",
            "full_load_hours", "kwp_per_m2_gia", "kwh_per_kwp", "lifetime_years")


@dataclass(frozen=True)
class Measure:
    """One row of a measures table (see :data:`MEASURE_COLUMNS` for units)."""

    measure: str
    name: str
    kind: str
    capex_fixed_gbp: float = 0.0
    capex_gbp_per_m2: float = 0.0
    capex_gbp_per_kw: float = 0.0
    capex_gbp_per_kwp: float = 0.0
    electricity_saving_share: float = 0.0
    heat_saving_share: float = 0.0
    scop: float = 0.0
    boiler_efficiency: float = 0.0
    full_load_hours: float = 0.0
    kwp_per_m2_gia: float = 0.0
    kwh_per_kwp: float = 0.0
    lifetime_years: int = 1
    categories: frozenset[str] | None = None
    excludes: frozenset[str] = frozenset()
    source: str = ""


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


def _data(name: str) -> pd.DataFrame:
    ref = resources.files("tp_assets") / "data" / name
    with ref.open("r", encoding="utf-8") as f:
        return pd.read_csv(f, keep_default_na=False, dtype=str)


@functools.cache
def shipped_grid() -> dict[int, float]:
    """The shipped electricity factors: kgCO2e/kWh by calendar year (2025-2070).

    DESNZ appraisal long-run marginal, consumption-based, commercial/public factors for
    2025-2039; later years are held at 2039's (an assumption, marked in the file).
    """
    table = _data("grid_electricity_factors.csv")
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
    return _data("carbon_values.csv").set_index("year")


@functools.cache
def _deflator() -> dict[int, float]:
    table = _data("gdp_deflator.csv")
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


# --------------------------------------------------------------------------- the table


@functools.cache
def shipped_measures() -> tuple[Measure, ...]:
    """The shipped measures table, ``tp_assets/data/measures.csv``.

    Each figure's source is in ``measure_sources.csv`` beside it.
    """
    ref = resources.files("tp_assets") / "data" / "measures.csv"
    with resources.as_file(ref) as path:
        return read_measures(Path(path))


def read_measures(path: Path, categories: Sequence[str] | None = None) -> tuple[Measure, ...]:
    """Read and check a measures table (columns: :data:`MEASURE_COLUMNS`).

    Parameters
    ----------
    path
        The CSV file.
    categories
        TM46 categories a measure may name (default: the shipped benchmarks').

    Raises
    ------
    InputError
        Every problem at once, each naming the file, the row and column, the value and
        the fix: a missing column, an unknown kind or category, a negative cost, a
        share above 1, a COP below 1, a measure that excludes itself or an unknown one.
    """
    if categories is None:
        from tp_assets.estate import tm46_benchmarks

        categories = list(tm46_benchmarks().index)
    cells = read_csv_cells(path)
    name = path.name
    missing = [c for c in MEASURE_COLUMNS if c not in cells.columns]
    if missing:
        raise InputError(f"{name}: missing column{'s' * (len(missing) > 1)} "
                         f"{', '.join(missing)}; a measures table needs "
                         + ",".join(MEASURE_COLUMNS) + " (data/README.md, Measures)")
    problems: list[str] = []
    rows: list[tuple[str, dict[str, object]]] = []
    for index, raw in cells.iterrows():
        row = f"{name} row {int(index) + 2}"  # type: ignore[call-overload]
        mid = raw["measure"].strip()
        where = f"{row} (measure {mid!r})" if mid else row
        kind = raw["kind"].strip()
        if not mid:
            problems.append(f"{row}: measure is blank; give each measure a short id, e.g. led")
        if kind not in KINDS:
            problems.append(f"{where}: kind {kind!r} must be one of {', '.join(KINDS)}")
        values: dict[str, object] = {"measure": mid, "name": raw["name"].strip() or mid,
                                     "kind": kind, "source": raw["source"].strip()}
        for column in _NUMBERS:
            text = raw[column].strip()
            needed = kind in MEASURE_COLUMNS[column][0]
            if not text:
                if needed:
                    problems.append(f"{where}: {column} is blank; a {kind} measure needs "
                                    f"it ({MEASURE_COLUMNS[column][1]})")
                continue
            try:
                value = float(text.replace(",", ""))
            except ValueError:
                problems.append(f"{where}: {column} {text!r} is not a number; write "
                                f"{MEASURE_COLUMNS[column][1]} as a plain number")
                continue
            if not math.isfinite(value) or value < 0:
                problems.append(f"{where}: {column} {text} must be 0 or more "
                                "(a cost or a figure cannot be negative)")
                continue
            if column in _SHARES and value > 1:
                problems.append(f"{where}: {column} {text} must be a share between 0 and 1 "
                                f"(0.2 = 20 %, not 20)")
                continue
            if column == "scop" and value < 1:
                problems.append(f"{where}: scop {text} is below 1: a heat pump delivers more "
                                "heat than the electricity it uses; give its seasonal COP, "
                                "e.g. 2.8")
                continue
            if column in ("lifetime_years", "full_load_hours") and value < 1:
                problems.append(f"{where}: {column} {text} must be at least 1")
                continue
            if column == "lifetime_years" and value != int(value):
                problems.append(f"{where}: lifetime_years {text} must be a whole number of "
                                "years")
                continue
            values[column] = int(value) if column == "lifetime_years" else value
        cats = raw["categories"].split()
        if cats and cats != ["all"]:
            unknown = [c for c in cats if c not in categories]
            for c in unknown:
                problems.append(f"{where}: categories names {c!r}, not a TM46 category"
                                f"{suggest(c, categories)}; use categories from "
                                "data/README.md (TM46 table) or all")
            values["categories"] = frozenset(cats)
        values["excludes"] = frozenset(raw["excludes"].split())
        if mid and mid in values["excludes"]:  # type: ignore[operator]
            problems.append(f"{where}: excludes names the measure itself; list only the "
                            "other measures it cannot be fitted with")
        rows.append((where, values))
    ids = [str(v["measure"]) for _, v in rows]
    for where, values in rows:
        if ids.count(str(values["measure"])) > 1 and values["measure"]:
            problems.append(f"{where}: measure {values['measure']!r} appears more than once; "
                            "give each row its own id")
        for other in sorted(values["excludes"]):  # type: ignore[call-overload]
            if other not in ids:
                problems.append(f"{where}: excludes {other!r}, which is not a measure in "
                                f"the table{suggest(other, ids)}")
    if problems:
        raise InputError(problems)
    return tuple(Measure(**v) for _, v in rows)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- one building


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
    for i, site in enumerate(sites.itertuples(index=False)):
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
        del i
    if problems:
        raise InputError(problems)
    return out


# --------------------------------------------------------------------------- over the years


def calendar_year(finance: Finance, year: int) -> int:
    """Calendar year in which appraisal year ``year`` (1-based) starts."""
    return finance.start_date.year + year - 1


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
    cal = [calendar_year(finance, t) for t in range(1, horizon + 1)]
    grid = np.array([energy.grid(c) for c in cal])
    values = np.array([carbon_value(energy.carbon_value, c, energy.price_base_year)
                       for c in cal])
    prices = finance.energy_prices_gbp_per_kwh
    offset = (energy.target.offset_gbp_per_tco2e if energy.target is not None
              and energy.target.offset_gbp_per_tco2e is not None else 0.0)
    offset_from = (_appraisal_year(finance, energy.target.year) if energy.target is not None
                   else horizon + 1)
    target_t = offset_from if energy.target is not None and not offset else None
    rule_t = (None if energy.fossil_heating_until is None
              else _appraisal_year(finance, energy.fossil_heating_until))
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
        found: list[tuple[dict[str, object], np.ndarray, np.ndarray]] = []
        for bundle in bundles(allowed[b]):
            eff = effect(bundle, site.electricity_kwh_pa, site.heat_kwh_pa, site.gia_m2, fuel)
            d_e = float(site.electricity_kwh_pa) - eff.electricity_kwh
            d_h = float(site.heat_kwh_pa) - eff.heat_kwh
            saving = d_e * prices["electricity"] + d_h * fuel_price
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


def _appraisal_year(finance: Finance, calendar: int) -> int:
    """Appraisal year (1-based) that starts in a calendar year."""
    return calendar - finance.start_date.year + 1


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
    keep = []
    for i in range(len(found)):
        if value[i] <= 0 and len(crit) == 1:
            continue
        ge = (score >= score[i] - 1e-9).all(axis=1)
        gt = (score > score[i] + 1e-9).any(axis=1)
        earlier_twin = (np.abs(score - score[i]) <= 1e-9).all(axis=1) & (
            np.arange(len(found)) < i)
        if not (ge & gt).any() and not earlier_twin.any():
            keep.append(i)
    return keep


def describe(opts: Options) -> str:
    """``"412 options on 180 sites"`` for logs and the summary."""
    sites = opts.table["site"].nunique() if len(opts.table) else 0
    return f"{len(opts.table):,} options on {sites:,} sites"


__all__ = ["CARBON_SERIES", "KINDS", "Effect", "Energy", "Measure", "Options", "Target",
           "bundles", "calendar_year", "carbon_value", "describe", "effect", "emissions",
           "fuel_factor", "installs", "options", "plan_emissions", "read_grid",
           "read_measures", "shipped_grid", "shipped_measures", "site_measures", "steps",
           "suits"]
