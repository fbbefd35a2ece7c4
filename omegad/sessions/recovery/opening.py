"""Opening a session's actor: its newest saved state, then what its journal holds after it.

The fast way reads the newest record of the checkpoint file, the index (or a fork's seed) for the
checkpoints before it, and only the journal written after it. When the files do not agree (a crash
before the index was refreshed, a fork's copied record) the whole journal is read. A session the
reference wrote starts from the state its index holds. Inputs after the saved state are
re-evaluated (replay.py: "catching up"), writing their missing state records as they go.

Damage is repaired on the way and named (`actor.notice`): a damaged checkpoint record is
computed again from the journal and written back when it comes out exactly as written
(records.py), else the file is cut at it (persist/checkpoints.py); a journal that ends before
the file's states wins over them (persist/reconcile.py); an unreadable index is set aside and
rebuilt from the journal; a torn last journal line is set aside and cut. Whatever is cut is
copied aside first.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from omegad.lang import api
from omegad.oracle.receipts import read_receipts
from omegad.persist import events as ev
from omegad.persist.checkpoints import CheckpointFile
from omegad.persist.index import IndexInfo, IndexWithStates, read_index_states
from omegad.persist.journal import JournalView, JournalWriter, last_seq_before, read_journal
from omegad.persist.quarantine import set_aside
from omegad.persist.reconcile import reconcile
from omegad.sessions.recovery.records import repair_records
from omegad.sessions.recovery.replay import JournalStates, replay
from omegad.sessions.states.reference import ReferenceStates
from omegad.sessions.states.saver import StateSaver
from omegad.sessions.states.sources import FileStates, LayeredStates
from omegad.sessions.states.state import CheckpointState
from omegad.sessions.timeline import Checkpoint, Timeline

if TYPE_CHECKING:
    from omegad.sessions.fork import Seed
    from omegad.sessions.interface import Session

log = logging.getLogger("omegad.sessions")


async def open_session(actor: Session, seed: Seed | None) -> None:
    """Bring the session up: its last saved state, then any journal inputs after it."""
    path = actor.store.journal(actor.name)
    actor.index_dirty = seed is not None  # a fork's index is written when it is flushed
    actor.ckpt = seed.ckpt if seed else CheckpointFile.open(actor.store.ckpt(actor.name), path,
                                                            keep_damaged=True)
    if actor.ckpt.damaged:
        await repair_records(actor, path)
    actor.saver = StateSaver(actor.ckpt)
    if actor.ckpt.damage:
        actor.notice(f"{actor.ckpt.damage}; the states after it are rebuilt from the journal")
    saved = FileStates(actor.ckpt)
    if await _open_from_checkpoints(actor, path, saved, seed):
        return
    log.debug("session %s: reading its whole journal", actor.name)
    view = read_journal(path)
    if view.header is None and not view.events:
        said, _ = reconcile(actor.ckpt, view)  # (a journal deleted under its states)
        if said:
            actor.notice(said)
        actor.state = api.ReplState()
        actor.header = ev.header(actor.name)
        actor.journal = JournalWriter.create(path, actor.header)
        return
    actor.header = view.header
    index = _index(actor)
    said, next_seq = reconcile(actor.ckpt, view)
    if said:
        actor.notice(said)
    if index is not None and index.eventCount > view.next_seq:
        next_seq = max(next_seq, index.eventCount)  # (never give a seq out twice)
    actor.journal = JournalWriter.open_existing(path, view, next_seq)
    _note_journal(actor, view)
    actor.receipts = index.receipts if index is not None else {}
    actor.receipts = {**read_receipts(actor.store.receipts(actor.name)), **actor.receipts}
    actor.ref_states = index.states if index is not None else {}
    actor.checkpoints = _checkpoints(view)
    latest = await saved.latest()
    if latest is None and actor.ref_states and actor.checkpoints:
        await _open_from_reference(actor, view)
        return
    start, after = latest if latest is not None else (None, -1)
    await _catch_up(actor, view, start, after, saved if latest is not None else None)


async def _open_from_reference(actor: Session, view: Any) -> None:
    """A session the reference wrote: its newest checkpoint's state as the reference
    serialized it in the index, then the journal's inputs after it (normally none)."""
    timeline = Timeline(actor.name, view.header, view.events, actor.checkpoints, actor.receipts,
                        states=actor.ref_states)
    reference = ReferenceStates(timeline, actor.manager.fallback_oracle)
    last = actor.checkpoints[-1].seq
    await reference.prepare(last)
    try:
        start: CheckpointState | None = reference[last]
    except KeyError:  # neither the index nor re-evaluation has it: start from nothing
        start = None
    await _catch_up(actor, view, start, last if start is not None else -1, None, reference)


async def _open_from_checkpoints(actor: Session, path: Path, saved: FileStates,
                                 seed: Seed | None) -> bool:
    """The fast way back: the newest saved state, the index (or a fork's seed) for the
    checkpoints before it, and only the journal written after it. False when the files do
    not agree (a crash before the index was refreshed): then the whole journal is read."""
    entries = actor.ckpt.entries if actor.ckpt is not None else []
    if not entries:
        return False
    index = _index(actor) if seed is None else \
        IndexInfo("", seed.event_count, seed.checkpoints, seed.receipts)
    if index is None:
        return False
    last = entries[-1]
    assert actor.ckpt is not None  # (it has entries)
    journal_end = actor.ckpt.journal_end(len(entries) - 1)
    if not path.exists() or path.stat().st_size < journal_end or not last.journal_end:
        return False
    view = read_journal(path, start=journal_end)
    misplaced = (view.torn and not view.events
                 or view.events and view.events[0]["seq"] != last.seq + 1
                 or last_seq_before(path, journal_end) != last.seq)
    if misplaced:
        return False  # the record's journal position is not where it says (a fork's copy)
    first_new = view.events[0]["seq"] if view.events else last.seq + 1
    if view.header is None or index.eventCount < first_new:
        return False
    actor.header = view.header
    next_seq = view.events[-1]["seq"] + 1 if view.events else last.seq + 1
    actor.journal = JournalWriter.open_existing(path, view, next_seq)
    _note_journal(actor, view)
    actor.receipts = {**read_receipts(actor.store.receipts(actor.name)), **index.receipts}
    actor.ref_states = getattr(index, "states", {})
    actor.checkpoints = index.checkpoints
    if actor.checkpoints and actor.checkpoints[-1].seq >= first_new:
        actor.checkpoints = [c for c in actor.checkpoints if c.seq < first_new]
    actor.checkpoints += _checkpoints(view)
    latest = await saved.latest()
    assert latest is not None
    reference = None
    if actor.ref_states:  # the reference's own checkpoints, before ours
        reference = ReferenceStates(actor.own_timeline(), actor.manager.fallback_oracle)
    await _catch_up(actor, view, latest[0], latest[1], saved, reference)
    return True


def _index(actor: Session) -> IndexWithStates | None:
    """The session's index, or None when it is missing or unreadable (then: the journal, and
    the index is written again at the next refresh; a damaged one is set aside first)."""
    path = actor.store.index(actor.name)
    try:
        return read_index_states(path)
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as e:
        actor.index_dirty = True
        reason = (e.strerror or str(e)) if isinstance(e, OSError) else str(e)
        actor.notice(f"{path.name} could not be read ({reason}); it is rebuilt from the journal"
                     f"{_set_aside_note(path)}")
        return None


def _set_aside_note(path: Path) -> str:
    """Set a damaged file aside (when it can be read at all); a note saying where."""
    try:
        return f" (the damaged file was set aside as {set_aside(path).name})"
    except OSError:
        return ""


def _note_journal(actor: Session, view: JournalView) -> None:
    """Say what reading the journal found: lines skipped, a torn last line set aside."""
    name = actor.store.journal(actor.name).name
    if view.bad:
        where = ", ".join(f"byte {offset}" for offset, _ in view.bad[:5])
        more = f" and {len(view.bad) - 5} more" if len(view.bad) > 5 else ""
        actor.notice(f"{name}: {len(view.bad)} line(s) could not be read (at {where}{more});"
                     " they were skipped and left in place")
    aside = actor.journal.aside if actor.journal is not None else None
    if view.torn and aside is not None:
        actor.notice(f"{name}: its last line was incomplete (a write cut short); its"
                     f" {view.torn} bytes were set aside in {aside.name} and cut")


async def _catch_up(actor: Session, view: Any, start: CheckpointState | None,
                    after: int, saved: FileStates | None,
                    reference: ReferenceStates | JournalStates | None = None) -> None:
    """Re-evaluate what the journal holds after the saved state (normally nothing). States
    at checkpoints no file holds (a checkpoint file deleted or cut) come from the journal."""
    actor.state_defs = None
    if reference is None:
        reference = JournalStates(actor.own_timeline, actor.manager.fallback_oracle)
    own = start is not None and saved is not None and saved.ckpt.newest_is(after)
    if own and start is not None and saved is not None and start.origin is not None \
            and actor.saver is not None:  # (a reopening)
        actor.saver.reopened_at(len(saved.ckpt.entries) - 1, start.origin)
    if start is not None and not any(e["seq"] > after for e in view.events):
        actor.state, actor.control = start.resume(), start.control
        actor.states = LayeredStates({after: start} if own else {}, saved,  # (at hand)
                                    reference)
        return
    timeline = Timeline(actor.name, view.header, view.events, actor.checkpoints, actor.receipts)
    record = _record_replayed(actor, view) if saved is not None and start is not None else None
    # (states not written to the file as they are reached are not kept either: the few
    # a goto may want come from JournalStates, and opening does not capture thousands)
    rebuilt = await replay(timeline, actor.manager.fallback_oracle, start, after, record,
                           every_state=record is not None)
    if rebuilt.skipped:  # (each is logged with its reason by replay)
        actor.notice(f"{len(rebuilt.skipped)} input(s) of the journal could not be evaluated"
                     " again (a receipt missing, never a new provider call); they were skipped")
    actor.state, actor.control = rebuilt.state, rebuilt.control
    actor.states = LayeredStates(rebuilt.at, saved, reference)


def _record_replayed(actor: Session,
                     view: Any) -> Callable[[int, CheckpointState], None]:
    """The journal holds inputs after the newest state record (the daemon died between an
    answer and its record): as replaying reaches each of their checkpoints, its record is
    written, so that the file again has every state (another session's `load` reads it)."""
    assert actor.saver is not None
    saver = actor.saver
    ends = dict(zip((e["seq"] for e in view.events), [*view.offsets[1:], view.size],
                    strict=True))
    failed: list[OSError] = []

    def record(seq: int, snap: CheckpointState) -> None:
        if failed:
            return
        try:
            saver.save(snap.state, snap.control, seq, ends.get(seq, view.size))
        except OSError as e:
            log.error("session %s: checkpoint write failed: %s", actor.name, e)
            failed.append(e)

    return record


def _checkpoints(view: Any) -> list[Checkpoint]:
    return [Checkpoint(e["seq"], e["reason"], e["stateId"], off)
            for e, off in zip(view.events, view.offsets, strict=True)
            if e["type"] == "checkpoint"]
