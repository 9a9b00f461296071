"""Sensitivity of a plan's NPV to its key inputs, and their switching values (Green Book).

With the plan held fixed (the same disposals, moves and measures), each input moves
alone to the two ends of its range and the NPV is recomputed by the same savings code a
run uses (:func:`tp_assets.savings.compute`) on inputs changed just so: a fresh run's
NPV with that input changed and the plan fixed. The **switching value** of an input is
the value at which the NPV reaches zero, solved rather than scanned:

- the NPV is linear in the factor inputs (receipts, energy prices, running costs,
  one-off costs, the carbon value) and in the optimism bias, so the line through the
  two ends crosses zero at ``x0 - NPV(x0) (x1 - x0) / (NPV(x1) - NPV(x0))``;
- in the discount rate it is the plan's internal rate of return: the root of
  ``sum_t cash_t / (1 + r)^t`` (Brent's method on the range's ends, where they bracket
  one);
- in the horizon it is the first whole horizon whose NPV lies on the other side of zero
  from the shortest's, each horizon appraised afresh (a measure's residual value is
  taken at the horizon, so no one cash flow gives every horizon's NPV).

Each is reported only within the range (else "none within [low, high]").
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from tp_assets import savings as savings_mod
from tp_assets.charts import range_text
from tp_assets.estate import Estate
from tp_assets.finance import discount_factor
from tp_assets.optimise.problem import Plan
from tp_assets.scenario import Scenario


@dataclass(frozen=True)
class Input:
    """One input the sensitivity moves.

    Attributes
    ----------
    label
        What it is, in words (for the table and the chart).
    unit
        ``factor`` (times the scenario's figures), ``rate`` (a share a year), ``share``
        or ``years``.
    low, high
        The default range.
    """

    label: str
    unit: str
    low: float
    high: float


#: The inputs and their default ranges (the scenario's ``[sensitivity]`` may change them):
#: receipts 30 % either way (the issue's "what if receipts come in 30 % lower"); energy
#: prices 30 %; running-cost savings 20 %; one-off costs from 20 % lower to 50 % higher;
#: the discount rate 1.5 % to 7 % a year; optimism bias 0 to 51 % (the Green Book's
#: upper bound for non-standard buildings' capital costs); a horizon of 5 to 20 years;
#: the carbon value half to one and a half times (only where the scenario values carbon).
INPUTS: dict[str, Input] = {
    "receipts": Input("capital receipts", "factor", 0.7, 1.3),
    "energy_prices": Input("energy prices", "factor", 0.7, 1.3),
    "running_costs": Input("rent, rates and facilities management saved", "factor", 0.8, 1.2),
    "one_off_costs": Input("one-off costs (relocation and fit-out)", "factor", 0.8, 1.5),
    "discount_rate": Input("discount rate", "rate", 0.015, 0.07),
    "optimism_bias": Input("optimism bias on one-off and capital costs", "share", 0.0, 0.51),
    "horizon_years": Input("appraisal horizon", "years", 5.0, 20.0),
    "carbon_value": Input("carbon value (the social line)", "factor", 0.5, 1.5),
}

COLUMNS = ("input", "label", "unit", "base", "low", "high", "npv_base_gbp", "npv_low_gbp",
           "npv_high_gbp", "switching_value", "switching_note")


@dataclass(frozen=True)
class Ranges:
    """The scenario's ``[sensitivity]``: each input's (low, high), defaults filled.

    Attributes
    ----------
    ranges
        Input key -> (low, high) in the input's unit.
    reoptimise
        Also re-optimise at each end of each range and report the sites whose
        decision changes (:func:`decision_changes`).
    """

    ranges: dict[str, tuple[float, float]]
    reoptimise: bool = False


def _changed(estate: Estate, scenario: Scenario, key: str, value: float
             ) -> tuple[Estate, Scenario]:
    """The estate and scenario with one input at ``value``, all else as given."""
    f = scenario.finance
    if key == "receipts":
        sites = estate.sites.assign(market_value_gbp=estate.sites["market_value_gbp"] * value)
        return dataclasses.replace(estate, sites=sites), scenario
    if key == "running_costs":
        sites = estate.sites.copy()
        for column in ("rent_gbp_pa", "rates_gbp_pa", "fm_gbp_pa"):
            sites[column] = sites[column] * value
        return dataclasses.replace(estate, sites=sites), scenario
    if key == "energy_prices":
        finance = dataclasses.replace(f, energy_prices_gbp_per_kwh={
            fuel: price * value for fuel, price in f.energy_prices_gbp_per_kwh.items()})
    elif key == "one_off_costs":
        finance = dataclasses.replace(f, relocation_gbp_per_fte=f.relocation_gbp_per_fte * value,
                                      fitout_gbp_per_m2=f.fitout_gbp_per_m2 * value)
        rules = dataclasses.replace(scenario.rules,
                                    suitability=scenario.rules.suitability.scaled(value))
        return estate, dataclasses.replace(scenario, finance=finance, rules=rules)
    elif key == "discount_rate":
        finance = dataclasses.replace(f, discount_rate=value)
    elif key == "optimism_bias":
        finance = dataclasses.replace(f, optimism_bias=value)
    elif key == "horizon_years":
        finance = dataclasses.replace(f, horizon_years=round(value))
    else:
        raise KeyError(key)
    return estate, dataclasses.replace(scenario, finance=finance)


def _base(scenario: Scenario, key: str) -> float:
    f = scenario.finance
    return {"discount_rate": f.discount_rate, "optimism_bias": f.optimism_bias,
            "horizon_years": float(f.horizon_years)}.get(key, 1.0)


def npv_with(estate: Estate, scenario: Scenario, plan: Plan, key: str, value: float
             ) -> float:
    """The plan's NPV (GBP) with one input at ``value``: a fresh savings computation.

    Parameters
    ----------
    estate, scenario, plan
        The run's.
    key
        One of :data:`INPUTS` but ``carbon_value`` (which is not in the cash NPV).
    value
        The input's value in its unit.
    """
    est, scen = _changed(estate, scenario, key, value)
    return float(savings_mod.compute(est, scen, plan).totals["npv_gbp"])


def _linear_root(x0: float, y0: float, x1: float, y1: float) -> float | None:
    if y1 == y0:
        return None
    return x0 - y0 * (x1 - x0) / (y1 - y0)


def _irr(cash_by_year: dict[int, float], low: float, high: float) -> float | None:
    """The discount rate within [low, high] at which the NPV of the yearly cash is zero."""
    from scipy.optimize import brentq

    years = np.array(sorted(cash_by_year), dtype=float)
    cash = np.array([cash_by_year[int(t)] for t in years])

    def npv(rate: float) -> float:
        return float((cash * discount_factor(rate, years)).sum())

    a, b = npv(low), npv(high)
    if a == 0:
        return low
    if b == 0:
        return high
    if (a > 0) == (b > 0):
        return None
    return float(brentq(npv, low, high, xtol=1e-12))


def _horizon_npvs(estate: Estate, scenario: Scenario, plan: Plan, low: float, high: float
                  ) -> dict[int, float]:
    """The NPV of the plan appraised over each whole horizon from ``low`` to ``high`` years.

    Each a fresh savings computation: a horizon changes more than the cash counted (a
    measure's residual value is taken at the horizon), so no one run's cash flow, summed
    to a year, gives another horizon's NPV.
    """
    return {h: npv_with(estate, scenario, plan, "horizon_years", float(h))
            for h in range(int(low), int(high) + 1)}


def _first_crossing(npvs: dict[int, float]) -> float | None:
    """The first horizon whose NPV lies on the other side of zero from the shortest's."""
    years = sorted(npvs)
    start = npvs[years[0]] >= 0
    for year in years[1:]:
        if (npvs[year] >= 0) != start:
            return float(year)
    return None


def analyse(estate: Estate, scenario: Scenario, plan: Plan, money: savings_mod.Savings,
            ranges: Ranges) -> pd.DataFrame:
    """The NPV at each end of each input's range, and where it switches sign.

    Parameters
    ----------
    estate, scenario, plan
        The run's.
    money
        The run's savings (the base NPV, the social carbon value).
    ranges
        Each input's (low, high); ``carbon_value`` is left out where the scenario does
        not value carbon.

    Returns
    -------
    pandas.DataFrame
        One row per input, :data:`COLUMNS`: its key, label and unit, the scenario's
        value (``base``), the range, the NPV (GBP) at the base and at each end (for the
        carbon value: the cash NPV plus the social carbon value at that factor), the
        switching value in the input's unit (blank where none) and a note saying what
        it means or why there is none.
    """
    base_npv = float(money.totals["npv_gbp"])
    social = float(money.totals.get("social_carbon_value_gbp") or 0.0)
    values_carbon = scenario.energy.carbon_value != "none"
    rows = []
    for key, (low, high) in ranges.ranges.items():
        spec = INPUTS[key]
        if key == "carbon_value" and not values_carbon:
            continue
        base = _base(scenario, key)
        npv_base = base_npv
        by_horizon: dict[int, float] = {}
        if key == "carbon_value":
            npv_low, npv_high = base_npv + low * social, base_npv + high * social
            npv_base = base_npv + social
        elif key == "horizon_years":  # every whole horizon: the NPV need not be monotone
            by_horizon = _horizon_npvs(estate, scenario, plan, low, high)
            npv_low, npv_high = by_horizon[int(low)], by_horizon[int(high)]
        else:
            npv_low = npv_with(estate, scenario, plan, key, low)
            npv_high = npv_with(estate, scenario, plan, key, high)
        switch: float | None
        lowest, highest = min(npv_low, npv_high), max(npv_low, npv_high)
        if key == "discount_rate":
            cash = money.cashflow.groupby("year")["gbp"].sum()
            switch = _irr(dict(zip(cash.index.astype(int), cash.to_numpy(float), strict=True)),
                          low, high)
            meaning = "the plan's internal rate of return"
        elif key == "horizon_years":
            switch = _first_crossing(by_horizon)
            meaning = ("the first horizon (years) at which the NPV changes sign from the "
                       "shortest's")
            lowest, highest = min(by_horizon.values()), max(by_horizon.values())
        else:
            switch = _linear_root(low, npv_low, high, npv_high)
            if switch is not None and not (min(low, high) <= switch <= max(low, high)):
                switch = None
            meaning = ("the value at which the NPV reaches zero"
                       + (", in times the scenario's figures" if spec.unit == "factor" else ""))
        note = meaning if switch is not None else (
            f"none within [{range_text(low, spec.unit)}, {range_text(high, spec.unit)}]: the "
            "NPV stays " + ("positive" if lowest > 0 else "negative" if highest < 0
                            else "on one side") + " over the range")
        rows.append({"input": key, "label": spec.label, "unit": spec.unit, "base": base,
                     "low": low, "high": high, "npv_base_gbp": round(npv_base, 2),
                     "npv_low_gbp": round(npv_low, 2), "npv_high_gbp": round(npv_high, 2),
                     "switching_value": switch, "switching_note": note})
    return pd.DataFrame(rows, columns=list(COLUMNS))


def summary(table: pd.DataFrame) -> list[dict[str, Any]]:
    """The table as summary.json records (switching values blank as null)."""
    return [{str(k): (None if isinstance(v, float) and np.isnan(v) else v)
             for k, v in row.items()} for row in table.to_dict("records")]


#: Columns of decision_changes.csv.
CHANGE_COLUMNS = ("input", "end", "value", "site_id", "name", "owner", "decision",
                  "decision_at_end")
#: Columns of the per-end record of the re-optimisations (summary.json).
END_COLUMNS = ("input", "end", "value", "status", "npv_gbp", "sites_changed", "reason")


def decision_changes(estate: Estate, scenario: Scenario, plan: Plan, ranges: Ranges,
                     reoptimise: Callable[[Estate, Scenario], tuple[Estate, Plan]]
                     ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Re-optimise at each end of each range: which sites' decisions depend on a guess.

    Parameters
    ----------
    estate, scenario, plan
        The run's.
    ranges
        The inputs' ranges (the carbon value is not re-optimised: it is a social line
        that the objective weighs only where the scenario says so).
    reoptimise
        The run's optimiser on a changed estate and scenario (the same travel times):
        the estate its plan is valued on (phased, where the scenario phases) and the plan.

    Returns
    -------
    changes, ends
        ``changes``: one row per site whose decision (keep / dispose) differs at an end
        from the plan's (:data:`CHANGE_COLUMNS`). ``ends``: one row per input and end
        (:data:`END_COLUMNS`): the re-optimised plan's status and cash NPV (GBP), how
        many sites changed, or why there is no plan (rules that cannot hold at that
        value, or a budget that ended with none).
    """
    from tp_assets._errors import InfeasibleError, InputError, NoPlanError

    base = dict(zip(plan.site_ids, plan.keep, strict=True))
    sites = estate.sites.set_index("site_id")
    changes, ends = [], []
    for key, (low, high) in ranges.ranges.items():
        if key == "carbon_value":
            continue
        for end, value in (("low", low), ("high", high)):
            est, scen = _changed(estate, scenario, key, value)
            try:
                est, other = reoptimise(est, scen)
            except (InfeasibleError, NoPlanError, InputError) as exc:
                ends.append({"input": key, "end": end, "value": value, "status": "no plan",
                             "npv_gbp": None, "sites_changed": None,
                             "reason": str(exc).splitlines()[0]})
                continue
            kept = dict(zip(other.site_ids, other.keep, strict=True))
            moved = [s for s in plan.site_ids if bool(kept[s]) != bool(base[s])]
            for sid in moved:
                changes.append({"input": key, "end": end, "value": value, "site_id": sid,
                                "name": sites.loc[sid, "name"], "owner": sites.loc[sid, "owner"],
                                "decision": "keep" if base[sid] else "dispose",
                                "decision_at_end": "keep" if kept[sid] else "dispose"})
            npv = float(savings_mod.compute(est, scen, other).totals["npv_gbp"])
            ends.append({"input": key, "end": end, "value": value, "status": other.status,
                         "npv_gbp": round(npv, 2), "sites_changed": len(moved), "reason": ""})
    return (pd.DataFrame(changes, columns=list(CHANGE_COLUMNS)),
            pd.DataFrame(ends, columns=list(END_COLUMNS)))
