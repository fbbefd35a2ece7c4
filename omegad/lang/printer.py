"""Printing values: the REPL's `=> ` form (write) and `display`'s form.

Both terminate on cyclic structure (a repeated pair on the current path prints as `#cycle#`) and
cap their text by the one rule a form's `display` output also follows (engine.OutputCap): at most
TEXT_CAP characters, then `… [N more bytes]` naming the UTF-8 bytes left out. What is left out is
still walked, in steps, to count it, up to COUNT_LIMIT more characters (a value with much
sharing prints far longer than it is big): past that the marker says `… [at least N more bytes]`."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Generator
from decimal import Decimal

from .steps import finish
from .values import (
    Closure,
    Continuation,
    CPrim,
    Dist,
    HashTable,
    Meaning,
    Opaque,
    OracleProc,
    Pair,
    Prim,
    Promise,
    Sym,
    Value,
    Vector,
)

TEXT_CAP = 1 << 20       # characters of a printed value, and of one form's display output
COUNT_LIMIT = 16 << 20   # characters past the cap counted for the marker, at most
CYCLE = "#cycle#"


def more_marker(dropped: int, exact: bool = True) -> str:
    """What stands for the text left out of a capped one."""
    return f"… [{dropped} more bytes]" if exact else f"… [at least {dropped} more bytes]"


_MARKER = re.compile(r" … \[(at least )?(\d+) more bytes\]\Z")


def cut_off(text: str, start: int = 0) -> tuple[int, int, bool]:
    """Where `text` (from `start` on) ends before the marker it may end with: (that index, the
    bytes the marker stood for, whether exactly)."""
    m = _MARKER.search(text, max(start, len(text) - 48))
    if m is None:
        return len(text), 0, True
    return m.start(), int(m.group(2)), m.group(1) is None


MEASURE_PIECE = 1 << 20  # characters encoded at a time to measure a long non-ASCII text


def utf8_size(text: str, start: int = 0, end: int | None = None) -> int:
    """UTF-8 bytes of text[start:end], without copying it: ASCII is known at once (the string
    knows its widest character); other text is encoded a MEASURE_PIECE at a time."""
    end = len(text) if end is None else end
    if text.isascii():
        return end - start
    return sum(len(text[i:min(end, i + MEASURE_PIECE)].encode("utf-8", "surrogatepass"))
               for i in range(start, end, MEASURE_PIECE))


_SAFE = 9007199254740992.0  # 2**53: integers below it print as themselves


def js_number(x: float) -> str:
    """JavaScript's String(n) for a double."""
    if x.is_integer() and -_SAFE < x < _SAFE:  # (the common case first: NaN and ±inf are not)
        return str(int(x))
    if x != x:
        return "NaN"
    if x == math.inf:
        return "Infinity"
    if x == -math.inf:
        return "-Infinity"
    if x == 0:
        return "0"
    if x.is_integer() and abs(x) < 9007199254740992.0:
        return str(int(x))
    sign = "-" if x < 0 else ""
    _, digits, exp = Decimal(repr(abs(x))).as_tuple()
    assert isinstance(exp, int)  # x is finite: infinities and NaN were printed above
    ds = "".join(map(str, digits)).rstrip("0") or "0"
    # value = 0.ds * 10**n
    n = len(digits) + exp
    k = len(ds)
    if k <= n <= 21:
        out = ds + "0" * (n - k)
    elif 0 < n <= 21:
        out = ds[:n] + "." + ds[n:]
    elif -6 < n <= 0:
        out = "0." + "0" * (-n) + ds
    else:
        e = n - 1
        es = f"e+{e}" if e >= 0 else f"e-{-e}"
        out = (ds[0] + ("." + ds[1:] if k > 1 else "")) + es
    return sign + out


_REGION = 20  # bits of an address: the pairs of one 1 MiB stretch of memory share a set


class _Path:
    """The pairs and vectors from the root to here (their ids), one set per 1 MiB region of
    memory they lie in (at most ~20 000 pairs): one set of a million ids grows by rehashing
    them all at once, a step of 90 ms on a loaded machine; a region's set stays small."""

    __slots__ = ("regions",)

    def __init__(self) -> None:
        self.regions: dict[int, set[int]] = {}

    def __contains__(self, cell: int) -> bool:
        region = self.regions.get(cell >> _REGION)
        return region is not None and cell in region

    def add(self, cell: int) -> None:
        region = self.regions.get(cell >> _REGION)
        if region is None:
            self.regions[cell >> _REGION] = {cell}
        else:
            region.add(cell)

    def remove_all(self, cells: list[int]) -> None:
        regions = self.regions
        for cell in cells:
            regions[cell >> _REGION].discard(cell)


class _Out:
    """The text printed so far; past the cap, only the size of what is left out."""

    __slots__ = ("parts", "size", "dropped", "counted", "path", "work")

    def __init__(self) -> None:
        self.path = _Path()
        self.work: list[Value] = []      # what is left to render, last first
        self.parts: list[str] = []
        self.size = 0
        self.dropped = 0        # UTF-8 bytes past the cap
        self.counted = 0        # characters past the cap

    def add(self, s: str) -> None:
        room = TEXT_CAP - self.size
        if not room and s.isascii():  # (past the cap, the common case)
            self.dropped += len(s)
            self.counted += len(s)
            if self.counted > COUNT_LIMIT:
                raise _Full
            return
        if room > 0:
            if len(s) <= room:
                self.parts.append(s)
                self.size += len(s)
                return
            self.parts.append(s[:room])
            self.size = TEXT_CAP
        else:
            room = 0
        self.dropped += utf8_size(s, room)
        self.counted += len(s) - room
        if self.counted > COUNT_LIMIT:
            raise _Full

    def text(self, exact: bool) -> str:
        if self.dropped:  # (joined with the text: not a second copy of a 1 MiB one)
            self.parts.append(" " + more_marker(self.dropped, exact))
        return "".join(self.parts)


class _Full(Exception):
    """Counting what is left out went on long enough."""


_VAL, _STR, _LIST, _CLOSE = range(4)


def _atom(v: Value, t: Value, display: bool) -> str:
    if v is None:
        return "()" if display else "null"
    if t is float:
        return js_number(v)
    if t is bool:
        return "#t" if v else "#f"
    if t is str:
        return '"' + v + '"' if display else json.dumps(v, ensure_ascii=False)
    if t is Sym:
        name: str = v.name
        return name
    if t is Closure:
        params = " ".join(v.lam.params) or "..."  # the reference prints no params as "..."
        return "<closure>" if display else f"<closure ({params})>"
    if t is Prim or t is CPrim:
        return f"<native:{v.name}>" if display else "<prim>"
    if t is Continuation:
        return "<continuation>"
    if t is OracleProc:
        return "<oracle-proc>"
    if t is Dist:
        return f"<dist {len(v.items)}>"
    if t is Promise:
        return "<promise>"
    if t is HashTable:
        return f"<hash-table {len(v.table)}>"
    if t is Opaque:
        return f"<{v.kind.lower()}>"
    return f"<{t.__name__}>"


PRINT_PIECE = 1024  # items rendered between two yields of the stepped printer (~1 ms)


def _render(v: Value, out: _Out, display: bool) -> Generator[None, None, None]:
    """Iterative, so deeply nested data cannot exhaust the Python stack; yields after every
    PRINT_PIECE items, so a caller can print a huge value in steps. A pair or vector met again
    on the path from the root prints as CYCLE."""
    path = out.path
    regions = path.regions
    work = out.work
    work.append((_VAL, v))
    add = out.add
    pause = PRINT_PIECE
    while work:
        pause -= 1
        if pause <= 0:
            pause = PRINT_PIECE
            yield
        item = work.pop()
        kind = item[0]
        if kind is _STR:
            add(item[1])
        elif kind is _CLOSE:
            added = item[1]
            if len(added) > PRINT_PIECE:    # a long list's cells leave the path in pieces
                path.remove_all(added[-PRINT_PIECE:])
                del added[-PRINT_PIECE:]
                work.append(item)
                pause = PRINT_PIECE
                yield
                continue
            add(item[2])
            path.remove_all(added)
        elif kind is _LIST:  # the rest of a list from `cur`: a run of atoms is done here
            cur, first, added = item[1], item[2], item[3]
            while type(cur) is Pair:
                cell = id(cur)
                region = regions.get(cell >> _REGION)  # (path.add and `in`, inline)
                if region is None:
                    region = regions[cell >> _REGION] = set()
                elif cell in region:
                    add(CYCLE if first else " . " + CYCLE)
                    work.append((_CLOSE, added, ")"))
                    break
                region.add(cell)
                added.append(cell)
                x = cur.car
                t = type(x)
                if t is Pair or t is Vector or t is Meaning or pause <= 0:
                    if not first:
                        add(" ")
                    work.append((_LIST, cur.cdr, False, added))
                    work.append((_VAL, x))
                    break
                if t is float and x.is_integer() and -_SAFE < x < _SAFE:
                    text = str(int(x))  # (js_number's common case, without two calls)
                else:
                    text = _atom(x, t, display)
                add(text if first else " " + text)
                first = False
                cur = cur.cdr
                pause -= 1
            else:
                if cur is not None:
                    add(" . ")
                    work.append((_CLOSE, added, ")"))
                    work.append((_VAL, cur))
                else:
                    work.append((_CLOSE, added, ")"))
        else:
            x = item[1]
            t = type(x)
            if t is Pair:
                if id(x) in path:
                    add(CYCLE)
                else:
                    add("(")
                    work.append((_LIST, x, True, []))
            elif t is Vector:
                if id(x) in path:
                    add(CYCLE)
                    continue
                path.add(id(x))
                items = x.items
                if len(items) == 2:
                    # the reference stores a pair as a 2-item vector, so it prints like one
                    add("(")
                    work.append((_CLOSE, [id(x)], ")"))
                    work.append((_VAL, items[1]))
                    work.append((_STR, " . "))
                    work.append((_VAL, items[0]))
                else:
                    add("[")
                    work.append((_CLOSE, [id(x)], "]"))
                    for i in range(len(items) - 1, -1, -1):
                        work.append((_VAL, items[i]))
                        if i:
                            work.append((_STR, " "))
            elif t is Meaning:
                parts: list[Value] = [(_STR, "(meaning")]
                if x.denotation is not None:
                    parts += [(_STR, " (denotation "), (_VAL, x.denotation), (_STR, ")")]
                if x.confidence is not None:
                    parts.append((_STR, " (confidence " + js_number(float(x.confidence)) + ")"))
                if x.trace is not None:
                    parts += [(_STR, " (trace "), (_VAL, x.trace), (_STR, ")")]
                parts.append((_STR, ")"))
                work.extend(reversed(parts))
            else:
                add(_atom(x, t, display))


def _to_text(v: Value, display: bool) -> str:
    return finish(_text_steps(v, display))


def _text_steps(v: Value, display: bool) -> Generator[None, None, str]:
    out = _Out()
    try:
        yield from _render(v, out, display)
    except _Full:
        yield from _forget(out)
        return out.text(exact=False)
    return out.text(exact=True)


def _forget(out: _Out) -> Generator[None, None, None]:
    """Let go of a render stopped halfway a piece at a time (a path of millions of cells)."""
    work, regions = out.work, out.path.regions
    while work:
        del work[-PRINT_PIECE:]
        yield
    while regions:
        for _ in range(min(16, len(regions))):
            regions.popitem()
        yield


def write_str(v: Value) -> str:
    """The text after `=> ` for a value (the reference's valToSexp)."""
    return finish(write_steps(v))


PRINTED_AT_ONCE = (float, bool, type(None))  # short whatever the value: no steps, no cap


def write_atom(v: Value) -> str:
    """`write_str` of a value whose type is in PRINTED_AT_ONCE (a number, a boolean, null),
    without the stepped printer's generators (a few microseconds on every `=> 3`)."""
    return _atom(v, type(v), False)


def write_steps(v: Value) -> Generator[None, None, str]:
    """`write_str` in steps (see steps.py): a huge value is printed a piece at a time."""
    if type(v) is str and v.startswith('{"sym":"'):
        try:
            parsed = json.loads(v)
            if isinstance(parsed, dict) and parsed.get("sym"):
                return str(parsed["sym"])
        except ValueError:
            pass
    return (yield from _text_steps(v, False))


def display_str(v: Value) -> str:
    """What `display` writes: strings raw at top level, other values in display form."""
    if type(v) is str:
        return v
    return _to_text(v, True)
