"""Writing results: CSV for finance systems, GeoPackage for GIS, all-or-nothing folders.

CSV conventions (the contract finance teams import): UTF-8, comma-separated, one
header row, no index column, ISO dates, plain numbers (no thousands separators or
currency symbols), text cells that a spreadsheet would run as a formula neutralised.
A results folder is written to a temporary sibling and renamed into place, so a
failed or interrupted run leaves the previous results untouched.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from tp_assets._errors import InputError

#: Leading characters that make spreadsheet software treat a cell as a formula.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: object) -> object:
    """Prefix a text cell that a spreadsheet would run as a formula with a quote.

    Parameters
    ----------
    value
        A cell value; only strings are changed.
    """
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def _plain(value: float) -> str:
    """A number in a mixed column as plain decimals (at most 6, no exponent; NaN: empty)."""
    if not np.isfinite(value):
        return ""
    return f"{round(value, 6) + 0.0:.6f}".rstrip("0").rstrip(".")


def write_csv(frame: pd.DataFrame, path: Path, *, decimals: dict[str, int] | None = None
              ) -> None:
    """Write a table as CSV following the finance contract.

    Parameters
    ----------
    frame
        The table; text columns are neutralised against formula injection.
    path
        Output file.
    decimals
        Fixed decimals per column (e.g. ``{"gbp": 2}`` writes 1200 as ``1200.00``);
        other floats are written with up to 6 decimals. ``inf`` and NaN are written
        as an empty cell.
    """
    out = frame.copy()
    fixed = decimals or {}
    for col in out.columns:
        series = out[col]
        if col in fixed and pd.api.types.is_numeric_dtype(series) and not \
                pd.api.types.is_bool_dtype(series):
            digits = fixed[col]
            values = series.astype(float).replace([np.inf, -np.inf], np.nan).round(digits)
            out[col] = [("" if np.isnan(v) else f"{v + 0.0:.{digits}f}") for v in values]
        elif pd.api.types.is_float_dtype(series):
            out[col] = series.round(6).replace([np.inf, -np.inf], np.nan)
        elif pd.api.types.is_datetime64_any_dtype(series):
            out[col] = series.dt.strftime("%Y-%m-%d")
        elif pd.api.types.is_object_dtype(series) or pd.api.types.is_string_dtype(series):
            out[col] = series.map(lambda v: _plain(v) if isinstance(v, float) else neutralise(v))
    out.to_csv(path, index=False, encoding="utf-8", lineterminator="\n",
               float_format="%.10g")


def write_gpkg(layers: dict[str, gpd.GeoDataFrame], path: Path) -> None:
    """Write GeoDataFrames as layers of one GeoPackage (opens in QGIS).

    Parameters
    ----------
    layers
        Layer name to GeoDataFrame (any CRS; EPSG:27700 inside tp-assets).
    path
        Output ``.gpkg`` file; replaced if it exists.
    """
    if path.exists():
        path.unlink()
    for name, frame in layers.items():
        frame.to_file(path, layer=name, driver="GPKG")


@contextlib.contextmanager
def atomic_folder(target: Path) -> Iterator[Path]:
    """Write a folder all-or-nothing.

    Yields a temporary folder beside ``target``; when the block ends without error it
    replaces ``target`` (the previous contents are removed only then). On any error,
    or Ctrl-C, the temporary folder is removed and ``target`` is untouched.

    Parameters
    ----------
    target
        The folder to (re)write.

    Raises
    ------
    InputError
        If the parent folder cannot be created or written.
    """
    parent = target.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=parent))
        umask = os.umask(0)
        os.umask(umask)
        tmp.chmod(0o777 & ~umask)  # mkdtemp makes it private; results are for sharing
    except OSError as exc:
        raise InputError(f"{parent}: cannot write results there ({exc.strerror}); choose "
                         "another folder with --out") from None
    try:
        yield tmp
        old = None
        if target.exists():
            old = parent / f".{target.name}.old"
            if old.exists():
                shutil.rmtree(old)
            os.replace(target, old)
        os.replace(tmp, target)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
