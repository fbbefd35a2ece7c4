"""What the clients know of Omega's surface syntax: when an input is complete, where a symbol is.

Shared by the terminal REPL (omegacli.repl.editing) and the Jupyter kernel (omegacli.kernel);
standard library only, so neither pulls the other's toolkit in.
"""

from __future__ import annotations

import re

SYMBOL_CHARS = re.compile(r"[^\s()\[\]{}'`,\";]*$")  # the symbol ending where a text ends
SYMBOL_START = re.compile(r"[^\s()\[\]{}'`,\";]*")  # the symbol starting at a position


def _scan(text: str) -> tuple[list[int], int, bool]:
    """Where the parentheses still open at the end of `text` are, how many closing ones found
    nothing to close, and whether a string is unfinished. Those inside strings and `;` comments
    do not count, nor `#\\(` characters."""
    opened: list[int] = []
    unmatched, i, n = 0, 0, len(text)
    while i < n:
        ch = text[i]
        if ch == '"':
            i += 1
            while i < n and text[i] != '"':
                i += 2 if text[i] == "\\" else 1
            if i >= n:
                return opened, unmatched, True
        elif ch == ";":
            while i < n and text[i] != "\n":
                i += 1
        elif ch == "#" and text.startswith("#\\", i):
            i += 2
        elif ch in "([":
            opened.append(i)
        elif ch in ")]":
            if opened:
                opened.pop()
            else:
                unmatched += 1
        i += 1
    return opened, unmatched, False


def open_parens(text: str) -> int:
    """How many parentheses are still open at the end of `text` (negative: more closed than
    opened); an unfinished string counts as one open."""
    opened, unmatched, in_string = _scan(text)
    depth = len(opened) - unmatched
    return max(depth, 0) + 1 if in_string else depth


def is_complete(text: str) -> bool:
    """Submit on Enter? Blank lines and `:` commands at once, expressions once balanced."""
    stripped = text.strip()
    return not stripped or stripped.startswith(":") or open_parens(text) <= 0


def symbol_at(text: str, cursor: int) -> tuple[int, int]:
    """The span (start, end) of the symbol around `cursor` (empty where there is none)."""
    before, after = SYMBOL_CHARS.search(text, 0, cursor), SYMBOL_START.match(text, cursor)
    assert before is not None and after is not None  # both match the empty string
    return before.start(), after.end()


def operator_at(text: str, cursor: int) -> str:
    """The operator of the innermost form open at `cursor` (`f` in `(f 1 |`), or ""."""
    opened = _scan(text[:cursor])[0]
    if not opened:
        return ""
    start = opened[-1] + 1
    return text[start:symbol_at(text, start)[1]]
