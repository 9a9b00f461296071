"""Generate a larger synthetic place for scale benchmarks: K copies of the demo side by side.

The place is a *sub-region* made of ``K`` copies of the embedded demo place
(``data/demo``: a synthetic estate over Lewisham's extent) laid out like
neighbouring boroughs on a grid of ``ceil(sqrt(K))`` columns, filled row by row
from the south-west, each copy offset in British National Grid metres by the
demo's extent (rounded up to 100 m) plus a small gap (:data:`GAP_M`). It is
written in the schema of ``data/demo`` (data/README.md), so every tp-assets
command reads it:

- ``sites.csv``, ``services.csv``: the demo's rows, once per copy. Ids are
  prefixed by the copy (site ``S001`` of copy 3 is ``C03S001``; services and
  zones likewise) and names get a suffix (``" (3)"``). Owners keep the demo's
  names, as a sub-region shares its NHS, police, fire, DWP, probation and
  voluntary-sector owners, except the council (:data:`PER_COPY_OWNERS`), which
  becomes one council per copy: ``London Borough of Lewisham 3``.
- Numbers are perturbed per copy so that copies are not identical (identical
  copies make the optimisation highly symmetric): each site's floor areas
  (``gia_m2``, ``capacity_m2``) and the area and FTE of the services in it share
  one factor U(0.9, 1.1), so occupancy is kept; each cost, value and energy figure
  of a site gets its own factor U(0.9, 1.1); each zone's population and demand
  columns share one. Blank cells stay blank (energy blank is estimated from
  CIBSE TM46 on loading), zeros stay zero, dates and statuses are kept. Sites
  move by up to :data:`SITE_JITTER_M` metres; zones, boundary and network are
  translated exactly.
- ``network_walk.graphml.gz``: the copies' walk networks merged into one osmnx
  GraphML (graph attributes such as ``crs`` kept; node ids offset per copy:
  node 17 of copy 3 is 300017; ``x``/``y`` shifted; edge ``length`` kept; edge
  ``osmid`` offset per copy). Neighbouring copies are joined across each seam by
  two-way links (``name`` "Seam link ...") between the nearest nodes near the
  seam, one per :data:`SEAM_LINK_SPACING_M` of seam, ``length`` the straight
  distance, so the network is one strongly connected component.
- ``boundary.geojson``: the union of the shifted outlines and, across each seam,
  the convex hull of the two outlines' parts near it: one polygon (with holes
  where four copies meet).
- ``place.toml``, and ``colocation.toml``: ``optimisation/colocation.toml`` with
  ``place = "."`` and ``name = "colocation_x{K}"`` (its text otherwise as is,
  comments included).

Each copy draws from its own generator, ``numpy.random.default_rng([seed, copy])``,
so copy 3 has the same numbers whatever ``K``; the network does not depend on the
seed. Same arguments, byte-identical files.

Caveat: the demo's outline sits inside a larger network extent, so neighbouring
outlines are at least about 1.4 km apart. Under the colocation standards (at most
30 minutes' walk, ``max_move_minutes = 30``) no zone reaches a site of another copy
(nearest such trip: 36.6 minutes for K = 2) and no service can move to another
copy: the optimisation is K nearly independent blocks, coupled only by owner-wide
caps (``[caps]``), not a sub-region whose residents cross borough borders.

Run from the repository root (write places outside the repository; do not commit them)::

    .venv/bin/python benchmarks/make_place.py --copies 4 --out /tmp/place_x4 [--seed N]
    .venv/bin/tp-assets validate /tmp/place_x4/colocation.toml
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape, quoteattr

import networkx as nx
import numpy as np
import pandas as pd
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from tp_assets._tables import read_csv_cells, read_table
from tp_assets._toml import read_toml
from tp_assets.estate import PLACE_KEYS

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "data" / "demo"
SCENARIO = ROOT / "optimisation" / "colocation.toml"

DEFAULT_SEED = 20261127
"""Seed of the per-copy generators when ``--seed`` is not given."""

CRS = "EPSG:27700"
GAP_M = 100.0
"""Gap between the extents of neighbouring copies, metres."""
TILE_ROUND_M = 100.0
"""The demo's extent is rounded up to this, so that offsets are whole metres."""
PERTURB = 0.1
"""Numbers are multiplied by U(1 - PERTURB, 1 + PERTURB)."""
SITE_JITTER_M = 5.0
"""Sites move by up to this in x and in y, metres (uniform)."""
SEAM_STRIP_M = 300.0
"""Nodes this near a copy's side may be joined across its seam, metres."""
SEAM_LINK_SPACING_M = 1000.0
"""One seam link per this length of seam, metres."""
BRIDGE_BAND_M = 2000.0
"""The boundary bridges a seam with the hull of both outlines' parts this near it."""
PER_COPY_OWNERS: tuple[str, ...] = ("London Borough of Lewisham",)
"""Owners that become one organisation per copy (``<owner> <copy>``); others are shared."""

AREA_COLUMNS = {"gia_m2": 0, "capacity_m2": 0}
"""Site columns scaled by the site's area factor, with the decimals they are rounded to."""
VALUE_COLUMNS = {"rent_gbp_pa": -2, "rates_gbp_pa": -2, "fm_gbp_pa": -2, "backlog_gbp": -3,
                 "market_value_gbp": -4, "electricity_kwh_pa": 0, "heat_kwh_pa": 0}
"""Site columns each scaled by a factor of their own, with the decimals they are rounded to."""
SERVICE_COLUMNS = {"area_m2": 0, "fte": 1}
"""Service columns scaled by their site's area factor, with decimals."""

PLACE_TOML = """\
# Synthetic scale-benchmark place: {copies} {copy_word} of the embedded demo place (data/demo)
# side by side, {columns} to a row. SYNTHETIC: not real data.
# Generated by: python benchmarks/make_place.py --copies {copies} --seed {seed} --gap {gap:g}
name = "Synthetic sub-region x{copies} (copies of the Lewisham demo place)"
description = "{copies} {copy_word} of the demo place side by side (seed {seed}): {sites} sites, \
{services} services; {zones} zones, {population:,} residents. Not real data."
crs = "{crs}"          # CRS of the x/y columns in the CSV tables
boundary = "boundary.geojson"
network = "network_walk.graphml.gz"
sites = "sites.csv"
services = "services.csv"
zones = "zones.geojson"
"""


@dataclass
class Demo:
    """The demo place as read, before copying.

    Attributes
    ----------
    sites, services
        CSV cells as text (blanks kept).
    zones
        Zone attribute columns.
    zone_geometry
        Zone polygons, EPSG:27700, one per row of `zones`.
    boundary
        The place's outline, EPSG:27700.
    graph
        The walk network (osmnx MultiDiGraph, EPSG:27700).
    extent
        (min x, min y, max x, max y) of every layer together, metres.
    """

    sites: pd.DataFrame
    services: pd.DataFrame
    zones: pd.DataFrame
    zone_geometry: np.ndarray
    boundary: shapely.Geometry
    graph: nx.MultiDiGraph
    extent: tuple[float, float, float, float]


@dataclass(frozen=True)
class Layout:
    """Where each copy goes: a grid of ``columns``, filled row by row from the south-west.

    Attributes
    ----------
    copies
        Number of copies.
    columns
        Copies per row.
    pitch_x, pitch_y
        Distance between the origins of neighbouring copies, metres.
    """

    copies: int
    columns: int
    pitch_x: float
    pitch_y: float

    def cell(self, copy: int) -> tuple[int, int]:
        """Column and row of a copy (1-based copy number)."""
        return (copy - 1) % self.columns, (copy - 1) // self.columns

    def offset(self, copy: int) -> tuple[float, float]:
        """Offset (dx, dy) in metres of a copy (1-based copy number)."""
        col, row = self.cell(copy)
        return col * self.pitch_x, row * self.pitch_y

    def seams(self) -> Iterator[tuple[int, int, str]]:
        """Pairs of neighbouring copies ``(a, b, side)``: b lies east or north of a."""
        for a in range(1, self.copies + 1):
            col, _ = self.cell(a)
            if col + 1 < self.columns and a + 1 <= self.copies:
                yield a, a + 1, "east"
            if a + self.columns <= self.copies:
                yield a, a + self.columns, "north"


# --------------------------------------------------------------------------- reading


def _table_path(manifest: dict[str, Any], role: str) -> Path:
    """Path of a table named in the demo's ``place.toml`` (a string or a table with path)."""
    entry = manifest[role]
    return DEMO / (entry if isinstance(entry, str) else entry["path"])


def read_demo() -> Demo:
    """Read the demo place with the project's own readers.

    Returns
    -------
    Demo
        Its tables, boundary, network and overall extent.

    Raises
    ------
    SystemExit
        The demo is not laid out as this script expects (x/y CSVs in EPSG:27700).
    """
    import osmnx as ox  # slow import: only where the network is read

    manifest, _ = read_toml(DEMO / "place.toml")
    if str(manifest.get("crs")) != CRS or any(
            not isinstance(manifest[r], str) for r in ("sites", "services", "zones")):
        raise SystemExit(f"{DEMO / 'place.toml'}: expected x/y CSV tables in {CRS}")
    sites = read_csv_cells(_table_path(manifest, "sites")).reset_index(drop=True)
    services = read_csv_cells(_table_path(manifest, "services")).reset_index(drop=True)
    zones = read_table(_table_path(manifest, "zones"))
    boundary = shapely.union_all(
        read_table(DEMO / str(manifest["boundary"])).geometry.dropna().to_numpy())
    graph = ox.load_graphml(DEMO / str(manifest["network"]))
    if graph.graph.get("crs") != CRS:
        raise SystemExit(f"demo network: expected crs {CRS}, found {graph.graph.get('crs')}")
    xy = np.array([(d["x"], d["y"]) for _, d in graph.nodes(data=True)])
    site_xy = sites[["x", "y"]].astype(float).to_numpy()
    bounds = np.array([(*xy.min(axis=0), *xy.max(axis=0)),
                       (*site_xy.min(axis=0), *site_xy.max(axis=0)),
                       tuple(zones.geometry.total_bounds), boundary.bounds])
    extent = (float(bounds[:, 0].min()), float(bounds[:, 1].min()),
              float(bounds[:, 2].max()), float(bounds[:, 3].max()))
    return Demo(sites=sites, services=services, zones=zones.cells,
                zone_geometry=zones.geometry.to_numpy(), boundary=boundary, graph=graph,
                extent=extent)


def layout(demo: Demo, copies: int, gap_m: float = GAP_M) -> Layout:
    """Grid of ``ceil(sqrt(copies))`` columns, pitched by the demo's extent plus ``gap_m``.

    Parameters
    ----------
    demo
        The demo place.
    copies
        Number of copies.
    gap_m
        Gap between the extents of neighbouring copies, metres.
    """
    x0, y0, x1, y1 = demo.extent
    width = math.ceil((x1 - x0) / TILE_ROUND_M) * TILE_ROUND_M
    height = math.ceil((y1 - y0) / TILE_ROUND_M) * TILE_ROUND_M
    return Layout(copies, math.ceil(math.sqrt(copies)), width + gap_m, height + gap_m)


# --------------------------------------------------------------------------- tables


def _scaled(cells: pd.Series, factor: np.ndarray, decimals: int) -> list[str]:
    """Multiply text cells by ``factor``, round to ``decimals``; blanks stay blank.

    A cell written with a decimal point (``9500.0``) is written back as a float,
    one without as an integer, as in the demo's files.
    """
    out = []
    for cell, f in zip(cells, factor, strict=True):
        text = cell.strip()
        if text == "":
            out.append("")
            continue
        value = round(float(text) * float(f), decimals)
        out.append(repr(float(value)) if "." in text else str(int(value)))
    return out


def _prefix(copy: int, copies: int) -> str:
    """Id prefix of a copy: ``C03`` (at least two digits)."""
    return f"C{copy:0{max(2, len(str(copies)))}d}"


def _copy_word(copies: int) -> str:
    return "copy" if copies == 1 else "copies"


def _owner(owner: str, copy: int) -> str:
    return f"{owner} {copy}" if owner in PER_COPY_OWNERS else owner


def copy_tables(demo: Demo, copy: int, copies: int, offset: tuple[float, float],
                rng: np.random.Generator
                ) -> tuple[pd.DataFrame, pd.DataFrame, list[dict[str, Any]]]:
    """One copy's sites, services and zone features.

    Parameters
    ----------
    demo
        The demo place.
    copy
        Copy number, 1-based.
    copies
        Number of copies (sets the width of the id prefix).
    offset
        (dx, dy) of the copy, metres.
    rng
        The copy's generator. Draws, in order: site area factors, site value
        factors (sites x :data:`VALUE_COLUMNS`), site jitter (sites x 2), zone factors.

    Returns
    -------
    sites, services
        Text cells.
    zones
        GeoJSON-ready features (properties and a ``geometry``).
    """
    dx, dy = offset
    tag, suffix = _prefix(copy, copies), f" ({copy})"
    s, v = demo.sites.copy(), demo.services.copy()
    n = len(s)
    area = rng.uniform(1 - PERTURB, 1 + PERTURB, n)
    value = rng.uniform(1 - PERTURB, 1 + PERTURB, (n, len(VALUE_COLUMNS)))
    jitter = rng.uniform(-SITE_JITTER_M, SITE_JITTER_M, (n, 2))
    zone_factor = rng.uniform(1 - PERTURB, 1 + PERTURB, len(demo.zones))

    for column, decimals in AREA_COLUMNS.items():
        s[column] = _scaled(s[column], area, decimals)
    for j, (column, decimals) in enumerate(VALUE_COLUMNS.items()):
        s[column] = _scaled(s[column], value[:, j], decimals)
    for j, (column, shift) in enumerate((("x", dx), ("y", dy))):
        s[column] = [repr(round(float(c) + shift + float(jit), 1))
                     for c, jit in zip(s[column], jitter[:, j], strict=True)]
    site_factor = pd.Series(area, index=demo.sites["site_id"])
    v_area = site_factor.loc[v["site_id"]].to_numpy()
    for column, decimals in SERVICE_COLUMNS.items():
        v[column] = _scaled(v[column], v_area, decimals)
    for frame in (s, v):
        frame["owner"] = [_owner(o, copy) for o in frame["owner"]]
        frame["site_id"] = tag + frame["site_id"]
        frame["name"] = [f"{x}{suffix}" if x.strip() else x for x in frame["name"]]
    v["service_id"] = tag + v["service_id"]

    zones = []
    demand = [c for c in demo.zones.columns if c.startswith(("pop_", "demand_"))]
    zone_shift = np.array([dx, dy])
    geoms = shapely.transform(demo.zone_geometry, lambda c: np.round(c + zone_shift, 1))
    for i, row in enumerate(demo.zones.to_dict("records")):
        f = float(zone_factor[i])
        props: dict[str, Any] = {}
        for name, val in row.items():
            key = str(name)
            if key == "zone_id":
                props[key] = f"{tag}{val}"
            elif key == "name":
                props[key] = f"{val}{suffix}" if val else val
            elif key == "population" or key in demand:
                props[key] = None if pd.isna(val) else round(float(val) * f)
            elif key in ("pwc_x", "pwc_y"):
                props[key] = None if pd.isna(val) else round(
                    float(val) + (dx if key == "pwc_x" else dy), 1)
            else:
                props[key] = val.item() if isinstance(val, np.generic) else val
        bands = [c for c in demand if c.startswith("pop_")]
        if bands and not pd.isna(row["population"]) and sum(
                row[c] for c in bands) == row["population"]:
            props["population"] = sum(props[c] for c in bands)  # bands still add up
        props["geometry"] = geoms[i]
        zones.append(props)
    return s, v, zones


def write_geojson(features: list[dict[str, Any]], path: Path, name: str) -> None:
    """Write EPSG:27700 features as compact, deterministic GeoJSON.

    Parameters
    ----------
    features
        Properties with a shapely ``geometry``.
    path
        Output file.
    name
        The collection's name.
    """
    out: dict[str, Any] = {
        "type": "FeatureCollection", "name": name,
        "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::27700"}},
        "features": []}
    for f in features:
        props = {k: v for k, v in f.items() if k != "geometry"}
        geom = json.loads(shapely.to_geojson(f["geometry"]))
        out["features"].append({"type": "Feature", "properties": props, "geometry": geom})
    path.write_text(json.dumps(out, separators=(",", ":")) + "\n", encoding="utf-8")


def sub_region_boundary(demo: Demo, grid: Layout) -> shapely.Geometry:
    """Union of the shifted outlines, bridged across every seam.

    A seam is bridged by the convex hull of the two outlines' parts within
    :data:`BRIDGE_BAND_M` of it (or, where one has none, their shortest link
    buffered by 250 m), so the result is one polygon.

    Parameters
    ----------
    demo
        The demo place.
    grid
        The layout.
    """
    x0, y0, x1, y1 = demo.extent
    parts = {c: shapely.transform(demo.boundary, lambda xy, c=c: xy + grid.offset(c))
             for c in range(1, grid.copies + 1)}
    pieces = list(parts.values())
    for a, b, side in grid.seams():
        ax, ay = grid.offset(a)
        if side == "east":
            near_a = shapely.box(ax + x1 - BRIDGE_BAND_M, -1e7, ax + x1, 1e7)
            near_b = shapely.box(ax + grid.pitch_x + x0, -1e7,
                                 ax + grid.pitch_x + x0 + BRIDGE_BAND_M, 1e7)
        else:
            near_a = shapely.box(-1e7, ay + y1 - BRIDGE_BAND_M, 1e7, ay + y1)
            near_b = shapely.box(-1e7, ay + grid.pitch_y + y0, 1e7,
                                 ay + grid.pitch_y + y0 + BRIDGE_BAND_M)
        pa, pb = parts[a].intersection(near_a), parts[b].intersection(near_b)
        if pa.is_empty or pb.is_empty:
            pieces.append(shapely.shortest_line(parts[a], parts[b]).buffer(250.0))
        else:
            pieces.append(shapely.union_all([pa, pb]).convex_hull)
    merged = shapely.union_all(pieces)
    return shapely.set_precision(merged, 1.0)


# --------------------------------------------------------------------------- network


@dataclass
class SeamLink:
    """A two-way link between two nodes of neighbouring copies.

    Attributes
    ----------
    u, v
        Node ids in the merged graph.
    length_m
        Straight distance, rounded up to the centimetre.
    name
        Street name written on the edge.
    """

    u: int
    v: int
    length_m: float
    name: str


def _id_step(values: np.ndarray) -> int:
    """Smallest power of ten above the largest value (ids of copy k: k * step + id)."""
    return int(10 ** math.ceil(math.log10(float(values.max()) + 1)))


def seam_links(demo: Demo, grid: Layout, node_step: int) -> list[SeamLink]:
    """Link the nearest nodes across every seam, one link per band of the seam.

    Nodes within :data:`SEAM_STRIP_M` of the facing sides of two neighbouring
    copies are grouped in bands of :data:`SEAM_LINK_SPACING_M` along the seam; in
    each band the closest pair is linked.

    Parameters
    ----------
    demo
        The demo place.
    grid
        The layout.
    node_step
        Node id offset per copy.
    """
    ids = np.array(list(demo.graph.nodes), dtype=np.int64)
    xy = np.array([(d["x"], d["y"]) for _, d in demo.graph.nodes(data=True)])
    x0, y0, x1, y1 = demo.extent
    links = []
    for a, b, side in grid.seams():
        axis = 0 if side == "east" else 1
        hi, lo = (x1, x0) if side == "east" else (y1, y0)
        pitch = grid.pitch_x if side == "east" else grid.pitch_y
        in_a = np.flatnonzero(xy[:, axis] >= hi - SEAM_STRIP_M)
        in_b = np.flatnonzero(xy[:, axis] <= lo + SEAM_STRIP_M)
        along = 1 - axis
        start = (y0, x0)[along]
        band_a = np.floor((xy[in_a, along] - start) / SEAM_LINK_SPACING_M).astype(int)
        band_b = np.floor((xy[in_b, along] - start) / SEAM_LINK_SPACING_M).astype(int)
        shift = np.zeros(2)
        shift[axis] = pitch  # b's nodes in a's frame
        for band in sorted(set(band_a) & set(band_b)):
            pa, pb = in_a[band_a == band], in_b[band_b == band]
            d = np.linalg.norm(xy[pa, None, :] - (xy[pb, :] + shift)[None, :, :], axis=2)
            i, j = np.unravel_index(int(np.argmin(d)), d.shape)
            links.append(SeamLink(
                u=a * node_step + int(ids[pa[i]]), v=b * node_step + int(ids[pb[j]]),
                length_m=math.ceil(float(d[i, j]) * 100.0) / 100.0,
                name=f"Seam link {_prefix(a, grid.copies)}-{_prefix(b, grid.copies)}"))
    return links


def _keys(items: Iterator[dict[str, Any]]) -> list[str]:
    """Attribute names in the order first seen."""
    seen: dict[str, None] = {}
    for attrs in items:
        seen.update(dict.fromkeys(attrs))
    return list(seen)


def _text(value: object) -> str:
    """A GraphML data value as osmnx's ``save_graphml`` writes it (``str``)."""
    return escape(str(value))


def _offset_osmid(osmid: int | list[int], step: int) -> int | list[int]:
    """Offset an edge's ``osmid`` (an int, or a list for merged ways)."""
    if isinstance(osmid, list):
        return [int(o) + step for o in osmid]
    return int(osmid) + step


def write_network(demo: Demo, grid: Layout, path: Path) -> tuple[int, int, int]:
    """Write the merged network as gzipped GraphML, streaming copy by copy.

    The layout is what ``osmnx.save_graphml`` writes (every value as text,
    graph attributes kept), so ``osmnx.load_graphml`` reads it back with the
    usual dtypes; it is written here rather than through networkx so that
    20 copies (about 470,000 nodes) take seconds and little memory. gzip gets
    ``mtime=0`` and no file name, so output is byte-reproducible.

    Parameters
    ----------
    demo
        The demo place.
    grid
        The layout.
    path
        Output ``.graphml.gz``.

    Returns
    -------
    nodes, edges, seam_links
        Counts in the merged graph (edges directed; each seam link is two edges).

    Raises
    ------
    RuntimeError
        If the merged network is not one strongly connected component.
    """
    g = demo.graph
    node_step = _id_step(np.array(list(g.nodes), dtype=np.int64))
    osmids = np.array([o for _, _, o in g.edges(data="osmid")
                       for o in (o if isinstance(o, list) else [o])], dtype=np.int64)
    osmid_step = _id_step(osmids - osmids.min())
    links = seam_links(demo, grid, node_step)
    extra_degree: dict[int, int] = {}
    for link in links:
        for node in (link.u, link.v):
            extra_degree[node] = extra_degree.get(node, 0) + 1

    graph_keys = list(g.graph)
    graph_attrs = {**g.graph, "name": f"tp-assets synthetic sub-region: {grid.copies} "
                   f"{_copy_word(grid.copies)} "
                   "of the demo walk network (NOT real streets)"}
    node_keys = _keys(d for _, d in g.nodes(data=True))
    edge_keys = _keys(d for _, _, d in g.edges(data=True))
    edge_keys += [k for k in ("length", "reversed", "osmid", "highway", "oneway", "name")
                  if k not in edge_keys]
    ids: dict[tuple[str, str], str] = {}
    header = ["<?xml version='1.0' encoding='utf-8'?>",
              '<graphml xmlns="http://graphml.graphdrawing.org/xmlns" '
              'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
              'xsi:schemaLocation="http://graphml.graphdrawing.org/xmlns '
              'http://graphml.graphdrawing.org/xmlns/1.0/graphml.xsd">']
    for kind, names in (("graph", graph_keys), ("node", node_keys), ("edge", edge_keys)):
        for name in names:
            ids[(kind, name)] = f"d{len(ids)}"
            header.append(f'  <key id="{ids[(kind, name)]}" for="{kind}" '
                          f'attr.name={quoteattr(name)} attr.type="string" />')
    header.append('  <graph edgedefault="directed">')

    def data(kind: str, attrs: dict[str, Any], indent: str) -> str:
        return "".join(f'{indent}<data key="{ids[(kind, k)]}">{_text(v)}</data>\n'
                       for k, v in attrs.items())

    def edge(u: int, v: int, key: object, attrs: dict[str, Any]) -> str:
        return (f'    <edge source="{u}" target="{v}" id="{key}">\n'
                + data("edge", attrs, "      ") + "    </edge>\n")

    base_nodes = list(g.nodes(data=True))
    base_edges = list(g.edges(keys=True, data=True))
    rows, cols = [], []
    index: dict[int, int] = {}
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw,
                                                compresslevel=6, mtime=0) as gz:
        gz.write(("\n".join(header) + "\n").encode("utf-8"))
        for copy in range(1, grid.copies + 1):
            dx, dy = grid.offset(copy)
            chunk = []
            for node, attrs in base_nodes:
                new_id = copy * node_step + int(node)
                index[new_id] = len(index)
                new = dict(attrs)
                new["x"] = round(float(attrs["x"]) + dx, 1)
                new["y"] = round(float(attrs["y"]) + dy, 1)
                if new_id in extra_degree and "street_count" in new:
                    new["street_count"] = int(new["street_count"]) + extra_degree[new_id]
                chunk.append(f'    <node id="{new_id}">\n' + data("node", new, "      ")
                             + "    </node>\n")
            gz.write("".join(chunk).encode("utf-8"))
            chunk = []
            for u, v, key, attrs in base_edges:
                new = dict(attrs)
                if "osmid" in new:
                    new["osmid"] = _offset_osmid(new["osmid"], (copy - 1) * osmid_step)
                su, sv = copy * node_step + int(u), copy * node_step + int(v)
                rows.append(index[su])
                cols.append(index[sv])
                chunk.append(edge(su, sv, key, new))
            gz.write("".join(chunk).encode("utf-8"))
        chunk = []
        first = int(osmids.min()) + grid.copies * osmid_step
        for j, link in enumerate(links):
            for reverse, (a, b) in enumerate(((link.u, link.v), (link.v, link.u))):
                rows.append(index[a])
                cols.append(index[b])
                chunk.append(edge(a, b, 0, {
                    "length": link.length_m, "reversed": bool(reverse), "osmid": first + j,
                    "highway": "footway", "oneway": False, "name": link.name}))
        chunk.append(data("graph", graph_attrs, "    "))
        chunk.append("  </graph>\n</graphml>\n")
        gz.write("".join(chunk).encode("utf-8"))
    n = len(index)
    adjacency = coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, n))
    parts, _ = connected_components(adjacency, directed=True, connection="strong")
    if parts != 1:
        raise RuntimeError(f"{path}: the merged network has {parts} strong components, not 1")
    return n, len(rows), len(links)


# --------------------------------------------------------------------------- scenario


def scenario_text(copies: int, seed: int) -> str:
    """``optimisation/colocation.toml`` pointed at the generated place.

    Its top-level ``name``, ``description`` and ``place`` lines are replaced (the
    place is the folder holding the file: ``"."``); every other line, comments
    included, is kept as written.

    Parameters
    ----------
    copies, seed
        As given to the generator (named in the new lines).

    Raises
    ------
    RuntimeError
        If one of the three keys is not found once on a line of its own.
    """
    text = SCENARIO.read_text(encoding="utf-8")
    data, _ = read_toml(SCENARIO)
    new = {
        "name": json.dumps(f"{data['name']}_x{copies}"),
        "description": json.dumps(
            f"{data['description']} Scale benchmark: {copies} {_copy_word(copies)} of the demo "
            f"place side by side (benchmarks/make_place.py, seed {seed})."),
        "place": json.dumps("."),
    }
    lines = text.splitlines(keepends=True)
    top = next((i for i, line in enumerate(lines) if line.lstrip().startswith("[")), len(lines))
    for key, value in new.items():
        pattern = re.compile(rf"^{key}\s*=.*$")
        hits = [i for i in range(top) if pattern.match(lines[i].rstrip("\n"))]
        if len(hits) != 1:
            raise RuntimeError(f"{SCENARIO}: expected one top-level line '{key} = ...', "
                               f"found {len(hits)}")
        lines[hits[0]] = f"{key} = {value}\n"
    note = (f"# Generated by benchmarks/make_place.py --copies {copies} --seed {seed} from "
            "optimisation/colocation.toml (name, description and place replaced).\n")
    return note + "".join(lines)


# --------------------------------------------------------------------------- main


def make_place(copies: int, out: Path, seed: int = DEFAULT_SEED, *, gap_m: float = GAP_M,
               demo: Demo | None = None) -> dict[str, Any]:
    """Write a place of ``copies`` copies of the demo into ``out``.

    Parameters
    ----------
    copies
        Number of copies (>= 1).
    out
        Folder to write (created; files of the same names are replaced).
    seed
        Seed of the per-copy generators.
    gap_m
        Gap between neighbouring copies' extents, metres.
    demo
        The demo, if already read (read from ``data/demo`` otherwise).

    Returns
    -------
    dict
        Counts (sites, services, zones, population, nodes, edges, seam links),
        the grid and the file sizes in bytes.
    """
    if copies < 1:
        raise ValueError(f"copies must be at least 1, not {copies}")
    if gap_m < 0:
        raise ValueError(f"gap_m must be at least 0 (copies must not overlap), not {gap_m}")
    demo = demo or read_demo()
    grid = layout(demo, copies, gap_m)
    out.mkdir(parents=True, exist_ok=True)
    sites, services, zones = [], [], []
    for copy in range(1, copies + 1):
        rng = np.random.default_rng([seed, copy])
        s, v, z = copy_tables(demo, copy, copies, grid.offset(copy), rng)
        sites.append(s)
        services.append(v)
        zones += z
    site_table, service_table = pd.concat(sites), pd.concat(services)
    site_table.to_csv(out / "sites.csv", index=False, lineterminator="\n")
    service_table.to_csv(out / "services.csv", index=False, lineterminator="\n")
    write_geojson(zones, out / "zones.geojson", "zones")
    outline = sub_region_boundary(demo, grid)
    write_geojson([{"name": f"Synthetic sub-region x{copies} (demo outlines side by side)",
                    "geometry": outline}], out / "boundary.geojson", "boundary")
    nodes, edges, links = write_network(demo, grid, out / "network_walk.graphml.gz")
    population = sum(int(z["population"] or 0) for z in zones)
    place = PLACE_TOML.format(copies=copies, copy_word=_copy_word(copies), columns=grid.columns,
                              seed=seed, gap=gap_m,
                              sites=len(site_table), services=len(service_table),
                              zones=len(zones), population=population, crs=CRS)
    keys = {line.split("=", 1)[0].strip() for line in place.splitlines()
            if "=" in line and not line.startswith("#")}
    assert keys <= set(PLACE_KEYS), keys - set(PLACE_KEYS)
    (out / "place.toml").write_text(place, encoding="utf-8")
    (out / "colocation.toml").write_text(scenario_text(copies, seed), encoding="utf-8")
    files = ("sites.csv", "services.csv", "zones.geojson", "boundary.geojson",
             "network_walk.graphml.gz", "place.toml", "colocation.toml")
    return {"copies": copies, "columns": grid.columns, "sites": len(site_table),
            "services": len(service_table), "zones": len(zones), "population": population,
            "nodes": nodes, "edges": edges, "seam_links": links,
            "boundary": outline.geom_type,
            "bytes": {f: (out / f).stat().st_size for f in files}}


def main(argv: list[str] | None = None) -> None:
    """Parse the command line, generate the place and print its figures.

    Parameters
    ----------
    argv
        Command-line arguments; defaults to ``sys.argv[1:]``.
    """
    def positive(text: str) -> int:
        value = int(text)
        if value < 1:
            raise argparse.ArgumentTypeError(f"must be a positive integer, not {text}")
        return value

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", "-k", type=positive, required=True,
                        help="number of copies of the demo place (1, 2, 4, 8, 20, ...)")
    parser.add_argument("--out", type=Path, required=True,
                        help="folder to write (outside the repository, e.g. /tmp/place_x4)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED,
                        help=f"seed of the per-copy perturbations (default {DEFAULT_SEED})")
    parser.add_argument("--gap", type=float, default=GAP_M,
                        help=f"gap between neighbouring copies, metres (default {GAP_M:g})")
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    figures = make_place(args.copies, args.out, args.seed, gap_m=args.gap)
    seconds = time.perf_counter() - t0
    k = figures["copies"]
    print(f"wrote {args.out}: {k} {_copy_word(k)} ({figures['columns']} to a row), "
          f"{figures['sites']:,} sites, {figures['services']:,} services, "
          f"{figures['zones']:,} zones ({figures['population']:,} residents), "
          f"{figures['nodes']:,} nodes, {figures['edges']:,} directed edges "
          f"({figures['seam_links']} seam links), boundary {figures['boundary']}, "
          f"{seconds:.1f} s")
    for name, size in figures["bytes"].items():
        print(f"  {name:<26} {size:>12,} bytes")


if __name__ == "__main__":
    main()
