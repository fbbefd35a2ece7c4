"""The states at a reference session's checkpoints, read from the states its index holds.

The reference writes the whole machine state of every checkpoint into `<name>.index.json`.
Each is kept as raw JSON text until a command needs it (`load` the newest, `goto` / `resume`
one), then built into an omega state (lang/reference_state.py) and kept. A checkpoint whose
state is missing from the index, or holds something omega cannot rebuild, gets its state by
re-evaluating the journal's inputs instead (recovery/replay.py), once for all such checkpoints.
"""

from __future__ import annotations

import logging
from collections import OrderedDict

import msgspec

from omegad.lang.reference_state import UnconvertibleState, read_state
from omegad.persist import jsjson
from omegad.sessions import engine
from omegad.sessions.states.state import CheckpointState, at_checkpoint
from omegad.sessions.timeline import Timeline

log = logging.getLogger("omegad.sessions")


KEEP = 8  # states kept built (each is a REPL state of its own, ~250 KB); others are rebuilt


class ReferenceStates:
    """checkpoint seq -> its state, for a timeline whose index holds the reference's states."""

    def __init__(self, timeline: Timeline, fallback: engine.Oracle) -> None:
        self.timeline = timeline
        self.fallback = fallback
        self.ids = {cp.seq: cp.state_id for cp in timeline.checkpoints}
        self._built: OrderedDict[int, CheckpointState] = OrderedDict()  # the most recently used
        self._failed: set[int] = set()  # checkpoints whose state the index cannot give
        self._replayed: dict[int, CheckpointState] | None = None

    def __contains__(self, seq: object) -> bool:
        return seq in self.ids

    def __getitem__(self, seq: int) -> CheckpointState:
        """The state at a checkpoint: built from the index when it can be, else the one
        re-evaluation gave (`prepare` first)."""
        snap = self._read(seq)
        if snap is None and self._replayed is not None:
            snap = self._replayed.get(seq)
        if snap is None:
            raise KeyError(seq)
        return snap

    async def prepare(self, seq: int) -> None:
        """Make the state at `seq` available: from the index, else by re-evaluating."""
        if seq not in self.ids or self._replayed is not None or self._read(seq) is not None:
            return
        from omegad.sessions.recovery.replay import replay

        log.info("session %s: re-evaluating its inputs for the states its index cannot give",
                 self.timeline.name)
        self._replayed = (await replay(self.timeline, self.fallback)).at

    def _read(self, seq: int) -> CheckpointState | None:
        """The state at `seq` built from the index, or None (the reason is logged once)."""
        snap = self._built.get(seq)
        if snap is not None:
            self._built.move_to_end(seq)
            return snap
        if seq in self._failed or seq not in self.ids:
            return None
        state_id = self.ids[seq]
        raw = self.timeline.states.get(state_id)
        try:
            if raw is None:
                raise UnconvertibleState("the index holds no such state")
            built = read_state(jsjson.loads(raw))
        except (UnconvertibleState, msgspec.DecodeError) as e:
            self._failed.add(seq)
            log.warning("session %s: %s not read from the index (%s); re-evaluating instead",
                        self.timeline.name, state_id, e)
            return None
        snap = self._built[seq] = at_checkpoint(built.state, built.printed_control)
        if len(self._built) > KEEP:
            self._built.popitem(last=False)
        return snap
