"""Sensitivity of a plan's NPV and switching values, checked by hand on the savings place.

The savings place (tests/data/savings, worked in tests/test_pipeline.py) has an NPV of
GBP 1,635,457.65: one-off costs of GBP 126,500 in year 0 (relocation 2 x 2,000 +
5 x 2,000, fit-out 100 x 350 + 50 x (350 + 1,200)), a receipt of GBP 1,000,000 less 2 %
in year 1, and running costs saved from years 1 and 3.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from conftest import TEST_DATA

from tp_assets import estate, pipeline, savings

NPV = 1_635_457.65
ONE_OFF = 126_500.0
SENSITIVITY = ("\n[sensitivity]\nreceipts = [0.0, 1.3]\none_off_costs = [0.5, 100.0]\n"
               "discount_rate = [0.0, 0.2]\noptimism_bias = [0.0, 0.5]\n"
               "horizon_years = [1, 10]\n")


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> pipeline.RunResult:
    folder = tmp_path_factory.mktemp("sensitivity")
    place = folder / "savings"
    shutil.copytree(TEST_DATA / "savings", place)
    scenario = place / "scenario.toml"
    scenario.write_text(scenario.read_text() + SENSITIVITY)
    return pipeline.run(scenario, results_dir=folder / "results", maps_dir=None, cache_dir="")


def test_switching_values_by_hand(run: pipeline.RunResult) -> None:
    assert run.savings.totals["npv_gbp"] == NPV
    table = run.sensitivity
    assert table is not None
    rows = table.set_index("input")
    # one-off costs: the NPV is linear in their factor f: NPV + (1 - f) x 126,500 = 0
    assert rows.loc["one_off_costs", "switching_value"] == pytest.approx(
        (NPV + ONE_OFF) / ONE_OFF, rel=1e-9)
    assert rows.loc["one_off_costs", "npv_high_gbp"] == pytest.approx(NPV - 99 * ONE_OFF,
                                                                      abs=0.05)
    # optimism bias on the one-off costs: 50 % of 126,500 more, in year 0 (undiscounted)
    assert rows.loc["optimism_bias", "npv_high_gbp"] == pytest.approx(NPV - 0.5 * ONE_OFF,
                                                                      abs=0.01)
    # receipts: without them the plan still pays, so no switching value within [0, 1.3]
    receipt = (1_000_000 - 20_000) / 1.035
    assert rows.loc["receipts", "npv_low_gbp"] == pytest.approx(NPV - receipt, abs=0.01)
    assert pd.isna(rows.loc["receipts", "switching_value"])
    assert rows.loc["receipts", "switching_note"] == (
        "none within [x0, x1.3]: the NPV stays positive over the range")
    # the rate: year 0 pays 126,500, year 1 brings 1,078,050: positive up to 20 % a year
    assert pd.isna(rows.loc["discount_rate", "switching_value"])
    assert rows.loc["discount_rate", "npv_high_gbp"] > 0
    # the horizon: appraised over 1 year the plan already pays (year 0 -126,500; year 1
    # 1,078,050 / 1.035), so no horizon within [1, 10] turns the NPV negative
    assert rows.loc["horizon_years", "npv_low_gbp"] == pytest.approx(
        -ONE_OFF + (1_000_000 - 20_000 + 50_000 + 48_050) / 1.035, abs=0.05)
    assert pd.isna(rows.loc["horizon_years", "switching_value"])
    assert rows.loc["horizon_years", "switching_note"] == (
        "none within [1 years, 10 years]: the NPV stays positive over the range")
    assert "carbon_value" not in rows.index  # the scenario does not value carbon
    folder = run.folder
    written = pd.read_csv(folder / "sensitivity.csv")
    assert list(written["input"]) == list(table["input"])
    assert (folder / "sensitivity.png").read_bytes().startswith(b"\x89PNG")
    assert "vegaEmbed" in (folder / "sensitivity.html").read_text()
    summary = json.loads((folder / "summary.json").read_text())
    assert [r["input"] for r in summary["sensitivity"]] == list(table["input"])


def test_an_end_equals_a_fresh_computation_with_the_input_file_changed(
        run: pipeline.RunResult, tmp_path: Path) -> None:
    """Receipts at 0: the NPV of the same plan on a sites.csv whose market value is 0."""
    place = tmp_path / "savings"
    shutil.copytree(TEST_DATA / "savings", place)
    sites = pd.read_csv(place / "sites.csv", dtype=str, keep_default_na=False)
    sites["market_value_gbp"] = "0"
    sites.to_csv(place / "sites.csv", index=False)
    est = estate.load_place(place)
    fresh = savings.compute(est, run.scenario, run.plan).totals["npv_gbp"]
    table = run.sensitivity
    assert table is not None
    assert table.set_index("input").loc["receipts", "npv_low_gbp"] == fresh


@pytest.mark.parametrize(("line", "said"), [
    ("receipts = [1.3, 0.7]", "receipts = [1.3, 0.7]: low 1.3 is above high 0.7; write "
                              "[low, high], e.g. receipts = [0.7, 1.3]"),
    ("reciepts = [0.7, 1.3]", "reciepts"),
    ("discount_rate = [0.01, 0.5]", "discount_rate = [0.01, 0.5] must be rates a year between "
                                    "0 and 0.2"),
    ("horizon_years = 10", "horizon_years = 10 must be two numbers [low, high]"),
])
def test_bad_ranges_exit_2(tmp_path: Path, line: str, said: str) -> None:
    place = tmp_path / "savings"
    shutil.copytree(TEST_DATA / "savings", place)
    scenario = place / "scenario.toml"
    scenario.write_text(scenario.read_text() + f"\n[sensitivity]\n{line}\n")
    r = subprocess.run([sys.executable, "-m", "tp_assets", "run", str(scenario), "--out",
                        str(tmp_path / "results"), "--maps", str(tmp_path / "maps"),
                        "--quiet"], capture_output=True, text=True, check=False)
    assert r.returncode == 2, r.stderr
    assert said in r.stderr
    assert "scenario.toml line" in r.stderr
    assert not (tmp_path / "results").exists()


TINY = """name = "tiny"
place = "."

[network]
source = "straight_line"

[standards.library]
max_minutes = 10
mode = "straight_line"
rule = "coverage"
coverage = 0.1

[standards.gp]
max_minutes = 10
mode = "straight_line"
rule = "coverage"
coverage = 0.1
"""


def test_decisions_re_optimised_at_the_ends(tmp_path: Path) -> None:
    """Which disposals depend on a guess: each end's plan is a fresh run's on that input."""
    place = tmp_path / "tiny"
    shutil.copytree(TEST_DATA / "place", place)
    sites = pd.read_csv(place / "sites.csv", dtype=str, keep_default_na=False)
    sites["status"] = "candidate"
    sites.to_csv(place / "sites.csv", index=False)
    (place / "scenario.toml").write_text(
        TINY + "\n[sensitivity]\nreoptimise = true\nrunning_costs = [0.0, 1.2]\n"
        "one_off_costs = [0.5, 20.0]\n")
    run = pipeline.run(place / "scenario.toml", results_dir=tmp_path / "results",
                       maps_dir=None, cache_dir="")
    assert run.decision_changes is not None
    changes, ends = run.decision_changes
    written = pd.read_csv(run.folder / "decision_changes.csv", dtype=str)
    assert list(written.columns) == list(changes.columns)
    assert len(written) == len(changes) > 0
    # at each end the re-optimised plan is at least as good as the plan held fixed there
    fixed = run.sensitivity.set_index("input")  # type: ignore[union-attr]
    for row in ends.itertuples():
        if row.status == "OPTIMAL":
            held = fixed.loc[row.input, f"npv_{row.end}_gbp"]
            assert row.npv_gbp >= held - 0.01, (row.input, row.end)
    # running costs at 0: a fresh run on a sites.csv without rent, rates or FM decides so
    bare = tmp_path / "bare"
    shutil.copytree(place, bare)
    sites["rent_gbp_pa"] = sites["rates_gbp_pa"] = sites["fm_gbp_pa"] = "0"
    sites.to_csv(bare / "sites.csv", index=False)
    (bare / "scenario.toml").write_text(TINY)
    fresh = pipeline.run(bare / "scenario.toml", results_dir=tmp_path / "bare-results",
                         maps_dir=None, cache_dir="")
    base = dict(zip(run.plan.site_ids, run.plan.keep, strict=True))
    differs = {s for s, k in zip(fresh.plan.site_ids, fresh.plan.keep, strict=True)
               if bool(k) != bool(base[s])}
    at_low = changes[(changes["input"] == "running_costs") & (changes["end"] == "low")]
    assert differs and set(at_low["site_id"]) == differs
    summary = json.loads((run.folder / "summary.json").read_text())
    assert len(summary["reoptimised"]) == 2 * len(fixed)


def test_the_horizon_with_measures_is_each_horizon_appraised_afresh(tmp_path: Path) -> None:
    """A heat pump fitted in year 2: its residual value is taken at each horizon, so the
    NPV by horizon is not the cash of one long run summed; it turns negative at 5 years."""
    from test_energy import _hand_place, _hand_scenario

    from tp_assets import sensitivity

    _hand_place(tmp_path)
    (tmp_path / "grid.csv").write_text(
        "year,kg_co2e_per_kwh\n" + "".join(f"{y},0.15\n" for y in range(2027, 2050)))
    scenario = _hand_scenario(tmp_path, "[energy.rules]\nfossil_heating_until = 2028\n\n"
                                        "[sensitivity]\nhorizon_years = [2, 20]\n")
    scenario.write_text(scenario.read_text().replace("horizon_years = 2", "horizon_years = 12"))
    run = pipeline.run(scenario, results_dir=tmp_path / "results", maps_dir=None,
                       cache_dir="")
    assert run.sensitivity is not None
    row = run.sensitivity.set_index("input").loc["horizon_years"]
    fresh = {h: sensitivity.npv_with(run.estate, run.scenario, run.plan, "horizon_years", h)
             for h in range(2, 21)}
    assert fresh[2] > 0 and fresh[4] > 0 > fresh[5]
    assert row["switching_value"] == 5.0
    assert (row["npv_low_gbp"], row["npv_high_gbp"]) == (round(fresh[2], 2),
                                                         round(fresh[20], 2))
    # a range starting before the fit year cannot be appraised: refused, exit 2
    scenario.write_text(scenario.read_text().replace("horizon_years = [2, 20]",
                                                     "horizon_years = [1, 20]"))
    r = subprocess.run([sys.executable, "-m", "tp_assets", "run", str(scenario), "--out",
                        str(tmp_path / "again"), "--quiet"], capture_output=True, text=True,
                       check=False)
    assert r.returncode == 2, r.stderr
    assert ("hand.toml line 22: [sensitivity] horizon_years = [1, 20]: [energy] fit_years "
            "falls in appraisal year 2, so a horizon shorter than 2 years cannot be "
            "appraised; start the range at 2 or more") in r.stderr


def test_the_rate_that_switches_is_the_internal_rate_of_return() -> None:
    """Worked by hand: -100 now and 121 in year 2 break even at 10 % a year."""
    from tp_assets.sensitivity import _irr

    assert _irr({0: -100.0, 1: 0.0, 2: 121.0}, 0.0, 0.5) == pytest.approx(0.10, abs=1e-9)
    assert _irr({0: -100.0, 1: 110.0}, 0.0, 0.2) == pytest.approx(0.10, abs=1e-9)
    assert _irr({0: -100.0, 1: 110.0}, 0.0, 0.05) is None  # still positive at 5 %
