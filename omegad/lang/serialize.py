"""Versioned, compact serialization of a session state (msgspec MessagePack), full or delta.

The heap is written as an object table: every non-immediate value (symbol, pair, frame, closure,
lambda, promise, hash table, ...) gets an object id; a reference to it is that integer. Numbers
are always floats in Omega Lisp, so integers in the encoding are unambiguous references.
Closures are written as their lambda's source plus the names of its enclosing frames and are
recompiled on load; primitives and prelude procedures are written by name.

A state remembers the object ids it has written or read (`state.ser`), so a delta holds only
the places changed since an earlier revision and the objects that are new since then:
O(what changed), whatever the session's size. Continuations captured with call/cc or by a
handler are not restorable: after loading they raise an error when called.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Generator
from typing import Any

import msgspec

from .compile import UNDEF, scope_from_chain
from .revision import Revision
from .steps import finish
from .values import (
    Closure,
    Continuation,
    CPrim,
    Dist,
    HashTable,
    Lambda,
    Meaning,
    Opaque,
    OracleProc,
    Pair,
    Prim,
    Promise,
    Sym,
    Value,
    Vector,
)

FORMAT_VERSION = 1
CHUNKED_FORMAT = 2  # a record whose objects are in "chunks" (written only by records that need it)
STEP = 20_000  # objects read between two yields of deserialize_steps (a few milliseconds)
CHUNK = 20_000  # objects of a big record encoded, and decoded, in one msgspec call (~10 ms)
_UNDEF_REF = -1
_IMMEDIATE = frozenset({float, str, bool, type(None)})  # written as themselves
_ENC = msgspec.msgpack.Encoder()
_DEC = msgspec.msgpack.Decoder()


class no_collection:  # noqa: N801 (used as a function: `with no_collection():`)
    """Automatic garbage collection off while a heap is written or read: a big state makes (or
    keeps alive) hundreds of thousands of objects, each batch of which would otherwise start a
    collection that walks all of them again (measured: 10 MB of pairs took 0.9 s to write and
    1.3 s to read with collections on, 0.4 and 0.3 s with them off). Nothing collectable is made
    on the way: what is read is kept, what is written is encoded."""

    __slots__ = ("was_enabled",)

    def __enter__(self) -> None:
        self.was_enabled = gc.isenabled()
        gc.disable()

    def __exit__(self, *exc: object) -> None:
        if self.was_enabled:
            gc.enable()


class SerialTable:
    """Object ids of one state's heap as last written or read (kept for deltas)."""

    def __init__(self) -> None:
        self.oid_of: dict[int, int] = {}      # id(obj) -> oid
        self.objs: dict[int, Value] = {}     # oid -> obj (keeps ids unique while we use them)
        self.owner: dict[int, HashTable] = {}  # id(table dict) -> its HashTable
        self.next = 1

    def add(self, obj: Value, oid: int | None = None) -> int:
        if oid is None:
            oid = self.next
        if oid >= self.next:
            self.next = oid + 1
        self.oid_of[id(obj)] = oid
        self.objs[oid] = obj
        if type(obj) is HashTable:
            self.owner[id(obj.table)] = obj
        return oid


def _builtin_names(state: Value) -> dict[Value, Value]:
    """id → name of the state's builtin procedures (built once per state: builtins never change)."""
    names = getattr(state, "_builtin_names", None)
    if names is None:
        names = {id(v): n for n, v in state.builtins.items()
                 if not isinstance(v, (float, str, bool)) and v is not None}
        state._builtin_names = names
    return names


class MissingObject(KeyError):
    """A record refers to an object id the records read before it never gave."""


class MergeUnavailable(ValueError):
    """A merge met an object no earlier delta wrote: it cannot be written (deltas still can)."""


class Rebase:
    """A run of records that starts from one of the state's earlier records (a goto back): its
    reader knows the object ids below `known_below` only, for the ids from there up to
    `fresh_from` were given on the branch the session left. Each of those is written whole the
    first time a record of the run refers to it; `written` keeps which. (Only shared objects,
    symbols and builtins, can be met again: the state's own objects of that branch are out of
    its reach. A merge holds the shared ones its window gave ids to, reached or not.)"""

    def __init__(self, known_below: int, fresh_from: int) -> None:
        self.known_below = known_below
        self.fresh_from = fresh_from
        self.written: set[int] = set()

    def unknown(self, oid: int) -> bool:
        return self.known_below <= oid < self.fresh_from and oid not in self.written

    def write(self, oid: int) -> None:
        self.written.add(oid)


class _Writer:
    def __init__(self, state: Value, table: SerialTable, born: int | None = None,
                 rebase: Rebase | None = None) -> None:
        self.state = state
        self.table = table
        self.builtin_name = _builtin_names(state)
        self.queue: list[Value] = []
        self.entries: list[Value] = []
        self.born = born  # a merge: objects with ids from here on are written whole, once
        self.rebase = rebase  # a delta of a run that went back (see Rebase)
        self.sent: set[int] = set()

    def whole(self, oid: int) -> bool:
        """Whether the object must be written whole (its reader may not know it)."""
        if self.born is not None:
            return oid >= self.born
        return self.rebase is not None and self.rebase.unknown(oid)

    def ref(self, v: Value) -> Value:
        t = type(v)
        if v is None or t is float or t is str or t is bool:
            return v
        if v is UNDEF:
            return _UNDEF_REF
        oid = self.table.oid_of.get(id(v))
        if oid is None:
            if self.born is not None:
                raise MergeUnavailable("an object no delta wrote")
            oid = self.table.add(v)
            self.queue.append((oid, v))
        elif oid not in self.sent and self.whole(oid):
            self.sent.add(oid)
            if self.rebase is not None:
                self.rebase.write(oid)
            self.queue.append((oid, v))
        return oid

    def requeue(self, obj: Value) -> None:
        oid = self.table.oid_of.get(id(obj))
        if oid is not None:
            if self.rebase is not None and self.rebase.unknown(oid):
                self.rebase.write(oid)
            self.queue.append((oid, obj))

    def drain(self) -> None:
        q, out, entry, ref, builtin = self.queue, self.entries, self.entry, self.ref, \
            self.builtin_name
        while q:
            oid, v = q.pop()
            if type(v) is Pair and id(v) not in builtin:  # most of a heap: entry() inline
                a, d = v.car, v.cdr
                out.append([oid, ["p", a if type(a) in _IMMEDIATE else ref(a),
                                  d if type(d) in _IMMEDIATE else ref(d)]])
            else:
                out.append([oid, entry(v)])

    def entry(self, v: Value) -> list[Value]:
        r = self.ref
        t = type(v)
        name = self.builtin_name.get(id(v))
        if name is not None and self.state.builtins.get(name) is v:
            return ["b", name]
        if t is Pair:
            return ["p", r(v.car), r(v.cdr)]
        if t is Sym:
            return ["y", v.name]
        if t is list:
            return ["f", [r(x) for x in v]]
        if t is Closure:
            return ["c", r(v.lam), r(v.env)]
        if t is Lambda:
            return ["l", r(v.src), [list(names) for names in v.scope_names], v.name]
        if t is Promise:
            return ["pr", v.done, r(v.value), r(v.thunk)]
        if t is HashTable:
            return ["h", [[r(k), r(x)] for k, x in v.table.values()]]
        if t is Vector:
            return ["v", [r(x) for x in v.items]]
        if t is Meaning:
            return ["m", r(v.denotation), v.confidence, r(v.trace)]
        if t is Dist:
            return ["d", [[r(x), w] for x, w in v.items]]
        if t is OracleProc:
            return ["o", list(v.params), r(v.spec), r(v.env)]
        if t is Opaque:
            return ["q", v.kind, r(v.data)]
        if t is Prim or t is CPrim:
            return ["b", v.name]
        if t is Continuation:
            return ["k"]
        return ["q", t.__name__, None]


def _doc(
    kind: str,
    state: Value,
    w: _Writer,
    globals_: list[Value],
    sets: list[Value],
    base: Value,
) -> bytes:
    w.drain()
    doc = {"format": FORMAT_VERSION, "kind": kind, "version": state.version, "base": base,
           "gensym": state.gensym_counter, "objects": w.entries, "globals": globals_,
           "macros": [[n, w.ref(v)] for n, v in state.macros.items()], "sets": sets}
    w.drain()
    doc["objects"] = w.entries
    if len(w.entries) > CHUNK:
        doc["format"], doc["objects"], doc["chunks"] = CHUNKED_FORMAT, [], _chunks(w.entries)
    return _ENC.encode(doc)


def _chunks(entries: list[Value]) -> list[bytes]:
    """A big record's objects as msgpack arrays of CHUNK, each encoded on its own: one msgspec
    call over a million objects holds the GIL 150 ms to write and 460 ms to read (measured
    under load), and the event loop waits that long (a big record is written in a worker
    thread, and read in steps, but a C call is never interrupted). A reader copies the chunks
    as bytes and decodes one per step."""
    return [_ENC.encode(entries[i:i + CHUNK]) for i in range(0, len(entries), CHUNK)]


def serialize(state: Value) -> bytes:
    """The whole state (user globals, gensym counter, macros), and reset its object table."""
    table = SerialTable()
    w = _Writer(state, table)
    b = state.builtins
    with no_collection():
        globals_ = [[n, w.ref(v)] for n, v in state.globals.items() if b.get(n, UNDEF) is not v]
        data = _doc("full", state, w, globals_, [], None)
    state.ser = table
    return data


def serialize_delta(state: Value, since: Revision | None, rebase: Rebase | None = None) -> bytes:
    """What changed from revision `since` to the state's current revision (`state.head`).

    `since` must be the revision of this state's previous serialization (full or delta), and
    every delta must be persisted and applied in the order produced: the object ids a delta
    assigns are assumed known to the reader from then on. In a run that went back to an
    earlier record (`rebase`), objects given ids after that record are written whole once."""
    with no_collection():
        return _delta(state, since, _Writer(state, state.ser, rebase=rebase))


def serialize_merge(state: Value, since: Revision | None, born: int) -> bytes:
    """What changed from revision `since` to the current one, as one delta that replaces the
    deltas written in between: the objects those deltas introduced (object ids `born` and up,
    `born` being the table's `next` when `since` was written) are written whole again.
    Raises MergeUnavailable when it meets an object none of those deltas wrote."""
    with no_collection():
        return _delta(state, since, _Writer(state, state.ser, born))


def _delta(state: Value, since: Revision | None, w: _Writer) -> bytes:
    if state.ser is None:
        raise ValueError("serialize_delta needs an earlier serialize() of this state")
    table, born = state.ser, w.born
    places: dict[Value, Value] = {}
    # every place changed on the way from `since` to the current revision (through their
    # common ancestor, so a delta is also right after an in-memory restore to another branch)
    a, b = state.head, since
    while a is not b:
        if a is not None and (b is None or a.depth >= b.depth):
            step, a = a, a.parent
        else:
            assert b is not None  # a is None here, and a is not b
            step, b = b, b.parent
        for t, k, _old, _new in step.changes:
            places.setdefault((id(t), k), (t, k))
    for t, k, _old in state.dirty.values():
        places.setdefault((id(t), k), (t, k))
    G = state.globals
    globals_, sets = [], []
    owners = table.owner
    for t, k in places.values():
        if t is G:
            globals_.append([k, w.ref(G.get(k, UNDEF))])
        elif t is state or t is state.macros:
            continue  # written whole below
        elif type(t) is dict:
            owner = owners.get(id(t))
            if owner is not None:
                w.requeue(owner)
        else:
            oid = table.oid_of.get(id(t))
            if oid is None:
                continue  # a new object: written whole if reachable
            if w.whole(oid):
                w.ref(t)  # new since `since` (or unknown to the reader): written whole, changed
                continue
            if type(t) is list:
                sets.append([oid, k, w.ref(t[k])])
            else:
                sets.append([oid, k, w.ref(getattr(t, k))])
    if born is not None:
        _introduced(w, born)
    return _doc("delta", state, w, globals_, sets, since.version if since else None)


def _introduced(w: _Writer, born: int) -> None:
    """A merge also holds the symbols and builtins its deltas introduced that it did not reach:
    they are shared, not the state's own, so a later input may use one again and its delta
    refer to it by id, and a reader that takes the merge instead of those deltas must know it.
    (The state's own objects, once unreachable, stay so.)"""
    table, shared = w.table, w.builtin_name
    for oid in range(born, table.next):
        if oid not in w.sent:
            obj = table.objs.get(oid)
            if type(obj) is Sym or type(obj) in (Prim, CPrim) or id(obj) in shared:
                w.sent.add(oid)
                w.queue.append((oid, obj))


# ---- reading ---------------------------------------------------------------------------------
def deserialize(data: bytes, base: Value = None, *,
                fresh: Callable[[], Value] | None = None) -> Value:
    """A new state from a full serialization (made by `fresh`: api.ReplState); or `base`
    updated by a delta."""
    return run_steps(deserialize_steps(data, base, fresh=fresh))


def run_steps(steps: Generator[None, None, Any]) -> Any:
    """Run a reading in steps to its end at once; returns what it returns."""
    with no_collection():
        return finish(steps)


def deserialize_steps(data: bytes, base: Value = None, *,
                      fresh: Callable[[], Value] | None = None) -> Generator[None, None, Any]:
    """`deserialize` in steps of about `STEP` objects: it yields between them and returns the
    state, so that a caller can let others run while a big state is read. Nothing else may use
    `base` until it returns; `no_collection()` around each step keeps it fast."""
    doc = _DEC.decode(data)
    yield
    if doc.get("format") not in (FORMAT_VERSION, CHUNKED_FORMAT):
        raise ValueError(f"unsupported state format {doc.get('format')!r}")
    for chunk in doc.get("chunks", ()):
        doc["objects"].extend(_DEC.decode(chunk))
        yield
    if doc["kind"] == "full":
        if fresh is None:
            raise ValueError("a full state is read into a fresh one: pass `fresh` (api.ReplState)")
        state = fresh()
        table = SerialTable()
    else:
        if base is None or base.ser is None:
            raise ValueError("a delta needs the state it applies to")
        state = base
        table = base.ser
    try:
        yield from _Reader(state, table).load(doc)
    except KeyError as e:  # an object id no record read before gave
        raise MissingObject(*e.args) from None
    state.ser = table
    state.version = doc["version"]
    state.gensym_counter = doc["gensym"]
    state.undo.clear()
    state.dirty.clear()
    return state


class _Reader:
    def __init__(self, state: Value, table: SerialTable) -> None:
        self.state = state
        self.table = table

    def ref(self, x: Value) -> Value:
        if type(x) is int:
            if x == _UNDEF_REF:
                return UNDEF
            return self.table.objs[x]
        return x

    def load(self, doc: Value) -> Generator[None, None, None]:
        """Read the document into the state, yielding every `STEP` objects."""
        entries = doc["objects"]
        for i in range(0, len(entries), STEP):
            self._shells(entries[i:i + STEP])
            yield
        lambdas: list[Value] = []
        closures: list[Value] = []
        for i in range(0, len(entries), STEP):
            self._fields(entries[i:i + STEP], lambdas, closures)
            yield
        for i in range(0, len(lambdas), STEP // 10):  # (each one is compiled)
            self._lambdas(lambdas[i:i + STEP // 10])
            yield
        self._roots(doc, closures)

    def _shells(self, entries: list[Value]) -> None:
        """Empty objects first, so that cycles and sharing resolve."""
        objs = self.table.objs
        add, shell, oid_of = self.table.add, self.shell, self.table.oid_of
        top = 0
        for oid, e in entries:
            if e[0] == "p":  # most of a heap: add() inline
                p = objs[oid] = Pair(None, None)
                oid_of[id(p)] = oid
                top = oid if oid > top else top
            elif oid in objs and e[0] == "h":
                continue  # re-emitted hash table: update in place
            else:
                add(shell(e), oid)
        if top >= self.table.next:
            self.table.next = top + 1

    def _fields(self, entries: list[Value], lambdas: list[Value], closures: list[Value]) -> None:
        objs, r = self.table.objs, self.ref
        for oid, e in entries:
            obj = objs[oid]
            tag = e[0]
            if tag == "p":
                a, d = e[1], e[2]
                obj.car = objs[a] if type(a) is int and a != _UNDEF_REF else r(a)
                obj.cdr = objs[d] if type(d) is int and d != _UNDEF_REF else r(d)
            elif tag == "f":
                obj[:] = [r(x) for x in e[1]]
            elif tag == "l":
                lambdas.append((obj, e))
            elif tag == "c":
                closures.append((obj, e))
            elif tag == "pr":
                obj.done, obj.value, obj.thunk = e[1], r(e[2]), r(e[3])
            elif tag == "h":
                from .primitives.misc import hkey
                obj.table.clear()
                for k, v in e[1]:
                    k = r(k)
                    obj.table[hkey(k)] = (k, r(v))
            elif tag == "v":
                obj.items[:] = [r(x) for x in e[1]]
            elif tag == "m":
                obj.denotation, obj.confidence, obj.trace = r(e[1]), e[2], r(e[3])
            elif tag == "d":
                obj.items[:] = [(r(x), w) for x, w in e[1]]
            elif tag == "o":
                obj.params, obj.spec, obj.env = tuple(e[1]), r(e[2]), r(e[3])
            elif tag == "q":
                obj.data = r(e[2])

    def _lambdas(self, lambdas: list[Value]) -> None:
        """Lambdas are compiled again from their source."""
        comp, r = self.state.compiler, self.ref
        for shell, e in lambdas:
            src = r(e[1])
            scope = scope_from_chain(tuple(tuple(n) for n in e[2]))
            items = []
            x = src
            while type(x) is Pair:
                items.append(x.car)
                x = x.cdr
            params, rest = comp.parse_params(items[1], "lambda")
            lam = comp.make_lambda(params, rest, items[2:], scope, e[3], src)
            for slot in Lambda.__slots__:
                setattr(shell, slot, getattr(lam, slot))

    def _roots(self, doc: Value, closures: list[Value]) -> None:
        """Closures tied to their lambdas, then the globals, changed places and macros."""
        objs, r = self.table.objs, self.ref
        for obj, e in closures:
            obj.lam, obj.env = r(e[1]), r(e[2])
        G = self.state.globals
        for name, v in doc["globals"]:
            v = r(v)
            if v is UNDEF:
                G.pop(name, None)
            else:
                G[name] = v
        for oid, key, v in doc["sets"]:
            target = objs[oid]
            if type(target) is list:
                target[key] = r(v)
            else:
                setattr(target, key, r(v))
        self.state.macros.clear()
        self.state.macros.update({n: r(v) for n, v in doc["macros"]})

    def shell(self, e: Value) -> Value:
        tag = e[0]
        if tag == "y":
            return Sym(e[1])
        if tag == "b":
            v = self.state.builtins.get(e[1], UNDEF)
            if v is UNDEF:
                raise ValueError(f"unknown builtin {e[1]!r}")
            return v
        if tag == "p":
            return Pair(None, None)
        if tag == "f":
            return []
        if tag == "c":
            return Closure(None, None)  # type: ignore[arg-type]  # a shell: _fields fills it in
        if tag == "l":
            return Lambda((), False, None, None, (), 0, "", None)
        if tag == "pr":
            return Promise(None)
        if tag == "h":
            return HashTable()
        if tag == "v":
            return Vector([])
        if tag == "m":
            return Meaning()
        if tag == "d":
            return Dist([])
        if tag == "o":
            return OracleProc((), None, None)
        if tag == "q":
            return Opaque(e[1])
        if tag == "k":
            return Continuation((), "dead")
        raise ValueError(f"unknown object tag {tag!r}")
