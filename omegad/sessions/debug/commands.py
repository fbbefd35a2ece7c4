"""The debugger's `:` commands, with the reference's texts (`processReplCommand` in the
reference's `bin/omega-repl.ts`); step numbers are omega's own (DIVERGENCES C7).

When the run reaches DONE for the first time its expression is committed to the session as one
journaled input (`Session.commit_debug`), answering oracle calls from the recorded answers;
`:stop` discards the run.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import trio

from omegad import client_files
from omegad.client_files import ClientFileMissing, ClientPathError
from omegad.lang import api
from omegad.lang.api import frame_tag
from omegad.sessions import ask as agentic
from omegad.sessions import engine
from omegad.sessions.debug.debugger import Breakpoint, Debugger, SavedStep, paused
from omegad.sessions.debug.run import SLICE, DebugRun
from omegad.sessions.engine import OracleFailure
from omegad.sessions.operations import (
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
    Operation,
)
from omegad.sessions.oracle_calls import evaluate_nested, observe

if TYPE_CHECKING:
    from omegad.sessions.interface import Session
    from omegad.sessions.mailbox import Job, Reply

MAX_RUN = 100_000       # the reference's `:run` limit
NO_SESSION = "(no debug session - use :debug (expr) to start)"


# ---- the commands ------------------------------------------------------------------------------

def _int(text: str) -> int | None:
    """A whole decimal number (a sign allowed), else None."""
    text = text.strip()
    try:
        return int(text) if text and text.lstrip("+-").isdigit() else None
    except ValueError:
        return None


def _flush_out(run: DebugRun, reply: Reply) -> None:
    """`display` output of the steps just taken, in order with the command's lines."""
    if run.out:
        text = "".join(run.out)
        reply.text.append(text)
        reply.unsent.append(text)
        run.out.clear()


async def _go(actor: Session, job: Job, reply: Reply, dbg: Debugger, limit: int | None,
              breaks: bool, through_effects: bool = False) -> None:
    """Step the paused run up to `limit` steps (None: no limit), stopping at a breakpoint (when
    `breaks`), an oracle call (dispatched, then reported), the end or an error."""
    run = dbg.run
    assert run is not None
    watch = engine.RssWatch(actor.manager.command_memory, actor.manager.max_memory)
    taken = 0
    while limit is None or taken < limit:
        if breaks and taken > 0:
            bp = dbg.hit(run)
            if bp is not None:
                reply.lines(["", f"*** Breakpoint {bp.id} hit at step {run.step} ***",
                             f"  Type: {bp.type}, Condition: {bp.condition}"])
                return
        n = SLICE if limit is None else min(limit - taken, SLICE)
        if breaks and dbg.needs_single_steps():
            n = 1
        elif breaks:
            nxt = dbg.next_step_break(run.step)
            if nxt is not None:
                n = min(n, nxt - run.step)
        before = run.step
        r = run.advance(n, engine.slice_clock(), watch.grown)
        taken += run.step - before
        dbg.push_history(before, run.step)
        dbg.record_to(run.step)
        _flush_out(run, reply)
        if isinstance(r, api.NeedsOracle):
            reply.lines(run.effect_lines(r.request))
            if not await _dispatch(actor, job, run, r.request, reply):
                _ended(dbg, run, reply)
                return
            dbg.record_to(run.step)
            if not through_effects:
                return
        elif isinstance(r, (api.Done, api.Failed)):
            await _finish(actor, job, dbg, run, reply)
            return
        over = watch.over()
        if over is not None:     # as for a command: the run ends, its changes undone
            run.result, run.end_step = run.run.stop(over), run.step
            _ended(dbg, run, reply)
            watch.give_back()
            return
        await trio.lowlevel.checkpoint()


async def _dispatch(actor: Session, job: Job, run: DebugRun, request: Any,
                    reply: Reply) -> bool:
    """Ask the session's oracle (the connection's provider) and resume the run with its answer."""
    from omegad.oracle.base import OracleError

    oracle = actor.manager.oracle_for(job.conn)
    try:
        if getattr(oracle, "config", None) is not None:   # a provider: its tools see the run
            response = await oracle.call(request, DebugHost(actor, oracle, run))
        else:
            response = await oracle.call(request)
    except (OracleError, OracleFailure) as e:
        run.run.resume_error(str(e))
        run.result, run.end_step = run.run.finished, run.step
        return False
    run.answer(response)
    return True


class DebugHost:
    """A provider's tools during a debug run: `eval` runs in the paused copy (its changes are
    not replayed when travel re-steps past the call: only the answer is), requests go out
    directly; the commit at DONE journals the calls with their receipts."""

    def __init__(self, actor: Session, oracle: Any, run: DebugRun) -> None:
        self.actor, self.oracle, self.run = actor, oracle, run

    async def eval(self, code: str) -> Any:
        async def deeper(request: Any) -> Any:
            return await self.oracle.call(request, self)

        pool = self.actor.manager
        return await evaluate_nested(self.run.state, code, self.run.sink, deeper,
                                     pool.command_memory, pool.max_memory)

    def observe(self, what: str) -> Any:
        return observe(self.run.state, self.actor.defs(), what)

    async def exchange(self, exchange: Any) -> dict[str, Any]:
        return await exchange.send()


async def _finish(actor: Session, job: Job, dbg: Debugger, run: DebugRun,
                  reply: Reply) -> None:
    result = run.result
    dbg.mode = False
    if isinstance(result, api.Failed):
        reply.line(result.printed)
        return
    assert isinstance(result, api.Done)
    reply.lines(["", f"=== DONE at step {run.step} ===", f"Result: {result.printed[3:]}",
                 f"Trace: {run.trace_end + 1} steps recorded. "
                 "Use :trace to view, :goto N to jump."])
    if not run.committed:
        answers = [run.answers[k] for k in sorted(run.answers)]
        await actor.commit_debug(run.form, answers, job)
        run.committed = True        # (an interrupted commit is retried when DONE comes again)


def _ended(dbg: Debugger, run: DebugRun, reply: Reply) -> None:
    dbg.mode = False
    if isinstance(run.result, api.Failed):
        reply.line(run.result.printed)


async def debug_(actor: Session, code: str, reply: Reply) -> None:
    if not code:
        reply.line("Usage: :debug (expression)")
        return
    forms = api.parse_inputs(code)
    if forms and forms[0].error:
        reply.line("error: " + forms[0].error)
        return
    if len(forms) != 1:
        reply.line("error: :debug takes exactly one expression")
        return
    dbg = actor.debugger()
    dbg.run = DebugRun(code, api.serialize(actor.state))
    dbg.mode, dbg.history = True, []
    reply.line("Debug session started. Use :step to begin stepping.")
    reply.lines(dbg.state_lines())


async def step(actor: Session, count: int | None, reply: Reply, job: Job) -> None:
    if count is None or count < 1:
        reply.line("Usage: :step [N]  (N a positive number of steps)")
        return
    await _advance(actor, job, reply, count, breaks=False)


async def run_(actor: Session, reply: Reply, job: Job) -> None:
    await _advance(actor, job, reply, None, breaks=True)


async def _advance(actor: Session, job: Job, reply: Reply, count: int | None,
                   breaks: bool) -> None:
    """`:step N` / `:run`: move the paused run on, then show where it stopped (if it did)."""
    dbg = actor.debugger()
    if paused(dbg) is None:
        reply.line(NO_SESSION)
        return
    await _go(actor, job, reply, dbg, count, breaks=breaks)
    if paused(dbg) is not None:
        reply.lines(dbg.state_lines())


async def goto(actor: Session, target: int | None, reply: Reply) -> None:
    if target is None:
        reply.line("Usage: :goto <step-number>")
        return
    dbg = actor.debugger()
    run = dbg.run
    if run is None:
        reply.line("(no trace recorded - run the program first)")
        return
    if not 0 <= target <= run.trace_end:
        reply.line(f"Step {target} not found. Available: 0-{run.trace_end}")
        return
    _move(dbg, run, target)
    reply.line(f"Jumped to step {run.step}")
    reply.lines(dbg.state_lines())


def _move(dbg: Debugger, run: DebugRun, target: int) -> None:
    run.goto(target)
    dbg.run, dbg.mode = run, True


def _parse_trace(arg: str) -> Operation:
    """`:trace [START [COUNT]]` steps of the debug run; `:trace ID …`: an `:ask` trace."""
    parts = arg.split()
    if parts and not parts[0].isdigit():
        return Command(llm_trace, arg, debug=True)
    return DebugTrace(int(parts[0]) if parts else 0,
                      (_int(parts[1]) if len(parts) > 1 else None) or 20)


async def trace(actor: Session, start: int, count: int, reply: Reply) -> None:
    dbg = actor.debugger()
    run = dbg.run
    if run is None:
        reply.line("(no trace recorded)")
        return
    total = run.trace_end + 1
    end = min(start + count, total)
    seen = run.scan(list(range(start, end)))
    dbg.shown = [(s, *seen[s]) for s in range(start, end)]
    reply.lines(["", f"Trace ({total} steps recorded):"])
    current = run.step if dbg.mode else None
    for s in range(start, end):
        c, d = seen[s]
        reply.line(f"  [{s}] {c} | stack={d}" + (" <-- current" if s == current else ""))
    if end < total:
        reply.line(f"  ... ({total - end} more, use ':trace {end} {count}' to see more)")


async def state(actor: Session, reply: Reply) -> None:
    reply.lines(actor.debugger().state_lines())


BREAK_USAGE = "Usage: :break step <N> | :break expr <tag> | :break effect <op>"


def _parse_break(arg: str) -> Operation:
    """`:break KIND CONDITION`: the condition is one word, as in the reference."""
    parts = arg.split()
    if len(parts) < 2:
        return Command(_usage(BREAK_USAGE), arg, debug=True)
    return DebugBreak(parts[0], parts[1])


async def break_(actor: Session, kind: str, condition: str, reply: Reply) -> None:
    condition = condition.strip()
    if not condition:
        reply.line(BREAK_USAGE)
        return
    if kind not in ("step", "expr", "effect"):
        reply.line("Invalid breakpoint type. Use: step, expr, or effect")
        return
    value: Any = condition
    if kind == "step":
        value = _int(condition)
        if value is None or value < 0:
            reply.line("Usage: :break step <N>  (N a step number)")
            return
    dbg = actor.debugger()
    bp = Breakpoint(dbg.next_id, kind, value)
    dbg.next_id += 1
    dbg.breakpoints.append(bp)
    reply.line(f"Breakpoint {bp.id} added: {kind} = {value}")


async def breaks(actor: Session, reply: Reply) -> None:
    dbg = actor.debugger()
    if not dbg.breakpoints:
        reply.line("No breakpoints set.")
        return
    reply.line("Breakpoints:")
    for bp in dbg.breakpoints:
        reply.line(f"  {bp.id}: {bp.type} = {bp.condition} "
                   f"[{'enabled' if bp.enabled else 'disabled'}]")


def _find_bp(dbg: Debugger, ident: int | None, usage: str, reply: Reply) -> Breakpoint | None:
    if ident is None:
        reply.line(usage)
        return None
    for bp in dbg.breakpoints:
        if bp.id == ident:
            return bp
    reply.line(f"Breakpoint {ident} not found.")
    return None


async def delbreak(actor: Session, ident: int | None, reply: Reply) -> None:
    dbg = actor.debugger()
    bp = _find_bp(dbg, ident, "Usage: :delbreak <id>", reply)
    if bp is not None:
        dbg.breakpoints.remove(bp)
        reply.line(f"Breakpoint {bp.id} deleted.")


async def toggle(actor: Session, ident: int | None, reply: Reply) -> None:
    dbg = actor.debugger()
    bp = _find_bp(dbg, ident, "Usage: :toggle <id>", reply)
    if bp is not None:
        bp.enabled = not bp.enabled
        reply.line(f"Breakpoint {bp.id} {'enabled' if bp.enabled else 'disabled'}.")


async def save(actor: Session, name: str, reply: Reply, _job: Job) -> None:
    if not name:
        reply.line("Usage: :save <name>")
        return
    dbg = actor.debugger()
    run = paused(dbg)
    if run is None:
        reply.line("(no debug session - use :debug (expr) first)")
        return
    dbg.saved_steps[name] = SavedStep(name, run, run.step, _iso_now())
    reply.line(f"Saved snapshot '{name}' at step {run.step}")


async def restore(actor: Session, name: str, reply: Reply, _job: Job) -> None:
    if not name:
        reply.line("Usage: :restore <name>")
        return
    dbg = actor.debugger()
    snap = dbg.saved_steps.get(name)
    if snap is None:
        reply.line(f"Snapshot '{name}' not found.")
        return
    _move(dbg, snap.run, snap.step)
    reply.line(f"Loaded snapshot '{name}' (step {snap.step})")
    reply.lines(dbg.state_lines())


async def snapshots(actor: Session, _arg: str, reply: Reply, _job: Job) -> None:
    dbg = actor.debugger()
    if not dbg.saved_steps:
        reply.line("No snapshots saved.")
        return
    reply.lines(["", "Snapshots:"])
    for name, snap in dbg.saved_steps.items():
        reply.line(f"  {name}: step {snap.step} ({snap.timestamp})")


async def export(actor: Session, arg: str, reply: Reply, job: Job) -> None:
    parts = arg.split()
    if len(parts) < 2:
        reply.line("Usage: :export <snapshot-name> <filepath>")
        return
    name, path = parts[0], " ".join(parts[1:])
    dbg = actor.debugger()
    snap = dbg.saved_steps.get(name)
    if snap is None:
        reply.line(f"Snapshot '{name}' not found.")
        return
    run = snap.run
    here = run.step
    run.goto(snap.step)
    tag, depth = ("Expr" if run.m.ctl is not None else "Val"), run.view()[1]
    run.goto(here)
    data = {"name": name, "step": snap.step, "timestamp": snap.timestamp, "controlTag": tag,
            "stackDepth": depth}
    try:
        target = client_files.write(job.conn, path, json.dumps(data, indent=2))
    except ClientPathError as e:
        reply.line(f"Error exporting: {e}")
        return
    reply.line(f"Exported snapshot metadata to {target}")


async def back(actor: Session, count: int | None, reply: Reply) -> None:
    if count is None or count < 1:
        reply.line("Usage: :back [N]  (N a positive number of steps)")
        return
    dbg = actor.debugger()
    if not dbg.history or dbg.run is None:
        reply.line("No history available.")
        return
    idx = max(0, len(dbg.history) - count)
    target = dbg.history[idx]
    del dbg.history[idx:]
    _move(dbg, dbg.run, target)
    reply.line(f"Rewound to step {target}")
    reply.lines(dbg.state_lines())


async def history(actor: Session, arg: str, reply: Reply, _job: Job) -> None:
    count = (_int(arg) if arg else None) or 10
    dbg = actor.debugger()
    if not dbg.history or dbg.run is None:
        reply.line("No history available.")
        return
    shown = dbg.history[-count:] if count > 0 else []
    seen = dbg.run.scan(shown)
    reply.lines(["", f"History (last {min(count, len(dbg.history))} steps):"])
    for s in shown:
        reply.line(f"  [{s}] {seen[s][0]}")
    reply.line(f"  [{dbg.run.step}] <current>")


async def record(actor: Session, arg: str, reply: Reply, _job: Job) -> None:
    dbg = actor.debugger()
    mode = arg.split()[0] if arg.split() else ""
    if mode == "on":
        dbg.recording = True
        reply.line("Recording: ON")
    elif mode == "off":
        dbg.recording = False
        reply.lines(["Recording: OFF",
                     "Warning: Without recording, 'goto' and 'dump' won't have new steps."])
    else:
        reply.line("Usage: :record on|off")


async def dump(actor: Session, path: str, reply: Reply, job: Job) -> None:
    if not path:
        reply.line("Usage: :dump <filepath>")
        return
    dbg = actor.debugger()
    run = dbg.run
    if run is None:
        reply.line("No trace to dump.")
        return
    total = run.trace_end + 1
    seen = run.scan(list(range(total)))
    data = {"version": 1, "code": run.code, "timestamp": _iso_now(), "totalSteps": total,
            "traceSummary": [{"step": s, "control": seen[s][0], "stackDepth": seen[s][1]}
                             for s in range(total)]}
    try:
        target = client_files.write(job.conn, path, json.dumps(data, indent=2, ensure_ascii=False))
    except ClientPathError as e:
        reply.line(f"Error dumping: {e}")
        return
    reply.line(f"Dumped trace summary to {target} ({total} steps)")
    reply.line("To replay: load the code and step through, or use ':replay <file>'")


async def _read_file(job: Job, arg: str, reply: Reply, usage: str,
                     failed: str) -> tuple[Path, str] | None:
    """The client's file `arg` and its text; None when there is none (the reply says why)."""
    if not arg:
        reply.line(usage)
        return None
    try:
        return await client_files.read(job.conn, arg)
    except ClientFileMissing as e:
        reply.line(f"File not found: {e.path}")
    except ClientPathError as e:
        reply.line(f"{failed}{e}")
    return None


async def replay(actor: Session, path: str, reply: Reply, job: Job) -> None:
    read = await _read_file(job, path, reply, "Usage: :replay <filepath>", "Error loading dump: ")
    if read is None:
        return
    found, text = read
    try:
        data = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError("not a dump (expected a JSON object)")
        code = data.get("code")
        total = data.get("totalSteps") or MAX_RUN
        if code and not isinstance(code, str) or not isinstance(total, int) or total < 0:
            raise ValueError("not a dump (bad 'code' or 'totalSteps')")
    except ValueError as e:
        reply.line(f"Error loading dump: {e}")
        return
    if not code:
        reply.line("Dump file missing 'code' field - cannot replay.")
        return
    forms = api.parse_inputs(code)
    if len(forms) != 1 or forms[0].error:
        reply.line(f"Error loading dump: {forms[0].error or 'code is not one expression'}")
        return
    reply.lines([f"Loading dump from: {found}", f"Original timestamp: {data.get('timestamp')}",
                 f"Total steps: {data.get('totalSteps')}", "", "Replaying execution..."])
    dbg = actor.debugger()
    dbg.run = DebugRun(code, api.serialize(actor.state))
    dbg.mode, dbg.history = True, []
    await _go(actor, job, reply, dbg, total, breaks=False, through_effects=True)
    reply.lines(["", f"Replay complete. {dbg.run.trace_end + 1} steps recorded.",
                 "Use ':goto <step>' to jump to any step, or ':trace' to see the trace."])


async def loadfile(actor: Session, path: str, reply: Reply, job: Job) -> None:
    read = await _read_file(job, path, reply, "Usage: :loadfile <path>", "error: ")
    if read is None:
        return
    found, code = read
    forms = await engine.read_forms(code)
    if forms and forms[0].error:
        reply.line("error: " + forms[0].error)
        return
    reply.line(f"Loaded from: {found}")
    for form in forms:
        await actor.evaluate_form(form, reply, job)


async def stop(actor: Session, reply: Reply) -> None:
    dbg = actor.debugger()
    if dbg.run is not None:
        dbg.saved_steps = {n: s for n, s in dbg.saved_steps.items() if s.run is not dbg.run}
        dbg.run, dbg.mode, dbg.history = None, False, []
    reply.line("Stopped.")


def _active_state(actor: Session) -> api.ReplState:
    run = paused(actor.debugger())
    return run.state if run is not None else actor.state


async def env(actor: Session, name: str, reply: Reply, _job: Job) -> None:
    from omegad.sessions.lookup import env_lines

    reply.lines(env_lines(_active_state(actor), name))


def _frames(actor: Session) -> list | None:
    run = paused(actor.debugger())
    if run is not None:
        return list(run.m.stack)
    return [] if actor.seq > 0 else None


def _frame_line(fr, i: int) -> str:
    return f"  {i}: {frame_tag(fr[0])}"


async def stack(actor: Session, _arg: str, reply: Reply, _job: Job) -> None:
    frames = _frames(actor)
    if frames is None:
        reply.line("(no state available - evaluate an expression first)")
    elif not frames:
        reply.line("(empty stack)")
    else:
        reply.line(f"Stack depth: {len(frames)}")
        for i in range(len(frames) - 1, -1, -1):
            reply.line(_frame_line(frames[i], i))


async def frame(actor: Session, arg: str, reply: Reply, _job: Job) -> None:
    n = _int(arg)
    if n is None:
        reply.line("Usage: :frame <number>")
        return
    frames = _frames(actor)
    if frames is None:
        reply.line("(no state available)")
    elif not 0 <= n < len(frames):
        reply.line(f"(frame {n} out of range, stack has {len(frames)} frames)")
    else:
        reply.line(_frame_line(frames[n], n))
        reply.line(f"  tag: {frame_tag(frames[n][0])}")


async def control(actor: Session, _arg: str, reply: Reply, _job: Job) -> None:
    run = paused(actor.debugger())
    if run is not None:
        reply.line(run.view()[0])
    elif actor.seq > 0:
        reply.line(f"Value: {actor.control}")
    else:
        reply.line("(no state available)")


async def ask(actor: Session, question: str, reply: Reply, job: Job) -> None:
    await agentic.ask(actor, question, reply, job)


async def traces(actor: Session, arg: str, reply: Reply, job: Job) -> None:
    await agentic.traces(actor, arg, reply, job)


async def llm_trace(actor: Session, arg: str, reply: Reply, job: Job) -> None:
    await agentic.show_trace(actor, arg, reply, job)


async def opr(actor: Session, _arg: str, reply: Reply, _job: Job) -> None:
    reply.line("The :opr-* commands belong to the reference's OPR runtime, which omega does not "
               "have.")


def _iso_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _usage(text: str):
    async def usage(actor: Session, _arg: str, reply: Reply, _job: Job) -> None:
        reply.line(text)
    return usage


def _line(command: Any) -> Any:
    """The parser of a debugger command without a typed form."""
    return lambda arg: Command(command, arg, debug=True)


def _first_int(arg: str) -> int | None:
    return _int(arg.split()[0]) if arg.split() else None


EXACT: dict[str, Any] = {
    ":debug": _line(_usage("Usage: :debug (expression)")),
    ":step": lambda _: DebugStep(1), ":run": lambda _: DebugContinue(),
    ":continue": lambda _: DebugContinue(), ":c": lambda _: DebugContinue(),
    ":goto": _line(_usage("Usage: :goto <step-number>")),
    ":g": _line(_usage("Usage: :goto <step-number>")),
    ":trace": _parse_trace, ":state": lambda _: DebugState(), ":st": lambda _: DebugState(),
    ":break": _line(_usage(BREAK_USAGE)), ":b": _line(_usage(BREAK_USAGE)),
    ":breaks": lambda _: DebugBreakpoints(), ":breakpoints": lambda _: DebugBreakpoints(),
    ":delbreak": _line(_usage("Usage: :delbreak <id>")),
    ":del": _line(_usage("Usage: :delbreak <id>")),
    ":toggle": _line(_usage("Usage: :toggle <id>")),
    ":save": _line(_usage("Usage: :save <name>")),
    ":restore": _line(_usage("Usage: :restore <name>")),
    ":snapshots": _line(snapshots), ":snaps": _line(snapshots),
    ":export": _line(_usage("Usage: :export <snapshot-name> <filepath>")),
    ":back": lambda _: DebugBack(1), ":history": _line(history), ":hist": _line(history),
    ":record": _line(_usage("Usage: :record on|off")),
    ":dump": _line(_usage("Usage: :dump <filepath>")),
    ":replay": _line(_usage("Usage: :replay <filepath>")),
    ":loadfile": _line(_usage("Usage: :loadfile <path>")), ":stop": lambda _: DebugStop(),
    ":env": _line(env), ":stack": _line(stack), ":frame": _line(_usage("Usage: :frame <number>")),
    ":control": _line(control), ":ask": _line(_usage("Usage: :ask <question>")),
    ":traces": _line(traces),
    ":opr-list": _line(opr), ":opr-run": _line(opr), ":opr-receipts": _line(opr),
    ":opr-verify": _line(opr),
}
PREFIX: dict[str, Any] = {
    ":debug ": DebugStart, ":step ": lambda arg: DebugStep(_int(arg)),
    ":goto ": lambda arg: DebugGoto(_first_int(arg)), ":g ": lambda arg: DebugGoto(_first_int(arg)),
    ":trace ": _parse_trace, ":break ": _parse_break, ":b ": _parse_break,
    ":delbreak ": lambda arg: DebugDelbreak(_first_int(arg)),
    ":del ": lambda arg: DebugDelbreak(_first_int(arg)),
    ":toggle ": lambda arg: DebugToggle(_first_int(arg)), ":save ": _line(save),
    ":restore ": _line(restore), ":export ": _line(export),
    ":back ": lambda arg: DebugBack(_int(arg)), ":history ": _line(history),
    ":hist ": _line(history), ":record ": _line(record),
    ":dump ": _line(dump), ":replay ": _line(replay), ":loadfile ": _line(loadfile),
    ":env ": _line(env), ":frame ": _line(frame), ":ask ": _line(ask), ":opr-run ": _line(opr),
    ":opr-verify ": _line(opr),
}


async def debugging(actor: Session, command: Awaitable[None]) -> dict[str, Any]:
    """Run one debugger command; then its state is saved beside the journal (it is part of the
    session) and read for the typed debug.* answer."""
    dbg = actor.debugger()
    dbg.shown = []
    try:
        await command
    finally:
        dbg.save()
    return dbg.typed()


def line_of(op: Operation) -> str:
    """The command line of a debugger operation an RPC method made (see commands.line_of)."""
    match op:
        case DebugStart(code):
            return f":debug {code}"
        case DebugStep(count):
            return f":step {count}"
        case DebugContinue():
            return ":run"
        case DebugGoto(step):
            return f":goto {step}"
        case DebugBack(count):
            return f":back {count}"
        case DebugStop():
            return ":stop"
        case DebugState():
            return ":state"
        case DebugTrace(start, count):
            return f":trace {start} {count}"
        case DebugBreakpoints():
            return ":breaks"
        case DebugBreak(kind, condition):
            return f":break {kind} {condition}"
        case DebugDelbreak(ident):
            return f":delbreak {ident}"
        case DebugToggle(ident):
            return f":toggle {ident}"
    return ""
