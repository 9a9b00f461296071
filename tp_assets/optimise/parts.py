"""A problem cut into the parts that do not meet: decomposition, in plain arrays.

Two sites belong to one *part* when some service may be placed at both, or when both
can serve one group of zones under an access standard. Parts share no decision, so a
plan of each makes a plan of the whole, but for the rules that add up over the whole
place: ``coverage`` shares, the ``[caps]`` and the owners' minimums. Each part gets
a share of those (:func:`apportion`): enough in every part for the shares to add up to
the whole's, and never more than the part met with its status quo, so that every
part keeps a plan. The shares restrict the plans, so the parts' bounds are not a bound
of the whole; :func:`relax` gives each part the least it must meet in *any* plan of
the whole (the whole's need less what every other part could give at most), whose
bounds add up to a valid bound.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from tp_assets.optimise.problem import AccessRule, Problem, hosting, served_groups

#: A part's caps: one-off spend (GBP), disposals, and owner index -> fewest sites kept.
Caps = tuple[float | None, int | None, dict[int, int]]


@dataclass(frozen=True)
class Part:
    """One part of a problem.

    Attributes
    ----------
    sites, services
        Indices into the whole problem's sites and services, in order.
    pairs
        Indices into the whole problem's candidate pairs, in order.
    """

    sites: np.ndarray
    services: np.ndarray
    pairs: np.ndarray


def parts(problem: Problem, min_sites: int = 1) -> list[Part]:
    """The parts of a problem, small ones packed together, in order of their first site.

    Parameters
    ----------
    problem
        The problem.
    min_sites
        Parts with fewer sites are packed with their neighbours (in site order) until
        each has at least this many (a part of empty sites, say, is not worth a search).

    Returns
    -------
    list of Part
        One part where nothing separates (then the whole problem).
    """
    from scipy import sparse
    from scipy.sparse.csgraph import connected_components

    p = problem
    order = np.argsort(p.pair_service, kind="stable")
    by_service, site = p.pair_service[order], p.pair_site[order]
    same = by_service[:-1] == by_service[1:]  # consecutive candidates of one service
    heads: list[np.ndarray] = [site[:-1][same]]
    tails: list[np.ndarray] = [site[1:][same]]
    for rule in p.rules:
        for sites in rule.group_sites:
            if len(sites) > 1:
                heads.append(sites[:-1])
                tails.append(sites[1:])
    a, b = np.concatenate(heads).astype(int), np.concatenate(tails).astype(int)
    graph = sparse.coo_matrix((np.ones(len(a)), (a, b)), shape=(p.n_sites, p.n_sites))
    _, label = connected_components(graph, directed=False)
    # number the parts by their first site, then pack the small ones
    first: dict[int, int] = {}
    for b_, part in enumerate(label.tolist()):
        first.setdefault(part, b_)
    groups: list[list[int]] = []
    size = 0
    for part in sorted(first, key=first.__getitem__):
        if not groups or size >= min_sites:
            groups.append([])
            size = 0
        groups[-1].append(part)
        size += int((label == part).sum())
    if len(groups) > 1 and size < min_sites:  # the last pack is small: join the one before
        last = groups.pop()
        groups[-1] += last
    out = []
    service_site = np.full(len(p.service_ids), -1)
    service_site[p.pair_service[::-1]] = p.pair_site[::-1]  # each service's first pair
    for group in groups:
        inside = np.isin(label, group)
        services = np.flatnonzero((service_site >= 0) & inside[np.maximum(service_site, 0)])
        out.append(Part(np.flatnonzero(inside), services,
                        np.flatnonzero(inside[p.pair_site])))
    return out


def restrict(problem: Problem, part: Part, rules: list[AccessRule], caps: Caps) -> Problem:
    """The problem of one part, with its share of the rules that add up over the whole.

    Parameters
    ----------
    problem
        The whole problem.
    part
        The part.
    rules
        The part's access rules (groups and shares, from :func:`apportion` or
        :func:`relax`).
    caps
        The part's one-off cap (GBP), disposals cap and owners' minimums.
    """
    p = problem
    site_code = np.full(p.n_sites, -1)
    site_code[part.sites] = np.arange(len(part.sites))
    service_code = np.full(len(p.service_ids), -1)
    service_code[part.services] = np.arange(len(part.services))
    one_off, disposals, minimums = caps

    def sub(values: np.ndarray | None, index: np.ndarray) -> np.ndarray | None:
        return None if values is None else values[index]

    return dataclasses.replace(
        p, site_ids=p.site_ids[part.sites], service_ids=p.service_ids[part.services],
        disposal_value=p.disposal_value[part.sites], capacity=p.capacity[part.sites],
        keep_fixed=p.keep_fixed[part.sites], area=p.area[part.services],
        splittable=p.splittable[part.services],
        current=np.where(p.current[part.services] >= 0,
                         site_code[np.maximum(p.current[part.services], 0)], -1),
        service_type=p.service_type[part.services],
        pair_service=service_code[p.pair_service[part.pairs]],
        pair_site=site_code[p.pair_site[part.pairs]], pair_cost=p.pair_cost[part.pairs],
        rules=[dataclasses.replace(r, group_sites=[site_code[g] for g in r.group_sites])
               for r in rules],
        max_one_off_gbp=one_off, max_disposals=disposals,
        site_owner=sub(p.site_owner, part.sites), min_sites_per_owner=minimums,
        seen_conflicts=[], movable=sub(p.movable, part.services),
        barred=sub(p.barred, part.services), base_value=sub(p.base_value, part.sites),
        options=None)  # (parts are searched only where no rule ties measures together)


def _groups(rule: AccessRule, part: Part, n_sites: int) -> np.ndarray:
    """The groups of a rule whose sites lie in the part."""
    inside = np.zeros(n_sites, dtype=bool)
    inside[part.sites] = True
    return np.array([len(g) > 0 and bool(inside[g[0]]) for g in rule.group_sites], dtype=bool)


def _with_groups(rule: AccessRule, mine: np.ndarray, need: float) -> AccessRule:
    """A rule's groups in one part, with ``need`` people of demand to serve (coverage)."""
    idx = np.flatnonzero(mine)
    total = float(rule.group_demand[idx].sum())
    return dataclasses.replace(
        rule, group_sites=[rule.group_sites[g] for g in idx],
        group_demand=rule.group_demand[idx], group_required=rule.group_required[idx],
        group_zones=[rule.group_zones[g] for g in idx], total_demand=total,
        coverage=min(1.0, max(0.0, need) / total) if total > 0 else 0.0)


def _served_today(problem: Problem, rule: AccessRule) -> np.ndarray:
    """Per group: whether a site hosting the type today, and not forced out, serves it."""
    p = problem
    hosts = np.zeros(p.n_sites, dtype=bool)
    today = p.current[(p.service_type == rule.service_type) & (p.current >= 0)]
    hosts[today] = True
    hosts &= p.keep_fixed != 0
    return served_groups(hosts, rule)


def _per_part(cut: list[Part], flags: np.ndarray) -> np.ndarray:
    """How many of each part's sites are flagged (``flags``: per site of the whole)."""
    return np.array([int(flags[part.sites].sum()) for part in cut], dtype=int)


def _largest_remainder(total: int, weights: np.ndarray, most: np.ndarray) -> np.ndarray:
    """``total`` shared out in proportion to ``weights``, each at most ``most``."""
    if weights.sum() <= 0 or total <= 0:
        return np.zeros(len(weights), dtype=int)
    exact = total * weights / weights.sum()
    share = np.minimum(np.floor(exact).astype(int), most)
    for k in np.argsort(-(exact - np.floor(exact)), kind="stable"):
        if share.sum() >= total:
            break
        if share[k] < most[k]:
            share[k] += 1
    return share


def apportion(problem: Problem, cut: list[Part],
              plan: tuple[np.ndarray, np.ndarray] | None = None
              ) -> tuple[list[list[AccessRule]], list[Caps]] | None:
    """Each part's share of the rules that add up over the whole place.

    Without a plan, the shares follow the status quo: a coverage rule's demand to
    serve is shared in proportion to the demand each part serves today; the disposals
    cap and the one-off cap in proportion to each part's free sites and services
    (forced disposals first); an owner's minimum in proportion to the sites it has in
    each part, at most those. Given a plan of the whole that keeps every rule, they
    follow the plan: each part is asked for at most what its own part of the plan
    serves, keeps, spends and disposes of, the whole's slack shared out the same way,
    so that the plan keeps every part's share. Shares add up to the whole's.

    Parameters
    ----------
    problem
        The whole problem.
    cut
        Its parts (:func:`parts`).
    plan
        Keep flag per site and share per candidate pair of a plan of the whole that
        keeps every rule (:func:`~tp_assets.optimise.problem.meets_rules`).

    Returns
    -------
    rules, caps
        Per part: its access rules, and its (one-off cap, disposals cap, minimums);
        ``None`` where the status quo itself falls short of a coverage rule (no share
        is then sure to leave each part a plan).
    """
    p = problem
    if plan is None:
        kept = p.keep_fixed != 0
        spent = np.zeros(len(cut))
        disposed = _per_part(cut, p.keep_fixed == 0)
    else:
        kept = np.asarray(plan[0], dtype=bool)
        spent = np.array([float(plan[1][part.pairs] @ p.pair_cost[part.pairs])
                          for part in cut])
        disposed = _per_part(cut, ~kept)
    hosted = None if plan is None else hosting(p, plan[1])
    rules: list[list[AccessRule]] = [[] for _ in cut]
    for rule in p.rules:
        mine = [_groups(rule, part, p.n_sites) for part in cut]
        if rule.rule == "no_loss":
            for k, m in enumerate(mine):
                rules[k].append(_with_groups(rule, m, 0.0))
            continue
        served = (_served_today(p, rule) if hosted is None
                  else served_groups(hosted[rule.service_type], rule))
        held = np.array([rule.group_demand[m & served].sum() for m in mine])
        need = rule.coverage * rule.total_demand
        if held.sum() < need:  # the status quo falls short: no share is sure to hold
            return None
        shares = held * (need / held.sum()) if held.sum() > 0 else np.zeros(len(cut))
        # a hair over, so that the shares surely add up; never over what a plan serves
        shares = shares * (1.0 + 1e-12) if plan is None else np.minimum(
            shares * (1.0 + 1e-12), held)
        for k, m in enumerate(mine):
            rules[k].append(_with_groups(rule, m, shares[k]))
    free = _per_part(cut, p.keep_fixed == -1)
    disposals: list[int | None] = [None] * len(cut)
    if p.max_disposals is not None:
        forced = _per_part(cut, p.keep_fixed == 0)
        spare = max(0, p.max_disposals - int(disposed.sum()))
        extra = _largest_remainder(spare, free.astype(float), free - (disposed - forced))
        disposals = [int(disposed[k] + extra[k]) for k in range(len(cut))]
    one_off: list[float | None] = [None] * len(cut)
    if p.max_one_off_gbp is not None:
        n = np.array([len(part.services) for part in cut], dtype=float)
        left = p.max_one_off_gbp - float(spent.sum())
        one_off = [float(spent[k]) + left * n[k] / max(n.sum(), 1.0) for k in range(len(cut))]
    minimums: list[dict[int, int]] = [{} for _ in cut]
    for owner, minimum in p.min_sites_per_owner.items():
        assert p.site_owner is not None
        held_sites = _per_part(cut, kept & (p.site_owner == owner))
        for k, n_k in enumerate(_largest_remainder(minimum, held_sites.astype(float),
                                                   held_sites)):
            if n_k:
                minimums[k][owner] = int(n_k)
    return rules, list(zip(one_off, disposals, minimums, strict=True))


def relax(problem: Problem, cut: list[Part]) -> tuple[list[list[AccessRule]], list[Caps]]:
    """Each part's least share of the rules that add up, in any plan of the whole.

    A coverage rule's demand to serve in a part is the whole's need less what every
    other part could serve at most (every group with a site); an owner's minimum
    likewise less the sites it could keep elsewhere; the one-off cap is the whole's, the
    disposals cap the whole's less the disposals forced elsewhere. A plan of the whole
    meets every part's relaxed rules, so the parts' bounds add up to a
    bound of the whole.
    """
    p = problem
    rules: list[list[AccessRule]] = [[] for _ in cut]
    for rule in p.rules:
        mine = [_groups(rule, part, p.n_sites) for part in cut]
        most = np.array([rule.group_demand[m].sum() for m in mine])
        need = rule.coverage * rule.total_demand if rule.rule == "coverage" else 0.0
        for k, m in enumerate(mine):
            rules[k].append(_with_groups(rule, m, need - (most.sum() - most[k])))
    minimums: list[dict[int, int]] = [{} for _ in cut]
    for owner, minimum in p.min_sites_per_owner.items():
        assert p.site_owner is not None
        held = _per_part(cut, (p.site_owner == owner) & (p.keep_fixed != 0))
        for k in range(len(cut)):
            least = minimum - int(held.sum() - held[k])
            if least > 0:
                minimums[k][owner] = least
    disposals: list[int | None] = [None] * len(cut)
    if p.max_disposals is not None:
        forced = _per_part(cut, p.keep_fixed == 0)
        disposals = [p.max_disposals - int(forced.sum() - forced[k]) for k in range(len(cut))]
    return rules, [(p.max_one_off_gbp, d, m) for d, m in zip(disposals, minimums, strict=True)]


def couples(problem: Problem, cut: list[Part]) -> bool:
    """Whether some rule adds up over more than one part (shares then restrict plans)."""
    p = problem
    spans = [sum(bool(_groups(r, part, p.n_sites).any()) for part in cut) > 1
             for r in p.rules if r.rule == "coverage"]
    owners = []
    for owner in p.min_sites_per_owner:
        assert p.site_owner is not None
        owners.append(sum(bool((p.site_owner[part.sites] == owner).any()) for part in cut) > 1)
    return (any(spans) or any(owners) or p.max_disposals is not None
            or p.max_one_off_gbp is not None)
