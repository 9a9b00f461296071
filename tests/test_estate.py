"""Loading, defaults, energy benchmarks and CRS handling of the estate."""

from __future__ import annotations

import shutil
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from conftest import DEMO, edit_csv

from tp_assets import estate, settings
from tp_assets._errors import InputError, TpAssetsError


def test_tiny_place_loads_with_documented_defaults(place: Path) -> None:
    est = estate.load_place(place)
    s = est.sites.set_index("site_id")
    assert est.sites.crs.to_epsg() == 27700
    assert list(s.index) == ["S1", "S2", "S3", "S4", "S5"]
    # capacity defaults to the documented share of GIA
    assert s.loc["S2", "capacity_m2"] == pytest.approx(500 * settings.CAPACITY_SHARE_OF_GIA)
    assert s.loc["S1", "capacity_m2"] == 800
    assert s.loc["S2", "lease_end"] == pd.Timestamp("2029-03-31")
    assert pd.isna(s.loc["S1", "lease_end"])
    assert s.loc["S3", "status"] == "retain"
    assert s.loc["S1", "geometry"].equals(shapely.Point(537500, 173500))
    v = est.services.set_index("service_id")
    assert bool(v.loc["V5", "movable"]) is True  # "yes" / "no" spellings
    assert bool(v.loc["V4", "splittable"]) is True
    assert v.loc["V3", "geometry"].equals(s.loc["S2", "geometry"])  # located at its site
    assert est.zones["population"].sum() == 5400
    assert est.demand_columns == ["population", "pop_65_plus"]
    assert list(est.zones["point_source"].unique()) == ["point"]


def test_tm46_fills_missing_energy_and_flags_it(place: Path) -> None:
    s = estate.load_place(place).sites.set_index("site_id")
    # S1 fully metered
    assert s.loc["S1", ["electricity_kwh_pa", "heat_kwh_pa"]].tolist() == [70000, 200000]
    assert s.loc["S1", "energy_source"] == "metered"
    # S2 clinic, 500 m2, nothing metered: 70 and 200 kWh/m2/yr
    assert s.loc["S2", "electricity_kwh_pa"] == pytest.approx(35000)
    assert s.loc["S2", "heat_kwh_pa"] == pytest.approx(100000)
    assert s.loc["S2", "energy_source"] == "benchmark"
    # S3 office: electricity metered, heat estimated at 120 kWh/m2 x 3000 m2
    assert s.loc["S3", "electricity_kwh_pa"] == 280000
    assert s.loc["S3", "electricity_source"] == "metered"
    assert s.loc["S3", "heat_kwh_pa"] == pytest.approx(360000)
    assert s.loc["S3", "heat_source"] == "benchmark"
    assert s.loc["S3", "energy_source"] == "benchmark"
    # S4 community hall with no heating: electricity 40 kWh/m2, heat 0
    assert s.loc["S4", "electricity_kwh_pa"] == pytest.approx(12000)
    assert s.loc["S4", "heat_kwh_pa"] == 0
    # S5 emergency services 70 / 390
    assert s.loc["S5", ["electricity_kwh_pa", "heat_kwh_pa"]].tolist() == [140000, 780000]


def test_tm46_table_names_its_source_and_issue_values() -> None:
    t = estate.tm46_benchmarks()
    assert t["source"].str.contains("CIBSE TM46").all()
    expected = {"general_office": (95, 120), "cultural_activities": (70, 200),
                "schools_and_community": (40, 150), "dry_sports_and_leisure": (95, 330),
                "swimming_pool_centre": (245, 1130), "public_buildings_light_usage": (20, 105)}
    for category, (elec, heat) in expected.items():
        assert tuple(t.loc[category, ["electricity_kwh_m2_pa", "fossil_thermal_kwh_m2_pa"]]) == (
            elec, heat)
    assert len(t) == 29


def test_crs_round_trip_geopackage_and_lonlat_csv(place: Path, tmp_path: Path) -> None:
    """Sites given in WGS84 (GeoPackage, lon/lat CSV) land where the BNG originals are."""
    original = estate.load_place(place).sites.set_index("site_id").geometry
    raw = pd.read_csv(place / "sites.csv", dtype=str, keep_default_na=False)
    gdf = gpd.GeoDataFrame(raw.drop(columns=["x", "y"]),
                           geometry=gpd.points_from_xy(raw.x.astype(float), raw.y.astype(float)),
                           crs="EPSG:27700").to_crs("EPSG:4326")
    gdf.to_file(place / "sites.gpkg", driver="GPKG")
    lonlat = raw.drop(columns=["x", "y"]).assign(lon=gdf.geometry.x.map("{:.9f}".format),
                                                 lat=gdf.geometry.y.map("{:.9f}".format))
    lonlat.to_csv(place / "sites_lonlat.csv", index=False)
    for name in ("sites.gpkg", "sites_lonlat.csv"):
        est = estate.load_estate(place / name, place / "services.csv", place / "zones.csv",
                                 crs={"zones": "EPSG:27700"}, boundary=place / "boundary.geojson")
        got = est.sites.set_index("site_id").geometry
        assert est.sites.crs.to_epsg() == 27700
        d = got.distance(original)
        assert float(d.max()) < 0.01, name
        assert est.sites["gia_m2"].tolist() == [1000, 500, 3000, 300, 2000]


def test_figures_that_look_wrong_but_may_be_meant_are_noted(place: Path) -> None:
    edit_csv(place / "sites.csv", "S1", "lease_end", "2030-03-31")
    edit_csv(place / "sites.csv", "S1", "capacity_m2", "1200")
    notes = estate.load_place(place).notes
    assert ("sites.csv row 2 (site_id S1): lease_end 2030-03-31 is ignored, as the site is "
            "freehold; set tenure = leasehold if it is leased") in notes
    assert ("sites.csv row 2 (site_id S1): capacity_m2 1,200 is more than its gia_m2 1,000; "
            "the plan uses capacity_m2 as given: check the two figures") in notes


def test_a_date_that_is_not_in_the_calendar_is_named_as_such(place: Path) -> None:
    edit_csv(place / "sites.csv", "S2", "lease_end", "2029-02-30")
    with pytest.raises(InputError, match=r"sites.csv row 3 \(site_id S2\), column 'lease_end': "
                       r"value '2029-02-30' is not a day of the calendar \(check the day and "
                       r"month"):
        estate.load_place(place)


def test_messages_can_say_where_each_record_was_read(place: Path) -> None:
    """Rows as a spreadsheet shows them (blank rows counted); features in geodata."""
    lines = (place / "sites.csv").read_text().splitlines(keepends=True)
    (place / "sites.csv").write_text("".join([lines[0], "\n", *lines[1:]]))
    est = estate.load_place(place)
    assert est.where("sites", ["S1"]) == "sites.csv row 3"
    assert est.where("sites", ["S4", "S2", "S4"]) == "sites.csv rows 4, 6"
    assert (est.where("services", [f"V{i}" for i in range(5, 0, -1)])
            == "services.csv rows 2, 3, 4, 5, 6")
    assert est.where("sites", ["S9"]) == "sites.csv"  # not in the register: the file only
    raw = pd.read_csv(place / "sites.csv", dtype=str, keep_default_na=False)
    gpd.GeoDataFrame(raw.drop(columns=["x", "y"]), crs="EPSG:27700", geometry=gpd.points_from_xy(
        raw.x.astype(float), raw.y.astype(float))).to_file(place / "sites.gpkg", driver="GPKG")
    est = estate.load_estate(place / "sites.gpkg", place / "services.csv", place / "zones.csv",
                             crs={"zones": "EPSG:27700"}, boundary=place / "boundary.geojson")
    assert est.where("sites", ["S2", "S3"]) == "sites.gpkg features 2, 3"
    assert estate.Estate("built", est.sites, est.services, est.zones).where(
        "sites", ["S1"]) == "the sites table"


def test_polygon_zones_use_population_weighted_centroid(place: Path, tmp_path: Path) -> None:
    zones = gpd.GeoDataFrame(
        {"zone_id": ["A", "B"], "population": [100, 50], "pwc_x": [537600.0, None],
         "pwc_y": [173600.0, None]},
        geometry=[shapely.box(537500, 173500, 538000, 174000),
                  shapely.box(538000, 174000, 538400, 174200)], crs="EPSG:27700")
    zones.to_file(tmp_path / "zones.gpkg", driver="GPKG")
    est = estate.load_estate(place / "sites.csv", place / "services.csv", tmp_path / "zones.gpkg",
                             crs={"sites": "EPSG:27700"})
    z = est.zones.set_index("zone_id")
    assert (z.loc["A", "point_x"], z.loc["A", "point_y"]) == (537600, 173600)
    assert z.loc["A", "point_source"] == "pwc"
    assert (z.loc["B", "point_x"], z.loc["B", "point_y"]) == pytest.approx((538200, 174100))
    assert z.loc["B", "point_source"] == "centroid"


def test_site_just_outside_boundary_is_kept_with_a_note(place: Path) -> None:
    edit_csv(place / "sites.csv", "S4", "x", "536700")  # 300 m west of the boundary
    est = estate.load_place(place)
    assert "S4" in set(est.sites["site_id"])
    assert any("S4" in n and "300 m outside" in n for n in est.notes)


def test_folder_without_manifest_uses_default_names(place: Path) -> None:
    (place / "place.toml").unlink()
    # CSVs with x/y need a declared CRS: without place.toml there is none
    with pytest.raises(InputError, match=r"sites.csv: has x/y coordinates but no CRS"):
        estate.load_place(place)


def test_errors_subclass_builtin_and_package_base() -> None:
    assert issubclass(InputError, ValueError)
    assert issubclass(InputError, TpAssetsError)


def test_demo_place_meets_the_brief() -> None:
    est = estate.load_place(DEMO)
    s, v, z = est.sites, est.services, est.zones
    assert len(s) >= 250 and s["owner"].nunique() >= 7
    assert len(v) >= 400 and v["service_type"].nunique() >= 10
    assert len(z) >= 800
    assert 290_000 <= z["population"].sum() <= 310_000
    assert {"pop_0_15", "pop_16_64", "pop_65_plus"} <= set(z.columns)
    assert np.allclose(z[["pop_0_15", "pop_16_64", "pop_65_plus"]].sum(axis=1), z["population"])
    assert set(s["tenure"]) == {"freehold", "leasehold"}
    assert s.loc[s["tenure"] == "leasehold", "lease_end"].notna().all()
    assert set(s["energy_source"]) == {"metered", "benchmark"}
    minx, miny, maxx, maxy = s.total_bounds
    assert minx >= 533000 and maxx <= 541500 and miny >= 169000 and maxy <= 178500
    # status quo is feasible: no building is over-occupied today
    assert not [n for n in est.notes if "over-occupied" in n]
    # realistic running costs: between 30 and 150 GBP per m2 of GIA a year
    per_m2 = s[["rent_gbp_pa", "rates_gbp_pa", "fm_gbp_pa"]].sum().sum() / s["gia_m2"].sum()
    assert 30 < per_m2 < 150


def test_data_readme_documents_every_column() -> None:
    doc = (DEMO.parent / "README.md").read_text()
    for col in (*estate.site_columns(), *estate.SERVICE_COLUMNS, *estate.ZONE_COLUMNS):
        assert f"`{col.name}`" in doc, col.name
    for category in estate.tm46_benchmarks().index[:3]:
        assert category in (DEMO.parent.parent / "tp_assets" / "data"
                            / "cibse_tm46_benchmarks.csv").read_text()
    assert f"{settings.CAPACITY_SHARE_OF_GIA:g} x gia_m2" in doc
    assert f"{settings.PLACE_MARGIN_M:,.0f} m" in doc


def test_dec_certificates_replace_benchmarks(tmp_path: Path) -> None:
    from conftest import TEST_DATA

    from tp_assets import sources

    dec = TEST_DATA / "dec"
    sites = pd.read_csv(dec / "sites.csv", dtype=str, keep_default_na=False)
    out = sources.apply_decs(sites, dec / "certificates.csv").set_index("site_id")
    # usage is kWh per m2 per year: x TOTAL_FLOOR_AREA; the latest certificate wins
    assert out.loc["S1", "dec_match"] == "uprn"
    assert out.loc["S1", "electricity_kwh_pa"] == 55 * 1000
    assert out.loc["S1", "heat_kwh_pa"] == 140 * 1000
    assert out.loc["S1", "dec_rating_band"] == "D"
    assert out.loc["S2", "dec_match"] == "postcode+address"
    assert out.loc["S2", "electricity_kwh_pa"] == 80 * 480
    assert out.loc["S2", "heat_fuel"] == "electric"
    assert out.loc["S3", "dec_match"] == ""
    assert out.loc["S3", "electricity_kwh_pa"] == ""
    # written back, the matched figures load as metered, the rest as benchmark
    place = tmp_path / "p"
    place.mkdir()
    out.reset_index().to_csv(place / "sites.csv", index=False)
    (place / "services.csv").write_text("service_id,site_id,service_type,owner,area_m2\n"
                                        "V1,S1,library,council,100\n")
    (place / "zones.csv").write_text("zone_id,population,x,y\nZ1,100,537500,173600\n")
    est = estate.load_estate(place / "sites.csv", place / "services.csv", place / "zones.csv",
                             crs={"sites": "EPSG:27700", "zones": "EPSG:27700"})
    assert est.sites.set_index("site_id")["energy_source"].to_dict() == {
        "S1": "metered", "S2": "metered", "S3": "benchmark"}


def test_dec_zero_floor_area_is_named(tmp_path: Path) -> None:
    from conftest import TEST_DATA

    from tp_assets import sources

    text = (TEST_DATA / "dec" / "certificates.csv").read_text().replace(",1000,150,", ",0,150,")
    bad = tmp_path / "decs.csv"
    bad.write_text(text)
    with pytest.raises(InputError) as info:
        sources.apply_decs(pd.DataFrame({"site_id": ["S1"]}), bad)
    msg = str(info.value)
    assert "decs.csv row 2, column 'TOTAL_FLOOR_AREA': value '0' must be a floor area" in msg
    bad.write_text("UPRN,TOTAL_FLOOR_AREA\n1,100\n")
    with pytest.raises(InputError, match=r"no column\(s\) POSTCODE"):
        sources.apply_decs(pd.DataFrame({"site_id": ["S1"]}), bad)


def test_dec_matching_by_postcode_alone_is_never_shared_or_out_of_date(tmp_path: Path) -> None:
    from conftest import TEST_DATA

    from tp_assets import sources

    dec = TEST_DATA / "dec"
    # one building's certificates at SE6 4RU; two sites there, neither named like it
    sites = pd.DataFrame({"site_id": ["K1", "K2"], "name": ["Car park", "Shop"],
                          "postcode": ["SE6 4RU", "SE64RU"], "gia_m2": ["300", "200"]})
    out = sources.apply_decs(sites, dec / "certificates.csv")
    assert out["dec_match"].tolist() == ["", ""]  # not the library's energy, twice
    # alone at its postcode, a site takes it, and its floor area is there to compare
    out = sources.apply_decs(sites.iloc[:1], dec / "certificates.csv")
    assert out["dec_match"].tolist() == ["postcode"]
    assert out["dec_floor_area_m2"].tolist() == [1000.0]
    assert sources.floor_areas_apart(out) == ["K1 (gia_m2 300, certificate 1,000 m2)"]
    # dates as Excel saves them: the 2024 certificate is still the latest
    text = (dec / "certificates.csv").read_text()
    excel = tmp_path / "decs.csv"
    excel.write_text(text.replace("2022-06-01", "01/06/2022").replace("2024-06-01", "01/06/2024"))
    out = sources.apply_decs(sites.iloc[:1], excel)
    assert out["electricity_kwh_pa"].tolist() == [55 * 1000]  # 2024's, not 2022's 60
    excel.write_text(text.replace("2024-06-01", "June 2024"))
    with pytest.raises(InputError, match=r"decs.csv row 3, column 'LODGEMENT_DATE': value "
                       r"'June 2024' is not a date; write YYYY-MM-DD \(or DD/MM/YYYY\)"):
        sources.apply_decs(sites.iloc[:1], excel)


def test_library_import_of_an_authority_the_file_lacks_writes_nothing(tmp_path: Path) -> None:
    from conftest import TEST_DATA

    from tp_assets import sources

    libraries = tmp_path / "libraries.csv"
    libraries.write_text("name,authority,postcode,closed\nCatford Library,Lewisham,SE6 4RU,\n"
                         "Woolwich Library,Greenwich,SE18 6HQ,\n")
    codepoint = TEST_DATA / "assets" / "codepoint_sample.csv"
    with pytest.raises(InputError, match=r"libraries.csv: no open library has authority "
                       r"'Lewisham Council' \(did you mean 'Lewisham'\?\); nothing was written. "
                       r"Authorities in the file: Greenwich, Lewisham"):
        sources.libraries(libraries, codepoint, authority="Lewisham Council")
    with pytest.raises(InputError, match="SE6 4RU"):  # lewisham: found, any case; then located
        sources.libraries(libraries, codepoint, authority="lewisham")


def test_council_asset_list_becomes_sites(tmp_path: Path) -> None:
    from conftest import TEST_DATA

    from tp_assets import sources

    assets = TEST_DATA / "assets"
    sites = sources.asset_list(assets / "asset_list.csv",
                               codepoint=assets / "codepoint_sample.csv").set_index("site_id")
    assert list(sites.index) == ["LBL0001", "LBL0002"]
    assert sites.loc["LBL0001", "owner"] == "London Borough of Lewisham"
    assert (sites.loc["LBL0001", "x"], sites.loc["LBL0001", "y"]) == (538232, 175241)
    assert (sites.loc["LBL0002", "x"], sites.loc["LBL0002", "y"]) == (537639, 173733)
    assert sites["tenure"].tolist() == ["freehold", "leasehold"]
    # a freehold the council lets out is still its freehold
    let = tmp_path / "let.csv"
    let.write_text((assets / "asset_list.csv").read_text().replace(",Freehold,",
                                                                   ",Freehold - leased out,"))
    assert sources.asset_list(let, codepoint=assets / "codepoint_sample.csv")[
        "tenure"].tolist() == ["freehold", "leasehold"]
    assert sites.loc["LBL0001", "address"] == "199-201 Lewisham High Street, London SE13 6LG"
    assert sites["located_by"].tolist() == ["source coordinates", "postcode"]
    # X/Y of 0, 0 (a blank another system filled in) are located by postcode too
    zeros = tmp_path / "zeros.csv"
    zeros.write_text((assets / "asset_list.csv").read_text().replace(",538232,175241,", ",0,0,"))
    with pytest.raises(InputError, match=r"zeros.csv: 1 postcode\(s\) not found in "
                       r"codepoint_sample.csv: row 2: 'SE13 6LG'"):  # not taken as a place
        sources.asset_list(zeros, codepoint=assets / "codepoint_sample.csv")
    with pytest.raises(InputError, match=r"asset_list.csv: 1 asset\(s\) without X/Y "
                       r"co-ordinates \(blank, or 0, 0\) \(row 3\); give --postcodes"):
        sources.asset_list(assets / "asset_list.csv")
    # what the list does not say (floor area, lease end) validation asks for, by cell
    sites.reset_index().to_csv(tmp_path / "sites.csv", index=False)
    (tmp_path / "services.csv").write_text("service_id,site_id,service_type,owner,area_m2\n"
                                           "V1,LBL0001,library,council,100\n")
    (tmp_path / "zones.csv").write_text("zone_id,population,x,y\nZ1,100,538000,175000\n")
    with pytest.raises(InputError) as info:
        estate.load_estate(tmp_path / "sites.csv", tmp_path / "services.csv",
                           tmp_path / "zones.csv",
                           crs={"sites": "EPSG:27700", "zones": "EPSG:27700"})
    msg = str(info.value)
    assert "sites.csv row 2 (site_id LBL0001), column 'gia_m2': value is blank" in msg
    assert "sites.csv row 3 (site_id LBL0002), column 'lease_end': a leasehold needs" in msg


def test_blank_enum_cells_take_their_documented_defaults(place: Path) -> None:
    """A blank heat_fuel, benchmark or status cell is the default, not a missing value."""
    for column in ("heat_fuel", "benchmark", "status"):
        edit_csv(place / "sites.csv", "S2", column, "")
    s = estate.load_place(place).sites.set_index("site_id")
    assert s.loc["S2", "heat_fuel"] == settings.DEFAULT_HEAT_FUEL
    assert s.loc["S2", "benchmark"] == settings.DEFAULT_BENCHMARK
    assert s.loc["S2", "status"] == "candidate"
    # the energy estimate uses the default benchmark: a number, not NaN
    assert np.isfinite(s.loc["S2", ["electricity_kwh_pa", "heat_kwh_pa"]].astype(float)).all()
    assert s.loc["S2", "electricity_kwh_pa"] > 0


def test_population_weighted_centroids_in_lon_lat_and_out_of_place(tmp_path: Path) -> None:
    """West of Greenwich longitudes are negative: accepted. A centroid far from its zone
    (a 0 typed for a blank) is named, not routed from 500 km away."""
    place = tmp_path / "demo"
    shutil.copytree(DEMO, place, ignore=shutil.ignore_patterns("*.py", "*.graphml.gz"))
    zones = gpd.read_file(place / "zones.geojson")
    pwc = gpd.GeoSeries(gpd.points_from_xy(zones["pwc_x"], zones["pwc_y"]), crs=27700)
    lonlat = pwc.to_crs(4326)
    zones = zones.to_crs(4326).assign(pwc_x=lonlat.x, pwc_y=lonlat.y)
    assert (zones["pwc_x"] < 0).any()
    zones.to_file(place / "zones.geojson", driver="GeoJSON")
    text = (place / "place.toml").read_text()
    (place / "place.toml").write_text(text.replace('network = "network_walk.graphml.gz"\n', ""))
    loaded = estate.load_place(place).zones
    assert (loaded["point_source"] == "pwc").all()
    assert np.allclose(loaded["point_x"], pwc.x, atol=0.01)
    zones.loc[0, "pwc_x"] = 0.0
    zones.to_file(place / "zones.geojson", driver="GeoJSON")
    with pytest.raises(InputError) as info:
        estate.load_place(place)
    message = str(info.value)
    assert f"zones.geojson feature 1 (zone_id {zones.loc[0, 'zone_id']})" in message
    assert "columns 'pwc_x'/'pwc_y': the point is" in message
    assert "outside the zone's polygon" in message
