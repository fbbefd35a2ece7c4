"""A reference REPL's serialized machine state (its index's `states` member) as an omega state.

What the reference keeps, and how it maps here:

* `storeEntries` are the machine's mutable cells, `[address, value]`. Values are trees written
  by value (a list is `Vector` cons cells `[head, tail]` ending in `Unit`; a closure is
  `{params, body, envId}`), so the only sharing left is through cell addresses.
* `ctxTable` holds environments: flat frames `[name, address]` that copy the global bindings
  of their time and add the closure's own locals. Names are renamed per binding site
  (`total$bid#5`); the REPL adds a plain alias (`total`) for every top-level define.
* The state's own environment (`envId`) is the global one. Its renamed names are the user's
  definitions: a name defined twice has two (`counter$bid#12`, `counter$bid#15`), and the one
  with the highest number is the current one (what `counter` evaluates to; the plain alias may
  still point at the first). The plain names are the reference's builtins, which omega has of
  its own.

A closure's free identifiers resolve through its frame to addresses: the address of the current
global of the identifier's source name is that global (a `set!` of it changes the global); any
other address is a cell the closure captured (an earlier definition's included). Captured
cells become slots of omega local frames, one frame per group of cells that some closure
captures together, so closures sharing a counter keep sharing it. Each closure is recompiled
from its body, turned back into source with the user's names. Natives become omega's builtin
of the same name. Anything else (continuations, machines, unknown natives, …) raises
`UnconvertibleState`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .api import ReplState, commit
from .compile import Scope
from .printer import write_str
from .reference_expr import (
    RENAMED,
    ToDatum,
    UnconvertibleState,
    defined_names,
    free_names,
    source_name,
)
from .values import (
    NIL,
    UNDEF,
    Closure,
    Dist,
    Meaning,
    OracleProc,
    Pair,
    Sym,
    Value,
    Vector,
    make_list,
)

__all__ = ["Converted", "UnconvertibleState", "read_state"]


@dataclass
class Converted:
    state: ReplState
    control: Any  # the state's control value, as an omega value

    @property
    def printed_control(self) -> str:
        return write_str(self.control)


def read_state(doc: dict[Value, Value], state: ReplState | None = None) -> Converted:
    """Build an omega REPL state (a fresh one unless given) from a reference SerializedState."""
    try:
        return _Reader(doc, state if state is not None else ReplState()).read()
    except (KeyError, TypeError, AttributeError, IndexError, ValueError) as e:
        if isinstance(e, UnconvertibleState):
            raise
        raise UnconvertibleState(f"a malformed state ({type(e).__name__}: {e})") from None


# ---- the reader --------------------------------------------------------------------------------
@dataclass
class _Capture:
    """What one closure's free identifiers refer to."""

    globals: dict[str, str]  # reference name -> global (source) name
    cells: dict[str, int]  # reference name -> captured cell address


class _Reader:
    def __init__(self, doc: dict[Value, Value], state: ReplState) -> None:
        _check_shape(doc)
        self.state = state
        self.ctxs: dict[str, dict[Value, Value]] = doc.get("ctxTable") or {}
        self.store: dict[int, Any] = {a: v for a, v in doc.get("storeEntries") or []}
        self.control = doc["control"]["v"]
        self.root = self.frame(doc["envId"])
        self.current = _current_globals(self.root)
        self.parent: dict[int, int] = {}  # union-find over captured cells
        self.captures: dict[int, _Capture] = {}  # id(closure dict) -> its capture
        self.cell_names: dict[int, list[str]] = {}
        self.global_targets: set[str] = set()
        self.frames: dict[int, tuple[list[Value], list[str]]] = {}  # group -> (frame, slot names)
        self.slot: dict[int, str] = {}  # cell -> slot name

    def frame(self, ctx_id: str | None) -> dict[str, int]:
        """A ctx's bindings, its parents' included (the nearest binding wins)."""
        out: dict[str, int] = {}
        seen: set[str] = set()
        while ctx_id is not None and ctx_id != "null" and ctx_id not in seen:
            seen.add(ctx_id)
            ctx = self.ctxs.get(ctx_id)
            if ctx is None:
                raise UnconvertibleState(f"missing ctx in table: {ctx_id}")
            for name, addr in ctx.get("frameEntries") or []:
                out.setdefault(name, addr)
            ctx_id = ctx.get("parentId")
        return out

    def user_globals(self) -> list[tuple[str, int]]:
        """The user's definitions (the current one of each name), in the order made."""
        latest = {n: a for n, a in self.root.items() if RENAMED.search(n)}
        order = sorted(latest.items(), key=lambda item: _bid(item[0]))
        return [(source_name(n), a) for n, a in order if self.current[source_name(n)] == a]

    def read(self) -> Converted:
        roots = self.user_globals()
        for _name, addr in roots:
            self.discover(self.cell(addr))
        self.discover(self.control)
        self.build_frames()
        G, undo = self.state.globals, self.state.undo
        for name, addr in roots:
            value = self.value(self.cell(addr), name)
            if value is not UNDEF:
                undo.append((G, name, G.get(name, UNDEF)))
                G[name] = value
        commit(self.state)
        return Converted(self.state, self.value(self.control))

    def cell(self, addr: int) -> Any:
        if addr not in self.store:
            raise UnconvertibleState(f"no store entry at address {addr}")
        return self.store[addr]

    # -- phase 1: which cells closures capture, and which of them together --------------------
    def discover(self, v: Any) -> None:
        stack = [v]
        while stack:
            v = stack.pop()
            if not isinstance(v, dict):
                continue
            if v.get("tag") == "Closure":
                cap = self.capture(v)
                for addr in cap.cells.values():
                    if addr not in self.parent:
                        self.parent[addr] = addr
                        stack.append(self.cell(addr))
                self.union(list(cap.cells.values()))
            else:
                stack.extend(_children(v))

    def capture(self, closure: dict[Value, Value]) -> _Capture:
        cap = self.captures.get(id(closure))
        if cap is not None:
            return cap
        frame = self.frame(closure.get("envId"))
        body = closure["body"]
        bound = frozenset(closure.get("params") or []) | _defined(body)
        cap = _Capture({}, {})
        for name in sorted(free_names(body, bound)):
            addr, plain = frame.get(name), source_name(name)
            if addr is None or self.current.get(plain) == addr:
                cap.globals[name] = plain
                self.global_targets.add(plain)
            else:
                cap.cells[name] = addr
                self.cell_names.setdefault(addr, []).append(plain)
        self.captures[id(closure)] = cap
        return cap

    def find(self, a: int) -> int:
        while self.parent[a] != a:
            self.parent[a] = self.parent[self.parent[a]]
            a = self.parent[a]
        return a

    def union(self, cells: list[int]) -> None:
        for other in cells[1:]:
            self.parent[self.find(other)] = self.find(cells[0])

    # -- phase 2: one omega frame per group of cells -----------------------------------------
    def build_frames(self) -> None:
        groups: dict[int, list[int]] = {}
        for addr in sorted(self.parent):
            groups.setdefault(self.find(addr), []).append(addr)
        for root, cells in groups.items():
            names: list[str] = []
            for addr in cells:
                name = self.cell_names[addr][0]
                if name in names or name in self.global_targets:
                    name = f"{name}${addr}"
                names.append(name)
                self.slot[addr] = name
            self.frames[root] = ([None] + [UNDEF] * len(cells), names)
        for root, cells in groups.items():
            frame = self.frames[root][0]
            for i, addr in enumerate(cells, 1):
                frame[i] = self.value(self.cell(addr), self.slot[addr])

    # -- values ----------------------------------------------------------------------------
    def value(self, v: Any, name: str = "lambda") -> Any:  # noqa: C901 - one case per tag
        if not isinstance(v, dict):
            return NIL  # the reference writes non-object values as Unit
        tag = v.get("tag")
        if tag == "Num":
            return _number(v.get("n"))
        if tag == "Int":
            return float(int(v["value"]))
        if tag in ("Str", "Bool", "Sym", "Unit", "Uninit"):
            return _atom(tag, v)
        if tag == "Vector":
            items = [self.value(x) for x in v.get("items") or []]
            return Pair(items[0], items[1]) if len(items) == 2 else Vector(items)
        if tag == "Pair":
            return Pair(self.value(v["car"]), self.value(v["cdr"]))
        if tag == "List":
            return make_list([self.value(x) for x in v.get("elements") or []])
        if tag == "Closure":
            return self.closure(v, name)
        if tag == "Native":
            return self.native(v.get("name"))
        if tag == "OracleProc":
            params = tuple(source_name(p) for p in v.get("params") or [])
            return OracleProc(params, self.value(v.get("spec")), None)
        if tag == "Meaning":
            return Meaning(self.value(v.get("denotation")), v.get("confidence"),
                           self.value(v["trace"]) if "trace" in v else None)
        if tag == "Dist":
            return Dist([(self.value(s.get("v")), s.get("w")) for s in v.get("support") or []])
        raise UnconvertibleState(f"a {tag or 'untagged'} value")

    def native(self, name: Any) -> Any:
        value = self.state.builtins.get(name, UNDEF) if isinstance(name, str) else UNDEF
        if value is UNDEF:
            raise UnconvertibleState(f"native function {name!r}, which omega does not have")
        return value

    def closure(self, v: dict[Value, Value], name: str) -> Closure:
        cap = self.capture(v)
        names: dict[str, str] = dict(cap.globals)
        scope, env = None, None
        if cap.cells:
            env, slots = self.frames[self.find(next(iter(cap.cells.values())))]
            scope = Scope(slots, None)
            names.update({ref: self.slot[addr] for ref, addr in cap.cells.items()})
        taken = set(names.values())

        def namer(ref: str) -> str:
            if ref in names:
                return names[ref]
            plain = source_name(ref)
            return plain if plain not in taken else ref

        to = ToDatum(namer)
        params = tuple(namer(p) for p in v.get("params") or [])
        forms = to.body(v["body"])
        src = Pair(Sym("lambda"), Pair(make_list([Sym(p) for p in params]), make_list(forms)))
        try:
            lam = self.state.compiler.make_lambda(params, False, forms, scope, name, src)
        except Exception as e:  # a LispError or a shape our compiler rejects
            raise UnconvertibleState(f"a closure body omega cannot compile: {e}") from None
        return Closure(lam, env)


def _check_shape(doc: dict[Value, Value]) -> None:
    if not isinstance(doc, dict):
        raise UnconvertibleState("a state that is not an object")
    control = doc.get("control") or {}
    if control.get("tag") != "Val":
        raise UnconvertibleState(f"a state whose control is {control.get('tag')!r}, not a value")
    if doc.get("kont") or doc.get("handlers"):
        raise UnconvertibleState("a state in the middle of an evaluation (continuation frames)")
    if doc.get("envId") in (None, "null"):
        raise UnconvertibleState("a state without an environment")


def _bid(name: str) -> int:
    match = RENAMED.search(name)
    return int(match.group(0).rsplit("#", 1)[1]) if match else -1


def _current_globals(root: dict[str, int]) -> dict[str, int]:
    """source name -> address of its current global: the builtins' plain names, then for each
    user definition the binding with the highest number (the latest define)."""
    current = {n: a for n, a in root.items() if not RENAMED.search(n)}
    best: dict[str, int] = {}
    for name, addr in root.items():
        plain, bid = source_name(name), _bid(name)
        if bid >= 0 and bid > best.get(plain, -1):
            best[plain] = bid
            current[plain] = addr
    return current


def _defined(body: Any) -> frozenset[str]:
    return frozenset(defined_names(body))


def _number(n: Any) -> float:
    if isinstance(n, bool) or not isinstance(n, (int, float)):
        # JSON has no Infinity or NaN: the reference wrote them as null
        raise UnconvertibleState(f"a number written as {n!r}")
    return float(n)


def _atom(tag: str, v: dict[Value, Value]) -> Any:
    if tag == "Str":
        return str(v.get("s", ""))
    if tag == "Bool":
        return bool(v.get("b"))
    if tag == "Sym":
        return Sym(str(v.get("name")))
    if tag == "Uninit":
        return UNDEF
    return NIL


def _children(v: dict[Value, Value]) -> list[Any]:
    tag = v.get("tag")
    if tag == "Vector":
        return list(v.get("items") or [])
    if tag == "Pair":
        return [v.get("car"), v.get("cdr")]
    if tag == "List":
        return list(v.get("elements") or [])
    if tag == "Meaning":
        return [v.get("denotation"), v.get("trace")]
    if tag == "Dist":
        return [s.get("v") for s in v.get("support") or []]
    if tag == "OracleProc":
        return [v.get("spec")]
    return []
