"""What the register importers share: their result, the boundary filter, the assumptions.

A public register (NHS ODS, the Home Office fire stations list, the libraries
dataset) says where a service is and who runs it, not how big its building is or
what it costs. The importers fill those figures with stated assumptions and name
them in each row's ``assumed`` column, so that ``tp-assets validate`` lists what a
user should replace; every row they leave out is counted by reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import shapely

from tp_assets._errors import InputError, shortlist
from tp_assets._tables import read_boundary, read_csv_cells


@dataclass(frozen=True)
class Register:
    """Sites and services imported from a public register.

    Attributes
    ----------
    sites, services
        Tables in the input schema (sites with ``x``/``y`` in EPSG:27700); the
        ``assumed`` column of each row names the columns holding assumptions.
    kept
        Records of the register imported as services.
    left_out
        Why other records were left out -> how many, in the order applied (closed,
        another setting, outside the postcode table or the boundary, ...).
    notes
        Other things a user should know (an owner code the tool could not name).
    """

    sites: pd.DataFrame
    services: pd.DataFrame
    kept: int
    left_out: dict[str, int] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    def lines(self, what: str) -> list[str]:
        """The import in words: what was kept, what was left out and why.

        Parameters
        ----------
        what
            The records' name, plural (``"GP practices"``).
        """
        out = [f"{self.kept} {what} at {len(self.sites)} sites"]
        out += [f"left out: {n} {reason}" for reason, n in self.left_out.items() if n]
        return out + list(self.notes)


def outside(x: np.ndarray, y: np.ndarray, boundary: str | Path | None, margin_m: float,
            left: dict[str, int], among: np.ndarray | None = None) -> np.ndarray:
    """Which points lie further than ``margin_m`` outside a boundary, counted in ``left``.

    Parameters
    ----------
    x, y
        Points, EPSG:27700 metres.
    boundary
        Polygon file of the place; ``None``: no point is outside.
    margin_m
        Distance outside the boundary still counted inside (m).
    left
        Rows left out, by reason: the points outside are added under their reason.
    among
        Only these points (flags) can be outside (default: all).

    Returns
    -------
    numpy.ndarray
        Boolean per point.
    """
    if boundary is None:
        return np.zeros(len(x), dtype=bool)
    place = read_boundary(Path(boundary))
    if margin_m > 0:
        place = place.buffer(margin_m)
    far = ~shapely.contains_xy(place, np.asarray(x, float), np.asarray(y, float))
    if among is not None:
        far &= among
    if far.any():
        left[f"located more than {margin_m:g} m outside {Path(boundary).name}"] = int(far.sum())
    return far


def nothing_left(path: str | Path, what: str, left: dict[str, int], check: str) -> InputError:
    """The error of an import that leaves nothing: each reason with its count, and what to check."""
    return InputError(f"{Path(path).name}: no {what} is left to import ("
                      + "; ".join(f"{n} {r}" for r, n in left.items()) + f"); check {check}")


def assumed(**figures: object) -> tuple[dict[str, object], str]:
    """Assumed figures as columns, and the ``assumed`` cell naming them.

    Parameters
    ----------
    **figures
        Column -> the value assumed.

    Returns
    -------
    values, names
        The figures, and their column names separated by spaces.
    """
    return dict(figures), " ".join(figures)


def appended(existing: Path, new: pd.DataFrame, id_column: str) -> pd.DataFrame:
    """A table already written, with an import's rows added below it.

    Parameters
    ----------
    existing
        The CSV written by an earlier import (read as text; absent: ``new`` alone).
    new
        The rows to add; columns the earlier file lacks are added (blank above).
    id_column
        ``site_id`` or ``service_id``: an id in both is refused.

    Raises
    ------
    InputError
        Ids already in the file: the same register imported twice.
    """
    if not existing.exists():
        return new
    old = read_csv_cells(existing)
    twice = sorted(set(old[id_column]) & set(new[id_column].astype(str)))
    if twice:
        raise InputError(f"{existing}: already has {id_column} {shortlist(twice, 6)}: this "
                         "register (or one with the same codes) was imported into the folder "
                         "before; nothing was written. Import without --append to start the "
                         "folder's tables afresh, or into another folder")
    return pd.concat([old, new.astype(object)], ignore_index=True).fillna("")
