"""Parsing and checking the tables' cells, rows and geometry: every problem collected."""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from tp_assets import settings
from tp_assets._errors import InputError
from tp_assets._tables import (
    RawTable,
    crs_fix,
    record_unit,
    swapped_in_place,
)
from tp_assets._text import MAX_TEXT_CHARS, bidi_problem, clip, formula_id_problem
from tp_assets.estate.schema import (
    DECILE_WORDS,
    DEMAND_PREFIXES,
    Column,
    is_decile,
    tm46_benchmarks,
)

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
        out[col.name] = _parse_values(
            table, cells[col.name], col, ids, id_col, problems, None,
            "" if col.kind in ("enum", "id") else f"; give {_what(col)}")
    frame = pd.DataFrame(out)
    # Keep other columns (e.g. address, uprn, demand columns) as they were read.
    extra = [c for c in cells.columns if c not in out and c not in ("x", "y", "lon", "lat")]
    for c in extra:
        frame[c] = cells[c].to_numpy()
    _check_duplicates(table, frame, id_col, problems)
    return frame


def _parse_values(table: RawTable, raw_values: pd.Series, col: Column, ids: pd.Series,
                  id_col: str, problems: list[str], blank: Any, hint: str) -> list[Any]:
    """One column's cells parsed (:func:`_parse_cell`); ``blank`` for a blank or bad cell.

    A bad cell, or a blank one in a required column, adds a problem naming the row, the
    column and the value, followed by ``hint`` (what to give instead).
    """
    values: list[Any] = []
    for i, raw in enumerate(raw_values):
        if _blank(raw):
            if col.required:
                problems.append(f"{table.where(i, ids[i], id_col)}, column '{col.name}': "
                                f"value is blank; give {_what(col)}")
            values.append(blank)
            continue
        try:
            values.append(_parse_cell(raw, col))
        except ValueError as exc:
            problems.append(f"{table.where(i, ids[i], id_col)}, column '{col.name}': "
                            f"value {str(raw).strip()!r} {exc}{hint}")
            values.append(blank)
    return values


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
        frame[name] = _parse_values(
            table, frame[name], Column(name, "number", "people"), frame["zone_id"], "zone_id",
            problems, 0.0, "; demand columns hold counts of people, 0 or more")


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
    """An ``imd_decile`` is a whole number from 1 to 10 (:func:`~.schema.is_decile`)."""
    for i, d in enumerate(zones["imd_decile"]):
        if not _blank(d) and not is_decile(d):
            problems.append(f"{table.where(i, zones['zone_id'][i], 'zone_id')}, column "
                            f"'imd_decile': value {d:g} is not a decile; give {DECILE_WORDS}, "
                            "or leave it blank")


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
