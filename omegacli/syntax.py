"""What the clients know of Omega's surface syntax: when an input is complete, where a symbol is.

Shared by the terminal REPL (omegacli.repl.editing) and the Jupyter kernel (omegacli.kernel);
standard library only, so neither pulls the other's toolkit in.
"""

from __future__ import annotations

import re

SYMBOL_CHARS = re.compile(r"[^\s()\[\]{}'`,\";]*$")  # the symbol ending where a text ends
SYMBOL_START = re.compile(r"[^\s()\[\]{}'`,\";]*")  # the symbol starting at a position


def open_parens(text: str) -> int:
    """How many parentheses are still open at the end of `text`. Those inside strings and `;`
    comments do not count, nor `#\\(` characters; an unfinished string counts as one open."""
    depth, i, n = 0, 0, len(text)
    while i < n:
        ch = text[i]
        if ch == '"':
            i += 1
            while i < n and text[i] != '"':
                i += 2 if text[i] == "\\" else 1
            if i >= n:
                return max(depth, 0) + 1
        elif ch == ";":
            while i < n and text[i] != "\n":
                i += 1
        elif ch == "#" and text.startswith("#\\", i):
            i += 2
        elif ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        i += 1
    return depth


def is_complete(text: str) -> bool:
    """Submit on Enter? Blank lines and `:` commands at once, expressions once balanced."""
    stripped = text.strip()
    return not stripped or stripped.startswith(":") or open_parens(text) <= 0


def symbol_at(text: str, cursor: int) -> tuple[int, int]:
    """The span (start, end) of the symbol around `cursor` (empty where there is none)."""
    before, after = SYMBOL_CHARS.search(text, 0, cursor), SYMBOL_START.match(text, cursor)
    assert before is not None and after is not None  # both match the empty string
    return before.start(), after.end()
