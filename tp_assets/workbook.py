"""The appraisal as an Excel workbook that recomputes: ``results/<scenario>/appraisal.xlsx``.

The only module that imports XlsxWriter. The workbook holds the run's tables (cash
flow, sites, moves, owners) and, where a finance analyst would change a figure, an
**Inputs** sheet: the discount rate, each fuel's price, and factors on receipts,
running costs and one-off costs. Every cash-flow row's cash is a formula of its value
in the run and those inputs (an energy row: times the fuel's price now over its price
in the run), its discounted value a formula of the rate, and every total (the NPV, by
kind, by capital and revenue budget, by year, by owner) a ``SUM`` / ``SUMIF`` formula
over those rows, so the workbook recomputes when a price is edited. With the inputs as
written, its NPV is the run's to within the pennies the CSV rounds each discounted row
to (the workbook does not round).

The plan is fixed: editing a price re-prices the plan, it does not choose another (a
sweep or ``[sensitivity] reoptimise`` does that). The file is the same bytes from one
run to the next: its document date is the appraisal's start date, never the clock.
"""

from __future__ import annotations

from datetime import datetime, time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tp_assets.estate import Estate
from tp_assets.finance import heat_fuel_price_key
from tp_assets.savings import ONE_OFF_COSTS, Savings
from tp_assets.scenario import Scenario

#: Cash-flow categories each input factor multiplies.
FACTORS: dict[str, tuple[str, tuple[str, ...]]] = {
    "receipts": ("Capital receipts (net of disposal costs)", ("receipt", "disposal_costs")),
    "running": ("Rent, rates and facilities management saved", ("rent", "rates", "fm")),
    "one_off": ("One-off costs (relocation, fit-out, optimism bias)", ONE_OFF_COSTS),
}
#: Categories whose cash is energy at a fuel's price.
ENERGY = ("electricity", "heat", "measure_electricity", "measure_heat")


def _fuel(category: str, heat_fuel: str) -> str:
    if category in ("electricity", "measure_electricity"):
        return "electricity"
    return heat_fuel_price_key(heat_fuel) or ""


def write_workbook(path: Path, estate: Estate, scenario: Scenario, money: Savings) -> None:
    """Write the appraisal workbook.

    Parameters
    ----------
    path
        The ``.xlsx`` file to write (a temporary file the caller renames into place).
    estate, scenario, money
        The run's estate (each site's heating fuel), scenario (the prices and rate in
        the run) and savings tables.
    """
    import xlsxwriter

    f = scenario.finance
    book = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False,
                                           "strings_to_urls": False})
    book.set_properties({"title": f"{scenario.name}: appraisal", "author": "tp-assets",
                         "created": datetime.combine(f.start_date, time())})
    money_format = book.add_format({"num_format": "#,##0.00"})
    input_format = book.add_format({"bg_color": "#FFF2CC", "border": 1})
    rate_format = book.add_format({"bg_color": "#FFF2CC", "border": 1, "num_format": "0.00%"})
    bold = book.add_format({"bold": True})

    readme = book.add_worksheet("Read me")
    readme.set_column(0, 0, 110)
    for number, line in enumerate((
            f"Appraisal of scenario {scenario.name} (tp-assets), GBP.",
            "Edit the yellow cells of the Inputs sheet: the discount rate, a fuel's price "
            "now, or a factor on receipts, running costs or one-off costs.",
            "Cash flow: each row's cash (column M) is its value in the run (column L) times "
            "its input factor; its discounted value (column N) uses the rate.",
            "Summary and Owners: every total is a formula over the Cash flow sheet, so it "
            "recomputes when an input changes.",
            "The plan is fixed: a changed price re-prices it; it does not choose another.",
            "With the inputs as written the NPV is the run's to within pennies (the CSV "
            "rounds each discounted row to the penny; this workbook does not).")):
        readme.write_string(number, 0, line)

    inputs = book.add_worksheet("Inputs")
    inputs.set_column(0, 0, 52)
    inputs.set_column(1, 2, 18)
    inputs.write_row(0, 0, ["Input", "In the run", "Now (edit)"], bold)
    inputs.write_string(1, 0, "Discount rate (a year)")
    inputs.write_number(1, 1, f.discount_rate, rate_format)
    inputs.write_number(1, 2, f.discount_rate, rate_format)
    rate_cell = "Inputs!$C$2"
    fuels = list(f.energy_prices_gbp_per_kwh)
    price_cells: dict[str, tuple[str, str]] = {}
    inputs.write_string(3, 0, "Energy price (GBP per kWh, year 1)", bold)
    for k, fuel in enumerate(fuels):
        at = 4 + k
        inputs.write_string(at, 0, fuel)
        inputs.write_number(at, 1, f.energy_prices_gbp_per_kwh[fuel])
        inputs.write_number(at, 2, f.energy_prices_gbp_per_kwh[fuel], input_format)
        price_cells[fuel] = (f"Inputs!$B${at + 1}", f"Inputs!$C${at + 1}")
    factor_cells: dict[str, str] = {}
    first = 5 + len(fuels)
    inputs.write_string(first, 0, "Factors (1 = as in the run)", bold)
    for k, (key, (label, _)) in enumerate(FACTORS.items()):
        at = first + 1 + k
        inputs.write_string(at, 0, label)
        inputs.write_number(at, 2, 1.0, input_format)
        factor_cells[key] = f"Inputs!$C${at + 1}"
    factor_of = {cat: factor_cells[key] for key, (_, cats) in FACTORS.items() for cat in cats}

    cash = money.cashflow.reset_index(drop=True)
    fuel_of_site = dict(zip(estate.sites["site_id"], estate.sites["heat_fuel"], strict=True))
    sheet = book.add_worksheet("Cash flow")
    head = ["owner", "site_id", "year", "fin_year", "category", "measure", "kind", "budget",
            "fuel", "", "", "gbp in the run", "gbp", "discounted_gbp"]
    sheet.write_row(0, 0, head, bold)
    n = len(cash)
    text = cash[["owner", "site_id", "fin_year", "category", "measure", "kind", "budget"]
                ].fillna("").astype(str).to_numpy()
    years = cash["year"].to_numpy(int)
    gbp = cash["gbp"].to_numpy(float)
    discounted = cash["discounted_gbp"].to_numpy(float)
    for i in range(n):
        r = i + 1
        owner, site, fin_year, category, measure, kind, budget = text[i]
        fuel = _fuel(category, str(fuel_of_site[site])) if (
            category in ENERGY) else ""
        sheet.write_string(r, 0, owner)
        sheet.write_string(r, 1, site)
        sheet.write_number(r, 2, int(years[i]))
        for c, value in ((3, fin_year), (4, category), (5, measure), (6, kind), (7, budget),
                         (8, fuel)):
            sheet.write_string(r, c, value)
        sheet.write_number(r, 11, float(gbp[i]), money_format)
        if fuel in price_cells:
            was, now = price_cells[fuel]
            factor = f"IF({was}=0,1,{now}/{was})"
        else:
            factor = factor_of.get(category, "1")
        sheet.write_formula(r, 12, f"=L{r + 1}*{factor}", money_format, float(gbp[i]))
        sheet.write_formula(r, 13, f"=M{r + 1}/(1+{rate_cell})^C{r + 1}", money_format,
                            float(discounted[i]))
    last = n + 1  # the last data row, 1-based
    cash_range = f"'Cash flow'!$M$2:$M${last}"
    disc_range = f"'Cash flow'!$N$2:$N${last}"

    summary = book.add_worksheet("Summary")
    summary.set_column(0, 0, 40)
    summary.set_column(1, 3, 18)
    summary.write_row(0, 0, ["Figure", "Now (formula)", "In the run"], bold)
    totals = money.totals
    rows: list[tuple[str, str, Any]] = [
        ("NPV (GBP)", f"=SUM({disc_range})", totals["npv_gbp"]),
        ("Cash over the appraisal (GBP, undiscounted)", f"=SUM({cash_range})",
         totals["total_gbp"])]
    for kind in ("recurring", "receipt", "one_off", "capital"):
        rows.append((f"cash of kind {kind} (GBP)",
                     f"=SUMIF('Cash flow'!$G$2:$G${last},\"{kind}\",{cash_range})",
                     float(cash.loc[cash["kind"] == kind, "gbp"].sum())))
    for budget in ("capital", "revenue"):
        rows.append((f"{budget} budget, NPV (GBP)",
                     f"=SUMIF('Cash flow'!$H$2:$H${last},\"{budget}\",{disc_range})",
                     totals["budget_npv_gbp"][budget]))
    for r, (label, formula, was) in enumerate(rows, start=1):
        summary.write_string(r, 0, label)
        summary.write_formula(r, 1, formula, money_format, float(was))
        summary.write_number(r, 2, float(was), money_format)
    top = len(rows) + 2
    summary.write_row(top, 0, ["Year", "Cash (formula)", "In the run"], bold)
    for k, (year, was) in enumerate(sorted(totals["by_year_gbp"].items())):
        r = top + 1 + k
        summary.write_number(r, 0, int(year))
        summary.write_formula(r, 1, f"=SUMIF('Cash flow'!$C$2:$C${last},A{r + 1},"
                                    f"{cash_range})", money_format, float(was))
        summary.write_number(r, 2, float(was), money_format)

    owners = book.add_worksheet("Owners")
    table = money.owners.reset_index(drop=True)
    columns = list(table.columns)
    owners.write_row(0, 0, [*columns, "npv_gbp now (formula)"], bold)
    npv = table["npv_gbp"].to_numpy(float)
    for i, values in enumerate(table.itertuples(index=False)):
        for c, value in enumerate(values):
            _cell(owners, i + 1, c, value, money_format)
        # SUMPRODUCT of an exact match: SUMIF would read * ? ~ < > = in a name as operators
        owners.write_formula(i + 1, len(columns),
                             f"=SUMPRODUCT(('Cash flow'!$A$2:$A${last}=A{i + 2})"
                             f"*{disc_range})", money_format, float(npv[i]))
    for name, frame in (("Sites", money.sites), ("Moves", money.moves)):
        ws = book.add_worksheet(name)
        ws.write_row(0, 0, list(frame.columns), bold)
        for i, values in enumerate(frame.itertuples(index=False)):
            for c, value in enumerate(values):
                _cell(ws, i + 1, c, value, money_format)
    book.close()


def _cell(sheet: Any, row: int, col: int, value: Any, money_format: Any) -> None:
    """A value as it is: numbers as numbers, text as text (never a formula or a link)."""
    if value is None or (not isinstance(value, str) and bool(pd.isna(value))):
        sheet.write_string(row, col, "")
    elif isinstance(value, bool | np.bool_):
        sheet.write_string(row, col, str(bool(value)))
    elif isinstance(value, pd.Timestamp):
        sheet.write_string(row, col, value.date().isoformat())
    elif isinstance(value, int | float | np.integer | np.floating):
        sheet.write_number(row, col, float(value), money_format)
    else:
        sheet.write_string(row, col, str(value))
