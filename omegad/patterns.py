"""Regular expressions from users run on RE2: linear time in the text, whatever the pattern.

Python's `re` backtracks: `^(a+)+$` against 27 `a`s and a `!` takes seconds, and the daemon is
one thread. RE2 (Google's engine, the field's standard for untrusted patterns) never backtracks.
A pattern RE2 does not accept (a look-behind, a back-reference, a too-big repetition) is
matched as literal text instead, as an invalid one always was here."""

from __future__ import annotations

from collections.abc import Callable

import re2  # type: ignore[import-untyped]

MAX_PATTERN_MEMORY = 8 << 20  # bytes RE2 may use for one compiled pattern


def user_pattern(pattern: str, ignore_case: bool = True) -> Callable[[str], bool]:
    """`matches(text)`: whether `pattern` is found anywhere in the text."""
    options = re2.Options()
    options.case_sensitive = not ignore_case
    options.log_errors = False
    options.max_mem = MAX_PATTERN_MEMORY
    try:
        rx = re2.compile(pattern, options)
    except re2.error:
        literal = pattern.casefold() if ignore_case else pattern
        if ignore_case:
            return lambda text: literal in text.casefold()
        return lambda text: literal in text
    return lambda text: rx.search(text) is not None
