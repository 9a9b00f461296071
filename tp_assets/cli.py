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
from tp_assets._errors import TpAssetsError

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
                          help="a place folder (e.g. data/demo) or its place.toml")
    return parser


def _money(value: float) -> str:
    return f"£{value:,.0f}"


def _print_validate(path: Path, out: TextIO) -> None:
    from tp_assets import estate as estate_mod

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
        return EXIT_OK
    except TpAssetsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted: nothing was written", file=sys.stderr)
        return 130
    except Exception:
        traceback.print_exc()
        print("internal error in tp-assets: please report it with the traceback above",
              file=sys.stderr)
        return EXIT_INTERNAL
