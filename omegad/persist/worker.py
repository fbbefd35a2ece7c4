"""The persistence worker: fsync by policy, off the event loop, with group commit.

Actors append their records with plain writes (page cache: microseconds) before they answer, so
an answered command survives `kill -9` of the daemon. What survives an OS crash is the fsync
policy's business, and that is this worker's job:

- `always`: a command's answer waits until its files are fsync'd; commands that finish together
  share one round of fsyncs (group commit);
- `everysec` (default): files written since the last round are fsync'd once a second;
- `no`: the OS decides (shutdown and `server.flush` still fsync everything).

fsync runs in a worker thread (`trio.to_thread`), never on the event loop. A failed fsync is
logged and reported to the waiting command; the file stays dirty and is tried again by the next
round, which is safe: fsync has no partial effect to corrupt.
"""

from __future__ import annotations

import logging
import time
from typing import Protocol

import trio

log = logging.getLogger("omegad.persist")

POLICIES = ("always", "everysec", "no")


class Syncable(Protocol):
    def fsync(self) -> None: ...


class Persister:
    def __init__(self, policy: str = "everysec") -> None:
        if policy not in POLICIES:
            raise ValueError(f"fsync policy must be one of {', '.join(POLICIES)}")
        self.policy = policy
        self.dirty: dict[int, Syncable] = {}
        self.last_sync = time.monotonic()
        self.syncs = 0
        self._round: trio.Event | None = None  # set when the running round ends
        self._error: OSError | None = None

    def wrote(self, *files: Syncable) -> None:
        for f in files:
            self.dirty[id(f)] = f

    async def commit(self, *files: Syncable) -> None:
        """Called by an actor after writing a command's records, before it answers."""
        self.wrote(*files)
        if self.policy == "always":
            await self.sync()

    async def sync(self) -> None:
        """Return once everything written before the call is on disk."""
        if self._round is not None:  # a round is running: it may predate our writes
            await self._round.wait()
        if not self.dirty:
            return
        self._round = done = trio.Event()
        batch, self.dirty = list(self.dirty.values()), {}
        try:
            await trio.to_thread.run_sync(_fsync_all, batch)
        except OSError as e:
            log.error("fsync failed: %s", e)
            for f in batch:
                self.dirty[id(f)] = f
            raise
        finally:
            self._round = None
            done.set()
        self.syncs += 1
        self.last_sync = time.monotonic()

    async def run(self) -> None:
        """The supervised loop: everysec's rounds (a task in the daemon's root nursery)."""
        while True:
            await trio.sleep(1.0)
            if self.policy == "everysec" and self.dirty:
                try:
                    await self.sync()
                except OSError:
                    pass  # logged; the files stay dirty for the next round

    def last_sync_age(self) -> float:
        return time.monotonic() - self.last_sync


def _fsync_all(files: list[Syncable]) -> None:
    for f in files:
        f.fsync()
