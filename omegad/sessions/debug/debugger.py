"""The stepping debugger of one session: its run, breakpoints, saved steps, history and `:ask`
traces, saved beside the journal (`<name>.debug`, the run's base state apart).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec

from omegad import owned
from omegad.lang import api
from omegad.sessions.debug.run import DebugRun, control_summary, tag_of
from protocol import methods as m

MAX_HISTORY = 100


@dataclass
class Breakpoint:
    id: int
    type: str
    condition: Any
    enabled: bool = True


@dataclass
class SavedStep:
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
    saved_steps: dict[str, SavedStep] = field(default_factory=dict)
    history: list[int] = field(default_factory=list)
    recording: bool = True
    path: Path | None = None            # where it persists (beside the journal)
    llm_traces: dict[str, dict] = field(default_factory=dict)   # `:ask` traces, by id
    saved: bytes = b""                  # what the last save wrote
    shown: list[tuple[int, str, int]] = field(default_factory=list)  # the last command's
    # `:trace` entries (step, control, depth), for the typed debug.* answer

    def summary(self) -> dict[str, Any]:
        """The debugger's part of `session.open` (the reference's `-s NAME` block)."""
        run = self.run
        return {"debug_mode": self.mode and run is not None and run.active,
                "step_count": run.step if run is not None else 0,
                "trace_length": run.trace_end + 1 if run is not None else 0,
                "breakpoints": len(self.breakpoints)}

    def typed(self) -> dict[str, Any]:
        """Its state as the typed debug.* methods answer it (no stepping)."""
        run = self.run
        at = paused(self)
        control, depth, handlers = at.view() if at is not None else (None, 0, 0)
        result = None
        if run is not None and run.result is not None:
            printed = run.result.printed
            result = printed[3:] if isinstance(run.result, api.Done) else printed
        return {
            "debug_mode": at is not None, "step": run.step if run is not None else 0,
            "control": control, "depth": depth, "handlers": handlers,
            "trace_length": run.trace_end + 1 if run is not None else 0,
            "finished": run is not None and not run.active, "result": result,
            "breakpoints": [m.BreakpointInfo(id=b.id, type=b.type, condition=b.condition,
                                             enabled=b.enabled) for b in self.breakpoints],
            "trace": [m.TraceEntry(step=s, control=c, depth=d) for s, c, d in self.shown],
        }

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
                                 for n, s in self.saved_steps.items() if s.run is run}
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
                dbg.saved_steps[n] = SavedStep(n, run, int(s["step"]), s["timestamp"])
        return dbg


def _write(path: Path, data: bytes) -> None:
    owned.replace_atomic(path, data, sync=False)


def paused(dbg: Debugger) -> DebugRun | None:
    run = dbg.run
    return run if run is not None and dbg.mode and run.active else None
