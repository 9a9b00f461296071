"""Sweeps on Dask: a grid of demo variants on a local cluster and on a real scheduler.

The demo's baseline scenario (the registers' own disposals: a quick search) varied
over 2 discount rates x 2 optimism biases x 2 move limits: 8 full runs. The same sweep
through a ``dask scheduler`` and two ``dask worker`` processes started here must give
the same sweep.csv, byte for byte; a rerun skips every variant already done.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from conftest import ROOT, TEST_DATA

BASELINE = ROOT / "optimisation" / "baseline.toml"
VARY = ["--vary", "finance.discount_rate=0.03,0.035", "--vary", "finance.optimism_bias=0,0.1",
        "--vary", "rules.max_move_minutes=20,30"]


def _cli(*args: object, cwd: Path, env: dict[str, str] | None = None
         ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tp_assets", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd, check=False, env=env)


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cache")


@pytest.fixture
def scheduler(tmp_path: Path) -> Iterator[str]:
    """A dask.distributed scheduler and two workers, each its own process, on loopback."""
    file = tmp_path / "scheduler.json"
    env = {**os.environ, "DASK_DISTRIBUTED__WORKER__DAEMON": "False"}
    procs = [subprocess.Popen([sys.executable, "-m", "dask", "scheduler", "--host",
                               "127.0.0.1", "--port", "0", "--dashboard-address", ":0",
                               "--scheduler-file", str(file)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        for _ in range(300):
            if file.exists() and file.stat().st_size:
                break
            time.sleep(0.1)
        for _ in range(2):
            procs.append(subprocess.Popen(
                [sys.executable, "-m", "dask", "worker", "--scheduler-file", str(file),
                 "--nthreads", "1", "--host", "127.0.0.1", "--dashboard-address", ":0"],
                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        address = json.loads(file.read_text())["address"]
        from dask.distributed import Client

        with Client(address, timeout="30s") as client:
            client.wait_for_workers(2, timeout=60)
        yield address
    finally:
        for proc in reversed(procs):
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


def test_demo_sweep_local_then_a_real_cluster(tmp_path: Path, cache: Path,
                                              scheduler: str) -> None:
    local = tmp_path / "local"
    r = _cli("sweep", BASELINE, *VARY, "--out", local, "--cache", cache, "--workers", 2,
             cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "8 variants (8 run, 0 already done)" in r.stdout
    table = pd.read_csv(local / "baseline" / "sweep" / "sweep.csv")
    assert len(table) == 8
    assert set(table["status"]) == {"OPTIMAL"}
    assert list(table.columns[:4]) == ["variant", "finance.discount_rate",
                                       "finance.optimism_bias", "rules.max_move_minutes"]
    # the grid is the product of the values, in --vary order
    assert list(zip(table["finance.discount_rate"], table["finance.optimism_bias"],
                    table["rules.max_move_minutes"], strict=True))[:3] == [
        (0.03, 0.0, 20), (0.03, 0.0, 30), (0.03, 0.1, 20)]
    # each variant a full run: its NPV is its own results folder's
    for row in table.itertuples():
        summary = json.loads((local / "baseline" / "sweep" / row.variant / "summary.json")
                             .read_text())
        assert summary["totals"]["npv_gbp"] == row.npv_gbp
        assert summary["finance"]["discount_rate"] == row._2
    # a higher rate lowers the NPV of the same plan; optimism bias adds to one-off costs
    by = table.set_index(["finance.discount_rate", "finance.optimism_bias",
                          "rules.max_move_minutes"])["npv_gbp"]
    assert by[(0.035, 0.0, 20)] < by[(0.03, 0.0, 20)]
    assert by[(0.03, 0.1, 20)] < by[(0.03, 0.0, 20)]
    assert (local / "baseline" / "sweep" / "sweep.png").read_bytes().startswith(b"\x89PNG")
    # rerun: every variant already done with the same inputs
    again = _cli("sweep", BASELINE, *VARY, "--out", local, "--cache", cache, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "8 variants (0 run, 8 already done)" in again.stdout
    # the same sweep on a real cluster: identical sweep.csv
    remote = tmp_path / "remote"
    r = _cli("sweep", BASELINE, *VARY, "--out", remote, "--cache", cache, "--scheduler",
             scheduler, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert (remote / "baseline" / "sweep" / "sweep.csv").read_bytes() == (
        local / "baseline" / "sweep" / "sweep.csv").read_bytes()


def _tiny(tmp_path: Path) -> Path:
    """The tiny place, S5 a candidate, a scenario extending a common one."""
    place = tmp_path / "place"
    shutil.copytree(TEST_DATA / "place", place)
    sites = pd.read_csv(place / "sites.csv", dtype=str, keep_default_na=False)
    sites.loc[sites["site_id"] == "S5", "status"] = "candidate"
    sites.to_csv(place / "sites.csv", index=False)
    (place / "common.toml").write_text(
        'place = "."\n\n[network]\nsource = "straight_line"\n\n'
        '[standards.library]\nmax_minutes = 10\nmode = "straight_line"\nrule = "coverage"\n'
        "coverage = 0.1\n")
    (place / "scenario.toml").write_text('extends = "common.toml"\nname = "tiny"\n')
    return place


def test_a_failing_variant_is_reported_and_the_others_finish(tmp_path: Path) -> None:
    place = _tiny(tmp_path)
    r = _cli("sweep", place / "scenario.toml", "--vary", 'status.dispose=[],["S5"]',
             "--out", tmp_path / "results", "--workers", 1, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    table = pd.read_csv(tmp_path / "results" / "tiny" / "sweep" / "sweep.csv",
                        keep_default_na=False)
    assert list(table["status"]) == ["OPTIMAL", "infeasible"]
    assert "V7" in table["reason"][1] and "movable = false" in table["reason"][1]
    assert "1 without a plan" in r.stdout
    # an edit to the scenario the base extends: the variants run again
    common = place / "common.toml"
    common.write_text(common.read_text().replace("coverage = 0.1", "coverage = 0.2"))
    again = _cli("sweep", place / "scenario.toml", "--vary", 'status.dispose=[],["S5"]',
                 "--out", tmp_path / "results", "--workers", 1, cwd=tmp_path)
    assert "2 variants (2 run, 0 already done" in again.stdout
    # no variant with a plan: exit 3, sweep.csv saying why
    none = _cli("sweep", place / "scenario.toml", "--vary", 'status.dispose=["S5"]',
                "--vary", "finance.discount_rate=0.03,0.035", "--out", tmp_path / "none",
                "--workers", 1, cwd=tmp_path)
    assert none.returncode == 3, none.stderr
    assert "no variant has a plan (infeasible)" in none.stderr
    assert len(pd.read_csv(tmp_path / "none" / "tiny" / "sweep" / "sweep.csv")) == 2


def test_each_variant_travels_over_its_own_network(tmp_path: Path, cache: Path) -> None:
    r = _cli("sweep", BASELINE, "--vary", "network.source=graphml,straight_line", "--out",
             tmp_path / "results", "--cache", cache, "--workers", 2, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    folder = tmp_path / "results" / "baseline" / "sweep"
    methods = [json.loads((folder / v / "summary.json").read_text())["travel_times"]["walk"]
               ["method"] for v in ("network.source=graphml", "network.source=straight_line")]
    assert methods == ["network", "straight_line"]
    again = _cli("sweep", BASELINE, "--vary", "network.source=graphml,straight_line", "--out",
                 tmp_path / "results", "--cache", cache, "--workers", 2, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "2 variants (0 run, 2 already done)" in again.stdout  # each by its own network


@pytest.mark.parametrize(("vary", "said"), [
    (["finance.discount_rat=0.03"], "--vary finance.discount_rat=0.03: unknown key "
                                    "'discount_rat' in [finance] (did you mean 'discount_rate'?)"),
    (["finance.optimism_bias=lots"], '--vary finance.optimism_bias=lots: [finance] '
                                     'optimism_bias = "lots" must be a share between 0 and 5'),
    (["finance.discount_rate=0.01,0.02,0.03,0.04,0.05,0.06,0.07,0.08",
      "finance.optimism_bias=0,0.1,0.2,0.3,0.4,0.5,0.6"],
     "the sweep has 56 variants (8 x 7), more than 50; add --yes"),
    (["place=elsewhere"], "--vary place: a sweep varies one scenario's settings"),
    (["finance.discount_rate=0.03,0.03"], "--vary finance.discount_rate: value 0.03 given "
                                          "more than once; give each value once"),
])
def test_bad_sweeps_exit_2_and_write_nothing(tmp_path: Path, vary: list[str],
                                             said: str) -> None:
    args = [a for v in vary for a in ("--vary", v)]
    r = _cli("sweep", BASELINE, *args, "--out", tmp_path / "results", cwd=tmp_path)
    assert r.returncode == 2, r.stderr
    assert said in r.stderr
    assert not (tmp_path / "results").exists()


def test_a_scheduler_that_does_not_answer_is_named_within_10_s(tmp_path: Path) -> None:
    started = time.monotonic()
    r = _cli("sweep", BASELINE, "--vary", "finance.discount_rate=0.03", "--scheduler",
             "tcp://127.0.0.1:9", "--out", tmp_path / "results", cwd=tmp_path)
    assert r.returncode == 2, r.stderr
    assert time.monotonic() - started < 10  # a 5 s connect timeout, and start-up
    assert "--scheduler tcp://127.0.0.1:9: no Dask scheduler answered within 5 s" in r.stderr
    assert not (tmp_path / "results").exists()


def test_an_interrupted_sweep_keeps_its_finished_variants(tmp_path: Path, cache: Path) -> None:
    import signal

    vary = ["--vary", "finance.discount_rate=0.03,0.035,0.04,0.045,0.05,0.055"]
    out = tmp_path / "results"
    folder = out / "baseline" / "sweep"
    proc = subprocess.Popen([sys.executable, "-m", "tp_assets", "sweep", str(BASELINE), *vary,
                             "--out", str(out), "--cache", str(cache), "--workers", "2"],
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        for _ in range(600):  # until the first variant is written
            if folder.exists() and any((d / "summary.json").exists() for d in folder.iterdir()):
                break
            time.sleep(0.2)
        proc.send_signal(signal.SIGINT)
        started = time.monotonic()
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130
    assert time.monotonic() - started < 10
    assert "interrupted: the variants finished so far are kept" in err
    done = [d.name for d in folder.iterdir() if (d / "summary.json").exists()]
    assert 1 <= len(done) < 6
    again = _cli("sweep", BASELINE, *vary, "--out", out, "--cache", cache, "--workers", 2,
                 cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert f"6 variants ({6 - len(done)} run, {len(done)} already done)" in again.stdout
