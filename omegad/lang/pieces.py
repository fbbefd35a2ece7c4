"""Primitives whose work grows with their arguments do it in bounded pieces.

A piece handles at most PIECE elements. A primitive with more to do returns the control
`(piece_go, (step, state))`: the machine runs the next piece as a step of its own, so a slice
can end between two pieces (and a step budget, an interrupt or the deadline lands there). A step
takes its state and returns either `More(next state)` or the primitive's result (a value, or a
control tuple). States are never changed once made, so a debugger's keyframe taken between two
pieces can be resumed again.

List walks here also stop on circular lists (Brent's cycle finding: a mark that jumps to the
walker at every power of two is met again once the walker runs round a cycle)."""

from __future__ import annotations

import sys
from collections.abc import Callable

from .accounting import PAIR, charge
from .values import LispError, Pair, Value

PIECE = 1024            # elements a piece handles: ~1 ms where making a pair takes 1 µs


class More:
    __slots__ = ("state",)

    def __init__(self, state: Value) -> None:
        self.state = state


Step = Callable[[Value], Value]


class SliceEnd(Exception):
    """Raised by a piece when the machine's deadline has passed: the slice ends before `ctl`."""

    def __init__(self, ctl: tuple[Value, Value]) -> None:
        super().__init__("slice end")
        self.ctl = ctl


def piece_go(m: Value, data: Value) -> Value:
    step, state = data
    r = step(state)
    if type(r) is not More:
        return r
    nxt = (piece_go, (step, r.state))
    should_yield = m.should_yield
    if should_yield is not None and should_yield():
        raise SliceEnd(nxt)
    return nxt


def pieces(step: Step, state: Value) -> Value:
    """Run the first piece now; a result, or the control that runs the rest as steps."""
    r = step(state)
    if type(r) is More:
        return (piece_go, (step, r.state))
    return r


BIG_WORK = 1 << 20     # characters: a string operation this big waits for its own step


def big(size: int, work: Callable[[], Value]) -> Value:
    """`work()` (one indivisible operation of `size` units, a copy of a long string) as a step
    of its own, after the machine had the chance to end its slice: many such operations in a
    row then never add up inside one slice."""
    if size < BIG_WORK:
        return work()
    return (piece_go, (_big_step, (work, False)))


def _big_step(st: Value) -> Value:
    work, ready = st
    if not ready:
        return More((work, True))
    return work()


def circular(who: str) -> LispError:
    return LispError(f"{who}: circular list")


# ---- walking a spine ----------------------------------------------------------------------------
def spine(x: Value, then: Callable[[int, Value, Value], Value],
          cyclic: Callable[[], Value]) -> Value:
    """`then(n, last, end)` once the cdrs of `x` are walked: its n pairs, the last of them (None
    if none) and the atom it ends in; `cyclic()` instead when it runs round a cycle."""
    return pieces(_spine_step, (x, None, 0, NO_MARK, 1, then, cyclic))


def _spine_step(st: Value) -> Value:
    x, last, n, mark, lim, then, cyclic = st
    end = n + PIECE
    while type(x) is Pair:
        if n == end:
            return More((x, last, n, mark, lim, then, cyclic))
        last = x
        x = x.cdr
        n += 1
        if x is mark:
            return cyclic()
        if n == lim:
            mark = x
            lim <<= 1
    return then(n, last, x)


# ---- walking a list into chunks ----------------------------------------------------------------
# A walk's state: (x, n, mark, lim, chunks, then, who) where `chunks` is a persistent
# (chunk, older) chain of the items collected so far. `then(items, tail)` gets the items as one
# Python list and the list's end (NIL for a proper list) and returns the result.

def walk(x: Value, who: str, then: Callable[[list[Value], Value], Value]) -> Value:
    """Collect the items of list `x` in pieces, then call `then(items, tail)`; a circular list
    is an error `who: circular list`."""
    return pieces(_walk_step, (x, 0, NO_MARK, 1, None, then, who))


NO_MARK = object()      # a walk's mark before its first jump: no list cell is it


def _walk_step(st: Value) -> Value:
    x, n, mark, lim, chunks, then, who = st
    out: list[Value] = []
    append = out.append
    end = n + PIECE
    while type(x) is Pair:
        if n == end:
            return More((x, n, mark, lim, (out, chunks), then, who))
        append(x.car)
        x = x.cdr
        n += 1
        if x is mark:
            raise circular(who)
        if n == lim:
            mark = x
            lim <<= 1
    if chunks is None:
        return then(out, x)
    parts = [out]
    while chunks is not None:
        parts.append(chunks[0])
        chunks = chunks[1]
    items = []
    for p in reversed(parts):
        items.extend(p)
    return then(items, x)


# ---- freeing a big list --------------------------------------------------------------------------
# Dropping the last reference to a list of a million pairs frees them all in one go (tens of
# milliseconds, more under load). Big lists the builders make are also held here; `bury` frees
# the ones nothing else holds any more a bounded number of pairs at a time: it cuts the first
# pairs off (only pairs that nothing but their predecessor holds), which frees them.
GRAVE: list[Value] = []
BIG_LIST = 1 << 16        # pairs: a list this long is held in GRAVE
_ALONE = sys.getrefcount(object()) + 1   # an object held by one reference only (and the call's)


def hold(x: Value, n: int) -> Value:
    """Hold `x`, a list of `n` pairs just made, if it is big; returns it."""
    if n >= BIG_LIST:
        GRAVE.append(x)
    return x


def bury(budget: int = 4 * PIECE, final: bool = False) -> bool:
    """Free up to `budget` pairs of the held lists nothing else holds; True if work remains.
    Lists still in use stay held, unless `final` (the command is over: what is still in use
    then belongs to the session, or to nobody a step later)."""
    i = 0
    while i < len(GRAVE) and budget > 0:
        head = GRAVE[i]
        # held by GRAVE, by `head` and by getrefcount's argument: anything more is a user
        if type(head) is not Pair or sys.getrefcount(head) > _ALONE + 1:
            del head
            if final:
                GRAVE[i] = GRAVE[-1]
                GRAVE.pop()
            else:
                i += 1
            continue
        p = head
        k = 1
        while k < budget and type(p.cdr) is Pair and sys.getrefcount(p.cdr) <= _ALONE:
            p = p.cdr
            k += 1
        rest = p.cdr
        p.cdr = None
        budget -= k
        if type(rest) is Pair and sys.getrefcount(rest) <= _ALONE + 1:
            GRAVE[i] = rest     # the head's pairs are freed here
        else:
            GRAVE[i] = GRAVE[-1]
            GRAVE.pop()
        del head, p, rest
    return budget <= 0 if not final else bool(GRAVE)


# ---- building a list ---------------------------------------------------------------------------
def build(items: list[Value], tail: Value = None, charged: bool = False) -> Value:
    """The list of `items` ending in `tail`, made from its end in pieces."""
    if not charged:
        charge(PAIR * len(items))
    return pieces(_build_step, (items, len(items), tail))


def _build_step(st: Value) -> Value:
    items, i, out = st
    stop = max(0, i - PIECE)
    while i > stop:
        i -= 1
        out = Pair(items[i], out)
    if i:
        return More((items, i, out))
    return hold(out, len(items))


def counted(n: int, item: Callable[[int], Value], tail: Value = None) -> Value:
    """The list of item(0) … item(n-1), charged before any is made, built in pieces."""
    charge(PAIR * n)
    return pieces(_count_step, (item, n, tail, n))


def _count_step(st: Value) -> Value:
    item, i, out, n = st
    stop = max(0, i - PIECE)
    while i > stop:
        i -= 1
        out = Pair(item(i), out)
    if i:
        return More((item, i, out, n))
    return hold(out, n)
