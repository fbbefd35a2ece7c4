"""Arithmetic and comparison with JavaScript double semantics (non-numbers give NaN)."""

from __future__ import annotations

import math
import re

from ..printer import js_number
from ..values import LispError, Value
from .registry import prim

NAN = math.nan
F = float


def _nums(args: Value) -> bool:
    for x in args:
        if type(x) is not F:
            return False
    return True


@prim("+")
def add(*a: Value) -> Value:
    if len(a) == 2:
        x, y = a
        if type(x) is F and type(y) is F:
            return x + y
        return NAN
    if not _nums(a):
        return NAN
    s = 0.0
    for x in a:
        s += x
    return s


@prim("-")
def sub(*a: Value) -> Value:
    if len(a) == 2:
        x, y = a
        if type(x) is F and type(y) is F:
            return x - y
        return NAN
    if not a:
        return NAN
    if not _nums(a):
        return NAN
    if len(a) == 1:
        return -a[0]
    s = a[0]
    for x in a[1:]:
        s -= x
    return s


@prim("*")
def mul(*a: Value) -> Value:
    if len(a) == 2:
        x, y = a
        if type(x) is F and type(y) is F:
            return x * y
        return NAN
    if not _nums(a):
        return NAN
    s = 1.0
    for x in a:
        s *= x
    return s


def _div2(x: Value, y: Value) -> Value:
    if type(x) is not F or type(y) is not F:
        return NAN
    try:
        return x / y
    except ZeroDivisionError:
        if x != x or x == 0:
            return NAN
        neg = (x < 0) != (math.copysign(1.0, y) < 0)
        return -math.inf if neg else math.inf


@prim("/")
def div(*a: Value) -> Value:
    if len(a) == 1:
        return _div2(1.0, a[0])
    if not a:
        return NAN
    r = a[0]
    for y in a[1:]:
        r = _div2(r, y)
    return r


@prim("modulo")
def modulo(x: Value, y: Value) -> Value:
    if type(x) is not F or type(y) is not F or y == 0 or math.isinf(x):
        return NAN
    return math.fmod(x, y)


@prim("remainder")
def remainder(x: Value, y: Value) -> Value:
    return modulo(x, y)


@prim("quotient")
def quotient(x: Value, y: Value) -> Value:
    q = _div2(x, y)
    if q != q or math.isinf(q):
        return q
    return float(math.trunc(q))


def _cmp(op: Value) -> Value:
    def f(a: Value, b: Value, *rest: Value) -> Value:
        if type(a) is F and type(b) is F:
            return op(a, b)
        return False
    return f


prim("=")(_cmp(lambda a, b: a == b))
prim("<")(_cmp(lambda a, b: a < b))
prim(">")(_cmp(lambda a, b: a > b))
prim("<=")(_cmp(lambda a, b: a <= b))
prim(">=")(_cmp(lambda a, b: a >= b))


def _num(who: str, x: Value) -> Value:
    if type(x) is not F:
        raise LispError(f"{who}: expected number")
    return x


@prim("even?")
def even(x: Value) -> Value:
    return type(x) is F and math.fmod(x, 2) == 0


@prim("odd?")
def odd(x: Value) -> Value:
    return type(x) is F and abs(math.fmod(x, 2)) == 1


@prim("zero?")
def zero(x: Value) -> Value:
    return type(x) is F and x == 0


@prim("positive?")
def positive(x: Value) -> Value:
    return type(x) is F and x > 0


@prim("negative?")
def negative(x: Value) -> Value:
    return type(x) is F and x < 0


@prim("integer?")
def integer(x: Value) -> Value:
    return type(x) is F and x == x and not math.isinf(x) and x.is_integer()


@prim("abs")
def abs_(x: Value) -> Value:
    return abs(_num("abs", x))


@prim("min")
def min_(*a: Value) -> Value:
    if not a:
        raise LispError("min: expected at least 1 argument")
    for x in a:
        _num("min", x)
    return NAN if any(x != x for x in a) else min(a)


@prim("max")
def max_(*a: Value) -> Value:
    if not a:
        raise LispError("max: expected at least 1 argument")
    for x in a:
        _num("max", x)
    return NAN if any(x != x for x in a) else max(a)


def _unary(name: Value, fn: Value, keep_non_finite: bool = False) -> None:
    def f(x: Value) -> Value:
        x = _num(name, x)
        if keep_non_finite and not math.isfinite(x):
            return x
        try:
            return float(fn(x))
        except OverflowError:
            return math.inf
        except ValueError:
            return NAN
    prim(name)(f)


def _log(x: float) -> float:
    if x == 0:
        return -math.inf
    return math.log(x)


def _round(x: float) -> float:
    # JavaScript's Math.round: halves round up
    return float(math.floor(x + 0.5))


_unary("floor", math.floor, True)
_unary("ceiling", math.ceil, True)
_unary("truncate", math.trunc, True)
_unary("round", _round, True)
_unary("sqrt", math.sqrt)
_unary("exp", math.exp)
_unary("log", _log)
_unary("sin", math.sin)
_unary("cos", math.cos)
_unary("tan", math.tan)
_unary("atan", math.atan)
_unary("exact->inexact", lambda x: x)
_unary("inexact->exact", lambda x: x)
_unary("exact", lambda x: x)
_unary("inexact", lambda x: x)
_unary("1+", lambda x: x + 1)
_unary("1-", lambda x: x - 1)


@prim("expt")
def expt(x: Value, y: Value) -> Value:
    x, y = _num("expt", x), _num("expt", y)
    try:
        return float(math.pow(x, y))
    except OverflowError:
        return math.inf
    except ValueError:
        return NAN


@prim("number->string")
def number_to_string(x: Value, *radix: Value) -> Value:
    if type(x) is not F:
        raise LispError("number->string: expected number")
    return js_number(x)


_FLOAT = re.compile(r"\s*([+-]?(?:Infinity|\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?))")


@prim("string->number")
def string_to_number(s: Value, *radix: Value) -> Value:
    if type(s) is not str:
        raise LispError("string->number: expected string")
    mt = _FLOAT.match(s)
    if not mt:
        return False
    text = mt.group(1)
    if text.lstrip("+-") == "Infinity":
        return -math.inf if text.startswith("-") else math.inf
    return float(text)
