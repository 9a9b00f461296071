"""The measures table: what each energy measure costs and saves, read and checked."""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from tp_assets._errors import InputError
from tp_assets._tables import read_csv_cells
from tp_assets._toml import suggest

#: Kinds of measure and the order they act in.
KINDS: tuple[str, ...] = ("demand", "heat_pump", "pv")
#: Columns of a measures table: name -> (needed for which kinds, what it holds).
MEASURE_COLUMNS: dict[str, tuple[tuple[str, ...], str]] = {
    "measure": (KINDS, "short id, e.g. led"),
    "name": ((), "what it is, for tables and maps"),
    "kind": (KINDS, "demand, heat_pump or pv"),
    "capex_fixed_gbp": ((), "capital cost per site (GBP)"),
    "capex_gbp_per_m2": ((), "capital cost per m2 of GIA (GBP)"),
    "capex_gbp_per_kw": ((), "heat pump: capital cost per kW thermal (GBP)"),
    "capex_gbp_per_kwp": ((), "PV: capital cost per kWp (GBP)"),
    "electricity_saving_share": ((), "share of the electricity left that it saves, 0-1"),
    "heat_saving_share": ((), "share of the heat fuel left that it saves, 0-1"),
    "scop": (("heat_pump",), "heat pump: seasonal coefficient of performance, at least 1"),
    "boiler_efficiency": (("heat_pump",), "heat pump: seasonal efficiency of the boiler it "
                          "replaces, 0-1"),
    "full_load_hours": (("heat_pump",), "heat pump: full-load hours a year, to size kW"),
    "kwp_per_m2_gia": (("pv",), "PV: kWp per m2 of GIA (usable roof x panel density)"),
    "kwh_per_kwp": (("pv",), "PV: kWh generated per kWp a year"),
    "lifetime_years": (KINDS, "years before it is renewed, at least 1"),
    "categories": ((), "TM46 categories it suits, separated by spaces, or all"),
    "excludes": ((), "measures it cannot be fitted with, separated by spaces"),
    "source": ((), "where its figures come from"),
}
_SHARES = ("electricity_saving_share", "heat_saving_share", "boiler_efficiency")
_NUMBERS = ("capex_fixed_gbp", "capex_gbp_per_m2", "capex_gbp_per_kw", "capex_gbp_per_kwp",
            "electricity_saving_share", "heat_saving_share", "scop", "boiler_efficiency",
            "full_load_hours", "kwp_per_m2_gia", "kwh_per_kwp", "lifetime_years")


@dataclass(frozen=True)
class Measure:
    """One row of a measures table (see :data:`MEASURE_COLUMNS` for units)."""

    measure: str
    name: str
    kind: str
    capex_fixed_gbp: float = 0.0
    capex_gbp_per_m2: float = 0.0
    capex_gbp_per_kw: float = 0.0
    capex_gbp_per_kwp: float = 0.0
    electricity_saving_share: float = 0.0
    heat_saving_share: float = 0.0
    scop: float = 0.0
    boiler_efficiency: float = 0.0
    full_load_hours: float = 0.0
    kwp_per_m2_gia: float = 0.0
    kwh_per_kwp: float = 0.0
    lifetime_years: int = 1
    categories: frozenset[str] | None = None
    excludes: frozenset[str] = frozenset()
    source: str = ""


@functools.cache
def shipped_measures() -> tuple[Measure, ...]:
    """The shipped measures table, ``tp_assets/data/measures.csv``.

    Each figure's source is in ``measure_sources.csv`` beside it.
    """
    ref = resources.files("tp_assets") / "data" / "measures.csv"
    with resources.as_file(ref) as path:
        return read_measures(Path(path))


def read_measures(path: Path, categories: Sequence[str] | None = None) -> tuple[Measure, ...]:
    """Read and check a measures table (columns: :data:`MEASURE_COLUMNS`).

    Parameters
    ----------
    path
        The CSV file.
    categories
        TM46 categories a measure may name (default: the shipped benchmarks').

    Raises
    ------
    InputError
        Every problem at once, each naming the file, the row and column, the value and
        the fix: a missing column, an unknown kind or category, a negative cost, a
        share above 1, a COP below 1, a measure that excludes itself or an unknown one.
    """
    if categories is None:
        from tp_assets.estate import tm46_benchmarks

        categories = list(tm46_benchmarks().index)
    cells = read_csv_cells(path)
    name = path.name
    missing = [c for c in MEASURE_COLUMNS if c not in cells.columns]
    if missing:
        raise InputError(f"{name}: missing column{'s' * (len(missing) > 1)} "
                         f"{', '.join(missing)}; a measures table needs "
                         + ",".join(MEASURE_COLUMNS) + " (data/README.md, Measures)")
    problems: list[str] = []
    rows: list[tuple[str, dict[str, object]]] = []
    for index, raw in cells.iterrows():
        row = f"{name} row {int(index) + 2}"  # type: ignore[call-overload]
        mid = raw["measure"].strip()
        where = f"{row} (measure {mid!r})" if mid else row
        kind = raw["kind"].strip()
        if not mid:
            problems.append(f"{row}: measure is blank; give each measure a short id, e.g. led")
        if kind not in KINDS:
            problems.append(f"{where}: kind {kind!r} must be one of {', '.join(KINDS)}")
        values: dict[str, object] = {"measure": mid, "name": raw["name"].strip() or mid,
                                     "kind": kind, "source": raw["source"].strip()}
        for column in _NUMBERS:
            text = raw[column].strip()
            needed = kind in MEASURE_COLUMNS[column][0]
            if not text:
                if needed:
                    problems.append(f"{where}: {column} is blank; a {kind} measure needs "
                                    f"it ({MEASURE_COLUMNS[column][1]})")
                continue
            try:
                value = float(text.replace(",", ""))
            except ValueError:
                problems.append(f"{where}: {column} {text!r} is not a number; write "
                                f"{MEASURE_COLUMNS[column][1]} as a plain number")
                continue
            if not math.isfinite(value) or value < 0:
                problems.append(f"{where}: {column} {text} must be 0 or more "
                                "(a cost or a figure cannot be negative)")
                continue
            if column in _SHARES and value > 1:
                problems.append(f"{where}: {column} {text} must be a share between 0 and 1 "
                                f"(0.2 = 20 %, not 20)")
                continue
            if column == "scop" and value < 1:
                problems.append(f"{where}: scop {text} is below 1: a heat pump delivers more "
                                "heat than the electricity it uses; give its seasonal COP, "
                                "e.g. 2.8")
                continue
            if column in ("lifetime_years", "full_load_hours") and value < 1:
                problems.append(f"{where}: {column} {text} must be at least 1")
                continue
            if column == "lifetime_years" and value != int(value):
                problems.append(f"{where}: lifetime_years {text} must be a whole number of "
                                "years")
                continue
            values[column] = int(value) if column == "lifetime_years" else value
        cats = raw["categories"].split()
        if cats and cats != ["all"]:
            unknown = [c for c in cats if c not in categories]
            for c in unknown:
                problems.append(f"{where}: categories names {c!r}, not a TM46 category"
                                f"{suggest(c, categories)}; use categories from "
                                "data/README.md (TM46 table) or all")
            values["categories"] = frozenset(cats)
        values["excludes"] = frozenset(raw["excludes"].split())
        if mid and mid in values["excludes"]:  # type: ignore[operator]
            problems.append(f"{where}: excludes names the measure itself; list only the "
                            "other measures it cannot be fitted with")
        rows.append((where, values))
    ids = [str(v["measure"]) for _, v in rows]
    for where, values in rows:
        if ids.count(str(values["measure"])) > 1 and values["measure"]:
            problems.append(f"{where}: measure {values['measure']!r} appears more than once; "
                            "give each row its own id")
        for other in sorted(values["excludes"]):  # type: ignore[call-overload]
            if other not in ids:
                problems.append(f"{where}: excludes {other!r}, which is not a measure in "
                                f"the table{suggest(other, ids)}")
    if problems:
        raise InputError(problems)
    return tuple(Measure(**v) for _, v in rows)  # type: ignore[arg-type]
