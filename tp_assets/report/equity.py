"""Who gains and who loses: the equity verdict of a plan, in one line a leader can quote.

The zones are grouped by IMD decile from the most deprived up until the group holds at
least a fifth of the place's residents, and likewise from the least deprived down;
a place's own fifths, because most places lack some national deciles (Lewisham has
none above 8). Each group's *loss rate* is the demand that loses a standard it has
today, summed over the standards, over the demand of those standards in the group.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

#: The share of residents each compared group holds at least.
GROUP_SHARE = 0.2


@dataclass(frozen=True)
class Groups:
    """The most and least deprived groups of deciles, and their shares of residents."""

    most: tuple[int, ...]
    least: tuple[int, ...]
    most_share: float
    least_share: float

    @staticmethod
    def label(deciles: tuple[int, ...]) -> str:
        """``"decile 1"`` or ``"deciles 1-2"``."""
        low, high = min(deciles), max(deciles)
        return f"decile {low}" if low == high else f"deciles {low}-{high}"


def groups(zones: pd.DataFrame) -> Groups | None:
    """The place's most and least deprived fifths by IMD decile (``None`` without deciles).

    Parameters
    ----------
    zones
        Zones with ``population`` (people) and ``imd_decile`` (1-10, blank allowed).
    """
    if "imd_decile" not in zones.columns:
        return None
    people = zones.dropna(subset=["imd_decile"]).groupby("imd_decile")["population"].sum()
    if len(people) < 2:
        return None
    people.index = people.index.astype(int)
    total = float(people.sum())

    def take(order: list[int], other: set[int]) -> tuple[tuple[int, ...], float]:
        chosen, held = [], 0.0
        for d in order:
            if d in other or held >= GROUP_SHARE * total:
                break
            chosen.append(d)
            held += float(people[d])
        return tuple(sorted(chosen)), held / total

    most, most_share = take(sorted(people.index), set())
    least, least_share = take(sorted(people.index, reverse=True), set(most))
    if not least:
        return None
    return Groups(most, least, most_share, least_share)


def verdict(by_area: pd.DataFrame, found: Groups | None) -> str:
    """A plan's equity in one sentence.

    Parameters
    ----------
    by_area
        The run's access_by_area.csv.
    found
        :func:`groups` of the place's zones.
    """
    deciles = by_area[by_area["breakdown"] == "imd_decile"]
    if found is None or deciles.empty:
        return ("The zones carry no IMD deciles, so who loses cannot be set against "
                "deprivation: add them with tp-assets import areas.")
    losing = float(deciles["demand_losing"].sum())
    if losing == 0:
        return "No resident loses access within any standard they have today."
    rates = []
    for group in (found.most, found.least):
        rows = deciles[deciles["area"].isin([str(d) for d in group])]
        total = float(rows["demand_total"].sum())
        rates.append(float(rows["demand_losing"].sum()) / total if total else 0.0)
    most, least = (f"the most deprived ({Groups.label(found.most)}, {found.most_share:.0%} of "
                   "residents)", f"the least deprived ({Groups.label(found.least)}, "
                   f"{found.least_share:.0%})")
    lost = f"{losing:,.0f} residents lose a standard, counted once per standard"
    if rates[0] == rates[1] == 0:
        return f"Losses fall on neither {most} nor {least} ({lost}, in the deciles between)."
    if rates[1] == 0:
        return f"Losses fall on {most} and not at all on {least} ({lost})."
    if rates[0] == 0:
        return f"Losses fall on {least} and not at all on {most} ({lost})."
    ratio = rates[0] / rates[1]
    if ratio >= 1:
        return f"Losses fall {ratio:.1f}x more on {most} than on {least} ({lost})."
    return f"Losses fall {1 / ratio:.1f}x more on {least} than on {most} ({lost})."
