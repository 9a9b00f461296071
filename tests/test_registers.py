"""Importers of the published registers: NHS ODS, Home Office fire stations, IMD and wards.

The committed samples in tests/data/registers are in the exact published layouts
(invented records); the real files are read from ../shared where present.
"""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from tp_assets import estate, sources
from tp_assets._errors import InputError

SAMPLES = Path(__file__).parent / "data" / "registers"
CODEPOINT = SAMPLES / "codepoint_sample.csv"


def _cli(*args: object, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tp_assets", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd, check=False)


def test_ods_published_layout_filters_and_counts_what_it_leaves_out() -> None:
    found = sources.nhs_ods(SAMPLES / "epraccur_sample.csv", CODEPOINT, kind="gp")
    assert found.kept == 3
    assert found.left_out == {
        "closed (status C)": 1,
        "active, in another prescribing setting than 4, GP practice (setting 1: 1)": 1,
        "active GP-setting rows with Y codes (special allocation schemes, federations and "
        "other cost centres: Y00006 SAMPLE SPECIAL ALLOCATION SCHEME; --include-y-codes keeps "
        "them)": 1,
        "at postcodes not in codepoint_sample.csv (outside the area it covers: ZZ9 9ZZ "
        "(row 7))": 1,
    }
    sites = found.sites.set_index("site_id")
    # two practices at one postcode share a site, with the floor area of both
    assert list(sites.index) == ["G00001", "G00003"]
    assert sites.loc["G00001", "name"] == "SAMPLE ROAD SURGERY / SAMPLE GREEN PRACTICE"
    assert sites.loc["G00001", "gia_m2"] == 1000.0
    assert (sites.loc["G00001", "x"], sites.loc["G00001", "y"]) == (537500.0, 174500.0)
    assert set(sites["owner"]) == {"NHS South East London"}
    assert set(sites["assumed"]) == {"gia_m2 tenure benchmark heat_fuel fm_gbp_pa"}
    assert sites.loc["G00001", "fm_gbp_pa"] == 40 * 1000.0  # GBP 40 per m2 of the GIA
    services = found.services.set_index("service_id")
    assert list(services["site_id"]) == ["G00001", "G00001", "G00003"]
    assert set(services["service_type"]) == {"gp"}
    assert set(services["assumed"]) == {"area_m2 fte"}
    kept_y = sources.nhs_ods(SAMPLES / "epraccur_sample.csv", CODEPOINT, kind="gp",
                             include_y_codes=True)
    assert kept_y.kept == 4
    assert "Y00006-gp" in set(kept_y.services["service_id"])


def test_ods_file_with_a_changed_number_of_columns_exits_2(tmp_path: Path) -> None:
    r = _cli("import", "nhs-ods", SAMPLES / "epraccur_26_columns.csv", "--kind", "gp",
             "--postcodes", CODEPOINT, "--out-dir", tmp_path / "place", cwd=tmp_path)
    assert r.returncode == 2, r.stderr
    assert ("epraccur_26_columns.csv: row 2: 26 columns; the published ODS epraccur (GP "
            "practices) layout has 27 columns and no header row") in r.stderr
    assert "Give the file as downloaded from NHS ODS" in r.stderr
    assert not (tmp_path / "place").exists()


def test_fire_stations_outside_great_britain_exit_2_naming_each_row(tmp_path: Path) -> None:
    r = _cli("import", "fire-stations", SAMPLES / "fire_stations_outside_gb.csv",
             "--out-dir", tmp_path / "place", cwd=tmp_path)
    assert r.returncode == 2, r.stderr
    err = r.stderr
    assert ("fire_stations_outside_gb.csv row 3 (Extra Digit): easting 5,381,270, northing "
            "174,995 lie outside Great Britain") in err
    assert "give British National Grid metres (not degrees, not kilometres)" in err
    assert "row 4 (Swapped)" not in err  # inside GB, so not a problem; but:
    assert "row 5 (Degrees): easting -0, northing 51" in err
    assert not (tmp_path / "place").exists()
    bad = tmp_path / "swapped.csv"
    rows = (SAMPLES / "fire_stations_sample.csv").read_text().splitlines()
    bad.write_text("\n".join([rows[0], rows[1].replace("537500,174500", "900000,174500")])
                   + "\n")
    with pytest.raises(InputError, match=r"row 2 \(Sample Street\): easting 900,000, northing "
                       r"174,500 lie outside .*the two look swapped"):
        sources.fire_stations(bad)


def test_fire_stations_by_service_with_owner_and_fixed_service() -> None:
    found = sources.fire_stations(SAMPLES / "fire_stations_sample.csv", service="london")
    assert found.kept == 1
    assert found.left_out == {"of other fire and rescue services than london": 1}
    site = found.sites.iloc[0]
    assert (site["site_id"], site["name"], site["owner"]) == (
        "FS-SAMPLE-STREET", "Sample Street Fire Station", "London Fire Brigade")
    service = found.services.iloc[0]
    assert not service["movable"]
    assert service["assumed"] == "area_m2 fte movable"
    kent = sources.fire_stations(SAMPLES / "fire_stations_sample.csv", service="Kent")
    assert kent.sites.iloc[0]["owner"] == "Kent Fire and Rescue Service"
    with pytest.raises(InputError, match=r"no station of fire and rescue service 'Londn' \(did "
                       r"you mean 'London'\?\)"):
        sources.fire_stations(SAMPLES / "fire_stations_sample.csv", service="Londn")


def test_append_builds_one_place_and_refuses_an_import_twice(tmp_path: Path) -> None:
    place = tmp_path / "place"
    r = _cli("import", "nhs-ods", SAMPLES / "epraccur_sample.csv", "--kind", "gp",
             "--postcodes", CODEPOINT, "--out-dir", place, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "3 GP practices at 2 sites written to" in r.stdout
    assert "left out: 1 closed (status C)" in r.stdout
    r = _cli("import", "fire-stations", SAMPLES / "fire_stations_sample.csv", "--service",
             "London", "--out-dir", place, "--append", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    sites = pd.read_csv(place / "sites.csv", dtype=str)
    assert list(sites["site_id"]) == ["G00001", "G00003", "FS-SAMPLE-STREET"]
    services = pd.read_csv(place / "services.csv", dtype=str, keep_default_na=False)
    assert list(services["movable"]) == ["", "", "", "False"]
    before = (place / "sites.csv").read_bytes()
    r = _cli("import", "fire-stations", SAMPLES / "fire_stations_sample.csv", "--service",
             "London", "--out-dir", place, "--append", cwd=tmp_path)
    assert r.returncode == 2
    assert "sites.csv: already has site_id FS-SAMPLE-STREET" in r.stderr
    assert "Import without --append" in r.stderr
    assert (place / "sites.csv").read_bytes() == before


def _zones(tmp_path: Path, codes: list[str]) -> Path:
    boxes = [shapely.box(537000 + 500 * k, 174000, 537500 + 500 * k, 174500)
             for k in range(len(codes))]
    path = tmp_path / "zones.gpkg"
    gpd.GeoDataFrame({"zone_id": codes, "population": [100] * len(codes)}, geometry=boxes,
                     crs="EPSG:27700").to_file(path, driver="GPKG")
    return path


def test_imd_table_keyed_on_codes_that_match_no_zone_exits_2(tmp_path: Path) -> None:
    zones = _zones(tmp_path, ["E01000001", "E01000002"])
    imd = tmp_path / "imd.csv"
    imd.write_text("LSOA11CD,IMD_decile\nW01000001,3\nW01000002,4\n")
    r = _cli("import", "areas", zones, "--imd", imd, "--out", tmp_path / "out.gpkg",
             cwd=tmp_path)
    assert r.returncode == 2, r.stderr
    assert ("imd.csv, column 'LSOA11CD': none of its 2 codes is a zone_id of zones.gpkg (e.g. "
            "W01000001, W01000002 against E01000001, E01000002)") in r.stderr
    assert "give --old-boundaries" in r.stderr
    assert not (tmp_path / "out.gpkg").exists()
    imd.write_text("LSOA11CD,IMD_decile\nE01000001,3\nE01000002,11\n")
    with pytest.raises(InputError, match=r"imd.csv, column 'IMD_decile': not a decile: imd.csv "
                       r"row 3 \(LSOA11CD E01000002\): '11'; a decile is a whole number"):
        sources.areas(zones, imd=imd)


def test_ward_lookup_that_leaves_zones_without_a_ward_exits_2(tmp_path: Path) -> None:
    zones = _zones(tmp_path, ["E01000001", "E01000002", "E01000003"])
    wards = tmp_path / "wards.csv"
    wards.write_text("LSOA11CD,WD22NM,WD22CD\nE01000001,Ward A,E05000001\n"
                     "E01000002,,E05000002\nE09999999,Ward Z,E05000009\n")
    r = _cli("import", "areas", zones, "--wards", wards, "--out", tmp_path / "out.gpkg",
             cwd=tmp_path)
    assert r.returncode == 2, r.stderr
    assert ("wards.csv: 1 zone(s) have no row in it: E01000003; give --old-boundaries") in (
        r.stderr)
    wards.write_text("LSOA11CD,WD22NM,WD22CD\nE01000001,Ward A,E05000001\n"
                     "E01000002,,E05000002\nE01000003,Ward C,E05000003\n")
    with pytest.raises(InputError, match=r"wards.csv: 1 zone\(s\) are left without a ward: "
                       r"E01000002; add rows for them"):
        sources.areas(zones, wards=wards)


def test_split_areas_take_their_parent_and_the_zones_load(tmp_path: Path, place: Path) -> None:
    """A 2021 zone split from a 2011 area takes its decile and ward; the estate reads them."""
    zones = _zones(tmp_path, ["E01000001", "E01000010", "E01000011"])
    old = tmp_path / "old.gpkg"
    gpd.GeoDataFrame({"LSOA11CD": ["E01000001", "E01000002"]},
                     geometry=[shapely.box(537000, 174000, 537500, 174500),
                               shapely.box(537500, 174000, 538500, 174500)],
                     crs="EPSG:27700").to_file(old, driver="GPKG")
    imd = tmp_path / "imd.csv"
    imd.write_text("LSOA11CD,IMD_decile\nE01000001,2\nE01000002,9\nE01000099,5\n")
    wards = tmp_path / "wards.csv"
    wards.write_text("LSOA11CD,WD22NM_proposed,WD22CD_proposed\nE01000001,Ward A,E05000001\n"
                     "E01000002,Ward B,E05000002\n")
    joined = sources.areas(zones, imd=imd, wards=wards, old_boundaries=old)
    assert list(joined.zones["imd_decile"]) == [2, 9, 9]
    assert list(joined.zones["ward"]) == ["Ward A", "Ward B", "Ward B"]
    assert list(joined.zones["ward_code"]) == ["E05000001", "E05000002", "E05000002"]
    assert joined.lines[0] == ("IMD decile (imd.csv): 1 zones joined by code, 2 through the "
                               "old.gpkg area covering most of each; 1 rows of the table are "
                               "for areas outside the zones (not used)")
    assert "  E01000010 takes E01000002's IMD decile (100% of the zone lies in E01000002)" in (
        joined.lines)
    out = tmp_path / "zones_areas.gpkg"
    joined.zones.to_file(out, driver="GPKG")
    est = estate.load_estate(place / "sites.csv", place / "services.csv", out,
                             crs={"sites": "EPSG:27700"})
    assert list(est.zones["imd_decile"]) == [2, 9, 9]
    assert str(est.zones["imd_decile"].dtype) == "Int64"


def test_zone_deciles_and_assumed_names_are_checked(tmp_path: Path, place: Path) -> None:
    zones = pd.read_csv(place / "zones.csv", dtype=str)
    zones["imd_decile"] = ["11", "-1"] + ["3"] * (len(zones) - 2)
    zones.to_csv(tmp_path / "zones.csv", index=False)
    sites = pd.read_csv(place / "sites.csv", dtype=str, keep_default_na=False)
    sites["assumed"] = ["gia_m2 tenure", "gia"] + [""] * (len(sites) - 2)
    sites.to_csv(tmp_path / "sites.csv", index=False)
    with pytest.raises(InputError) as info:
        estate.load_estate(tmp_path / "sites.csv", place / "services.csv",
                           tmp_path / "zones.csv", crs={"sites": "EPSG:27700",
                                                        "zones": "EPSG:27700"})
    msg = str(info.value)
    assert (f"sites.csv row 3 (site_id {sites['site_id'][1]}), column 'assumed': 'gia' is not "
            "a column of the table; list the names of the columns") in msg
    assert (f"zones.csv row 2 (zone_id {zones['zone_id'][0]}), column 'imd_decile': value 11 "
            "is not a decile; give a whole number from 1") in msg
    assert (f"zones.csv row 3 (zone_id {zones['zone_id'][1]}), column 'imd_decile': value -1 "
            "is not a decile; give a whole number from 1") in msg  # one rule, not "negative"


# --------------------------------------------------------------------------- real files

@pytest.mark.shared
def test_real_registers_import_as_published(shared_data: Path, tmp_path: Path) -> None:
    lew = shared_data / "lewisham"
    codepoint = lew / "lookups" / "codepoint_open_2025_lewisham_postcodes.csv"
    boundary = lew / "boundaries" / "lewisham_borough_bng.geojson"
    gp_file = lew / "buildings" / "gp_practices_epraccur_2025_lewisham.csv"
    gp = sources.nhs_ods(gp_file, codepoint, kind="gp", boundary=boundary)
    assert (gp.kept, len(gp.sites)) == (26, 24)
    assert gp.left_out["closed (status C)"] == 21
    assert gp.left_out["dormant (status D)"] == 1
    assert set(gp.services["owner"]) == {"NHS South East London"}
    # the same rows in the published layout (27 columns, no header, quoted) read the same
    with gp_file.open(newline="") as f:
        rows = list(csv.DictReader(f))
    published = tmp_path / "epraccur.csv"
    with published.open("w", newline="") as f:
        w = csv.writer(f, quoting=csv.QUOTE_ALL)
        for r in rows:
            w.writerow([r["org_code"], r["name"], r["national_grouping"],
                        r["high_level_health_geography"],
                        *(r[f"address_line_{k}"] for k in range(1, 6)), r["postcode"],
                        r["open_date"], r["close_date"], r["status_code"],
                        r["org_sub_type_code"], r["commissioner"], r["join_parent_date"],
                        r["left_parent_date"], r["contact_telephone"], "", "", "",
                        r["amended_record_indicator"], "", r["provider_purchaser"], "",
                        r["prescribing_setting"], ""])
    again = sources.nhs_ods(published, codepoint, kind="gp", boundary=boundary)
    pd.testing.assert_frame_equal(again.sites, gp.sites)
    pd.testing.assert_frame_equal(again.services, gp.services)
    ph = sources.nhs_ods(lew / "buildings" / "pharmacies_edispensary_2025_lewisham.csv",
                         codepoint, kind="pharmacy", boundary=boundary)
    assert (ph.kept, len(ph.sites)) == (47, 46)
    assert ph.left_out == {"closed (status C)": 64}
    owners = ph.services.groupby("owner").size()
    assert owners["TOUCHWOOD PHARMACY"] == 4  # four branches of one contractor (P7CP)
    fire = sources.fire_stations(lew / "buildings" / "fire_stations_homeoffice_2017_london.csv",
                                 service="London", boundary=boundary)
    assert sorted(fire.sites["name"]) == ["Deptford Fire Station", "Forest Hill Fire Station",
                                          "Lewisham Fire Station", "New Cross Fire Station"]
    assert fire.left_out == {"located more than 0 m outside lewisham_borough_bng.geojson": 99}
    # Lee Green (25 m outside, in Greenwich) comes in with a 30 m margin
    near = sources.fire_stations(lew / "buildings" / "fire_stations_homeoffice_2017_london.csv",
                                 service="London", boundary=boundary, margin_m=30)
    assert "Lee Green Fire Station" in set(near.sites["name"])


def test_access_by_area_sums_gains_losses_and_minutes_by_hand() -> None:
    from tp_assets import areas
    from tp_assets.scenario import Standard

    zones = pd.DataFrame({"zone_id": ["A", "B", "C", "D"], "population": [100.0, 300, 50, 0],
                          "ward": ["West", "West", "East", ""],
                          "imd_decile": pd.array([1, 2, 1, None], dtype="Int64")})
    before = np.array([10.0, 25.0, 12.0, np.inf])
    after = np.array([22.0, 15.0, np.inf, 5.0])
    table = areas.access_by_area(zones, {"library": Standard("library", 20.0)},
                                 {"library": (before, after)})
    rows = table.set_index(["breakdown", "area"])
    assert list(table["breakdown"]) == ["imd_decile"] * 3 + ["ward"] * 3
    assert list(table["area"]) == ["1", "2", "unknown", "East", "West", "unknown"]
    one = rows.loc[("imd_decile", "1")]  # zones A (within, then lost) and C (lost, no time)
    assert (one["zones"], one["demand_total"]) == (2, 150.0)
    assert (one["demand_within_before"], one["demand_within_after"]) == (150.0, 0.0)
    assert (one["demand_losing"], one["demand_gaining"]) == (150.0, 0.0)
    # only A is timed both before and after: 10 -> 22 minutes
    assert (one["mean_minutes_before"], one["mean_minutes_change"]) == (10.0, 12.0)
    west = rows.loc[("ward", "West")]  # A loses 100, B gains 300
    assert (west["demand_losing"], west["demand_gaining"]) == (100.0, 300.0)
    assert west["mean_minutes_before"] == pytest.approx((100 * 10 + 300 * 25) / 400)
    assert west["mean_minutes_after"] == pytest.approx((100 * 22 + 300 * 15) / 400)
    assert np.isnan(rows.loc[("ward", "East"), "mean_minutes_before"])
    none = areas.access_by_area(zones.assign(ward="", imd_decile=pd.NA),
                                {"library": Standard("library", 20.0)},
                                {"library": (before, after)})
    assert none.empty and list(none.columns) == list(areas.COLUMNS)
