"""Where a session's states at its checkpoints come from: omega's checkpoint file when there is one.

`:session goto` needs the state at any checkpoint of the loaded session. A session omega wrote has
them in `<name>.ckpt` (a full record and a few deltas away); the reference's sessions have them
in their index (reference.py); index-less journals are rebuilt by re-evaluating their
inputs (recovery/replay.py).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Generator
from typing import Any, Protocol

import trio

from omegad.lang.api import ReplState
from omegad.lang.revision import capture
from omegad.lang.serialize import (
    MissingObject,
    deserialize_steps,
    no_collection,
    run_steps,
)
from omegad.lang.steps import advance
from omegad.persist.checkpoints import ADOPTED_REF, CheckpointFile, Record
from omegad.sessions.states.state import CheckpointState, Written

log = logging.getLogger("omegad.sessions")


def rebuild(records: list[Record]) -> CheckpointState:
    """The state the records hold (a base, then what applies to it), read at once."""
    return run_steps(_rebuild_steps(records))


async def rebuild_in_steps(records: list[Record]) -> CheckpointState:
    """`rebuild`, letting other tasks run every few milliseconds: a big state takes a while.

    Automatic collections stay off until it is done (for the other tasks too): turned on
    between steps, each would walk the objects read so far again (a 10 MB state: steps of
    150-200 ms instead of 7)."""
    steps = _rebuild_steps(records)
    with no_collection():
        while True:
            done, snap = advance(steps)
            if done:
                return snap
            await trio.lowlevel.checkpoint()


def _rebuild_steps(records: list[Record]) -> Generator[None, None, CheckpointState]:
    state = yield from deserialize_steps(records[0].state, fresh=ReplState)
    for record in records[1:]:
        if record.kind != ADOPTED_REF:  # a reference carries no state of its own
            yield from deserialize_steps(record.state, base=state)
    cp = capture(state)
    refs = sum(r.kind == ADOPTED_REF for r in records)
    origin = Written(records, state.ser, state.ser.next, cp, refs)
    return CheckpointState(state, cp, records[-1].control, origin)


class FileStates:
    """The states of a checkpoint file, rebuilt on demand (each into a state of its own)."""

    def __init__(self, ckpt: CheckpointFile) -> None:
        self.ckpt = ckpt
        self._ready: tuple[int, CheckpointState] | None = None  # read by `prepare`, not yet taken

    def __getitem__(self, seq: int) -> CheckpointState:
        ready, self._ready = self._ready, None
        if ready is not None and ready[0] == seq:
            return ready[1]
        index = self._index(seq)
        if index is None:
            raise KeyError(seq)
        try:
            return rebuild(self.ckpt.chain(index))
        except MissingObject as e:
            self._merge_incomplete(index, e)
            return rebuild(self.ckpt.chain(index, merges=False))

    def holds(self, seq: int) -> bool:
        return self._index(seq) is not None

    async def prepare(self, seq: int) -> None:
        """Read the state at `seq` in steps (others run meanwhile); the next `self[seq]` takes
        it."""
        index = self._index(seq)
        if index is not None:
            self._ready = (seq, await self._rebuild_in_steps(index))

    async def _rebuild_in_steps(self, index: int) -> CheckpointState:
        try:
            return await rebuild_in_steps(self.ckpt.chain(index))
        except MissingObject as e:
            self._merge_incomplete(index, e)
            return await rebuild_in_steps(self.ckpt.chain(index, merges=False))

    def _merge_incomplete(self, index: int, e: MissingObject) -> None:
        """Files written before merges held every object their deltas introduced may lack one
        that a later delta refers to: the deltas themselves have it."""
        log.warning("%s: a merge on the way to record %d lacks object %s; reading its deltas",
                    self.ckpt.path.name, index, e)

    def _index(self, seq: int) -> int | None:
        index = self.ckpt.find(seq)
        if index is None:
            # An llm_boundary checkpoint saved no state of its own: nothing was committed since
            # the newest record before it, whose state it shares.
            index = self.ckpt.at_or_before(seq)
        return index

    def __contains__(self, seq: object) -> bool:
        return isinstance(seq, int) and self.ckpt.find(seq) is not None

    async def latest(self) -> tuple[CheckpointState, int] | None:
        """The newest state in the file, and the journal seq it stands at. (The session opens
        with it and keeps it: its origin keeps only the newest record, all a reference to it
        needs, not the bytes of the whole chain.)"""
        if not self.ckpt.entries:
            return None
        entry = self.ckpt.entries[-1]
        snap = await self._rebuild_in_steps(len(self.ckpt.entries) - 1)
        assert snap.origin is not None  # a state rebuilt from records knows them
        origin = dataclasses.replace(snap.origin, records=snap.origin.records[-1:])
        return dataclasses.replace(snap, origin=origin), entry.seq


class StateStore(Protocol):
    """checkpoint seq -> the state there (a dict of CheckpointStates is one)."""

    def __getitem__(self, seq: int) -> CheckpointState: ...

    def __contains__(self, seq: object) -> bool: ...


async def state_at(states: StateStore, seq: int) -> CheckpointState:
    """The state at checkpoint `seq` of a state store (KeyError when it has none). A store that
    builds states lazily and may need to re-evaluate for one (`prepare`) gets ready first."""
    prepare = getattr(states, "prepare", None)
    if prepare is not None:
        await prepare(seq)
    return states[seq]


class LayeredStates:
    """This session's own states: those captured in memory since it opened, then those in
    omega's checkpoint file, then (a session the reference wrote) those in its index."""

    def __init__(self, memory: dict[int, CheckpointState], file: FileStates | None,
                 reference: StateStore | None = None) -> None:
        self.memory = memory
        self.stores: list[Any] = [s for s in (file, reference) if s is not None]

    async def prepare(self, seq: int) -> None:
        """Get ready the store that `self[seq]` reads: the first that holds `seq`."""
        if seq in self.memory:
            return
        for store in self.stores:
            holds = getattr(store, "holds", None)
            if not (holds(seq) if holds is not None else seq in store):
                continue
            prepare = getattr(store, "prepare", None)
            if prepare is not None:
                await prepare(seq)
            return

    def __getitem__(self, seq: int) -> CheckpointState:
        if seq in self.memory:
            return self.memory[seq]
        for store in self.stores:
            try:
                return store[seq]
            except KeyError:
                pass
        raise KeyError(seq)

    def __setitem__(self, seq: int, snap: CheckpointState) -> None:
        self.memory[seq] = snap

    def __contains__(self, seq: object) -> bool:
        return seq in self.memory or any(seq in store for store in self.stores)
