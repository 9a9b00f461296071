"""Acceptance: real ONS boundaries and Census 2021 population of Lewisham (../shared/data)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from tp_assets import estate, pipeline, sources
from tp_assets._errors import InputError

pytestmark = pytest.mark.shared


def _zones(shared: Path, tmp_path: Path) -> Path:
    lew = shared / "lewisham"
    zones = sources.ons_zones(
        lew / "boundaries" / "lsoa2021_lewisham_bng.shp",
        lew / "population" / "census2021_usual_residents_lsoa21_lewisham.csv",
        boundary_code="LSOA21CD", table_code="lsoa21_code",
        population_column="usual_residents", name_column="LSOA21NM")
    out = tmp_path / "zones.gpkg"
    zones.to_file(out, driver="GPKG")
    return out


def test_lsoa2021_with_census_population_loads_as_zones(shared_data: Path, tmp_path: Path,
                                                        place: Path) -> None:
    zones = _zones(shared_data, tmp_path)
    est = estate.load_estate(place / "sites.csv", place / "services.csv", zones,
                             crs={"sites": "EPSG:27700"},
                             boundary=shared_data / "lewisham" / "boundaries"
                             / "lewisham_borough_bng.geojson")
    assert len(est.zones) == 175
    assert est.zones["population"].sum() == 300_535
    assert est.zones["zone_id"].str.match(r"^E01\d{6}$").all()
    assert (est.zones["point_source"] == "centroid").all()
    # every zone's centroid lies in the borough (the boundary is a dissolve of the wards)
    assert est.boundary is not None
    assert abs(est.boundary.area / 1e6 - 35.15) < 0.05


def test_2011_boundaries_with_2021_population_list_unmatched_codes(shared_data: Path) -> None:
    lew = shared_data / "lewisham"
    with pytest.raises(InputError) as info:
        sources.ons_zones(lew / "boundaries" / "lsoa2011_lewisham_bng.shp",
                          lew / "population" / "census2021_usual_residents_lsoa21_lewisham.csv",
                          boundary_code="LSOA11CD", table_code="lsoa21_code",
                          population_column="usual_residents")
    msg = str(info.value)
    assert "lsoa2011_lewisham_bng.shp: 3 code(s) not found in" in msg
    assert "E01003250" in msg
    assert "census2021_usual_residents_lsoa21_lewisham.csv: 9 code(s) not found" in msg
    assert "E01034387" in msg
    assert "same census year" in msg


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tp_assets", *args], capture_output=True,
                          text=True, cwd=cwd, check=False)


def test_lewisham_libraries_acceptance(shared_data: Path, tmp_path: Path) -> None:
    """Real zones and the 13 open public libraries, straight-line access, end to end."""
    lew = shared_data / "lewisham"
    place = tmp_path / "lewisham"
    r = _cli("import", "libraries", str(lew / "buildings" / "libraries_england_2023_lewisham.csv"),
             "--postcodes", str(lew / "lookups" / "codepoint_open_2025_lewisham_postcodes.csv"),
             "--authority", "Lewisham", "--out-dir", str(place), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "13 libraries written" in r.stdout  # Wavelengths (closed 2012) left out
    r = _cli("import", "ons-zones", str(lew / "boundaries" / "lsoa2021_lewisham_bng.shp"),
             str(lew / "population" / "census2021_usual_residents_lsoa21_lewisham.csv"),
             "--boundary-code", "LSOA21CD", "--table-code", "lsoa21_code",
             "--population-column", "usual_residents", "--name-column", "LSOA21NM",
             "--out", str(place / "zones.gpkg"), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "175 zones, 300,535 residents" in r.stdout
    boundary = lew / "boundaries" / "lewisham_borough_bng.geojson"
    (place / "place.toml").write_text(
        f'name = "Lewisham libraries"\ncrs = "EPSG:27700"\nboundary = "{boundary}"\n'
        'sites = "sites.csv"\nservices = "services.csv"\nzones = "zones.gpkg"\n')
    (place / "scenario.toml").write_text(
        'name = "lewisham-libraries"\nplace = "."\n\n[network]\nsource = "straight_line"\n\n'
        '[standards.library]\nmax_minutes = 20\nmode = "straight_line"\n')
    result = pipeline.run(place / "scenario.toml", results_dir=tmp_path / "results",
                          maps_dir=tmp_path / "maps", cache_dir="")
    est = result.estate
    assert est.zones["population"].sum() == 300_535
    sites = est.sites.set_index("site_id")
    assert len(sites) == 13
    # Blackheath Village's postcode centroid lies in Greenwich: kept, and reported
    assert sites.loc["LIB01", "name"] == "Blackheath Village Community Library"
    assert sites.loc["LIB01", "located_by"] == "source coordinates"
    assert any("LIB01" in n and "21 m outside the place boundary" in n for n in est.notes)
    inside = sites.geometry.apply(lambda p: est.boundary.distance(p) == 0)
    assert inside.sum() == 12
    library = result.access_table.set_index("service_type").loc["library"]
    # independently: a zone centroid within 20 min x 80 m/min / 1.3 = 1,230.8 m of a library
    reach = 20 * 80 / 1.3
    centroids = est.zones.geometry.centroid
    near = centroids.apply(lambda c: sites.geometry.distance(c).min() <= reach)
    assert library["demand_within_before"] == est.zones.loc[near, "population"].sum() == 276_631
    assert library["share_before"] == pytest.approx(276_631 / 300_535)
    assert result.report.ok
    assert result.plan.status == "OPTIMAL"
    assert any("straight line x 1.3 circuity" in w for w in result.warnings)


def test_adapter_bad_input(shared_data: Path, tmp_path: Path) -> None:
    lew = shared_data / "lewisham"
    shp = lew / "boundaries" / "lsoa2021_lewisham_bng.shp"
    pop = lew / "population" / "census2021_usual_residents_lsoa21_lewisham.csv"
    with pytest.raises(InputError, match=r"lsoa2021_lewisham_bng.shp: no column 'LSOA11CD'"):
        sources.ons_zones(shp, pop, boundary_code="LSOA11CD", table_code="lsoa21_code",
                          population_column="usual_residents")
    rows = pop.read_text().splitlines()
    dup = tmp_path / "dup.csv"
    dup.write_text("\n".join([*rows, rows[1]]) + "\n")
    with pytest.raises(InputError) as info:
        sources.ons_zones(shp, dup, boundary_code="LSOA21CD", table_code="lsoa21_code",
                          population_column="usual_residents")
    assert "dup.csv row 2, column 'lsoa21_code': duplicate code 'E01003189'" in str(info.value)
    assert "dup.csv row 177" in str(info.value)
    bad = tmp_path / "libs.csv"
    bad.write_text("name,authority,postcode,closed\nNowhere Library,Lewisham,ZZ9 9ZZ,\n")
    with pytest.raises(InputError, match=r"libs.csv: 1 postcode\(s\) not found in "
                       r"codepoint_open_2025_lewisham_postcodes.csv: row 2: 'ZZ9 9ZZ'"):
        sources.libraries(bad, lew / "lookups" / "codepoint_open_2025_lewisham_postcodes.csv")
    # rows are named as the file numbers them: after a closed library and a blank line
    bad.write_text("name,authority,postcode,closed\nOld Library,Lewisham,SE6 4JU,2012\n\n"
                   "Nowhere Library,Lewisham,ZZ9 9ZZ,\n")
    with pytest.raises(InputError, match=r"row 4: 'ZZ9 9ZZ'"):
        sources.libraries(bad, lew / "lookups" / "codepoint_open_2025_lewisham_postcodes.csv")
    cp = tmp_path / "cp.csv"
    cp.write_bytes("name,authority,postcode,closed\nCaf\u00e9,Lewisham,SE6 4JU,\n"
                   .encode("cp1252"))
    with pytest.raises(InputError, match=r"cp.csv: not UTF-8 text"):
        sources.libraries(cp, lew / "lookups" / "codepoint_open_2025_lewisham_postcodes.csv")


def test_age_bands_become_demand_columns(shared_data: Path) -> None:
    lew = shared_data / "lewisham"
    zones = sources.ons_zones(
        lew / "boundaries" / "lsoa2021_lewisham_bng.shp",
        lew / "population" / "census2021_usual_residents_age6_lsoa21_lewisham.csv",
        boundary_code="LSOA21CD", table_code="lsoa21_code", population_column="usual_residents",
        band_column="age_group")
    assert zones["population"].sum() == 300_535
    bands = [c for c in zones.columns if c.startswith("pop_")]
    assert len(bands) == 6
    assert "pop_aged_65_years_and_over" in bands
    assert (zones[bands].sum(axis=1) == zones["population"]).all()
    with pytest.raises(InputError, match=r"^census2021_usual_residents_age6_lsoa21_lewisham.csv, "
                       r"column 'lsoa21_code': 1050 rows repeat a code \(first row 2: duplicate "
                       r"code 'E01003189'\); the population table needs one row per area \(or "
                       r"give --band-column for a table by age band\)$"):
        sources.ons_zones(
            lew / "boundaries" / "lsoa2021_lewisham_bng.shp",
            lew / "population" / "census2021_usual_residents_age6_lsoa21_lewisham.csv",
            boundary_code="LSOA21CD", table_code="lsoa21_code",
            population_column="usual_residents")


def _build_many_services_place(lew: Path, place: Path, cwd: Path) -> None:
    """The acceptance place from ../shared alone, through the import commands a borough runs."""
    codepoint = lew / "lookups" / "codepoint_open_2025_lewisham_postcodes.csv"
    boundary = lew / "boundaries" / "lewisham_borough_bng.geojson"
    b = lew / "buildings"
    steps = [
        ("ons-zones", lew / "boundaries" / "lsoa2021_lewisham_bng.shp",
         lew / "population" / "census2021_usual_residents_age6_lsoa21_lewisham.csv",
         "--boundary-code", "LSOA21CD", "--table-code", "lsoa21_code", "--population-column",
         "usual_residents", "--name-column", "LSOA21NM", "--band-column", "age_group",
         "--out", place / "zones.gpkg"),
        ("areas", place / "zones.gpkg", "--imd", lew / "deprivation" / "lbl_imd_2019_lsoa11.csv",
         "--wards", lew / "lookups" / "lbl_lsoa11_wd22_proposed.csv", "--old-boundaries",
         lew / "boundaries" / "lsoa2011_lewisham_bng.shp", "--out", place / "zones.gpkg"),
        ("libraries", b / "libraries_england_2023_lewisham.csv", "--postcodes", codepoint,
         "--authority", "Lewisham", "--out-dir", place),
        ("nhs-ods", b / "gp_practices_epraccur_2025_lewisham.csv", "--kind", "gp",
         "--postcodes", codepoint, "--boundary", boundary, "--out-dir", place, "--append"),
        ("nhs-ods", b / "pharmacies_edispensary_2025_lewisham.csv", "--kind", "pharmacy",
         "--postcodes", codepoint, "--boundary", boundary, "--out-dir", place, "--append"),
        ("fire-stations", b / "fire_stations_homeoffice_2017_london.csv", "--service", "London",
         "--boundary", boundary, "--out-dir", place, "--append"),
    ]
    for step in steps:
        r = _cli("import", *map(str, step), cwd=cwd)
        assert r.returncode == 0, (step[0], r.stderr)
    (place / "place.toml").write_text(
        f'name = "Lewisham public services"\ncrs = "EPSG:27700"\nboundary = "{boundary}"\n'
        'sites = "sites.csv"\nservices = "services.csv"\nzones = "zones.gpkg"\n')
    (place / "scenario.toml").write_text(
        'name = "lewisham-services"\nplace = "."\n\n[network]\nsource = "straight_line"\n\n'
        '[standards.library]\nmax_minutes = 20\nmode = "straight_line"\n\n'
        '[standards.gp]\nmax_minutes = 15\nmode = "straight_line"\n\n'
        '[standards.pharmacy]\nmax_minutes = 15\nmode = "straight_line"\n')


def _raw_points(lew: Path) -> dict[str, np.ndarray]:
    """Where each service is today, read straight from the raw files (postcode centroids)."""
    b = lew / "buildings"
    libs = pd.read_csv(b / "libraries_england_2023_lewisham.csv", dtype=str,
                       keep_default_na=False)
    libs = libs[libs["closed"].str.strip() == ""]
    gp = pd.read_csv(b / "gp_practices_epraccur_2025_lewisham.csv", dtype=str,
                     keep_default_na=False)
    gp = gp[(gp["status_code"] == "A") & (gp["prescribing_setting"] == "4")
            & ~gp["org_code"].str.startswith("Y")]
    ph = pd.read_csv(b / "pharmacies_edispensary_2025_lewisham.csv", dtype=str,
                     keep_default_na=False)
    ph = ph[ph["status_code"] == "A"]
    return {t: frame[["cpo_easting", "cpo_northing"]].to_numpy(float)
            for t, frame in (("library", libs), ("gp", gp), ("pharmacy", ph))}


def _raw_zones(lew: Path) -> gpd.GeoDataFrame:
    """Zones with population, IMD decile and ward, joined in the test from the raw files."""
    zones = gpd.read_file(lew / "boundaries" / "lsoa2021_lewisham_bng.shp")
    pop = pd.read_csv(lew / "population" / "census2021_usual_residents_lsoa21_lewisham.csv")
    zones = zones.merge(pop, left_on="LSOA21CD", right_on="lsoa21_code")
    old = gpd.read_file(lew / "boundaries" / "lsoa2011_lewisham_bng.shp")[["LSOA11CD",
                                                                          "geometry"]]
    pieces = gpd.overlay(zones[["LSOA21CD", "geometry"]], old, how="intersection",
                         keep_geom_type=False)
    pieces["area"] = pieces.area
    parent = pieces.sort_values("area").groupby("LSOA21CD")["LSOA11CD"].last()
    zones["parent"] = np.where(zones["LSOA21CD"].isin(old["LSOA11CD"]), zones["LSOA21CD"],
                               zones["LSOA21CD"].map(parent))
    imd = pd.read_csv(lew / "deprivation" / "lbl_imd_2019_lsoa11.csv").set_index("LSOA11CD")
    wards = pd.read_csv(lew / "lookups" / "lbl_lsoa11_wd22_proposed.csv").set_index("LSOA11CD")
    zones["decile"] = zones["parent"].map(imd["IMD_decile"])
    zones["ward"] = zones["parent"].map(wards["WD22NM_proposed"])
    return zones


def test_lewisham_many_services_acceptance(shared_data: Path, tmp_path: Path) -> None:
    """Real zones with deprivation and wards; real libraries, GPs, pharmacies and fire
    stations of their published owners; straight-line access; end to end."""
    lew = shared_data / "lewisham"
    place = tmp_path / "lewisham"
    _build_many_services_place(lew, place, tmp_path)
    r = _cli("validate", str(place), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "87 sites, 90 services, 175 zones, 300,535 residents" in r.stdout
    assert "sites: gia_m2 (87 rows), tenure (87 rows)" in r.stdout
    assert "zones with a ward: 175 of 175; with an IMD decile: 175 of 175" in r.stdout
    result = pipeline.run(place / "scenario.toml", results_dir=tmp_path / "results",
                          maps_dir=tmp_path / "maps", cache_dir="")
    est = result.estate
    owners = est.services.groupby("service_type")["owner"].agg(set)
    assert owners["gp"] == {"NHS South East London"}
    assert owners["fire_station"] == {"London Fire Brigade"}
    assert "Lewisham Council" in owners["library"]
    # 41 parent organisations (contractors) own the 47 pharmacies; two trade as OSBON PHARMACY
    assert len(owners["pharmacy"]) == 40
    assert result.report.ok
    assert result.plan.status == "OPTIMAL"
    # co-location across owners: services move, only into buildings that can host them
    moves = result.savings.moves.merge(est.sites[["site_id", "benchmark"]],
                                       left_on="to_site", right_on="site_id")
    assert len(moves) > 0
    hosts = {"gp": {"clinic", "hospital", "general_office", "schools_and_community",
                    "cultural_activities", "public_buildings_light_usage"},
             "pharmacy": {"clinic", "hospital", "general_retail", "high_street_agency",
                          "cultural_activities", "schools_and_community"},
             "library": set(est.sites["benchmark"]) - {"emergency_services", "hospital"}}
    for kind, benchmark in zip(moves["service_type"], moves["benchmark"], strict=True):
        assert benchmark in hosts[kind], (kind, benchmark)
    # independently: residents within each standard today, per IMD decile and per ward
    zones = _raw_zones(lew)
    centroids = np.column_stack([zones.geometry.centroid.x, zones.geometry.centroid.y])
    points = _raw_points(lew)
    by_area = result.access_by_area
    written = pd.read_csv(tmp_path / "results" / "lewisham-services" / "access_by_area.csv",
                          dtype={"area": str})
    assert len(written) == len(by_area) == 3 * (len(set(zones["decile"])) + 19)
    for service_type, minutes in (("library", 20), ("gp", 15), ("pharmacy", 15)):
        reach = minutes * 80 / 1.3
        gaps = np.hypot(centroids[:, None, 0] - points[service_type][None, :, 0],
                        centroids[:, None, 1] - points[service_type][None, :, 1])
        within = gaps.min(axis=1) <= reach
        for column, breakdown in (("decile", "imd_decile"), ("ward", "ward")):
            expected = zones.loc[within].groupby(column)["usual_residents"].sum()
            got = written[(written["service_type"] == service_type)
                          & (written["breakdown"] == breakdown)].set_index("area")
            for area, people in expected.items():
                assert got.loc[str(area), "demand_within_before"] == people, (
                    service_type, area)
            assert got["demand_within_before"].sum() == zones.loc[within,
                                                                   "usual_residents"].sum()
            assert got["demand_total"].sum() == 300_535
        # no zone within a standard today loses it: from the plan's placements
        placed = result.plan.assignment.merge(est.services[["service_id", "service_type"]])
        kept = est.sites.set_index("site_id").loc[
            placed.loc[placed["service_type"] == service_type, "site_id"].unique()]
        after = np.hypot(centroids[:, None, 0] - kept.geometry.x.to_numpy()[None, :],
                         centroids[:, None, 1] - kept.geometry.y.to_numpy()[None, :])
        assert (after.min(axis=1)[within] <= reach + 1e-6).all(), service_type
    assert (written["demand_losing"] == 0).all()
    deciles = written[written["breakdown"] == "imd_decile"]["area"]
    assert list(deciles[:len(set(zones["decile"]))]) == [str(d) for d in
                                                          sorted(set(zones["decile"]))]
    assert any("straight line x 1.3 circuity" in w for w in result.warnings)
