"""The leaders' map's wording, without a browser (tests/test_map_browser.py opens it)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from tp_assets import maps


def test_the_map_words_what_the_plan_does_to_each_zone() -> None:
    inf = np.inf
    before = np.array([10.0, 25.0, 4.0, 12.0, 8.0, 30.0, inf, 9.6])
    after = np.array([22.0, 12.0, 11.0, 9.0, 8.4, 35.0, 18.0, 9.0])
    assert maps.zone_changes(before, after, 20.0) == [
        "loses access", "gains access", "further by 7 min", "nearer by 3 min", "",
        "further by 5 min", "gains access", "nearer by 1 min"]
    assert maps.zone_changes(np.array([25.0, inf]), np.array([inf, 29.0]), 20.0) == [
        "further: beyond the cutoff", "nearer: now within the cutoff"]
    # the words and the orange outline (5+ minutes longer) use one rounding
    assert maps.zone_changes(np.array([10.0]), np.array([14.6]), 20.0) == ["further by 5 min"]
    assert maps._minutes_longer(np.array([10.0, 10.0]), np.array([14.6, 14.4])).tolist() == [
        5.0, 4.0]


def test_the_summary_panel_says_when_a_plan_was_cut_short_by_the_clock(tmp_path: Path) -> None:
    from tp_assets import pipeline

    place = Path(__file__).parent / "data" / "savings"
    run = pipeline.run(place / "scenario.toml", results_dir=tmp_path, maps_dir=None,
                       cache_dir="")
    panel = maps._summary(run.scenario, run.plan, run.savings, run.access_table)
    assert "OPTIMAL, gap 0.00%</td>" in panel and "not reproducible" not in panel
    cut = dataclasses.replace(run.plan, stopped_by_clock=True, found_by="greedy start")
    panel = maps._summary(run.scenario, cut, run.savings, run.access_table)
    assert ("<br><b>stopped by the clock ([solver] time_limit_s): this plan is not "
            "reproducible; raise time_limit_s or lower the search&#x27;s work</b>"
            "<br><b>the solver found no better plan than its greedy start within its "
            "budget; this plan is that start</b></td>") in panel
