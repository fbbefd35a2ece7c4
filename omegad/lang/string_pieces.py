"""Long strings made in pieces: the copy into a new string of many megabytes runs as steps of
PIECE_BYTES each, so a slice can end between them.

Why: one `str.join` of two 16 Mi-character strings holds the loop 28–40 ms on a 2-core VM, most of
it the kernel faulting in the new string's 8 192 fresh pages, which no Python-level split avoids
(the result is one allocation, touched by one copy). So the result is allocated empty with
CPython's `PyUnicode_New` (public C API, as C extensions build strings) and filled by `memmove`,
one bounded piece per step; nothing else sees it until the last piece is written.

A piece writes the same bytes at the same place whenever it runs, so a debugger's keyframe taken
between two pieces can be resumed again. Where the interpreter's string layout is not the one
checked at import (not CPython, or a layout this module does not know), `LAYOUT_KNOWN` is false
and callers make the string in one step as before."""

from __future__ import annotations

import ctypes
import sys
from collections.abc import Generator, Sequence

from .pieces import More, piece_go, pieces
from .values import Value

PIECE_BYTES = 1 << 20      # a piece's copy: ~1 ms with its page faults on a 2-core VM
_RUN_PARTS = 1 << 16       # small parts one piece joins at most (a run of empty strings ends)

_CODEC = {1: "latin-1", 2: "utf-16-le", 4: "utf-32-le"}
_MAXCHAR = {1: 0xFF, 2: 0xFFFF, 4: 0x10FFFF}
_ASCII_DATA = sys.getsizeof("") - 1          # header of a compact ASCII string
_COMPACT_DATA = sys.getsizeof("\xe9") - 2    # header of any other compact string
_STATE = 4 * ctypes.sizeof(ctypes.c_ssize_t)  # refcount, type, length, hash, then the state bits


def _state(s: str) -> int:
    return ctypes.c_uint32.from_address(id(s) + _STATE).value


def _kind(s: str) -> int:
    """Bytes per character of `s` (1, 2 or 4)."""
    return (_state(s) >> 2) & 7


def _data(s: str) -> int:
    """The address of the characters of `s` (a compact string: they follow its header)."""
    return id(s) + (_ASCII_DATA if s.isascii() else _COMPACT_DATA)


def _layout_known() -> bool:
    if sys.implementation.name != "cpython":
        return False
    for s in ("omega", "\xe9omega", "\u0100omega", "\U00010000omega"):
        s = s + str(len(s))                # made now: compact, never interned
        kind = _expected_kind(s)
        compact = (_state(s) >> 5) & 1
        if _kind(s) != kind or not compact:
            return False
        if ctypes.string_at(_data(s), len(s) * kind) != s.encode(_CODEC[kind]):
            return False
    return True


def _expected_kind(s: str) -> int:
    top = max(map(ord, s))
    return 1 if top < 0x100 else 2 if top < 0x10000 else 4


try:
    _new = ctypes.pythonapi.PyUnicode_New
    _new.restype = ctypes.py_object
    _new.argtypes = [ctypes.c_ssize_t, ctypes.c_uint32]
    LAYOUT_KNOWN = _layout_known()
except (AttributeError, OSError, ValueError):
    LAYOUT_KNOWN = False


def joined(sep: str, parts: Sequence[str], size: int) -> Value:
    """`sep.join(parts)` (`size` characters long), as the control that makes it in pieces: first
    the parts' widest kind, found in runs of _RUN_PARTS parts; then the copy."""
    return pieces(_scan_step, (sep, parts, size, 0, _kind(sep) if sep else 1, sep.isascii()))


def join_steps(parts: Sequence[str]) -> Generator[None, None, str]:
    """`"".join(parts)` made in steps (steps.py), for callers outside the machine."""
    size = sum(map(len, parts))
    if not LAYOUT_KNOWN or size < PIECE_BYTES:
        return "".join(parts)
    ctl = joined("", parts, size)
    while type(ctl) is tuple:
        _, (step, state) = ctl
        r = step(state)
        ctl = (piece_go, (step, r.state)) if type(r) is More else r
        yield
    made: str = ctl
    return made


def _scan_step(st: Value) -> Value:
    sep, parts, size, i, kind, ascii_only = st
    run = parts[i:i + _RUN_PARTS]
    for p in run:
        if not p.isascii():
            ascii_only = False
            kind = max(kind, _kind(p))
    i += len(run)
    if i < len(parts):
        return More((sep, parts, size, i, kind, ascii_only))
    out = _new(size, 0x7F if ascii_only else _MAXCHAR[kind])
    return (piece_go, (_copy_step, (out, kind, sep, parts, 0, 0, 0)))


def _copy_step(st: Value) -> Value:
    out, kind, sep, parts, i, off, pos = st
    if i >= len(parts) or pos == len(out):          # (a slice ends inside its one part)
        return out
    part = parts[i]
    if off == 0 and i > 0 and sep:
        pos = _write(out, kind, pos, sep, 0, len(sep))
    if len(part) * kind > PIECE_BYTES or off:       # a long part: one slice of it
        n = min(len(part) - off, len(out) - pos, PIECE_BYTES // kind)
        pos = _write(out, kind, pos, part, off, n)
        off += n
        if off < len(part):
            return More((out, kind, sep, parts, i, off, pos))
        return More((out, kind, sep, parts, i + 1, 0, pos))
    j, total = i + 1, len(part)                     # a run of short parts, joined here
    while j < len(parts) and j - i < _RUN_PARTS:
        total += len(sep) + len(parts[j])
        if total * kind > PIECE_BYTES:
            break
        j += 1
    run = sep.join(parts[i:j])
    pos = _write(out, kind, pos, run, 0, len(run))
    return More((out, kind, sep, parts, j, 0, pos))


def _write(out: str, kind: int, pos: int, src: str, start: int, n: int) -> int:
    """Copy `n` characters of `src` from `start` into `out` at `pos`; the position after them."""
    if not n:
        return pos
    dest = _data(out) + pos * kind
    if _kind(src) == kind:
        ctypes.memmove(dest, _data(src) + start * kind, n * kind)
    else:                                           # a narrower string: widened by encoding it
        ctypes.memmove(dest, src[start:start + n].encode(_CODEC[kind]), n * kind)
    return pos + n


def sliced(s: str, start: int, end: int) -> Value:
    """`s[start:end]`, as the control that makes it in pieces: the slice's widest kind (a slice
    of a wide string may be narrower), then the copy."""
    scan_from = end if s.isascii() else start          # (an ASCII string's slices are ASCII)
    return pieces(_slice_scan_step, (s, start, end, scan_from, 1, True))


def _slice_scan_step(st: Value) -> Value:
    s, start, end, at, kind, ascii_only = st
    if at < end and kind < 4:
        run = s[at:min(end, at + PIECE_BYTES // 4)]
        if not run.isascii():
            ascii_only = False
        return More((s, start, end, at + len(run), max(kind, _kind(run)), ascii_only))
    out = _new(end - start, 0x7F if ascii_only else _MAXCHAR[kind])
    return (piece_go, (_copy_step, (out, kind, "", (s,), 0, start, 0)))
