"""The leaders' report: scenarios side by side in one offline page.

Two runs of the tiny place (zones given wards and IMD deciles, a library renamed to
an XSS probe): one keeping every site, one closing the library, so that some zones
lose it. The report's figures are checked against the results folders, its equity
table against minutes recomputed here from plan.gpkg, and the page in a browser.
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from conftest import ROOT, TEST_DATA

from tp_assets import pipeline
from tp_assets.report import build_report, read_runs
from tp_assets.report.page import waterfall_steps

XSS = "<img src=x onerror=alert(1)>"
ARTIFACTS = ROOT / "tests" / "artifacts"
WARDS = {"Z1": ("Catford", 1), "Z2": ("Catford", 2), "Z3": ("Lewisham", 5),
         "Z4": ("Brockley", 9), "Z5": ("Catford", 10), "Z6": ("Lewisham", 3)}
STANDARDS = ('[network]\nsource = "straight_line"\n\n'
             '[standards.library]\nmax_minutes = 10\nmode = "straight_line"\n'
             'rule = "coverage"\ncoverage = 0.1\n\n'
             '[standards.gp]\nmax_minutes = 10\nmode = "straight_line"\n'
             'rule = "coverage"\ncoverage = 0.1\n')


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path]]:
    folder = tmp_path_factory.mktemp("report")
    place = folder / "place"
    shutil.copytree(TEST_DATA / "place", place)
    zones = pd.read_csv(place / "zones.csv", dtype=str)
    zones["ward"] = zones["zone_id"].map(lambda z: WARDS[z][0])
    zones["imd_decile"] = zones["zone_id"].map(lambda z: str(WARDS[z][1]))
    zones.to_csv(place / "zones.csv", index=False)
    sites = pd.read_csv(place / "sites.csv", dtype=str, keep_default_na=False)
    sites.loc[sites["site_id"] == "S1", "name"] = XSS
    sites.loc[sites["site_id"] == "S5", "status"] = "candidate"  # its counter cannot move
    sites.to_csv(place / "sites.csv", index=False)
    written = []
    for name, rules in (("keep-all", "[status]\nretain_all = true\n"),
                        ("close-library", '[status]\ndispose = ["S1"]\n')):
        scenario = folder / f"{name}.toml"
        scenario.write_text(f'name = "{name}"\nplace = "{place}"\n\n{STANDARDS}\n{rules}')
        result = pipeline.run(scenario, results_dir=folder / "results", maps_dir=None,
                              cache_dir="")
        written.append(result.folder)
    return folder, written


def _cli(*args: object, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tp_assets", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd, check=False)


def test_report_figures_and_escaping(runs: tuple[Path, list[Path]]) -> None:
    _, (keep, close) = runs
    page = build_report([keep, close])
    assert XSS not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page  # in the tables, as text
    assert '"\\u003cimg src=x onerror=alert(1)\\u003e"' in page  # in the map's JSON
    assert "<script src=" not in page and "<link" not in page and "http://" not in page.split(
        '<script id="report-data"')[1].split("</script>")[0]
    closed = read_runs([keep, close])[1]
    steps = dict(waterfall_steps(closed))
    cash = pd.read_csv(close / "cashflow.csv")
    # the waterfall's cash steps add up to the undiscounted total, the discounting to the NPV
    summary = json.loads((close / "summary.json").read_text())
    assert sum(v for k, v in steps.items() if not k.startswith("discounting")) == (
        pytest.approx(cash["gbp"].sum(), abs=0.01))
    assert sum(steps.values()) == pytest.approx(summary["totals"]["npv_gbp"], abs=0.01)
    discounting = [v for k, v in steps.items() if k.startswith("discounting")]
    assert discounting == [pytest.approx(cash["discounted_gbp"].sum() - cash["gbp"].sum(),
                                         abs=0.01)]  # against the cash flow's own discounting
    assert steps["receipts (net)"] == pytest.approx(
        cash.loc[cash["kind"] == "receipt", "gbp"].sum(), abs=0.01)
    # the best NPV is marked on its card alone
    best = [k for k in ("keep-all", "close-library") if f'data-scenario="{k}"' in page
            and 'best' in page.split(f'<article class="card" data-scenario="{k}">')[1]
            .split("</dd>")[0]]
    npvs = {json.loads((f / "summary.json").read_text())["scenario"]:
            json.loads((f / "summary.json").read_text())["totals"]["npv_gbp"]
            for f in (keep, close)}
    assert best == [max(npvs, key=lambda k: npvs[k])]


def test_equity_table_equals_minutes_recomputed(runs: tuple[Path, list[Path]]) -> None:
    """Each cell: the residents of the area within 10 minutes before and not after."""
    _, (keep, close) = runs
    page = build_report([keep, close])
    zones = gpd.read_file(close / "plan.gpkg", layer="zones")
    before = zones["library_before_min"].fillna(np.inf).to_numpy()
    after = zones["library_after_min"].fillna(np.inf).to_numpy()
    losing = (before <= 10) & (after > 10)
    assert losing.any(), "the scenario must take a library away from someone"
    people = zones["population"].to_numpy(float)
    expected = {("imd_decile", str(d)): people[losing & (zones["zone_id"].map(
        lambda z: WARDS[z][1]) == d).to_numpy()].sum() for d in range(1, 11)}
    expected.update({("ward", w): people[losing & (zones["zone_id"].map(
        lambda z: WARDS[z][0]) == w).to_numpy()].sum() for w in ("Catford", "Lewisham",
                                                                 "Brockley")})
    table = page.split('data-service="library"')[1].split("</table>")[0]
    for (breakdown, area), value in expected.items():
        cell = (f'data-scenario="close-library" data-breakdown="{breakdown}" '
                f'data-area="{area}" data-kind="losing">')
        if value == 0 and cell not in table:
            continue  # an area with no zones of that decile is not listed
        assert f"{cell}{value:,.0f}<" in table, (breakdown, area, value)
    assert "Losses fall" in page


@pytest.mark.parametrize("case", ["missing", "no-summary", "twice", "older", "places"])
def test_bad_folders_exit_2_and_write_nothing(runs: tuple[Path, list[Path]], tmp_path: Path,
                                              case: str) -> None:
    _, (keep, close) = runs
    if case == "missing":
        folders, said = [keep, tmp_path / "nowhere"], "nowhere: no such folder"
    elif case == "no-summary":
        empty = tmp_path / "empty"
        empty.mkdir()
        folders, said = [keep, empty], "empty: no summary.json and sites.csv"
    elif case == "twice":
        folders, said = [keep, keep], "scenario 'keep-all' is given twice"
    elif case == "older":
        old = tmp_path / "old"
        shutil.copytree(close, old)
        summary = json.loads((old / "summary.json").read_text())
        del summary["results_format"]
        (old / "summary.json").write_text(json.dumps(summary))
        folders, said = [keep, old], ("old: written by an older tp-assets (results format 1; "
                                      "this version reads 2); run its scenario again")
    else:
        other = pipeline.run(TEST_DATA / "savings" / "scenario.toml",
                             results_dir=tmp_path / "results", maps_dir=None, cache_dir="")
        folders, said = [keep, other.folder], "their figures are not comparable like for like"
    out = tmp_path / "reports" / "cabinet.html"
    r = _cli("report", *folders, "--out", out, cwd=tmp_path)
    assert r.returncode == 2, r.stderr
    assert said in r.stderr
    assert "--allow-different-places" not in r.stderr  # an option report does not have
    assert not out.exists()


# --------------------------------------------------------------------------- browser

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")


@pytest.mark.browser
def test_report_in_a_browser(runs: tuple[Path, list[Path]], tmp_path: Path) -> None:
    if not (CHROMIUM and CHROMEDRIVER):
        pytest.skip("no Chromium/ChromeDriver here (Debian: apt-get install chromium "
                    "chromium-driver; .ci/run installs them)")
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.print_page_options import PrintOptions
    from selenium.webdriver.support.ui import Select

    _, (keep, close) = runs
    out = tmp_path / "report.html"
    r = _cli("report", keep, close, "--out", out, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    options = webdriver.ChromeOptions()
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1280,1800",
                "--host-resolver-rules=MAP * ~NOTFOUND"):
        options.add_argument(arg)
    if CHROMIUM:
        options.binary_location = CHROMIUM
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        driver.get(out.as_uri())
        for _ in range(50):
            if driver.execute_script("return document.querySelectorAll('.vega svg.marks').length")\
                    == 3:
                break
            time.sleep(0.1)
        assert driver.execute_script("return document.querySelectorAll('.vega svg.marks').length") \
            == 3  # two waterfalls and the owners' chart drawn
        static = driver.find_elements("css selector", "img.static")
        assert len(static) == 3 and not any(i.is_displayed() for i in static)  # print only
        errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
        assert errors == []
        caption = driver.find_element("id", "map-caption")
        assert caption.text.startswith("keep-all: 0 sites disposed of")
        Select(driver.find_element("id", "scenario")).select_by_visible_text("close-library")
        state = driver.execute_script("return window.reportState.drawn")
        assert state["dispose"] >= 1 and state["moves"] >= 1  # S1 goes, its services move
        assert caption.text.startswith(f"close-library: {state['dispose']} sites disposed of")
        disposed = int((pd.read_csv(close / "sites.csv")["decision"] == "dispose").sum())
        assert state["dispose"] == disposed  # what is drawn is what the run decided
        assert "zones lose the standard" in caption.text
        Select(driver.find_element("id", "scenario")).select_by_visible_text("today")
        assert caption.text.startswith("Today: every site in use")
        # the probe is text (in the table of sites decided differently), never an image
        driver.find_element("css selector", "details.differences > summary").click()
        assert XSS in driver.find_element("css selector", "details.differences").text
        assert driver.execute_script("return document.querySelectorAll('img[src=\"x\"]')"
                                     ".length") == 0
        ARTIFACTS.mkdir(exist_ok=True)
        driver.save_screenshot(str(ARTIFACTS / "report.png"))
        pdf = base64.b64decode(driver.print_page(PrintOptions()))
        assert pdf.startswith(b"%PDF")
        (ARTIFACTS / "report.pdf").write_bytes(pdf)
    finally:
        driver.quit()


def test_scenarios_with_other_standards_are_drawn_against_their_own(
        runs: tuple[Path, list[Path]]) -> None:
    """A scenario whose library standard is 15 minutes: its zones' change, its heading."""
    from tp_assets.report.map_data import change_codes, map_data

    folder, (keep, _) = runs
    scenario = folder / "wide.toml"
    scenario.write_text((folder / "close-library.toml").read_text()
                        .replace('name = "close-library"', 'name = "wide"')
                        .replace("[standards.library]\nmax_minutes = 10",
                                 "[standards.library]\nmax_minutes = 15"))
    wide = pipeline.run(scenario, results_dir=folder / "results", maps_dir=None,
                        cache_dir="").folder
    read = read_runs([keep, wide])
    data = map_data(read)
    zones = read[1].zones
    expected = change_codes(zones["library_before_min"].to_numpy(float),
                            zones["library_after_min"].to_numpy(float), 15.0)
    assert data["change"]["library"]["wide"] == expected.tolist()
    assert [s["label"] for s in data["services"] if s["type"] == "library"] == ["10-15"]
    page = build_report([keep, wide])
    assert ("Standards: keep-all: straight_line 10 min, coverage 10% of population; wide: "
            "straight_line 15 min, coverage 10% of population") in page
