"""The pool of session actors: (session dir, name) -> actor, created on first use, LRU-evicted.

Actors run as tasks in the manager's nursery (a child of the daemon's root nursery). Only idle
sessions are evicted (nothing running or queued, state rebuildable from the journal); an evicted
session comes back from disk on its next use.
"""

from __future__ import annotations

import logging
from collections import OrderedDict, deque
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import trio

from omegad import memory
from omegad.caller import Caller
from omegad.lang.api import DEFAULT_MEMORY_BUDGET
from omegad.persist.checkpoints import CheckpointFile
from omegad.persist.copying import WrittenFile
from omegad.persist.failures import storage_error
from omegad.persist.worker import Persister
from omegad.sessions.actor import SessionActor
from omegad.sessions.engine import Oracle
from omegad.sessions.fork import Seed, fork_live, write_fork
from omegad.sessions.listing.catalog import Catalog
from omegad.sessions.listing.listing import Listing
from omegad.sessions.names import check_name
from omegad.sessions.notes.file import NotesBook, copy_notes
from omegad.sessions.notes.metrics import Monitor
from omegad.sessions.recovery.replay import JournalStates, replay
from omegad.sessions.states.reference import ReferenceStates
from omegad.sessions.states.sources import FileStates, LayeredStates, StateStore
from omegad.sessions.store import SessionStore
from omegad.sessions.timeline import Timeline, read_timeline
from protocol import errors
from protocol import methods as m

if TYPE_CHECKING:
    from omegad.sessions.interface import Session

log = logging.getLogger("omegad.sessions")

Key = tuple[Path, str]


class SessionManager:
    def __init__(self, nursery: trio.Nursery, persister: Persister, max_sessions: int = 64,
                 max_memory: int = 1 << 30) -> None:
        self.nursery = nursery
        self.persister = persister
        self.max_sessions = max_sessions
        self.max_memory = max_memory  # also the daemon's real size no command may pass
        self.command_memory = DEFAULT_MEMORY_BUDGET  # a command's budget (--command-memory)
        memory.return_big_blocks()
        memory.baseline()  # the daemon's own size, before any session: what --max-memory is over
        self.pool: OrderedDict[Key, SessionActor] = OrderedDict()
        self._catalogs: dict[Path, Catalog] = {}
        self._listings: dict[Path, Listing] = {}
        self.notes = NotesBook()  # snapshots and annotations of sessions (notes/file.py)
        self.monitor = Monitor(nursery, book=self.notes, persister=persister)  # (metrics.py)
        from omegad.oracle.select import oracle_from_env

        self._oracle_from_env = oracle_from_env
        self.fallback_oracle: Oracle = oracle_from_env({}).call
        self.storage_notices: deque[str] = deque(maxlen=100)  # repairs on opening, newest last

    def storage_notice(self, text: str) -> None:
        self.storage_notices.append(text)
        self.on_dir_idle: Callable[[Path], None] = lambda root: None  # the daemon's, once set

    # --- finding actors ---------------------------------------------------------------------------

    def actor(self, store: SessionStore, name: str, seed: Seed | None = None) -> SessionActor:
        """The session's actor, created (and started opening) on first use; never waits."""
        check_name(name)
        key = (store.root, name)
        actor = self.pool.get(key)
        if actor is not None:
            self.pool.move_to_end(key)
            return actor
        actor = self.pool[key] = SessionActor(self, store, name, seed)
        self.nursery.start_soon(actor.run)
        self._evict(keep=key)
        return actor

    async def get(self, store: SessionStore, name: str) -> SessionActor:
        """The session's actor, once it is open."""
        actor = self.actor(store, name)
        await actor.ready()
        return actor

    def live(self, store: SessionStore, name: str) -> SessionActor | None:
        return self.pool.get((store.root, name))

    def running(self) -> list[m.RunningCommand]:
        """Every session's running command, the longest running first."""
        found = [r for a in self.pool.values() if (r := a.running()) is not None]
        return sorted(found, key=lambda r: -r.seconds)

    def oracle_for(self, conn: Caller | None) -> Any:
        return self._oracle_from_env(conn.env if conn is not None else {})

    # --- listing ----------------------------------------------------------------------------------

    def list_sessions(self, store: SessionStore) -> list[tuple[str, tuple[int, int] | None]]:
        listing = self._listings.get(store.root)
        if listing is None:
            listing = self._listings[store.root] = Listing(store, self.catalog(store))
        pool, root = self.pool, store.root
        return listing.rows(lambda name: pool.get((root, name)))

    def catalog(self, store: SessionStore) -> Catalog:
        catalog = self._catalogs.get(store.root)
        if catalog is None:
            catalog = self._catalogs[store.root] = Catalog(store.sessions)
        return catalog

    def forget(self, store: SessionStore, name: str) -> None:
        self.catalog(store).forget(store.index(name))
        self.notes.drop(store.notes(name))

    # --- states of a timeline ---------------------------------------------------------------------

    async def states_of(self, actor: Session, timeline: Timeline) -> StateStore:
        """The states at a timeline's checkpoints. A session's own are at hand; another's are
        rebuilt into a state of their own (two actors never share one state)."""
        if timeline.name == actor.name:
            return actor.states
        live = self.live(actor.store, timeline.name)  # its records are known: no need to read
        if live is not None:
            await live.records_written()
        ckpt = live.ckpt if live is not None and live.ckpt is not None else \
            CheckpointFile.open(actor.store.ckpt(timeline.name))
        if ckpt.damage:
            self.storage_notice(f"session {timeline.name}: {ckpt.damage}")
            log.warning("session %s: %s", timeline.name, ckpt.damage)
        if live is None and _lags(ckpt, timeline):  # opening it writes the records it lacks
            live = await self.get(actor.store, timeline.name)
            ckpt = live.ckpt if live.ckpt is not None else ckpt
        saved = FileStates(ckpt) if ckpt.entries else None
        if timeline.states:  # the reference's checkpoints: their states are in its index
            return LayeredStates({}, saved, ReferenceStates(timeline, self.fallback_oracle))
        if saved is not None:  # (the journal's inputs give those its file lost, if any)
            return LayeredStates({}, saved, JournalStates(lambda: timeline, self.fallback_oracle))
        rebuilt = await replay(timeline, self.fallback_oracle)
        return rebuilt.at

    # --- fork and delete --------------------------------------------------------------------------

    async def fork(self, actor: Session, source: str, name: str,
                   cutoff: int | None) -> SessionActor | None:
        store = actor.store
        owner = actor if source == actor.name else self.live(store, source)
        if owner is None and store.ckpt(source).exists() and store.journal(source).exists():
            owner = await self.get(store, source)  # omega's own session: opening it is cheap
        elif owner is not None and owner is not actor:
            await owner.ready()  # (it may still be opening)
            await owner.records_written()
        if owner is None and not (store.journal(source).exists()
                                  and store.index(source).exists()):
            return None
        if owner is not None and owner.seq == 0:
            return None  # nothing journaled yet
        if self.live(store, name) is not None:
            raise errors.InvalidParams(f"session '{name}' is open; fork to a new name")
        seed = None
        if owner is not None:
            seed = fork_live(store, owner, name, cutoff)
            cut = seed.event_count - 1
        else:
            timeline = read_timeline(store.sessions, source)
            assert timeline is not None
            last = timeline.events[-1]["seq"] if timeline.events else -1
            cut = last if cutoff is None else min(cutoff, last)
            write_fork(store, name, timeline, cut)
        self.catalog(store).forget(store.index(name))
        copy_notes(self.notes, store.notes(source), store.notes(name), cut)
        forked = self.actor(store, name, seed)
        await forked.ready()
        copies = [store.journal(name), store.ckpt(name), store.receipts(name), store.notes(name)]
        await self.persister.commit(*[WrittenFile(p) for p in copies if p.exists()])
        forked.loaded = forked.own_timeline()
        forked.loaded_states = forked.states
        forked.session_seq = cut if cut >= 0 else None
        return forked

    def release(self, store: SessionStore, name: str, asker: Session) -> None:
        """Before writing session `name`'s files from elsewhere (`:session save NAME`): its
        actor, when it is live, closes them first (its index written); when it is busy or a
        client is attached to it, it keeps them and this refuses (SessionBusy)."""
        actor = self.live(store, name)
        if actor is None:
            return
        if actor is asker or actor.busy or actor.attached_live() or actor.lease is not None:
            raise errors.SessionBusy(
                f"session '{name}' is open (it has its own writer); save to a new name, or"
                " close it first", {"session": name})
        self.pool.pop((store.root, name), None)
        actor.close()

    async def delete(self, store: SessionStore, name: str, asker: Caller | None = None) -> bool:
        """Delete session `name`'s files. Its actor, when it is live, closes them first; when a
        command runs or waits in it, or another client holds its lease or is attached to it,
        its files are that actor's and this refuses (SessionBusy)."""
        actor = self.live(store, name)
        if actor is not None:
            others = [c for c in actor.attached.values()
                      if not c.closed and (asker is None or c.id != asker.id)]
            if actor.busy or others or (actor.lease is not None and actor.lease is not asker):
                raise errors.SessionBusy(
                    f"session '{name}' is open in another client (it has its own writer); close"
                    " it there first", {"session": name})
            self.pool.pop((store.root, name), None)
            actor.close()
            self.on_dir_idle(store.root)
        found = False
        for path in store.files(name):
            try:
                path.unlink()
                found = True
            except FileNotFoundError:
                pass
        self.forget(store, name)
        self.monitor.forget(store.root, name)
        return found

    # --- memory and shutdown ----------------------------------------------------------------------

    def dropped(self, actor: Session) -> None:
        """An actor that could not open leaves the pool (its next use tries again)."""
        key = (actor.store.root, actor.name)
        if self.pool.get(key) is actor:
            del self.pool[key]
            self.on_dir_idle(actor.store.root)

    def _evict(self, keep: Key) -> None:
        """Drop least recently used idle sessions while over the count or memory bound; sessions
        nobody is attached to go first."""

        def over() -> bool:
            if len(self.pool) > self.max_sessions:
                return True
            return sum(a.memory() for a in self.pool.values()) > self.max_memory

        candidates = [(a.attached_live(), i, k) for i, (k, a) in enumerate(self.pool.items())
                      if k != keep and not a.busy]
        for _attached, _age, key in sorted(candidates):
            if not over():
                break
            log.info("evicting session %s", key[1])
            self._close(self.pool.pop(key))

    def session_closed(self, actor: Session) -> None:
        """An actor closes (evicted, deleted, daemon stops): its metrics are saved in its notes
        file, and that file is closed."""
        self.monitor.save(actor)
        self.notes.release(actor.store.notes(actor.name))

    def _close(self, actor: SessionActor) -> None:
        """Close an actor (its index is written) and count that index into the catalog."""
        actor.close()
        self.catalog(actor.store).counts(actor.store.index(actor.name))
        self.on_dir_idle(actor.store.root)

    def uses(self, root: Path) -> bool:
        """A live session of this session dir is in the pool."""
        return any(key[0] == root for key in self.pool)

    def forget_dir(self, root: Path) -> None:
        """Nothing uses the session dir any more: its listing's watch closed, its catalog saved."""
        listing = self._listings.pop(root, None)
        if listing is not None:
            listing.close()
        catalog = self._catalogs.pop(root, None)
        if catalog is not None:
            catalog.save()

    def connection_closed(self, conn: Caller) -> None:
        for actor in self.pool.values():
            actor.detach(conn)

    async def flush_all(self) -> int:
        """Every session's index written and every file on disk; returns how many sessions."""
        failed: list[errors.RpcError] = []
        for actor in self.pool.values():
            try:
                actor.flush_index()
            except errors.RpcError as e:  # (logged) the others are still flushed
                failed.append(e)
            self.monitor.save(actor)
            self.persister.wrote(*actor.files())
        self.persister.wrote(*self.notes.open.values())
        try:
            await self.persister.sync()
        except OSError as e:
            failed.append(storage_error(e, "syncing the sessions' files"))
        self._save_catalogs()
        if failed:
            raise failed[0]
        return len(self.pool)

    def _save_catalogs(self) -> None:
        for catalog in self._catalogs.values():
            catalog.save()

    def close_all(self) -> None:
        for actor in self.pool.values():
            try:
                self._close(actor)
            except OSError:
                log.exception("closing session %s failed", actor.name)
        self.pool.clear()
        self.notes.close_all()
        for listing in self._listings.values():
            listing.close()
        self._save_catalogs()


def _lags(ckpt: CheckpointFile, timeline: Timeline) -> bool:
    """Whether omega's checkpoint file misses the states of the journal's last inputs (the
    daemon died between an answer and its state record). A reference session has none."""
    if timeline.states or not ckpt.entries or not timeline.checkpoints:
        return False
    return ckpt.entries[-1].seq < timeline.checkpoints[-1].seq
