"""The estate: sites, the services in them and the residents' zones.

Load the three input tables from CSV, GeoPackage or GeoJSON, validate every value
once (all problems reported together), reproject to British National Grid
(EPSG:27700) and fill documented defaults, including energy estimated from CIBSE
TM46 benchmarks where a site has no metered figure. The input contract is
documented column by column in ``data/README.md``; the column specifications
below are the single source of truth for it.
"""

from tp_assets.estate.load import (
    PLACE_KEYS,
    TABLE_KEYS,
    Estate,
    assumed_counts,
    load_estate,
    load_place,
    summary,
)
from tp_assets.estate.schema import (
    ASSUMED,
    DEMAND_PREFIXES,
    SERVICE_COLUMNS,
    ZONE_COLUMNS,
    Column,
    site_columns,
    tm46_benchmarks,
)

__all__ = ["ASSUMED", "DEMAND_PREFIXES", "PLACE_KEYS", "SERVICE_COLUMNS", "TABLE_KEYS",
           "ZONE_COLUMNS", "Column", "Estate", "assumed_counts", "load_estate", "load_place",
           "site_columns", "summary", "tm46_benchmarks"]
