"""ONS census areas as zones: boundaries joined to a census population table."""

from __future__ import annotations

import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from tp_assets._errors import InputError
from tp_assets._tables import read_table


def ons_zones(boundaries: str | Path, population: str | Path, *, boundary_code: str,
              table_code: str, population_column: str, name_column: str | None = None,
              band_column: str | None = None) -> gpd.GeoDataFrame:
    """Join ONS area boundaries (LSOA / OA) to a census population table.

    Parameters
    ----------
    boundaries
        Boundary file (shapefile, GeoPackage or GeoJSON) with one polygon per area.
    population
        CSV with one row per area code.
    boundary_code
        Column of ``boundaries`` holding the area code (e.g. ``"LSOA21CD"``).
    table_code
        Column of ``population`` holding the area code (e.g. ``"lsoa21_code"``).
    population_column
        Column of ``population`` holding residents (people).
    name_column
        Column of ``boundaries`` with the area name, copied to ``name``.
    band_column
        For a long table with one row per area and age band (e.g. ``"age_group"``):
        each band becomes a demand column ``pop_<band>`` (``"Aged 65 years and
        over"`` -> ``pop_aged_65_years_and_over``) and ``population`` their sum.

    Returns
    -------
    geopandas.GeoDataFrame
        Zones schema: ``zone_id``, ``name``, ``population`` (people) and any
        ``pop_*`` band columns, polygons in the boundary file's CRS.

    Raises
    ------
    InputError
        A missing column, duplicate codes in the population table, a non-numeric
        count, or codes present in one file and not the other (listed).
    """
    bpath, ppath = Path(boundaries), Path(population)
    shapes = read_table(bpath)
    table = read_table(ppath)
    problems = [f"{path.name}: no column '{col}'; columns present: "
                f"{', '.join(map(str, frame.columns))}"
                for path, frame, col in ((bpath, shapes.cells, boundary_code),
                                         (bpath, shapes.cells, name_column),
                                         (ppath, table.cells, table_code),
                                         (ppath, table.cells, population_column),
                                         (ppath, table.cells, band_column))
                if col is not None and col not in frame.columns]
    if problems:
        raise InputError(problems)
    codes = table.cells[table_code].astype(str).str.strip()
    bands = (table.cells[band_column].astype(str).str.strip() if band_column
             else pd.Series("", index=codes.index))
    keys = codes + "\x00" + bands
    repeated = np.flatnonzero(keys.duplicated(keep=False).to_numpy())
    need = ("; the population table needs one row per area"
            + (" and band" if band_column else " (or give --band-column for a table by age "
               "band)"))
    if len(repeated) > 8:  # a table by age band, most likely: one message, not hundreds
        i = int(repeated[0])
        problems.append(f"{table.path.name}, column '{table_code}': {len(repeated)} rows repeat "
                        f"a code (first {table.label(i)}: duplicate code "
                        f"{codes[i]!r}){need}")
    else:
        problems += [f"{table.where(int(i))}, column '{table_code}': duplicate code "
                     f"{codes[i]!r}" + (f" for {band_column} {bands[i]!r}" if band_column
                                        else "") + need for i in repeated]
    counts = pd.to_numeric(table.cells[population_column], errors="coerce")
    problems += [f"{table.where(int(i), codes[i], table_code)}, column '{population_column}': "
                 f"value {table.cells[population_column][i]!r} is not a count of people"
                 for i in np.flatnonzero(counts.isna() | (counts < 0))]
    area_codes = shapes.cells[boundary_code].astype(str).str.strip()
    only_shapes = sorted(set(area_codes) - set(codes))
    only_table = sorted(set(codes) - set(area_codes))
    for label, missing, other in ((bpath.name, only_shapes, ppath.name),
                                  (ppath.name, only_table, bpath.name)):
        if missing:
            problems.append(f"{label}: {len(missing)} code(s) not found in {other}: "
                            + ", ".join(missing[:12]) + (" ..." if len(missing) > 12 else "")
                            + "; check both files use the same census year (2011 vs 2021 "
                            "codes)")
    if problems:
        raise InputError(problems)
    long = pd.DataFrame({"code": codes, "band": bands, "people": counts})
    people = long.groupby("code")["people"].sum()
    frame = pd.DataFrame({
        "zone_id": area_codes,
        "name": shapes.cells[name_column].astype(str) if name_column else "",
        "population": people.reindex(area_codes).to_numpy(),
    })
    if band_column:
        wide = long.pivot_table(index="code", columns="band", values="people", aggfunc="sum",
                                fill_value=0)
        for band in wide.columns:
            slug = re.sub(r"[^a-z0-9]+", "_", str(band).lower()).strip("_")
            frame[f"pop_{slug}"] = wide[band].reindex(area_codes).to_numpy()
    return gpd.GeoDataFrame(frame, geometry=shapes.geometry.to_numpy(), crs=shapes.geometry.crs)

