"""From an estate, its travel times and a scenario to a :class:`Problem` in arrays."""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pandas as pd

from tp_assets import finance as fin
from tp_assets import measures as me
from tp_assets._errors import InputError, shortlist
from tp_assets._toml import Sources, locate, locate_value, suggest
from tp_assets.access import TravelTimes, sites_offering, walk_minutes_between
from tp_assets.estate import Estate, tm46_benchmarks
from tp_assets.optimise.problem import AccessRule, OptionRow, OptionSet, Problem
from tp_assets.scenario import Scenario


def check_names(estate: Estate, scenario: Scenario) -> None:
    """Check the sites, service types, owners and categories a scenario names.

    Parameters
    ----------
    estate
        The validated estate.
    scenario
        The scenario (its ``[status]``, ``[standards]``, ``[rules]`` and ``[caps]``).

    Raises
    ------
    InputError
        Every name the estate lacks, with the scenario file's line and the closest
        name it has; a site both retained and disposed of.
    """
    sites = estate.sites
    marked = dict(zip(sites["site_id"], sites["status"], strict=True))
    names = dict(zip(sites["site_id"], sites["name"], strict=True))
    types = sorted(set(estate.services["service_type"]))
    owners = sorted(set(sites["owner"]))
    problems = []
    sources = scenario.texts

    def at(value: str, key: str | None = None, table: str | None = None) -> str:
        return locate_value(sources, value, key, table)  # "colocation.toml line 12"

    def no_such_type(where: str, names: str, t: str) -> str:
        return (f"{where}: {names} service type {t!r}, which no service has"
                f"{suggest(t, types)}; types: {', '.join(types)}")

    for key, ids in (("retain", scenario.retain), ("dispose", scenario.dispose)):
        for sid in ids:
            if sid not in marked:
                problems.append(f"{at(sid, key, 'status')}: [status] {key} names site "
                                f"{sid!r}, which is not "
                                f"in the sites table{suggest(sid, marked)}; use the site_id "
                                "column of sites.csv")
    for sid in sorted(set(scenario.retain) & set(scenario.dispose)):
        problems.append(f"{at(sid)}: [status] names site {sid!r} in both retain and dispose; "
                        "keep it in one")
    for key, ids, other in (("dispose", scenario.dispose, "retain"),
                            ("retain", scenario.retain, "dispose")):
        for sid in ids:
            if marked.get(sid) == other:
                name = names[sid]
                problems.append(f"{at(sid, key, 'status')}: [status] {key} names site {sid!r} "
                                f"({name}), which the sites table marks status = {other} "
                                f"({estate.where('sites', [sid])}); drop it from {key}, or "
                                "clear its status in the sites table")
    for st in scenario.standards.values():
        if st.service_type not in types:
            problems.append(f"{locate(sources, '', f'standards.{st.service_type}')}: "
                            f"[standards.{st.service_type}] names a service type no service "
                            f"has{suggest(st.service_type, types)}; types: {', '.join(types)}")
    for pair in scenario.rules.incompatible:
        for t in pair:
            if t not in types:
                problems.append(no_such_type(at(t, "incompatible", "rules"),
                                             "[rules] incompatible names", t))
    categories = set(sites["benchmark"]) | _tm46_categories()
    for category, excluded in scenario.rules.not_hosted.items():
        if category not in categories:  # line_of finds it inline too: not_hosted = {...}
            problems.append(f"{locate(sources, category, 'rules.not_hosted')}: "
                            f"[rules.not_hosted] {category!r} is not a site benchmark category"
                            f"{suggest(category, categories)}; categories: "
                            f"{', '.join(sorted(categories))}")
        for t in excluded:
            if t not in types:
                problems.append(no_such_type(at(t, category, "rules.not_hosted"),
                                             f"[rules.not_hosted] {category} names", t))
    for service_type, by_category in scenario.rules.suitability.rules.items():
        set_here = [c for c, rule in by_category.items() if rule.source == "scenario"]
        table = f"rules.suitability.{service_type}"
        if set_here and service_type not in types:
            problems.append(no_such_type(locate(sources, "", table), f"[{table}] names",
                                         service_type))
        for category in set_here:
            if category not in categories and category != "*":
                problems.append(f"{locate(sources, category, table)}: [{table}] {category!r} "
                                f"is not a site benchmark category"
                                f"{suggest(category, categories)}; categories: "
                                f"{', '.join(sorted(categories))}")
    for owner in scenario.caps.min_sites_per_owner:
        if owner not in owners:
            problems.append(f"{at(owner)}: [caps.min_sites_per_owner] owner {owner!r} holds "
                            f"no site{suggest(owner, owners)}; owners: {', '.join(owners)}")
    if problems:
        raise InputError(problems)


def build_problem(estate: Estate, times: dict[str, TravelTimes], scenario: Scenario) -> Problem:
    """Turn an estate, its travel times and a scenario into a :class:`Problem`.

    Candidate hosts of each movable service are pruned to sites that are not forced
    out, may host its type (``[rules.not_hosted]``, and ``[rules.suitability]`` for a
    site it would move to) and lie within
    ``[rules] max_move_minutes`` walk of its current site, keeping the nearest
    ``[rules] max_candidates`` of them besides its current site; an immovable
    service stays where it is. (Dropping candidates too small for a whole service
    was tried: it made HiGHS's search markedly worse on the demo, so capacity is
    left to the model.) A site over-occupied today keeps its current load as its capacity,
    so the status quo is always a feasible plan. A leasehold that cannot be vacated
    within the appraisal (``lease_end`` after the horizon) is kept.

    Parameters
    ----------
    estate
        The validated estate.
    times
        Travel times by mode, up to each mode's largest standard.
    scenario
        Standards, rules, caps and finance.

    Returns
    -------
    Problem

    Raises
    ------
    InputError
        Site ids, service types or owners in the scenario that the estate lacks.
    """
    check_names(estate, scenario)
    sites = estate.sites.reset_index(drop=True)
    services = estate.services.reset_index(drop=True)
    site_ids = sites["site_id"].to_numpy(dtype=object)
    index = {sid: i for i, sid in enumerate(site_ids)}
    types = sorted(set(services["service_type"]))
    type_code = {t: i for i, t in enumerate(types)}
    owners = sorted(set(sites["owner"]))
    owner_code = {o: i for i, o in enumerate(owners)}

    values = fin.disposal_values(sites, scenario.finance)
    keep_fixed = np.full(len(sites), -1, dtype=int)
    keep_fixed[(sites["status"] == "retain").to_numpy()] = 1
    keep_fixed[values["vacate_year"].to_numpy() > scenario.finance.horizon_years] = 1
    keep_fixed[[index[s] for s in scenario.retain]] = 1
    if scenario.retain_all:
        keep_fixed[:] = 1
    locked = keep_fixed == 1
    keep_fixed[(sites["status"] == "dispose").to_numpy()] = 0
    keep_fixed[[index[s] for s in scenario.dispose]] = 0
    seen = []
    last = scenario.finance.year_start(scenario.finance.horizon_years)
    for b in np.flatnonzero(locked & (keep_fixed == 0)):
        row = sites.iloc[b]
        if values["vacate_year"].iloc[b] > scenario.finance.horizon_years:
            dates = fin.vacate_dates(row["tenure"], row["lease_end"], row["vacate_from"])
            column = max(dates, key=lambda c: dates[c])  # the lease first, on a tie
            late = dates[column]
            what = "its lease" if column == "lease_end" else "it (vacate_from)"
            seen.append(f"site {row['site_id']} ({row['name']}) is to be disposed of "
                        f"({forced_by([row['site_id']], estate, scenario.texts)}), but "
                        f"{what} cannot be vacated before {late}, after the "
                        f"appraisal's last year (from {last}; [finance] horizon_years"
                        f"{at_line(scenario.texts, 'horizon_years', 'finance')}); extend "
                        "horizon_years or drop the disposal")

    current = services["site_id"].map(index).to_numpy(dtype=int)
    area = services["area_m2"].to_numpy(dtype=float)
    load = np.bincount(current, weights=area, minlength=len(sites))
    capacity = np.maximum(sites["capacity_m2"].to_numpy(dtype=float), load)
    service_type = services["service_type"].map(type_code).to_numpy(dtype=int)
    movable = services["movable"].to_numpy(dtype=bool)
    xy = np.column_stack([sites.geometry.x, sites.geometry.y])
    apart = walk_minutes_between(xy, xy)
    near = apart <= scenario.rules.max_move_minutes
    banned = np.zeros((len(types), len(sites)), dtype=bool)
    benchmark = sites["benchmark"].to_numpy()
    for category, banned_types in scenario.rules.not_hosted.items():
        for name in banned_types:
            banned[type_code[name], benchmark == category] = True
    barred = banned[service_type, current]  # its own site may not host it: it must move
    # suitability: where a service may move to (it stays allowed where it is), and the
    # extra fit-out a building needs to take it in
    suitable, extra = scenario.rules.suitability.matrix(types, benchmark)
    pair_s: list[int] = []
    pair_b: list[int] = []
    for s in range(len(services)):
        c = current[s]
        stay = [c] if keep_fixed[c] != 0 and not barred[s] else []
        if not movable[s]:  # stays put; none left if its site is forced out or barred
            hosts = np.array(stay, dtype=int)
        else:
            ok = (near[c] & (keep_fixed != 0) & ~banned[service_type[s]]
                  & suitable[service_type[s]])
            ok[c] = False
            others = np.flatnonzero(ok)
            others = others[np.argsort(apart[c, others], kind="stable")]
            others = others[:scenario.rules.max_candidates]
            hosts = np.sort(np.r_[others, stay].astype(int))
        pair_s += [s] * len(hosts)
        pair_b += hosts.tolist()
    pair_service = np.array(pair_s, dtype=int)
    pair_site = np.array(pair_b, dtype=int)
    pair_cost = np.where(pair_site == current[pair_service], 0.0, fin.move_costs(
        services.iloc[pair_service], scenario.finance,
        extra[service_type[pair_service], pair_site]))

    offering = sites_offering(estate)
    rules = []
    for st in scenario.standards.values():
        code = type_code[st.service_type]
        hosts = np.unique(pair_site[service_type[pair_service] == code])
        # compared first, then indexed: a copy of the selected minutes would take
        # 8 bytes a zone and site (730 MB at 20 times the demo's sites), the flags one
        reach = times[st.mode].minutes <= st.max_minutes
        within: np.ndarray = reach[:, hosts]
        today = np.asarray(reach[:, offering[st.service_type]].any(axis=1))
        del reach
        demand = estate.zones[st.demand].to_numpy(dtype=float)
        zone_ids = estate.zones["zone_id"].to_numpy()
        groups: dict[bytes, list[int]] = defaultdict(list)
        for z in range(len(zone_ids)):
            if within[z].any() or today[z]:
                groups[np.packbits(within[z]).tobytes()].append(z)
        members = list(groups.values())
        rules.append(AccessRule(
            service_type=code, rule=st.rule, coverage=float(st.coverage or 0.0),
            group_sites=[hosts[within[zs[0]]] for zs in members],
            group_demand=np.array([demand[zs].sum() for zs in members]),
            group_required=np.array([bool(today[zs].any()) for zs in members]),
            group_zones=[[str(zone_ids[z]) for z in zs] for zs in members],
            total_demand=float(demand.sum()), max_minutes=st.max_minutes, demand=st.demand))
    conflicts = [(type_code[a], type_code[b]) for a, b in scenario.rules.incompatible]
    disposal_value, base_value, options = energy_terms(
        sites, values["vacate_year"].to_numpy(dtype=int), scenario,
        values["npv_gbp"].to_numpy(dtype=float),
        estate.files["sites"].name if "sites" in estate.files else "sites")
    return Problem(
        site_ids=site_ids, service_ids=services["service_id"].to_numpy(dtype=object),
        disposal_value=disposal_value, capacity=capacity,
        keep_fixed=keep_fixed, area=area, splittable=services["splittable"].to_numpy(bool),
        current=current, service_type=service_type, type_names=types,
        pair_service=pair_service, pair_site=pair_site, pair_cost=pair_cost,
        conflicts=conflicts, rules=rules, max_one_off_gbp=scenario.caps.max_one_off_gbp,
        max_disposals=scenario.caps.max_disposals,
        site_owner=sites["owner"].map(owner_code).to_numpy(dtype=int), owner_names=owners,
        min_sites_per_owner={owner_code[o]: n for o, n in
                             scenario.caps.min_sites_per_owner.items()},
        seen_conflicts=seen, movable=movable, barred=barred, base_value=base_value,
        options=options)


def energy_terms(sites: pd.DataFrame, vacate: np.ndarray, scenario: Scenario,
                 disposal_value: np.ndarray, sites_file: str = "sites"
                 ) -> tuple[np.ndarray, np.ndarray | None, OptionSet | None]:
    """What the scenario's ``[energy]`` adds to the problem.

    Disposing of a site also saves, where carbon is valued, the carbon value of its
    emissions from its vacate year, and with a net-zero target and offsets, the
    offsets it would buy. Each site's measures become options; without rules that tie
    them together, a site's best option is folded in (its value is part of every
    plan that keeps the site: ``base_value`` gains it and ``disposal_value`` loses
    it). With such rules (a budget, a hard target, a fuel rule) the options and the
    rules' rows go into the model.

    Parameters
    ----------
    sites
        Sites table (index 0..n-1).
    vacate
        Vacate year of each site (1-based; horizon + 1 where never).
    scenario
        The scenario (finance and energy).
    disposal_value
        NPV of disposing of each site without energy terms (GBP).
    sites_file
        Name of the sites file, for messages.

    Returns
    -------
    disposal_value, base_value, options
    """
    energy, f = scenario.energy, scenario.finance
    target = energy.target
    if not energy.measures and energy.carbon_value == "none" and target is None \
            and energy.fossil_heating_until is None:
        return disposal_value, None, None
    horizon = f.horizon_years
    years = np.arange(1, horizon + 1)
    disc = f.discount(years)
    emitted = me.emissions(sites, energy, f)  # sites x years, tCO2e
    gone = years[None, :] >= vacate[:, None]  # years a disposed site no longer emits
    value = np.array([me.carbon_value(energy.carbon_value, me.calendar_year(f, int(t)),
                                      energy.price_base_year) for t in years])
    disposal_value = disposal_value + (emitted * gone * value * disc).sum(axis=1)
    base = np.zeros(len(sites))
    price = target.offset_gbp_per_tco2e if target is not None else None
    target_t = None if target is None else me.appraisal_year(f, target.year)
    if price is not None and target_t is not None:
        after = years >= target_t
        disposal_value = disposal_value + price * (emitted * gone * after * disc).sum(axis=1)
        base -= price * (emitted * after * disc).sum(axis=1)
    opts = me.options(sites, energy, f, sites_file) if energy.measures else None
    table = opts.table if opts is not None else None
    site = (np.zeros(0, dtype=int) if table is None
            else table["site"].to_numpy(dtype=int))
    option_value = (np.zeros(0) if table is None else table["value_gbp"].to_numpy(dtype=float))
    rows: list[OptionRow] = []
    index = np.arange(len(site))
    texts = scenario.texts
    if opts is not None and energy.capital_gbp is not None:
        where = at_line(texts, 'capital_gbp', 'energy.budget')
        rows.append(OptionRow("capital", None, f"[energy.budget] capital_gbp = "
                              f"{energy.capital_gbp:,.0f}{where}",
                              index, opts.capex_by_year.sum(axis=1), np.zeros(0, dtype=int),
                              np.zeros(0), float(energy.capital_gbp)))
    if opts is not None and energy.capital_gbp_per_year is not None:
        where = at_line(texts, 'capital_gbp_per_year', 'energy.budget')
        for t in years:
            spend = opts.capex_by_year[:, t - 1]
            if spend.any():
                rows.append(OptionRow(
                    "capital_year", int(t), f"[energy.budget] capital_gbp_per_year = "
                    f"{energy.capital_gbp_per_year:,.0f}{where} in {f.fin_year(int(t))}",
                    index, spend, np.zeros(0, dtype=int), np.zeros(0),
                    float(energy.capital_gbp_per_year)))
    if target is not None and price is None and target_t is not None:
        at_t = emitted[:, target_t - 1]
        out = vacate <= target_t  # disposing of these stops their emissions by then
        baseline = float(emitted[:, 0].sum())
        allowed = target.share_of_baseline * baseline
        cut = (np.zeros(0) if opts is None else opts.cut_by_year[:, target_t - 1])
        rows.append(OptionRow(
            "carbon", target_t,
            f"the carbon target{at_line(texts, 'year', 'energy.target')}: estate emissions in "
            f"{target.year} at most {allowed:,.1f} tCO2e ({target.share_of_baseline:.0%} of "
            f"the {baseline:,.1f} tCO2e of {f.start_date.year})",
            index, -cut, np.flatnonzero(out), at_t[out],
            allowed - float(at_t[~out].sum())))
    if energy.fossil_heating_until is not None:
        rule_t = me.appraisal_year(f, energy.fossil_heating_until)
        where = at_line(texts, 'fossil_heating_until', 'energy.rules')
        fossil = (sites["heat_fuel"].isin(me.FOSSIL_FUELS).to_numpy()
                  & (sites["heat_kwh_pa"].to_numpy(dtype=float) > 0))
        removes = (np.zeros(0, dtype=bool) if table is None else
                   table["removes_fossil"].to_numpy(dtype=bool)
                   & (table["fit_year"].to_numpy(dtype=int) <= rule_t))
        for b in np.flatnonzero(fossil):
            on = np.flatnonzero((site == b) & removes)
            rows.append(OptionRow(
                "fossil", int(b), f"[energy.rules] fossil_heating_until = "
                f"{energy.fossil_heating_until}{where}", on, np.ones(len(on)),
                np.array([b]), np.array([-1.0]), 0.0, ">="))
    if table is None and not rows:
        return disposal_value, base, None
    measures = [] if table is None else table["measures"].astype(str).tolist()
    fit = np.zeros(0, dtype=int) if table is None else table["fit_year"].to_numpy(dtype=int)
    options = OptionSet(site, option_value, measures, fit, rows)
    if not rows:  # each site's one option, folded in
        folded = np.zeros(len(sites))
        np.add.at(folded, site, option_value)
        base += folded
        disposal_value = disposal_value - folded
    return disposal_value, base, options


def _tm46_categories() -> set[str]:
    return set(tm46_benchmarks().index)


def forced_by(ids: list[str], estate: Estate | None, sources: Sources) -> str:
    """Who forces sites out, for messages.

    ``[status] dispose (x.toml line 5): S1; status = dispose in sites.csv row 9: S2``:
    a site not so marked in the register is forced out by the scenario, and one so
    marked is named under the scenario too where its file lists it.
    """
    if estate is None:
        return f"forced out: {shortlist(ids)}"
    status = dict(zip(estate.sites["site_id"], estate.sites["status"], strict=True))
    register = [i for i in ids if status.get(i) == "dispose"]
    lines = {i: locate_value(sources, i, "dispose", "status") for i in ids}
    listed = [i for i in ids if i not in register or " line " in lines[i]]
    parts = [f"[status] dispose ({lines[listed[0]]}): {shortlist(listed)}"] if listed else []
    if register:
        parts.append(f"status = dispose in {estate.where('sites', register)}: "
                     f"{shortlist(register)}")
    return "; ".join(parts)


def at_line(sources: Sources, key: str, table: str | None = None) -> str:
    """`` (colocation.toml line 12)`` where the scenario sets ``key``, else ``""``."""
    where = locate(sources, key, table)
    return f" ({where})" if " line " in where else ""


#: Rough memory (bytes) of the MathOpt model and HiGHS's search per candidate pair,
#: measured on the demo (3.5 KB to build the model; a run's peak, 607 MB, less the
#: libraries, over its 7,873 pairs: about 25 KB).
MODEL_BYTES_PER_PAIR: int = 30_000
#: Memory (bytes) of the Python process before any array: the libraries it loads.
BASE_BYTES: int = 400 * 2**20


def memory_needed(estate: Estate, scenario: Scenario, problem: Problem | None = None
                  ) -> tuple[int, str]:
    """About how much memory a run of the scenario needs, before the big arrays are built.

    The largest arrays: the travel-time matrix of each mode (zones x sites, 8 bytes
    each, and 2 bytes more for the flags of who reaches what while the problem is
    built) and the site-to-site walking minutes
    (sites x sites, twice), on top of :data:`BASE_BYTES`; given the ``problem``, also
    the models the searches hold at once (:data:`MODEL_BYTES_PER_PAIR` per candidate
    pair of the largest part, or of the whole, times the searches run at once).

    Returns
    -------
    bytes, words
        The estimate, and what it is made of, for messages.
    """
    n_zones, n_sites = len(estate.zones), len(estate.sites)
    modes = len({st.mode for st in scenario.standards.values()}) or 1
    times = (8 + 2) * n_zones * n_sites * modes
    apart = 2 * 8 * n_sites * n_sites
    gb = 2.0**30
    words = (f"travel times {times / gb:.1f} GB ({n_zones:,} zones x {n_sites:,} sites x "
             f"{modes} mode{'s' * (modes > 1)}), walking minutes between sites "
             f"{apart / gb:.1f} GB")
    model = 0
    if problem is not None:
        from tp_assets.optimise.parts import parts

        solver = scenario.solver
        cut = parts(problem, solver.part_min_sites) if solver.decompose else []
        largest = max((len(part.pairs) for part in cut), default=len(problem.pair_site))
        at_once = min(solver.threads, max(len(cut), 2))
        model = MODEL_BYTES_PER_PAIR * largest * at_once
        words += (f", the searches' models {model / gb:.1f} GB ({largest:,} candidate pairs "
                  f"in the largest part, {at_once} search{'es' * (at_once > 1)} at once)")
    return BASE_BYTES + times + apart + model, words


def memory_available() -> int | None:
    """Memory this process may still take (bytes), or None where nothing says.

    The least of: what the system can give a new process (``MemAvailable`` in
    /proc/meminfo), what the process's control group still allows (cgroup v2
    ``memory.max - memory.current``, or v1 ``memory.limit_in_bytes - usage_in_bytes``:
    a container's limit, which the kernel enforces by killing), and what its address
    space limit (``ulimit -v``) leaves beyond what it already maps.
    """
    found = [v for v in (_meminfo("MemAvailable"), _cgroup_room(), _address_room())
             if v is not None]
    return min(found) if found else None


def _meminfo(key: str, path: str = "/proc/meminfo") -> int | None:
    try:
        with open(path, encoding="ascii") as f:
            for line in f:
                if line.startswith(f"{key}:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def _read_int(path: str) -> int | None:
    try:
        with open(path, encoding="ascii") as f:
            text = f.read().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None  # "max": no limit


def _cgroup_room() -> int | None:
    for limit_file, used_file in (("memory.max", "memory.current"),
                                  ("memory/memory.limit_in_bytes",
                                   "memory/memory.usage_in_bytes")):
        limit = _read_int(f"/sys/fs/cgroup/{limit_file}")
        used = _read_int(f"/sys/fs/cgroup/{used_file}")
        if limit is not None and used is not None and limit < 2**60:  # 2**63: unlimited
            return max(limit - used, 0)
    return None


def _address_room() -> int | None:
    import resource

    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    if soft == resource.RLIM_INFINITY:
        return None
    mapped = _meminfo("VmSize", "/proc/self/status")
    return None if mapped is None else max(soft - mapped, 0)


def check_memory(estate: Estate, scenario: Scenario, available: int | None,
                 problem: Problem | None = None) -> None:
    """Refuse a run that would not fit in memory, before the big arrays are built.

    Parameters
    ----------
    estate, scenario
        What would run.
    available
        Bytes of memory available (:func:`memory_available`); ``None``: not checked.
    problem
        The problem, once built: its models are then counted too.

    Raises
    ------
    InputError
        The estimate of :func:`memory_needed` is above ``available``: how much, of what,
        and what to reduce.
    """
    need, words = memory_needed(estate, scenario, problem)
    if available is None or need <= available:
        return
    gb = 2.0**30
    raise InputError(
        f"{scenario.path.name}: this run would need about {need / gb:.1f} GB of memory "
        f"({words}), and {available / gb:.1f} GB is available; run it on fewer zones (a "
        "coarser zones table: MSOAs rather than LSOAs), fewer sites (one borough at a "
        "time), a lower [rules] max_candidates, or [solver] threads = 1")
