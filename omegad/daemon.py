"""The daemon as one object: its state, its root nursery, and its life from start to shutdown.

    Daemon.run
      root nursery ─ signal watcher (SIGTERM/SIGINT -> graceful shutdown), idle watcher,
      │              and whatever later issues start there (session manager, persistence worker)
      └ connection nursery ─ accept loop, one task per connection (see server.py)

Shutdown (signal, `server.shutdown`, idle exit): stop accepting, remove the socket, stop reading on
every connection, let in-flight requests finish (answered) within `shutdown_grace`, run the
registered cleanups (`on_shutdown`, e.g. "flush persistence") in reverse order, release the
session dirs, remove the pidfile.
"""

import logging
import os
import select
import signal
import socket
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import psutil
import trio

from omegad import collector
from omegad.config import Config
from omegad.lifecycle import PidFile, release_stop_signals
from omegad.persist.worker import Persister
from omegad.server import Connection, Server
from omegad.session_dirs import SessionDirs
from omegad.sessions.manager import SessionManager
from protocol.methods import StoppingNotice

log = logging.getLogger("omegad")

Cleanup = Callable[[], Awaitable[None]]


class Daemon:
    def __init__(
        self,
        config: Config,
        listen_sock: socket.socket,
        pidfile: PidFile,
        *,
        watch_signals: bool = True,
    ):
        """`watch_signals=False` for a daemon run outside the main thread (the tests' in-process
        daemon): only the main thread may receive signals; it is stopped by `request_shutdown`."""
        self.config = config
        self.pidfile = pidfile
        self.session_dirs = SessionDirs()
        self.connections: dict[int, Connection] = {}
        self.started_at = datetime.now(UTC)
        self.started_monotonic = time.monotonic()
        self.process = psutil.Process()
        self.process.cpu_percent(None)  # starts the measuring interval for server.status
        self.nursery: trio.Nursery  # the root nursery, for long-lived daemon tasks
        self.sessions: SessionManager  # the session actors (set up in run)
        self.stop_reason = ""
        self._listen_sock = listen_sock
        self._watch_signals_on = watch_signals
        self._socket_ino = os.lstat(config.socket).st_ino
        self._cleanups: list[Cleanup] = []
        self._stopping = False
        self._last_active = 0.0  # trio clock, set in run()
        self._stop: trio.Event  # set in run(), as trio Events belong to a run
        self._connections_changed: trio.Event

    # --- hooks for the rest of the daemon -------------------------------------------------------

    def on_shutdown(self, cleanup: Cleanup) -> None:
        """Await `cleanup()` at shutdown, after the last request was answered (reverse order)."""
        self._cleanups.append(cleanup)

    def request_shutdown(self, reason: str) -> None:
        if not self._stopping:
            self._stopping = True
            self.stop_reason = reason
            log.info("shutdown requested: %s", reason)
            self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stopping

    def uptime(self) -> float:
        return time.monotonic() - self.started_monotonic

    def connection_opened(self, conn: Connection) -> None:
        self.connections[conn.id] = conn
        self._changed()

    def connection_closed(self, conn: Connection) -> None:
        self.connections.pop(conn.id, None)
        self.sessions.connection_closed(conn)
        if conn.session_dir is not None:
            self.release_if_unused(conn.session_dir)
        self._changed()

    def release_if_unused(self, path: Path) -> None:
        """Let go of a session dir (its lock, its listing's watch) once no connection and no
        live session uses it; the next hello naming it takes it again."""
        if any(c.session_dir == path for c in self.connections.values()):
            return
        if self._stopping or self.sessions.uses(path):
            return
        self.sessions.forget_dir(path)
        self.session_dirs.release(path)

    def _changed(self) -> None:
        self._last_active = trio.current_time()
        self._connections_changed.set()
        self._connections_changed = trio.Event()

    # --- life ------------------------------------------------------------------------------------

    async def run(self) -> None:
        self._stop = trio.Event()
        self._connections_changed = trio.Event()
        self._last_active = trio.current_time()
        listener = trio.SocketListener(trio.socket.from_stdlib_socket(self._listen_sock))
        server = Server(self, listener)
        log.info("omegad %s (pid %d) listening on %s", _version(), os.getpid(), self.config.socket)
        try:
            async with trio.open_nursery() as root:
                self.nursery = root
                self.persister = Persister(self.config.fsync)
                root.start_soon(self.persister.run)
                self.sessions = SessionManager(
                    root, self.persister, self.config.max_sessions, self.config.max_memory
                )
                self.sessions.on_dir_idle = self.release_if_unused
                self.on_shutdown(self._close_sessions)
                root.start_soon(collector.run, lambda: not self.sessions.pool)
                if self._watch_signals_on:
                    root.start_soon(self._watch_signals)
                if self.config.idle_exit is not None:
                    root.start_soon(self._watch_idle, self.config.idle_exit)
                async with trio.open_nursery() as conns:
                    accept_scope = trio.CancelScope()

                    async def accept() -> None:
                        with accept_scope:
                            await server.accept_loop(conns)

                    conns.start_soon(accept)
                    await self._stop.wait()
                    accept_scope.cancel()
                    await listener.aclose()
                    self._remove_socket()
                    notice = StoppingNotice(reason=self.stop_reason or "stopping")
                    for conn in list(self.connections.values()):
                        await conn.notify("server.stopping", notice)
                        conn.drain()
                    with trio.move_on_after(self.config.shutdown_grace) as grace:
                        while self.connections:
                            await self._connections_changed.wait()
                    if grace.cancelled_caught:
                        log.warning("cancelling %d connection(s) still busy", len(self.connections))
                    conns.cancel_scope.cancel()
                for cleanup in reversed(self._cleanups):
                    try:
                        await cleanup()
                    except Exception:
                        log.exception("shutdown cleanup %r failed", cleanup)
                root.cancel_scope.cancel()
        finally:
            self.session_dirs.release_all()
            self._remove_socket()
            self.pidfile.remove()
            log.info("omegad stopped (%s)", self.stop_reason or "no reason given")

    async def _close_sessions(self) -> None:
        """Last cleanup: every index written, every file fsync'd and closed."""
        self.sessions.close_all()

    def _remove_socket(self) -> None:
        """Unlink our socket file, unless it is gone or is already another daemon's."""
        try:
            if os.lstat(self.config.socket).st_ino == self._socket_ino:
                os.unlink(self.config.socket)
        except OSError:
            pass

    async def _watch_signals(self) -> None:
        with trio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
            release_stop_signals()  # held since before the socket listened (see __main__.py)
            async for signum in signals:
                self.request_shutdown(f"signal {signal.Signals(signum).name}")

    async def _watch_idle(self, seconds: float) -> None:
        while not self._stopping:
            if self.connections:
                await self._connections_changed.wait()
                continue
            with trio.move_on_at(self._last_active + seconds) as idle:
                await self._connections_changed.wait()
            if idle.cancelled_caught and not self.connections and not self._backlog_waiting():
                self.request_shutdown(f"idle for {seconds:g} s")
                return
            self._last_active = trio.current_time()

    def _backlog_waiting(self) -> bool:
        """A client has connected but is not accepted yet (so we are not idle)."""
        readable, _, _ = select.select([self._listen_sock], [], [], 0)
        return bool(readable)


def _version() -> str:
    from omegad import __version__

    return __version__
