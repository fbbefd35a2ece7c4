"""Accept connections, check each peer's uid, and run each connection's read loop.

Each connection owns a nursery for its in-flight requests: a request runs in a task of its own,
inside a `CancelScope` kept in `Connection.in_flight` by request id, so a slow request never blocks
a fast one behind it and `$/cancelRequest` is one lookup and `cancel()`. A route that `queues`
(session.execute) spawns no task: the session's actor sends the answer when the command is done.
Answers may leave in any order; the outbox (outbox.py) keeps each line whole on the socket.
"""

from __future__ import annotations

import errno
import itertools
import logging
import os
import select
import socket
import struct
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import msgspec
import trio
from msgspec import UNSET, Raw

from omegad import collector
from omegad.dispatch import (
    Answering,
    Outcome,
    Route,
    dispatch,
    dispatch_notification,
    notified,
    prepare,
    run,
    unanswered,
)
from omegad.lang import string_pieces
from omegad.outbox import Outbox
from omegad.sessions import engine
from protocol import errors, long_strings
from protocol.framing import LineBuffer, LineTooLong
from protocol.messages import (
    Id,
    Request,
    batch_decoder,
    encode_error,
    encode_notification,
    encode_result,
    request_decoder,
)
from protocol.methods import DotEnv, Params

if TYPE_CHECKING:
    from datetime import datetime

    import psutil

    from omegad.config import Config
    from omegad.persist.worker import Persister
    from omegad.session_dirs import SessionDirs
    from omegad.sessions.manager import SessionManager

log = logging.getLogger("omegad.server")

RECV_SIZE = 256 * 1024
BUSY_READS = 4  # reads in a row that found data waiting, after which the read loop yields
BIG_LINE = 1 << 20  # bytes: a request line this long is decoded in a task step of its own
OUTBOX_LIMIT = 64 << 20  # bytes a client may fall behind before it is disconnected
HANG_UP_POLL = 0.05  # seconds between checks for a half-closed client's hang-up
_ACCEPT_RETRY_ERRNOS = {errno.EMFILE, errno.ENFILE, errno.ENOMEM, errno.ENOBUFS}


class Host(Protocol):
    """The daemon as its connections and their handlers see it (omegad.daemon.Daemon is the one
    there is: declared here, so that this module does not depend on the daemon around it)."""

    @property
    def config(self) -> Config: ...

    @property
    def session_dirs(self) -> SessionDirs: ...

    @property
    def sessions(self) -> SessionManager: ...

    @property
    def persister(self) -> Persister: ...

    @property
    def connections(self) -> dict[int, Connection]: ...

    @property
    def process(self) -> psutil.Process: ...

    @property
    def started_at(self) -> datetime: ...

    def uptime(self) -> float: ...

    def request_shutdown(self, reason: str) -> None: ...

    def release_if_unused(self, path: Path) -> None: ...

    def connection_opened(self, conn: Connection) -> None: ...

    def connection_closed(self, conn: Connection) -> None: ...


def peer_hung_up(sock: Any) -> bool:
    """The peer closed the socket entirely (exited, crashed, was killed), as opposed to only
    shutting down its writing half."""
    poller = select.poll()
    poller.register(sock.fileno(), select.POLLIN)
    return any(events & (select.POLLHUP | select.POLLERR) for _fd, events in poller.poll(0))


def peer_credentials(sock: Any) -> tuple[int, int, int] | None:
    """(pid, uid, gid) of the process at the other end of a Unix socket, where the OS says."""
    try:
        raw = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    except (AttributeError, OSError):
        return None
    return struct.unpack("3i", raw)


class Connection:
    """One client connection; handlers receive it as their context (`conn`).

    What a handler may use: `daemon` (daemon-wide state), `client`, `session_dir`, `env`, `cwd`
    and `dotenv` (from `server.hello`), `peer_pid`, `notify(method, params)` to stream a
    notification to this client while a request runs, and `cancel(id)`.
    """

    def __init__(self, daemon: Host, stream: trio.SocketStream, cid: int, peer_pid: int | None):
        self.daemon = daemon
        self.stream = stream
        self.id = cid
        self.peer_pid = peer_pid
        self.client = ""
        self.session_dir: Path | None = None
        self.env: dict[str, str] = dict(daemon.config.settings)  # until server.hello says
        self.cwd: Path | None = None  # the client's working directory, if its hello sent one
        self.dotenv: DotEnv | None = None  # what the client did with its .env (server.hello)
        self.in_flight: dict[Id, trio.CancelScope | _Answer] = {}
        self.connected_at = time.monotonic()
        self.outbox = Outbox(stream, OUTBOX_LIMIT, self._abort)
        self._answering = 0  # in-flight requests that their work answers (no task of theirs)
        self._answered = trio.Event()
        self._handed_off = False  # a request was just queued on an actor (_let_actors_answer)
        self._reads_in_a_row = 0  # reads that found data without waiting or yielding
        self._recv_scope = trio.CancelScope()  # the reads' (_read_loop)
        self._reading = False  # the read loop waits for the client (or lets others run)
        self._scope = trio.CancelScope()
        self._draining = False
        self.closed = False

    # --- what handlers use -------------------------------------------------------------------

    async def notify(self, method: str, params: Any = UNSET) -> None:
        """Send a notification to this client (dropped silently if it has gone). Never waits:
        a session streaming output must not stall behind a client that reads slowly."""
        self.notify_encoded(method, encode_notification(method, params))

    def notify_encoded(self, method: str, line: bytes) -> None:
        """`notify` with its line encoded already: a session's output is encoded once for all
        the clients it goes to (a 1 MiB text is ~4 ms an encoding)."""
        if len(line) > self.daemon.config.max_line:
            log.warning("notification %s dropped: %d bytes, over the message limit",
                        method, len(line))
            return
        self.outbox.put(line)

    def cancel(self, request_id: Id) -> bool:
        scope = self.in_flight.get(request_id)
        if scope is None:
            return False
        scope.cancel()
        return True

    def effective_session_dir(self) -> Path:
        """The hello's session dir, else the daemon's default (opened and locked on first use)."""
        if self.session_dir is None:
            self.session_dir = self.daemon.session_dirs.acquire(self.daemon.config.session_dir)
        return self.session_dir

    # --- the read loop -----------------------------------------------------------------------

    def drain(self) -> None:
        """Stop reading; requests already in flight are still answered. A read that waits for
        the client is stopped at once; otherwise the loop stops before its next read."""
        self._draining = True
        if self._reading:
            self._recv_scope.cancel()

    async def serve(self) -> None:
        try:
            with self._scope:
                async with trio.open_nursery() as writer:
                    writer.start_soon(self.outbox.run)
                    await self._read_loop()
                    await self._all_answered()
                    await self.outbox.flushed()
                    writer.cancel_scope.cancel()
        finally:
            self.closed = True
            for entry in list(self.in_flight.values()):  # cancelled (shutdown): stop their work
                if isinstance(entry, _Answer):
                    entry.work.abandon()
            await self.stream.aclose()

    def _abort(self) -> None:
        """The client fell too far behind: drop the connection (its sessions go on)."""
        self.closed = True
        self._scope.cancel()

    async def _read_loop(self) -> None:
        """Read and handle the client's requests until it goes or the connection drains.

        Its reads are in one CancelScope, which drain() cancels only while a read waits (a
        scope per read was ~8 µs of CPU per request, 47 000 instructions). A read that ended
        just as drain() came has its lines handled outside the cancelled scope, as every read's
        are: drained, the loop stops reading, never in the middle of a request."""
        buf = LineBuffer(self.daemon.config.max_line)
        async with trio.open_nursery() as nursery:
            data: bytes | None = None
            with self._recv_scope:
                while not self._draining:
                    data = await self._receive()
                    if self._recv_scope.cancel_called:
                        break
                    go_on = await self._take(data, buf, nursery)
                    data = None
                    if not go_on:
                        break
            if data is not None:
                await self._take(data, buf, nursery)
            if buf.pending:
                log.debug(
                    "connection %d: dropped %d bytes of an unfinished line",
                    self.id,
                    buf.pending,
                )

    async def _take(self, data: bytes, buf: LineBuffer, nursery: trio.Nursery) -> bool:
        """Handle what one read brought; whether to read on."""
        if not data:  # the client has gone (its lease ends now, not once answered)
            self.closed = True
            if peer_hung_up(self.stream.socket):
                self._drop_work()
            else:  # it only stopped writing: it may still read the answers
                nursery.start_soon(self._drop_work_on_hang_up)
            return False
        try:
            lines = buf.feed(data)
        except LineTooLong as e:
            log.warning("connection %d: %s; closing it", self.id, e)
            await self._send(
                encode_error(None, errors.InvalidRequest(f"Invalid Request: {e}"))
            )
            nursery.cancel_scope.cancel()
            return False
        for line in lines:
            await self._on_line(line, nursery)
        if self._handed_off:
            await self._let_actors_answer()
        return True

    def _drop_work(self) -> None:
        """The client has gone: what it asked for goes with it. Its queued commands are
        dropped and the running one interrupted (rolled back), except those it detached."""
        for entry in list(self.in_flight.values()):
            if not isinstance(entry, _Answer):
                entry.cancel()  # a request with a task of its own (a batch's execute: Job.wait)
            elif entry.work.detached:
                self._forget(entry)
            else:
                entry.cancel()

    async def _drop_work_on_hang_up(self) -> None:
        """After a half-close, wait for the client to close its reading half too (a client
        that sent its requests and waits for the answers, as `socat` does, keeps them)."""
        while self.in_flight:
            if peer_hung_up(self.stream.socket):
                self._drop_work()
                return
            await trio.sleep(HANG_UP_POLL)

    async def _let_actors_answer(self) -> None:
        """Let the actors just handed commands run before this loop waits for the socket again.

        Two yields: after the first, this task and the woken actors share one scheduler batch in
        either order; after the second, the actors have had their turn. A command that does not
        wait has then been answered, and the next read (and, when nothing is there, registering
        the socket with epoll) happens after the answer has left instead of before the actor
        starts."""
        self._handed_off = False
        await trio.lowlevel.checkpoint()
        await trio.lowlevel.checkpoint()
        self._reads_in_a_row = 0

    async def _receive(self) -> bytes:
        """The next bytes from the client; b"" once it has gone.

        Like trio's `receive_some`, it reads first and waits for readiness only when nothing is
        there. Unlike it, it does not yield once more after every successful read, a scheduler
        pass on the path of every round trip (measured: ping 33 -> 27 us, execute 121 -> 104
        us). A client that keeps the socket busy, so that reads find data without waiting, is
        still made to let the others run (and to see a cancellation: `drain` also stops the
        loop by its flag) every `BUSY_READS` reads in a row. Where it waits or yields, it is
        `_reading`: drain() may cancel it there.
        """
        sock = self.stream.socket
        waited = False
        while True:
            try:
                data = os.read(sock.fileno(), RECV_SIZE)
            except BlockingIOError:
                waited = True
                self._reading = True
                try:
                    await trio.lowlevel.wait_readable(sock)
                except (trio.BrokenResourceError, trio.ClosedResourceError):
                    return b""
                finally:
                    self._reading = False
                continue
            except OSError:
                return b""
            self._reads_in_a_row = 0 if waited else self._reads_in_a_row + 1
            if self._reads_in_a_row >= BUSY_READS:
                self._reads_in_a_row = 0
                self._reading = True
                try:
                    await trio.lowlevel.checkpoint()
                finally:
                    self._reading = False
            return data

    async def _send(self, line: bytes) -> None:
        await self.outbox.send(line)

    async def _on_line(self, line: bytes | bytearray, nursery: trio.Nursery) -> None:
        collector.activity()  # a request: no time for a full collection or the warm-up
        if len(line) > BIG_LINE:  # reading it was one step; decoding it is others
            await trio.lowlevel.checkpoint()
            lifted = await _decode_long_request(line)
            if lifted is not None:
                await self._start(*lifted, nursery)
                return
        try:
            req = request_decoder.decode(line)
        except msgspec.ValidationError:
            await self._on_non_request(line, nursery)
            return
        except (msgspec.DecodeError, UnicodeDecodeError) as e:
            await self._send(encode_error(None, errors.ParseError(f"Parse error: {e}")))
            return
        await self._start(req, UNSET, nursery)

    async def _on_non_request(self, line: bytes | bytearray, nursery: trio.Nursery) -> None:
        """Not a request: malformed JSON, a batch, or valid JSON that is no request."""
        try:
            obj = msgspec.json.decode(line)
        except (msgspec.DecodeError, UnicodeDecodeError) as e:
            await self._send(encode_error(None, errors.ParseError(f"Parse error: {e}")))
            return
        if not isinstance(obj, list):
            await self._send(encode_error(_salvage_id(obj), _invalid_request(line)))
            return
        if not obj:
            empty = errors.InvalidRequest("Invalid Request: empty batch")
            await self._send(encode_error(None, empty))
            return
        nursery.start_soon(self._run_batch, batch_decoder.decode(line))

    async def _start(self, req: Request, decoded: Any, nursery: trio.Nursery) -> None:
        """Run a request; `decoded`: its params' JSON value, if decoded already (else UNSET)."""
        if req.id is not UNSET and req.id in self.in_flight:
            await self._send(_duplicate(req.id))
            return
        try:
            route, params = prepare(req, decoded)
            work = route.handler(params, self) if route.queues else None  # in arrival order
        except errors.RpcError as e:
            if req.id is not UNSET:  # a notification is never answered, even with an error
                await self._send(encode_error(req.id, e))
            return
        if req.id is UNSET:
            if work is not None:
                nursery.start_soon(unanswered, work)
            elif route.runs_inline(params):
                await notified(route, params, req, self)
            else:
                nursery.start_soon(notified, route, params, req, self)
            return
        rid = req.id
        if work is not None:  # its work answers it: no task of its own
            self._await_answer(rid, work)
            return
        if rid in self.in_flight:
            await self._send(_duplicate(rid))
            return
        if route.runs_inline(params):
            await self._send(await run(route, params, rid, req, self))
            return
        scope = self._admit(rid)
        if scope is None:
            await self._send(_duplicate(rid))
            return
        nursery.start_soon(self._run_request, req, rid, scope, (route, params))

    def _await_answer(self, rid: Id, work: Answering) -> None:
        entry = self.in_flight[rid] = _Answer(self, rid, work)
        self._answering += 1
        self._handed_off = True
        work.when_done(entry.answer)

    def _answer_now(self, entry: _Answer, outcome: Outcome) -> None:
        if not self._forget(entry):
            return  # answered already (cancelled), or its client has gone (detached)
        if isinstance(outcome, errors.RpcError):
            self.outbox.put(encode_error(entry.rid, outcome))
        else:
            self.outbox.put(self._fit(entry.rid, encode_result(entry.rid, outcome)))

    def _forget(self, entry: _Answer) -> bool:
        """Stop waiting to answer `entry` (False if it was not awaited any more)."""
        if self.in_flight.get(entry.rid) is not entry:
            return False
        del self.in_flight[entry.rid]
        self._answering -= 1
        if not self._answering:
            self._answered.set()
        return True

    async def _all_answered(self) -> None:
        """Wait for the requests whose work answers them (the client may still read them)."""
        while self._answering:
            self._answered = trio.Event()
            await self._answered.wait()

    def _admit(self, rid: Id) -> trio.CancelScope | None:
        if rid in self.in_flight:
            return None
        scope = self.in_flight[rid] = trio.CancelScope()
        return scope

    async def _answer(
        self,
        req: Request,
        rid: Id,
        scope: trio.CancelScope,
        prepared: tuple[Route, Params] | None = None,
    ) -> bytes:
        """Run admitted request `rid` in its cancel scope; -32800 if it was cancelled."""
        reply = None
        try:
            with scope:
                if prepared is None:
                    reply = await dispatch(req, rid, self)
                else:
                    reply = await run(*prepared, rid, req, self)
        finally:
            self.in_flight.pop(rid, None)
        if reply is None:
            return encode_error(rid, errors.Interrupted("Interrupted: request cancelled"))
        return self._fit(rid, reply)

    def _fit(self, rid: Id, line: bytes) -> bytes:
        """No line leaves above the framing limit the daemon itself accepts: a reply that
        would is answered with an error naming its size instead."""
        limit = self.daemon.config.max_line
        if len(line) <= limit:
            return line
        return encode_error(rid, errors.InternalError(
            f"reply too large: {len(line)} bytes, over the {limit}-byte message limit"))

    async def _run_request(
        self, req: Request, rid: Id, scope: trio.CancelScope, prepared: tuple[Route, Params]
    ) -> None:
        await self._send(await self._answer(req, rid, scope, prepared))

    async def _run_batch(self, items: list[Raw]) -> None:
        replies: list[bytes | None] = [None] * len(items)

        async def run(i: int, req: Request, rid: Id, scope: trio.CancelScope) -> None:
            replies[i] = await self._answer(req, rid, scope)

        async with trio.open_nursery() as nursery:
            for i, raw in enumerate(items):
                try:
                    req = request_decoder.decode(raw)
                except msgspec.DecodeError:
                    obj = msgspec.json.decode(raw)
                    replies[i] = encode_error(_salvage_id(obj), _invalid_request(raw))
                    continue
                if req.id is UNSET:
                    nursery.start_soon(dispatch_notification, req, self)
                    continue
                scope = self._admit(req.id)
                if scope is None:
                    replies[i] = _duplicate(req.id)
                    continue
                nursery.start_soon(run, i, req, req.id, scope)
        answers = [r for r in replies if r is not None]
        if answers:
            await self._send(b"[" + b",".join(answers) + b"]")


class _Answer:
    """An in-flight request answered by the work it queued (no task of its own)."""

    __slots__ = ("conn", "rid", "work")

    def __init__(self, conn: Connection, rid: Id, work: Answering) -> None:
        self.conn, self.rid, self.work = conn, rid, work

    def answer(self, outcome: Outcome) -> None:
        self.conn._answer_now(self, outcome)

    def cancel(self) -> None:
        self.work.abandon()
        self.answer(errors.Interrupted("Interrupted: request cancelled"))


async def _decode_long_request(line: bytes | bytearray) -> tuple[Request, Any] | None:
    """A long request whose long strings are in its params: the request and its params' value,
    decoded in slices (long_strings.py), so that no one pass holds the loop. None for any other
    line (no long strings, one in the method or id, not a request, not valid JSON): it is
    decoded as every line is, the one way that says exactly what is wrong with it."""
    lifted = await engine.in_slices(long_strings.lift_steps(line))
    if not lifted.spans:
        return None
    try:
        req = request_decoder.decode(lifted.skeleton)
        if lifted.holds(req.method) or lifted.holds(req.id) or req.params is UNSET:
            return None
        params = msgspec.json.decode(req.params)
        made = lifted.strings_steps(line, string_pieces.join_steps)
        strings = await engine.in_slices(made)
    except msgspec.DecodeError:  # (a ValidationError is one)
        return None
    return req, long_strings.put_back(params, strings)


def _salvage_id(obj: Any) -> Id:
    """The id of an invalid request, when it has a usable one (else null, as the spec says)."""
    if isinstance(obj, dict):
        rid = obj.get("id")
        if isinstance(rid, str) or (isinstance(rid, int) and not isinstance(rid, bool)):
            return rid
    return None


def _invalid_request(raw: bytes | bytearray | Raw) -> errors.InvalidRequest:
    try:
        request_decoder.decode(raw)
    except msgspec.ValidationError as e:
        return errors.InvalidRequest(f"Invalid Request: {e}")
    return errors.InvalidRequest()


def _duplicate(rid: Id) -> bytes:
    return encode_error(
        rid, errors.InvalidRequest(f"Invalid Request: id {rid!r} is already in flight")
    )


class Server:
    """The accept loop: one task per connection in the daemon's connection nursery."""

    def __init__(self, daemon: Host, listener: trio.SocketListener):
        self.daemon = daemon
        self.listener = listener
        self._ids = itertools.count(1)
        self._uid = os.getuid()

    async def accept_loop(self, nursery: trio.Nursery) -> None:
        while True:
            try:
                stream = await self.listener.accept()
            except OSError as e:
                if e.errno not in _ACCEPT_RETRY_ERRNOS:
                    raise
                log.error("accept failed (%s); retrying in 100 ms", os.strerror(e.errno))
                await trio.sleep(0.1)
                continue
            nursery.start_soon(self._serve, stream)

    async def _serve(self, stream: trio.SocketStream) -> None:
        cid = next(self._ids)
        creds = peer_credentials(stream.socket)
        if creds is not None and creds[1] != self._uid:
            log.warning(
                "connection %d refused: peer uid %d (pid %d) is not ours", cid, creds[1], creds[0]
            )
            await stream.aclose()
            return
        conn = Connection(self.daemon, stream, cid, creds[0] if creds else None)
        log.debug("connection %d opened (peer pid %s)", cid, conn.peer_pid)
        self.daemon.connection_opened(conn)
        try:
            await conn.serve()
        except Exception:  # a bug in one connection's handling must not take the daemon down
            log.exception("connection %d failed; closed it", cid)
        finally:
            self.daemon.connection_closed(conn)
            log.debug("connection %d closed", cid)
