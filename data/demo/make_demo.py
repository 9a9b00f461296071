"""Generate the embedded demo place: a SYNTHETIC public estate in Lewisham's real extent.

Nothing here describes real buildings, costs or people. The sites cluster around
Lewisham's real town centres and the zones cover an approximation of the borough's
outline (British National Grid, EPSG:27700), so that access, optimisation and maps
behave as they would on the real borough; every name, cost, area, energy figure
and population count is drawn from seeded random distributions chosen to be
plausible for outer-London public buildings (see data/README.md, "The demo place").

Run from the repository root (output is committed, so users never need to)::

    python data/demo/make_demo.py

Writes ``sites.csv``, ``services.csv``, ``zones.geojson``, ``boundary.geojson`` and
``place.toml`` beside this script. Same seed, byte-identical files.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import shapely
from make_network import TOWN_CENTRES

SEED = 20261126
N_ZONES = 880
TARGET_POPULATION = 300_000

#: An approximation of the borough outline (EPSG:27700 metres), area about 35 km2.
BOUNDARY_BNG: tuple[tuple[float, float], ...] = (
    (536500, 178400), (537600, 178100), (538200, 177000), (538700, 176300), (539900, 176000),
    (541200, 175200), (541400, 173800), (540800, 172600), (541000, 171200), (540200, 169900),
    (539000, 169300), (537400, 169700), (535800, 170200), (534600, 170900), (534200, 172300),
    (534400, 173900), (535200, 175200), (535400, 176500), (535900, 177600),
)

OWNERS = {
    "council": "London Borough of Lewisham",
    "nhs": "NHS South East London",
    "police": "Metropolitan Police Service",
    "fire": "London Fire Brigade",
    "dwp": "Department for Work and Pensions",
    "probation": "Probation Service",
    "vcs": "Voluntary and community sector",
}


@dataclass(frozen=True)
class Kind:
    """A kind of building: who holds it, its size and which services it hosts."""

    label: str
    owner: str
    count: int
    gia_m2: tuple[float, float]
    benchmark: str
    services: tuple[str, ...]
    freehold_share: float
    spread_m: float


KINDS: tuple[Kind, ...] = (
    Kind("Civic Offices", "council", 3, (6000, 11000), "general_office",
         ("back_office", "customer_service", "housing_advice"), 1.0, 300),
    Kind("Library", "council", 12, (350, 1500), "cultural_activities",
         ("library",), 0.85, 500),
    Kind("Children's Centre", "council", 16, (300, 700), "schools_and_community",
         ("children_centre",), 0.7, 900),
    Kind("Youth Centre", "council", 10, (300, 900), "schools_and_community",
         ("youth",), 0.7, 900),
    Kind("Adult Social Care Office", "council", 5, (600, 1600), "general_office",
         ("adult_social_care", "back_office"), 0.6, 500),
    Kind("Housing Office", "council", 6, (300, 900), "general_office",
         ("housing_advice",), 0.5, 600),
    Kind("Community Centre", "council", 34, (150, 650), "schools_and_community",
         ("community_hall",), 0.8, 1400),
    Kind("Medical Centre", "nhs", 48, (250, 950), "clinic", ("gp",), 0.25, 800),
    Kind("Health Centre", "nhs", 9, (1000, 3000), "clinic",
         ("community_health", "gp"), 0.7, 500),
    Kind("Community Clinic", "nhs", 12, (300, 900), "clinic", ("community_health",), 0.4, 800),
    Kind("Mental Health Centre", "nhs", 5, (600, 1800), "clinic", ("mental_health",), 0.6, 700),
    Kind("Police Station", "police", 3, (2000, 4500), "emergency_services",
         ("police_base", "police_counter"), 1.0, 300),
    Kind("Safer Neighbourhood Base", "police", 10, (200, 600), "general_office",
         ("police_base",), 0.3, 900),
    Kind("Fire Station", "fire", 5, (1200, 2000), "emergency_services",
         ("fire_station",), 1.0, 700),
    Kind("Jobcentre Plus", "dwp", 4, (800, 1600), "general_office", ("jobcentre",), 0.0, 300),
    Kind("Probation Office", "probation", 3, (500, 1200), "general_office",
         ("probation",), 0.0, 400),
    Kind("Community Hall", "vcs", 40, (120, 500), "schools_and_community",
         ("community_hall",), 0.35, 1400),
    Kind("Advice Centre", "vcs", 20, (150, 450), "general_office",
         ("advice_centre",), 0.2, 900),
    Kind("Family Hub", "council", 14, (250, 700), "schools_and_community",
         ("children_centre", "youth"), 0.8, 900),
)

#: Services that also appear as guests in other owners' buildings (type, owner).
GUESTS: tuple[tuple[str, str, float], ...] = (
    ("police_counter", "police", 0.10),
    ("community_health", "nhs", 0.15),
    ("advice_centre", "vcs", 0.16),
    ("customer_service", "council", 0.08),
    ("jobcentre", "dwp", 0.03),
)

SERVICE_NAMES = {
    "back_office": "Back office", "customer_service": "Customer service point",
    "housing_advice": "Housing advice", "library": "Library", "children_centre":
    "Children's centre", "youth": "Youth service", "adult_social_care": "Adult social care",
    "community_hall": "Community hall", "gp": "GP practice", "community_health":
    "Community health clinic", "mental_health": "Community mental health team",
    "police_base": "Policing team base", "police_counter": "Police front counter",
    "fire_station": "Fire station", "jobcentre": "Jobcentre", "probation": "Probation office",
    "advice_centre": "Advice service",
}
IMMOVABLE = {"fire_station", "police_base"}
SPLITTABLE = {"back_office"}
#: Square metres per FTE by service type (offices dense, public-facing sparse).
M2_PER_FTE = {"back_office": 10.0, "adult_social_care": 11.0, "housing_advice": 14.0,
              "library": 60.0, "community_hall": 80.0, "fire_station": 45.0}


def _boundary() -> shapely.Polygon:
    return shapely.Polygon(BOUNDARY_BNG)


def _point_near(rng: np.random.Generator, boundary: shapely.Polygon, centre: tuple[float, float],
                spread_m: float) -> tuple[float, float]:
    """Draw a point normally distributed around ``centre`` (metres), inside the boundary."""
    inner = boundary.buffer(-150)
    while True:
        x, y = rng.normal(centre, spread_m)
        if inner.contains(shapely.Point(x, y)):
            return round(float(x), 1), round(float(y), 1)


def _zones(rng: np.random.Generator, boundary: shapely.Polygon) -> list[dict[str, object]]:
    """Voronoi zones around seed points, denser near the town centres."""
    centres = np.array(list(TOWN_CENTRES.values()), dtype=float)
    minx, miny, maxx, maxy = boundary.bounds
    seeds: list[tuple[float, float]] = []
    while len(seeds) < N_ZONES:
        if rng.random() < 0.45:
            c = centres[rng.integers(len(centres))]
            x, y = rng.normal(c, 900)
        else:
            x, y = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
        p = shapely.Point(x, y)
        if boundary.buffer(-60).contains(p) and all(
                (x - a) ** 2 + (y - b) ** 2 > 90.0**2 for a, b in seeds[-400:]):
            seeds.append((float(x), float(y)))
    cells = shapely.voronoi_polygons(shapely.MultiPoint(seeds), extend_to=boundary)
    by_seed = {}
    for cell in cells.geoms:
        for k, s in enumerate(seeds):
            if k not in by_seed and cell.contains(shapely.Point(s)):
                by_seed[k] = cell
                break
    weights = rng.gamma(9.0, 1.0, N_ZONES)
    population = np.floor(weights / weights.sum() * TARGET_POPULATION).astype(int)
    population[: TARGET_POPULATION - population.sum()] += 1
    zones = []
    for k, (sx, sy) in enumerate(seeds):
        poly = shapely.set_precision(by_seed[k].intersection(boundary), 1.0)
        # population-weighted centroid: between the seed (where homes cluster) and the centroid
        c = poly.centroid
        px, py = 0.7 * sx + 0.3 * c.x, 0.7 * sy + 0.3 * c.y
        if not poly.contains(shapely.Point(px, py)):
            px, py = sx, sy
        old = rng.beta(2.2, 16.0)
        young = rng.beta(5.0, 18.0)
        bands = rng.multinomial(population[k], [young, 1 - young - old, old])
        zones.append({
            "zone_id": f"DZ{k + 1:04d}", "name": f"Demo zone {k + 1}",
            "population": int(population[k]), "pop_0_15": int(bands[0]),
            "pop_16_64": int(bands[1]), "pop_65_plus": int(bands[2]),
            "pwc_x": round(px, 1), "pwc_y": round(py, 1), "geometry": poly,
        })
    return zones


def _areas(zones: list[dict[str, object]], boundary: shapely.Polygon) -> None:
    """Give each zone a synthetic ward and IMD decile (its own seed: nothing else moves).

    The ward is the nearest town centre's name; the decile a smooth north-south
    gradient (more deprived in the north, as in the real borough) with noise, 1-10.
    Both are invented, for the leaders' report's who-gains-and-who-loses tables.
    """
    rng = np.random.default_rng(SEED + 1)
    names = list(TOWN_CENTRES)
    centres = np.array(list(TOWN_CENTRES.values()), dtype=float)
    _, miny, _, maxy = boundary.bounds
    for z in zones:
        x, y = float(z["pwc_x"]), float(z["pwc_y"])  # type: ignore[arg-type]
        z["ward"] = names[int(np.argmin(np.hypot(centres[:, 0] - x, centres[:, 1] - y)))]
        south = (maxy - y) / (maxy - miny)
        z["imd_decile"] = int(np.clip(round(1.5 + 5.0 * south + rng.normal(0.0, 1.3)), 1, 10))


def _sites_and_services(rng: np.random.Generator, boundary: shapely.Polygon
                        ) -> tuple[pd.DataFrame, pd.DataFrame]:
    centres = list(TOWN_CENTRES.items())
    sites: list[dict[str, object]] = []
    services: list[dict[str, object]] = []
    used_names: dict[str, int] = {}
    for kind in KINDS:
        for _ in range(kind.count):
            if kind.count <= len(centres) and kind.spread_m <= 500:
                town, centre = centres[(len(sites) * 7 + 3) % len(centres)]
            else:
                town, centre = centres[rng.integers(len(centres))]
            x, y = _point_near(rng, boundary, centre, kind.spread_m)
            base = f"{town} {kind.label}"
            used_names[base] = used_names.get(base, 0) + 1
            name = base if used_names[base] == 1 else f"{base} {used_names[base]}"
            gia = float(np.round(rng.uniform(*kind.gia_m2), -1))
            freehold = rng.random() < kind.freehold_share
            site_id = f"S{len(sites) + 1:03d}"
            rent = 0.0 if freehold else gia * rng.uniform(22, 48)
            relief = 0.2 if kind.owner == "vcs" else 1.0  # charitable rate relief
            elec_rate = {"general_office": 95, "cultural_activities": 70, "clinic": 70,
                         "emergency_services": 70, "schools_and_community": 40}[kind.benchmark]
            heat_rate = {"general_office": 120, "cultural_activities": 200, "clinic": 200,
                         "emergency_services": 390, "schools_and_community": 150}[kind.benchmark]
            fuel = rng.choice(["gas", "electric", "district", "oil"], p=[0.8, 0.12, 0.05, 0.03])
            metered = rng.random() < 0.6
            lease_end = ""
            if not freehold:
                lease_end = (date(2026, 4, 1) + timedelta(days=int(rng.integers(0, 14 * 365)))
                             ).isoformat()
            status = "candidate"
            if kind.label in ("Fire Station", "Police Station") or (
                    kind.label == "Civic Offices" and town == "Catford"):
                status = "retain"
            elif (rng.random() < 0.015 and not set(kind.services) & IMMOVABLE
                  and (freehold or lease_end < "2036-04-01")):
                status = "dispose"  # known surplus: its services must all be able to move
            sites.append({
                "site_id": site_id, "name": name, "owner": OWNERS[kind.owner],
                "x": x, "y": y, "gia_m2": gia,
                "capacity_m2": round(gia * rng.uniform(0.7, 0.85), 0),
                "tenure": "freehold" if freehold else "leasehold", "lease_end": lease_end,
                "rent_gbp_pa": round(rent, -2),
                "rates_gbp_pa": round(gia * rng.uniform(12, 24) * relief, -2),
                "fm_gbp_pa": round(gia * rng.uniform(25, 55), -2),
                "backlog_gbp": round(gia * rng.choice([0, rng.uniform(20, 320)]), -3),
                "electricity_kwh_pa": round(gia * elec_rate * rng.lognormal(0, 0.3))
                if metered else "",
                "heat_kwh_pa": round(gia * heat_rate * rng.lognormal(0, 0.3))
                if metered and rng.random() < 0.9 else "",
                "heat_fuel": fuel, "benchmark": kind.benchmark,
                "market_value_gbp": round(gia * rng.uniform(1800, 4200), -4) if freehold else 0,
                "status": status,
            })
            capacity = float(sites[-1]["capacity_m2"])  # type: ignore[arg-type]
            occupancy = rng.uniform(0.35, 0.9)
            types = list(kind.services)
            for stype, _owner, share in GUESTS:
                if stype not in types and rng.random() < share and kind.owner != "fire":
                    types.append(stype)
            shares = rng.dirichlet(np.full(len(types), 3.0))
            for stype, frac in zip(types, shares, strict=True):
                area = max(20.0, round(capacity * occupancy * frac, 0))
                guest = stype not in kind.services
                s_owner = OWNERS[next(o for t, o, _ in GUESTS if t == stype) if guest
                                 else kind.owner]
                services.append({
                    "service_id": f"V{len(services) + 1:04d}", "site_id": site_id,
                    "service_type": stype, "owner": s_owner,
                    "name": f"{town} {SERVICE_NAMES[stype]}", "area_m2": area,
                    "fte": round(area / M2_PER_FTE.get(stype, 25.0), 1),
                    "movable": "false" if stype in IMMOVABLE or (
                        rng.random() < 0.04 and status != "dispose") else "true",
                    "splittable": "true" if stype in SPLITTABLE else "false",
                })
    return pd.DataFrame(sites), pd.DataFrame(services)


def _geojson(features: list[dict[str, object]], path: Path) -> None:
    """Write EPSG:27700 features as GeoJSON (deterministic text, coordinates to 1 m)."""
    out = {"type": "FeatureCollection",
           "name": path.stem,
           "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::27700"}},
           "features": []}
    for f in features:
        props = {k: v for k, v in f.items() if k != "geometry"}
        geom = json.loads(shapely.to_geojson(shapely.set_precision(f["geometry"], 1.0)))
        out["features"].append({"type": "Feature", "properties": props, "geometry": geom})
    path.write_text(json.dumps(out, separators=(",", ":")) + "\n", encoding="utf-8")


PLACE_TOML = """\
# The embedded demo place. SYNTHETIC: invented buildings, costs and people laid over
# Lewisham's real extent. Generated by data/demo/make_demo.py (seed {seed}).
name = "Lewisham (synthetic demo place)"
description = "Synthetic estate of {sites} sites and {services} services; {zones} zones, \
{population:,} residents. Not real data."
crs = "EPSG:27700"          # CRS of the x/y columns in the CSV tables
boundary = "boundary.geojson"
network = "network_walk.graphml.gz"
sites = "sites.csv"
services = "services.csv"
zones = "zones.geojson"
"""


def main() -> None:
    """Write the demo place's files beside this script."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent)
    out = parser.parse_args().out
    rng = np.random.default_rng(SEED)
    boundary = _boundary()
    zones = _zones(rng, boundary)
    sites, services = _sites_and_services(rng, boundary)
    _areas(zones, boundary)
    sites.to_csv(out / "sites.csv", index=False, lineterminator="\n")
    services.to_csv(out / "services.csv", index=False, lineterminator="\n")
    _geojson(zones, out / "zones.geojson")
    _geojson([{"name": "Lewisham (synthetic demo outline)", "geometry": boundary}],
             out / "boundary.geojson")
    (out / "place.toml").write_text(PLACE_TOML.format(
        seed=SEED, sites=len(sites), services=len(services), zones=len(zones),
        population=sum(int(z["population"]) for z in zones)), encoding="utf-8")
    print(f"{len(sites)} sites, {len(services)} services, {len(zones)} zones written to {out}")


if __name__ == "__main__":
    main()
