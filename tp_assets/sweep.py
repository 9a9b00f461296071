"""Scenario sweeps: a grid of variants of one scenario, each a full run, on Dask.

``tp-assets sweep SCENARIO --vary KEY=V1,V2 [--vary ...]`` writes one small scenario
file per variant (``extends`` the scenario, sets the varied keys, records the base
file's SHA-256), checks every one before any runs, computes the travel times once
per distinct set of standards, hands them to the workers, and runs the variants in
parallel on a Dask cluster: a local one by default (one worker process per core), or
an existing ``dask.distributed`` scheduler (``--scheduler tcp://HOST:PORT``), with the
same code either way. Each variant is a full run into
``results/<scenario>/sweep/<variant>/`` (no map), written whole or not at all, so an
interrupted sweep keeps every finished variant, and a rerun skips those already done
with the same inputs (the variant file's and the input tables' SHA-256). A variant that
fails (rules that cannot hold, a value out of range) is reported in ``sweep.csv`` with
its reason; the others finish.

Each variant runs its search on one thread (``[solver] threads = 1`` unless varied):
the sweep's parallelism is its workers, and the thread count never changes a plan.
The workers must be able to import ``tp_assets`` (installed where they run) and read
the place's files and the results folder (a shared file system for a remote cluster).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import re
import tempfile
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from tp_assets import settings
from tp_assets._errors import InputError, TpAssetsError
from tp_assets.scenario import NetworkSpec, Scenario

if TYPE_CHECKING:
    from tp_assets.estate import Estate

#: Keys a sweep may not vary: they name the run or the place, not a setting.
FIXED_KEYS = ("name", "place", "extends", "description")
#: Headline figures written per variant in sweep.csv (from its summary.json's totals).
FIGURES = ("npv_gbp", "annual_saving_gbp_pa", "receipts_net_gbp", "one_off_cost_gbp",
           "sites_disposed", "services_moved", "tco2e_saved_pa")
#: How long a ``--scheduler`` may take to answer (s).
CONNECT_TIMEOUT_S = 5


@dataclass(frozen=True)
class Vary:
    """One ``--vary KEY=V1,V2``: a dotted scenario key and its values (TOML text each)."""

    key: str
    texts: tuple[str, ...]


@dataclass(frozen=True)
class Variant:
    """One point of the grid: its name, the values it sets and its scenario file's text.

    ``travel``: the travel times it needs, (network, mode, cutoff in minutes) each.
    """

    name: str
    values: tuple[tuple[str, str], ...]
    toml: str
    travel: tuple[tuple[NetworkSpec, str, float], ...] = ()

    @property
    def sha256(self) -> str:
        """SHA-256 of its scenario file (which records the base file's)."""
        return hashlib.sha256(self.toml.encode()).hexdigest()


def _split(values: str) -> list[str]:
    """Split ``V1,V2`` on commas outside brackets and quotes."""
    parts, depth, quote, current = [], 0, "", ""
    for ch in values:
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "\"'":
            quote = ch
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(current.strip())
            current = ""
            continue
        current += ch
    parts.append(current.strip())
    return parts


def _toml_value(text: str) -> str:
    """A value as TOML: itself where it reads as TOML, else a quoted string.

    ``0.03``, ``true`` and ``[1, 2]`` stay as they are; ``hubs`` becomes ``"hubs"``.
    """
    try:
        tomllib.loads(f"v = {text}")
        return text
    except tomllib.TOMLDecodeError:
        return json.dumps(text)


def parse_vary(items: list[str]) -> list[Vary]:
    """Read ``--vary KEY=V1,V2,...`` options.

    Parameters
    ----------
    items
        The options' texts.

    Raises
    ------
    InputError
        No ``=``, an empty key or value, a key given twice, or a key a sweep may not
        vary (:data:`FIXED_KEYS`), each with the fix.
    """
    out: list[Vary] = []
    problems = []
    for item in items:
        key, sep, values = item.partition("=")
        key = key.strip()
        texts = tuple(t for t in _split(values) if t) if sep else ()
        if not sep or not key or not texts:
            problems.append(f"--vary {item!r}: write KEY=V1,V2,... with a dotted scenario key, "
                            "e.g. --vary finance.discount_rate=0.03,0.035")
        elif key.split(".")[0] in FIXED_KEYS:
            problems.append(f"--vary {key}: a sweep varies one scenario's settings, not its "
                            f"{key.split('.')[0]}; run a sweep per place or scenario")
        elif any(v.key == key for v in out):
            problems.append(f"--vary {key}: given twice; give all its values in one --vary "
                            f"{key}=V1,V2,...")
        elif len(set(texts)) < len(texts):
            twice = sorted({x for x in texts if texts.count(x) > 1})
            problems.append(f"--vary {key}: value{'s' * (len(twice) > 1)} "
                            f"{', '.join(twice)} given more than once; give each value once")
        else:
            out.append(Vary(key, texts))
    if problems:
        raise InputError(problems)
    return out


def _variant_name(values: tuple[tuple[str, str], ...], index: int) -> str:
    name = "__".join(f"{k}={v}" for k, v in values)
    name = re.sub(r'[/\\<>:"|?*\s]+', "_", name).strip("._ ")
    if not name or len(name.encode()) > 120:
        digest = hashlib.sha256("\n".join(f"{k}={v}" for k, v in values).encode()).hexdigest()
        name = f"variant-{index + 1:03d}-{digest[:8]}"
    return name


def _in_place(base: Path, text: str) -> str:
    """A value as TOML, a relative path that exists beside the base scenario made absolute.

    A variant's file lives in the results folder: a path written relative to the base
    scenario (``energy.measures = "my_measures.csv"``) would not be found from there.
    """
    value = _toml_value(text)
    try:
        parsed = tomllib.loads(f"v = {value}")["v"]
    except tomllib.TOMLDecodeError:  # pragma: no cover - _toml_value gave valid TOML
        return value
    if isinstance(parsed, str) and parsed and not Path(parsed).is_absolute() and (
            base.parent / parsed).exists():
        return json.dumps(str((base.parent / parsed).resolve()))
    return value


def _variant_toml(base: Path, digest: str, name: str,
                  values: tuple[tuple[str, str], ...], threads_varied: bool) -> str:
    from tp_assets import __version__

    tables: dict[str, list[str]] = {}
    for key, text in values:
        head, _, leaf = key.rpartition(".")
        tables.setdefault(head, []).append(f"{leaf} = {_in_place(base, text)}")
    if not threads_varied:
        tables.setdefault("solver", []).append("threads = 1")
    lines = [f"# tp-assets {__version__} sweep variant of {base.name} (its scenario files' "
             f"sha256 {digest})",
             f"extends = {json.dumps(str(base.resolve()))}", f"name = {json.dumps(name)}"]
    for table in sorted(tables, key=lambda t: (t != "", t)):
        lines += ([""] if table == "" else ["", f"[{table}]"]) + tables[table]
    return "\n".join(lines) + "\n"


def variants(base: Scenario, varies: list[Vary], *, limit: int = settings.SWEEP_MAX_VARIANTS,
             yes: bool = False) -> list[Variant]:
    """The grid of variants, each checked as a scenario before anything runs.

    Parameters
    ----------
    base
        The base scenario, loaded.
    varies
        The varied keys and their values.
    limit
        Most variants run without ``yes``.
    yes
        Run a grid larger than ``limit``.

    Raises
    ------
    InputError
        A grid larger than ``limit`` without ``yes``; a key the scenario does not have or
        a value it refuses (each named with the scenario's own message and the fix).
    """
    from tp_assets import access
    from tp_assets import scenario as scenario_mod

    scenario_path = base.path
    # the file and those it extends
    digest = hashlib.sha256("\n".join(f"{path.name}\n{text}" for path, text in base.sources)
                            .encode()).hexdigest()
    count = 1
    for v in varies:
        count *= len(v.texts)
    if count > limit and not yes:
        raise InputError(f"the sweep has {count} variants ("
                         + " x ".join(str(len(v.texts)) for v in varies)
                         + f"), more than {limit}; add --yes to run them all, or vary fewer "
                         "values")
    threads_varied = any(v.key == "solver.threads" for v in varies)
    out: list[Variant] = []
    problems: list[str] = []
    seen: set[str] = set()

    with tempfile.TemporaryDirectory(prefix="tp-assets-sweep-") as tmp:
        for index, combo in enumerate(itertools.product(*(v.texts for v in varies))):
            values = tuple(zip((v.key for v in varies), combo, strict=True))
            name = _variant_name(values, index)
            if any(v.name == name for v in out):  # two values the same once cleaned
                name = _variant_name((), index) + "-" + hashlib.sha256(
                    repr(values).encode()).hexdigest()[:8]
            text = _variant_toml(scenario_path, digest, name, values, threads_varied)
            probe = Path(tmp) / "variant.toml"
            probe.write_text(text, encoding="utf-8")
            try:
                loaded = scenario_mod.load(probe)
            except InputError as exc:
                given = ", ".join(f"{k}={v}" for k, v in values)
                for problem in exc.problems:
                    said = re.sub(r"^variant\.toml( line \d+)?: ", "", problem)
                    if said not in seen:  # once, with the first variant it is found in
                        seen.add(said)
                        problems.append(f"--vary {given}: {said}")
                continue
            travel = tuple(access.travel_keys(loaded.network, loaded.standards).values())
            out.append(Variant(name, values, text, travel))
    if problems:
        raise InputError(sorted(set(problems), key=problems.index))
    return out


def run_variant(scenario_file: str, results_dir: str,
                times: dict[tuple[NetworkSpec, str, float], Any] | None,
                cache_dir: str | None) -> dict[str, Any]:
    """Run one variant (on a worker): its results folder, or why it has none.

    Parameters
    ----------
    scenario_file
        The variant's scenario file.
    results_dir
        The sweep's folder (the variant's results go in ``<results_dir>/<name>/``).
    times
        Travel times shared by the sweep, by (network settings, mode, cutoff).
    cache_dir
        Travel-time cache folder.

    Returns
    -------
    dict
        ``status`` (the plan's status, or ``infeasible`` / ``no plan`` / ``bad input`` /
        ``error``) and ``reason`` (blank where the run succeeded).
    """
    from tp_assets import pipeline
    from tp_assets._errors import InfeasibleError, NoPlanError

    try:
        result = pipeline.run(scenario_file, results_dir=results_dir, maps_dir=None,
                              cache_dir=cache_dir, given_times=times)
    except InfeasibleError as exc:
        return {"status": "infeasible", "reason": " ".join(str(exc).split())[:500]}
    except NoPlanError as exc:
        return {"status": "no plan", "reason": " ".join(str(exc).split())[:500]}
    except TpAssetsError as exc:
        return {"status": "bad input", "reason": " ".join(str(exc).split())[:500]}
    except Exception as exc:  # one variant's failure must not stop the sweep
        return {"status": "error", "reason": f"{type(exc).__name__}: {exc}"[:500]}
    return {"status": result.plan.status, "reason": ""}


def _done(folder: Path, variant: Variant, hashes: dict[str, str]) -> bool:
    """Whether a variant's results are there from the same inputs and tp-assets version.

    The same variant file (which records its scenario files' SHA-256 and the version),
    and the same place files (sites, services, zones, boundary, network).
    """
    from tp_assets import __version__

    try:
        summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    inputs = summary.get("inputs", {})
    return (inputs.get("scenario", {}).get("sha256") == variant.sha256
            and summary.get("versions", {}).get("tp_assets") == __version__
            and all(inputs.get(role, {}).get("sha256") == h for role, h in hashes.items()))


def _network_hash(est: Estate, spec: NetworkSpec | None) -> dict[str, str]:
    """``{"network": sha256}`` of the network file a variant reads (none: empty).

    A variant may name another network than the base scenario's, or none (straight
    lines), so the file its results must come from is its own.
    """
    from tp_assets import access
    from tp_assets._tables import file_sha256

    file = None if spec is None else access.network_file(spec, est)
    return {"network": file_sha256(file)} if file is not None and file.exists() else {}


@dataclass(frozen=True)
class SweepResult:
    """A finished sweep: its table (one row per variant) and where it was written."""

    table: pd.DataFrame
    folder: Path
    ran: int
    skipped: int


def connect(scheduler: str | None, workers: int | None) -> tuple[Any, Any]:
    """A Dask client: to ``scheduler``, or to a new local cluster of ``workers`` processes.

    Raises
    ------
    InputError
        The scheduler did not answer within :data:`CONNECT_TIMEOUT_S` seconds.
    """
    import dask
    from dask.distributed import Client, LocalCluster

    if scheduler:
        try:
            return Client(scheduler, timeout=f"{CONNECT_TIMEOUT_S}s"), None
        except (OSError, TimeoutError, ValueError) as exc:
            raise InputError(f"--scheduler {scheduler}: no Dask scheduler answered within "
                             f"{CONNECT_TIMEOUT_S} s ({type(exc).__name__}); start one "
                             "(dask scheduler) and its workers, check the address "
                             "(tcp://HOST:PORT), or leave --scheduler out for a local "
                             "cluster") from None
    # the search may start processes of its own: workers must not be daemons
    with dask.config.set({"distributed.worker.daemon": False}):
        cluster = LocalCluster(n_workers=workers or os.cpu_count() or 1, threads_per_worker=1,
                               processes=True, dashboard_address=None)
    return Client(cluster), cluster


def run_sweep(scenario_path: str | Path, varies: list[Vary], *,
              results_dir: str | Path = "results", scheduler: str | None = None,
              workers: int | None = None, yes: bool = False,
              cache_dir: str | Path | None = None,
              report: Callable[[str], None] = lambda line: None) -> SweepResult:
    """Run a sweep of a scenario on Dask and write its table.

    Parameters
    ----------
    scenario_path
        The base scenario.
    varies
        From :func:`parse_vary`.
    results_dir
        The variants go in ``<results_dir>/<scenario>/sweep/<variant>/``.
    scheduler
        A ``dask.distributed`` scheduler's address; ``None``: a local cluster.
    workers
        Worker processes of the local cluster (default: one per core).
    yes
        Run more than :data:`tp_assets.settings.SWEEP_MAX_VARIANTS` variants.
    cache_dir
        Travel-time cache folder.
    report
        Called with a line per variant as it finishes.

    Returns
    -------
    SweepResult
    """
    from dask.distributed import as_completed

    from tp_assets import access, io, pipeline

    base = Path(scenario_path)
    scen, est = pipeline.load(base)  # the base itself must be valid
    grid = variants(scen, varies, yes=yes)
    folder = Path(results_dir) / scen.name / "sweep"
    files = folder / "variants"
    hashes = est.file_hashes()
    todo = [v for v in grid if not _done(folder / v.name, v, {
        **hashes, **_network_hash(est, v.travel[0][0] if v.travel else None)})]
    outcome: dict[str, dict[str, Any]] = {}
    client, cluster = connect(scheduler, workers) if todo else (None, None)
    files.mkdir(parents=True, exist_ok=True)
    for v in grid:
        (files / f"{v.name}.toml").write_text(v.toml, encoding="utf-8")
    if client is not None:
        try:
            # travel times once per network, mode and cutoff, shared with every variant
            # needing them (a variant may vary its network or its standards' minutes)
            computed: dict[tuple[NetworkSpec, str, float], Any] = {}
            for v in todo:
                for spec, mode, cut in v.travel:
                    if (spec, mode, cut) not in computed:
                        computed[(spec, mode, cut)] = access.travel_times(
                            est, spec, mode=mode, cutoff_minutes=cut, cache_dir=cache_dir)
            shared = {k: client.scatter(tt, broadcast=True) for k, tt in computed.items()}
            futures = {client.submit(run_variant, str(files / f"{v.name}.toml"), str(folder),
                                     {k: shared[k] for k in v.travel},
                                     None if cache_dir is None else str(cache_dir),
                                     key=f"tp-assets-variant-{v.sha256[:16]}", pure=False): v
                       for v in todo}
            for future in as_completed(futures):
                variant = futures[future]
                outcome[variant.name] = future.result()
                report(f"{variant.name}: {outcome[variant.name]['status']}")
        finally:
            client.close()
            if cluster is not None:
                cluster.close()
    rows = []
    for v in grid:
        row: dict[str, Any] = {"variant": v.name, **dict(v.values)}
        done = outcome.get(v.name, {"status": "", "reason": ""})
        summary_path = folder / v.name / "summary.json"
        if done["reason"] == "" and summary_path.exists():
            s = json.loads(summary_path.read_text(encoding="utf-8"))
            row.update({"status": s["status"], "gap": s["gap"],
                        **{k: s["totals"].get(k) for k in FIGURES}, "reason": "",
                        "reused": v.name not in outcome})
        else:
            row.update({"status": done["status"] or "not run", "gap": None,
                        **dict.fromkeys(FIGURES), "reason": done["reason"],
                        "reused": False})
        rows.append(row)
    table = pd.DataFrame(rows)
    with io.atomic_files(folder / "sweep.csv") as (tmp,):
        io.write_csv(table.drop(columns=["reused"]), tmp, decimals={"npv_gbp": 2})
    ok = table[table["npv_gbp"].notna()]
    if len(ok):
        from tp_assets import charts

        charts.write_bars(ok.assign(group=scen.name), folder / "sweep.png",
                          folder / "sweep.html", category="variant", group="group",
                          value="npv_gbp", title=f"{scen.name}: NPV by variant",
                          value_title="NPV (£)")
    ran = len(outcome)
    return SweepResult(table, folder, ran=ran, skipped=len(grid) - ran)


def raise_if_none_ran(done: SweepResult) -> None:
    """Exit codes for a sweep in which no variant has a plan (sweep.csv is written first).

    Raises
    ------
    InputError
        Every variant failed on a value it was given (exit code 2).
    InfeasibleError
        No variant has a plan: their rules cannot hold, or their budgets ended with none
        (exit code 3).
    """
    from tp_assets._errors import InfeasibleError

    statuses = set(done.table["status"])
    if not done.table["npv_gbp"].isna().all():
        return
    where = done.folder / "sweep.csv"
    if statuses == {"bad input"}:
        raise InputError(f"every variant was refused on its values; {where} gives each "
                         "reason: change the --vary values")
    raise InfeasibleError(f"no variant has a plan ({', '.join(sorted(statuses))}); {where} "
                          "gives each reason")
