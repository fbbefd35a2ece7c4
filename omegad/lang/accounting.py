"""The evaluator's own allocation accounting.

Allocating primitives add an estimate of the bytes they allocate to ALLOC[0]; the machine reads
the counter around each slice of steps (slices are synchronous, so the delta is exact). Large
allocations go through `charge`, which also enforces the running command's budget at once
(LIMIT[0] is set by the machine at the start of each slice)."""

from __future__ import annotations

from collections.abc import Generator

from .steps import finish
from .values import Closure, HashTable, LispError, OracleProc, Pair, Promise, Sym, Value, Vector

ALLOC = [0]
LIMIT: list[Value] = [None]
PAIR = 56


RECOUNT: list[Value] = [None]  # the running machine's recount(), set around each slice


def charge(n: int) -> None:
    ALLOC[0] += n
    limit = LIMIT[0]
    if limit is not None and ALLOC[0] > limit:
        recount = RECOUNT[0]
        if recount is not None and recount():   # maybe most of it was garbage
            ALLOC[0] += n                       # the allocation being made still counts
            if LIMIT[0] is None or ALLOC[0] <= LIMIT[0]:
                return
        raise LispError("memory budget exceeded")


def heap_size(roots: Value, limit: int = 100_000_000) -> int:
    """Estimated bytes reachable from `roots` (frames, env lists and Lisp values), iteratively."""
    return finish(heap_size_steps(roots, limit))


def heap_size_steps(roots: Value, limit: int = 100_000_000,
                    step: int = 50_000) -> Generator[None, None, int]:
    """`heap_size`, yielding after every `step` objects it meets (a caller may let others run,
    if nothing changes the heap meanwhile); returns the size."""
    seen: set[int] = set()
    todo = list(roots)
    total = 0
    pause = step
    while todo and len(seen) < limit:
        if len(seen) >= pause:
            pause += step
            yield
        v = todo.pop()
        t = type(v)
        if v is None or t is bool or t is float or t is Sym:
            continue
        if t is str:
            total += 49 + len(v)
            continue
        if id(v) in seen:
            continue
        seen.add(id(v))
        if t is Pair:
            total += PAIR
            todo.append(v.car)
            todo.append(v.cdr)
        elif t is list or t is tuple:
            total += 56 + 8 * len(v)
            todo.extend(v)
        elif t is Closure:
            total += 48
            todo.append(v.env)
        elif t is Promise:
            total += 64
            todo.append(v.value)
            todo.append(v.thunk)
        elif t is HashTable:
            total += 100 + 100 * len(v.table)
            for k, x in v.table.values():
                todo.append(k)
                todo.append(x)
        elif t is Vector:
            total += 56 + 8 * len(v.items)
            todo.extend(v.items)
        elif t is OracleProc:
            total += 64
            todo.append(v.env)
            todo.append(v.spec)
        elif callable(v):
            continue  # compiled code and primitives: not the command's data
        else:
            total += 64
    return total
