"""The primitive table: each module of this package registers its primitives into PRIMS by
name as it is imported (with `prim` or `cprim`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from ..values import CPrim, Prim, Value

F = TypeVar("F", bound=Callable[..., Value])

PRIMS: dict[str, object] = {}
PY_NAMES: dict[str, str] = {}   # Python function name -> Lisp name, for arity messages


def prim(name: str) -> Callable[[F], F]:
    """Register a pure primitive fn(*args) -> value."""
    def deco(fn: F) -> F:
        PRIMS[name] = Prim(name, fn)
        PY_NAMES.setdefault(fn.__name__, name)
        return fn
    return deco


def cprim(name: str, control: bool = False) -> Callable[[F], F]:
    """Register a machine primitive fn(m, args) -> value (or a tail tuple if control)."""
    def deco(fn: F) -> F:
        PRIMS[name] = CPrim(name, fn, control)
        return fn
    return deco
