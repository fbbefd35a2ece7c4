"""Equality and type predicates."""

from __future__ import annotations

from ..pieces import NO_MARK, PIECE, More, pieces, spine
from ..values import (
    Closure,
    Continuation,
    CPrim,
    Dist,
    Meaning,
    OracleProc,
    Pair,
    Prim,
    Sym,
    Value,
    Vector,
)
from .registry import prim

_ATOMS = (float, bool, str)


def eqv(a: Value, b: Value) -> bool:
    """eq? as the reference defines it: value equality for atoms, identity otherwise."""
    ta = type(a)
    if ta is not type(b):
        return False
    if ta in _ATOMS:
        same: bool = a == b
        return same
    return a is b


def equal(a: Value, b: Value) -> Value:
    """Deep structural equality, in pieces. Two structures are equal when no walk through them
    finds a difference, so a pair of cells met again may be taken as equal, which ends cycles:
    along a spine, the walk marks the cells it is at every power-of-two count (Brent) and meeting
    them again ends that spine; past SHARE_AFTER cells, the pairs of cells reached through a car
    are remembered (any other cycle passes one). The remembered set is shared by the pieces of
    one comparison: a debugger resuming a keyframe in the middle reuses it, which can only take
    more pairs as met."""
    return pieces(_equal_step, (((a, b, False), None), set(), 0))


SHARE_AFTER = 4096
_DEEP = (Pair, Vector, Meaning, Dist)


def _equal_step(st: Value) -> Value:
    todo, seen, n = st      # todo: persistent chain of ((x, y, reached through a car), rest)
    end = n + PIECE
    while todo is not None:
        if n >= end:
            return More((todo, seen, n))
        (x, y, via_car), todo = todo
        if via_car and n > SHARE_AFTER and type(x) is Pair:
            key = (id(x), id(y))
            if key in seen:
                continue
            seen.add(key)
        mx = my = NO_MARK
        k, lim = 0, 1
        while type(x) is Pair:
            if type(y) is not Pair:
                return False
            if x is y:
                break
            a, b = x.car, y.car
            ta = type(a)
            if ta is not type(b):
                return False
            if ta in _DEEP:
                if a is not b:
                    todo = ((a, b, True), todo)
            elif ta in _ATOMS:
                if a != b:
                    return False
            elif a is not b:
                return False
            x, y = x.cdr, y.cdr
            n += 1
            k += 1
            if x is mx and y is my:
                break                   # round a cycle of both spines: equal so far, equal
            if k == lim:
                mx, my, lim = x, y, lim << 1
            if n >= end:
                todo = ((x, y, False), todo)
                break
        else:
            r = _shallow(x, y, todo)
            if r is False:
                return False
            todo = r
    return True


def _shallow(x: Value, y: Value, todo: Value) -> Value:
    """Compare two values that are not pairs: False, or `todo` with their parts to compare."""
    tx = type(x)
    if tx is not type(y):
        return False
    if tx in _ATOMS:
        return todo if x == y else False
    if x is y:
        return todo
    if tx is Vector:
        if len(x.items) != len(y.items):
            return False
        for p, q in zip(reversed(x.items), reversed(y.items), strict=True):
            todo = ((p, q, True), todo)
        return todo
    if tx is Meaning:
        if x.confidence != y.confidence:
            return False
        return ((x.denotation, y.denotation, True), ((x.trace, y.trace, True), todo))
    if tx is Dist:
        if len(x.items) != len(y.items):
            return False
        for (a1, w1), (b1, w2) in zip(x.items, y.items, strict=True):
            if w1 != w2:
                return False
            todo = ((a1, b1, True), todo)
        return todo
    return False


def equal_now(a: Value, b: Value) -> bool:
    """`equal` to the end at once, for Python callers (hash keys, tests)."""
    r: Value = equal(a, b)
    while type(r) is tuple:
        r = r[0](_NO_MACHINE, r[1])
    return bool(r)


class _NoMachine:
    should_yield = None


_NO_MACHINE = _NoMachine()


prim("eq?", "a b", "Whether a and b are the same object (numbers and strings by value).")(eqv)
prim("eqv?", "a b", "Whether a and b are the same object (numbers and strings by value).")(eqv)
prim("equal?", "a b",
     "Whether a and b have the same structure and contents (lists, vectors, strings).")(equal)


@prim("null?", "x", "Whether x is the empty list.")
def null_p(x: Value) -> Value:
    return x is None or (type(x) is Vector and not x.items)


@prim("pair?", "x", "Whether x is a pair (a non-empty list cell).")
def pair_p(x: Value) -> Value:
    return type(x) is Pair


@prim("list?", "x", "Whether x is a proper list (ends in the empty list).")
def list_p(x: Value) -> Value:
    return spine(x, lambda n, last, end: end is None, lambda: False)


@prim("symbol?", "x", "Whether x is a symbol.")
def symbol_p(x: Value) -> Value:
    return type(x) is Sym


@prim("string?", "x", "Whether x is a string.")
def string_p(x: Value) -> Value:
    return type(x) is str


@prim("number?", "x", "Whether x is a number.")
def number_p(x: Value) -> Value:
    return type(x) is float


@prim("boolean?", "x", "Whether x is #t or #f.")
def boolean_p(x: Value) -> Value:
    return type(x) is bool


@prim("procedure?", "x", "Whether x can be called: a primitive, a lambda or a continuation.")
def procedure_p(x: Value) -> Value:
    return type(x) in (Closure, Prim, CPrim, Continuation, OracleProc)


@prim("vector?", "x", "Whether x is a vector.")
def vector_p(x: Value) -> Value:
    return type(x) is Vector


@prim("not", "x", "#t when x is #f, else #f.")
def not_(x: Value) -> Value:
    # the reference's `not` is #f only for #t
    return x is not True


# `and` / `or` are special forms in head position (they short-circuit); as values (for
# `apply`, `fold-left`, ...) they are these procedures, with the same results.
@prim("and", "x...",
      "The procedure form of and: the last argument when none is #f, else #f (all are evaluated).")
def and_(*args: Value) -> Value:
    last = True
    for a in args:
        if a is False or a is None:
            return a
        last = a
    return last


@prim("or", "x...",
      "The procedure form of or: the first argument that is not #f, else #f (all are evaluated).")
def or_(*args: Value) -> Value:
    for a in args:
        if a is not False and a is not None:
            return a
    return False
