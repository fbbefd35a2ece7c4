"""Snapshots, timeline annotations and metrics of a session: the `:session` commands and the
operations the RPC methods share with them.

They act on the session that `:session checkpoints` refers to (DESIGN "Decisions"): the session
loaded with `:session load`, else the session itself. Its notes live in `<name>.notes`
(file.py); the states come from the actor's state stores (`actor.states`, `actor.loaded_states`).
A snapshot names the checkpoint the session stands at: the last one, or the one that
`:session load / goto / resume` or a snapshot restore moved it to.
"""

from __future__ import annotations

import bisect
import json
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from omegad import client_files
from omegad.client_files import ClientPathError
from omegad.persist.checkpoints import ADOPTED, ADOPTED_PART
from omegad.sessions.notes.file import Note, Notes, NotesError, Snapshot, local_time
from omegad.sessions.notes.metrics import SessionMetrics, disk_size, format_bytes, last_modified
from omegad.sessions.operations import (
    Annotate,
    Command,
    Operation,
    SnapshotCreate,
    SnapshotDelete,
    SnapshotRestore,
)
from omegad.sessions.states.sources import state_at
from omegad.sessions.timeline import Checkpoint
from protocol import errors

if TYPE_CHECKING:
    from omegad.sessions.interface import Session
    from omegad.sessions.mailbox import Job, Reply


@dataclass
class Target:
    """The session the commands act on, as the actor sees it."""

    name: str
    checkpoints: list[Checkpoint]  # in seq order
    states: Any  # seq -> states.state.CheckpointState
    own: bool

    def checkpoint(self, seq: int) -> Checkpoint | None:
        cps = self.checkpoints
        i = bisect.bisect_left(cps, seq, key=_seq)
        return cps[i] if i < len(cps) and cps[i].seq == seq else None

    def before(self, seq: int) -> Checkpoint | None:
        i = bisect.bisect_right(self.checkpoints, seq, key=_seq)
        return self.checkpoints[i - 1] if i else None

    def seqs(self) -> set[int]:
        return {c.seq for c in self.checkpoints}


def _seq(cp: Checkpoint) -> int:
    return cp.seq


def target(actor: Session) -> Target:
    loaded = actor.loaded
    if loaded is None or loaded.name == actor.name:
        return Target(actor.name, actor.checkpoints, actor.states, True)
    return Target(loaded.name, loaded.checkpoints, actor.loaded_states, False)


def notes_of(actor: Session, name: str) -> Notes:
    return actor.manager.notes.of(actor.store.notes(name))


def position(actor: Session, t: Target) -> int | None:
    """The seq of the checkpoint whose state the session holds, or None (an empty state)."""
    return _verified(actor, t, _candidate(actor, t))


def _candidate(actor: Session, t: Target) -> int | None:
    """Where the session stands, from what the commands left behind."""
    entries = actor.ckpt.entries if actor.ckpt is not None else []
    mark = notes_of(actor, actor.name).at  # the last snapshot restore, while nothing followed it
    if mark is not None and mark[0] == t.name and mark[2] == len(entries):
        return mark[1]
    if not t.checkpoints:
        return None
    adopted = bool(entries) and entries[-1].kind in (ADOPTED, ADOPTED_PART)
    if actor.loaded is not None and actor.session_seq is not None:
        cp = t.before(actor.session_seq)
        return cp.seq if cp is not None else None
    if t.own and adopted and actor.loaded is None:
        return None  # reset (or a state adopted without a checkpoint)
    return t.checkpoints[-1].seq


def _verified(actor: Session, t: Target, seq: int | None) -> int | None:
    """Check the candidate against the state itself when its checkpoint is in memory: a
    checkpoint's state is the session's state moved to it (`state.head` is that checkpoint)."""
    memory = getattr(t.states, "memory", t.states)
    if seq is None or not isinstance(memory, dict):
        return seq
    snap = memory.get(seq)
    state = actor.state
    if snap is None or snap.state is not state or state.head is snap.revision:
        return seq  # (another state object: nothing to compare with)
    for other, s in memory.items():  # misled (a load after a goto): find the state's checkpoint
        if s.state is state and s.revision is state.head and t.checkpoint(other):
            return other
    return None


# --- operations (commands and RPC methods) --------------------------------------------------------


async def _written(actor: Session, notes: Notes) -> None:
    await actor.manager.persister.commit(notes)


async def create_snapshot(actor: Session, description: str) -> tuple[str, Snapshot]:
    t = target(actor)
    seq = position(actor, t)
    if seq is None:
        raise NotesError("No checkpoint to snapshot: the session's state is not at a checkpoint "
                         "(evaluate something first)")
    notes = notes_of(actor, t.name)
    snap = notes.snapshot(seq, description.strip())
    await _written(actor, notes)
    return t.name, snap


async def restore_snapshot(actor: Session, snap_id: int) -> tuple[str, Snapshot]:
    t = target(actor)
    notes = notes_of(actor, t.name)
    snap = notes.get(snap_id)
    cp = t.checkpoint(snap.seq)
    try:
        if cp is None:
            raise KeyError(snap.seq)
        state = await state_at(t.states, snap.seq)
        if t.own and snap.seq not in actor.states.memory:
            actor.states.memory[snap.seq] = state  # rebuilt from the file: keep it at hand
    except KeyError:
        raise NotesError(f"State not found: state-{snap.seq}") from None
    # the state, recorded in the checkpoint file (a restart keeps it): one of the session's own
    # as a reference to its record, another's in full
    actor.restore(state, own_seq=snap.seq if t.own else None)
    if not t.own:
        actor.session_seq = snap.seq
    assert actor.ckpt is not None
    notes.restored(snap, actor.name)
    own = notes_of(actor, actor.name)
    own.mark(t.name, snap.seq, len(actor.ckpt.entries))
    await _written(actor, notes)
    await _written(actor, own)
    await actor.manager.persister.commit(*actor.files())
    return t.name, snap


async def delete_snapshot(actor: Session, snap_id: int) -> tuple[str, Snapshot]:
    t = target(actor)
    notes = notes_of(actor, t.name)
    snap = notes.delete(snap_id)
    await _written(actor, notes)
    return t.name, snap


async def annotate(actor: Session, seq: int, label: str, description: str) -> Note:
    t = target(actor)
    if t.checkpoint(seq) is None:
        raise NotesError(f"No checkpoint at seq {seq} in session '{t.name}'")
    notes = notes_of(actor, t.name)
    note = notes.annotate(seq, label, description)
    await _written(actor, notes)
    return note


async def unannotate(actor: Session, seq: int) -> Note:
    t = target(actor)
    notes = notes_of(actor, t.name)
    note = notes.unannotate(seq)
    await _written(actor, notes)
    return note


async def import_annotations(actor: Session, document: Any) -> list[Note]:
    t = target(actor)
    notes = notes_of(actor, t.name)
    added = notes.import_(document, t.seqs())
    await _written(actor, notes)
    return added


def page(actor: Session, start: int,
         limit: int) -> tuple[Target, list[Checkpoint], int, int | None]:
    """Checkpoints with seq >= start, at most `limit`; how many there are in all; the seq the
    next page starts at (None after the last)."""
    t = target(actor)
    cps = t.checkpoints
    i = bisect.bisect_left(cps, start, key=_seq)
    j = i + max(0, limit)
    return t, cps[i:j], len(cps), cps[j].seq if j < len(cps) else None


def session_metrics(actor: Session) -> tuple[str, SessionMetrics, int, float]:
    """(name, metrics, bytes on disk, last accessed) of the session the commands act on."""
    t = target(actor)
    monitor = actor.manager.monitor
    if t.own:
        metrics = monitor.fresh(actor)
    else:
        live = actor.manager.live(actor.store, t.name)
        metrics = monitor.fresh(live) if live is not None else \
            (monitor.peek(actor.store.root, t.name) or SessionMetrics())
    size = disk_size(actor.store.files(t.name))
    last = metrics.last_accessed or last_modified(actor.store.journal(t.name))
    return t.name, metrics, size, last


# --- the `:` commands -----------------------------------------------------------------------------


async def guarded(job: Job, reply: Reply, change: Awaitable[Any]) -> Any:
    """A change of the notes, answered as its RPC method wants (a NotesError is invalid params)
    or, on a command line, printed (a notes file that cannot be read says so)."""
    try:
        return await change
    except NotesError as e:
        if job.typed:
            raise errors.InvalidParams(str(e)) from None
        reply.line(f"Error: {e}")
        return None


async def snapshot(actor: Session, description: str, reply: Reply,
                   job: Job) -> tuple[str, Snapshot] | None:
    try:
        name, snap = await create_snapshot(actor, description)
    except NotesError as e:
        if job.typed:
            raise
        reply.line(f"Error creating snapshot: {e}")
        return None
    if not job.typed:
        reply.line(f"Created snapshot of session '{name}'")
        reply.line(f"  [{snap.id}] at checkpoint {snap.seq}")
    return name, snap


async def snapshots_cmd(actor: Session, arg: str, reply: Reply, _job: Job) -> None:
    t = target(actor)
    tag = arg.strip().lstrip("#") or None
    snaps = notes_of(actor, t.name).listing(tag)
    if not snaps:
        reply.line("No snapshots saved." if tag is None else f"No snapshots tagged #{tag}.")
        return
    reply.line("Snapshots:")
    for s in snaps:
        reply.line(f"  [{s.id}] {s.description or 'No description'} ({local_time(s.created)})")


async def restore(actor: Session, snap_id: int | None, reply: Reply,
                  job: Job) -> tuple[str, Snapshot] | None:
    return await _on_snapshot(actor, snap_id, reply, job, "restore", "restoring",
                              restore_snapshot,
                              "Restored snapshot [{id}] of session '{name}' (checkpoint {seq})")


async def delete(actor: Session, snap_id: int | None, reply: Reply,
                 job: Job) -> tuple[str, Snapshot] | None:
    return await _on_snapshot(actor, snap_id, reply, job, "delete", "deleting", delete_snapshot,
                              "Deleted snapshot [{id}] of session '{name}'")


async def _on_snapshot(actor: Session, snap_id: int | None, reply: Reply, job: Job, verb: str,
                       doing: str, op: Any, done: str) -> tuple[str, Snapshot] | None:
    """`:session restore-snapshot ID` / `delete-snapshot ID`: one snapshot, by id."""
    if snap_id is None:
        reply.line(f"Usage: :session {verb}-snapshot <id>")
        return None
    try:
        name, snap = await op(actor, snap_id)
    except NotesError as e:
        if job.typed:
            raise
        reply.line(f"Error {doing} snapshot: {e}")
        return None
    if not job.typed:
        reply.line(done.format(id=snap.id, name=name, seq=snap.seq))
    return name, snap


def _parse_annotate(arg: str) -> Operation:
    parts = arg.split(None, 2)
    seq = _id(parts[0]) if parts else None
    if seq is None or len(parts) < 2:
        return Command(_guarded(_annotate_usage), arg)
    return Annotate(seq, parts[1], parts[2] if len(parts) > 2 else "")


async def _annotate_usage(actor: Session, arg: str, reply: Reply, _job: Job) -> None:
    reply.line("Usage: :session annotate <seq> <label> [description]")


async def annotate_one(actor: Session, seq: int, label: str, description: str, reply: Reply,
                       job: Job) -> Note | None:
    try:
        note = await annotate(actor, seq, label, description)
    except NotesError as e:
        if job.typed:
            raise
        reply.line(f"Error annotating: {e}")
        return None
    if not job.typed:
        reply.line(f"Annotated checkpoint [{note.seq}]: {note.label}")
    return note


async def unannotate_cmd(actor: Session, arg: str, reply: Reply, _job: Job) -> None:
    seq = _id(arg)
    if seq is None:
        reply.line("Usage: :session unannotate <seq>")
        return
    try:
        note = await unannotate(actor, seq)
    except NotesError as e:
        reply.line(f"Error removing annotation: {e}")
        return
    reply.line(f"Removed annotation of checkpoint [{note.seq}]: {note.label}")


async def timeline_cmd(actor: Session, _arg: str, reply: Reply, _job: Job) -> None:
    t = target(actor)
    if not t.checkpoints:
        reply.line("No checkpoints available.")
        return
    notes = notes_of(actor, t.name).notes
    reply.line("Timeline:")
    for cp in t.checkpoints:
        note = notes.get(cp.seq)
        reply.line(f"  [{cp.seq}] {cp.reason} - {note.label}" if note
                   else f"  [{cp.seq}] {cp.reason}")


async def find_cmd(actor: Session, arg: str, reply: Reply, _job: Job) -> None:
    t = target(actor)
    found = notes_of(actor, t.name).find(arg)
    if not found:
        reply.line(f"No annotations match '{arg}'.")
        return
    reasons = {cp.seq: cp.reason for cp in t.checkpoints}
    reply.line(f"Found {len(found)} annotation(s):")
    for n in found:
        extra = f" ({n.description})" if n.description else ""
        reply.line(f"  [{n.seq}] {reasons.get(n.seq, '?')} - {n.label}{extra}")


async def tags_cmd(actor: Session, _arg: str, reply: Reply, _job: Job) -> None:
    tags = notes_of(actor, target(actor).name).tags()
    reply.line(f"Tags: {', '.join('#' + t for t in tags)}" if tags else "No tags.")


async def export_cmd(actor: Session, arg: str, reply: Reply, job: Job) -> None:
    t = target(actor)
    document = notes_of(actor, t.name).export()
    try:
        text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
        path = client_files.write(job.conn, arg, text)
    except ClientPathError as e:
        reply.line(f"Error exporting annotations: {e}")
        return
    reply.line(f"Exported {len(document['annotations'])} annotation(s) of session '{t.name}' "
               f"to {path}")


async def import_cmd(actor: Session, arg: str, reply: Reply, job: Job) -> None:
    try:
        path, text = await client_files.read(job.conn, arg)
    except ClientPathError as e:
        reply.line(f"Error importing annotations: {e}")
        return
    try:
        document = json.loads(text)
    except ValueError as e:
        reply.line(f"Error importing annotations: {path} is not JSON ({e})")
        return
    try:
        added = await import_annotations(actor, document)
    except NotesError as e:
        reply.line(f"Error importing annotations: {e}")
        return
    reply.line(f"Imported {len(added)} annotation(s) into session '{target(actor).name}'")


async def metrics_cmd(actor: Session, _arg: str, reply: Reply, _job: Job) -> None:
    name, metrics, size, last = session_metrics(actor)
    reply.line("Session Metrics:")
    reply.line(f"  Commands executed: {metrics.commands}")
    reply.line(f"  Errors: {metrics.errors}")
    reply.line(f"  Average execution time: {metrics.mean():.2f}ms")
    reply.line(f"  p95 execution time: {metrics.p95():.2f}ms")
    reply.line(f"  Peak memory usage: {format_bytes(metrics.peak_memory)}")
    reply.line(f"  Session size: {format_bytes(size)}")
    reply.line(f"  Last accessed: {local_time(int(last * 1000)) if last else 'never'}")


def _id(text: str) -> int | None:
    text = text.strip()
    return int(text) if text.isdigit() else None


def _guarded(command: Any) -> Any:
    """A command whose notes file cannot be read says so (instead of an internal error)."""

    async def run(actor: Session, arg: str, reply: Reply, job: Job) -> None:
        try:
            await command(actor, arg, reply, job)
        except NotesError as e:
            reply.line(f"Error: {e}")

    run.__name__ = command.__name__
    return run


def _line(command: Any) -> Any:
    """The parser of a notes command without a typed form."""
    guarded_command = _guarded(command)
    return lambda arg: Command(guarded_command, arg)


EXACT = {
    ":session snapshot": lambda _: SnapshotCreate(""),
    ":session snapshots": _line(snapshots_cmd),
    ":session timeline": _line(timeline_cmd),
    ":session metrics": _line(metrics_cmd),
    ":session tags": _line(tags_cmd),
}
PREFIX = {
    ":session snapshot ": SnapshotCreate,
    ":session snapshots ": _line(snapshots_cmd),
    ":session restore-snapshot ": lambda arg: SnapshotRestore(_id(arg)),
    ":session delete-snapshot ": lambda arg: SnapshotDelete(_id(arg)),
    ":session annotate ": _parse_annotate,
    ":session unannotate ": _line(unannotate_cmd),
    ":session find ": _line(find_cmd),
    ":session export-annotations ": _line(export_cmd),
    ":session import-annotations ": _line(import_cmd),
}
HELP = [
    "  :session snapshot [text]   - snapshot the current checkpoint (#tags in the text)",
    "  :session snapshots [#tag]  - list snapshots",
    "  :session restore-snapshot <id> - restore a snapshot's state",
    "  :session delete-snapshot <id>  - delete a snapshot",
    "  :session timeline          - checkpoints with their annotations",
    "  :session annotate <seq> <label> [text] - label a checkpoint",
    "  :session unannotate <seq>  - remove a checkpoint's label",
    "  :session find <label|#tag> - find annotated checkpoints",
    "  :session tags              - every tag of the snapshots and annotations",
    "  :session export-annotations <file> - write annotations as JSON",
    "  :session import-annotations <file> - read annotations from JSON",
    "  :session metrics           - commands, timings, memory, size",
]
