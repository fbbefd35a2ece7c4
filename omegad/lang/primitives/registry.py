"""The primitive table: each module of this package registers its primitives into PRIMS by
name as it is imported (with `prim` or `cprim`).

Each registration carries the primitive's documentation beside it, so the table cannot drift:
`args` spells its parameters as `:doc` shows them (`x`, `[optional]`, `rest...`; its arity comes
from there) and `doc` is one line saying what it does.

    @prim("list-ref", "list k", "The element of list at index k (from 0).")
    def list_ref(lst: Value, k: Value) -> Value: ...
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from ..values import CPrim, Prim, Value

F = TypeVar("F", bound=Callable[..., Value])

PRIMS: dict[str, object] = {}
PY_NAMES: dict[str, str] = {}   # Python function name -> Lisp name, for arity messages


@dataclass(frozen=True, slots=True)
class Doc:
    args: str    # the parameters as `:doc` shows them: "list k", "s start [end]", "n..."
    line: str    # what it does, in one line

    @property
    def arity(self) -> str:
        """"1", "1-2" (optional parameters) or "2+" (a rest parameter)."""
        words = self.args.split()
        required = sum(1 for w in words if not w.startswith("[") and not w.endswith("..."))
        optional = sum(1 for w in words if w.startswith("["))
        if any(w.endswith("...") for w in words):
            return f"{required}+"
        return f"{required}-{required + optional}" if optional else str(required)

    def usage(self, name: str) -> str:
        return f"({name} {self.args})" if self.args else f"({name})"


DOCS: dict[str, Doc] = {}


def prim(name: str, args: str, doc: str) -> Callable[[F], F]:
    """Register a pure primitive fn(*args) -> value."""
    def deco(fn: F) -> F:
        PRIMS[name] = Prim(name, fn)
        DOCS[name] = Doc(args, doc)
        PY_NAMES.setdefault(fn.__name__, name)
        return fn
    return deco


def cprim(name: str, args: str, doc: str, control: bool = False) -> Callable[[F], F]:
    """Register a machine primitive fn(m, args) -> value (or a tail tuple if control)."""
    def deco(fn: F) -> F:
        PRIMS[name] = CPrim(name, fn, control)
        DOCS[name] = Doc(args, doc)
        return fn
    return deco


def alias(name: str, of: str) -> None:
    """Bind `name` to the primitive `of` itself (the same object, printed as `of`)."""
    PRIMS[name] = PRIMS[of]
    DOCS[name] = Doc(DOCS[of].args, f"{DOCS[of].line} The same object as {of}.")


def synonym(name: str, of: str) -> None:
    """A primitive of its own named `name` that does what `of` does."""
    original = PRIMS[of]
    assert isinstance(original, Prim)
    prim(name, DOCS[of].args, f"{DOCS[of].line} Same as {of}.")(original.fn)
