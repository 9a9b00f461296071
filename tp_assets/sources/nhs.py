"""NHS Organisation Data Service registers: GP practices and community pharmacies.

NHS England's ODS publishes ``epraccur`` (GP practices and other prescribing cost
centres) and ``edispensary`` (dispensing contractors: community pharmacies) as CSV
files of 27 columns **without a header row**. The columns, in order
(:data:`ODS_FIELDS`; the ODS "GP and GP practice related data" field list):

1 organisation code, 2 name, 3 national grouping, 4 high level health geography,
5-9 address lines 1-5, 10 postcode, 11 open date, 12 close date (YYYYMMDD),
13 status code (A active, C closed, D dormant, P proposed), 14 organisation sub-type,
15 commissioner (epraccur: the sub-ICB location) or parent organisation
(edispensary: the contractor's head office), 16 join parent date, 17 left parent date,
18 telephone, 19-21 null, 22 amended record indicator, 23 null,
24 provider/purchaser (epraccur), 25 null, 26 prescribing setting (epraccur:
4 = GP practice), 27 null.

A file with a header row naming these columns (``org_code``, ``name``, ...,
``postcode``, ``status_code``; as a borough's analyst may have saved a cut of it) is
read too, and its ``cpo_easting``/``cpo_northing`` columns, where present, locate rows
whose postcode the Code-Point table lacks.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tp_assets._errors import InputError, shortlist
from tp_assets._tables import csv_records, data_table, read_csv_cells
from tp_assets.sources.postcodes import _postcode, postcode_table
from tp_assets.sources.registers import Register, assumed, nothing_left, outside

#: The published ODS layout, one name per column (15, 24 and 26 as in epraccur).
ODS_FIELDS: tuple[str, ...] = (
    "org_code", "name", "national_grouping", "high_level_health_geography",
    "address_line_1", "address_line_2", "address_line_3", "address_line_4", "address_line_5",
    "postcode", "open_date", "close_date", "status_code", "org_sub_type_code", "commissioner",
    "join_parent_date", "left_parent_date", "contact_telephone", "null_19", "null_20",
    "null_21", "amended_record_indicator", "null_23", "provider_purchaser", "null_25",
    "prescribing_setting", "null_27",
)
#: edispensary's column 15 is the parent organisation (the contractor's head office).
PARENT_FIELD = "parent_org_code"
STATUSES: dict[str, str] = {"A": "active", "C": "closed", "D": "dormant", "P": "proposed"}
#: epraccur's prescribing setting of a GP practice.
GP_SETTING = "4"
KINDS: dict[str, str] = {"gp": "epraccur (GP practices)",
                         "pharmacy": "edispensary (community pharmacies)"}

#: Figures the registers do not give: assumptions of tp-assets's, each row's ``assumed``
#: column names them. GIA per practice or pharmacy at a site; facilities management per
#: year (GBP 40 per m2 of GIA); the service's floor space (a practice's rooms leave a
#: fifth of a health centre's usable space for others, a pharmacy's counter and
#: dispensary about half a shop's) and staff. No open per-practice floor-area or cost
#: source was found (NHS premises data, ERIC/SHAPE, is not open per building): replace
#: them from the ICB's estates strategy and the contractors' leases.
ASSUMPTIONS: dict[str, dict[str, float | str]] = {
    "gp": {"gia_m2": 500.0, "tenure": "freehold", "benchmark": "clinic", "heat_fuel": "gas",
           "fm_gbp_pa": 40.0, "area_m2": 300.0, "fte": 15.0},
    "pharmacy": {"gia_m2": 150.0, "tenure": "freehold", "benchmark": "general_retail",
                 "heat_fuel": "electric", "fm_gbp_pa": 40.0, "area_m2": 80.0, "fte": 4.0},
}
SITE_FIGURES = ("gia_m2", "tenure", "benchmark", "heat_fuel", "fm_gbp_pa")
SERVICE_FIGURES = ("area_m2", "fte")


def commissioners() -> dict[str, str]:
    """Sub-ICB location code -> NHS organisation named as the GP practices' owner.

    Read from the shipped ``tp_assets/data/nhs_commissioners.csv`` (London's five
    sub-ICB locations; another code is written as ``"NHS commissioner <code>"``).
    """
    table = data_table("nhs_commissioners.csv")
    return dict(zip(table["code"].str.strip(), table["name"].str.strip(), strict=True))


def read_ods(path: str | Path, kind: str) -> pd.DataFrame:
    """Read an ODS register as published (27 columns, no header) or with a header row.

    Parameters
    ----------
    path
        The CSV file.
    kind
        ``"gp"`` (epraccur) or ``"pharmacy"`` (edispensary): names column 15.

    Returns
    -------
    pandas.DataFrame
        Text cells under :data:`ODS_FIELDS` names (column 15 ``parent_org_code`` for
        pharmacies), plus ``x``/``y`` from ``cpo_easting``/``cpo_northing`` where a
        header file has them (else NaN); indexed by the row a spreadsheet shows.

    Raises
    ------
    InputError
        A headerless row whose number of columns is not 27, or a header lacking a
        needed column, each with the file, row and fix.
    """
    path = Path(path)
    fields = list(ODS_FIELDS)
    if kind == "pharmacy":
        fields[14] = PARENT_FIELD
    records = csv_records(path)
    first = records[0][0].strip().lower() if records[0] else ""
    if first in ("org_code", "organisation code", "organisation_code"):
        cells = read_csv_cells(path, records)
        needed = ["org_code", "name", "postcode", "status_code"]
        needed += ["prescribing_setting", "commissioner"] if kind == "gp" else []
        missing = [c for c in needed if c not in cells.columns]
        if missing:
            raise InputError(f"{path.name} row 1: no column(s) {', '.join(missing)}; a header "
                             "row must name the ODS fields (org_code, name, ..., postcode, "
                             "status_code, ...), or remove it and give the file as published "
                             f"(27 columns, no header); columns present: "
                             f"{shortlist([str(c) for c in cells.columns], 12)}")
        frame = cells.reindex(columns=[*fields, "cpo_easting", "cpo_northing"], fill_value="")
        frame.index = cells.index + 2
    else:
        bad = [(n, len(r)) for n, r in enumerate(records, start=1)
               if len(r) != len(ODS_FIELDS) and any(c.strip() for c in r)]
        if bad:
            rows = "; ".join(f"row {n}: {k} columns" for n, k in bad[:5])
            more = f" (and {len(bad) - 5} more rows)" if len(bad) > 5 else ""
            raise InputError(
                f"{path.name}: {rows}{more}; the published ODS {KINDS[kind]} layout has "
                f"{len(ODS_FIELDS)} columns and no header row. Give the file as downloaded from "
                "NHS ODS (a spreadsheet's Save As may drop empty columns at the end), or add "
                "a header row naming its columns (org_code, name, ..., postcode, status_code)")
        kept = [(n, r) for n, r in enumerate(records, start=1) if any(c.strip() for c in r)]
        frame = pd.DataFrame([r for _, r in kept], columns=fields, dtype=str,
                             index=[n for n, _ in kept])
        frame["cpo_easting"] = frame["cpo_northing"] = ""
    frame = frame.fillna("").astype(str).apply(lambda col: col.str.strip())
    frame["x"] = pd.to_numeric(frame.pop("cpo_easting"), errors="coerce")
    frame["y"] = pd.to_numeric(frame.pop("cpo_northing"), errors="coerce")
    return frame


def nhs_ods(path: str | Path, codepoint: str | Path, *, kind: str,
            boundary: str | Path | None = None, margin_m: float = 0.0,
            include_y_codes: bool = False, owner: str | None = None) -> Register:
    """GP practices or community pharmacies from an NHS ODS register, as sites and services.

    Keeps the active rows (status A); for GP practices, those in prescribing setting 4
    (GP practice) whose code is not a ``Y`` code (ODS gives ``Y`` codes to special
    allocation schemes, GP federations and other prescribing cost centres; they are
    listed, and ``include_y_codes`` keeps them). Each is located at its postcode's
    Code-Point Open point; rows at postcodes the table lacks (a table cut to one
    borough leaves out the rest of England) and, with a boundary, rows further than
    ``margin_m`` outside it are left out and counted. Practices (or pharmacies) at one
    postcode share a site: at postcode precision their buildings cannot be told apart.

    Parameters
    ----------
    path
        epraccur or edispensary CSV, as published or with a header row.
    codepoint
        Code-Point Open style CSV: ``Postcode``, ``Eastings``, ``Northings``.
    kind
        ``"gp"`` or ``"pharmacy"``.
    boundary
        Polygon file of the place: keep records inside it.
    margin_m
        Distance outside the boundary still kept (m).
    include_y_codes
        Keep GP rows with ``Y`` codes.
    owner
        Owner of every record; default: a GP practice's commissioner (the sub-ICB,
        e.g. ``NHS South East London``), a pharmacy's contractor (its trading name,
        branches of one parent organisation under one name).

    Returns
    -------
    Register
        Sites and services with ``x``/``y`` in EPSG:27700 and the assumed figures of
        :data:`ASSUMPTIONS` named in ``assumed``; what was left out, by reason.
    """
    if kind not in KINDS:
        raise InputError(f"--kind {kind!r}: give gp (epraccur) or pharmacy (edispensary)")
    frame = read_ods(path, kind)
    left: dict[str, int] = {}
    status = frame["status_code"].str.upper()
    for code, n in sorted(Counter(status[status != "A"]).items()):
        left[f"{STATUSES.get(code, 'with status')} (status {code or 'blank'})"] = n
    frame = frame[status == "A"]
    notes: list[str] = []
    if kind == "gp":
        setting = frame["prescribing_setting"]
        other = Counter(setting[setting != GP_SETTING])
        if other:
            detail = ", ".join(f"setting {s or 'blank'}: {n}"
                               for s, n in sorted(other.items(), key=lambda kv: kv[0].zfill(3)))
            left[f"active, in another prescribing setting than {GP_SETTING}, GP practice "
                 f"({detail})"] = sum(other.values())
        frame = frame[setting == GP_SETTING]
        y_code = frame["org_code"].str.upper().str.startswith("Y")
        if y_code.any() and not include_y_codes:
            named = [f"{c} {n}" for c, n in zip(frame.loc[y_code, "org_code"],
                                                 frame.loc[y_code, "name"], strict=True)]
            left[f"active GP-setting rows with Y codes (special allocation schemes, "
                 f"federations and other cost centres: {shortlist(named, 6)}; "
                 "--include-y-codes keeps them)"] = int(y_code.sum())
            frame = frame[~y_code]
    lookup = postcode_table(codepoint)
    keys = frame["postcode"].map(_postcode)
    found = keys.isin(lookup.keys())
    xy = np.array([lookup.get(k, (np.nan, np.nan)) for k in keys], dtype=float).reshape(-1, 2)
    given = frame[["x", "y"]].to_numpy(float)
    use_given = ~found.to_numpy() & np.isfinite(given).all(axis=1)
    xy[use_given] = given[use_given]
    located = found.to_numpy() | use_given
    if (~located).any():
        shown = [f"{p} (row {r})" for r, p in zip(frame.index[~located],
                                                   frame["postcode"][~located], strict=True)]
        left[f"at postcodes not in {Path(codepoint).name} (outside the area it covers: "
             f"{shortlist(shown, 4)})"] = int((~located).sum())
    frame, xy = frame[located], xy[located]
    how = np.where(use_given[located], "source coordinates", "postcode")
    far = outside(xy[:, 0], xy[:, 1], boundary, margin_m, left)
    frame, xy, how = frame[~far], xy[~far], how[~far]
    if frame.empty:
        raise nothing_left(path, f"{KINDS[kind]} record", left,
                           "the file, the postcode table and the boundary")
    owners = _owners(frame, kind, owner, notes)
    return _register(frame, xy, how, owners, kind, left, tuple(notes))


def _owners(frame: pd.DataFrame, kind: str, owner: str | None, notes: list[str]) -> pd.Series:
    """Each record's owner: the one given, the GP's commissioner or the pharmacy's contractor."""
    if owner:
        return pd.Series(owner, index=frame.index)
    if kind == "gp":
        names = commissioners()
        codes = frame["commissioner"]
        unknown = sorted(set(codes) - set(names))
        if unknown:
            notes.append("commissioner code(s) " + ", ".join(c or "blank" for c in unknown)
                         + " not in tp_assets/data/nhs_commissioners.csv: owner written as "
                         "'NHS commissioner <code>'; give --owner, or edit the owner column")
        return codes.map(lambda c: names.get(c, f"NHS commissioner {c or 'unknown'}"))
    # a contractor's branches share a parent code: one owner, its most common trading name
    parent = frame[PARENT_FIELD].where(frame[PARENT_FIELD] != "", "own:" + frame["org_code"])
    named = {}
    for code, group in frame.groupby(parent, sort=True):
        counts = Counter(group["name"])
        named[code] = min(counts, key=lambda n: (-counts[n], n))
    return parent.map(named)


def _register(frame: pd.DataFrame, xy: np.ndarray, how: np.ndarray, owners: pd.Series,
              kind: str, left: dict[str, int], notes: tuple[str, ...]) -> Register:
    a = ASSUMPTIONS[kind]
    keys = frame["postcode"].map(_postcode).to_numpy()
    order = np.lexsort((frame["org_code"].to_numpy(), keys))
    site_rows: list[dict[str, Any]] = []
    site_of: dict[str, int] = {}
    site_values, site_assumed = assumed(**{k: a[k] for k in SITE_FIGURES})
    for i in order:
        key = keys[i]
        if key not in site_of:
            site_of[key] = len(site_rows)
            site_rows.append({"site_id": frame["org_code"].iloc[i], "names": [],
                              "owner": owners.iloc[i], "x": xy[i, 0], "y": xy[i, 1],
                              "postcode": frame["postcode"].iloc[i], "located_by": how[i]})
        site_rows[site_of[key]]["names"].append(frame["name"].iloc[i])
    sites = pd.DataFrame([{
        "site_id": r["site_id"], "name": " / ".join(r["names"]), "owner": r["owner"],
        "x": r["x"], "y": r["y"], "postcode": r["postcode"], "located_by": r["located_by"],
        **site_values, "gia_m2": float(a["gia_m2"]) * len(r["names"]),
        "fm_gbp_pa": float(a["fm_gbp_pa"]) * float(a["gia_m2"]) * len(r["names"]),
        "status": "candidate", "assumed": site_assumed} for r in site_rows])
    owners_at: dict[str, set[str]] = {}
    for k in order:
        owners_at.setdefault(keys[k], set()).add(str(owners.iloc[k]))
    mixed = [site_rows[site_of[key]]["site_id"] for key, held in owners_at.items()
             if len(held) > 1]
    if mixed:
        notes = (*notes, f"{len(mixed)} site(s) hold records of more than one owner at one "
                 f"postcode ({shortlist(mixed, 6)}): each is written under its first record's "
                 "owner, with the floor area of all; split it in sites.csv where the "
                 "buildings differ")
    service_values, service_assumed = assumed(**{k: a[k] for k in SERVICE_FIGURES})
    services = pd.DataFrame({
        "service_id": [f"{c}-{kind}" for c in frame["org_code"].to_numpy()[order]],
        "site_id": [site_rows[site_of[keys[i]]]["site_id"] for i in order],
        "service_type": kind, "owner": owners.to_numpy()[order], **service_values,
        "name": frame["name"].to_numpy()[order], "assumed": service_assumed})
    return Register(sites, services, kept=len(services), left_out=left, notes=notes)
