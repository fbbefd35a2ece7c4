"""Printing values: the REPL's `=> ` form (write) and `display`'s form.

Both terminate on cyclic structure (a repeated pair on the current path prints as `#cycle#`) and
cap their output (MAX_CHARS) so a huge value cannot flood a client."""

from __future__ import annotations

import json
import math
from decimal import Decimal

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
    Vector,
)

MAX_CHARS = 1_000_000
CYCLE = "#cycle#"
ELLIPSIS = "..."


def js_number(x: float) -> str:
    """JavaScript's String(n) for a double."""
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


class _Out:
    __slots__ = ("parts", "size")

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.size = 0

    def add(self, s: str) -> None:
        if self.size >= MAX_CHARS:
            raise _Full
        self.parts.append(s)
        self.size += len(s)


class _Full(Exception):
    pass


def _render(v, out: _Out, display: bool, path: set) -> None:
    t = type(v)
    if v is None:
        out.add("()" if display else "null")
    elif t is float:
        out.add(js_number(v))
    elif t is bool:
        out.add("#t" if v else "#f")
    elif t is str:
        if display:
            out.add('"' + v + '"')
        else:
            out.add(json.dumps(v, ensure_ascii=False))
    elif t is Sym:
        out.add(v.name)
    elif t is Pair:
        if id(v) in path:
            out.add(CYCLE)
        else:
            _render_list(v, out, display, path)
    elif t is Vector:
        if id(v) in path:
            out.add(CYCLE)
            return
        path.add(id(v))
        items = v.items
        if len(items) == 2:
            # the reference stores a pair as a 2-item vector, so it prints like one
            out.add("(")
            _render(items[0], out, display, path)
            out.add(" . ")
            _render(items[1], out, display, path)
            out.add(")")
        else:
            out.add("[")
            for i, x in enumerate(items):
                if i:
                    out.add(" ")
                _render(x, out, display, path)
            out.add("]")
        path.discard(id(v))
    elif t is Closure:
        if display:
            out.add("<closure>")
        else:
            out.add("<closure (" + " ".join(v.lam.params) + ")>")
    elif t is Prim or t is CPrim:
        out.add(f"<native:{v.name}>" if display else "<prim>")
    elif t is Continuation:
        out.add("<continuation>")
    elif t is OracleProc:
        out.add("<oracle-proc>")
    elif t is Meaning:
        out.add("(meaning")
        if v.denotation is not None:
            out.add(" (denotation ")
            _render(v.denotation, out, False, path)
            out.add(")")
        if v.confidence is not None:
            out.add(" (confidence " + js_number(float(v.confidence)) + ")")
        if v.trace is not None:
            out.add(" (trace ")
            _render(v.trace, out, False, path)
            out.add(")")
        out.add(")")
    elif t is Dist:
        out.add(f"<dist {len(v.items)}>")
    elif t is Promise:
        out.add("<promise>")
    elif t is HashTable:
        out.add(f"<hash-table {len(v.table)}>")
    elif t is Opaque:
        out.add(f"<{v.kind.lower()}>")
    else:
        out.add(f"<{t.__name__}>")


def _render_list(v: Pair, out: _Out, display: bool, path: set) -> None:
    added = []
    out.add("(")
    first = True
    cur = v
    while type(cur) is Pair:
        if id(cur) in path:
            out.add(" . " + CYCLE if not first else CYCLE)
            cur = None
            break
        path.add(id(cur))
        added.append(id(cur))
        if not first:
            out.add(" ")
        first = False
        _render(cur.car, out, display, path)
        cur = cur.cdr
    if cur is not None:
        out.add(" . ")
        _render(cur, out, display, path)
    out.add(")")
    for i in added:
        path.discard(i)


def _to_text(v, display: bool) -> str:
    out = _Out()
    try:
        _render(v, out, display, set())
    except _Full:
        out.parts.append(ELLIPSIS)
    except RecursionError:
        out.parts.append(ELLIPSIS)
    text = "".join(out.parts)
    if len(text) > MAX_CHARS + len(ELLIPSIS):
        text = text[:MAX_CHARS] + ELLIPSIS
    return text


def write_str(v) -> str:
    """The text after `=> ` for a value (the reference's valToSexp)."""
    if type(v) is str and v.startswith('{"sym":"'):
        try:
            parsed = json.loads(v)
            if isinstance(parsed, dict) and parsed.get("sym"):
                return str(parsed["sym"])
        except ValueError:
            pass
    return _to_text(v, False)


def display_str(v) -> str:
    """What `display` writes: strings raw at top level, other values in display form."""
    if type(v) is str:
        return v
    return _to_text(v, True)
