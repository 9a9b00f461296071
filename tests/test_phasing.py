"""Phasing: a cap on disposals a year, and sites that cannot go before a date.

On the savings place (tests/data/savings): F, a freehold, and L, a leasehold whose break
starts year 3, are disposed of; H receives their services. Given F ``vacate_from``
2029-04-01 (year 3 too) and at most one disposal a year, one of them waits a year: F
goes first (its receipt is worth more a year sooner than L's rent), L in year 4.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path

import pandas as pd
import pytest
from conftest import TEST_DATA

from tp_assets import pipeline


def _place(tmp_path: Path, vacate_from: dict[str, str], phasing: str = "") -> Path:
    place = tmp_path / "savings"
    shutil.copytree(TEST_DATA / "savings", place)
    sites = pd.read_csv(place / "sites.csv", dtype=str, keep_default_na=False)
    sites["vacate_from"] = [vacate_from.get(s, "") for s in sites["site_id"]]
    sites.to_csv(place / "sites.csv", index=False)
    scenario = place / "scenario.toml"
    scenario.write_text(scenario.read_text() + phasing)
    return scenario


def _cents(x: Decimal) -> Decimal:
    return x.quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN)


def test_one_disposal_a_year_by_hand(tmp_path: Path) -> None:
    scenario = _place(tmp_path, {"F": "2029-04-01"},
                      "\n[phasing]\nmax_disposals_per_year = 1\n")
    run = pipeline.run(scenario, results_dir=tmp_path / "results", maps_dir=None,
                       cache_dir="")
    sites = run.savings.sites.set_index("site_id")
    assert (sites.loc["F", "vacate_year"], sites.loc["L", "vacate_year"]) == (3, 4)
    # one-off costs in year 0; F's receipt (less 2 %) and backlog in year 3, its rates,
    # FM and energy from year 3; L's rent, rates, FM and energy from year 4
    rows = [(0, -45000), (0, -81500), (3, 1000000), (3, -20000), (3, 50000)]
    rows += [(t, a) for t in range(3, 11) for a in (10000, 20000, 12250, 5800)]
    rows += [(t, a) for t in range(4, 11) for a in (30000, 8000, 12000, 4900, 2320)]
    npv = sum(_cents(Decimal(a) / Decimal("1.035") ** t) for t, a in rows)
    assert Decimal(str(run.savings.totals["npv_gbp"])) == npv
    assert run.report.ok
    # the cash flow follows the schedule
    cash = run.savings.cashflow
    assert cash.loc[cash["site_id"] == "L", "year"].min() == 4
    assert cash.loc[(cash["site_id"] == "F") & (cash["category"] == "receipt"), "year"
                    ].tolist() == [3]
    summary = json.loads((run.folder / "summary.json").read_text())
    assert summary["phasing"]["sites_disposed_by_year"]["3"] == 1
    assert summary["phasing"]["sites_disposed_by_year"]["4"] == 1
    assert summary["search"]["work"]["deferred"] == 1
    assert (run.folder / "programme.png").read_bytes().startswith(b"\x89PNG")
    # without the cap both go in year 3
    free = pipeline.run(_place(tmp_path / "free", {"F": "2029-04-01"}),
                        results_dir=tmp_path / "free-results", maps_dir=None, cache_dir="")
    assert set(free.savings.sites.set_index("site_id").loc[["F", "L"], "vacate_year"]) == {3}
    assert free.savings.totals["npv_gbp"] > run.savings.totals["npv_gbp"]


def _cli(*args: object, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tp_assets", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd, check=False)


def test_a_cap_the_plan_cannot_fit_exits_3(tmp_path: Path) -> None:
    scenario = _place(tmp_path, {"F": "2036-04-01", "L": "2036-04-01"},
                      "\n[phasing]\nmax_disposals_per_year = 1\n")
    r = _cli("run", scenario, "--out", tmp_path / "results", "--maps", tmp_path / "maps",
             "--quiet", cwd=tmp_path)
    assert r.returncode == 3, r.stderr
    assert ("its plan disposes of 2 sites, and [phasing] max_disposals_per_year = 1 lets at "
            "most 1 go within the appraisal's 10 years") in r.stderr
    assert not (tmp_path / "results").exists()


@pytest.mark.parametrize(("table", "said"), [
    ("[phasing]\nmax_disposals_per_year = 0\n",
     "max_disposals_per_year = 0 must be a whole number of sites, 1 or more"),
    ("[phasing]\n", "[phasing] needs max_disposals_per_year = N"),
    ("[phasing]\nmax_disposals_per_year = 2\n\n[energy]\nmeasures = true\n",
     "[phasing] with [energy]: phasing a plan whose measures"),
])
def test_bad_phasing_exits_2(tmp_path: Path, table: str, said: str) -> None:
    scenario = _place(tmp_path, {}, "\n" + table)
    r = _cli("run", scenario, "--out", tmp_path / "results", "--quiet", cwd=tmp_path)
    assert r.returncode == 2, r.stderr
    assert said in r.stderr


def test_a_huge_cap_is_no_cap_and_the_checker_counts_each_year(tmp_path: Path) -> None:
    import dataclasses

    from tp_assets import check
    from tp_assets.scenario import Phasing

    scenario = _place(tmp_path, {"F": "2029-04-01"},
                      "\n[phasing]\nmax_disposals_per_year = 1000000000000\n")
    run = pipeline.run(scenario, results_dir=tmp_path / "results", maps_dir=None,
                       cache_dir="")
    assert set(run.savings.sites.set_index("site_id").loc[["F", "L"], "vacate_year"]) == {3}
    assert run.plan.work["deferred"] == 0
    # the same plan checked against a cap of one a year: the checker counts year 3's two
    capped = dataclasses.replace(run.scenario, phasing=Phasing(1))
    report = check.check_plan(run.estate, run.times, capped, run.plan,
                              raise_on_failure=False)
    assert not report.ok
    assert ("2 sites are disposed of in appraisal year 3, above [phasing] "
            "max_disposals_per_year = 1") in report.failures


def test_the_refusal_counts_what_fits(tmp_path: Path) -> None:
    """Four forced disposals, three of them not before the horizon's last year: 2 fit."""
    place = tmp_path / "savings"
    shutil.copytree(TEST_DATA / "savings", place)
    sites = pd.read_csv(place / "sites.csv", dtype=str, keep_default_na=False)
    extra = sites[sites["site_id"] == "F"].copy()
    rows = [extra.assign(site_id=f"G{k}", name=f"Extra {k}") for k in range(2)]
    sites = pd.concat([sites, *rows], ignore_index=True)
    sites["vacate_from"] = ["2036-04-01" if s in ("F", "G0", "G1") else ""
                            for s in sites["site_id"]]
    sites.to_csv(place / "sites.csv", index=False)
    scenario = place / "scenario.toml"
    scenario.write_text(scenario.read_text() + "\n[phasing]\nmax_disposals_per_year = 1\n")
    r = _cli("run", scenario, "--out", tmp_path / "results", "--quiet", cwd=tmp_path)
    assert r.returncode == 3, r.stderr
    assert "its plan disposes of 4 sites" in r.stderr
    assert "lets at most 2 go within the appraisal's 10 years" in r.stderr
    assert "4 of them are forced out (status = dispose), so a cap on the plan" in r.stderr


def test_re_optimised_ends_are_phased_from_the_registers_dates(tmp_path: Path) -> None:
    scenario = _place(tmp_path, {"F": "2029-04-01"},
                      "\n[phasing]\nmax_disposals_per_year = 1\n\n[sensitivity]\n"
                      "reoptimise = true\nreceipts = [0.0, 1.5]\nhorizon_years = [5, 12]\n")
    run = pipeline.run(scenario, results_dir=tmp_path / "results", maps_dir=None,
                       cache_dir="")
    assert run.decision_changes is not None
    _, ends = run.decision_changes
    assert set(ends["status"]) <= {"OPTIMAL", "FEASIBLE"}  # each end phased, none refused
    fixed = run.sensitivity.set_index("input")  # type: ignore[union-attr]
    for row in ends.itertuples():
        # the end re-scheduled (receipts at 0: L may go first) is worth at least the run's
        # schedule held fixed there
        assert row.npv_gbp >= fixed.loc[row.input, f"npv_{row.end}_gbp"] - 0.01
    # and at the receipts' low end strictly more: the schedule is made again from the
    # registers' dates, not carried over from the run
    low = ends.set_index(["input", "end"]).loc[("receipts", "low"), "npv_gbp"]
    assert low > fixed.loc["receipts", "npv_low_gbp"] + 1.0
