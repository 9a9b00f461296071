"""Documented package-wide defaults.

Scenario files override the finance and access settings; the values here are the
defaults used when an input or a scenario leaves them out. They are plain
module-level constants (units in their names) and are documented in
``data/README.md``.
"""

from __future__ import annotations

#: The CRS used inside the package for every geometry: British National Grid (metres).
WORKING_CRS: str = "EPSG:27700"

#: Share of gross internal area (GIA) available to services when a site gives no
#: ``capacity_m2``. 0.80 is a typical net-internal-to-gross ratio for public offices
#: (RICS Code of Measuring Practice, 6th ed.: NIA usually 80-85 % of GIA).
CAPACITY_SHARE_OF_GIA: float = 0.80

#: Heating fuel assumed where ``heat_fuel`` is blank.
DEFAULT_HEAT_FUEL: str = "gas"

#: TM46 benchmark category assumed where ``benchmark`` is blank.
DEFAULT_BENCHMARK: str = "general_office"

#: How far (metres) a site or zone may lie outside the place's boundary before it
#: is reported as an error. 1,000 m allows for a postcode centroid just across a
#: borough border (a real case in Lewisham).
PLACE_MARGIN_M: float = 1000.0

#: Margin (metres) added around the zones' bounding box when a place has no
#: boundary file and sites are checked against the zones' extent instead.
EXTENT_MARGIN_M: float = 2000.0

#: Values accepted in the enumerated columns.
TENURES: tuple[str, ...] = ("freehold", "leasehold")
STATUSES: tuple[str, ...] = ("candidate", "retain", "dispose")
HEAT_FUELS: tuple[str, ...] = ("gas", "oil", "electric", "district", "none")

#: Spellings accepted for true / false in ``movable`` and ``splittable``.
TRUE_WORDS: frozenset[str] = frozenset({"true", "t", "yes", "y", "1"})
FALSE_WORDS: frozenset[str] = frozenset({"false", "f", "no", "n", "0"})

# --------------------------------------------------------------------------- access

#: Walking speed: 4.8 km/h, i.e. 80 m/min, the speed TfL's PTAL method assumes.
WALK_SPEED_KMH: float = 4.8

#: Cycling speed on the street network: 15 km/h, a typical urban average including stops
#: (TfL's cycling analyses use 12-16 km/h).
CYCLE_SPEED_KMH: float = 15.0

#: Speeds per mode over edge lengths. ``drive`` uses osmnx's speed imputation instead
#: (``maxspeed`` tags, else the mean of the road class); ``straight_line`` walks the
#: crow-fly distance times :data:`STRAIGHT_LINE_CIRCUITY` at walking speed.
MODE_SPEEDS_KMH: dict[str, float] = {"walk": WALK_SPEED_KMH, "cycle": CYCLE_SPEED_KMH,
                                     "straight_line": WALK_SPEED_KMH}

#: Modes an access standard may name.
MODES: tuple[str, ...] = ("walk", "cycle", "drive", "straight_line")

#: Ratio of street distance to crow-fly distance used by ``straight_line`` mode. 1.3 is
#: the usual urban detour index (street networks are 20-40 % longer than the crow flies).
STRAIGHT_LINE_CIRCUITY: float = 1.3

#: A zone or site further than this (metres) from its nearest network node is warned
#: about in the summary.
SNAP_WARN_M: float = 250.0

#: Folder (relative to the working directory) for cached travel-time matrices.
CACHE_DIR: str = ".tp_assets_cache"

#: Overlaps: a pair of sites offering the same service type overlaps when at least this
#: share of one site's within-standard demand is also within the standard of the other.
OVERLAP_MIN_SHARE: float = 0.5

#: Overlap clusters join pairs whose overlap (the larger of the two shares) is at least this.
OVERLAP_CLUSTER_SHARE: float = 0.75
