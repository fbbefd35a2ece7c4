"""One connection's outgoing lines: written at once when the socket takes them, else queued.

Anyone may send without waiting (a session's actor answering a command, a notification while a
command runs): when nothing is queued, one non-blocking `write` puts the whole line on the socket,
which is the common case and costs no task switch. What the socket does not take waits in the
queue, in order, for the writer task. A client that stops reading must not stall the sessions
that talk to it: past `limit` queued bytes the connection is closed (as Redis does with a
client's output buffer), and the client reconnects.
"""

from __future__ import annotations

import logging
import os
from collections import deque
from collections.abc import Callable

import trio

log = logging.getLogger("omegad.server")

SOFT_LIMIT = 1 << 20  # a request's own answer waits for the queue to drain below this


class Outbox:
    def __init__(self, stream: trio.SocketStream, limit: int,
                 overflow: Callable[[], None]) -> None:
        self.stream = stream
        self.limit = limit
        self.overflow = overflow
        self.closed = False
        self._queue: deque[bytes] = deque()
        self._queued = 0  # bytes in the queue and in the writer's hands
        self._wake = trio.Event()
        self._drained = trio.Event()
        self._drained.set()

    def put(self, line: bytes) -> None:
        """Send one line (a newline is added); never waits."""
        # Asked afresh: once the stream is closed its number may already be another file's.
        fd = self.stream.socket.fileno()
        if self.closed or fd < 0:
            return
        data = line + b"\n"
        if not self._queued:
            try:
                sent = os.write(fd, data)
            except BlockingIOError:
                sent = 0
            except OSError:  # EPIPE, ECONNRESET: the client has gone
                self.closed = True
                return
            if sent == len(data):
                return
            data = data[sent:]
        self._enqueue(data)

    async def send(self, line: bytes) -> None:
        """Send one line; waits while the client is far behind (backpressure on its requests)."""
        self.put(line)
        while self._queued > SOFT_LIMIT and not self.closed:
            await self._drained.wait()

    def _enqueue(self, data: bytes) -> None:
        self._queue.append(data)
        self._queued += len(data)
        self._drained = trio.Event() if self._drained.is_set() else self._drained
        self._wake.set()
        if self._queued > self.limit:
            log.warning("a client stopped reading (%d bytes queued); closing its connection",
                        self._queued)
            self.closed = True
            self._queue.clear()
            self.overflow()

    async def run(self) -> None:
        """The writer task: sends what the socket did not take at once, in order."""
        while not self.closed:
            await self._wake.wait()
            self._wake = trio.Event()
            while self._queue and not self.closed:
                data = b"".join(self._queue)
                self._queue.clear()
                try:
                    await self.stream.send_all(data)
                except (trio.BrokenResourceError, trio.ClosedResourceError):
                    self.closed = True
                self._queued -= len(data)
            self._queued = 0 if self.closed else self._queued
            if not self._queued:
                self._drained.set()
        self._drained.set()

    async def flushed(self) -> None:
        """Return once everything put so far has reached the socket (or the client has gone)."""
        if not self.closed:
            await self._drained.wait()
