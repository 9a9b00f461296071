"""Private plumbing: read TOML files with errors that name the file, key and line."""

from __future__ import annotations

import datetime
import difflib
import math
import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
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
    if path.is_dir():
        raise InputError(f"{path}: is a folder; give a .toml file: a scenario (e.g. "
                         "optimisation/colocation.toml) or a place's place.toml")
    if path.suffix.lower() in (".csv", ".gpkg", ".geojson", ".shp", ".json", ".xlsx"):
        raise InputError(f"{path.name}: is a data table, not a .toml file; give the place's "
                         "folder (the one holding place.toml) or a scenario .toml")
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
        raise InputError(_syntax_message(path, text, str(exc))) from None


def _syntax_message(path: Path, text: str, error: str) -> str:
    """A TOML syntax error in plain words: the line as written, and what to change."""
    found = re.search(r"\(at line (\d+), column \d+\)", error)
    if not found:
        return (f"{path.name}: not valid TOML ({error}): a bracket or quote is not closed; "
                "see optimisation/README.md for the layout")
    n = int(found.group(1))
    line = text.splitlines()[n - 1].strip() if n <= len(text.splitlines()) else ""
    key = line.split("=", 1)[0].strip() if "=" in line else ""
    value = line.split("=", 1)[1].split("#", 1)[0].strip() if "=" in line else ""
    if error.startswith("Cannot overwrite a value"):
        fix = f"{key!r} is set twice; keep one"
    elif error.startswith("Cannot declare"):
        fix = f"the table {line} appears twice; merge the two"
    elif re.fullmatch(r"[A-Za-z0-9_-]+( +[A-Za-z0-9_-]+)+", key):
        fix = f"a key is one word: write {key.replace(' ', '_')} (see optimisation/README.md)"
    elif re.fullmatch(r"\d{4}-\d{2}-\d{2}", value) and not _is_date(value):
        fix = "no such day in the calendar; check the day and month, e.g. 2027-04-01"
    elif re.fullmatch(r"\d{4}-\d{1,2}-\d{1,2}.*", value) and not _is_date(value):
        fix = "write dates as YYYY-MM-DD, e.g. 2027-04-01"
    elif re.fullmatch(r"-?\d+(\.\d+)?,", value):
        fix = f"drop the comma at the end: {key} = {value[:-1]}"
    elif re.fullmatch(r"-?\d[\d,]*(\.\d+)?", value) and "," in value:
        fix = "write numbers without thousands separators, e.g. 1200"
    elif value in ("True", "False", "TRUE", "FALSE", "yes", "no"):
        fix = "write true or false, in lower case"
    elif line.startswith("["):
        fix = "a table name goes in square brackets, e.g. [solver]"
    else:
        fix = ('put text in double quotes, e.g. name = "my scenario"; numbers are plain, '
               "e.g. 0.035, and a list is in square brackets, e.g. [\"S001\", \"S002\"]")
    return f"{path.name} line {n}: cannot read `{line}`: {fix}"


def _is_date(text: str) -> bool:
    try:
        datetime.date.fromisoformat(text)
    except ValueError:
        return False
    return True


_PART = re.compile(r"""\"[^"]*\"|'[^']*'|[A-Za-z0-9_-]+""")
_HEADER = re.compile(r"^\s*\[+\s*([^\]]+?)\s*\]+")
_KEY = re.compile(r"""^\s*((?:\"[^"]*\"|'[^']*'|[A-Za-z0-9_-]+)"""
                  r"""(?:\s*\.\s*(?:\"[^"]*\"|'[^']*'|[A-Za-z0-9_-]+))*)\s*=""")


def _parts(dotted: str) -> list[str]:
    """``'a."b.c".d'`` -> ``['a', 'b.c', 'd']``."""
    return [part.strip("\"'") for part in _PART.findall(dotted)]


def line_of(text: str, key: str, table: str | None = None) -> int | None:
    """Line number (1-based) where ``key`` is set, inside ``[table]`` when given.

    Dotted keys count wherever they are written: ``rules.max_move_minutes = 25`` at
    the top level sets ``max_move_minutes`` in ``[rules]``, and
    ``rules.not_hosted = {...}`` sets ``not_hosted`` there.

    Parameters
    ----------
    text
        The TOML file's text.
    key
        The bare key name; ``""`` finds where ``table`` itself starts: its header,
        or the first dotted key or inline table that defines it.
    table
        Dotted name of the enclosing table, or ``None`` for the top level.
    """
    target = (_parts(table) if table else []) + ([key] if key else [])
    current: list[str] = []
    for n, line in enumerate(text.splitlines(), start=1):
        header = _HEADER.match(line)
        if header:
            current = _parts(header.group(1))
            if not key and current == target:
                return n
            continue
        found = _KEY.match(line)
        if found:
            path = current + _parts(found.group(1))
            if path == target or (not key and path[:len(target)] == target):
                return n
            rest = line[found.end():]  # an inline table: rules = { max_move_minutes = 30 }
            if (key and len(path) < len(target) and path == target[:len(path)]
                    and re.search(rf"[{{,]\s*[\"']?{re.escape(key)}[\"']?\s*=", rest)):
                return n
    return None


#: The files a scenario was read from, the file itself first, then what it extends.
Sources = Sequence[tuple[Path, str]]


def locate(sources: Sources, key: str, table: str | None = None) -> str:
    """``"file.toml line N"`` of the first file in ``sources`` that sets ``key``.

    ``key = ""`` finds the ``[table]`` header; a key not found at all is reported
    against the first file, without a line.
    """
    for path, text in sources:
        line = line_of(text, key, table)
        if line is None and key:  # a table of its own: [key] or [table.key]
            line = line_of(text, "", f"{table}.{key}" if table else key)
        if line is not None:
            return f"{path.name} line {line}"
    return sources[0][0].name if sources else "the scenario"


def locate_value(sources: Sources, value: str, key: str | None = None,
                 table: str | None = None) -> str:
    """``"file.toml line N"`` of the first line, in ``sources``, holding ``value`` in quotes.

    With ``key``, the first such line from where ``key`` is set (in ``[table]``) on,
    in the first file that sets it: ``locate_value(s, "A", "dispose", "status")``
    skips an ``"A"`` quoted in a description above ``[status]``; where no file sets
    ``key``, the first line anywhere.
    """
    for path, text in sources:
        start = line_of(text, key, table) if key else 1
        line = None if start is None else line_of_value(text, value, start)
        if line is not None:
            return f"{path.name} line {line}"
    if key:
        return locate_value(sources, value)
    return sources[0][0].name if sources else "the scenario"


def check_keys(data: Mapping[str, Any], allowed: Iterable[str], sources: Sources,
               table: str | None = None) -> list[str]:
    """List the keys of ``data`` that are not ``allowed``, as messages with line numbers.

    Parameters
    ----------
    data
        One parsed table.
    allowed
        The keys that table may hold.
    sources
        The file and its text, for the message, or the files the keys may have come
        from (a scenario, then those it extends).
    table
        The table's dotted name (``None`` at the top level).
    """
    allowed = sorted(allowed)
    problems = []
    for key in data:
        if key not in allowed:
            at = locate(sources, key, table)
            scope = f"[{table}]" if table else "the top level"
            problems.append(f"{at}: unknown key {key!r} in {scope}"
                            f"{suggest(key, allowed)}; allowed keys: {', '.join(allowed)}")
    return problems


def line_of_value(text: str, value: str, start: int = 1) -> int | None:
    """Line number (1-based) of the first line holding ``value`` as a quoted string.

    Parameters
    ----------
    text
        The TOML file's text.
    value
        The string, as written between the quotes.
    start
        The first line to look at.
    """
    for n, line in enumerate(text.splitlines()[start - 1:], start=start):
        code = line.split("#", 1)[0]
        if f'"{value}"' in code or f"'{value}'" in code:
            return n
    return None


def suggest(value: str, choices: Iterable[str]) -> str:
    """`` (did you mean 'X'?)`` for the closest of ``choices`` (case first), else ``""``."""
    choices = sorted({str(c) for c in choices})
    value = str(value)
    same = [c for c in choices if c.lower() == value.lower()]
    close = same or difflib.get_close_matches(value, choices, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def shown(value: object) -> str:
    """A value as it is written in TOML, for messages: ``true``, ``"text"``, ``inf``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, list):
        return "[" + ", ".join(shown(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {shown(v)}" for k, v in value.items()) + "}"
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


#: Number types a TOML value may take where a number is expected.
NUMBER = (int, float)


class Reader:
    """Typed access to TOML tables that records problems with key and line."""

    def __init__(self, problems: list[str], sources: Sources) -> None:
        self.problems, self.sources = problems, sources

    def where(self, key: str, table: str | None) -> str:
        return f"{locate(self.sources, key, table)}: " + (f"[{table}] " if table else "")

    def table(self, data: dict[str, Any], key: str, parent: str | None = None) -> dict[str, Any]:
        value = data.get(key, {})
        if not isinstance(value, dict):
            self.problems.append(f"{self.where(key, parent)}'{key}' must be a table "
                                 f"([{key}] followed by key = value lines)")
            return {}
        return value

    def keys(self, data: dict[str, Any], allowed: tuple[str, ...], table: str) -> None:
        self.problems += check_keys(data, allowed, self.sources, table=table)

    def get(self, data: dict[str, Any], key: str, kind: type | tuple[type, ...], default: Any,
            table: str | None, expected: str, *, minimum: float | None = None,
            maximum: float | None = None) -> Any:
        if key not in data:
            return default
        value = data[key]
        ok = isinstance(value, kind) and not (isinstance(value, bool) and kind is not bool)
        if ok and isinstance(value, int | float) and not isinstance(value, bool):
            ok = (not (isinstance(value, float) and not math.isfinite(value))
                  and (minimum is None or value >= minimum)
                  and (maximum is None or value <= maximum))
        if not ok:
            self.problems.append(f"{self.where(key, table)}{key} = {shown(value)} must be "
                                 f"{expected}")
            return default
        return value
