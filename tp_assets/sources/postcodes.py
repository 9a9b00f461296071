"""Locating published records by postcode (OS Code-Point Open)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from tp_assets._errors import InputError
from tp_assets._tables import read_table


def geocode_postcodes(postcodes: pd.Series, codepoint: str | Path, *, source: str = "",
                      fallback: pd.DataFrame | None = None) -> pd.DataFrame:
    """Locate postcodes from an OS Code-Point Open style table.

    Parameters
    ----------
    postcodes
        Postcodes as written (spacing and case are normalised), indexed by their place
        in the file (0 = the first row under the header; messages add 2).
    codepoint
        CSV with columns ``Postcode``, ``Eastings``, ``Northings`` (EPSG:27700 metres;
        the header of OS Code-Point Open's documentation).
    source
        Name of the file the postcodes come from, for messages.
    fallback
        ``x``, ``y`` (EPSG:27700) given in the source itself, same index, NaN where
        absent: used for postcodes the table lacks (e.g. a postcode across the
        border of a table cut to one borough).

    Returns
    -------
    pandas.DataFrame
        ``x``, ``y`` (EPSG:27700 metres) and ``located_by`` (``postcode`` or
        ``source coordinates``), same index as ``postcodes``.

    Raises
    ------
    InputError
        Listing every postcode not in the table, with its row.
    """
    lookup = postcode_table(codepoint)
    has_xy = (fallback[["x", "y"]].notna().all(axis=1) if fallback is not None
              else pd.Series(False, index=postcodes.index))
    unknown = [f"row {int(i) + 2}: {p!r}" for i, p, ok in zip(postcodes.index, postcodes, has_xy,
                                                               strict=True)
               if _postcode(p) not in lookup and not ok]
    if unknown:
        raise InputError(f"{source or 'postcodes'}: {len(unknown)} postcode(s) not found in "
                         f"{Path(codepoint).name}: " + "; ".join(unknown[:20])
                         + "; check them, or give x/y coordinates for those rows")
    rows = []
    given = (fallback[["x", "y"]].to_numpy(dtype=float) if fallback is not None
             else np.full((len(postcodes), 2), np.nan))
    for i, p in enumerate(postcodes):
        if _postcode(p) in lookup:
            rows.append((*lookup[_postcode(p)], "postcode"))
        else:
            rows.append((float(given[i, 0]), float(given[i, 1]), "source coordinates"))
    return pd.DataFrame(rows, columns=["x", "y", "located_by"], index=postcodes.index)




def postcode_table(codepoint: str | Path) -> dict[str, tuple[float, float]]:
    """Postcode -> (easting, northing) from an OS Code-Point Open style table.

    Parameters
    ----------
    codepoint
        CSV with columns ``Postcode``, ``Eastings``, ``Northings`` (EPSG:27700 metres).

    Returns
    -------
    dict
        Keyed by the postcode without spaces, in capitals (``"SE64RU"``).

    Raises
    ------
    InputError
        A column missing.
    """
    table = read_table(Path(codepoint))
    missing = [c for c in ("Postcode", "Eastings", "Northings") if c not in table.cells.columns]
    if missing:
        raise InputError(f"{Path(codepoint).name}: no column(s) {', '.join(missing)}; expected "
                         "OS Code-Point Open columns Postcode, Eastings, Northings")
    return {_postcode(p): (float(e), float(n)) for p, e, n in zip(
        table.cells["Postcode"], table.cells["Eastings"], table.cells["Northings"], strict=True)}


def _postcode(value: object) -> str:
    """A postcode as a key: ``"se6 4ru"`` and ``"SE64RU"`` are ``"SE64RU"``."""
    return "".join(str(value).split()).upper()


def _digits(value: object) -> str:
    text = "".join(ch for ch in str(value) if ch.isdigit())
    return text.lstrip("0")

