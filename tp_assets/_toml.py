"""Private plumbing: read TOML files with errors that name the file, key and line."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from tp_assets._errors import InputError


def read_toml(path: Path) -> tuple[dict[str, Any], str]:
    """Parse a TOML file.

    Parameters
    ----------
    path
        The file.

    Returns
    -------
    data, text
        The parsed tables and the raw text (kept to find line numbers of keys).
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{path}: file not found; check the path") from None
    except UnicodeDecodeError:
        raise InputError(f"{path.name}: not UTF-8 text; save it as UTF-8") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror})") from None
    try:
        return tomllib.loads(text), text
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{path.name}: not valid TOML ({exc}); see "
                         "https://toml.io for the syntax") from None


def line_of(text: str, key: str, table: str | None = None) -> int | None:
    """Line number (1-based) where ``key`` is set, inside ``[table]`` when given.

    Parameters
    ----------
    text
        The TOML file's text.
    key
        The bare key name.
    table
        Dotted name of the enclosing table header, or ``None`` for the top level.
    """
    current: str | None = None
    pattern = re.compile(rf"^\s*{re.escape(key)}\s*=")
    for n, line in enumerate(text.splitlines(), start=1):
        header = re.match(r"^\s*\[+\s*([^\]]+?)\s*\]+", line)
        if header:
            current = header.group(1).strip()
            if table is not None and current == table and key == "":
                return n
            continue
        if current == table and pattern.match(line):
            return n
    return None


def check_keys(data: Mapping[str, Any], allowed: Iterable[str], *, path: Path, text: str,
               table: str | None = None) -> list[str]:
    """List the keys of ``data`` that are not ``allowed``, as messages with line numbers.

    Parameters
    ----------
    data
        One parsed table.
    allowed
        The keys that table may hold.
    path, text
        The file and its text, for the message.
    table
        The table's dotted name (``None`` at the top level).
    """
    allowed = sorted(allowed)
    problems = []
    for key in data:
        if key not in allowed:
            line = line_of(text, key, table)
            at = f" line {line}" if line else ""
            scope = f"[{table}]" if table else "the top level"
            problems.append(f"{path.name}{at}: unknown key {key!r} in {scope}; "
                            f"allowed keys: {', '.join(allowed)}")
    return problems
