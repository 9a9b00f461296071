r"""The results folder's charts: each one a PNG for print and an offline HTML page.

The only module that imports Altair and vl-convert. One Vega-Lite spec gives both
files: vl-convert renders the PNG, and its JavaScript bundle (Vega, Vega-Lite and
vega-embed, shipped inside the ``vl-convert-python`` wheel) is inlined into the
HTML, so the page opens with a double-click on a machine with no internet and
shows a tooltip on each bar or point. The page loads nothing: no remote script,
style sheet, font, tile or data.

Text from the data (measure labels, the title) reaches the page only as JSON in
which ``<``, ``>`` and ``&`` are written ``\u003c``, ``\u003e`` and ``\u0026``, so
no label can close the script or become markup; the chart draws it as SVG text and
the tooltips escape it (vega-tooltip's default). Altair's own ``inline`` template
writes the spec unescaped into a ``<script>``, which is why the page is built here.

Both files are byte-identical from one run to the next with the same input: no
date, random id or path goes into either, and they are written whole or not at
all (:func:`tp_assets._tables.atomic_file`). The PNG's text is drawn with the
machine's sans-serif font, so another machine with other fonts may draw another
(equally valid) PNG.
"""

from __future__ import annotations

import functools
import html
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from tp_assets._errors import InputError, shortlist

if TYPE_CHECKING:
    import pandas as pd

#: Size of the plotting area (CSS pixels; axes, title and legend come on top) and the
#: PNG's pixels per CSS pixel: about 1,800 x 1,000 px, sharp across an A4 page.
WIDTH_PX = 760
HEIGHT_PX = 400
PNG_SCALE = 2

#: Decimals kept of the numbers drawn (tCO2e to the kilogram, £ to the penny): shorter
#: pages, the same picture.
TCO2E_DECIMALS = 3
GBP_DECIMALS = 2

#: Bar colours of the cost curve: measures that save money, and those that cost it.
SAVES_COLOUR = "#1a9850"
COSTS_COLOUR = "#d73027"
SAVES = "saves money"
COSTS = "costs money"

#: Line colours and dashes of the trajectory, by series (in the legend's order).
TRAJECTORY_STYLE = {  # series -> (colour, stroke dash: [] solid)
    "baseline (no plan)": ("#737373", []),
    "with the plan": ("#2171b5", []),
    "target": ("#d94801", [6, 4]),
}

#: What an empty chart says.
NO_MEASURES = "no measures in this plan"
NO_YEARS = "no years in this plan"

#: Name of the dataset of a chart's bars or points in its spec.
_ROWS = "rows"

#: vega-embed's menu: saving the chart as PNG or SVG only (the editor link would send
#: the data to a web site; the source views are of no use to a reader).
EMBED_OPTIONS = {"mode": "vega-lite", "renderer": "svg",
                 "actions": {"export": True, "source": False, "compiled": False,
                             "editor": False}}

#: Characters that could end a ``<script>`` or start markup, as JSON escapes.
_SCRIPT_SAFE = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026"})


def write_macc(frame: pd.DataFrame, png: Path, html: Path, title: str) -> None:
    """Write a marginal abatement cost curve (MACC) as a PNG and an HTML page.

    One bar per measure, cheapest first (ties by label): its width is the carbon the
    measure abates a year, so the bars' right edges read off the cumulative
    abatement; its height is the cost of each tonne abated, below zero where the
    measure saves money.

    Parameters
    ----------
    frame
        One row per measure, with columns ``label`` (str, e.g. ``"S012 LED
        lighting"``), ``tco2e_pa`` (float > 0: tonnes CO2e abated a year) and
        ``gbp_per_tco2e`` (float: £ per tonne CO2e abated; negative: the measure
        saves money). Other columns are ignored. No rows (columns or not): the
        chart says :data:`NO_MEASURES`.
    png, html
        Files to write (folders are created); an existing file is replaced.
    title
        The chart's title (plain text).

    Raises
    ------
    InputError
        A column is missing, or a label or number is missing, a number is not finite
        or (``tco2e_pa``) not above zero; every problem in one message.
    """
    if not len(frame):
        _write(_message_spec(NO_MEASURES, title), png, html, title)
        return
    _check_columns(frame, ("label", "tco2e_pa", "gbp_per_tco2e"), "the cost curve")
    problems = (_check_labels(frame) + _check_numbers(frame, "tco2e_pa", positive=True)
                + _check_numbers(frame, "gbp_per_tco2e"))
    if problems:
        raise InputError([f"the cost curve: {p}" for p in problems])
    _write(_macc_spec(_macc_rows(frame), title), png, html, title)


def write_trajectory(frame: pd.DataFrame, png: Path, html: Path, title: str) -> None:
    """Write the carbon trajectory, with and without the plan, as a PNG and an HTML page.

    A line each for the baseline and for the plan, and a dashed line with points for
    the target in the years that have one.

    Parameters
    ----------
    frame
        One row per year, with columns ``year`` (int: the calendar year of the
        appraisal year, e.g. 2027), ``baseline_tco2e`` and ``plan_tco2e`` (float:
        tonnes CO2e emitted that year without and with the plan) and, optionally,
        ``target_tco2e`` (float: the target for that year; NaN where there is none).
        Other columns are ignored. No rows (columns or not): the chart says
        :data:`NO_YEARS`.
    png, html
        Files to write (folders are created); an existing file is replaced.
    title
        The chart's title (plain text).

    Raises
    ------
    InputError
        A column is missing, a year is not a whole number or comes twice, or an
        emission is missing or not finite (a target may be NaN); every problem in
        one message.
    """
    if not len(frame):
        _write(_message_spec(NO_YEARS, title), png, html, title)
        return
    _check_columns(frame, ("year", "baseline_tco2e", "plan_tco2e"), "the carbon trajectory")
    problems = (_check_years(frame) + _check_numbers(frame, "baseline_tco2e")
                + _check_numbers(frame, "plan_tco2e"))
    if "target_tco2e" in frame.columns:
        problems += _check_numbers(frame, "target_tco2e", missing_ok=True)
    if problems:
        raise InputError([f"the carbon trajectory: {p}" for p in problems])
    _write(_trajectory_spec(_trajectory_rows(frame), title), png, html, title)


# --- checks -------------------------------------------------------------------------


def _check_columns(frame: pd.DataFrame, columns: Sequence[str], chart: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InputError(f"{chart}: the table has no column {shortlist(missing)} "
                         f"(it has {shortlist(list(map(str, frame.columns))) or 'none'})")


def _check_labels(frame: pd.DataFrame) -> list[str]:
    missing = frame["label"].isna()
    if not missing.any():
        return []
    return [f"label must be given, not so in {shortlist(_row_names(frame, missing))}"]


def _check_numbers(frame: pd.DataFrame, column: str, *, positive: bool = False,
                   missing_ok: bool = False) -> list[str]:
    """Problems with a column of numbers: not a number, missing, infinite, not above 0."""
    import pandas as pd

    values = pd.to_numeric(frame[column], errors="coerce").astype(float)
    bad = frame[column].notna() & values.isna()
    if not missing_ok:
        bad |= frame[column].isna()
    bad |= values.abs() == math.inf
    if positive:
        bad |= values <= 0
    if not bad.any():
        return []
    rows = _row_names(frame, bad)
    wanted = "a number above 0" if positive else "a finite number"
    return [f"{column} must be {wanted}{' or empty' if missing_ok else ''}, "
            f"not so in {shortlist(rows)}"]


def _check_years(frame: pd.DataFrame) -> list[str]:
    import pandas as pd

    years = pd.to_numeric(frame["year"], errors="coerce").astype(float)
    bad = years.isna() | (years != years.round())
    problems = []
    if bad.any():
        rows = _row_names(frame, bad)
        problems.append(f"year must be a whole number, not so in {shortlist(rows)}")
    twice = sorted({int(y) for y in years[~bad & years.duplicated()]})
    if twice:
        problems.append(f"each year may come only once; more than once: {shortlist(twice)}")
    return problems


def _row_names(frame: pd.DataFrame, bad: pd.Series) -> list[str]:
    """``row 3 ('S012 LED lighting')``: the rows where ``bad`` holds, by position and label."""
    labels = frame["label"].tolist() if "label" in frame.columns else [None] * len(frame)
    return [f"row {k + 1}" + (f" ({labels[k]!r})" if isinstance(labels[k], str) else "")
            for k, is_bad in enumerate(bad.tolist()) if is_bad]


# --- specs --------------------------------------------------------------------------


def _macc_rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The bars, cheapest first (ties by label), each with its left and right edge."""
    bars = frame.assign(label=frame["label"].astype(str),
                        tco2e_pa=frame["tco2e_pa"].astype(float),
                        gbp_per_tco2e=frame["gbp_per_tco2e"].astype(float))
    bars = bars.sort_values(["gbp_per_tco2e", "label", "tco2e_pa"], kind="stable")
    rows, start = [], 0.0
    for label, tco2e, gbp in zip(bars["label"], bars["tco2e_pa"], bars["gbp_per_tco2e"],
                                 strict=True):
        end = start + float(tco2e)
        rows.append({"label": label, "tco2e_pa": round(float(tco2e), TCO2E_DECIMALS),
                     "gbp_per_tco2e": round(float(gbp), GBP_DECIMALS),
                     "from_tco2e": round(start, TCO2E_DECIMALS),
                     "to_tco2e": round(end, TCO2E_DECIMALS),
                     "effect": SAVES if gbp < 0 else COSTS})
        start = end
    return rows


def _macc_spec(rows: list[dict[str, Any]], title: str) -> dict[str, Any]:
    import altair as alt

    bars = alt.Chart(alt.NamedData(name=_ROWS)).mark_rect(stroke="white", strokeWidth=0.5).encode(
        x=alt.X("from_tco2e:Q", title="cumulative abatement (tCO2e a year)",
                scale=alt.Scale(domain=[0, rows[-1]["to_tco2e"]], nice=False),
                axis=alt.Axis(format=",.0f")),
        x2="to_tco2e:Q",
        y=alt.Y("gbp_per_tco2e:Q", title="cost (£ per tCO2e)", axis=alt.Axis(format=",.0f")),
        y2=alt.datum(0),
        color=alt.Color("effect:N", title=None,
                        scale=alt.Scale(domain=[SAVES, COSTS],
                                        range=[SAVES_COLOUR, COSTS_COLOUR]),
                        legend=alt.Legend(orient="top-left")),
        tooltip=[alt.Tooltip("label:N", title="measure"),
                 alt.Tooltip("tco2e_pa:Q", title="tCO2e a year", format=",.1f"),
                 alt.Tooltip("gbp_per_tco2e:Q", title="£ per tCO2e", format=",.0f")],
    )
    zero = alt.Chart(alt.Data(values=[{"y": 0}])).mark_rule(color="#252525").encode(
        y="y:Q")
    return _finish(alt.layer(bars, zero), title, rows)


def _trajectory_rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Long format: one row per year and series, targets only where there is one."""
    names = list(TRAJECTORY_STYLE)
    columns = {"baseline_tco2e": names[0], "plan_tco2e": names[1], "target_tco2e": names[2]}
    rows = []
    ordered = frame.assign(year=frame["year"].astype(float).astype(int)).sort_values("year")
    for column, series in columns.items():
        if column not in ordered.columns:
            continue
        for year, value in zip(ordered["year"], ordered[column].astype(float), strict=True):
            if not math.isnan(value):
                rows.append({"year": int(year), "series": series,
                             "tco2e": round(float(value), TCO2E_DECIMALS)})
    return rows


def _trajectory_spec(rows: list[dict[str, Any]], title: str) -> dict[str, Any]:
    import altair as alt

    shown = [s for s in TRAJECTORY_STYLE if any(r["series"] == s for r in rows)]
    years = sorted({r["year"] for r in rows})
    legend = alt.Legend(orient="top", direction="horizontal", symbolType="stroke",
                        symbolStrokeWidth=3, symbolSize=400)  # one legend: colour and dash
    lines = alt.Chart(alt.NamedData(name=_ROWS)).mark_line(point=True, strokeWidth=2.5).encode(
        x=alt.X("year:Q", title="year", scale=alt.Scale(domain=[years[0], years[-1]]),
                axis=alt.Axis(format="d", tickMinStep=1)),
        y=alt.Y("tco2e:Q", title="tCO2e a year", axis=alt.Axis(format=",.0f")),
        color=alt.Color("series:N", title=None, sort=shown,
                        scale=alt.Scale(domain=shown,
                                        range=[TRAJECTORY_STYLE[s][0] for s in shown]),
                        legend=legend),
        strokeDash=alt.StrokeDash("series:N", title=None, sort=shown, legend=legend,
                                  scale=alt.Scale(domain=shown,
                                                  range=[TRAJECTORY_STYLE[s][1]
                                                         for s in shown])),
        tooltip=[alt.Tooltip("series:N", title="line"),
                 alt.Tooltip("year:Q", title="year", format="d"),
                 alt.Tooltip("tco2e:Q", title="tCO2e a year", format=",.1f")],
    )
    return _finish(lines, title, rows)


def _message_spec(message: str, title: str) -> dict[str, Any]:
    """A chart with no data: the title and a sentence saying why."""
    import altair as alt

    text = alt.Chart(alt.Data(values=[{"message": message}])).mark_text(
        fontSize=20, color="#525252").encode(text="message:N")
    return _finish(text, title, [], axes=False)


def _finish(chart: Any, title: str, rows: list[dict[str, Any]], *,
            axes: bool = True, width: int = WIDTH_PX, height: int = HEIGHT_PX
            ) -> dict[str, Any]:
    """The Vega-Lite spec of a chart: size, title and fonts set, no ``$schema`` URL.

    Altair checks the spec against Vega-Lite's schema before the rows (the dataset
    :data:`_ROWS`) go in: checking thousands of rows would take seconds.
    """
    chart = chart.properties(width=width, height=height,
                             title=_title(title)).configure_axis(
        labelFontSize=13, titleFontSize=14, grid=axes).configure_legend(
        labelFontSize=13, symbolSize=120).configure_view(stroke="#bdbdbd" if axes else None)
    spec: dict[str, Any] = chart.to_dict()
    spec.pop("$schema", None)
    if rows:
        spec["datasets"] = {_ROWS: rows}
    return spec


def _title(title: str) -> dict[str, Any]:
    """The chart title's Vega-Lite settings (left-aligned, 18 px)."""
    return {"text": title, "anchor": "start", "fontSize": 18, "offset": 12}


# --- the leaders' report's charts -----------------------------------------------------

#: Bar colours of a savings waterfall, by kind of step.
WATERFALL_STYLE = {"adds to the NPV": "#1a9850", "takes from the NPV": "#d73027",
                   "discounting": "#969696", "NPV": "#2171b5"}


def waterfall_spec(steps: Sequence[tuple[str, float]], npv_gbp: float, title: str,
                   *, width: int = WIDTH_PX, height: int = 300) -> dict[str, Any]:
    """A waterfall from the first step to the NPV: each bar starts where the last ended.

    Parameters
    ----------
    steps
        (label, GBP) in order, e.g. one-off costs (negative), receipts, each recurring
        saving, then the discounting (the NPV less the sum of the cash steps).
    npv_gbp
        The total bar at the end (GBP).
    title
        Chart title (plain text).
    width, height
        Plotting area (CSS pixels).

    Returns
    -------
    dict
        A Vega-Lite spec with its rows inline (:func:`png` renders it).
    """
    import altair as alt

    rows, level = [], 0.0
    for k, (label, gbp) in enumerate(steps):
        end = level + float(gbp)
        kind = ("discounting" if label.startswith("discounting") else
                "adds to the NPV" if gbp >= 0 else "takes from the NPV")
        rows.append({"order": k, "step": str(label), "start": round(level, GBP_DECIMALS),
                     "end": round(end, GBP_DECIMALS), "gbp": round(float(gbp), GBP_DECIMALS),
                     "kind": kind})
        level = end
    rows.append({"order": len(rows), "step": "NPV", "start": 0.0,
                 "end": round(float(npv_gbp), GBP_DECIMALS),
                 "gbp": round(float(npv_gbp), GBP_DECIMALS), "kind": "NPV"})
    kinds = [k for k in WATERFALL_STYLE if any(r["kind"] == k for r in rows)]
    bars = alt.Chart(alt.NamedData(name=_ROWS)).mark_bar().encode(
        x=alt.X("step:N", title=None, sort=[str(r["step"]) for r in rows],
                axis=alt.Axis(labelAngle=-30, labelLimit=220)),
        y=alt.Y("start:Q", title="£", axis=alt.Axis(format="~s")),
        y2="end:Q",
        color=alt.Color("kind:N", title=None, scale=alt.Scale(
            domain=kinds, range=[WATERFALL_STYLE[k] for k in kinds]),
            legend=alt.Legend(orient="top", direction="horizontal")),
        tooltip=[alt.Tooltip("step:N", title="step"),
                 alt.Tooltip("gbp:Q", title="£", format=",.0f")],
    )
    zero = alt.Chart(alt.Data(values=[{"y": 0}])).mark_rule(color="#252525").encode(y="y:Q")
    return _finish(alt.layer(bars, zero), title, rows, width=width, height=height)


def grouped_bars_spec(frame: pd.DataFrame, *, category: str, group: str, value: str,
                      title: str, value_title: str, height_per_bar: int = 14
                      ) -> dict[str, Any]:
    """Horizontal bars of a value by category, one bar per group (e.g. NPV by owner).

    Parameters
    ----------
    frame
        One row per category and group.
    category, group, value
        Its columns: the bars' labels (text), the groups side by side (text, e.g. the
        scenario) and the length (GBP).
    title, value_title
        Chart and axis titles.
    height_per_bar
        CSS pixels per bar.
    """
    import altair as alt

    rows = [{"category": str(c), "group": str(g), "value": round(float(v), GBP_DECIMALS)}
            for c, g, v in zip(frame[category], frame[group], frame[value], strict=True)]
    groups = [str(g) for g in dict.fromkeys(r["group"] for r in rows)]
    order = [str(c) for c in dict.fromkeys(r["category"] for r in rows)]
    bars = alt.Chart(alt.NamedData(name=_ROWS)).mark_bar().encode(
        y=alt.Y("category:N", title=None, sort=order, axis=alt.Axis(labelLimit=260)),
        yOffset=alt.YOffset("group:N", sort=groups),
        x=alt.X("value:Q", title=value_title, axis=alt.Axis(format="~s")),
        color=alt.Color("group:N", title=None, sort=groups,
                        legend=alt.Legend(orient="top", direction="horizontal")),
        tooltip=[alt.Tooltip("category:N", title=category),
                 alt.Tooltip("group:N", title=group),
                 alt.Tooltip("value:Q", title=value_title, format=",.0f")],
    )
    height = max(120, height_per_bar * len(rows))
    return _finish(bars, title, rows, height=height)


#: Bar colours of a tornado chart: the NPV at the low and at the high end of a range.
TORNADO_STYLE = {"at the low end": "#d95f0e", "at the high end": "#2171b5"}


def write_tornado(frame: pd.DataFrame, png: Path, html: Path, title: str) -> None:
    """Write a tornado chart of a sensitivity table as a PNG and an HTML page.

    Parameters
    ----------
    frame
        One row per input: ``label``, ``low``, ``high`` (the range, in the input's
        ``unit``), ``npv_base_gbp``, ``npv_low_gbp``, ``npv_high_gbp`` (GBP).
    png, html
        Files to write.
    title
        Chart title (plain text).
    """
    _check_columns(frame, ("label", "unit", "low", "high", "npv_base_gbp", "npv_low_gbp",
                           "npv_high_gbp"), "sensitivity")
    _write(tornado_spec(frame, title), png, html, title)


def range_text(value: float, unit: str) -> str:
    """An input's value in its unit: ``x0.7`` (factor), ``3.5%`` (rate, share), ``10 years``."""
    if unit in ("rate", "share"):
        return f"{value:.1%}"
    if unit == "years":
        return f"{value:g} years"
    return f"x{value:g}"


def tornado_spec(frame: pd.DataFrame, title: str) -> dict[str, Any]:
    """The Vega-Lite spec of a tornado chart: inputs by swing, widest at the top."""
    import altair as alt

    if frame.empty:
        return _message_spec("no inputs to move", title)
    base = float(frame["npv_base_gbp"].iloc[0])
    swing = (frame["npv_high_gbp"] - frame["npv_low_gbp"]).abs()
    rows = []
    for k in np.argsort(-swing.to_numpy(), kind="stable"):
        row = frame.iloc[int(k)]
        name = f"{row['label']} ({range_text(float(row['low']), str(row['unit']))} to " \
               f"{range_text(float(row['high']), str(row['unit']))})"
        for end, column in (("at the low end", "npv_low_gbp"), ("at the high end",
                                                                 "npv_high_gbp")):
            rows.append({"input": name, "end": end,
                         "base": round(float(row["npv_base_gbp"]), GBP_DECIMALS),
                         "npv": round(float(row[column]), GBP_DECIMALS)})
    order = list(dict.fromkeys(str(r["input"]) for r in rows))
    bars = alt.Chart(alt.NamedData(name=_ROWS)).mark_bar(opacity=0.85).encode(
        y=alt.Y("input:N", title=None, sort=order, axis=alt.Axis(labelLimit=420)),
        x=alt.X("base:Q", title="NPV (£)", axis=alt.Axis(format="~s")),
        x2="npv:Q",
        color=alt.Color("end:N", title=None, scale=alt.Scale(
            domain=list(TORNADO_STYLE), range=list(TORNADO_STYLE.values())),
            legend=alt.Legend(orient="top", direction="horizontal")),
        tooltip=[alt.Tooltip("input:N", title="input"), alt.Tooltip("end:N", title="end"),
                 alt.Tooltip("npv:Q", title="NPV (£)", format=",.0f")],
    )
    marks = alt.Chart(alt.Data(values=[{"x": base, "what": "the plan's NPV"},
                                       {"x": 0.0, "what": "zero"}])).mark_rule(
        color="#252525").encode(x="x:Q", strokeDash=alt.condition(
            alt.datum.what == "zero", alt.value([4, 3]), alt.value([])))
    height = max(160, 34 * len(order))
    return _finish(alt.layer(bars, marks), title, rows, height=height)


def write_bars(frame: pd.DataFrame, png: Path, html: Path, **spec: Any) -> None:
    """Write :func:`grouped_bars_spec`'s chart of ``frame`` as a PNG and an HTML page.

    Parameters
    ----------
    frame
        The bars' rows.
    png, html
        Files to write.
    **spec
        :func:`grouped_bars_spec`'s keywords (``category``, ``group``, ``value``,
        ``title``, ``value_title``).
    """
    _write(grouped_bars_spec(frame, **spec), png, html, spec["title"])


def png(spec: dict[str, Any]) -> bytes:
    """A chart's PNG (``PNG_SCALE`` pixels per CSS pixel), for print."""
    import vl_convert as vlc

    image: bytes = vlc.vegalite_to_png(spec, vl_version=_vl_version(), scale=PNG_SCALE)
    return image


def embed_script() -> str:
    """Vega, Vega-Lite and vega-embed in one script (defines ``vegaEmbed``), to inline once."""
    return _javascript(_vl_version())


def script_json(value: Any) -> str:
    """JSON safe inside a ``<script>``: ``<``, ``>`` and ``&`` written as escapes."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"),
                      allow_nan=False).translate(_SCRIPT_SAFE)


# --- output -------------------------------------------------------------------------


def _vl_version() -> str:
    """The Vega-Lite version Altair writes (``"6.4"``), which vl-convert renders with."""
    import altair as alt

    return ".".join(alt.SCHEMA_VERSION.lstrip("v").split(".")[:2])


@functools.cache
def _javascript(vl_version: str) -> str:
    """Vega, Vega-Lite and vega-embed in one script, as shipped in vl-convert (~0.9 MB).

    The script defines one global, ``vegaEmbed``.
    """
    import vl_convert as vlc

    bundle: str = vlc.javascript_bundle("window.vegaEmbed = vegaEmbed;", vl_version=vl_version)
    if "</script" in bundle.lower():  # would end the page's script early
        raise RuntimeError("vl-convert's JavaScript bundle contains '</script'")
    return bundle


def _page(spec: dict[str, Any], title: str) -> str:
    """The HTML page of a Vega-Lite spec: one file, no remote load, text escaped.

    Parameters
    ----------
    spec
        A Vega-Lite spec (as from Altair's ``to_dict``), its data inline.
    title
        The page's title (plain text).

    Returns
    -------
    str
        The HTML document.
    """
    version = _vl_version()
    data = script_json(spec)
    options = script_json(EMBED_OPTIONS)
    shown = html.escape(title, quote=True)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{shown}</title>
<style>body {{ font-family: sans-serif; margin: 16px; }}</style>
<script>{_javascript(version)}</script>
</head>
<body>
<div id="chart"></div>
<noscript>{shown}: this chart needs JavaScript; the PNG beside this file shows it.</noscript>
<script>
vegaEmbed("#chart", {data}, {options}).catch(function (error) {{
  document.getElementById("chart").textContent = "The chart could not be drawn: " + error;
}});
</script>
</body>
</html>
"""


def _write(spec: dict[str, Any], png_path: Path, html_path: Path, title: str) -> None:
    from tp_assets._tables import atomic_file

    image = png(spec)
    document = _page(spec, title)
    with atomic_file(Path(png_path)) as f:
        f.write(image)
    with atomic_file(Path(html_path), "w") as f:
        f.write(document)
