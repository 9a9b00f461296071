"""Choose which sites to keep, which to dispose of and where each service goes.

A package (DESIGN.md): :mod:`.problem` holds the :class:`Problem` and :class:`Plan`
in plain arrays (what the checker, savings and maps import; no OR-Tools);
:mod:`.adapter` builds a problem from an estate, its travel times and a scenario;
:mod:`.model` is the MathOpt model, the only OR-Tools import; :mod:`.search` finds a
plan within a budget of work; :mod:`.explain` says why a scenario cannot hold;
:mod:`.orlib` reads published test instances. :func:`optimise` runs them in order.
"""

from __future__ import annotations

from tp_assets._errors import InfeasibleError
from tp_assets.access import TravelTimes
from tp_assets.estate import Estate
from tp_assets.optimise.adapter import (
    build_problem,
    check_memory,
    check_names,
    memory_available,
    memory_needed,
)
from tp_assets.optimise.explain import AS_THEY_STAND, culprits, explain_both, precheck
from tp_assets.optimise.orlib import orlib_problem
from tp_assets.optimise.problem import (
    AccessRule,
    Plan,
    Problem,
    clean_shares,
    minimal_groups,
    plan_value,
)
from tp_assets.optimise.search import feasible_start, greedy, improve, neighbourhood, solve
from tp_assets.scenario import Scenario

__all__ = [
    "AccessRule",
    "Plan",
    "Problem",
    "build_problem",
    "check_memory",
    "check_names",
    "clean_shares",
    "feasible_start",
    "greedy",
    "improve",
    "memory_available",
    "memory_needed",
    "minimal_groups",
    "neighbourhood",
    "optimise",
    "orlib_problem",
    "plan_value",
    "precheck",
    "solve",
]


def optimise(estate: Estate, times: dict[str, TravelTimes], scenario: Scenario) -> Plan:
    """Build, pre-check and solve a scenario; explain it when it cannot hold.

    Parameters
    ----------
    estate, times, scenario
        As for :func:`build_problem`.

    Returns
    -------
    Plan
        Still to be verified with :func:`tp_assets.check.check_plan`.

    Raises
    ------
    NoPlanError
        The search's budget ended with no plan and no proof that none exists.
    InputError
        The searches' models would not fit in the memory available.
    InfeasibleError
        In the user's words: the changes any one of which would let every other rule
        hold (:func:`~tp_assets.optimise.explain.culprits`), then, as the rules stand,
        the conflicts seen before solving (:func:`precheck`) or the fewest rules that
        must give way (:func:`tp_assets.optimise.explain.explain`).
    """
    problem = build_problem(estate, times, scenario)
    check_memory(estate, scenario, memory_available(), problem)
    seen = precheck(problem, estate, scenario.texts)
    if seen:
        changes, untried = culprits(estate, times, scenario, problem)
        reasons, stand = seen, AS_THEY_STAND
    else:
        try:
            return solve(problem, scenario.solver)
        except InfeasibleError:
            pass
        changes, untried, (reasons, stand) = explain_both(estate, times, scenario, problem)
    lines = [f"scenario {scenario.name!r} cannot hold all its rules:"]
    if changes:
        lines += ["  any one of these changes would let every other rule hold:",
                  *(f"  - {line}" for line in changes)]
    elif untried:
        lines.append("  no single change tried would let every other rule hold")
    if untried:
        lines.append(f"  ({untried})")
    lines += [f"  {stand}", *(f"  - {line}" for line in reasons)]
    raise InfeasibleError("\n".join(lines)) from None


