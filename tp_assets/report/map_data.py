"""The data the report's scenario-switch map draws: sites, moves and zones, as compact JSON.

One map frame for every scenario: the sites and zones are written once, each with
its decision (site) or access change (zone) per scenario, so that picking a
scenario redraws from data already in the page. Zone outlines are simplified to
:data:`~tp_assets.maps.SIMPLIFY_M` metres and coordinates rounded to
:data:`~tp_assets.maps.COORD_DECIMALS` decimal degrees (about 1 m), as on the leaders'
map, which keeps the demo's three scenarios near 1 MB.
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from tp_assets.maps import COORD_DECIMALS, SIMPLIFY_M, lonlat
from tp_assets.report.read import Run
from tp_assets.settings import WORKING_CRS

#: What happens to a zone's access to a service under a plan, as drawn (code, label).
CHANGES: tuple[tuple[int, str], ...] = (
    (0, "no change"), (1, "further, still within the standard"),
    (2, "nearer"), (3, "loses the standard"), (4, "gains the standard"),
    (5, "outside the standard before and after"),
)


def change_codes(before: np.ndarray, after: np.ndarray, limit: float) -> np.ndarray:
    """Each zone's :data:`CHANGES` code for one service under one plan.

    Parameters
    ----------
    before, after
        Minutes to the nearest site offering the service (NaN beyond the cutoff).
    limit
        The standard's minutes.
    """
    b = np.where(np.isnan(before), np.inf, before)
    a = np.where(np.isnan(after), np.inf, after)
    was, now = b <= limit, a <= limit
    codes = np.zeros(len(b), dtype=int)
    codes[was & now & (a > b + 1e-9)] = 1
    codes[was & now & (a < b - 1e-9)] = 2
    codes[was & ~now] = 3
    codes[~was & now] = 4
    codes[~was & ~now] = 5
    return codes


def map_data(runs: list[Run]) -> dict[str, Any]:
    """Everything the scenario-switch map draws, as JSON-ready values.

    Parameters
    ----------
    runs
        The scenarios, in the report's order (same place and inputs).

    Returns
    -------
    dict
        ``scenarios`` (names), ``sites`` (id, name, owner, lat, lon, decision per
        scenario, ``differs``: decided differently across scenarios), ``moves`` (per
        scenario: [from site index, to site index, service name]), ``services`` (each
        standard's service type and minutes), ``zones`` (GeoJSON, lon/lat, with
        ``zone_id``), ``minutes`` (per service: today's minutes per zone, and each
        scenario's), ``change`` (per service and scenario: :data:`CHANGES` codes).
    """
    first = runs[0]
    points = first.points
    ids = [str(i) for i in first.sites["site_id"]]
    at = lonlat(gpd.GeoSeries(points.reindex(ids).to_numpy(), crs=WORKING_CRS))
    index = {sid: k for k, sid in enumerate(ids)}
    decisions = [r.sites.set_index("site_id")["decision"].reindex(ids).fillna("").tolist()
                 for r in runs]
    sites = []
    for k, sid in enumerate(ids):
        row = first.sites.iloc[k]
        chosen = [d[k] for d in decisions]
        sites.append({"id": sid, "name": str(row["name"]), "owner": str(row["owner"]),
                      "lat": round(float(at.iloc[k].y), COORD_DECIMALS),
                      "lon": round(float(at.iloc[k].x), COORD_DECIMALS), "d": chosen,
                      "differs": len({"dispose" if c == "dispose" else "keep"
                                      for c in chosen}) > 1})
    moves = [[[index[str(m.from_site)], index[str(m.to_site)], str(m.name)]
              for m in r.moves.itertuples() if str(m.from_site) in index
              and str(m.to_site) in index] for r in runs]
    zones = first.zones
    shapes = lonlat(gpd.GeoSeries(zones.geometry.to_numpy(), crs=WORKING_CRS)
                    .simplify(SIMPLIFY_M))
    features = [{"type": "Feature", "properties": {"zone_id": str(z)},
                 "geometry": shapely.geometry.mapping(g)}
                for z, g in zip(zones["zone_id"], shapes, strict=True)]
    services: list[dict[str, Any]] = []
    minutes: dict[str, dict[str, list[float | None]]] = {}
    change: dict[str, dict[str, list[int]]] = {}
    limits = {r.name: {str(a["service_type"]): float(a["max_minutes"])
                       for a in r.summary["access"]} for r in runs}
    for service_type in sorted({t for by_run in limits.values() for t in by_run}):
        column = f"{service_type}_before_min"
        if column not in zones.columns:
            continue
        shown = sorted({by_run[service_type] for by_run in limits.values()
                        if service_type in by_run})
        services.append({"type": service_type, "minutes": shown[0],
                         "label": "-".join(f"{m:g}" for m in (shown[0], shown[-1])[
                             :1 + (len(shown) > 1)])})
        minutes[service_type] = {"today": _minutes(zones[column].to_numpy(float))}
        change[service_type] = {}
        for r in runs:  # each scenario's change against its own standard and mode
            if service_type not in limits[r.name]:
                continue
            before = r.zones[column].to_numpy(float)
            after = r.zones[f"{service_type}_after_min"].to_numpy(float)
            minutes[service_type][r.name] = _minutes(after)
            change[service_type][r.name] = change_codes(
                before, after, limits[r.name][service_type]).tolist()
    return {"scenarios": [r.name for r in runs], "sites": sites, "moves": moves,
            "services": services, "zones": {"type": "FeatureCollection", "features": features},
            "minutes": minutes, "change": change,
            "changes": [label for _, label in CHANGES]}


def _minutes(values: np.ndarray) -> list[float | None]:
    return [None if np.isnan(v) else round(float(v), 1) for v in values]


def decided_differently(runs: list[Run]) -> pd.DataFrame:
    """Sites disposed of in some scenarios and kept in others.

    Parameters
    ----------
    runs
        The scenarios.

    Returns
    -------
    pandas.DataFrame
        ``site_id``, ``name``, ``owner`` and the decision in each scenario.
    """
    table = runs[0].sites[["site_id", "name", "owner"]].copy()
    for r in runs:
        table[r.name] = r.sites.set_index("site_id")["decision"].reindex(
            table["site_id"]).fillna("").to_numpy()
    chosen = table[[r.name for r in runs]]
    disposed = (chosen == "dispose").any(axis=1)
    kept = chosen.isin(["retain", "receives"]).any(axis=1)
    return table[disposed & kept].reset_index(drop=True)
