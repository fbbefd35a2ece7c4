"""JSON as JavaScript reads and writes it, for the reference's files (journal, index, receipts,
states).

The reference cuts previews at 200 UTF-16 units, so an emoji at that boundary leaves a lone
surrogate, which `JSON.stringify` writes as an escape (`"…\\ud83d"`) and `JSON.parse` reads
back. msgspec refuses such text; the standard library's `json` reads it as JavaScript does.
Readers try msgspec first (the normal path keeps its speed) and fall back only when it refuses.
Strings keep their lone surrogates in memory, as JavaScript's do: writers escape them again
(`\\udXXX`, as `JSON.stringify` does), so a rewritten file keeps them byte for byte, and text
sent to a client shows each as U+FFFD, as Node prints it (one UTF-16 unit either way).
"""

from __future__ import annotations

import json
import re
from collections.abc import Generator
from typing import Any, Generic, TypeVar

import msgspec

T = TypeVar("T")
_LONE = re.compile("[\ud800-\udfff]")  # in a decoded str, any surrogate is a lone one
_msgspec_decode = msgspec.json.Decoder().decode
_msgspec_encode = msgspec.json.Encoder().encode


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")  # Python reads NaN and Infinity; JavaScript does not


def js_loads(data: bytes | str) -> Any:
    """`JSON.parse` of the text (invalid UTF-8 read as U+FFFD, as Node's `readFileSync` does)."""
    text = data.decode("utf-8", "replace") if isinstance(data, bytes | bytearray | memoryview) \
        else data
    return json.loads(text, parse_constant=_reject_constant)


def loads(data: bytes) -> Any:
    """Any JSON value: msgspec's decoder, or JavaScript's reading when msgspec refuses.
    Raises ValueError (msgspec.DecodeError is one) when neither reads it."""
    try:
        return _msgspec_decode(data)
    except msgspec.DecodeError:
        try:
            return js_loads(data)
        except ValueError:
            pass
        raise


class Decoder(Generic[T]):
    """A typed msgspec decoder that falls back to JavaScript's reading, then converts."""

    def __init__(self, type: type[T]) -> None:
        self.type = type
        self._decode = msgspec.json.Decoder(type).decode

    def decode(self, data: bytes) -> T:
        try:
            return self._decode(data)
        except msgspec.ValidationError:
            raise
        except msgspec.DecodeError:
            try:
                obj = js_loads(data)
            except ValueError:
                pass
            else:
                return self.convert(obj)
            raise

    def convert(self, obj: Any) -> T:
        return msgspec.convert(obj, self.type)


def dumps(obj: Any) -> bytes:
    """Compact JSON, as `JSON.stringify(obj)` writes it (lone surrogates as escapes)."""
    try:
        return _msgspec_encode(obj)
    except UnicodeEncodeError:
        text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
        return escape_lone(text).encode()


STRING_PIECE = 1 << 18  # characters of a long string encoded in one step


class Pieces:
    """A long string's JSON text (as `dumps` writes it) in the pieces it was encoded in: it
    stands in an event for the string (`dumps_parts`), and goes to the file piece by piece,
    never joined (joining, then encoding the event around it, copies a 15 MiB input's text
    into fresh memory four times in a row: 70 ms of one step on a loaded machine)."""

    __slots__ = ("parts",)

    def __init__(self, parts: list[bytes]) -> None:
        self.parts = parts


def string_steps(text: str) -> Generator[None, None, Pieces]:
    """The JSON string for `text`, a STRING_PIECE of characters encoded per step: a 15 MiB
    input is journaled without one encoding that holds the event loop."""
    parts = [b'"']
    for i in range(0, len(text), STRING_PIECE):
        parts.append(dumps(text[i:i + STRING_PIECE])[1:-1])
        yield
    parts.append(b'"')
    return Pieces(parts)


_PLACE = b"\0pieces\0"  # never in JSON text msgspec writes: it escapes control characters


def dumps_parts(obj: Any) -> list[bytes]:
    """`dumps` of data in which Pieces stand for strings: the text as a list of parts, each
    Pieces' own parts in its place."""
    found: list[Pieces] = []

    def place(x: Any) -> msgspec.Raw:
        if type(x) is not Pieces:
            raise NotImplementedError(f"cannot encode {type(x).__name__}")
        found.append(x)
        return msgspec.Raw(_PLACE)

    out: list[bytes] = []
    for i, part in enumerate(msgspec.json.encode(obj, enc_hook=place).split(_PLACE)):
        if i:
            out += found[i - 1].parts
        out.append(part)
    return out


def encode_text(text: str) -> bytes:
    """UTF-8 of JSON text made with `ensure_ascii=False` (lone surrogates as escapes)."""
    try:
        return text.encode()
    except UnicodeEncodeError:
        return escape_lone(text).encode()


def escape_lone(text: str) -> str:
    """JSON text with each lone surrogate written as its `\\udXXX` escape."""
    return _LONE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def printable(text: str) -> str:
    """The text as Node prints it: each lone surrogate shown as U+FFFD."""
    return _LONE.sub("\ufffd", text)
