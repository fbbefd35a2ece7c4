"""Fixtures of the trust tests: a 1777 dir both users can write to, and an in-process daemon."""

import json
import shutil
import tempfile
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
import trio

import omegad.methods  # noqa: F401  (registers the handlers)
from omegad.config import Config
from omegad.daemon import Daemon
from omegad.lifecycle import PidFile, bind_socket
from tests.trust.other_user import shared_dir


@pytest.fixture
def shared():
    """A 1777 dir both users can write to, removed after the test."""
    d = shared_dir()
    yield d
    shutil.rmtree(d, ignore_errors=True)


class Wire:
    """One client connection to the in-process daemon: `call` returns the whole reply."""

    def __init__(self, stream: trio.SocketStream) -> None:
        self.stream = stream
        self.buf = bytearray()
        self.ids = 0

    async def call(self, method: str, params: dict | None = None) -> dict:
        self.ids += 1
        message = {"jsonrpc": "2.0", "method": method, "id": self.ids}
        if params is not None:
            message["params"] = params
        await self.stream.send_all(json.dumps(message).encode() + b"\n")
        while True:
            reply = await self._line()
            if reply.get("id") == self.ids:
                return reply

    async def result(self, method: str, params: dict | None = None) -> dict:
        reply = await self.call(method, params)
        assert "result" in reply, reply
        return reply["result"]

    async def _line(self) -> dict:
        while b"\n" not in self.buf:
            chunk = await self.stream.receive_some()
            assert chunk, "connection closed"
            self.buf += chunk
        line, _, rest = bytes(self.buf).partition(b"\n")
        self.buf[:] = rest
        return json.loads(line)


class InProcess:
    def __init__(self, daemon: Daemon, root: Path) -> None:
        self.daemon = daemon
        self.root = root
        self.socket = daemon.config.socket

    @asynccontextmanager
    async def wire(self):
        stream = await trio.open_unix_socket(str(self.socket))
        try:
            yield Wire(stream)
        finally:
            await stream.aclose()


@pytest.fixture
async def inproc(nursery):
    """A real daemon (server, actors, persistence worker) running in the test's trio loop."""
    root = Path(tempfile.mkdtemp(prefix="om-", dir="/tmp"))
    (root / "run").mkdir(mode=0o700)
    config = Config(socket=root / "run" / "d.sock", session_dir=root / "sessions",
                    foreground=True, shutdown_grace=5)
    daemon = Daemon(config, bind_socket(config.socket, private_dir=True), PidFile(config.pidfile))
    done = trio.Event()

    async def run() -> None:
        try:
            await daemon.run()
        finally:
            done.set()

    nursery.start_soon(run)
    try:
        yield InProcess(daemon, root)
    finally:
        daemon.request_shutdown("test over")
        await done.wait()
        shutil.rmtree(root, ignore_errors=True)
