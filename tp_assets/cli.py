"""The ``tp-assets`` command: parse arguments, call the library, print a short summary.

Exit codes: 0 ok, 2 bad input, 3 infeasible scenario, 1 internal error.
"""

from __future__ import annotations

import argparse
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from tp_assets import __version__
from tp_assets._errors import InputError, TpAssetsError

EXIT_OK, EXIT_INTERNAL, EXIT_INPUT, EXIT_INFEASIBLE = 0, 1, 2, 3


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
    return parser


def _money(value: float) -> str:
    return f"£{value:,.0f}"


def _print_validate(path: Path, out: TextIO) -> None:
    from tp_assets import estate as estate_mod
    from tp_assets import scenario as scenario_mod

    if path.suffix == ".toml" and path.name != "place.toml":
        path = scenario_mod.load(path).place
    est = estate_mod.load_place(path)
    s = estate_mod.summary(est)
    w = out.write
    w(f"{s['name']}: valid\n")
    w(f"  {s['sites']} sites, {s['services']} services, {s['zones']} zones, "
      f"{s['population']:,.0f} residents\n")
    w(f"  gross internal area {s['gia_m2']:,.0f} m2; annual running cost (rent + rates + FM) "
      f"{_money(s['running_cost_gbp_pa'])}\n")
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
    if est.notes:
        w(f"  notes ({len(est.notes)}):\n")
        for note in est.notes[:20]:
            w(f"    - {note}\n")
        if len(est.notes) > 20:
            w(f"    ... and {len(est.notes) - 20} more\n")


def _run_access(scenario_path: Path, out_dir: Path, cache: Path | None, out: TextIO) -> None:
    from tp_assets import access, io
    from tp_assets import estate as estate_mod
    from tp_assets import scenario as scenario_mod

    scen = scenario_mod.load(scenario_path)
    est = estate_mod.load_place(scen.place)
    scenario_mod.check_against_estate(scen, set(est.services["service_type"]),
                                      est.demand_columns)
    if not scen.standards:
        raise InputError(f"{scenario_path.name}: no [standards.<service_type>] "
                                      "tables; add one, e.g. [standards.library] max_minutes = 20")
    times = {mode: access.travel_times(est, scen.network, mode=mode, cutoff_minutes=cutoff,
                                       cache_dir=cache)
             for mode, cutoff in access.cutoffs(scen.standards).items()}
    report = access.baseline(est, times, scen.standards)
    target = out_dir / scen.name / "baseline_access"
    with io.atomic_folder(target) as tmp:
        access.write_report(report, est, tmp)
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
        Exit code: 0 ok, 2 bad input, 3 infeasible scenario, 1 internal error.
    """
    args = _parser().parse_args(argv)
    try:
        if args.command == "validate":
            _print_validate(args.place, sys.stdout)
        elif args.command == "access":
            _run_access(args.scenario, args.out, args.cache, sys.stdout)
        return EXIT_OK
    except TpAssetsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except BrokenPipeError:  # output piped into head, less ...: stop quietly
        sys.stderr.close()
        return EXIT_OK
    except KeyboardInterrupt:
        print("interrupted: nothing was written", file=sys.stderr)
        return 130
    except Exception:
        traceback.print_exc()
        print("internal error in tp-assets: please report it with the traceback above",
              file=sys.stderr)
        return EXIT_INTERNAL
