"""Decoding a JSON text with long strings in steps, so that no one step holds an event loop.

msgspec decodes a 15 MiB string in one call, 50 ms on a loaded 2-core machine. Here the text's
long strings are first lifted out: `lift_steps` finds every string token of LONG bytes or more
and gives the text with each replaced by a short placeholder string (the skeleton, decoded at
once by any decoder), and where each long string's content lies. `strings_steps` decodes those a
PIECE at a time (each piece by msgspec, so its rules and its refusals are msgspec's), and
`put_back` puts them in place of their placeholders in what the skeleton decoded to.

Strings are found as a JSON lexer finds them: a quote outside a string opens one, and the next
quote not escaped by an odd run of backslashes closes it. A text that is not valid JSON may be
lifted wrongly, but then the skeleton or a piece does not decode: a caller decodes the whole
text instead, the one way that names the error exactly. Steps yield (steps.py protocol:
generators yielding None) after every PIECE bytes searched or decoded.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import Any

import msgspec

LONG = 1 << 16  # bytes: a string this long is lifted out and decoded in pieces
PIECE = 1 << 18  # bytes searched, or of a string decoded, in one step
TURNS = 4096  # quotes looked at in one step (a text of many short strings)
_NONCE = secrets.token_hex(8)  # placeholders no client can have written
_QUOTE = 0x22
_CONTENT = re.compile(rb'(?:[^"\\]++|\\.)*+', re.S)  # string content up to its closing quote
_decode_str = msgspec.json.Decoder(str).decode

Buffer = bytes | bytearray


JoinSteps = Callable[[list[str]], Generator[None, None, str]]


def _join_at_once(pieces: list[str]) -> Generator[None, None, str]:
    return "".join(pieces)
    yield  # (a generator)


@dataclass
class Lifted:
    """A text with its long strings lifted out: `skeleton` holds a placeholder string for each,
    `spans` maps each placeholder to where that string's content (no quotes) lies in the text."""

    skeleton: bytes
    spans: dict[str, tuple[int, int]] = field(default_factory=dict)

    def holds(self, value: Any) -> bool:
        """`value` is one of the placeholders."""
        return isinstance(value, str) and value in self.spans

    def strings_steps(self, text: Buffer, join_steps: JoinSteps = _join_at_once
                      ) -> Generator[None, None, dict[str, str]]:
        """Each long string decoded, by its placeholder. Raises msgspec.DecodeError when a piece
        is not valid JSON string content. `join_steps` puts a string's decoded pieces together
        (a caller may do it in steps too: one join of 15 MiB is ~20 ms of page faults)."""
        strings = {}
        for name, (start, end) in self.spans.items():
            pieces = []
            while start < end:
                cut = _cut(text, start, end)
                pieces.append(_decode_str(b'"' + text[start:cut] + b'"'))
                start = cut
                yield
            strings[name] = yield from join_steps(pieces)
            yield
        return strings


def lift_steps(text: Buffer) -> Generator[None, None, Lifted]:
    """`text` with each string of LONG bytes or more replaced by a placeholder (see Lifted)."""
    parts: list[Buffer] = []
    spans: dict[str, tuple[int, int]] = {}
    kept = 0  # where the text not yet copied into the skeleton begins
    pos = 0
    turns = TURNS
    while True:
        opened = yield from _find_quote(text, pos, len(text))
        if opened < 0:
            break
        closed = yield from _closing_quote(text, opened + 1)
        if closed < 0:
            break
        if closed - opened - 1 >= LONG:
            name = f"\0{_NONCE}:{len(spans)}"
            parts += [text[kept:opened], msgspec.json.encode(name)]
            spans[name] = (opened + 1, closed)
            kept = closed + 1
        pos = closed + 1
        turns -= 1
        if not turns:
            turns = TURNS
            yield
    parts.append(text[kept:])
    return Lifted(b"".join(parts), spans)


def put_back(value: Any, strings: dict[str, str]) -> Any:
    """`value` (JSON data) with each placeholder string, as a value or a key, replaced by its
    string. Iterative: deep data cannot exhaust the stack."""
    def swap(x: Any) -> Any:
        return strings.get(x, x) if isinstance(x, str) else x

    root = [value]
    work: list[list[Any] | dict[Any, Any]] = [root]
    while work:
        node = work.pop()
        if isinstance(node, list):
            for i, x in enumerate(node):
                node[i] = swap(x)
                if isinstance(x, list | dict):
                    work.append(x)
        else:
            items = [(swap(k), swap(v)) for k, v in node.items()]
            node.clear()
            node.update(items)
            work += [v for _, v in items if isinstance(v, list | dict)]
    return root[0]


def _find_quote(text: Buffer, pos: int, end: int) -> Generator[None, None, int]:
    """The next quote at or after `pos`, searching a PIECE per step (-1: none)."""
    while pos < end:
        found = text.find(b'"', pos, min(end, pos + PIECE))
        if found >= 0:
            return found
        pos += PIECE
        yield
    return -1


def _closing_quote(text: Buffer, pos: int) -> Generator[None, None, int]:
    """The quote that closes the string whose content starts at `pos` (-1: none), a PIECE of
    content per step. A match of _CONTENT stops at that quote, at its window's end, or at a
    backslash whose escaped character the window cuts off (the next window starts there)."""
    n = len(text)
    while pos < n:
        end = min(n, pos + PIECE)
        match = _CONTENT.match(text, pos, end)
        assert match is not None  # (it matches the empty string)
        stop = match.end()
        if stop < end:
            if text[stop] == _QUOTE:
                return stop
            if end == n:
                return -1  # the text ends in a backslash
        pos = stop
        yield
    return -1


def _cut(text: Buffer, start: int, end: int) -> int:
    """Where the piece of string content from `start` ends: about PIECE bytes on, neither inside
    a UTF-8 character nor inside an escape (nor between the two escapes of a surrogate pair)."""
    cut = start + PIECE
    if cut >= end:
        return end
    while text[cut] & 0xC0 == 0x80:  # a UTF-8 continuation byte
        cut -= 1
    slash = text.rfind(b"\\", cut - 12, cut)
    if slash < 0:
        return cut
    run = _run_start(text, start, slash + 1)
    slash = run + (slash - run) // 2 * 2  # escapes begin at even offsets of a run
    if text[slash - 6:slash - 2].lower() in (b"\\ud8", b"\\ud9", b"\\uda", b"\\udb"):
        slash -= 6  # a high surrogate's escape: its low one follows
    return slash


def _run_start(text: Buffer, start: int, end: int) -> int:
    """Where the run of backslashes ending at `end` begins (not before `start`)."""
    while end > start:
        window = text[max(start, end - 4096):end]
        kept = len(window.rstrip(b"\\"))
        if kept:
            return end - len(window) + kept
        end -= len(window)
    return end
