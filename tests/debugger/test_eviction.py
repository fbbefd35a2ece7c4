"""Debugger state is part of the session: an evicted session's actor comes back with it."""

import json
import shutil
import tempfile
from pathlib import Path

import pytest
import trio

import omegad.methods  # noqa: F401  (registers the handlers)
from omegad.config import Config
from omegad.daemon import Daemon
from omegad.lifecycle import PidFile, bind_socket


@pytest.fixture
def config():
    root = Path(tempfile.mkdtemp(prefix="om-", dir="/tmp"))
    yield Config(socket=root / "d.sock", session_dir=root / "sessions", foreground=True,
                 private_runtime_dir=False, shutdown_grace=5, max_sessions=1)
    shutil.rmtree(root, ignore_errors=True)


async def test_an_evicted_session_keeps_its_debugger(config):
    daemon = Daemon(config, bind_socket(config.socket, private_dir=False), PidFile(config.pidfile))
    async with trio.open_nursery() as nursery:
        nursery.start_soon(daemon.run)
        stream = await trio.open_unix_socket(str(config.socket))
        buf = bytearray()
        ids = iter(range(1, 1000))

        async def execute(session: str, command: str) -> str:
            i = next(ids)
            msg = {"jsonrpc": "2.0", "id": i, "method": "session.execute",
                   "params": {"session": session, "command": command}}
            await stream.send_all(json.dumps(msg).encode() + b"\n")
            while True:
                while b"\n" not in buf:
                    buf.extend(await stream.receive_some())
                line, _, rest = bytes(buf).partition(b"\n")
                buf[:] = rest
                reply = json.loads(line)
                if reply.get("id") == i:
                    return reply["result"]["output"]

        await execute("a", "(define (fib n) (if (< n 2) n (+ (fib (- n 1)) (fib (- n 2)))))")
        await execute("a", ":debug (fib 6)")
        await execute("a", ":step 9")
        await execute("a", ":break step 20")
        state = await execute("a", ":state")
        first = daemon.sessions.pool[(config.session_dir, "a")]
        await execute("b", "(+ 1 2)")                    # one session in memory: a goes
        assert (config.session_dir, "a") not in daemon.sessions.pool
        assert await execute("a", ":state") == state
        assert await execute("a", ":breaks") == "Breakpoints:\n  1: step = 20 [enabled]"
        out = await execute("a", ":run")
        assert "*** Breakpoint 1 hit at step 20 ***" in out
        assert daemon.sessions.pool[(config.session_dir, "a")] is not first
        daemon.request_shutdown("test")
