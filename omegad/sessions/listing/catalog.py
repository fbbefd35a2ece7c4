"""The catalog: each session's (events, checkpoints) as `:session list` shows them, without parsing
every index on every listing, nor after a restart.

A count comes from `<name>.index.json` and is kept with the index's (mtime, size): while those
match, the count stands. The catalog is saved beside the sessions (`sessions/.omega-catalog`,
msgpack, versioned) when the daemon flushes or stops, so the first listing after a restart reads
one small file and a stat per session instead of every index.

It also keeps the session names it listed, with the directory's mtime then: while the directory
keeps that mtime (no file came, went or was renamed there), the names stand, and the listing
needs no directory read. They are kept only when the directory had been quiet for `QUIET_NS`
before it was listed, so that any later change moves its mtime past the one recorded whatever
the granularity of the file system's clock; and the catalog file is rewritten in place, so that
saving it does not change the directory.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

import msgspec

from omegad import owned
from omegad.persist.index import read_counts, write_in_place
from omegad.sessions.store import journal_names
from protocol.errors import UntrustedPath

log = logging.getLogger("omegad.sessions")

VERSION = 2
FILE = ".omega-catalog"
QUIET_NS = 50_000_000

Counts = tuple[int, int] | None


class _Doc(msgspec.Struct, array_like=True):
    version: int
    entries: dict[str, tuple[int, int, int, int]]  # index name -> mtime_ns, size, events, cps
    names: list[str] | None = None  # the sessions listed, while the directory's mtime is:
    dir_mtime: int = 0


class Catalog:
    def __init__(self, sessions: Path) -> None:
        self.sessions = sessions
        self.entries: dict[str, tuple[int, int, int, int]] = {}
        self.changed = False
        self._names: list[str] | None = None
        self._dir_mtime = 0
        self._load()

    def _load(self) -> None:
        try:
            doc = msgspec.msgpack.decode((self.sessions / FILE).read_bytes(), type=_Doc)
        except FileNotFoundError:
            return
        except (msgspec.DecodeError, msgspec.ValidationError, OSError) as e:
            log.warning("catalog of %s unreadable (%s): rebuilding it", self.sessions, e)
            return
        if doc.version in (1, VERSION):  # (a version 1 catalog has no names)
            self.entries = dict(doc.entries)
            self._names, self._dir_mtime = doc.names, doc.dir_mtime

    def names(self) -> list[str] | None:
        """The sessions as last listed, while the directory has not changed since (one stat
        instead of reading the directory); None: list it."""
        if self._names is None:
            return None
        try:
            unchanged = os.stat(self.sessions).st_mtime_ns == self._dir_mtime
        except OSError:
            unchanged = False
        if not unchanged:
            self._names = None
            return None
        return list(self._names)

    def counts(self, index: Path) -> Counts:
        """The counts of one index file, read again only when the file changed."""
        try:
            st = os.stat(index)
        except FileNotFoundError:
            return None
        return self._counts(index.name, st)

    def _counts(self, file: str, st: os.stat_result) -> Counts:
        cached = self.entries.get(file)
        if cached is not None and cached[0] == st.st_mtime_ns and cached[1] == st.st_size:
            return cached[2], cached[3]
        try:
            events, checkpoints = read_counts(self.sessions / file)
        except (OSError, ValueError):
            return None
        self.entries[file] = (st.st_mtime_ns, st.st_size, events, checkpoints)
        self.changed = True
        return events, checkpoints

    def counts_of(self, names: list[str]) -> list[Counts]:
        """The counts of many sessions' indexes at once (a listing): one `stat` each, by name
        relative to the directory (no paths built), an index read only when it changed."""
        try:
            dir_fd = os.open(self.sessions, os.O_RDONLY | os.O_DIRECTORY)
        except FileNotFoundError:
            return [None] * len(names)
        try:
            return [self._counts_at(dir_fd, f"{name}.index.json") for name in names]
        finally:
            os.close(dir_fd)

    def _counts_at(self, dir_fd: int, file: str) -> Counts:
        try:
            st = os.stat(file, dir_fd=dir_fd)
        except FileNotFoundError:
            return None
        return self._counts(file, st)

    def forget(self, index: Path) -> None:
        if self.entries.pop(index.name, None) is not None:
            self.changed = True

    def save(self) -> None:
        if not self.sessions.is_dir():
            return
        path = self.sessions / FILE
        try:
            if not os.path.lexists(path):  # created before the directory's mtime is taken
                os.close(owned.open_owned(path, os.O_WRONLY, create=True))
            names, mtime = self._listing()
            if not self.changed and (names, mtime) == (self._names, self._dir_mtime):
                return
            write_in_place(path, msgspec.msgpack.encode(
                _Doc(VERSION, self.entries, names, mtime)))
            self.changed = False
            self._names, self._dir_mtime = names, mtime
        except (OSError, UntrustedPath) as e:
            log.warning("could not save the catalog of %s: %s", self.sessions, e)

    def _listing(self) -> tuple[list[str] | None, int]:
        """The session names and the directory's mtime, when it has been quiet long enough."""
        mtime = os.stat(self.sessions).st_mtime_ns
        names = journal_names(self.sessions)
        if time.time_ns() - mtime < QUIET_NS:
            return None, 0
        return names, mtime
