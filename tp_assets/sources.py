"""Adapters from public open-data formats to the tp-assets input schema.

Each adapter reads files as they are published and returns a table in the schema
of ``data/README.md``, reporting what did not match rather than dropping it.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from tp_assets._errors import InputError
from tp_assets._tables import read_table


def ons_zones(boundaries: str | Path, population: str | Path, *, boundary_code: str,
              table_code: str, population_column: str, name_column: str | None = None
              ) -> gpd.GeoDataFrame:
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

    Returns
    -------
    geopandas.GeoDataFrame
        Zones schema: ``zone_id``, ``name``, ``population`` (people), polygons in the
        boundary file's CRS.

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
                                         (ppath, table.cells, table_code),
                                         (ppath, table.cells, population_column))
                if col not in frame.columns]
    if problems:
        raise InputError(problems)
    codes = table.cells[table_code].astype(str).str.strip()
    problems += [f"{table.where(int(i))}, column '{table_code}': duplicate code {codes[i]!r}; the "
                 "population table needs one row per area (sum age bands first)"
                 for i in np.flatnonzero(codes.duplicated(keep=False).to_numpy())]
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
    people = dict(zip(codes, counts, strict=True))
    frame = pd.DataFrame({
        "zone_id": area_codes,
        "name": shapes.cells[name_column].astype(str) if name_column else "",
        "population": [people[c] for c in area_codes],
    })
    return gpd.GeoDataFrame(frame, geometry=shapes.geometry.to_numpy(), crs=shapes.geometry.crs)
