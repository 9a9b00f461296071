"""The leaders' report: several scenarios side by side in one offline HTML page.

``tp-assets report results/A results/B ...`` reads the results folders only (nothing is
solved again) and writes one self-contained file: headline cards with the best value
of each figure marked, a savings waterfall per scenario and the NPV by owner, who gains
and who loses access by IMD decile and ward with a one-line equity verdict, and one map
with a control to pick the scenario (or today). It opens with a double-click and
loads nothing from anywhere; it prints to A4.

Modules: :mod:`.read` (folders in, refused where they cannot be set side by side),
:mod:`.equity` (the verdict), :mod:`.map_data` (what the map draws), :mod:`.page` (the
HTML).
"""

from __future__ import annotations

from pathlib import Path

from tp_assets.report.page import build_page
from tp_assets.report.read import Run, read_runs

__all__ = ["Run", "build_report", "read_runs", "write_report"]


def build_report(folders: list[Path]) -> str:
    """The report of results folders, as an HTML document.

    Parameters
    ----------
    folders
        ``results/<scenario>`` folders written by ``tp-assets run``, in the order to show.

    Returns
    -------
    str

    Raises
    ------
    InputError
        See :func:`tp_assets.report.read.read_runs`.
    """
    return build_page(read_runs([Path(f) for f in folders]))


def write_report(folders: list[Path], out: Path) -> Path:
    """Build the report and write it whole (a temporary file renamed into place).

    Parameters
    ----------
    folders
        Results folders.
    out
        The HTML file to write; its folder is made if missing.

    Returns
    -------
    Path
        ``out``.
    """
    from tp_assets import io

    page = build_report(folders)
    out.parent.mkdir(parents=True, exist_ok=True)
    with io.atomic_files(out, option="--out") as (tmp,):
        tmp.write_text(page, encoding="utf-8")
    return out
