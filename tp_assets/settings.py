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

#: HiGHS searches with one thread: on problems at least this large (candidate pairs)
#: ``[solver] threads`` independent searches run in parallel processes with seeds
#: seed, seed + 1, ..., and the best plan wins (smaller problems solve in about a
#: second, less than it takes to start the processes).
PORTFOLIO_MIN_PAIRS: int = 2000

#: Seconds over which the CPU is sampled before parallel searches start: they run
#: only on cores idle then (on 2 cores with one busy, two searches at 35 s ended at
#: GBP 167.8 m, gap 23.8 %, and one at 198.5 m, 4.5 %; idle, one or two gave 198.5 m).
CPU_SAMPLE_S: float = 0.25

#: Parallel searches split the plans on one decisive site (``optimise._split_site``):
#: the free sites of highest disposal value are candidates (at most this many), each
#: probed by a search of at most ``SPLIT_PROBE_S`` seconds for plans that dispose of
#: it, probing taking at most ``SPLIT_PROBE_SHARE`` of the time limit. On the demo,
#: the most valuable site is proved kept and the next one is the split (about 3 s).
#: Below ``SPLIT_MIN_S`` seconds of time limit the searches do not split: each side's
#: MIP search needs the end of its root node (about 25 s on the demo's disposing side)
#: and still leave time for the neighbourhood search. On the demo at 60 s the split
#: gives a gap of about 1 % (3.4 % unsplit), at 45 s 1.7 %. At 35 s it gave 19-24 %
#: with half the time for the neighbourhood search, and 1.6 % with the MIP search
#: given 25 s, but then, with one core busy elsewhere, 55.6 % (the greedy start; 12.5 %
#: unsplit): too fragile to keep.
SPLIT_MIN_S: float = 45.0
SPLIT_CANDIDATES: int = 6
#: A candidate site must hold at least this share of all free sites' disposal value: a
#: split pays off only on a decision that carries much of the value. The demo's split
#: site holds 7.9 % (60 s plans: GBP 200.4 m unsplit, 205.1 m split); OR-Library capa's
#: most valuable site 1.25 % (60 s: 1.09 % above the optimum unsplit, 2.30 % split).
SPLIT_MIN_VALUE_SHARE: float = 0.05
SPLIT_PROBE_S: float = 3.0
SPLIT_PROBE_SHARE: float = 0.15

#: Large-neighbourhood search (``optimise.improve``) after each MIP search that stops
#: short of optimal: the share of the time limit it has (the ``[solver] local_search``
#: default), the sites whose keep/dispose decisions each round frees, and the longest
#: a round's solve may take (seconds).
#: Measured on the demo (benchmarks/README.md): with the search, plans at 60 s were
#: within 0.3 % of each other over three seeds, against 5 % for HiGHS alone.
LNS_SHARE: float = 0.5
LNS_SITES: int = 20
LNS_ROUND_S: float = 2.0

#: HiGHS ``mip_heuristic_effort`` (its default is 0.05): more of the MIP search goes
#: to primal heuristics, which find the first good plans of the demo sooner.
HIGHS_HEURISTIC_EFFORT: float = 0.3

#: Solver defaults (see benchmarks/README.md for the measurements behind the backend).
SOLVER_BACKEND: str = "highs"
SOLVER_TIME_LIMIT_S: float = 60.0
SOLVER_THREADS: int = 2
SOLVER_SEED: int = 0
SOLVER_RELATIVE_GAP: float = 1e-4

#: Explaining an infeasible scenario: how many forced disposals are each tried kept
#: (those hosting the most space first), the seconds each rule tried relaxed may
#: search for a plan, and the fewest seconds the search for the fewest rules that
#: give way may take, whatever the scenario's time limit.
EXPLAIN_MAX_FORCED: int = 8
EXPLAIN_TRY_S: float = 5.0
EXPLAIN_MIN_S: float = 20.0

#: The leaders' map outlines a zone whose trip to the nearest site of a service type gets
#: this many minutes longer or more, though it stays within the standard.
MAP_FURTHER_MINUTES = 5.0
