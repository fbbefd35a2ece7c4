"""The daemon process's real memory: its resident size, read cheaply between slices, and giving
freed memory back to the system after a command that failed.

`rss()` reads /proc/self/statm (one small read from a file kept open: a few microseconds); where
there is no /proc it falls back to the peak from getrusage, which only ever grows (a budget then
still bounds growth, never shrinks it). `trim()` collects garbage and, on glibc, returns the
arenas' free pages with malloc_trim."""

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
        _baseline.append(rss())
    return _baseline[0]


def _malloc_trim():
    if not sys.platform.startswith("linux"):
        return None
    try:   # by its soname: find_library would run ldconfig, far too slow at start-up
        return ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None     # not glibc (musl has no malloc_trim)


_TRIM = _malloc_trim()


def trim() -> None:
    """Free what a failed or interrupted command left unreachable and give it back."""
    gc.collect(1)   # a full collection would walk every object the daemon holds
    if _TRIM is not None:
        _TRIM(0)
