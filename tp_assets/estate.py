"""The estate: sites, the services in them and the residents' zones.

Load the three input tables from CSV, GeoPackage or GeoJSON, validate every value
once (all problems reported together), reproject to British National Grid
(EPSG:27700) and fill documented defaults, including energy estimated from CIBSE
TM46 benchmarks where a site has no metered figure. The input contract is
documented column by column in ``data/README.md``; the column specifications
below are the single source of truth for it.
"""

from __future__ import annotations

import difflib
import functools
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from tp_assets import settings
from tp_assets._errors import InputError, shortlist
from tp_assets._tables import (
    RawTable,
    crs_fix,
    file_sha256,
    parse_crs,
    read_boundary,
    read_table,
    record_unit,
    swapped_in_place,
)
from tp_assets._text import MAX_TEXT_CHARS, bidi_problem, clip, formula_id_problem
from tp_assets._toml import check_keys, line_of, read_toml, shown

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
    Column("imd_decile", "number", default="blank",
           doc="Index of Multiple Deprivation decile: 1 = the most deprived tenth of areas "
               "in England, 10 = the least"),
)

#: Extra zone columns whose names start with these prefixes are demand columns
#: (people or counts, numbers >= 0) that access standards may weight by.
DEMAND_PREFIXES: tuple[str, ...] = ("pop_", "demand_")


# --------------------------------------------------------------------------- the Estate


@dataclass
class Estate:
    """A place's collective public estate, validated, in EPSG:27700.

    Attributes
    ----------
    name
        Name of the place.
    sites
        One row per building, the columns of :func:`site_columns` plus
        ``electricity_source`` and ``heat_source`` (``{"metered", "benchmark"}``)
        and ``energy_source`` (``"metered"`` only when both figures are metered).
    services
        One row per service, the columns of :data:`SERVICE_COLUMNS`; geometry is
        the point of the site it occupies today.
    zones
        One row per zone, the columns of :data:`ZONE_COLUMNS` plus demand columns,
        and ``point_x``, ``point_y`` (metres, EPSG:27700: the population-weighted
        centroid where given, else the centroid) with ``point_source``.
    boundary
        The place's boundary polygon (EPSG:27700), where one was given.
    notes
        Observations that are not errors (a site just outside the boundary, a
        building over-occupied today), for the summary.
    files
        The input files read, by role.
    network
        Street-network file named by the place, if any.
    rows
        Role -> id -> the row (feature in geodata) each site and service was read
        from, as messages number them (:meth:`where`).
    """

    name: str
    sites: gpd.GeoDataFrame
    services: gpd.GeoDataFrame
    zones: gpd.GeoDataFrame
    boundary: shapely.Geometry | None = None
    notes: list[str] = field(default_factory=list)
    files: dict[str, Path] = field(default_factory=dict)
    network: Path | None = None
    rows: dict[str, dict[str, int]] = field(default_factory=dict)

    def where(self, role: str, ids: Sequence[str]) -> str:
        """Where records were read, for a message: ``"sites.csv row 4"``.

        Parameters
        ----------
        role
            ``"sites"`` or ``"services"``.
        ids
            The records' ids; several give ``"services.csv rows 4, 9"`` (in file order,
            up to eight, then how many more).

        Returns
        -------
        str
            The file and rows (features of a geodata file), the file alone where a row
            is unknown (an estate built in code), or ``"the sites table"``.
        """
        if role not in self.files:
            return f"the {role} table"
        file = self.files[role]
        found = self.rows.get(role, {})
        if not ids or any(i not in found for i in ids):
            return file.name
        numbers = sorted({found[i] for i in ids})
        return (f"{file.name} {record_unit(file)}{'s' * (len(numbers) > 1)} "
                f"{shortlist(numbers)}")

    @property
    def demand_columns(self) -> list[str]:
        """Zone columns an access standard may weight by (``population`` first)."""
        return ["population"] + [c for c in self.zones.columns
                                 if c.startswith(DEMAND_PREFIXES)]

    def file_hashes(self) -> dict[str, str]:
        """SHA-256 of every input file, by role, for audit trails."""
        return {role: file_sha256(p) for role, p in self.files.items()}


# --------------------------------------------------------------------------- parsing cells


def _blank(value: object) -> bool:
    if value is None or value is pd.NaT:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and value.strip() == ""


def _parse_number(value: object) -> float:
    if isinstance(value, bool | np.bool_):
        raise ValueError("is true/false, not a number")
    if isinstance(value, int | float | np.integer | np.floating):
        number = float(value)
    else:
        text = str(value).strip()
        try:
            number = float(text)
        except ValueError:
            hint = ""
            if any(ch in text for ch in "£$€,"):
                hint = " (write plain numbers: no currency symbols or thousands separators)"
            raise ValueError(f"is not a number{hint}") from None
    if not math.isfinite(number):
        raise ValueError("is not a finite number")
    return number


def _parse_date(value: object) -> pd.Timestamp:
    if isinstance(value, datetime | date | pd.Timestamp):
        return pd.Timestamp(value).normalize()
    text = str(value).strip()
    try:
        return pd.Timestamp(date.fromisoformat(text))
    except ValueError:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            raise ValueError("is not a day of the calendar (check the day and month, e.g. "
                             "2029-02-28)") from None
        raise ValueError("is not a date in YYYY-MM-DD form (e.g. 2029-03-31)") from None


def _parse_bool(value: object) -> bool:
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | float | np.integer | np.floating) and value in (0, 1):
        return bool(value)
    text = str(value).strip().lower()
    if text in settings.TRUE_WORDS:
        return True
    if text in settings.FALSE_WORDS:
        return False
    raise ValueError("is not true or false (write true/false, yes/no or 1/0)")


def _id_text(value: object) -> str:
    """An id as text: ``12.0`` read from a geodata file is ``"12"``."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _parse_id(value: object) -> str:
    text = _id_text(value)
    refused = formula_id_problem(text)
    if refused:
        raise ValueError(refused)
    return text


def _parse_enum(value: object, choices: tuple[str, ...]) -> str:
    text = str(value).strip().lower().replace(" ", "_").replace("-", "_")
    if text in choices:
        return text
    close = difflib.get_close_matches(text, choices, n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    shown = ", ".join(choices) if len(choices) <= 8 else ", ".join(choices[:8]) + ", ..."
    raise ValueError(f"is not a known value{hint}; valid values: {shown}")


def _parse_cell(value: object, col: Column) -> Any:
    if col.kind == "number":
        number = _parse_number(value)
        if number < 0 and not col.signed:
            raise ValueError("is negative; it must be "
                             + ("greater than 0" if col.positive else "0 or more"))
        if col.positive and number == 0:
            raise ValueError("is 0; it must be greater than 0")
        return number
    if col.kind == "date":
        return _parse_date(value)
    if col.kind == "bool":
        return _parse_bool(value)
    if col.kind == "enum":
        return _parse_enum(value, col.choices)
    if col.kind == "id":
        return _parse_id(value)
    return str(value).strip()


def _what(col: Column) -> str:
    unit = f" in {col.unit}" if col.unit else ""
    return {"number": f"a number{unit}" + (" greater than 0" if col.positive else ", 0 or more"),
            "date": "a date YYYY-MM-DD", "bool": "true or false",
            "enum": "one of " + ", ".join(col.choices[:8]) + (", ..." if len(col.choices) > 8
                                                                   else ""),
            "id": "an identifier", "text": "text"}[col.kind]


def _check_text(table: RawTable, ids: pd.Series, id_col: str, problems: list[str],
                notes: list[str]) -> None:
    """Refuse text with bidirectional controls; cut free text over the longest kept.

    Overlong cells are cut in ``table.cells`` itself (with a note), so that a
    description of megabytes is not carried into the results and the map.
    """
    for k, column in enumerate(table.cells.columns):
        for i, value in enumerate(table.cells[column].tolist()):
            if not isinstance(value, str):
                continue
            refused = bidi_problem(value)
            if refused:
                problems.append(f"{table.where(i, ids[i], id_col)}, column '{column}': {refused}")
            if len(value) > MAX_TEXT_CHARS:
                notes.append(f"{table.where(i, ids[i], id_col)}, column '{column}': "
                             f"{len(value):,} characters, cut to the first {MAX_TEXT_CHARS:,} "
                             "(free text is kept short in the results and the map)")
                table.cells.iat[i, k] = clip(value)


def _parse_table(table: RawTable, columns: tuple[Column, ...], problems: list[str],
                 notes: list[str], role: str) -> pd.DataFrame:
    """Parse every specified column; blanks stay None so defaults can be applied later."""
    cells = table.cells
    id_col = columns[0].name
    missing = [c.name for c in columns if c.required and c.name not in cells.columns]
    if missing:
        present = ", ".join(map(str, cells.columns)) or "none"
        known = {c.name for c in columns}
        # a column already named as one of ours is no candidate for a rename
        lowered = {str(c).strip().lower(): str(c) for c in cells.columns if c not in known}
        for name in missing:
            close = difflib.get_close_matches(name, list(lowered), n=1)
            hint = f" (found '{lowered[close[0]]}': rename it to '{name}')" if close else ""
            problems.append(f"{table.path.name}: missing required column '{name}' for the {role} "
                            f"table{hint}; columns present: {present}; see data/README.md")
        return pd.DataFrame()
    ids = cells[id_col].map(lambda v: None if _blank(v) else _id_text(v))
    _check_text(table, ids, id_col, problems, notes)
    out: dict[str, list[Any]] = {}
    for col in columns:
        if col.name not in cells.columns:
            out[col.name] = [None] * len(cells)
            continue
        values: list[Any] = []
        for i, raw in enumerate(cells[col.name]):
            if _blank(raw):
                if col.required:
                    problems.append(f"{table.where(i, ids[i], id_col)}, column '{col.name}': "
                                    f"value is blank; give {_what(col)}")
                values.append(None)
                continue
            try:
                values.append(_parse_cell(raw, col))
            except ValueError as exc:
                problems.append(f"{table.where(i, ids[i], id_col)}, column '{col.name}': "
                                f"value {str(raw).strip()!r} {exc}"
                                + ("" if col.kind in ("enum", "id") else f"; give {_what(col)}"))
                values.append(None)
        out[col.name] = values
    frame = pd.DataFrame(out)
    # Keep other columns (e.g. address, uprn, demand columns) as they were read.
    extra = [c for c in cells.columns if c not in out and c not in ("x", "y", "lon", "lat")]
    for c in extra:
        frame[c] = cells[c].to_numpy()
    _check_duplicates(table, frame, id_col, problems)
    return frame


def _check_duplicates(table: RawTable, frame: pd.DataFrame, id_col: str,
                      problems: list[str]) -> None:
    seen: dict[str, int] = {}
    for i, value in enumerate(frame[id_col]):
        if _blank(value):
            continue
        if value in seen:
            first = table.label(seen[value])
            problems.append(f"{table.where(i, value, id_col)}, column '{id_col}': duplicate id "
                            f"{value!r} (also on {first}); every {id_col} must be unique")
        else:
            seen[value] = i


def _parse_demand_columns(table: RawTable, frame: pd.DataFrame, problems: list[str]) -> None:
    for name in [c for c in frame.columns if str(c).startswith(DEMAND_PREFIXES)]:
        col = Column(name, "number", "people")
        parsed: list[float] = []
        for i, raw in enumerate(frame[name]):
            if _blank(raw):
                parsed.append(0.0)
                continue
            try:
                parsed.append(_parse_cell(raw, col))
            except ValueError as exc:
                problems.append(f"{table.where(i, frame['zone_id'][i], 'zone_id')}, column "
                                f"'{name}': value {str(raw).strip()!r} {exc}; demand columns "
                                "hold counts of people, 0 or more")
                parsed.append(0.0)
        frame[name] = parsed


# --------------------------------------------------------------------------- geometry checks

_BOUNDARY = "the place boundary"


def _check_geometry(table: RawTable, frame: pd.DataFrame, id_col: str, *, place: shapely.Geometry
                    | None, margin_m: float, place_label: str, problems: list[str],
                    notes: list[str], required: Callable[[int], bool]) -> np.ndarray:
    """Check each row's geometry; return a mask of rows that have a usable one."""
    geoms = table.geometry.to_numpy()
    ok = np.zeros(len(geoms), dtype=bool)
    area = place.buffer(margin_m) if place is not None else None
    outside: list[tuple[int, float, str]] = []  # row, distance (m), message
    swapped = 0
    for i, g in enumerate(geoms):
        where = table.where(i, frame[id_col][i], id_col)
        if g is None or shapely.is_empty(g):
            if required(i):
                kind = ("coordinates" if table.is_csv else "geometry")
                problems.append(f"{where}: no {kind}; give "
                                + ("x/y (or lon/lat) values" if table.is_csv else
                                   "a point or polygon") + " so it can be located")
            continue
        if not shapely.is_valid(g):
            reason = shapely.is_valid_reason(g)
            problems.append(f"{where}: invalid geometry ({reason}); repair it, e.g. QGIS "
                            "Vector > Geometry Tools > Fix Geometries or shapely.make_valid")
            continue
        if area is not None and place is not None:
            point = g if g.geom_type == "Point" else g.representative_point()
            distance = place.distance(point)
            if distance > margin_m:
                hint = ""
                if swapped_in_place(table, i, area):
                    swapped += 1
                    axes = ("lon/lat" if "lon" in table.cells.columns else "x/y")
                    hint = f" The {axes} values look swapped: swapping them puts it inside."
                outside.append((i, distance, (
                    f"{where}: lies {distance / 1000:.1f} km outside {place_label} (more than the "
                    f"{margin_m:,.0f} m margin); check its coordinates and their CRS "
                    f"(declared {table.source_crs.to_string() if table.source_crs else 'none'})."
                    + hint)))
                continue
            if distance > 0 and place_label == _BOUNDARY:
                notes.append(f"{where} lies {distance:,.0f} m outside {place_label}, within "
                             f"the {margin_m:,.0f} m margin: kept")
        ok[i] = True
    if len(outside) >= 3 and not ok.any():  # every record: the CRS, not the rows
        rows = [i for i, _, _ in outside]
        i, nearest, _ = min(outside, key=lambda o: o[1])
        crs = table.source_crs.to_string() if table.source_crs else "none"
        names = ("lon", "lat") if "lon" in table.cells.columns else ("x", "y")
        fix = (f"the {'/'.join(names)} values look swapped in every row: swapping them puts "
               "each inside; swap the two columns' names" if swapped == len(rows) else
               crs_fix(table.source_xy[rows], names, table.source_crs) if table.is_csv else
               "reproject the file, or give it the CRS its coordinates are in")
        problems.append(f"{table.path.name}: all {len(rows)} {record_unit(table.path)}s with "
                        f"coordinates lie outside {place_label}, the nearest, "
                        f"{table.label(i, frame[id_col][i], id_col)}, "
                        f"{nearest / 1000:,.1f} km away: the coordinates are not in the "
                        f"declared CRS ({crs}), or they belong to another place; {fix}")
    else:
        problems.extend(message for _, _, message in outside)
    return ok


# --------------------------------------------------------------------------- loading


def _fill_energy(sites: pd.DataFrame) -> None:
    """Fill missing energy from TM46 benchmarks, flagging what was estimated (in place)."""
    bench = tm46_benchmarks()
    elec_rate = sites["benchmark"].map(bench["electricity_kwh_m2_pa"]).astype(float)
    heat_rate = sites["benchmark"].map(bench["fossil_thermal_kwh_m2_pa"]).astype(float)
    heat_rate = heat_rate.where(sites["heat_fuel"] != "none", 0.0)
    for column, rate, flag in (("electricity_kwh_pa", elec_rate, "electricity_source"),
                               ("heat_kwh_pa", heat_rate, "heat_source")):
        metered = sites[column].notna()
        sites[flag] = np.where(metered, "metered", "benchmark")
        sites[column] = sites[column].astype(float).where(metered, sites["gia_m2"] * rate)
    both = (sites["electricity_source"] == "metered") & (sites["heat_source"] == "metered")
    sites["energy_source"] = np.where(both, "metered", "benchmark")


def _apply_defaults(frame: pd.DataFrame, columns: tuple[Column, ...]) -> None:
    for col in columns:
        # Numbers and dates have computed or zero defaults, filled by the caller.
        if col.kind in ("enum", "bool", "text") and col.default is not None:
            # a blank cell is None, or NaN once pandas has made the column a string one
            frame[col.name] = [col.default if pd.isna(v) else v for v in frame[col.name]]


def load_estate(sites: Path, services: Path, zones: Path, *, crs: dict[str, str | None]
                | None = None, layers: dict[str, str | None] | None = None,
                boundary: Path | None = None, name: str = "", network: Path | None = None
                ) -> Estate:
    """Load and validate an estate from three table files.

    Parameters
    ----------
    sites, services, zones
        Table files (CSV, GeoPackage or GeoJSON). Sites and zones need a location;
        services are located by their ``site_id``.
    crs
        CRS of the ``x``/``y`` columns of each CSV table, by role
        (``{"sites": "EPSG:27700"}``); files with ``lon``/``lat`` are WGS84 and
        geodata files carry their own CRS.
    layers
        Layer name per role for multi-layer GeoPackages.
    boundary
        Polygon file of the place. Sites and zones further than
        :data:`tp_assets.settings.PLACE_MARGIN_M` outside it are errors. Without it,
        sites are checked against the zones' extent plus
        :data:`tp_assets.settings.EXTENT_MARGIN_M`.
    name
        Name of the place, for summaries.
    network
        Street-network file of the place (kept for the access step).

    Returns
    -------
    Estate
        Validated, in EPSG:27700, defaults filled.

    Raises
    ------
    InputError
        With every problem found, each naming file, row or id, column, value and fix.
    """
    crs = crs or {}
    layers = layers or {}
    problems: list[str] = []
    raw: dict[str, RawTable] = {}
    for role, path in (("sites", sites), ("services", services), ("zones", zones)):
        try:
            raw[role] = read_table(Path(path), crs=crs.get(role), layer=layers.get(role))
            problems += raw[role].problems
        except InputError as exc:
            problems += exc.problems
    place: shapely.Geometry | None = None
    if boundary is not None:
        try:
            place = read_boundary(Path(boundary))
        except InputError as exc:
            problems += exc.problems
    if len(raw) < 3:
        raise InputError(problems)

    site_cols = site_columns()
    notes: list[str] = []
    s = _parse_table(raw["sites"], site_cols, problems, notes, "sites")
    v = _parse_table(raw["services"], SERVICE_COLUMNS, problems, notes, "services")
    z = _parse_table(raw["zones"], ZONE_COLUMNS, problems, notes, "zones")
    if s.empty or v.empty or z.empty:
        raise InputError(problems)
    _parse_demand_columns(raw["zones"], z, problems)

    # Zones first: without a boundary their extent is the place's.
    zone_has_people = [bool(p) for p in z["population"].fillna(0)]
    zone_ok = _check_geometry(raw["zones"], z, "zone_id", place=place,
                              margin_m=settings.PLACE_MARGIN_M, place_label=_BOUNDARY,
                              problems=problems, notes=notes,
                              required=lambda i: zone_has_people[i])
    if place is not None:
        site_place, margin, label = place, settings.PLACE_MARGIN_M, _BOUNDARY
    else:
        located = raw["zones"].geometry[zone_ok]
        site_place = shapely.box(*located.total_bounds) if len(located) else None
        margin, label = settings.EXTENT_MARGIN_M, "the zones' extent"
    _check_geometry(raw["sites"], s, "site_id", place=site_place, margin_m=margin,
                              place_label=label, problems=problems, notes=notes,
                              required=lambda i: True)

    registers = {"sites": (raw["sites"], s, "site_id"),
                 "services": (raw["services"], v, "service_id")}
    _check_spellings(list(registers.values()), "owner", problems)

    # Row rules that need several columns.
    for i, row in enumerate(s.to_dict("records")):
        where = raw["sites"].where(i, row["site_id"], "site_id")
        if row["tenure"] == "leasehold" and _blank(row["lease_end"]) and not _cell_bad(
                raw["sites"], i, "lease_end"):
            problems.append(f"{where}, column 'lease_end': a leasehold needs the first date it "
                            "can be vacated (break or expiry) as YYYY-MM-DD, e.g. 2029-03-31")
        if row["tenure"] == "freehold" and not _blank(row["lease_end"]):
            notes.append(f"{where}: lease_end {row['lease_end'].date()} is ignored, as the site "
                         "is freehold; set tenure = leasehold if it is leased")
        if not (_blank(row["capacity_m2"]) or _blank(row["gia_m2"])) and (
                row["capacity_m2"] > row["gia_m2"]):
            notes.append(f"{where}: capacity_m2 {row['capacity_m2']:,.0f} is more than its "
                         f"gia_m2 {row['gia_m2']:,.0f}; the plan uses capacity_m2 as given: "
                         "check the two figures")
    for table, frame, id_col in registers.values():
        _check_assumed(table, frame, id_col, problems)
    _check_deciles(raw["zones"], z, problems)
    site_ids = {x for x in s["site_id"] if not _blank(x)}
    ids = s["site_id"][~s["site_id"].map(_blank)]
    overwritten = ids.duplicated().any() or len(ids) < len(s)
    for i, row in enumerate(v.to_dict("records")):
        if not _blank(row["site_id"]) and row["site_id"] not in site_ids:
            close = difflib.get_close_matches(row["site_id"], sorted(site_ids), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            if overwritten:  # the likelier cause: its row lost its id
                other = f" Or '{close[0]}'?" if close else ""
                hint = (" (was it the site now given a duplicate or blank id in "
                        f"{raw['sites'].path.name}?{other})")
            problems.append(f"{raw['services'].where(i, row['service_id'], 'service_id')}, "
                            f"column 'site_id': {row['site_id']!r} is not a site_id in "
                            f"{raw['sites'].path.name}{hint}; give the site the service "
                            "occupies today")

    # Space: a whole service must fit in at least one building.
    capacity = _capacity(s)
    if capacity.notna().any():
        biggest = int(capacity.fillna(-1).to_numpy().argmax())
        for i, row in enumerate(v.to_dict("records")):
            area = row["area_m2"]
            if _blank(area) or (not _blank(row["splittable"]) and bool(row["splittable"])):
                continue
            if area > capacity.iloc[biggest]:
                problems.append(
                    f"{raw['services'].where(i, row['service_id'], 'service_id')}, column "
                    f"'area_m2': needs {area:,.0f} m2 but the largest site offers "
                    f"{capacity.iloc[biggest]:,.0f} m2 ({s['site_id'][biggest]}); check the "
                    "figure, or set splittable = true if it can be spread over several sites")

    if problems:
        raise InputError(problems)

    _apply_defaults(s, site_cols)
    s["capacity_m2"] = capacity
    for c in ("rent_gbp_pa", "rates_gbp_pa", "fm_gbp_pa", "backlog_gbp", "market_value_gbp"):
        s[c] = s[c].fillna(0.0).astype(float)
    s["lease_end"] = pd.to_datetime(s["lease_end"])
    _fill_energy(s)
    site_gdf = gpd.GeoDataFrame(s, geometry=raw["sites"].geometry.to_numpy(),
                                crs=settings.WORKING_CRS)

    _apply_defaults(v, SERVICE_COLUMNS)
    v["fte"] = v["fte"].fillna(0.0).astype(float)
    v["movable"] = v["movable"].astype(bool)
    v["splittable"] = v["splittable"].astype(bool)
    v["service_type"] = [t.lower().replace(" ", "_").replace("-", "_") for t in v["service_type"]]
    location = site_gdf.set_index("site_id").geometry
    service_gdf = gpd.GeoDataFrame(v, geometry=location.loc[v["site_id"]].to_numpy(),
                                   crs=settings.WORKING_CRS)

    _apply_defaults(z, ZONE_COLUMNS)
    z["imd_decile"] = pd.array([None if _blank(d) else int(d) for d in z["imd_decile"]],
                               dtype="Int64")
    zone_gdf = _zones_frame(raw["zones"], z, zone_ok, notes)

    load = s.groupby("site_id")["capacity_m2"].first()
    used = service_gdf.groupby("site_id")["area_m2"].sum()
    for site_id, area in used.items():
        if area > load[site_id] + 1e-9:
            notes.append(f"site {site_id} is over-occupied today: its services need "
                         f"{area:,.0f} m2, its capacity_m2 is {load[site_id]:,.0f}")

    files = {"sites": Path(sites), "services": Path(services), "zones": Path(zones)}
    if boundary is not None:
        files["boundary"] = Path(boundary)
    rows = {role: {str(i): table.number(k) for k, i in enumerate(frame[id_col])}
            for role, (table, frame, id_col) in registers.items()}
    return Estate(name=name, sites=site_gdf, services=service_gdf, zones=zone_gdf,
                  boundary=place, notes=notes, files=files, network=network, rows=rows)


def _check_assumed(table: RawTable, frame: pd.DataFrame, id_col: str,
                   problems: list[str]) -> None:
    """Each name in a row's ``assumed`` cell must be a column of its table."""
    columns = {str(c) for c in frame.columns}
    for i, text in enumerate(frame["assumed"]):
        unknown = [n for n in str(text or "").split() if n not in columns]
        if unknown:
            verb = "is" if len(unknown) == 1 else "are"
            problems.append(f"{table.where(i, frame[id_col][i], id_col)}, column 'assumed': "
                            f"{', '.join(map(repr, unknown))} {verb} not a column of the "
                            "table; list the names of the columns whose "
                            "values are assumptions, separated by spaces (e.g. gia_m2 tenure)")


def _check_deciles(table: RawTable, zones: pd.DataFrame, problems: list[str]) -> None:
    """An ``imd_decile`` is a whole number from 1 to 10."""
    for i, d in enumerate(zones["imd_decile"]):
        if not _blank(d) and not (float(d).is_integer() and 1 <= d <= 10):
            problems.append(f"{table.where(i, zones['zone_id'][i], 'zone_id')}, column "
                            f"'imd_decile': value {d:g} is not a decile; give a whole number "
                            "from 1 (the most deprived tenth of areas in England) to 10 (the "
                            "least), or leave it blank")


def _check_spellings(tables: list[tuple[RawTable, pd.DataFrame, str]], column: str,
                     problems: list[str]) -> None:
    """Name values of ``column`` that differ from another only in capitals or spaces.

    ``London Borough of Lewisham`` and ``london borough of lewisham`` would otherwise be
    two organisations (their own owner minimums, their own rows in the savings by owner).
    The spelling used most (first written, on a tie) is taken as meant.
    """
    def key(value: str) -> str:
        return " ".join(value.split()).casefold()

    counts: dict[str, dict[str, int]] = {}
    for _, frame, _ in tables:
        for value in frame[column]:
            if not _blank(value):
                spellings = counts.setdefault(key(value), {})
                spellings[value] = spellings.get(value, 0) + 1
    meant = {k: max(v, key=lambda x: v[x]) for k, v in counts.items() if len(v) > 1}
    for table, frame, id_col in tables:
        for i, value in enumerate(frame[column]):
            if _blank(value) or key(value) not in meant or value == meant[key(value)]:
                continue
            problems.append(f"{table.where(i, frame[id_col][i], id_col)}, column '{column}': "
                            f"{value!r} differs from {meant[key(value)]!r} only in capitals or "
                            "spaces, and would count as another organisation; spell it "
                            f"{meant[key(value)]!r}")


def _cell_bad(table: RawTable, i: int, column: str) -> bool:
    """Whether a cell was given but could not be parsed (already reported)."""
    return column in table.cells.columns and not _blank(table.cells[column].iloc[i])


def _capacity(sites: pd.DataFrame) -> pd.Series:
    gia = pd.to_numeric(sites["gia_m2"], errors="coerce")
    given = pd.to_numeric(sites["capacity_m2"], errors="coerce")
    return given.fillna(gia * settings.CAPACITY_SHARE_OF_GIA).astype(float)


def _zones_frame(table: RawTable, z: pd.DataFrame, ok: np.ndarray,
                 notes: list[str]) -> gpd.GeoDataFrame:
    """Zones with a located point each; zones with no people and no geometry are dropped."""
    geoms = table.geometry.to_numpy()
    dropped = [z["zone_id"][i] for i in np.flatnonzero(~ok)]
    if dropped:
        notes.append(f"{len(dropped)} zone(s) with no population and no geometry left out: "
                     + ", ".join(map(str, dropped[:10])) + (" ..." if len(dropped) > 10 else ""))
    z = z.loc[ok].reset_index(drop=True)
    geoms = geoms[ok]
    z["population"] = z["population"].astype(float)
    px = np.empty(len(z))
    py = np.empty(len(z))
    source = np.empty(len(z), dtype=object)
    has_pwc = z["pwc_x"].notna().to_numpy() & z["pwc_y"].notna().to_numpy()
    if has_pwc.any() and table.source_crs is not None:
        transformer = pyproj.Transformer.from_crs(table.source_crs, settings.WORKING_CRS,
                                                  always_xy=True)
        tx, ty = transformer.transform(z["pwc_x"].to_numpy(float)[has_pwc],
                                       z["pwc_y"].to_numpy(float)[has_pwc])
        px[has_pwc], py[has_pwc] = tx, ty
        source[has_pwc] = "pwc"
        rows = np.flatnonzero(ok)
        far = []
        for i in np.flatnonzero(has_pwc):
            g = geoms[i]
            if g is not None and g.geom_type != "Point":
                off = g.distance(shapely.Point(px[i], py[i]))
                if off > settings.PLACE_MARGIN_M:
                    far.append(f"{table.where(int(rows[i]), z['zone_id'][i], 'zone_id')}, "
                               f"columns 'pwc_x'/'pwc_y': the point is {off:,.0f} m outside "
                               "the zone's polygon; give the population-weighted centroid in "
                               "the file's CRS, or leave both blank to use the polygon's "
                               "centroid")
        if far:
            raise InputError(far)
    for i in np.flatnonzero(~has_pwc):
        g = geoms[i]
        c = g if g.geom_type == "Point" else g.centroid
        px[i], py[i] = c.x, c.y
        source[i] = "point" if g.geom_type == "Point" else "centroid"
    z["point_x"], z["point_y"], z["point_source"] = px, py, source
    return gpd.GeoDataFrame(z, geometry=geoms, crs=settings.WORKING_CRS)


# --------------------------------------------------------------------------- places

#: Keys allowed at the top of a place.toml and in its table entries.
PLACE_KEYS = ("name", "description", "crs", "boundary", "network", "sites", "services", "zones")
TABLE_KEYS = ("path", "crs", "layer")
_DEFAULT_STEMS = ("sites", "services", "zones")


def load_place(path: str | Path) -> Estate:
    """Load and validate the estate of a place from its folder or its ``place.toml``.

    Parameters
    ----------
    path
        A folder (holding ``place.toml``, or files named ``sites``, ``services``,
        ``zones`` with a .csv, .gpkg or .geojson suffix) or a ``place.toml`` file.
        ``place.toml`` keys are documented in data/README.md.

    Returns
    -------
    Estate

    Raises
    ------
    InputError
        Unknown keys, missing files and every problem in the tables.
    """
    path = Path(path)
    if path.is_dir():
        manifest = path / "place.toml"
        if manifest.exists():
            return _load_manifest(manifest)
        found = {stem: _find_table(path, stem) for stem in _DEFAULT_STEMS}
        missing = [stem for stem, p in found.items() if p is None]
        if missing:
            raise InputError(f"{path}: no place.toml and no {', '.join(missing)} table "
                             "(sites.csv, services.csv, zones.gpkg, ...) in the folder; "
                             "see data/README.md")
        boundary = _find_table(path, "boundary")
        return load_estate(*(found[stem] or path for stem in _DEFAULT_STEMS),
                           boundary=boundary, name=path.name)
    if not path.exists():
        raise InputError(f"{path}: not found; give a place folder (e.g. data/demo) or its "
                         "place.toml")
    return _load_manifest(path)


def _find_table(folder: Path, stem: str) -> Path | None:
    for suffix in (".gpkg", ".geojson", ".csv"):
        candidate = folder / f"{stem}{suffix}"
        if candidate.exists():
            return candidate
    return None


def _load_manifest(manifest: Path) -> Estate:
    data, text = read_toml(manifest)
    problems = check_keys(data, PLACE_KEYS, [(manifest, text)])
    base = manifest.parent
    default_crs = data.get("crs")
    if default_crs is not None:
        try:
            parse_crs(str(default_crs), where=f"{manifest.name} key 'crs'")
        except InputError as exc:
            problems += exc.problems
    paths: dict[str, Path] = {}
    crs: dict[str, str | None] = {}
    layers: dict[str, str | None] = {}
    for role in _DEFAULT_STEMS:
        entry = data.get(role)
        if entry is None:
            problems.append(f"{manifest.name}: missing key '{role}'; give the path of the "
                            f'{role} table, e.g. {role} = "{role}.csv"')
            continue
        if isinstance(entry, str):
            entry = {"path": entry}
        if not isinstance(entry, dict) or "path" not in entry:
            problems.append(f"{manifest.name}: key '{role}' must be a file path or a table "
                            f'with path = "...", e.g. [{role}] path = "{role}.csv"')
            continue
        problems += check_keys(entry, TABLE_KEYS, [(manifest, text)], table=role)
        paths[role] = base / str(entry["path"])
        if not paths[role].exists():
            at = line_of(text, role) or line_of(text, "path", role)
            problems.append(f"{manifest.name}{f' line {at}' if at else ''}: {role} "
                            f"{shown(str(entry['path']))} not found (looked for {paths[role]}); "
                            f"paths are relative to {manifest.name}")
        crs[role] = entry.get("crs", default_crs)
        layers[role] = entry.get("layer")
    boundary = base / str(data["boundary"]) if "boundary" in data else None
    network = base / str(data["network"]) if "network" in data else None
    if boundary is not None and not boundary.exists():  # the network is the scenario's to use
        at = line_of(text, "boundary")
        problems.append(f"{manifest.name}{f' line {at}' if at else ''}: boundary "
                        f"{shown(str(data['boundary']))} not found (looked for {boundary}); paths "
                        f"are relative to {manifest.name}")
    if problems:
        raise InputError(problems)
    return load_estate(paths["sites"], paths["services"], paths["zones"], crs=crs,
                       layers=layers, boundary=boundary, name=str(data.get("name", base.name)),
                       network=network)


# --------------------------------------------------------------------------- summary


def summary(estate: Estate) -> dict[str, Any]:
    """Headline figures of an estate, for the ``validate`` command and run summaries.

    Parameters
    ----------
    estate
        A loaded estate.

    Returns
    -------
    dict
        ``sites_by_owner``, ``services_by_type`` (counts), ``gia_m2``,
        ``running_cost_gbp_pa`` (rent + rates + FM), ``electricity_kwh_pa`` and
        ``heat_kwh_pa`` split ``{"metered": .., "benchmark": ..}``, ``zones``,
        ``population``.
    """
    sites = estate.sites
    energy: dict[str, dict[str, float]] = {}
    for column, flag in (("electricity_kwh_pa", "electricity_source"),
                         ("heat_kwh_pa", "heat_source")):
        by = sites.groupby(flag)[column].sum()
        energy[column] = {k: float(by.get(k, 0.0)) for k in ("metered", "benchmark")}
    return {
        "name": estate.name,
        "sites": len(sites),
        "services": len(estate.services),
        "sites_by_owner": sites["owner"].value_counts().sort_index().to_dict(),
        "services_by_type": estate.services["service_type"].value_counts().sort_index().to_dict(),
        "gia_m2": float(sites["gia_m2"].sum()),
        "running_cost_gbp_pa": float(sites[["rent_gbp_pa", "rates_gbp_pa", "fm_gbp_pa"]]
                                     .to_numpy().sum()),
        **energy,
        "zones": len(estate.zones),
        "population": float(estate.zones["population"].sum()),
        "assumed": {role: assumed_counts(frame) for role, frame in
                    (("sites", sites), ("services", estate.services))
                    if assumed_counts(frame)},
    }


def assumed_counts(frame: pd.DataFrame) -> dict[str, int]:
    """How many rows of a table mark each column's value as assumed.

    Parameters
    ----------
    frame
        A loaded sites or services table (its ``assumed`` column: names separated by
        spaces).

    Returns
    -------
    dict
        Column -> rows whose value in it is an assumption, in the table's column order.
    """
    counts: dict[str, int] = {}
    for text in frame.get("assumed", pd.Series(dtype=object)).fillna(""):
        for name in str(text).split():
            counts[name] = counts.get(name, 0) + 1
    order = {str(c): k for k, c in enumerate(frame.columns)}
    return dict(sorted(counts.items(), key=lambda kv: order.get(kv[0], len(order))))
