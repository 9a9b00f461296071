"""One exception hierarchy for the whole package, and the wording its messages share.

Every error raised on purpose by tp-assets derives from :class:`TpAssetsError` and
also from the built-in exception a caller would naturally catch, so both
``except TpAssetsError`` and ``except ValueError`` work.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence


def shortlist(items: Sequence[object], limit: int = 8) -> str:
    """``"S1, S2, S3 and 4 more"``: the first ``limit`` items, then how many are left."""
    shown = ", ".join(str(i) for i in items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


class TpAssetsError(Exception):
    """Base class of every error raised on purpose by tp-assets."""

    exit_code: int = 1


class InputError(ValueError, TpAssetsError):
    """Bad input: a file, a column, a value or a setting the user can fix.

    Parameters
    ----------
    problems
        One message per problem found. Each names the file, the row or id, the
        column or key, the value and what would be valid.
    """

    exit_code = 2

    def __init__(self, problems: str | Iterable[str]) -> None:
        self.problems: list[str] = [problems] if isinstance(problems, str) else list(problems)
        super().__init__(self._format())

    def _format(self) -> str:
        if len(self.problems) == 1:
            return self.problems[0]
        lines = [f"{len(self.problems)} problems found in the input:"]
        lines += [f"  - {p}" for p in self.problems]
        return "\n".join(lines)


class InfeasibleError(TpAssetsError):
    """The scenario's rules cannot all hold at once; the message says which conflict.

    Parameters
    ----------
    message
        What cannot hold, in the user's words.
    """

    exit_code = 3


class NoPlanError(RuntimeError, TpAssetsError):
    """The search's budget ended with no plan, and no proof that none exists.

    Not an infeasible scenario: the rules may well hold; the message says which
    budget to raise.
    """

    exit_code = 4


class InternalError(RuntimeError, TpAssetsError):
    """A bug in tp-assets (for example a plan that fails the independent checker)."""

    exit_code = 1
