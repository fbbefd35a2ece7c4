"""Pairs and lists (the empty list is NIL)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from ..accounting import ALLOC, PAIR, charge
from ..pieces import NO_MARK, PIECE, More, build, circular, counted, pieces, spine, walk
from ..values import LispError, Pair, Value, Vector
from .equality import equal_now as equal
from .equality import eqv
from .registry import cprim, prim


@prim("cons", "a b", "A new pair of a and b: b with a in front when b is a list.")
def cons(a: Value, b: Value) -> Value:
    ALLOC[0] += PAIR
    return Pair(a, b)


@prim("car", "pair", "The first element of a pair (or of a vector).")
def car(x: Value) -> Value:
    if type(x) is Pair:
        return x.car
    if type(x) is Vector and x.items:
        return x.items[0]
    raise LispError("car: expected pair")


@prim("cdr", "pair", "The rest of a pair after its first element.")
def cdr(x: Value) -> Value:
    if type(x) is Pair:
        return x.cdr
    if type(x) is Vector and len(x.items) >= 2:
        return x.items[1]
    raise LispError("cdr: expected pair")


@prim("cadr", "pair", "The second element of a list: (car (cdr x)).")
def cadr(x: Value) -> Value:
    if type(x) is not Pair:
        raise LispError("cadr: expected pair")
    x = x.cdr
    if type(x) is not Pair:
        raise LispError("cadr: expected pair in cdr")
    return x.car


@prim("caddr", "pair", "The third element of a list: (car (cdr (cdr x))).")
def caddr(x: Value) -> Value:
    if type(x) is not Pair:
        raise LispError("caddr: expected pair")
    x = x.cdr
    if type(x) is not Pair:
        raise LispError("caddr: expected pair in cdr")
    x = x.cdr
    if type(x) is not Pair:
        raise LispError("caddr: expected pair in cddr")
    return x.car


def _path(name: str) -> None:
    ops = name[1:-1][::-1]  # applied right to left
    spelled = "".join(f"(c{o}r " for o in name[1:-1]) + "x" + ")" * len(ops)

    def f(x: Value) -> Value:
        for o in ops:
            if type(x) is not Pair:
                raise LispError(f"{name}: expected pair")
            x = x.car if o == "a" else x.cdr
        return x
    prim(name, "pair", f"{spelled}.")(f)


for _n in ("caar", "cdar", "cddr", "caadr", "cdadr", "cddar", "cdddr", "cadddr", "cddddr"):
    _path(_n)


@prim("list", "x...", "A new list of the arguments.")
def list_(*items: Value) -> Value:
    charge(PAIR * len(items))
    out = None
    for x in reversed(items):
        out = Pair(x, out)
    return out


@prim("length", "list", "The number of elements of a list.")
def length(x: Value) -> Value:
    return spine(x, lambda n, last, end: float(n), _circular("length"))


def _circular(who: str) -> Callable[[], Value]:
    def cyclic() -> Value:
        raise circular(who)
    return cyclic


def _advance(who: str, x: Value, k: Value, then: Callable[[Value, bool], Value]) -> Value:
    """`then(x)` after `k` cdrs of `x` (fewer if it ends first: then gets the atom). Round a
    cycle, the walk skips the whole turns, as a Scheme list-ref on a circular list answers."""
    if type(k) is not float or k != k:
        raise LispError(f"{who}: index out of bounds")
    steps = k if k == math.inf else math.ceil(k) if k > 0 else 0
    return pieces(_advance_step, (x, 0, steps, NO_MARK, 0, 1, then, who))


def _advance_step(st: Value) -> Value:
    x, i, k, mark, mark_i, lim, then, who = st
    end = i + PIECE
    while i < k and type(x) is Pair:
        if i == end:
            return More((x, i, k, mark, mark_i, lim, then, who))
        x = x.cdr
        i += 1
        if x is mark:
            if k == math.inf:
                raise LispError(f"{who}: index out of bounds")
            k = i + (k - i) % (i - mark_i)
            mark, lim = NO_MARK, -1
        elif i == lim:
            mark, mark_i = x, i
            lim <<= 1
    return then(x, i == k)


@prim("list-ref", "list k", "The element of list at index k (from 0).")
def list_ref(lst: Value, k: Value) -> Value:
    def then(x: Value, reached: bool) -> Value:
        if not reached or type(x) is not Pair:
            raise LispError("list-ref: index out of bounds")
        return x.car
    return _advance("list-ref", lst, k, then)


def _tail(who: str, doc: str) -> None:
    def f(lst: Value, k: Value) -> Value:
        def then(x: Value, reached: bool) -> Value:
            if not reached:
                raise LispError(f"{who}: index out of bounds" if who == "list-tail"
                                else f"{who}: list too short")
            return x
        return _advance(who, lst, k, then)
    prim(who, "list k", doc)(f)


_tail("list-tail", "The list without its first k elements.")
_tail("drop", "The list without its first k elements.")


@prim("reverse", "list", "A new list of the elements in reverse order.")
def reverse(x: Value) -> Value:
    def then(items: list[Value], tail: Value) -> Value:
        items.reverse()
        return build(items)
    return walk(x, "reverse", then)


def walk_all(lists: Sequence[Value], who: str,
             then: Callable[[list[list[Value]]], Value]) -> Value:
    """`then([items of each list])`, each walked as `walk` does."""
    def walk_from(i: int, got: list[list[Value]]) -> Value:
        if i == len(lists):
            return then(got)
        return walk(lists[i], who, lambda items, tail: walk_from(i + 1, [*got, items]))
    return walk_from(0, [])


@prim("append", "list...", "A list of the elements of all the lists (the last one is shared).")
def append(*lists: Value) -> Value:
    if not lists:
        return None

    def then(got: list[list[Value]]) -> Value:
        items = [x for part in got for x in part]
        return build(items, lists[-1])
    return walk_all(lists[:-1], "append", then)


@prim("vector-ref", "vector k", "The element of a vector at index k (from 0).")
def vector_ref(v: Value, k: Value) -> Value:
    if type(v) is Pair:
        return car(v) if k == 0 else cdr(v) if k == 1 else _oob("vector-ref")
    if type(v) is not Vector:
        raise LispError("vector-ref: expected vector")
    if type(k) is not float or k < 0 or k >= len(v.items) or not k.is_integer():
        raise LispError("vector-ref: index out of bounds")
    return v.items[int(k)]


def _oob(who: Value) -> None:
    raise LispError(f"{who}: index out of bounds")


@prim("vector-length", "vector", "The number of elements of a vector.")
def vector_length(v: Value) -> Value:
    if type(v) is not Vector:
        raise LispError("vector-length: expected vector")
    return float(len(v.items))


@prim("vector", "x...", "A new vector of the arguments.")
def vector(*items: Value) -> Value:
    charge(8 * len(items) + 56)
    return Vector(list(items))


@prim("list->vector", "list", "A new vector of the list's elements.")
def list_to_vector(lst: Value) -> Value:
    def then(items: list[Value], tail: Value) -> Value:
        charge(8 * len(items) + 56)
        return Vector(items)
    return walk(lst, "list->vector", then)


@prim("vector->list", "vector", "A new list of the vector's elements.")
def vector_to_list(v: Value) -> Value:
    if type(v) is not Vector:
        raise LispError("vector->list: expected vector")
    return build(list(v.items))


@cprim("set-car!", "pair x", "Replace the first element of a pair.")
def set_car(m: Value, args: Value) -> None:
    p, v = args
    if type(p) is not Pair:
        raise LispError("set-car!: expected pair")
    m.state.undo.append((p, "car", p.car))
    p.car = v
    return None


@cprim("set-cdr!", "pair x", "Replace the rest of a pair.")
def set_cdr(m: Value, args: Value) -> None:
    p, v = args
    if type(p) is not Pair:
        raise LispError("set-cdr!: expected pair")
    m.state.undo.append((p, "cdr", p.cdr))
    p.cdr = v
    return None


def _find(name: str, test: Callable[[Value, Value], bool],
          key_of: Callable[[Value, str], Value], doc: str) -> None:
    """member/assoc and kin, in pieces; a circular list without the item is an error."""
    def step(st: Value) -> Value:
        x, lst, n, mark, lim = st
        end = n + PIECE
        while type(lst) is Pair:
            if n == end:
                return More((x, lst, n, mark, lim))
            item = lst.car
            if test(x, key_of(item, name)):
                return item if key_of is _key else lst
            lst = lst.cdr
            n += 1
            if lst is mark:
                raise circular(name)
            if n == lim:
                mark = lst
                lim <<= 1
        return False

    def f(x: Value, lst: Value) -> Value:
        return pieces(step, (x, lst, 0, NO_MARK, 1))
    prim(name, "x list", doc)(f)


def _key(item: Value, name: Value) -> Value:
    if type(item) is not Pair:
        raise LispError(f"{name}: expected a list of pairs")
    return item.car


def _self(item: Value, name: Value) -> Value:
    return item


_find("assoc", equal, _key, "The first pair of an association list whose car is equal? to x, or #f")
_find("assv", eqv, _key, "The first pair of an association list whose car is eqv? to x, or #f")
_find("assq", eqv, _key, "The first pair of an association list whose car is eq? to x, or #f")
_find("member", equal, _self, "The tail of list that starts with an element equal? to x, or #f.")
_find("memv", eqv, _self, "The tail of list that starts with an element eqv? to x, or #f.")
_find("memq", eqv, _self, "The tail of list that starts with an element eq? to x, or #f.")


@prim("take", "list k", "A new list of the first k elements.")
def take(lst: Value, k: Value) -> Value:
    if type(k) is not float:
        raise LispError("take: list too short")
    return pieces(_take_step, (lst, 0, math.ceil(k) if k > 0 else 0, None))


def _take_step(st: Value) -> Value:
    """Up to k items (a circular list just goes round); charged piece by piece."""
    x, i, k, chunks = st
    out: list[Value] = []
    stop = min(k, i + PIECE)
    while i < stop:
        if type(x) is not Pair:
            raise LispError("take: list too short")
        out.append(x.car)
        x = x.cdr
        i += 1
    charge(PAIR * len(out))
    chunks = (out, chunks)
    if i < k:
        return More((x, i, k, chunks))
    items: list[Value] = []
    parts = []
    while chunks is not None:
        parts.append(chunks[0])
        chunks = chunks[1]
    for p in reversed(parts):
        items.extend(p)
    return build(items, None, charged=True)


@prim("last-pair", "list", "The last pair of a list.")
def last_pair(lst: Value) -> Value:
    if type(lst) is not Pair:
        raise LispError("last-pair: expected pair")
    return spine(lst, lambda n, last, end: last, _circular("last-pair"))


@prim("list-copy", "list", "A new list with the same elements.")
def list_copy(lst: Value) -> Value:
    return walk(lst, "list-copy", lambda items, tail: build(items))


@prim("iota", "n [start] [step]", "A list of n numbers: start (0), start+step (1), ...")
def iota(n: Value, start: Value = 0.0, step: Value = 1.0) -> Value:
    if type(n) is not float or n < 0 or n != n:
        raise LispError("iota: expected a non-negative count")
    if n == math.inf:
        raise LispError("memory budget exceeded")
    if type(start) is not float or type(step) is not float:
        raise LispError("iota: expected numbers")
    return counted(int(n), lambda i: start + i * step)


RANGE_MAX = 50_000_000


@prim("range", "a [b] [step]",
      "The numbers from a (or 0) up to but not including b (or a), by step (1).")
def range_(a: Value, b: Value = None, step: Value = 1.0) -> Value:
    if b is None:
        a, b = 0.0, a
    if type(a) is not float or type(b) is not float or type(step) is not float or step == 0:
        raise LispError("range: expected numbers and a non-zero step")
    count = (b - a) / step
    if count == count and count > RANGE_MAX:
        raise LispError("range: too many elements")
    charge(PAIR * max(0, int(count)) if count == count else 0)
    return pieces(_range_step, (a, b, step, 0, None))


def _range_step(st: Value) -> Value:
    x, b, step, n, chunks = st
    out: list[Value] = []
    stop = n + PIECE
    while ((x < b) if step > 0 else (x > b)) and n < stop:
        out.append(x)
        x += step
        n += 1
    if n > RANGE_MAX:
        raise LispError("range: too many elements")
    chunks = (out, chunks)
    if n == stop:
        return More((x, b, step, n, chunks))
    parts = []
    while chunks is not None:
        parts.append(chunks[0])
        chunks = chunks[1]
    items: list[Value] = []
    for p in reversed(parts):
        items.extend(p)
    return build(items, None, charged=True)
