"""The leaders' map in a real browser (headless Chromium), offline.

Builds the demo place's map (the quick baseline scenario) with one site renamed to an
XSS probe, opens it from a file:// URL with every host name unresolvable, and checks
what a leader would see. A screenshot is left in tests/artifacts/demo_map.png.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pandas as pd
import pytest
from conftest import DEMO, ROOT

from tp_assets import pipeline

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
XSS = "<img src=x onerror=alert(1)>"
# folium writes popups and tooltips into JavaScript template strings
TEMPLATE = "Cost ${alert(2)} `tick` back\\slash \\u"
ZONE_XSS = "Z<img src=y onerror=alert(3)>"
ARTIFACTS = ROOT / "tests" / "artifacts"


@pytest.fixture(scope="module")
def demo_map(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pipeline.RunResult]:
    folder = tmp_path_factory.mktemp("demo")
    place = folder / "demo"
    shutil.copytree(DEMO, place, ignore=shutil.ignore_patterns("*.py"))
    sites = pd.read_csv(place / "sites.csv", dtype=str, keep_default_na=False)
    sites.loc[sites["site_id"] == "S001", "name"] = XSS
    sites.loc[sites["site_id"] == "S002", "name"] = TEMPLATE
    sites.to_csv(place / "sites.csv", index=False)
    zones = json.loads((place / "zones.geojson").read_text())
    zones["features"][0]["properties"]["zone_id"] = ZONE_XSS
    (place / "zones.geojson").write_text(json.dumps(zones))
    scenario = folder / "baseline.toml"
    scenario.write_text(f'extends = "{ROOT / "optimisation" / "baseline.toml"}"\n'
                        f'name = "demo-map"\nplace = "{place}"\n')
    result = pipeline.run(scenario, results_dir=folder / "results", maps_dir=folder / "maps",
                          cache_dir=folder / "cache")
    assert result.map_path is not None
    return result.map_path, result


@pytest.fixture(scope="module")
def browser():  # type: ignore[no-untyped-def]
    if not (CHROMIUM and CHROMEDRIVER):
        pytest.skip("no Chromium/ChromeDriver here (Debian: apt-get install chromium "
                    "chromium-driver; .ci/run installs them)")
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--window-size=1400,1000",
                "--host-resolver-rules=MAP * ~NOTFOUND"):  # no network: nothing resolves
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": (
        "window.__alerts = []; window.alert = function (m) { window.__alerts.push(String(m)); };"
        "window.__errors = []; window.addEventListener('error', function (e) {"
        " window.__errors.push(String(e.message)); });")})
    yield driver
    driver.quit()


MAP_JS = ("return Object.keys(window).filter(k => k.startsWith('map_') "
          "&& window[k] instanceof L.Map)")


def test_map_renders_offline_with_everything_a_leader_needs(demo_map, browser) -> None:  # type: ignore[no-untyped-def]
    path, result = demo_map
    assert path.stat().st_size < 15 * 2**20
    browser.get(path.as_uri())
    time.sleep(1.5)
    ARTIFACTS.mkdir(exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / "demo_map.png"))
    # no JavaScript errors (the only allowed console error is the offline tile probe)
    assert browser.execute_script("return window.__errors") == []
    severe = [e["message"] for e in browser.get_log("browser") if e["level"] == "SEVERE"
              and "tile.openstreetmap.org" not in e["message"]]
    assert severe == []
    names = browser.execute_script(MAP_JS)
    assert len(names) == 1
    layers = [el.text.strip() for el in browser.find_elements(
        "css selector", ".leaflet-control-layers-overlays label span")]
    for expected in ("Place boundary", "Sites to dispose of", "Sites receiving services",
                     "Sites kept as they are", "Service moves (old site to new)",
                     "Library: minutes to nearest, before (standard 20 min walk)",
                     "Library: minutes to nearest, after (standard 20 min walk)",
                     "GP: minutes to nearest, after (standard 15 min walk)",
                     "Library: areas within 20 min walk of kept sites"):
        assert expected in layers
    base = [el.text.strip() for el in browser.find_elements(
        "css selector", ".leaflet-control-layers-base label span")]
    assert set(base) == {"Street map (OpenStreetMap, needs internet)"}
    markers = browser.execute_script(
        f"var m = window[{names[0]!r}]; var n = 0; m.eachLayer(function (l) {{"
        " if (l instanceof L.MarkerClusterGroup) { n += l.getLayers().length; } }); return n;")
    assert markers == len(result.estate.sites) == 259
    assert "Legend" in browser.find_element("id", "tpa-legend").text
    summary = browser.find_element("id", "tpa-summary").text
    assert "demo-map" in summary
    assert "Sites kept / disposed" in summary


def _open_popup(browser, result, name: str, site: str) -> str:  # type: ignore[no-untyped-def]
    """Zoom to a site, click it, and return its popup's text."""
    point = result.estate.sites.set_index("site_id").to_crs("EPSG:4326").geometry[site]
    browser.execute_script(f"window[{name!r}].setView([{point.y}, {point.x}], 18);")
    time.sleep(1.0)
    browser.find_element("css selector", f'[data-site="{site}"]').click()
    time.sleep(0.5)
    return str(browser.find_element("css selector", ".leaflet-popup-content").text)


def test_clicking_a_site_opens_its_popup(demo_map, browser) -> None:  # type: ignore[no-untyped-def]
    path, result = demo_map
    browser.get(path.as_uri())
    time.sleep(1.0)
    sites = result.savings.sites.set_index("site_id")
    site = sites[sites["decision"] == "dispose"].index[0]
    row = sites.loc[site]
    name = browser.execute_script(MAP_JS)[0]
    popup = _open_popup(browser, result, name, site)
    assert row["name"] in popup
    assert f"Site {site}: Dispose of" in popup
    assert f"£{row['annual_saving_gbp_pa']:,.0f}/yr from {row['vacate_fin_year']}" in popup
    # where each of its services goes, by site id and name, as in moves.csv
    moves = result.savings.moves
    assert "Services today, all moving out:" in popup
    for m in moves[moves["from_site"] == site].itertuples():
        assert f"to {m.to_site} {sites.loc[m.to_site, 'name']}" in popup
    # and the receiving site lists it coming in, with the one-off cost of its moves in
    m = moves[moves["from_site"] == site].iloc[0]
    popup = _open_popup(browser, result, name, m["to_site"])
    assert "Services coming in:" in popup
    assert f"from {site} {row['name']}" in popup
    cost = -sites.loc[m["to_site"], "one_off_cost_gbp"]
    assert f"One-off cost of the moves in £{cost:,.0f}" in popup


def test_clusters_keep_the_decision_colours(demo_map, browser) -> None:  # type: ignore[no-untyped-def]
    path, _ = demo_map
    browser.get(path.as_uri())
    time.sleep(1.0)
    colours = browser.execute_script(
        "return Array.from(document.querySelectorAll('.tpa-cluster'))"
        ".map(e => e.style.background)")
    assert colours  # at the opening zoom, some sites are clustered
    assert set(colours) <= {"rgb(215, 48, 31)", "rgb(33, 113, 181)", "rgb(99, 99, 99)"}
    assert not browser.find_elements("css selector", ".marker-cluster-small")  # Leaflet's own


def test_register_text_is_escaped(demo_map, browser) -> None:  # type: ignore[no-untyped-def]
    path, result = demo_map
    browser.get(path.as_uri())
    time.sleep(1.0)
    name = browser.execute_script(MAP_JS)[0]
    popup = _open_popup(browser, result, name, "S001")
    assert XSS in popup  # shown as text
    assert browser.execute_script("return window.__alerts") == []
    assert browser.execute_script("return document.querySelectorAll('img[src=\"x\"]').length") == 0
    popup = _open_popup(browser, result, name, "S002")
    assert TEMPLATE in popup  # a ${...} in a name is text, not code
    page = path.read_text()
    # the zone tooltip's HTML, escaped (then written as JSON: & is \u0026)
    assert ZONE_XSS not in page and "Z\\u0026lt;img src=y" in page
    assert browser.execute_script("return window.__alerts") == []
    assert browser.execute_script("return window.__errors") == []


def test_the_map_opens_on_the_decisions_and_names_the_zone_layer_shown(  # type: ignore[no-untyped-def]
        demo_map, browser) -> None:
    path, _ = demo_map
    browser.get(path.as_uri())
    time.sleep(1.0)
    assert browser.title == "demo-map: the plan (tp-assets)"
    labels = browser.find_elements("css selector", ".leaflet-control-layers-overlays label")
    ticked = [el.text.strip() for el in labels
              if el.find_element("css selector", "input").is_selected()]
    assert "Sites to dispose of" in ticked and "Place boundary" in ticked
    assert not [t for t in ticked if "minutes to nearest" in t]  # no zone layer at first
    shown = browser.find_element("id", "tpa-shown")
    assert shown.text.startswith("none; tick a service's minutes")
    after = "Library: minutes to nearest, after (standard 20 min walk)"
    [label] = [el for el in labels if el.text.strip() == after]
    label.find_element("css selector", "input").click()
    time.sleep(0.3)
    assert shown.text == after
    label.find_element("css selector", "input").click()
    time.sleep(0.3)
    assert shown.text.startswith("none;")
