"""Cheap in-memory revisions of one live state: a chain of deltas over it.

Every committed command leaves, in `state.dirty`, the places it changed (a global, a frame slot,
a pair's car/cdr, a hash-table entry, a promise, the gensym counter) with the value each had at
the last capture. `capture(state)` turns that into a Revision holding (place, old, new) for
each changed place: O(what changed), and everything else is shared with the live state.
`restore(state, rev)` walks from the state's current revision to `rev` through their common
ancestor, undoing and redoing changes in place, so any captured state can be resumed.
(A session captures one revision at each checkpoint of its journal: sessions/states/state.py.)"""

from __future__ import annotations

from .compile import UNDEF
from .values import Value


class Revision:
    __slots__ = ("parent", "changes", "version", "depth", "__weakref__")

    def __init__(self, parent: Revision | None, changes: list[Value], version: int) -> None:
        self.parent = parent
        self.changes = changes          # [(target, key, old, new)]
        self.version = version          # committed commands at capture
        self.depth: int = 0 if parent is None else parent.depth + 1

    def __repr__(self) -> str:
        return f"<Revision v{self.version} +{len(self.changes)}>"


def get_place(target: Value, key: Value) -> Value:
    t = type(target)
    if t is dict:
        return target.get(key, UNDEF)
    if t is list:
        return target[key]
    return getattr(target, key)


def set_place(target: Value, key: Value, value: Value) -> None:
    t = type(target)
    if t is dict:
        if value is UNDEF:
            target.pop(key, None)
        else:
            target[key] = value
    elif t is list:
        target[key] = value
    else:
        setattr(target, key, value)


def capture(state: Value) -> Revision:
    """A revision of the state as it is now (between two inputs)."""
    changes = [(t, k, old, get_place(t, k)) for t, k, old in state.dirty.values()]
    state.dirty.clear()
    rev = Revision(state.head, changes, state.version)
    state.head = rev
    return rev


def _undo_uncaptured(state: Value) -> None:
    for t, k, old in reversed(list(state.dirty.values())):
        set_place(t, k, old)
    state.dirty.clear()


def restore(state: Value, rev: Revision) -> Value:
    """Move the live state to revision `rev` (any revision captured from this state)."""
    _undo_uncaptured(state)
    head = state.head
    a: Revision | None = head
    b: Revision | None = rev
    down: list[Revision] = []
    while a is not b:
        if a is not None and (b is None or a.depth >= b.depth):
            for t, k, old, _new in reversed(a.changes):
                set_place(t, k, old)
            a = a.parent
        else:
            assert b is not None  # a is None here, and a is not b
            down.append(b)
            b = b.parent
    for c in reversed(down):
        for t, k, _old, new in c.changes:
            set_place(t, k, new)
    state.head = rev
    state.version = rev.version
    return state


def prune(rev: Revision) -> None:
    """Forget everything before `rev` (frees the values only older revisions needed).

    Afterwards only `rev` and revisions captured after it (its descendants) can be restored."""
    rev.parent = None
    rev.changes = []
