"""Shared fixtures: the tiny valid place, an editor for its CSV cells, the shared data."""

from __future__ import annotations

import csv
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TEST_DATA = ROOT / "tests" / "data"
DEMO = ROOT / "data" / "demo"
SHARED_DATA = ROOT.parent / "shared" / "data"

Edit = Callable[..., Path]


@pytest.fixture
def place(tmp_path: Path) -> Path:
    """A writable copy of the tiny valid place in tests/data/place."""
    target = tmp_path / "place"
    shutil.copytree(TEST_DATA / "place", target)
    return target


def edit_csv(path: Path, row_id: str | None = None, column: str | None = None,
             value: str | None = None, *, drop_column: str | None = None,
             rename: tuple[str, str] | None = None) -> Path:
    """Change one cell (by the row's id in the first column), drop or rename a column."""
    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    header = rows[0]
    if drop_column is not None:
        k = header.index(drop_column)
        rows = [r[:k] + r[k + 1:] for r in rows]
    if rename is not None:
        header[header.index(rename[0])] = rename[1]
    if column is not None:
        k = header.index(column)
        for r in rows[1:]:
            if r and r[0] == row_id:
                r[k] = value or ""
                break
        else:
            raise KeyError(row_id)
    with path.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f, lineterminator="\n").writerows(rows)
    return path


@pytest.fixture
def shared_data() -> Path:
    """The real open data in ../shared/data (skip where this checkout has none)."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real open data not found at {SHARED_DATA} (../shared/data beside the repo)")
    return SHARED_DATA
