"""Which files of a directory changed since we last asked: Linux inotify, read without blocking.

`:session list` over a thousand sessions must not list the directory and stat every index each
time (milliseconds), yet must see what other programs do there (the reference REPL rewrites its
index files in place). The kernel tells us: a watch on the sessions directory queues the name of
every file created, written, moved or deleted, and a listing reads that queue in one system
call. Where inotify is missing (not Linux, watches exhausted) or the queue overflowed, `changes`
answers None: "anything may have changed", and the caller rescans.
"""

from __future__ import annotations

import ctypes
import logging
import os
import struct
from pathlib import Path

log = logging.getLogger("omegad.sessions")

IN_CLOSE_WRITE = 0x8
IN_MOVED_FROM, IN_MOVED_TO, IN_CREATE, IN_DELETE = 0x40, 0x80, 0x100, 0x200
IN_DELETE_SELF, IN_MOVE_SELF, IN_Q_OVERFLOW, IN_IGNORED = 0x400, 0x800, 0x4000, 0x8000
IN_NONBLOCK, IN_CLOEXEC = 0o4000, 0o2000000
# Files written in place count once their writer closes them (the reference's index); appends
# to a journal held open (ours) are not reported: a listing needs only files coming and going.
WATCHED = (IN_CLOSE_WRITE | IN_MOVED_FROM | IN_MOVED_TO | IN_CREATE | IN_DELETE
           | IN_DELETE_SELF | IN_MOVE_SELF)
APPEARED_OR_GONE = IN_MOVED_FROM | IN_MOVED_TO | IN_CREATE | IN_DELETE
LOST = IN_Q_OVERFLOW | IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF  # the watch tells us no more
_EVENT = struct.Struct("iIII")


def _libc() -> ctypes.CDLL | None:
    """The C library's symbols as the process already has them (no search for the file:
    `find_library` runs a subprocess, 16 ms at every daemon start)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.inotify_init1, libc.inotify_add_watch  # noqa: B018  (present on Linux only)
    except (OSError, AttributeError, TypeError):
        return None
    return libc


_LIBC = _libc()


class DirWatch:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._fd = -1
        self._start()

    def _start(self) -> None:
        if _LIBC is None or not self.directory.is_dir():
            return
        fd = _LIBC.inotify_init1(IN_NONBLOCK | IN_CLOEXEC)
        if fd < 0:
            log.info("no inotify for %s (%s): listings rescan it", self.directory,
                     os.strerror(ctypes.get_errno()))
            return
        if _LIBC.inotify_add_watch(fd, os.fsencode(self.directory), WATCHED) < 0:
            log.info("cannot watch %s (%s): listings rescan it", self.directory,
                     os.strerror(ctypes.get_errno()))
            os.close(fd)
            return
        self._fd = fd

    def changes(self) -> dict[str, int] | None:
        """The files changed since the last call, each with what happened to it (a mask of the
        IN_* flags above), or None when that is not known (then the watch is restarted, so the
        next call knows again)."""
        if self._fd < 0:
            self._start()
            return None
        names: dict[str, int] = {}
        while True:
            try:
                data = os.read(self._fd, 1 << 16)
            except BlockingIOError:
                return names
            if not _parse(data, names):
                self.close()
                self._start()
                return None

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


def _parse(data: bytes, names: dict[str, int]) -> bool:
    """Add the names in a buffer of inotify events; False when the watch lost track."""
    pos = 0
    while pos + _EVENT.size <= len(data):
        _, mask, _, size = _EVENT.unpack_from(data, pos)
        start = pos + _EVENT.size
        pos = start + size
        if mask & LOST:
            return False
        raw = data[start:pos].rstrip(b"\0")
        if raw:
            name = os.fsdecode(raw)
            names[name] = names.get(name, 0) | mask
    return True
