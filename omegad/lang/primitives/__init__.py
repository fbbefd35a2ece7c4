"""The primitive table: every module registers its primitives into PRIMS by name."""

from __future__ import annotations

from ..values import CPrim, Prim

PRIMS: dict[str, object] = {}
PY_NAMES: dict[str, str] = {}   # Python function name -> Lisp name, for arity messages


def prim(name: str):
    """Register a pure primitive fn(*args) -> value."""
    def deco(fn):
        PRIMS[name] = Prim(name, fn)
        PY_NAMES.setdefault(fn.__name__, name)
        return fn
    return deco


def cprim(name: str, control: bool = False):
    """Register a machine primitive fn(m, args) -> value (or a tail tuple if control)."""
    def deco(fn):
        PRIMS[name] = CPrim(name, fn, control)
        return fn
    return deco


def load_all() -> dict[str, object]:
    from . import equality, hof, io, lists, misc, numbers, strings  # noqa: F401
    return PRIMS
