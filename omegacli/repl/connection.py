"""The REPL's connection to the daemon on asyncio (prompt_toolkit's loop): requests as futures,
notifications to a callback, and one `on_lost` call when the daemon goes away.

It starts from a blocking `omegacli.client.Client` whose `server.hello` succeeded (autostart does
that part), and takes its socket over.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
from collections.abc import Callable, Iterator

from omegacli.client import Client, DaemonUnreachable
from protocol import errors

Notice = Callable[[str, dict], None]


class Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 on_notification: Notice, on_lost: Callable[[], None]):
        self.reader, self.writer = reader, writer
        self.on_notification = on_notification
        self.on_lost = on_lost
        self.pending: dict[int, asyncio.Future] = {}
        self.ids = itertools.count(1)
        self.lost = False
        self._held: list[bytes] | None = None  # messages of a `together()` block
        self.task = asyncio.get_running_loop().create_task(self._read_loop())

    @classmethod
    async def adopt(cls, client: Client, on_notification: Notice,
                    on_lost: Callable[[], None]) -> Connection:
        sock = client.sock
        sock.settimeout(None)
        reader, writer = await asyncio.open_unix_connection(sock=sock, limit=64 * 1024 * 1024)
        if client._buf:
            reader.feed_data(client._buf)
        return cls(reader, writer, on_notification, on_lost)

    def start(self, method: str, params: dict) -> tuple[int, asyncio.Future]:
        """Send a request; its answer resolves the future (RpcError / DaemonUnreachable raised)."""
        rid = next(self.ids)
        future = asyncio.get_running_loop().create_future()
        if self.lost:
            future.set_exception(DaemonUnreachable("the daemon is not connected"))
            return rid, future
        self.pending[rid] = future
        self._send({"jsonrpc": "2.0", "id": rid, "method": method, "params": params})
        return rid, future

    async def call(self, method: str, params: dict) -> dict:
        return await self.start(method, params)[1]

    def notify(self, method: str, params: dict) -> None:
        if not self.lost:
            self._send({"jsonrpc": "2.0", "method": method, "params": params})

    @contextlib.contextmanager
    def together(self) -> Iterator[None]:
        """The messages sent inside the block leave in one write, so that the daemon reads and
        handles them in one go (with two writes it may act on the first alone)."""
        self._held = []
        try:
            yield
        finally:
            held, self._held = self._held, None
            if held:
                self.writer.write(b"".join(held))

    def _send(self, message: dict) -> None:
        data = json.dumps(message, separators=(",", ":")).encode() + b"\n"
        if self._held is not None:
            self._held.append(data)
        else:
            self.writer.write(data)

    async def _read_loop(self) -> None:
        try:
            while True:
                line = await self.reader.readline()
                if not line.endswith(b"\n"):
                    break
                try:
                    message = json.loads(line)
                except ValueError:
                    continue
                if not isinstance(message, dict):
                    continue
                if "method" in message:
                    self.on_notification(message["method"], message.get("params") or {})
                    continue
                rid = message.get("id")
                future = self.pending.pop(rid, None) if isinstance(rid, int) else None
                if future is None or future.done():
                    continue
                if "error" in message:
                    err = message["error"]
                    future.set_exception(errors.RpcError(err.get("message"), err.get("data"),
                                                         code=err.get("code")))
                else:
                    future.set_result(message.get("result"))
        except (ConnectionError, OSError, asyncio.LimitOverrunError, ValueError):
            pass
        finally:
            self._lose()

    def _lose(self) -> None:
        if self.lost:
            return
        self.lost = True
        for future in self.pending.values():
            if not future.done():
                future.set_exception(DaemonUnreachable("the daemon closed the connection"))
        self.pending.clear()
        self.writer.close()
        self.on_lost()

    def close(self) -> None:
        """Close on purpose: `on_lost` is not called."""
        self.on_lost = lambda: None
        self.task.cancel()
        if not self.lost:
            self.lost = True
            self.writer.close()
