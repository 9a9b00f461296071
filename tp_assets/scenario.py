"""Scenarios: what an estates officer runs, loaded from ``optimisation/*.toml``.

A scenario names its place, its street network and the access standard each
service type must keep. It is plain data (frozen dataclasses), never global state.
Every key, its type and default is documented in ``optimisation/README.md``.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tp_assets import settings
from tp_assets._errors import InputError
from tp_assets._toml import NUMBER, Reader, Sources, check_keys, line_of, locate, read_toml, shown
from tp_assets.finance import Finance
from tp_assets.measures import Energy, read_energy
from tp_assets.suitability import HostRule, Suitability
from tp_assets.suitability import default as suitability_default

if TYPE_CHECKING:
    from tp_assets.sensitivity import Ranges

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
class Rules:
    """What may move where.

    Attributes
    ----------
    incompatible
        Pairs of service types that must not share a site.
    not_hosted
        Site ``benchmark`` category -> service types such a building cannot host.
    max_move_minutes
        A service may move only to sites within this many minutes' walk of its
        current site (crow-fly x circuity); prunes candidate hosts.
    max_candidates
        At most this many candidate hosts per movable service (the nearest), besides
        its current site.
    suitability
        Which building categories may take in which service types, and the extra
        fit-out that costs (:mod:`tp_assets.suitability`): the shipped table with the
        scenario's ``[rules.suitability]`` entries over it.
    """

    incompatible: tuple[tuple[str, str], ...] = ()
    not_hosted: dict[str, tuple[str, ...]] = field(default_factory=dict)
    max_move_minutes: float = settings.MAX_MOVE_MINUTES
    max_candidates: int = settings.MAX_CANDIDATES
    suitability: Suitability = field(default_factory=suitability_default)


@dataclass(frozen=True)
class Caps:
    """Optional limits on the plan.

    Attributes
    ----------
    max_one_off_gbp
        Ceiling on one-off costs of moves and fit-out (GBP, optimism bias included).
    max_disposals
        Ceiling on the number of sites disposed (forced disposals included).
    min_sites_per_owner
        Owner -> fewest sites it must keep.
    """

    max_one_off_gbp: float | None = None
    max_disposals: int | None = None
    min_sites_per_owner: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class SolverSettings:
    """OR-Tools MathOpt settings and the search's budget of work.

    Every budget is work (nodes, rounds, sites), so that the plan is a function of
    the inputs, the scenario and its seed only; ``time_limit_s`` is a safety stop.
    Defaults and the measurements behind them: :mod:`tp_assets.settings`.

    Attributes
    ----------
    backend
        ``{"highs", "scip", "cpsat"}``.
    time_limit_s
        Safety stop (seconds, wall clock): a search it cuts short says that its plan
        is not reproducible.
    threads
        Searches run at once, each in its own process (the two sides of a split);
        never changes the plan.
    seed
        Random seed of the solver and of the neighbourhood rounds.
    relative_gap
        Stop when the gap between the best plan and the bound is below this share.
    heuristic_effort
        HiGHS ``mip_heuristic_effort``, 0-1.
    exact_max_pairs, exact_nodes
        Problems with fewer candidate pairs are solved by the MIP search alone within
        ``exact_nodes`` branch-and-bound nodes.
    root_nodes
        Nodes of the MIP search on larger problems (1: the root node).
    rounds, round_sites, round_nodes
        Neighbourhood rounds after it, the sites each frees, and each round's nodes.
    split
        Whether larger problems are split on their decisive site.
    split_candidates, split_min_value_share, probe_nodes
        How the split site is chosen (:func:`tp_assets.optimise.search._split_site`).
    decompose, part_min_sites, seam_rounds
        Whether a problem is searched in the parts that do not meet (each of at least
        ``part_min_sites`` sites), and the neighbourhood rounds over the whole after.
    explain_forced, explain_try_nodes, explain_nodes
        Explaining an infeasible scenario: forced disposals tried kept, the nodes each
        relaxed rule may search, and the nodes of each elastic solve.
    measure_sites
        Choosing energy measures where rules tie them and options are many: the sites
        whose choice is re-solved exactly after the relaxation
        (:func:`tp_assets.optimise.model.choose_options`).
    """

    backend: str = settings.SOLVER_BACKEND
    time_limit_s: float = settings.SOLVER_TIME_LIMIT_S
    threads: int = settings.SOLVER_THREADS
    seed: int = settings.SOLVER_SEED
    relative_gap: float = settings.SOLVER_RELATIVE_GAP
    heuristic_effort: float = settings.HIGHS_HEURISTIC_EFFORT
    exact_max_pairs: int = settings.SEARCH_EXACT_MAX_PAIRS
    exact_nodes: int = settings.SEARCH_EXACT_NODES
    root_nodes: int = settings.SEARCH_ROOT_NODES
    rounds: int = settings.SEARCH_ROUNDS
    round_sites: int = settings.SEARCH_ROUND_SITES
    round_nodes: int = settings.SEARCH_ROUND_NODES
    split: bool = True
    split_candidates: int = settings.SPLIT_CANDIDATES
    split_min_value_share: float = settings.SPLIT_MIN_VALUE_SHARE
    probe_nodes: int = settings.SPLIT_PROBE_NODES
    decompose: bool = True
    part_min_sites: int = settings.PART_MIN_SITES
    seam_rounds: int = settings.SEAM_ROUNDS
    explain_forced: int = settings.EXPLAIN_MAX_FORCED
    explain_try_nodes: int = settings.EXPLAIN_TRY_NODES
    explain_nodes: int = settings.EXPLAIN_NODES
    measure_sites: int = settings.MEASURE_SITES


@dataclass(frozen=True)
class Phasing:
    """``[phasing]``: the most sites disposed of in any one appraisal year.

    The chosen plan's disposals are then placed in years (:mod:`tp_assets.phasing`).
    """

    max_disposals_per_year: int


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
    finance, rules, caps, solver, energy
        See :class:`~tp_assets.finance.Finance`, :class:`Rules`, :class:`Caps`,
        :class:`SolverSettings`, :class:`~tp_assets.measures.Energy`.
    retain, dispose
        Site ids forced to be kept / disposed (on top of the sites' ``status``).
    retain_all
        Keep every site the register does not mark ``dispose`` (the status-quo
        baseline).
    phasing
        ``[phasing]``: the cap on disposals a year, or ``None``.
    sensitivity
        ``[sensitivity]``: the inputs' ranges for the sensitivity of the plan's NPV
        (:mod:`tp_assets.sensitivity`), or ``None`` where the scenario has no such table.
    sources
        The files it was read from and their text: the scenario first, then the
        scenarios it ``extends`` (to name the file and line of a value in messages).
    """

    name: str
    path: Path
    place: Path
    network: NetworkSpec
    standards: dict[str, Standard] = field(default_factory=dict)
    description: str = ""
    finance: Finance = field(default_factory=Finance)
    rules: Rules = field(default_factory=Rules)
    caps: Caps = field(default_factory=Caps)
    solver: SolverSettings = field(default_factory=SolverSettings)
    energy: Energy = field(default_factory=Energy)
    retain: tuple[str, ...] = ()
    dispose: tuple[str, ...] = ()
    retain_all: bool = False
    sensitivity: Ranges | None = None
    phasing: Phasing | None = None
    sources: tuple[tuple[Path, str], ...] = ()

    @property
    def texts(self) -> Sources:
        """:attr:`sources`, or the file itself where the scenario was built in code."""
        if self.sources:
            return self.sources
        try:
            return ((self.path, self.path.read_text(encoding="utf-8")),)
        except (OSError, UnicodeDecodeError):
            return ((self.path, ""),)


TOP_KEYS = ("name", "description", "extends", "place", "network", "standards", "finance",
            "rules", "caps", "solver", "status", "energy", "sensitivity", "phasing")
BACKENDS: tuple[str, ...] = ("highs", "scip", "cpsat")
NETWORK_KEYS = ("source", "path", "network_type")
STANDARD_KEYS = ("max_minutes", "mode", "demand", "rule", "coverage")


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
    data, sources = _read_extended(path, frozenset())
    problems = check_keys(data, TOP_KEYS, sources)
    r = Reader(problems, sources)
    base = path.parent
    name = r.get(data, "name", str, path.stem, None, "text") or path.stem
    if not _plain_name(name):
        where = r.where("name", None) if "name" in data else f"{path.name}: "
        problems.append(f"{where}name = {shown(name)} names the scenario's results folder and "
                        "map, so it must be a plain file name: no / \\ < > : \" | ? *, not "
                        "starting or ending with '.' or a space, e.g. name = \"colocation-2027\"")
    elif len(name.encode()) > MAX_NAME_BYTES:
        where = r.where("name", None) if "name" in data else f"{path.name}: "
        problems.append(f"{where}the scenario's name is {len(name.encode())} bytes long; it names "
                        "its results folder and map file, and file systems take names of at "
                        f"most 255 bytes (less what a run adds), so give at most {MAX_NAME_BYTES}"
                        + (", e.g. name = \"" + name[:40].rstrip() + "\"" if "name" in data else
                           "; rename the file or add a shorter name = \"...\""))
    place_value = r.get(data, "place", str, None, None, "a path")
    place = None
    if "place" not in data:
        problems.append(f'{path.name}: missing key \'place\'; name the place folder, e.g. '
                        'place = "../data/demo"')
    elif place_value:
        place = base / place_value
        if not place.exists():
            problems.append(f"{locate(sources, 'place')}: place {place_value!r} "
                            f"not found (looked for {place}); paths are relative to the "
                            "scenario file")
    network = _network(r, r.table(data, "network"), base)
    standards = _standards(r, r.table(data, "standards"))
    finance = _finance(r, r.table(data, "finance"))
    rules = _rules(r, r.table(data, "rules"))
    caps = _caps(r, r.table(data, "caps"))
    solver = _solver(r, r.table(data, "solver"))
    energy = read_energy(r, r.table(data, "energy"), base, finance)
    status = r.table(data, "status")
    r.keys(status, ("retain", "dispose", "retain_all"), "status")
    retain_all = r.get(status, "retain_all", bool, False, "status", "true or false")
    ids = {}
    for key in ("retain", "dispose"):
        given = r.get(status, key, list, [], "status", 'a list of site ids, e.g. ["S001", "S002"]')
        if not all(isinstance(v, str) for v in given):
            r.problems.append(f"{r.where(key, 'status')}{key} = {given!r} must list site ids "
                              'as text in quotes, e.g. ["S001", "100023336"]')
            given = [v for v in given if isinstance(v, str)]
        ids[key] = tuple(given)
    retain, dispose = ids["retain"], ids["dispose"]
    sensitivity = _sensitivity(r, data, _shortest_horizon(energy, finance))
    phasing = None
    if "phasing" in data:
        table = r.table(data, "phasing")
        r.keys(table, ("max_disposals_per_year",), "phasing")
        cap = r.get(table, "max_disposals_per_year", int, None, "phasing",
                    "a whole number of sites, 1 or more", minimum=1)
        if "max_disposals_per_year" not in table:
            problems.append(f"{r.where('phasing', None)}[phasing] needs max_disposals_per_year "
                            "= N, the most sites disposed of in one appraisal year")
        elif energy.active:
            problems.append(f"{r.where('max_disposals_per_year', 'phasing')}[phasing] with "
                            "[energy]: phasing a plan whose measures, carbon value or carbon "
                            "rules depend on when sites go is not built yet; drop one of the "
                            "two tables")
        elif cap is not None:
            phasing = Phasing(int(cap))
    if problems:
        raise InputError(problems)
    assert place is not None
    return Scenario(name=name, path=path, place=place, network=network, standards=standards,
                    description=str(data.get("description", "")), finance=finance,
                    rules=rules, caps=caps, solver=solver, energy=energy, retain=retain,
                    dispose=dispose, retain_all=retain_all, sensitivity=sensitivity,
                    phasing=phasing, sources=tuple(sources))


#: Longest scenario name in bytes: file systems take 255-byte names, and a run writes
#: ``.<name>.XXXXXXXX.tmp`` (14 bytes more) and ``.<name>.html.XXXXXXXX`` (15 more).
MAX_NAME_BYTES = 240


def _plain_name(name: str) -> bool:
    """Whether ``name`` can only ever name a file or folder inside its parent."""
    return (bool(name.strip()) and not name.startswith((".", " ")) and not name.endswith(
        (".", " ")) and all(c.isprintable() and c not in '/\\<>:"|?*' for c in name))


def _read_extended(path: Path, seen: frozenset[Path]
                   ) -> tuple[dict[str, Any], list[tuple[Path, str]]]:
    """Read a scenario, merged over the scenario it ``extends`` (recursively).

    Tables merge key by key; any other value in the extending file replaces the
    base's. Paths in the base (``place``, ``[network] path``) stay relative to the
    base file.
    """
    data, text = read_toml(path)
    base_name = data.pop("extends", None)
    if base_name is None:
        return data, [(path, text)]
    where = f"{path.name} line {line_of(text, 'extends')}"
    if not isinstance(base_name, str):
        raise InputError(f"{where}: extends = {base_name!r} must be the path of another "
                         'scenario file, e.g. extends = "colocation.toml"')
    base_path = (path.parent / base_name).resolve()
    if not base_path.exists():
        raise InputError(f"{where}: extends {base_name!r} not found (looked for {base_path}); "
                         "paths are relative to the scenario file")
    if base_path in seen or base_path == path.resolve():
        raise InputError(f"{where}: extends {base_name!r} goes round in a circle")
    base, chain = _read_extended(base_path, seen | {path.resolve()})
    if isinstance(base.get("place"), str):
        base["place"] = str(base_path.parent / base["place"])
    network = base.get("network")
    if isinstance(network, dict) and isinstance(network.get("path"), str):
        network["path"] = str(base_path.parent / network["path"])
    return _merge(base, data), [(path, text), *chain]


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out




#: The bounds of a sensitivity range, by the input's unit.
_SENSITIVITY_BOUNDS = {"factor": (0.0, 100.0, "factors, 0 or more (1 = the scenario's)"),
                       "rate": (0.0, 0.2, "rates a year between 0 and 0.2"),
                       "share": (0.0, 5.0, "shares between 0 and 5 (0.2 = +20 %)"),
                       "years": (1.0, 60.0, "whole numbers of years from 1 to 60")}


def _shortest_horizon(energy: Energy, finance: Finance) -> tuple[int, str]:
    """The shortest horizon the energy rules need (years), and which rule needs it."""
    from tp_assets.measures.carbon import appraisal_year

    needs = [(1, "")]
    if energy.measures:
        needs.append((max(energy.fit_years), "[energy] fit_years"))
    if energy.target is not None:
        needs.append((appraisal_year(finance, energy.target.year), "[energy.target] year"))
    if energy.fossil_heating_until is not None:
        needs.append((appraisal_year(finance, energy.fossil_heating_until),
                      "[energy.rules] fossil_heating_until"))
    return max(needs)


def _sensitivity(r: Reader, data: dict[str, Any], shortest: tuple[int, str] = (1, "")
                 ) -> Ranges | None:
    """``[sensitivity]``: each input's [low, high]; an empty table takes every default.

    ``shortest``: the fewest horizon years the scenario's energy rules need, and the rule.
    """
    from tp_assets.sensitivity import INPUTS, Ranges

    if "sensitivity" not in data:
        return None
    t = r.table(data, "sensitivity")
    r.keys(t, (*INPUTS, "reoptimise"), "sensitivity")
    reoptimise = r.get(t, "reoptimise", bool, False, "sensitivity", "true or false")
    ranges = {}
    for key, spec in INPUTS.items():
        low, high, what = _SENSITIVITY_BOUNDS[spec.unit]
        example = f"{key} = [{spec.low:g}, {spec.high:g}]"
        value = t.get(key, [spec.low, spec.high])
        numbers = (isinstance(value, list) and len(value) == 2 and all(
            isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
            for v in value))
        where = r.where(key, "sensitivity")
        if not numbers:
            r.problems.append(f"{where}{key} = {shown(value)} must be two numbers [low, high], "
                              f"e.g. {example}")
            continue
        a, b = float(value[0]), float(value[1])
        if a > b:
            r.problems.append(f"{where}{key} = {shown(value)}: low {a:g} is above high {b:g}; "
                              f"write [low, high], e.g. {key} = [{b:g}, {a:g}]")
        elif not (low <= a and b <= high) or (spec.unit == "years" and not (
                a.is_integer() and b.is_integer())):
            r.problems.append(f"{where}{key} = {shown(value)} must be {what}, e.g. {example}")
        elif key == "horizon_years" and a < shortest[0]:
            r.problems.append(f"{where}{key} = {shown(value)}: {shortest[1]} falls in "
                              f"appraisal year {shortest[0]}, so a horizon shorter than "
                              f"{shortest[0]} years cannot be appraised; start the range at "
                              f"{shortest[0]} or more, e.g. {key} = [{shortest[0]}, "
                              f"{max(b, shortest[0]):g}]")
        else:
            ranges[key] = (a, b)
    if "horizon_years" not in t and INPUTS["horizon_years"].low < shortest[0]:
        spec = INPUTS["horizon_years"]
        ranges["horizon_years"] = (float(shortest[0]), max(spec.high, float(shortest[0])))
    return Ranges(ranges, reoptimise=reoptimise)


def _finance(r: Reader, t: dict[str, Any]) -> Finance:
    keys = ("start_date", "horizon_years", "discount_rate", "energy_prices_gbp_per_kwh",
            "energy_price_growth", "carbon_kg_per_kwh", "carbon_factor_years",
            "relocation_gbp_per_fte",
            "fitout_gbp_per_m2", "disposal_cost_share", "optimism_bias")
    r.keys(t, keys, "finance")
    d = Finance()
    fuels = tuple(d.energy_prices_gbp_per_kwh)
    maps = {}
    for key, kind, minimum, expected in (
            ("energy_prices_gbp_per_kwh", NUMBER, 0.0, "a number, 0 or more"),
            ("energy_price_growth", NUMBER, -0.5,
             "a real change a year between -0.5 and 0.5 (0.02 = 2 % a year dearer)"),
            ("carbon_kg_per_kwh", NUMBER, 0.0, "a number, 0 or more"),
            ("carbon_factor_years", int, 1990, "a year")):
        sub = r.table(t, key, "finance")
        r.keys(sub, fuels, f"finance.{key}")
        merged = dict(getattr(d, key))
        for fuel in fuels:
            merged[fuel] = r.get(sub, fuel, kind, merged[fuel], f"finance.{key}", expected,
                                 minimum=minimum,
                                 maximum=0.5 if key == "energy_price_growth" else None)
        maps[key] = merged
    start = r.get(t, "start_date", date, d.start_date, "finance",
                  "a date written without quotes, e.g. start_date = 2027-04-01")
    if isinstance(start, datetime):
        r.problems.append(f"{r.where('start_date', 'finance')}start_date = {shown(start)} must "
                          "be a date without a time, e.g. start_date = 2027-04-01")
        start = start.date()
    if (start.month, start.day) == (2, 29):
        r.problems.append(f"{r.where('start_date', 'finance')}start_date = {shown(start)}: "
                          "each appraisal year starts on the same day of the year, and 29 "
                          "February is missing from most years; start on 1 March (or 1 April, "
                          "the financial year)")
    return Finance(
        start_date=start,
        horizon_years=r.get(t, "horizon_years", int, d.horizon_years, "finance",
                            "a whole number of years from 1 to 60", minimum=1, maximum=60),
        discount_rate=r.get(t, "discount_rate", NUMBER, d.discount_rate, "finance",
                            "a yearly rate between 0 and 0.2 (0.035 = 3.5 %)",
                            minimum=0.0, maximum=0.2),
        energy_prices_gbp_per_kwh=maps["energy_prices_gbp_per_kwh"],
        energy_price_growth=maps["energy_price_growth"],
        carbon_kg_per_kwh=maps["carbon_kg_per_kwh"],
        carbon_factor_years=maps["carbon_factor_years"],
        relocation_gbp_per_fte=r.get(t, "relocation_gbp_per_fte", NUMBER,
                                     d.relocation_gbp_per_fte, "finance",
                                     "a cost in GBP, 0 or more", minimum=0.0),
        fitout_gbp_per_m2=r.get(t, "fitout_gbp_per_m2", NUMBER, d.fitout_gbp_per_m2,
                                "finance", "a cost in GBP per m2, 0 or more", minimum=0.0),
        disposal_cost_share=r.get(t, "disposal_cost_share", NUMBER, d.disposal_cost_share,
                                  "finance", "a share between 0 and 1", minimum=0.0,
                                  maximum=1.0),
        optimism_bias=r.get(t, "optimism_bias", NUMBER, d.optimism_bias, "finance",
                            "a share between 0 and 5 (0.2 = +20 %, not 20)", minimum=0.0,
                            maximum=5.0),
    )


def _suitability(r: Reader, t: dict[str, Any]) -> Suitability:
    """``[rules.suitability]`` over the shipped table (``default = false`` drops it).

    Each key but ``default`` is a service type whose table maps site categories to
    true (hosts), false (cannot host) or an extra fit-out in GBP per m2.
    """
    shipped = r.get(t, "default", bool, True, "rules.suitability", "true or false")
    changes: dict[str, dict[str, HostRule]] = {}
    for service_type, entries in t.items():
        if service_type == "default":
            continue
        table = f"rules.suitability.{service_type}"
        if not isinstance(entries, dict):
            r.problems.append(f"{r.where(service_type, 'rules.suitability')}{service_type} "
                              f"must be a table of categories, e.g. [{table}] general_office "
                              "= 900 (extra fit-out, GBP per m2), emergency_services = false")
            continue
        for category, value in entries.items():
            if isinstance(value, bool):
                rule = HostRule(hosts=value, reason="set in the scenario", source="scenario")
            elif (isinstance(value, int | float) and math.isfinite(value) and value >= 0):
                rule = HostRule(hosts=True, extra_fitout_gbp_per_m2=float(value),
                                reason="fitted out, as the scenario sets", source="scenario")
            else:
                r.problems.append(f"{r.where(category, table)}{category} = {shown(value)} "
                                  "must be true (hosts), false (cannot host) or the extra "
                                  "fit-out in GBP per m2, 0 or more")
                continue
            changes.setdefault(service_type, {})[category] = rule
    return (suitability_default() if shipped else Suitability()).overridden(changes)


def _rules(r: Reader, t: dict[str, Any]) -> Rules:
    r.keys(t, ("incompatible", "not_hosted", "max_move_minutes", "max_candidates",
               "suitability"), "rules")
    pairs = r.get(t, "incompatible", list, [], "rules",
                  'a list of pairs, e.g. incompatible = [["youth", "probation"]]')
    clean: list[tuple[str, str]] = []
    for pair in pairs:
        if (isinstance(pair, list) and len(pair) == 2
                and all(isinstance(p, str) for p in pair)):
            clean.append((pair[0], pair[1]))
        else:
            r.problems.append(f"{r.where('incompatible', 'rules')}incompatible entry {pair!r} "
                              'must be a pair of service types, e.g. ["youth", "probation"]')
    hosted = r.table(t, "not_hosted", "rules")
    not_hosted: dict[str, tuple[str, ...]] = {}
    for category, types in hosted.items():
        if isinstance(types, list) and all(isinstance(x, str) for x in types):
            not_hosted[category] = tuple(types)
        else:
            r.problems.append(f"{r.where(category, 'rules.not_hosted')}{category} must list "
                              'service types, e.g. emergency_services = ["youth"]')
    return Rules(incompatible=tuple(clean), not_hosted=not_hosted,
                 max_move_minutes=r.get(t, "max_move_minutes", NUMBER,
                                        settings.MAX_MOVE_MINUTES, "rules",
                                        "a number of minutes greater than 0", minimum=1e-9),
                 max_candidates=r.get(t, "max_candidates", int, settings.MAX_CANDIDATES,
                                      "rules", "a whole number, 1 or more", minimum=1),
                 suitability=_suitability(r, r.table(t, "suitability", "rules")))


def _caps(r: Reader, t: dict[str, Any]) -> Caps:
    r.keys(t, ("max_one_off_gbp", "max_disposals", "min_sites_per_owner"), "caps")
    owners = r.table(t, "min_sites_per_owner", "caps")
    mins = {}
    for owner in owners:
        mins[owner] = r.get(owners, owner, int, 0, "caps.min_sites_per_owner",
                            "a whole number of sites, 0 or more", minimum=0)
    return Caps(
        max_one_off_gbp=r.get(t, "max_one_off_gbp", NUMBER, None, "caps",
                              "a sum in GBP, 0 or more", minimum=0.0),
        max_disposals=r.get(t, "max_disposals", int, None, "caps",
                            "a whole number of sites, 0 or more", minimum=0),
        min_sites_per_owner=mins)


#: ``[solver]`` keys of whole numbers: (smallest, largest, what they count).
_SOLVER_COUNTS: dict[str, tuple[int, int, str]] = {
    "threads": (1, 64, "searches at once"), "seed": (0, 2**31 - 1, "a seed"),
    "exact_max_pairs": (0, 10**9, "candidate pairs"), "exact_nodes": (1, 10**9, "nodes"),
    "root_nodes": (1, 10**9, "nodes"), "rounds": (0, 10**6, "rounds"),
    "round_sites": (1, 10**6, "sites"), "round_nodes": (1, 10**9, "nodes"),
    "split_candidates": (0, 10**6, "sites"), "probe_nodes": (0, 10**9, "nodes"),
    "explain_forced": (0, 10**6, "sites"), "explain_try_nodes": (1, 10**9, "nodes"),
    "explain_nodes": (1, 10**9, "nodes"), "part_min_sites": (1, 10**9, "sites"),
    "seam_rounds": (0, 10**6, "rounds"), "measure_sites": (0, 10**6, "sites"),
}

#: Keys of earlier versions, and what replaced them.
_SOLVER_RETIRED: dict[str, str] = {
    "local_search": "the search's budget is now work, not a share of the time: set "
                    "rounds (neighbourhood rounds, default "
                    f"{settings.SEARCH_ROUNDS}) instead, or delete the line",
}


def _solver(r: Reader, t: dict[str, Any]) -> SolverSettings:
    d = SolverSettings()
    for key, why in _SOLVER_RETIRED.items():
        if key in t:
            r.problems.append(f"{r.where(key, 'solver')}{key} is no longer read: "
                              f"{why}")
    allowed = tuple(f.name for f in dataclasses.fields(SolverSettings))
    r.keys({k: v for k, v in t.items() if k not in _SOLVER_RETIRED}, allowed, "solver")
    backend = r.get(t, "backend", str, d.backend, "solver", "one of " + ", ".join(BACKENDS))
    if backend not in BACKENDS:
        r.problems.append(f"{r.where('backend', 'solver')}backend {backend!r} must be one of "
                          + ", ".join(BACKENDS))
    counts = {key: r.get(t, key, int, getattr(d, key), "solver",
                         f"a whole number from {low} to {high:,} ({what})", minimum=low,
                         maximum=high)
              for key, (low, high, what) in _SOLVER_COUNTS.items()}
    return SolverSettings(
        backend=backend,
        time_limit_s=r.get(t, "time_limit_s", NUMBER, d.time_limit_s, "solver",
                           "seconds, greater than 0 (a safety stop)", minimum=1e-3),
        relative_gap=r.get(t, "relative_gap", NUMBER, d.relative_gap,
                           "solver", "a share between 0 and 1", minimum=0.0, maximum=1.0),
        heuristic_effort=r.get(t, "heuristic_effort", NUMBER, d.heuristic_effort, "solver",
                               "a share between 0 and 1", minimum=0.0, maximum=1.0),
        split=r.get(t, "split", bool, d.split, "solver", "true or false"),
        decompose=r.get(t, "decompose", bool, d.decompose, "solver", "true or false"),
        split_min_value_share=r.get(t, "split_min_value_share", NUMBER,
                                    d.split_min_value_share, "solver",
                                    "a share between 0 and 1", minimum=0.0, maximum=1.0),
        **counts)


def _network(r: Reader, raw: dict[str, Any], base: Path) -> NetworkSpec:
    r.keys(raw, NETWORK_KEYS, "network")
    source = raw.get("source", "graphml")
    if source not in NETWORK_SOURCES:
        r.problems.append(f"{r.where('source', 'network')}source {source!r} is not one of "
                          f"{', '.join(NETWORK_SOURCES)}")
    file = None
    value = r.get(raw, "path", str, None, "network", "a file path")
    if value:
        file = base / value
        if not file.exists():
            r.problems.append(f"{locate(r.sources, 'path', 'network')}: network "
                              f"file {value!r} not found (looked for {file})")
    if source == "osm_xml" and file is None:
        r.problems.append(f"{locate(r.sources, 'source', 'network')}: [network] source = "
                          "\"osm_xml\" needs path = "
                          '"<file>.osm" (or .osm.bz2)')
    network_type = raw.get("network_type", "walk")
    if network_type not in ("walk", "bike", "drive"):
        r.problems.append(f"{r.where('network_type', 'network')}network_type "
                          f"{network_type!r} must be walk, bike or drive")
    return NetworkSpec(source=source, path=file, network_type=network_type)


def _standards(r: Reader, raw: dict[str, Any]) -> dict[str, Standard]:
    out: dict[str, Standard] = {}
    for service_type in raw:
        table = f"standards.{service_type}"
        spec = r.table(raw, service_type, "standards")
        before = len(r.problems)
        r.keys(spec, STANDARD_KEYS, table)
        where = f"{locate(r.sources, '', table)}: [{table}]"
        if "max_minutes" not in spec:
            r.problems.append(f"{where} needs max_minutes = <minutes>, e.g. max_minutes = 20")
        minutes = r.get(spec, "max_minutes", (int, float), None, table,
                        "a number of minutes greater than 0", minimum=1e-9)
        mode = spec.get("mode", "walk")
        if mode not in settings.MODES:
            r.problems.append(f"{r.where('mode', table)}mode {mode!r} has no speed; use one of "
                              f"{', '.join(settings.MODES)} (speeds: tp_assets.settings)")
        rule = spec.get("rule", "no_loss")
        if rule not in RULES:
            r.problems.append(f"{r.where('rule', table)}rule {rule!r} must be no_loss or "
                              "coverage")
        coverage = r.get(spec, "coverage", (int, float), None, table,
                         "a share greater than 0 and at most 1, e.g. 0.9", minimum=1e-9,
                         maximum=1.0)
        if rule == "coverage" and "coverage" not in spec:
            r.problems.append(f"{where} rule = \"coverage\" needs coverage = <share 0-1>, "
                              "e.g. coverage = 0.9")
        demand = r.get(spec, "demand", str, "population", table, "a zone column name")
        if len(r.problems) == before and minutes is not None:
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
    sources = scenario.texts
    for st in scenario.standards.values():
        table = f"standards.{st.service_type}"
        if st.service_type not in service_types:
            problems.append(f"{locate(sources, '', table)}: [{table}]: no service of type "
                            f"{st.service_type!r} in the estate; service types present: "
                            + ", ".join(sorted(service_types)))
        if st.demand not in demand_columns:
            problems.append(f"{locate(sources, 'demand', table)}: "
                            f"[{table}] demand {st.demand!r} is not a zone column; use one of "
                            + ", ".join(demand_columns))
    if problems:
        raise InputError(problems)
