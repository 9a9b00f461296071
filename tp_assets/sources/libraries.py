"""The national public libraries dataset (DCMS / Arts Council England) as sites and services."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from tp_assets._errors import InputError, shortlist
from tp_assets._tables import read_table
from tp_assets._toml import suggest
from tp_assets.sources.postcodes import geocode_postcodes
from tp_assets.sources.registers import assumed

#: Documented assumptions for attributes the national libraries dataset does not give.
LIBRARY_ASSUMPTIONS: dict[str, object] = {
    "gia_m2": 600.0, "tenure": "freehold", "benchmark": "cultural_activities",
    "area_m2": 400.0, "fte": 4.0, "heat_fuel": "gas",
}


def libraries(path: str | Path, codepoint: str | Path, *, authority: str | None = None,
              owner: str | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Sites and library services from the national public libraries dataset.

    Reads the DCMS / Arts Council England "basic dataset of libraries in England" CSV
    (columns ``name``, ``authority``, ``postcode``, ``uprn``, ``closed``,
    ``operation_23`` (LA: council run, CR: community run), ...), keeps the open
    libraries, locates each by its postcode (:func:`geocode_postcodes`; a postcode the
    table lacks falls back to the row's own ``cpo_easting``/``cpo_northing`` or
    ``easting``/``northing``, recorded in ``located_by``) and fills
    what the dataset does not say with :data:`LIBRARY_ASSUMPTIONS` (GIA 600 m2,
    freehold, CIBSE TM46 "cultural activities", a 400 m2, 4 FTE library service),
    written as plain values so a user can replace them, and named in each row's
    ``assumed`` column.

    Parameters
    ----------
    path
        The libraries CSV.
    codepoint
        Code-Point Open style postcode table.
    authority
        Keep only this library authority (e.g. ``"Lewisham"``).
    owner
        Owner written for council-run libraries (default: ``"<authority> Council"``).

    Returns
    -------
    sites, services
        Tables in the input schema (sites with ``x``/``y`` in EPSG:27700).
    """
    table = read_table(Path(path))
    cells = table.cells
    needed = [c for c in ("name", "postcode", "authority", "closed") if c not in cells.columns]
    if needed:
        raise InputError(f"{Path(path).name}: no column(s) {', '.join(needed)}; expected the "
                         "libraries dataset's columns (name, authority, postcode, closed, ...)")
    keep = cells["closed"].astype(str).str.strip() == ""
    if authority:
        named = cells["authority"].astype(str).str.strip()
        keep &= named.str.casefold() == authority.strip().casefold()
        if not keep.any():
            present = sorted(set(named[named != ""]))
            raise InputError(f"{Path(path).name}: no open library has authority {authority!r}"
                             f"{suggest(authority, present)}; nothing was written. "
                             f"Authorities in the file: {shortlist(present, 12)}")
    rows = cells[keep]
    if table.rows is not None:  # index by place in the file, so messages name its rows
        rows = rows.set_axis(table.rows[keep.to_numpy()] - 2)
    given = None
    for ex, ny in (("cpo_easting", "cpo_northing"), ("easting", "northing")):
        if ex in rows.columns and ny in rows.columns:
            given = pd.DataFrame({"x": pd.to_numeric(rows[ex], errors="coerce"),
                                  "y": pd.to_numeric(rows[ny], errors="coerce")})
            break
    xy = geocode_postcodes(rows["postcode"], codepoint, source=Path(path).name,
                           fallback=given)
    council = owner or f"{authority or 'Local authority'} Council"
    run_by = rows.get("operation_23", pd.Series("", index=rows.index)).astype(str)
    owners = np.where(run_by.str.upper() == "CR", "Community-run library trust", council)
    ids = [f"LIB{k + 1:02d}" for k in range(len(rows))]
    a = LIBRARY_ASSUMPTIONS
    site_values, site_assumed = assumed(**{k: a[k] for k in ("gia_m2", "tenure", "heat_fuel",
                                                             "benchmark")})
    service_values, service_assumed = assumed(area_m2=a["area_m2"], fte=a["fte"])
    sites = pd.DataFrame({
        "site_id": ids, "name": rows["name"].to_numpy(), "owner": owners,
        "x": xy["x"].to_numpy(), "y": xy["y"].to_numpy(), "postcode": rows["postcode"].to_numpy(),
        "located_by": xy["located_by"].to_numpy(),
        "uprn": rows.get("uprn", pd.Series("", index=rows.index)).to_numpy(),
        **site_values, "status": "candidate", "assumed": site_assumed,
    })
    services = pd.DataFrame({
        "service_id": [f"{i}-library" for i in ids], "site_id": ids,
        "service_type": "library", "owner": owners, **service_values,
        "name": rows["name"].to_numpy(), "assumed": service_assumed,
    })
    return sites, services
