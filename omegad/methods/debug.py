"""debug.* methods: the stepping debugger for editors. Each runs the matching `:` command in the
session's actor (same queue, same text, same effects) and answers the debugger's state typed."""

from __future__ import annotations

from omegad.dispatch import method
from omegad.methods.session import _actor
from omegad.server import Connection
from omegad.sessions.debug import debugger
from protocol import methods as m


async def _debug(conn: Connection, session: str, command: str) -> m.DebugResult:
    actor = await _actor(conn, session)
    job = actor.submit(command, conn, piped=False)
    result = await job.wait()
    return m.DebugResult(session=actor.name, output=result.output,
                         **getattr(job, "debug_view", None) or debugger.typed(actor))


@method("debug.start")
async def start(p: m.DebugStartParams, conn: Connection) -> m.DebugResult:
    return await _debug(conn, p.session, f":debug {p.code}")


@method("debug.step")
async def step(p: m.DebugCountParams, conn: Connection) -> m.DebugResult:
    return await _debug(conn, p.session, f":step {p.count}")


@method("debug.run")
async def run(p: m.SessionParams, conn: Connection) -> m.DebugResult:
    return await _debug(conn, p.session, ":run")


@method("debug.goto")
async def goto(p: m.DebugGotoParams, conn: Connection) -> m.DebugResult:
    return await _debug(conn, p.session, f":goto {p.step}")


@method("debug.back")
async def back(p: m.DebugCountParams, conn: Connection) -> m.DebugResult:
    return await _debug(conn, p.session, f":back {p.count}")


@method("debug.stop")
async def stop(p: m.SessionParams, conn: Connection) -> m.DebugResult:
    return await _debug(conn, p.session, ":stop")


@method("debug.state")
async def state(p: m.SessionParams, conn: Connection) -> m.DebugResult:
    return await _debug(conn, p.session, ":state")


@method("debug.trace")
async def trace(p: m.DebugTraceParams, conn: Connection) -> m.DebugResult:
    return await _debug(conn, p.session, f":trace {max(0, p.start)} {p.count}")


@method("debug.breakpoints")
async def breakpoints(p: m.SessionParams, conn: Connection) -> m.DebugResult:
    return await _debug(conn, p.session, ":breaks")


@method("debug.break")
async def break_(p: m.DebugBreakParams, conn: Connection) -> m.DebugResult:
    return await _debug(conn, p.session, f":break {p.type} {p.condition}")


@method("debug.delbreak")
async def delbreak(p: m.DebugBreakpointParams, conn: Connection) -> m.DebugResult:
    return await _debug(conn, p.session, f":delbreak {p.id}")


@method("debug.toggle")
async def toggle(p: m.DebugBreakpointParams, conn: Connection) -> m.DebugResult:
    return await _debug(conn, p.session, f":toggle {p.id}")
