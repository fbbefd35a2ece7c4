"""The daemon process's real memory: its resident size, read cheaply between slices, and giving
freed memory back to the system after a command that failed.

`rss()` reads /proc/self/statm (one small read from a file kept open: a few microseconds); where
there is no /proc it falls back to the peak from getrusage, which only ever grows (a budget then
still bounds growth, never shrinks it). `trim()` collects garbage and, on glibc, returns the
arenas' free pages with malloc_trim.

`return_big_blocks()` (called once as the daemon starts) fixes glibc's mmap threshold at 1 MiB.
Left alone, glibc raises it to the size of each big block freed (up to 32 MiB): after one 15 MiB
input was freed, the next ones would come from the heap and stay resident once freed (measured:
+85 MB after a 15 MiB input). Fixed, every block of 1 MiB or more is its own mapping, returned to
the system the moment it is freed."""

from __future__ import annotations

import ctypes
import gc
import os
import resource
import sys

_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
_statm: list[int] = []


def rss() -> int:
    """Resident bytes of this process now."""
    if not _statm:
        try:
            _statm.append(os.open("/proc/self/statm", os.O_RDONLY | os.O_CLOEXEC))
        except OSError:
            _statm.append(-1)
    fd = _statm[0]
    if fd >= 0:
        try:
            return int(os.pread(fd, 128, 0).split()[1]) * _PAGE
        except (OSError, IndexError, ValueError):
            pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


_baseline: list[int] = []


def baseline() -> int:
    """The process's size when it was first asked (the daemon asks as it starts): what the
    interpreter and the code take, before any session's state."""
    if not _baseline:
        _baseline.extend([rss(), sys.getallocatedblocks()])
    return _baseline[0]


def objects() -> int:
    """Small objects alive now beyond those at the baseline (sys.getallocatedblocks: it
    counts pymalloc's arenas, ~0.2 ms with a million objects)."""
    baseline()
    return sys.getallocatedblocks() - _baseline[1]


def _malloc_trim():
    if not sys.platform.startswith("linux"):
        return None
    try:   # by its soname: find_library would run ldconfig, far too slow at start-up
        return ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None     # not glibc (musl has no malloc_trim)


_TRIM = _malloc_trim()
M_MMAP_THRESHOLD = -3   # mallopt's parameter (malloc.h)
BIG_BLOCK = 1 << 20


def return_big_blocks() -> None:
    """Blocks of BIG_BLOCK bytes or more are mapped on their own (glibc), so freeing one gives
    its memory back at once."""
    if _TRIM is None:
        return
    try:
        ctypes.CDLL("libc.so.6").mallopt(M_MMAP_THRESHOLD, BIG_BLOCK)
    except (OSError, AttributeError):
        pass


SMALL_HEAP = 48 << 20  # sessions hold less (RSS over the baseline): trim() collects fully
FULL_WALK = 250_000  # objects() past which it does not (a full collection walks them all)


def trim(before: int | None = None) -> None:
    """Free what a command left unreachable and give it back.

    CPython's free lists (tuples, floats, lists, dicts) keep the last objects freed, and each
    one keeps its whole 1 MiB arena mapped: after a million-pair list was freed, about fifteen
    arenas stayed for a few hundred such objects (measured with sys._debugmallocstats). Only a
    full collection empties the free lists; it walks every object not frozen, so it is made
    only while the sessions held little before the command (`before`: the RSS then, else now)
    below SMALL_HEAP: a few milliseconds. Above that, the arenas kept are a few percent of
    what the sessions hold, and they are used again. Nor is it made when the command left
    many objects alive (more than FULL_WALK: a million-pair list just defined), whatever the
    sessions held before: walking them is a step of 75-200 ms; counting them, 0.2 ms."""
    held = (rss() if before is None else before) - baseline()
    if held < SMALL_HEAP and objects() < FULL_WALK:
        gc.collect()
    else:
        gc.collect(1)
    if _TRIM is not None:
        _TRIM(0)
