"""Strings and symbols (type-checked with the reference's messages)."""

from __future__ import annotations

import math
import re
from collections.abc import Generator, Sequence

from ..accounting import PAIR, STR, charge
from ..pieces import BIG_WORK, More, big, build, pieces, walk
from ..steps import advance, finish
from ..string_pieces import LAYOUT_KNOWN, joined, sliced
from ..values import LispError, Sym, Value, Vector
from .registry import prim

MAX_STRING = 32 << 20   # characters in one string a primitive makes (README)


def _fits(who: str, size: int) -> None:
    if size > MAX_STRING:
        raise LispError(f"{who}: string too long ({size} characters; the limit is {MAX_STRING})")


def _str(who: str, x: Value, plural: bool = False) -> str:
    if type(x) is not str:
        raise LispError(f"{who}: expected string" + ("s" if plural else ""))
    return x


@prim("string=?", "a b c...", "Whether the strings are equal.")
def string_eq(a: Value, b: Value, *rest: Value) -> Value:
    _str("string=?", a, True), _str("string=?", b, True)
    return a == b


def _strcmp(name: Value, op: Value, relation: str) -> None:
    def f(a: Value, b: Value) -> Value:
        _str(name, a, True), _str(name, b, True)
        return op(a, b)
    prim(name, "a b", f"Whether string a sorts {relation} b.")(f)


_strcmp("string<?", lambda a, b: a < b, "before")
_strcmp("string>?", lambda a, b: a > b, "after")
_strcmp("string<=?", lambda a, b: a <= b, "before or equal to")
_strcmp("string>=?", lambda a, b: a >= b, "after or equal to")


@prim("string-contains?", "string sub", "Whether sub occurs in string.")
def string_contains(s: Value, sub: Value) -> Value:
    if type(s) is not str or type(sub) is not str:
        raise LispError("string-contains?: expected strings")
    return sub in s


@prim("string-prefix?", "prefix string", "Whether string starts with prefix.")
def string_prefix(prefix: Value, s: Value) -> Value:
    return _str("string-prefix?", s, True).startswith(_str("string-prefix?", prefix, True))


@prim("string-suffix?", "suffix string", "Whether string ends with suffix.")
def string_suffix(suffix: Value, s: Value) -> Value:
    return _str("string-suffix?", s, True).endswith(_str("string-suffix?", suffix, True))


@prim("string-index", "string sub", "The index of sub's first occurrence in string, or #f.")
def string_index(s: Value, sub: Value) -> Value:
    i = _str("string-index", s, True).find(_str("string-index", sub, True))
    return False if i < 0 else float(i)


@prim("string-replace-all", "string sub replacement",
      "string with every occurrence of sub replaced.")
def string_replace_all(s: Value, sub: Value, rep: Value) -> Value:
    if type(s) is not str or type(sub) is not str or type(rep) is not str:
        raise LispError("string-replace-all: expected strings")
    if sub == "":
        # JavaScript's split("") then join(rep): rep between every character
        size = len(s) * (1 + len(rep))
        _fits("string-replace-all", size)
        charge(size)
        return big(size, lambda: rep.join(s))
    size = len(s) + s.count(sub) * max(0, len(rep) - len(sub))
    _fits("string-replace-all", size)
    charge(size)
    return big(size, lambda: s.replace(sub, rep))


@prim("string-split", "string separator", "The parts of string between separators, as a list.")
def string_split(s: Value, sep: Value) -> Value:
    if type(s) is not str or type(sep) is not str:
        raise LispError("string-split: expected strings")
    count = len(s) if sep == "" else s.count(sep) + 1
    charge(count * (PAIR + STR) + len(s))       # charged before the split makes anything
    return big(len(s), lambda: build(list(s) if sep == "" else s.split(sep), None, charged=True))


@prim("string-join", "list [separator]", "The strings of list joined with separator (a space).")
def string_join(lst: Value, sep: Value = " ") -> Value:
    if type(sep) is not str:
        raise LispError("string-join: delimiter must be string")
    def then(items: list[Value], tail: Value) -> Value:
        return _joined("string-join", sep, [x for x in items if type(x) is str])
    return walk(lst, "string-join", then)


_JS_WS = " \t\n\r\v\f\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009" \
    "\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"


@prim("string-trim", "string", "string without leading and trailing whitespace.")
def string_trim(s: Value) -> Value:
    return _str("string-trim", s).strip(_JS_WS)


@prim("string-downcase", "string", "string in lower case.")
def string_downcase(s: Value) -> Value:
    return _str("string-downcase", s).lower()


@prim("string-upcase", "string", "string in upper case.")
def string_upcase(s: Value) -> Value:
    return _str("string-upcase", s).upper()


@prim("string-length", "string", "The number of characters of string.")
def string_length(s: Value) -> Value:
    return float(len(_str("string-length", s)))


@prim("string-append", "string...", "The strings joined into one.")
def string_append(*parts: Value) -> Value:
    for p in parts:
        if type(p) is not str:
            raise LispError("string-append: expected strings")
    return _joined("string-append", "", parts)


def _joined(who: str, sep: str, parts: Sequence[str]) -> Value:
    """sep.join(parts), refused when too long and charged before it is made."""
    size = sum(map(len, parts)) + len(sep) * max(0, len(parts) - 1)
    _fits(who, size)
    charge(size)
    if size >= BIG_WORK and LAYOUT_KNOWN and len(sep) < BIG_WORK // 4:
        return joined(sep, parts, size)
    return big(size, lambda: sep.join(parts))


def _js_index(x: float, n: int) -> int:
    if x != x:
        return 0
    if math.isinf(x):
        return n if x > 0 else 0
    return max(0, min(n, int(x)))


@prim("substring", "string start [end]", "The characters of string from start up to end (its end).")
def substring(s: Value, start: Value, end: Value = None) -> Value:
    _str("substring", s)
    if type(start) is not float or (end is not None and type(end) is not float):
        raise LispError("substring: expected numbers for indices")
    a = _js_index(start, len(s))
    b = len(s) if end is None else _js_index(end, len(s))
    if a > b:
        a, b = b, a
    charge(b - a)
    if b - a >= BIG_WORK and LAYOUT_KNOWN:
        return sliced(s, a, b)
    return big(b - a, lambda: s[a:b])


@prim("string-ref", "string k", "The character at index k, as a one-character string.")
def string_ref(s: Value, k: Value) -> Value:
    _str("string-ref", s)
    if type(k) is not float or k < 0 or k >= len(s):
        raise LispError("string-ref: index out of bounds")
    return s[int(k)]


@prim("string->list", "string", "The characters of string, as a list of one-character strings.")
def string_to_list(s: Value) -> Value:
    _str("string->list", s)
    charge(len(s) * (PAIR + STR))
    return big(len(s), lambda: build(list(s), None, charged=True))


@prim("list->string", "list", "The strings of list joined into one.")
def list_to_string(lst: Value) -> Value:
    def then(items: list[Value], tail: Value) -> Value:
        for x in items:
            if type(x) is not str:
                raise LispError("list->string: expected a list of strings")
        return _joined("list->string", "", items)
    return walk(lst, "list->string", then)


@prim("string", "x...", "The arguments displayed and joined into one string.")
def string(*parts: Value) -> Value:
    return _joined("string", "", [p for p in parts if type(p) is str])


@prim("symbol->string", "symbol", "The name of a symbol.")
def symbol_to_string(x: Value) -> Value:
    if type(x) is not Sym:
        raise LispError("symbol->string: expected symbol")
    return x.name


@prim("string->symbol", "string", "The symbol named string.")
def string_to_symbol(s: Value) -> Value:
    return Sym(_str("string->symbol", s))


_READ_NUM = re.compile(r"[+-]?\d+(\.\d+)?\Z")
_READ_ESC = {"n": "\n", "t": "\t", "r": "\r"}


def _read_tokens(src: str) -> Generator[None, None, list[tuple[str, Value]]]:
    """`read`'s tokenizer (the reference's s-expression reader, not the program reader), in
    steps of READ_STEP tokens."""
    out: list[tuple[str, Value]] = []
    i, n = 0, len(src)
    pause = READ_STEP
    while i < n:
        pause -= 1
        if not pause:
            pause = READ_STEP
            yield
        c = src[i]
        if c in " \t\n\r":
            i += 1
        elif c == ";":
            j = src.find("\n", i)
            i = n if j < 0 else j
        elif c in "()'":
            out.append((c, None))
            i += 1
        elif c == '"':
            i += 1
            buf = []
            while i < n:
                j = _run_end(_READ_STR_RUN, src, i)
                buf.append(src[i:j])
                i = j
                if i >= n:
                    break
                if src[i] == '"':
                    i += 1
                    break
                i += 1                                   # a backslash
                if i >= n:
                    raise LispError("unterminated escape")
                buf.append(_READ_ESC.get(src[i], src[i]))
                i += 1
            out.append(("str", "".join(buf)))
        else:
            j = _run_end(_READ_ATOM_RUN, src, i)
            out.append(("atom", src[i:j]))
            i = j
    return out


READ_STEP = 4096


def _run_end(run: re.Pattern[str], src: str, i: int) -> int:
    m = run.match(src, i)
    return i if m is None else m.end()
_READ_STR_RUN = re.compile(r'[^"\\]*')
_READ_ATOM_RUN = re.compile(r"[^ \t\n\r()';]*")


def _read_atom(a: str) -> Value:
    if a in ("#t", "true"):
        return True
    if a in ("#f", "false"):
        return False
    if _READ_NUM.match(a):
        return float(a)
    return Sym(a)


def read_sexp(src: str) -> Value:
    """One datum; lists become flat vectors, as the reference's `read` returns them."""
    return finish(read_steps(src))


def read_steps(src: str) -> Generator[None, None, object]:
    toks = yield from _read_tokens(src)
    stack: list[list[Value]] = []        # [items, quotes-before]
    quotes = 0
    i = 0
    while True:
        if i and not i % READ_STEP:
            yield
        if i >= len(toks):
            raise LispError("unterminated list" if stack and not quotes else "unexpected EOF")
        kind, text = toks[i]
        i += 1
        if kind == "'":
            quotes += 1
            continue
        if kind == "(":
            stack.append([[], quotes])
            quotes = 0
            continue
        if kind == ")":
            if not stack or quotes:
                raise LispError("unexpected ')'")
            items, quotes = stack.pop()
            value = Vector(items)
        elif kind == "str":
            value = text
        else:
            value = _read_atom(text)
        for _ in range(quotes):
            value = Vector([Sym("quote"), value])
        quotes = 0
        if not stack:
            if i != len(toks):
                raise LispError("trailing tokens after first expression")
            return value
        stack[-1][0].append(value)


@prim("read", "string", "The datum the text of string spells (without evaluating it).")
def read(s: Value) -> Value:
    """In pieces of READ_STEP tokens (the one primitive whose pieces share a generator: a
    debugger keyframe taken inside a long `read` cannot be resumed twice)."""
    if type(s) is not str:
        raise LispError("read: expected string")
    charge(len(s) * 2)
    return pieces(_read_piece, read_steps(s))


def _read_piece(steps: Generator[None, None, Value]) -> Value:
    try:
        done, value = advance(steps)
    except LispError as e:
        raise LispError(f"read: parse error - {e.message}") from None
    return value if done else More(steps)
