"""One session's actor: a mailbox and a loop that owns the session's REPL state.

Commands arrive through `execute` and run one at a time, in arrival order. Evaluation runs in
slices (engine.py) and yields to trio between them, so `interrupt` lands within one slice and
other sessions keep running. Read-only questions (checkpoints, trace, completion) are answered
from the actor's fields directly and never wait behind a running command.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import msgspec
import trio

from omegad import collector
from omegad.caller import Caller
from omegad.lang import api
from omegad.persist import events as ev
from omegad.persist.checkpoints import CheckpointFile
from omegad.persist.index import IndexInfo, write_index
from omegad.persist.journal import JournalWriter
from omegad.sessions import defs as saved_defs
from omegad.sessions import engine
from omegad.sessions.oracle_calls import JournaledOracle, mock_effect
from omegad.sessions.recovery import opening
from omegad.sessions.states.saver import StateSaver
from omegad.sessions.states.sources import LayeredStates, StateStore, Written
from omegad.sessions.store import SessionStore
from omegad.sessions.timeline import Checkpoint, Timeline
from protocol import errors
from protocol import methods as m

if TYPE_CHECKING:
    from omegad.sessions.fork import Seed
    from omegad.sessions.manager import SessionManager

log = logging.getLogger("omegad.sessions")


@dataclass
class Job:
    command: str
    conn: Caller | None
    piped: bool
    done: trio.Event = field(default_factory=trio.Event)
    result: m.ExecuteResult | None = None
    error: BaseException | None = None
    scope: trio.CancelScope | None = None
    abandoned: bool = False
    data: Any = None  # what a command made, for an RPC method to return typed (a snapshot …)
    run: Any = None  # an RPC method's operation run in the command's place: run(actor, job)
    callback: Callable[[Any], None] | None = None  # the connection's, when it awaits no task
    trace_entries: list[Any] | None = None  # what :trace found, for debug.trace (debug/)
    debug_view: dict[str, Any] | None = None  # the debugger after a : command, for debug.* methods

    def when_done(self, callback: Callable[[Any], None]) -> None:
        """Answer the request by calling back (dispatch.Answering) instead of a waiting task."""
        self.callback = callback

    def abandon(self) -> None:
        """Its request was cancelled: skip the command if queued, interrupt it if running."""
        self.abandoned = True
        if self.scope is not None:
            self.scope.cancel()

    async def wait(self) -> m.ExecuteResult:
        try:
            await self.done.wait()
        except trio.Cancelled:
            self.abandon()
            raise
        if self.error is not None:
            raise self.error
        assert self.result is not None
        return self.result

    def finish(self) -> None:
        self.done.set()
        if self.callback is not None:
            self.callback(self.error if self.error is not None else self.result)


@dataclass
class Reply:
    """What a command printed, piece by piece, and how its last evaluation ended."""

    text: list[str] = field(default_factory=list)
    ok: bool = True
    value: str | None = None
    error: str | None = None
    should_exit: bool = False
    session: str | None = None
    failed: int = 0  # inputs that ended in an error (ExecuteResult.failed)
    unsent: list[str] = field(default_factory=list)  # lines not yet streamed as `result`

    def line(self, text: str) -> None:
        self.text.append(text + "\n")
        self.unsent.append(text + "\n")
        if text.startswith("error: "):
            self.fail(text.removeprefix("error: "))

    def fail(self, message: str) -> None:
        """An input ended in an error (its line printed already)."""
        self.ok, self.value, self.error = False, None, message
        self.failed += 1

    def lines(self, lines: list[str]) -> None:
        if lines:  # one piece: a listing of 10 000 checkpoints is one join, not 20 000 appends
            block = "\n".join(lines) + "\n"
            self.text.append(block)
            self.unsent.append(block)

    def output(self) -> str:
        out = "".join(self.text)
        return out[:-1] if out.endswith("\n") else out


class SessionActor:
    def __init__(self, manager: SessionManager, store: SessionStore, name: str,
                 seed: Seed | None = None) -> None:
        self.manager = manager
        self.seed = seed  # a fork's: what to open from instead of the index (fork.py)
        self.store = store
        self.name = name
        self.state = _unopened()  # until open() sets the session's own
        self.control = "null"
        self.state_defs: dict[str, str] | None = {}  # None: not read back from the journal yet
        self.journal: JournalWriter | None = None
        self.header: dict[str, Any] | None = None
        self.checkpoints: list[Checkpoint] = []
        self.states = LayeredStates({}, None)  # own checkpoint seq -> its state
        self.ckpt: CheckpointFile | None = None
        self.saver: StateSaver | None = None  # writes states into `ckpt`
        self.receipts: dict[str, Any] = {}
        self.ref_states: dict[str, msgspec.Raw] = {}  # the reference's states in our index
        self.loaded: Timeline | None = None
        self.loaded_states: StateStore = {}
        self.session_seq: int | None = None
        self.index_dirty = False
        self.reevaluating = False  # rebuilding by re-evaluation: no provider is asked anew
        self.attached: dict[int, Caller] = {}
        self.followers: set[int] = set()  # attached connections that get `input`/`result` notices
        self.lease: Caller | None = None
        self.last_used = time.monotonic()
        self._send, self._inbox = trio.open_memory_channel[Job](math.inf)
        self._current: Job | None = None
        self._opened = trio.Event()
        self.open_error: errors.RpcError | None = None
        self.closed = False
        self.debug: Any = None          # the stepping debugger (debugger.py), made on first use
        self.legacy: Any = None         # a legacy batch file to import before the next job
        self._answers: list[Any] | None = None  # oracle answers a committed debug run replays
        self._unsaved: tuple[int, int] | None = None  # (seq, journal end) of a state not saved

    # --- life -------------------------------------------------------------------------------------

    async def open(self) -> None:
        """Bring the session up: its last saved state, then any journal inputs after it."""
        await opening.open_session(self)

    async def ready(self) -> None:
        await self._opened.wait()
        if self.open_error is not None:
            raise self.open_error

    async def run(self) -> None:
        try:
            await self.open()
            self.manager.monitor.opened(self)
        except Exception as e:
            log.exception("session %s could not be opened", self.name)
            message = f"session '{self.name}' could not be opened: {e}"
            self.open_error = errors.InternalError(message)
            self.manager.dropped(self)
        finally:
            self._opened.set()
        async for job in self._inbox:
            if self.open_error is not None:
                job.error = self.open_error
                job.finish()
                continue
            if not job.abandoned:
                await self._run_job(job)

    async def _run_job(self, job: Job) -> None:
        self._current = job
        try:
            with trio.CancelScope() as job.scope:
                job.result = await self._execute(job)
            persister = self.manager.persister
            if persister.policy == "always":  # the answer waits for the disk: the record goes too
                self.settle()
            await persister.commit(*self.files())
            if job.scope.cancelled_caught:
                job.error = errors.Interrupted("Interrupted: the command was interrupted")
        except errors.RpcError as e:
            job.error = e
        except Exception as e:  # a bug: answer it, keep the session alive
            log.exception("session %s: command failed", self.name)
            job.error = errors.InternalError(f"Internal error: {e}")
        finally:
            self._current = None
            job.finish()
            # After the answer, before anything else runs (nothing here awaits): what no one
            # can see until the next job, off the client's round trip.
            self.settle()
            self.last_used = time.monotonic()
            self.manager.monitor.record(self, job)
            collector.activity()

    def close(self) -> None:
        self.settle()
        self._send.close()
        self.flush_index()
        self.manager.session_closed(self)
        for f in self.files():
            f.fsync()
            f.close()
        self.closed = True

    def files(self) -> list[Any]:
        return [f for f in (self.journal, self.ckpt) if f is not None]

    # --- what the manager and methods call --------------------------------------------------------

    @property
    def busy(self) -> bool:
        queued = self._send.statistics().current_buffer_used > 0
        return not self._opened.is_set() or self._current is not None or queued

    @property
    def seq(self) -> int:
        return self.journal.next_seq if self.journal else 0

    def submit(self, command: str, conn: Caller | None, piped: bool) -> Job:
        """Queue a command (in the caller's order: this never waits)."""
        if command.strip() != ":session take":  # the one command meant for a locked-out client
            self._check_lease(conn)
        if conn is not None:
            self.attached[conn.id] = conn
        job = Job(command, conn, piped)
        self._send.send_nowait(job)
        return job

    async def execute(self, command: str, conn: Caller | None, piped: bool) -> m.ExecuteResult:
        return await self.submit(command, conn, piped).wait()

    def interrupt(self) -> bool:
        job = self._current
        if job is None or job.scope is None:
            return False
        job.scope.cancel()
        return True

    def _check_lease(self, conn: Caller | None) -> None:
        holder = self.lease
        if holder is not None and holder is not conn and not holder.closed:
            who = holder.client or f"connection {holder.id}"
            raise errors.SessionLocked(f"session locked by {who}", {"holder": who})

    def take_lease(self, conn: Caller, force: bool) -> None:
        if not force:
            self._check_lease(conn)
        self.lease = conn
        self.attached[conn.id] = conn

    def attached_live(self) -> bool:
        return any(not c.closed for c in self.attached.values())

    def memory(self) -> int:
        """Bytes the session's commands allocated, by the evaluator's running count (cheap: the
        pool asks on every open; metrics measure what is still reachable, once a second)."""
        return self.state.allocated

    def defs(self) -> list[str]:
        """Source of the top-level defines in effect (a redefinition replaces, moved to the end)."""
        return list(self._defs().values())

    def _defs(self) -> dict[str, str]:
        if self.state_defs is None:  # reopened from its saved state: read them back once
            self.state_defs = saved_defs.load(self.store.defs(self.name),
                                              self.store.journal(self.name))
        return self.state_defs

    def reset(self) -> None:
        """`:session reset`: an empty state; the journal keeps its history."""
        self.settle()
        self.state = api.ReplState()
        self.state_defs = {}
        self.control = "null"
        self.loaded, self.loaded_states, self.session_seq = None, {}, None
        self._record_restore()
        self.index_dirty = True  # so the emptied defines are saved (.defs) with the next flush

    def detach(self, conn: Caller) -> None:
        self.attached.pop(conn.id, None)
        self.followers.discard(conn.id)
        if self.lease is conn:
            self.lease = None

    # --- running one command ----------------------------------------------------------------------

    async def _execute(self, job: Job) -> m.ExecuteResult:
        started = time.perf_counter()
        reply = Reply()
        if self.legacy is not None:
            from omegad.sessions.legacy import import_legacy

            await import_legacy(self, job)
        text = job.command.strip()
        if self.followers:
            await self._broadcast(job.command, job, "input")
        if job.run is not None:
            job.data = await job.run(self, job)
        elif text.startswith(":"):
            from omegad.sessions.commands import run_command

            await run_command(self, text, reply, job)
        elif text:
            await self._evaluate_input(job.command, reply, job)
        await self._stream_result(reply, job)
        return m.ExecuteResult(
            output=reply.output(), ok=reply.ok, value=reply.value, error=reply.error,
            seq=self.seq, should_exit=reply.should_exit,
            elapsed_ms=(time.perf_counter() - started) * 1000, session=reply.session or self.name,
            failed=reply.failed,
            inputs=self.journal.counted_inputs if self.journal is not None else None,
        )

    async def _evaluate_input(self, text: str, reply: Reply, job: Job) -> None:
        env = job.conn.env if job.conn is not None else {}
        if env.get("OMEGA_MOCK_EFFECTS") == "1" and mock_effect(self, text, reply):
            return
        for form in engine.forms(text):
            await self._evaluate_form(form, reply, job)

    async def _evaluate_form(self, form: api.Form, reply: Reply, job: Job) -> None:
        assert self.journal is not None
        self.settle()  # the previous form's state record goes first
        code = form.text
        seq = self.seq
        self.journal.hold([ev.input_event(seq, code), ev.step_event(seq + 1, 0, code)])
        streamed: list[str] = []

        def sink(chunk: str) -> None:
            reply.text.append(chunk)
            streamed.append(chunk)

        async def flush_stream() -> None:
            if streamed:
                chunk = "".join(streamed)
                streamed.clear()
                await self._broadcast(chunk, job)

        async def between_slices() -> None:  # a long command's input is on disk while it runs
            self._flush_journal()
            await flush_stream()

        try:
            outcome = await engine.evaluate(self.state, form, sink,
                                            self._oracle_for(job, sink), between_slices)
        except trio.Cancelled:
            self._write([ev.error_event(self.seq, 0, "interrupted")])
            raise
        await flush_stream()
        self._finish_form(outcome, reply)
        if outcome.defined:  # before anything yields: a flush saves them with the journal's end
            defs = self._defs()
            defs.pop(outcome.defined, None)
            defs[outcome.defined] = code
        await self._stream_result(reply, job)

    async def commit_debug(self, form: api.Form, answers: list[Any], job: Job) -> None:
        """A debug run reached DONE: its expression becomes one journaled input of the session,
        its oracle calls answered (and journaled) from what the debug run was told."""
        self._answers = list(answers)
        attached, self.attached = self.attached, {}  # the run's output was shown already
        try:
            await self._evaluate_form(form, Reply(), job)
        finally:
            self._answers = None
            self.attached = attached

    def _finish_form(self, outcome: engine.Outcome, reply: Reply) -> None:
        reply.line(outcome.line)
        reply.ok, reply.value, reply.error = outcome.ok, outcome.value, outcome.error
        if not outcome.ok:
            self._write([ev.error_event(self.seq, 0, outcome.error or "")])
            return
        seq = self.seq
        offsets = self._write([ev.result_event(seq, outcome.value or ""),
                               ev.checkpoint_event(seq + 1, 0, "manual")])
        self.control = outcome.control
        cp = Checkpoint(seq + 1, "manual", f"state-{seq + 1}", offsets[1])
        self.checkpoints.append(cp)
        self.states.memory[cp.seq] = engine.snapshot(self.state, self.control)
        assert self.journal is not None  # (it was just written)
        self._unsaved = (cp.seq, self.journal.size)  # written once the answer has left (settle)

    def _oracle_for(self, job: Job, sink: Callable[[str], None]) -> engine.Oracle:
        """The connection's oracle, each call journaled with its receipts (oracle_calls.py);
        made on the first call (most commands make none)."""
        journaled: list[JournaledOracle] = []

        async def oracle(request: api.OracleRequest) -> api.OracleResponse:
            if not journaled:
                journaled.append(JournaledOracle(self, self.manager.oracle_for(job.conn), sink))
            return await journaled[0](request)

        return oracle

    def _flush_journal(self) -> None:
        if self.journal is not None:
            self._guard_write(self.journal.flush)

    def _write(self, events: list[dict[str, Any]]) -> list[int]:
        assert self.journal is not None
        return self._guard_write(self.journal.write, events)

    def _guard_write(self, write: Callable[..., Any], *args: Any) -> Any:
        self.index_dirty = True
        try:
            return write(*args)
        except OSError as e:
            log.error("session %s: journal write failed: %s", self.name, e)
            raise errors.InternalError(f"could not write the journal: {e.strerror or e}") \
                from None

    async def _broadcast(self, text: str, job: Job,
                         kind: Literal["display", "input", "result"] = "display") -> None:
        """`display` output goes to every attached client, `input` and `result` to followers."""
        who = job.conn.client if job.conn is not None else ""
        notice = m.OutputNotice(session=self.name, text=text, client=who, kind=kind)
        for conn in list(self.attached.values()):
            if conn.closed:
                self.attached.pop(conn.id, None)
                self.followers.discard(conn.id)
                continue
            if kind == "display" or conn.id in self.followers:
                await conn.notify("session.output", notice)

    async def _stream_result(self, reply: Reply, job: Job) -> None:
        """Stream the lines printed since the last call (`=> …`, `error: …`, a command's text).
        Shielded: the form is committed already, an interrupt must not land here."""
        if reply.unsent:
            text = "".join(reply.unsent)
            reply.unsent.clear()
            if not self.followers:
                return
            with trio.CancelScope(shield=True):
                await self._broadcast(text, job, "result")

    # --- state changes that are not journal events ------------------------------------------------

    def restore(self, snap: engine.Snapshot, control: str | None = None,
                own_seq: int | None = None) -> None:
        """Adopt a checkpoint's state (this session's own at `own_seq`, or another timeline's)."""
        self.settle()  # (resuming may move the current state in place)
        self.state = snap.resume()
        self.control = control or snap.control
        self._record_restore(own_seq, snap.origin)

    def _record_restore(self, own_seq: int | None = None, origin: Written | None = None) -> None:
        """Keep the adopted state beside the journal, so a rebuild from disk gets it back: as a
        reference to the record of one of our own checkpoints when it is one, as a copy of the
        records it was just read from (another session's), else serialized in full."""
        assert self.ckpt is not None and self.saver is not None
        index = self.ckpt.find(own_seq) if own_seq is not None else None
        journal_end = self.journal.size if self.journal is not None else 0
        if index is not None:
            self.saver.adopt_ref(self.seq - 1, self.control, journal_end, index, self.state,
                                 origin)
        elif origin is not None and origin.stands_for(self.state):
            self.saver.adopt_copy(self.seq - 1, self.control, journal_end, self.state, origin)
        else:
            self._save_state(self.seq - 1, adopted=True)

    def settle(self) -> None:
        """Write the state record of the last form evaluated, if it is not written yet.

        A form's answer does not wait for this record: its journal events are written before
        the answer, and a session whose last record is missing (a crash in between) replays the
        journal's last input when it opens. Records keep their order: every other state write,
        the next form and closing the files settle first."""
        unsaved, self._unsaved = self._unsaved, None
        if unsaved is None:
            return
        try:
            self._save_state(*unsaved)
        except errors.InternalError:
            return  # logged; the journal has the input, which a reopen replays
        if self.ckpt is not None:
            self.manager.persister.wrote(self.ckpt)

    def _save_state(self, seq: int, journal_end: int | None = None, adopted: bool = False,
                    merges: bool = True) -> None:
        """Append this state to the checkpoint file: a delta against the last one when it can
        (saver.py; `merges=False` while an input runs), with the journal's end as it is now
        unless given."""
        assert self.saver is not None
        if self._unsaved is not None:
            self.settle()
        if journal_end is None:
            journal_end = self.journal.size if self.journal is not None else 0
        try:
            self.saver.save(self.state, self.control, seq, journal_end, adopted=adopted,
                            merges=merges)
        except OSError as e:
            log.error("session %s: checkpoint write failed: %s", self.name, e)
            raise errors.InternalError(f"could not write the checkpoint file: {e.strerror}") \
                from None

    # --- persistence ------------------------------------------------------------------------------

    def index_info(self) -> IndexInfo:
        return IndexInfo(
            sessionId=(self.header or {}).get("id", self.name),
            eventCount=self.seq,
            checkpoints=self.checkpoints,
            receipts=self.receipts,
        )

    def flush_index(self) -> None:
        if self.index_dirty and self.journal is not None:
            write_index(self.store.index(self.name), self.index_info(), self.ref_states)
            self.index_dirty = False
            if self.state_defs is not None:
                saved_defs.save(self.store.defs(self.name), self.journal.size, self.state_defs)

    def own_timeline(self) -> Timeline:
        """This session as a timeline: what the actor knows, events read only when needed."""
        return Timeline(self.name, self.header, None, list(self.checkpoints), dict(self.receipts),
                        path=self.store.journal(self.name), count=self.seq, states=self.ref_states)


_UNOPENED: list[api.ReplState] = []


def _unopened() -> api.ReplState:
    """The state an actor shows until it has opened (one, shared, never evaluated in)."""
    if not _UNOPENED:
        _UNOPENED.append(api.ReplState())
    return _UNOPENED[0]
