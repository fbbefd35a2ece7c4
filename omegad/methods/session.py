"""session.* methods: every one finds the session's actor and asks it; the text comes from there."""

from __future__ import annotations

from omegad.dispatch import method
from omegad.lang import backtrace
from omegad.methods.finding import actor_of, store_of
from omegad.oracle.select import oracle_description
from omegad.server import Connection
from omegad.sessions import commands, legacy
from omegad.sessions.actor import SessionActor
from omegad.sessions.lookup import lookup
from omegad.sessions.mailbox import Job
from omegad.sessions.names import check_name
from omegad.sessions.operations import Fork, Goto, Operation, Resume, Save
from omegad.sessions.render import render_trace
from protocol import errors
from protocol import methods as m


async def _run(conn: Connection, name: str, op: Operation) -> m.OutputResult:
    actor = await actor_of(conn, name)
    result = await actor.execute(commands.line_of(op), conn, piped=False, op=op)
    return m.OutputResult(output=result.output, session=result.session)


@method("session.list", inline=True)  # never waits: answered in the read loop
async def session_list(p: m.ListParams, conn: Connection) -> m.ListResult:
    store = store_of(conn)
    manager = conn.daemon.sessions
    rows = [
        m.SessionInfo(name=name, events=counts[0] if counts else None,
                      checkpoints=counts[1] if counts else None,
                      in_memory=manager.live(store, name) is not None)
        for name, counts in manager.list_sessions(store)
    ]
    return m.ListResult(sessions=rows)


@method("session.open")
async def session_open(p: m.OpenParams, conn: Connection) -> m.OpenResult:
    actor = await actor_of(conn, p.session, create=p.mode == "write" or p.create)
    if p.mode == "write":
        actor.take_lease(conn, force=False)
    else:
        actor.attached[conn.id] = conn
    if p.follow:
        actor.followers.add(conn.id)
    return _opened(actor, conn)


@method("session.take")
async def session_take(p: m.SessionParams, conn: Connection) -> m.OpenResult:
    actor = await actor_of(conn, p.session)
    actor.take_lease(conn, force=True)
    return _opened(actor, conn)


def _opened(actor: SessionActor, conn: Connection) -> m.OpenResult:
    holder = actor.lease if actor.lease is None or not actor.lease.closed else None
    who = (holder.client or f"connection {holder.id}") if holder else None
    oracle = oracle_description(conn.env)  # e.g. "scripted (no provider configured: …)"
    summary = actor.debugger().summary()
    inputs = actor.journal.inputs() if actor.journal is not None else 0
    return m.OpenResult(session=actor.name, seq=actor.seq, lease_holder=who,
                        definitions=len(actor.defs()), oracle=oracle, inputs=inputs,
                        storage=actor.notices, running=actor.running(), **summary)


@method("session.execute", queues=True)
def session_execute(p: m.ExecuteParams, conn: Connection) -> Job:
    """Queue the command as it arrives, so one client's commands run in the order it sent them;
    the actor answers when it has run (dispatch.py: `queues`)."""
    store = store_of(conn)
    fresh = conn.daemon.sessions.live(store, p.session) is None
    actor = conn.daemon.sessions.actor(store, p.session)
    if fresh:
        legacy.note_legacy(actor, conn.env)
    job = actor.submit(p.command, conn, p.piped, detach=p.detach)
    job.memory_budget, job.step_budget = p.memory_budget, p.step_budget
    return job


@method("session.interrupt", inline=True)
async def session_interrupt(p: m.InterruptParams, conn: Connection) -> m.InterruptResult:
    check_name(p.session)
    actor = conn.daemon.sessions.live(store_of(conn), p.session)
    sender = conn if p.own else None
    return m.InterruptResult(interrupted=actor is not None and actor.interrupt(sender))


@method("session.checkpoints")
async def session_checkpoints(p: m.SessionParams, conn: Connection) -> m.CheckpointsResult:
    actor = await actor_of(conn, p.session)
    timeline = actor.loaded or actor.own_timeline()
    return m.CheckpointsResult(
        session=timeline.name,
        checkpoints=[m.CheckpointInfo(seq=c.seq, reason=c.reason, state_id=c.state_id)
                     for c in timeline.checkpoints],
    )


@method("session.trace")
async def session_trace(p: m.TraceParams, conn: Connection) -> m.TraceResult:
    actor = await actor_of(conn, p.session)
    timeline = actor.loaded or actor.own_timeline()
    first = max(0, p.from_seq)
    page = timeline.between(first - 1, first + max(0, p.limit) - 1)  # seqs are consecutive
    header = timeline.header if p.from_seq <= 0 else None
    return m.TraceResult(session=timeline.name, lines=render_trace(header, page, p.verbose),
                         total_events=timeline.event_count)


@method("session.goto")
async def session_goto(p: m.GotoParams, conn: Connection) -> m.OutputResult:
    return await _run(conn, p.session, Goto(p.seq))


@method("session.resume")
async def session_resume(p: m.SessionParams, conn: Connection) -> m.OutputResult:
    return await _run(conn, p.session, Resume())


@method("session.fork")
async def session_fork(p: m.ForkParams, conn: Connection) -> m.OutputResult:
    check_name(p.name)
    return await _run(conn, p.session, Fork(p.name))


@method("session.save")
async def session_save(p: m.SaveParams, conn: Connection) -> m.OutputResult:
    if p.name is None:
        actor = await actor_of(conn, p.session)
        actor.flush_index()
        conn.daemon.persister.wrote(*actor.files())
        await conn.daemon.persister.sync()
        return m.OutputResult(output="", session=actor.name)
    check_name(p.name)
    store = store_of(conn)
    target = conn.daemon.sessions.live(store, p.name)
    if target is not None and p.name != p.session and (target.busy or target.attached_live()):
        raise errors.SessionBusy(f"session '{p.name}' is open (it has its own writer); save to"
                                 " a new name, or close it first", {"session": p.name})
    return await _run(conn, p.session, Save(p.name))


@method("session.delete")
async def session_delete(p: m.SessionParams, conn: Connection) -> m.DeleteResult:
    check_name(p.session)
    deleted = await conn.daemon.sessions.delete(store_of(conn), p.session, conn)
    if not deleted:
        raise errors.SessionNotFound(f"Session '{p.session}' not found")
    return m.DeleteResult(deleted=True)


@method("session.complete")
async def session_complete(p: m.CompleteParams, conn: Connection) -> m.CompleteResult:
    actor = await actor_of(conn, p.session)
    if p.prefix.startswith(":"):
        pool = commands.command_names()
    else:
        pool = actor.state.bound_names()
    return m.CompleteResult(completions=[n for n in pool if n.startswith(p.prefix)])


@method("session.backtrace")
async def session_backtrace(p: m.SessionParams, conn: Connection) -> m.BacktraceResult:
    actor = await actor_of(conn, p.session)
    found, more = actor.backtrace
    return m.BacktraceResult(
        session=actor.name, more=more, text="\n".join(backtrace.render(found, more)),
        frames=[m.BacktraceFrame(procedure=f.procedure, form=f.form) for f in found])


@method("session.lookup")
async def session_lookup(p: m.LookupParams, conn: Connection) -> m.LookupResult:
    return lookup(await actor_of(conn, p.session), p.name)


@method("server.flush")
async def server_flush(p: m.FlushParams, conn: Connection) -> m.FlushResult:
    return m.FlushResult(sessions=await conn.daemon.sessions.flush_all())


@method("session.output", inline=True)
async def session_output(p: m.OutputNotice, conn: Connection) -> None:
    """Sent by the daemon to clients; a client sending it is ignored."""
