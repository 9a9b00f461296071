"""Loading a place: the Estate, load_estate, load_place and the summary."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely

from tp_assets import settings
from tp_assets._errors import InputError, shortlist
from tp_assets._tables import (
    RawTable,
    file_sha256,
    parse_crs,
    read_boundary,
    read_table,
    record_unit,
)
from tp_assets._toml import check_keys, line_of, read_toml, shown
from tp_assets.estate.cells import (
    _BOUNDARY,
    _apply_defaults,
    _blank,
    _capacity,
    _cell_bad,
    _check_assumed,
    _check_deciles,
    _check_geometry,
    _check_spellings,
    _fill_energy,
    _parse_demand_columns,
    _parse_table,
    _zones_frame,
)
from tp_assets.estate.schema import (
    DEMAND_PREFIXES,
    SERVICE_COLUMNS,
    ZONE_COLUMNS,
    site_columns,
)

# --------------------------------------------------------------------------- the Estate


@dataclass
class Estate:
    """A place's collective public estate, validated, in EPSG:27700.

    Attributes
    ----------
    name
        Name of the place.
    sites
        One row per building, the columns of :func:`site_columns` plus
        ``electricity_source`` and ``heat_source`` (``{"metered", "benchmark"}``)
        and ``energy_source`` (``"metered"`` only when both figures are metered).
    services
        One row per service, the columns of :data:`SERVICE_COLUMNS`; geometry is
        the point of the site it occupies today.
    zones
        One row per zone, the columns of :data:`ZONE_COLUMNS` plus demand columns,
        and ``point_x``, ``point_y`` (metres, EPSG:27700: the population-weighted
        centroid where given, else the centroid) with ``point_source``.
    boundary
        The place's boundary polygon (EPSG:27700), where one was given.
    notes
        Observations that are not errors (a site just outside the boundary, a
        building over-occupied today), for the summary.
    files
        The input files read, by role.
    network
        Street-network file named by the place, if any.
    rows
        Role -> id -> the row (feature in geodata) each site and service was read
        from, as messages number them (:meth:`where`).
    """

    name: str
    sites: gpd.GeoDataFrame
    services: gpd.GeoDataFrame
    zones: gpd.GeoDataFrame
    boundary: shapely.Geometry | None = None
    notes: list[str] = field(default_factory=list)
    files: dict[str, Path] = field(default_factory=dict)
    network: Path | None = None
    rows: dict[str, dict[str, int]] = field(default_factory=dict)

    def where(self, role: str, ids: Sequence[str]) -> str:
        """Where records were read, for a message: ``"sites.csv row 4"``.

        Parameters
        ----------
        role
            ``"sites"`` or ``"services"``.
        ids
            The records' ids; several give ``"services.csv rows 4, 9"`` (in file order,
            up to eight, then how many more).

        Returns
        -------
        str
            The file and rows (features of a geodata file), the file alone where a row
            is unknown (an estate built in code), or ``"the sites table"``.
        """
        if role not in self.files:
            return f"the {role} table"
        file = self.files[role]
        found = self.rows.get(role, {})
        if not ids or any(i not in found for i in ids):
            return file.name
        numbers = sorted({found[i] for i in ids})
        return (f"{file.name} {record_unit(file)}{'s' * (len(numbers) > 1)} "
                f"{shortlist(numbers)}")

    @property
    def demand_columns(self) -> list[str]:
        """Zone columns an access standard may weight by (``population`` first)."""
        return ["population"] + [c for c in self.zones.columns
                                 if c.startswith(DEMAND_PREFIXES)]

    def file_hashes(self) -> dict[str, str]:
        """SHA-256 of every input file, by role, for audit trails."""
        return {role: file_sha256(p) for role, p in self.files.items()}




def load_estate(sites: Path, services: Path, zones: Path, *, crs: dict[str, str | None]
                | None = None, layers: dict[str, str | None] | None = None,
                boundary: Path | None = None, name: str = "", network: Path | None = None
                ) -> Estate:
    """Load and validate an estate from three table files.

    Parameters
    ----------
    sites, services, zones
        Table files (CSV, GeoPackage or GeoJSON). Sites and zones need a location;
        services are located by their ``site_id``.
    crs
        CRS of the ``x``/``y`` columns of each CSV table, by role
        (``{"sites": "EPSG:27700"}``); files with ``lon``/``lat`` are WGS84 and
        geodata files carry their own CRS.
    layers
        Layer name per role for multi-layer GeoPackages.
    boundary
        Polygon file of the place. Sites and zones further than
        :data:`tp_assets.settings.PLACE_MARGIN_M` outside it are errors. Without it,
        sites are checked against the zones' extent plus
        :data:`tp_assets.settings.EXTENT_MARGIN_M`.
    name
        Name of the place, for summaries.
    network
        Street-network file of the place (kept for the access step).

    Returns
    -------
    Estate
        Validated, in EPSG:27700, defaults filled.

    Raises
    ------
    InputError
        With every problem found, each naming file, row or id, column, value and fix.
    """
    crs = crs or {}
    layers = layers or {}
    problems: list[str] = []
    raw: dict[str, RawTable] = {}
    for role, path in (("sites", sites), ("services", services), ("zones", zones)):
        try:
            raw[role] = read_table(Path(path), crs=crs.get(role), layer=layers.get(role))
            problems += raw[role].problems
        except InputError as exc:
            problems += exc.problems
    place: shapely.Geometry | None = None
    if boundary is not None:
        try:
            place = read_boundary(Path(boundary))
        except InputError as exc:
            problems += exc.problems
    if len(raw) < 3:
        raise InputError(problems)

    site_cols = site_columns()
    notes: list[str] = []
    s = _parse_table(raw["sites"], site_cols, problems, notes, "sites")
    v = _parse_table(raw["services"], SERVICE_COLUMNS, problems, notes, "services")
    z = _parse_table(raw["zones"], ZONE_COLUMNS, problems, notes, "zones")
    if s.empty or v.empty or z.empty:
        raise InputError(problems)
    _parse_demand_columns(raw["zones"], z, problems)

    # Zones first: without a boundary their extent is the place's.
    zone_has_people = [bool(p) for p in z["population"].fillna(0)]
    zone_ok = _check_geometry(raw["zones"], z, "zone_id", place=place,
                              margin_m=settings.PLACE_MARGIN_M, place_label=_BOUNDARY,
                              problems=problems, notes=notes,
                              required=lambda i: zone_has_people[i])
    if place is not None:
        site_place, margin, label = place, settings.PLACE_MARGIN_M, _BOUNDARY
    else:
        located = raw["zones"].geometry[zone_ok]
        site_place = shapely.box(*located.total_bounds) if len(located) else None
        margin, label = settings.EXTENT_MARGIN_M, "the zones' extent"
    _check_geometry(raw["sites"], s, "site_id", place=site_place, margin_m=margin,
                              place_label=label, problems=problems, notes=notes,
                              required=lambda i: True)

    registers = {"sites": (raw["sites"], s, "site_id"),
                 "services": (raw["services"], v, "service_id")}
    _check_spellings(list(registers.values()), "owner", problems)

    # Row rules that need several columns.
    for i, row in enumerate(s.to_dict("records")):
        where = raw["sites"].where(i, row["site_id"], "site_id")
        if row["tenure"] == "leasehold" and _blank(row["lease_end"]) and not _cell_bad(
                raw["sites"], i, "lease_end"):
            problems.append(f"{where}, column 'lease_end': a leasehold needs the first date it "
                            "can be vacated (break or expiry) as YYYY-MM-DD, e.g. 2029-03-31")
        if row["tenure"] == "freehold" and not _blank(row["lease_end"]):
            notes.append(f"{where}: lease_end {row['lease_end'].date()} is ignored, as the site "
                         "is freehold; set tenure = leasehold if it is leased")
        if not (_blank(row["capacity_m2"]) or _blank(row["gia_m2"])) and (
                row["capacity_m2"] > row["gia_m2"]):
            notes.append(f"{where}: capacity_m2 {row['capacity_m2']:,.0f} is more than its "
                         f"gia_m2 {row['gia_m2']:,.0f}; the plan uses capacity_m2 as given: "
                         "check the two figures")
    for table, frame, id_col in registers.values():
        _check_assumed(table, frame, id_col, problems)
    _check_deciles(raw["zones"], z, problems)
    site_ids = {x for x in s["site_id"] if not _blank(x)}
    ids = s["site_id"][~s["site_id"].map(_blank)]
    overwritten = ids.duplicated().any() or len(ids) < len(s)
    for i, row in enumerate(v.to_dict("records")):
        if not _blank(row["site_id"]) and row["site_id"] not in site_ids:
            close = difflib.get_close_matches(row["site_id"], sorted(site_ids), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            if overwritten:  # the likelier cause: its row lost its id
                other = f" Or '{close[0]}'?" if close else ""
                hint = (" (was it the site now given a duplicate or blank id in "
                        f"{raw['sites'].path.name}?{other})")
            problems.append(f"{raw['services'].where(i, row['service_id'], 'service_id')}, "
                            f"column 'site_id': {row['site_id']!r} is not a site_id in "
                            f"{raw['sites'].path.name}{hint}; give the site the service "
                            "occupies today")

    # Space: a whole service must fit in at least one building.
    capacity = _capacity(s)
    if capacity.notna().any():
        biggest = int(capacity.fillna(-1).to_numpy().argmax())
        for i, row in enumerate(v.to_dict("records")):
            area = row["area_m2"]
            if _blank(area) or (not _blank(row["splittable"]) and bool(row["splittable"])):
                continue
            if area > capacity.iloc[biggest]:
                problems.append(
                    f"{raw['services'].where(i, row['service_id'], 'service_id')}, column "
                    f"'area_m2': needs {area:,.0f} m2 but the largest site offers "
                    f"{capacity.iloc[biggest]:,.0f} m2 ({s['site_id'][biggest]}); check the "
                    "figure, or set splittable = true if it can be spread over several sites")

    if problems:
        raise InputError(problems)

    _apply_defaults(s, site_cols)
    s["capacity_m2"] = capacity
    for c in ("rent_gbp_pa", "rates_gbp_pa", "fm_gbp_pa", "backlog_gbp", "market_value_gbp"):
        s[c] = s[c].fillna(0.0).astype(float)
    s["lease_end"] = pd.to_datetime(s["lease_end"])
    s["vacate_from"] = pd.to_datetime(s["vacate_from"])
    _fill_energy(s)
    site_gdf = gpd.GeoDataFrame(s, geometry=raw["sites"].geometry.to_numpy(),
                                crs=settings.WORKING_CRS)

    _apply_defaults(v, SERVICE_COLUMNS)
    v["fte"] = v["fte"].fillna(0.0).astype(float)
    v["movable"] = v["movable"].astype(bool)
    v["splittable"] = v["splittable"].astype(bool)
    v["service_type"] = [t.lower().replace(" ", "_").replace("-", "_") for t in v["service_type"]]
    location = site_gdf.set_index("site_id").geometry
    service_gdf = gpd.GeoDataFrame(v, geometry=location.loc[v["site_id"]].to_numpy(),
                                   crs=settings.WORKING_CRS)

    _apply_defaults(z, ZONE_COLUMNS)
    z["imd_decile"] = pd.array([None if _blank(d) else int(d) for d in z["imd_decile"]],
                               dtype="Int64")
    zone_gdf = _zones_frame(raw["zones"], z, zone_ok, notes)

    load = s.groupby("site_id")["capacity_m2"].first()
    used = service_gdf.groupby("site_id")["area_m2"].sum()
    for site_id, area in used.items():
        if area > load[site_id] + 1e-9:
            notes.append(f"site {site_id} is over-occupied today: its services need "
                         f"{area:,.0f} m2, its capacity_m2 is {load[site_id]:,.0f}")

    files = {"sites": Path(sites), "services": Path(services), "zones": Path(zones)}
    if boundary is not None:
        files["boundary"] = Path(boundary)
    rows = {role: {str(i): table.number(k) for k, i in enumerate(frame[id_col])}
            for role, (table, frame, id_col) in registers.items()}
    return Estate(name=name, sites=site_gdf, services=service_gdf, zones=zone_gdf,
                  boundary=place, notes=notes, files=files, network=network, rows=rows)




# --------------------------------------------------------------------------- places

#: Keys allowed at the top of a place.toml and in its table entries.
PLACE_KEYS = ("name", "description", "crs", "boundary", "network", "sites", "services", "zones")
TABLE_KEYS = ("path", "crs", "layer")
_DEFAULT_STEMS = ("sites", "services", "zones")


def load_place(path: str | Path) -> Estate:
    """Load and validate the estate of a place from its folder or its ``place.toml``.

    Parameters
    ----------
    path
        A folder (holding ``place.toml``, or files named ``sites``, ``services``,
        ``zones`` with a .csv, .gpkg or .geojson suffix) or a ``place.toml`` file.
        ``place.toml`` keys are documented in data/README.md.

    Returns
    -------
    Estate

    Raises
    ------
    InputError
        Unknown keys, missing files and every problem in the tables.
    """
    path = Path(path)
    if path.is_dir():
        manifest = path / "place.toml"
        if manifest.exists():
            return _load_manifest(manifest)
        found = {stem: _find_table(path, stem) for stem in _DEFAULT_STEMS}
        missing = [stem for stem, p in found.items() if p is None]
        if missing:
            raise InputError(f"{path}: no place.toml and no {', '.join(missing)} table "
                             "(sites.csv, services.csv, zones.gpkg, ...) in the folder; "
                             "see data/README.md")
        boundary = _find_table(path, "boundary")
        return load_estate(*(found[stem] or path for stem in _DEFAULT_STEMS),
                           boundary=boundary, name=path.name)
    if not path.exists():
        raise InputError(f"{path}: not found; give a place folder (e.g. data/demo) or its "
                         "place.toml")
    return _load_manifest(path)


def _find_table(folder: Path, stem: str) -> Path | None:
    for suffix in (".gpkg", ".geojson", ".csv"):
        candidate = folder / f"{stem}{suffix}"
        if candidate.exists():
            return candidate
    return None


def _load_manifest(manifest: Path) -> Estate:
    data, text = read_toml(manifest)
    problems = check_keys(data, PLACE_KEYS, [(manifest, text)])
    base = manifest.parent
    default_crs = data.get("crs")
    if default_crs is not None:
        try:
            parse_crs(str(default_crs), where=f"{manifest.name} key 'crs'")
        except InputError as exc:
            problems += exc.problems
    paths: dict[str, Path] = {}
    crs: dict[str, str | None] = {}
    layers: dict[str, str | None] = {}
    for role in _DEFAULT_STEMS:
        entry = data.get(role)
        if entry is None:
            problems.append(f"{manifest.name}: missing key '{role}'; give the path of the "
                            f'{role} table, e.g. {role} = "{role}.csv"')
            continue
        if isinstance(entry, str):
            entry = {"path": entry}
        if not isinstance(entry, dict) or "path" not in entry:
            problems.append(f"{manifest.name}: key '{role}' must be a file path or a table "
                            f'with path = "...", e.g. [{role}] path = "{role}.csv"')
            continue
        problems += check_keys(entry, TABLE_KEYS, [(manifest, text)], table=role)
        paths[role] = base / str(entry["path"])
        if not paths[role].exists():
            at = line_of(text, role) or line_of(text, "path", role)
            problems.append(f"{manifest.name}{f' line {at}' if at else ''}: {role} "
                            f"{shown(str(entry['path']))} not found (looked for {paths[role]}); "
                            f"paths are relative to {manifest.name}")
        crs[role] = entry.get("crs", default_crs)
        layers[role] = entry.get("layer")
    boundary = base / str(data["boundary"]) if "boundary" in data else None
    network = base / str(data["network"]) if "network" in data else None
    if boundary is not None and not boundary.exists():  # the network is the scenario's to use
        at = line_of(text, "boundary")
        problems.append(f"{manifest.name}{f' line {at}' if at else ''}: boundary "
                        f"{shown(str(data['boundary']))} not found (looked for {boundary}); paths "
                        f"are relative to {manifest.name}")
    if problems:
        raise InputError(problems)
    return load_estate(paths["sites"], paths["services"], paths["zones"], crs=crs,
                       layers=layers, boundary=boundary, name=str(data.get("name", base.name)),
                       network=network)


# --------------------------------------------------------------------------- summary


def summary(estate: Estate) -> dict[str, Any]:
    """Headline figures of an estate, for the ``validate`` command and run summaries.

    Parameters
    ----------
    estate
        A loaded estate.

    Returns
    -------
    dict
        ``sites_by_owner``, ``services_by_type`` (counts), ``gia_m2``,
        ``running_cost_gbp_pa`` (rent + rates + FM), ``electricity_kwh_pa`` and
        ``heat_kwh_pa`` split ``{"metered": .., "benchmark": ..}``, ``zones``,
        ``population``.
    """
    sites = estate.sites
    energy: dict[str, dict[str, float]] = {}
    for column, flag in (("electricity_kwh_pa", "electricity_source"),
                         ("heat_kwh_pa", "heat_source")):
        by = sites.groupby(flag)[column].sum()
        energy[column] = {k: float(by.get(k, 0.0)) for k in ("metered", "benchmark")}
    return {
        "name": estate.name,
        "sites": len(sites),
        "services": len(estate.services),
        "sites_by_owner": sites["owner"].value_counts().sort_index().to_dict(),
        "services_by_type": estate.services["service_type"].value_counts().sort_index().to_dict(),
        "gia_m2": float(sites["gia_m2"].sum()),
        "running_cost_gbp_pa": float(sites[["rent_gbp_pa", "rates_gbp_pa", "fm_gbp_pa"]]
                                     .to_numpy().sum()),
        **energy,
        "zones": len(estate.zones),
        "population": float(estate.zones["population"].sum()),
        "assumed": {role: counts for role, counts in
                    (("sites", assumed_counts(sites)),
                     ("services", assumed_counts(estate.services))) if counts},
    }


def assumed_counts(frame: pd.DataFrame) -> dict[str, int]:
    """How many rows of a table mark each column's value as assumed.

    Parameters
    ----------
    frame
        A loaded sites or services table (its ``assumed`` column: names separated by
        spaces).

    Returns
    -------
    dict
        Column -> rows whose value in it is an assumption, in the table's column order.
    """
    counts: dict[str, int] = {}
    for text in frame.get("assumed", pd.Series(dtype=object)).fillna(""):
        for name in str(text).split():
            counts[name] = counts.get(name, 0) + 1
    order = {str(c): k for k, c in enumerate(frame.columns)}
    return dict(sorted(counts.items(), key=lambda kv: order.get(kv[0], len(order))))
