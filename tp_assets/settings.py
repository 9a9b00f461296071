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
