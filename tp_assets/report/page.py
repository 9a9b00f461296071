"""The leaders' report as one HTML document: cards, waterfalls, owners, equity, the map.

Every text from the inputs reaches the page either through :func:`html.escape` (in
markup) or as script-safe JSON drawn with ``textContent`` (in the map), so a site
named ``<img src=x onerror=alert(1)>`` shows as text. Leaflet, Vega and the page's own
script and style are inlined: the file loads nothing from anywhere.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Callable
from typing import Any

import pandas as pd

from tp_assets import __version__, charts
from tp_assets.finance import format_gbp
from tp_assets.maps import static_text
from tp_assets.report import equity
from tp_assets.report.map_data import decided_differently, map_data
from tp_assets.report.read import Run
from tp_assets.results import plan_warning, standard_text

#: Readable names of the cash-flow categories, as the waterfall labels its steps.
STEP_LABELS: dict[str, str] = {
    "rent": "rent saved", "rates": "business rates saved", "fm": "facilities management saved",
    "electricity": "electricity saved", "heat": "heating fuel saved",
    "measure_electricity": "electricity saved by measures",
    "measure_heat": "heating fuel saved by measures", "offsets": "carbon offsets bought",
}


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _money(value: float | None) -> str:
    return "none" if value is None else format_gbp(float(value))


def _holds(run: Run) -> tuple[int, int]:
    """How many of the run's access standards hold, of how many."""
    held = 0
    for a in run.summary["access"]:
        if a["rule"] == "coverage":
            held += float(a["share_after"]) >= float(a["coverage_required"]) - 1e-9
        else:
            held += int(a["zones_lost"]) == 0
    return held, len(run.summary["access"])


#: The headline cards' rows: label, the value from a run, how to show it, which is best.
_Figure = tuple[str, Callable[[Run], Any], Callable[[Any], str], str]
FIGURES: tuple[_Figure, ...] = (
    ("NPV", lambda r: r.summary["totals"]["npv_gbp"], _money, "max"),
    ("Annual saving at full effect", lambda r: r.summary["totals"]["annual_saving_gbp_pa"],
     lambda v: f"{_money(v)} a year", "max"),
    ("Capital receipts (net)", lambda r: r.summary["totals"]["receipts_net_gbp"], _money, "max"),
    ("One-off cost", lambda r: -float(r.summary["totals"]["one_off_cost_gbp"]), _money, "min"),
    ("Pays back", lambda r: r.summary["totals"].get("payback_year")
     if any(r.summary["totals"].get("by_year_gbp", {}).values()) else "no cash flows",
     lambda v: "not within the horizon" if v is None else str(v) if isinstance(v, str)
     else f"in year {v}", "min"),
    ("Carbon saved", lambda r: r.summary["totals"]["tco2e_saved_pa"],
     lambda v: f"{float(v):,.0f} tCO2e a year", "max"),
    ("Sites disposed of", lambda r: r.summary["totals"]["sites_disposed"],
     lambda v: f"{int(v)}", "none"),
    ("Access standards held", _holds, lambda v: f"{v[0]} of {v[1]}", "all"),
)


def _best(values: list[Any], rule: str) -> list[bool]:
    if rule == "all":
        return [held == total for held, total in values]
    known = [v for v in values if v is not None and not isinstance(v, str)]
    if rule == "none" or len(values) < 2 or not known:
        return [False] * len(values)
    target = max(known) if rule == "max" else min(known)
    return [v is not None and not isinstance(v, str) and v == target for v in values]


def _cards(runs: list[Run]) -> str:
    cells: list[list[str]] = [[] for _ in runs]
    for label, get, show, rule in FIGURES:
        values = [get(r) for r in runs]
        for k, (value, best) in enumerate(zip(values, _best(values, rule), strict=True)):
            mark = ' <span class="best" title="best of the scenarios">best</span>' if best else ""
            cells[k].append(f'<dt>{_e(label)}</dt><dd data-figure="{_e(label)}">'
                            f'{_e(show(value))}{mark}</dd>')
    out = []
    for run, rows in zip(runs, cells, strict=True):
        s = run.summary
        status = s["status"] + ("" if s["status"] == "OPTIMAL" or s.get("gap") is None
                                else f", within {float(s['gap']):.2%} of the best possible")
        warning = plan_warning(s)
        caution = f'<p class="caution">{_e(warning)}</p>' if warning else ""
        description = f'<p class="description">{_e(s.get("description", ""))}</p>' if s.get(
            "description") else ""
        out.append(f'<article class="card" data-scenario="{_e(run.name)}">'
                   f'<h3>{_e(run.name)}</h3>{description}<dl>{"".join(rows)}</dl>'
                   f'<p class="status">Plan: {_e(status)}; checked independently: '
                   f'{"passed" if s.get("check", {}).get("passed") else "NOT passed"}</p>'
                   f"{caution}</article>")
    return f'<div class="cards">{"".join(out)}</div>'


def waterfall_steps(run: Run) -> list[tuple[str, float]]:
    """The cash steps from nothing to the NPV, undiscounted, then the discounting.

    Parameters
    ----------
    run
        A scenario's results.

    Returns
    -------
    list of (label, GBP)
        One-off costs, maintenance backlog avoided, receipts (net of disposal costs),
        capital for energy measures, each recurring category (rent, rates, ...), then
        ``discounting at <rate>``: the NPV less their sum. Zero steps are left out.
    """
    cash = run.cashflow
    kinds = cash["kind"].where(~cash["category"].eq("backlog_avoided"), "backlog")
    steps = [("one-off costs", float(cash.loc[kinds == "one_off", "gbp"].sum())),
             ("maintenance backlog avoided", float(cash.loc[kinds == "backlog", "gbp"].sum())),
             ("receipts (net)", float(cash.loc[kinds == "receipt", "gbp"].sum())),
             ("capital for energy measures", float(cash.loc[kinds == "capital", "gbp"].sum()))]
    recurring = cash[kinds == "recurring"].groupby("category", sort=False)["gbp"].sum()
    steps += [(STEP_LABELS.get(str(c), str(c)), float(v)) for c, v in recurring.items()]
    steps = [(label, round(v, 2)) for label, v in steps if round(v, 2) != 0]
    rate = float(run.summary["finance"]["discount_rate"])  # results format 2 has it
    npv = float(run.summary["totals"]["npv_gbp"])
    steps.append((f"discounting at {rate:.1%} a year", round(npv - sum(v for _, v in steps), 2)))
    return steps


def _chart(spec: dict[str, Any], key: str, alt: str) -> str:
    """An interactive chart with its PNG beside it (shown when printed or without script)."""
    image = base64.b64encode(charts.png(spec)).decode()
    return (f'<figure class="chart"><div class="vega" id="chart-{_e(key)}" '
            f'data-spec="{_e(key)}"></div>'
            f'<img class="static" alt="{_e(alt)}" src="data:image/png;base64,{image}">'
            "</figure>")


def _money_section(runs: list[Run], specs: dict[str, dict[str, Any]]) -> str:
    parts = []
    for k, run in enumerate(runs):
        steps = waterfall_steps(run)
        spec = charts.waterfall_spec(steps, float(run.summary["totals"]["npv_gbp"]),
                                     f"{run.name}: from cash to NPV")
        specs[f"waterfall-{k}"] = spec
        rows = "".join(f"<tr><td>{_e(label)}</td><td class=num>{_e(_money(v))}</td></tr>"
                       for label, v in steps)
        parts.append(f'<div class="waterfall"><h3>{_e(run.name)}</h3>'
                     + _chart(spec, f"waterfall-{k}", f"{run.name}: waterfall to the NPV")
                     + f'<table class="steps"><tbody>{rows}<tr class="total"><td>NPV</td>'
                     f'<td class=num>{_e(_money(run.summary["totals"]["npv_gbp"]))}</td></tr>'
                     "</tbody></table></div>")
    owners = pd.concat([r.owners.assign(scenario=r.name) for r in runs], ignore_index=True)
    order = owners.groupby("owner")["npv_gbp"].sum().sort_values(ascending=False).index
    owners["owner"] = pd.Categorical(owners["owner"], categories=order, ordered=True)
    owners = owners.sort_values(["owner", "scenario"], kind="stable")
    owners["owner"] = owners["owner"].astype(str)
    spec = charts.grouped_bars_spec(owners, category="owner", group="scenario",
                                    value="npv_gbp", title="NPV by owner: who pays, who gains",
                                    value_title="NPV (£)")
    specs["owners"] = spec
    head = "".join(f"<th>{_e(r.name)}</th>" for r in runs)
    table = owners.pivot_table(index="owner", columns="scenario", values="npv_gbp",
                               aggfunc="sum", sort=False).reindex(index=list(order))
    body = "".join(
        f"<tr><td>{_e(owner)}</td>" + "".join(
            f'<td class=num>{_e(_money(table.loc[owner, r.name]))}</td>'
            if r.name in table.columns and pd.notna(table.loc[owner, r.name])
            else "<td class=num>-</td>" for r in runs) + "</tr>"
        for owner in table.index)
    return ('<section id="money"><h2>Where the money comes from</h2>'
            '<p>Each waterfall starts at nothing, adds every cash flow of the appraisal '
            '(undiscounted), then the discounting, and ends at the NPV.</p>'
            + "".join(parts)
            + '<h3>NPV by owner</h3><p>Each partner\'s share: a negative figure is an owner '
            'that pays more (moving services in) than it saves.</p>'
            + _chart(spec, "owners", "NPV by owner and scenario")
            + f'<table class="owners"><thead><tr><th>owner</th>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table></section>")


def _equity_section(runs: list[Run]) -> str:
    zones = runs[0].zones
    found = equity.groups(pd.DataFrame({"population": zones["population"],
                                        "imd_decile": zones.get("imd_decile")}))
    verdicts = "".join(f'<li data-scenario="{_e(r.name)}"><strong>{_e(r.name)}</strong>: '
                       f"{_e(equity.verdict(r.by_area, found))}</li>" for r in runs)
    standards: dict[str, dict[str, str]] = {}
    for r in runs:
        for a in r.summary["access"]:
            standards.setdefault(str(a["service_type"]), {})[r.name] = standard_text(a)
    tables = []
    for service_type, by_run in sorted(standards.items()):
        texts = set(by_run.values())
        text = (next(iter(texts)) if len(texts) == 1 else
                "; ".join(f"{name}: {words}" for name, words in by_run.items()))
        head = "".join(f'<th colspan="3">{_e(r.name)}</th>' for r in runs)
        sub = "<th>lose</th><th>gain</th><th>change (min)</th>" * len(runs)
        rows = []
        for breakdown, title in (("imd_decile", "IMD decile (1 = most deprived)"),
                                 ("ward", "ward")):
            frames = [r.by_area[(r.by_area["service_type"] == service_type)
                                & (r.by_area["breakdown"] == breakdown)].set_index("area")
                      for r in runs]
            areas = list(dict.fromkeys(a for f in frames for a in f.index))
            if not areas:
                continue
            rows.append(f'<tr class="group"><th colspan="{1 + 3 * len(runs)}">{_e(title)}'
                        "</th></tr>")
            for area in areas:
                cells = []
                for r, f in zip(runs, frames, strict=True):
                    if area not in f.index:
                        cells.append("<td></td>" * 3)
                        continue
                    row = f.loc[area]
                    change = row["mean_minutes_change"]
                    for kind, shown in (("losing", f"{row['demand_losing']:,.0f}"),
                                        ("gaining", f"{row['demand_gaining']:,.0f}"),
                                        ("minutes", "" if pd.isna(change)
                                         else f"{change:+.1f}")):
                        flag = " loss" if kind == "losing" and row["demand_losing"] > 0 else ""
                        cells.append(f'<td class="num{flag}" data-scenario="{_e(r.name)}" '
                                     f'data-breakdown="{_e(breakdown)}" data-area="{_e(area)}" '
                                     f'data-kind="{kind}">{_e(shown)}</td>')
                rows.append(f"<tr><td>{_e(area)}</td>{''.join(cells)}</tr>")
        if not rows:
            continue
        tables.append(f'<h3>{_e(service_type.replace("_", " "))}</h3><p class="standard">'
                      f"Standard{'s' * (len(texts) > 1)}: {_e(text)}. Residents (or the "
                      "standard's demand) losing or gaining it, and the change in the mean "
                      "minutes to the nearest site."
                      f'</p><table class="equity" data-service="{_e(service_type)}"><thead>'
                      f"<tr><th rowspan=2>area</th>{head}</tr><tr>{sub}</tr></thead><tbody>"
                      + "".join(rows) + "</tbody></table>")
    none = ("" if tables else "<p>The zones carry no ward or IMD decile: add them with "
            "<code>tp-assets import areas</code> and run the scenarios again.</p>")
    return ('<section id="equity"><h2>Who gains and who loses access</h2>'
            f'<ul class="verdicts">{verdicts}</ul>{none}{"".join(tables)}</section>')


def _differences(runs: list[Run]) -> str:
    table = decided_differently(runs)
    if table.empty or len(runs) < 2:
        return ""
    head = "".join(f"<th>{_e(r.name)}</th>" for r in runs)
    body = "".join("<tr>" + "".join(f"<td>{_e(row[c])}</td>" for c in
                                     ("site_id", "name", "owner"))
                   + "".join(f"<td>{_e(row[r.name])}</td>" for r in runs) + "</tr>"
                   for _, row in table.iterrows())
    return (f'<details class="differences"><summary>{len(table)} sites disposed of in some '
            "scenarios and kept in others</summary><table><thead><tr><th>site</th><th>name"
            f"</th><th>owner</th>{head}</tr></thead><tbody>{body}</tbody></table></details>")


def _map_section(runs: list[Run]) -> str:
    options = '<option value="">today</option>' + "".join(
        f'<option value="{k}">{_e(r.name)}</option>' for k, r in enumerate(runs))
    return ('<section id="map-section"><h2>The map</h2>'
            '<div class="controls"><label>Scenario <select id="scenario">'
            f"{options}</select></label> <label>Access to <select id=\"service\"></select>"
            '</label></div><p id="map-caption" class="caption"></p>'
            '<div id="map"></div><div id="map-legend" class="legend"></div>'
            + _differences(runs) + "</section>")


def build_page(runs: list[Run]) -> str:
    """The report for results folders already read and checked.

    Parameters
    ----------
    runs
        The scenarios, in the order to show them.

    Returns
    -------
    str
        The HTML document.
    """
    first = runs[0].summary
    place = str(first["place"])
    specs: dict[str, dict[str, Any]] = {}
    money = _money_section(runs, specs)
    terms = [(r.name, r.summary["finance"]["horizon_years"],
              float(r.summary["finance"]["discount_rate"])) for r in runs]
    if len({(h, rate) for _, h, rate in terms}) == 1:
        appraisal = (f"Money in £ over {_e(terms[0][1])} years, discounted at "
                     f"{terms[0][2]:.1%} a year")
    else:
        appraisal = "Money in £ over " + "; ".join(
            f"{_e(name)}: {_e(h)} years at {rate:.1%} a year" for name, h, rate in terms)
    warnings = sorted({w for r in runs for w in r.summary.get("warnings", [])
                       if "straight line" in w})
    said = "".join(f'<p class="caution">{_e(w)}</p>' for w in warnings)
    data = {"map": map_data(runs), "specs": specs, "embed": charts.EMBED_OPTIONS}
    names = ", ".join(r.name for r in runs)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_e(place)}: {_e(names)}</title>
<style>{static_text("leaflet.css")}</style>
<style>{static_text("report.css")}</style>
<script>{charts.embed_script()}</script>
<script>{static_text("leaflet.js")}</script>
</head>
<body>
<header>
<h1>{_e(place)}: {len(runs)} scenario{"s" * (len(runs) > 1)} side by side</h1>
<p class="meta">{_e(names)}. {appraisal} (HM Treasury Green Book); written by
tp-assets {_e(__version__)} from the scenarios' results folders.</p>
{said}
<nav><a href="#headline">Headline</a> <a href="#money">Money</a>
<a href="#equity">Who gains and who loses</a> <a href="#map-section">Map</a></nav>
</header>
<main>
<section id="headline"><h2>Headline</h2>{_cards(runs)}</section>
{money}
{_equity_section(runs)}
{_map_section(runs)}
</main>
<script id="report-data" type="application/json">{charts.script_json(data)}</script>
<script>{static_text("report.js")}</script>
</body>
</html>
"""
