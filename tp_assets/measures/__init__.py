"""Energy and carbon: the measures table, what measures do to a building, carbon by year.

A package: :mod:`.table` reads and checks the measures table; :mod:`.carbon` holds a
scenario's ``[energy]`` settings, grid factors and carbon values by year;
:mod:`.building` says what a bundle does to one building; :mod:`.options` prices each
site's options and the emissions of a plan.

A *measure* (LED lighting, heating controls, fabric, glazing, a heat pump, rooftop
solar PV) is fitted to a site the plan keeps. A site's *bundle* is the set of
measures fitted to it, all in one appraisal year; an *option* is a bundle and its
year. Conventions (documented with a worked example in data/README.md):

- A building's energy follows its floor area (CIBSE TM46 benchmarks are per m2 of
  GIA), not its occupants: services moving in or out leave its kWh unchanged, so a
  measure saves on the building's own ``electricity_kwh_pa`` and ``heat_kwh_pa``.
- Measures act in a fixed order, each on what the earlier ones leave: demand
  measures first (each saves its share of the electricity and heat left), then a
  heat pump (removes the gas or oil left: heat delivered = fuel x boiler
  efficiency, electricity added = heat delivered / SCOP, sized at heat delivered /
  full-load hours), then PV (generation = kWp x kWh/kWp, offsetting at most the
  electricity left; export is not valued). No kWh is counted twice.
- A measure is renewed at the end of its life at the same cost (a cost in that
  year), so its effect lasts to the horizon; the last installation's unexpired
  life is a residual value in the horizon year (straight line).
- Carbon by year uses the appraisal electricity factor of that calendar year (the
  long-run marginal series, :func:`shipped_grid`) and the scenario's fuel factors;
  the reported ``tco2e_saved_pa`` of disposals keeps the reporting factors.
"""

from __future__ import annotations

from tp_assets.measures.building import (
    FOSSIL_FUELS,
    Effect,
    Step,
    bundles,
    effect,
    installs,
    ordered,
    site_measures,
    steps,
    suits,
)
from tp_assets.measures.carbon import (
    CARBON_SERIES,
    Energy,
    Target,
    appraisal_year,
    calendar_year,
    carbon_value,
    deflator_years,
    emissions,
    fuel_factor,
    read_energy,
    read_grid,
    shipped_grid,
)
from tp_assets.measures.options import Options, describe, options, plan_emissions
from tp_assets.measures.table import (
    KINDS,
    MEASURE_COLUMNS,
    Measure,
    read_measures,
    shipped_measures,
)

__all__ = ["CARBON_SERIES", "FOSSIL_FUELS", "KINDS", "MEASURE_COLUMNS", "Effect", "Energy",
           "Measure", "Options", "Step", "Target", "appraisal_year", "bundles", "calendar_year",
           "carbon_value", "deflator_years", "describe", "effect", "emissions", "fuel_factor",
           "installs", "options", "ordered", "plan_emissions", "read_energy", "read_grid",
           "read_measures", "shipped_grid", "shipped_measures", "site_measures", "steps", "suits"]
