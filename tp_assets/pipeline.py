"""The run: load -> validate -> access -> optimise -> check -> savings -> write.

Writes ``results/<scenario>/`` all-or-nothing (see :func:`tp_assets.io.atomic_folder`):
``summary.json``, ``sites.csv``, ``moves.csv``, ``savings_by_owner.csv``,
``cashflow.csv``, ``access.csv`` and ``plan.gpkg``. Column reference: README,
"Output reference".
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import json
import os
import platform
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from tp_assets import (
    __version__,
    access,
    areas,
    charts,
    check,
    io,
    maps,
    measures,
    optimise,
    phasing,
    results,
    savings,
    sensitivity,
    settings,
)
from tp_assets import estate as estate_mod
from tp_assets import scenario as scenario_mod
from tp_assets._errors import InputError, InternalError
from tp_assets._tables import file_sha256
from tp_assets.results import compare, plan_warning, standard_text  # noqa: F401 (the API)

#: A progress reporter: a context manager entered around each long step.
Step = Callable[[str], contextlib.AbstractContextManager[None]]


@contextlib.contextmanager
def _silent(label: str) -> Iterator[None]:
    yield


@dataclass
class RunResult:
    """Everything a run produced.

    Attributes
    ----------
    scenario, estate, times, plan, report, savings
        The scenario, the estate, travel times by mode, the optimiser's plan, the
        checker's report and the savings tables.
    folder
        Where the results were written.
    timings_s
        Seconds per step.
    warnings
        Things the user should know (snapping, straight-line times, estimated energy).
    sensitivity
        The NPV at each end of each input's range and the switching values
        (:func:`tp_assets.sensitivity.analyse`), where the scenario has ``[sensitivity]``.
    decision_changes
        Where ``[sensitivity] reoptimise = true``: the sites whose decision changes at
        an end of a range, and the re-optimised plans' status and NPV by input and end
        (:func:`tp_assets.sensitivity.decision_changes`).
    """

    scenario: scenario_mod.Scenario
    estate: estate_mod.Estate
    times: dict[str, access.TravelTimes]
    plan: optimise.Plan
    report: check.CheckReport
    savings: savings.Savings
    folder: Path
    timings_s: dict[str, float] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    access_table: pd.DataFrame = field(default_factory=pd.DataFrame)
    map_path: Path | None = None
    minutes: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    sensitivity: pd.DataFrame | None = None
    decision_changes: tuple[pd.DataFrame, pd.DataFrame] | None = None

    @functools.cached_property
    def access_by_area(self) -> pd.DataFrame:
        """Access gained and lost by ward and IMD decile (:func:`.areas.access_by_area`)."""
        return areas.access_by_area(self.estate.zones, self.scenario.standards, self.minutes)


def run(scenario_path: str | Path, *, results_dir: str | Path = "results",
        maps_dir: str | Path | None = "maps", cache_dir: str | Path | None = None,
        step: Step = _silent,
        given_times: Mapping[access.TravelKey, access.TravelTimes] | None = None,
        workbook: bool = False) -> RunResult:
    """Run a scenario end to end and write its results.

    Parameters
    ----------
    scenario_path
        The scenario TOML file.
    results_dir
        Parent of the ``<scenario>`` results folder.
    maps_dir
        Folder of the leaders' map ``<scenario>.html`` (``None``: no map).
    cache_dir
        Travel-time cache folder (default :data:`settings.CACHE_DIR`).
    step
        Progress reporter wrapped around each step.
    given_times
        Travel times already computed for this estate (a sweep's, shared by its
        variants), by (network settings, mode, cutoff in minutes); those the scenario
        needs and that are not among them are computed here.
    workbook
        Also write ``appraisal.xlsx``: the appraisal as an Excel workbook whose totals
        recompute when a price is edited (:mod:`tp_assets.workbook`).

    Returns
    -------
    RunResult

    Raises
    ------
    InputError
        Bad scenario or inputs (exit code 2); nothing is written.
    InfeasibleError
        The rules cannot all hold (exit code 3); nothing is written.
    InternalError
        The plan failed the independent check (exit code 1); nothing is written.
    """
    timings: dict[str, float] = {}

    @contextlib.contextmanager
    def timed(label: str, key: str) -> Iterator[None]:
        started = time.perf_counter()
        with step(label):
            yield
        timings[key] = round(time.perf_counter() - started, 3)

    with timed("Loading the scenario and the estate", "load"):
        scen, est = load(scenario_path)
        check_output_paths(scen, results_dir, maps_dir)
        optimise.check_memory(est, scen, optimise.memory_available())
    with timed("Travel times over the street network", "access"):
        times = _times(scen, est, cache_dir, given=given_times)
    with timed(f"Optimising ({scen.solver.backend}, a budget of work; safety stop "
               f"{scen.solver.time_limit_s:g} s)", "optimise"):
        plan = optimise.optimise(est, times, scen)
    unphased = est
    if scen.phasing is not None:
        with timed("Phasing the disposals within the cap a year", "phasing"):
            est, plan = phasing.schedule(est, scen, plan, scen.phasing)
    with timed("Checking the plan against every rule", "check"):
        report = check.check_plan(est, times, scen, plan)
    with timed("Savings, cash flow and carbon", "savings"):
        money = savings.compute(est, scen, plan)
        _reconcile(money, report)
    table = None
    if scen.sensitivity is not None:
        with timed("Sensitivity of the NPV, the plan held fixed", "sensitivity"):
            table = sensitivity.analyse(est, scen, plan, money, scen.sensitivity)
    changes = None
    if scen.sensitivity is not None and scen.sensitivity.reoptimise:
        with timed("Re-optimising at the ends of the ranges", "reoptimise"):
            def again(e: estate_mod.Estate, s: scenario_mod.Scenario
                      ) -> tuple[estate_mod.Estate, optimise.Plan]:
                other = optimise.optimise(e, times, s)
                return (e, other) if s.phasing is None else phasing.schedule(
                    e, s, other, s.phasing)

            # each end re-optimised from the register's dates, then phased as the run was
            changes = sensitivity.decision_changes(unphased, scen, plan, scen.sensitivity,
                                                   again)
    warnings = [w for t in times.values() for w in t.warnings]
    estimated = (est.sites["energy_source"] == "benchmark").sum()
    if estimated:
        warnings.append(f"{estimated} of {len(est.sites)} sites have energy estimated from CIBSE "
                        "TM46 benchmarks (energy_source = benchmark)")
    access_table = _access_table(est, times, scen, plan, report)
    target = Path(results_dir) / scen.name
    result = RunResult(scen, est, times, plan, report, money, target, timings, warnings,
                       access_table, minutes=access.minutes_before_after(
                           est, times, scen.standards, plan.assignment), sensitivity=table,
                       decision_changes=changes)
    page = None
    if maps_dir is not None:
        with timed("Drawing the map", "map"):
            page = maps.build_map(est, times, scen, plan, money, access_table,
                                  result.minutes, cache_dir=cache_dir)
            result.map_path = Path(maps_dir) / f"{scen.name}.html"
    needed = _needed_bytes(result)
    io.check_space(target.parent, needed + len(page or "") if _same_disk(
        target.parent, maps_dir) else needed)
    if page is not None and maps_dir is not None and not _same_disk(target.parent, maps_dir):
        io.check_space(Path(maps_dir), len(page), option="--maps")
    with timed("Writing results", "write"), io.atomic_folder(target,
                                                             needed_bytes=needed) as tmp:
        write_results(result, tmp, workbook=workbook)
        if page is not None and result.map_path is not None:
            with io.machine_limits(result.map_path.parent, needed_bytes=len(page),
                                   option="--maps"):
                maps.write_map(page, result.map_path)
    return result


def _same_disk(a: Path, b: str | Path | None) -> bool:
    """Whether two folders (or their nearest existing parents) share a file system."""
    if b is None:
        return False

    return io.existing(a).stat().st_dev == io.existing(Path(b)).stat().st_dev


def _needed_bytes(result: RunResult) -> int:
    """About how many bytes a run's results folder takes (bytes), before writing it.

    The CSVs' size as text, the GeoPackage's as measured (160 kB of tables and indexes,
    about three times the sites' attributes as CSV, 24 bytes per zone co-ordinate),
    and 50 kB for the JSON files.
    """
    money = result.savings
    frames = (money.sites, money.moves, money.owners, money.cashflow, result.access_table,
              result.access_by_area)
    sizes = [len(frame.to_csv(index=False).encode()) for frame in frames]
    zones = result.estate.zones
    coordinates = int(shapely.get_num_coordinates(zones.geometry.to_numpy()).sum())
    gpkg = 160_000 + 3 * sizes[0] + 24 * coordinates  # sizes[0]: the sites'
    csv = sum(sizes)
    if result.sensitivity is not None:  # sensitivity.csv and the tornado's two files
        csv += len(result.sensitivity.to_csv(index=False).encode()) + CHART_BYTES // 2
    if result.scenario.energy.active:  # measures.csv, carbon.csv and four chart files
        csv += sum(len(f.to_csv(index=False).encode()) for f in (money.measures, money.carbon))
        csv += CHART_BYTES
    return csv + gpkg + 50_000


#: Room the cost-curve and trajectory charts take (bytes): two offline pages of about
#: 0.9 MB each (the chart library inlined) and two PNGs of about 0.4 MB, measured.
CHART_BYTES = 3_000_000


def load(scenario_path: str | Path) -> tuple[scenario_mod.Scenario, estate_mod.Estate]:
    """Load a scenario and its place, and check what the scenario names exists there.

    Parameters
    ----------
    scenario_path
        The scenario TOML file.

    Returns
    -------
    scenario, estate

    Raises
    ------
    InputError
        Bad files, and service types, demand columns, sites, owners, categories or a
        network file the scenario names that the place lacks.
    """
    scen = scenario_mod.load(scenario_path)
    est = estate_mod.load_place(scen.place)
    scenario_mod.check_against_estate(scen, set(est.services["service_type"]),
                                      est.demand_columns)
    optimise.check_names(est, scen)
    if scen.energy.measures:  # the measures sites name (fitted, impossible) must exist
        sites_file = est.files["sites"].name if "sites" in est.files else "sites"
        measures.site_measures(est.sites, scen.energy.measures, sites_file)
    access.check_network_file(scen.network, est)
    return scen, est


def check_output_paths(scen: scenario_mod.Scenario, results_dir: str | Path,
                       maps_dir: str | Path | None) -> None:
    """Refuse, before any work, result and map folders that cannot be written.

    Raises
    ------
    InputError
        A path longer than the file system takes, a read-only folder or one without
        permission to write (exit code 2).
    """
    io.check_path(Path(results_dir) / f".{scen.name}.XXXXXXXX.tmp",
                  "baseline_access/access_standards.csv")  # the longest name a run writes
    io.check_writable(Path(results_dir))
    if maps_dir is not None:
        io.check_path(Path(maps_dir), f".{scen.name}.html.XXXXXXXX", option="--maps")
        io.check_writable(Path(maps_dir), option="--maps")


def _times(scen: scenario_mod.Scenario, est: estate_mod.Estate,
           cache_dir: str | Path | None,
           given: Mapping[access.TravelKey, access.TravelTimes] | None = None
           ) -> dict[str, access.TravelTimes]:
    given = given or {}
    return {mode: given[key] if key in given else access.travel_times(
                est, key[0], mode=mode, cutoff_minutes=key[2], cache_dir=cache_dir)
            for mode, key in access.travel_keys(scen.network, scen.standards).items()}


def baseline_access(scenario_path: str | Path, *, results_dir: str | Path = "results",
                    cache_dir: str | Path | None = None
                    ) -> tuple[scenario_mod.Scenario, estate_mod.Estate,
                               dict[str, access.TravelTimes], access.AccessReport, Path]:
    """Access today for a scenario's standards, written to its ``baseline_access/``.

    Parameters
    ----------
    scenario_path
        The scenario (its standards define what is measured).
    results_dir
        Parent of the scenario's results folder.
    cache_dir
        Travel-time cache folder.

    Returns
    -------
    scenario, estate, times, report, folder
    """
    scen, est = load(scenario_path)
    if not scen.standards:
        raise InputError(f"{Path(scenario_path).name}: no [standards.<service_type>] tables; "
                         "add one, e.g. [standards.library] max_minutes = 20")
    times = _times(scen, est, cache_dir)
    report = access.baseline(est, times, scen.standards)
    target = Path(results_dir) / scen.name / "baseline_access"
    with io.atomic_folder(target) as tmp:
        write_access_report(report, est, tmp)
    return scen, est, times, report, target


def _reconcile(money: savings.Savings, report: check.CheckReport) -> None:
    """The cash flow's NPV is the checker's, less the rounding of each row to the penny.

    Raises
    ------
    InternalError
        They differ by more than half a penny a row.
    """
    rounding = money.totals["npv_gbp"] - report.npv_gbp
    if abs(rounding) > 0.005 * len(money.cashflow) + 0.01:
        raise InternalError(
            f"the cash flow's NPV ({money.totals['npv_gbp']:,.2f}) is not the NPV the checker "
            f"recomputed ({report.npv_gbp:,.2f}) up to the rounding of its "
            f"{len(money.cashflow)} rows to the penny: a bug in tp-assets; please report it "
            "with the scenario and inputs")


def write_access_report(report: access.AccessReport, estate: estate_mod.Estate,
                        folder: Path) -> None:
    """Write a baseline access report as CSV tables and a GeoPackage.

    Files: ``access_standards.csv`` (one row per standard), ``access_zones.csv``
    (one row per zone and standard), ``overlaps.csv`` (ranked site pairs) and
    ``access.gpkg`` with layers ``zones`` (polygons with nearest minutes per service
    type), ``sites`` and ``overlaps`` (a line per overlapping pair). Column
    reference: README, "Output reference".

    Parameters
    ----------
    report
        The report.
    estate
        The estate it was computed on (geometry, names).
    folder
        Existing folder to write into.
    """
    io.write_csv(report.standards, folder / "access_standards.csv",
                 decimals={"share_within": 6})
    io.write_csv(report.zones, folder / "access_zones.csv", decimals={"nearest_minutes": 3})
    io.write_csv(report.overlaps, folder / "overlaps.csv",
                 decimals={"minutes_apart": 2, "share_of_a": 6, "share_of_b": 6, "overlap": 6})
    wide = report.zones.pivot(index="zone_id", columns="service_type", values="nearest_minutes")
    wide.columns = [f"minutes_{c}" for c in wide.columns]
    zones = estate.zones[["zone_id", "population", "geometry"]].merge(
        wide.replace(np.inf, np.nan).reset_index(), on="zone_id")
    sites = estate.sites[["site_id", "name", "owner", "gia_m2", "status", "geometry"]]
    loc = estate.sites.set_index("site_id").geometry
    ov = report.overlaps
    lines = gpd.GeoDataFrame(
        ov, geometry=[shapely.LineString([loc[a], loc[b]]) for a, b in
                      zip(ov["site_a"], ov["site_b"], strict=True)], crs=settings.WORKING_CRS)
    io.write_gpkg({"zones": gpd.GeoDataFrame(zones, crs=settings.WORKING_CRS),
                   "sites": gpd.GeoDataFrame(sites, crs=settings.WORKING_CRS),
                   "overlaps": lines}, folder / "access.gpkg")


def _access_table(est: estate_mod.Estate, times: dict[str, access.TravelTimes],
                  scen: scenario_mod.Scenario, plan: optimise.Plan,
                  report: check.CheckReport) -> pd.DataFrame:
    out = report.access.copy()
    if out.empty:
        return pd.DataFrame(columns=["service_type", "mode", "max_minutes", "demand_column",
                                     "rule", "coverage_required"])
    std = scen.standards
    out.insert(1, "mode", out["service_type"].map(lambda t: std[t].mode))
    out.insert(2, "max_minutes", out["service_type"].map(lambda t: std[t].max_minutes))
    out.insert(3, "demand_column", out["service_type"].map(lambda t: std[t].demand))
    out.insert(5, "coverage_required", out["service_type"].map(
        lambda t: std[t].coverage if std[t].rule == "coverage" else np.nan))
    out["demand_total"] = out["service_type"].map(
        lambda t: float(est.zones[std[t].demand].sum()))
    return out


def zone_minutes(est: estate_mod.Estate,
                 minutes: dict[str, tuple[np.ndarray, np.ndarray]]) -> pd.DataFrame:
    """Minutes from each zone to the nearest site offering each standard's service.

    Parameters
    ----------
    est
        The run's estate.
    minutes
        Service type -> (minutes today, minutes with the plan) per zone, as
        :func:`tp_assets.access.minutes_before_after` returns them.

    Returns
    -------
    pandas.DataFrame
        ``zone_id`` plus ``<service_type>_before_min`` and ``<service_type>_after_min``
        (NaN beyond the standard's cutoff).
    """
    out = pd.DataFrame({"zone_id": est.zones["zone_id"].to_numpy()})
    for t, (before, after) in sorted(minutes.items()):
        for label, values in (("before", before), ("after", after)):
            out[f"{t}_{label}_min"] = np.where(np.isfinite(values), values, np.nan)
    return out


def _versions() -> dict[str, str]:
    import geopandas
    import ortools
    import osmnx
    import pyproj
    import scipy
    import shapely as shp

    return {"tp_assets": __version__, "python": platform.python_version(),
            "ortools": ortools.__version__, "geopandas": geopandas.__version__,
            "shapely": shp.__version__, "pyproj": pyproj.__version__,
            "osmnx": osmnx.__version__, "scipy": scipy.__version__,
            "numpy": np.__version__, "pandas": pd.__version__}


_DECIMALS = {"share": 6, "fte": 2, "area_m2": 2, "tco2e_saved_pa": 4,
             "electricity_kwh_saved_pa": 1, "heat_kwh_saved_pa": 1, "generated_kwh_pa": 1,
             "heat_pump_kw": 2, "pv_kwp": 2, "tco2e_saved_first_year": 4,
             "tco2e_saved_horizon": 4, "baseline_tco2e": 4, "plan_tco2e": 4,
             "saved_tco2e": 4, "mean_minutes_before": 3, "mean_minutes_after": 3,
             "mean_minutes_change": 3}


def _decimals(frame: pd.DataFrame) -> dict[str, int]:
    out = {c: 2 for c in frame.columns if "gbp" in c}
    out.update({c: d for c, d in _DECIMALS.items() if c in frame.columns})
    out.update({c: 6 for c in frame.columns if c.startswith("share")})
    return out


def _energy_summary(scen: scenario_mod.Scenario) -> dict[str, Any]:
    """The ``energy`` block of summary.json: the settings the measures were decided under."""
    e = scen.energy
    return {
        "measures": [m.measure for m in e.measures],
        "measures_file": e.measures_file.name if e.measures_file else "shipped",
        "fit_years": list(e.fit_years), "carbon_value": e.carbon_value,
        "carbon_values_source": "DESNZ, Valuation of energy use and greenhouse gas "
        f"emissions for appraisal (2023), table 3, rebased to {e.price_base_year} prices",
        "price_base_year": e.price_base_year, "grid_factors_source": e.grid_source,
        "capital_gbp": e.capital_gbp, "capital_gbp_per_year": e.capital_gbp_per_year,
        "target": None if e.target is None else dataclasses.asdict(e.target),
        "fossil_heating_until": e.fossil_heating_until,
        "social_line": "carbon values are a social benefit, reported apart: never in "
        "npv_gbp or cashflow.csv" + ("; the objective adds them" if e.carbon_value != "none"
                                     else ""),
    }


def write_energy(result: RunResult, folder: Path) -> None:
    """Write measures.csv, carbon.csv, the cost curve and the carbon trajectory charts.

    Parameters
    ----------
    result
        The run.
    folder
        An existing (temporary) folder.
    """
    from tp_assets import charts

    money, scen = result.savings, result.scenario
    io.write_csv(money.measures, folder / "measures.csv", decimals=_decimals(money.measures))
    io.write_csv(money.carbon, folder / "carbon.csv", decimals=_decimals(money.carbon))
    m = money.measures
    curve = pd.DataFrame({
        "label": m["site_id"].astype(str) + " " + m["measure_name"].astype(str),
        "tco2e_pa": m["tco2e_saved_horizon"] / (scen.finance.horizon_years - m["fit_year"] + 1),
        "gbp_per_tco2e": m["gbp_per_tco2e"]})
    curve = curve[(curve["tco2e_pa"] > 0) & curve["gbp_per_tco2e"].notna()]
    charts.write_macc(curve.reset_index(drop=True), folder / "macc.png", folder / "macc.html",
                      f"{scen.name}: cost of each tonne the measures save")
    by_year = money.carbon.groupby("calendar_year")[["baseline_tco2e", "plan_tco2e"]].sum()
    path = pd.DataFrame({"year": by_year.index.astype(int),
                         "baseline_tco2e": by_year["baseline_tco2e"].to_numpy(),
                         "plan_tco2e": by_year["plan_tco2e"].to_numpy()})
    target = money.totals.get("carbon_target")
    if target is not None:
        path["target_tco2e"] = np.where(path["year"] >= target["year"],
                                        target["allowed_tco2e"], np.nan)
    charts.write_trajectory(path, folder / "carbon.png", folder / "carbon.html",
                            f"{scen.name}: the estate's emissions a year")


def write_results(result: RunResult, folder: Path, *, workbook: bool = False) -> None:
    """Write a run's tables, GeoPackage and summary into ``folder``.

    Parameters
    ----------
    result
        The run.
    folder
        An existing (temporary) folder.
    workbook
        Also write ``appraisal.xlsx`` (:mod:`tp_assets.workbook`).
    """
    money, scen, est, plan = result.savings, result.scenario, result.estate, result.plan
    for name, frame in (("sites.csv", money.sites), ("moves.csv", money.moves),
                        ("savings_by_owner.csv", money.owners),
                        ("cashflow.csv", money.cashflow), ("access.csv", result.access_table),
                        ("access_by_area.csv", result.access_by_area)):
        io.write_csv(frame, folder / name, decimals=_decimals(frame))
    geo = est.sites.set_index("site_id").geometry
    sites = gpd.GeoDataFrame(money.sites, geometry=money.sites["site_id"].map(geo).to_numpy(),
                             crs=settings.WORKING_CRS)
    lines = [shapely.LineString([geo[a], geo[b]]) for a, b in
             zip(money.moves["from_site"], money.moves["to_site"], strict=True)]
    moves = gpd.GeoDataFrame(money.moves, geometry=lines, crs=settings.WORKING_CRS)
    zones = est.zones[["zone_id", "population", "ward", "imd_decile", "geometry"]].merge(
        zone_minutes(est, result.minutes), on="zone_id")
    io.write_gpkg({"sites": sites, "moves": moves,
                   "zones": gpd.GeoDataFrame(zones, crs=settings.WORKING_CRS)},
                  folder / "plan.gpkg")
    hashes = est.file_hashes()
    home = scen.path.resolve().parent

    def relative(path: Path) -> str:  # to the scenario's folder: no machine's own paths
        return Path(os.path.relpath(Path(path).resolve(), home)).as_posix()

    inputs = {role: {"path": relative(p), "sha256": hashes[role]}
              for role, p in est.files.items()}
    inputs["scenario"] = {"path": scen.path.name, "sha256": file_sha256(scen.path)}
    network = access.network_file(scen.network, est)
    if network is not None and network.exists():
        inputs["network"] = {"path": relative(network), "sha256": file_sha256(network)}
    f = scen.finance
    summary: dict[str, Any] = {
        "scenario": scen.name, "description": scen.description, "place": est.name,
        "status": plan.status, "objective_gbp": round(plan.objective_gbp, 2),
        "best_bound_gbp": round(plan.best_bound_gbp, 2)
        if np.isfinite(plan.best_bound_gbp) else None,
        "gap": plan.gap if np.isfinite(plan.gap) else None,
        "solver": plan.solver,
        "search": {"found_by": plan.found_by, "reproducible": not plan.stopped_by_clock,
                   "work": plan.work, "caveats": plan.caveats},
        "solver_settings": dataclasses.asdict(scen.solver),
        "model_size": plan.model_size,
        "proved_kept": plan.proved_kept,
        "totals": money.totals,
        "check": {"passed": result.report.ok, "npv_recomputed_gbp": round(
            result.report.npv_gbp, 2), "npv_rounding_gbp": round(
            money.totals["npv_gbp"] - round(result.report.npv_gbp, 2), 2)},
        "access": json.loads(result.access_table.to_json(orient="records")),
        "finance": {"start_date": f.start_date.isoformat(), "horizon_years": f.horizon_years,
                    "discount_rate": f.discount_rate,
                    "energy_prices_gbp_per_kwh": f.energy_prices_gbp_per_kwh,
                    "energy_prices_source": settings.ENERGY_PRICES_SOURCE,
                    "energy_price_growth": f.energy_price_growth,
                    "carbon_kg_per_kwh": f.carbon_kg_per_kwh,
                    "carbon_factor_years": f.carbon_factor_years,
                    "relocation_gbp_per_fte": f.relocation_gbp_per_fte,
                    "fitout_gbp_per_m2": f.fitout_gbp_per_m2,
                    "disposal_cost_share": f.disposal_cost_share,
                    "optimism_bias": f.optimism_bias},
        "travel_times": {m: {"method": t.method, "network": t.network,
                             "cutoff_minutes": t.cutoff_minutes}
                         for m, t in result.times.items()},
        "inputs": inputs, "versions": _versions(), "results_format": results.RESULTS_FORMAT,
        "warnings": result.warnings, "notes": est.notes,
    }
    if scen.energy.active:
        summary["energy"] = _energy_summary(scen)
        write_energy(result, folder)
    if result.sensitivity is not None:
        summary["sensitivity"] = sensitivity.summary(result.sensitivity)
        io.write_csv(result.sensitivity, folder / "sensitivity.csv",
                     decimals={"npv_base_gbp": 2, "npv_low_gbp": 2, "npv_high_gbp": 2,
                               "switching_value": 6})
        charts.write_tornado(result.sensitivity, folder / "sensitivity.png",
                             folder / "sensitivity.html",
                             f"{scen.name}: the NPV as each input moves alone")
    if scen.phasing is not None:
        by_year = phasing.programme(money.sites, scen.finance.horizon_years)
        summary["phasing"] = {"max_disposals_per_year": scen.phasing.max_disposals_per_year,
                              "sites_disposed_by_year": {int(y): int(n) for y, n in zip(
                                  by_year["year"], by_year["sites_disposed"], strict=True)}}
        charts.write_bars(by_year.assign(year=by_year["year"].map(scen.finance.fin_year),
                                         what="sites disposed of"),
                          folder / "programme.png", folder / "programme.html",
                          category="year", group="what", value="sites_disposed",
                          title=f"{scen.name}: disposals by year (at most "
                                f"{scen.phasing.max_disposals_per_year} a year)",
                          value_title="sites disposed of")
    if workbook:
        from tp_assets.workbook import write_workbook  # XlsxWriter: only where asked for

        write_workbook(folder / "appraisal.xlsx", est, scen, money)
    if result.decision_changes is not None:
        changed, ends = result.decision_changes
        io.write_csv(changed, folder / "decision_changes.csv")
        summary["reoptimised"] = sensitivity.summary(ends)
    (folder / "summary.json").write_text(json.dumps(summary, indent=2, default=str) + "\n",
                                         encoding="utf-8")
    # what differs between two runs of the same inputs: kept apart from the results
    timings = {"solve_seconds": round(plan.solve_seconds, 3), "timings_s": result.timings_s,
               "travel_times_from_cache": {m: t.from_cache for m, t in result.times.items()}}
    (folder / "timings.json").write_text(json.dumps(timings, indent=2) + "\n",
                                         encoding="utf-8")
