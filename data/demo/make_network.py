"""Generate the *synthetic* walking street network used by the Lewisham demo.

The network is **not** a copy of real streets.  It is a seeded, deterministic
stand-in with the statistical character of an inner/outer London walk network
for the extent of the London Borough of Lewisham, in British National Grid
(EPSG:27700) metres.  It models:

* street intersections that are denser around the borough's real town centres
  (:data:`TOWN_CENTRES`) and sparser in the suburbs, with a smooth random
  modulation so that blocks are irregular;
* neighbourhoods of two kinds: bent, jittered street grids with long blocks
  (Victorian terraces), often aligned with a nearby main road, and organic
  layouts (blue-noise points, estates with more cul-de-sacs);
* a street graph taken from a Delaunay triangulation of all the points (grid
  links inside gridded neighbourhoods, the Gabriel graph elsewhere), so that
  no two streets cross, pruned to realistic street degrees (mostly T- and
  X-junctions, few degree-2 nodes, some cul-de-sacs);
* a few long, straight-ish arterial roads linking town centres
  (:data:`ARTERIALS`, ``highway`` primary/secondary with a ``name``);
* two railway lines (:data:`RAILWAYS`) acting as barriers that streets cross
  only at a few bridges;
* large parks (:data:`PARKS`) with no streets inside, only a few footpaths.

The graph is written in the format OSMnx produces for a projected, simplified
walk network, so ``osmnx.load_graphml`` reads it back with the usual dtypes.

Run ``python data/demo/make_network.py [--out PATH]``.  Two runs produce
byte-identical output.
"""

from __future__ import annotations

import argparse
import gzip
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import networkx as nx
import numpy as np
import osmnx as ox
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import Delaunay, cKDTree

SEED = 20261126
"""Seed of the single :func:`numpy.random.default_rng` used by the script."""

DEFAULT_OUT = Path(__file__).resolve().parent / "network_walk.graphml.gz"
"""Default output path (``data/demo/network_walk.graphml.gz``)."""

CRS = "EPSG:27700"
GRAPH_NAME = "tp-assets synthetic demo walk network (NOT real streets)"

EXTENT: tuple[float, float, float, float] = (533000.0, 169000.0, 541500.0, 178500.0)
"""Bounding box (min easting, min northing, max easting, max northing), metres."""

TOWN_CENTRES: dict[str, tuple[float, float]] = {
    "Lewisham": (538300.0, 175500.0),
    "Catford": (537700.0, 173500.0),
    "Deptford": (537200.0, 177500.0),
    "New Cross": (536400.0, 176900.0),
    "Forest Hill": (535400.0, 173200.0),
    "Sydenham": (535300.0, 171400.0),
    "Lee": (539600.0, 174900.0),
    "Brockley": (536500.0, 175300.0),
    "Downham": (539300.0, 171500.0),
    "Bellingham": (537600.0, 171800.0),
}
"""Approximate real town-centre locations (easting, northing), metres BNG."""

_TC = TOWN_CENTRES

ARTERIALS: tuple[tuple[str, str, tuple[tuple[float, float], ...]], ...] = (
    ("A21 Lewisham High Street", "primary", (_TC["Lewisham"], _TC["Catford"])),
    (
        "A21 Bromley Road",
        "primary",
        (_TC["Catford"], _TC["Bellingham"], (539000.0, 169000.0)),
    ),
    (
        "A20 Lee High Road",
        "primary",
        (_TC["Lewisham"], _TC["Lee"], (541500.0, 174600.0)),
    ),
    ("A20 Lewisham Way", "primary", (_TC["New Cross"], _TC["Lewisham"])),
    (
        "A2 New Cross Road",
        "primary",
        ((533000.0, 177100.0), _TC["New Cross"], _TC["Deptford"]),
    ),
    (
        "A205 South Circular Road",
        "primary",
        (
            (533000.0, 173400.0),
            _TC["Forest Hill"],
            _TC["Catford"],
            (539800.0, 174200.0),
            (541500.0, 174000.0),
        ),
    ),
    ("A212 Dartmouth Road", "secondary", (_TC["Forest Hill"], _TC["Sydenham"])),
    ("A2218 Sydenham Road", "secondary", (_TC["Sydenham"], _TC["Bellingham"])),
    (
        "B218 Brockley Road",
        "secondary",
        (_TC["New Cross"], _TC["Brockley"], _TC["Forest Hill"]),
    ),
    ("Ladywell Road", "secondary", (_TC["Brockley"], _TC["Lewisham"])),
    ("Lewisham Road", "secondary", (_TC["Deptford"], _TC["Lewisham"])),
    ("A2212 Downham Way", "secondary", (_TC["Bellingham"], _TC["Downham"])),
    (
        "A2212 Burnt Ash Hill",
        "secondary",
        (_TC["Lee"], (540100.0, 172800.0), _TC["Downham"]),
    ),
)
"""Arterial roads: (name, OSM highway tag, waypoints in metres BNG)."""

RAILWAYS: dict[str, tuple[tuple[float, float], ...]] = {
    "Brighton Main Line": (
        (535500.0, 178500.0),
        (535850.0, 176900.0),
        (536250.0, 175500.0),
        (535900.0, 174300.0),
        (535150.0, 173300.0),
        (535000.0, 171500.0),
        (534700.0, 169000.0),
    ),
    "South Eastern Main Line": (
        (536900.0, 178500.0),
        (537500.0, 176400.0),
        (538000.0, 175700.0),
        (538900.0, 174400.0),
        (540600.0, 172600.0),
        (541500.0, 171600.0),
    ),
}
"""Approximate railway centre lines (metres BNG); streets cross them only at
bridges."""

PARKS: dict[str, tuple[float, float, float, float, float]] = {
    "Beckenham Place Park": (537500.0, 170300.0, 620.0, 420.0, 15.0),
    "Blackheath": (539450.0, 176600.0, 600.0, 330.0, 20.0),
    "Hilly Fields": (536950.0, 174850.0, 230.0, 160.0, -30.0),
}
"""Approximate parks as ellipses: (centre easting, centre northing, semi-major axis,
semi-minor axis, rotation in degrees), metres BNG."""

# Tuning constants.  Distances in metres, areas in m2, probabilities in [0, 1].
SPACING_CENTRE = 28.0  # junction spacing at a town centre
SPACING_SUBURB = 57.0  # junction spacing far from any town centre
CENTRE_SIGMA = 750.0  # radius of influence of a town centre
PATCH_RADIUS = 620.0  # typical neighbourhood radius
LATTICE_SHARE = 0.6  # share of neighbourhoods laid out as street grids
RAIL_CLEARANCE = 12.0  # no junction nearer than this to a railway
ARTERIAL_CLEARANCE = 22.0  # no side-street junction nearer to an arterial
PARK_CLEARANCE = 12.0  # no street junction nearer than this to a park
PARK_PATH_SPACING = 210.0  # spacing of footpath junctions inside parks
BRIDGE_SPACING = 900.0  # target spacing of railway bridges
GRID_ALIGN_DISTANCE = 450.0  # grids this near an arterial may align with it
GRID_ALIGN_PROB = 0.7  # chance that such a grid does align
JUNCTION = 3
"""Pruning and cul-de-sac cutting never take a junction below this degree."""
MIN_CUT_LENGTH = 45.0  # shortest segment that may be cut into a cul-de-sac
FOOTWAY_PROB = 0.06  # chance a through residential segment is a footway
SERVICE_PROB = 0.02  # chance a through residential segment is a service road
SERVICE_DEAD_END_PROB = 0.3  # chance a dead-end segment is a service road
PRUNE_PROB = {"along": 0.05, "across": 0.75, "organic": 0.5, "sharp": 0.95}
"""Probability of dropping a prunable segment, by segment role."""
CUL_DE_SAC_PROB = {"along": 0.04, "across": 0.2, "organic": 0.45, "sharp": 0.45}
"""Probability of turning a cuttable segment into a cul-de-sac, by role."""


@dataclass
class _Points:
    """Sampled node locations and what they were sampled for.

    Attributes
    ----------
    xy : numpy.ndarray
        ``(n, 2)`` coordinates, metres BNG.
    spacing : numpy.ndarray
        ``(n,)`` local target spacing, metres.
    arterial : numpy.ndarray
        ``(n,)`` index into :data:`ARTERIALS` of the arterial a point was laid
        along, or -1.
    park : numpy.ndarray
        ``(n,)`` index into :data:`PARKS` of the park a footpath point lies in,
        or -1.
    patch : numpy.ndarray
        ``(n,)`` id of the gridded neighbourhood a point belongs to, or -1.
    cell : numpy.ndarray
        ``(n, 2)`` integer lattice indices (along street, across streets) of
        gridded points.
    """

    xy: np.ndarray
    spacing: np.ndarray
    arterial: np.ndarray
    park: np.ndarray
    patch: np.ndarray
    cell: np.ndarray


@dataclass
class _Net:
    """Mutable working state of the generator.

    Attributes
    ----------
    xy : numpy.ndarray
        ``(n, 2)`` node coordinates, metres BNG.
    edges : dict
        Undirected street segments ``(u, v)`` with ``u < v`` mapped to their
        OSM ``highway`` tag.
    names : dict
        Street name for arterial segments, keyed like `edges`.
    role : dict
        Local-street segments mapped to "along"/"across" (gridded
        neighbourhoods), "organic" or "sharp" (meets another street at an
        acute angle).
    protected : set
        Segments that pruning must not remove (arterials, bridges, paths).
    """

    xy: np.ndarray
    edges: dict[tuple[int, int], str] = field(default_factory=dict)
    names: dict[tuple[int, int], str] = field(default_factory=dict)
    role: dict[tuple[int, int], str] = field(default_factory=dict)
    protected: set[tuple[int, int]] = field(default_factory=set)


def _key(u: int, v: int) -> tuple[int, int]:
    """Return the canonical ``(min, max)`` key of an undirected segment."""
    return (u, v) if u < v else (v, u)


def _park_polygons() -> list[shapely.Polygon]:
    """Build the park ellipses.

    Returns
    -------
    list of shapely.Polygon
        One polygon per entry of :data:`PARKS`, metres BNG.
    """
    polys = []
    theta = np.linspace(0.0, 2.0 * np.pi, 96, endpoint=False)
    for cx, cy, a, b, rot in PARKS.values():
        r = np.deg2rad(rot)
        ex, ey = a * np.cos(theta), b * np.sin(theta)
        xs = cx + ex * np.cos(r) - ey * np.sin(r)
        ys = cy + ex * np.sin(r) + ey * np.cos(r)
        polys.append(shapely.Polygon(np.column_stack([xs, ys])))
    return polys


def local_spacing(xy: np.ndarray, phases: np.ndarray) -> np.ndarray:
    """Target distance between neighbouring intersections.

    Parameters
    ----------
    xy : numpy.ndarray
        ``(n, 2)`` coordinates, metres BNG.
    phases : numpy.ndarray
        ``(k, 3)`` random (wave-vector angle, wavelength in metres, phase in
        radians) triples of the smooth modulation field.

    Returns
    -------
    numpy.ndarray
        ``(n,)`` spacing in metres: about :data:`SPACING_CENTRE` at a town
        centre, rising to about :data:`SPACING_SUBURB` away from them.
    """
    centres = np.array(list(TOWN_CENTRES.values()))
    d2 = ((xy[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2)
    w = np.exp(-d2 / (2.0 * CENTRE_SIGMA**2)).max(axis=1)
    base = SPACING_SUBURB - (SPACING_SUBURB - SPACING_CENTRE) * w
    noise = np.zeros(len(xy))
    for ang, wavelength, ph in phases:
        proj = xy[:, 0] * np.cos(ang) + xy[:, 1] * np.sin(ang)
        noise += np.sin(2.0 * np.pi * proj / wavelength + ph)
    noise /= np.sqrt(len(phases) / 2.0)
    return base * (1.0 + 0.12 * noise)


def _thin(cand: np.ndarray, radius: np.ndarray) -> np.ndarray:
    """Greedy sequential thinning (Matern type III style).

    Parameters
    ----------
    cand : numpy.ndarray
        ``(n, 2)`` candidate points in priority order, metres.
    radius : numpy.ndarray
        ``(n,)`` exclusion radius of each candidate, metres: an accepted
        candidate suppresses all later candidates within its radius.

    Returns
    -------
    numpy.ndarray
        Boolean mask of accepted candidates.
    """
    tree = cKDTree(cand)
    neigh = tree.query_ball_point(cand, r=radius)
    alive = np.ones(len(cand), dtype=bool)
    accepted = np.zeros(len(cand), dtype=bool)
    for i in range(len(cand)):
        if not alive[i]:
            continue
        accepted[i] = True
        alive[neigh[i]] = False
    return accepted


def _polyline_points(
    rng: np.random.Generator, way: tuple[tuple[float, float], ...], step: float
) -> np.ndarray:
    """Place gently wiggling points along an arterial's waypoints.

    Parameters
    ----------
    rng : numpy.random.Generator
        Random generator.
    way : tuple of (float, float)
        Waypoints, metres BNG.
    step : float
        Distance between consecutive points along the line, metres.

    Returns
    -------
    numpy.ndarray
        ``(m, 2)`` points, metres BNG.
    """
    line = shapely.LineString(way)
    n = max(int(line.length // step), 1)
    s = np.linspace(0.0, line.length, n + 1)
    pts = shapely.get_coordinates(shapely.line_interpolate_point(line, s))
    ahead = shapely.get_coordinates(
        shapely.line_interpolate_point(line, np.minimum(s + 1.0, line.length))
    )
    behind = shapely.get_coordinates(
        shapely.line_interpolate_point(line, np.maximum(s - 1.0, 0.0))
    )
    tangent = ahead - behind
    tangent /= np.linalg.norm(tangent, axis=1, keepdims=True)
    normal = np.column_stack([-tangent[:, 1], tangent[:, 0]])
    amp = rng.uniform(8.0, 20.0)
    wavelength = rng.uniform(600.0, 1200.0)
    offset = amp * np.sin(2.0 * np.pi * s / wavelength + rng.uniform(0.0, 2.0 * np.pi))
    offset[[0, -1]] = 0.0
    offset[1:-1] += rng.normal(0.0, 2.0, n - 1)
    return pts + normal * offset[:, None]


def _patches(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Split the extent into neighbourhoods of gridded or organic streets.

    Parameters
    ----------
    rng : numpy.random.Generator
        Random generator.

    Returns
    -------
    centres : numpy.ndarray
        ``(k, 2)`` neighbourhood seed points, metres BNG; each location belongs
        to the nearest seed.
    gridded : numpy.ndarray
        ``(k,)`` True for neighbourhoods laid out as (bent) street grids, as
        in Victorian terraces; False for organic layouts.
    theta : numpy.ndarray
        ``(k,)`` street-grid bearing, radians; grids near an arterial road
        mostly run parallel or perpendicular to it.
    """
    x0, y0, x1, y1 = EXTENT
    pad = PATCH_RADIUS / 2.0
    cand = rng.uniform((x0 - pad, y0 - pad), (x1 + pad, y1 + pad), size=(3000, 2))
    centres = cand[_thin(cand, np.full(len(cand), PATCH_RADIUS))]
    k = len(centres)
    gridded = rng.random(k) < LATTICE_SHARE
    theta = rng.uniform(0.0, np.pi, k)
    arts = [shapely.LineString(way) for _, _, way in ARTERIALS]
    pts = shapely.points(centres)
    dist = np.column_stack([shapely.distance(pts, a) for a in arts])
    near = dist.argmin(axis=1)
    follow = dist.min(axis=1) < GRID_ALIGN_DISTANCE
    follow &= rng.random(k) < GRID_ALIGN_PROB
    for c in np.flatnonzero(follow):
        line = arts[near[c]]
        s = line.project(pts[c])
        a = np.array(line.interpolate(min(s + 5.0, line.length)).coords[0])
        b = np.array(line.interpolate(max(s - 5.0, 0.0)).coords[0])
        theta[c] = np.arctan2(a[1] - b[1], a[0] - b[0]) + rng.normal(0.0, 0.1)
    return centres, gridded, theta


def _lattice(
    rng: np.random.Generator, centre: np.ndarray, theta: float, spacing: float
) -> tuple[np.ndarray, np.ndarray]:
    """Lay out a gently bent, jittered street grid around a neighbourhood seed.

    Parameters
    ----------
    rng : numpy.random.Generator
        Random generator.
    centre : numpy.ndarray
        ``(2,)`` seed point, metres BNG.
    theta : float
        Bearing of the streets, radians.
    spacing : float
        Local target spacing, metres.

    Returns
    -------
    xy : numpy.ndarray
        ``(m, 2)`` grid points, metres BNG.
    cell : numpy.ndarray
        ``(m, 2)`` integer (along, across) lattice indices.
    """
    sx = spacing * rng.uniform(1.5, 2.4)
    sy = spacing * rng.uniform(0.95, 1.3)
    reach = 2.2 * PATCH_RADIUS
    mesh = np.meshgrid(
        np.arange(-int(reach / sx), int(reach / sx) + 1),
        np.arange(-int(reach / sy), int(reach / sy) + 1),
        indexing="ij",
    )
    ii, jj = mesh[0].reshape(-1), mesh[1].reshape(-1)
    u, v = ii * sx, jj * sy
    amp = rng.uniform(0.0, 0.18, 2) * (sy, sx)
    lam = rng.uniform(500.0, 1200.0, 2)
    ph = rng.uniform(0.0, 2.0 * np.pi, 2)
    u2 = u + amp[1] * np.sin(2.0 * np.pi * v / lam[1] + ph[1])
    v2 = v + amp[0] * np.sin(2.0 * np.pi * u / lam[0] + ph[0])
    c, s = np.cos(theta), np.sin(theta)
    xy = centre + np.column_stack([u2 * c - v2 * s, u2 * s + v2 * c])
    xy += rng.normal(0.0, 2.0, xy.shape)
    return xy, np.column_stack([ii, jj])


def _park_points(
    rng: np.random.Generator, parks: list[shapely.Polygon]
) -> tuple[np.ndarray, np.ndarray]:
    """Sample sparse footpath junctions inside the parks.

    Parameters
    ----------
    rng : numpy.random.Generator
        Random generator.
    parks : list of shapely.Polygon
        Park polygons, metres BNG.

    Returns
    -------
    xy : numpy.ndarray
        ``(m, 2)`` points about :data:`PARK_PATH_SPACING` apart, metres BNG.
    park : numpy.ndarray
        ``(m,)`` index of the park each point lies in.
    """
    pts = []
    for poly in parks:
        inner = poly.buffer(-40.0)
        bx0, by0, bx1, by1 = inner.bounds
        c = rng.uniform((bx0, by0), (bx1, by1), size=(400, 2))
        c = c[shapely.contains_xy(inner, c[:, 0], c[:, 1])]
        pts.append(c[_thin(c, np.full(len(c), PARK_PATH_SPACING))])
    return np.vstack(pts), np.concatenate(
        [np.full(len(p), i) for i, p in enumerate(pts)]
    )


def _grid_points(
    rng: np.random.Generator,
    centres: np.ndarray,
    gridded: np.ndarray,
    theta: np.ndarray,
    phases: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Lay out the street grids of all gridded neighbourhoods.

    Parameters
    ----------
    rng : numpy.random.Generator
        Random generator.
    centres, gridded, theta : numpy.ndarray
        Neighbourhoods, as returned by :func:`_patches`.
    phases : numpy.ndarray
        Modulation field of :func:`local_spacing`.

    Returns
    -------
    xy : numpy.ndarray
        ``(m, 2)`` grid points in random order, metres BNG.
    cell : numpy.ndarray
        ``(m, 2)`` integer lattice indices of each point.
    patch : numpy.ndarray
        ``(m,)`` neighbourhood index of each point.
    """
    tree = cKDTree(centres)
    pts, cells, ids = [], [], []
    for c in np.flatnonzero(gridded):
        sp_c = float(local_spacing(centres[c : c + 1], phases)[0])
        xy, cell = _lattice(rng, centres[c], float(theta[c]), sp_c)
        mine = tree.query(xy)[1] == c
        pts.append(xy[mine])
        cells.append(cell[mine])
        ids.append(np.full(mine.sum(), c))
    order = rng.permutation(sum(len(p) for p in pts))
    return np.vstack(pts)[order], np.vstack(cells)[order], np.concatenate(ids)[order]


def sample_nodes(rng: np.random.Generator, parks: list[shapely.Polygon]) -> _Points:
    """Sample street-intersection locations.

    Parameters
    ----------
    rng : numpy.random.Generator
        Random generator.
    parks : list of shapely.Polygon
        Park polygons, metres BNG.

    Returns
    -------
    _Points
        Node locations with their sampling metadata.
    """
    x0, y0, x1, y1 = EXTENT
    k = 6
    phases = np.column_stack(
        [
            rng.uniform(0.0, np.pi, k),
            rng.uniform(1500.0, 5000.0, k),
            rng.uniform(0.0, 2.0 * np.pi, k),
        ]
    )
    centres, gridded, theta = _patches(rng)
    patch_tree = cKDTree(centres)

    # Arterial guide points (highest priority).
    art = [_polyline_points(rng, way, 48.0) for _, _, way in ARTERIALS]
    apts = np.vstack(art)
    aid = np.concatenate([np.full(len(p), i) for i, p in enumerate(art)])
    ppts, pid = _park_points(rng, parks)
    gpts, gcell, gid = _grid_points(rng, centres, gridded, theta, phases)

    # Organic neighbourhoods: intensity ~ 1 / spacing**2, then thinning.
    n_cand = 110_000
    cand = rng.uniform((x0, y0), (x1, y1), size=(n_cand, 2))
    sp = local_spacing(cand, phases)
    cand = cand[rng.random(n_cand) < (SPACING_CENTRE / sp) ** 2]
    cand = cand[~gridded[patch_tree.query(cand)[1]]]

    xy = np.vstack([apts, ppts, gpts, cand])
    n_a, n_p, n_g = len(apts), len(ppts), len(gpts)
    sp = local_spacing(xy, phases)
    radius = 0.72 * sp
    radius[:n_a] = 14.0
    radius[n_a + n_p : n_a + n_p + n_g] = 0.42 * sp[n_a + n_p : n_a + n_p + n_g]
    keep = _thin(xy, radius)
    keep[n_a : n_a + n_p] = True

    fill = np.full(len(xy) - n_a, -1)
    arterial = np.concatenate([aid, fill])
    park = np.concatenate([np.full(n_a, -1), pid, np.full(n_g + len(cand), -1)])
    patch = np.concatenate([np.full(n_a + n_p, -1), gid, np.full(len(cand), -1)])
    cell = np.vstack(
        [np.zeros((n_a + n_p, 2), int), gcell, np.zeros((len(cand), 2), int)]
    )

    pts = shapely.points(xy)
    rails = shapely.MultiLineString([list(w) for w in RAILWAYS.values()])
    arts = shapely.MultiLineString([list(w) for _, _, w in ARTERIALS])
    keep &= shapely.distance(pts, rails) > RAIL_CLEARANCE
    background = np.arange(len(xy)) >= n_a + n_p
    keep &= ~(background & (shapely.distance(pts, arts) < ARTERIAL_CLEARANCE))
    park_union = shapely.union_all(parks)
    keep &= (park >= 0) | (shapely.distance(pts, park_union) > PARK_CLEARANCE)
    keep &= (xy >= (x0, y0)).all(axis=1) & (xy <= (x1, y1)).all(axis=1)
    return _Points(
        xy[keep], sp[keep], arterial[keep], park[keep], patch[keep], cell[keep]
    )


def _segments(xy: np.ndarray, e: np.ndarray) -> np.ndarray:
    """Return shapely line strings for an ``(m, 2)`` array of node pairs."""
    coords = np.stack([xy[e[:, 0]], xy[e[:, 1]]], axis=1)
    return shapely.linestrings(coords)


def _delaunay_edges(xy: np.ndarray) -> np.ndarray:
    """Return the unique undirected edges of the Delaunay triangulation.

    Parameters
    ----------
    xy : numpy.ndarray
        ``(n, 2)`` coordinates, metres.

    Returns
    -------
    numpy.ndarray
        ``(m, 2)`` sorted node-index pairs with ``u < v``, lexicographically
        ordered.
    """
    tri = Delaunay(xy).simplices
    e = np.vstack([tri[:, [0, 1]], tri[:, [1, 2]], tri[:, [0, 2]]])
    e.sort(axis=1)
    return np.unique(e, axis=0)


def _gabriel_mask(xy: np.ndarray, e: np.ndarray) -> np.ndarray:
    """Flag the Delaunay edges that belong to the Gabriel graph.

    Parameters
    ----------
    xy : numpy.ndarray
        ``(n, 2)`` coordinates, metres.
    e : numpy.ndarray
        ``(m, 2)`` node-index pairs.

    Returns
    -------
    numpy.ndarray
        Boolean mask; True where no other node lies inside the circle whose
        diameter is the edge.
    """
    mid = 0.5 * (xy[e[:, 0]] + xy[e[:, 1]])
    r = 0.5 * np.linalg.norm(xy[e[:, 0]] - xy[e[:, 1]], axis=1)
    dist, idx = cKDTree(xy).query(mid, k=3)
    other = (idx != e[:, [0]]) & (idx != e[:, [1]])
    return ~(other & (dist < r[:, None] - 1e-6)).any(axis=1)


def _route_arterials(
    net: _Net, e: np.ndarray, usable: np.ndarray, arterial: np.ndarray
) -> None:
    """Route each arterial along straight-ish Delaunay edges.

    Parameters
    ----------
    net : _Net
        Working network; arterial segments are added and protected.
    e : numpy.ndarray
        ``(m, 2)`` Delaunay node-index pairs.
    usable : numpy.ndarray
        ``(m,)`` mask of edges an arterial may use.
    arterial : numpy.ndarray
        ``(n,)`` arterial index of each node, or -1.
    """
    xy = net.xy
    n = len(xy)
    eu = e[usable]
    length = np.linalg.norm(xy[eu[:, 0]] - xy[eu[:, 1]], axis=1)
    mids = shapely.points(0.5 * (xy[eu[:, 0]] + xy[eu[:, 1]]))
    tree = cKDTree(xy)
    for i, (name, highway, way) in enumerate(ARTERIALS):
        line = shapely.LineString(way)
        dev = shapely.distance(mids, line)
        both = (arterial[eu[:, 0]] == i) & (arterial[eu[:, 1]] == i)
        w = length * (1.0 + (dev / 40.0) ** 2) * np.where(both, 0.3, 1.0)
        graph = coo_matrix(
            (
                np.concatenate([w, w]),
                (np.concatenate(eu.T[::-1]), np.concatenate(eu.T)),
            ),
            shape=(n, n),
        ).tocsr()
        src = int(tree.query(way[0])[1])
        dst = int(tree.query(way[-1])[1])
        _, pred = dijkstra(graph, indices=src, return_predecessors=True)
        node = dst
        while node != src and pred[node] >= 0:
            k = _key(int(pred[node]), node)
            if k not in net.edges:
                net.edges[k] = highway
                net.names[k] = name
            net.protected.add(k)
            node = int(pred[node])


def _park_paths(
    rng: np.random.Generator,
    net: _Net,
    e: np.ndarray,
    park: np.ndarray,
    parks: list[shapely.Polygon],
) -> None:
    """Add a sparse footpath tree with a few entrances to every park.

    Parameters
    ----------
    rng : numpy.random.Generator
        Random generator.
    net : _Net
        Working network; path segments are added and protected.
    e : numpy.ndarray
        ``(m, 2)`` Delaunay node-index pairs.
    park : numpy.ndarray
        ``(n,)`` park index of each node, or -1.
    parks : list of shapely.Polygon
        Park polygons, metres BNG.
    """
    xy = net.xy
    for i, poly in enumerate(parks):
        inner = (park[e[:, 0]] == i) & (park[e[:, 1]] == i)
        g = nx.Graph()
        for u, v in e[inner]:
            g.add_edge(int(u), int(v), weight=float(np.linalg.norm(xy[u] - xy[v])))
        paths = set(nx.minimum_spanning_edges(g, data=False))
        rest = sorted(
            set(map(tuple, map(sorted, g.edges()))) - {_key(*p) for p in paths}
        )
        for j in rng.permutation(len(rest))[:2]:
            paths.add(rest[j])
        for u, v in paths:
            k = _key(u, v)
            net.edges[k] = "path"
            net.protected.add(k)
        # Entrances: the shortest gate edge in each of a few angular sectors.
        gate = (park[e[:, 0]] == i) ^ (park[e[:, 1]] == i)
        ge = e[gate]
        outside = np.where(park[ge[:, 0]] == i, ge[:, 1], ge[:, 0])
        ge = ge[park[outside] == -1]
        outside = outside[park[outside] == -1]
        centre = np.array(poly.centroid.coords[0])
        ang = np.arctan2(*(xy[outside] - centre).T[::-1])
        n_gates = int(np.clip(round(poly.length / 600.0), 3, 6))
        sector = np.floor(
            (ang + np.pi + rng.uniform(0, 2 * np.pi)) / (2 * np.pi) * n_gates
        )
        sector = sector.astype(int) % n_gates
        length = np.linalg.norm(xy[ge[:, 0]] - xy[ge[:, 1]], axis=1)
        for s in range(n_gates):
            cand = np.flatnonzero(sector == s)
            if len(cand):
                u, v = ge[cand[np.argmin(length[cand])]]
                k = _key(int(u), int(v))
                net.edges[k] = "footway"
                net.protected.add(k)


def build_network(rng: np.random.Generator) -> _Net:
    """Generate the undirected street network.

    Parameters
    ----------
    rng : numpy.random.Generator
        Random generator, seeded with :data:`SEED` by :func:`main`.

    Returns
    -------
    _Net
        Nodes (metres BNG) and undirected street segments with highway tags.
    """
    parks = _park_polygons()
    pts = sample_nodes(rng, parks)
    xy = pts.xy
    net = _Net(xy=xy)
    e = _delaunay_edges(xy)
    segs = _segments(xy, e)
    length = np.linalg.norm(xy[e[:, 0]] - xy[e[:, 1]], axis=1)

    in_park = (pts.park[e[:, 0]] >= 0) | (pts.park[e[:, 1]] >= 0)
    crosses_park = (
        shapely.intersects(segs, shapely.union_all(parks).buffer(-2.0)) & ~in_park
    )
    street_ok = ~in_park & ~crosses_park
    _route_arterials(net, e, street_ok, pts.arterial)
    _park_paths(rng, net, e, pts.park, parks)

    # Local streets: grid links inside gridded neighbourhoods, the Gabriel
    # graph elsewhere, minus over-long segments.
    same = (pts.patch[e[:, 0]] >= 0) & (pts.patch[e[:, 0]] == pts.patch[e[:, 1]])
    step = np.abs(pts.cell[e[:, 0]] - pts.cell[e[:, 1]])
    along = same & (step[:, 0] == 1) & (step[:, 1] == 0)
    across = same & (step[:, 0] == 0) & (step[:, 1] == 1)
    local = street_ok & np.where(same, along | across, _gabriel_mask(xy, e))
    local &= length < 2.6 * np.maximum(pts.spacing[e[:, 0]], pts.spacing[e[:, 1]])
    roles = np.where(along, "along", np.where(across, "across", "organic"))
    for (u, v), role in zip(e[local], roles[local], strict=True):
        k = (int(u), int(v))
        if k not in net.edges:
            net.edges[k] = "residential"
            net.role[k] = str(role)
    _mark_sharp(net)

    _railway_barriers(rng, net)
    _prune(rng, net)
    _cul_de_sacs(rng, net)
    _largest_component(net)
    _retag(rng, net)
    return net


def _mark_sharp(net: _Net, min_angle: float = 35.0) -> None:
    """Re-label organic segments meeting another street at an acute angle.

    Parameters
    ----------
    net : _Net
        Working network, modified in place.
    min_angle : float, optional
        Smallest acceptable angle between streets at a junction, degrees.
    """
    adj: dict[int, list[int]] = {}
    for u, v in net.edges:
        adj.setdefault(u, []).append(v)
        adj.setdefault(v, []).append(u)
    bearing = {}
    for u, nbrs in adj.items():
        d = net.xy[nbrs] - net.xy[u]
        bearing[u] = np.degrees(np.arctan2(d[:, 1], d[:, 0]))
    for (u, v), role in net.role.items():
        if role != "organic":
            continue
        for a, b in ((u, v), (v, u)):
            own = bearing[a][adj[a].index(b)]
            diff = np.abs((bearing[a] - own + 180.0) % 360.0 - 180.0)
            if len(diff) > 1 and np.sort(diff)[1] < min_angle:
                net.role[(u, v)] = "sharp"
                break


def _railway_barriers(rng: np.random.Generator, net: _Net) -> None:
    """Remove street segments crossing a railway except at a few bridges.

    Parameters
    ----------
    rng : numpy.random.Generator
        Random generator.
    net : _Net
        Working network, modified in place.
    """
    keys = np.array(sorted(net.edges))
    segs = _segments(net.xy, keys)
    for way in RAILWAYS.values():
        rail = shapely.LineString(way)
        hit = np.flatnonzero(shapely.intersects(segs, rail))
        pos = shapely.line_locate_point(rail, shapely.intersection(segs[hit], rail))
        prot = np.array([tuple(keys[j]) in net.protected for j in hit], dtype=bool)
        bridges = [float(p) for p in pos[prot]]
        targets = np.arange(
            rng.uniform(0.3, 0.7) * BRIDGE_SPACING, rail.length, BRIDGE_SPACING
        )
        for t in targets:
            if bridges and np.min(np.abs(np.array(bridges) - t)) < 0.4 * BRIDGE_SPACING:
                continue
            b = int(np.argmin(np.abs(pos - t) + 1e6 * prot))
            if abs(pos[b] - t) < 0.3 * BRIDGE_SPACING:
                net.protected.add((int(keys[hit[b], 0]), int(keys[hit[b], 1])))
                bridges.append(float(pos[b]))
        for j in hit:
            k = (int(keys[j][0]), int(keys[j][1]))
            if k not in net.protected:
                del net.edges[k]


def _degrees(net: _Net) -> np.ndarray:
    """Return the undirected degree (street count) of every node."""
    deg = np.zeros(len(net.xy), dtype=int)
    for u, v in net.edges:
        deg[u] += 1
        deg[v] += 1
    return deg


def _prune(rng: np.random.Generator, net: _Net) -> None:
    """Thin high-degree junctions towards T- and X-junctions.

    A local segment is dropped, with the probability :data:`PRUNE_PROB` of
    its role, only when both of its ends keep at least three streets, so that
    pruning creates neither dead ends nor degree-2 nodes.  Segments meeting
    other streets at acute angles go first.

    Parameters
    ----------
    rng : numpy.random.Generator
        Random generator.
    net : _Net
        Working network, modified in place.
    """
    deg = _degrees(net)
    keys = sorted(net.role)
    order = rng.permutation(len(keys))
    order = order[
        np.argsort([net.role[keys[j]] != "sharp" for j in order], kind="stable")
    ]
    for j in order:
        k = keys[j]
        u, v = k
        if k in net.protected or k not in net.edges:
            continue
        if min(deg[u], deg[v]) > JUNCTION and rng.random() < PRUNE_PROB[net.role[k]]:
            del net.edges[k]
            deg[u] -= 1
            deg[v] -= 1


def _cul_de_sacs(rng: np.random.Generator, net: _Net) -> None:
    """Turn some through streets into cul-de-sacs.

    A segment ``u-v`` whose end ``v`` keeps at least three other streets is cut
    at 45-75 % of its length, leaving a dead-end spur from ``u``; the chance
    is :data:`CUL_DE_SAC_PROB` of the segment's role.

    Parameters
    ----------
    rng : numpy.random.Generator
        Random generator.
    net : _Net
        Working network, modified in place (new spur-end nodes are appended).
    """
    deg = _degrees(net)
    keys = sorted(net.role)
    new_xy = []
    n = len(net.xy)
    for j in rng.permutation(len(keys)):
        k = keys[j]
        if k in net.protected or k not in net.edges:
            continue
        u, v = k if rng.integers(2) else k[::-1]
        seg = net.xy[v] - net.xy[u]
        if deg[v] <= JUNCTION or deg[u] < JUNCTION or np.hypot(*seg) < MIN_CUT_LENGTH:
            continue
        if rng.random() > CUL_DE_SAC_PROB[net.role[k]]:
            continue
        del net.edges[k]
        deg[v] -= 1
        new_xy.append(net.xy[u] + rng.uniform(0.45, 0.75) * seg)
        net.edges[(u, n)] = "residential"
        net.role[(u, n)] = "spur"
        net.protected.add((u, n))
        n += 1
    if new_xy:
        net.xy = np.vstack([net.xy, np.array(new_xy)])


def _largest_component(net: _Net) -> None:
    """Keep only the largest connected component and renumber the nodes.

    Parameters
    ----------
    net : _Net
        Working network, modified in place.
    """
    g = nx.Graph()
    g.add_edges_from(net.edges)
    components: list[set[int]] = list(nx.connected_components(g))
    largest = max(components, key=len)
    comp = sorted(largest)
    new_id = {old: i for i, old in enumerate(comp)}

    def remap(d: dict[tuple[int, int], str]) -> dict[tuple[int, int], str]:
        return {
            _key(new_id[u], new_id[v]): t
            for (u, v), t in d.items()
            if u in new_id and v in new_id
        }

    net.edges = dict(sorted(remap(net.edges).items()))
    net.names = remap(net.names)
    net.role = remap(net.role)
    net.protected = {
        _key(new_id[u], new_id[v])
        for u, v in net.protected
        if u in new_id and v in new_id
    }
    net.xy = net.xy[comp]


def _retag(rng: np.random.Generator, net: _Net) -> None:
    """Assign service/footway tags to some minor segments.

    Parameters
    ----------
    rng : numpy.random.Generator
        Random generator.
    net : _Net
        Working network, modified in place.
    """
    deg = _degrees(net)
    for k in net.edges:
        if net.edges[k] != "residential":
            continue
        r = rng.random()
        dead_end = deg[k[0]] == 1 or deg[k[1]] == 1
        if dead_end:
            if r < SERVICE_DEAD_END_PROB:
                net.edges[k] = "service"
        elif r < FOOTWAY_PROB:
            net.edges[k] = "footway"
        elif r < FOOTWAY_PROB + SERVICE_PROB:
            net.edges[k] = "service"


_CIRCUITY = {
    "primary": (0.03, 1.0, 3.0),
    "secondary": (0.04, 1.0, 3.0),
    "residential": (0.15, 1.2, 6.0),
    "service": (0.10, 1.0, 5.0),
    "footway": (0.12, 1.0, 4.0),
    "path": (0.15, 2.0, 3.0),
}
"""Per highway tag: (max extra circuity, beta a, beta b)."""


def to_multidigraph(rng: np.random.Generator, net: _Net) -> nx.MultiDiGraph:
    """Convert the working network into an OSMnx-style MultiDiGraph.

    Parameters
    ----------
    rng : numpy.random.Generator
        Random generator (for edge circuity).
    net : _Net
        Undirected network.

    Returns
    -------
    networkx.MultiDiGraph
        Projected (EPSG:27700), simplified walk network: integer node ids with
        ``x``/``y`` (metres, 0.1 m) and ``street_count``; each street in both
        directions (key 0) with ``osmid``, ``length`` (metres, 0.01 m),
        ``highway``, ``oneway``, ``reversed`` and, for arterials, ``name``.
    """
    xy = np.round(net.xy, 1)
    deg = _degrees(net)
    g = nx.MultiDiGraph(crs=CRS, name=GRAPH_NAME, simplified=True)
    for i in range(len(xy)):
        g.add_node(
            i + 1, x=float(xy[i, 0]), y=float(xy[i, 1]), street_count=int(deg[i])
        )
    for j, ((u, v), highway) in enumerate(net.edges.items()):
        extra, a, b = _CIRCUITY[highway]
        straight = float(np.hypot(*(xy[u] - xy[v])))
        length = straight * (1.0 + extra * rng.beta(a, b))
        length = float(np.ceil(length * 100.0 + 1e-6) / 100.0)
        attrs = {"osmid": 900_000_001 + j, "highway": highway, "oneway": False}
        if (u, v) in net.names:
            attrs["name"] = net.names[(u, v)]
        g.add_edge(u + 1, v + 1, key=0, length=length, reversed=False, **attrs)
        g.add_edge(v + 1, u + 1, key=0, length=length, reversed=True, **attrs)
    return g


def write_graph(g: nx.MultiDiGraph, out: Path) -> None:
    """Write a graph as gzipped GraphML, byte-reproducibly.

    ``osmnx.save_graphml`` can write ``.gz`` directly, but gzip would then
    stamp the current time into the header; so the GraphML is written by
    OSMnx to a temporary file and gzipped here with ``mtime=0``.

    Parameters
    ----------
    g : networkx.MultiDiGraph
        Graph to write.
    out : pathlib.Path
        Output path, normally ending in ``.graphml.gz``.
    """
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        plain = Path(tmp) / "network.graphml"
        ox.save_graphml(g, plain)
        data = plain.read_bytes()
    out.write_bytes(gzip.compress(data, compresslevel=9, mtime=0))


def main(argv: list[str] | None = None) -> None:
    """Generate the network and write it.

    Parameters
    ----------
    argv : list of str, optional
        Command-line arguments; defaults to ``sys.argv[1:]``.
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help="output .graphml.gz path"
    )
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    rng = np.random.default_rng(SEED)
    net = build_network(rng)
    g = to_multidigraph(rng, net)
    write_graph(g, args.out)
    deg = np.array([d for _, d in g.nodes(data="street_count")])
    print(
        f"wrote {args.out}: {g.number_of_nodes()} nodes, "
        f"{g.number_of_edges()} directed edges, "
        f"mean street count {deg.mean():.2f}, dead ends {(deg == 1).sum()}, "
        f"{time.perf_counter() - t0:.1f} s"
    )


if __name__ == "__main__":
    main()
