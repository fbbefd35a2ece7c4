"""One debug run: an expression stepped on a copy of a session's state, with time travel.

A debug run evaluates one expression on a *copy* of the session's state (DESIGN "Debugger"), one
machine step at a time. Time travel does not keep a state per step: a run keeps a keyframe (the
continuation stack, control, value, amb choices and the length of the undo log) every `KEYFRAME`
steps (or every `depth` steps when the stack is deeper); going back restores the nearest
keyframe at or before the target (rolling the copy's undo log back to it, and keeping what it
undid as a redo log) and re-steps from there; going forward again redoes the original changes
up to the nearest original keyframe instead of re-stepping. So any `:goto` costs at most about
KEYFRAME steps. Oracle answers are recorded by step, so re-stepping never calls the oracle
again. A trace of a million steps costs a thousand keyframes (measured: bench/debugger.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from omegad.lang import api, decode_value
from omegad.lang.api import rollback
from omegad.lang.machine import perform_go
from omegad.lang.printer import write_str
from omegad.lang.revision import get_place, set_place
from omegad.lang.values import Pair, Sym

KEYFRAME = 1_000        # steps between keyframes
SLICE = 3_000           # steps between yields to trio while running


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
        self.run = api.start(self.state, self.form, output_sink=self.sink, nested=True)
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

    def sink(self, text: str) -> None:
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
            out.append((target, key, old, get_place(target, key)))
            set_place(target, key, old)
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
            set_place(target_, key, new)
        del self.redo[:n]
        self.keyframes = [k for k in self.keyframes if k.step <= a.step] + \
            [k for k in self.future if k.step <= j.step]
        self.future = [k for k in self.future if k.step > j.step]
        self.anchor = j
        self._set_machine(j)

    def advance(self, n: int, should_yield: Callable[[], bool] | None = None,
                grown: Callable[[], int] | None = None):
        """Up to n steps (stopping at an oracle call, the end or an error, or earlier when
        `should_yield()` says the slice had its time). Returns the last slice result: Running,
        Done, Failed or NeedsOracle (answered already if recorded). `grown()`: how much the
        process grew since the stepping began (a memory budget counts that: Run.run)."""
        r: Any = api.Running(self.step)
        target = self.step + n
        while self.step < target:
            if self.result is not None and self.step >= (self.end_step or 0):
                return self.result
            if should_yield is not None and should_yield():
                return r
            limit = min(target - self.step, max(1, self._next_keyframe() - self.step))
            r = self.run.run(limit, should_yield, grown)
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
        return "Value: " + cap(write_str(m.val))
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
        return f"Lit({cap(write_str(src))})"
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
            return f"Lit({cap(write_str(items[0]) if items else '')})"
        if h in ("let", "let*", "letrec", "cond", "and", "or", "when", "unless", "set!",
                 "match", "handle", "case", "do"):
            return h.capitalize().rstrip("!*")
    return "App(...)"


def cap(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def tag_of(summary: str) -> tuple[str, str | None]:
    """('App', None) / ('Var', 'x') / ('Define', 'k') / ('Effect', 'infer.op') of an Expr line."""
    body = summary.removeprefix("Expr: ")
    if "(" not in body:
        return body, None
    tag, arg = body.split("(", 1)
    return tag, arg[:-1]
