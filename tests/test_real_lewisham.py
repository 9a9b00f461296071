"""Acceptance: real ONS boundaries and Census 2021 population of Lewisham (../shared/data)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

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
