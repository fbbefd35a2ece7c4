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


@prim("+", "n...", "The sum of the numbers (0 for none); with strings, their concatenation.")
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


@prim("-", "n n...", "n minus the others; with one argument, its negation.")
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


@prim("*", "n...", "The product of the numbers (1 for none).")
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


@prim("/", "n n...", "n divided by the others; with one argument, its reciprocal.")
def div(*a: Value) -> Value:
    if len(a) == 1:
        return _div2(1.0, a[0])
    if not a:
        return NAN
    r = a[0]
    for y in a[1:]:
        r = _div2(r, y)
    return r


@prim("modulo", "a b", "a modulo b, with the sign of b.")
def modulo(x: Value, y: Value) -> Value:
    if type(x) is not F or type(y) is not F or y == 0 or math.isinf(x):
        return NAN
    return math.fmod(x, y)


@prim("remainder", "a b", "The remainder of a divided by b, with the sign of a.")
def remainder(x: Value, y: Value) -> Value:
    return modulo(x, y)


@prim("quotient", "a b", "a divided by b, truncated toward zero.")
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


_LATER = " (numbers; later arguments are not compared, as in the reference)."
prim("=", "a b n...", "Whether a equals b" + _LATER)(_cmp(lambda a, b: a == b))
prim("<", "a b n...", "Whether a is less than b" + _LATER)(_cmp(lambda a, b: a < b))
prim(">", "a b n...", "Whether a is greater than b" + _LATER)(_cmp(lambda a, b: a > b))
prim("<=", "a b n...", "Whether a is at most b" + _LATER)(_cmp(lambda a, b: a <= b))
prim(">=", "a b n...", "Whether a is at least b" + _LATER)(_cmp(lambda a, b: a >= b))


def _num(who: str, x: Value) -> Value:
    if type(x) is not F:
        raise LispError(f"{who}: expected number")
    return x


@prim("even?", "n", "Whether n is even.")
def even(x: Value) -> Value:
    return type(x) is F and math.fmod(x, 2) == 0


@prim("odd?", "n", "Whether n is odd.")
def odd(x: Value) -> Value:
    return type(x) is F and abs(math.fmod(x, 2)) == 1


@prim("zero?", "n", "Whether n is zero.")
def zero(x: Value) -> Value:
    return type(x) is F and x == 0


@prim("positive?", "n", "Whether n is greater than zero.")
def positive(x: Value) -> Value:
    return type(x) is F and x > 0


@prim("negative?", "n", "Whether n is less than zero.")
def negative(x: Value) -> Value:
    return type(x) is F and x < 0


@prim("integer?", "x", "Whether x is a number without a fractional part.")
def integer(x: Value) -> Value:
    return type(x) is F and x == x and not math.isinf(x) and x.is_integer()


@prim("abs", "n", "The absolute value of n.")
def abs_(x: Value) -> Value:
    return abs(_num("abs", x))


@prim("min", "n...", "The smallest of the numbers.")
def min_(*a: Value) -> Value:
    if not a:
        raise LispError("min: expected at least 1 argument")
    for x in a:
        _num("min", x)
    return NAN if any(x != x for x in a) else min(a)


@prim("max", "n...", "The largest of the numbers.")
def max_(*a: Value) -> Value:
    if not a:
        raise LispError("max: expected at least 1 argument")
    for x in a:
        _num("max", x)
    return NAN if any(x != x for x in a) else max(a)


def _unary(name: Value, fn: Value, doc: str, keep_non_finite: bool = False) -> None:
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
    prim(name, "n", doc)(f)


def _log(x: float) -> float:
    if x == 0:
        return -math.inf
    return math.log(x)


def _round(x: float) -> float:
    # JavaScript's Math.round: halves round up
    return float(math.floor(x + 0.5))


_unary("floor", math.floor, "The largest integer not above n.", True)
_unary("ceiling", math.ceil, "The smallest integer not below n.", True)
_unary("truncate", math.trunc, "n without its fractional part (toward zero).", True)
_unary("round", _round, "The integer nearest n (halves round up, as JavaScript).", True)
_unary("sqrt", math.sqrt, "The square root of n.")
_unary("exp", math.exp, "e raised to n.")
_unary("log", _log, "The natural logarithm of n.")
_unary("sin", math.sin, "The sine of n (radians).")
_unary("cos", math.cos, "The cosine of n (radians).")
_unary("tan", math.tan, "The tangent of n (radians).")
_unary("atan", math.atan, "The arc tangent of n (radians).")
_unary("exact->inexact", lambda x: x, "n itself (every number is a double).")
_unary("inexact->exact", lambda x: x, "n itself (every number is a double).")
_unary("exact", lambda x: x, "n itself (every number is a double).")
_unary("inexact", lambda x: x, "n itself (every number is a double).")
_unary("1+", lambda x: x + 1, "n plus one.")
_unary("1-", lambda x: x - 1, "n minus one.")


@prim("expt", "base power", "base raised to power.")
def expt(x: Value, y: Value) -> Value:
    x, y = _num("expt", x), _num("expt", y)
    try:
        return float(math.pow(x, y))
    except OverflowError:
        return math.inf
    except ValueError:
        return NAN


@prim("number->string", "n [radix]", "n as a string (in radix, 10 by default).")
def number_to_string(x: Value, *radix: Value) -> Value:
    if type(x) is not F:
        raise LispError("number->string: expected number")
    return js_number(x)


_FLOAT = re.compile(r"\s*([+-]?(?:Infinity|\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?))")


@prim("string->number", "string [radix]", "The number a string spells (in radix), or #f.")
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
