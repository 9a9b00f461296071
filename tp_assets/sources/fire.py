"""The Home Office fire stations dataset as sites and services.

The Home Office "Fire stations dataset" (2017, one sheet ``STATIONS``: every fire
station in England) has the columns ``FRS_FULLNAME`` (the fire and rescue service,
e.g. ``London``), ``E_CODE`` (its code), ``STATION_NAME``, ``STATION_ADDRESS``,
``STATION_POSTCODE``, ``STATION_EASTING`` and ``STATION_NORTHING`` (British National
Grid metres, EPSG:27700). Save the sheet as CSV (UTF-8) to import it; other columns
are ignored.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd

from tp_assets._errors import InputError, shortlist
from tp_assets._tables import GB_GRID_M, on_gb_grid, read_csv_cells
from tp_assets._toml import suggest
from tp_assets.sources.registers import Register, assumed, nothing_left, outside

COLUMNS = ("FRS_FULLNAME", "STATION_NAME", "STATION_ADDRESS", "STATION_POSTCODE",
           "STATION_EASTING", "STATION_NORTHING")
#: Assumptions of tp-assets's, named in each row's ``assumed`` column: a station's
#: floor area and facilities management (GBP 40 per m2 a year), the appliance bays and
#: rooms its service occupies and its crews (a station of two pumps, four watches).
#: Operational stations do not move (their response times): ``movable = false``.
ASSUMPTIONS: dict[str, object] = {"gia_m2": 1200.0, "tenure": "freehold",
                                  "benchmark": "emergency_services", "heat_fuel": "gas",
                                  "fm_gbp_pa": 48_000.0, "area_m2": 900.0, "fte": 40.0}


def service_name(frs: str) -> str:
    """The fire and rescue service's name as an owner: ``London`` is the London Fire Brigade."""
    return "London Fire Brigade" if frs.casefold() == "london" else (
        f"{frs} Fire and Rescue Service")


def fire_stations(path: str | Path, *, service: str | None = None,
                  boundary: str | Path | None = None, margin_m: float = 0.0) -> Register:
    """Fire stations from the Home Office dataset (saved as CSV), as sites and services.

    Parameters
    ----------
    path
        The dataset's STATIONS sheet as CSV.
    service
        Keep this fire and rescue service's stations (``FRS_FULLNAME``, e.g.
        ``London``; any case).
    boundary
        Polygon file of the place: keep stations inside it.
    margin_m
        Distance outside the boundary still kept (m).

    Returns
    -------
    Register
        One site and one ``fire_station`` service (not movable) per station, owned by
        the fire and rescue service (``London`` -> ``London Fire Brigade``), with the
        assumed figures of :data:`ASSUMPTIONS` named in ``assumed``.

    Raises
    ------
    InputError
        A missing column, coordinates that are not numbers or lie outside Great
        Britain's grid (each row named), an unknown service, no station left.
    """
    path = Path(path)
    if path.suffix.lower() in (".ods", ".xlsx", ".xls"):
        raise InputError(f"{path.name}: a spreadsheet; open it and save the STATIONS sheet as "
                         "CSV UTF-8, then import that file")
    cells = read_csv_cells(path)
    missing = [c for c in COLUMNS if c not in cells.columns]
    if missing:
        raise InputError(f"{path.name}: no column(s) {', '.join(missing)}; expected the Home "
                         f"Office fire stations dataset's columns ({', '.join(COLUMNS)}); "
                         f"columns present: {shortlist([str(c) for c in cells.columns], 12)}")
    cells = cells.apply(lambda col: col.str.strip())
    rows = cells.index.to_numpy() + 2
    left: dict[str, int] = {}
    keep = np.ones(len(cells), dtype=bool)
    if service:  # the service first: a bad row elsewhere in the national file is not ours
        frs = cells["FRS_FULLNAME"]
        keep = (frs.str.casefold() == service.strip().casefold()).to_numpy().copy()
        if not keep.any():
            present = sorted(set(frs[frs != ""]))
            raise InputError(f"{path.name}: no station of fire and rescue service {service!r}"
                             f"{suggest(service, present)}; nothing was written. Services in "
                             f"the file: {shortlist(present, 12)}")
        if not keep.all():
            left[f"of other fire and rescue services than {service}"] = int((~keep).sum())
    problems = []
    x = pd.to_numeric(cells["STATION_EASTING"], errors="coerce").to_numpy(float)
    y = pd.to_numeric(cells["STATION_NORTHING"], errors="coerce").to_numpy(float)
    on_grid = on_gb_grid(np.column_stack([x, y]))
    swapped = on_gb_grid(np.column_stack([y, x]))
    for k in np.flatnonzero(keep):
        e, n = x[k], y[k]
        where = f"{path.name} row {rows[k]} ({cells['STATION_NAME'].iloc[k]})"
        if not (np.isfinite(e) and np.isfinite(n)):
            problems.append(f"{where}: STATION_EASTING/STATION_NORTHING "
                            f"{cells['STATION_EASTING'].iloc[k]!r}/"
                            f"{cells['STATION_NORTHING'].iloc[k]!r} are not numbers; give the "
                            "station's British National Grid coordinates in metres")
        elif not on_grid[k]:
            problems.append(f"{where}: easting {e:,.0f}, northing {n:,.0f} lie outside Great "
                            f"Britain (British National Grid: eastings 0-{GB_GRID_M[0]:,.0f} m,"
                            f" northings 0-{GB_GRID_M[1]:,.0f} m); "
                            + ("the two look swapped: swap them" if swapped[k] else
                               "give British National Grid metres (not degrees, not "
                               "kilometres)"))
    if problems:
        raise InputError(problems)
    keep &= ~outside(x, y, boundary, margin_m, left, among=keep)
    if not keep.any():
        raise nothing_left(path, "station", left, "the service name and the boundary")
    kept = cells[keep]
    ids = [f"FS-{re.sub(r'[^A-Z0-9]+', '-', n.upper()).strip('-')}"
           for n in kept["STATION_NAME"]]
    count = Counter(ids)
    ids = [f"{i}-{k + 1}" if count[i] > 1 else i for k, i in enumerate(ids)]
    owners = kept["FRS_FULLNAME"].map(service_name).to_numpy()
    a = ASSUMPTIONS
    site_values, site_assumed = assumed(**{k: a[k] for k in ("gia_m2", "tenure", "benchmark",
                                                               "heat_fuel", "fm_gbp_pa")})
    sites = pd.DataFrame({
        "site_id": ids, "name": (kept["STATION_NAME"] + " Fire Station").to_numpy(),
        "owner": owners, "x": x[keep], "y": y[keep],
        "address": kept["STATION_ADDRESS"].to_numpy(),
        "postcode": kept["STATION_POSTCODE"].to_numpy(), "located_by": "source coordinates",
        **site_values, "status": "candidate", "assumed": site_assumed})
    service_values, service_assumed = assumed(area_m2=a["area_m2"], fte=a["fte"],
                                              movable=False)
    services = pd.DataFrame({
        "service_id": [f"{i}-fire_station" for i in ids], "site_id": ids,
        "service_type": "fire_station", "owner": owners, **service_values,
        "name": sites["name"].to_numpy(), "assumed": service_assumed})
    return Register(sites, services, kept=len(sites), left_out=left)
