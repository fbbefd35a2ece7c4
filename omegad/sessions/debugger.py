"""The stepping debugger of one session: a debug run, its trace, breakpoints, snapshots, history.

A debug run evaluates one expression on a *copy* of the session's state (DESIGN "Debugger"), one
machine step at a time. Time travel does not keep a state per step: a run keeps a keyframe (the
continuation stack, control, value, amb choices and the length of the undo log) every `KEYFRAME`
steps (or every `depth` steps when the stack is deeper); going back restores the nearest
keyframe at or before the target (rolling the copy's undo log back to it, and keeping what it
undid as a redo log) and re-steps from there; going forward again redoes the original changes
up to the nearest original keyframe instead of re-stepping. So any `:goto` costs at most about
KEYFRAME steps. Oracle answers are recorded by step, so re-stepping never calls the oracle
again. A trace of a million steps costs a thousand keyframes (measured: bench/debugger.py).

When the run reaches DONE for the first time its expression is committed to the session as one
journaled input (`SessionActor.commit_debug`), answering oracle calls from the recorded answers;
`:stop` discards the run.

The command functions at the end give the reference's texts (`processReplCommand` in the
reference's `bin/omega-repl.ts`); step numbers are omega's own (DIVERGENCES C7).
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec
import trio

from omegad.lang import api, decode_value
from omegad.lang.api import rollback
from omegad.lang.checkpoint import _get, _set
from omegad.lang.machine import perform_go
from omegad.lang.printer import write_str
from omegad.lang.values import Pair, Sym

if TYPE_CHECKING:
    from omegad.sessions.actor import Job, Reply, SessionActor

log = logging.getLogger("omegad.sessions")

KEYFRAME = 1_000        # steps between keyframes
SLICE = 3_000           # steps between yields to trio while running
MAX_RUN = 100_000       # the reference's `:run` limit
MAX_HISTORY = 100
MAX_LOADFILE = 10 * 1024 * 1024
NO_SESSION = "(no debug session - use :debug (expr) to start)"


# ---- one debug run ---------------------------------------------------------------------------

@dataclass
class Keyframe:
    step: int
    undo: int
    stack: tuple
    ctl: Any
    val: Any
    choices: tuple
    alloc: int = 0


class DebugRun:
    """One expression being stepped on a copy of the session's state."""

    def __init__(self, code: str, base: bytes, answers: dict[int, Any] | None = None) -> None:
        self.code = code
        self.base = base                      # the session state it started from (serialized)
        self.state = api.deserialize(base)
        self.form = api.parse_inputs(code)[0]
        self.run = api.start(self.state, self.form, output_sink=self._sink, nested=True)
        self.answers: dict[int, Any] = dict(answers or {})   # step -> oracle response
        self.keyframes: list[Keyframe] = []   # consistent with the live state, ≤ its step
        # After a rewind the steps beyond it are not lost: the live state equals the original
        # run up to `anchor`; `future` holds the original keyframes after it and `redo` the
        # original changes from the anchor's undo position on, (target, key, old, new) each.
        self.anchor: Keyframe | None = None
        self.future: list[Keyframe] = []
        self.redo: list[tuple] = []
        self.out: list[str] = []
        self.muted = False
        self.result: api.Done | api.Failed | None = None     # how the run ended, at end_step
        self.end_step: int | None = None
        self.trace_end = 0                    # steps 0..trace_end are recorded
        self.committed = False
        self.saved_base: Path | None = None
        self._keyframe()

    # -- the machine ---------------------------------------------------------------------------
    @property
    def m(self):
        return self.run.m

    @property
    def step(self) -> int:
        return self.m.steps

    @property
    def active(self) -> bool:
        """The run is paused at a step (not past its end)."""
        return self.result is None or self.step < (self.end_step or 0)

    def _sink(self, text: str) -> None:
        if not self.muted:
            self.out.append(text)

    def _keyframe(self) -> None:
        m = self.m
        kf = Keyframe(m.steps, len(self.state.undo), tuple(m.stack), m.ctl, m.val,
                      tuple(m.choices), m.alloc)
        if self.keyframes and self.keyframes[-1].step >= kf.step:
            return
        self.keyframes.append(kf)

    def _next_keyframe(self) -> int:
        """Keyframes every KEYFRAME steps, or every `depth` steps when the stack is deeper, so
        the stacks they copy cost at most about one slot per step."""
        kf = self.keyframes[-1]
        return kf.step + max(KEYFRAME, len(kf.stack))

    def _set_machine(self, kf: Keyframe) -> None:
        m = self.m
        m.stack[:] = kf.stack
        m.ctl, m.val = kf.ctl, kf.val
        m.choices[:] = kf.choices
        m.steps, m.alloc = kf.step, kf.alloc
        m.done = False
        self.run.finished = None
        self.run.pending = None

    def _reset(self) -> None:
        """Back to step 0 after an error (which rolled every change of the copy back)."""
        self.anchor, self.future, self.redo = None, [], []
        del self.keyframes[1:]
        self._set_machine(self.keyframes[0])

    def _rollback_keeping(self, to: int) -> list[tuple]:
        """Roll the live undo log back to `to`, returning what it undid as redo entries."""
        undo, out = self.state.undo, []
        while len(undo) > to:
            target, key, old = undo.pop()
            out.append((target, key, old, _get(target, key)))
            _set(target, key, old)
        out.reverse()
        return out

    def _rewind(self, target: int) -> None:
        """Back to the latest keyframe at or before `target`, keeping the original run beyond
        it as the future. Keyframes the live state re-stepped past it are dropped: re-stepping
        makes new objects (frames, closures), which their stacks would mix with the old ones."""
        kf = [k for k in self.keyframes if k.step <= target][-1]
        a = self.anchor
        if a is None or kf.step < a.step:
            if a is not None:
                rollback(self.state, a.undo)          # the re-stepped part: nothing to keep
            kept = self._rollback_keeping(kf.undo)
            after = [k for k in self.keyframes
                     if kf.step < k.step <= (a.step if a is not None else self.step)]
            self.redo = kept + (self.redo if a is not None else [])
            self.future = after + (self.future if a is not None else [])
            self.anchor = kf
        else:
            rollback(self.state, kf.undo)
        self.keyframes = [k for k in self.keyframes if k.step <= kf.step]
        self._set_machine(kf)

    def _leap(self, target: int) -> None:
        """Forward to the latest original keyframe at or before `target` by redoing the original
        changes (no re-stepping), when the future holds one past the live step."""
        a = self.anchor
        ahead = [k for k in self.future if self.step < k.step <= target]
        if a is None or not ahead:
            return
        j = ahead[-1]
        rollback(self.state, a.undo)
        n = j.undo - a.undo
        undo = self.state.undo
        for target_, key, old, new in self.redo[:n]:
            undo.append((target_, key, old))
            _set(target_, key, new)
        del self.redo[:n]
        self.keyframes = [k for k in self.keyframes if k.step <= a.step] + \
            [k for k in self.future if k.step <= j.step]
        self.future = [k for k in self.future if k.step > j.step]
        self.anchor = j
        self._set_machine(j)

    def advance(self, n: int):
        """Up to n steps (stopping at an oracle call, the end or an error). Returns the last
        slice result: Running, Done, Failed or NeedsOracle (answered already if recorded)."""
        r: Any = api.Running(self.step)
        target = self.step + n
        while self.step < target:
            if self.result is not None and self.step >= (self.end_step or 0):
                return self.result
            limit = min(target - self.step, max(1, self._next_keyframe() - self.step))
            r = self.run.run(limit)
            if isinstance(r, api.NeedsOracle):
                answer = self.answers.get(self.step)
                if answer is None:
                    return r
                self.run.resume(answer)
                r = api.Running(self.step)
            elif isinstance(r, api.Done):
                self.result, self.end_step = r, self.step
                return r
            elif isinstance(r, api.Failed):
                return self._failed(r, limit, target)
            if self.step >= self._next_keyframe():
                self._keyframe()
        return r

    def _failed(self, r: api.Failed, limit: int, target: int):
        """An error ends the run at the step that raised it. The machine does not count the
        steps of a slice that raised, so a slice of several steps is re-stepped one by one
        (from the start: the error rolled the copy's changes back)."""
        if limit == 1:
            self.m.steps += 1
            self.result, self.end_step = r, self.step
            return r
        before, muted, last = self.step, self.muted, r
        self.result, self.end_step = None, None     # found again, one step at a time
        self._reset()
        self.muted = True
        try:
            self.advance(before - self.step)
            while self.result is None and self.step < target:
                last = self.advance(1)
        finally:
            self.muted = muted
        return last

    def answer(self, response: Any) -> None:
        """The oracle's response to the call pending at this step."""
        self.answers[self.step] = response
        self.run.resume(response)

    def goto(self, target: int) -> None:
        """Move to step `target` (0 ≤ target ≤ the furthest step reached)."""
        at_end = self.result is not None and self.step >= (self.end_step or 0)
        if at_end and isinstance(self.result, api.Failed):
            self._reset()
        elif target < self.step or at_end:
            self._rewind(target)
        if target > self.step:
            self._leap(target)
        self.muted = True
        try:
            self.advance(target - self.step)
        finally:
            self.muted = False

    def view(self) -> tuple[str, int, int]:
        """(control summary, stack depth, handlers) of the current step."""
        m = self.m
        if self.result is not None and self.step >= (self.end_step or 0):
            shown = self.result.printed[3:] if isinstance(self.result, api.Done) else "error"
            return f"Value: {shown}", 0, 0
        handlers = sum(1 for fr in m.stack if getattr(fr[0], "__name__", "") == "_boundary_resume")
        return control_summary(m), len(m.stack), handlers

    def scan(self, steps: list[int]) -> dict[int, tuple[str, int]]:
        """Control summary and depth at each of `steps`, coming back to where the run is."""
        here = self.step
        found: dict[int, tuple[str, int]] = {}
        for s in sorted(set(steps)):
            self.goto(s)
            c, d, _h = self.view()
            found[s] = (c, d)
        self.goto(here)
        return found

    def effect_lines(self, request: Any) -> list[str]:
        try:
            args = write_str(decode_value(request.payload))
        except (TypeError, ValueError, KeyError, api.LispError):
            args = request.prompt
        return ["", f"=== EFFECT at step {self.step} ===", f"Operation: {request.op}",
                f"Args: {args}"]


def control_summary(m) -> str:
    """The reference's `controlToString` for omega's machine."""
    if m.ctl is None:
        return "Value: " + _cap(write_str(m.val))
    fn = m.ctl[0]
    if fn is perform_go:
        return f"Expr: Effect({m.ctl[1][0]})"
    src = getattr(fn, "src", None)
    if src is None:
        name = getattr(fn, "__name__", "?").removesuffix("_go").removeprefix("_")
        return f"Expr: {name.capitalize()}"
    return "Expr: " + expr_tag(src)


def expr_tag(src) -> str:
    if type(src) is Sym:
        return f"Var({src.name})"
    if type(src) is not Pair:
        return f"Lit({_cap(write_str(src))})"
    head = src.car
    items = []
    x = src.cdr
    while type(x) is Pair:
        items.append(x.car)
        x = x.cdr
    if type(head) is Sym:
        h = head.name
        if h == "if":
            return "If(...)"
        if h == "lambda":
            params, n = items[0] if items else None, 0
            while type(params) is Pair:
                n, params = n + 1, params.cdr
            return f"Lambda({n} params)"
        if h == "begin":
            return f"Begin({len(items)} exprs)"
        if h == "define":
            name = api.define_name(src)
            return f"Define({name or '?'})"
        if h == "effect":
            op = items[0].name if items and type(items[0]) is Sym else "?"
            return f"Effect({op})"
        if h in ("quote",):
            return f"Lit({_cap(write_str(items[0]) if items else '')})"
        if h in ("let", "let*", "letrec", "cond", "and", "or", "when", "unless", "set!",
                 "match", "handle", "case", "do"):
            return h.capitalize().rstrip("!*")
    return "App(...)"


def _cap(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def tag_of(summary: str) -> tuple[str, str | None]:
    """('App', None) / ('Var', 'x') / ('Define', 'k') / ('Effect', 'infer.op') of an Expr line."""
    body = summary.removeprefix("Expr: ")
    if "(" not in body:
        return body, None
    tag, arg = body.split("(", 1)
    return tag, arg[:-1]


# ---- the session's debugger --------------------------------------------------------------------

@dataclass
class Breakpoint:
    id: int
    type: str
    condition: Any
    enabled: bool = True


@dataclass
class Snapshot:
    name: str
    run: DebugRun
    step: int
    timestamp: str


@dataclass
class Debugger:
    """Everything `:debug` and friends keep in a session (the reference's ReplState fields)."""

    run: DebugRun | None = None
    mode: bool = False                  # debugMode
    breakpoints: list[Breakpoint] = field(default_factory=list)
    next_id: int = 1
    snapshots: dict[str, Snapshot] = field(default_factory=dict)
    history: list[int] = field(default_factory=list)
    recording: bool = True
    path: Path | None = None            # where it persists (beside the journal)
    llm_traces: dict[str, dict] = field(default_factory=dict)   # `:ask` traces, by id
    saved: bytes = b""                  # what the last save wrote

    # -- what the commands share --------------------------------------------------------------
    def state_lines(self) -> list[str]:
        run = self.run
        if run is None or not self.mode:
            return ["(no debug session active)"]
        c, d, h = run.view()
        return ["", f"─── Step {run.step} ───", f"Control: {c}", f"Stack depth: {d}",
                f"Handlers: {h}"]

    def push_history(self, first: int, last: int) -> None:
        """Steps first..last-1 were left behind (the reference records each before stepping)."""
        start = max(first, last - MAX_HISTORY)
        self.history.extend(range(start, last))
        del self.history[: max(0, len(self.history) - MAX_HISTORY)]

    def record_to(self, step: int) -> None:
        run = self.run
        if run is not None and run.result is not None:
            step = min(step, (run.end_step or 1) - 1)   # the end itself is no state to visit
        if self.recording and self.run is not None and step > self.run.trace_end:
            self.run.trace_end = step

    def hit(self, run: DebugRun) -> Breakpoint | None:
        c = None
        for bp in self.breakpoints:
            if not bp.enabled:
                continue
            if bp.type == "step" and run.step == bp.condition:
                return bp
            if bp.type in ("expr", "effect"):
                if run.m.ctl is None or not run.active:   # a value: no expression to match
                    continue
                c = c or control_summary(run.m)
                tag, arg = tag_of(c)
                if bp.type == "expr" and (bp.condition == tag or (
                        tag in ("Define", "Var") and arg == bp.condition)):
                    return bp
                if bp.type == "effect" and tag == "Effect" and arg == bp.condition:
                    return bp
        return None

    def needs_single_steps(self) -> bool:
        return any(b.enabled and b.type != "step" for b in self.breakpoints)

    def next_step_break(self, after: int) -> int | None:
        steps = [b.condition for b in self.breakpoints
                 if b.enabled and b.type == "step" and isinstance(b.condition, int)
                 and b.condition > after]
        return min(steps) if steps else None

    # -- persistence (debugger state is part of the session) ----------------------------------
    def save(self) -> None:
        """Write the debugger's state beside the journal (the run's base state once, apart)."""
        if self.path is None:
            return
        run = self.run
        data: dict[str, Any] = {
            "version": 1, "debugMode": self.mode, "recordingEnabled": self.recording,
            "nextBreakpointId": self.next_id,
            "breakpoints": [vars(b) for b in self.breakpoints],
            "history": self.history, "llmTraces": list(self.llm_traces.values()),
        }
        if run is not None:
            base = self.path.with_suffix(".base")
            if run.saved_base != base:
                _write(base, run.base)
                run.saved_base = base
            data["run"] = {
                "code": run.code, "step": run.step, "traceEnd": run.trace_end,
                "committed": run.committed,
                "answers": {str(k): msgspec.to_builtins(v) for k, v in run.answers.items()},
            }
            data["snapshots"] = {n: {"step": s.step, "timestamp": s.timestamp}
                                 for n, s in self.snapshots.items() if s.run is run}
        text = json.dumps(data).encode()
        if text != self.saved:          # most commands change nothing worth a write
            _write(self.path, text)
            self.saved = text

    @classmethod
    def load(cls, path: Path) -> Debugger:
        dbg = cls(path=path)
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            return dbg
        dbg.mode = bool(data.get("debugMode"))
        dbg.recording = bool(data.get("recordingEnabled", True))
        dbg.next_id = int(data.get("nextBreakpointId", 1))
        dbg.breakpoints = [Breakpoint(**b) for b in data.get("breakpoints", [])]
        dbg.history = list(data.get("history", []))
        dbg.llm_traces = {t["id"]: t for t in data.get("llmTraces", []) if "id" in t}
        saved = data.get("run")
        if saved:
            answers = {int(k): msgspec.convert(v, api.OracleResponse)
                       for k, v in saved.get("answers", {}).items()}
            base = path.with_suffix(".base")
            try:
                run = DebugRun(saved["code"], base.read_bytes(), answers)
            except (OSError, ValueError, api.LispError):
                return dbg
            run.saved_base = base
            run.committed = bool(saved.get("committed"))
            run.goto(int(saved.get("traceEnd", 0)))
            run.trace_end = run.step
            run.goto(min(int(saved.get("step", 0)), run.step))
            dbg.run = run
            for n, s in data.get("snapshots", {}).items():
                dbg.snapshots[n] = Snapshot(n, run, int(s["step"]), s["timestamp"])
        return dbg


def _write(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def debugger_of(actor: SessionActor) -> Debugger:
    dbg = getattr(actor, "debug", None)
    if dbg is None:
        dbg = Debugger.load(actor.store.debugger(actor.name))
        actor.debug = dbg
    return dbg


# ---- the commands ------------------------------------------------------------------------------

def _int(text: str) -> int | None:
    """A whole decimal number (a sign allowed), else None."""
    text = text.strip()
    try:
        return int(text) if text and text.lstrip("+-").isdigit() else None
    except ValueError:
        return None


def _paused(dbg: Debugger) -> DebugRun | None:
    run = dbg.run
    return run if run is not None and dbg.mode and run.active else None


def _flush_out(run: DebugRun, reply: Reply) -> None:
    """`display` output of the steps just taken, in order with the command's lines."""
    if run.out:
        text = "".join(run.out)
        reply.text.append(text)
        reply.unsent.append(text)
        run.out.clear()


async def _go(actor: SessionActor, job: Job, reply: Reply, dbg: Debugger, limit: int | None,
              breaks: bool, through_effects: bool = False) -> None:
    """Step the paused run up to `limit` steps (None: no limit), stopping at a breakpoint (when
    `breaks`), an oracle call (dispatched, then reported), the end or an error."""
    run = dbg.run
    assert run is not None
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
        r = run.advance(n)
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
        await trio.lowlevel.checkpoint()


async def _dispatch(actor: SessionActor, job: Job, run: DebugRun, request: Any,
                    reply: Reply) -> bool:
    """Ask the session's oracle (the connection's provider) and resume the run with its answer."""
    from omegad.oracle.base import OracleError
    from omegad.sessions.engine import OracleFailure

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

    def __init__(self, actor: SessionActor, oracle: Any, run: DebugRun) -> None:
        self.actor, self.oracle, self.run = actor, oracle, run

    async def eval(self, code: str) -> Any:
        from omegad.sessions.oracle_calls import evaluate_nested

        async def deeper(request: Any) -> Any:
            return await self.oracle.call(request, self)

        return await evaluate_nested(self.run.state, code, self.run._sink, deeper)

    def observe(self, what: str) -> Any:
        from omegad.sessions.oracle_calls import observe

        return observe(self.run.state, self.actor.defs(), what)

    async def exchange(self, exchange: Any) -> dict[str, Any]:
        return await exchange.send()


async def _finish(actor: SessionActor, job: Job, dbg: Debugger, run: DebugRun,
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


async def debug_(actor: SessionActor, code: str, reply: Reply, job: Job) -> None:
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
    dbg = debugger_of(actor)
    dbg.run = DebugRun(code, api.serialize(actor.state))
    dbg.mode, dbg.history = True, []
    reply.line("Debug session started. Use :step to begin stepping.")
    reply.lines(dbg.state_lines())


async def step(actor: SessionActor, arg: str, reply: Reply, job: Job) -> None:
    count = _int(arg) if arg else 1
    if count is None or count < 1:
        reply.line("Usage: :step [N]  (N a positive number of steps)")
        return
    await _advance(actor, job, reply, count, breaks=False)


async def run_(actor: SessionActor, _arg: str, reply: Reply, job: Job) -> None:
    await _advance(actor, job, reply, None, breaks=True)


async def _advance(actor: SessionActor, job: Job, reply: Reply, count: int | None,
                   breaks: bool) -> None:
    """`:step N` / `:run`: move the paused run on, then show where it stopped (if it did)."""
    dbg = debugger_of(actor)
    if _paused(dbg) is None:
        reply.line(NO_SESSION)
        return
    await _go(actor, job, reply, dbg, count, breaks=breaks)
    if _paused(dbg) is not None:
        reply.lines(dbg.state_lines())


async def goto(actor: SessionActor, arg: str, reply: Reply, _job: Job) -> None:
    target = _int(arg.split()[0]) if arg.split() else None
    if target is None:
        reply.line("Usage: :goto <step-number>")
        return
    dbg = debugger_of(actor)
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


async def trace(actor: SessionActor, arg: str, reply: Reply, job: Job) -> None:
    parts = arg.split()
    if parts and not parts[0].isdigit():
        await llm_trace(actor, arg, reply, job)
        return
    start = int(parts[0]) if parts else 0
    count = (_int(parts[1]) if len(parts) > 1 else None) or 20
    dbg = debugger_of(actor)
    run = dbg.run
    if run is None:
        reply.line("(no trace recorded)")
        return
    total = run.trace_end + 1
    end = min(start + count, total)
    seen = run.scan(list(range(start, end)))
    job.trace_entries = [(s, *seen[s]) for s in range(start, end)]
    reply.lines(["", f"Trace ({total} steps recorded):"])
    current = run.step if dbg.mode else None
    for s in range(start, end):
        c, d = seen[s]
        reply.line(f"  [{s}] {c} | stack={d}" + (" <-- current" if s == current else ""))
    if end < total:
        reply.line(f"  ... ({total - end} more, use ':trace {end} {count}' to see more)")


async def state(actor: SessionActor, _arg: str, reply: Reply, _job: Job) -> None:
    reply.lines(debugger_of(actor).state_lines())


BREAK_USAGE = "Usage: :break step <N> | :break expr <tag> | :break effect <op>"


async def break_(actor: SessionActor, arg: str, reply: Reply, _job: Job) -> None:
    parts = arg.split()
    if len(parts) < 2:
        reply.line(BREAK_USAGE)
        return
    kind, condition = parts[0], parts[1]
    if kind not in ("step", "expr", "effect"):
        reply.line("Invalid breakpoint type. Use: step, expr, or effect")
        return
    value: Any = condition
    if kind == "step":
        value = _int(condition)
        if value is None or value < 0:
            reply.line("Usage: :break step <N>  (N a step number)")
            return
    dbg = debugger_of(actor)
    bp = Breakpoint(dbg.next_id, kind, value)
    dbg.next_id += 1
    dbg.breakpoints.append(bp)
    reply.line(f"Breakpoint {bp.id} added: {kind} = {value}")


async def breaks(actor: SessionActor, _arg: str, reply: Reply, _job: Job) -> None:
    dbg = debugger_of(actor)
    if not dbg.breakpoints:
        reply.line("No breakpoints set.")
        return
    reply.line("Breakpoints:")
    for bp in dbg.breakpoints:
        reply.line(f"  {bp.id}: {bp.type} = {bp.condition} "
                   f"[{'enabled' if bp.enabled else 'disabled'}]")


def _find_bp(dbg: Debugger, arg: str, usage: str, reply: Reply) -> Breakpoint | None:
    ident = _int(arg.split()[0]) if arg.split() else None
    if ident is None:
        reply.line(usage)
        return None
    for bp in dbg.breakpoints:
        if bp.id == ident:
            return bp
    reply.line(f"Breakpoint {ident} not found.")
    return None


async def delbreak(actor: SessionActor, arg: str, reply: Reply, _job: Job) -> None:
    dbg = debugger_of(actor)
    bp = _find_bp(dbg, arg, "Usage: :delbreak <id>", reply)
    if bp is not None:
        dbg.breakpoints.remove(bp)
        reply.line(f"Breakpoint {bp.id} deleted.")


async def toggle(actor: SessionActor, arg: str, reply: Reply, _job: Job) -> None:
    dbg = debugger_of(actor)
    bp = _find_bp(dbg, arg, "Usage: :toggle <id>", reply)
    if bp is not None:
        bp.enabled = not bp.enabled
        reply.line(f"Breakpoint {bp.id} {'enabled' if bp.enabled else 'disabled'}.")


async def save(actor: SessionActor, name: str, reply: Reply, _job: Job) -> None:
    if not name:
        reply.line("Usage: :save <name>")
        return
    dbg = debugger_of(actor)
    run = _paused(dbg)
    if run is None:
        reply.line("(no debug session - use :debug (expr) first)")
        return
    dbg.snapshots[name] = Snapshot(name, run, run.step, _iso_now())
    reply.line(f"Saved snapshot '{name}' at step {run.step}")


async def restore(actor: SessionActor, name: str, reply: Reply, _job: Job) -> None:
    if not name:
        reply.line("Usage: :restore <name>")
        return
    dbg = debugger_of(actor)
    snap = dbg.snapshots.get(name)
    if snap is None:
        reply.line(f"Snapshot '{name}' not found.")
        return
    _move(dbg, snap.run, snap.step)
    reply.line(f"Loaded snapshot '{name}' (step {snap.step})")
    reply.lines(dbg.state_lines())


async def snapshots(actor: SessionActor, _arg: str, reply: Reply, _job: Job) -> None:
    dbg = debugger_of(actor)
    if not dbg.snapshots:
        reply.line("No snapshots saved.")
        return
    reply.lines(["", "Snapshots:"])
    for name, snap in dbg.snapshots.items():
        reply.line(f"  {name}: step {snap.step} ({snap.timestamp})")


async def export(actor: SessionActor, arg: str, reply: Reply, _job: Job) -> None:
    parts = arg.split()
    if len(parts) < 2:
        reply.line("Usage: :export <snapshot-name> <filepath>")
        return
    name, path = parts[0], " ".join(parts[1:])
    dbg = debugger_of(actor)
    snap = dbg.snapshots.get(name)
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
        Path(path).write_text(json.dumps(data, indent=2))
    except OSError as e:
        reply.line(f"Error exporting: {_os_message(e)}")
        return
    reply.line(f"Exported snapshot metadata to {path}")


async def back(actor: SessionActor, arg: str, reply: Reply, _job: Job) -> None:
    count = _int(arg) if arg else 1
    if count is None or count < 1:
        reply.line("Usage: :back [N]  (N a positive number of steps)")
        return
    dbg = debugger_of(actor)
    if not dbg.history or dbg.run is None:
        reply.line("No history available.")
        return
    idx = max(0, len(dbg.history) - count)
    target = dbg.history[idx]
    del dbg.history[idx:]
    _move(dbg, dbg.run, target)
    reply.line(f"Rewound to step {target}")
    reply.lines(dbg.state_lines())


async def history(actor: SessionActor, arg: str, reply: Reply, _job: Job) -> None:
    count = (_int(arg) if arg else None) or 10
    dbg = debugger_of(actor)
    if not dbg.history or dbg.run is None:
        reply.line("No history available.")
        return
    shown = dbg.history[-count:] if count > 0 else []
    seen = dbg.run.scan(shown)
    reply.lines(["", f"History (last {min(count, len(dbg.history))} steps):"])
    for s in shown:
        reply.line(f"  [{s}] {seen[s][0]}")
    reply.line(f"  [{dbg.run.step}] <current>")


async def record(actor: SessionActor, arg: str, reply: Reply, _job: Job) -> None:
    dbg = debugger_of(actor)
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


async def dump(actor: SessionActor, path: str, reply: Reply, _job: Job) -> None:
    if not path:
        reply.line("Usage: :dump <filepath>")
        return
    dbg = debugger_of(actor)
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
        Path(path).write_text(json.dumps(data, indent=2, ensure_ascii=False))
    except OSError as e:
        reply.line(f"Error dumping: {_os_message(e)}")
        return
    reply.line(f"Dumped trace summary to {path} ({total} steps)")
    reply.line("To replay: load the code and step through, or use ':replay <file>'")


async def replay(actor: SessionActor, path: str, reply: Reply, job: Job) -> None:
    if not path:
        reply.line("Usage: :replay <filepath>")
        return
    if not Path(path).exists():
        reply.line(f"File not found: {path}")
        return
    try:
        data = json.loads(_read_small(path))
        if not isinstance(data, dict):
            raise ValueError("not a dump (expected a JSON object)")
        code = data.get("code")
        total = data.get("totalSteps") or MAX_RUN
        if code and not isinstance(code, str) or not isinstance(total, int) or total < 0:
            raise ValueError("not a dump (bad 'code' or 'totalSteps')")
    except (OSError, ValueError, UnicodeDecodeError) as e:
        reply.line(f"Error loading dump: {_os_message(e) if isinstance(e, OSError) else e}")
        return
    if not code:
        reply.line("Dump file missing 'code' field - cannot replay.")
        return
    forms = api.parse_inputs(code)
    if len(forms) != 1 or forms[0].error:
        reply.line(f"Error loading dump: {forms[0].error or 'code is not one expression'}")
        return
    reply.lines([f"Loading dump from: {path}", f"Original timestamp: {data.get('timestamp')}",
                 f"Total steps: {data.get('totalSteps')}", "", "Replaying execution..."])
    dbg = debugger_of(actor)
    dbg.run = DebugRun(code, api.serialize(actor.state))
    dbg.mode, dbg.history = True, []
    await _go(actor, job, reply, dbg, total, breaks=False, through_effects=True)
    reply.lines(["", f"Replay complete. {dbg.run.trace_end + 1} steps recorded.",
                 "Use ':goto <step>' to jump to any step, or ':trace' to see the trace."])


async def loadfile(actor: SessionActor, path: str, reply: Reply, job: Job) -> None:
    if not path:
        reply.line("Usage: :loadfile <path>")
        return
    if not Path(path).exists():
        reply.line(f"File not found: {path}")
        return
    try:
        code = _read_small(path)
    except (OSError, ValueError) as e:
        reply.line(f"error: {_os_message(e) if isinstance(e, OSError) else e}")
        return
    forms = api.parse_inputs(code)
    if forms and forms[0].error:
        reply.line("error: " + forms[0].error)
        return
    reply.line(f"Loaded from: {path}")
    for form in forms:
        await actor._evaluate_form(form, reply, job)


def _read_small(path: str) -> str:
    """The text of a user's file of at most MAX_LOADFILE bytes; OSError / ValueError say why not
    (UnicodeDecodeError is a ValueError)."""
    file = Path(path)
    if file.is_dir():
        raise IsADirectoryError(f"{path} is a directory")
    size = file.stat().st_size
    if size > MAX_LOADFILE:
        raise ValueError(f"{path} is too large to load ({size} bytes; the limit is {MAX_LOADFILE})")
    return file.read_text(encoding="utf-8")


async def stop(actor: SessionActor, _arg: str, reply: Reply, _job: Job) -> None:
    dbg = debugger_of(actor)
    if dbg.run is not None:
        dbg.snapshots = {n: s for n, s in dbg.snapshots.items() if s.run is not dbg.run}
        dbg.run, dbg.mode, dbg.history = None, False, []
    reply.line("Stopped.")


def _active_state(actor: SessionActor) -> api.ReplState:
    run = _paused(debugger_of(actor))
    return run.state if run is not None else actor.state


async def env(actor: SessionActor, name: str, reply: Reply, _job: Job) -> None:
    from omegad.sessions.lookup import env_lines

    reply.lines(env_lines(_active_state(actor), name))


def _frames(actor: SessionActor) -> list | None:
    run = _paused(debugger_of(actor))
    if run is not None:
        return list(run.m.stack)
    return [] if actor.seq > 0 else None


def _frame_line(fr, i: int) -> str:
    from omegad.lang.api import _frame_tag

    return f"  {i}: {_frame_tag(fr[0])}"


async def stack(actor: SessionActor, _arg: str, reply: Reply, _job: Job) -> None:
    frames = _frames(actor)
    if frames is None:
        reply.line("(no state available - evaluate an expression first)")
    elif not frames:
        reply.line("(empty stack)")
    else:
        reply.line(f"Stack depth: {len(frames)}")
        for i in range(len(frames) - 1, -1, -1):
            reply.line(_frame_line(frames[i], i))


async def frame(actor: SessionActor, arg: str, reply: Reply, _job: Job) -> None:
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
        from omegad.lang.api import _frame_tag

        reply.line(_frame_line(frames[n], n))
        reply.line(f"  tag: {_frame_tag(frames[n][0])}")


async def control(actor: SessionActor, _arg: str, reply: Reply, _job: Job) -> None:
    run = _paused(debugger_of(actor))
    if run is not None:
        reply.line(run.view()[0])
    elif actor.seq > 0:
        reply.line(f"Value: {actor.control}")
    else:
        reply.line("(no state available)")


async def ask(actor: SessionActor, question: str, reply: Reply, job: Job) -> None:
    from omegad.sessions import ask as agentic

    await agentic.ask(actor, question, reply, job)


async def traces(actor: SessionActor, arg: str, reply: Reply, job: Job) -> None:
    from omegad.sessions import ask as agentic

    await agentic.traces(actor, arg, reply, job)


async def llm_trace(actor: SessionActor, arg: str, reply: Reply, job: Job) -> None:
    from omegad.sessions import ask as agentic

    await agentic.show_trace(actor, arg, reply, job)


async def opr(actor: SessionActor, _arg: str, reply: Reply, _job: Job) -> None:
    reply.line("The :opr-* commands belong to the reference's OPR runtime, which omega does not "
               "have.")


def _iso_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _os_message(e: OSError) -> str:
    return f"{e.strerror or e}: {e.filename}" if e.filename else str(e.strerror or e)


def _usage(text: str):
    async def usage(actor: SessionActor, _arg: str, reply: Reply, _job: Job) -> None:
        reply.line(text)
    return usage


EXACT = {
    ":debug": _usage("Usage: :debug (expression)"),
    ":step": step, ":run": run_, ":continue": run_, ":c": run_,
    ":goto": _usage("Usage: :goto <step-number>"), ":g": _usage("Usage: :goto <step-number>"),
    ":trace": trace, ":state": state, ":st": state,
    ":break": _usage(BREAK_USAGE), ":b": _usage(BREAK_USAGE),
    ":breaks": breaks, ":breakpoints": breaks,
    ":delbreak": _usage("Usage: :delbreak <id>"), ":del": _usage("Usage: :delbreak <id>"),
    ":toggle": _usage("Usage: :toggle <id>"),
    ":save": _usage("Usage: :save <name>"), ":restore": _usage("Usage: :restore <name>"),
    ":snapshots": snapshots, ":snaps": snapshots,
    ":export": _usage("Usage: :export <snapshot-name> <filepath>"),
    ":back": back, ":history": history, ":hist": history,
    ":record": _usage("Usage: :record on|off"), ":dump": _usage("Usage: :dump <filepath>"),
    ":replay": _usage("Usage: :replay <filepath>"),
    ":loadfile": _usage("Usage: :loadfile <path>"), ":stop": stop,
    ":env": env, ":stack": stack, ":frame": _usage("Usage: :frame <number>"),
    ":control": control, ":ask": _usage("Usage: :ask <question>"), ":traces": traces,
    ":opr-list": opr, ":opr-run": opr, ":opr-receipts": opr, ":opr-verify": opr,
}
PREFIX = {
    ":debug ": debug_, ":step ": step, ":goto ": goto, ":g ": goto, ":trace ": trace,
    ":break ": break_, ":b ": break_, ":delbreak ": delbreak, ":del ": delbreak,
    ":toggle ": toggle, ":save ": save, ":restore ": restore, ":export ": export,
    ":back ": back, ":history ": history, ":hist ": history, ":record ": record,
    ":dump ": dump, ":replay ": replay, ":loadfile ": loadfile, ":env ": env,
    ":frame ": frame, ":ask ": ask, ":opr-run ": opr, ":opr-verify ": opr,
}


# ---- the session summary and legacy batch files ------------------------------------------------

def _needs_oracle(probe: api.ReplState, form: api.Form) -> bool:
    """Evaluate `form` in the probe state; True when it would need the oracle."""
    run = api.start(probe, form)
    while True:
        r = run.run(100_000)
        if isinstance(r, api.NeedsOracle):
            run.abandon()
            return True
        if not isinstance(r, api.Running):
            return False


def summary(actor: SessionActor) -> dict[str, Any]:
    """The debugger's part of `session.open` (the reference's `-s NAME` block)."""
    dbg = debugger_of(actor)
    run = dbg.run
    return {"debug_mode": dbg.mode and run is not None and run.active,
            "step_count": run.step if run is not None else 0,
            "trace_length": run.trace_end + 1 if run is not None else 0,
            "breakpoints": len(dbg.breakpoints)}


def note_legacy(actor: SessionActor, env: dict[str, str]) -> bool:
    """On the first use of NAME by a client whose HOME holds `.omega-sessions/repl-NAME.json`
    and when the session has no journal yet: import that file before the next job (C5/C6)."""
    home = env.get("HOME")
    if not home or actor.store.journal(actor.name).exists():
        return False
    path = Path(home) / ".omega-sessions" / f"repl-{actor.name}.json"
    if not path.is_file():
        return False
    actor.legacy = path
    return True


async def import_legacy(actor: SessionActor, job: Job) -> None:
    """Re-evaluate the file's defines, then bring the debugger back to its saved step."""
    from omegad.sessions.actor import Reply

    path, actor.legacy = actor.legacy, None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        defs = [d for d in data.get("defs", []) if isinstance(d, str)]
    except (OSError, ValueError, AttributeError):
        return
    actor.reevaluating = True  # no provider is asked anew (oracle_calls.py)
    try:
        probe = api.deserialize(api.serialize(actor.state))
        for code in defs:
            for form in api.parse_inputs(code):
                if form.error is not None:
                    continue
                if _needs_oracle(probe, form):   # no receipts here: never call a provider
                    log.warning("session %s: legacy define skipped (it calls the oracle): %s",
                                actor.name, form.text)
                    continue
                await actor._evaluate_form(form, Reply(), job)
    finally:
        actor.reevaluating = False
    dbg = debugger_of(actor)
    dbg.recording = bool(data.get("recordingEnabled", True))
    dbg.next_id = int(data.get("nextBreakpointId", 1))
    for b in data.get("breakpoints", []):
        try:
            dbg.breakpoints.append(Breakpoint(int(b["id"]), str(b["type"]), b["condition"],
                                              bool(b.get("enabled", True))))
        except (KeyError, TypeError, ValueError):
            continue
    code = data.get("debugCode")
    if data.get("debugMode") and isinstance(code, str):
        forms = api.parse_inputs(code)
        if len(forms) == 1 and forms[0].error is None:
            run = DebugRun(code, api.serialize(actor.state))
            run.muted = True
            run.advance(max(0, int(data.get("stepCount", 0))))
            if not run.active:          # omega's steps are coarser (C7): stay before the end
                run.goto(max(0, (run.end_step or 1) - 1))
            run.muted = False
            run.trace_end = run.step
            dbg.run, dbg.mode = run, True
    dbg.save()


def typed(actor: SessionActor, job: Job | None = None) -> dict[str, Any]:
    """The debugger's state as the typed debug.* methods answer it (no stepping)."""
    from protocol import methods as m

    dbg = debugger_of(actor)
    run = dbg.run
    paused = _paused(dbg)
    control, depth, handlers = paused.view() if paused is not None else (None, 0, 0)
    result = None
    if run is not None and run.result is not None:
        printed = run.result.printed
        result = printed[3:] if isinstance(run.result, api.Done) else printed
    entries = getattr(job, "trace_entries", None) or []
    return {
        "debug_mode": paused is not None, "step": run.step if run is not None else 0,
        "control": control, "depth": depth, "handlers": handlers,
        "trace_length": run.trace_end + 1 if run is not None else 0,
        "finished": run is not None and not run.active, "result": result,
        "breakpoints": [m.BreakpointInfo(id=b.id, type=b.type, condition=b.condition,
                                         enabled=b.enabled) for b in dbg.breakpoints],
        "trace": [m.TraceEntry(step=s, control=c, depth=d) for s, c, d in entries],
    }
