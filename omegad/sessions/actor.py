"""One session's actor: a mailbox and a loop that owns the session's REPL state.

Operations (operations.py) arrive through `submit` and run one at a time, in arrival order, each
through `commands.perform`. Evaluation runs in slices (engine.py) and yields to trio between
them, so `interrupt` lands within one slice and other sessions keep running. Read-only questions
(checkpoints, trace, completion) are answered from the actor's fields directly and never wait
behind a running command. What other modules may use of an actor is declared in interface.py.
"""

from __future__ import annotations

import functools
import logging
import math
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar, cast

import msgspec
import trio

from omegad import collector
from omegad.caller import Caller
from omegad.lang import api
from omegad.persist import events as ev
from omegad.persist.checkpoints import CheckpointFile
from omegad.persist.failures import CorruptRecord, storage_error, storage_failure
from omegad.persist.index import IndexInfo, write_index
from omegad.persist.journal import JournalWriter
from omegad.sessions import commands, engine
from omegad.sessions import defs as saved_defs
from omegad.sessions.debug.debugger import Debugger
from omegad.sessions.legacy import import_legacy
from omegad.sessions.mailbox import Job, Reply
from omegad.sessions.operations import Operation
from omegad.sessions.oracle_calls import JournaledOracle, mock_effect
from omegad.sessions.recovery import opening
from omegad.sessions.states.saver import StateSaver
from omegad.sessions.states.sources import LayeredStates, StateStore
from omegad.sessions.states.state import CheckpointState, Written, at_checkpoint
from omegad.sessions.store import SessionStore
from omegad.sessions.timeline import Checkpoint, Timeline
from protocol import errors
from protocol import methods as m
from protocol.messages import encode_notification

if TYPE_CHECKING:
    from omegad.sessions.fork import Seed
    from omegad.sessions.interface import Pool

log = logging.getLogger("omegad.sessions")

# Bytes the forms since the last state record allocated (the evaluator's accounting) above which
# that record is written in a worker thread: serializing a million new pairs takes seconds.
BIG_RECORD = 8 << 20
# Characters of output (a streamed chunk, a command's whole text) after which the actor lets
# others run before going on: a 1 MiB text is ~5 ms an encoding or a send here.
BIG_OUTPUT = 64 << 10

Method = TypeVar("Method", bound=Callable[..., Any])


def settled_first(method: Method) -> Method:
    """Marks what changes the session's state or writes its files: the state record the last
    form left pending is written first (`SessionActor.settle`), so records keep their order.
    For a coroutine method, as it is called (it is awaited at once: no await layer added)."""

    @functools.wraps(method)
    def settled(self: SessionActor, *args: Any, **kwargs: Any) -> Any:
        self.settle()
        return method(self, *args, **kwargs)

    return cast(Method, settled)


class SessionActor:
    def __init__(self, manager: Pool, store: SessionStore, name: str,
                 seed: Seed | None = None) -> None:
        self.manager = manager
        self.seed = seed  # a fork's: what to open from instead of the index (fork.py)
        self.store = store
        self.name = name
        self.state = _unopened()  # until open() sets the session's own
        self.control = "null"
        self.state_defs: dict[str, str] | None = {}  # None: not read back from the journal yet
        self.def_seqs: dict[str, int] = {}  # name -> seq of the input that defined it (lookup.py)
        self.backtrace: tuple[list[Any], int] = ([], 0)  # the last form's error frames (`:bt`)
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
        self.debug: Debugger | None = None  # the stepping debugger, made on first use
        self.legacy: Path | None = None  # a legacy batch file to import before the next job
        self.reevaluating = False  # importing it: re-evaluating by itself, no provider asked
        self.commit_answers: list[api.OracleResponse] | None = None  # what a committed debug
        # run was told, answering its oracle calls again (oracle_calls.py)
        self._unsaved: tuple[int, int] | None = None  # (seq, journal end) of a state not saved
        self._settling = threading.RLock()  # held while a state record is written (settle)
        self._allocated_saved = 0  # state.allocated when the last state record was written
        self._record_written = trio.Event()  # set: no state record is being written in a thread
        self._record_written.set()
        self.notices: list[str] = []  # what opening found on disk and did (actor.notice)

    # --- life -------------------------------------------------------------------------------------

    async def open(self) -> None:
        """Bring the session up: its last saved state, then any journal inputs after it."""
        seed, self.seed = self.seed, None
        await opening.open_session(self, seed)

    def notice(self, text: str) -> None:
        """What opening found on disk and did about it: logged, and kept for the session's
        status (`session.open`, `server.status`)."""
        log.warning("session %s: %s", self.name, text)
        self.notices.append(text)
        self.manager.storage_notice(f"session {self.name}: {text}")

    async def ready(self) -> None:
        await self._opened.wait()
        if self.open_error is not None:
            raise self.open_error

    async def records_written(self) -> None:
        """Once the state record being written in a worker thread (settle_after_answer), if
        any, is in the checkpoint file: what reads this session's files from elsewhere (a load,
        a fork) waits for it, as this session's own next job does."""
        await self._record_written.wait()

    async def run(self) -> None:
        try:
            await self.open()
            self.manager.monitor.opened(self)
        except OSError as e:
            log.error("session %s could not be opened: %s", self.name, e)
            self.open_error = storage_error(e, f"opening session '{self.name}'")
            self.manager.dropped(self)
        except Exception as e:
            log.exception("session %s could not be opened", self.name)
            message = f"session '{self.name}' could not be opened: {e}"
            self.open_error = errors.InternalError(message)
            self.manager.dropped(self)
        finally:
            self._opened.set()
        await self._run_jobs()

    async def _run_jobs(self) -> None:
        """Run the jobs in arrival order. They share one cancel scope until one is interrupted;
        the next job then gets a new one. (Opening and closing a trio CancelScope is ~33 000
        instructions, 5 % of a small command's.)"""
        while True:
            running: Job | None = None
            with trio.CancelScope() as scope:
                async for job in self._inbox:
                    if self.open_error is not None:
                        job.error = self.open_error
                        job.finish()
                    elif not job.abandoned:
                        running = job
                        await self._run_job(job, scope)
                        if scope.cancel_called:
                            break  # (its cancel must reach neither the job's end nor the next)
                        running = None
                        await self._end_job(job, interrupted=False)
                else:
                    return  # the inbox was closed
            if running is not None:
                await self._end_job(running, interrupted=scope.cancelled_caught)

    async def _run_job(self, job: Job, scope: trio.CancelScope) -> None:
        """Run `job` in `scope`; its errors become its answer. An interrupt's Cancelled leaves
        the scope, and the job is ended outside it."""
        self._current = job
        job.started = time.monotonic()
        job.scope = scope
        try:
            job.result = await self._execute(job)
        except Exception as e:
            job.error = _as_answer(e, self.name)
        finally:
            job.scope = None  # (a request cancelled after its job ran must not stop the next)

    async def _end_job(self, job: Job, interrupted: bool) -> None:
        """After a job ran: its files committed as the persistence policy says, its answer,
        then what no one can see until this session's next job, off the client's round trip."""
        try:
            if job.error is None:
                persister = self.manager.persister
                if persister.policy == "always":  # the answer waits for the disk: the record too
                    self.settle()
                await persister.commit(*self.files())
            if interrupted:
                job.error = errors.Interrupted("Interrupted: the command was interrupted")
        except Exception as e:
            job.error = _as_answer(e, self.name)
        finally:
            self._current = None
            job.finish()
            await self.settle_after_answer()
            self.last_used = time.monotonic()
            self.manager.monitor.record(self, job)
            collector.activity()
        await engine.tidy()

    @settled_first
    def close(self) -> None:
        self._send.close()
        try:
            self.flush_index()
        except errors.RpcError:
            pass  # logged; the journal has everything, the next open rebuilds the index
        self.manager.session_closed(self)
        for f in self.files():
            try:
                f.fsync()
            except OSError as e:
                log.error("session %s: fsync at close failed: %s", self.name, e)
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

    def submit(self, command: str, conn: Caller | None, piped: bool,
               op: Operation | None = None, detach: bool = False) -> Job:
        """Queue a command line, or the operation an RPC method made (`command` is then what
        attached followers see), in the caller's order: this never waits."""
        if command.strip() != ":session take":  # the one command meant for a locked-out client
            self._check_lease(conn)
        if conn is not None:
            self.attached[conn.id] = conn
        job = Job(commands.parse(command) if op is None else op, command, conn, piped,
                  typed=op is not None, detached=detach)
        self._send.send_nowait(job)
        return job

    async def execute(self, command: str, conn: Caller | None, piped: bool,
                      op: Operation | None = None) -> m.ExecuteResult:
        return await self.submit(command, conn, piped, op).wait()

    def running(self) -> m.RunningCommand | None:
        """The command running now: who sent it, its first line, for how long."""
        job = self._current
        if job is None or job.started is None:
            return None
        lines = job.command.strip().splitlines()
        return m.RunningCommand(
            session=self.name,
            client=job.conn.client if job.conn is not None else "",
            connection=job.conn.id if job.conn is not None else 0,
            first_line=lines[0][:80] if lines else "",
            seconds=round(time.monotonic() - job.started, 3),
            detached=job.detached,
        )

    def interrupt(self, sender: Caller | None = None) -> bool:
        """Stop the running command (only if `sender` sent it, when given)."""
        job = self._current
        if job is None:
            return False
        if sender is not None and job.conn is not sender:
            return False
        if job.scope is not None:  # (None once it has run: it is being committed and answered)
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

    def debugger(self) -> Debugger:
        """The session's stepping debugger, read from beside the journal on first use."""
        if self.debug is None:
            self.debug = Debugger.load(self.store.debugger(self.name))
        return self.debug

    def defs(self) -> list[str]:
        """Source of the top-level defines in effect (a redefinition replaces, moved to the end)."""
        return list(self._defs().values())

    def defs_by_name(self) -> dict[str, str]:
        """name -> source of the top-level defines in effect."""
        return self._defs()

    def _defs(self) -> dict[str, str]:
        if self.state_defs is None:  # reopened from its saved state: read them back once
            self.state_defs = saved_defs.load(self.store.defs(self.name),
                                              self.store.journal(self.name))
        return self.state_defs

    @settled_first
    def reset(self) -> None:
        """`:session reset`: an empty state; the journal keeps its history."""
        self.state = api.ReplState()
        self.state_defs = {}
        self.def_seqs = {}
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
            await import_legacy(self, job)
        if self.followers:
            await self._broadcast(job.command, job, "input")
        job.data = await commands.perform(self, job.op, reply, job)
        await self._stream_result(reply, job)
        if sum(map(len, reply.text)) > BIG_OUTPUT:   # (committed: no interrupt lands here)
            await trio.lowlevel.cancel_shielded_checkpoint()
        return m.ExecuteResult(
            output=reply.output(), ok=reply.ok, value=reply.value, error=reply.error,
            seq=self.seq, should_exit=reply.should_exit,
            elapsed_ms=(time.perf_counter() - started) * 1000, session=reply.session or self.name,
            failed=reply.failed,
            inputs=self.journal.counted_inputs if self.journal is not None else None,
        )

    async def run_line(self, text: str, reply: Reply, job: Job) -> None:
        """Run a command line inside the running job (`:ask`'s tools)."""
        await commands.perform(self, commands.parse(text), reply, job)

    async def evaluate_input(self, text: str, reply: Reply, job: Job) -> None:
        env = job.conn.env if job.conn is not None else {}
        if env.get("OMEGA_MOCK_EFFECTS") == "1" and mock_effect(self, text, reply):
            return
        for form in await engine.read_forms(text):
            await self.evaluate_form(form, reply, job)

    @settled_first  # the previous form's state record goes first
    async def evaluate_form(self, form: api.Form, reply: Reply, job: Job) -> None:
        assert self.journal is not None
        version = self.state.version
        code = form.text
        journaled = await engine.journal_text(code)
        seq = self.seq
        events = [ev.input_event(seq, code), ev.step_event(seq + 1, 0, code)]
        if journaled is not code:
            events[0]["code"] = events[1]["ctrl"] = journaled
        self.journal.hold(events)
        if journaled is not code:  # a big input: its events go out now, in slices
            await self._flush_big_input()
        streamed: list[str] = []

        def sink(chunk: str) -> None:
            reply.text.append(chunk)
            streamed.append(chunk)

        async def flush_stream() -> None:
            if streamed:
                chunk = "".join(streamed)
                streamed.clear()
                await self._broadcast(chunk, job)
                if len(chunk) > BIG_OUTPUT:
                    await trio.lowlevel.cancel_shielded_checkpoint()

        async def between_slices() -> None:  # a long command's input is on disk while it runs
            self._flush_journal()
            await flush_stream()

        try:
            outcome = await engine.evaluate(
                self.state, form, sink, self._oracle_for(job, sink), between_slices,
                step_budget=job.step_budget,
                memory_budget=job.memory_budget or self.manager.command_memory,
                max_memory=self.manager.max_memory)
        except trio.Cancelled:
            self.write_events([ev.error_event(self.seq, 0, "interrupted")])
            raise
        await flush_stream()
        try:
            self._finish_form(outcome, reply)
        except errors.RpcError:  # not journaled (a full disk): the form did not happen
            if outcome.ok:
                self.state = engine.discard(self.state, version)
            raise
        if outcome.defined:  # before anything yields: a flush saves them with the journal's end
            defs = self._defs()
            defs.pop(outcome.defined, None)
            defs[outcome.defined] = code
            self.def_seqs[outcome.defined] = seq
        await self._stream_result(reply, job)

    async def commit_debug(self, form: api.Form, answers: list[Any], job: Job) -> None:
        """A debug run reached DONE: its expression becomes one journaled input of the session,
        its oracle calls answered (and journaled) from what the debug run was told."""
        self.commit_answers = list(answers)
        attached, self.attached = self.attached, {}  # the run's output was shown already
        try:
            await self.evaluate_form(form, Reply(), job)
        finally:
            self.commit_answers = None
            self.attached = attached

    def _finish_form(self, outcome: engine.Outcome, reply: Reply) -> None:
        self.backtrace = (outcome.frames, outcome.more_frames)
        reply.line(outcome.line)
        reply.ok, reply.value, reply.error = outcome.ok, outcome.value, outcome.error
        if not outcome.ok:
            self.write_events([ev.error_event(self.seq, 0, outcome.error or "")])
            return
        seq = self.seq
        offsets = self.write_events([ev.result_event(seq, outcome.value or ""),
                               ev.checkpoint_event(seq + 1, 0, "manual")])
        self.control = outcome.control
        cp = Checkpoint(seq + 1, "manual", f"state-{seq + 1}", offsets[1])
        self.checkpoints.append(cp)
        self.states.memory[cp.seq] = at_checkpoint(self.state, self.control)
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

    async def _flush_big_input(self) -> None:
        """Write the held events of a big input in slices (journal.flush_steps); shielded: a
        write stopped halfway would leave half a line (it takes a few slices)."""
        assert self.journal is not None
        self.index_dirty = True
        with trio.CancelScope(shield=True):
            try:
                await engine.in_slices(self.journal.flush_steps())
            except OSError as e:  # the file is as it was before the write (failures.py)
                log.error("session %s: journal write failed: %s", self.name, e)
                raise storage_error(e, "writing the journal", self.store.journal(self.name)) \
                    from None

    def _flush_journal(self) -> None:
        if self.journal is not None:
            self._guard_write(self.journal.flush)

    def write_events(self, events: list[dict[str, Any]]) -> list[int]:
        assert self.journal is not None
        return self._guard_write(self.journal.write, events)

    def _guard_write(self, write: Callable[..., Any], *args: Any) -> Any:
        self.index_dirty = True
        try:
            return write(*args)
        except OSError as e:  # the file is as it was before the write (failures.py)
            log.error("session %s: journal write failed: %s", self.name, e)
            raise storage_error(e, "writing the journal", self.store.journal(self.name)) \
                from None

    async def _broadcast(self, text: str, job: Job,
                         kind: Literal["display", "input", "result"] = "display") -> None:
        """`display` output goes to every attached client, `input` and `result` to followers."""
        who = job.conn.client if job.conn is not None else ""
        notice = m.OutputNotice(session=self.name, text=text, client=who, kind=kind)
        line: bytes | None = None  # encoded once, for the first client it goes to
        for conn in list(self.attached.values()):
            if conn.closed:
                self.attached.pop(conn.id, None)
                self.followers.discard(conn.id)
                continue
            if kind == "display" or conn.id in self.followers:
                line = line or encode_notification("session.output", notice)
                conn.notify_encoded("session.output", line)

    async def _stream_result(self, reply: Reply, job: Job) -> None:
        """Stream the lines printed since the last call (`=> …`, `error: …`, a command's text).
        Shielded: the form is committed already, an interrupt must not land here."""
        if reply.unsent:
            text = "".join(reply.unsent) if self.followers else ""  # (no copy of a 1 MiB
            reply.unsent.clear()                                     # value nobody follows)
            if not text:
                return
            with trio.CancelScope(shield=True):
                await self._broadcast(text, job, "result")

    # --- state changes that are not journal events ------------------------------------------------

    @settled_first  # (resuming may move the current state in place)
    def restore(self, snap: CheckpointState, control: str | None = None,
                own_seq: int | None = None) -> None:
        """Adopt a checkpoint's state (this session's own at `own_seq`, or another timeline's)."""
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
            self.save_state(self.seq - 1, adopted=True)

    def settle(self) -> None:
        """Write the state record of the last form evaluated, if it is not written yet.

        A form's answer does not wait for this record: its journal events are written before
        the answer, and a session whose last record is missing (a crash in between) replays the
        journal's last input when it opens. When it is written is decided here and by
        `settled_first`: after the job's answer has left (`_run_job`; with the answer, under the
        "always" fsync policy), and before whatever `settled_first` marks: every other state
        write, the next form, a restore or reset, closing the files."""
        if self._unsaved is None and self._record_written.is_set():
            return  # nothing pending, none being written in a thread (most calls: no lock)
        if self._write_unsaved() and self.ckpt is not None:
            self.manager.persister.wrote(self.ckpt)

    async def settle_after_answer(self) -> None:
        """`settle`, in a worker thread when the record is big (its forms allocated more than
        BIG_RECORD): the event loop, which takes the GIL back every switch interval (5 ms), goes
        on answering every other client meanwhile. The session's next job waits for it (this
        actor awaits it), and anything else that settles meanwhile waits on the lock, so the
        records keep their order."""
        if self._unsaved is None or self.state.allocated - self._allocated_saved <= BIG_RECORD:
            self.settle()
            return
        self._record_written = trio.Event()
        try:
            wrote = await trio.to_thread.run_sync(self._write_unsaved)
        finally:
            self._record_written.set()
        if wrote and self.ckpt is not None:
            self.manager.persister.wrote(self.ckpt)

    def _write_unsaved(self) -> bool:
        """Write the pending state record, if any; whether one was written."""
        with self._settling:
            unsaved, self._unsaved = self._unsaved, None
            if unsaved is None:
                return False
            try:
                self.save_state(*unsaved)
            except errors.RpcError:
                return False  # logged; the journal has the input, which a reopen replays
            self._allocated_saved = self.state.allocated
            return True

    @settled_first
    def save_state(self, seq: int, journal_end: int | None = None, adopted: bool = False,
                   merges: bool = True) -> None:
        """Append this state to the checkpoint file: a delta against the last one when it can
        (saver.py; `merges=False` while an input runs), with the journal's end as it is now
        unless given."""
        assert self.saver is not None
        if journal_end is None:
            journal_end = self.journal.size if self.journal is not None else 0
        try:
            self.saver.save(self.state, self.control, seq, journal_end, adopted=adopted,
                            merges=merges)
        except OSError as e:
            log.error("session %s: checkpoint write failed: %s", self.name, e)
            raise storage_error(e, "writing the checkpoint file", self.store.ckpt(self.name)) \
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
        """Refresh the index (and the defines, and the checkpoint file's clean mark); a write
        that fails leaves the old index in place and raises the storage error."""
        if self.index_dirty and self.journal is not None:
            path = self.store.index(self.name)
            try:
                write_index(path, self.index_info(), self.ref_states)
            except OSError as e:
                log.error("session %s: index write failed: %s", self.name, e)
                raise storage_error(e, "writing the index", path) from None
            self.index_dirty = False
            if self.state_defs is not None:
                saved_defs.save(self.store.defs(self.name), self.journal.size, self.state_defs)
        if self.ckpt is not None and self.ckpt.entries:
            self.ckpt.mark_clean()

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


def _as_answer(e: Exception, session: str) -> errors.RpcError:
    """A job's exception as its answer: an RPC error as it is, the disk's named, a bug's logged
    (the session stays alive)."""
    if isinstance(e, errors.RpcError):
        return e
    if isinstance(e, (OSError, CorruptRecord)):
        log.error("session %s: %s", session, e)
        return storage_failure(e, f"a command of session '{session}'")
    log.exception("session %s: command failed", session)
    return errors.InternalError(f"Internal error: {e}")
