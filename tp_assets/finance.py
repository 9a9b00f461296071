"""Money over time: appraisal years, discounting and the value of disposing a site.

Conventions (HM Treasury Green Book): the appraisal starts on ``start_date``; year
``t`` (1..horizon) is the financial year starting ``t - 1`` years later; one-off
costs of moves and fit-out fall in year 0 (undiscounted); a disposal's receipt,
disposal costs and avoided backlog fall in the first year the site is vacated;
recurring savings run from that year to the horizon; values in year ``t`` are
discounted by ``1 / (1 + rate) ** t``. A leasehold is vacated in the first
appraisal year that starts on or after its ``lease_end`` (the year containing a
mid-year break is still paid in full: a conservative reading).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from tp_assets import settings

#: Recurring cost categories of a site, in the order tables show them.
RECURRING = ("rent", "rates", "fm", "electricity", "heat")


def discount_factor(rate: float, year: int | np.ndarray) -> np.ndarray:
    """Discount factor of appraisal year(s) at a rate: ``1 / (1 + rate) ** year``.

    Parameters
    ----------
    rate
        Discount rate a year (0.035: 3.5 %).
    year
        Appraisal year(s), 1-based.
    """
    return 1.0 / (1.0 + rate) ** np.asarray(year, dtype=float)


@dataclass(frozen=True)
class Finance:
    """Finance parameters of a scenario.

    Attributes
    ----------
    start_date
        First day of appraisal year 1.
    horizon_years
        Number of appraisal years.
    discount_rate
        Real discount rate per year (0.035 = Green Book).
    energy_prices_gbp_per_kwh
        Price per fuel in appraisal year 1: ``electricity``, ``gas``, ``oil``,
        ``district`` (GBP/kWh).
    energy_price_growth
        Real change of each fuel's price a year (0.02 = 2 % a year dearer; 0: constant):
        year ``t`` pays year 1's price x ``(1 + growth) ** (t - 1)``.
    carbon_kg_per_kwh
        Conversion factor per fuel (kgCO2e/kWh).
    carbon_factor_years
        Year of the government set each factor comes from.
    relocation_gbp_per_fte
        One-off cost per FTE moved (GBP).
    fitout_gbp_per_m2
        One-off fit-out per m2 received (GBP).
    disposal_cost_share
        Disposal costs as a share of receipts.
    optimism_bias
        Uplift on one-off costs (0.2 = +20 %).
    """

    start_date: date = field(default_factory=lambda: date.fromisoformat(settings.APPRAISAL_START))
    horizon_years: int = settings.HORIZON_YEARS
    discount_rate: float = settings.GREEN_BOOK_RATE
    energy_prices_gbp_per_kwh: dict[str, float] = field(
        default_factory=lambda: dict(settings.ENERGY_PRICES_GBP_PER_KWH))
    energy_price_growth: dict[str, float] = field(
        default_factory=lambda: dict.fromkeys(settings.ENERGY_PRICES_GBP_PER_KWH, 0.0))
    carbon_kg_per_kwh: dict[str, float] = field(
        default_factory=lambda: dict(settings.CARBON_KG_PER_KWH))
    carbon_factor_years: dict[str, int] = field(
        default_factory=lambda: dict(settings.CARBON_FACTOR_YEARS))
    relocation_gbp_per_fte: float = settings.RELOCATION_GBP_PER_FTE
    fitout_gbp_per_m2: float = settings.FITOUT_GBP_PER_M2
    disposal_cost_share: float = settings.DISPOSAL_COST_SHARE
    optimism_bias: float = settings.OPTIMISM_BIAS

    def discount(self, year: int | np.ndarray) -> np.ndarray:
        """Discount factor of appraisal year(s) at this rate (:func:`discount_factor`)."""
        return discount_factor(self.discount_rate, year)

    def price_index(self, fuel: str | None, year: int | np.ndarray) -> np.ndarray:
        """A fuel's price in appraisal year(s) ``year`` relative to year 1's.

        Parameters
        ----------
        fuel
            Price key (``electricity``, ``gas``, ...; ``None``: no fuel, index 1).
        year
            Appraisal year(s), 1-based.
        """
        growth = self.energy_price_growth.get(fuel or "", 0.0)
        return (1.0 + growth) ** (np.asarray(year, dtype=float) - 1.0)

    def fin_year(self, year: int) -> str:
        """Financial-year label of appraisal year ``year`` (year 1 from 2027-04-01: 2027/28).

        Year 0, when one-off costs fall, is labelled as the financial year before year 1.
        """
        first = self.start_date.year + year - 1
        if self.start_date.month == 1 and self.start_date.day == 1:
            return str(first)
        return f"{first}/{(first + 1) % 100:02d}"

    def year_start(self, year: int) -> date:
        """First day of appraisal year ``year`` (1-based)."""
        return self.start_date.replace(year=self.start_date.year + year - 1)


def heat_fuel_price_key(heat_fuel: str) -> str | None:
    """Which price applies to a site's heating fuel (``electric`` heating pays electricity).

    Parameters
    ----------
    heat_fuel
        ``{"gas", "oil", "electric", "district", "none"}``.
    """
    return {"electric": "electricity", "none": None}.get(heat_fuel, heat_fuel)


def vacate_dates(tenure: str, lease_end: Any, vacate_from: Any) -> dict[str, date]:
    """The dates before which a site cannot be vacated, by the column that sets each.

    ``lease_end`` binds a leasehold, ``vacate_from`` any site; blanks bind nothing.
    """
    given = {"lease_end": lease_end if tenure == "leasehold" else None,
             "vacate_from": vacate_from}
    return {column: pd.Timestamp(d).date() for column, d in given.items()
            if d is not None and not pd.isna(d)}


def vacate_year(finance: Finance, tenure: str, lease_end: pd.Timestamp | None,
                vacate_from: pd.Timestamp | None = None) -> int:
    """First appraisal year (1-based) a site can be vacated; ``horizon + 1`` if never within it.

    The first year that starts on or after both a leasehold's ``lease_end`` and the
    site's ``vacate_from`` (either may be blank).

    Parameters
    ----------
    finance
        Scenario finance (start date, horizon).
    tenure
        ``{"freehold", "leasehold"}``.
    lease_end
        First date a leasehold can be vacated.
    vacate_from
        First date the site can be vacated whatever its tenure.
    """
    dates = vacate_dates(tenure, lease_end, vacate_from)
    if not dates:
        return 1
    end = max(dates.values())
    for year in range(1, finance.horizon_years + 1):
        if finance.year_start(year) >= end:
            return year
    return finance.horizon_years + 1


def recurring_costs(sites: pd.DataFrame, finance: Finance) -> pd.DataFrame:
    """Annual running cost of each site by category (GBP/yr).

    Parameters
    ----------
    sites
        Sites table of an :class:`~tp_assets.estate.Estate`.
    finance
        Energy prices.

    Returns
    -------
    pandas.DataFrame
        Columns ``rent``, ``rates``, ``fm``, ``electricity``, ``heat`` (GBP/yr), same
        index as ``sites``.
    """
    prices = finance.energy_prices_gbp_per_kwh
    heat_price = sites["heat_fuel"].map(
        lambda f: prices.get(heat_fuel_price_key(f) or "", 0.0)).astype(float)
    return pd.DataFrame({
        "rent": sites["rent_gbp_pa"].astype(float),
        "rates": sites["rates_gbp_pa"].astype(float),
        "fm": sites["fm_gbp_pa"].astype(float),
        "electricity": sites["electricity_kwh_pa"].astype(float) * prices["electricity"],
        "heat": sites["heat_kwh_pa"].astype(float) * heat_price,
    }, index=sites.index)


def disposal_values(sites: pd.DataFrame, finance: Finance) -> pd.DataFrame:
    """Net present value (GBP) of disposing each site, and when it can happen.

    Parameters
    ----------
    sites
        Sites table of an :class:`~tp_assets.estate.Estate`.
    finance
        Scenario finance.

    Returns
    -------
    pandas.DataFrame
        ``vacate_year`` (1..horizon, or horizon + 1 when it cannot be vacated within
        the appraisal), ``annual_saving_gbp`` (GBP/yr, at year 1's prices),
        ``receipt_gbp``,
        ``disposal_cost_gbp``, ``backlog_gbp`` and ``npv_gbp`` (discounted sum of
        recurring savings from the vacate year, net receipt and avoided backlog).
    """
    costs = recurring_costs(sites, finance)
    annual = costs.sum(axis=1)
    years = np.array([vacate_year(finance, t, e, v) for t, e, v in
                      zip(sites["tenure"], sites["lease_end"], sites["vacate_from"],
                          strict=True)])
    freehold = (sites["tenure"] == "freehold").to_numpy()
    receipt = np.where(freehold, sites["market_value_gbp"].astype(float), 0.0)
    disposal_cost = receipt * finance.disposal_cost_share
    backlog = sites["backlog_gbp"].astype(float).to_numpy()
    horizon = finance.horizon_years
    all_years = np.arange(1, horizon + 1)
    factors = finance.discount(all_years)
    # sum of discount factors from vacate year to horizon; energy's also weighted by its
    # price path (with no growth, the same sums: the annual figure times the tail)
    tail = np.array([factors[y - 1:].sum() if y <= horizon else 0.0 for y in years])

    def energy_tail(fuel: str | None, y: int) -> float:
        return float((factors * finance.price_index(fuel, all_years))[y - 1:].sum()
                     if y <= horizon else 0.0)

    fuels = sites["heat_fuel"].map(heat_fuel_price_key).tolist()
    elec_tail = np.array([energy_tail("electricity", y) for y in years])
    heat_tail = np.array([energy_tail(f, y) for f, y in zip(fuels, years, strict=True)])
    at_vacate = np.array([finance.discount(y) if y <= horizon else 0.0 for y in years])
    npv = (annual.to_numpy() * tail + costs["electricity"].to_numpy() * (elec_tail - tail)
           + costs["heat"].to_numpy() * (heat_tail - tail)
           + (receipt - disposal_cost + backlog) * at_vacate)
    return pd.DataFrame({"vacate_year": years, "annual_saving_gbp": annual.to_numpy(),
                         "receipt_gbp": receipt, "disposal_cost_gbp": disposal_cost,
                         "backlog_gbp": backlog, "npv_gbp": npv}, index=sites.index)


def move_costs(services: pd.DataFrame, finance: Finance,
               extra_fitout_gbp_per_m2: np.ndarray | float = 0.0) -> np.ndarray:
    """One-off cost (GBP, year 0, optimism bias included) of moving each whole service.

    Relocation per FTE plus fit-out per m2 at the receiving site (the finance rate plus
    any extra the receiving building needs, :mod:`tp_assets.suitability`); a
    splittable service moving a share pays that share. The one formula for the
    optimiser, the checker and the savings.

    Parameters
    ----------
    services
        Services table of an :class:`~tp_assets.estate.Estate` (``fte``, ``area_m2``),
        one row per move.
    finance
        Scenario finance.
    extra_fitout_gbp_per_m2
        Extra fit-out per m2 of each row's move (GBP per m2).
    """
    relocation, fitout = move_cost_parts(services["fte"].to_numpy(dtype=float),
                                         services["area_m2"].to_numpy(dtype=float), finance,
                                         extra_fitout_gbp_per_m2)
    return (relocation + fitout) * (1.0 + finance.optimism_bias)


def move_cost_parts(fte: np.ndarray, area_m2: np.ndarray, finance: Finance,
                    extra_fitout_gbp_per_m2: np.ndarray | float = 0.0
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Relocation and fit-out (GBP, before optimism bias) of moves of ``fte`` and ``area_m2``.

    Parameters
    ----------
    fte, area_m2
        Staff (full-time equivalents) and floor area (m2) moved.
    finance
        Scenario finance (relocation per FTE, fit-out per m2).
    extra_fitout_gbp_per_m2
        Extra fit-out the receiving building needs (GBP per m2).
    """
    return (fte * finance.relocation_gbp_per_fte,
            area_m2 * (finance.fitout_gbp_per_m2 + extra_fitout_gbp_per_m2))


def format_gbp(value: float) -> str:
    """Whole pounds for people: ``£1,234``, ``-£56`` (never ``£-0``).

    Parameters
    ----------
    value
        Pounds.
    """
    pounds = round(value) + 0
    return f"-£{-pounds:,}" if pounds < 0 else f"£{pounds:,}"
