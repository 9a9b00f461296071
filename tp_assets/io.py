"""Writing results: CSV for finance systems, GeoPackage for GIS, all-or-nothing folders.

CSV conventions (the contract finance teams import): UTF-8 with a byte-order mark
(so that Excel opens the file by double-click with accented names intact; pandas,
LibreOffice and most ledgers read it as UTF-8; Python's ``csv`` module needs
``encoding="utf-8-sig"``), comma-separated, one header row, no index column, ISO dates,
plain numbers (no thousands separators or currency symbols), free-text cells that a
spreadsheet would run as a formula neutralised, ids written exactly as in the register
(validation refuses an id that a spreadsheet would run). A results folder is written
to a temporary sibling and renamed into place, so a failed or interrupted run leaves
the previous results untouched; a full disk or a folder that cannot be written is an
:class:`~tp_assets._errors.InputError` naming the folder.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from tp_assets import _interrupt
from tp_assets._errors import InputError
from tp_assets._text import FORMULA_START

#: The encoding of every CSV written: UTF-8 with a byte-order mark (see above).
CSV_ENCODING = "utf-8-sig"

#: Columns holding ids, written exactly as read (never neutralised): ``*_id`` and these.
ID_COLUMNS = frozenset({"from_site", "to_site", "site_a", "site_b", "uprn"})


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
        The table; free-text columns are neutralised against formula injection, id
        columns (:func:`is_id_column`) are written as they are.
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
        elif is_id_column(str(col)):
            continue
        elif pd.api.types.is_object_dtype(series) or pd.api.types.is_string_dtype(series):
            out[col] = series.map(lambda v: _plain(v) if isinstance(v, float) else neutralise(v))
    out.to_csv(path, index=False, encoding=CSV_ENCODING, lineterminator="\n",
               float_format="%.10g")


def is_id_column(name: str) -> bool:
    """Whether a column holds ids (``site_id``, ``from_site``, ...), never altered on output."""
    return name.endswith("_id") or name in ID_COLUMNS


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


#: OS errors that are the machine's limits, not a bug: what each means for the user.
_LIMITS = {errno.ENOSPC: "the disk is full (no space left on device)",
           errno.EDQUOT: "the disk quota is used up",
           errno.EFBIG: "a file would exceed the largest file allowed (ulimit -f)",
           errno.EROFS: "it is on a read-only file system",
           errno.EACCES: "permission denied", errno.EPERM: "permission denied",
           errno.ENAMETOOLONG: "the path is too long for the file system"}

def _megabytes(n: float) -> str:
    return f"{n / 1e6:,.1f} MB"


def existing(folder: Path) -> Path:
    """``folder`` or its nearest parent that exists (the one a write would meet first)."""
    here = folder.absolute()
    while here != here.parent:
        try:
            if here.exists():
                return here
        except OSError:  # a name too long to look up: its parents may still exist
            pass
        here = here.parent
    return here


def free_bytes(folder: Path) -> int:
    """Free space (bytes) on the file system that holds ``folder`` or its nearest parent."""
    return shutil.disk_usage(existing(folder)).free


@contextlib.contextmanager
def machine_limits(folder: Path, *, needed_bytes: int | None = None,
                   option: str = "--out") -> Iterator[None]:
    """Turn the machine's limits met while writing into :class:`InputError` (exit code 2).

    A full disk, a used-up quota, a read-only or forbidden folder and a path too long
    for the file system end with a message naming ``folder``, what went wrong, the
    space needed and free (for a full disk) and the fix, instead of a traceback.

    Parameters
    ----------
    folder
        The folder being written.
    needed_bytes
        About how many bytes the whole write needs (said when the disk fills).
    option
        The command-line option that chooses another folder (``--out``, ``--maps``).
    """
    try:
        yield
    except InputError:
        raise
    except OSError as exc:
        if exc.errno not in _LIMITS:
            raise
        raise InputError(_limit_message(folder, exc.errno, needed_bytes, option,
                                        exc.filename)) from None
    except Exception:  # pyogrio's errors carry GDAL's or SQLite's text, no errno
        code = _probe(folder, needed_bytes or 1_000_000)
        if code is None:
            raise
        raise InputError(_limit_message(folder, code, needed_bytes, option, None)) from None


def _probe(folder: Path, size: int) -> int | None:
    """Whether the OS refuses ``size`` bytes, after a library's write failed without an errno.

    Returns
    -------
    int or None
        The errno of the machine's limit met (full disk, file size limit, ...), or
        ``None`` where the folder takes the bytes (the failure was something else).
    """
    chunk = b"\0" * 65_536
    try:
        fd, name = tempfile.mkstemp(prefix=".tp-assets-probe.", dir=folder)
    except OSError as exc:
        return exc.errno if exc.errno in _LIMITS else None
    try:
        with os.fdopen(fd, "wb") as f:
            for _ in range(min(size, 64_000_000) // len(chunk) + 1):
                f.write(chunk)
            f.flush()
            os.fsync(f.fileno())
    except OSError as exc:
        return exc.errno if exc.errno in _LIMITS else None
    finally:
        Path(name).unlink(missing_ok=True)
    return None


def _limit_message(folder: Path, code: int, needed_bytes: int | None, option: str,
                   filename: object) -> str:
    what = _LIMITS[code]
    name = (f" (writing {Path(str(filename)).name})"
            if filename and Path(str(filename)).absolute() != folder.absolute() else "")
    if code in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        need = (f"; the results need about {_megabytes(needed_bytes)}"
                if needed_bytes else "")
        return (f"{folder}: cannot write there: {what}{name}{need}, "
                f"{_megabytes(free_bytes(folder))} is free; free some space or choose another "
                f"folder with {option}. Nothing was written; previous results are untouched")
    if code == errno.ENAMETOOLONG:
        return (f"{folder}: cannot write there: {what}{name}; choose a shorter folder with "
                f"{option} or a shorter scenario name. Nothing was written")
    return (f"{folder}: cannot write there: {what}{name}; make it writable (chmod u+w) or "
            f"choose another folder with {option}. Nothing was written; previous results "
            "are untouched")


def check_space(folder: Path, needed_bytes: int, *, option: str = "--out") -> None:
    """Refuse to start writing ``needed_bytes`` where the disk has less free.

    Raises
    ------
    InputError
        Less free space than needed (exit code 2), with both figures.
    """
    if free_bytes(folder) < needed_bytes:
        raise InputError(_limit_message(folder, errno.ENOSPC, needed_bytes, option, None))


def check_writable(folder: Path, *, option: str = "--out") -> None:
    """Refuse, before any work, a folder (or the parent it would be made in) not writable.

    Raises
    ------
    InputError
        On a read-only file system or without permission to write (exit code 2).
    """
    here = existing(folder)
    if not here.is_dir():
        what = "the map" if option == "--maps" else "results"
        raise InputError(f"{folder}: cannot write {what} there: {here} is a file, not a folder; "
                         f"choose another folder with {option}")
    if os.statvfs(here).f_flag & os.ST_RDONLY:
        raise InputError(_limit_message(folder, errno.EROFS, None, option, None))
    if not os.access(here, os.W_OK | os.X_OK):
        raise InputError(_limit_message(folder, errno.EACCES, None, option, None))


def check_path(folder: Path, longest_name: str, *, option: str = "--out") -> None:
    """Refuse a folder whose files' paths the file system cannot hold.

    Parameters
    ----------
    folder
        Where files will be written (it need not exist yet).
    longest_name
        The longest file name that will be written in it.

    Raises
    ------
    InputError
        The full path is longer than the file system's limit (exit code 2).
    """
    limit = os.pathconf(existing(folder), "PC_PATH_MAX")
    full = len(os.fsencode(folder.absolute() / longest_name))
    if full >= limit:
        raise InputError(f"{folder}: the paths of its files would be {full} bytes long, and this "
                         f"file system takes at most {limit - 1}; choose a shorter folder with "
                         f"{option} or a shorter scenario name")


@contextlib.contextmanager
def atomic_files(*targets: Path, option: str = "--out") -> Iterator[list[Path]]:
    """Write some files all-or-nothing: temporary siblings renamed into place together.

    Yields one temporary path per target (same folder, same suffix); when the block
    ends without error they replace the targets. On any error or Ctrl-C the targets
    are untouched and the temporary files removed; the machine's limits are
    :class:`InputError` (:func:`machine_limits`).

    Parameters
    ----------
    targets
        The files to (re)write; their folders are made if missing.
    option
        The command-line option that chooses another place, for messages.
    """
    temporaries = []
    with contextlib.ExitStack() as stack:
        for target in targets:
            stack.enter_context(machine_limits(target.parent, option=option))
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, name = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=target.suffix,
                                        dir=target.parent)
            os.close(fd)
            temporaries.append(stack.enter_context(_interrupt.temporary(Path(name))))
            stack.callback(Path(name).unlink, missing_ok=True)
        yield temporaries
        with _interrupt.commit():
            for tmp, target in zip(temporaries, targets, strict=True):
                os.chmod(tmp, 0o644)
                os.replace(tmp, target)


@contextlib.contextmanager
def atomic_folder(target: Path, *, needed_bytes: int | None = None) -> Iterator[Path]:
    """Write a folder all-or-nothing.

    Yields a temporary folder beside ``target``; when the block ends without error it
    replaces ``target`` (the previous contents are removed only then). On any error,
    or Ctrl-C, the temporary folder is removed and ``target`` is untouched.

    Parameters
    ----------
    target
        The folder to (re)write.
    needed_bytes
        About how many bytes the block writes, for the message if the disk fills.

    Raises
    ------
    InputError
        If the parent folder cannot be created or written, or the disk fills
        (:func:`machine_limits`).
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
        with _interrupt.temporary(tmp), machine_limits(parent, needed_bytes=needed_bytes):
            yield tmp
            old = None
            with _interrupt.commit():
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
