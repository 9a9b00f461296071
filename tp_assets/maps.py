"""The leaders' map: one self-contained, offline HTML file per scenario (folium).

The only module that imports folium. Leaflet and its marker-cluster plugin are
inlined from files shipped with the package (``tp_assets/static``, from the npm
registry's ``leaflet`` 1.9.4 and ``leaflet.markercluster`` 1.5.3), so the map opens
with a double-click on a machine with no internet; the OpenStreetMap base layer
shows only where tiles can be reached. Every text from the registers is
HTML-escaped. Zone outlines are simplified to :data:`SIMPLIFY_M` metres and
coordinates rounded to :data:`COORD_DECIMALS` decimals (about 1 m) to keep the file
small.
"""

from __future__ import annotations

import base64
import html
import json
import re
from importlib import resources
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from tp_assets import access, settings
from tp_assets._tables import atomic_file
from tp_assets.estate import Estate
from tp_assets.finance import format_gbp
from tp_assets.optimise.problem import Plan
from tp_assets.savings import Savings
from tp_assets.scenario import Scenario

#: Display simplification of zone polygons (metres) and coordinate rounding (degrees).
SIMPLIFY_M = 10.0
COORD_DECIMALS = 5

DECISION_STYLE = {  # decision -> (colour, layer name)
    "dispose": ("#d7301f", "Sites to dispose of"),
    "receives": ("#2171b5", "Sites receiving services"),
    "retain": ("#636363", "Sites kept as they are"),
}
SHAPES = ("circle", "square", "diamond", "triangle", "hexagon", "star", "pentagon", "cross")
MINUTE_BANDS = ((5, "#1a9850"), (10, "#91cf60"), (15, "#d9ef8b"), (20, "#fee08b"),
                (30, "#fc8d59"), (np.inf, "#d73027"))


#: Characters folium's JavaScript template strings would act on (popups and tooltips
#: are written as `...` literals), as HTML character references.
_JS_TEMPLATE = str.maketrans({"`": "&#96;", "$": "&#36;", "\\": "&#92;"})


def _e(value: object) -> str:
    """Escape register text for HTML and for folium's JavaScript template strings.

    Popups and tooltips are written into `...` literals: a ``${...}`` in a name must
    not run, nor a backslash break the page.
    """
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    return html.escape(str(value), quote=True).translate(_JS_TEMPLATE)


def _label(service_type: str) -> str:
    """Plain-English label of a service type (``gp``: GP, ``community_hall``: Community hall)."""
    return service_type.upper() if len(service_type) <= 3 else \
        service_type.replace("_", " ").capitalize()


def lonlat(geoms: gpd.GeoSeries) -> gpd.GeoSeries:
    """Geometries in longitude and latitude, rounded to :data:`COORD_DECIMALS` decimals."""
    out = geoms.to_crs("EPSG:4326")
    return out.set_precision(10.0 ** -COORD_DECIMALS)


def _band_colour(minutes: float) -> str:
    for limit, colour in MINUTE_BANDS:
        if minutes <= limit:
            return colour
    return MINUTE_BANDS[-1][1]


def build_map(estate: Estate, times: dict[str, access.TravelTimes], scenario: Scenario,
              plan: Plan, savings: Savings, access_table: pd.DataFrame,
              minutes: dict[str, tuple[np.ndarray, np.ndarray]], *,
              isochrone_service: str | None = None,
              cache_dir: str | Path | None = None) -> str:
    """Build the leaders' map of a run as one self-contained HTML page.

    Parameters
    ----------
    estate, times, scenario, plan, savings, access_table
        The run (see :mod:`tp_assets.pipeline`).
    minutes
        Service type -> (minutes today, minutes with the plan) per zone
        (:func:`tp_assets.access.minutes_before_after`).
    isochrone_service
        Service type whose kept sites get isochrones (its standard's minutes and
        mode); default the library standard if any, else the first standard.
    cache_dir
        Cache folder of the street network (see :func:`tp_assets.access.read_network`).

    Returns
    -------
    str
        The HTML document (offline: Leaflet inlined, no external scripts).
    """
    import folium
    from folium import plugins

    sites = estate.sites.merge(savings.sites[["site_id", "decision", "annual_saving_gbp_pa",
                                              "receipts_net_gbp", "npv_gbp", "vacate_year",
                                              "vacate_fin_year", "one_off_cost_gbp",
                                              "electricity_kwh_saved_pa",
                                              "heat_kwh_saved_pa", "tco2e_saved_pa"]],
                               on="site_id")
    area = estate.boundary if estate.boundary is not None else shapely.union_all(
        estate.zones.geometry.to_numpy()).convex_hull
    centre = gpd.GeoSeries([area.centroid], crs=settings.WORKING_CRS).to_crs("EPSG:4326")[0]
    fmap = folium.Map(location=[centre.y, centre.x], zoom_start=13, tiles=None,
                      control_scale=True, max_zoom=19, maxZoom=19)
    tiles = folium.TileLayer("OpenStreetMap", name="Street map (OpenStreetMap, needs internet)",
                             show=False)
    tiles.add_to(fmap)
    _boundary(fmap, area, folium)
    zone_layers = _access_layers(fmap, estate, times, scenario, minutes, folium)
    _isochrones(fmap, estate, times, scenario, plan, isochrone_service, folium, cache_dir)
    _moves(fmap, estate, savings, folium)
    if scenario.energy.active:
        _measures(fmap, estate, savings, folium)
    owners = {o: SHAPES[k % len(SHAPES)] for k, o in enumerate(sorted(set(sites["owner"])))}
    _sites(fmap, estate, sites, savings.moves, owners, folium, plugins)
    folium.LayerControl(collapsed=False, position="topright").add_to(fmap)
    root: Any = fmap.get_root()
    root.title = _e(f"{scenario.name}: the plan (tp-assets)")
    root.header.add_child(folium.Element(f"<style>{_CSS}</style>"))
    root.html.add_child(folium.Element(_legend(owners, scenario.energy.active)))
    # the legend names the zone layer shown (none at first: the map opens on the decisions)
    root.script.add_child(folium.Element(
        f"window.addEventListener('load', function () {{ var zones = {json.dumps(zone_layers)},"
        " shown = [];"
        " function say() { var el = document.getElementById('tpa-shown');"
        " if (el) { el.textContent = shown.length ? shown.join('; ') : "
        f"{json.dumps(NO_ZONE_LAYER)}; }} }}"
        f" {fmap.get_name()}.on('overlayadd', function (e) {{ if (zones.indexOf(e.name) >= 0"
        " && shown.indexOf(e.name) < 0) { shown.push(e.name); say(); } });"
        f" {fmap.get_name()}.on('overlayremove', function (e) {{ var k = shown.indexOf(e.name);"
        " if (k >= 0) { shown.splice(k, 1); say(); } }); });"))
    root.html.add_child(folium.Element(_summary(scenario, plan, savings, access_table)))
    # show the street map only when a tile can be fetched (offline it stays off)
    root.script.add_child(folium.Element(
        "(function () { var probe = new Image(); probe.onload = function () { "
        f"{tiles.get_name()}.addTo({fmap.get_name()}); }}; "
        'probe.src = "https://tile.openstreetmap.org/0/0/0.png"; })();'))
    return _offline(root.render())


def _boundary(fmap: Any, area: shapely.Geometry, folium: Any) -> None:
    geo = lonlat(gpd.GeoSeries([area], crs=settings.WORKING_CRS))
    folium.GeoJson(json.loads(geo.to_json()), name="Place boundary",
                   style_function=lambda _: {"color": "#252525", "weight": 2, "fill": False,
                                             "dashArray": "6 4"}).add_to(fmap)


#: A cluster of sites takes its layer's decision colour (Leaflet's default green, yellow
#: and orange by count would hide the decisions at the opening zoom).
_CLUSTER_ICON = """function (cluster) {
    return L.divIcon({html: '<div class="tpa-cluster" style="background:COLOUR">'
        + cluster.getChildCount() + '</div>', className: '', iconSize: L.point(26, 26)});
}"""


def _sites(fmap: Any, estate: Estate, sites: pd.DataFrame, moves: pd.DataFrame,
           owners: dict[str, str], folium: Any, plugins: Any) -> None:
    services = estate.services.set_index("service_id")
    before = estate.services.groupby("site_id")["service_id"].apply(list)
    names = dict(zip(sites["site_id"], sites["name"], strict=True))
    pts = lonlat(sites.geometry)
    groups = {d: plugins.MarkerCluster(
        name=label, icon_create_function=_CLUSTER_ICON.replace("COLOUR", colour),
        options={"maxClusterRadius": 30, "disableClusteringAtZoom": 15})
        for d, (colour, label) in DECISION_STYLE.items()}
    rows: list[Any] = list(sites.itertuples())
    for row, point in zip(rows, pts, strict=True):
        colour = DECISION_STYLE[row.decision][0]
        shape = owners[row.owner]
        icon = folium.DivIcon(html=f'<div class="tpa-site tpa-{shape}" style="--c:{colour}" '
                              f'data-site="{_e(row.site_id)}"></div>', icon_size=(16, 16),
                              icon_anchor=(8, 8))
        popup = folium.Popup(_popup(row, services, before.get(row.site_id, []), moves, names),
                             max_width=360)
        folium.Marker([point.y, point.x], icon=icon, popup=popup,
                      tooltip=_e(row.name)).add_to(groups[row.decision])
    for group in groups.values():
        group.add_to(fmap)


def _site_text(site_id: str, names: dict[str, str]) -> str:
    """``S130 Lewisham Library``, escaped."""
    return f"{_e(site_id)} {_e(names.get(site_id, ''))}".strip()


def _popup(row: Any, services: pd.DataFrame, before: list[str], moves: pd.DataFrame,
           site_names: dict[str, str]) -> str:
    """A site's popup: decision, costs and savings, its services and where they go."""
    def service(i: str) -> str:
        return (f"{_e(services.loc[i, 'name'] or i)} ({_e(services.loc[i, 'service_type'])}, "
                f"{_e(services.loc[i, 'owner'])})")

    def listed(items: list[str]) -> str:
        return "".join(f"<li>{item}</li>" for item in items) or "<li>none</li>"

    def share(m: Any) -> str:
        return f", {m.share:.0%}" if m.share < 1 else ""

    out = moves[moves["from_site"] == row.site_id]
    into = moves[moves["to_site"] == row.site_id]
    left = out.groupby("service_id")["share"].sum()  # a split service may partly stay
    staying = [service(i) + (f", {1 - left.get(i, 0.0):.0%}" if left.get(i, 0.0) > 0 else "")
               for i in before if left.get(i, 0.0) < 1 - 1e-9]
    going = [f"{service(m.service_id)} to {_site_text(m.to_site, site_names)}{share(m)}"
             for m in out.itertuples()]
    coming = [f"{service(m.service_id)} from {_site_text(m.from_site, site_names)}{share(m)}"
              for m in into.itertuples()]

    lease = (f"leasehold, can be vacated from {pd.Timestamp(row.lease_end).date()}"
             if row.tenure == "leasehold" and not pd.isna(row.lease_end) else _e(row.tenure))
    estimated = row.energy_source == "benchmark"
    energy = (f"{(row.electricity_kwh_saved_pa + row.heat_kwh_saved_pa) / 1000:,.0f} MWh/yr, "
              f"{row.tco2e_saved_pa:,.1f} tCO2e/yr"
              + (' <span class="tpa-est">(estimated: CIBSE TM46 benchmark)</span>'
                 if estimated else " (metered)"))
    decision = {"dispose": "Dispose of", "receives": "Keep: receives services",
                "retain": "Keep as it is"}[row.decision]
    starts = f" from {row.vacate_fin_year}" if row.decision == "dispose" else ""
    one_off = (f"<tr><th>One-off cost of the moves in</th><td>{format_gbp(-row.one_off_cost_gbp)}"
               "</td></tr>" if row.one_off_cost_gbp else "")
    lists = (f"<p>Services today, all moving out:</p><ul>{listed(going)}</ul>"
             if row.decision == "dispose" else
             f"<p>Services staying:</p><ul>{listed(staying)}</ul>"
             + (f"<p>Services leaving:</p><ul>{listed(going)}</ul>" if going else "")
             + (f"<p>Services coming in:</p><ul>{listed(coming)}</ul>" if coming else ""))
    return (f'<div class="tpa-popup"><h4>{_e(row.name)}</h4>'
            f"<p>Site {_e(row.site_id)}: <b>{decision}</b></p><table>"
            f"<tr><th>Owner</th><td>{_e(row.owner)}</td></tr>"
            f"<tr><th>Tenure</th><td>{lease}</td></tr>"
            f"<tr><th>Floor area</th><td>{row.gia_m2:,.0f} m2 GIA</td></tr>"
            f'<tr><th>Annual saving</th><td class="tpa-saving">'
            f"{format_gbp(row.annual_saving_gbp_pa)}/yr{starts}</td></tr>"
            f"<tr><th>Receipt (net)</th><td>{format_gbp(row.receipts_net_gbp)}</td></tr>"
            f"{one_off}"
            f"<tr><th>Energy and carbon saved</th><td>{energy}</td></tr></table>"
            f"{lists}</div>")


def _moves(fmap: Any, estate: Estate, savings: Savings, folium: Any) -> None:
    layer = folium.FeatureGroup(name="Service moves (old site to new)", show=True)
    pts = lonlat(estate.sites.set_index("site_id").geometry)
    names = dict(zip(estate.sites["site_id"], estate.sites["name"], strict=True))
    moves: list[Any] = list(savings.moves.itertuples())
    for m in moves:
        a, b = pts[m.from_site], pts[m.to_site]
        label = (f"{_e(m.name or m.service_id)} ({_e(m.service_type)}, {_e(m.owner)}): "
                 f"{_site_text(m.from_site, names)} to {_site_text(m.to_site, names)}"
                 + (f", {m.share:.0%}" if m.share < 1 else ""))
        folium.PolyLine([[a.y, a.x], [b.y, b.x]], color="#6a3d9a", weight=2, opacity=0.8,
                        tooltip=label).add_to(layer)
    layer.add_to(fmap)


#: Name of the map layer of energy measures.
MEASURES_LAYER = "Energy measures fitted"


def _measures(fmap: Any, estate: Estate, savings: Savings, folium: Any) -> None:
    """A ring at each site that fits measures: what, when, for how much, what it saves."""
    layer = folium.FeatureGroup(name=MEASURES_LAYER, show=True)
    pts = lonlat(estate.sites.set_index("site_id").geometry)
    table = savings.measures
    for sid, rows in table.groupby("site_id", sort=True):
        first = rows.iloc[0]
        listed: list[Any] = list(rows.itertuples())
        items = "".join(
            f"<li>{_e(r.measure_name)}: {format_gbp(r.capex_gbp)}, saves "
            f"{format_gbp(r.gbp_saved_pa)}/yr and {r.tco2e_saved_first_year:,.1f} tCO2e in "
            f"its first year</li>" for r in listed)
        text = (f"<b>{_e(first.site_name)}</b> ({_e(sid)}, {_e(first.owner)})<br>Measures "
                f"fitted in {_e(first.fit_fin_year)}:<ul>{items}</ul>NPV of the measures: "
                f"{format_gbp(float(rows['npv_gbp'].sum()))}")
        point = pts[sid]
        folium.CircleMarker([point.y, point.x], radius=11, color="#1a9850", weight=3,
                            fill=False, tooltip=f"{_e(first.site_name)}: "
                            f"{_e(', '.join(rows['measure_name']))}",
                            popup=folium.Popup(text, max_width=320)).add_to(layer)
    layer.add_to(fmap)


def _access_layers(fmap: Any, estate: Estate, times: dict[str, access.TravelTimes],
                   scenario: Scenario, by_type: dict[str, tuple[np.ndarray, np.ndarray]],
                   folium: Any) -> list[str]:
    """One layer of minutes to the nearest site per standard, before and after; all hidden.

    Returns
    -------
    list of str
        The layers' names as the layer list shows them.
    """
    names = []
    zones = estate.zones[["zone_id", "geometry"]].copy()
    zones["geometry"] = zones.geometry.simplify(SIMPLIFY_M)
    zones["geometry"] = lonlat(zones.geometry)
    for t, st in sorted(scenario.standards.items(), key=lambda kv: (kv[0] != "library", kv[0])):
        tt = times[st.mode]
        m_before, m_after = by_type[t]
        label = _label(t)
        def shown(minutes: np.ndarray, cutoff: float = tt.cutoff_minutes) -> list[str]:
            return [f"{v:.0f} min" if np.isfinite(v) else f"over {cutoff:g} min"
                    for v in minutes]

        for which, minutes in (("before", m_before), ("after", m_after)):
            after = which == "after"
            change = (zone_changes(m_before, m_after, st.max_minutes) if after
                      else [""] * len(zones))
            frame = zones.assign(
                zone_id=zones["zone_id"].map(_e),  # the tooltip shows it as HTML
                minutes=np.where(np.isfinite(minutes), np.round(minutes, 1), np.nan),
                shown=shown(minutes), was=shown(m_before), change=change,
                further=after & (_minutes_longer(m_before, m_after)
                                 >= settings.MAP_FURTHER_MINUTES))
            data = json.loads(frame.to_json(na="null"))

            def style(feature: dict[str, Any], limit: float = st.max_minutes) -> dict[str, Any]:
                p = feature["properties"]
                v = p["minutes"]
                colour = _band_colour(np.inf if v is None else float(v))
                edge = {"loses access": ("#67001f", 3), "gains access": ("#00441b", 3)}.get(
                    p["change"], _FURTHER_EDGE if p["further"] else ("#ffffff", 0.3))
                return {"fillColor": colour, "fillOpacity": 0.55, "color": edge[0],
                        "weight": edge[1], "dashArray": "" if v is not None and v <= limit
                        else "2 2"}

            fields, aliases = (["zone_id", "shown", "was", "change"],
                               ["Zone", "Travel", "Before", ""]) if after else (
                ["zone_id", "shown"], ["Zone", "Travel"])
            names.append(f"{label}: minutes to nearest, {which} "
                         f"(standard {st.max_minutes:g} min {st.mode})")
            folium.GeoJson(
                data, name=names[-1], style_function=style, show=False,
                tooltip=folium.GeoJsonTooltip(fields=fields, aliases=aliases),
            ).add_to(fmap)
    return names


#: What the legend says while no zone layer is shown (as the map opens).
NO_ZONE_LAYER = ("none; tick a service's minutes, before or after, in the layer list "
                 "(top right)")

#: Outline of a zone whose trip gets settings.MAP_FURTHER_MINUTES or more longer.
_FURTHER_EDGE = ("#e08214", 2)


def zone_changes(before: np.ndarray, after: np.ndarray, limit: float) -> list[str]:
    """What the plan does to each zone's trip to the nearest site of a service type.

    Parameters
    ----------
    before, after
        Minutes to the nearest site today and with the plan (``inf``: beyond the cutoff).
    limit
        The access standard (minutes).

    Returns
    -------
    list of str
        ``"loses access"`` / ``"gains access"`` where the zone crosses the standard, else
        ``"further by 6 min"`` / ``"nearer by 3 min"`` (whole minutes; beyond the cutoff:
        ``"further: beyond the cutoff"``), else ``""``.
    """
    out = []
    for b, a in zip(before, after, strict=True):
        if (b <= limit) != (a <= limit):
            out.append("loses access" if b <= limit else "gains access")
        elif np.isfinite(b) and not np.isfinite(a):
            out.append("further: beyond the cutoff")
        elif not np.isfinite(b) and np.isfinite(a):
            out.append("nearer: now within the cutoff")
        elif np.isfinite(a) and (d := _minutes_longer(b, a)) != 0:
            out.append(f"{'further' if d > 0 else 'nearer'} by {abs(d):.0f} min")
        else:
            out.append("")
    return out


def _minutes_longer(before: Any, after: Any) -> Any:
    """Whole minutes a trip gets longer (halves up; beyond the cutoff counts as very long)."""
    return np.floor(np.nan_to_num(after, posinf=1e9) - np.nan_to_num(before, posinf=1e9)
                    + 0.5)


def _isochrones(fmap: Any, estate: Estate, times: dict[str, access.TravelTimes],
                scenario: Scenario, plan: Plan, service: str | None, folium: Any,
                cache_dir: str | Path | None) -> None:
    if not scenario.standards:
        return
    if service is None:
        service = "library" if "library" in scenario.standards else sorted(scenario.standards)[0]
    st = scenario.standards[service]
    placed = plan.assignment.merge(estate.services[["service_id", "service_type"]],
                                   on="service_id")
    hosts = sorted(set(placed.loc[placed["service_type"] == service, "site_id"]))
    geo = estate.sites.set_index("site_id").geometry
    network = None
    if times[st.mode].method == "network" and scenario.network.source != "straight_line":
        network = access.read_network(scenario.network, estate, mode=st.mode,
                                      cache_dir=cache_dir)
    shapes = []
    for sid in hosts:
        p = geo[sid]
        if network is not None:
            shapes.append(access.isochrone(network, p.x, p.y, st.max_minutes, mode=st.mode))
        else:
            speed = settings.MODE_SPEEDS_KMH.get(st.mode, settings.WALK_SPEED_KMH)
            shapes.append(p.buffer(access.crow_fly_metres(st.max_minutes, speed)))
    if not shapes:
        return
    polys = gpd.GeoSeries(shapes, crs=settings.WORKING_CRS).simplify(SIMPLIFY_M)
    frame = gpd.GeoDataFrame({"site_id": hosts}, geometry=lonlat(polys).to_numpy(),
                             crs="EPSG:4326")
    folium.GeoJson(json.loads(frame.to_json()),
                   name=(f"{_label(service)}: areas within "
                         f"{st.max_minutes:g} min {st.mode} of kept sites"),
                   style_function=lambda _: {"color": "#08519c", "weight": 1,
                                             "fillColor": "#6baed6", "fillOpacity": 0.15},
                   show=False).add_to(fmap)


def _legend(owners: dict[str, str], measures: bool = False) -> str:
    decisions = "".join(
        f'<div><span class="tpa-site tpa-circle tpa-key" style="--c:{c}"></span>{_e(label)}'
        "</div>" for c, label in DECISION_STYLE.values())
    shapes = "".join(f'<div><span class="tpa-site tpa-{s} tpa-key" style="--c:#888"></span>'
                     f"{_e(o)}</div>" for o, s in owners.items())
    bands, low = [], 0
    for limit, colour in MINUTE_BANDS:
        text = f"{low}-{limit:g} min" if np.isfinite(limit) else f"over {low} min"
        bands.append(f'<div><span class="tpa-swatch" style="background:{colour}"></span>'
                     f"{text}</div>")
        low = int(limit) if np.isfinite(limit) else low
    return (f'<div id="tpa-legend" class="tpa-panel"><h4>Legend</h4>'
            f"<b>Decision (colour)</b>{decisions}<b>Owner (shape)</b>{shapes}"
            f"<b>Travel time to nearest site (zones)</b>"
            f'<div class="tpa-shown">Shown: <span id="tpa-shown">{_e(NO_ZONE_LAYER)}</span></div>'
            f"{''.join(bands)}"
            '<div><span class="tpa-swatch tpa-lose"></span>zone loses access (outside the '
            'standard after)</div><div><span class="tpa-swatch tpa-gain"></span>zone gains '
            'access</div><div><span class="tpa-swatch tpa-further"></span>zone\'s trip '
            f"{settings.MAP_FURTHER_MINUTES:g}+ min longer (standard not crossed)</div>"
            '<div><span class="tpa-line"></span>service move</div>'
            + ('<div><span class="tpa-site tpa-circle tpa-key" style="--c:#fff;'
               'border:3px solid #1a9850"></span>energy measures fitted (click for '
               "which)</div>" if measures else "")
            + "<div>dashed outline: outside the standard; blue areas: isochrones</div></div>")


def _summary(scenario: Scenario, plan: Plan, savings: Savings,
             access_table: pd.DataFrame) -> str:
    t = savings.totals
    standards: list[Any] = list(access_table.itertuples())
    rows = "".join(
        f"<tr><td>{_e(r.service_type.replace('_', ' '))}</td><td>{r.share_before:.1%}</td>"
        f"<td>{r.share_after:.1%}</td></tr>" for r in standards)
    gap = plan.gap_text
    payback = ("never out of pocket" if t["payback_year"] == 0 else
               f"in {t['payback_fin_year']} (year {t['payback_year']})" if t["payback_year"]
               else f"not within {scenario.finance.horizon_years} years")
    return (f'<div id="tpa-summary" class="tpa-panel"><h3>{_e(scenario.name)}</h3>'
            f"<p>{_e(scenario.description)}</p><table>"
            f"<tr><th>Annual saving</th><td>{format_gbp(t['annual_saving_gbp_pa'])}/yr</td></tr>"
            f"<tr><th>Receipts (net)</th><td>{format_gbp(t['receipts_net_gbp'])}</td></tr>"
            f"<tr><th>One-off cost</th><td>{format_gbp(-t['one_off_cost_gbp'])}</td></tr>"
            f"<tr><th>Pays back</th><td>{payback}</td></tr>"
            f"<tr><th>NPV, {scenario.finance.horizon_years} years at "
            f"{scenario.finance.discount_rate:.1%}</th><td>{format_gbp(t['npv_gbp'])}</td></tr>"
            f"<tr><th>Carbon saved</th><td>{t['tco2e_saved_pa']:,.0f} tCO2e/yr</td></tr>"
            + (_carbon_rows(scenario, t) if scenario.energy.active else "") +
            f"<tr><th>Sites kept / disposed</th><td>{t['sites_kept']} / "
            f"{t['sites_disposed']}</td></tr>"
            f"<tr><th>Solver</th><td>{_e(plan.status)}, {gap}"
            + "".join(f"<br><b>{_e(c)}</b>" for c in plan.caveats) + "</td></tr></table>"
            f'<table class="tpa-access"><tr><th>Within standard</th><th>before</th>'
            f"<th>after</th></tr>{rows}</table></div>")


def _carbon_rows(scenario: Scenario, t: dict[str, Any]) -> str:
    """The summary's energy rows: measures, their capital, emissions and the target."""
    first, last = min(t["carbon_plan_tco2e_by_year"]), max(t["carbon_plan_tco2e_by_year"])
    rows = (f"<tr><th>Energy measures</th><td>{t['measures_fitted']:,} fitted, "
            f"{format_gbp(t['measures_capex_gbp'])} capital</td></tr>"
            f"<tr><th>Emissions {first} / {last}</th><td>"
            f"{t['carbon_plan_tco2e_by_year'][first]:,.0f} / "
            f"{t['carbon_plan_tco2e_by_year'][last]:,.0f} tCO2e (no plan: "
            f"{t['carbon_baseline_tco2e_by_year'][last]:,.0f} in {last})</td></tr>")
    target = t.get("carbon_target")
    if target is not None:
        rows += (f"<tr><th>Carbon target {target['year']}</th><td>at most "
                 f"{target['allowed_tco2e']:,.0f} tCO2e: "
                 + ("met" if target["met"] else "not met")
                 + (f" (offsets at {format_gbp(target['offset_gbp_per_tco2e'])}/t)"
                    if target["offset_gbp_per_tco2e"] is not None else "") + "</td></tr>")
    if scenario.energy.carbon_value != "none":
        rows += (f"<tr><th>Carbon value (social, not cash)</th><td>"
                 f"{format_gbp(t['social_carbon_value_gbp'])}</td></tr>")
    return rows


_CSS = """
.leaflet-container { background: #f2efe9; }
.tpa-panel { position: absolute; z-index: 1000; background: rgba(255,255,255,0.94);
  padding: 8px 10px; border-radius: 6px; box-shadow: 0 1px 5px rgba(0,0,0,0.4);
  font: 12px/1.35 Arial, sans-serif; max-height: 45vh; overflow: auto; }
#tpa-summary { top: 10px; left: 50px; width: 300px; }
#tpa-legend { bottom: 60px; left: 10px; width: 240px; }
.leaflet-control-layers { font: 11px/1.3 Arial, sans-serif; max-height: 70vh;
  overflow-y: auto; }
.tpa-panel h3, .tpa-panel h4 { margin: 0 0 4px; }
.tpa-panel table { border-collapse: collapse; width: 100%; }
.tpa-panel th { text-align: left; font-weight: normal; color: #444; padding-right: 6px; }
.tpa-access td, .tpa-access th { padding: 0 4px; }
.tpa-site { width: 12px; height: 12px; background: var(--c); border: 1.5px solid #fff;
  box-shadow: 0 0 2px #000; box-sizing: border-box; }
.tpa-key { display: inline-block; margin-right: 6px; vertical-align: middle; }
.tpa-circle { border-radius: 50%; }
.tpa-square { border-radius: 1px; }
.tpa-diamond { transform: rotate(45deg) scale(0.85); }
.tpa-triangle { clip-path: polygon(50% 0, 100% 100%, 0 100%); border: none; }
.tpa-hexagon { clip-path: polygon(25% 0, 75% 0, 100% 50%, 75% 100%, 25% 100%, 0 50%);
  border: none; }
.tpa-star { clip-path: polygon(50% 0, 61% 35%, 98% 35%, 68% 57%, 79% 91%, 50% 70%, 21% 91%,
  32% 57%, 2% 35%, 39% 35%); border: none; }
.tpa-pentagon { clip-path: polygon(50% 0, 100% 38%, 82% 100%, 18% 100%, 0 38%); border: none; }
.tpa-cross { clip-path: polygon(35% 0, 65% 0, 65% 35%, 100% 35%, 100% 65%, 65% 65%, 65% 100%,
  35% 100%, 35% 65%, 0 65%, 0 35%, 35% 35%); border: none; }
.tpa-swatch { display: inline-block; width: 14px; height: 10px; margin-right: 6px;
  vertical-align: middle; border: 1px solid #999; }
.tpa-lose { border: 2px solid #67001f; } .tpa-gain { border: 2px solid #00441b; }
.tpa-further { border: 2px solid #e08214; }
.tpa-cluster { width: 26px; height: 26px; border-radius: 50%; color: #fff; font: bold 12px/26px
  Arial, sans-serif; text-align: center; border: 2px solid #fff; box-shadow: 0 0 3px #000;
  box-sizing: border-box; }
.tpa-line { display: inline-block; width: 18px; height: 0; border-top: 2px solid #6a3d9a;
  margin-right: 6px; vertical-align: middle; }
.tpa-popup h4 { margin: 0 0 4px; } .tpa-popup th { padding-right: 8px; }
.tpa-est { color: #b35806; }
.tpa-shown { font-style: italic; margin-bottom: 2px; }
"""


def static_text(name: str) -> str:
    """A file shipped in ``tp_assets/static`` (Leaflet, the report's script), as text."""
    return (resources.files("tp_assets") / "static" / name).read_text(encoding="utf-8")


def _data_uri(name: str) -> str:
    data = (resources.files("tp_assets") / "static" / "images" / name).read_bytes()
    return "data:image/png;base64," + base64.b64encode(data).decode()


def _offline(page: str) -> str:
    """Drop every external script and stylesheet; inline Leaflet and marker clusters."""
    page = re.sub(r'<script[^>]+src="https?://[^"]+"[^>]*>\s*</script>\s*', "", page)
    page = re.sub(r'<link[^>]+href="https?://[^"]+"[^>]*/?>\s*', "", page)
    css = static_text("leaflet.css")
    for image in ("layers.png", "layers-2x.png"):
        css = css.replace(f"images/{image}", _data_uri(image))
    css += static_text("MarkerCluster.css") + static_text("MarkerCluster.Default.css")
    js = static_text("leaflet.js") + "\n" + static_text("leaflet.markercluster.js")
    # folium builds popup content with jQuery's $(html)[0]; this shim does the same
    # without jQuery (the markup is ours, register text escaped; <template> is inert)
    shim = ("window.$ = window.$ || function (markup) { var t = document.createElement("
            "'template'); t.innerHTML = String(markup).trim(); "
            "return [t.content.firstElementChild]; };")
    inline = f"<style>{css}</style>\n<script>{js}\n{shim}</script>\n"
    return page.replace("<head>", "<head>\n" + inline, 1)


def write_map(page: str, path: Path) -> None:
    """Write a map file atomically (a temporary file renamed into place).

    Parameters
    ----------
    page
        The HTML.
    path
        Target, e.g. ``maps/colocation.html``.
    """
    with atomic_file(path, "w") as f:
        f.write(page)
