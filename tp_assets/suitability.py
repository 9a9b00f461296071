"""Which building categories can host which service types, and at what fit-out cost.

A GP practice needs clinical rooms; a youth club does not belong in a police station.
The shipped table (``tp_assets/data/suitability.csv``, documented in data/README.md)
says, per service type and site ``benchmark`` category, whether such a building can
take the service in (``yes``), cannot (``no``), or can once fitted out at a stated
extra cost per m2 (``fit_out``). A category written ``*`` stands for every category
the type's other rows do not name; a service type the table does not name may go
anywhere. A scenario overrides entries in ``[rules.suitability]``, or drops the table.

Suitability restricts where a service may *move*: a service stays allowed where it is
today.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from importlib import resources

import numpy as np
import pandas as pd

#: The category that stands for every category a service type's other rows do not name.
ANY = "*"


@dataclass(frozen=True)
class HostRule:
    """Whether one category of building can host one service type.

    Attributes
    ----------
    hosts
        Whether a service of the type may move into such a building.
    extra_fitout_gbp_per_m2
        One-off fit-out on top of ``[finance] fitout_gbp_per_m2`` (GBP per m2 moved in).
    reason
        Why, in words.
    source
        Where the rule comes from: the shipped table's source, or the scenario.
    """

    hosts: bool
    extra_fitout_gbp_per_m2: float = 0.0
    reason: str = ""
    source: str = ""


@dataclass(frozen=True)
class Suitability:
    """Host rules by service type, then by category (``*``: every other category).

    Attributes
    ----------
    rules
        ``service_type -> category -> HostRule``.
    """

    rules: Mapping[str, Mapping[str, HostRule]] = field(default_factory=dict)

    def rule(self, service_type: str, category: str) -> HostRule | None:
        """The rule for one type in one category; ``None`` where none applies (hosts)."""
        by_category = self.rules.get(service_type, {})
        return by_category.get(category, by_category.get(ANY))

    def matrix(self, types: list[str], categories: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray]:
        """Hosting and extra fit-out for every type and every site.

        Parameters
        ----------
        types
            Service type names (rows).
        categories
            Each site's ``benchmark`` category (columns).

        Returns
        -------
        hosts, extra
            ``len(types) x len(categories)``: whether each type may move into each
            site, and the extra fit-out (GBP per m2) it then costs.
        """
        hosts = np.ones((len(types), len(categories)), dtype=bool)
        extra = np.zeros((len(types), len(categories)))
        for t, service_type in enumerate(types):
            if service_type not in self.rules:
                continue
            for category in np.unique(categories):
                rule = self.rule(service_type, str(category))
                if rule is not None:
                    columns = categories == category
                    hosts[t, columns] = rule.hosts
                    extra[t, columns] = rule.extra_fitout_gbp_per_m2 if rule.hosts else 0.0
        return hosts, extra

    def scaled(self, factor: float) -> Suitability:
        """The same rules with every extra fit-out times ``factor`` (a sensitivity test)."""
        return Suitability({t: {c: replace(rule, extra_fitout_gbp_per_m2=rule
                                           .extra_fitout_gbp_per_m2 * factor)
                                for c, rule in by.items()} for t, by in self.rules.items()})

    def extra_fitout(self, service_types: np.ndarray, categories: np.ndarray) -> np.ndarray:
        """Extra fit-out (GBP per m2) of each move: its service type into its category.

        Parameters
        ----------
        service_types, categories
            One entry per move: the service's type and the receiving site's category.
        """
        out = np.zeros(len(service_types))
        for k, (service_type, category) in enumerate(zip(service_types, categories,
                                                         strict=True)):
            rule = self.rule(str(service_type), str(category))
            if rule is not None and rule.hosts:
                out[k] = rule.extra_fitout_gbp_per_m2
        return out

    def overridden(self, changes: Mapping[str, Mapping[str, HostRule]]) -> Suitability:
        """These rules with some (type, category) entries replaced."""
        merged = {t: dict(by_category) for t, by_category in self.rules.items()}
        for service_type, by_category in changes.items():
            merged.setdefault(service_type, {}).update(by_category)
        return Suitability(merged)


def default_table() -> pd.DataFrame:
    """The shipped table, one row per (service type, category): see the module docstring.

    Returns
    -------
    pandas.DataFrame
        ``service_type``, ``category``, ``hosts`` (yes / no / fit_out),
        ``extra_fitout_gbp_per_m2`` (GBP per m2), ``reason``, ``source``.
    """
    ref = resources.files("tp_assets") / "data" / "suitability.csv"
    with ref.open("r", encoding="utf-8") as f:
        return pd.read_csv(f, keep_default_na=False)


def default() -> Suitability:
    """The shipped table as :class:`Suitability`."""
    rules: dict[str, dict[str, HostRule]] = {}
    table = default_table()
    for service_type, category, hosts, extra, reason, source in zip(
            table["service_type"], table["category"], table["hosts"],
            table["extra_fitout_gbp_per_m2"].astype(float), table["reason"], table["source"],
            strict=True):
        rules.setdefault(str(service_type), {})[str(category)] = HostRule(
            hosts=hosts != "no", extra_fitout_gbp_per_m2=float(extra), reason=str(reason),
            source=str(source))
    return Suitability(rules)
