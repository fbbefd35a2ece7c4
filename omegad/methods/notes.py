"""snapshot.*, timeline.* and the metrics methods (sessions/notes/commands.py does the work).

Changes (snapshot create / restore / delete, annotate, import) are operations the session's actor
runs, so they wait for a running command and keep arrival order; reads (list, timeline pages,
export, metrics) answer from the actor's fields at once.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from omegad.dispatch import method
from omegad.methods.finding import actor_of, store_of
from omegad.server import Connection
from omegad.sessions import commands
from omegad.sessions.actor import SessionActor
from omegad.sessions.notes import commands as tn
from omegad.sessions.notes.file import Note, NotesError, Snapshot
from omegad.sessions.notes.metrics import SessionMetrics, disk_size, last_modified
from omegad.sessions.operations import (
    Annotate,
    ImportAnnotations,
    Operation,
    SnapshotCreate,
    SnapshotDelete,
    SnapshotRestore,
)
from omegad.sessions.store import SessionStore
from protocol import errors
from protocol import methods as m


def _iso(ms: float) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds") \
        .replace("+00:00", "Z")


def snapshot_info(session: str, s: Snapshot) -> m.SnapshotInfo:
    return m.SnapshotInfo(id=s.id, session=session, seq=s.seq, description=s.description,
                          tags=s.tags, created=_iso(s.created))


def annotation_info(n: Note) -> m.AnnotationInfo:
    return m.AnnotationInfo(seq=n.seq, label=n.label, description=n.description, tags=n.tags,
                            created=_iso(n.created))


async def _queued(conn: Connection, session: str, operation: Operation) -> Any:
    """Run the operation as the session's next job; what it made (its errors: invalid params)."""
    actor = await actor_of(conn, session)
    job = actor.submit(commands.line_of(operation), conn, piped=False, op=operation)
    await job.wait()
    return job.data


@method("snapshot.create")
async def snapshot_create(p: m.SnapshotCreateParams, conn: Connection) -> m.SnapshotInfo:
    name, snap = await _queued(conn, p.session, SnapshotCreate(p.description))
    return snapshot_info(name, snap)


@method("snapshot.restore")
async def snapshot_restore(p: m.SnapshotIdParams, conn: Connection) -> m.SnapshotInfo:
    name, snap = await _queued(conn, p.session, SnapshotRestore(p.id))
    return snapshot_info(name, snap)


@method("snapshot.delete")
async def snapshot_delete(p: m.SnapshotIdParams, conn: Connection) -> m.SnapshotInfo:
    name, snap = await _queued(conn, p.session, SnapshotDelete(p.id))
    return snapshot_info(name, snap)


def _notes(actor: SessionActor, name: str):
    try:
        return tn.notes_of(actor, name)
    except NotesError as e:
        raise errors.InternalError(f"Internal error: {e}") from None


@method("snapshot.list")
async def snapshot_list(p: m.SnapshotListParams, conn: Connection) -> m.SnapshotListResult:
    actor = await actor_of(conn, p.session)
    t = tn.target(actor)
    snaps = _notes(actor, t.name).listing(p.tag.lstrip("#") if p.tag else None)
    return m.SnapshotListResult(session=t.name, snapshots=[snapshot_info(t.name, s)
                                                           for s in snaps])


@method("timeline.annotate")
async def timeline_annotate(p: m.AnnotateParams, conn: Connection) -> m.AnnotationInfo:
    note = await _queued(conn, p.session, Annotate(p.seq, p.label, p.description))
    return annotation_info(note)


@method("timeline.import")
async def timeline_import(p: m.ImportParams, conn: Connection) -> m.ImportResult:
    added = await _queued(conn, p.session, ImportAnnotations(p.document))
    actor = await actor_of(conn, p.session)
    return m.ImportResult(session=tn.target(actor).name, imported=len(added))


@method("timeline.get")
async def timeline_get(p: m.TimelineParams, conn: Connection) -> m.TimelineResult:
    actor = await actor_of(conn, p.session)
    if p.limit < 0:
        raise errors.InvalidParams("Invalid params: `limit` must be >= 0")
    if p.find is not None:
        t = tn.target(actor)
        found = [n for n in _notes(actor, t.name).find(p.find) if n.seq >= p.from_]
        by_seq = {n.seq: n for n in found}
        cps = [cp for cp in (t.checkpoint(n.seq) for n in found) if cp is not None]
        total = len(cps)
        rows = cps[: p.limit]
        nxt = cps[p.limit].seq if len(cps) > p.limit else None
    else:
        t, rows, total, nxt = tn.page(actor, p.from_, p.limit)
        by_seq = _notes(actor, t.name).notes
    entries = [m.TimelineEntry(seq=cp.seq, reason=cp.reason, state_id=cp.state_id,
                               annotation=annotation_info(by_seq[cp.seq])
                               if cp.seq in by_seq else None)
               for cp in rows]
    return m.TimelineResult(session=t.name, entries=entries, total=total, next_from=nxt)


@method("timeline.export")
async def timeline_export(p: m.SessionParams, conn: Connection) -> m.ExportResult:
    actor = await actor_of(conn, p.session)
    t = tn.target(actor)
    return m.ExportResult(session=t.name, document=_notes(actor, t.name).export())


def _session_metrics(name: str, metrics: SessionMetrics, size: int, last: float,
                     in_memory: bool) -> m.SessionMetricsResult:
    return m.SessionMetricsResult(
        session=name, in_memory=in_memory, commands=metrics.commands, errors=metrics.errors,
        mean_ms=round(metrics.mean(), 3), p95_ms=round(metrics.p95(), 3),
        peak_memory_bytes=metrics.peak_memory, memory_bytes=metrics.memory, size_bytes=size,
        last_accessed=_iso(last * 1000) if last else None)


@method("session.metrics")
async def session_metrics(p: m.SessionParams, conn: Connection) -> m.SessionMetricsResult:
    actor = await actor_of(conn, p.session)
    name, metrics, size, last = tn.session_metrics(actor)
    in_memory = actor.manager.live(actor.store, name) is not None
    return _session_metrics(name, metrics, size, last, in_memory)


def _all_sessions(conn: Connection, store: SessionStore) -> list[m.SessionMetricsResult]:
    manager = conn.daemon.sessions
    monitor = manager.monitor
    rows = []
    for name in store.names():
        metrics = monitor.peek(store.root, name) or SessionMetrics()
        last = metrics.last_accessed or last_modified(store.journal(name))
        rows.append(_session_metrics(name, metrics, disk_size(store.files(name)), last,
                                     manager.live(store, name) is not None))
    rows.sort(key=lambda r: r.last_accessed or "", reverse=True)
    return rows


@method("server.metrics")
async def server_metrics(p: m.ServerMetricsParams, conn: Connection) -> m.ServerMetricsResult:
    daemon = conn.daemon
    manager = daemon.sessions
    all_metrics = list(manager.monitor.sessions.values())
    commands = sum(x.commands for x in all_metrics)
    weighted = sum(x.mean() * x.commands for x in all_metrics)
    with daemon.process.oneshot():
        rss = daemon.process.memory_info().rss
        cpu = daemon.process.cpu_times()
        cpu_percent = daemon.process.cpu_percent(None)
    on_disk = sum(len(SessionStore(d).names()) for d in daemon.session_dirs)
    rows = _all_sessions(conn, store_of(conn)) if p.sessions else []
    return m.ServerMetricsResult(
        sessions_in_memory=len(manager.pool), sessions_on_disk=on_disk, total_commands=commands,
        total_errors=sum(x.errors for x in all_metrics),
        mean_ms=round(weighted / commands, 3) if commands else 0.0,
        total_peak_memory_bytes=sum(x.peak_memory for x in all_metrics),
        rss_bytes=rss, cpu_percent=cpu_percent, cpu_seconds=round(cpu.user + cpu.system, 3),
        connections=len(daemon.connections), persist_queue=len(manager.persister.dirty),
        last_fsync_age=round(manager.persister.last_sync_age(), 3),
        fsync_policy=manager.persister.policy, metrics_enabled=manager.monitor.enabled,
        sessions=rows)

