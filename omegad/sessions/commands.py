"""The REPL's `:` command language, with the reference's output texts: `parse` turns a command
line into an operation (operations.py), `perform` runs any operation, from a command line or from
an RPC method's typed params alike.

A command without a typed form is a small async function of (actor, argument text, reply, job).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from omegad.persist.copying import copy_files
from omegad.sessions.debug import commands as debug_commands
from omegad.sessions.names import check_name
from omegad.sessions.notes import commands as note_commands
from omegad.sessions.operations import (
    Annotate,
    Command,
    DebugBack,
    DebugBreak,
    DebugBreakpoints,
    DebugContinue,
    DebugDelbreak,
    DebugGoto,
    DebugStart,
    DebugState,
    DebugStep,
    DebugStop,
    DebugToggle,
    DebugTrace,
    Fork,
    Goto,
    ImportAnnotations,
    Input,
    Operation,
    Resume,
    Save,
    SnapshotCreate,
    SnapshotDelete,
    SnapshotRestore,
    Unknown,
)
from omegad.sessions.states.sources import state_at
from omegad.sessions.timeline import Timeline, plan_jump, read_timeline
from protocol import errors

if TYPE_CHECKING:
    from omegad.sessions.interface import Session
    from omegad.sessions.mailbox import Job, Reply

CommandFn = Callable[["Session", str, "Reply", "Job"], Awaitable[None]]
Parser = Callable[[str], Operation]

NO_SESSION = "No session loaded. Use :session load <name> first."


async def session_list(actor: Session, _arg: str, reply: Reply, _job: Job) -> None:
    rows = actor.manager.list_sessions(actor.store)
    if not rows:
        reply.line("No saved sessions.")
        return
    reply.line("Saved sessions:")
    for name, counts in rows:
        reply.line(f"  {name} ({counts[0]} events, {counts[1]} checkpoints)" if counts
                   else f"  {name}")


async def session_save(actor: Session, name: str, reply: Reply, _job: Job) -> None:
    try:
        check_name(name)
        if name != actor.name:
            actor.manager.release(actor.store, name, actor)
        actor.flush_index()
        if name != actor.name:  # (its own name: the flush saved it; its files stay its own)
            pairs = zip(actor.store.files(actor.name), actor.store.files(name), strict=True)
            copy_files([(src, dst) for src, dst in pairs if src.exists()])
        actor.manager.forget(actor.store, name)
        reply.line(f"Session saved as '{name}'")
    except (OSError, errors.RpcError) as e:
        reply.line(f"Error saving session: {_message(e)}")


async def session_fork(actor: Session, name: str, reply: Reply, _job: Job) -> None:
    source = actor.loaded.name if actor.loaded else actor.name
    try:
        check_name(name)
        forked = await actor.manager.fork(actor, source, name, actor.session_seq)
    except (OSError, errors.RpcError) as e:
        reply.line(f"Error forking session: {_message(e)}")
        return
    if forked is None:
        reply.line(f"Session '{source}' not found")
        return
    reply.line(f"Session forked as '{name}'")
    reply.session = name


async def session_load(actor: Session, name: str, reply: Reply, _job: Job) -> None:
    try:
        check_name(name)
    except errors.RpcError:
        reply.line(f"Session '{name}' not found")
        return
    timeline = await _timeline_of(actor, name)
    if timeline is None:
        reply.line(f"Session '{name}' not found")
        return
    states = await actor.manager.states_of(actor, timeline)
    actor.loaded, actor.loaded_states = timeline, states
    if timeline.checkpoints:
        last = timeline.checkpoints[-1]
        actor.restore(await state_at(states, last.seq), own_seq=_own(actor, timeline, last.seq))
    reply.line(f"Loaded session '{name}' ({timeline.event_count} events)")
    reply.line("Use :session goto <seq> to jump, :session trace to view")


def _own(actor: Session, timeline: Timeline | None, seq: int) -> int | None:
    """`seq` when the timeline is the actor's own (its state can be adopted by reference)."""
    return seq if timeline is not None and timeline.name == actor.name else None


async def _timeline_of(actor: Session, name: str) -> Timeline | None:
    """NAME's timeline: from its actor when omega keeps it (opening it is cheap: it reads its
    newest state, not its whole journal), else read from the reference's files."""
    if name == actor.name:
        return actor.own_timeline()
    store = actor.store
    live = actor.manager.live(store, name)
    if live is None and store.ckpt(name).exists() and store.journal(name).exists():
        live = await actor.manager.get(store, name)
    if live is not None:
        return live.own_timeline()
    return read_timeline(store.sessions, name)


async def session_goto(actor: Session, target: int | None, reply: Reply) -> None:
    if actor.loaded is None:
        reply.line(NO_SESSION)
        return
    if target is None:
        reply.line("Usage: :session goto <seq>")
        return
    jump = plan_jump(actor.loaded, target)
    if jump is None:
        reply.line(f"No checkpoint found before seq {target}")
        return
    try:
        seq = jump.checkpoint.seq
        snap = await state_at(actor.loaded_states, seq)
    except KeyError:
        reply.line(f"State not found: {jump.checkpoint.state_id}")
        return
    actor.restore(snap, jump.control_override, own_seq=_own(actor, actor.loaded, seq))
    actor.session_seq = target
    reply.lines(jump.lines(target, snap.control))


async def session_checkpoints(actor: Session, _arg: str, reply: Reply, _job: Job) -> None:
    if actor.loaded is None:
        reply.line("No session loaded.")
    else:
        reply.lines(actor.loaded.checkpoint_lines())


async def session_trace(actor: Session, arg: str, reply: Reply, _job: Job) -> None:
    if actor.loaded is None:
        reply.line(NO_SESSION)
    else:
        reply.lines(actor.loaded.trace_lines("--verbose" in arg or "-v" in arg))


async def session_resume(actor: Session, _arg: str, reply: Reply, _job: Job) -> None:
    timeline = actor.loaded
    if timeline is None:
        reply.line("No state to resume from. Use :session goto <seq> first.")
        return
    current = actor.session_seq or 0
    nxt = timeline.checkpoint_after(current)
    if nxt is None:
        reply.line("No later checkpoint to resume to.")
        return
    try:
        snap = await state_at(actor.loaded_states, nxt.seq)
        actor.restore(snap, own_seq=_own(actor, timeline, nxt.seq))
    except KeyError:
        reply.line(f"State not found: {nxt.state_id}")
        return
    actor.session_seq = nxt.seq
    used = sum(1 for e in timeline.between(current, nxt.seq) if e["type"] == "llm_resp")
    if used:
        reply.line(f"Used {used} cached receipts")
    reply.line(f"Resumed to seq {nxt.seq}")


async def session_delete(actor: Session, name: str, reply: Reply, job: Job) -> None:
    try:
        check_name(name)
    except errors.RpcError as e:
        reply.line(f"Error deleting session: {_message(e)}")
        return
    if name == actor.name:
        reply.line("Cannot delete the session you are in; use :session reset to empty it.")
        return
    try:
        deleted = await actor.manager.delete(actor.store, name, job.conn)
    except errors.RpcError as e:
        reply.line(f"Error deleting session: {_message(e)}")
        return
    if deleted:
        reply.line(f"Session '{name}' deleted")
    else:
        reply.line(f"Session '{name}' not found")


async def session_reset(actor: Session, _arg: str, reply: Reply, _job: Job) -> None:
    actor.reset()
    reply.line(f"Session '{actor.name}' reset.")


async def session_lock(actor: Session, _arg: str, reply: Reply, job: Job) -> None:
    if job.conn is None:
        reply.line("No client to hold the lease.")
        return
    try:
        actor.take_lease(job.conn, force=False)
    except errors.SessionLocked as e:
        reply.line(f"{e.message}; use :session take to take it over")
        return
    reply.line(f"Session '{actor.name}' locked for writing by this client.")


async def session_take(actor: Session, _arg: str, reply: Reply, job: Job) -> None:
    if job.conn is None:
        reply.line("No client to hold the lease.")
        return
    actor.take_lease(job.conn, force=True)
    reply.line(f"Session '{actor.name}' taken over: this client holds the write lease.")


async def session_unlock(actor: Session, _arg: str, reply: Reply, job: Job) -> None:
    if actor.lease is job.conn and job.conn is not None:
        actor.lease = None
        reply.line(f"Session '{actor.name}' unlocked.")
    else:
        reply.line("This client holds no lease on the session.")


async def quit_(actor: Session, _arg: str, reply: Reply, job: Job) -> None:
    if not job.piped:
        reply.line("Goodbye!")
    reply.should_exit = True


async def server_status(actor: Session, _arg: str, reply: Reply, job: Job) -> None:
    """§9.7's text: a daemon that answers is running (a client that cannot reach one says
    `Server is not responding` itself; `omegacli daemon status` gives the details)."""
    reply.line("Server is running")


async def server_stop(actor: Session, _arg: str, reply: Reply, job: Job) -> None:
    """§9.7: stop the daemon (gracefully: this reply is sent, every session flushed)."""
    if job.conn is None:
        reply.line("No server to stop")
        return
    job.conn.daemon.request_shutdown(f":server stop from connection {job.conn.id}")
    reply.line("Server stopped")


async def help_(actor: Session, _arg: str, reply: Reply, _job: Job) -> None:
    reply.lines(HELP)


async def doc(actor: Session, name: str, reply: Reply, _job: Job) -> None:
    from omegad.sessions.lookup import lookup

    if not name:
        reply.line("Usage: :doc <name>")
        return
    reply.lines(lookup(actor, name).text.split("\n"))


async def bt(actor: Session, _arg: str, reply: Reply, _job: Job) -> None:
    from omegad.lang.backtrace import render

    reply.lines(render(*actor.backtrace))


async def defs(actor: Session, _arg: str, reply: Reply, _job: Job) -> None:
    found = actor.defs()
    reply.lines(found if found else ["(no user definitions yet)"])


def _line(command: CommandFn) -> Parser:
    """The parser of a command without a typed form: it runs with its argument text."""
    return lambda arg: Command(command, arg)


# Exact commands, then commands that take an argument after a space: each gives the operation.
EXACT: dict[str, Parser] = {
    ":session list": _line(session_list),
    ":session checkpoints": _line(session_checkpoints),
    ":session trace": _line(session_trace),
    ":session resume": lambda _: Resume(),
    ":session reset": _line(session_reset),
    ":session lock": _line(session_lock),
    ":session take": _line(session_take),
    ":session unlock": _line(session_unlock),
    ":quit": _line(quit_), ":q": _line(quit_),
    ":help": _line(help_), ":h": _line(help_),
    ":server status": _line(server_status), ":server stop": _line(server_stop),
    ":defs": _line(defs),
    ":doc": _line(doc),
    ":bt": _line(bt),
    **note_commands.EXACT,  # snapshots, timeline annotations, metrics
    **debug_commands.EXACT,  # the stepping debugger, breakpoints, snapshots, history, inspection
}
PREFIX: dict[str, Parser] = {
    ":session save ": Save,
    ":session fork ": Fork,
    ":session load ": _line(session_load),
    ":session goto ": lambda arg: Goto(_js_int(arg)),
    ":session trace ": _line(session_trace),
    ":session delete ": _line(session_delete),
    ":doc ": _line(doc),
    **note_commands.PREFIX,
    **debug_commands.PREFIX,
}


def parse(text: str) -> Operation:
    """The operation of a command line: Lisp input, or a `:` command found the way the reference
    finds it (exact words first, then prefixes), so `:session save` without a name falls through
    to `Unknown command`, as there."""
    line = text.strip()
    if not line.startswith(":"):
        return Input(text)
    parser = EXACT.get(line)
    if parser is not None:
        return parser("")
    for prefix, candidate in PREFIX.items():
        if line.startswith(prefix) and line[len(prefix):].strip():
            return candidate(line[len(prefix):].strip())
    return Unknown(line)


async def perform(actor: Session, op: Operation, reply: Reply, job: Job) -> Any:
    """Run one operation in the actor's task: the one place every operation is dispatched.
    Returns what a typed RPC method answers with (a snapshot, the debugger's state …)."""
    debugging, guarded = debug_commands.debugging, note_commands.guarded
    match op:
        case Input(text):
            if text.strip():
                await actor.evaluate_input(text, reply, job)
        case Command(run, arg, debug=False):
            await run(actor, arg, reply, job)
        case Command(run, arg, debug=True):
            return await debugging(actor, run(actor, arg, reply, job))
        case Unknown(text):
            message = f"Unknown command: {text}. Type :help for commands."
            reply.line(message)
            reply.fail(message)
        case Goto(seq):
            await session_goto(actor, seq, reply)
        case Resume():
            await session_resume(actor, "", reply, job)
        case Fork(name):
            await session_fork(actor, name, reply, job)
        case Save(name):
            await session_save(actor, name, reply, job)
        case SnapshotCreate(description):
            return await guarded(job, reply, note_commands.snapshot(actor, description, reply,
                                                                    job))
        case SnapshotRestore(ident):
            return await guarded(job, reply, note_commands.restore(actor, ident, reply, job))
        case SnapshotDelete(ident):
            return await guarded(job, reply, note_commands.delete(actor, ident, reply, job))
        case Annotate(seq, label, description):
            return await guarded(job, reply, note_commands.annotate_one(
                actor, seq, label, description, reply, job))
        case ImportAnnotations(document):
            return await guarded(job, reply, note_commands.import_annotations(actor, document))
        case DebugStart(code):
            return await debugging(actor, debug_commands.debug_(actor, code, reply))
        case DebugStep(count):
            return await debugging(actor, debug_commands.step(actor, count, reply, job))
        case DebugContinue():
            return await debugging(actor, debug_commands.run_(actor, reply, job))
        case DebugGoto(step):
            return await debugging(actor, debug_commands.goto(actor, step, reply))
        case DebugBack(count):
            return await debugging(actor, debug_commands.back(actor, count, reply))
        case DebugStop():
            return await debugging(actor, debug_commands.stop(actor, reply))
        case DebugState():
            return await debugging(actor, debug_commands.state(actor, reply))
        case DebugTrace(start, count):
            return await debugging(actor, debug_commands.trace(actor, start, count, reply))
        case DebugBreakpoints():
            return await debugging(actor, debug_commands.breaks(actor, reply))
        case DebugBreak(kind, condition):
            return await debugging(actor, debug_commands.break_(actor, kind, condition, reply))
        case DebugDelbreak(ident):
            return await debugging(actor, debug_commands.delbreak(actor, ident, reply))
        case DebugToggle(ident):
            return await debugging(actor, debug_commands.toggle(actor, ident, reply))
    return None


def line_of(op: Operation) -> str:
    """The command line of an operation an RPC method made: what attached followers see as its
    `input` notice (what a client typing it would have sent)."""
    match op:
        case Input(text) | Unknown(text):
            return text
        case Goto(seq):
            return f":session goto {seq}"
        case Resume():
            return ":session resume"
        case Fork(name):
            return f":session fork {name}"
        case Save(name):
            return f":session save {name}"
        case SnapshotCreate(description):
            return f":session snapshot {description}"
        case SnapshotRestore(ident):
            return f":session restore-snapshot {ident}"
        case SnapshotDelete(ident):
            return f":session delete-snapshot {ident}"
        case Annotate(seq, label):
            shown = label if len(label) <= 1000 else f"<label of {len(label)} characters>"
            return f":session annotate {seq} {shown}"
        case ImportAnnotations():
            return ":session import-annotations <document>"
    return debug_commands.line_of(op)


def command_names() -> list[str]:
    return sorted({c.strip() for c in (*EXACT, *PREFIX)})


def _js_int(text: str) -> int | None:
    """JavaScript's parseInt: leading sign and digits, the rest ignored; None for NaN."""
    match = re.match(r"\s*([+-]?\d+)", text)
    return int(match.group(1)) if match else None


def _message(e: BaseException) -> str:
    return e.message if isinstance(e, errors.RpcError) else str(e)


HELP = [
    "Commands:",
    "  :help, :h      — show this help",
    "",
    "  EVALUATION:",
    "  (expr)         — evaluate expression immediately",
    "  :loadfile <path> — load and evaluate code from file",
    "",
    "  SESSION:",
    "  :session list            - list saved sessions",
    "  :session save <name>     - save current session",
    "  :session fork <name>     - fork session from current point",
    "  :session load <name>     - load a saved session",
    "  :session goto <seq>      - jump to a checkpoint or event",
    "  :session trace           - render session trace",
    "  :session checkpoints     - list checkpoints",
    "  :session resume          - resume to next checkpoint",
    "  :session delete <name>   - delete a saved session",
    "  :session reset           - empty this session",
    "  :session lock            - hold the write lease (others' commands are refused)",
    "  :session take            - take the write lease over from another client",
    "  :session unlock          - release the write lease",
    *note_commands.HELP,
    "",
    "  SERVER:",
    "  :server status           - is the session server running",
    "  :server stop             - stop the session server",
    "  DEBUGGING:",
    "  :debug (expr)  — load expression into debugger (step mode)",
    "  :step [N]      — execute N steps (default 1)",
    "  :run           — run until breakpoint or completion",
    "  :stop          — stop execution",
    "  :goto <N>      — jump to step N in recorded trace",
    "  :trace [s] [n] — show trace (start at s, show n steps)",
    "  :state         — show current debug state",
    "",
    "  BREAKPOINTS:",
    "  :break step <N>    — break at step N",
    "  :break expr <tag>  — break on expression type",
    "  :break effect <op> — break on effect operation",
    "  :breaks            — list all breakpoints",
    "  :delbreak <id>     — delete breakpoint",
    "  :toggle <id>       — toggle breakpoint on/off",
    "",
    "  SNAPSHOTS:",
    "  :save <name>       — save current state as snapshot",
    "  :restore <name>    — restore snapshot",
    "  :snapshots         — list all snapshots",
    "  :export <name> <file> — export snapshot to file",
    "",
    "  HISTORY & TIME TRAVEL:",
    "  :back [N]          — go back N steps in history",
    "  :history [N]       — show last N history entries",
    "  :record on|off     — toggle trace recording",
    "  :dump <file>       — save trace to file",
    "  :replay <file>     — load and replay dump",
    "",
    "  INSPECTION:",
    "  :env           — show current environment bindings",
    "  :env <name>    — lookup specific binding",
    "  :doc <name>    — describe a name: arity, what it does, where it was defined",
    "  :defs          — show defined functions",
    "  :bt            — the call frames active at the last error",
    "  :stack         — show call stack",
    "  :frame <n>     — inspect frame N",
    "  :control       — show current control (expr or value)",
    "",
    "  LLM (Agentic):",
    "  :ask <question>    — ask LLM (uses tool calls to eval code iteratively)",
    "  :traces            — list recent LLM interaction traces",
    "  :trace <id>        — show trace summary",
    "  :trace <id> -v     — show full trace (prompts, responses, tool calls)",
    "",
    "  :quit, :q      — exit REPL",
]
