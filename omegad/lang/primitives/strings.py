"""Strings and symbols (type-checked with the reference's messages)."""

from __future__ import annotations

import math

from ..accounting import charge
from ..reader import read_all
from ..values import LispError, Pair, Sym, Vector
from . import prim
from .lists import list_


def _str(who: str, x, plural: bool = False) -> str:
    if type(x) is not str:
        raise LispError(f"{who}: expected string" + ("s" if plural else ""))
    return x


@prim("string=?")
def string_eq(a, b, *rest):
    _str("string=?", a, True), _str("string=?", b, True)
    return a == b


def _strcmp(name, op):
    def f(a, b):
        _str(name, a, True), _str(name, b, True)
        return op(a, b)
    prim(name)(f)


_strcmp("string<?", lambda a, b: a < b)
_strcmp("string>?", lambda a, b: a > b)
_strcmp("string<=?", lambda a, b: a <= b)
_strcmp("string>=?", lambda a, b: a >= b)


@prim("string-contains?")
def string_contains(s, sub):
    if type(s) is not str or type(sub) is not str:
        raise LispError("string-contains?: expected strings")
    return sub in s


@prim("string-prefix?")
def string_prefix(prefix, s):
    return _str("string-prefix?", s, True).startswith(_str("string-prefix?", prefix, True))


@prim("string-suffix?")
def string_suffix(suffix, s):
    return _str("string-suffix?", s, True).endswith(_str("string-suffix?", suffix, True))


@prim("string-index")
def string_index(s, sub):
    i = _str("string-index", s, True).find(_str("string-index", sub, True))
    return False if i < 0 else float(i)


@prim("string-replace-all")
def string_replace_all(s, sub, rep):
    if type(s) is not str or type(sub) is not str or type(rep) is not str:
        raise LispError("string-replace-all: expected strings")
    if sub == "":
        # JavaScript's split("") then join(rep): rep between every character
        return rep.join(s)
    out = s.replace(sub, rep)
    charge(len(out))
    return out


@prim("string-split")
def string_split(s, sep):
    if type(s) is not str or type(sep) is not str:
        raise LispError("string-split: expected strings")
    parts = list(s) if sep == "" else s.split(sep)
    return list_(*parts)


@prim("string-join")
def string_join(lst, sep=" "):
    if type(sep) is not str:
        raise LispError("string-join: delimiter must be string")
    parts = []
    while type(lst) is Pair:
        if type(lst.car) is str:
            parts.append(lst.car)
        lst = lst.cdr
    out = sep.join(parts)
    charge(len(out))
    return out


_JS_WS = " \t\n\r\v\f\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009" \
    "\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"


@prim("string-trim")
def string_trim(s):
    return _str("string-trim", s).strip(_JS_WS)


@prim("string-downcase")
def string_downcase(s):
    return _str("string-downcase", s).lower()


@prim("string-upcase")
def string_upcase(s):
    return _str("string-upcase", s).upper()


@prim("string-length")
def string_length(s):
    return float(len(_str("string-length", s)))


@prim("string-append")
def string_append(*parts):
    for p in parts:
        if type(p) is not str:
            raise LispError("string-append: expected strings")
    charge(sum(len(p) for p in parts))
    out = "".join(parts)
    return out


def _js_index(x: float, n: int) -> int:
    if x != x:
        return 0
    if math.isinf(x):
        return n if x > 0 else 0
    return max(0, min(n, int(x)))


@prim("substring")
def substring(s, start, end=None):
    _str("substring", s)
    if type(start) is not float or (end is not None and type(end) is not float):
        raise LispError("substring: expected numbers for indices")
    a = _js_index(start, len(s))
    b = len(s) if end is None else _js_index(end, len(s))
    if a > b:
        a, b = b, a
    return s[a:b]


@prim("string-ref")
def string_ref(s, k):
    _str("string-ref", s)
    if type(k) is not float or k < 0 or k >= len(s):
        raise LispError("string-ref: index out of bounds")
    return s[int(k)]


@prim("string->list")
def string_to_list(s):
    return list_(*_str("string->list", s))


@prim("list->string")
def list_to_string(lst):
    parts = []
    while type(lst) is Pair:
        if type(lst.car) is not str:
            raise LispError("list->string: expected a list of strings")
        parts.append(lst.car)
        lst = lst.cdr
    return "".join(parts)


@prim("string")
def string(*parts):
    return "".join(p if type(p) is str else "" for p in parts)


@prim("symbol->string")
def symbol_to_string(x):
    if type(x) is not Sym:
        raise LispError("symbol->string: expected symbol")
    return x.name


@prim("string->symbol")
def string_to_symbol(s):
    return Sym(_str("string->symbol", s))


def _to_vectors(d):
    if type(d) is Pair or d is None and False:
        items = []
        while type(d) is Pair:
            items.append(_to_vectors(d.car))
            d = d.cdr
        return Vector(items)
    return d


@prim("read")
def read(s):
    if type(s) is not str:
        raise LispError("read: expected string")
    try:
        data = read_all(s)
    except LispError as e:
        raise LispError(f"read: parse error - {e.message}") from None
    if not data:
        raise LispError("read: parse error - parse: unexpected EOF")
    return _to_vectors(data[0])
