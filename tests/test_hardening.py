"""Real use, real failures: interrupts, full and read-only disks, long names, a compare
that cannot mislead, ids that join back, and register text that cannot act."""

from __future__ import annotations

import json
import os
import resource
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from conftest import ROOT, TEST_DATA, edit_csv

from tp_assets import estate, io, pipeline
from tp_assets._errors import InputError
from tp_assets._text import terminal_safe

SAVINGS = TEST_DATA / "savings"


def _cli(*args: str, cwd: Path, **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tp_assets", *args], capture_output=True,
                          text=True, cwd=cwd, check=False, **kw)  # type: ignore[call-overload]


def _no_traceback(stderr: str) -> None:
    assert "Traceback" not in stderr and "please report it" not in stderr, stderr


# --- Ctrl-C ------------------------------------------------------------------------------

def _children(pid: int) -> set[int]:
    """Live child processes of ``pid`` (each process's parent, from /proc/*/stat)."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue  # ended while we looked
        if int(fields[1]) == pid and fields[0] != "Z":
            found.add(int(stat.parent.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"  # a zombie has finished; only its exit status is left


def _ctrl_c_as_at_a_terminal() -> None:
    # a test run started in the background inherits SIGINT ignored; a terminal's user does not
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs Linux /proc")
def test_ctrl_c_mid_solve_stops_within_2_s_and_leaves_the_results_and_no_worker(
        tmp_path: Path) -> None:
    place = tmp_path / "x2"
    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "make_place.py"), "--copies",
                    "2", "--out", str(place)], check=True, capture_output=True)
    scenario = place / "colocation.toml"  # two boroughs: two searches in worker processes
    scenario.write_text(scenario.read_text().replace('source = "graphml"',
                                                     'source = "straight_line"'))
    previous = tmp_path / "results" / "colocation_x2"
    previous.mkdir(parents=True)
    (previous / "summary.json").write_text('{"previous": true}\n')
    proc = subprocess.Popen([sys.executable, "-m", "tp_assets", "run", str(scenario), "--out",
                             str(tmp_path / "results"), "--maps", str(tmp_path / "maps"),
                             "--quiet"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, cwd=tmp_path, preexec_fn=_ctrl_c_as_at_a_terminal)
    workers: set[int] = set()
    give_up = time.monotonic() + 120
    while time.monotonic() < give_up and proc.poll() is None:
        workers = _children(proc.pid)
        if len(workers) >= 3:  # the resource tracker and two search workers, solving
            break
        time.sleep(0.2)
    assert len(workers) >= 3, f"no search workers seen: {proc.communicate()}"
    time.sleep(3.0)  # the workers are inside the solver now
    sent = time.monotonic()
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    took = time.monotonic() - sent
    assert proc.returncode == 130, err
    assert took < 2.0, took
    assert "interrupted: nothing was written; previous results are untouched" in err
    _no_traceback(err)
    assert (previous / "summary.json").read_text() == '{"previous": true}\n'
    assert sorted(p.name for p in (tmp_path / "results").iterdir()) == ["colocation_x2"]
    assert not (tmp_path / "maps").exists() or not list((tmp_path / "maps").iterdir())
    deadline = time.monotonic() + 2.0
    while any(_alive(w) for w in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [w for w in workers if _alive(w)] == []  # no orphan left solving


# --- the machine's limits -----------------------------------------------------------------

def _unshare_works() -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(["unshare", "-rm", "sh", "-c", "mount -t tmpfs -o size=64k tmpfs "
                            "/mnt && touch /mnt/x"], capture_output=True, check=False)
    return probe.returncode == 0


needs_tmpfs = pytest.mark.skipif(
    not _unshare_works(), reason="cannot mount a small tmpfs here (unshare -rm with mount); "
    "the full-disk and read-only cases need one")


def _run_on_tmpfs(tmp_path: Path, mount_options: str, *args: str
                  ) -> subprocess.CompletedProcess[str]:
    """``tp-assets ARGS`` with ``tmp_path/disk`` a tmpfs mounted with ``mount_options``."""
    disk = tmp_path / "disk"
    disk.mkdir(exist_ok=True)
    command = (shlex.join(["mount", "-t", "tmpfs", "-o", mount_options, "tmpfs", str(disk)])
               + " && " + shlex.join([sys.executable, "-m", "tp_assets", *args]))
    return subprocess.run(["unshare", "-rm", "sh", "-c", command], capture_output=True,
                          text=True, cwd=tmp_path, check=False)


@needs_tmpfs
def test_a_full_disk_is_named_with_the_space_needed(tmp_path: Path) -> None:
    r = _run_on_tmpfs(tmp_path, "size=100k", "run", str(SAVINGS / "scenario.toml"), "--out",
                      str(tmp_path / "disk" / "results"), "--maps", str(tmp_path / "maps"),
                      "--cache", str(tmp_path / "cache"))
    assert r.returncode == 2, r.stderr
    _no_traceback(r.stderr)
    assert f"{tmp_path / 'disk' / 'results'}: cannot write there: the disk is full" in r.stderr
    assert "(no space left on device); the results need about 0.2 MB, 0.1 MB is free; free " \
        "some space or choose another folder with --out" in r.stderr


@needs_tmpfs
def test_a_read_only_maps_folder_is_named_before_the_work(tmp_path: Path) -> None:
    r = _run_on_tmpfs(tmp_path, "ro,size=1m", "run", str(SAVINGS / "scenario.toml"), "--out",
                      str(tmp_path / "results"), "--maps", str(tmp_path / "disk" / "maps"),
                      "--cache", str(tmp_path / "cache"))
    assert r.returncode == 2, r.stderr
    _no_traceback(r.stderr)
    assert (f"error: {tmp_path / 'disk' / 'maps'}: cannot write there: it is on a read-only "
            "file system; make it writable (chmod u+w) or choose another folder with --maps"
            ) in r.stderr
    assert not (tmp_path / "results").exists()  # refused before any work was written


def _limit_file_size(limit: int) -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))


def test_a_write_refused_by_the_os_mid_way_keeps_the_previous_results(tmp_path: Path) -> None:
    results = tmp_path / "results"
    first = _cli("run", str(SAVINGS / "scenario.toml"), "--out", str(results), "--maps",
                 str(tmp_path / "maps"), "--cache", str(tmp_path / "cache"),
             cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    before = {p.name: p.read_bytes() for p in (results / "savings-test").iterdir()}
    # every file up to 40 kB may be written, the GeoPackage (larger) is refused by the OS
    r = subprocess.run([sys.executable, "-m", "tp_assets", "run", str(SAVINGS / "scenario.toml"),
                        "--out", str(results), "--maps", str(tmp_path / "maps"), "--cache", ""],
                       capture_output=True, text=True, cwd=tmp_path, check=False,
                       preexec_fn=lambda: _limit_file_size(40_000))
    assert r.returncode == 2, r.stderr
    _no_traceback(r.stderr)
    assert f"error: {results}: cannot write there: a file would exceed the largest file " \
        "allowed (ulimit -f)" in r.stderr
    assert "Nothing was written; previous results are untouched" in r.stderr
    assert {p.name: p.read_bytes() for p in (results / "savings-test").iterdir()} == before
    assert sorted(p.name for p in results.iterdir()) == ["savings-test"]  # no temporary left


def test_a_scenario_name_too_long_for_the_file_system_fails_validate(tmp_path: Path) -> None:
    shutil.copytree(SAVINGS, tmp_path / "p")
    long = tmp_path / "p" / "long.toml"
    long.write_text('extends = "scenario.toml"\nname = "' + "a" * 300 + '"\n')
    r = _cli("validate", str(long), cwd=tmp_path)
    assert r.returncode == 2
    assert ("long.toml line 2: the scenario's name is 300 bytes long; it names its results "
            "folder and map file, and file systems take names of at most 255 bytes (less what "
            "a run adds), so give at most 240, e.g. name = \"" + "a" * 40 + "\"") in r.stderr
    deep = tmp_path / ("d" * 200)
    r = _cli("run", str(SAVINGS / "scenario.toml"), "--out",
             str(deep / ("d" * 200) / ("d" * 200) / "/".join(["e" * 250] * 16)), "--cache",
             str(tmp_path / "cache"), cwd=tmp_path)
    assert r.returncode == 2, r.stderr
    assert "the paths of its files would be" in r.stderr
    assert "choose a shorter folder with --out or a shorter scenario name" in r.stderr


# --- compare ------------------------------------------------------------------------------

def test_compare_shows_standards_and_warnings_and_refuses_other_places(tmp_path: Path) -> None:
    place = tmp_path / "p"
    shutil.copytree(SAVINGS, place)
    with (place / "scenario.toml").open("a") as f:
        f.write('\n[standards.library]\nmax_minutes = 20\n\n[standards.gp]\nmax_minutes = 60'
                '\nrule = "coverage"\ncoverage = 0.5\n')
    results = tmp_path / "results"
    a = pipeline.run(place / "scenario.toml", results_dir=results, maps_dir=None, cache_dir="")
    unproven = tmp_path / "unproven"
    shutil.copytree(a.folder, unproven)
    summary = json.loads((unproven / "summary.json").read_text())
    summary.update(scenario="unproven", status="FEASIBLE", gap=0.0361)
    (unproven / "summary.json").write_text(json.dumps(summary))
    r = _cli("compare", str(a.folder), str(unproven), "--out", str(tmp_path / "cmp"),
             cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    table = pd.read_csv(tmp_path / "cmp" / "comparison.csv", keep_default_na=False
                        ).set_index("figure")
    assert table.loc["status"].tolist() == ["OPTIMAL", "FEASIBLE"]
    assert table.loc["standard_library"].tolist() == ["walk 20 min, no_loss of population"] * 2
    assert table.loc["standard_gp"].tolist() == ["walk 60 min, coverage 50% of population"] * 2
    assert table.loc["warning"].tolist() == [
        "", "not proven within 1% of its bound (gap 3.61%): a better plan may exist"]
    assert r.stdout.endswith("warning: unproven: not proven within 1% of its bound (gap 3.61%):"
                             " a better plan may exist\n")
    # the same place with one cost changed: different inputs, refused unless asked
    other = tmp_path / "other"
    shutil.copytree(place, other)
    edit_csv(other / "sites.csv", "F", "fm_gbp_pa", "12345")
    b = pipeline.run(other / "scenario.toml", results_dir=tmp_path / "results_b",
                     maps_dir=None, cache_dir="")
    r = _cli("compare", str(a.folder), str(b.folder), "--out", str(tmp_path / "cmp2"),
             cwd=tmp_path)
    assert r.returncode == 2
    assert (f"error: {a.folder} and {b.folder} were run on different sites files (sites.csv "
            "sha256 ") in r.stderr
    assert "add --allow-different-places to compare them anyway" in r.stderr
    assert not (tmp_path / "cmp2").exists()
    r = _cli("compare", str(a.folder), str(b.folder), "--out", str(tmp_path / "cmp2"),
             "--allow-different-places", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    renamed = tmp_path / "renamed"
    shutil.copytree(a.folder, renamed)
    summary = json.loads((renamed / "summary.json").read_text())
    summary.update(scenario="elsewhere", place="Another place")
    (renamed / "summary.json").write_text(json.dumps(summary))
    with pytest.raises(InputError, match=r"is a run on the place 'Savings test place' and .* on "
                       "'Another place': their figures are not comparable like for like"):
        pipeline.compare([a.folder, renamed])


# --- ids and CSV bytes --------------------------------------------------------------------

@pytest.mark.parametrize(("row_id", "column", "value", "message"), [
    ("S1", "site_id", "=X02",  # an id a spreadsheet would run
     "sites.csv row 2 (site_id =X02), column 'site_id': value '=X02' starts with '=', which a "
     "spreadsheet runs as a formula (the id would not survive a round trip through Excel); "
     "rename it so that it starts with a letter or digit, e.g. 'IDX02', in every table that "
     "uses it"),
    ("S2", "name", "Rushey Green \u202eertneC",  # a name that displays as another
     "sites.csv row 3 (site_id S2), column 'name': character 14 is U+202E RIGHT-TO-LEFT "
     "OVERRIDE, which reorders how the text shows on screen (a name could display as "
     "another); delete it (retype the text without it)"),
])
def test_register_text_that_would_mislead_is_refused_with_the_fix(
        place: Path, row_id: str, column: str, value: str, message: str) -> None:
    edit_csv(place / "sites.csv", row_id, column, value)
    with pytest.raises(InputError) as caught:
        estate.load_place(place)
    assert message in str(caught.value)


def test_csv_ids_are_written_as_given_text_is_neutralised_and_accents_survive(
        tmp_path: Path) -> None:
    frame = pd.DataFrame({"site_id": ["-7", "S2"], "from_site": ["+1", "S3"],
                          "name": ["=HYPERLINK(\"x\")", "Café Rénové, Brockley"]})
    io.write_csv(frame, tmp_path / "t.csv")
    raw = (tmp_path / "t.csv").read_bytes()
    assert raw == ("\ufeffsite_id,from_site,name\n-7,+1,\"'=HYPERLINK(\"\"x\"\")\"\n"
                   "S2,S3,\"Café Rénové, Brockley\"\n").encode()
    assert b"Caf\xc3\xa9 R\xc3\xa9nov\xc3\xa9" in raw  # UTF-8 bytes after the BOM
    back = pd.read_csv(tmp_path / "t.csv", dtype=str)  # pandas reads the BOM as UTF-8
    assert back.columns.tolist() == ["site_id", "from_site", "name"]


# --- register text ------------------------------------------------------------------------

def test_terminal_escapes_in_register_text_are_shown_not_run(place: Path) -> None:
    edit_csv(place / "services.csv", "V1", "site_id", "S9\x1b[2J\x07")
    r = _cli("validate", str(place), cwd=place.parent)
    assert r.returncode == 2
    assert "\x1b" not in r.stderr and "\x07" not in r.stderr
    assert "'S9\\x1b[2J\\x07' is not a site_id" in r.stderr  # the register's text, escaped
    assert terminal_safe("a\u202eb\x9bc\n\td") == "a\\u202eb\\x9bc\n\td"


def test_megabytes_of_free_text_are_cut_with_a_note(place: Path) -> None:
    sites = pd.read_csv(place / "sites.csv", dtype=str, keep_default_na=False)
    sites["description"] = ""
    sites.loc[0, "description"] = "x" * 3_000_000
    sites.to_csv(place / "sites.csv", index=False)
    est = estate.load_place(place)
    assert len(est.sites.loc[0, "description"]) == 1_000
    assert est.sites.loc[0, "description"].endswith("\u2026")
    assert ("sites.csv row 2 (site_id S1), column 'description': 3,000,000 characters, cut "
            "to the first 1,000 (free text is kept short in the results and the map)"
            ) in est.notes


def test_a_run_that_would_not_fit_in_the_memory_left_is_refused_before_building(
        tmp_path: Path) -> None:
    # what this machine's Python maps once the demo is loaded, then a limit 150 MB above it
    probe = subprocess.run(
        [sys.executable, "-c", "from tp_assets import pipeline; pipeline.load("
         "'optimisation/colocation.toml'); print(open('/proc/self/status').read()"
         ".split('VmSize:')[1].split()[0])"], capture_output=True, text=True, cwd=ROOT,
        check=True, env={**os.environ, "OPENBLAS_NUM_THREADS": "1"})
    limit = (int(probe.stdout) + 150_000) * 1024

    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    r = subprocess.run([sys.executable, "-m", "tp_assets", "run", "optimisation/colocation.toml",
                        "--out", str(tmp_path / "res"), "--maps", str(tmp_path / "maps"),
                        "--cache", str(tmp_path / "cache")], capture_output=True, text=True,
                       cwd=ROOT, check=False, preexec_fn=cap,
                       env={**os.environ, "OPENBLAS_NUM_THREADS": "1"}, timeout=120)
    assert r.returncode == 2, r.stderr
    _no_traceback(r.stderr)
    assert "colocation.toml: this run would need about 0.4 GB of memory" in r.stderr
    assert "GB is available; run it on fewer zones" in r.stderr
    assert not (tmp_path / "res").exists()


def test_files_written_by_import_and_compare_appear_whole_or_not_at_all(tmp_path: Path) -> None:
    old = tmp_path / "out" / "sites.csv"
    old.parent.mkdir()
    old.write_text("previous\n")
    def half_way() -> None:
        with io.atomic_files(old, tmp_path / "out" / "b.csv") as (a, _):
            io.write_csv(pd.DataFrame({"site_id": ["S1"]}), a)
            raise RuntimeError("stopped half-way")

    with pytest.raises(RuntimeError):
        half_way()
    assert old.read_text() == "previous\n"
    assert sorted(p.name for p in old.parent.iterdir()) == ["sites.csv"]  # no temporary left
    with io.atomic_files(old) as (a,):
        io.write_csv(pd.DataFrame({"site_id": ["S1"]}), a)
    assert old.read_bytes() == b"\xef\xbb\xbfsite_id\nS1\n"
    assert sorted(p.name for p in old.parent.iterdir()) == ["sites.csv"]
