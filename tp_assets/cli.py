"""The ``tp-assets`` command: parse arguments, call the library, print a short summary.

Exit codes: 0 ok, 2 bad input, 3 infeasible scenario, 4 no plan within the search's
budget, 130 interrupted (Ctrl-C), 1 internal error.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import threading
import time
import traceback
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, TextIO

from tp_assets import __version__, _interrupt, settings
from tp_assets._errors import TpAssetsError
from tp_assets._text import terminal_safe
from tp_assets.finance import format_gbp

if TYPE_CHECKING:
    import pandas as pd

class _Out(Protocol):
    """Where a command prints (standard output, made terminal-safe)."""

    def write(self, text: str, /) -> int: ...


#: Exit codes (each error class carries its own: ``TpAssetsError.exit_code``).
EXIT_OK, EXIT_INTERNAL, EXIT_INPUT, EXIT_INFEASIBLE, EXIT_NO_PLAN = 0, 1, 2, 3, 4


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tp-assets",
        description="Analyse and optimise a place's collective public estate.",
        epilog="Example: tp-assets validate data/demo",
    )
    parser.add_argument("--version", action="version", version=f"tp-assets {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    validate = sub.add_parser(
        "validate", help="load and check a place's input tables, print a summary",
        description="Load and validate sites, services and zones; exit 0 if valid, 2 if not.",
        epilog="Example: tp-assets validate data/demo",
    )
    validate.add_argument("place", type=Path, metavar="PLACE_OR_SCENARIO",
                          help="a place folder (e.g. data/demo), its place.toml, or a scenario")
    access = sub.add_parser(
        "access", help="baseline access per service type and the overlaps between sites",
        description="Travel times from every zone to every site over the street network; "
        "per service type with a standard, the residents within it today, the zones outside, "
        "and overlapping sites. Writes results/<scenario>/baseline_access/.",
        epilog="Example: tp-assets access optimisation/colocation.toml",
    )
    access.add_argument("scenario", type=Path, metavar="SCENARIO",
                        help="a scenario file, e.g. optimisation/colocation.toml")
    access.add_argument("--out", type=Path, default=Path("results"),
                        help="results folder (default: results)")
    access.add_argument("--cache", type=Path, default=None,
                        help="travel-time cache folder (default: .tp_assets_cache)")
    run = sub.add_parser(
        "run", help="optimise a scenario and write its results",
        description="Load, validate, measure access, optimise, check and cost a scenario; "
        "write results/<scenario>/ (tables, plan.gpkg, summary.json). Exit 0 ok, 2 bad "
        "input, 3 rules that cannot all hold, 4 no plan within the search's budget, 1 a bug.",
        epilog="Example: tp-assets run optimisation/colocation.toml",
    )
    run.add_argument("scenario", type=Path, metavar="SCENARIO",
                     help="a scenario file, e.g. optimisation/colocation.toml")
    demo = sub.add_parser(
        "demo", help="run the shipped co-location scenario on the demo place",
        description="Run optimisation/colocation.toml on data/demo end to end.",
        epilog="Example: tp-assets demo",
    )
    for p in (run, demo):
        p.add_argument("--out", type=Path, default=Path("results"),
                       help="results folder (default: results)")
        p.add_argument("--cache", type=Path, default=None,
                       help="travel-time cache folder (default: .tp_assets_cache)")
        p.add_argument("--maps", type=Path, default=Path("maps"),
                       help="folder of the leaders' map <scenario>.html (default: maps)")
        p.add_argument("--quiet", action="store_true", help="no progress display")
        p.add_argument("--workbook", action="store_true", help="also write appraisal.xlsx: "
                       "the appraisal as an Excel workbook that recomputes when a price is "
                       "edited")
    compare = sub.add_parser(
        "compare", help="headline figures of several runs side by side",
        description="Compare runs: headline figures side by side and the sites decided "
        "differently. Writes comparison.csv and differences.csv to --out.",
        epilog="Example: tp-assets compare results/baseline results/colocation results/hubs",
    )
    sweep = sub.add_parser(
        "sweep", help="run a grid of variants of a scenario in parallel on Dask",
        description="Run every combination of the --vary values as a full run into "
        "results/<scenario>/sweep/<variant>/ on a Dask cluster (a local one, one worker per "
        "core, unless --scheduler names one), then write sweep.csv (a row per variant: the "
        "values, the status and the headline figures, or why it failed) and a chart. "
        "Variants already done with the same inputs are skipped.",
        epilog="Example: tp-assets sweep optimisation/colocation.toml --vary "
        "finance.discount_rate=0.03,0.035 --vary caps.max_disposals=50,100",
    )
    sweep.add_argument("scenario", type=Path)
    sweep.add_argument("--vary", action="append", required=True, metavar="KEY=V1,V2",
                       help="a dotted scenario key and its values, e.g. "
                       "finance.discount_rate=0.03,0.035 (repeat for a grid)")
    sweep.add_argument("--scheduler", help="a running dask.distributed scheduler, "
                       "tcp://HOST:PORT (default: a local cluster)")
    sweep.add_argument("--workers", type=int, help="the local cluster's worker processes "
                       "(default: one per core)")
    sweep.add_argument("--yes", action="store_true", help="run a grid of more than "
                       f"{settings.SWEEP_MAX_VARIANTS} variants")
    sweep.add_argument("--out", type=Path, default=Path("results"))
    sweep.add_argument("--cache", type=Path, default=None, help="travel-time cache folder")
    report = sub.add_parser(
        "report", help="the leaders' report: scenarios side by side in one offline page",
        description="Write one self-contained HTML page setting runs side by side: headline "
        "cards, savings waterfalls and NPV by owner, who gains and who loses access by IMD "
        "decile and ward, one map with a scenario switch. Reads the results folders only "
        "(nothing is solved again); refuses folders of different places or versions.",
        epilog="Example: tp-assets report results/baseline results/colocation results/hubs "
        "--out reports/cabinet.html",
    )
    report.add_argument("folders", type=Path, nargs="+", metavar="RESULTS_FOLDER")
    report.add_argument("--out", type=Path, default=Path("reports") / "report.html",
                        help="the HTML file to write (default: reports/report.html)")
    imp = sub.add_parser(
        "import", help="convert public open data into the input schema",
        description="Write input tables from public formats: ONS boundaries + census "
        "population as zones; the national libraries dataset (located by postcode) as sites "
        "and services.",
        epilog="Example: tp-assets import libraries libraries_england_2023.csv --postcodes "
        "codepoint.csv --authority Lewisham --out-dir data/lewisham",
    )
    kinds = imp.add_subparsers(dest="source", metavar="SOURCE", required=True)
    zones = kinds.add_parser("ons-zones", help="ONS LSOA/OA boundaries + census population",
                             epilog="Example: tp-assets import ons-zones lsoa2021.shp "
                             "census2021.csv --boundary-code LSOA21CD --table-code lsoa21_code "
                             "--population-column usual_residents --out zones.gpkg")
    zones.add_argument("boundaries", type=Path)
    zones.add_argument("population", type=Path)
    zones.add_argument("--boundary-code", required=True,
                       help="area code column of the boundaries file, e.g. LSOA21CD")
    zones.add_argument("--table-code", required=True,
                       help="area code column of the population table")
    zones.add_argument("--population-column", required=True,
                       help="people column of the population table")
    zones.add_argument("--name-column", help="area name column of the boundaries file, "
                       "e.g. LSOA21NM")
    zones.add_argument("--band-column", help="age-band column of a long population table")
    zones.add_argument("--out", type=Path, required=True, help="zones file (.gpkg)")
    libs = kinds.add_parser("libraries", help="national public libraries dataset",
                            epilog="Example: tp-assets import libraries libraries.csv "
                            "--postcodes codepoint.csv --authority Lewisham --out-dir place")
    libs.add_argument("libraries", type=Path)
    libs.add_argument("--postcodes", type=Path, required=True,
                      help="OS Code-Point Open style CSV: Postcode, Eastings, Northings")
    libs.add_argument("--authority", help="keep this library authority's libraries, e.g. "
                      "Lewisham (any case; a name the file lacks is refused, with the list)")
    libs.add_argument("--out-dir", type=Path, required=True)
    libs.add_argument("--append", action="store_true", help=APPEND_HELP)
    ods = kinds.add_parser("nhs-ods", help="NHS ODS GP practices (epraccur) or community "
                           "pharmacies (edispensary), as published",
                           epilog="Example: tp-assets import nhs-ods epraccur.csv --kind gp "
                           "--postcodes codepoint.csv --boundary borough.geojson --out-dir "
                           "place --append")
    ods.add_argument("register", type=Path, help="epraccur.csv or edispensary.csv (27 columns, "
                     "no header, as published; or with a header row naming the ODS fields)")
    ods.add_argument("--kind", choices=("gp", "pharmacy"), required=True,
                     help="gp: epraccur (active, prescribing setting 4); pharmacy: edispensary")
    ods.add_argument("--postcodes", type=Path, required=True,
                     help="OS Code-Point Open style CSV: Postcode, Eastings, Northings")
    ods.add_argument("--include-y-codes", action="store_true",
                     help="keep GP-setting rows with Y codes (special allocation schemes, "
                     "federations), left out by default")
    ods.add_argument("--owner", help="owner of every record (default: a GP's commissioner, "
                     "a pharmacy's contractor)")
    fire = kinds.add_parser("fire-stations", help="Home Office fire stations dataset (CSV)",
                            epilog="Example: tp-assets import fire-stations "
                            "fire-stations-dataset.csv --service London --boundary "
                            "borough.geojson --out-dir place --append")
    fire.add_argument("register", type=Path, help="the dataset's STATIONS sheet saved as CSV")
    fire.add_argument("--service", help="keep this fire and rescue service's stations "
                      "(FRS_FULLNAME, e.g. London)")
    for register in (ods, fire):
        register.add_argument("--boundary", type=Path, help="polygon file of the place: keep "
                       "records inside it (the rest are counted)")
        register.add_argument("--margin-m", type=float, default=0.0,
                       help="distance outside the boundary still kept (m, default 0)")
        register.add_argument("--out-dir", type=Path, required=True)
        register.add_argument("--append", action="store_true", help=APPEND_HELP)
    area = kinds.add_parser("areas", help="IMD deciles and wards joined to zones by area code",
                            epilog="Example: tp-assets import areas place/zones.gpkg --imd "
                            "imd2019_lsoa11.csv --wards lsoa11_ward22.csv --old-boundaries "
                            "lsoa2011.shp --out place/zones.gpkg")
    area.add_argument("zones", type=Path, help="zones file with zone_id (e.g. from ons-zones)")
    area.add_argument("--imd", type=Path, help="IMD 2019 table by LSOA 2011 code")
    area.add_argument("--imd-code", help="its LSOA code column (default: LSOA11CD or "
                      "'LSOA code (2011)')")
    area.add_argument("--imd-column", help="its decile column (default: IMD_decile or the "
                      "published 'Index of Multiple Deprivation (IMD) Decile ...')")
    area.add_argument("--wards", type=Path, help="lookup from LSOA code to ward")
    area.add_argument("--ward-code", help="its LSOA code column (default: LSOA11CD)")
    area.add_argument("--ward-column", help="its ward name column (default: the first WDyyNM...)")
    area.add_argument("--ward-code-column", help="its ward code column (default: the first "
                      "WDyyCD...)")
    area.add_argument("--old-boundaries", type=Path, help="boundaries of the areas the tables' "
                      "codes name (e.g. LSOA 2011): a zone whose code they lack takes the "
                      "values of the area covering most of it")
    area.add_argument("--old-code", default="LSOA11CD", help="code column of --old-boundaries")
    area.add_argument("--out", type=Path, required=True, help="zones file to write (.gpkg; "
                      "may be the input)")
    dec = kinds.add_parser("dec", help="metered energy from Display Energy Certificates",
                           epilog="Example: tp-assets import dec data/myplace/sites.csv "
                           "dec_certificates.csv --out data/myplace/sites_dec.csv")
    dec.add_argument("sites", type=Path, help="sites CSV (with uprn / postcode / address)")
    dec.add_argument("certificates", type=Path, help="the DEC register's bulk CSV")
    dec.add_argument("--out", type=Path, required=True, help="sites CSV to write")
    assets = kinds.add_parser("assets", help="a council's land and building asset list",
                              epilog="Example: tp-assets import assets asset_list.csv "
                              "--postcodes codepoint.csv --out data/myplace/sites.csv")
    assets.add_argument("assets", type=Path, help="Transparency Code asset list CSV")
    assets.add_argument("--postcodes", type=Path, help="Code-Point Open CSV for rows "
                        "without co-ordinates")
    assets.add_argument("--out", type=Path, required=True, help="sites CSV to write")
    compare.add_argument("folders", type=Path, nargs="+", metavar="RESULTS_FOLDER")
    compare.add_argument("--out", type=Path, default=Path("results"),
                         help="where to write comparison.csv and differences.csv")
    compare.add_argument("--allow-different-places", action="store_true",
                         help="compare runs of different places or input files (refused "
                         "otherwise: their figures are not like for like)")
    return parser


APPEND_HELP = ("add to the sites.csv and services.csv already in --out-dir (an id already "
               "there is refused) instead of replacing them")


def demo_scenario() -> Path:
    """The shipped co-location scenario (in the source tree next to the package)."""
    return Path(__file__).resolve().parent.parent / "optimisation" / "colocation.toml"


class _Progress:
    """Spinner with elapsed time per step on a terminal; silent otherwise."""

    FRAMES = "|/-\\"

    def __init__(self, stream: TextIO, enabled: bool) -> None:
        self.stream, self.enabled = stream, enabled

    @contextlib.contextmanager
    def __call__(self, label: str) -> Iterator[None]:
        if not self.enabled:
            yield
            return
        started = time.perf_counter()
        done = threading.Event()

        def spin() -> None:
            k = 0
            while not done.wait(0.2):
                k += 1
                self.stream.write(f"\r{self.FRAMES[k % 4]} {label}  "
                                  f"{time.perf_counter() - started:5.1f} s")
                self.stream.flush()

        thread = threading.Thread(target=spin, daemon=True)
        thread.start()
        try:
            yield
        finally:
            done.set()
            thread.join()
            self.stream.write(f"\r  {label}  {time.perf_counter() - started:5.1f} s\n")
            self.stream.flush()


def proved_kept_line(site_ids: list[str], sites: pd.DataFrame) -> str:
    """The run summary's line on sites no plan can dispose of.

    Parameters
    ----------
    site_ids
        Ids the solver proved must be kept under the scenario's rules.
    sites
        The estate's site table (``site_id``, ``name``).
    """
    names = dict(zip(sites["site_id"].astype(str), sites["name"].astype(str), strict=True))
    listed = ", ".join(f"{s} {names[s]}" if s in names else s for s in site_ids)
    return f"never disposable under these rules (proved by the solver): {listed}"


def _run(scenario_path: Path, out_dir: Path, maps_dir: Path, cache: Path | None, quiet: bool,
         out: _Out, workbook: bool = False) -> None:
    from tp_assets import pipeline

    progress = _Progress(sys.stderr, enabled=not quiet and sys.stderr.isatty())
    r = pipeline.run(scenario_path, results_dir=out_dir, maps_dir=maps_dir, cache_dir=cache,
                     step=progress, workbook=workbook)
    t, plan = r.savings.totals, r.plan
    w = out.write
    w(f"{r.scenario.name}: {plan.status} ({plan.gap_text}, {plan.solver}, "
      f"{plan.solve_seconds:.1f} s); plan passed the independent check\n")
    for caveat in plan.caveats:
        w(f"  note: {caveat}\n")
    w(f"  sites kept {t['sites_kept']}, disposed {t['sites_disposed']}; services moved "
      f"{t['services_moved']}\n")
    if plan.proved_kept:
        w(f"  {proved_kept_line(plan.proved_kept, r.estate.sites)}\n")
    w(f"  annual saving {format_gbp(t['annual_saving_gbp_pa'])}/yr at full effect; "
      f"receipts (net) {format_gbp(t['receipts_net_gbp'])}; backlog avoided "
      f"{format_gbp(t['backlog_avoided_gbp'])}; one-off cost "
      f"{format_gbp(-t['one_off_cost_gbp'])}\n")
    w(f"  NPV over {r.scenario.finance.horizon_years} years at "
      f"{r.scenario.finance.discount_rate:.1%}: {format_gbp(t['npv_gbp'])}"
      + (f"; pays back in year {t['payback_year']} ({t['payback_fin_year']})"
         if t["payback_year"] else "") + "\n")
    w(f"  energy saved {(t['electricity_kwh_saved_pa'] + t['heat_kwh_saved_pa']) / 1000:,.0f} "
      f"MWh/yr, {t['tco2e_saved_pa']:,.1f} tCO2e/yr ({t['tco2e_saved_pa_on_benchmarks']:,.1f} "
      "of it on TM46 estimates)\n")
    for row in r.access_table.itertuples():
        w(f"  {row.service_type:<20} {row.share_before:6.1%} -> {row.share_after:6.1%} of "
          f"{row.demand_column} within {row.max_minutes:g} min {row.mode} ({row.rule}"
          f"{'' if row.zones_lost == 0 else f', {row.zones_lost} zone(s) lose access'})\n")
    for warning in r.warnings:
        w(f"  warning: {warning}\n")
    w(f"  written to {r.folder}" + (f"; map: {r.map_path}" if r.map_path else "") + "\n")


def _output_file(path: Path, suffix: str) -> Path:
    """``--out`` checked before any work: a file ending in ``suffix``; folders are made."""
    from tp_assets._errors import InputError

    if path.is_dir():
        raise InputError(f"--out {path} is a folder; give a file in it, e.g. "
                         f"--out {path / ('zones' + suffix if suffix == '.gpkg' else 'sites.csv')}")
    if path.suffix.lower() != suffix:
        raise InputError(f"--out {path}: this command writes a {suffix} file; give a name "
                         f"ending in {suffix}, e.g. --out {path.with_suffix(suffix)}")
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def _import(args: argparse.Namespace, out: _Out) -> None:
    from tp_assets import io, sources

    if args.source == "ons-zones":
        _output_file(args.out, ".gpkg")
        zones = sources.ons_zones(args.boundaries, args.population,
                                  boundary_code=args.boundary_code, table_code=args.table_code,
                                  population_column=args.population_column,
                                  name_column=args.name_column,
                                  band_column=args.band_column)
        with io.atomic_files(args.out) as (tmp,):
            io.write_gpkg({"zones": zones}, tmp)
        out.write(f"{len(zones)} zones, {zones['population'].sum():,.0f} residents written to "
                  f"{args.out}\n")
    elif args.source == "assets":
        _output_file(args.out, ".csv")
        found = sources.asset_list(args.assets, codepoint=args.postcodes)
        with io.atomic_files(args.out) as (tmp,):
            io.write_csv(found, tmp)
        out.write(f"{len(found)} assets written to {args.out} (x/y in EPSG:27700); fill in "
                  "gia_m2, lease_end and costs, then run tp-assets validate\n")
    elif args.source == "dec":
        from tp_assets._tables import read_csv_cells

        _output_file(args.out, ".csv")
        out_sites = sources.apply_decs(read_csv_cells(args.sites), args.certificates)
        with io.atomic_files(args.out) as (tmp,):
            io.write_csv(out_sites, tmp)
        counts = out_sites["dec_match"].replace("", "no certificate").value_counts()
        out.write(f"{len(out_sites)} sites written to {args.out}; matched: "
                  + ", ".join(f"{k} {v}" for k, v in counts.items()) + "\n")
        apart = sources.floor_areas_apart(out_sites)
        if apart:
            out.write(f"  check: the certificate's floor area and gia_m2 differ by more than "
                      f"half for {len(apart)} site(s): {', '.join(apart)}; the kWh are the "
                      "certificate's, for its floor area\n")
    elif args.source == "areas":
        _output_file(args.out, ".gpkg")
        if args.out.exists() and args.out.resolve() != args.zones.resolve():
            from tp_assets._errors import InputError

            raise InputError(f"--out {args.out}: the file exists; import areas writes a "
                             "zones GeoPackage whole: give a new file, or the zones file "
                             "itself to add the columns to it")
        joined = sources.areas(args.zones, imd=args.imd, imd_code=args.imd_code,
                               imd_column=args.imd_column, wards=args.wards,
                               ward_code=args.ward_code, ward_column=args.ward_column,
                               ward_code_column=args.ward_code_column,
                               old_boundaries=args.old_boundaries, old_code=args.old_code)
        with io.atomic_files(args.out) as (tmp,):
            io.write_gpkg({"zones": joined.zones}, tmp)
        out.write(f"{len(joined.zones)} zones written to {args.out}\n")
        for line in joined.lines:
            out.write(f"  {line}\n")
    elif args.source == "nhs-ods":
        register = sources.nhs_ods(args.register, args.postcodes, kind=args.kind,
                                boundary=args.boundary, margin_m=args.margin_m,
                                include_y_codes=args.include_y_codes, owner=args.owner)
        what = {"gp": "GP practices", "pharmacy": "pharmacies"}[args.kind]
        _write_register(register.sites, register.services, args, out, register.lines(what))
    elif args.source == "fire-stations":
        register = sources.fire_stations(args.register, service=args.service,
                                         boundary=args.boundary, margin_m=args.margin_m)
        _write_register(register.sites, register.services, args, out,
                        register.lines("fire stations"))
    else:
        sites, services = sources.libraries(args.libraries, args.postcodes,
                                            authority=args.authority)
        _write_register(sites, services, args, out, [f"{len(sites)} libraries"])


def _write_register(sites: pd.DataFrame, services: pd.DataFrame, args: argparse.Namespace,
                    out: _Out, lines: list[str]) -> None:
    """Write (or with --append, add to) a place's sites.csv and services.csv."""
    from tp_assets import io, sources

    folder: Path = args.out_dir
    if args.append:
        sites = sources.appended(folder / "sites.csv", sites, "site_id")
        services = sources.appended(folder / "services.csv", services, "service_id")
    folder.mkdir(parents=True, exist_ok=True)
    with io.atomic_files(folder / "sites.csv", folder / "services.csv",
                         option="--out-dir") as (site_tmp, service_tmp):
        io.write_csv(sites, site_tmp)
        io.write_csv(services, service_tmp)
    out.write(f"{lines[0]} written to {folder / 'sites.csv'} and {folder / 'services.csv'}"
              f"{' (added to what was there)' * args.append} (x/y in EPSG:27700)\n")
    for line in lines[1:]:
        out.write(f"  {line}\n")
    out.write("  floor areas, tenure and service sizes are assumptions (each row's 'assumed' "
              "column names them): replace them, then run tp-assets validate\n")


def _compare(folders: list[Path], out_dir: Path, out: _Out, *,
             allow_different: bool = False) -> None:
    from tp_assets import io, pipeline

    headline, differ = pipeline.compare(folders, allow_different=allow_different)
    with io.atomic_files(out_dir / "comparison.csv", out_dir / "differences.csv") as (
            head_tmp, differ_tmp):
        io.write_csv(headline, head_tmp)
        io.write_csv(differ, differ_tmp)
    out.write(_readable(headline).to_string(index=False) + "\n")
    moved = int(differ["disposal_differs"].sum())
    said = (f"{moved} site{'s' * (moved != 1)} kept in one scenario and disposed of in "
            f"another, {len(differ) - moved} more decided otherwise differently (receiving "
            "services in only some, or in only some runs' estates)" if len(differ)
            else "every site decided alike")
    out.write(f"{said}; written to {out_dir / 'comparison.csv'} and "
              f"{out_dir / 'differences.csv'}\n")
    figures = headline.set_index("figure")
    for scenario in figures.columns:
        warning = str(figures.loc["warning", scenario])
        if warning:
            out.write(f"warning: {scenario}: {warning}\n")


def _readable(headline: pd.DataFrame) -> pd.DataFrame:
    """The comparison table for the terminal: pounds, percentages, no raw fractions."""
    def cell(figure: str, value: object) -> str:
        if value is None or (isinstance(value, float) and value != value):  # None or NaN
            return "unknown"
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            return str(value)
        if figure == "gap" or figure.startswith("share_"):
            return f"{value:.2%}"
        if figure.endswith("_gbp") or figure.endswith("_gbp_pa"):
            return format_gbp(float(value))
        if figure.startswith("tco2e"):
            return f"{value:,.1f}"
        return f"{value:,.0f}"

    out = headline.copy().astype(object)
    for column in out.columns[1:]:
        out[column] = [cell(f, v) for f, v in zip(out["figure"], out[column], strict=True)]
    return out


def _print_validate(path: Path, out: _Out) -> None:
    from tp_assets import estate as estate_mod

    if path.suffix == ".toml" and path.name != "place.toml":
        from tp_assets import pipeline

        scen, est = pipeline.load(path)  # what the scenario names must exist in its place
        pipeline.check_output_paths(scen, Path("results"), Path("maps"))  # run's defaults
    else:
        est = estate_mod.load_place(path)
    s = estate_mod.summary(est)
    w = out.write
    w(f"{s['name']}: valid\n")
    w(f"  {s['sites']} sites, {s['services']} services, {s['zones']} zones, "
      f"{s['population']:,.0f} residents\n")
    w(f"  gross internal area {s['gia_m2']:,.0f} m2; annual running cost (rent + rates + FM) "
      f"{format_gbp(s['running_cost_gbp_pa'])}\n")
    for label, key in (("electricity", "electricity_kwh_pa"), ("heat", "heat_kwh_pa")):
        e = s[key]
        w(f"  {label}: {(e['metered'] + e['benchmark']) / 1000:,.0f} MWh/yr "
          f"({e['metered'] / 1000:,.0f} metered, {e['benchmark'] / 1000:,.0f} estimated from "
          "CIBSE TM46 benchmarks)\n")
    w("  sites by owner:\n")
    for owner, n in s["sites_by_owner"].items():
        w(f"    {owner:<40} {n:>5}\n")
    w("  services by type:\n")
    for kind, n in s["services_by_type"].items():
        w(f"    {kind:<40} {n:>5}\n")
    if s["assumed"]:
        w("  assumed figures to replace with your own (the rows' 'assumed' column):\n")
        for role, counts in s["assumed"].items():
            w(f"    {role}: " + ", ".join(f"{c} ({n} rows)" for c, n in counts.items()) + "\n")
    zones = est.zones
    if zones["ward"].ne("").any() or zones["imd_decile"].notna().any():
        w(f"  zones with a ward: {zones['ward'].ne('').sum()} of {len(zones)}; with an IMD "
          f"decile: {zones['imd_decile'].notna().sum()} of {len(zones)}\n")
    if est.notes:
        w(f"  notes ({len(est.notes)}):\n")
        for note in est.notes[:20]:
            w(f"    - {note}\n")
        if len(est.notes) > 20:
            w(f"    ... and {len(est.notes) - 20} more\n")


def _run_access(scenario_path: Path, out_dir: Path, cache: Path | None, out: _Out) -> None:
    from tp_assets import pipeline

    scen, est, times, report, target = pipeline.baseline_access(
        scenario_path, results_dir=out_dir, cache_dir=cache)
    w = out.write
    w(f"{scen.name}: baseline access on {est.name}\n")
    for t in times.values():
        w(f"  {t.mode}: {t.network}{' (cached)' if t.from_cache else ''}\n")
    for row in report.standards.itertuples():
        w(f"  {row.service_type:<20} {row.share_within:6.1%} of {row.demand_column} within "
          f"{row.max_minutes:g} min {row.mode} ({row.sites} sites; {row.zones_outside} zones "
          "outside)\n")
    n_pairs = len(report.overlaps)
    w(f"  {n_pairs} overlapping site pairs"
      + (f"; top: {report.overlaps.iloc[0]['name_a']} / {report.overlaps.iloc[0]['name_b']} "
         f"({report.overlaps.iloc[0]['service_type']}, {report.overlaps.iloc[0]['overlap']:.0%})"
         if n_pairs else "") + "\n")
    for note in report.notes:
        w(f"  warning: {note}\n")
    w(f"  written to {target}\n")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line.

    Parameters
    ----------
    argv
        Arguments without the program name (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        Exit code: 0 ok, 2 bad input, 3 infeasible scenario, 4 no plan within the
        search's budget, 130 interrupted (Ctrl-C), 1 internal error.
    """
    args = _parser().parse_args(argv)
    out = _TerminalSafe(sys.stdout)

    def work() -> int:
        if args.command == "validate":
            _print_validate(args.place, out)
        elif args.command == "access":
            _run_access(args.scenario, args.out, args.cache, out)
        elif args.command in ("run", "demo"):
            path = args.scenario if args.command == "run" else demo_scenario()
            _run(path, args.out, args.maps, args.cache, args.quiet, out, workbook=args.workbook)
        elif args.command == "sweep":
            from tp_assets import sweep as sweep_mod

            def said(line: str) -> None:
                out.write(f"  {line}\n")

            varies = sweep_mod.parse_vary(args.vary)
            done = sweep_mod.run_sweep(args.scenario, varies, results_dir=args.out,
                                       scheduler=args.scheduler, workers=args.workers,
                                       yes=args.yes, cache_dir=args.cache, report=said)
            failed = done.table["npv_gbp"].isna().sum()
            out.write(f"{len(done.table)} variants ({done.ran} run, {done.skipped} already done"
                      f"{f', {failed} without a plan' if failed else ''}): "
                      f"{done.folder / 'sweep.csv'}\n")
            sweep_mod.raise_if_none_ran(done)
        elif args.command == "report":
            from tp_assets.report import write_report

            if args.out.is_dir() or args.out.suffix.lower() != ".html":
                from tp_assets._errors import InputError

                raise InputError(f"--out {args.out}: give the HTML file to write, e.g. "
                                 "--out reports/cabinet.html")
            written = write_report(args.folders, args.out)
            out.write(f"report of {len(args.folders)} scenario(s) written to {written}\n")
        elif args.command == "import":
            _import(args, out)
        elif args.command == "compare":
            _compare(args.folders, args.out, out, allow_different=args.allow_different_places)
        return EXIT_OK

    said = INTERRUPTED_SWEEP if args.command == "sweep" else INTERRUPTED
    try:
        return _interrupt.run_interruptible(work, said)
    except TpAssetsError as exc:
        print(terminal_safe(f"error: {exc}"), file=sys.stderr)
        return exc.exit_code
    except BrokenPipeError:  # output piped into head, less ...: stop quietly
        sys.stderr.close()
        return EXIT_OK
    except KeyboardInterrupt:  # raised by the run itself after an interrupt
        print(said, file=sys.stderr)
        return _interrupt.EXIT_INTERRUPTED
    except Exception:
        traceback.print_exc()
        print("internal error in tp-assets: please report it with the traceback above",
              file=sys.stderr)
        return EXIT_INTERNAL


#: What Ctrl-C prints.
INTERRUPTED = "interrupted: nothing was written; previous results are untouched"
#: What Ctrl-C prints during a sweep: each variant's results are written whole, when done.
INTERRUPTED_SWEEP = ("interrupted: the variants finished so far are kept (each written "
                     "whole); run the same command again to run the others: the finished "
                     "ones are skipped")


class _TerminalSafe:
    """A text stream whose writes show control and escape characters escaped.

    Register text (names, notes, ids in messages) reaches the terminal through it, so
    a name holding an escape sequence cannot act on the terminal
    (:func:`tp_assets._text.terminal_safe`).
    """

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def write(self, text: str) -> int:
        return self.stream.write(terminal_safe(text))

    def flush(self) -> None:
        self.stream.flush()
