"""Equality and type predicates."""

from __future__ import annotations

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


def equal(a: Value, b: Value) -> bool:
    """Deep structural equality (iterative along cdrs; cycles end in False, not a hang)."""
    seen = 0
    stack = [(a, b)]
    while stack:
        x, y = stack.pop()
        tx = type(x)
        if tx is not type(y):
            return False
        if tx is Pair:
            if x is y:
                continue
            seen += 1
            if seen > 10_000_000:
                return False
            stack.append((x.cdr, y.cdr))
            stack.append((x.car, y.car))
        elif tx is Vector:
            if len(x.items) != len(y.items):
                return False
            stack.extend(zip(x.items, y.items, strict=True))
        elif tx in _ATOMS:
            if x != y:
                return False
        elif tx is Meaning:
            if x is not y:
                if x.confidence != y.confidence:
                    return False
                stack.append((x.denotation, y.denotation))
                stack.append((x.trace, y.trace))
        elif tx is Dist:
            if len(x.items) != len(y.items):
                return False
            for (a1, w1), (b1, w2) in zip(x.items, y.items, strict=True):
                if w1 != w2:
                    return False
                stack.append((a1, b1))
        elif x is not y:
            return False
    return True


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
    while type(x) is Pair:
        x = x.cdr
    return x is None


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
