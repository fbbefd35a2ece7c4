"""The sessions of one session dir as `:session list` shows them, kept current between listings.

The first listing scans the directory and takes each index's counts from the catalog; later ones
only apply what the directory watch reports (journals that came or went, indexes rewritten), so
a listing of a thousand sessions costs a thousand dictionary lookups, not a thousand `stat`s.
Sessions in memory are counted by their actors (their index on disk may lag behind).
"""

from __future__ import annotations

import bisect
from collections.abc import Callable
from typing import TYPE_CHECKING

from omegad.sessions.listing.catalog import Catalog, Counts
from omegad.sessions.listing.dirwatch import APPEARED_OR_GONE, DirWatch
from omegad.sessions.store import SessionStore

if TYPE_CHECKING:
    from omegad.sessions.interface import Session

JOURNAL, INDEX = ".jsonl", ".index.json"
_UNKNOWN = object()


def _key(name: str) -> bytes:
    return name.encode()  # the reference lists in the byte order of file names


class Listing:
    def __init__(self, store: SessionStore, catalog: Catalog) -> None:
        self.store = store
        self.catalog = catalog
        self.watch = DirWatch(store.sessions)
        self.names: list[str] | None = None
        self.counts: dict[str, Counts] = {}  # from the index on disk, as last seen

    def rows(self, live: Callable[[str], Session | None]) -> list[tuple[str, Counts]]:
        self._update()
        assert self.names is not None
        rows: list[tuple[str, Counts]] = []
        for name in self.names:
            actor = live(name)
            if actor is not None:
                rows.append((name, (actor.seq, len(actor.checkpoints))))
                continue
            counts = self.counts.get(name, _UNKNOWN)
            if counts is _UNKNOWN:
                counts = self.counts[name] = self.catalog.counts(self.store.index(name))
            rows.append((name, counts))  # type: ignore[arg-type]
        return rows

    def _update(self) -> None:
        changes = self.watch.changes()
        if changes is None or self.names is None:
            self._rescan()
            return
        for file, mask in changes.items():
            if file.endswith(INDEX):
                self.counts.pop(file[: -len(INDEX)], None)
            elif file.endswith(JOURNAL) and mask & APPEARED_OR_GONE:
                self._recheck(file[: -len(JOURNAL)])

    def _rescan(self) -> None:
        """Everything again: the catalog's names while the directory is unchanged since it was
        saved (a restart), else the directory's; every index's counts in one pass."""
        names = self.catalog.names()
        self.names = names if names is not None else self.store.names()
        self.counts = dict(zip(self.names, self.catalog.counts_of(self.names), strict=True))

    def _recheck(self, name: str) -> None:
        """A journal appeared or went: the session is listed exactly when it has one."""
        assert self.names is not None
        i = bisect.bisect_left(self.names, _key(name), key=_key)
        present = i < len(self.names) and self.names[i] == name
        exists = self.store.journal(name).exists()
        if exists and not present:
            self.names.insert(i, name)
        elif present and not exists:
            del self.names[i]
        self.counts.pop(name, None)

    def close(self) -> None:
        self.watch.close()
