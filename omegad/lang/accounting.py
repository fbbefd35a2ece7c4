"""The evaluator's own allocation accounting.

Allocating primitives add an estimate of the bytes they allocate to ALLOC[0]; the machine reads
the counter around each slice of steps (slices are synchronous, so the delta is exact). Large
allocations go through `charge`, which also enforces the running command's budget at once
(LIMIT[0] is set by the machine at the start of each slice)."""

from .values import LispError

ALLOC = [0]
LIMIT: list = [None]
PAIR = 56


def charge(n: int) -> None:
    ALLOC[0] += n
    limit = LIMIT[0]
    if limit is not None and ALLOC[0] > limit:
        raise LispError("memory budget exceeded")
