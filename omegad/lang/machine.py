"""The step machine: control + explicit continuation stack + handler frames.

A step is one iteration of `Machine.run`'s loop: either call the pending control `(ex, env)`, or
pop the top frame and resume it with the current value. Nodes evaluate pure children inline (see
compile.py), so only closure calls and the frames they need go through this loop.

Handlers live on the stack as boundary frames; performing an effect searches the stack for the
innermost boundary that handles the operation, captures the stack above it as `k` (deep
handler: the boundary is part of `k`), and runs the clause below it. `call/cc` copies the stack;
`amb` records choice points (stack copy + remaining alternatives) and backtracks to the most
recent one.
"""

from __future__ import annotations

from collections.abc import Callable

from .accounting import ALLOC, LIMIT, RECOUNT
from .values import (
    NIL,
    UNDEF,
    Closure,
    Continuation,
    CPrim,
    LispError,
    OracleProc,
    Pair,
    Prim,
    Value,
    type_tag,
)

FRAME_BYTES = 280       # accounting: one continuation frame with its env (measured RSS)
ORACLE_OPS = ("infer.op", "int.op", "search.op", "rewrite.op")


class Suspend(Exception):
    """Raised inside a step when the machine must wait for the oracle."""

    def __init__(self, request: Value) -> None:
        super().__init__("suspend")
        self.request = request


class OracleCall:
    """What the machine needs from the oracle (converted to a wire request by api.py)."""

    __slots__ = ("op", "payload", "proc", "args")

    def __init__(
        self,
        op: str,
        payload: Value = NIL,
        proc: Value = None,
        args: Value = None,
    ) -> None:
        self.op = op              # infer.op | int.op | search.op | rewrite.op | oracle.apply.op
        self.payload = payload
        self.proc = proc          # OracleProc for oracle.apply.op
        self.args = args


class Machine:
    """One evaluation in progress. `stack` is a list of frame tuples; `ctl` the pending control."""

    def __init__(
        self,
        state: Value,
        out: Callable[[str], object] | None,
        step_budget: int | None = None,
        memory_budget: int | None = None,
        depth_limit: int | None = None,
    ):
        self.state = state
        self.out = out                      # callable(str) receiving display output
        self.stack: list[Value] = []
        self.mark = 0                       # where frames pushed while unwinding go
        self.ctl: tuple[Value, ...] | None = None
        self.val = NIL
        self.choices: list[Value] = []             # amb choice points, most recent last
        self.steps = 0
        self.step_budget = step_budget
        self.memory_budget = memory_budget
        self.depth_limit = depth_limit
        self.alloc = 0                      # bytes allocated by primitives (own accounting)
        self._base = ALLOC[0]
        self._recount_mark: int | None = None
        self.done = False
        self.failed_at: Value = None        # the control or frame an error left (backtrace.py)

    def start(self, ex: Value, env: Value) -> None:
        self.ctl = (ex, env)

    def run(self, limit: int) -> Value:
        """Run at most `limit` steps. Returns (True, value) when finished, (False, None) if not.

        Raises LispError on an error and Suspend when the oracle is needed."""
        stack = self.stack
        ctl = self.ctl
        val = self.val
        fr: Value = None  # the frame being resumed (where an error left: failed_at)
        n = 0
        self._base = ALLOC[0]
        RECOUNT[0] = self.recount
        if self.memory_budget is not None:
            LIMIT[0] = ALLOC[0] + self.memory_budget - self.memory_used()
        else:
            LIMIT[0] = None
        chunk = 2048
        try:
            while n < limit:
                end = min(limit, n + chunk)
                while n < end:
                    n += 1
                    if ctl is not None:
                        self.mark = len(stack)
                        r = ctl[0](self, ctl[1])
                    elif stack:
                        fr = stack.pop()
                        self.mark = len(stack)
                        r = fr[0](self, fr, val)
                    else:
                        self.done = True
                        self.ctl = None
                        self.val = val
                        self.steps += n
                        self._settle()
                        return True, val
                    if type(r) is tuple:
                        ctl = r
                    else:
                        ctl = None
                        val = r
                self.ctl = ctl      # recount() walks from these
                self.val = val
                self._check(n)
        except Suspend:
            self.ctl = None
            self.steps += n
            self._settle()
            raise
        except RecursionError:
            self.steps += n
            self._settle()
            self.failed_at = ctl if ctl is not None else fr
            raise LispError("expression nested too deeply") from None
        except BaseException:
            self._settle()
            self.failed_at = ctl if ctl is not None else fr
            raise
        self.ctl = ctl
        self.val = val
        self.steps += n
        self._settle()
        return False, None

    def _settle(self) -> None:
        self.alloc += ALLOC[0] - self._base
        self._base = ALLOC[0]
        LIMIT[0] = None
        RECOUNT[0] = None

    def _check(self, n: int) -> None:
        depth = len(self.stack)
        if self.depth_limit is not None and depth > self.depth_limit:
            raise LispError(f"recursion depth limit exceeded ({self.depth_limit} frames)")
        if self.step_budget is not None and self.steps + n > self.step_budget:
            raise LispError(f"step budget exceeded ({self.step_budget} steps)")
        if self.memory_budget is not None:
            used = self.memory_used()
            if used > self.memory_budget:
                self.recount()
                used = self.memory_used()
            if used > self.memory_budget:
                depth = len(self.stack)
                why = f"; recursion depth {depth}" if depth * FRAME_BYTES > used // 2 else ""
                raise LispError(
                    f"memory budget exceeded ({used} > {self.memory_budget} bytes{why})")

    def recount(self) -> bool:
        """Replace the running total of allocations by what is still reachable from this
        command's continuation and the places it wrote (garbage does not count). At most once
        per quarter budget of new allocation, so a command holding much live data stays fast."""
        from .accounting import heap_size
        budget = self.memory_budget or 0
        if self._recount_mark is not None and ALLOC[0] - self._recount_mark < budget // 4:
            return False
        if len(self.stack) * FRAME_BYTES > budget // 2:
            return False  # the continuation itself is most of it: walking it cannot help
        self._recount_mark = ALLOC[0]
        roots: list[Value] = [self.val, self.ctl, self.choices]
        roots.extend(self.stack)
        for target, key, _old in self.state.undo:
            t = type(target)
            roots.append(target.get(key) if t is dict else target[key] if t is list
                         else getattr(target, key, None))
        # the walk also sees the frames and their environments, which FRAME_BYTES covers
        self.alloc = max(0, heap_size(roots) - len(self.stack) * FRAME_BYTES)
        self._base = ALLOC[0]
        if self.memory_budget is not None:
            LIMIT[0] = ALLOC[0] + self.memory_budget - self.memory_used()
        return True

    def memory_used(self) -> int:
        return (self.alloc + ALLOC[0] - self._base + len(self.stack) * FRAME_BYTES
                + len(self.state.undo) * 64 + len(self.choices) * 256)

    def resume_with(self, value: Value) -> None:
        """Continue after a suspension with the answer."""
        self.ctl = None
        self.val = value


# ---- application -----------------------------------------------------------------------------
def apply_proc(m: Machine, f: Value, args: list[Value]) -> Value:
    t = type(f)
    if t is Closure:
        lam = f.lam
        params = lam.params
        if lam.rest:
            nfix = len(params) - 1
            if len(args) < nfix:
                raise LispError(
                    f"Closure apply arity mismatch: expected at least {nfix}, got {len(args)}")
            rest = NIL
            for x in reversed(args[nfix:]):
                rest = Pair(x, rest)
            args = args[:nfix] + [rest]
        elif len(args) != len(params):
            raise LispError(
                f"Closure apply arity mismatch: expected {len(params)}, got {len(args)}")
        frame = [f.env]
        frame.extend(args)
        if lam.nslots > len(params):
            frame.extend([UNDEF] * (lam.nslots - len(params)))
        frame.append(lam)  # after the slots: whose call this frame is (backtrace.py)
        return (lam.body, frame)
    if t is Prim:
        return f.fn(*args)
    if t is CPrim:
        if f.control:
            return (_control_go, (f, args))
        return f.fn(m, args)
    if t is Continuation:
        if len(args) != 1:
            raise LispError(f"continuation: expected 1 argument, got {len(args)}")
        return (_cont_go, (f, args[0]))
    if t is OracleProc:
        return (_suspend_go, OracleCall("oracle.apply.op", proc=f, args=list(args)))
    raise LispError(f"Attempted to apply non-callable value: {type_tag(f)}")


# The *_go functions run as the machine's control, never inline inside a node, so the whole
# continuation is on the stack when they capture, cut or replace it.
def _control_go(m: Value, data: Value) -> Value:
    f, args = data
    return f.fn(m, args)


def _cont_go(m: Value, data: Value) -> Value:
    k, v = data
    if k.kind == "dead":
        raise LispError("continuation cannot be resumed: it was captured before a restore")
    if k.kind == "escape":
        m.stack[:] = k.stack
    else:
        m.stack.extend(k.stack)
    return v


def _suspend_go(m: Value, call: Value) -> None:
    raise Suspend(call)


def _value_resume(m: Value, fr: Value, val: Value) -> Value:
    return fr[1]


# ---- effects and handlers ----------------------------------------------------------------------
class HandlerSpec:
    __slots__ = ("on", "ret")

    def __init__(self, on: dict[Value, Value], ret: Value) -> None:
        self.on = on
        self.ret = ret


def _boundary_resume(m: Value, fr: Value, val: Value) -> Value:
    spec = fr[2]
    if spec.ret is None:
        return val
    return spec.ret(m, [fr[1], val])


def _finally_resume(m: Value, fr: Value, val: Value) -> Value:
    m.stack.append((_value_resume, val))
    return fr[2](m, fr[1])


def make_handle(body: Value, on: dict[Value, Value], ret: Value, fin: Value) -> Value:
    spec = HandlerSpec(on, ret)

    def handle_go(m: Value, env: Value) -> Value:
        st = m.stack
        if fin is not None:
            st.append((_finally_resume, env, fin))
        st.append((_boundary_resume, env, spec))
        m.mark = len(st)
        return body(m, env)

    def handle(m: Value, env: Value) -> Value:
        return (handle_go, env)
    return handle


def perform_go(m: Machine, data: Value) -> Value:
    op, args = data
    st = m.stack
    for i in range(len(st) - 1, -1, -1):
        fr = st[i]
        if fr[0] is _boundary_resume:
            clause = fr[2].on.get(op)
            if clause is not None:
                k = Continuation(tuple(st[i:]), "handler")
                del st[i:]
                m.mark = i
                if len(args) == 1:
                    x = args[0]
                elif not args:
                    x = NIL
                else:
                    from .values import make_list
                    x = make_list(args)
                return clause(m, [fr[1], x, k])
    if op in ORACLE_OPS:
        raise Suspend(OracleCall(op, payload=args[0] if args else NIL))
    if op == "amb.fail":
        return fail_go(m, None)
    if op == "amb.choose":
        return _choose_thunks(m, args[0] if args else NIL)
    raise LispError(f"Uncaught op: {op}")


def _choose_thunks(m: Machine, thunks: Value) -> Value:
    """(effect amb.choose (list thunk ...)): amb over procedures of no arguments."""
    alts = []
    while type(thunks) is Pair:
        t = thunks.car
        if type(t) is not Closure:
            raise LispError("amb.choose: thunk must be a closure")
        alts.append(lambda m, env, t=t: apply_proc(m, t, []))
        thunks = thunks.cdr
    if not alts:
        return fail_go(m, None)
    if len(alts) > 1:
        m.choices.append((tuple(m.stack), None, tuple(alts), 1))
    return alts[0](m, None)


# ---- amb ---------------------------------------------------------------------------------------
def make_amb(alts: list[Value]) -> Value:
    alts_t = tuple(alts)

    def amb_go(m: Value, env: Value) -> Value:
        if len(alts_t) > 1:
            m.choices.append((tuple(m.stack), env, alts_t, 1))
        return alts_t[0](m, env)

    def amb(m: Value, env: Value) -> Value:
        if not alts_t:
            return (fail_go, None)
        return (amb_go, env)
    return amb


def fail_go(m: Machine, _data: Value) -> Value:
    if not m.choices:
        raise LispError("amb: all alternatives exhausted")
    stack, env, alts, i = m.choices.pop()
    if i + 1 < len(alts):
        m.choices.append((stack, env, alts, i + 1))
    m.stack[:] = stack
    m.mark = len(stack)
    return alts[i](m, env)
