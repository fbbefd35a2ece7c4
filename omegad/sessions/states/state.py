"""A session's state at one checkpoint, and the checkpoint-file records it was read from."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from omegad.lang import api
from omegad.lang.revision import Revision, capture, restore
from omegad.lang.serialize import SerialTable
from omegad.persist.checkpoints import Record


@dataclass(frozen=True)
class CheckpointState:
    """A session state as it was at one checkpoint: the state it belongs to, and where in it."""

    state: api.ReplState
    revision: Revision
    control: str
    origin: Written | None = None  # the file records it was read from, if it was

    def resume(self) -> api.ReplState:
        return restore(self.state, self.revision)


def at_checkpoint(state: api.ReplState, control: str) -> CheckpointState:
    return CheckpointState(state, capture(state), control)


@dataclass(frozen=True)
class Written:
    """The file records a state was read from, with its object table as reading left it.

    While no object of the state has been given an id since, the writer's ids are the ones a
    reader of these records assigns: the records' bytes stand for the state at `revision`,
    and the next record may be a delta against it (saver.py)."""

    records: list[Record]
    table: SerialTable
    next_id: int
    revision: Revision
    refs: int = 0  # references to earlier records on the way (each adds that record's chain)

    def stands_for(self, state: Any) -> bool:
        return state.ser is self.table and self.table.next == self.next_id
