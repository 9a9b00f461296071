"""Who gains and who loses access, broken down by ward and by deprivation decile.

A plan that keeps every standard overall may still move the losses onto some
neighbourhoods. Where the zones carry ``ward`` and ``imd_decile``
(``tp-assets import areas``), each standard's change is summed per ward and per
IMD decile (most deprived first): the demand within the standard before and after,
the demand losing and gaining it, and the change in minutes to the nearest site.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from tp_assets.scenario import Standard

#: Zone columns the access change is broken down by, in the order written.
BREAKDOWNS: tuple[str, ...] = ("imd_decile", "ward")

COLUMNS: tuple[str, ...] = (
    "service_type", "breakdown", "area", "demand_column", "zones", "demand_total",
    "demand_within_before", "demand_within_after", "demand_losing", "demand_gaining",
    "mean_minutes_before", "mean_minutes_after", "mean_minutes_change",
)


def breakdowns(zones: pd.DataFrame) -> list[str]:
    """The area columns the zones carry a value in (``imd_decile``, ``ward``).

    Parameters
    ----------
    zones
        The estate's zones.
    """
    out = []
    for column in BREAKDOWNS:
        if column in zones.columns:
            values = zones[column]
            if values.notna().any() and values.astype(str).str.strip().ne("").any():
                out.append(column)
    return out


def _area_labels(zones: pd.DataFrame, column: str) -> tuple[np.ndarray, list[str]]:
    """Each zone's area as text (``"unknown"`` where blank) and the areas in report order."""
    values = zones[column]
    if column == "imd_decile":
        labels = np.array(["unknown" if pd.isna(v) else str(int(v)) for v in values],
                          dtype=object)
        order = sorted({v for v in labels if v != "unknown"}, key=int)
    else:
        labels = np.array(["unknown" if pd.isna(v) or not str(v).strip() else str(v).strip()
                           for v in values], dtype=object)
        order = sorted({v for v in labels if v != "unknown"})
    return labels, order + (["unknown"] if "unknown" in set(labels) else [])


def access_by_area(zones: pd.DataFrame, standards: Mapping[str, Standard],
                   minutes: Mapping[str, tuple[np.ndarray, np.ndarray]]) -> pd.DataFrame:
    """Access before and after a plan, per standard, summed by ward and by IMD decile.

    Parameters
    ----------
    zones
        The estate's zones (their ``ward`` / ``imd_decile`` and demand columns).
    standards
        Access standards by service type.
    minutes
        Service type -> (minutes today, minutes with the plan) per zone, in
        ``zones`` order (``inf`` beyond the travel-time cutoff), as
        :func:`tp_assets.access.minutes_before_after` returns them.

    Returns
    -------
    pandas.DataFrame
        One row per standard, breakdown (``imd_decile`` first, deciles from 1, the
        most deprived; then ``ward``, by name) and area, with :data:`COLUMNS`:
        ``zones`` (count); ``demand_*`` in the standard's demand unit (people): its
        total, within the standard before and after, losing it (within before, not
        after) and gaining it; ``mean_minutes_*``: demand-weighted minutes to the
        nearest site offering the service, over the zones that reach one within the
        travel-time cutoff both before and after (blank where none does). Empty
        (with these columns) where the zones carry neither column.
    """
    rows = []
    for column in breakdowns(zones):
        labels, order = _area_labels(zones, column)
        for service_type, std in sorted(standards.items()):
            before, after = minutes[service_type]
            demand = zones[std.demand].to_numpy(float)
            was, now = before <= std.max_minutes, after <= std.max_minutes
            both = np.isfinite(before) & np.isfinite(after)
            for area in order:
                here = labels == area
                d = demand[here]
                timed = both[here]
                mean_before = _weighted_mean(d[timed], before[here][timed])
                mean_after = _weighted_mean(d[timed], after[here][timed])
                rows.append({
                    "service_type": service_type, "breakdown": column, "area": area,
                    "demand_column": std.demand, "zones": int(here.sum()),
                    "demand_total": float(d.sum()),
                    "demand_within_before": float(d[was[here]].sum()),
                    "demand_within_after": float(d[now[here]].sum()),
                    "demand_losing": float(d[(was & ~now)[here]].sum()),
                    "demand_gaining": float(d[(~was & now)[here]].sum()),
                    "mean_minutes_before": mean_before, "mean_minutes_after": mean_after,
                    "mean_minutes_change": mean_after - mean_before,
                })
    return pd.DataFrame(rows, columns=list(COLUMNS))


def _weighted_mean(weights: np.ndarray, values: np.ndarray) -> float:
    """Mean of ``values`` weighted by ``weights`` (NaN where the weights add up to 0)."""
    total = float(weights.sum())
    return float((weights * values).sum()) / total if total > 0 else np.nan
