"""The appraisal workbook (``--workbook``): the run's tables, formulas that recompute.

On the savings place (NPV GBP 1,635,457.65, worked in tests/test_pipeline.py). Where
LibreOffice is installed, the workbook is recalculated by it after a price and the rate
are edited, and its NPV checked against the same change computed here from cashflow.csv.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest
from conftest import TEST_DATA

from tp_assets import pipeline

openpyxl = pytest.importorskip("openpyxl")


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> pipeline.RunResult:
    folder = tmp_path_factory.mktemp("workbook")
    return pipeline.run(TEST_DATA / "savings" / "scenario.toml", results_dir=folder / "r",
                        maps_dir=None, cache_dir="", workbook=True)


def test_tables_and_formulas(run: pipeline.RunResult) -> None:
    path = run.folder / "appraisal.xlsx"
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["Read me", "Inputs", "Cash flow", "Summary", "Owners", "Sites",
                               "Moves"]
    cash = pd.read_csv(run.folder / "cashflow.csv")
    sheet = book["Cash flow"]
    assert sheet.max_row == len(cash) + 1
    # each row: its value in the run, its cash and discounted value as formulas of the inputs
    for r, row in enumerate(cash.itertuples(), start=2):
        assert sheet[f"L{r}"].value == row.gbp
        formula = sheet[f"M{r}"].value
        assert formula.startswith(f"=L{r}*")
        if row.category == "electricity":
            assert "Inputs!$C$5/Inputs!$B$5" in formula  # the electricity price now / then
        if row.category in ("receipt", "disposal_costs"):
            assert formula == f"=L{r}*Inputs!$C$11"
        assert sheet[f"N{r}"].value == f"=M{r}/(1+Inputs!$C$2)^C{r}"
    summary = book["Summary"]
    assert summary["A2"].value == "NPV (GBP)"
    assert summary["B2"].value == f"=SUM('Cash flow'!$N$2:$N${len(cash) + 1})"
    assert summary["C2"].value == 1_635_457.65
    # register text stays text: the service named =HYPERLINK(...) is no formula
    moves = book["Moves"]
    names = [c.value for c in moves["B"]]
    assert '=HYPERLINK("http://x")' in names
    assert all(c.data_type == "s" for c in moves["B"][1:])


def test_same_bytes_every_run(run: pipeline.RunResult, tmp_path: Path) -> None:
    again = pipeline.run(TEST_DATA / "savings" / "scenario.toml", results_dir=tmp_path,
                         maps_dir=None, cache_dir="", workbook=True)
    assert (again.folder / "appraisal.xlsx").read_bytes() == (
        run.folder / "appraisal.xlsx").read_bytes()


@pytest.mark.skipif(shutil.which("soffice") is None,
                    reason="LibreOffice (soffice) not installed: Debian's "
                           "libreoffice-calc-nogui recalculates the workbook")
def test_libreoffice_recomputes_an_edited_price(run: pipeline.RunResult,
                                                tmp_path: Path) -> None:
    book = openpyxl.load_workbook(run.folder / "appraisal.xlsx")
    book["Inputs"]["C2"] = 0.05          # the rate
    book["Inputs"]["C5"] = 0.49          # electricity, twice the run's 0.245
    book["Inputs"]["C11"] = 0.7          # receipts 30 % lower
    edited = tmp_path / "edited.xlsx"
    book.save(edited)
    subprocess.run(["soffice", "--headless", "--calc", "--convert-to",
                    "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,"
                    "false,-1", str(edited)], cwd=tmp_path, capture_output=True, check=True,
                   timeout=180)
    summary = pd.read_csv(tmp_path / "edited-Summary.csv")
    npv = float(summary.loc[summary["Figure"] == "NPV (GBP)", "Now (formula)"].iloc[0])
    cash = pd.read_csv(run.folder / "cashflow.csv")
    factor = cash["category"].map({"electricity": 2.0, "receipt": 0.7,
                                   "disposal_costs": 0.7}).fillna(1.0)
    expected = (cash["gbp"] * factor / 1.05 ** cash["year"]).sum()
    assert npv == pytest.approx(expected, abs=0.01)
    assert npv != pytest.approx(1_635_457.65, abs=1.0)
