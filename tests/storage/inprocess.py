"""A real omegad run in the test's own process (trio), with a line-level JSON-RPC client.

    async with running(root) as d:
        out = await d.execute("s", "(define a 1)")      # the command's output, or RpcFailure

The daemon is the real one (server, actors, persistence worker) on a socket under `root`;
leaving the block shuts it down as SIGTERM would (every file flushed and closed).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import trio

import omegad.methods  # noqa: F401  (registers the handlers)
from omegad.config import Config
from omegad.daemon import Daemon
from omegad.lifecycle import PidFile, bind_socket


class RpcFailure(Exception):
    def __init__(self, error: dict[str, Any]) -> None:
        super().__init__(f"{error['code']}: {error['message']}")
        self.code = error["code"]
        self.message = error["message"]
        self.data = error.get("data")


@dataclass
class Running:
    daemon: Daemon
    stream: trio.SocketStream
    sessions: Path
    buf: bytearray = field(default_factory=bytearray)
    ids: itertools.count = field(default_factory=lambda: itertools.count(1))
    notices: list[dict[str, Any]] = field(default_factory=list)

    async def call(self, method: str, params: dict[str, Any] | None = None) -> Any:
        rid = next(self.ids)
        message = {"jsonrpc": "2.0", "method": method, "id": rid, "params": params or {}}
        await self.stream.send_all(json.dumps(message).encode() + b"\n")
        while True:
            answer = await self._line()
            if answer.get("id") == rid:
                if "error" in answer:
                    raise RpcFailure(answer["error"])
                return answer["result"]
            self.notices.append(answer)

    async def execute(self, session: str, command: str) -> str:
        result = await self.call("session.execute", {"session": session, "command": command})
        return result["output"]

    async def connection(self) -> Running:
        """Another client of the same daemon (close it with `close`)."""
        stream = await trio.open_unix_socket(str(self.daemon.config.socket))
        other = Running(self.daemon, stream, self.sessions)
        await other.call("server.hello", {"client": "other",
                                          "session_dir": str(self.sessions.parent)})
        return other

    async def close(self) -> None:
        await self.stream.aclose()

    async def _line(self) -> dict[str, Any]:
        while b"\n" not in self.buf:
            chunk = await self.stream.receive_some()
            assert chunk, "the daemon closed the connection"
            self.buf += chunk
        line, _, rest = bytes(self.buf).partition(b"\n")
        self.buf[:] = rest
        return json.loads(line)


@asynccontextmanager
async def running(root: Path, fsync: str = "everysec",
                  env: dict[str, str] | None = None) -> AsyncIterator[Running]:
    config = Config(socket=root / "d.sock", session_dir=root / "sd", foreground=True,
                    private_runtime_dir=False, shutdown_grace=5, fsync=fsync)
    daemon = Daemon(config, bind_socket(config.socket, private_dir=False),
                    PidFile(config.pidfile))
    async with trio.open_nursery() as nursery:
        nursery.start_soon(daemon.run)
        stream = await trio.open_unix_socket(str(config.socket))
        d = Running(daemon, stream, config.session_dir / "sessions")
        await d.call("server.hello", {"client": "test", "session_dir": str(config.session_dir),
                                      "env": env or {}})
        try:
            yield d
        finally:
            await stream.aclose()
            daemon.request_shutdown("test")
