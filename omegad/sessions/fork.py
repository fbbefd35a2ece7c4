"""`:session fork NAME`: a new session whose journal is the source's up to a seq, under its own
header; its checkpoint file, receipts and notes follow.

A session omega keeps live is forked from what its actor knows, without reading its journal:
the journal's bytes and the checkpoint file's records are copied as they are (in the kernel),
only the first line of each is new, and the fork's actor opens from a `Seed` (its checkpoints
and receipts) instead of an index, which it writes when it is flushed, like any session. A
timeline read from files (the reference's sessions) is rewritten event by event.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import msgspec

from omegad import owned
from omegad.oracle.receipts import append_receipts
from omegad.persist import events as ev
from omegad.persist.checkpoints import CheckpointFile, copy_prefix
from omegad.persist.copying import write_with_copy
from omegad.persist.index import Checkpoint, IndexInfo, write_index
from omegad.persist.journal import encode_line, read_journal
from omegad.sessions.store import SessionStore
from omegad.sessions.timeline import Timeline

if TYPE_CHECKING:
    from omegad.sessions.interface import Session


@dataclass
class Seed:
    """What a fork's actor opens from instead of an index."""

    checkpoints: list[Checkpoint]
    receipts: dict[str, Any]
    event_count: int
    ckpt: CheckpointFile


def fork_live(store: SessionStore, owner: Session, name: str, cutoff: int | None) -> Seed:
    """Fork a live session up to `cutoff` (its newest event when None)."""
    assert owner.journal is not None and owner.ckpt is not None
    last = owner.seq - 1
    cut = last if cutoff is None else min(cutoff, last)
    kept = bisect.bisect_right(owner.checkpoints, cut, key=lambda c: c.seq)
    path = store.journal(owner.name)
    end = owner.journal.size if cut == last else _end_of(path, owner.checkpoints[:kept], cut)
    with open(path, "rb") as f:
        old_header = f.readline()
    header = encode_line(ev.header(name))
    write_with_copy(store.journal(name), header, path, len(old_header), end)
    shift = len(header) - len(old_header)
    checkpoints = [Checkpoint(c.seq, c.reason, c.state_id, c.offset + shift)
                   for c in owner.checkpoints[:kept]]
    ckpt = copy_prefix(owner.ckpt, store.ckpt(name), cut, shift)
    store.index(name).unlink(missing_ok=True)  # an older session's of that name: written later
    receipts = dict(owner.receipts)
    store.receipts(name).unlink(missing_ok=True)
    if receipts:  # the fork's index is written later: its receipts must not wait for it
        append_receipts(store.receipts(name), list(receipts.values()))
    return Seed(checkpoints, receipts, cut + 1, ckpt)


def _end_of(path: Any, checkpoints: list[Checkpoint], cut: int) -> int:
    """The byte offset where the journal's events after seq `cut` begin."""
    start = checkpoints[-1].offset if checkpoints else 0
    view = read_journal(path, start=start, until=cut + 1)
    return next((off for e, off in zip(view.events, view.offsets, strict=True) if e["seq"] > cut),
                view.size)


def write_fork(store: SessionStore, name: str, timeline: Timeline, cut: int) -> None:
    """The reference's fork of a timeline read from files: a new header, events up to `cut`,
    offsets recomputed, its receipts, its index."""
    lines = [encode_line(ev.header(name))]
    offset = len(lines[0])
    kept: list[Checkpoint] = []
    keys: set[str] = set()
    for event in timeline.events:
        if event["seq"] > cut:
            break
        line = encode_line(event)
        if event["type"] == "checkpoint":
            kept.append(Checkpoint(event["seq"], event["reason"], event["stateId"], offset))
        elif event["type"] == "llm_resp":
            keys.add(event["receiptKey"])
        lines.append(line)
        offset += len(line)
    owned.write_file(store.journal(name), b"".join(lines))
    receipts = {k: v for k, v in timeline.receipts.items() if k in keys}
    write_index(store.index(name), IndexInfo(name, cut + 1 if cut >= 0 else 0, kept, receipts),
                kept_states(timeline, kept))
    source = CheckpointFile.open(store.ckpt(timeline.name))
    copy_prefix(source, store.ckpt(name), cut, 0)


def kept_states(timeline: Timeline, kept: list[Checkpoint]) -> dict[str, msgspec.Raw]:
    """The reference's states of the checkpoints a fork keeps (as the reference's fork does)."""
    ids = {c.state_id for c in kept}
    return {k: v for k, v in timeline.states.items() if k in ids}
