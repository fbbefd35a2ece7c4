"""The API a session actor drives: state, inputs, runs in slices, results.

    state = ReplState()
    for form in parse_inputs(text):             # one `=> ` line per top-level form
        run = start(state, form, output_sink=send)
        while True:
            r = run.run(10_000)                  # at most N steps, then yield to the event loop
            if isinstance(r, Running): continue
            if isinstance(r, NeedsOracle): run.resume(await oracle.call(r.request)); continue
            break                                # Done(value, printed) | Failed(message, printed)

A command is atomic: until a run reports Done, every mutation it makes is recorded in the
state's undo log, and `Failed` (or `run.abandon()`) rolls them back.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Generator
from dataclasses import dataclass, field

from . import backtrace
from .compile import Compiler, SharedCompiler
from .effects import OracleRequest as OracleRequest  # (part of this module's interface)
from .effects import OracleResponse as OracleResponse
from .effects import request_for, response_value
from .machine import Machine, Suspend
from .pieces import GRAVE, bury
from .prelude import CONSTANTS, PRELUDE
from .primitives import load_all
from .printer import PRINTED_AT_ONCE, write_atom, write_steps, write_str
from .reader import read_all, split_forms_steps
from .revision import set_place
from .steps import advance, finish
from .values import UNDEF, Pair, Sym, Value
from .values import LispError as LispError

DEFAULT_MEMORY_BUDGET = 512 * 1024 * 1024
_DEFINING = (Sym("define"), Sym("define-syntax"))  # held: unreferenced symbols are freed
DEFAULT_DEPTH_LIMIT = 10_000_000


# Deeply nested source is compiled and evaluated (inline parts) with Python recursion bounded
# by its nesting depth; Python 3.11 does not use the C stack for that, so a higher limit is safe.
MIN_RECURSION_LIMIT = 20_000


class ReplState:
    """Everything that persists between inputs: globals, gensym counter, macro table."""

    def __init__(self, prelude: bool = True) -> None:
        if sys.getrecursionlimit() < MIN_RECURSION_LIMIT:
            sys.setrecursionlimit(MIN_RECURSION_LIMIT)
        self.globals: dict[Value, Value] = {}
        self.undo: list[Value] = []                  # (target, key, old) of the running command
        # (id(target), key) -> (target, key, old): places changed since the last capture
        self.dirty: dict[Value, Value] = {}
        self.head = None                      # the last Revision captured (revision.py)
        self.ser: Value = None                      # serializer object table (serialize.py)
        self.gensym_counter = 0
        self.macros: dict[Value, Value] = {}
        self.version = 0                     # committed commands so far
        self.allocated = 0                   # bytes committed commands allocated (cheap metric)
        self.compiler = Compiler(self.globals, self.undo, self.macros)
        self.globals.update(load_all())
        self.globals.update(CONSTANTS)
        if prelude:
            self.globals.update(_prelude())
        self.builtins: dict[str, Value] = dict(self.globals)  # name -> builtin (not serialized)
        self.version = 0
        self.allocated = 0

    def user_names(self) -> list[str]:
        """Names bound by the user (not the builtins), for completion and listings."""
        b = self.builtins
        return sorted(n for n, v in self.globals.items() if b.get(n, UNDEF) is not v)

    def bound_names(self) -> list[str]:
        return sorted(self.globals)


@functools.cache
def _prelude() -> dict[Value, Value]:
    """The prelude's procedures, compiled and defined once per process and bound in every state.
    Compiling it for each state took 3 ms, which every new session, fork and state read paid.
    Sharing them is safe: a closure is never changed, and their code finds the globals of the
    session running it (SharedCompiler), so it still sees a session's own redefinitions."""
    state = ReplState(prelude=False)
    state.compiler = SharedCompiler(state.globals, state.undo, state.macros)
    for datum in read_all(PRELUDE):
        r = Run(state, datum, lambda s: None, None, None, None).run(10_000_000)
        if not isinstance(r, Done):
            raise RuntimeError(f"prelude failed: {r}")
    _NAMES_KEPT.update(Sym(name) for name in state.globals)
    return {name: v for name, v in state.globals.items() if state.builtins.get(name) is not v}


# The builtins' and the prelude's names as symbols, kept for the process's life: a symbol is
# interned only while something holds it (values.Sym), so reading `(+ 1 2)` made and freed the
# symbol `+` each time (3 of its 14 µs).
_NAMES_KEPT: set[Sym] = set()


# ---- results of a slice ----------------------------------------------------------------------
@dataclass
class Done:
    value: object
    printed: str            # "=> ..."
    steps: int = 0


@dataclass
class Failed:
    message: str
    printed: str            # "error: ..."
    steps: int = 0
    frames: list[backtrace.Frame] = field(default_factory=list)  # innermost first
    more_frames: int = 0    # activations beyond those


@dataclass
class NeedsOracle:
    request: OracleRequest


@dataclass
class Running:
    steps: int = 0


@dataclass
class Form:
    """One top-level input: its source text and datum (or the reader error it gave)."""
    text: str
    datum: object = None
    error: str | None = None


def parse_inputs(text: str) -> list[Form]:
    """Split an input text into its top-level forms. A reader error gives one Form with `error`
    set (the reference rejects the whole input)."""
    return finish(parse_inputs_steps(text))


def parse_inputs_steps(text: str) -> Generator[None, None, list[Form]]:
    """`parse_inputs` in steps (steps.py): a big input is read a few thousand tokens at a time."""
    try:
        return [Form(src, d) for src, d in (yield from split_forms_steps(text))]
    except LispError as e:
        return [Form(text, None, e.message)]


def define_name(datum: Value) -> str | None:
    """The name a top-level `(define ...)` form binds (its echo), else None."""
    if type(datum) is Pair and datum.car in _DEFINING and type(datum.cdr) is Pair:
        t = datum.cdr.car
        if type(t) is Pair:
            t = t.car
        if type(t) is Sym:
            return t.name
    return None


def format_value(v: Value) -> str:
    return "=> " + write_str(v)


def rollback(state: ReplState, mark: int) -> None:
    undo = state.undo
    while len(undo) > mark:
        target, key, old = undo.pop()
        set_place(target, key, old)


def commit(state: ReplState) -> None:
    dirty = state.dirty
    for target, key, old in state.undo:
        k = (id(target), key)
        if k not in dirty:
            dirty[k] = (target, key, old)
    state.undo.clear()
    state.version += 1


class Run:
    """One input being evaluated; drive it with run(max_steps) and resume(response)."""

    def __init__(self, state: ReplState, datum: Value, output_sink: Callable[[str], object] | None,
                 step_budget: int | None, memory_budget: int | None, depth_limit: int | None,
                 form_error: str | None = None, nested: bool = False) -> None:
        self.state = state
        self.nested = nested
        self.mark = len(state.undo)
        self.datum = datum
        self.finished: Done | Failed | None = None
        self.m = Machine(state, output_sink, step_budget, memory_budget, depth_limit)
        self.pending = None
        self.printing: tuple[object, Generator[None, None, str]] | None = None
        if form_error is not None:
            self._fail(form_error)
            return
        try:
            ex = state.compiler.compile_top(datum)
        except LispError as e:
            self._fail(e.message)
            return
        self.m.start(ex, None)

    def _fail(self, message: str, in_machine: bool = False) -> Failed:
        """End the run with an error (`in_machine`: raised while the machine ran, whose
        continuation then shows where: backtrace.py)."""
        found, more = backtrace.frames(self.m) if in_machine else ([], 0)
        rollback(self.state, self.mark)
        self.finished = Failed(message, "error: " + message, self.m.steps, found, more)
        return self.finished

    def run(self, max_steps: int = 100_000, should_yield: Callable[[], bool] | None = None,
            grown: Callable[[], int] | None = None) -> Done | Failed | NeedsOracle | Running:
        """At most `max_steps` steps; fewer when `should_yield()` (asked every few hundred
        steps and between the pieces of a long primitive) says the slice has had its time.
        `grown()`, if given, says how many bytes the process grew by since the run began: a
        memory budget then counts that rather than walking the heap to find the garbage."""
        self.m.should_yield = should_yield
        self.m.grown = grown
        if self.finished is not None:
            return self.finished
        if self.printing is not None:
            return self._print(should_yield)
        if self.pending is not None:
            return NeedsOracle(request_for(self.pending))
        try:
            done, value = self.m.run(max_steps)
        except LispError as e:
            return self._fail(e.message, True)
        except Suspend as s:
            self.pending = s.request
            return NeedsOracle(request_for(s.request))
        except (TypeError, ValueError, AttributeError, IndexError, KeyError,
                ArithmeticError) as e:
            return self._fail(_python_error(e), True)
        except MemoryError:
            return self._fail("out of memory")
        except Exception as e:  # a bug of ours must not take the session down
            return self._fail(f"internal error: {type(e).__name__}: {e}", True)
        if not done:
            bury()
            return Running(self.m.steps)
        name = define_name(self.datum)
        if name is not None:
            return self._done(value, "=> " + name)
        if type(value) in PRINTED_AT_ONCE:
            return self._done(value, "=> " + write_atom(value))
        self.printing = (value, write_steps(value))
        return self._print(should_yield)

    def _print(self, should_yield: Callable[[], bool] | None) -> Done | Running:
        """The finished run's value is printed in steps, between which a slice may end."""
        assert self.printing is not None
        value, steps = self.printing
        while True:
            done, text = advance(steps)
            if done:
                self.printing = None
                return self._done(value, "=> " + text)
            if should_yield is not None and should_yield():
                return Running(self.m.steps)

    def _done(self, value: Value, printed: str) -> Done:
        if not self.nested:
            commit(self.state)
            self.state.allocated += self.m.alloc
        self.finished = Done(value, printed, self.m.steps)
        return self.finished

    def resume(self, response: OracleResponse) -> None:
        """Continue after NeedsOracle with the oracle's (or a receipt's) response."""
        call = self.pending
        if call is None:
            raise RuntimeError("resume without a pending oracle request")
        self.pending = None
        self.m.resume_with(response_value(call.op, response))

    def stop(self, message: str) -> Done | Failed:
        """End the run now with `error: <message>` (a limit its driver enforces), rolled back."""
        if self.finished is not None:
            return self.finished
        self.pending = None
        return self._fail(message)

    def release(self) -> None:
        """A finished run lets go of what it still holds (its value, a failed run's garbage)."""
        m = self.m
        m.stack.clear()
        m.choices.clear()
        m.ctl = None
        m.val = None
        if isinstance(self.finished, Done):
            self.finished.value = None

    def resume_error(self, message: str) -> None:
        """The oracle failed: the command ends with `error: <message>`."""
        self.pending = None
        self._fail(message)

    def abandon(self) -> None:
        """Interrupt: drop the run and restore the state as it was before the input."""
        if self.finished is None:
            self._fail("interrupted")

    @property
    def steps(self) -> int:
        return self.m.steps

    def inspect(self) -> dict[Value, Value]:
        """A debugger's view between slices: steps, stack depth, the control (the expression
        about to run, or the value being returned) and the frames, innermost last."""
        m = self.m
        if m.ctl is not None:
            src = getattr(m.ctl[0], "src", None)
            control = ("Expr", write_str(src) if src is not None else frame_tag(m.ctl[0]))
        else:
            control = ("Value", write_str(m.val))
        return {"steps": m.steps, "depth": len(m.stack), "control": control,
                "frames": [frame_tag(fr[0]) for fr in m.stack],
                "pending_oracle": self.pending is not None}


def frame_tag(fn: Value) -> str:
    """A readable name for a frame's resume function (e.g. make_if.<locals>.resume -> if)."""
    q = getattr(fn, "__qualname__", type(fn).__name__)
    head = q.split(".<locals>.")[0].split(".")[-1]
    return head.removeprefix("make_").removeprefix("_").removesuffix("_resume") or head


def _python_error(e: Exception) -> str:
    """A primitive called with the wrong number of arguments raises TypeError when Python binds
    them; name the primitive as the user knows it."""
    text = str(e)
    if isinstance(e, TypeError) and "positional argument" in text and "() " in text:
        from .primitives.registry import PY_NAMES
        pyname, detail = text.split("() ", 1)
        name = PY_NAMES.get(pyname.rsplit(".", 1)[-1], pyname)
        return f"{name}: wrong number of arguments ({detail})"
    return f"{type(e).__name__}: {text}"


def start(state: ReplState, form: Value, *, output_sink: Callable[[str], object] | None = None,
          step_budget: int | None = None,
          memory_budget: int | None = DEFAULT_MEMORY_BUDGET,
          depth_limit: int | None = DEFAULT_DEPTH_LIMIT, nested: bool = False) -> Run:
    """Begin evaluating one input: a Form from parse_inputs, a datum, or a text of one form.

    `nested=True` is for an evaluation made while another run of the same state waits on the
    oracle (an oracle's `eval` tool): it sees the global environment, its changes become part
    of the waiting command (kept if that command completes, undone if it fails), and an error
    in it undoes only its own changes."""
    sink = output_sink or (lambda s: None)
    limits = (step_budget, memory_budget, depth_limit)
    if isinstance(form, Form):
        datum, error = form.datum, form.error
    elif isinstance(form, str):
        forms = parse_inputs(form)
        if len(forms) == 1:
            datum, error = forms[0].datum, forms[0].error
        else:
            datum = None
            error = forms[0].error if forms and forms[0].error else "expected exactly one form"
    else:
        datum, error = form, None
    return Run(state, datum, sink, *limits, form_error=error, nested=nested)


# ---- revisions, serialization, accounting --------------------------------------------------
def capture(state: ReplState) -> Value:
    """A cheap revision of the state between inputs (O(what changed since the last one))."""
    from .revision import capture as _capture
    return _capture(state)


def restore(state: ReplState, revision: Value) -> ReplState:
    """Move `state` (in place) to any revision captured from it; returns it."""
    from .revision import restore as _restore
    _restore(state, revision)
    return state


def prune_revisions(revision: Value) -> None:
    """Drop the history before `revision`: only it and later revisions stay restorable."""
    from .revision import prune
    prune(revision)


def serialize(state: ReplState) -> bytes:
    """Full, versioned MessagePack serialization of the state as it is now."""
    from .serialize import serialize as _serialize
    return _serialize(state)


def serialize_delta(state: ReplState, since: Value) -> bytes:
    """What changed between revision `since` and the current one (capture first)."""
    from .serialize import serialize_delta as _delta
    return _delta(state, since)


def deserialize(data: bytes, base: ReplState | None = None) -> ReplState:
    """A state from serialize() output, or `base` advanced by serialize_delta() output."""
    from .serialize import deserialize as _deserialize
    state: ReplState = _deserialize(data, base, fresh=ReplState)
    return state


def memory_estimate(state: ReplState) -> int:
    """The evaluator's own estimate of the bytes the user's heap holds (a reachability walk)."""
    from .steps import finish
    return finish(memory_estimate_steps(state))


def memory_estimate_steps(state: ReplState) -> Generator[None, None, int]:
    """`memory_estimate` in steps: it yields every 5 000 objects (a few milliseconds) and
    returns the estimate (the state must not change until it returns)."""
    from .accounting import heap_size_steps
    b = state.builtins
    roots = [v for n, v in state.globals.items() if b.get(n, UNDEF) is not v]
    roots.extend(state.macros.values())
    return 64 * len(roots) + (yield from heap_size_steps(roots, step=5_000))


def bury_steps() -> Generator[None, None, None]:
    """After a command: free, a piece at a time, the big lists it made that nothing holds."""
    while bury(final=True):
        yield


def unburied() -> bool:
    """Whether big lists made by a command still wait to be freed (an interrupted command's:
    its answer does not wait for that)."""
    return bool(GRAVE)


def global_names(state: ReplState) -> list[str]:
    """Every bound global name (builtins included), sorted: for completion."""
    return state.bound_names()
