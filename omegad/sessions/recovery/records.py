"""Damaged records of a session's checkpoint file, computed again from its journal.

A record that fails its CRC while its header still chains is usually one bad byte in a file
whose other records are fine. Cutting the file there would make opening re-evaluate every input
after it (seconds for thousands of inputs); instead the record is computed again: the state
before it (the file's records up to there, or nothing before the first) plus the journal's few
inputs up to its seq, re-evaluated from receipts and serialized as the writer serialized it (a
run's first full state, or the delta against the record before). It is written back only when
its CRC is the one the damaged header holds: then its bytes are exactly the ones written, and
every record after it is good again. Records of other kinds (merges, adopted states), or ones
whose CRC does not come out, are cut off with the rest of the file after them (the caller
rebuilds those states from the journal, as for any cut).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from omegad.lang import api
from omegad.lang.serialize import MissingObject, serialize_delta
from omegad.oracle.receipts import read_receipts
from omegad.persist.checkpoints import BASES, DELTA, FULL, CheckpointFile
from omegad.persist.index import read_index
from omegad.persist.journal import read_journal
from omegad.sessions.recovery.replay import replay
from omegad.sessions.states.sources import rebuild
from omegad.sessions.states.state import CheckpointState
from omegad.sessions.timeline import Checkpoint, Timeline

if TYPE_CHECKING:
    from omegad.sessions.interface import Session

log = logging.getLogger("omegad.sessions")


async def repair_records(actor: Session, journal: Path) -> None:
    """Rewrite each damaged record of the actor's checkpoint file that can be computed again
    exactly; cut the file at the first one that cannot (its `damage` then says so)."""
    ckpt = actor.ckpt
    assert ckpt is not None
    receipts: dict | None = None
    while ckpt.damaged:
        index = ckpt.damaged[0]
        offset = ckpt.entries[index].offset
        if receipts is None:
            receipts = _receipts(actor)
        aside = await _rewrite(actor, ckpt, index, journal, receipts)
        if aside is None:
            ckpt.cut_records(index, f"the record at byte {offset} fails its checksum")
            return
        actor.notice(f"{ckpt.path.name}: the record at byte {offset} failed its checksum; it"
                     " was computed again from the journal, came out byte for byte as written"
                     f" (its checksum matches) and was written back (the file's bytes from"
                     f" there were set aside in {aside.name})")


async def _rewrite(actor: Session, ckpt: CheckpointFile, index: int, journal: Path,
                   receipts: dict) -> Path | None:
    """Compute record `index` again and write it back; its quarantine file, else None."""
    entry = ckpt.entries[index]
    if entry.kind == FULL and index == 0:
        start, after, begin = None, -1, 0
    elif entry.kind == DELTA and index > 0:
        before = index - 1
        while ckpt.entries[before].kind not in (DELTA, *BASES):
            before -= 1  # (a merge holds the state of the delta before it)
        try:
            start = rebuild(ckpt.chain(before))
        except MissingObject:  # (an old file's merge): then the file is cut here
            return None
        after, begin = ckpt.entries[before].seq, ckpt.journal_end(before)
    else:
        return None
    view = read_journal(journal, start=begin, until=entry.seq)
    events = [e for e in view.events if after < e["seq"] <= entry.seq]
    if not events or events[-1]["seq"] != entry.seq or events[-1]["type"] != "checkpoint":
        return None
    checkpoints = [Checkpoint(e["seq"], e["reason"], e["stateId"], 0)
                   for e in events if e["type"] == "checkpoint"]
    timeline = Timeline(actor.name, view.header, events, checkpoints, receipts)
    rebuilt = await replay(timeline, actor.manager.fallback_oracle, start, after)
    if rebuilt.skipped:
        return None
    state = _serialized(rebuilt.state, start)
    return ckpt.rewrite_record(index, rebuilt.control, state)


def _serialized(state: api.ReplState, start: CheckpointState | None) -> bytes:
    """The record's state as the writer wrote it: whole (a run's first record), or what changed
    since the record before (whose object ids reading it gave the state)."""
    if start is None:
        return api.serialize(state)
    return serialize_delta(state, start.revision)


def _receipts(actor: Session) -> dict:
    """Every receipt the session has (its receipts file and its index's)."""
    receipts = read_receipts(actor.store.receipts(actor.name))
    try:
        receipts = {**receipts, **read_index(actor.store.index(actor.name)).receipts}
    except (OSError, ValueError):
        pass  # (an input needing one is then skipped: the record is cut, not rewritten)
    return receipts
