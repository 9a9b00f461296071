"""The input contract: each table's columns, their kinds, units and defaults.

The single source of truth for ``data/README.md``'s column tables.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from importlib import resources
from typing import Any

import numpy as np
import pandas as pd

from tp_assets import settings

# --------------------------------------------------------------------------- schema


@dataclass(frozen=True)
class Column:
    """Specification of one input column.

    Attributes
    ----------
    name
        Column header, exactly as it must appear in the file.
    kind
        ``{"id", "text", "number", "date", "bool", "enum"}``.
    unit
        Unit of a number (``"m2"``, ``"GBP/yr"``, ``"kWh/yr"``, ``"people"``).
    required
        Whether every row must give a value.
    default
        Value used for a blank cell in an optional column (documented).
    positive
        Numbers must be greater than 0 (otherwise at least 0).
    signed
        Numbers may be negative (coordinates).
    choices
        Allowed values of an ``enum`` column.
    doc
        One-line meaning, for data/README.md.
    """

    name: str
    kind: str
    unit: str = ""
    required: bool = False
    default: Any = None
    positive: bool = False
    signed: bool = False
    choices: tuple[str, ...] = ()
    doc: str = ""


@functools.cache
def tm46_benchmarks() -> pd.DataFrame:
    """CIBSE TM46:2008 typical energy benchmarks, one row per building category.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``category``; columns ``tm46_number``, ``description``,
        ``electricity_kwh_m2_pa`` and ``fossil_thermal_kwh_m2_pa`` (kWh per m2 of
        GIA per year) and ``source``.
    """
    ref = resources.files("tp_assets") / "data" / "cibse_tm46_benchmarks.csv"
    with ref.open("r", encoding="utf-8") as f:
        return pd.read_csv(f).set_index("category")


def site_columns() -> tuple[Column, ...]:
    """Specification of the sites table (see data/README.md).

    Returns
    -------
    tuple of Column
    """
    categories = tuple(tm46_benchmarks().index)
    return (
        Column("site_id", "id", required=True, doc="Unique identifier of the building"),
        Column("name", "text", required=True, doc="Name of the building"),
        Column("owner", "text", required=True,
               doc="Organisation that holds the building (council, NHS, police, ...)"),
        Column("gia_m2", "number", "m2", required=True, positive=True,
               doc="Gross internal area"),
        Column("capacity_m2", "number", "m2", positive=True,
               default=f"{settings.CAPACITY_SHARE_OF_GIA:g} x gia_m2",
               doc="Floor space available to services"),
        Column("tenure", "enum", required=True, choices=settings.TENURES,
               doc="How the building is held"),
        Column("lease_end", "date", default="blank (required for leasehold)",
               doc="First date a leasehold can be vacated (break or expiry), YYYY-MM-DD"),
        Column("vacate_from", "date", default="blank",
               doc="First date the site can be vacated whatever its tenure (a new building "
                   "opening, a service's contract), YYYY-MM-DD"),
        Column("rent_gbp_pa", "number", "GBP/yr", default=0.0, doc="Rent paid"),
        Column("rates_gbp_pa", "number", "GBP/yr", default=0.0, doc="Business rates paid"),
        Column("fm_gbp_pa", "number", "GBP/yr", default=0.0,
               doc="Facilities management and planned maintenance"),
        Column("backlog_gbp", "number", "GBP", default=0.0,
               doc="One-off maintenance backlog avoided by disposal"),
        Column("electricity_kwh_pa", "number", "kWh/yr", default="TM46 benchmark x gia_m2",
               doc="Metered electricity use"),
        Column("heat_kwh_pa", "number", "kWh/yr", default="TM46 benchmark x gia_m2",
               doc="Metered heating fuel use (0 where heat_fuel is none)"),
        Column("heat_fuel", "enum", default=settings.DEFAULT_HEAT_FUEL,
               choices=settings.HEAT_FUELS, doc="Main heating fuel"),
        Column("benchmark", "enum", default=settings.DEFAULT_BENCHMARK, choices=categories,
               doc="CIBSE TM46 category, used to estimate missing energy"),
        Column("market_value_gbp", "number", "GBP", default=0.0,
               doc="Receipt expected on disposal of a freehold"),
        Column("status", "enum", default="candidate", choices=settings.STATUSES,
               doc="candidate: the optimiser decides; retain / dispose: forced"),
        Column("measures_fitted", "text", default="",
               doc="Energy measures the building already has (measure ids, separated by "
                   "spaces, e.g. led pv)"),
        Column("measures_impossible", "text", default="",
               doc="Energy measures it cannot take (e.g. glazing on a listed building)"),
        ASSUMED,
    )


#: Which of a row's figures are assumptions (an importer's defaults) to replace.
ASSUMED = Column("assumed", "text", default="",
                 doc="Columns of this row whose values are assumptions to replace with "
                     "your own figures (names separated by spaces, e.g. gia_m2 tenure)")

SERVICE_COLUMNS: tuple[Column, ...] = (
    Column("service_id", "id", required=True, doc="Unique identifier of the service"),
    Column("site_id", "id", required=True, doc="Site where the service is today"),
    Column("service_type", "text", required=True,
           doc="Kind of service: library, gp, jobcentre, ... (lower case, _ for spaces)"),
    Column("owner", "text", required=True, doc="Organisation that runs the service"),
    Column("area_m2", "number", "m2", required=True, positive=True,
           doc="Floor space the service needs"),
    Column("fte", "number", "FTE", default=0.0,
           doc="Staff (full-time equivalent) who move with it"),
    Column("movable", "bool", default=True, doc="Whether the service may move to another site"),
    Column("splittable", "bool", default=False,
           doc="Whether it may be spread over several sites in proportion"),
    Column("name", "text", default="", doc="Name of the service"),
    ASSUMED,
)

ZONE_COLUMNS: tuple[Column, ...] = (
    Column("zone_id", "id", required=True, doc="Census area code (LSOA / OA) or other unique id"),
    Column("population", "number", "people", required=True, doc="Residents"),
    Column("name", "text", default="", doc="Name of the area"),
    Column("pwc_x", "number", "CRS units", default="polygon centroid", signed=True,
           doc="Population-weighted centroid, x in the file's CRS (within 1 km of the zone)"),
    Column("pwc_y", "number", "CRS units", default="polygon centroid", signed=True,
           doc="Population-weighted centroid, y in the file's CRS (within 1 km of the zone)"),
    Column("ward", "text", default="", doc="Electoral ward the area lies in (its name)"),
    Column("imd_decile", "number", default="blank", signed=True,  # range: is_decile()
           doc="Index of Multiple Deprivation decile: 1 = the most deprived tenth of areas "
               "in England, 10 = the least"),
)

#: Extra zone columns whose names start with these prefixes are demand columns
#: (people or counts, numbers >= 0) that access standards may weight by.
DEMAND_PREFIXES: tuple[str, ...] = ("pop_", "demand_")


#: What an Index of Multiple Deprivation decile is, for messages.
DECILE_WORDS = ("a whole number from 1 (the most deprived tenth of areas in England) to 10 "
                "(the least)")


def is_decile(values: Any) -> Any:
    """Whether each value is an IMD decile, a whole number 1-10 (NaN: not one)."""
    numbers = np.asarray(values, dtype=float)
    with np.errstate(invalid="ignore"):
        return np.isfinite(numbers) & (numbers == np.round(numbers)) & (numbers >= 1) & (
            numbers <= 10)
