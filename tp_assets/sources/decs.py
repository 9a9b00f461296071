"""Metered energy from Display Energy Certificates, matched to sites."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tp_assets._errors import InputError
from tp_assets._tables import RawTable, read_table
from tp_assets.sources.postcodes import _digits, _postcode

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

