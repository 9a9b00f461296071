"""Access: street networks, zone-to-site travel times, baseline access and overlaps.

The only module that imports osmnx. A street network is read once (GraphML,
OpenStreetMap XML, or downloaded from OpenStreetMap), turned into arrays and a
compressed sparse row (CSR) matrix, and every travel-time matrix is computed with
:func:`scipy.sparse.csgraph.dijkstra` from the sites (the fewer points) over the
reversed graph, stopping at the largest standard's cutoff. Matrices are cached on
disk, keyed by a hash of the network, the points, the mode and the cutoff.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely
from scipy import sparse
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree

from tp_assets import settings
from tp_assets._errors import InputError
from tp_assets._tables import atomic_file, file_sha256
from tp_assets.estate import Estate
from tp_assets.scenario import NetworkSpec, Standard

_CACHE_VERSION = "1"

# --------------------------------------------------------------------------- networks


@dataclass
class StreetNetwork:
    """A directed street network as arrays, in EPSG:27700.

    Attributes
    ----------
    node_ids
        Node identifiers (OSM ids) by node index.
    x, y
        Node coordinates (metres, EPSG:27700).
    tail, head
        Node index at the start and end of each directed edge.
    length_m
        Edge length (metres).
    travel_time_s
        Driving time per edge (seconds), from osmnx's speed imputation; ``None``
        unless the network was read for driving.
    description
        Where it came from, for summaries.
    fingerprint
        Hash identifying the network, for the matrix cache.
    """

    node_ids: np.ndarray
    x: np.ndarray
    y: np.ndarray
    tail: np.ndarray
    head: np.ndarray
    length_m: np.ndarray
    travel_time_s: np.ndarray | None
    description: str
    fingerprint: str

    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return len(self.node_ids)

    def edge_minutes(self, mode: str) -> np.ndarray:
        """Travel time along each edge in minutes for ``mode``.

        Parameters
        ----------
        mode
            ``{"walk", "cycle", "drive"}``.
        """
        if mode == "drive":
            if self.travel_time_s is None:
                raise InputError(f"{self.description}: mode 'drive' needs edge speeds; read the "
                                 "network with mode='drive' so osmnx imputes them")
            return self.travel_time_s / 60.0
        speed = settings.MODE_SPEEDS_KMH.get(mode)
        if speed is None:
            raise InputError(f"mode {mode!r} has no speed; use one of "
                             f"{', '.join(settings.MODES)}")
        return self.length_m / (speed * 1000.0 / 60.0)

    def csr(self, mode: str, *, reverse: bool = False) -> sparse.csr_matrix:
        """The network as a CSR matrix of edge minutes (parallel edges: the shortest).

        Parameters
        ----------
        mode
            ``{"walk", "cycle", "drive"}``.
        reverse
            Transpose it, so Dijkstra from a site gives times *to* the site.
        """
        w = self.edge_minutes(mode)
        a, b = (self.head, self.tail) if reverse else (self.tail, self.head)
        # keep the shortest of parallel edges; csr_matrix would add them up
        order = np.lexsort((w, b, a))
        a, b, w = a[order], b[order], w[order]
        first = np.ones(len(a), dtype=bool)
        first[1:] = (a[1:] != a[:-1]) | (b[1:] != b[:-1])
        # an explicit zero is still an edge for csgraph, but keep weights strictly positive
        w = np.maximum(w[first], 1e-12)
        n = self.n_nodes
        return sparse.csr_matrix((w, (a[first], b[first])), shape=(n, n))


def from_graph(graph: nx.MultiDiGraph, *, description: str, fingerprint: str | None = None,
               mode: str = "walk") -> StreetNetwork:
    """Turn a projected (EPSG:27700) osmnx graph into a :class:`StreetNetwork`.

    Parameters
    ----------
    graph
        Directed multigraph with node ``x``, ``y`` (metres) and edge ``length`` (m).
    description
        Where it came from (a file name), used in messages.
    fingerprint
        Hash for the cache; computed from the arrays when not given.
    mode
        ``"drive"`` also imputes speeds and travel times with osmnx.

    Raises
    ------
    InputError
        If edges lack a length or nodes lack coordinates.
    """
    nodes = list(graph.nodes)
    index = {node: i for i, node in enumerate(nodes)}
    try:
        x = np.array([graph.nodes[n]["x"] for n in nodes], dtype=float)
        y = np.array([graph.nodes[n]["y"] for n in nodes], dtype=float)
    except KeyError:
        raise InputError(f"{description}: nodes have no x/y coordinates; save the graph with "
                         "osmnx so nodes carry x and y") from None
    if mode == "drive":
        import osmnx as ox

        graph = ox.routing.add_edge_travel_times(ox.routing.add_edge_speeds(
            graph, hwy_speeds=settings.DRIVE_SPEEDS_KPH, fallback=settings.DRIVE_FALLBACK_KPH))
    edges = list(graph.edges(data=True))
    missing = sum(1 for _, _, d in edges if "length" not in d)
    if missing:
        raise InputError(f"{description}: {missing:,} of {len(edges):,} edges have no 'length' "
                         "attribute; add lengths with osmnx.distance.add_edge_lengths(G) and "
                         "save the graph again")
    tail = np.fromiter((index[u] for u, _, _ in edges), dtype=np.int64, count=len(edges))
    head = np.fromiter((index[v] for _, v, _ in edges), dtype=np.int64, count=len(edges))
    length = np.fromiter((float(d["length"]) for _, _, d in edges), dtype=float,
                         count=len(edges))
    travel = (np.fromiter((float(d["travel_time"]) for _, _, d in edges), dtype=float,
                          count=len(edges)) if mode == "drive" else None)
    if fingerprint is None:
        h = hashlib.sha256()
        for arr in (x, y, tail, head, length):
            h.update(np.ascontiguousarray(arr).tobytes())
        fingerprint = h.hexdigest()
    return StreetNetwork(np.asarray(nodes), x, y, tail, head, length, travel, description,
                         fingerprint)


def network_file(spec: NetworkSpec, estate: Estate) -> Path | None:
    """The network file a scenario uses: its own ``path`` or the place's network.

    Parameters
    ----------
    spec
        The scenario's network settings.
    estate
        The estate, whose place may name a network.
    """
    if spec.source in ("osm", "straight_line"):
        return None
    return spec.path or estate.network


def check_network_file(spec: NetworkSpec, estate: Estate) -> None:
    """Check the network file a scenario uses is named and exists (``graphml``, ``file``).

    Parameters
    ----------
    spec, estate
        As for :func:`network_file`.

    Raises
    ------
    InputError
        No file named, or the file is missing.
    """
    if spec.source in ("osm", "straight_line"):
        return
    path = network_file(spec, estate)
    if path is None:
        raise InputError("no network file: set [network] path in the scenario, or "
                         "network = \"...\" in the place's place.toml")
    if not path.exists():
        raise InputError(f"{path}: network file not found; check [network] path (relative "
                         "to the scenario file) or the place's network key")


def network_fingerprint(spec: NetworkSpec, estate: Estate, mode: str) -> str:
    """Hash that identifies the network a matrix is computed on, without reading it.

    Parameters
    ----------
    spec
        The scenario's network settings.
    estate
        The estate (its boundary defines an ``osm`` download).
    mode
        Travel mode.
    """
    path = network_file(spec, estate)
    if path is not None and path.exists():
        return f"{spec.source}:{file_sha256(path)}:{mode}"
    area = shapely.to_wkb(estate.boundary).hex() if estate.boundary is not None else ""
    return f"{spec.source}:{spec.network_type}:{hashlib.sha256(area.encode()).hexdigest()}"


def read_network(spec: NetworkSpec, estate: Estate, *, mode: str = "walk",
                 cache_dir: str | Path | None = None) -> StreetNetwork:
    """Read the street network a scenario names, projected to EPSG:27700.

    Parameters
    ----------
    spec
        ``graphml`` (osmnx GraphML, .graphml or .graphml.gz), ``osm_xml`` (.osm or
        .osm.bz2) or ``osm`` (downloaded for the place's boundary with
        ``osmnx.graph_from_polygon``; osmnx's own cache makes a second run offline).
    estate
        The estate: its boundary bounds an ``osm`` download, and its extent is used
        to catch a network in the wrong CRS.
    mode
        ``"drive"`` imputes edge speeds; other modes use edge lengths.
    cache_dir
        Cache folder (default :data:`settings.CACHE_DIR`; ``""``: none): the parsed
        network is kept there as arrays (a second read takes milliseconds, not
        seconds), and osmnx keeps its downloads in its ``osmnx`` subfolder.

    Raises
    ------
    InputError
        A missing or unreadable file, edges without length, a CRS that does not
        match the estate, or an ``osm`` download without internet.
    """
    path = network_file(spec, estate)
    if spec.source == "straight_line":
        raise InputError("network source 'straight_line' has no street network to read")
    fingerprint = network_fingerprint(spec, estate, mode)
    folder = _cache_folder(cache_dir)
    cached = None
    if folder is not None:
        key = hashlib.sha256(f"{_CACHE_VERSION}:{fingerprint}:{mode}".encode()).hexdigest()
        cached = folder / f"network-{key[:32]}.npz"
        if cached.exists():
            with np.load(cached, allow_pickle=False) as data:
                network = StreetNetwork(
                    data["node_ids"], data["x"], data["y"], data["tail"], data["head"],
                    data["length_m"], data["travel_time_s"] if mode == "drive" else None,
                    str(data["description"]), fingerprint)
                crs = str(data["crs"])
            _check_overlap(network, estate, crs)
            return network
    network, crs = _parse_network(spec, estate, path, mode, fingerprint, cache_dir)
    _check_overlap(network, estate, crs)
    if cached is not None:
        with atomic_file(cached) as f:
            np.savez_compressed(
                f, node_ids=network.node_ids, x=network.x, y=network.y, tail=network.tail,
                head=network.head, length_m=network.length_m,
                travel_time_s=(network.travel_time_s if network.travel_time_s is not None
                               else np.zeros(0)),
                description=np.array(network.description), crs=np.array(crs))
    return network


def _cache_folder(cache_dir: str | Path | None) -> Path | None:
    """The cache folder: ``None`` -> settings.CACHE_DIR; ``""`` -> no caching."""
    if cache_dir == "":
        return None
    return Path(settings.CACHE_DIR if cache_dir is None else cache_dir)


def _parse_network(spec: NetworkSpec, estate: Estate, path: Path | None, mode: str,
                   fingerprint: str, cache_dir: str | Path | None
                   ) -> tuple[StreetNetwork, str]:
    """Read and project the graph itself (the slow part :func:`read_network` caches)."""
    import osmnx as ox

    if spec.source == "osm":
        graph = _download(spec, estate, Path(cache_dir or settings.CACHE_DIR))
        description = f"OpenStreetMap {spec.network_type} network"
    else:
        check_network_file(spec, estate)
        assert path is not None
        description = path.name
        if spec.source == "graphml" and mode != "drive":
            arrays = _graphml_arrays(path)
            if arrays is not None:  # plain osmnx GraphML in the working CRS: no networkx
                node_ids, x, y, tail, head, length, crs = arrays
                return StreetNetwork(node_ids, x, y, tail, head, length, None, description,
                                     fingerprint), crs
        try:
            if spec.source == "graphml":
                graph = ox.load_graphml(path)
            else:
                graph = ox.graph_from_xml(path, retain_all=True)
        except Exception as exc:  # networkx/lxml/xml raise many kinds for a bad file
            kind = "GraphML" if spec.source == "graphml" else "OpenStreetMap XML"
            raise InputError(f"{path.name}: cannot be read as {kind} ({type(exc).__name__}: "
                             f"{exc}); check the file, or re-save it with osmnx.save_graphml"
                             ) from None
    crs = graph.graph.get("crs")
    if crs is None:
        raise InputError(f"{description}: the graph has no 'crs' attribute; save it with "
                         "osmnx (which records it), e.g. crs = \"EPSG:27700\"")
    try:
        graph = ox.projection.project_graph(graph, to_crs=settings.WORKING_CRS)
    except Exception as exc:
        raise InputError(f"{description}: cannot project from crs {crs!r} ({exc}); set the "
                         "graph's crs attribute to the CRS its x/y are in") from None
    network = from_graph(graph, description=description, fingerprint=fingerprint, mode=mode)
    return network, str(crs)


#: The GraphML namespace, as element tags carry it.
_GRAPHML = "{http://graphml.graphdrawing.org/xmlns}"


def _graphml_arrays(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray,
                                         np.ndarray, np.ndarray, str] | None:
    """An osmnx GraphML file read as a stream into arrays, without networkx.

    osmnx reads the whole document into a networkx graph first, at about 5 KB an edge
    (over 6 GB for 20 times the demo's network); this keeps only the arrays. The
    network is the same: the nodes in the file's order, every edge (their order does not
    change the travel times: :meth:`StreetNetwork.csr` sorts them). Like networkx, it
    takes every node before any edge, wherever they lie in the file.

    Returns
    -------
    node_ids, x, y, tail, head, length_m, crs
        ``None`` where the file is not plain osmnx GraphML already in the working CRS
        (one directed graph, integer node ids, each edge's ends declared as nodes,
        ``x``, ``y`` and ``length`` on every node and edge): the caller then reads it
        with osmnx, which projects it or names what is wrong.
    """
    import gzip
    from xml.etree import ElementTree

    names: dict[str | None, str | None] = {}
    crs = ""
    ids: list[int] = []
    xs: list[float] = []
    ys: list[float] = []
    ends: list[tuple[int, int]] = []
    lengths: list[float] = []
    graph: ElementTree.Element | None = None
    try:
        with (gzip.open(path, "rb") if path.name.endswith(".gz") else open(path, "rb")) as f:
            for event, el in ElementTree.iterparse(f, events=("start", "end")):
                tag = el.tag
                if event == "start":
                    if tag == _GRAPHML + "graph":
                        if el.get("edgedefault") != "directed" or graph is not None:
                            return None
                        graph = el
                    continue
                if tag == _GRAPHML + "key":
                    names[el.get("id")] = el.get("attr.name")
                elif tag == _GRAPHML + "node":
                    data = {names.get(d.get("key")): d.text for d in el}
                    ids.append(int(el.get("id", "")))
                    xs.append(float(data["x"] or ""))
                    ys.append(float(data["y"] or ""))
                elif tag == _GRAPHML + "edge":
                    data = {names.get(d.get("key")): d.text for d in el}
                    ends.append((int(el.get("source", "")), int(el.get("target", ""))))
                    lengths.append(float(data["length"] or ""))
                elif tag == _GRAPHML + "data" and names.get(el.get("key")) == "crs":
                    crs = el.text or ""
                if graph is not None and tag in (_GRAPHML + "node", _GRAPHML + "edge"):
                    el.clear()
                    if len(graph) > 10_000:  # the finished elements, kept by their parent
                        del graph[:-1]
    except (OSError, ElementTree.ParseError, KeyError, ValueError, TypeError, EOFError):
        return None
    if crs.strip().upper() != settings.WORKING_CRS.upper() or not ids:
        return None
    index = {node: i for i, node in enumerate(ids)}
    if len(index) != len(ids):
        return None
    try:
        u = np.fromiter((index[a] for a, _ in ends), dtype=np.int64, count=len(ends))
        v = np.fromiter((index[b] for _, b in ends), dtype=np.int64, count=len(ends))
    except KeyError:  # an edge to an undeclared node
        return None
    nodes, rank, edges = _osmnx_order(ids, index, u, v)
    return (np.array(ids, dtype=np.int64)[nodes], np.array(xs)[nodes], np.array(ys)[nodes],
            rank[u[edges]], rank[v[edges]], np.array(lengths, dtype=float)[edges], crs)


def _osmnx_order(ids: list[int], index: dict[int, int], u: np.ndarray, v: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The order of nodes and edges osmnx gives a GraphML file it reads and projects.

    networkx reads the nodes in the file's order (all of them before the edges) and
    iterates edges by tail node, then
    by the first edge of each (tail, head) pair, then in the file's order; projecting,
    osmnx rebuilds the graph edge by edge (the nodes in order of first appearance, then
    the nodes without edges, as a set difference orders them). The same node order
    snaps zones and sites to the same nodes where two are equally near.

    Parameters
    ----------
    ids, index
        Node ids in the file's order, and each id's position in it.
    u, v
        Tail and head of each edge, as positions in ``ids``, in the file's order.

    Returns
    -------
    nodes, rank, edges
        Positions in ``ids`` in osmnx's order, each node's place in that order (by
        position in ``ids``), and the edges' positions in osmnx's order.
    """
    n, m = len(ids), len(u)
    _, first, inverse = np.unique(u * n + v, return_index=True, return_inverse=True)
    read = np.lexsort((np.arange(m), first[inverse], u))  # networkx's iteration
    seen = np.column_stack([u[read], v[read]]).ravel()
    _, at = np.unique(seen, return_index=True)
    linked = seen[np.sort(at)]
    ranked = set(np.asarray(ids)[linked].tolist())
    alone = list(set(ids) - ranked)  # (osmnx: set(nodes) - set(G.nodes))
    nodes = np.r_[linked, np.array([index[a] for a in alone], dtype=np.int64)].astype(np.int64)
    rank = np.empty(n, dtype=np.int64)
    rank[nodes] = np.arange(n)
    position = np.empty(m, dtype=np.int64)
    position[read] = np.arange(m)
    return nodes, rank, np.lexsort((position, rank[u]))


def _check_overlap(network: StreetNetwork, estate: Estate, crs: str) -> None:
    if network.n_nodes == 0:
        raise InputError(f"{network.description}: the network has no nodes")
    pts = np.column_stack([np.r_[estate.zones["point_x"], estate.sites.geometry.x],
                           np.r_[estate.zones["point_y"], estate.sites.geometry.y]])
    ex0, ey0 = pts.min(axis=0) - 5000
    ex1, ey1 = pts.max(axis=0) + 5000
    inside = ((network.x >= ex0) & (network.x <= ex1) & (network.y >= ey0) & (network.y <= ey1))
    if not inside.any():
        raise InputError(
            f"{network.description}: the network lies around E {np.median(network.x):,.0f}, "
            f"N {np.median(network.y):,.0f} (EPSG:27700, from its crs {crs!r}), nowhere near the "
            f"estate (E {pts[:, 0].mean():,.0f}, N {pts[:, 1].mean():,.0f}); the graph's crs "
            "attribute does not match its coordinates, or it is another place's network")


def _download(spec: NetworkSpec, estate: Estate, cache_dir: Path) -> nx.MultiDiGraph:
    import osmnx as ox

    if estate.boundary is None:
        raise InputError("network source 'osm' needs the place's boundary (boundary = \"...\" "
                         "in place.toml) to know what to download")
    ox.settings.use_cache = True
    ox.settings.cache_folder = str(cache_dir / "osmnx")
    ox.settings.requests_timeout = 60
    # one query per place: skip the status poll, which waits 60 s when the server is unreachable
    ox.settings.overpass_rate_limit = False
    polygon = gpd.GeoSeries([estate.boundary.buffer(1000)], crs=settings.WORKING_CRS)
    try:
        return ox.graph_from_polygon(polygon.to_crs("EPSG:4326").iloc[0],
                                     network_type=spec.network_type, retain_all=True)
    except Exception as exc:  # requests ConnectionError, osmnx InsufficientResponseError ...
        raise InputError(
            f"could not download the OpenStreetMap {spec.network_type} network for the place "
            f"({type(exc).__name__}: {exc}). Without internet use a saved network: "
            '[network] source = "graphml" with path = "<file>.graphml" (osmnx.save_graphml), '
            'or source = "osm_xml" with path = "<file>.osm"') from None


# --------------------------------------------------------------------------- travel times


def shortest_minutes(graph: sparse.csr_matrix, sources: np.ndarray, targets: np.ndarray,
                     limit: float, *, transposed: bool = False,
                     batch_bytes: int | None = None) -> np.ndarray:
    """Shortest-path minutes from each source node to each target node, up to ``limit``.

    The pure-array core of the matrix: multi-source Dijkstra over a CSR matrix, in
    batches of sources whose full rows (every network node) take at most
    :data:`DIJKSTRA_BATCH_BYTES`, keeping only the target columns of each: memory grows
    with sources x targets, not sources x network nodes (a sub-region of 5,000 sites
    on a 470,000-node network would need 18 GB for the full rows).

    Parameters
    ----------
    graph
        CSR matrix of edge minutes (``graph[i, j]``: minutes from node i to node j).
    sources, targets
        Node indices.
    limit
        Cutoff in minutes; longer paths are ``inf``.
    transposed
        Return the ``targets x sources`` matrix instead, filled as it is computed (no
        second copy of the matrix: 730 MB at 20 times the demo's sites).
    batch_bytes
        Memory of one batch of full rows (bytes; default :data:`DIJKSTRA_BATCH_BYTES`).

    Returns
    -------
    numpy.ndarray
        ``len(sources) x len(targets)`` minutes (float64; C order either way), ``inf``
        beyond ``limit`` or unreachable.
    """
    shape = (len(targets), len(sources)) if transposed else (len(sources), len(targets))
    if len(sources) == 0 or len(targets) == 0:
        return np.full(shape, np.inf)
    unique, inverse = np.unique(sources, return_inverse=True)
    batch = max(1, (batch_bytes or DIJKSTRA_BATCH_BYTES) // (8 * graph.shape[0]))
    out = np.empty(shape)
    for first in range(0, len(unique), batch):
        rows = dijkstra(graph, directed=True, indices=unique[first:first + batch],
                        limit=limit)[:, targets]
        cols = np.flatnonzero((inverse >= first) & (inverse < first + batch))
        if transposed:
            out[:, cols] = rows[inverse[cols] - first].T
        else:
            out[cols] = rows[inverse[cols] - first]
    return out


#: Memory (bytes) of one batch of Dijkstra rows in :func:`shortest_minutes`.
DIJKSTRA_BATCH_BYTES: int = 256 * 2**20


@dataclass
class TravelTimes:
    """Travel times from every zone to every site, in minutes.

    Attributes
    ----------
    zone_ids, site_ids
        Row and column labels.
    minutes
        ``zones x sites`` float64 array; ``inf`` beyond ``cutoff_minutes`` or where
        no path exists.
    mode
        ``{"walk", "cycle", "drive", "straight_line"}``.
    cutoff_minutes
        Times beyond this were not computed.
    method
        ``"network"`` or ``"straight_line"`` (crow-fly distance x circuity / speed).
    zone_snap_m, site_snap_m
        Distance (metres) from each point to the network node it was snapped to
        (zero for straight-line times).
    network
        Description of the network (or of the straight-line assumption).
    from_cache
        Whether the matrix was read from the on-disk cache.
    """

    zone_ids: np.ndarray
    site_ids: np.ndarray
    minutes: np.ndarray
    mode: str
    cutoff_minutes: float
    method: str
    zone_snap_m: np.ndarray
    site_snap_m: np.ndarray
    network: str
    from_cache: bool = False
    warnings: list[str] = field(default_factory=list)

    def long(self) -> pd.DataFrame:
        """Long format: one row per zone-site pair within the cutoff.

        Returns
        -------
        pandas.DataFrame
            Columns ``zone_id``, ``site_id``, ``minutes``, sorted by zone then site.
        """
        zi, si = np.nonzero(np.isfinite(self.minutes))
        return pd.DataFrame({"zone_id": self.zone_ids[zi], "site_id": self.site_ids[si],
                             "minutes": self.minutes[zi, si]})

    def unreachable_zones(self) -> np.ndarray:
        """Zone ids from which no site is reachable within the cutoff."""
        return self.zone_ids[~np.isfinite(self.minutes).any(axis=1)]


def snap(network: StreetNetwork, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Snap points to their nearest network node (vectorised k-d tree query).

    Parameters
    ----------
    network
        The network.
    x, y
        Point coordinates (metres, EPSG:27700).

    Returns
    -------
    nodes, distance_m
        Node index per point and the straight distance to it (metres).
    """
    tree = cKDTree(np.column_stack([network.x, network.y]))
    distance, nodes = tree.query(np.column_stack([x, y]))
    return nodes.astype(np.int64), distance


def _cache_key(parts: dict[str, Any], zone_xy: np.ndarray, site_xy: np.ndarray) -> str:
    h = hashlib.sha256(json.dumps(parts, sort_keys=True).encode())
    h.update(np.ascontiguousarray(zone_xy, dtype=float).tobytes())
    h.update(np.ascontiguousarray(site_xy, dtype=float).tobytes())
    return h.hexdigest()[:32]


def travel_times(estate: Estate, network: StreetNetwork | NetworkSpec | None, *, mode: str,
                 cutoff_minutes: float, cache_dir: str | Path | None = None) -> TravelTimes:
    """Travel-time matrix from every zone to every site.

    Parameters
    ----------
    estate
        Zones (their ``point_x``/``point_y``) and sites, in EPSG:27700.
    network
        A :class:`StreetNetwork`, a :class:`~tp_assets.scenario.NetworkSpec` (read
        only on a cache miss), or ``None`` / a ``straight_line`` spec for crow-fly
        times.
    mode
        ``{"walk", "cycle", "drive", "straight_line"}``.
    cutoff_minutes
        Largest travel time that matters (the largest standard's ``max_minutes``).
    cache_dir
        Folder of the matrix cache; ``None`` uses :data:`settings.CACHE_DIR`, and
        ``False``-like empty string disables caching.

    Returns
    -------
    TravelTimes
    """
    zone_xy = estate.zones[["point_x", "point_y"]].to_numpy(float)
    site_xy = np.column_stack([estate.sites.geometry.x, estate.sites.geometry.y])
    zone_ids = estate.zones["zone_id"].astype(str).to_numpy()
    site_ids = estate.sites["site_id"].astype(str).to_numpy()
    straight = (network is None or mode == "straight_line"
                or (isinstance(network, NetworkSpec) and network.source == "straight_line"))
    if straight:
        return _straight_line(zone_ids, site_ids, zone_xy, site_xy, cutoff_minutes)
    assert network is not None
    fingerprint = (network.fingerprint if isinstance(network, StreetNetwork)
                   else network_fingerprint(network, estate, mode))
    speed = settings.MODE_SPEEDS_KMH.get(mode)
    key = _cache_key({"v": _CACHE_VERSION, "net": fingerprint, "mode": mode, "speed": speed,
                      "cutoff": cutoff_minutes}, zone_xy, site_xy)
    folder = _cache_folder(cache_dir)
    cached = folder / f"matrix-{key}.npz" if folder else None
    if cached is not None and cached.exists():
        with np.load(cached, allow_pickle=False) as data:
            times = TravelTimes(zone_ids, site_ids, data["minutes"], mode, cutoff_minutes,
                                "network", data["zone_snap_m"], data["site_snap_m"],
                                str(data["network"]), from_cache=True)
        times.warnings = _snap_warnings(times)
        return times
    if isinstance(network, NetworkSpec):
        network = read_network(network, estate, mode=mode, cache_dir=cache_dir)
    zone_nodes, zone_snap = snap(network, zone_xy[:, 0], zone_xy[:, 1])
    site_nodes, site_snap = snap(network, site_xy[:, 0], site_xy[:, 1])
    graph = network.csr(mode, reverse=True)
    minutes = shortest_minutes(graph, site_nodes, zone_nodes, cutoff_minutes,
                               transposed=True)
    times = TravelTimes(zone_ids, site_ids, minutes, mode, cutoff_minutes, "network",
                        zone_snap, site_snap, network.description)
    times.warnings = _snap_warnings(times)
    if cached is not None:
        with atomic_file(cached) as f:
            np.savez_compressed(f, minutes=minutes, zone_snap_m=zone_snap,
                                site_snap_m=site_snap, network=np.array(network.description))
    return times


def crow_fly_minutes(metres: np.ndarray | float,
                     speed_kmh: float = settings.WALK_SPEED_KMH) -> np.ndarray:
    """Minutes to travel a crow-fly distance: metres x circuity at ``speed_kmh``.

    The one formula for travel without a street network: ``straight_line`` access,
    the optimiser's ``max_move_minutes`` and candidate hosts, the checker, and the
    minutes between overlapping sites.

    Parameters
    ----------
    metres
        Crow-fly distances (metres).
    speed_kmh
        Speed (km/h); walking (``settings.WALK_SPEED_KMH``) by default.

    Returns
    -------
    numpy.ndarray
        Minutes, ``metres * settings.STRAIGHT_LINE_CIRCUITY / (speed in m/min)``.
    """
    return np.asarray(metres) * settings.STRAIGHT_LINE_CIRCUITY / (speed_kmh * 1000.0 / 60.0)


def crow_fly_metres(minutes: float, speed_kmh: float = settings.WALK_SPEED_KMH) -> float:
    """The crow-fly distance (metres) :func:`crow_fly_minutes` reaches in ``minutes``."""
    return minutes * (speed_kmh * 1000.0 / 60.0) / settings.STRAIGHT_LINE_CIRCUITY


def walk_minutes_between(xy_a: np.ndarray, xy_b: np.ndarray) -> np.ndarray:
    """Walking minutes between points, crow-fly distance x circuity (for pruning).

    Parameters
    ----------
    xy_a, xy_b
        Arrays of shape (n, 2) and (m, 2), metres in EPSG:27700.

    Returns
    -------
    numpy.ndarray
        ``n x m`` minutes (:func:`crow_fly_minutes`).
    """
    return crow_fly_minutes(np.hypot(xy_a[:, None, 0] - xy_b[None, :, 0],
                                     xy_a[:, None, 1] - xy_b[None, :, 1]))


def _straight_line(zone_ids: np.ndarray, site_ids: np.ndarray, zone_xy: np.ndarray,
                   site_xy: np.ndarray, cutoff: float) -> TravelTimes:
    minutes = crow_fly_minutes(np.hypot(zone_xy[:, None, 0] - site_xy[None, :, 0],
                                        zone_xy[:, None, 1] - site_xy[None, :, 1]),
                               settings.MODE_SPEEDS_KMH["straight_line"])
    minutes[minutes > cutoff] = np.inf
    note = (f"straight line x {settings.STRAIGHT_LINE_CIRCUITY:g} circuity at "
            f"{settings.MODE_SPEEDS_KMH['straight_line']:g} km/h (no street network)")
    return TravelTimes(zone_ids, site_ids, minutes, "straight_line", cutoff, "straight_line",
                       np.zeros(len(zone_ids)), np.zeros(len(site_ids)), note,
                       warnings=[f"travel times are {note}"])


def _snap_warnings(times: TravelTimes) -> list[str]:
    out = []
    for label, ids, dist in (("zone", times.zone_ids, times.zone_snap_m),
                             ("site", times.site_ids, times.site_snap_m)):
        far = np.flatnonzero(dist > settings.SNAP_WARN_M)
        if len(far):
            worst = far[np.argsort(-dist[far])][:5]
            shown = ", ".join(f"{ids[i]} ({dist[i]:,.0f} m)" for i in worst)
            out.append(f"{len(far)} {label}(s) lie more than {settings.SNAP_WARN_M:,.0f} m from "
                       f"the street network: {shown}{' ...' if len(far) > 5 else ''}")
    unreachable = times.unreachable_zones()
    if len(unreachable):
        out.append(f"{len(unreachable)} zone(s) reach no site within {times.cutoff_minutes:g} "
                   f"minutes ({times.mode}): " + ", ".join(unreachable[:10])
                   + (" ..." if len(unreachable) > 10 else ""))
    return out


# --------------------------------------------------------------------------- isochrones


def isochrone(network: StreetNetwork, x: float, y: float, minutes: float, *,
              mode: str = "walk", buffer_m: float = 40.0) -> shapely.Geometry:
    """Area reachable from a point within ``minutes`` over the network.

    Parameters
    ----------
    network
        The street network.
    x, y
        Start point (metres, EPSG:27700), snapped to the nearest node.
    minutes
        Travel-time budget.
    mode
        ``{"walk", "cycle", "drive"}``.
    buffer_m
        Width (metres) either side of reachable streets included in the polygon.

    Returns
    -------
    shapely.Geometry
        (Multi)polygon in EPSG:27700: the reachable street segments, buffered.
    """
    node, _ = snap(network, np.array([x]), np.array([y]))
    dist = dijkstra(network.csr(mode), directed=True, indices=int(node[0]), limit=minutes)
    reach = np.isfinite(dist)
    keep = reach[network.tail] & reach[network.head]
    if not keep.any():
        return shapely.Point(x, y).buffer(buffer_m)
    lines = shapely.linestrings(np.stack([
        np.column_stack([network.x[network.tail[keep]], network.y[network.tail[keep]]]),
        np.column_stack([network.x[network.head[keep]], network.y[network.head[keep]]]),
    ], axis=1))
    return shapely.union_all(shapely.buffer(lines, buffer_m, quad_segs=2)).simplify(5.0)


# --------------------------------------------------------------------------- baseline access


@dataclass
class AccessReport:
    """Baseline access per service type, per zone, and the overlaps between sites.

    Attributes
    ----------
    standards
        One row per standard: ``service_type``, ``mode``, ``max_minutes``,
        ``demand_column``, ``sites`` (offering it today), ``demand_total``,
        ``demand_within``, ``share_within`` (0-1), ``zones_outside``.
    zones
        One row per zone and standard: ``zone_id``, ``service_type``, ``demand``,
        ``nearest_site_id``, ``nearest_minutes`` (``inf`` beyond the cutoff),
        ``within`` (bool).
    overlaps
        Pairs of sites offering the same service type whose catchments share
        residents, ranked by ``overlap`` (see :func:`overlaps`).
    notes
        Warnings to show in the summary (snapping, unreachable zones, straight line).
    """

    standards: pd.DataFrame
    zones: pd.DataFrame
    overlaps: pd.DataFrame
    notes: list[str] = field(default_factory=list)


def sites_offering(estate: Estate) -> dict[str, np.ndarray]:
    """Boolean mask over ``estate.sites`` of the sites hosting each service type today.

    Parameters
    ----------
    estate
        The estate.
    """
    site_index = pd.Index(estate.sites["site_id"])
    out = {}
    for service_type, group in estate.services.groupby("service_type"):
        mask = np.zeros(len(site_index), dtype=bool)
        mask[site_index.get_indexer(group["site_id"].unique())] = True
        out[str(service_type)] = mask
    return out


def nearest(minutes: np.ndarray, columns: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Nearest site among ``columns`` for each zone.

    Parameters
    ----------
    minutes
        ``zones x sites`` travel minutes.
    columns
        Boolean mask (or indices) of the sites to consider.

    Returns
    -------
    index, minutes
        Column index of the nearest site (-1 if none reachable) and its minutes.
    """
    cols = np.flatnonzero(columns) if np.asarray(columns).dtype == bool else np.asarray(columns)
    if len(cols) == 0:
        return np.full(minutes.shape[0], -1), np.full(minutes.shape[0], np.inf)
    sub = minutes[:, cols]
    best = sub.argmin(axis=1)
    best_minutes = sub[np.arange(len(sub)), best]
    return np.where(np.isfinite(best_minutes), cols[best], -1), best_minutes


def baseline(estate: Estate, times: dict[str, TravelTimes],
             standards: dict[str, Standard]) -> AccessReport:
    """Access today, per standard: who is within it, who is not, and overlaps.

    Parameters
    ----------
    estate
        The estate.
    times
        Travel times by mode, each computed up to at least the largest standard of
        that mode.
    standards
        Access standard by service type.

    Returns
    -------
    AccessReport
    """
    offering = sites_offering(estate)
    rows, zone_frames, overlap_frames = [], [], []
    notes: list[str] = []
    for mode in sorted({s.mode for s in standards.values()}):
        notes += times[mode].warnings
    for service_type, std in sorted(standards.items()):
        t = times[std.mode]
        mask = offering.get(service_type, np.zeros(len(t.site_ids), dtype=bool))
        demand = estate.zones[std.demand].to_numpy(float)
        idx, mins = nearest(t.minutes, mask)
        within = mins <= std.max_minutes
        total = float(demand.sum())
        rows.append({
            "service_type": service_type, "mode": std.mode, "max_minutes": std.max_minutes,
            "demand_column": std.demand, "sites": int(mask.sum()), "demand_total": total,
            "demand_within": float(demand[within].sum()),
            "share_within": float(demand[within].sum() / total) if total else 1.0,
            "zones_outside": int((~within).sum()),
        })
        zone_frames.append(pd.DataFrame({
            "zone_id": t.zone_ids, "service_type": service_type, "demand": demand,
            "nearest_site_id": np.where(idx >= 0, t.site_ids[np.maximum(idx, 0)], ""),
            "nearest_minutes": mins, "within": within,
        }))
        overlap_frames.append(overlaps(estate, t, std, mask))
    pairs = (pd.concat(overlap_frames, ignore_index=True) if overlap_frames
             else overlaps_frame())
    pairs = pairs.sort_values(["overlap", "shared_demand", "service_type", "site_a", "site_b"],
                              ascending=[False, False, True, True, True], ignore_index=True)
    return AccessReport(pd.DataFrame(rows), pd.concat(zone_frames, ignore_index=True), pairs,
                        notes)


_OVERLAP_COLUMNS = ["service_type", "site_a", "name_a", "owner_a", "site_b", "name_b", "owner_b",
                    "same_owner", "minutes_apart", "demand_a", "demand_b", "shared_demand",
                    "share_of_a", "share_of_b", "overlap", "cluster"]


def overlaps_frame() -> pd.DataFrame:
    """An empty overlaps table with its columns."""
    return pd.DataFrame(columns=_OVERLAP_COLUMNS)


def overlaps(estate: Estate, times: TravelTimes, standard: Standard,
             offering: np.ndarray) -> pd.DataFrame:
    """Pairs of sites offering one service type whose catchments cover the same residents.

    A site's catchment is the demand of the zones within the standard of it. For a
    pair (a, b), ``share_of_a`` is the share of a's catchment demand also within b's,
    and ``overlap`` the larger of the two shares. Pairs with ``overlap`` at least
    :data:`settings.OVERLAP_MIN_SHARE` are listed, ranked by overlap then shared
    demand; ``cluster`` numbers (per service type, largest first) groups of sites
    joined by overlaps of at least :data:`settings.OVERLAP_CLUSTER_SHARE` (0 = the
    pair is in no cluster).

    Parameters
    ----------
    estate
        The estate (site names and owners).
    times
        Travel times for the standard's mode.
    standard
        The access standard that defines catchments.
    offering
        Boolean mask of the sites offering the service type today.

    Returns
    -------
    pandas.DataFrame
        Columns ``service_type``, ``site_a``, ``name_a``, ``owner_a``, ``site_b``,
        ``name_b``, ``owner_b``, ``same_owner``, ``minutes_apart`` (crow-fly walking
        minutes between the two sites), ``demand_a``, ``demand_b``, ``shared_demand``
        (people), ``share_of_a``, ``share_of_b``, ``overlap`` (0-1), ``cluster``.
    """
    cols = np.flatnonzero(offering)
    if len(cols) < 2:
        return overlaps_frame()
    within = (times.minutes[:, cols] <= standard.max_minutes).astype(float)
    demand = estate.zones[standard.demand].to_numpy(float)
    shared = within.T @ (within * demand[:, None])  # sites x sites: demand in both
    own = np.diag(shared).copy()
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(own[:, None] > 0, shared / own[:, None], 0.0)  # share of row's demand
    a, b = np.triu_indices(len(cols), k=1)
    ov = np.maximum(share[a, b], share[b, a])
    keep = ov >= settings.OVERLAP_MIN_SHARE
    a, b = a[keep], b[keep]
    sites = estate.sites.iloc[cols]
    ids = sites["site_id"].to_numpy()
    xy = np.column_stack([sites.geometry.x, sites.geometry.y])
    frame = pd.DataFrame({
        "service_type": standard.service_type, "site_a": ids[a],
        "name_a": sites["name"].to_numpy()[a], "owner_a": sites["owner"].to_numpy()[a],
        "site_b": ids[b], "name_b": sites["name"].to_numpy()[b],
        "owner_b": sites["owner"].to_numpy()[b],
        "same_owner": sites["owner"].to_numpy()[a] == sites["owner"].to_numpy()[b],
        "minutes_apart": crow_fly_minutes(np.hypot(*(xy[a] - xy[b]).T)),
        "demand_a": own[a], "demand_b": own[b], "shared_demand": shared[a, b],
        "share_of_a": share[a, b], "share_of_b": share[b, a],
        "overlap": np.maximum(share[a, b], share[b, a]),
    })
    frame["cluster"] = _clusters(frame, settings.OVERLAP_CLUSTER_SHARE)
    return frame.sort_values(["overlap", "shared_demand", "site_a", "site_b"],
                             ascending=[False, False, True, True],
                             ignore_index=True)[_OVERLAP_COLUMNS]


def _clusters(pairs: pd.DataFrame, threshold: float) -> np.ndarray:
    strong = pairs[pairs["overlap"] >= threshold]
    graph = nx.Graph()
    graph.add_edges_from(zip(strong["site_a"], strong["site_b"], strict=True))
    label: dict[str, int] = {}
    components = sorted((sorted(c) for c in nx.connected_components(graph)),
                        key=lambda c: (-len(c), c[0]))
    for k, comp in enumerate(components, start=1):
        for site in comp:
            label[site] = k
    return np.array([label.get(a, 0) if label.get(a, 0) == label.get(b, -1) else 0
                     for a, b in zip(pairs["site_a"], pairs["site_b"], strict=True)], dtype=int)


def minutes_before_after(estate: Estate, times: dict[str, TravelTimes],
                         standards: dict[str, Standard], assignment: pd.DataFrame
                         ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Minutes from each zone to the nearest site offering each standard's service.

    Parameters
    ----------
    estate
        The estate (where services are today).
    times
        Travel times by mode.
    standards
        Access standards by service type.
    assignment
        A plan's placements: ``service_id``, ``site_id`` (``share`` ignored: any
        share offers the service there).

    Returns
    -------
    dict
        Service type -> (minutes today, minutes with the plan), one value per zone in
        ``estate.zones`` order; ``inf`` beyond the cutoff.
    """
    services = estate.services
    placed = assignment.merge(services[["service_id", "service_type"]], on="service_id")
    out = {}
    for t, st in standards.items():
        tt = times[st.mode]
        before = np.isin(tt.site_ids, services.loc[services["service_type"] == t, "site_id"])
        after = np.isin(tt.site_ids, placed.loc[placed["service_type"] == t, "site_id"])
        out[t] = (nearest(tt.minutes, before)[1], nearest(tt.minutes, after)[1])
    return out


def cutoffs(standards: dict[str, Standard]) -> dict[str, float]:
    """The largest ``max_minutes`` per mode: how far each matrix must be computed.

    Parameters
    ----------
    standards
        Access standards by service type.
    """
    out: dict[str, float] = {}
    for std in standards.values():
        out[std.mode] = max(out.get(std.mode, 0.0), std.max_minutes)
    return {mode: math.ceil(m) for mode, m in out.items()}


#: A travel-time matrix's key: the network, the mode and the cutoff (minutes).
TravelKey = tuple[NetworkSpec, str, float]


def travel_keys(network: NetworkSpec, standards: dict[str, Standard]) -> dict[str, TravelKey]:
    """Per mode, the key of the matrix a scenario needs (:func:`cutoffs` on ``network``).

    A matrix handed from one run to another (a sweep's variants) is reused only under
    the same key.
    """
    return {mode: (network, mode, float(cut)) for mode, cut in cutoffs(standards).items()}

