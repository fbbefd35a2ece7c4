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


def file_forms(text: str) -> list[str]:
    """`-f FILE`: drop `;` lines, then cut the rest into top-level forms as the reference does
    (atoms between forms stay together until the next `(`)."""
    kept = "\n".join(line for line in text.split("\n") if not line.strip().startswith(";"))
    forms: list[str] = []
    current: list[str] = []
    depth, in_string, escaped = 0, False, False
    for ch in kept:
        if escaped or ch == "\\" or ch == '"' or in_string:
            in_string ^= ch == '"' and not escaped
            escaped = not escaped and ch == "\\"
            current.append(ch)
            continue
        if ch == "(":
            if depth == 0 and "".join(current).strip():
                forms.append("".join(current).strip())
                current = []
            depth += 1
        elif ch == ")":
            depth -= 1
        current.append(ch)
        if ch == ")" and depth == 0:
            forms.append("".join(current).strip())
            current = []
    if "".join(current).strip():
        forms.append("".join(current).strip())
    return [f for f in forms if f]


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
