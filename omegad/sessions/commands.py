"""The REPL's `:` command language, with the reference's output texts.

Each command is a small async function of (actor, argument text, reply); `run_command` finds it
the way the reference does (exact words first, then prefixes), so `:session save` without a name
falls through to `Unknown command`, as there.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from omegad import owned
from omegad.sessions.debug import commands as debugger
from omegad.sessions.debug.debugger import typed as debug_typed
from omegad.sessions.names import check_name
from omegad.sessions.notes import commands as timeline_notes
from omegad.sessions.states.sources import state_at
from omegad.sessions.timeline import Timeline, plan_jump, read_timeline
from protocol import errors

if TYPE_CHECKING:
    from omegad.sessions.actor import Job, Reply, SessionActor

Command = Callable[["SessionActor", str, "Reply", "Job"], Awaitable[None]]

NO_SESSION = "No session loaded. Use :session load <name> first."


async def session_list(actor: SessionActor, _arg: str, reply: Reply, _job: Job) -> None:
    rows = actor.manager.list_sessions(actor.store)
    if not rows:
        reply.line("No saved sessions.")
        return
    reply.line("Saved sessions:")
    for name, counts in rows:
        reply.line(f"  {name} ({counts[0]} events, {counts[1]} checkpoints)" if counts
                   else f"  {name}")


async def session_save(actor: SessionActor, name: str, reply: Reply, _job: Job) -> None:
    try:
        check_name(name)
        actor.flush_index()
        for src, dst in zip(actor.store.files(actor.name), actor.store.files(name), strict=True):
            if src.exists():
                owned.copy_file(src, dst)
        actor.manager.forget(actor.store, name)
        reply.line(f"Session saved as '{name}'")
    except (OSError, errors.RpcError) as e:
        reply.line(f"Error saving session: {_message(e)}")


async def session_fork(actor: SessionActor, name: str, reply: Reply, _job: Job) -> None:
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


async def session_load(actor: SessionActor, name: str, reply: Reply, _job: Job) -> None:
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


def _own(actor: SessionActor, timeline: Timeline | None, seq: int) -> int | None:
    """`seq` when the timeline is the actor's own (its state can be adopted by reference)."""
    return seq if timeline is not None and timeline.name == actor.name else None


async def _timeline_of(actor: SessionActor, name: str) -> Timeline | None:
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


async def session_goto(actor: SessionActor, arg: str, reply: Reply, _job: Job) -> None:
    target = _js_int(arg)
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


async def session_checkpoints(actor: SessionActor, _arg: str, reply: Reply, _job: Job) -> None:
    if actor.loaded is None:
        reply.line("No session loaded.")
    else:
        reply.lines(actor.loaded.checkpoint_lines())


async def session_trace(actor: SessionActor, arg: str, reply: Reply, _job: Job) -> None:
    if actor.loaded is None:
        reply.line(NO_SESSION)
    else:
        reply.lines(actor.loaded.trace_lines("--verbose" in arg or "-v" in arg))


async def session_resume(actor: SessionActor, _arg: str, reply: Reply, _job: Job) -> None:
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


async def session_delete(actor: SessionActor, name: str, reply: Reply, _job: Job) -> None:
    try:
        check_name(name)
    except errors.RpcError as e:
        reply.line(f"Error deleting session: {_message(e)}")
        return
    if name == actor.name:
        reply.line("Cannot delete the session you are in; use :session reset to empty it.")
        return
    if await actor.manager.delete(actor.store, name):
        reply.line(f"Session '{name}' deleted")
    else:
        reply.line(f"Session '{name}' not found")


async def session_reset(actor: SessionActor, _arg: str, reply: Reply, _job: Job) -> None:
    actor.reset()
    reply.line(f"Session '{actor.name}' reset.")


async def session_lock(actor: SessionActor, _arg: str, reply: Reply, job: Job) -> None:
    if job.conn is None:
        reply.line("No client to hold the lease.")
        return
    try:
        actor.take_lease(job.conn, force=False)
    except errors.SessionLocked as e:
        reply.line(f"{e.message}; use :session take to take it over")
        return
    reply.line(f"Session '{actor.name}' locked for writing by this client.")


async def session_take(actor: SessionActor, _arg: str, reply: Reply, job: Job) -> None:
    if job.conn is None:
        reply.line("No client to hold the lease.")
        return
    actor.take_lease(job.conn, force=True)
    reply.line(f"Session '{actor.name}' taken over: this client holds the write lease.")


async def session_unlock(actor: SessionActor, _arg: str, reply: Reply, job: Job) -> None:
    if actor.lease is job.conn and job.conn is not None:
        actor.lease = None
        reply.line(f"Session '{actor.name}' unlocked.")
    else:
        reply.line("This client holds no lease on the session.")


async def quit_(actor: SessionActor, _arg: str, reply: Reply, job: Job) -> None:
    if not job.piped:
        reply.line("Goodbye!")
    reply.should_exit = True


async def server_status(actor: SessionActor, _arg: str, reply: Reply, job: Job) -> None:
    """§9.7's text: a daemon that answers is running (a client that cannot reach one says
    `Server is not responding` itself; `omegacli daemon status` gives the details)."""
    reply.line("Server is running")


async def server_stop(actor: SessionActor, _arg: str, reply: Reply, job: Job) -> None:
    """§9.7: stop the daemon (gracefully: this reply is sent, every session flushed)."""
    if job.conn is None:
        reply.line("No server to stop")
        return
    job.conn.daemon.request_shutdown(f":server stop from connection {job.conn.id}")
    reply.line("Server stopped")


async def help_(actor: SessionActor, _arg: str, reply: Reply, _job: Job) -> None:
    reply.lines(HELP)


async def defs(actor: SessionActor, _arg: str, reply: Reply, _job: Job) -> None:
    found = actor.defs()
    reply.lines(found if found else ["(no user definitions yet)"])


# Exact commands, then commands that take an argument after a space.
EXACT: dict[str, Command] = {
    ":session list": session_list,
    ":session checkpoints": session_checkpoints,
    ":session trace": session_trace,
    ":session resume": session_resume,
    ":session reset": session_reset,
    ":session lock": session_lock,
    ":session take": session_take,
    ":session unlock": session_unlock,
    ":quit": quit_, ":q": quit_,
    ":help": help_, ":h": help_,
    ":server status": server_status, ":server stop": server_stop,
    ":defs": defs,
    **timeline_notes.EXACT,  # snapshots, timeline annotations, metrics
    **debugger.EXACT,  # the stepping debugger, breakpoints, snapshots, history, inspection
}
PREFIX: dict[str, Command] = {
    ":session save ": session_save,
    ":session fork ": session_fork,
    ":session load ": session_load,
    ":session goto ": session_goto,
    ":session trace ": session_trace,
    ":session delete ": session_delete,
    **timeline_notes.PREFIX,
    **debugger.PREFIX,
}


async def run_command(actor: SessionActor, text: str, reply: Reply, job: Job) -> None:
    command = EXACT.get(text)
    arg = ""
    if command is None:
        for prefix, candidate in PREFIX.items():
            if text.startswith(prefix) and text[len(prefix):].strip():
                command, arg = candidate, text[len(prefix):].strip()
                break
    if command is None:
        message = f"Unknown command: {text}. Type :help for commands."
        reply.line(message)
        reply.fail(message)
        return
    try:
        await command(actor, arg, reply, job)
    finally:
        if command.__module__ == debugger.__name__:
            debugger.debugger_of(actor).save()
            job.debug_view = debug_typed(actor, job)  # for the typed debug.* methods


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
    *timeline_notes.HELP,
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
    "  :defs          — show defined functions",
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
