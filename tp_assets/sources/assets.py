"""A council's land and building asset list (Local Government Transparency Code) as sites."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from tp_assets._errors import InputError, shortlist
from tp_assets._tables import read_csv_cells
from tp_assets.sources.postcodes import geocode_postcodes

#: Column names councils use in Transparency Code land and building asset lists
#: (Code of Recommended Practice layout and common variants), by our column.
ASSET_COLUMNS: dict[str, tuple[str, ...]] = {
    "owner": ("organisation name", "organisation", "organisation label"),
    "uprn": ("unique property reference number (uprn)", "uprn"),
    "asset_id": ("unique asset id", "asset id", "property reference", "asset reference"),
    "name": ("name", "asset name", "property name"),
    "number": ("no", "street number", "number"),
    "street": ("street", "street name"),
    "town": ("post town", "town"),
    "postcode": ("post code", "postcode"),
    "x": ("x co-ordinate", "x coordinate", "easting", "geox"),
    "y": ("y co-ordinate", "y coordinate", "northing", "geoy"),
    "tenure": ("tenure", "tenure type"),
    "gia_m2": ("gia", "gia (m2)", "gross internal area", "floor area (m2)", "gia_m2"),
}


def asset_list(path: str | Path, *, codepoint: str | Path | None = None) -> pd.DataFrame:
    """Sites from a council's land and building asset list (Local Government Transparency Code).

    Recognises the Code of Recommended Practice columns (organisation, UPRN, unique
    asset id, name, number, street, post town, post code, X / Y co-ordinate (British
    National Grid), tenure) under the headings councils commonly use
    (:data:`ASSET_COLUMNS`, case-insensitive). Rows without coordinates are located
    by postcode when ``codepoint`` is given. A tenure naming a freehold stays freehold
    (also ``Freehold - leased out``, ``Freehold (ground lease)``: the council owns it);
    any other ``Leasehold`` variant becomes leasehold (``lease_end`` is then required and left
    blank for the user to fill, as is ``gia_m2`` where the list gives no floor area:
    ``tp-assets validate`` lists every cell still to fill).

    Parameters
    ----------
    path
        The asset list CSV.
    codepoint
        OS Code-Point Open style table for rows without coordinates.

    Returns
    -------
    pandas.DataFrame
        Sites in the input schema (``x``/``y`` in EPSG:27700) plus ``uprn``,
        ``asset_id`` and ``address``.

    Raises
    ------
    InputError
        Missing name, owner or tenure columns; rows with neither coordinates nor a
        known postcode.
    """
    file = Path(path)
    cells = read_csv_cells(file)
    lower = {c.strip().lower(): c for c in cells.columns}
    found = {ours: next((lower[c] for c in names if c in lower), None)
             for ours, names in ASSET_COLUMNS.items()}
    missing = [ours for ours in ("name", "owner", "tenure") if found[ours] is None]
    if missing:
        raise InputError(f"{file.name}: no column for {', '.join(missing)}; expected headings "
                         "such as " + "; ".join(f"{m}: {ASSET_COLUMNS[m][0]!r}" for m in missing))

    def column(ours: str) -> pd.Series:
        name = found[ours]
        return cells[name].astype(str).str.strip() if name else pd.Series("", index=cells.index)

    x = pd.to_numeric(column("x"), errors="coerce")
    y = pd.to_numeric(column("y"), errors="coerce")
    unlocated = x.isna() | y.isna() | ((x == 0) & (y == 0))  # 0, 0: a blank a system filled
    x[unlocated] = y[unlocated] = np.nan
    located_by = pd.Series(np.where(unlocated, "postcode", "source coordinates"),
                           index=cells.index)
    if unlocated.any():
        if codepoint is None:
            rows = [f"row {int(i) + 2}" for i in cells.index[unlocated.to_numpy()]]
            raise InputError(f"{file.name}: {len(rows)} asset(s) without X/Y co-ordinates "
                             f"(blank, or 0, 0) ({shortlist(rows, 12)}); give --postcodes to "
                             "locate them by post code")
        located = geocode_postcodes(column("postcode")[unlocated], codepoint, source=file.name)
        x[unlocated], y[unlocated] = located["x"], located["y"]
    tenure = column("tenure").str.lower().map(
        lambda t: "freehold" if "free" in t else ("leasehold" if "lease" in t else t))
    address = (column("number") + " " + column("street") + ", " + column("town") + " "
               + column("postcode")).str.strip(" ,")
    asset_id = column("asset_id")
    ids = asset_id.where(asset_id != "", [f"A{k + 1:04d}" for k in range(len(cells))])
    return pd.DataFrame({
        "site_id": ids.to_numpy(), "name": column("name").to_numpy(),
        "owner": column("owner").to_numpy(), "x": x.to_numpy(), "y": y.to_numpy(),
        "located_by": located_by.to_numpy(),
        "gia_m2": column("gia_m2").to_numpy(), "tenure": tenure.to_numpy(), "lease_end": "",
        "uprn": column("uprn").to_numpy(), "asset_id": asset_id.to_numpy(),
        "postcode": column("postcode").to_numpy(), "address": address.to_numpy(),
    })
