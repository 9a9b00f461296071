"""The run: savings worked by hand, reconciliation, CSV contract, atomic writes, CLI."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from conftest import DEMO, ROOT, TEST_DATA

from tp_assets import pipeline, scenario
from tp_assets._errors import InputError

SAVINGS = TEST_DATA / "savings"


@pytest.fixture
def run(tmp_path: Path) -> pipeline.RunResult:
    return pipeline.run(SAVINGS / "scenario.toml", results_dir=tmp_path / "results",
                        maps_dir=tmp_path / "maps", cache_dir="")


def _cents(x: Decimal) -> Decimal:
    return x.quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN)


def test_savings_worked_by_hand(run: pipeline.RunResult) -> None:
    """F: freehold sold in year 1; L: lease break 2029-04-01 = start of year 3; H receives.

    Per year, F saves rates 10,000 + FM 20,000 + electricity 50,000 kWh x 0.245 =
    12,250 + gas 100,000 kWh x 0.058 = 5,800, i.e. 48,050; in year 1 also the receipt
    1,000,000 less 2 % disposal costs and the avoided backlog 50,000. L saves rent
    30,000 + rates 8,000 + FM 12,000 + 4,900 + 2,320 = 57,220 a year from year 3. The
    moves cost, in year 0, V1 5 FTE x 2,000 + 100 m2 x 350 = 45,000 and V2, a GP moving
    from a clinic into an office (H), 2 x 2,000 + 50 x (350 + 1,200 to fit out clinical
    rooms, the suitability table's extra) = 81,500. Each cash-flow row is discounted at
    3.5 % and rounded to the penny; the NPV is the sum of the rows.
    """
    rows = [(0, -45000), (0, -81500), (1, 1000000), (1, -20000), (1, 50000)]
    rows += [(t, a) for t in range(1, 11) for a in (10000, 20000, 12250, 5800)]
    rows += [(t, a) for t in range(3, 11) for a in (30000, 8000, 12000, 4900, 2320)]
    npv = sum(_cents(Decimal(a) / Decimal("1.035") ** t) for t, a in rows)
    assert npv == Decimal("1635457.65")
    totals = run.savings.totals
    assert Decimal(str(totals["npv_gbp"])) == npv
    assert totals["annual_saving_gbp_pa"] == 48050 + 57220
    assert totals["receipts_net_gbp"] == 980000
    assert totals["backlog_avoided_gbp"] == 50000
    assert totals["one_off_cost_gbp"] == -126500
    assert totals["payback_year"] == 1
    sites = run.savings.sites.set_index("site_id")
    assert sites.loc["F", "decision"] == "dispose"
    assert sites.loc["F", "vacate_fin_year"] == "2027/28"
    assert sites.loc["L", "vacate_year"] == 3
    assert sites.loc["L", "vacate_fin_year"] == "2029/30"
    assert sites.loc["H", "decision"] == "receives"
    assert sites.loc["H", "one_off_cost_gbp"] == -126500
    assert sites.loc["F", "tco2e_saved_pa"] == pytest.approx((50000 * 0.20705
                                                              + 100000 * 0.18293) / 1000)
    cash = run.savings.cashflow
    lease = cash[cash["site_id"] == "L"]
    assert lease["year"].min() == 3
    assert set(lease["fin_year"]) == {f"{y}/{(y + 1) % 100:02d}" for y in range(2029, 2037)}
    moved = run.savings.moves.set_index("service_id")
    assert moved.loc["V1", "to_site"] == "H"
    assert moved.loc["V2", "relocation_gbp"] == 4000
    assert moved.loc["V2", "fitout_gbp"] == 77500
    assert moved.loc["V2", "fitout_gbp_per_m2"] == 1550
    assert moved.loc["V1", "fitout_gbp_per_m2"] == 350  # customer service: no extra


def test_totals_reconcile_to_the_penny(run: pipeline.RunResult) -> None:
    cash = run.savings.cashflow
    pence = (cash["discounted_gbp"] * 100).round().astype(int)
    total = int(pence.sum())
    assert round(run.savings.totals["npv_gbp"] * 100) == total
    assert round(run.savings.sites["npv_gbp"].sum() * 100) == total
    assert round(run.savings.owners["npv_gbp"].sum() * 100) == total
    by_year = cash.groupby("year")["gbp"].sum()
    assert {int(y): round(v, 2) for y, v in by_year.items()} == {
        y: v for y, v in run.savings.totals["by_year_gbp"].items() if v}
    assert round(run.savings.sites["total_gbp"].sum(), 2) == round(cash["gbp"].sum(), 2)
    # and the checker's independent year-by-year NPV agrees within the row roundings
    assert run.report.npv_gbp == pytest.approx(run.savings.totals["npv_gbp"], abs=0.5)


def test_csv_contract_and_formula_injection(run: pipeline.RunResult) -> None:
    folder = run.folder
    assert sorted(p.name for p in folder.iterdir()) == [
        "access.csv", "access_by_area.csv", "cashflow.csv", "moves.csv", "plan.gpkg",
        "savings_by_owner.csv", "sites.csv", "summary.json", "timings.json"]
    # zones without wards or deciles: the area breakdown is its header alone
    assert (folder / "access_by_area.csv").read_text(encoding="utf-8-sig") == (
        "service_type,breakdown,area,demand_column,zones,demand_total,demand_within_before,"
        "demand_within_after,demand_losing,demand_gaining,mean_minutes_before,"
        "mean_minutes_after,mean_minutes_change\n")
    # UTF-8 with a byte-order mark: Excel opens it by double-click, accents intact
    raw = (folder / "sites.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbfsite_id,")
    moves = (folder / "moves.csv").read_text(encoding="utf-8-sig")
    assert "'=HYPERLINK(" in moves  # neutralised: a spreadsheet shows it as text
    assert ',=HYPERLINK' not in moves
    sites = raw.decode("utf-8-sig")
    assert sites.splitlines()[0].startswith("site_id,name,owner,tenure,lease_end,decision")
    assert ",2029-04-01," in sites  # ISO dates
    assert "£" not in sites
    # the GeoPackage's sites layer holds every sites.csv column, with points
    layer = gpd.read_file(folder / "plan.gpkg", layer="sites")
    assert list(layer.columns) == [*pd.read_csv(folder / "sites.csv").columns, "geometry"]
    assert layer.crs.to_epsg() == 27700
    frame = pd.read_csv(folder / "cashflow.csv")
    assert list(frame.columns) == ["scenario", "owner", "site_id", "year", "fin_year",
                                   "category", "measure", "kind", "budget", "gbp",
                                   "discounted_gbp"]
    assert set(frame["kind"]) == {"one_off", "recurring", "receipt"}
    # capital and revenue, as councils budget them: each adds up, and together the NPV
    summary = json.loads((folder / "summary.json").read_text())
    for budget, categories in (("capital", {"receipt", "disposal_costs", "backlog_avoided",
                                            "fitout", "optimism_bias"}),
                               ("revenue", {"rent", "rates", "fm", "electricity", "heat",
                                            "relocation"})):
        rows = frame[frame["budget"] == budget]
        assert set(rows["category"]) <= categories
        assert summary["totals"]["budget_gbp"][budget] == pytest.approx(rows["gbp"].sum(),
                                                                       abs=0.001)
    assert sum(summary["totals"]["budget_npv_gbp"].values()) == pytest.approx(
        summary["totals"]["npv_gbp"], abs=0.001)
    owners = pd.read_csv(folder / "savings_by_owner.csv")
    assert (owners["capital_budget_gbp"] + owners["revenue_budget_gbp"]).round(2).tolist() == \
        owners["total_gbp"].round(2).tolist()
    assert (frame["gbp"].round(2) == frame["gbp"]).all()
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["status"] == "OPTIMAL"
    assert summary["check"]["passed"] is True
    assert set(summary["inputs"]) >= {"sites", "services", "zones", "scenario"}
    assert len(summary["inputs"]["sites"]["sha256"]) == 64
    # input paths relative to the scenario's folder, not this machine's absolute paths
    assert summary["inputs"]["scenario"]["path"] == "scenario.toml"
    assert summary["inputs"]["sites"]["path"] == "sites.csv"
    assert not any(v["path"].startswith("/") for v in summary["inputs"].values())
    assert summary["solver_settings"]["seed"] == 0
    assert summary["solver_settings"]["rounds"] == 10  # every setting, to reproduce
    assert summary["proved_kept"] == []  # a small problem: one search, nothing to probe
    assert summary["search"] == {"found_by": "solver", "reproducible": True, "caveats": [],
                                 "work": {"nodes": 0, "rounds": 0, "searches": 1,
                                          "split_site": None}}
    assert "seconds" not in json.dumps(summary) and "timings" not in summary  # byte-identical
    timings = json.loads((folder / "timings.json").read_text())
    assert set(timings["timings_s"]) == {"load", "access", "optimise", "check", "savings",
                                         "map"}
    assert timings["solve_seconds"] > 0


def test_written_csvs_reconcile_to_the_penny_with_awkward_prices(tmp_path: Path) -> None:
    """Prices that make fractions of a penny: every written figure still adds up exactly.

    L's heat is left blank, so it is a TM46 estimate while its electricity is metered:
    only the heat counts as resting on estimates.
    """
    place = tmp_path / "place"
    shutil.copytree(SAVINGS, place)
    sites = pd.read_csv(place / "sites.csv", dtype=str, keep_default_na=False)
    sites.loc[sites["site_id"] == "L", "heat_kwh_pa"] = ""
    sites.to_csv(place / "sites.csv", index=False)
    text = (place / "scenario.toml").read_text().replace(
        "electricity = 0.245, gas = 0.058", "electricity = 0.24537, gas = 0.05813")
    (place / "scenario.toml").write_text(text)
    result = pipeline.run(place / "scenario.toml", results_dir=tmp_path / "results",
                          maps_dir=None, cache_dir="")

    def pence(values: pd.Series) -> pd.Series:
        return (values * 100).round().astype(int)

    site_csv = pd.read_csv(result.folder / "sites.csv")
    owner_csv = pd.read_csv(result.folder / "savings_by_owner.csv")
    summary = json.loads((result.folder / "summary.json").read_text())
    totals = summary["totals"]
    parts = [f"{c}_saving_gbp_pa" for c in ("rent", "rates", "fm", "electricity", "heat")]
    assert (pence(site_csv["annual_saving_gbp_pa"])
            == sum(pence(site_csv[c]) for c in parts)).all()
    annual = int(pence(site_csv["annual_saving_gbp_pa"]).sum())
    assert annual % 100 != 0  # the prices did make pence
    assert int(pence(owner_csv["annual_saving_gbp_pa"]).sum()) == annual
    assert round(totals["annual_saving_gbp_pa"] * 100) == annual
    assert totals["annual_saving_gbp_pa"] == round(totals["annual_saving_gbp_pa"], 2)
    # the solver's objective and the checker's NPV are not rounded row by row; the
    # cash flow's is, and the summary says by how much they differ
    check = summary["check"]
    assert check["npv_rounding_gbp"] == round(totals["npv_gbp"] - check["npv_recomputed_gbp"], 2)
    assert abs(check["npv_rounding_gbp"]) <= 0.005 * len(result.savings.cashflow)
    estimated_heat = float(site_csv.set_index("site_id").loc["L", "heat_kwh_saved_pa"])
    assert estimated_heat > 0
    assert totals["kwh_saved_pa_on_benchmarks"] == pytest.approx(estimated_heat)
    sources = site_csv.set_index("site_id").loc["L", ["energy_source", "electricity_source",
                                                      "heat_source"]]
    assert list(sources) == ["benchmark", "metered", "benchmark"]


def test_same_inputs_give_byte_identical_csvs(tmp_path: Path) -> None:
    first = pipeline.run(SAVINGS / "scenario.toml", results_dir=tmp_path / "a",
                         maps_dir=None, cache_dir="")
    second = pipeline.run(SAVINGS / "scenario.toml", results_dir=tmp_path / "b",
                         maps_dir=None, cache_dir="")
    for name in ("sites.csv", "moves.csv", "savings_by_owner.csv", "cashflow.csv",
                 "access.csv"):
        assert (first.folder / name).read_bytes() == (second.folder / name).read_bytes()


def test_failed_or_interrupted_run_leaves_previous_results(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    results = tmp_path / "results"
    pipeline.run(SAVINGS / "scenario.toml", results_dir=results,
                         maps_dir=None, cache_dir="")
    folder = results / "savings-test"
    before = {p.name: p.read_bytes() for p in folder.iterdir()}

    def interrupted(result: pipeline.RunResult, target: Path, **options: object) -> None:
        (target / "sites.csv").write_text("half")
        raise KeyboardInterrupt

    monkeypatch.setattr(pipeline, "write_results", interrupted)
    with pytest.raises(KeyboardInterrupt):
        pipeline.run(SAVINGS / "scenario.toml", results_dir=results,
                         maps_dir=None, cache_dir="")
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    assert sorted(p.name for p in results.iterdir()) == ["savings-test"]  # no temp left


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tp_assets", *args], capture_output=True,
                          text=True, cwd=cwd, check=False)


def test_cli_run_prints_summary(tmp_path: Path) -> None:
    r = _cli("run", str(SAVINGS / "scenario.toml"), "--out", str(tmp_path / "res"), "--cache",
             str(tmp_path / "cache"), "--maps", str(tmp_path / "maps"), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "savings-test: OPTIMAL (gap 0.00%" in r.stdout
    assert "plan passed the independent check" in r.stdout
    # the GP (50 m2) moves from a clinic into an office: clinical rooms fitted out at the
    # suitability table's extra GBP 1,200 per m2 (GBP 60,000 on top of 66,500)
    assert "NPV over 10 years at 3.5%: £1,635,458" in r.stdout
    assert "one-off cost £126,500" in r.stdout


def _scenario(tmp_path: Path, extra: str) -> Path:
    place = tmp_path / "place"
    shutil.copytree(SAVINGS, place)
    path = place / "bad.toml"
    path.write_text((SAVINGS / "scenario.toml").read_text() + extra)
    return path


@pytest.mark.parametrize(("extra", "fragments"), [
    ('\n[standards.libary]\nmax_minutes = 20\n',
     ["[standards.libary]: no service of type 'libary'", "customer_service, gp, library"]),
    ('\n[caps]\nmax_disposal = 3\n', ["bad.toml line 21: unknown key 'max_disposal' in [caps]",
                                      "max_disposals"]),
    ('\n[finance.carbon_kg_per_kwh]\ngas = -0.2\n',
     ["[finance.carbon_kg_per_kwh] gas = -0.2 must be a number, 0 or more"]),
    ('\n[solver]\nbackend = "gurobi"\n', ["backend 'gurobi' must be one of highs, scip, cpsat"]),
    ('\n[solver]\ntime_limit_s = "60"\n', ['time_limit_s = "60" must be seconds']),
    ('\n[solver]\nheuristic_effort = 1.5\n',
     ["bad.toml line 21: [solver] heuristic_effort = 1.5 must be a share between 0 and 1"]),
    ('\n[solver]\nrounds = -1\n',
     ["bad.toml line 21: [solver] rounds = -1 must be a whole number from 0 to 1,000,000 "
      "(rounds)"]),
    ('\n[solver]\nlocal_search = 0.3\n',
     ["bad.toml line 21: [solver] local_search is no longer read: the search's budget is now "
      "work, not a share of the time: set rounds (neighbourhood rounds, default 10) instead, "
      "or delete the line"]),
    ('\n[status]\nretain = ["f"]\n',
     ["bad.toml line 21: [status] retain names site 'f', which is not in the sites table "
      "(did you mean 'F'?)"]),
    ('\n[status]\nretain = ["F"]\n',
     ["bad.toml line 21: [status] retain names site 'F' (Freehold House), which the sites "
      "table marks status = dispose (sites.csv row 2); drop it from retain, or clear its "
      "status"]),
    ('\n[status]\ndispose = ["H"]\n',
     ["bad.toml line 21: [status] dispose names site 'H' (Hub), which the sites table marks "
      "status = retain"]),
    ('\n[caps.min_sites_per_owner]\n"Council" = 1\n',
     ["bad.toml line 21: [caps.min_sites_per_owner] owner 'Council' holds no site (did you "
      "mean 'council'?); owners: council, nhs"]),
    ('\n[rules.not_hosted]\ngeneral_ofice = ["gp"]\n',
     ["bad.toml line 21: [rules.not_hosted] 'general_ofice' is not a site benchmark category "
      "(did you mean 'general_office'?); categories: "]),
    ('\n[standards]\ngp.rule = "no_loss"\ngp.max_minutes = -5\n',
     ["bad.toml line 22: [standards.gp] max_minutes = -5 must be"]),
    ('\n[solvr]\nseed = 1\n',
     ["bad.toml line 20: unknown key 'solvr' in the top level (did you mean 'solver'?)"]),
    ('\n[solver]\nseed = 1\nseed = 2\n',
     ["bad.toml line 22: cannot read `seed = 2`: 'seed' is set twice; keep one"]),
    ('\nvacate_by = 2027-4-1\n',
     ["bad.toml line 20: cannot read `vacate_by = 2027-4-1`: write dates as YYYY-MM-DD"]),
    ('\n[solver]\ntime_limit_s = 1,200\n',
     ["bad.toml line 21: cannot read `time_limit_s = 1,200`: write numbers without "
      "thousands separators, e.g. 1200"]),
    ('\n[solver]\nbackend = highs\n',
     ["bad.toml line 21: cannot read `backend = highs`: put text in double quotes"]),
    ('\n[finance]\noptimism_bias = 0.1\n',
     ["bad.toml line 20: cannot read `[finance]`: the table [finance] appears twice; merge "
      "the two"]),
    ('\n[status]\nretain = ["F", 5]\n',
     ["bad.toml line 21: [status] retain = ['F', 5] must list site ids as text in quotes"]),
    ('\n[caps]\nmax_one_off_gbp = inf\n',
     ["bad.toml line 21: [caps] max_one_off_gbp = inf must be a sum in GBP"]),
    ('\n[caps]\nmax_disposals = true\n',
     ["bad.toml line 21: [caps] max_disposals = true must be"]),
    ('\n[caps]\nmax_disposals = 10,\n',
     ["bad.toml line 21: cannot read `max_disposals = 10,`: drop the comma at the end: "
      "max_disposals = 10"]),
    ('\nvacate_by = 2029-02-30\n',
     ["bad.toml line 20: cannot read `vacate_by = 2029-02-30`: no such day in the calendar"]),
    ('\nvacate by = 2029-02-28\n',
     ["bad.toml line 20: cannot read `vacate by = 2029-02-28`: a key is one word: write "
      "vacate_by"]),
], ids=["unknown service type", "unknown key", "negative factor",
        "unknown backend", "wrong type", "share out of range", "negative rounds", "retired key",
        "site id case", "retain a disposal",
        "dispose a retained site", "owner case", "benchmark category typo", "dotted key",
        "misspelt table", "key set twice", "date", "thousands separator", "unquoted text",
        "table twice", "number for a site id", "infinite cost", "true for a number",
        "trailing comma", "no such day", "space in a key"])
def test_bad_scenarios_exit_2(tmp_path: Path, extra: str, fragments: list[str]) -> None:
    path = _scenario(tmp_path, extra)
    r = _cli("run", str(path), "--out", str(tmp_path / "res"), cwd=tmp_path)
    assert r.returncode == 2, r.stderr
    for fragment in fragments:
        assert fragment in r.stderr
    assert not (tmp_path / "res").exists()


def test_negative_price_and_missing_place(tmp_path: Path) -> None:
    path = _scenario(tmp_path, "")
    text = path.read_text().replace("electricity = 0.245", "electricity = -0.245")
    path.write_text(text.replace('place = "."', 'place = "../nowhere"'))
    with pytest.raises(InputError) as info:
        scenario.load(path)
    msg = str(info.value)
    assert "bad.toml line 2: place '../nowhere' not found" in msg
    assert "[finance.energy_prices_gbp_per_kwh] electricity = -0.245 must be a number" in msg


@pytest.mark.parametrize("name", [".", "..", "../../elsewhere", "a/b", " ", ".hidden"])
def test_a_scenario_name_cannot_reach_outside_its_results_folder(tmp_path: Path,
                                                                 name: str) -> None:
    results = tmp_path / "res"
    (results / "other").mkdir(parents=True)
    path = _scenario(tmp_path, "")
    path.write_text(path.read_text().replace('name = "savings-test"', f'name = "{name}"'))
    r = _cli("run", str(path), "--out", str(results), cwd=tmp_path)
    assert r.returncode == 2, r.stderr
    assert (f'bad.toml line 1: name = "{name}" names the scenario\'s results folder and map, '
            "so it must be a plain file name") in r.stderr
    assert os.listdir(results) == ["other"]  # nothing replaced or written


def test_a_start_date_every_year_has(tmp_path: Path) -> None:
    path = _scenario(tmp_path, "")
    text = path.read_text()
    path.write_text(text.replace("start_date = 2027-04-01", "start_date = 2028-02-29"))
    with pytest.raises(InputError, match=r"bad.toml line 8: \[finance\] start_date = 2028-02-29: "
                       "each appraisal year starts on the same day of the year, and 29 February "
                       r"is missing from most years; start on 1 March \(or 1 April"):
        scenario.load(path)
    path.write_text(text.replace("start_date = 2027-04-01", "start_date = 2027-04-01T09:00:00"))
    with pytest.raises(InputError, match=r"start_date = 2027-04-01T09:00:00 must be a date "
                       "without a time"):
        scenario.load(path)


def test_unwritable_output_folder(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    r = _cli("run", str(SAVINGS / "scenario.toml"), "--out", str(blocker / "res"),
             cwd=tmp_path)
    assert r.returncode == 2
    assert "cannot write results there" in r.stderr
    assert "choose another folder with --out" in r.stderr


def test_infeasible_scenario_exits_3(tmp_path: Path) -> None:
    # Z1 is 2.3 minutes from F, whose customer service must leave (status = dispose)
    path = _scenario(tmp_path, '\n[standards.customer_service]\nmax_minutes = 5\n')
    r = _cli("run", str(path), "--out", str(tmp_path / "res"), cwd=tmp_path)
    assert r.returncode == 3, r.stderr
    assert r.stderr == (  # as README.md shows it
        "error: scenario 'savings-test' cannot hold all its rules:\n"
        "  any one of these changes would let every other rule hold:\n"
        "  - keeping site F (Freehold House), which status = dispose in sites.csv row 2 "
        "forces out\n"
        "  as the rules stand:\n"
        "  - no_loss for customer_service (bad.toml line 20) cannot hold: zone(s) Z1 are "
        "within 5 minutes only of site F (Freehold House; forced out)\n")
    assert not (tmp_path / "res").exists()


def test_extends_baseline_and_compare(tmp_path: Path) -> None:
    place = tmp_path / "place"
    shutil.copytree(SAVINGS, place)
    (place / "base.toml").write_text('extends = "scenario.toml"\nname = "base"\n\n[status]\n'
                                     'retain_all = true\n')
    results = tmp_path / "results"
    a = pipeline.run(place / "scenario.toml", results_dir=results,
                         maps_dir=None, cache_dir="")
    b = pipeline.run(place / "base.toml", results_dir=results,
                         maps_dir=None, cache_dir="")
    assert b.scenario.finance.fitout_gbp_per_m2 == 350  # inherited
    # the registers force F and L out, so even the baseline disposes of them
    assert b.savings.totals["sites_disposed"] == 2
    assert b.plan.keep.tolist() == a.plan.keep.tolist()
    r = _cli("compare", str(results / "savings-test"), str(results / "base"), "--out",
             str(tmp_path / "cmp"), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "npv_gbp" in r.stdout
    assert "£1,635,458" in r.stdout and "0.00%" in r.stdout  # pounds and percentages
    assert "every site decided alike; written to" in r.stdout
    head = pd.read_csv(tmp_path / "cmp" / "comparison.csv")
    assert list(head.columns) == ["figure", "savings-test", "base"]
    assert (tmp_path / "cmp" / "differences.csv").exists()
    # two runs of one scenario are told apart, not merged into one column
    again = pipeline.run(place / "scenario.toml", results_dir=tmp_path / "again",
                         maps_dir=None, cache_dir="")
    twice, _ = pipeline.compare([a.folder, again.folder])
    assert list(twice.columns) == ["figure", "savings-test", f"savings-test ({again.folder})"]
    # a plan that keeps one of a's disposals (F) and sends no services into the site
    # that receives them in a (H): one disposal differs, one site only in receiving
    edited = tmp_path / "edited"
    shutil.copytree(a.folder, edited)
    summary = json.loads((edited / "summary.json").read_text())
    summary.update(scenario="edited", gap=9.882856403895797e-14)
    summary["search"]["reproducible"] = False  # as if the safety stop had cut its search
    (edited / "summary.json").write_text(json.dumps(summary))
    sites = pd.read_csv(edited / "sites.csv", dtype=str, keep_default_na=False)
    assert sites["decision"].tolist() == ["dispose", "dispose", "receives"]
    sites.loc[[0, 2], "decision"] = "retain"
    sites.to_csv(edited / "sites.csv", index=False)
    r = _cli("compare", str(a.folder), str(edited), "--out", str(tmp_path / "cmp2"),
             cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert ("1 site kept in one scenario and disposed of in another, 1 more decided otherwise "
            "differently (receiving services in only some, or in only some runs' estates)"
            ) in r.stdout
    assert r.stdout.endswith(
        "warning: edited: stopped by the clock ([solver] time_limit_s): this plan is not "
        "reproducible; raise time_limit_s or lower the search's work; its figures may change "
        "from run to run\n")
    compared = pd.read_csv(tmp_path / "cmp2" / "comparison.csv").set_index("figure")
    assert compared.loc["reproducible"].tolist() == ["True", "False"]
    differ = pd.read_csv(tmp_path / "cmp2" / "differences.csv", dtype=str)
    assert differ[["site_id", "savings-test", "edited", "disposal_differs"]].values.tolist() == [
        ["F", "dispose", "retain", "True"], ["H", "receives", "retain", "False"]]
    text = (tmp_path / "cmp2" / "comparison.csv").read_text()
    assert "e-" not in text and "gap,0,0\n" in text  # plain numbers, no exponent
    bad = _cli("compare", str(tmp_path), cwd=tmp_path)
    assert bad.returncode == 2
    assert "no summary.json and sites.csv" in bad.stderr


def test_summary_names_the_sites_proved_kept() -> None:
    """The run summary lists, by id and name, the sites no plan can dispose of."""
    import pandas as pd

    from tp_assets import cli

    sites = pd.DataFrame({"site_id": ["S001", "S002"], "name": ["New Cross", "Lewisham"]})
    assert cli.proved_kept_line(["S002", "S009"], sites) == (
        "never disposable under these rules (proved by the solver): S002 Lewisham, S009")


def test_cli_says_which_file_it_wants(tmp_path: Path) -> None:
    r = _cli("run", str(SAVINGS), "--out", str(tmp_path / "res"), cwd=tmp_path)
    assert r.returncode == 2
    assert "is a folder; give a .toml file: a scenario (e.g. optimisation/colocation.toml)" \
        in r.stderr
    r = _cli("validate", str(SAVINGS / "sites.csv"), cwd=tmp_path)
    assert r.returncode == 2
    assert "sites.csv: is a data table, not a .toml file; give the place's folder" in r.stderr


def test_a_percentage_for_a_share_is_named(tmp_path: Path) -> None:
    path = _scenario(tmp_path, "")
    path.write_text(path.read_text().replace("optimism_bias = 0.0", "optimism_bias = 10"))
    r = _cli("run", str(path), "--out", str(tmp_path / "res"), cwd=tmp_path)
    assert r.returncode == 2
    assert ("bad.toml line 15: [finance] optimism_bias = 10 must be a share between 0 and 5 "
            "(0.2 = +20 %, not 20)") in r.stderr


@pytest.mark.parametrize(("extra", "fragment"), [
    ('\n[caps.min_sites_per_owner]\nnhs = 2\n',
     "nhs holds only 1 site but [caps.min_sites_per_owner] (bad.toml line 21) asks it to "
     "keep 2; lower the minimum"),
    ('\n[caps.min_sites_per_owner]\ncouncil = 2\n',
     "council must keep at least 2 sites (bad.toml line 21) but only 1 of its 2 are not "
     "forced out (status = dispose in sites.csv row 2: F); lower the minimum or dispose of "
     "fewer"),
], ids=["more than it holds", "forced out"])
def test_owner_minimum_that_cannot_hold_says_why(tmp_path: Path, extra: str,
                                                 fragment: str) -> None:
    path = _scenario(tmp_path, extra)
    r = _cli("run", str(path), "--out", str(tmp_path / "res"), cwd=tmp_path)
    assert r.returncode == 3, r.stderr
    assert fragment in r.stderr


def test_validate_checks_what_a_scenario_names(tmp_path: Path) -> None:
    """validate SCENARIO catches what run would: here a site and a demand column."""
    path = _scenario(tmp_path, '\n[status]\ndispose = ["F9"]\n')
    r = _cli("validate", str(path), cwd=tmp_path)
    assert r.returncode == 2, r.stdout
    assert "bad.toml line 21: [status] dispose names site 'F9', which is not in the sites " \
        "table (did you mean 'F'?)" in r.stderr
    path.write_text(path.read_text().replace('dispose = ["F9"]', 'dispose = ["F"]'))
    assert _cli("validate", str(path), cwd=tmp_path).returncode == 0


def test_errors_in_an_extended_scenario_name_its_file_and_line(tmp_path: Path) -> None:
    """A mistake in the base a scenario extends is reported where it is written."""
    path = _scenario(tmp_path, '\n[solver]\nthreads = 0\n\n[standards.libary]\nmax_minutes = 20\n')
    kid = path.parent / "kid.toml"
    kid.write_text('extends = "bad.toml"\nname = "kid"\n')
    r = _cli("validate", str(kid), cwd=tmp_path)
    assert r.returncode == 2
    assert "bad.toml line 21: [solver] threads = 0 must be a whole number from 1 to 64" \
        in r.stderr
    path.write_text(path.read_text().replace("threads = 0", "threads = 1"))
    r = _cli("validate", str(kid), cwd=tmp_path)
    assert r.returncode == 2
    assert "bad.toml line 23: [standards.libary]: no service of type 'libary'" in r.stderr


def test_validate_names_a_missing_network_file(tmp_path: Path) -> None:
    shutil.copytree(DEMO, tmp_path / "data" / "demo",
                    ignore=shutil.ignore_patterns("*.py", "*.graphml.gz"))
    (tmp_path / "optimisation").mkdir()
    shutil.copy(ROOT / "optimisation" / "colocation.toml", tmp_path / "optimisation")
    r = _cli("validate", str(tmp_path / "optimisation" / "colocation.toml"), cwd=tmp_path)
    assert r.returncode == 2
    assert "network_walk.graphml.gz: network file not found; check [network] path" in r.stderr



def test_import_output_must_be_a_file_of_the_right_kind(tmp_path: Path) -> None:
    assets = TEST_DATA / "assets"
    folder = tmp_path / "myplace"
    folder.mkdir()
    r = _cli("import", "assets", str(assets / "asset_list.csv"), "--postcodes",
             str(assets / "codepoint_sample.csv"), "--out", str(folder), cwd=tmp_path)
    assert r.returncode == 2, r.stderr
    assert f"--out {folder} is a folder; give a file in it, e.g. --out {folder}/sites.csv" in (
        r.stderr)
    r = _cli("import", "ons-zones", "b.shp", "p.csv", "--boundary-code", "C", "--table-code",
             "c", "--population-column", "n", "--out", str(tmp_path / "zones.geojson"),
             cwd=tmp_path)
    assert r.returncode == 2, r.stderr
    assert "this command writes a .gpkg file; give a name ending in .gpkg" in r.stderr
    r = _cli("import", "dec", str(TEST_DATA / "dec" / "sites.csv"),
             str(TEST_DATA / "dec" / "certificates.csv"), "--out", str(tmp_path / "new" / "s.csv"),
             cwd=tmp_path)
    assert r.returncode == 0, r.stderr  # its folder is made
    assert (tmp_path / "new" / "s.csv").exists()
    assert "matched: uprn 1, postcode+address 1, no certificate 1" in r.stdout
    assert "check:" not in r.stdout  # floor areas agree (1,000 and 1,000; 500 and 480 m2)
