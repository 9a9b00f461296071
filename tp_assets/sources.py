"""Adapters from public open-data formats to the tp-assets input schema.

Each adapter reads files as they are published and returns a table in the schema
of ``data/README.md``, reporting what did not match rather than dropping it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from tp_assets._errors import InputError, shortlist
from tp_assets._tables import RawTable, read_csv_cells, read_table
from tp_assets._toml import suggest


def ons_zones(boundaries: str | Path, population: str | Path, *, boundary_code: str,
              table_code: str, population_column: str, name_column: str | None = None,
              band_column: str | None = None) -> gpd.GeoDataFrame:
    """Join ONS area boundaries (LSOA / OA) to a census population table.

    Parameters
    ----------
    boundaries
        Boundary file (shapefile, GeoPackage or GeoJSON) with one polygon per area.
    population
        CSV with one row per area code.
    boundary_code
        Column of ``boundaries`` holding the area code (e.g. ``"LSOA21CD"``).
    table_code
        Column of ``population`` holding the area code (e.g. ``"lsoa21_code"``).
    population_column
        Column of ``population`` holding residents (people).
    name_column
        Column of ``boundaries`` with the area name, copied to ``name``.
    band_column
        For a long table with one row per area and age band (e.g. ``"age_group"``):
        each band becomes a demand column ``pop_<band>`` (``"Aged 65 years and
        over"`` -> ``pop_aged_65_years_and_over``) and ``population`` their sum.

    Returns
    -------
    geopandas.GeoDataFrame
        Zones schema: ``zone_id``, ``name``, ``population`` (people) and any
        ``pop_*`` band columns, polygons in the boundary file's CRS.

    Raises
    ------
    InputError
        A missing column, duplicate codes in the population table, a non-numeric
        count, or codes present in one file and not the other (listed).
    """
    bpath, ppath = Path(boundaries), Path(population)
    shapes = read_table(bpath)
    table = read_table(ppath)
    problems = [f"{path.name}: no column '{col}'; columns present: "
                f"{', '.join(map(str, frame.columns))}"
                for path, frame, col in ((bpath, shapes.cells, boundary_code),
                                         (bpath, shapes.cells, name_column),
                                         (ppath, table.cells, table_code),
                                         (ppath, table.cells, population_column),
                                         (ppath, table.cells, band_column))
                if col is not None and col not in frame.columns]
    if problems:
        raise InputError(problems)
    codes = table.cells[table_code].astype(str).str.strip()
    bands = (table.cells[band_column].astype(str).str.strip() if band_column
             else pd.Series("", index=codes.index))
    keys = codes + "\x00" + bands
    repeated = np.flatnonzero(keys.duplicated(keep=False).to_numpy())
    need = ("; the population table needs one row per area"
            + (" and band" if band_column else " (or give --band-column for a table by age "
               "band)"))
    if len(repeated) > 8:  # a table by age band, most likely: one message, not hundreds
        i = int(repeated[0])
        problems.append(f"{table.path.name}, column '{table_code}': {len(repeated)} rows repeat "
                        f"a code (first {table.label(i)}: duplicate code "
                        f"{codes[i]!r}){need}")
    else:
        problems += [f"{table.where(int(i))}, column '{table_code}': duplicate code "
                     f"{codes[i]!r}" + (f" for {band_column} {bands[i]!r}" if band_column
                                        else "") + need for i in repeated]
    counts = pd.to_numeric(table.cells[population_column], errors="coerce")
    problems += [f"{table.where(int(i), codes[i], table_code)}, column '{population_column}': "
                 f"value {table.cells[population_column][i]!r} is not a count of people"
                 for i in np.flatnonzero(counts.isna() | (counts < 0))]
    area_codes = shapes.cells[boundary_code].astype(str).str.strip()
    only_shapes = sorted(set(area_codes) - set(codes))
    only_table = sorted(set(codes) - set(area_codes))
    for label, missing, other in ((bpath.name, only_shapes, ppath.name),
                                  (ppath.name, only_table, bpath.name)):
        if missing:
            problems.append(f"{label}: {len(missing)} code(s) not found in {other}: "
                            + ", ".join(missing[:12]) + (" ..." if len(missing) > 12 else "")
                            + "; check both files use the same census year (2011 vs 2021 "
                            "codes)")
    if problems:
        raise InputError(problems)
    long = pd.DataFrame({"code": codes, "band": bands, "people": counts})
    people = long.groupby("code")["people"].sum()
    frame = pd.DataFrame({
        "zone_id": area_codes,
        "name": shapes.cells[name_column].astype(str) if name_column else "",
        "population": people.reindex(area_codes).to_numpy(),
    })
    if band_column:
        wide = long.pivot_table(index="code", columns="band", values="people", aggfunc="sum",
                                fill_value=0)
        for band in wide.columns:
            slug = re.sub(r"[^a-z0-9]+", "_", str(band).lower()).strip("_")
            frame[f"pop_{slug}"] = wide[band].reindex(area_codes).to_numpy()
    return gpd.GeoDataFrame(frame, geometry=shapes.geometry.to_numpy(), crs=shapes.geometry.crs)


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
    table = read_table(Path(codepoint))
    missing = [c for c in ("Postcode", "Eastings", "Northings") if c not in table.cells.columns]
    if missing:
        raise InputError(f"{Path(codepoint).name}: no column(s) {', '.join(missing)}; expected "
                         "OS Code-Point Open columns Postcode, Eastings, Northings")

    lookup = {_postcode(p): (float(e), float(n)) for p, e, n in zip(
        table.cells["Postcode"], table.cells["Eastings"], table.cells["Northings"], strict=True)}
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


#: Documented assumptions for attributes the national libraries dataset does not give.
LIBRARY_ASSUMPTIONS: dict[str, object] = {
    "gia_m2": 600.0, "tenure": "freehold", "benchmark": "cultural_activities",
    "area_m2": 400.0, "fte": 4.0, "heat_fuel": "gas",
}


def libraries(path: str | Path, codepoint: str | Path, *, authority: str | None = None,
              owner: str | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Sites and library services from the national public libraries dataset.

    Reads the DCMS / Arts Council England "basic dataset of libraries in England" CSV
    (columns ``name``, ``authority``, ``postcode``, ``uprn``, ``closed``,
    ``operation_23`` (LA: council run, CR: community run), ...), keeps the open
    libraries, locates each by its postcode (:func:`geocode_postcodes`; a postcode the
    table lacks falls back to the row's own ``cpo_easting``/``cpo_northing`` or
    ``easting``/``northing``, recorded in ``located_by``) and fills
    what the dataset does not say with :data:`LIBRARY_ASSUMPTIONS` (GIA 600 m2,
    freehold, CIBSE TM46 "cultural activities", a 400 m2, 4 FTE library service),
    written as plain values so a user can replace them.

    Parameters
    ----------
    path
        The libraries CSV.
    codepoint
        Code-Point Open style postcode table.
    authority
        Keep only this library authority (e.g. ``"Lewisham"``).
    owner
        Owner written for council-run libraries (default: ``"<authority> Council"``).

    Returns
    -------
    sites, services
        Tables in the input schema (sites with ``x``/``y`` in EPSG:27700).
    """
    table = read_table(Path(path))
    cells = table.cells
    needed = [c for c in ("name", "postcode", "authority", "closed") if c not in cells.columns]
    if needed:
        raise InputError(f"{Path(path).name}: no column(s) {', '.join(needed)}; expected the "
                         "libraries dataset's columns (name, authority, postcode, closed, ...)")
    keep = cells["closed"].astype(str).str.strip() == ""
    if authority:
        named = cells["authority"].astype(str).str.strip()
        keep &= named.str.casefold() == authority.strip().casefold()
        if not keep.any():
            present = sorted(set(named[named != ""]))
            raise InputError(f"{Path(path).name}: no open library has authority {authority!r}"
                             f"{suggest(authority, present)}; nothing was written. "
                             f"Authorities in the file: {shortlist(present, 12)}")
    rows = cells[keep]
    if table.rows is not None:  # index by place in the file, so messages name its rows
        rows = rows.set_axis(table.rows[keep.to_numpy()] - 2)
    given = None
    for ex, ny in (("cpo_easting", "cpo_northing"), ("easting", "northing")):
        if ex in rows.columns and ny in rows.columns:
            given = pd.DataFrame({"x": pd.to_numeric(rows[ex], errors="coerce"),
                                  "y": pd.to_numeric(rows[ny], errors="coerce")})
            break
    xy = geocode_postcodes(rows["postcode"], codepoint, source=Path(path).name,
                           fallback=given)
    council = owner or f"{authority or 'Local authority'} Council"
    run_by = rows.get("operation_23", pd.Series("", index=rows.index)).astype(str)
    owners = np.where(run_by.str.upper() == "CR", "Community-run library trust", council)
    ids = [f"LIB{k + 1:02d}" for k in range(len(rows))]
    a = LIBRARY_ASSUMPTIONS
    sites = pd.DataFrame({
        "site_id": ids, "name": rows["name"].to_numpy(), "owner": owners,
        "x": xy["x"].to_numpy(), "y": xy["y"].to_numpy(), "postcode": rows["postcode"].to_numpy(),
        "located_by": xy["located_by"].to_numpy(),
        "uprn": rows.get("uprn", pd.Series("", index=rows.index)).to_numpy(),
        "gia_m2": a["gia_m2"], "tenure": a["tenure"], "heat_fuel": a["heat_fuel"],
        "benchmark": a["benchmark"], "status": "candidate",
    })
    services = pd.DataFrame({
        "service_id": [f"{i}-library" for i in ids], "site_id": ids,
        "service_type": "library", "owner": owners, "area_m2": a["area_m2"], "fte": a["fte"],
        "name": rows["name"].to_numpy(),
    })
    return sites, services


#: Display Energy Certificate register: main heating fuel -> our heat_fuel.
DEC_FUELS: dict[str, str] = {
    "natural gas": "gas", "gas": "gas", "lpg": "gas", "oil": "oil", "heating oil": "oil",
    "grid supplied electricity": "electric", "electricity": "electric",
    "district heating": "district", "biomass": "district",
}
DEC_COLUMNS = ("POSTCODE", "TOTAL_FLOOR_AREA", "ANNUAL_ELECTRICAL_FUEL_USAGE",
               "ANNUAL_THERMAL_FUEL_USAGE")


def _words(text: object) -> set[str]:
    return {w for w in re.split(r"[^a-z0-9]+", str(text).lower()) if len(w) > 2}


def apply_decs(sites: pd.DataFrame, certificates: str | Path, *,
               min_address_similarity: float = 0.5) -> pd.DataFrame:
    """Replace benchmark energy with metered figures from Display Energy Certificates.

    The DEC register's bulk CSV gives ``ANNUAL_ELECTRICAL_FUEL_USAGE`` and
    ``ANNUAL_THERMAL_FUEL_USAGE`` in kWh per m2 of floor area per year (the
    certificate's "Annual energy use, kWh/m2/year" table; the register's own code
    documents the fields so), so a site's kWh/yr is usage x ``TOTAL_FLOOR_AREA``.
    Sites are matched by UPRN, else by postcode with the address or name sharing at
    least ``min_address_similarity`` of its words (or the only building with
    certificates at that postcode, where no other site shares it); the latest
    certificate of a building is used (``LODGEMENT_DATE``, ISO or DD/MM/YYYY).

    Parameters
    ----------
    sites
        Sites table in the input schema, with optional ``uprn``, ``postcode`` and
        ``address`` columns.
    certificates
        The DEC register CSV (columns UPRN, POSTCODE, ADDRESS1..3, TOTAL_FLOOR_AREA,
        ANNUAL_ELECTRICAL_FUEL_USAGE, ANNUAL_THERMAL_FUEL_USAGE, MAIN_HEATING_FUEL,
        OPERATIONAL_RATING_BAND, LODGEMENT_DATE, ...).
    min_address_similarity
        Share (0-1) of the site's address words a certificate's address must share.

    Returns
    -------
    pandas.DataFrame
        ``sites`` with ``electricity_kwh_pa``, ``heat_kwh_pa`` (kWh/yr) and
        ``heat_fuel`` from matched certificates, and ``dec_match`` (``uprn``,
        ``postcode+address``, ``postcode`` or blank), ``dec_rating_band`` and
        ``dec_floor_area_m2`` (the certificate's floor area, to compare with
        ``gia_m2``). A postcode alone matches only where one building has
        certificates there and one site has that postcode.

    Raises
    ------
    InputError
        Missing columns, or certificates with zero, blank or non-numeric floor area
        or usage (file, row and column named).
    """
    path = Path(certificates)
    table = read_table(path)
    cells = table.cells
    missing = [c for c in DEC_COLUMNS if c not in cells.columns]
    if missing:
        raise InputError(f"{path.name}: no column(s) {', '.join(missing)}; expected the DEC "
                         "register's bulk CSV columns (UPRN, POSTCODE, TOTAL_FLOOR_AREA, "
                         "ANNUAL_ELECTRICAL_FUEL_USAGE, ANNUAL_THERMAL_FUEL_USAGE, ...)")
    problems = []
    numbers = {}
    for col in DEC_COLUMNS[1:]:
        values = pd.to_numeric(cells[col], errors="coerce")
        bad = values.isna() | (values < 0) | ((values == 0) & (col == "TOTAL_FLOOR_AREA"))
        problems += [f"{table.where(int(i))}, column '{col}': value {cells[col].iloc[i]!r} "
                     + ("must be a floor area in m2 greater than 0" if col == "TOTAL_FLOOR_AREA"
                        else "must be kWh per m2 per year, 0 or more")
                     + "; fix or drop the certificate"
                     for i in np.flatnonzero(bad.to_numpy())]
        numbers[col] = values
    if problems:
        raise InputError(problems)
    addresses = cells[[c for c in ("ADDRESS1", "ADDRESS2", "ADDRESS3") if c in cells.columns]]
    decs = pd.DataFrame({
        "uprn": cells.get("UPRN", pd.Series("", index=cells.index)).map(_digits),
        "postcode": cells["POSTCODE"].map(_postcode),
        "words": addresses.astype(str).agg(" ".join, axis=1).map(_words)
        if len(addresses.columns) else [set()] * len(cells),
        "area": numbers["TOTAL_FLOOR_AREA"],
        "elec": numbers["ANNUAL_ELECTRICAL_FUEL_USAGE"] * numbers["TOTAL_FLOOR_AREA"],
        "heat": numbers["ANNUAL_THERMAL_FUEL_USAGE"] * numbers["TOTAL_FLOOR_AREA"],
        "fuel": cells.get("MAIN_HEATING_FUEL", pd.Series("", index=cells.index))
        .astype(str).str.strip().str.lower().map(DEC_FUELS),
        "band": cells.get("OPERATIONAL_RATING_BAND", pd.Series("", index=cells.index)),
        "date": _lodged(table),
    }).sort_values("date", kind="stable", na_position="first")
    out = sites.copy()
    for col in ("electricity_kwh_pa", "heat_kwh_pa", "heat_fuel"):
        out[col] = (out[col] if col in out.columns else pd.Series("", index=out.index)
                    ).astype(object)
    records: list[dict[str, Any]] = [{str(k): v for k, v in r.items()}  # oldest first
                                     for r in decs.to_dict("records")]
    site_postcodes = out.get("postcode", pd.Series("", index=out.index)).map(_postcode)
    shared = set(site_postcodes[site_postcodes.duplicated(keep=False)])
    matches, bands, areas = [], [], []
    for i, site in out.iterrows():
        found: dict[str, Any] | None = None
        how = ""
        uprn = _digits(site.get("uprn", ""))
        by_uprn = [d for d in records if uprn and d["uprn"] == uprn]
        if by_uprn:
            found, how = by_uprn[-1], "uprn"
        postcode = _postcode(site.get("postcode", ""))
        at_postcode = [d for d in records if postcode and d["postcode"] == postcode]
        words = _words(f"{site.get('address', '')} {site.get('name', '')}")
        if found is None and at_postcode and words:
            best = max(at_postcode, key=lambda d: len(d["words"] & words))
            if len(best["words"] & words) / len(words) >= min_address_similarity:
                found, how = best, "postcode+address"
        if (found is None and at_postcode and len({d["uprn"] for d in at_postcode}) == 1
                and postcode not in shared):  # one building there, and one site
            found, how = at_postcode[-1], "postcode"
        if found is not None:
            out.loc[i, "electricity_kwh_pa"] = round(float(found["elec"]), 1)
            out.loc[i, "heat_kwh_pa"] = round(float(found["heat"]), 1)
            if isinstance(found["fuel"], str):
                out.loc[i, "heat_fuel"] = found["fuel"]
        matches.append(how)
        bands.append(found["band"] if found is not None else "")
        areas.append(float(found["area"]) if found is not None else np.nan)
    out["dec_match"] = matches
    out["dec_rating_band"] = bands
    out["dec_floor_area_m2"] = areas
    return out


def floor_areas_apart(sites: pd.DataFrame, ratio: float = 1.5) -> list[str]:
    """Sites whose matched certificate's floor area and ``gia_m2`` differ by ``ratio`` or more.

    Parameters
    ----------
    sites
        The output of :func:`apply_decs`.
    ratio
        The larger area over the smaller.

    Returns
    -------
    list of str
        ``"LIB03 (gia_m2 600, certificate 2,100 m2)"`` per such site.
    """
    gia = pd.to_numeric(sites.get("gia_m2", pd.Series(np.nan, index=sites.index)),
                        errors="coerce")
    area = sites["dec_floor_area_m2"]
    apart = (area > 0) & (gia > 0) & ((area >= ratio * gia) | (gia >= ratio * area))
    return [f"{sid} (gia_m2 {g:,.0f}, certificate {a:,.0f} m2)" for sid, g, a in
            zip(sites["site_id"][apart], gia[apart], area[apart], strict=True)]


def _lodged(table: RawTable) -> pd.Series:
    """Each certificate's ``LODGEMENT_DATE`` as a date (ISO, or DD/MM/YYYY as Excel saves it).

    Raises
    ------
    InputError
        A date in neither form (file, row and column named).
    """
    cells = table.cells
    text = cells.get("LODGEMENT_DATE", pd.Series("", index=cells.index)).astype(str).str.strip()
    iso = pd.to_datetime(text.str.slice(0, 10), format="%Y-%m-%d", errors="coerce")
    dmy = pd.to_datetime(text, format="%d/%m/%Y", errors="coerce")
    dates = iso.fillna(dmy)
    bad = np.flatnonzero(((text != "") & dates.isna()).to_numpy())
    if len(bad):
        raise InputError([f"{table.where(int(i))}, column 'LODGEMENT_DATE': value "
                          f"{text.iloc[i]!r} is not a date; write YYYY-MM-DD (or DD/MM/YYYY)"
                          for i in bad])
    return dates


def _postcode(value: object) -> str:
    """A postcode as a key: ``"se6 4ru"`` and ``"SE64RU"`` are ``"SE64RU"``."""
    return "".join(str(value).split()).upper()


def _digits(value: object) -> str:
    text = "".join(ch for ch in str(value) if ch.isdigit())
    return text.lstrip("0")


#: Column names councils use in Transparency Code land and building asset lists
#: (Code of Recommended Practice layout and common variants), by our column.
ASSET_COLUMNS: dict[str, tuple[str, ...]] = {
    "owner": ("organisation name", "organisation", "organisation label"),
    "uprn": ("unique property reference number (uprn)", "uprn"),
    "asset_id": ("unique asset id", "asset id", "property reference", "asset reference"),
    "name": ("name", "asset name", "property name"),
    "number": ("no", "street number", "number"),
    "street": ("street", "street name"),
    "town": ("post town", "town"),
    "postcode": ("post code", "postcode"),
    "x": ("x co-ordinate", "x coordinate", "easting", "geox"),
    "y": ("y co-ordinate", "y coordinate", "northing", "geoy"),
    "tenure": ("tenure", "tenure type"),
    "gia_m2": ("gia", "gia (m2)", "gross internal area", "floor area (m2)", "gia_m2"),
}


def asset_list(path: str | Path, *, codepoint: str | Path | None = None) -> pd.DataFrame:
    """Sites from a council's land and building asset list (Local Government Transparency Code).

    Recognises the Code of Recommended Practice columns (organisation, UPRN, unique
    asset id, name, number, street, post town, post code, X / Y co-ordinate (British
    National Grid), tenure) under the headings councils commonly use
    (:data:`ASSET_COLUMNS`, case-insensitive). Rows without coordinates are located
    by postcode when ``codepoint`` is given. A tenure naming a freehold stays freehold
    (also ``Freehold - leased out``, ``Freehold (ground lease)``: the council owns it);
    any other ``Leasehold`` variant becomes leasehold (``lease_end`` is then required and left
    blank for the user to fill, as is ``gia_m2`` where the list gives no floor area:
    ``tp-assets validate`` lists every cell still to fill).

    Parameters
    ----------
    path
        The asset list CSV.
    codepoint
        OS Code-Point Open style table for rows without coordinates.

    Returns
    -------
    pandas.DataFrame
        Sites in the input schema (``x``/``y`` in EPSG:27700) plus ``uprn``,
        ``asset_id`` and ``address``.

    Raises
    ------
    InputError
        Missing name, owner or tenure columns; rows with neither coordinates nor a
        known postcode.
    """
    file = Path(path)
    cells = read_csv_cells(file)
    lower = {c.strip().lower(): c for c in cells.columns}
    found = {ours: next((lower[c] for c in names if c in lower), None)
             for ours, names in ASSET_COLUMNS.items()}
    missing = [ours for ours in ("name", "owner", "tenure") if found[ours] is None]
    if missing:
        raise InputError(f"{file.name}: no column for {', '.join(missing)}; expected headings "
                         "such as " + "; ".join(f"{m}: {ASSET_COLUMNS[m][0]!r}" for m in missing))

    def column(ours: str) -> pd.Series:
        name = found[ours]
        return cells[name].astype(str).str.strip() if name else pd.Series("", index=cells.index)

    x = pd.to_numeric(column("x"), errors="coerce")
    y = pd.to_numeric(column("y"), errors="coerce")
    unlocated = x.isna() | y.isna() | ((x == 0) & (y == 0))  # 0, 0: a blank a system filled
    x[unlocated] = y[unlocated] = np.nan
    located_by = pd.Series(np.where(unlocated, "postcode", "source coordinates"),
                           index=cells.index)
    if unlocated.any():
        if codepoint is None:
            rows = [f"row {int(i) + 2}" for i in cells.index[unlocated.to_numpy()]]
            raise InputError(f"{file.name}: {len(rows)} asset(s) without X/Y co-ordinates "
                             f"(blank, or 0, 0) ({shortlist(rows, 12)}); give --postcodes to "
                             "locate them by post code")
        located = geocode_postcodes(column("postcode")[unlocated], codepoint, source=file.name)
        x[unlocated], y[unlocated] = located["x"], located["y"]
    tenure = column("tenure").str.lower().map(
        lambda t: "freehold" if "free" in t else ("leasehold" if "lease" in t else t))
    address = (column("number") + " " + column("street") + ", " + column("town") + " "
               + column("postcode")).str.strip(" ,")
    asset_id = column("asset_id")
    ids = asset_id.where(asset_id != "", [f"A{k + 1:04d}" for k in range(len(cells))])
    return pd.DataFrame({
        "site_id": ids.to_numpy(), "name": column("name").to_numpy(),
        "owner": column("owner").to_numpy(), "x": x.to_numpy(), "y": y.to_numpy(),
        "located_by": located_by.to_numpy(),
        "gia_m2": column("gia_m2").to_numpy(), "tenure": tenure.to_numpy(), "lease_end": "",
        "uprn": column("uprn").to_numpy(), "asset_id": asset_id.to_numpy(),
        "postcode": column("postcode").to_numpy(), "address": address.to_numpy(),
    })
