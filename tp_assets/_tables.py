"""Private plumbing: read one input table (CSV, GeoPackage, GeoJSON) into raw cells.

The reader does not judge the values: it returns every cell as read, the geometry
reprojected to the working CRS, and the problems that stop the file from being
read at all. :mod:`tp_assets.estate` parses and validates the cells.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import os
import tempfile
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from tp_assets import _interrupt
from tp_assets._errors import InputError, shortlist
from tp_assets.settings import WORKING_CRS

#: File suffixes read as CSV and as vector geodata.
CSV_SUFFIXES = (".csv", ".txt")
GEO_SUFFIXES = (".gpkg", ".geojson", ".json", ".shp")


@dataclass
class RawTable:
    """One input table as read, before its values are parsed.

    Attributes
    ----------
    path
        The file it came from.
    cells
        Attribute columns, one row per record, values as read (``str`` for CSV).
    geometry
        Geometry per row in EPSG:27700 (``None`` where the row has none).
    source_xy
        Coordinates of each row's representative point in the file's own CRS
        (NaN where the row has no geometry); used to spot swapped axes.
    source_crs
        The CRS the file's coordinates were declared in.
    is_csv
        Whether rows are numbered as a spreadsheet shows them (header = row 1).
    rows
        The number messages give each record: the row a spreadsheet shows (CSV, blank
        rows dropped but counted), else the feature number.
    """

    path: Path
    cells: pd.DataFrame
    geometry: gpd.GeoSeries
    source_xy: np.ndarray
    source_crs: pyproj.CRS | None
    is_csv: bool
    problems: list[str] = field(default_factory=list)
    rows: np.ndarray | None = None

    def number(self, i: int) -> int:
        """The number messages give row ``i`` (0-based): see :attr:`rows`."""
        return int(self.rows[i]) if self.rows is not None else i + 1

    def label(self, i: int, id_value: object = None, id_name: str | None = None) -> str:
        """Row ``i`` (0-based) as messages name it within the file: ``row 4 (site_id S3)``.

        Parameters
        ----------
        i
            Position of the record, 0-based.
        id_value, id_name
            The record's identifier, named where known.
        """
        ident = f" ({id_name} {id_value})" if id_name and _present(id_value) else ""
        return f"{record_unit(self.path)} {self.number(i)}{ident}"

    def where(self, i: int, id_value: object = None, id_name: str | None = None) -> str:
        """Locate row ``i`` (0-based) for a message: ``sites.csv row 4 (site_id S3)``."""
        return f"{self.path.name} {self.label(i, id_value, id_name)}"


def record_unit(path: Path) -> str:
    """What messages call a record of ``path``: ``row`` (CSV) or ``feature`` (geodata)."""
    return "row" if path.suffix.lower() in CSV_SUFFIXES else "feature"


def _present(value: object) -> bool:
    if value is None:
        return False
    if isinstance(value, float) and np.isnan(value):
        return False
    return str(value).strip() != ""


def file_sha256(path: Path) -> str:
    """SHA-256 of a file, read in 1 MiB blocks (for cache keys and audit trails).

    Parameters
    ----------
    path
        The file.
    """
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@contextlib.contextmanager
def atomic_file(path: Path, mode: str = "wb") -> Iterator[IO[Any]]:
    """Write a file whole or not at all.

    The block writes a unique temporary file beside ``path``, renamed onto it (mode
    0644) when the block ends without error and deleted otherwise.

    Parameters
    ----------
    path
        The file to write; its folder is created if missing.
    mode
        ``"wb"`` or ``"w"`` (UTF-8 text).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        encoding = None if "b" in mode else "utf-8"
        with _interrupt.temporary(Path(tmp)):
            with os.fdopen(fd, mode, encoding=encoding) as f:
                yield f
            os.chmod(tmp, 0o644)
            with _interrupt.commit():
                os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def parse_crs(value: str, *, where: str) -> pyproj.CRS:
    """Turn a user's CRS text (``"EPSG:27700"``) into a CRS, or raise a clear error.

    Parameters
    ----------
    value
        Anything :func:`pyproj.CRS.from_user_input` accepts.
    where
        Where the value was given, for the message (file and key).
    """
    try:
        return pyproj.CRS.from_user_input(value)
    except pyproj.exceptions.CRSError:
        raise InputError(
            f"{where}: unknown CRS {value!r}; give an EPSG code such as "
            '"EPSG:27700" (British National Grid) or "EPSG:4326" (longitude/latitude)'
        ) from None


def read_table(path: Path, *, crs: str | None = None, layer: str | None = None) -> RawTable:
    """Read a CSV, GeoPackage or GeoJSON table.

    Parameters
    ----------
    path
        The file. CSV files locate rows by ``x``/``y`` columns (in ``crs``) or by
        ``lon``/``lat`` columns (WGS84, EPSG:4326); a CSV may also carry no
        coordinates at all (services).
    crs
        CRS of a CSV's ``x``/``y`` columns, e.g. ``"EPSG:27700"``. Ignored for
        geodata files, which carry their own CRS.
    layer
        Layer to read from a multi-layer GeoPackage (default: the first).

    Returns
    -------
    RawTable
        The cells and geometry (EPSG:27700). File-level problems (unreadable,
        empty, wrong encoding, missing CRS) raise :class:`InputError` at once,
        since nothing further can be checked.
    """
    if not path.exists():
        raise InputError(f"{path}: file not found; check the path (one named in place.toml or "
                         "a scenario is read relative to that file)")
    if path.is_dir():
        raise InputError(f"{path}: is a folder, not a table file; name a .csv, .gpkg or .geojson")
    suffix = path.suffix.lower()
    if suffix in CSV_SUFFIXES:
        return _read_csv(path, crs)
    if suffix in GEO_SUFFIXES:
        return _read_geo(path, layer)
    raise InputError(f"{path}: unsupported file type {suffix!r}; use CSV (.csv), "
                     "GeoPackage (.gpkg) or GeoJSON (.geojson)")


def data_table(name: str) -> pd.DataFrame:
    """A table shipped in ``tp_assets/data`` (every cell as text, blanks as ``""``)."""
    from importlib import resources

    ref = resources.files("tp_assets") / "data" / name
    with ref.open("r", encoding="utf-8") as f:
        return pd.read_csv(f, keep_default_na=False, dtype=str)


def read_csv_cells(path: Path, records: list[list[str]] | None = None) -> pd.DataFrame:
    """Read a CSV's cells as text, with clear errors for unreadable, empty or non-UTF-8 files.

    Rows with every cell blank (spreadsheets often save some at the end) are dropped;
    the index keeps each row's place in the file (0 = the row under the header), so
    ``index + 2`` is the row number a spreadsheet shows.

    Parameters
    ----------
    path
        The CSV file (named in messages).
    records
        Its records, where already read (:func:`csv_records`); read from ``path`` if not.
    """
    records = csv_records(path) if records is None else records
    header = [c.strip() for c in records[0]]
    while len(header) > 1 and header[-1] == "":  # a spreadsheet's empty columns at the end
        header.pop()
    if len(header) == 1 and ";" in header[0]:
        raise InputError(f"{path.name}: columns are separated by ';' not ','; save it as "
                         "comma-separated CSV")
    twice = sorted({c for c in header if header.count(c) > 1})
    if twice:
        raise InputError(f"{path.name} row 1: column{'s' * (len(twice) > 1)} "
                         f"{', '.join(repr(c) for c in twice)} appear{'s' * (len(twice) == 1)} "
                         "more than once in the header; keep one of each")
    rows = []
    for number, cells in enumerate(records[1:], start=2):
        if len(cells) > len(header) and any(c.strip() for c in cells[len(header):]):
            raise InputError(
                f"{path.name} row {number}: has {len(cells)} cells where the header has "
                f"{len(header)}; put a cell that holds a comma in double quotes, e.g. "
                '"Library, Deptford" (a spreadsheet\'s Save As CSV does this), or remove the '
                "extra commas")
        rows.append((cells + [""] * len(header))[:len(header)])  # empty extra cells dropped
    frame = pd.DataFrame(rows, columns=header, dtype=str)
    frame = frame[frame.apply(lambda col: col.str.strip() != "").any(axis=1)]
    if len(frame) == 0:
        raise InputError(f"{path.name}: has a header row but no data rows")
    return frame


def csv_records(path: Path) -> list[list[str]]:
    """A CSV file's records as lists of text cells, header (if any) included.

    Parameters
    ----------
    path
        The CSV file (UTF-8, with or without a byte-order mark).

    Raises
    ------
    InputError
        The file is missing, a folder, unreadable, UTF-16, not UTF-8, empty or not CSV.
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{path}: file not found; check the path") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a folder; give the CSV file in it") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror}); "
                         "check its permissions") from None
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InputError(f"{path.name}: UTF-16 text (Excel's 'Unicode Text'); save it as "
                         "'CSV UTF-8' (Excel: File > Save As > CSV UTF-8) or convert it, e.g. "
                         f"iconv -f utf-16 -t utf-8 {path.name}")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputError(
            f"{path.name}: not UTF-8 text (byte 0x{data[exc.start]:02X} on line {line}); "
            "save it as 'CSV UTF-8' (Excel: File > Save As > CSV UTF-8) or convert it, "
            f"e.g. iconv -f cp1252 -t utf-8 {path.name}"
        ) from None
    if not text.strip():
        raise InputError(f"{path.name}: the file is empty; it needs a header row and one row "
                         "per record (see data/README.md)")
    # a cell may hold far more than csv's default 128 kB: read it, then cut it with a note
    csv.field_size_limit(max(csv.field_size_limit(), len(text)))
    try:
        return list(csv.reader(io.StringIO(text), skipinitialspace=True))
    except csv.Error as exc:
        raise InputError(f"{path.name}: not a readable CSV table ({exc}); use commas between "
                         "columns and one header row") from None


def _read_csv(path: Path, crs: str | None) -> RawTable:
    cells = read_csv_cells(path)
    rows = cells.index.to_numpy() + 2
    cells = cells.reset_index(drop=True)
    cols = set(cells.columns)
    n = len(cells)
    if {"lon", "lat"} <= cols:
        source_crs: pyproj.CRS | None = pyproj.CRS.from_epsg(4326)
        xs, ys = cells["lon"], cells["lat"]
        xname, yname = "lon", "lat"
    elif {"x", "y"} <= cols:
        if crs is None or str(crs).strip() == "":
            raise InputError(
                f"{path.name}: has x/y coordinates but no CRS is declared; add "
                'crs = "EPSG:27700" (or the right EPSG code) to its table in place.toml, '
                "or give lon/lat columns in WGS84 instead"
            )
        source_crs = parse_crs(crs, where=f"{path.name} (crs)")
        xs, ys = cells["x"], cells["y"]
        xname, yname = "x", "y"
    else:
        empty = gpd.GeoSeries([None] * n, crs=WORKING_CRS)
        return RawTable(path, cells, empty, np.full((n, 2), np.nan), None, is_csv=True,
                        rows=rows)

    problems: list[str] = []
    xy = np.full((n, 2), np.nan)
    for i, (xv, yv) in enumerate(zip(xs, ys, strict=True)):
        if xv.strip() == "" and yv.strip() == "":
            continue
        for j, (name, value) in enumerate(((xname, xv), (yname, yv))):
            try:
                xy[i, j] = float(value)
            except ValueError:
                problems.append(f"{path.name} row {rows[i]}, column '{name}': value {value!r} is "
                                "not a number; write plain decimal coordinates")
                xy[i] = np.nan
                break
    points = shapely.points(xy)
    points = np.where(np.isnan(xy).any(axis=1), None, points)
    geom = gpd.GeoSeries(points, crs=source_crs).to_crs(WORKING_CRS)
    lost = np.flatnonzero(~np.isnan(xy).any(axis=1) & ~np.isfinite(
        np.column_stack([geom.x.to_numpy(), geom.y.to_numpy()])).all(axis=1))
    if len(lost):
        assert source_crs is not None
        raise InputError(_outside_crs(path, rows[lost], xy[lost], (xname, yname), source_crs))
    table = RawTable(path, cells, geom, xy, source_crs, is_csv=True, problems=problems,
                     rows=rows)
    return table


def _outside_crs(path: Path, rows: np.ndarray, xy: np.ndarray, names: tuple[str, str],
                 crs: pyproj.CRS) -> str:
    """The message for coordinates that the declared CRS cannot place on Earth."""
    listed = shortlist(list(rows))
    (x, y), label = xy[0], crs.to_string()
    return (f"{path.name} row{'s' * (len(rows) > 1)} {listed}: {names[0]}/{names[1]} cannot be "
            f"{label} coordinates (row {rows[0]}: {names[0]} {x:.12g}, {names[1]} {y:.12g} is "
            f"outside what {label} can place on Earth); {crs_fix(xy, names, crs)}")


#: The extent of British National Grid coordinates over Great Britain (m): eastings, northings.
GB_GRID_M = (700_000.0, 1_300_000.0)


def on_gb_grid(xy: np.ndarray) -> np.ndarray:
    """Whether each (easting, northing) lies within Great Britain's grid (:data:`GB_GRID_M`)."""
    xy = np.asarray(xy, dtype=float).reshape(-1, 2)
    return np.asarray(((xy >= 0) & (xy <= GB_GRID_M)).all(axis=1))


def crs_fix(xy: np.ndarray, names: tuple[str, str] = ("x", "y"),
            declared: pyproj.CRS | None = None) -> str:
    """What to do about coordinates that do not land in the place.

    Parameters
    ----------
    xy
        The coordinates as written, one row per record.
    names
        Their columns: ``("lon", "lat")`` or ``("x", "y")``.
    declared
        The CRS they were read in.
    """
    grid = bool(on_gb_grid(xy).all())
    degrees = bool((np.abs(xy) <= [180, 90]).all())
    epsg = declared.to_epsg() if declared is not None else None
    if (grid and epsg == 27700) or (degrees and (epsg == 4326 or names == ("lon", "lat"))):
        return (f"they are {declared.to_string() if declared else 'WGS84'} coordinates of "
                "somewhere else: check that the table is this place's, and the place's "
                "boundary")
    if names == ("lon", "lat"):
        return "lon/lat columns must hold WGS84 degrees; name projected coordinates x/y instead"
    if grid:
        return ('they look like British National Grid metres: declare crs = "EPSG:27700" for '
                "this table in place.toml")
    if degrees:
        return "they look like longitude/latitude degrees: name the columns lon and lat"
    return "declare the CRS they are in for this table in place.toml (crs)"


def _read_geo(path: Path, layer: str | None) -> RawTable:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            gdf = gpd.read_file(path, layer=layer) if layer else gpd.read_file(path)
    except Exception as exc:  # pyogrio raises DataSourceError / DataLayerError and others
        raise InputError(f"{path.name}: cannot be read as geodata ({exc}); check that it is a "
                         "valid GeoPackage or GeoJSON file") from None
    if len(gdf) == 0:
        raise InputError(f"{path.name}: the layer has no features")
    if gdf.crs is None:
        raise InputError(f"{path.name}: the file declares no CRS; set one in QGIS "
                         "(Layer > Set CRS) or with ogr2ogr -a_srs EPSG:27700")
    source_crs = pyproj.CRS.from_user_input(gdf.crs)
    geom = gdf.geometry
    missing = geom.isna() | geom.is_empty
    reps = geom.copy()
    reps[~missing] = geom[~missing].representative_point()
    xy = np.column_stack([
        np.where(missing, np.nan, reps.x.where(~missing)),
        np.where(missing, np.nan, reps.y.where(~missing)),
    ]) if len(reps) else np.empty((0, 2))
    cells = pd.DataFrame(gdf.drop(columns=gdf.geometry.name))
    out_geom = geom.to_crs(WORKING_CRS)
    out_geom = gpd.GeoSeries(np.where(missing, None, out_geom.values), crs=WORKING_CRS)
    return RawTable(path, cells.reset_index(drop=True), out_geom, xy, source_crs, is_csv=False,
                    rows=np.arange(len(cells)) + 1)


def swapped_in_place(table: RawTable, i: int, place: shapely.Geometry) -> bool:
    """Whether row ``i`` would fall inside ``place`` if its two coordinates were swapped.

    Parameters
    ----------
    table
        The table the row comes from.
    i
        Row position, 0-based.
    place
        The place's area in EPSG:27700 (boundary plus margin).
    """
    x, y = table.source_xy[i]
    if table.source_crs is None or np.isnan(x) or np.isnan(y):
        return False
    try:
        transformer = pyproj.Transformer.from_crs(table.source_crs, WORKING_CRS, always_xy=True)
        sx, sy = transformer.transform(y, x)
    except pyproj.exceptions.ProjError:
        return False
    if not (np.isfinite(sx) and np.isfinite(sy)):
        return False
    return bool(place.contains(shapely.Point(sx, sy)))


def read_boundary(path: Path) -> shapely.Geometry:
    """A place's boundary: the union of a polygon file's polygons, in EPSG:27700.

    Parameters
    ----------
    path
        Shapefile, GeoPackage or GeoJSON with a declared CRS.

    Raises
    ------
    InputError
        No polygon in the file, or only points or lines.
    """
    table = read_table(path)
    geoms = [g for g in table.geometry if g is not None]
    if not geoms:
        raise InputError(f"{path.name}: the boundary file has no polygon")
    merged = shapely.union_all(shapely.make_valid(np.asarray(geoms, dtype=object)))
    if merged.area == 0:
        raise InputError(f"{path.name}: the boundary must be a polygon, not "
                         f"{merged.geom_type}")
    return merged
