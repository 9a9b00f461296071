"""Measures tied by rules, priced: the rules' prices fold each site's measures into its value.

Where a capital budget, a carbon target or a fuel rule ties the sites' measures
together, the model with an option variable per worthwhile bundle is slow at scale (on
the demo's net-zero scenario, 6,778 options: its root node took 4 minutes where the
plain demo's takes 40 s). Lagrangian relaxation gives a fast, honest alternative: price
each rule at its dual value in the linear relaxation of the whole model, move it into
the objective at that price, and each site's best option becomes a constant of keeping
the site, folded into its value like measures no rule ties. That problem is searched
as any other (:func:`tp_assets.optimise.search.solve`); its bound is an upper bound on
the original's (a Lagrangian bound: for prices of 0 or more, relaxing the rules into the
objective can only raise its optimum). The plan's keep decisions then take their
measures under the real rules (:func:`~tp_assets.optimise.model.choose_options`); where
those cannot hold with the sites it keeps, the caller searches the model with option
variables instead.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from tp_assets.optimise.model import Model
from tp_assets.optimise.problem import OptionSet, Problem


def priced_problem(problem: Problem) -> tuple[Problem, np.ndarray] | None:
    """The problem with its option rules priced into the objective, and the prices.

    Parameters
    ----------
    problem
        A problem whose options rules tie together (:attr:`Problem.coupled_options`).

    Returns
    -------
    (problem, prices) or None
        A problem with no rules over options (each site's best priced option folded into
        ``base_value`` and ``disposal_value``; its ``options`` that one option per site,
        for the record), and each rule's price (GBP per unit: per GBP of capital, per
        tCO2e); ``None`` where the linear relaxation has no optimum.
    """
    o = problem.coupled_options
    assert o is not None
    prices = Model(problem, relaxed=True).row_prices()
    if prices is None:
        return None
    n = problem.n_sites
    disposal = problem.disposal_value.astype(float).copy()
    base = (np.zeros(n) if problem.base_value is None
            else problem.base_value.astype(float).copy())
    value = o.value.astype(float).copy()
    constant = 0.0
    for price, row in zip(prices, o.rows, strict=True):
        if price <= 0.0:
            continue
        sign = 1.0 if row.sense == "<=" else -1.0
        value[row.option_index] -= price * sign * row.option_coef
        weight = np.zeros(n)
        np.add.at(weight, row.site_index, price * sign * row.site_coef)
        disposal += weight  # keeping the site costs its share of the rule, at the price
        base -= weight
        constant += price * sign * row.rhs
    if n:
        base[0] += constant
    order = np.lexsort((np.arange(len(value)), -value, o.site))  # best first, per site
    first = order[np.r_[True, o.site[order][1:] != o.site[order][:-1]]] if len(order) else order
    best = first[value[first] > 0.0]
    gain = np.zeros(n)
    gain[o.site[best]] = value[best]
    folded = OptionSet(o.site[best], value[best], [o.measures[k] for k in best],
                       o.fit_year[best], [])
    return dataclasses.replace(problem, disposal_value=disposal - gain, base_value=base + gain,
                               options=folded), prices
