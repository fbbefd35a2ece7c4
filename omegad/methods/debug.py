"""debug.* methods: the stepping debugger for editors. Each submits the matching operation to the
session's actor (same queue, same text, same effects as the `:` command) and answers the
debugger's state typed."""

from __future__ import annotations

from omegad.dispatch import method
from omegad.methods.finding import actor_of
from omegad.server import Connection
from omegad.sessions import commands
from omegad.sessions import operations as op
from protocol import methods as m


async def _debug(conn: Connection, session: str, operation: op.DebugOperation) -> m.DebugResult:
    actor = await actor_of(conn, session)
    job = actor.submit(commands.line_of(operation), conn, piped=False, op=operation)
    result = await job.wait()
    return m.DebugResult(session=actor.name, output=result.output,
                         **job.data or actor.debugger().typed())


@method("debug.start")
async def start(p: m.DebugStartParams, conn: Connection) -> m.DebugResult:
    return await _debug(conn, p.session, op.DebugStart(p.code.strip()))


@method("debug.step")
async def step(p: m.DebugCountParams, conn: Connection) -> m.DebugResult:
    return await _debug(conn, p.session, op.DebugStep(p.count))


@method("debug.run")
async def run(p: m.SessionParams, conn: Connection) -> m.DebugResult:
    return await _debug(conn, p.session, op.DebugContinue())


@method("debug.goto")
async def goto(p: m.DebugGotoParams, conn: Connection) -> m.DebugResult:
    return await _debug(conn, p.session, op.DebugGoto(p.step))


@method("debug.back")
async def back(p: m.DebugCountParams, conn: Connection) -> m.DebugResult:
    return await _debug(conn, p.session, op.DebugBack(p.count))


@method("debug.stop")
async def stop(p: m.SessionParams, conn: Connection) -> m.DebugResult:
    return await _debug(conn, p.session, op.DebugStop())


@method("debug.state")
async def state(p: m.SessionParams, conn: Connection) -> m.DebugResult:
    return await _debug(conn, p.session, op.DebugState())


@method("debug.trace")
async def trace(p: m.DebugTraceParams, conn: Connection) -> m.DebugResult:
    return await _debug(conn, p.session, op.DebugTrace(max(0, p.start), p.count or 20))


@method("debug.breakpoints")
async def breakpoints(p: m.SessionParams, conn: Connection) -> m.DebugResult:
    return await _debug(conn, p.session, op.DebugBreakpoints())


@method("debug.break")
async def break_(p: m.DebugBreakParams, conn: Connection) -> m.DebugResult:
    return await _debug(conn, p.session, op.DebugBreak(p.type, p.condition))


@method("debug.delbreak")
async def delbreak(p: m.DebugBreakpointParams, conn: Connection) -> m.DebugResult:
    return await _debug(conn, p.session, op.DebugDelbreak(p.id))


@method("debug.toggle")
async def toggle(p: m.DebugBreakpointParams, conn: Connection) -> m.DebugResult:
    return await _debug(conn, p.session, op.DebugToggle(p.id))
