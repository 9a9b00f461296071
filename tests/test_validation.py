"""Every bad input named in the foundation issue gives a message naming file, row/id,
column, value and fix; the CLI exits 2 and writes nothing."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from conftest import ROOT, edit_csv

from tp_assets import estate
from tp_assets._errors import InputError
from tp_assets._toml import locate, locate_value


def _cell(file: str, row_id: str, column: str, value: str, *more: str) -> Callable[[Path], None]:
    """Set one cell, or several: more = (row_id, column, value, row_id, column, value, ...)."""
    edits = [(row_id, column, value), *zip(more[::3], more[1::3], more[2::3], strict=True)]

    def change(p: Path) -> None:
        for edit in edits:
            edit_csv(p / file, *edit)
    return change


def _header(file: str, **kwargs: object) -> Callable[[Path], None]:
    def change(p: Path) -> None:
        edit_csv(p / file, **kwargs)  # type: ignore[arg-type]
    return change


def _toml(old: str, new: str) -> Callable[[Path], None]:
    def change(p: Path) -> None:
        text = (p / "place.toml").read_text()
        assert old in text
        (p / "place.toml").write_text(text.replace(old, new))
    return change


# (case id, change to the valid place, fragments the one message must contain)
CASES: list[tuple[str, Callable[[Path], None], list[str]]] = [
    ("missing column", _header("sites.csv", drop_column="gia_m2"),
     ["sites.csv", "missing required column 'gia_m2'", "columns present", "data/README.md"]),
    ("misnamed column", _header("services.csv", rename=("area_m2", "Area_m2")),
     ["services.csv", "'area_m2'", "found 'Area_m2': rename it to 'area_m2'"]),
    # service_id is close to service_type, but is a column of its own: no rename hint
    ("missing column near another", _header("services.csv", drop_column="service_type"),
     ["services.csv: missing required column 'service_type' for the services table; "
      "columns present: service_id, site_id, owner"]),
    ("duplicate id", _cell("services.csv", "V2", "service_id", "V1"),
     ["services.csv row 3 (service_id V1)", "column 'service_id'", "duplicate id 'V1'",
      "also on row 2", "must be unique"]),
    ("duplicate site id orphans its services", _cell("sites.csv", "S2", "site_id", "S1"),
     ["sites.csv row 3 (site_id S1)", "duplicate id 'S1'",
      "'S2' is not a site_id in sites.csv (was it the site now given a duplicate or blank id "
      "in sites.csv?"]),
    ("service at unknown site", _cell("services.csv", "V3", "site_id", "S22"),
     ["services.csv row 4 (service_id V3)", "column 'site_id'", "'S22' is not a site_id in "
      "sites.csv", "did you mean 'S2'"]),
    ("non-numeric area", _cell("sites.csv", "S2", "gia_m2", "about 500"),
     ["sites.csv row 3 (site_id S2)", "column 'gia_m2'", "'about 500' is not a number",
      "give a number in m2 greater than 0"]),
    ("zero area", _cell("sites.csv", "S2", "gia_m2", "0"),
     ["sites.csv row 3 (site_id S2)", "column 'gia_m2'", "'0' is 0", "greater than 0"]),
    ("negative cost", _cell("sites.csv", "S4", "rent_gbp_pa", "-6000"),
     ["sites.csv row 5 (site_id S4)", "column 'rent_gbp_pa'", "'-6000' is negative",
      "0 or more"]),
    ("cost with currency symbol", _cell("sites.csv", "S4", "fm_gbp_pa", "£8,000"),
     ["sites.csv row 5 (site_id S4)", "column 'fm_gbp_pa'", "'£8,000' is not a number",
      "no currency symbols or thousands separators"]),
    ("negative population", _cell("zones.csv", "Z3", "population", "-800"),
     ["zones.csv row 4 (zone_id Z3)", "column 'population'", "'-800' is negative"]),
    ("bad demand column", _cell("zones.csv", "Z2", "pop_65_plus", "n/a"),
     ["zones.csv row 3 (zone_id Z2)", "column 'pop_65_plus'", "'n/a' is not a number"]),
    ("negative service area", _cell("services.csv", "V6", "area_m2", "-200"),
     ["services.csv row 7 (service_id V6)", "column 'area_m2'", "'-200' is negative"]),
    ("unknown tenure", _cell("sites.csv", "S1", "tenure", "freehld"),
     ["sites.csv row 2 (site_id S1)", "column 'tenure'", "'freehld' is not a known value",
      "did you mean 'freehold'", "valid values: freehold, leasehold"]),
    ("unknown status", _cell("sites.csv", "S5", "status", "sell"),
     ["sites.csv row 6 (site_id S5)", "column 'status'", "'sell'",
      "valid values: candidate, retain, dispose"]),
    ("unknown heat fuel", _cell("sites.csv", "S2", "heat_fuel", "coal"),
     ["sites.csv row 3 (site_id S2)", "column 'heat_fuel'", "'coal'",
      "valid values: gas, oil, electric, district, none"]),
    ("unknown benchmark", _cell("sites.csv", "S2", "benchmark", "surgery"),
     ["sites.csv row 3 (site_id S2)", "column 'benchmark'", "'surgery'", "valid values:"]),
    ("bad boolean", _cell("services.csv", "V7", "movable", "maybe"),
     ["services.csv row 8 (service_id V7)", "column 'movable'", "'maybe' is not true or false",
      "true/false"]),
    ("leasehold without lease_end", _cell("sites.csv", "S2", "lease_end", ""),
     ["sites.csv row 3 (site_id S2)", "column 'lease_end'", "a leasehold needs",
      "YYYY-MM-DD"]),
    ("malformed date", _cell("sites.csv", "S4", "lease_end", "30/09/2027"),
     ["sites.csv row 5 (site_id S4)", "column 'lease_end'", "'30/09/2027' is not a date",
      "YYYY-MM-DD"]),
    ("missing CRS", _toml('crs = "EPSG:27700"\n', ""),
     ["sites.csv", "no CRS is declared", 'crs = "EPSG:27700"', "place.toml"]),
    ("wrong CRS", _toml('crs = "EPSG:27700"', 'crs = "EPSG:4326"'),
     ["sites.csv rows 2, 3, 4, 5, 6: x/y cannot be EPSG:4326 coordinates (row 2: x 537500, "
      "y 173500 is outside what EPSG:4326 can place on Earth); they look like British "
      'National Grid metres: declare crs = "EPSG:27700" for this table in place.toml']),
    ("unknown CRS", _toml('crs = "EPSG:27700"', 'crs = "EPSG:999999"'),
     ["place.toml key 'crs'", "unknown CRS 'EPSG:999999'", "EPSG:27700"]),
    ("empty site coordinates", _cell("sites.csv", "S3", "x", "", "S3", "y", ""),
     ["sites.csv row 4 (site_id S3)", "no coordinates", "give x/y (or lon/lat) values"]),
    ("non-numeric coordinate", _cell("sites.csv", "S3", "x", "53820O"),
     ["sites.csv row 4", "column 'x'", "'53820O' is not a number"]),
    ("site far outside", _cell("sites.csv", "S5", "y", "183300"),
     ["sites.csv row 6 (site_id S5)", "lies 8.3 km outside the place boundary",
      "1,000 m margin", "check its coordinates and their CRS", "EPSG:27700"]),
    ("projected CRS not the coordinates'", _toml('crs = "EPSG:27700"', 'crs = "EPSG:3857"'),
     ["sites.csv: all 5 rows with coordinates lie outside the place boundary, the nearest, "
      "row ", " km away: the coordinates are not in the declared CRS (EPSG:3857), "
      "or they belong to another place; they look like British National Grid metres: declare "
      'crs = "EPSG:27700" for this table in place.toml']),
    ("another place's register", _cell(
        "sites.csv", *[c for k in range(1, 6) for c in (f"S{k}", "x", f"{387000 + k * 100}")]),
     ["sites.csv: all 5 rows with coordinates lie outside the place boundary",
      "they are EPSG:27700 coordinates of somewhere else: check that the table is this "
      "place's, and the place's boundary"]),
    ("gia_m2 blank throughout", _cell(
        "sites.csv", *[c for k in range(1, 6) for c in (f"S{k}", "gia_m2", "")]),
     ["sites.csv row 2 (site_id S1), column 'gia_m2'"]),
    ("x and y swapped", _cell("sites.csv", "S1", "x", "173500", "S1", "y", "537500"),
     ["sites.csv row 2 (site_id S1)", "outside the place boundary",
      "x/y values look swapped: swapping them puts it inside"]),
    ("service bigger than any site", _cell("services.csv", "V1", "area_m2", "5000"),
     ["services.csv row 2 (service_id V1)", "column 'area_m2'", "needs 5,000 m2",
      "largest site offers 2,400 m2 (S3)", "splittable = true"]),
    ("zone with people but no geometry", _cell("zones.csv", "Z2", "x", "", "Z2", "y", ""),
     ["zones.csv row 3 (zone_id Z2)", "no coordinates"]),
    ("blank required value", _cell("services.csv", "V6", "service_type", ""),
     ["services.csv row 7 (service_id V6)", "column 'service_type'", "value is blank",
      "give text"]),
    ("unknown place key", _toml('name = "Test place"', 'name = "Test place"\nzone = "z.csv"'),
     ["place.toml line 3", "unknown key 'zone'", "allowed keys:"]),
    ("missing file", _toml('zones = "zones.csv"', 'zones = "zones2.csv"'),
     ["place.toml line 7: zones \"zones2.csv\" not found (looked for ", "zones2.csv); paths "
      "are relative to place.toml"]),
    ("missing boundary", _toml('boundary = "boundary.geojson"', 'boundary = "edge.geojson"'),
     ['place.toml line 4: boundary "edge.geojson" not found']),
    ("empty file", lambda p: (p / "services.csv").write_text(""),
     ["services.csv: the file is empty", "header row"]),
    ("header only", lambda p: (p / "services.csv").write_text(
        "service_id,site_id,service_type,owner,area_m2\n"),
     ["services.csv: has a header row but no data rows"]),
    ("wrong encoding", lambda p: (p / "sites.csv").write_bytes(
        (p / "sites.csv").read_text().replace("Catford Library", "Café Library")
        .encode("cp1252")),
     ["sites.csv: not UTF-8 text", "byte 0xE9 on line 2", "CSV UTF-8", "iconv"]),
    ("semicolon separated", lambda p: (p / "services.csv").write_text(
        (p / "services.csv").read_text().replace(",", ";")),
     ["services.csv: columns are separated by ';'", "comma-separated"]),
    ("owner in other capitals", _cell("services.csv", "V2", "owner", "COUNCIL"),
     ["services.csv row 3 (service_id V2), column 'owner': 'COUNCIL' differs from 'council' "
      "only in capitals or spaces, and would count as another organisation; spell it "
      "'council'"]),
    ("UTF-16 text", lambda p: (p / "services.csv").write_bytes(
        (p / "services.csv").read_text().encode("utf-16")),
     ["services.csv: UTF-16 text (Excel's 'Unicode Text'); save it as 'CSV UTF-8'",
      "iconv -f utf-16 -t utf-8 services.csv"]),
    ("unquoted comma in a cell", lambda p: (p / "sites.csv").write_text(
        (p / "sites.csv").read_text().replace("Catford Library", "Library, Catford")),
     ["sites.csv row 2: has 20 cells where the header has 19; put a cell that holds a comma in "
      'double quotes, e.g. "Library, Deptford"']),
    ("not geodata", lambda p: (_toml('zones = "zones.csv"', 'zones = "zones.gpkg"')(p),
                               (p / "zones.gpkg").write_bytes(b"this is not a geopackage")),
     ["zones.gpkg: cannot be read as geodata", "valid GeoPackage or GeoJSON"]),
]


@pytest.mark.parametrize(("change", "fragments"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_bad_input_message(place: Path, change: Callable[[Path], None],
                           fragments: list[str]) -> None:
    change(place)
    with pytest.raises(InputError) as info:
        estate.load_place(place)
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in:\n{message}"


def _rewrite(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def test_csv_cells_are_read_as_a_spreadsheet_writes_them(place: Path) -> None:
    """Quoted commas after a space, empty cells past the header, empty trailing columns."""
    _rewrite(place / "sites.csv", "S1,Catford Library,", 'S1, "Library, Catford",')
    _rewrite(place / "sites.csv", ",candidate\n", ",candidate,,\n")  # every row ends ',,'
    lines = (place / "services.csv").read_text().splitlines()
    (place / "services.csv").write_text("\n".join([lines[0] + ",,", *lines[1:]]) + "\n")
    est = estate.load_place(place)
    assert est.sites.set_index("site_id").loc["S1", "name"] == "Library, Catford"
    assert est.sites["site_id"].tolist() == ["S1", "S2", "S3", "S4", "S5"]  # not shifted
    assert len(est.services) == len(lines) - 1


def test_csv_layout_mistakes_are_named(place: Path) -> None:
    path = place / "sites.csv"
    text = path.read_text()
    # semicolons, with a comma in a cell (a European spreadsheet's decimal comma)
    path.write_text(text.replace(",", ";").replace(";1000;", ";1000,5;"))
    with pytest.raises(InputError, match=r"sites\.csv: columns are separated by ';' not ','"):
        estate.load_place(place)
    path.write_text(text.replace("site_id,name,owner,", "site_id,name,name,"))
    with pytest.raises(InputError, match=r"sites\.csv row 1: column 'name' appears more than "
                       "once in the header; keep one of each"):
        estate.load_place(place)


def test_all_problems_reported_at_once(place: Path) -> None:
    edit_csv(place / "sites.csv", "S1", "tenure", "owned")
    edit_csv(place / "sites.csv", "S2", "gia_m2", "-1")
    edit_csv(place / "services.csv", "V3", "site_id", "S99")
    edit_csv(place / "zones.csv", "Z1", "population", "lots")
    with pytest.raises(InputError) as info:
        estate.load_place(place)
    assert len(info.value.problems) == 4
    assert str(info.value).startswith("4 problems found in the input:")


def test_lonlat_swapped_is_named(place: Path) -> None:
    sites = estate.load_place(place).sites.to_crs("EPSG:4326")
    lines = (place / "sites.csv").read_text().splitlines()
    header = lines[0].replace(",x,y,", ",lon,lat,")
    out = [header]
    for line, geom in zip(lines[1:], sites.geometry, strict=True):
        cells = line.split(",")
        cells[3], cells[4] = f"{geom.y:.6f}", f"{geom.x:.6f}"  # lat in lon, lon in lat
        out.append(",".join(cells))
    (place / "sites.csv").write_text("\n".join(out) + "\n")
    with pytest.raises(InputError) as info:
        estate.load_place(place)
    assert len(info.value.problems) == 1  # every row: one message, not five
    assert str(info.value).startswith("sites.csv: all 5 rows with coordinates lie outside the "
                                      "place boundary")
    assert str(info.value).endswith("the lon/lat values look swapped in every row: swapping "
                                    "them puts each inside; swap the two columns' names")
    edit_csv(place / "sites.csv", "S3", "lon", "-0.0200")  # one row's fixed: the others named
    edit_csv(place / "sites.csv", "S3", "lat", "51.4450")
    with pytest.raises(InputError) as info:
        estate.load_place(place)
    assert len(info.value.problems) == 4
    assert "sites.csv row 2 (site_id S1)" in str(info.value)
    assert "lon/lat values look swapped" in str(info.value)


def test_invalid_and_empty_polygon_zones(place: Path, tmp_path: Path) -> None:
    bowtie = shapely.Polygon([(537500, 173500), (537600, 173600), (537600, 173500),
                              (537500, 173600)])
    zones = gpd.GeoDataFrame({"zone_id": ["A", "B", "C"], "population": [10, 20, 0]},
                             geometry=[bowtie, None, None], crs="EPSG:27700")
    zones.to_file(tmp_path / "zones.gpkg", driver="GPKG")
    with pytest.raises(InputError) as info:
        estate.load_estate(place / "sites.csv", place / "services.csv", tmp_path / "zones.gpkg",
                           crs={"sites": "EPSG:27700"})
    msg = str(info.value)
    assert "zones.gpkg feature 1 (zone_id A): invalid geometry (Self-intersection" in msg
    assert "Fix Geometries" in msg
    assert "zones.gpkg feature 2 (zone_id B): no geometry" in msg
    assert "feature 3" not in msg  # no people, no geometry: left out, not an error
    assert len(info.value.problems) == 2


def test_geodata_without_crs(place: Path, tmp_path: Path) -> None:
    zones = gpd.GeoDataFrame({"zone_id": ["A"], "population": [10]},
                             geometry=[shapely.Point(537500, 173500)])
    with pytest.warns(UserWarning, match="'crs' was not provided"):
        zones.to_file(tmp_path / "zones.gpkg", driver="GPKG")
    with pytest.raises(InputError, match=r"zones.gpkg: the file declares no CRS.*Set CRS"):
        estate.load_estate(place / "sites.csv", place / "services.csv", tmp_path / "zones.gpkg",
                           crs={"sites": "EPSG:27700"})


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tp_assets", *args], capture_output=True,
                          text=True, cwd=cwd, check=False)


def test_cli_exits_2_with_messages_and_writes_nothing(place: Path) -> None:
    edit_csv(place / "sites.csv", "S2", "lease_end", "soon")
    before = sorted(p.name for p in place.rglob("*"))
    result = _cli("validate", str(place), cwd=place.parent)
    assert result.returncode == 2
    assert "sites.csv row 3 (site_id S2), column 'lease_end': value 'soon'" in result.stderr
    assert result.stdout == ""
    assert sorted(p.name for p in place.rglob("*")) == before
    assert sorted(p.name for p in place.parent.iterdir()) == ["place"]


def test_cli_validate_demo_prints_summary() -> None:
    result = _cli("validate", "data/demo", cwd=ROOT)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Lewisham (synthetic demo place): valid" in out
    assert "259 sites, 407 services, 880 zones, 300,000 residents" in out
    assert "annual running cost (rent + rates + FM) £" in out
    assert "estimated from CIBSE TM46 benchmarks" in out
    assert "London Fire Brigade" in out
    assert "library" in out


def test_cli_bad_arguments_show_an_example() -> None:
    result = _cli("validate", cwd=ROOT)
    assert result.returncode == 2
    assert "PLACE_OR_SCENARIO" in result.stderr
    missing = _cli("validate", "no/such/place", cwd=ROOT)
    assert missing.returncode == 2
    assert "no/such/place: not found; give a place folder (e.g. data/demo)" in missing.stderr


def test_cli_validate_accepts_a_scenario() -> None:
    result = _cli("validate", "optimisation/colocation.toml", cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Lewisham (synthetic demo place): valid")


def test_blank_rows_are_skipped_and_rows_keep_their_spreadsheet_numbers(place: Path) -> None:
    """A spreadsheet's empty rows (a blank line, or a row of bare commas) are not records;
    rows after them are still named by the number the spreadsheet shows."""
    path = place / "services.csv"

    def with_blank_rows() -> None:
        lines = path.read_text().splitlines()
        commas = "," * lines[0].count(",")
        path.write_text("\n".join([lines[0], lines[1], "", *lines[2:], commas, commas]) + "\n")

    count = len(path.read_text().splitlines()) - 1
    edit_csv(path, "V3", "site_id", "S22")
    with_blank_rows()
    with pytest.raises(InputError) as info:
        estate.load_place(place)
    assert "services.csv row 5 (service_id V3)" in str(info.value)  # row 4 before the blank
    edit_csv(path, "V3", "site_id", "S1")  # fixed: the blank rows alone are no problem
    assert len(estate.load_place(place).services) == count


def test_scenario_lines_are_found_however_the_key_is_written() -> None:
    text = ('name = "x"\ndescription = \'Close "A" later\'\n'
            'rules = { max_move_minutes = 30 }\n'
            'caps.max_disposals = 3\n'
            '[status]\ndispose = [\n  "B",\n  "A",\n]\n')
    sources = [(Path("x.toml"), text)]
    assert locate_value(sources, "A", "dispose", "status") == "x.toml line 8"
    assert locate_value(sources, "A") == "x.toml line 2"  # the first quoted "A"
    assert locate(sources, "max_move_minutes", "rules") == "x.toml line 3"
    assert locate(sources, "max_disposals", "caps") == "x.toml line 4"
    assert locate(sources, "", "caps") == "x.toml line 4"
    assert locate(sources, "retain", "status") == "x.toml"  # not set: no line
