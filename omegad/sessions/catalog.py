"""The catalog: each session's (events, checkpoints) as `:session list` shows them, without parsing
every index on every listing, nor after a restart.

A count comes from `<name>.index.json` and is kept with the index's (mtime, size): while those
match, the count stands. The catalog is saved beside the sessions (`sessions/.omega-catalog`,
msgpack, versioned) when the daemon flushes or stops, so the first listing after a restart reads
one small file and a stat per session instead of every index.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import msgspec

from omegad.persist.index import read_counts, write_atomic

log = logging.getLogger("omegad.sessions")

VERSION = 1
FILE = ".omega-catalog"

Counts = tuple[int, int] | None


class _Doc(msgspec.Struct, array_like=True):
    version: int
    entries: dict[str, tuple[int, int, int, int]]  # index name -> mtime_ns, size, events, cps


class Catalog:
    def __init__(self, sessions: Path) -> None:
        self.sessions = sessions
        self.entries: dict[str, tuple[int, int, int, int]] = {}
        self.changed = False
        self._load()

    def _load(self) -> None:
        try:
            doc = msgspec.msgpack.decode((self.sessions / FILE).read_bytes(), type=_Doc)
        except FileNotFoundError:
            return
        except (msgspec.DecodeError, msgspec.ValidationError, OSError) as e:
            log.warning("catalog of %s unreadable (%s): rebuilding it", self.sessions, e)
            return
        if doc.version == VERSION:
            self.entries = dict(doc.entries)

    def counts(self, index: Path) -> Counts:
        """The counts of one index file, read again only when the file changed."""
        try:
            st = os.stat(index)
        except FileNotFoundError:
            return None
        cached = self.entries.get(index.name)
        if cached is not None and cached[:2] == (st.st_mtime_ns, st.st_size):
            return cached[2], cached[3]
        try:
            events, checkpoints = read_counts(index)
        except (OSError, ValueError):
            return None
        self.entries[index.name] = (st.st_mtime_ns, st.st_size, events, checkpoints)
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
        cached = self.entries.get(file)
        if cached is not None and cached[0] == st.st_mtime_ns and cached[1] == st.st_size:
            return cached[2], cached[3]
        return self.counts(self.sessions / file)

    def forget(self, index: Path) -> None:
        if self.entries.pop(index.name, None) is not None:
            self.changed = True

    def save(self) -> None:
        if not self.changed or not self.sessions.is_dir():
            return
        try:
            write_atomic(self.sessions / FILE,
                         msgspec.msgpack.encode(_Doc(VERSION, self.entries)))
            self.changed = False
        except OSError as e:
            log.warning("could not save the catalog of %s: %s", self.sessions, e)
