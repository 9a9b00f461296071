"""Acceptance: real ONS boundaries and Census 2021 population of Lewisham (../shared/data)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tp_assets import estate, sources
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
