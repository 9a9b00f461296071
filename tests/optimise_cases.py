"""Random small estates for optimiser tests (seeded), written as real input files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from tp_assets import access, estate, scenario
from tp_assets.finance import Finance

TYPES = ("library", "gp", "youth")


def random_place(folder: Path, seed: int, *, n_sites: int = 8, n_services: int = 12,
                 n_zones: int = 30, benchmarks: tuple[str, ...] = ("clinic",)) -> Path:
    """Write a random place (sites, services, zones CSV in EPSG:27700) and return it.

    Each site's ``benchmark`` category is drawn from ``benchmarks`` (by default every
    site a clinic, which the shipped suitability table lets host every type here at no
    extra fit-out, so that the optimiser's cases are about the optimiser).
    """
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    x0, y0 = 537000.0, 173000.0
    sxy = rng.uniform(0, 2000, (n_sites, 2))
    gia = rng.uniform(300, 900, n_sites).round(0)
    tenure = np.where(rng.random(n_sites) < 0.6, "freehold", "leasehold")
    lease_end = [f"20{rng.integers(27, 40)}-04-01" if t == "leasehold" else "" for t in tenure]
    pd.DataFrame({
        "site_id": [f"S{i}" for i in range(n_sites)], "name": [f"Site {i}" for i in range(n_sites)],
        "owner": rng.choice(["council", "nhs", "police"], n_sites),
        "x": (x0 + sxy[:, 0]).round(1), "y": (y0 + sxy[:, 1]).round(1), "gia_m2": gia,
        "capacity_m2": (gia * 0.8).round(0), "tenure": tenure, "lease_end": lease_end,
        "rent_gbp_pa": np.where(tenure == "leasehold", (gia * rng.uniform(20, 40, n_sites)), 0
                                ).round(2),
        "rates_gbp_pa": (gia * rng.uniform(10, 20, n_sites)).round(2),
        "fm_gbp_pa": (gia * rng.uniform(20, 50, n_sites)).round(2),
        "backlog_gbp": (gia * rng.uniform(0, 100, n_sites)).round(2),
        "market_value_gbp": np.where(tenure == "freehold", gia * rng.uniform(1500, 3000, n_sites),
                                     0).round(2),
        "benchmark": np.random.default_rng([seed, 1]).choice(list(benchmarks), n_sites),
        "status": "candidate",
    }).to_csv(folder / "sites.csv", index=False)
    current = rng.integers(0, n_sites, n_services)
    pd.DataFrame({
        "service_id": [f"V{i:02d}" for i in range(n_services)],
        "site_id": [f"S{c}" for c in current],
        "service_type": np.r_[list(TYPES), rng.choice(TYPES, n_services - len(TYPES))],
        "owner": "council", "area_m2": rng.uniform(60, 260, n_services).round(0),
        "fte": rng.uniform(1, 10, n_services).round(1),
        "movable": rng.random(n_services) > 0.1, "splittable": False,
    }).to_csv(folder / "services.csv", index=False)
    zxy = rng.uniform(-200, 2200, (n_zones, 2))
    pd.DataFrame({"zone_id": [f"Z{i:02d}" for i in range(n_zones)],
                  "population": rng.integers(100, 1000, n_zones),
                  "x": (x0 + zxy[:, 0]).round(1), "y": (y0 + zxy[:, 1]).round(1)},
                 ).to_csv(folder / "zones.csv", index=False)
    (folder / "place.toml").write_text('name = "random"\ncrs = "EPSG:27700"\nsites = '
                                       '"sites.csv"\nservices = "services.csv"\nzones = '
                                       '"zones.csv"\n')
    return folder


def make_scenario(place: Path, *, standards: dict[str, scenario.Standard] | None = None,
                  **kwargs: object) -> scenario.Scenario:
    """A scenario over ``place`` with straight-line access and exact solving."""
    if standards is None:
        standards = {"library": scenario.Standard("library", 12.0, mode="straight_line"),
                     "gp": scenario.Standard("gp", 15.0, mode="straight_line",
                                             rule="coverage", coverage=0.6)}
    kwargs.setdefault("solver", scenario.SolverSettings(relative_gap=0.0, time_limit_s=60))
    kwargs.setdefault("rules", scenario.Rules(max_move_minutes=60.0))
    return scenario.Scenario(name="test", path=place / "place.toml", place=place,
                             network=scenario.NetworkSpec(source="straight_line"),
                             standards=standards, finance=Finance(), **kwargs)  # type: ignore[arg-type]


def load(place: Path, scen: scenario.Scenario) -> tuple[estate.Estate,
                                                        dict[str, access.TravelTimes]]:
    """The estate and its straight-line travel times up to each mode's largest standard."""
    est = estate.load_place(place)
    cut = access.cutoffs(scen.standards) or {"straight_line": 30.0}
    times = {mode: access.travel_times(est, None, mode=mode, cutoff_minutes=c)
             for mode, c in cut.items()}
    return est, times


def two_places(folder: Path, seeds: tuple[int, int], *, apart_m: float = 20000.0,
               **kwargs: object) -> Path:
    """Two random places side by side, ``apart_m`` metres apart (neighbouring boroughs
    that share no resident and no candidate site), as one place."""
    tables: dict[str, list[pd.DataFrame]] = {"sites": [], "services": [], "zones": []}
    for k, seed in enumerate(seeds):
        one = random_place(folder / f"part{k}", seed, **kwargs)  # type: ignore[arg-type]
        for name in tables:
            frame = pd.read_csv(one / f"{name}.csv", keep_default_na=False)
            frame["x"] = frame["x"] + k * apart_m if "x" in frame else frame.get("x")
            for column in ("site_id", "service_id", "zone_id"):
                if column in frame:
                    frame[column] = f"P{k}" + frame[column].astype(str)
            tables[name].append(frame)
    both = folder / "both"
    both.mkdir(parents=True, exist_ok=True)
    for name, frames in tables.items():
        pd.concat(frames, ignore_index=True).to_csv(both / f"{name}.csv", index=False)
    (both / "place.toml").write_text((folder / "part0" / "place.toml").read_text())
    return both
