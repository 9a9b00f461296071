"""Deprivation and wards on zones: IMD deciles and ward lookups joined by area code.

The English Indices of Deprivation 2019 (MHCLG) and the ONS best-fit lookups from
LSOAs to wards are keyed on LSOA **2011** codes, while Census 2021 zones carry 2021
codes. Most codes are the same in both; where the 2021 set changed an area (ONS split
some 2011 LSOAs into two or more, and merged a few), a zone whose code the table
lacks takes the values of the older area that covers most of it, found by overlaying
the two sets of boundaries: the best fit by area, as ONS's own best-fit lookups do.
Every such zone is reported with its parent and the share of it the parent covers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from tp_assets._errors import InputError, shortlist
from tp_assets._tables import RawTable, read_table
from tp_assets.estate.schema import DECILE_WORDS, is_decile

#: Column names the published tables use, tried in order where none is given.
IMD_CODES = ("LSOA11CD", "LSOA code (2011)", "lsoa11cd")
IMD_DECILES = ("IMD_decile", "Index of Multiple Deprivation (IMD) Decile (where 1 is most "
               "deprived 10% of LSOAs)", "imd_decile")
WARD_NAME = re.compile(r"^WD\d{2}NM", re.IGNORECASE)
WARD_CODE = re.compile(r"^WD\d{2}CD", re.IGNORECASE)


@dataclass(frozen=True)
class AreaJoin:
    """Zones with ``ward``, ``ward_code`` and ``imd_decile``, and how they were joined.

    Attributes
    ----------
    zones
        The zones file's records with the three columns added (or replaced).
    lines
        The join in words: zones joined by code, zones given their parent's values
        (each named), table rows for areas outside the zones.
    """

    zones: gpd.GeoDataFrame
    lines: tuple[str, ...]


def _pick(columns: list[str], given: str | None, candidates: tuple[str, ...] | re.Pattern[str],
          path: Path, what: str, option: str) -> str:
    if given:
        if given not in columns:
            raise InputError(f"{path.name}: no column {given!r} ({option}); columns present: "
                             f"{shortlist(columns, 12)}")
        return given
    found = ([c for c in candidates if c in columns] if isinstance(candidates, tuple)
             else [c for c in columns if candidates.match(c)])
    if not found:
        raise InputError(f"{path.name}: which column holds {what}? Give it with {option}; "
                         f"columns present: {shortlist(columns, 12)}")
    return found[0]


def _parents(zones: gpd.GeoDataFrame, codes: list[str], old: Path | None, old_code: str,
             table: Path) -> dict[str, tuple[str, float]]:
    """For zones whose code the table lacks: the older area covering most of each.

    Returns zone code -> (the older area's code, the share of the zone it covers).
    """
    missing = [c for c in codes if c]
    if not missing:
        return {}
    if old is None:
        raise InputError(f"{table.name}: {len(missing)} zone(s) have no row in it: "
                         f"{shortlist(missing, 8)}; give --old-boundaries (the boundaries of "
                         "the areas the table's codes name, e.g. the LSOA 2011 shapefile) so "
                         "that each takes the values of the area that covers most of it, or "
                         "add rows for them")
    shapes = read_table(old)
    if old_code not in shapes.cells.columns:
        raise InputError(f"{old.name}: no column {old_code!r} (--old-code); columns present: "
                         f"{shortlist([str(c) for c in shapes.cells.columns], 12)}")
    old_codes = shapes.cells[old_code].astype(str).str.strip().to_numpy()
    old_geoms = np.asarray(shapes.geometry.to_numpy(), dtype=object)
    tree = shapely.STRtree(old_geoms)
    by_code = dict(zip(zones["zone_id"], zones.geometry, strict=True))
    out, lost = {}, []
    for code in missing:
        geom = by_code[code]
        hits = tree.query(geom, predicate="intersects")
        shares = [(shapely.intersection(geom, old_geoms[k]).area / geom.area, old_codes[k])
                  for k in hits] if geom is not None and geom.area > 0 else []
        if not shares or max(shares)[0] <= 0:
            lost.append(code)
            continue
        share, parent = max(shares)
        out[code] = (parent, share)
    if lost:
        raise InputError(f"{old.name}: {len(lost)} zone(s) overlap none of its areas: "
                         f"{shortlist(lost, 8)}; check that both files cover the same place "
                         "(and that the zones are polygons)")
    return out


def _lookup(raw: RawTable, code_col: str, value_cols: list[str], zones: list[str],
            parents: dict[str, tuple[str, float]]) -> tuple[pd.DataFrame, int]:
    """The table's rows for each zone (by its code, else its parent's); rows unused."""
    path, table = raw.path, raw.cells
    codes = table[code_col].astype(str).str.strip()
    twice = sorted(set(codes[codes.duplicated()]))
    if twice:
        raise InputError(f"{path.name}, column {code_col!r}: code(s) {shortlist(twice, 6)} "
                         "appear more than once; the table needs one row per area")
    rows = table.assign(_code=codes).set_index("_code")[value_cols]
    wanted = [parents[z][0] if z in parents else z for z in zones]
    unused = len(set(codes) - set(wanted))
    return rows.reindex(wanted).set_axis(zones), unused


def areas(zones_path: str | Path, *, imd: str | Path | None = None,
          imd_code: str | None = None, imd_column: str | None = None,
          wards: str | Path | None = None, ward_code: str | None = None,
          ward_column: str | None = None, ward_code_column: str | None = None,
          old_boundaries: str | Path | None = None, old_code: str = "LSOA11CD") -> AreaJoin:
    """Join IMD deciles and wards to zones by area code.

    Parameters
    ----------
    zones_path
        Zones file (e.g. from ``tp-assets import ons-zones``) with ``zone_id``.
    imd
        Table of IMD 2019 by LSOA 2011: a code column (:data:`IMD_CODES`, or
        ``imd_code``) and a decile column (:data:`IMD_DECILES`, or ``imd_column``).
    wards
        Lookup from LSOA to ward: a code column (``ward_code``, default ``LSOA11CD``),
        the ward's name (``ward_column``, default the first ``WDyyNM...`` column) and
        code (``ward_code_column``, default the first ``WDyyCD...`` column).
    old_boundaries
        Boundaries of the areas the tables' codes name (LSOA 2011), so that a zone
        whose code they lack takes the values of the area covering most of it.
    old_code
        Code column of ``old_boundaries``.

    Returns
    -------
    AreaJoin

    Raises
    ------
    InputError
        A column missing; a decile that is not a whole number 1-10 (row named); a
        table whose codes match no zone; zones left without a value (named), with the
        fix.
    """
    zpath = Path(zones_path)
    if imd is None and wards is None:
        raise InputError("import areas: give --imd, --wards or both")
    if zpath.suffix.lower() == ".gpkg" and zpath.exists():
        layers = [str(name) for name, _ in gpd.list_layers(zpath).to_numpy()]
        if len(layers) > 1:
            raise InputError(f"{zpath.name}: a GeoPackage of {len(layers)} layers "
                             f"({shortlist(layers, 6)}); import areas reads and writes one "
                             "zones layer: export the zones layer to a file of its own first")
    raw = read_table(zpath)
    if "zone_id" not in raw.cells.columns:
        raise InputError(f"{zpath.name}: no column 'zone_id'; give the zones file the run "
                         "reads (see data/README.md)")
    zones = gpd.GeoDataFrame(raw.cells.copy(), geometry=raw.geometry.to_numpy(),
                             crs=raw.geometry.crs)
    zones["zone_id"] = zones["zone_id"].astype(str).str.strip()
    ids = zones["zone_id"].tolist()
    old = Path(old_boundaries) if old_boundaries else None
    lines: list[str] = []
    found: dict[tuple[str, ...], dict[str, tuple[str, float]]] = {}  # the overlay, once
    for path, kind in ((imd, "imd"), (wards, "ward")):
        if path is None:
            continue
        path = Path(path)
        raw_table = read_table(path)
        columns = [str(c) for c in raw_table.cells.columns]
        if kind == "imd":
            code = _pick(columns, imd_code, IMD_CODES, path, "the LSOA code", "--imd-code")
            values = [_pick(columns, imd_column, IMD_DECILES, path, "the IMD decile",
                            "--imd-column")]
        else:
            code = _pick(columns, ward_code, ("LSOA11CD", "lsoa11cd", "LSOA21CD"), path,
                         "the LSOA code", "--ward-code")
            values = [_pick(columns, ward_column, WARD_NAME, path, "the ward's name",
                            "--ward-column"),
                      _pick(columns, ward_code_column, WARD_CODE, path, "the ward's code",
                            "--ward-code-column")]
        codes = set(raw_table.cells[code].astype(str).str.strip())
        if not codes & set(ids) and old is None:
            raise InputError(f"{path.name}, column {code!r}: none of its {len(codes):,} codes "
                             f"is a zone_id of {zpath.name} (e.g. {shortlist(sorted(codes), 3)} "
                             f"against {shortlist(ids, 3)}); check the code column, or give "
                             "--old-boundaries where the table uses another census year's codes")
        missing = tuple(z for z in ids if z not in codes)
        if missing not in found:
            found[missing] = _parents(zones, list(missing), old, old_code, path)
        parents = found[missing]
        matched = set(ids) - set(parents)
        if not matched and not set(p for p, _ in parents.values()) & codes:
            raise InputError(f"{path.name}, column {code!r}: none of its codes matches a zone "
                             f"of {zpath.name}, directly or through {old.name if old else ''}; "
                             "check the code column and that the files cover the same place")
        rows, unused = _lookup(raw_table, code, values, ids, parents)
        lost = rows.index[rows.isna().any(axis=1) | (rows.astype(str).apply(
            lambda c: c.str.strip()) == "").any(axis=1)].tolist()
        if lost:
            what = "an IMD decile" if kind == "imd" else "a ward"
            raise InputError(f"{path.name}: {len(lost)} zone(s) are left without {what}: "
                             + ", ".join(f"{z}" + (f" (through {parents[z][0]})"
                                                   if z in parents else "")
                                         for z in lost[:8])
                             + (" ..." if len(lost) > 8 else "")
                             + "; add rows for them to the table, or give --old-boundaries "
                             "so that each takes the values of the area covering most of it")
        if kind == "imd":
            zones["imd_decile"] = _deciles(raw_table, code, values[0], rows[values[0]],
                                           parents)
        else:
            zones["ward"] = rows[values[0]].astype(str).str.strip().to_numpy()
            zones["ward_code"] = rows[values[1]].astype(str).str.strip().to_numpy()
        label = "IMD decile" if kind == "imd" else "ward"
        lines.append(f"{label} ({path.name}): {len(matched)} zones joined by code"
                     + (f", {len(parents)} through the {old.name if old else ''} area covering "
                        "most of each" if parents else "")
                     + (f"; {unused:,} rows of the table are for areas outside the zones "
                        "(not used)" if unused else ""))
        for zone, (parent, share) in sorted(parents.items()):
            lines.append(f"  {zone} takes {parent}'s {label} ({share:.0%} of the zone lies "
                         f"in {parent})")
    return AreaJoin(zones, tuple(lines))


def _deciles(table: RawTable, code: str, column: str, values: pd.Series,
             parents: dict[str, tuple[str, float]]) -> np.ndarray:
    """Deciles as whole numbers 1-10, or the row of the table that is not one."""
    path = table.path
    numbers = pd.to_numeric(values, errors="coerce")
    ok = is_decile(numbers)
    bad = [(z, v) for z, v, good in zip(values.index, values, ok, strict=True) if not good]
    if bad:
        codes = table.cells[code].astype(str).str.strip().tolist()
        shown = []
        for zone, value in bad[:8]:
            key = parents[zone][0] if zone in parents else zone
            shown.append(f"{table.where(codes.index(key), key, code)}: {value!r}")
        raise InputError(f"{path.name}, column {column!r}: not a decile: " + "; ".join(shown)
                         + f"; a decile is {DECILE_WORDS}")
    return numbers.astype(int).to_numpy()
