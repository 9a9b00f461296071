"""Text from registers: what may reach a terminal, a spreadsheet cell or a map.

A register's free text (names, addresses, descriptions) is the user's, but it can
hold characters that act rather than show: terminal escape sequences, bidirectional
overrides that reorder what is displayed, megabytes pasted into one cell. This
module says which characters those are and how each output treats them.
"""

from __future__ import annotations

import re
import unicodedata

#: Characters that reorder how text displays (Unicode bidirectional embeddings,
#: overrides and isolates): refused in input, since a name could show as another.
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")

#: Longest free-text cell kept (characters); longer cells are cut, with a note.
MAX_TEXT_CHARS = 1_000

#: Leading characters that make spreadsheet software treat a cell as a formula.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

_BIDI = re.compile("[" + "".join(sorted(BIDI_CONTROLS)) + "]")
# C0 controls but newline and tab, DEL, C1 controls, and the bidirectional controls
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f" + "".join(sorted(BIDI_CONTROLS)) + "]")


def terminal_safe(text: str) -> str:
    r"""``text`` with control, escape and bidirectional characters shown escaped.

    Newlines and tabs are kept; ``ESC`` becomes ``\x1b``, U+202E becomes
    ``\u202e``, so a register's text cannot move the cursor, recolour or clear the
    terminal, or reorder the line it is printed on.

    Parameters
    ----------
    text
        Anything about to be printed.
    """
    return _UNSAFE.sub(lambda m: f"\\x{ord(m[0]):02x}" if ord(m[0]) < 0x100
                       else f"\\u{ord(m[0]):04x}", text)


def bidi_problem(text: str) -> str | None:
    """Why ``text`` cannot be accepted, if it holds a bidirectional control character.

    Parameters
    ----------
    text
        A cell's text.

    Returns
    -------
    str or None
        E.g. ``"character 7 is U+202E RIGHT-TO-LEFT OVERRIDE, which reorders how the
        text shows on screen; delete it (retype the text)"``; ``None`` if there is none.
    """
    found = _BIDI.search(text)
    if found is None:
        return None
    char = found[0]
    return (f"character {found.start() + 1} is U+{ord(char):04X} {unicodedata.name(char)}, "
            "which reorders how the text shows on screen (a name could display as another); "
            "delete it (retype the text without it)")


def formula_id_problem(value: str) -> str | None:
    """Why an id cannot be accepted, if a spreadsheet would run it as a formula.

    Ids are written to the results' CSVs exactly as given, so that they join back to
    the register; an id a spreadsheet would evaluate (``=X02``, ``+44``, ``-7``,
    ``@a``) is refused instead of being altered on output.

    Parameters
    ----------
    value
        The id as read (stripped).
    """
    if value.startswith(FORMULA_START):
        return (f"starts with {value[0]!r}, which a spreadsheet runs as a formula (the id would "
                "not survive a round trip through Excel); rename it so that it starts with a "
                f"letter or digit, e.g. {('ID' + value.lstrip(''.join(FORMULA_START)))!r}, "
                "in every table that uses it")
    return None


def clip(text: str, limit: int = MAX_TEXT_CHARS) -> str:
    """``text`` cut to ``limit`` characters, marked with an ellipsis when cut."""
    return text if len(text) <= limit else text[:limit - 1] + "\u2026"
