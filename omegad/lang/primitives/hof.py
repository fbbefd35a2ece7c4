"""Primitives that call procedures: map, filter, folds, apply, call/cc, promises and streams.

They are `control` primitives: they run as the machine's control, loop directly while the
procedure answers at once (a primitive), and push a resume frame when it needs the machine (a
closure). Accumulators are immutable (nested tuples), so a continuation captured inside the
procedure can be resumed more than once."""

from __future__ import annotations

from ..accounting import PAIR, charge
from ..machine import apply_proc
from ..values import (
    Closure,
    Continuation,
    CPrim,
    LispError,
    OracleProc,
    Pair,
    Prim,
    Promise,
    Value,
    is_true,
    type_tag,
)
from .registry import cprim, prim

_PROCS = (Closure, Prim, CPrim, Continuation, OracleProc)


def _proc(who: str, f: Value) -> Value:
    if type(f) not in _PROCS:
        raise LispError(f"{who}: expected procedure")
    return f


def _items(x: Value) -> list[Value]:
    out = []
    while type(x) is Pair:
        out.append(x.car)
        x = x.cdr
    return out


def _build(acc: Value) -> object:
    """Nested (value, rest) tuples, most recent first -> a proper list in order."""
    out = None
    n = 0
    while acc is not None:
        out = Pair(acc[0], out)
        acc = acc[1]
        n += 1
    charge(PAIR * n)
    return out


def _arg_rows(lists: list[Value]) -> list[Value]:
    cols = [_items(lst) for lst in lists]
    if len(cols) == 1:
        return [[x] for x in cols[0]]
    n = min(len(c) for c in cols)
    return [[c[i] for c in cols] for i in range(n)]


# ---- map -------------------------------------------------------------------------------------
def _map_loop(m: Value, f: Value, rows: Value, i: Value, acc: Value) -> Value:
    n = len(rows)
    while i < n:
        r = apply_proc(m, f, rows[i])
        if type(r) is tuple:
            m.stack.append((_map_resume, f, rows, i, acc))
            return r
        acc = (r, acc)
        i += 1
    return _build(acc)


def _map_resume(m: Value, fr: Value, val: Value) -> Value:
    return _map_loop(m, fr[1], fr[2], fr[3] + 1, (val, fr[4]))


@cprim("map", "f list lists...",
       "A list of (f x ...) for the elements of the lists taken in parallel.", control=True)
def map_(m: Value, args: Value) -> Value:
    if len(args) < 2:
        raise LispError("map: expected a procedure and a list")
    f = _proc("map", args[0])
    return _map_loop(m, f, _arg_rows(args[1:]), 0, None)


# ---- for-each --------------------------------------------------------------------------------
def _each_loop(m: Value, f: Value, rows: Value, i: Value) -> Value:
    n = len(rows)
    while i < n:
        r = apply_proc(m, f, rows[i])
        if type(r) is tuple:
            m.stack.append((_each_resume, f, rows, i))
            return r
        i += 1
    return None


def _each_resume(m: Value, fr: Value, val: Value) -> Value:
    return _each_loop(m, fr[1], fr[2], fr[3] + 1)


@cprim("for-each", "f list lists...",
       "Call f on the elements of the lists in order, for their effects.", control=True)
def for_each(m: Value, args: Value) -> Value:
    if len(args) < 2:
        raise LispError("for-each: expected a procedure and a list")
    f = _proc("for-each", args[0])
    return _each_loop(m, f, _arg_rows(args[1:]), 0)


# ---- filter ----------------------------------------------------------------------------------
def _filter_loop(m: Value, f: Value, items: Value, i: Value, acc: Value) -> Value:
    n = len(items)
    while i < n:
        r = apply_proc(m, f, [items[i]])
        if type(r) is tuple:
            m.stack.append((_filter_resume, f, items, i, acc))
            return r
        if is_true(r):
            acc = (items[i], acc)
        i += 1
    return _build(acc)


def _filter_resume(m: Value, fr: Value, val: Value) -> Value:
    f, items, i, acc = fr[1], fr[2], fr[3], fr[4]
    if is_true(val):
        acc = (items[i], acc)
    return _filter_loop(m, f, items, i + 1, acc)


@cprim("filter", "pred list",
       "The elements of list for which pred is true, in order.", control=True)
def filter_(m: Value, args: Value) -> Value:
    f = _proc("filter", args[0])
    return _filter_loop(m, f, _items(args[1]), 0, None)


def _remove_resume(m: Value, fr: Value, val: Value) -> Value:
    f, items, i, acc = fr[1], fr[2], fr[3], fr[4]
    if not is_true(val):
        acc = (items[i], acc)
    return _remove_loop(m, f, items, i + 1, acc)


def _remove_loop(m: Value, f: Value, items: Value, i: Value, acc: Value) -> Value:
    n = len(items)
    while i < n:
        r = apply_proc(m, f, [items[i]])
        if type(r) is tuple:
            m.stack.append((_remove_resume, f, items, i, acc))
            return r
        if not is_true(r):
            acc = (items[i], acc)
        i += 1
    return _build(acc)


@cprim("remove", "pred list",
       "The elements of list for which pred is false, in order.", control=True)
def remove(m: Value, args: Value) -> Value:
    f = _proc("remove", args[0])
    return _remove_loop(m, f, _items(args[1]), 0, None)


# ---- folds -----------------------------------------------------------------------------------
def _fold_loop(m: Value, f: Value, items: Value, i: Value, acc: Value, left: bool) -> Value:
    n = len(items)
    while i < n:
        args = [acc, items[i]] if left else [items[i], acc]
        r = apply_proc(m, f, args)
        if type(r) is tuple:
            m.stack.append((_fold_resume, f, items, i, left))
            return r
        acc = r
        i += 1
    return acc


def _fold_resume(m: Value, fr: Value, val: Value) -> Value:
    return _fold_loop(m, fr[1], fr[2], fr[3] + 1, val, fr[4])


@cprim("fold-left", "f init list", "Combine from the left: (f (f init x1) x2) ...", control=True)
def fold_left(m: Value, args: Value) -> Value:
    f = _proc("fold-left", args[0])
    return _fold_loop(m, f, _items(args[2]), 0, args[1], True)


@cprim("fold-right", "f init list", "Combine from the right: (f x1 (f x2 ... init)).", control=True)
def fold_right(m: Value, args: Value) -> Value:
    f = _proc("fold-right", args[0])
    return _fold_loop(m, f, _items(args[2])[::-1], 0, args[1], False)


@cprim("foldr", "f init list", "fold-right: (f x1 (f x2 ... init)).", control=True)
def foldr(m: Value, args: Value) -> Value:
    return fold_right(m, args)


@cprim("fold", "kons init list",
       "SRFI-1 fold: (kons xn ... (kons x1 init)), element first.", control=True)
def fold(m: Value, args: Value) -> Value:
    """SRFI-1 fold: (kons element accumulator)."""
    f = _proc("fold", args[0])
    return _fold_loop(m, f, _items(args[2]), 0, args[1], False)


@cprim("reduce", "f init list",
       "Combine the elements with f from the left; init when the list is empty.", control=True)
def reduce(m: Value, args: Value) -> Value:
    f = _proc("reduce", args[0])
    items = _items(args[2])
    if not items:
        return args[1]
    return _fold_loop(m, f, items[1:], 0, items[0], False)


# ---- apply, call/cc --------------------------------------------------------------------------
@cprim("apply", "f arg... list",
       "Call f with the args followed by the elements of list.", control=True)
def apply_(m: Value, args: Value) -> Value:
    if not args:
        raise LispError("apply: expected a procedure")
    f = args[0]
    if type(f) not in _PROCS:
        raise LispError(f"apply: expected procedure, got {type_tag(f)}")
    rest = list(args[1:-1]) + _items(args[-1]) if len(args) > 1 else []
    return apply_proc(m, f, rest)


@cprim("call/cc", "f", "Call f with the current continuation (an escape procedure).", control=True)
def call_cc(m: Value, args: Value) -> Value:
    if not args or type(args[0]) not in _PROCS:
        raise LispError("call/cc expects a procedure")
    k = Continuation(tuple(m.stack), "escape")
    return apply_proc(m, args[0], [k])


from .registry import alias  # noqa: E402

alias("call-with-current-continuation", "call/cc")


@prim("identity", "x", "x itself.")
def identity(x: Value) -> Value:
    return x


# ---- promises and streams --------------------------------------------------------------------
def _force_resume(m: Value, fr: Value, val: Value) -> Value:
    p = fr[1]
    if p.done:  # forced meanwhile (reentrant force): keep the first value
        return p.value
    m.state.undo.append((p, "value", p.value))
    m.state.undo.append((p, "done", False))
    p.value = val
    p.done = True
    return val


def force_start(m: Value, p: Promise) -> Value:
    """Force an unforced promise: its value arrives at whatever frame is below."""
    m.stack.append((_force_resume, p))
    return apply_proc(m, p.thunk, [])


@cprim("force", "promise",
       "The value of a promise, computed on first use and kept (anything else as it is).",
       control=True)
def force(m: Value, args: Value) -> Value:
    p = args[0]
    if type(p) is not Promise:
        return p
    if p.done:
        return p.value
    return force_start(m, p)


@prim("make-promise", "thunk", "A promise that calls thunk when first forced.")
def make_promise(thunk: Value) -> Value:
    if type(thunk) not in _PROCS:
        raise LispError("make-promise: expected procedure")
    return Promise(thunk)


@prim("promise?", "x", "Whether x is a promise.")
def promise_p(x: Value) -> Value:
    return type(x) is Promise


@prim("promise-forced?", "x", "Whether x is a promise whose value has been computed.")
def promise_forced(x: Value) -> Value:
    return type(x) is Promise and x.done


@prim("stream-cons", "head thunk",
      "A stream pair: head, then the stream thunk returns (as the cons-stream form).")
def stream_cons(head: Value, thunk: Value) -> Value:
    tail = Promise(thunk) if type(thunk) in _PROCS else Promise(None, True, thunk)
    return Pair(head, tail)


@prim("stream-car", "stream", "The first element of a stream.")
def stream_car(s: Value) -> Value:
    if type(s) is not Pair:
        raise LispError("stream-car: expected stream pair")
    return s.car


@cprim("stream-cdr", "stream", "The rest of a stream (forcing it).", control=True)
def stream_cdr(m: Value, args: Value) -> Value:
    s = args[0]
    if type(s) is not Pair:
        raise LispError("stream-cdr: expected stream pair")
    return force(m, [s.cdr])


@prim("stream-null?", "stream", "Whether a stream is empty.")
def stream_null(s: Value) -> Value:
    return s is None


@prim("list->stream", "list", "A list as a stream.")
def list_to_stream(lst: Value) -> Value:
    return lst


def _slist_loop(m: Value, s: Value, n: Value, acc: Value) -> Value:
    while True:
        if (n is not None and n <= 0) or type(s) is not Pair:
            return _build(acc)
        acc = (s.car, acc)
        if n is not None:
            n -= 1
            if n <= 0:
                return _build(acc)
        t = s.cdr
        if type(t) is Promise:
            if t.done:
                s = t.value
                continue
            m.stack.append((_slist_resume, n, acc))
            return force_start(m, t)
        s = t


def _slist_resume(m: Value, fr: Value, val: Value) -> Value:
    return _slist_loop(m, val, fr[1], fr[2])


@cprim("stream->list", "stream [n]",
       "The stream's elements as a list (at most n of them).", control=True)
def stream_to_list(m: Value, args: Value) -> Value:
    s = args[0]
    n = args[1] if len(args) > 1 else None
    if n is not None and type(n) is not float:
        raise LispError("stream->list: expected a count")
    return _slist_loop(m, s, n, None)
