"""The optimiser's problem and plan in plain arrays: no OR-Tools, no files, no geometry.

What :mod:`tp_assets.check`, :mod:`tp_assets.savings` and :mod:`tp_assets.maps` import.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd


@dataclass
class AccessRule:
    """One access standard in array form.

    Zones that can reach exactly the same candidate host sites within the standard
    are merged into one *group*; a group is served when any of its sites hosts the
    service type.

    Attributes
    ----------
    service_type
        Index into :attr:`Problem.type_names`.
    rule
        ``{"no_loss", "coverage"}``.
    coverage
        Required share of demand served (``coverage`` rule), 0-1.
    group_sites
        Per group, the site indices within the standard that could host the type.
    group_demand
        Per group, the demand of its zones (people).
    group_required
        Per group, whether it must stay served (``no_loss``: served today).
    group_zones
        Per group, the zone ids (for explanations).
    total_demand
        Demand of all zones, including zones no candidate site can serve (people).
    """

    service_type: int
    rule: str
    coverage: float
    group_sites: list[np.ndarray]
    group_demand: np.ndarray
    group_required: np.ndarray
    group_zones: list[list[str]]
    total_demand: float
    max_minutes: float = 0.0
    demand: str = "population"


@dataclass
class OptionRow:
    """One rule over the measure options (and the keep decisions) of a problem.

    ``sum(option_coef * z[option_index]) + sum(site_coef * x[site_index])`` is at most
    (``sense`` ``"<="``) or at least (``">="``) ``rhs``, where ``z`` says which options
    are taken and ``x`` which sites are kept.

    Attributes
    ----------
    kind
        ``{"capital", "capital_year", "carbon", "fossil"}``.
    key
        The year (appraisal, 1-based) or site index the row is about.
    words
        What the rule says, in the scenario's words (for explanations).
    """

    kind: str
    key: int | None
    words: str
    option_index: np.ndarray
    option_coef: np.ndarray
    site_index: np.ndarray
    site_coef: np.ndarray
    rhs: float
    sense: str = "<="


@dataclass
class OptionSet:
    """The energy measures a plan may fit: options (a bundle of measures and a year) per site.

    Attributes
    ----------
    site
        Site index of each option; a site takes at most one, and only if kept.
    value
        Each option's value (GBP: discounted cash, plus carbon valued where the
        scenario says so).
    measures
        Each option's measure ids joined by ``+``, e.g. ``"led+pv"``.
    fit_year
        Each option's appraisal year of fitting (1-based).
    rows
        Rules that tie options together (budgets, a carbon target, a fuel rule). With
        none, each site's single option is already folded into
        :attr:`Problem.base_value` and :attr:`Problem.disposal_value`, and the model has
        no option variables.
    """

    site: np.ndarray
    value: np.ndarray
    measures: list[str]
    fit_year: np.ndarray
    rows: list[OptionRow] = field(default_factory=list)

    @property
    def coupled(self) -> bool:
        """Whether rules tie the options together (the model then decides them)."""
        return bool(self.rows)


@dataclass
class Problem:
    r"""A co-location and disposal problem in arrays.

    Formulation (maximise the NPV of the plan against the status quo):

    .. math::

        \max \sum_b V_b (1 - x_b) - \sum_{(s,b) \in P} c_{sb} y_{sb}

    subject to, for every service :math:`s`, :math:`\sum_b y_{sb} = 1` over its
    candidate hosts :math:`P_s`; :math:`y_{sb} \le x_b`; capacity
    :math:`\sum_s a_s y_{sb} \le K_b x_b`; :math:`y_{sb} \le h_{t(s)b}`,
    :math:`h_{tb} \le \sum_{s \in t} y_{sb}`, :math:`h_{tb} \le x_b` (type :math:`t`
    hosted at :math:`b`, a variable only for types in a conflict or with a splittable
    service; otherwise :math:`h_{tb}` stands for :math:`\sum_{s \in t} y_{sb}`, which
    is at least 1 exactly when a whole service of type :math:`t` is at :math:`b`);
    incompatible types :math:`h_{t_1 b} + h_{t_2 b} \le 1`;
    ``no_loss`` groups :math:`\sum_{b \in G} h_{tb} \ge 1`; ``coverage``
    :math:`u_g \le \sum_{b \in G} h_{tb}`, :math:`\sum_g d_g u_g \ge X D`; optional
    caps on one-off spend :math:`\sum c_{sb} y_{sb}`, on disposals and on sites kept
    per owner. :math:`x_b` (keep), :math:`h_{tb}` binary; :math:`y_{sb}` binary, or in
    [0, 1] for a splittable service; :math:`u_g \in [0, 1]`.

    Attributes
    ----------
    site_ids, service_ids
        Labels.
    disposal_value
        :math:`V_b`, NPV gained by disposing site b (GBP).
    capacity
        :math:`K_b` (m2).
    keep_fixed
        1: must keep, 0: must dispose, -1: free.
    area
        :math:`a_s` (m2).
    splittable
        Whether service s may be spread over several sites.
    current
        Site index of each service today (-1: none, e.g. a published instance).
    service_type
        Type index of each service; names in ``type_names``.
    pair_service, pair_site, pair_cost
        Candidate (service, site) pairs and the one-off cost :math:`c_{sb}` (GBP) of
        placing the whole service there (0 for its current site).
    conflicts
        Pairs of type indices that must not share a site.
    rules
        Access standards.
    max_one_off_gbp, max_disposals
        Optional caps.
    site_owner, owner_names, min_sites_per_owner
        Owner index of each site, the owners' names, and owner index -> fewest
        sites kept.
    seen_conflicts
        Conflicts the adapter saw in the inputs (reported by :func:`precheck`).
    movable
        Whether each service may move (``movable`` in the register), for messages;
        ``None`` where unknown.
    barred
        Whether ``[rules] not_hosted`` forbids each service's type at its own site today
        (it must move), for messages; ``None`` where unknown.
    base_value
        Value (GBP) every plan gets from each site whatever is decided (the measures
        a kept site would take, less the offsets it would buy, as folded into
        ``disposal_value``); ``None``: none.
    options
        Energy measures to decide with the plan; ``None``: none.
    """

    site_ids: np.ndarray
    service_ids: np.ndarray
    disposal_value: np.ndarray
    capacity: np.ndarray
    keep_fixed: np.ndarray
    area: np.ndarray
    splittable: np.ndarray
    current: np.ndarray
    service_type: np.ndarray
    type_names: list[str]
    pair_service: np.ndarray
    pair_site: np.ndarray
    pair_cost: np.ndarray
    conflicts: list[tuple[int, int]] = field(default_factory=list)
    rules: list[AccessRule] = field(default_factory=list)
    max_one_off_gbp: float | None = None
    max_disposals: int | None = None
    site_owner: np.ndarray | None = None
    owner_names: list[str] = field(default_factory=list)
    min_sites_per_owner: dict[int, int] = field(default_factory=dict)
    seen_conflicts: list[str] = field(default_factory=list)
    movable: np.ndarray | None = None
    barred: np.ndarray | None = None
    base_value: np.ndarray | None = None
    options: OptionSet | None = None

    @property
    def coupled_options(self) -> OptionSet | None:
        """The options where rules tie them together (the model decides them), else ``None``."""
        return self.options if self.options is not None and self.options.coupled else None

    @property
    def n_sites(self) -> int:
        """Number of sites."""
        return len(self.site_ids)


@dataclass
class Plan:
    """The solver's answer.

    Attributes
    ----------
    site_ids
        Site labels, in the order of ``keep``.
    keep
        Whether each site is kept.
    assignment
        One row per service and host: ``service_id``, ``site_id``, ``share`` (1.0
        unless the service is split).
    status
        ``{"OPTIMAL", "FEASIBLE"}``.
    objective_gbp
        NPV of the plan against the status quo (GBP).
    best_bound_gbp
        Best bound on the NPV the solver proved (GBP).
    gap
        Relative gap between them (0 when optimal).
    solve_seconds
        Wall time of the solve (seconds).
    solver
        ``"OR-Tools <version> MathOpt/<backend>"``.
    model_size
        Variables and constraints of the model.
    proved_kept
        Ids of free sites the solver proved can be disposed of in no plan that keeps
        every rule (found while choosing where to split the search).
    found_by
        What found the plan: ``"solver"`` (the MIP search), ``"neighbourhood search"``
        (its rounds improved on the MIP search's plan) or ``"greedy start"`` (neither
        improved on the start the search was given).
    stopped_by_clock
        Whether the safety stop (``[solver] time_limit_s``) cut the search short: the
        plan then depends on the machine's speed and load, and is not reproducible.
    work
        The work the search did: branch-and-bound nodes, neighbourhood rounds, and the
        site the search was split on (``None`` where it was not).
    measures
        The energy measures the plan fits: ``site_id``, ``measures`` (ids joined by
        ``+``) and ``fit_year`` (appraisal year, 1-based), one row per site that takes
        any; empty where the scenario has none.
    """

    site_ids: np.ndarray
    keep: np.ndarray
    assignment: pd.DataFrame
    status: str
    objective_gbp: float
    best_bound_gbp: float
    gap: float
    solve_seconds: float
    solver: str
    model_size: dict[str, int] = field(default_factory=dict)
    proved_kept: list[str] = field(default_factory=list)
    found_by: str = "solver"
    stopped_by_clock: bool = False
    work: dict[str, int | str | None] = field(default_factory=dict)
    measures: pd.DataFrame = field(default_factory=lambda: no_measures())

    @property
    def disposed(self) -> list[str]:
        """Ids of the sites disposed of."""
        return [str(s) for s in self.site_ids[~self.keep]]

    @property
    def gap_text(self) -> str:
        """The gap for people: ``"gap 4.40%"``, or says that no bound was proved."""
        return (f"gap {self.gap:.2%}" if np.isfinite(self.gap)
                else "gap unknown: the solver proved no bound within its budget")

    @property
    def caveats(self) -> list[str]:
        """What a reader of the plan must know about how it was found, in plain words."""
        out = []
        if self.stopped_by_clock:
            out.append(STOPPED_BY_CLOCK)
        if self.found_by == "greedy start":
            out.append("the solver found no better plan than its greedy start within its "
                       "budget; this plan is that start")
        return out


#: What a plan cut short by the safety stop says wherever it is shown.
STOPPED_BY_CLOCK = ("stopped by the clock ([solver] time_limit_s): this plan is not "
                    "reproducible; raise time_limit_s or lower the search's work")


def clean_shares(problem: Problem, share: np.ndarray) -> np.ndarray:
    """Solver values made exact: 0 or 1 for whole services, shares summing to 1 when split.

    Values within the solver's tolerance of 0 (at most ``SHARE_EPS``) would otherwise
    read as a sliver of a service hosted at a site.

    Parameters
    ----------
    problem
        The problem.
    share
        A value per candidate pair, as the solver returned it.

    Returns
    -------
    numpy.ndarray
        Per candidate pair: a whole service's one host gets 1 (its largest value), a
        split service's shares above ``SHARE_EPS`` are scaled to sum to 1.
    """
    p = problem
    share = np.where(share > SHARE_EPS, share, 0.0)
    total = np.bincount(p.pair_service, weights=share, minlength=len(p.service_ids))
    split = p.splittable[p.pair_service]
    out = np.where(split, share / np.maximum(total[p.pair_service], SHARE_EPS), 0.0)
    order = np.lexsort((-share, p.pair_service))
    first = np.r_[True, p.pair_service[order][1:] != p.pair_service[order][:-1]]
    head = order[first[:len(order)]]  # no pairs at all: no heads
    head = head[~split[head] & (share[head] > 0)]
    out[head] = 1.0
    return out


#: Solver values at most this are read as 0 (a share of a service, or a binary).
SHARE_EPS = 1e-7


def relative_gap(bound: float, objective: float) -> float:
    """The gap between a plan's value and the bound proved on it, as a share of the value.

    ``inf`` where no bound is known.
    """
    if not np.isfinite(bound):
        return float(np.inf)
    return abs(bound - objective) / max(abs(objective), 1e-9)


def rule_incidence(problem: Problem) -> list[Any]:
    """Per access rule, its groups x sites incidence (a SciPy CSR matrix of ones)."""
    from scipy import sparse

    out = []
    for rule in problem.rules:
        rows = np.repeat(np.arange(len(rule.group_sites)), [len(g) for g in rule.group_sites])
        cols = (np.concatenate(rule.group_sites) if rule.group_sites
                else np.zeros(0, dtype=int))
        out.append(sparse.csr_matrix((np.ones(len(rows)), (rows, cols)),
                                     shape=(len(rule.group_sites), problem.n_sites)))
    return out


def hosting(problem: Problem, share: np.ndarray) -> np.ndarray:
    """Per service type and site: whether the plan places some of that type there."""
    p = problem
    hosted = np.zeros((len(p.type_names), p.n_sites), dtype=bool)
    on = share > 0
    hosted[p.service_type[p.pair_service[on]], p.pair_site[on]] = True
    return hosted


def served_groups(hosted: np.ndarray, rule: AccessRule) -> np.ndarray:
    """Per group of a rule: whether one of its sites hosts the type (``hosted``: per site)."""
    return np.array([bool(hosted[g].any()) for g in rule.group_sites], dtype=bool)


def meets_rules(problem: Problem, keep: np.ndarray, share: np.ndarray,
                incidence: list[Any] | None = None) -> bool:
    """Whether a plan keeps every rule: room, conflicts, access, caps and minimums.

    Every service's shares are taken to add up to 1 and to lie on its candidate pairs
    (as any plan built from the problem's pairs does); measures are not checked.

    Parameters
    ----------
    problem
        The problem.
    keep, share
        Keep flag per site and share per candidate pair.
    incidence
        :func:`rule_incidence` of the problem, where already built.
    """
    p = problem
    keep = np.asarray(keep, dtype=bool)
    used = np.bincount(p.pair_site, weights=share * p.area[p.pair_service], minlength=p.n_sites)
    if (used > p.capacity * keep + 1e-6).any():  # (m2: within any solver's tolerance)
        return False
    hosted = hosting(p, share)
    if any((hosted[t1] & hosted[t2]).any() for t1, t2 in p.conflicts):
        return False
    for rule, inc in zip(p.rules, incidence or rule_incidence(p), strict=True):
        served = inc @ hosted[rule.service_type].astype(float) > 0
        if rule.rule == "no_loss" and (rule.group_required & ~served).any():
            return False
        if rule.rule == "coverage" and (
                rule.group_demand @ served < rule.coverage * rule.total_demand - 1e-9):
            return False
    if p.max_one_off_gbp is not None and share @ p.pair_cost > p.max_one_off_gbp + 1e-6:
        return False
    if p.max_disposals is not None and (~keep).sum() > p.max_disposals:
        return False
    if p.site_owner is not None:
        for owner, minimum in p.min_sites_per_owner.items():
            if (keep & (p.site_owner == owner)).sum() < minimum:
                return False
    return True


def plan_value(problem: Problem, keep: np.ndarray, share: np.ndarray) -> float:
    """NPV of a plan against the status quo (GBP): disposal values less one-off costs.

    Where measures are decided with the plan and rules tie them together, their value is
    added by the search (:func:`tp_assets.optimise.model.choose_options`).

    Parameters
    ----------
    problem
        The problem.
    keep, share
        Keep flag per site and share per candidate pair.
    """
    base = 0.0 if problem.base_value is None else float(problem.base_value.sum())
    return float(problem.disposal_value[~keep].sum() - share @ problem.pair_cost + base)


def no_measures() -> pd.DataFrame:
    """An empty :attr:`Plan.measures` table."""
    return pd.DataFrame({"site_id": pd.Series(dtype=str), "measures": pd.Series(dtype=str),
                         "fit_year": pd.Series(dtype=int)})


def measures_frame(problem: Problem, taken: np.ndarray) -> pd.DataFrame:
    """The :attr:`Plan.measures` table of the options ``taken`` (indices), by site."""
    o = problem.options
    taken = np.asarray(taken, dtype=int)
    if o is None or not len(taken):
        return no_measures()
    order = taken[np.argsort(o.site[taken], kind="stable")]
    return pd.DataFrame({"site_id": problem.site_ids[o.site[order]].astype(str),
                         "measures": [o.measures[k] for k in order],
                         "fit_year": o.fit_year[order].astype(int)})


def options_taken(problem: Problem, keep: np.ndarray) -> np.ndarray:
    """Indices of the options a plan takes where no rule ties them: each kept site's one.

    With rules tying them (:attr:`OptionSet.coupled`) the model chooses; see
    :func:`tp_assets.optimise.model.choose_options`.
    """
    o = problem.options
    if o is None:
        return np.zeros(0, dtype=int)
    return np.flatnonzero(keep[o.site])


def minimal_groups(rule: AccessRule) -> list[int]:
    """The required groups of a ``no_loss`` rule whose site sets contain no other's.

    Serving a group whose sites include all the sites of another required group is
    implied by serving that group, so only these rows need enter the model.

    Parameters
    ----------
    rule
        A ``no_loss`` access rule.

    Returns
    -------
    list of int
        Group indices, in order.
    """
    masks: dict[int, int] = {}
    for group in np.flatnonzero(rule.group_required).tolist():
        mask = 0
        for b in rule.group_sites[group]:
            mask |= 1 << int(b)
        masks[group] = mask
    kept: list[int] = []
    for group in sorted(masks, key=lambda k: (masks[k].bit_count(), k)):
        mask = masks[group]
        if not any(masks[k] & mask == masks[k] for k in kept):
            kept.append(group)
    return sorted(kept)


def assignment_frame(problem: Problem, y: np.ndarray) -> pd.DataFrame:
    """One row per service and host (``service_id``, ``site_id``, ``share``) of a plan."""
    rows = []
    for s in range(len(problem.service_ids)):
        ks = np.flatnonzero(problem.pair_service == s)
        values = y[ks]
        if problem.splittable[s]:
            values = np.where(values > SHARE_EPS, values, 0.0)
            values = values / values.sum()
            for k, v in zip(ks, values, strict=True):
                if v > 0:
                    rows.append((problem.service_ids[s], problem.site_ids[problem.pair_site[k]],
                                 float(v)))
        else:
            k = ks[int(values.argmax())]
            rows.append((problem.service_ids[s], problem.site_ids[problem.pair_site[k]], 1.0))
    return pd.DataFrame(rows, columns=["service_id", "site_id", "share"])


def pair_shares(problem: Problem, assignment: pd.DataFrame) -> np.ndarray:
    """The share per candidate pair of a plan's assignment (:func:`assignment_frame` undone).

    Parameters
    ----------
    problem
        The problem the plan is of.
    assignment
        ``service_id``, ``site_id``, ``share``: one row per service and host.
    """
    index = pd.Series(np.arange(len(problem.pair_site)), index=pd.MultiIndex.from_arrays(
        [problem.service_ids[problem.pair_service], problem.site_ids[problem.pair_site]]))
    share = np.zeros(len(problem.pair_site))
    rows = index.loc[list(zip(assignment["service_id"], assignment["site_id"], strict=True))]
    share[rows.to_numpy()] = assignment["share"].to_numpy(dtype=float)
    return share

