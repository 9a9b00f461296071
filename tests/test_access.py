"""Travel times, snapping, cache, baseline access and overlaps on a hand-made graph.

tests/data/access/tiny.graphml (EPSG:27700, walking at 80 m/min):

    4 ---400--- 3                  8
    |           |                  |  (7-8: an island)
   800         400                 7
    |           |
    1 ---400--- 2 ---400--- 5 ---800--- 6      (1-2 also has a parallel 480 m edge)

Sites: A at node 2, B at node 4, C at node 6. Zones: Z1 at node 1, Z2 at node 3,
Z3 at node 6, Z4 at node 8 (cannot reach anything).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import networkx as nx
import numpy as np
import osmnx as ox
import pytest
import shapely
from conftest import TEST_DATA
from scipy import sparse
from scipy.sparse.csgraph import dijkstra

from tp_assets import access, estate, scenario, settings
from tp_assets._errors import InputError

ACCESS = TEST_DATA / "access"
INF = np.inf
# minutes zone -> site, worked by hand from the drawing above
EXPECTED = np.array([
    [5.0, 10.0, 20.0],    # Z1: 1-2; 1-4; 1-2-5-6
    [5.0, 5.0, 20.0],     # Z2: 3-2; 3-4; 3-2-5-6
    [15.0, 25.0, 0.0],    # Z3: 6-5-2; 6-5-2-3-4 (2000 m) beats 6-5-2-1-4 (2400 m)
    [INF, INF, INF],      # Z4: island
])


@pytest.fixture
def place() -> estate.Estate:
    return estate.load_place(ACCESS)


@pytest.fixture
def spec() -> scenario.NetworkSpec:
    return scenario.NetworkSpec(source="graphml", path=ACCESS / "tiny.graphml")


def test_matrix_matches_hand_worked_minutes(place: estate.Estate, spec: scenario.NetworkSpec,
                                            tmp_path: Path) -> None:
    t = access.travel_times(place, spec, mode="walk", cutoff_minutes=30, cache_dir=tmp_path)
    assert list(t.zone_ids) == ["Z1", "Z2", "Z3", "Z4"]
    assert list(t.site_ids) == ["A", "B", "C"]
    np.testing.assert_array_equal(t.minutes, EXPECTED)
    assert t.method == "network"
    assert list(t.unreachable_zones()) == ["Z4"]
    assert any("1 zone(s) reach no site within 30 minutes (walk): Z4" in w for w in t.warnings)
    long = t.long()
    assert len(long) == 9
    assert long.iloc[0].to_dict() == {"zone_id": "Z1", "site_id": "A", "minutes": 5.0}


def test_cutoff_drops_longer_pairs(place: estate.Estate, spec: scenario.NetworkSpec,
                                   tmp_path: Path) -> None:
    t = access.travel_times(place, spec, mode="walk", cutoff_minutes=12, cache_dir=tmp_path)
    np.testing.assert_array_equal(t.minutes, np.where(EXPECTED <= 12, EXPECTED, INF))
    assert list(t.unreachable_zones()) == ["Z4"]  # Z3 still reaches C (0 min)
    assert np.isinf(t.minutes[2, 0])  # but no longer A (15 min)


def test_cycle_mode_uses_cycling_speed(place: estate.Estate, spec: scenario.NetworkSpec,
                                       tmp_path: Path) -> None:
    t = access.travel_times(place, spec, mode="cycle", cutoff_minutes=30, cache_dir=tmp_path)
    metres = EXPECTED * 80.0
    np.testing.assert_allclose(t.minutes, metres / (settings.CYCLE_SPEED_KMH * 1000 / 60))


def test_drive_mode_uses_documented_speeds(place: estate.Estate,
                                           spec: scenario.NetworkSpec) -> None:
    # no maxspeed tags: residential streets at settings.DRIVE_SPEEDS_KPH (24 km/h)
    t = access.travel_times(place, spec, mode="drive", cutoff_minutes=30, cache_dir="")
    metres = EXPECTED * 80.0
    np.testing.assert_allclose(t.minutes, metres / (24.0 * 1000 / 60), rtol=1e-3)


def test_snapping_distances_and_warning(place: estate.Estate, spec: scenario.NetworkSpec,
                                        tmp_path: Path) -> None:
    t = access.travel_times(place, spec, mode="walk", cutoff_minutes=30, cache_dir=tmp_path)
    np.testing.assert_allclose(t.zone_snap_m, [np.hypot(10, 10), 10.0, np.hypot(10, 10), 10.0])
    np.testing.assert_allclose(t.site_snap_m, [5.0, 10.0, 10.0])
    assert not any("from the street network" in w for w in t.warnings)
    far = place.zones.copy()
    far.loc[0, "point_x"] = 536600.0  # 400 m west of node 1
    moved = estate.Estate(place.name, place.sites, place.services, far)
    t2 = access.travel_times(moved, spec, mode="walk", cutoff_minutes=30, cache_dir=tmp_path)
    assert "1 zone(s) lie more than 250 m from the street network: Z1 (400 m)" in t2.warnings[0]
    np.testing.assert_array_equal(t2.minutes[0], EXPECTED[0])  # still node 1, nearest


def test_cache_hit_and_miss(place: estate.Estate, spec: scenario.NetworkSpec, tmp_path: Path,
                            monkeypatch: pytest.MonkeyPatch) -> None:
    first = access.travel_times(place, spec, mode="walk", cutoff_minutes=30, cache_dir=tmp_path)
    assert not first.from_cache
    assert len(list(tmp_path.glob("matrix-*.npz"))) == 1

    def no_read(*args: object, **kwargs: object) -> None:
        raise AssertionError("the network must not be read on a cache hit")

    monkeypatch.setattr(access, "read_network", no_read)
    again = access.travel_times(place, spec, mode="walk", cutoff_minutes=30, cache_dir=tmp_path)
    assert again.from_cache
    np.testing.assert_array_equal(again.minutes, first.minutes)
    np.testing.assert_array_equal(again.zone_snap_m, first.zone_snap_m)
    assert again.warnings == first.warnings
    monkeypatch.undo()
    # another cutoff, mode or point set is another key
    other = access.travel_times(place, spec, mode="walk", cutoff_minutes=25, cache_dir=tmp_path)
    assert not other.from_cache
    assert len(list(tmp_path.glob("matrix-*.npz"))) == 2


def test_parsed_network_is_cached(place: estate.Estate, spec: scenario.NetworkSpec,
                                  tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = access.read_network(spec, place, cache_dir=tmp_path)
    assert len(list(tmp_path.glob("network-*.npz"))) == 1

    def no_parse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a cached network must not be parsed again")

    monkeypatch.setattr(ox, "load_graphml", no_parse)
    again = access.read_network(spec, place, cache_dir=tmp_path)
    np.testing.assert_array_equal(again.length_m, first.length_m)
    np.testing.assert_array_equal(again.tail, first.tail)
    assert again.description == "tiny.graphml"
    assert again.fingerprint == first.fingerprint


def test_graphml_is_read_as_a_stream_into_the_network_osmnx_would_give(
        tmp_path: Path) -> None:
    """An osmnx GraphML file in EPSG:27700 is read without networkx (it took over 6 GB at
    20 times the demo's network), into the very arrays osmnx's reading and projecting
    give: nodes (isolated ones too) and edges in the same order, so zones and sites snap
    to the same nodes."""
    graph = nx.MultiDiGraph(crs="EPSG:27700")
    rng = np.random.default_rng(5)
    for node in (7, 3, 11, 2, 40, 5, 9, 31, 1000):  # 40, 31 and 1000 have no edges
        graph.add_node(node, x=float(rng.uniform(0, 500)), y=float(rng.uniform(0, 500)))
    for a, b in [(3, 7), (11, 2), (7, 3), (3, 7), (2, 5), (9, 11), (5, 5), (3, 2), (7, 9)]:
        graph.add_edge(a, b, length=float(rng.uniform(10, 90)))
    path = tmp_path / "g.graphml"
    ox.save_graphml(graph, path)
    text = path.read_text()  # one node declared after the edges (as in joined networks)
    start = text.index("<node id=\"3\"")
    end = text.index("</node>", start) + len("</node>")
    last = text.rindex("</edge>") + len("</edge>")
    path.write_text(text[:start] + text[end:last] + text[start:end] + text[last:])
    osmnx_way = access.from_graph(ox.projection.project_graph(ox.load_graphml(path),
                                                               to_crs=settings.WORKING_CRS),
                                  description="g", fingerprint="f")
    arrays = access._graphml_arrays(path)
    assert arrays is not None
    for ours, theirs in zip(arrays[:6], (osmnx_way.node_ids, osmnx_way.x, osmnx_way.y,
                                         osmnx_way.tail, osmnx_way.head,
                                         osmnx_way.length_m), strict=True):
        np.testing.assert_array_equal(ours, theirs)
    assert arrays[6] == "EPSG:27700"
    # a file in another CRS, or not plain osmnx GraphML, is left to osmnx
    ox.save_graphml(ox.projection.project_graph(ox.load_graphml(path), to_crs="EPSG:3857"),
                    tmp_path / "other.graphml")
    assert access._graphml_arrays(tmp_path / "other.graphml") is None
    (tmp_path / "bad.graphml").write_text("<graphml><graph edgedefault='directed'>")
    assert access._graphml_arrays(tmp_path / "bad.graphml") is None


def test_a_graphml_network_in_the_working_crs_is_read_without_networkx(
        place: estate.Estate, spec: scenario.NetworkSpec, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    def no_parse(*args: object, **kwargs: object) -> None:
        raise AssertionError("read as a stream, not by osmnx")

    monkeypatch.setattr(ox, "load_graphml", no_parse)
    network = access.read_network(spec, place, cache_dir="")
    assert network.n_nodes == 8 and network.description == "tiny.graphml"


def test_changed_network_file_misses_cache(place: estate.Estate, tmp_path: Path) -> None:
    graph = tmp_path / "g.graphml"
    shutil.copy(ACCESS / "tiny.graphml", graph)
    spec = scenario.NetworkSpec(source="graphml", path=graph)
    cache = tmp_path / "cache"
    access.travel_times(place, spec, mode="walk", cutoff_minutes=30, cache_dir=cache)
    graph.write_text(graph.read_text().replace(">800.0<", ">880.0<"))
    t = access.travel_times(place, spec, mode="walk", cutoff_minutes=30, cache_dir=cache)
    assert not t.from_cache
    assert t.minutes[0, 1] == 11.0  # 1-4 is now 880 m


def test_straight_line_mode_says_so(place: estate.Estate) -> None:
    t = access.travel_times(place, None, mode="straight_line", cutoff_minutes=30)
    d = np.hypot(537010 - 537400, 173010 - 173005)
    assert t.minutes[0, 0] == pytest.approx(d * settings.STRAIGHT_LINE_CIRCUITY / 80.0)
    assert t.method == "straight_line"
    assert "straight line x 1.3 circuity at 4.8 km/h (no street network)" in t.network
    assert t.warnings == ["travel times are " + t.network]


def test_baseline_access_report(place: estate.Estate, spec: scenario.NetworkSpec,
                                tmp_path: Path) -> None:
    stds = {"library": scenario.Standard("library", 10.0),
            "gp": scenario.Standard("gp", 20.0)}
    times = {"walk": access.travel_times(place, spec, mode="walk", cutoff_minutes=20,
                                         cache_dir=tmp_path)}
    report = access.baseline(place, times, stds)
    s = report.standards.set_index("service_type")
    # library at A and B within 10 min: Z1 (5) and Z2 (5); Z3 is 15 min, Z4 nowhere
    assert s.loc["library", "demand_within"] == 300
    assert s.loc["library", "share_within"] == pytest.approx(300 / 650)
    assert s.loc["library", "zones_outside"] == 2
    assert s.loc["gp", "demand_within"] == 600  # B: Z1 10, Z2 5; C: Z3 0
    z = report.zones.set_index(["service_type", "zone_id"])
    assert z.loc[("library", "Z3"), "nearest_site_id"] == "A"
    assert z.loc[("library", "Z3"), "nearest_minutes"] == 15.0
    assert not z.loc[("library", "Z3"), "within"]
    assert z.loc[("gp", "Z4"), "nearest_site_id"] == ""
    ov = report.overlaps
    # gp: B serves Z1+Z2 (300), C serves Z1+Z2+Z3 (600); all of B's residents are C's too
    gp = ov[ov.service_type == "gp"].iloc[0]
    assert (gp.site_a, gp.site_b) == ("B", "C")
    assert (gp.shared_demand, gp.share_of_a, gp.share_of_b, gp.overlap) == (300, 1.0, 0.5, 1.0)
    lib = ov[ov.service_type == "library"].iloc[0]
    assert (lib.site_a, lib.site_b, lib.overlap, lib.same_owner) == ("A", "B", 1.0, False)
    # clusters are numbered per service type
    assert sorted(zip(ov["service_type"], ov["cluster"], strict=True)) == [("gp", 1),
                                                                           ("library", 1)]


def test_isochrone_covers_reachable_streets(spec: scenario.NetworkSpec,
                                            place: estate.Estate) -> None:
    net = access.read_network(spec, place)
    poly = access.isochrone(net, 537000, 173000, 6.0)  # 480 m from node 1: reaches node 2
    assert poly.contains(shapely.Point(537200, 173000))
    assert poly.contains(shapely.Point(537400, 173000))
    assert not poly.contains(shapely.Point(537400, 173400))  # node 3 is 10 min away
    assert not poly.contains(shapely.Point(537000, 173200))  # 1-4 is 800 m: not reached


def test_cli_access_writes_tables(tmp_path: Path) -> None:
    import subprocess
    import sys

    out = tmp_path / "results"
    result = subprocess.run(
        [sys.executable, "-m", "tp_assets", "access", str(ACCESS / "scenario.toml"),
         "--out", str(out), "--cache", str(tmp_path / "cache")],
        capture_output=True, text=True, check=False, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "library               46.2% of population within 10 min walk" in result.stdout
    assert "gp                    92.3% of population within 20 min walk" in result.stdout
    assert "warning: 1 zone(s) reach no site within 20 minutes (walk): Z4" in result.stdout
    folder = out / "access-test" / "baseline_access"
    assert sorted(p.name for p in folder.iterdir()) == [
        "access.gpkg", "access_standards.csv", "access_zones.csv", "overlaps.csv"]
    assert (folder / "access_standards.csv").read_text().splitlines()[2] == (
        "library,walk,10,population,2,650,300,0.461538,2")
    import pyogrio

    layers = [name for name, _ in pyogrio.list_layers(folder / "access.gpkg")]
    assert layers == ["zones", "sites", "overlaps"]


def test_shortest_minutes_in_batches_with_repeated_sources_either_way_round() -> None:
    """Sources snapped to one node, and batches of a few rows: every entry equals one
    Dijkstra over all sources, and the transposed matrix is its transpose."""
    rng = np.random.default_rng(3)
    n = 60
    heads, tails = rng.integers(0, n, 400), rng.integers(0, n, 400)
    graph = sparse.csr_matrix((rng.uniform(0.5, 4.0, 400), (heads, tails)), shape=(n, n))
    sources = np.array([5, 17, 5, 40, 2, 17, 59, 0])
    targets = np.array([3, 9, 5, 33, 58, 21, 40])
    expected = dijkstra(graph, directed=True, indices=sources, limit=6.0)[:, targets]
    assert np.isinf(expected).any() and np.isfinite(expected).any()
    for batch_bytes in (8 * n, 3 * 8 * n, None):  # rows of 1 source, of 3, all at once
        ours = access.shortest_minutes(graph, sources, targets, 6.0, batch_bytes=batch_bytes)
        np.testing.assert_array_equal(ours, expected)
        flipped = access.shortest_minutes(graph, sources, targets, 6.0, transposed=True,
                                          batch_bytes=batch_bytes)
        assert flipped.flags.c_contiguous
        np.testing.assert_array_equal(flipped, expected.T)


# --------------------------------------------------------------------------- real OSM data


def test_matrix_equals_networkx_on_real_osm(shared_data: Path) -> None:
    """West Oakland (real OpenStreetMap extract): every pair equals networkx Dijkstra."""
    graph = ox.graph_from_xml(shared_data / "osm" / "west-oakland.osm.bz2", retain_all=True)
    graph = ox.projection.project_graph(graph)  # local UTM, metres
    net = access.from_graph(graph, description="west-oakland")
    rng = np.random.default_rng(7)
    sources = rng.choice(net.n_nodes, size=8, replace=False)
    targets = rng.choice(net.n_nodes, size=40, replace=False)
    cutoff = 6.0
    ours = access.shortest_minutes(net.csr("walk"), sources, targets, cutoff)
    simple = nx.DiGraph()
    for u, v, d in graph.edges(data=True):
        w = d["length"] / 80.0
        if not simple.has_edge(u, v) or simple[u][v]["w"] > w:
            simple.add_edge(u, v, w=w)
    nodes = list(graph.nodes)
    within = 0
    for i, s in enumerate(sources):
        ref = nx.single_source_dijkstra_path_length(simple, nodes[s], cutoff=cutoff, weight="w")
        for j, t in enumerate(targets):
            expected = ref.get(nodes[t], np.inf)
            if np.isfinite(expected):
                within += 1
                assert ours[i, j] == pytest.approx(expected, rel=1e-12, abs=1e-12)
            else:
                assert np.isinf(ours[i, j])
    assert within > 20


# --------------------------------------------------------------------------- bad input


def _scenario(tmp_path: Path, network: str, standards: str = "[standards.library]\n"
              "max_minutes = 10\n") -> Path:
    place = tmp_path / "place"
    shutil.copytree(ACCESS, place)
    path = place / "bad.toml"
    path.write_text(f'name = "bad"\nplace = "."\n\n[network]\n{network}\n\n{standards}')
    return path


def _run_cli(path: Path, tmp_path: Path) -> tuple[int, str]:
    import subprocess
    import sys

    r = subprocess.run([sys.executable, "-m", "tp_assets", "access", str(path), "--out",
                        str(tmp_path / "out"), "--cache", str(tmp_path / "cache")],
                       capture_output=True, text=True, check=False, cwd=tmp_path)
    return r.returncode, r.stderr


def test_missing_network_file(tmp_path: Path) -> None:
    path = _scenario(tmp_path, 'source = "graphml"\npath = "nowhere.graphml"')
    code, err = _run_cli(path, tmp_path)
    assert code == 2
    assert "bad.toml line 6: network file 'nowhere.graphml' not found" in err
    assert not (tmp_path / "out").exists()


def test_network_that_does_not_parse(tmp_path: Path) -> None:
    path = _scenario(tmp_path, 'source = "graphml"\npath = "broken.graphml"')
    (path.parent / "broken.graphml").write_text("<graphml><graph><node id='1'>")
    code, err = _run_cli(path, tmp_path)
    assert code == 2
    assert "broken.graphml: cannot be read as GraphML" in err
    assert "re-save it with osmnx.save_graphml" in err


def test_osm_xml_that_does_not_parse(tmp_path: Path) -> None:
    path = _scenario(tmp_path, 'source = "osm_xml"\npath = "broken.osm"')
    (path.parent / "broken.osm").write_text("this is not xml")
    code, err = _run_cli(path, tmp_path)
    assert code == 2
    assert "broken.osm: cannot be read as OpenStreetMap XML" in err


def test_graph_without_edge_lengths(tmp_path: Path) -> None:
    g = ox.load_graphml(ACCESS / "tiny.graphml")
    for _, _, d in g.edges(data=True):
        del d["length"]
    path = _scenario(tmp_path, 'source = "graphml"\npath = "nolength.graphml"')
    ox.save_graphml(g, path.parent / "nolength.graphml")
    code, err = _run_cli(path, tmp_path)
    assert code == 2
    assert "nolength.graphml: 16 of 16 edges have no 'length' attribute" in err
    assert "osmnx.distance.add_edge_lengths" in err


def test_graph_crs_mismatch(tmp_path: Path) -> None:
    g = ox.load_graphml(ACCESS / "tiny.graphml")
    g.graph["crs"] = "EPSG:32630"  # UTM 30N: the same numbers are somewhere else entirely
    path = _scenario(tmp_path, 'source = "graphml"\npath = "wrongcrs.graphml"')
    ox.save_graphml(g, path.parent / "wrongcrs.graphml")
    code, err = _run_cli(path, tmp_path)
    assert code == 2
    assert "wrongcrs.graphml: the network lies around" in err
    assert "nowhere near the estate" in err
    assert "crs attribute does not match its coordinates" in err


def test_mode_without_speed(tmp_path: Path) -> None:
    path = _scenario(tmp_path, 'source = "graphml"',
                     '[standards.library]\nmax_minutes = 10\nmode = "bus"\n')
    code, err = _run_cli(path, tmp_path)
    assert code == 2
    assert "bad.toml line 9: [standards.library] mode 'bus' has no speed" in err
    assert "walk, cycle, drive, straight_line" in err


def test_osm_source_without_internet(tmp_path: Path) -> None:
    place = estate.load_place(TEST_DATA / "place")  # has a boundary
    spec = scenario.NetworkSpec(source="osm")
    with pytest.raises(InputError) as info:
        access.read_network(spec, place, cache_dir=tmp_path)
    msg = str(info.value)
    assert "could not download the OpenStreetMap walk network" in msg
    assert 'Without internet use a saved network: [network] source = "graphml"' in msg
    assert 'source = "osm_xml"' in msg


def test_unknown_service_type_and_demand_column(tmp_path: Path) -> None:
    path = _scenario(tmp_path, 'source = "graphml"',
                     '[standards.libary]\nmax_minutes = 10\ndemand = "pop_80_plus"\n')
    code, err = _run_cli(path, tmp_path)
    assert code == 2
    assert "bad.toml line 7: [standards.libary]: no service of type 'libary'" in err
    assert "service types present: gp, library" in err
    assert "[standards.libary] demand 'pop_80_plus' is not a zone column" in err
    assert "population, pop_65_plus" in err
