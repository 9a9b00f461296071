"""Reading the results folders a report sets side by side, refusing what does not fit."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from tp_assets._errors import InputError
from tp_assets.results import RESULTS_FORMAT, read_summary, same_inputs

#: The files of a results folder the report reads.
FILES = ("sites.csv", "moves.csv", "savings_by_owner.csv", "cashflow.csv",
         "access_by_area.csv", "plan.gpkg")


@dataclass(frozen=True)
class Run:
    """One scenario's results, as written by ``tp-assets run``.

    Attributes
    ----------
    folder
        ``results/<scenario>``.
    summary
        summary.json.
    sites, moves, owners, cashflow, by_area
        sites.csv, moves.csv, savings_by_owner.csv, cashflow.csv and access_by_area.csv
        (ids and areas as text); the access standards are in ``summary["access"]``.
    zones
        plan.gpkg's ``zones`` layer: polygons, population, ward, IMD decile and the
        minutes to the nearest site of each standard's service before and after.
    points
        plan.gpkg's ``sites`` layer's points, by ``site_id`` (EPSG:27700).
    """

    folder: Path
    summary: dict[str, Any]
    sites: pd.DataFrame
    moves: pd.DataFrame
    owners: pd.DataFrame
    cashflow: pd.DataFrame
    by_area: pd.DataFrame
    zones: gpd.GeoDataFrame
    points: gpd.GeoSeries

    @property
    def name(self) -> str:
        """The scenario's name."""
        return str(self.summary["scenario"])


def _csv(path: Path, text: tuple[str, ...] = ()) -> pd.DataFrame:
    return pd.read_csv(path, dtype=dict.fromkeys(text, str), keep_default_na=False,
                       na_values=[""], encoding="utf-8-sig")


def read_runs(folders: list[Path]) -> list[Run]:
    """Read results folders for a report, refusing those that cannot be set side by side.

    Parameters
    ----------
    folders
        ``results/<scenario>`` folders, in the order the report shows them.

    Returns
    -------
    list of Run

    Raises
    ------
    InputError
        No folder given; a folder that does not exist or lacks summary.json or one of
        :data:`FILES`; one written by an older (or newer) tp-assets; one scenario
        given twice; runs of different places or input files. Each says what to do.
    """
    if not folders:
        raise InputError("tp-assets report: give at least one results folder, e.g. "
                         "tp-assets report results/baseline results/colocation")
    summaries = [read_summary(Path(f)) for f in folders]
    problems = []
    for folder, s in zip(folders, summaries, strict=True):
        found = s.get("results_format", 1)
        if found != RESULTS_FORMAT:
            older = found < RESULTS_FORMAT
            problems.append(
                f"{folder}: written by {'an older' if older else 'a newer'} tp-assets "
                f"(results format {found}; this version reads {RESULTS_FORMAT}); "
                + ("run its scenario again with this version (tp-assets run SCENARIO)"
                   if older else "upgrade tp-assets to read it"))
            continue
        missing = [name for name in FILES if not (Path(folder) / name).exists()]
        if missing:
            problems.append(f"{folder}: incomplete, no {', '.join(missing)}; run its scenario "
                            "again (tp-assets run SCENARIO)")
    if problems:
        raise InputError(problems)
    seen: dict[str, Path] = {}
    for folder, s in zip(folders, summaries, strict=True):
        name = str(s["scenario"])
        if name in seen:
            raise InputError(f"scenario {name!r} is given twice ({seen[name]} and {folder}); "
                             "give each scenario's results folder once")
        seen[name] = Path(folder)
    same_inputs([Path(f) for f in folders], summaries)
    return [_read(Path(folder), s) for folder, s in zip(folders, summaries, strict=True)]


def _read(folder: Path, summary: dict[str, Any]) -> Run:
    ids = ("site_id", "from_site", "to_site", "service_id", "owner", "name")
    zones = gpd.read_file(folder / "plan.gpkg", layer="zones")
    sites_layer = gpd.read_file(folder / "plan.gpkg", layer="sites", columns=["site_id"])
    return Run(folder=folder, summary=summary,
               sites=_csv(folder / "sites.csv", ids), moves=_csv(folder / "moves.csv", ids),
               owners=_csv(folder / "savings_by_owner.csv", ("owner",)),
               cashflow=_csv(folder / "cashflow.csv", ("owner", "site_id", "category")),
               by_area=_csv(folder / "access_by_area.csv", ("area", "service_type")),
               zones=zones, points=sites_layer.set_index(
                   sites_layer["site_id"].astype(str)).geometry)
