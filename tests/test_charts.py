"""The results folder's charts: PNG and offline HTML, reproducible, escaped, no remote load."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tp_assets import charts
from tp_assets._errors import InputError

XSS = "<img src=x onerror=alert(1)>"
CLOSES_SCRIPT = "</script><script>alert(2)</script>"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

Writer = Callable[[pd.DataFrame, Path, Path, str], None]


def _measures() -> pd.DataFrame:
    return pd.DataFrame({
        "label": ["S012 LED lighting", "S003 heat pump", XSS, "S007 roof PV", CLOSES_SCRIPT,
                  "S001 Café & hall insulation"],
        "tco2e_pa": [12.5, 40.0, 3.25, 18.0, 1.0, 7.75],
        "gbp_per_tco2e": [-180.0, 95.5, 20.0, -40.0, 20.0, 310.0],
    })


def _years() -> pd.DataFrame:
    years = np.arange(2026, 2036)
    target = np.full(len(years), np.nan)
    target[years == 2030] = 3000.0
    target[years == 2035] = 1500.0
    return pd.DataFrame({"year": years, "baseline_tco2e": np.linspace(5000.0, 4600.0, 10),
                         "plan_tco2e": np.linspace(5000.0, 2400.0, 10),
                         "target_tco2e": target})


def _write(writer: Writer, frame: pd.DataFrame, folder: Path,
           title: str = "Plan A") -> tuple[bytes, str]:
    png, page = folder / "chart.png", folder / "chart.html"
    writer(frame, png, page, title)
    return png.read_bytes(), page.read_text(encoding="utf-8")


def _embedded(page: str) -> tuple[str, dict, dict]:
    """The page's spec as written, then it and the embedding options read back."""
    call = page[page.index('vegaEmbed("#chart", ') + len('vegaEmbed("#chart", '):]
    spec, end = json.JSONDecoder().raw_decode(call)
    options, _ = json.JSONDecoder().raw_decode(call[end + 2:])
    return call[:end], spec, options


def _dataset(page: str) -> list[dict]:
    """The rows the page draws, read back from its spec (the JSON escapes undone)."""
    return _embedded(page)[1].get("datasets", {}).get("rows", [])


def _png_size(image: bytes) -> tuple[int, int]:
    assert image[:8] == PNG_MAGIC
    return int.from_bytes(image[16:20], "big"), int.from_bytes(image[20:24], "big")


class _Tags(HTMLParser):
    """The page's elements as a browser parses them (a script's text is no element)."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def _tags(page: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = _Tags()
    parser.feed(page)
    parser.close()
    return parser.tags


def _assert_offline(page: str) -> None:
    """Nothing that a browser would load: no src/href to anywhere, no CSS import or url()."""
    tags = _tags(page)
    assert [t for t, _ in tags] == ["html", "head", "meta", "meta", "title", "style", "script",
                                    "body", "div", "noscript", "script"]
    assert not [a for _, a in tags if {"src", "href"} & set(a)]
    assert "@import" not in page and not re.search(r"url\(\s*['\"]?https?:", page)
    # the spec names no schema or data on the web; the menu has no link to the editor
    written, _, options = _embedded(page)
    assert "http" not in written and "url" not in written
    assert options["actions"] == {"compiled": False, "editor": False, "export": True,
                                  "source": False}


@pytest.mark.parametrize(("writer", "frame"), [(charts.write_macc, _measures()),
                                               (charts.write_trajectory, _years())],
                         ids=["macc", "trajectory"])
def test_a_chart_is_a_png_and_an_offline_page_the_same_bytes_every_time(
        tmp_path: Path, writer: Writer, frame: pd.DataFrame) -> None:
    image, page = _write(writer, frame, tmp_path / "first")
    width, height = _png_size(image)
    assert 1400 <= width <= 2000 and 800 <= height <= 1200  # ~900 x 500 CSS px, scale 2
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert "<title>Plan A</title>" in page and '"tooltip":[' in page
    assert page.count("<script") == 2 and page.count("</script>") == 2
    assert len(page.encode()) < 2_000_000
    _assert_offline(page)
    # again, into another folder: no date, random id or path inside either file
    again_image, again_page = _write(writer, frame, tmp_path / "second")
    assert again_image == image and again_page == page
    # the rows' order does not matter
    shuffled = frame.iloc[::-1].reset_index(drop=True)
    assert _write(writer, shuffled, tmp_path / "third") == (image, page)


def test_the_cost_curve_sorts_the_bars_by_cost_and_stacks_their_widths(tmp_path: Path) -> None:
    _, page = _write(charts.write_macc, _measures(), tmp_path)
    rows = _dataset(page)
    assert [r["label"] for r in rows] == [
        "S012 LED lighting", "S007 roof PV", CLOSES_SCRIPT, XSS,  # a tie at £20: by label
        "S003 heat pump", "S001 Café & hall insulation"]
    assert [r["from_tco2e"] for r in rows] == [0.0, 12.5, 30.5, 31.5, 34.75, 74.75]
    assert [r["to_tco2e"] for r in rows] == [12.5, 30.5, 31.5, 34.75, 74.75, 82.5]
    assert [r["effect"] for r in rows] == [charts.SAVES] * 2 + [charts.COSTS] * 4
    assert rows[0] == {"label": "S012 LED lighting", "tco2e_pa": 12.5, "gbp_per_tco2e": -180.0,
                       "from_tco2e": 0.0, "to_tco2e": 12.5, "effect": charts.SAVES}
    assert "cumulative abatement (tCO2e a year)" in page
    assert "cost (\\u00a3 per tCO2e)" in page  # £, as JSON writes it


def test_text_from_the_data_cannot_become_markup(tmp_path: Path) -> None:
    title = "Plan <b>A</b> & B"
    _, page = _write(charts.write_macc, _measures(), tmp_path, title=title)
    assert "S012 LED lighting" in page
    assert XSS not in page and "\\u003cimg src=x onerror=alert(1)\\u003e" in page
    assert CLOSES_SCRIPT not in page and "alert(2)" in page
    assert page.count("<script") == 2 and page.count("</script>") == 2
    assert "Caf\\u00e9 \\u0026 hall" in page
    assert "<title>Plan &lt;b&gt;A&lt;/b&gt; &amp; B</title>" in page and "<b>" not in page
    # the page's spec still holds the labels as they were
    assert {r["label"] for r in _dataset(page)} >= {XSS, CLOSES_SCRIPT}


@pytest.mark.parametrize("frame", [_measures().iloc[:0], pd.DataFrame()],
                         ids=["no rows", "no columns"])
def test_a_plan_with_no_measures_still_gets_both_files(tmp_path: Path,
                                                      frame: pd.DataFrame) -> None:
    image, page = _write(charts.write_macc, frame, tmp_path)
    assert image[:8] == PNG_MAGIC
    assert charts.NO_MEASURES in page and _dataset(page) == []
    _assert_offline(page)
    assert _write(charts.write_macc, frame, tmp_path / "again") == (image, page)


def test_the_trajectory_draws_a_target_only_in_the_years_that_have_one(tmp_path: Path) -> None:
    _, page = _write(charts.write_trajectory, _years(), tmp_path)
    rows = _dataset(page)
    targets = [(r["year"], r["tco2e"]) for r in rows if r["series"] == "target"]
    assert targets == [(2030, 3000.0), (2035, 1500.0)]
    assert sum(r["series"] == "with the plan" for r in rows) == 10
    assert rows[0] == {"year": 2026, "series": "baseline (no plan)", "tco2e": 5000.0}
    assert "tCO2e a year" in page and '"strokeDash"' in page

    no_target = _years().drop(columns="target_tco2e")
    _, page = _write(charts.write_trajectory, no_target, tmp_path / "no target")
    assert {r["series"] for r in _dataset(page)} == {"baseline (no plan)", "with the plan"}
    _, page = _write(charts.write_trajectory, no_target.iloc[:0], tmp_path / "empty")
    assert charts.NO_YEARS in page


@pytest.mark.parametrize(("writer", "frame", "expected"), [
    (charts.write_macc, _measures().drop(columns="tco2e_pa"),
     "the cost curve: the table has no column tco2e_pa"),
    (charts.write_macc, _measures().assign(tco2e_pa=[1.0, 0.0, -1.0, np.nan, 2.0, 3.0],
                                           gbp_per_tco2e=[1.0, 2.0, 3.0, 4.0, np.inf, 5.0],
                                           label=pd.Series(["a", None, "c", "d", "e", "f"],
                                                           dtype=object)),
     "3 problems found in the input:\n"
     "  - the cost curve: label must be given, not so in row 2\n"
     "  - the cost curve: tco2e_pa must be a number above 0, not so in row 2, "
     "row 3 ('c'), row 4 ('d')\n"
     "  - the cost curve: gbp_per_tco2e must be a finite number, not so in row 5 ('e')"),
    (charts.write_trajectory, _years().assign(year=[2026, 2027, 2027, 2028.5, 2030, 2031,
                                                    2032, 2033, 2034, 2035]),
     "2 problems found in the input:\n"
     "  - the carbon trajectory: year must be a whole number, not so in row 4\n"
     "  - the carbon trajectory: each year may come only once; more than once: 2027"),
], ids=["missing column", "bad measures", "bad years"])
def test_bad_input_is_refused_with_every_problem_at_once(tmp_path: Path, writer: Writer,
                                                         frame: pd.DataFrame,
                                                         expected: str) -> None:
    with pytest.raises(InputError) as caught:
        writer(frame, tmp_path / "c.png", tmp_path / "c.html", "t")
    assert str(caught.value).startswith(expected)
    assert not list(tmp_path.iterdir())  # nothing written


def test_importing_the_module_loads_no_charting_library() -> None:
    code = ("import sys, tp_assets.charts; "
            "print(sorted(m for m in ('altair', 'vl_convert', 'pandas') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"
