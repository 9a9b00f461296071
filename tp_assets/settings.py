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

#: Driving speeds (km/h) by OSM highway class for edges whose class has no observed
#: ``maxspeed`` (osmnx uses tagged speeds first, then the mean of the class), chosen for
#: a London borough's 20-30 mph streets; and the speed for any other class.
DRIVE_SPEEDS_KPH: dict[str, float] = {
    "motorway": 80.0, "trunk": 48.0, "primary": 32.0, "secondary": 32.0, "tertiary": 30.0,
    "unclassified": 24.0, "residential": 24.0, "living_street": 16.0, "service": 16.0,
}
DRIVE_FALLBACK_KPH: float = 24.0

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

# --------------------------------------------------------------------------- finance defaults

#: HM Treasury Green Book social time preference rate (real), years 0-30.
GREEN_BOOK_RATE: float = 0.035

#: Appraisal period (years) when a scenario gives none.
HORIZON_YEARS: int = 10

#: Indicative non-domestic energy prices (GBP/kWh, excluding VAT) by fuel, from DESNZ
#: Quarterly Energy Prices (non-domestic, 2024 averages, rounded). Replace them with
#: contract prices in a scenario's [finance.energy_prices_gbp_per_kwh].
ENERGY_PRICES_GBP_PER_KWH: dict[str, float] = {
    "electricity": 0.245, "gas": 0.058, "oil": 0.065, "district": 0.085,
}
ENERGY_PRICES_SOURCE: str = "DESNZ Quarterly Energy Prices, non-domestic, 2024 (indicative)"

#: Greenhouse gas conversion factors (kgCO2e per kWh) with the year of the UK government
#: set each comes from (DESNZ/DEFRA "Greenhouse gas reporting: conversion factors").
CARBON_KG_PER_KWH: dict[str, float] = {
    "electricity": 0.20705, "gas": 0.18293, "oil": 0.24677, "district": 0.17965,
}
CARBON_FACTOR_YEARS: dict[str, int] = {
    "electricity": 2024, "gas": 2023, "oil": 2023, "district": 2023,
}

#: One-off cost of moving one full-time-equivalent member of staff (churn: IT, removals).
RELOCATION_GBP_PER_FTE: float = 2000.0

#: One-off fit-out cost per m2 a receiving site takes in.
FITOUT_GBP_PER_M2: float = 350.0

#: Disposal costs (agents, legal) as a share of the receipt.
DISPOSAL_COST_SHARE: float = 0.02

#: Optimism-bias uplift on one-off costs (0.0 = none; the Green Book's supplementary
#: guidance suggests up to 0.24-0.51 for standard buildings at outline business case).
OPTIMISM_BIAS: float = 0.0

#: First day of the appraisal (year 1 is the financial year that starts here).
APPRAISAL_START: str = "2027-04-01"

# --------------------------------------------------------------------------- optimisation

#: Candidate hosts: a service may move only to sites within this many minutes' walk
#: of its current site (crow-fly distance x STRAIGHT_LINE_CIRCUITY at walking speed).
MAX_MOVE_MINUTES: float = 30.0

#: Candidate hosts: at most this many sites per movable service (the nearest ones that
#: pass the other rules, plus its current site). DESIGN.md measured single-assignment
#: location with 20 candidates per customer: unrestricted pairs gave answers 1.8x worse
#: within the same time.
MAX_CANDIDATES: int = 20

#: The search (``tp_assets.optimise.search``) counts its budget in work, never in
#: seconds, so that a plan is the same on a quiet or a busy machine. Each value is a
#: ``[solver]`` key's default (optimisation/README.md); measured on the demo in
#: benchmarks/README.md.
#:
#: Problems with fewer candidate (service, site) pairs than this are solved by the MIP
#: search alone, within ``SEARCH_EXACT_NODES`` branch-and-bound nodes (OR-Library's
#: 50 x 50 instances, 2,500 pairs, prove their optima in a few hundred).
SEARCH_EXACT_MAX_PAIRS: int = 3000
SEARCH_EXACT_NODES: int = 100_000
#: Larger problems: the MIP search's nodes (1: HiGHS's root node, its cuts and
#: heuristics; 3 nodes took three times as long on the demo for the same plan and
#: bound), then neighbourhood rounds, each freeing the decisions of
#: ``SEARCH_ROUND_SITES`` linked sites and solving that small model within
#: ``SEARCH_ROUND_NODES`` nodes (most rounds finish in a few dozen: 100, 300 and 1,000
#: gave the same plans). Wider rounds cost more each but escape what narrow ones
#: cannot: from the root plan of one copy of the demo (GBP 174.2 m, bound 198.2 m),
#: 20 rounds of 20 sites reached 186.4 m in 11 s and 60 of them 189.6 m in 58 s;
#: 10 rounds of 40 sites 192.2 m in 39 s, 20 of them 195.5 m in 73 s; on the demo
#: (root 195.4 m, bound 197.1 m) 20 of 20 sites gave 196.0 m, 10 of 40 sites
#: 196.27 m in 29 s. Ten rounds of 40 sites keep the demo within 90 s on 2 cores.
SEARCH_ROOT_NODES: int = 1
SEARCH_ROUNDS: int = 10
SEARCH_ROUND_SITES: int = 40
SEARCH_ROUND_NODES: int = 300
#: The split: the free sites of highest disposal value, at most ``SPLIT_CANDIDATES``
#: and each holding at least ``SPLIT_MIN_VALUE_SHARE`` of all free sites' disposal
#: value, are probed in turn (a MIP search of ``SPLIT_PROBE_NODES`` nodes: 0 is HiGHS's
#: presolve alone, about 0.3 s on the demo, where a root node costs 40 s; then, where
#: it proves nothing, a feasible plan that disposes of it); one proved kept is fixed
#: so, and the first that may go splits the search into the plans that dispose of it
#: and those that keep it. The demo's split site holds 7.9 % of the value; OR-Library
#: capa's most valuable site 1.25 %, where a split does not pay.
SPLIT_CANDIDATES: int = 6
SPLIT_MIN_VALUE_SHARE: float = 0.05
SPLIT_PROBE_NODES: int = 0

#: Decomposition: sites that share no candidate service and no group of zones form
#: parts searched one by one (a sub-region's boroughs, say), packed to at least
#: ``PART_MIN_SITES`` sites each; then ``SEAM_ROUNDS`` neighbourhood rounds over the
#: whole place improve the plan across the parts' seams.
PART_MIN_SITES: int = 50
SEAM_ROUNDS: int = 20

#: HiGHS ``mip_heuristic_effort`` (its own default is 0.05): more of the root node goes
#: to primal heuristics. On the demo 0.3 gives GBP 196.00 m in 58 s against 195.79 m in
#: 47 s; on the first borough of a two-borough sub-region 192.13 m against 186.32 m.
HIGHS_HEURISTIC_EFFORT: float = 0.3

#: Solver defaults. The time limit is a safety stop only: a run it cuts short says
#: that its plan is not reproducible. ``threads`` is how many searches run at once
#: (processes); it never changes the plan.
SOLVER_BACKEND: str = "highs"
SOLVER_TIME_LIMIT_S: float = 900.0
SOLVER_THREADS: int = 2
SOLVER_SEED: int = 0
SOLVER_RELATIVE_GAP: float = 1e-4

#: Explaining an infeasible scenario: how many forced disposals are each tried kept
#: (those hosting the most space first), the nodes each rule tried relaxed may search
#: for a plan, and the nodes of each of the two solves that find the fewest rules
#: that give way and their least shortfall.
EXPLAIN_MAX_FORCED: int = 8
EXPLAIN_TRY_NODES: int = 200
EXPLAIN_NODES: int = 2000

#: Choosing energy measures where a budget or a target ties them and the kept sites have
#: more than ``SEARCH_EXACT_MAX_PAIRS / 5`` options: after the relaxation, this many
#: sites (those whose best two options are nearest in value at the rules' prices) are
#: re-solved exactly with the fractional ones, the rest fixed. On the demo's net-zero
#: scenario (6,778 options), on a quiet 2-core machine: 10 sites 0.6 s, 0.43 % below the
#: measures' proved optimum; 20 sites 1.1 s, 0.23 %; 40 sites 25 s, 0.13 % (seconds grow
#: beside other work, the choice does not: it is bounded by nodes, not time).
MEASURE_SITES: int = 20

#: The leaders' map outlines a zone whose trip to the nearest site of a service type gets
#: this many minutes longer or more, though it stays within the standard.
MAP_FURTHER_MINUTES = 5.0

#: ``tp-assets compare`` warns about a plan not proven within this gap of its bound.
COMPARE_GAP = 0.01

#: Most variants a sweep runs without ``--yes`` (``tp-assets sweep``): a grid of
#: 50 demo variants takes about an hour on a 2-core machine.
SWEEP_MAX_VARIANTS: int = 50
