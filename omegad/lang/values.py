"""Runtime values of Omega Lisp.

Representation (chosen for speed of the step loop):
  number -> float (always; JavaScript doubles)   boolean -> bool   string -> str
  empty list / unit -> NIL (None)                 symbol -> Sym (interned, compare with `is`)
  pair -> Pair (mutable car/cdr)                  everything else -> the classes below
"""

from __future__ import annotations

import weakref
from typing import Any, TypeAlias

# Any Lisp value: the evaluator is dynamically typed, so this is Any (see the docstring).
Value: TypeAlias = Any

NIL = None
UNDEF = object()  # a letrec / internal-define slot not yet initialized; "unbound" in undo logs


class LispError(Exception):
    """An error the user reads, printed as `error: <message>`."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Sym:
    """Interned while referenced: `is` compares symbols; unused ones (gensyms) are freed."""

    __slots__ = ("name", "__weakref__")
    name: str
    _table: weakref.WeakValueDictionary[str, Sym] = weakref.WeakValueDictionary()

    def __new__(cls, name: str) -> Sym:
        s = cls._table.get(name)
        if s is None:
            s = object.__new__(cls)
            s.name = name
            cls._table[name] = s
        return s

    def __repr__(self) -> str:
        return f"Sym({self.name!r})"

    def __reduce__(self) -> Value:
        return (Sym, (self.name,))


class Pair:
    __slots__ = ("car", "cdr", "__weakref__")

    def __init__(self, car: Value, cdr: Value) -> None:
        self.car = car
        self.cdr = cdr


class Lambda:
    """Compile-time description of a lambda: source, parameters and the compiled body.

    `scope` is the chain of enclosing local frames' names, so a closure can be recompiled from
    its source after deserialization."""

    __slots__ = ("params", "rest", "body_src", "body", "scope_names", "nslots", "name", "src")

    def __init__(
        self,
        params: Value,
        rest: Value,
        body_src: Value,
        body: Value,
        scope_names: Value,
        nslots: Value,
        name: Value,
        src: Value,
    ) -> None:
        self.params = params          # tuple[str, ...] (rest parameter included last)
        self.rest = rest              # bool: last param collects the remaining arguments
        self.body_src = body_src
        self.body = body              # compiled Node of the body
        self.scope_names = scope_names  # tuple of tuples: names of each enclosing frame
        self.nslots = nslots          # frame size (params + hoisted internal defines)
        self.name = name
        self.src = src                # the whole (lambda ...) datum


class Closure:
    __slots__ = ("lam", "env", "__weakref__")

    def __init__(self, lam: Lambda, env: Value) -> None:
        self.lam = lam
        self.env = env


class Prim:
    """A primitive that only computes from its arguments: fn(*args) -> value."""

    __slots__ = ("name", "fn")

    def __init__(self, name: str, fn: Value) -> None:
        self.name = name
        self.fn = fn


class CPrim:
    """A primitive that needs the machine (calls procedures, writes output, mutates state).

    fn(machine, args: list) -> value. A `control` primitive (one that pushes frames, calls
    procedures or jumps) runs as the machine's control, never inline inside a node, and may
    return a tail tuple (ex, env) as a compiled node does."""

    __slots__ = ("name", "fn", "control")

    def __init__(self, name: str, fn: Value, control: bool = False) -> None:
        self.name = name
        self.fn = fn
        self.control = control


class Continuation:
    """A first-class continuation: from call/cc ('escape') or a handler's k ('handler')."""

    __slots__ = ("stack", "kind", "__weakref__")

    def __init__(self, stack: tuple[Value, ...], kind: str) -> None:
        self.stack = stack
        self.kind = kind


class OracleProc:
    __slots__ = ("params", "spec", "env", "__weakref__")

    def __init__(self, params: tuple[Value, ...], spec: Value, env: Value) -> None:
        self.params = params
        self.spec = spec
        self.env = env


class Meaning:
    __slots__ = ("denotation", "confidence", "trace", "__weakref__")

    def __init__(
        self,
        denotation: Value = NIL,
        confidence: Value = None,
        trace: Value = None,
    ) -> None:
        self.denotation = denotation
        self.confidence = confidence
        self.trace = trace


class Dist:
    __slots__ = ("items", "__weakref__")

    def __init__(self, items: list[Value]) -> None:
        self.items = items  # list of (value, weight)


class Promise:
    __slots__ = ("thunk", "done", "value", "__weakref__")

    def __init__(self, thunk: Value, done: bool = False, value: Value = NIL) -> None:
        self.thunk = thunk
        self.done = done
        self.value = value


class HashTable:
    __slots__ = ("table", "__weakref__")

    def __init__(self) -> None:
        self.table: dict[Value, Value] = {}


class Vector:
    """A flat vector (only `read` makes these, as the reference does)."""

    __slots__ = ("items", "__weakref__")

    def __init__(self, items: list[Value]) -> None:
        self.items = items


class Opaque:
    """Values the language names but does not compute with here (evaluators, machines)."""

    __slots__ = ("kind", "data", "__weakref__")

    def __init__(self, kind: str, data: Value = NIL) -> None:
        self.kind = kind
        self.data = data


def is_true(v: Value) -> bool:
    """The truth of and/or/when/unless/filter: only #f and the empty list are false."""
    return v is not False and v is not None


def make_list(items: Value) -> object:
    out = NIL
    for x in reversed(items):
        out = Pair(x, out)
    return out


def list_to_py(lst: Value) -> list[Value]:
    out = []
    while type(lst) is Pair:
        out.append(lst.car)
        lst = lst.cdr
    return out


def type_tag(v: Value) -> str:
    """The reference's value tag, used in `Attempted to apply non-callable value: <Tag>`."""
    t = type(v)
    if v is None:
        return "Unit"
    if t is float:
        return "Num"
    if t is bool:
        return "Bool"
    if t is str:
        return "Str"
    if t is Sym:
        return "Sym"
    if t is Pair or t is Vector:
        return "Vector"
    if t is Meaning:
        return "Meaning"
    if t is Dist:
        return "Dist"
    if t is Promise:
        return "Promise"
    if t is HashTable:
        return "Map"
    if t is Opaque:
        kind: str = v.kind
        return kind
    return t.__name__
