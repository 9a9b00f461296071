"""Adapters from public open-data formats to the tp-assets input schema.

Each adapter reads files as they are published and returns a table in the schema
of ``data/README.md``, reporting what did not match rather than dropping it. One
module per publication: ONS census areas (:mod:`.zones`), postcodes (:mod:`.postcodes`),
the libraries dataset (:mod:`.libraries`), Display Energy Certificates (:mod:`.decs`)
council asset lists (:mod:`.assets`), NHS ODS registers of GP practices and
pharmacies (:mod:`.nhs`), the Home Office fire stations list (:mod:`.fire`) and areas'
deprivation and wards (:mod:`.areas`).
"""

from tp_assets.sources.areas import AreaJoin, areas
from tp_assets.sources.assets import ASSET_COLUMNS, asset_list
from tp_assets.sources.decs import DEC_COLUMNS, DEC_FUELS, apply_decs, floor_areas_apart
from tp_assets.sources.fire import fire_stations
from tp_assets.sources.libraries import LIBRARY_ASSUMPTIONS, libraries
from tp_assets.sources.nhs import nhs_ods
from tp_assets.sources.postcodes import geocode_postcodes
from tp_assets.sources.registers import Register, appended
from tp_assets.sources.zones import ons_zones

__all__ = [
    "ASSET_COLUMNS",
    "DEC_COLUMNS",
    "DEC_FUELS",
    "LIBRARY_ASSUMPTIONS",
    "AreaJoin",
    "Register",
    "appended",
    "apply_decs",
    "areas",
    "asset_list",
    "fire_stations",
    "floor_areas_apart",
    "geocode_postcodes",
    "libraries",
    "nhs_ods",
    "ons_zones",
]
