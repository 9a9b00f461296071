"""A run's results folder read back: summary.json, the headline figures, compare.

What ``tp-assets compare`` and ``tp-assets report`` share: reading a folder written
by :func:`tp_assets.pipeline.run`, refusing folders of different places or input
files, or written by an older version, and the figures set side by side.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from tp_assets import settings
from tp_assets._errors import InputError

#: The version of the results folder's layout, recorded in summary.json
#: (``results_format``). 2: ``access_by_area.csv`` and ``results_format`` itself.
RESULTS_FORMAT = 2


def last_value(by_year: dict[str, float] | None) -> float | None:
    """The value of the last year in a ``{year: value}`` block (``None`` where absent)."""
    return by_year[max(by_year, key=int)] if by_year else None


def compare(folders: list[Path], *, allow_different: bool = False
            ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Headline figures of several runs side by side, and where their plans differ.

    Parameters
    ----------
    folders
        ``results/<scenario>`` folders written by :func:`run`.
    allow_different
        Compare runs of different places or inputs anyway (``--allow-different-places``).

    Returns
    -------
    headline, differences
        ``headline``: one row per figure, one column per scenario: the solver's status,
        gap and whether its plan is reproducible, a ``warning`` (blank, or why the
        plan's figures are not to be taken as the best plan: not proven within
        :data:`tp_assets.settings.COMPARE_GAP` of its bound, or cut short by the clock),
        each access standard (``standard_<service_type>``: mode, minutes, rule, share),
        then the money, sites, carbon and shares within each standard afterwards.
        ``differences``: one row per site decided differently (``site_id``, ``name``,
        the decision in each scenario (blank where a run's estate lacks the site), then
        ``disposal_differs``: true where it is disposed of in some and kept in others).

    Raises
    ------
    InputError
        A folder without ``summary.json`` / ``sites.csv``; runs of different places or
        of different input files, unless ``allow_different``.
    """
    rows: dict[str, dict[str, Any]] = {}
    decisions = []
    summaries = [read_summary(folder) for folder in folders]
    if not allow_different:
        same_inputs(folders, summaries, "--allow-different-places")
    for folder, s in zip(folders, summaries, strict=True):
        t = s["totals"]
        name = s["scenario"]
        if name in rows:  # two runs of one scenario: tell them apart by folder
            name = f"{name} ({folder})"
        search = s.get("search", {})  # absent from results of earlier versions
        rows[name] = {"place": s["place"], "status": s["status"], "gap": s["gap"],
                      "reproducible": search.get("reproducible"),
                      "warning": plan_warning(s)}
        for a in s["access"]:
            rows[name][f"standard_{a['service_type']}"] = standard_text(a)
        rows[name].update({
            "npv_gbp": t["npv_gbp"], "annual_saving_gbp_pa": t["annual_saving_gbp_pa"],
            "receipts_net_gbp": t["receipts_net_gbp"], "one_off_cost_gbp": t["one_off_cost_gbp"],
            "sites_disposed": t["sites_disposed"], "sites_kept": t["sites_kept"],
            "services_moved": t["services_moved"], "tco2e_saved_pa": t["tco2e_saved_pa"],
            # energy measures and the estate's emissions in the appraisal's last year
            # (summaries from before the measures lack them: blank)
            "measures_capex_gbp": t.get("measures_capex_gbp"),
            "social_carbon_value_gbp": t.get("social_carbon_value_gbp"),
            "plan_tco2e_last_year": last_value(t.get("carbon_plan_tco2e_by_year"))})
        for a in s["access"]:
            rows[name][f"share_after_{a['service_type']}"] = a["share_after"]
        sites = pd.read_csv(folder / "sites.csv", usecols=["site_id", "name", "decision"],
                            dtype={"site_id": str}, keep_default_na=False)
        decisions.append(sites.set_index(["site_id", "name"])["decision"].rename(name))
    headline = pd.DataFrame(rows)
    headline.index.name = "figure"
    table = pd.concat(decisions, axis=1)
    differ = table[table.nunique(axis=1, dropna=False) > 1]
    kept = differ.isin(["retain", "receives"]).any(axis=1)  # blank: not in that run's estate
    differ = differ.assign(disposal_differs=(differ == "dispose").any(axis=1) & kept)
    return headline.reset_index(), differ.reset_index()


def read_summary(folder: Path) -> dict[str, Any]:
    """A results folder's summary.json.

    Parameters
    ----------
    folder
        ``results/<scenario>``, as :func:`tp_assets.pipeline.run` writes it.

    Raises
    ------
    InputError
        No such folder, no summary.json or sites.csv in it, or JSON that does not read.
    """
    if not folder.is_dir():
        raise InputError(f"{folder}: no such folder; give folders written by tp-assets run, "
                         "e.g. results/colocation")
    summary_path = folder / "summary.json"
    if not summary_path.exists() or not (folder / "sites.csv").exists():
        raise InputError(f"{folder}: no summary.json and sites.csv; give folders written "
                         "by tp-assets run, e.g. results/colocation")
    try:
        summary: dict[str, Any] = json.loads(summary_path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise InputError(f"{summary_path}: not the JSON tp-assets run writes ({exc}); "
                         "run the scenario again") from None
    return summary


#: The input files whose contents must match for runs to be compared like for like.
_COMPARED_INPUTS = ("sites", "services", "zones")


def same_inputs(folders: list[Path], summaries: list[dict[str, Any]],
                override: str | None = None) -> None:
    """Refuse runs of different places, or of different input files of one place.

    ``override``: the command's option that sets such runs side by side anyway, named in
    the message (``None``: the command has none).
    """
    first, base = folders[0], summaries[0]
    side = f", or add {override} to set them side by side anyway" if override else ""
    anyway = f", or add {override} to compare them anyway" if override else ""
    for folder, s in zip(folders[1:], summaries[1:], strict=True):
        if s["place"] != base["place"]:
            raise InputError(
                f"{first} is a run on the place {base['place']!r} and {folder} on "
                f"{s['place']!r}: their figures are not comparable like for like; compare runs "
                f"of one place{side}")
        for role in _COMPARED_INPUTS:
            a = base.get("inputs", {}).get(role, {})
            b = s.get("inputs", {}).get(role, {})
            if a.get("sha256") != b.get("sha256"):
                raise InputError(
                    f"{first} and {folder} were run on different {role} files "
                    f"({a.get('path', 'unknown')} sha256 {str(a.get('sha256'))[:12]}..., "
                    f"{b.get('path', 'unknown')} sha256 {str(b.get('sha256'))[:12]}...): "
                    "their figures are not comparable like for like; run both scenarios on "
                    f"the same inputs{anyway}")


def standard_text(access_row: dict[str, Any]) -> str:
    """An access standard in words: ``"walk 20 min, no_loss"``, ``"walk 15 min, coverage 90%"``.

    Parameters
    ----------
    access_row
        One record of summary.json's ``access`` (``mode``, ``max_minutes``, ``rule``,
        ``coverage_required``, ``demand_column``).
    """
    rule = str(access_row["rule"])
    if rule == "coverage" and access_row.get("coverage_required") is not None:
        rule += f" {float(access_row['coverage_required']):.0%}"
    return (f"{access_row['mode']} {float(access_row['max_minutes']):g} min, {rule} of "
            f"{access_row['demand_column']}")


def plan_warning(summary: dict[str, Any]) -> str:
    """Why a run's plan is not to be read as the best one, or ``""``.

    Parameters
    ----------
    summary
        A run's summary.json.
    """
    from tp_assets.optimise.problem import STOPPED_BY_CLOCK

    said = []
    gap = summary.get("gap")
    if summary["status"] != "OPTIMAL" and (gap is None or gap > settings.COMPARE_GAP):
        said.append(f"not proven within {settings.COMPARE_GAP:.0%} of its bound (" + (
            "no bound" if gap is None else f"gap {gap:.2%}") + "): a better plan may exist")
    if summary.get("search", {}).get("reproducible") is False:
        said.append(f"{STOPPED_BY_CLOCK}; its figures may change from run to run")
    return "; ".join(said)
