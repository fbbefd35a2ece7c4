"""A session's jobs share one cancel scope until one is interrupted (the actor's `_run_jobs`):
an interrupt stops only the command it was meant for, and never one that comes after."""

import pytest
import trio

from omegad.sessions.mailbox import Job
from protocol import errors
from tests.conftest import daemon_in_loop

LOOP = "(begin (set! x 2) (let loop ((i 0)) (loop (+ i 1))))"
# Long enough to run in many slices (of 2 ms), so a cancel left behind would stop it.
COUNT = "(let loop ((i 0)) (if (< i 20000) (loop (+ i 1)) 'done))"
LONG_COUNT = "(let loop ((i 0)) (if (< i 200000) (loop (+ i 1)) 'done))"  # a second or so


async def _until_running(watcher) -> None:
    while not (await watcher.call("server.status"))["running"]:
        await trio.sleep(0.001)


async def test_after_an_interrupt_the_next_commands_run_and_can_be_interrupted_in_turn(
        omega_env):
    async with daemon_in_loop(omega_env) as d:
        c, watcher = await d.client(), await d.client()
        await c.call("session.execute", {"session": "s", "command": "(define x 1)"})
        for _ in range(3):
            rid = await c.start("session.execute", {"session": "s", "command": LOOP})
            await _until_running(watcher)
            assert await watcher.call("session.interrupt", {"session": "s"}) == \
                {"interrupted": True}
            with pytest.raises(errors.RpcError, match="interrupted"):
                await c.wait(rid)
            r = await c.call("session.execute", {"session": "s", "command": COUNT})
            assert r["output"] == "=> done"
            r = await c.call("session.execute", {"session": "s", "command": "x"})
            assert r["output"] == "=> 1"  # the interrupted (set! x 2) was rolled back
        assert await watcher.call("session.interrupt", {"session": "s"}) == \
            {"interrupted": False}
        assert (await watcher.call("server.ping")) == {"pong": True}


async def test_a_cancel_that_comes_after_its_command_ran_stops_nothing_else(
        omega_env, monkeypatch):
    finished: list[Job] = []
    real = Job.finish

    def finish(job: Job) -> None:
        finished.append(job)
        real(job)

    monkeypatch.setattr(Job, "finish", finish)
    async with daemon_in_loop(omega_env) as d:
        c, watcher = await d.client(), await d.client()
        await c.call("session.execute", {"session": "s", "command": "(define x 1)"})
        ran = finished[-1]
        rid = await c.start("session.execute", {"session": "s", "command": LONG_COUNT})
        await _until_running(watcher)
        ran.abandon()  # as the cancel of a request whose command has run, come late
        assert (await watcher.call("server.status"))["running"]  # it came while the next ran
        assert (await c.wait(rid))["output"] == "=> done"
        r = await c.call("session.execute", {"session": "s", "command": "x"})
        assert r["output"] == "=> 1"
        assert len({id(job) for job in finished}) == len(finished) == 3  # each answered once
