"""Scenarios: what an estates officer runs, loaded from ``optimisation/*.toml``.

A scenario names its place, its street network and the access standard each
service type must keep. It is plain data (frozen dataclasses), never global state.
Every key, its type and default is documented in ``optimisation/README.md``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tp_assets import settings
from tp_assets._errors import InputError
from tp_assets._toml import check_keys, line_of, read_toml

NETWORK_SOURCES: tuple[str, ...] = ("graphml", "osm_xml", "osm", "straight_line")
RULES: tuple[str, ...] = ("no_loss", "coverage")


@dataclass(frozen=True)
class Standard:
    """The access standard one service type must keep.

    Attributes
    ----------
    service_type
        Service type it applies to (as in the services table).
    max_minutes
        Travel time within which a zone counts as served (minutes).
    mode
        ``{"walk", "cycle", "drive", "straight_line"}``.
    demand
        Zone column that weights zones (``population`` or a ``pop_*`` column).
    rule
        ``"no_loss"``: every zone within the standard today stays within it;
        ``"coverage"``: at least ``coverage`` of the demand is within it.
    coverage
        Required share of demand within the standard (0-1), for ``rule = "coverage"``.
    """

    service_type: str
    max_minutes: float
    mode: str = "walk"
    demand: str = "population"
    rule: str = "no_loss"
    coverage: float | None = None


@dataclass(frozen=True)
class NetworkSpec:
    """Where the street network comes from.

    Attributes
    ----------
    source
        ``{"graphml", "osm_xml", "osm", "straight_line"}``.
    path
        The .graphml(.gz) or .osm(.bz2) file (``graphml`` defaults to the place's).
    network_type
        osmnx network type for ``osm`` downloads: ``{"walk", "bike", "drive"}``.
    """

    source: str = "graphml"
    path: Path | None = None
    network_type: str = "walk"


@dataclass(frozen=True)
class Scenario:
    """One scenario file, validated.

    Attributes
    ----------
    name
        Scenario name (also the folder of its results and the name of its map).
    path
        The TOML file.
    place
        The place folder or place.toml it runs on.
    network
        Street-network source.
    standards
        Access standard per service type.
    description
        Free text.
    """

    name: str
    path: Path
    place: Path
    network: NetworkSpec
    standards: dict[str, Standard] = field(default_factory=dict)
    description: str = ""


TOP_KEYS = ("name", "description", "place", "network", "standards")
NETWORK_KEYS = ("source", "path", "network_type")
STANDARD_KEYS = ("max_minutes", "mode", "demand", "rule", "coverage")


def _typed(value: Any, kind: type | tuple[type, ...], key: str, table: str | None,
           path: Path, text: str, problems: list[str], expected: str) -> Any:
    if (isinstance(value, bool) and kind is not bool) or not isinstance(value, kind):
        line = line_of(text, key, table)
        at = f" line {line}" if line else ""
        where = f"[{table}] " if table else ""
        problems.append(f"{path.name}{at}: {where}key '{key}' = {value!r} must be {expected}")
        return None
    return value


def load(path: str | Path) -> Scenario:
    """Load and validate a scenario TOML file.

    Parameters
    ----------
    path
        The scenario file; paths inside it are relative to it.

    Returns
    -------
    Scenario

    Raises
    ------
    InputError
        Unknown keys, wrong types, values out of range and missing files, each
        naming the key and its line.
    """
    path = Path(path)
    data, text = read_toml(path)
    problems = check_keys(data, TOP_KEYS, path=path, text=text)
    base = path.parent
    name = _typed(data.get("name", path.stem), str, "name", None, path, text, problems,
                  "text") or path.stem
    place_value = data.get("place")
    place = None
    if place_value is None:
        problems.append(f'{path.name}: missing key \'place\'; name the place folder, e.g. '
                        'place = "../data/demo"')
    elif _typed(place_value, str, "place", None, path, text, problems, "a path"):
        place = base / place_value
        if not place.exists():
            problems.append(f"{path.name} line {line_of(text, 'place')}: place {place_value!r} "
                            f"not found (looked for {place}); paths are relative to the "
                            "scenario file")
    network = _network(data.get("network", {}), base, path, text, problems)
    standards = _standards(data.get("standards", {}), path, text, problems)
    if problems:
        raise InputError(problems)
    assert place is not None
    return Scenario(name=name, path=path, place=place, network=network, standards=standards,
                    description=str(data.get("description", "")))


def _network(raw: Any, base: Path, path: Path, text: str, problems: list[str]) -> NetworkSpec:
    if not isinstance(raw, dict):
        problems.append(f"{path.name}: 'network' must be a table, e.g. [network] "
                        'source = "graphml"')
        return NetworkSpec()
    problems += check_keys(raw, NETWORK_KEYS, path=path, text=text, table="network")
    source = raw.get("source", "graphml")
    if source not in NETWORK_SOURCES:
        problems.append(f"{path.name} line {line_of(text, 'source', 'network')}: [network] "
                        f"source {source!r} is not one of {', '.join(NETWORK_SOURCES)}")
    file = None
    if "path" in raw and _typed(raw["path"], str, "path", "network", path, text, problems,
                                "a file path"):
        file = base / raw["path"]
        if not file.exists():
            problems.append(f"{path.name} line {line_of(text, 'path', 'network')}: network "
                            f"file {raw['path']!r} not found (looked for {file})")
    if source == "osm_xml" and file is None:
        problems.append(f"{path.name}: [network] source = \"osm_xml\" needs path = "
                        '"<file>.osm" (or .osm.bz2)')
    network_type = raw.get("network_type", "walk")
    if network_type not in ("walk", "bike", "drive"):
        problems.append(f"{path.name} line {line_of(text, 'network_type', 'network')}: "
                        f"network_type {network_type!r} must be walk, bike or drive")
    return NetworkSpec(source=source, path=file, network_type=network_type)


def _standards(raw: Any, path: Path, text: str, problems: list[str]) -> dict[str, Standard]:
    out: dict[str, Standard] = {}
    if not isinstance(raw, dict):
        problems.append(f"{path.name}: 'standards' must hold one table per service type, e.g. "
                        "[standards.library] max_minutes = 20")
        return out
    for service_type, spec in raw.items():
        table = f"standards.{service_type}"
        if not isinstance(spec, dict):
            problems.append(f"{path.name} line {line_of(text, service_type, 'standards')}: "
                            f"standards.{service_type} must be a table with max_minutes = ...")
            continue
        before = len(problems)
        problems += check_keys(spec, STANDARD_KEYS, path=path, text=text, table=table)
        where = f"{path.name} line {line_of(text, '', table) or '?'}: [{table}]"
        minutes = spec.get("max_minutes")
        if minutes is None:
            problems.append(f"{where} needs max_minutes = <minutes>, e.g. max_minutes = 20")
        elif _typed(minutes, (int, float), "max_minutes", table, path, text, problems,
                    "a number of minutes") is not None and minutes <= 0:
            problems.append(f"{where} max_minutes = {minutes} must be greater than 0")
        mode = spec.get("mode", "walk")
        if mode not in settings.MODES:
            problems.append(f"{path.name} line {line_of(text, 'mode', table)}: [{table}] mode "
                            f"{mode!r} has no speed; use one of {', '.join(settings.MODES)} "
                            "(speeds: tp_assets.settings)")
        rule = spec.get("rule", "no_loss")
        coverage = spec.get("coverage")
        if rule not in RULES:
            problems.append(f"{path.name} line {line_of(text, 'rule', table)}: [{table}] rule "
                            f"{rule!r} must be no_loss or coverage")
        if rule == "coverage":
            if coverage is None:
                problems.append(f"{where} rule = \"coverage\" needs coverage = <share 0-1>, "
                                "e.g. coverage = 0.9")
            elif not isinstance(coverage, int | float) or not 0 < coverage <= 1:
                problems.append(f"{path.name} line {line_of(text, 'coverage', table)}: "
                                f"[{table}] coverage = {coverage!r} must be a share between "
                                "0 and 1, e.g. 0.9")
        demand = _typed(spec.get("demand", "population"), str, "demand", table, path, text,
                        problems, "a zone column name")
        if len(problems) == before and minutes is not None:
            out[service_type] = Standard(service_type=service_type,
                                         max_minutes=float(minutes), mode=mode,
                                         demand=demand, rule=rule,
                                         coverage=None if coverage is None else float(coverage))
    return out


def check_against_estate(scenario: Scenario, service_types: set[str],
                         demand_columns: list[str]) -> None:
    """Check the scenario's standards name service types and demand columns that exist.

    Parameters
    ----------
    scenario
        The loaded scenario.
    service_types
        Service types present in the estate.
    demand_columns
        Zone columns that may weight demand.

    Raises
    ------
    InputError
        Naming the standard, its line and the valid values.
    """
    problems = []
    text = scenario.path.read_text(encoding="utf-8")
    for st in scenario.standards.values():
        table = f"standards.{st.service_type}"
        line = line_of(text, "", table)
        if st.service_type not in service_types:
            problems.append(f"{scenario.path.name} line {line}: [{table}]: no service of type "
                            f"{st.service_type!r} in the estate; service types present: "
                            + ", ".join(sorted(service_types)))
        if st.demand not in demand_columns:
            problems.append(f"{scenario.path.name} line {line_of(text, 'demand', table)}: "
                            f"[{table}] demand {st.demand!r} is not a zone column; use one of "
                            + ", ".join(demand_columns))
    if problems:
        raise InputError(problems)
