"""Cheap in-memory checkpoints: a chain of deltas over one live state.

Every committed command leaves, in `state.dirty`, the places it changed (a global, a frame slot,
a pair's car/cdr, a hash-table entry, a promise, the gensym counter) with the value each had at
the last capture. `capture(state)` turns that into a Checkpoint holding (place, old, new) for
each changed place: O(what changed), and everything else is shared with the live state.
`restore(state, cp)` walks from the state's current checkpoint to `cp` through their common
ancestor, undoing and redoing changes in place, so any captured state can be resumed."""

from __future__ import annotations

from .compile import UNDEF
from .values import Value


class Checkpoint:
    __slots__ = ("parent", "changes", "version", "depth", "__weakref__")

    def __init__(self, parent: Checkpoint | None, changes: list[Value], version: int) -> None:
        self.parent = parent
        self.changes = changes          # [(target, key, old, new)]
        self.version = version          # committed commands at capture
        self.depth: int = 0 if parent is None else parent.depth + 1

    def __repr__(self) -> str:
        return f"<Checkpoint v{self.version} +{len(self.changes)}>"


def _get(target: Value, key: Value) -> Value:
    t = type(target)
    if t is dict:
        return target.get(key, UNDEF)
    if t is list:
        return target[key]
    return getattr(target, key)


def _set(target: Value, key: Value, value: Value) -> None:
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


def capture(state: Value) -> Checkpoint:
    """A checkpoint of the state as it is now (between two inputs)."""
    changes = [(t, k, old, _get(t, k)) for t, k, old in state.dirty.values()]
    state.dirty.clear()
    cp = Checkpoint(state.head, changes, state.version)
    state.head = cp
    return cp


def _undo_uncaptured(state: Value) -> None:
    for t, k, old in reversed(list(state.dirty.values())):
        _set(t, k, old)
    state.dirty.clear()


def restore(state: Value, cp: Checkpoint) -> Value:
    """Move the live state to checkpoint `cp` (any checkpoint captured from this state)."""
    _undo_uncaptured(state)
    head = state.head
    a: Checkpoint | None = head
    b: Checkpoint | None = cp
    down: list[Checkpoint] = []
    while a is not b:
        if a is not None and (b is None or a.depth >= b.depth):
            for t, k, old, _new in reversed(a.changes):
                _set(t, k, old)
            a = a.parent
        else:
            assert b is not None  # a is None here, and a is not b
            down.append(b)
            b = b.parent
    for c in reversed(down):
        for t, k, _old, new in c.changes:
            _set(t, k, new)
    state.head = cp
    state.version = cp.version
    return state


def prune(cp: Checkpoint) -> None:
    """Forget everything before `cp` (frees the values only older checkpoints needed).

    Afterwards only `cp` and checkpoints captured after it (its descendants) can be restored."""
    cp.parent = None
    cp.changes = []
