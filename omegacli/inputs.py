"""How the reference REPL cuts piped stdin into inputs (reference-sessions.md §6.2).

Blank lines and `;` lines are skipped, `:` lines are commands, other lines accumulate until the
count of `(` minus `)` drops to zero or below; `:quit` / `:q` ends the input silently. Parentheses
inside strings count too: that is the reference's rule, and piped transcripts depend on it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator


def piped_inputs(lines: Iterable[str]) -> Iterator[str]:
    buffer: list[str] = []
    depth = 0
    for raw in lines:
        line = raw.rstrip("\r\n")
        trimmed = line.strip()
        if trimmed in (":quit", ":q"):
            return
        if not trimmed or trimmed.startswith(";"):
            continue
        if trimmed.startswith(":"):
            yield trimmed
            continue
        buffer.append(line)
        depth += line.count("(") - line.count(")")
        if depth <= 0:
            yield "\n".join(buffer)
            buffer, depth = [], 0


class Source:
    """`-f FILE` cut into top-level forms as the reference does (`;` lines dropped, atoms between
    forms kept together until the next `(`), each form remembering where it starts in the file."""

    def __init__(self, name: str, text: str):
        self.name = name
        kept, self._lines = [], []  # kept lines; (offset in the kept text, line in the file)
        offset = 0
        for number, line in enumerate(text.split("\n"), 1):
            if not line.strip().startswith(";"):
                kept.append(line)
                self._lines.append((offset, number))
                offset += len(line) + 1
        self.text = "\n".join(kept)
        self.forms: list[str] = []
        self.starts: list[int] = []  # where each form starts in `self.text`
        for start, end in _top_level(self.text):
            form = self.text[start:end]
            if form.strip():
                self.forms.append(form.strip())
                self.starts.append(start + len(form) - len(form.lstrip()))

    def where(self, index: int, offset: int = 0) -> str:
        """`FILE:LINE:COLUMN` of `offset` in form `index` (both 1-based, as compilers say)."""
        from bisect import bisect_right  # only when a form failed: not on every run's path

        at = self.starts[index] + offset
        line_start, number = self._lines[bisect_right(self._lines, (at, 1 << 62)) - 1]
        return f"{self.name}:{number}:{at - line_start + 1}"


def _top_level(text: str) -> Iterator[tuple[int, int]]:
    """(start, end) of each top-level chunk: a chunk ends where its parentheses balance, and
    text before a `(` at depth 0 is a chunk of its own (the reference's `-f` splitting)."""
    start, depth, in_string, escaped = 0, 0, False, False
    for i, ch in enumerate(text):
        if escaped or ch == "\\" or ch == '"' or in_string:
            in_string ^= ch == '"' and not escaped
            escaped = not escaped and ch == "\\"
        elif ch == "(":
            if depth == 0 and text[start:i].strip():
                yield start, i
                start = i
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                yield start, i + 1
                start = i + 1
    yield start, len(text)


def parse_error_offset(form: str, message: str) -> int:
    """Where in `form` the reader's parse error `message` points, following the reader's lexing
    (omegad/lang/reader.py: strings, `;` comments): the stray `)`, the innermost `(` left open,
    or the quote with nothing after it. 0 when the message is none of those."""
    opened: list[int] = []
    quotes: list[int] = []
    i, n = 0, len(form)
    while i < n:
        ch = form[i]
        if ch == ";":
            while i < n and form[i] != "\n":
                i += 1
            continue
        if ch == '"':
            i += 1
            while i < n and form[i] != '"':
                i += 2 if form[i] == "\\" else 1
            quotes.clear()
        elif ch == "'":
            quotes.append(i)
        elif ch == "(":
            opened.append(i)
            quotes.clear()
        elif ch == ")":
            if (not opened or quotes) and message == "parse: unexpected ')'":
                return i
            if opened:
                opened.pop()
        elif ch not in " \t\r\n":
            quotes.clear()
            while i + 1 < n and form[i + 1] not in " \t\r\n()';":
                i += 1
        i += 1
    if message == "parse: missing ')'" and opened:
        return opened[-1]
    if message == "parse: unexpected EOF" and quotes:
        return quotes[0]
    return 0


# Commands whose last argument is a file of the client's: resolved against the client's working
# directory before sending, since the daemon runs elsewhere.
PATH_COMMANDS = (":loadfile ", ":replay ", ":dump ", ":export ")


def with_paths(command: str) -> str:
    import os

    text = command.strip()
    for prefix in PATH_COMMANDS:
        if text.startswith(prefix) and text[len(prefix):].strip():
            rest = text[len(prefix):].strip()
            if prefix == ":export ":
                name, _, path = rest.partition(" ")
                path = path.strip()
                return f"{prefix}{name} {os.path.abspath(path)}" if path else command
            return prefix + os.path.abspath(os.path.expanduser(rest))
    return command
