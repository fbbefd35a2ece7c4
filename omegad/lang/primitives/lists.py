"""Pairs and lists (the empty list is NIL)."""

from __future__ import annotations

from ..accounting import ALLOC, PAIR, charge
from ..values import LispError, Pair, Value, Vector
from .equality import equal, eqv
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
    n = 0
    while type(x) is Pair:
        n += 1
        x = x.cdr
    return float(n)


@prim("list-ref", "list k", "The element of list at index k (from 0).")
def list_ref(lst: Value, k: Value) -> Value:
    if type(k) is not float:
        raise LispError("list-ref: index out of bounds")
    i = 0
    while i < k:
        if type(lst) is not Pair:
            raise LispError("list-ref: index out of bounds")
        lst = lst.cdr
        i += 1
    if type(lst) is not Pair:
        raise LispError("list-ref: index out of bounds")
    return lst.car


@prim("list-tail", "list k", "The list without its first k elements.")
def list_tail(lst: Value, k: Value) -> Value:
    i = 0
    while i < k:
        if type(lst) is not Pair:
            raise LispError("list-tail: index out of bounds")
        lst = lst.cdr
        i += 1
    return lst


def _items(x: Value) -> list[Value]:
    out = []
    while type(x) is Pair:
        out.append(x.car)
        x = x.cdr
    return out


@prim("reverse", "list", "A new list of the elements in reverse order.")
def reverse(x: Value) -> Value:
    out = None
    n = 0
    while type(x) is Pair:
        out = Pair(x.car, out)
        x = x.cdr
        n += 1
    ALLOC[0] += PAIR * n
    return out


@prim("append", "list...", "A list of the elements of all the lists (the last one is shared).")
def append(*lists: Value) -> Value:
    if not lists:
        return None
    out = lists[-1]
    n = 0
    for lst in reversed(lists[:-1]):
        items = _items(lst)
        n += len(items)
        for x in reversed(items):
            out = Pair(x, out)
    charge(PAIR * n)
    return out


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
    return Vector(_items(lst))


@prim("vector->list", "vector", "A new list of the vector's elements.")
def vector_to_list(v: Value) -> Value:
    if type(v) is not Vector:
        raise LispError("vector->list: expected vector")
    return list_(*v.items)


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


def _find(name: Value, test: Value, key_of: Value, doc: str) -> None:
    def f(x: Value, lst: Value) -> Value:
        while type(lst) is Pair:
            item = lst.car
            if test(x, key_of(item, name)):
                return item if key_of is _key else lst
            lst = lst.cdr
        return False
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
    out = []
    i = 0
    while i < k:
        if type(lst) is not Pair:
            raise LispError("take: list too short")
        out.append(lst.car)
        lst = lst.cdr
        i += 1
    return list_(*out)


@prim("drop", "list k", "The list without its first k elements.")
def drop(lst: Value, k: Value) -> Value:
    i = 0
    while i < k:
        if type(lst) is not Pair:
            raise LispError("drop: list too short")
        lst = lst.cdr
        i += 1
    return lst


@prim("last-pair", "list", "The last pair of a list.")
def last_pair(lst: Value) -> Value:
    if type(lst) is not Pair:
        raise LispError("last-pair: expected pair")
    while type(lst.cdr) is Pair:
        lst = lst.cdr
    return lst


@prim("list-copy", "list", "A new list with the same elements.")
def list_copy(lst: Value) -> Value:
    return list_(*_items(lst))


@prim("iota", "n [start] [step]", "A list of n numbers: start (0), start+step (1), ...")
def iota(n: Value, start: Value = 0.0, step: Value = 1.0) -> Value:
    if type(n) is not float or n < 0:
        raise LispError("iota: expected a non-negative count")
    charge(PAIR * int(n))
    return list_(*[start + i * step for i in range(int(n))])


@prim("range", "a [b] [step]",
      "The numbers from a (or 0) up to but not including b (or a), by step (1).")
def range_(a: Value, b: Value = None, step: Value = 1.0) -> Value:
    if b is None:
        a, b = 0.0, a
    if type(a) is not float or type(b) is not float or type(step) is not float or step == 0:
        raise LispError("range: expected numbers and a non-zero step")
    charge(PAIR * max(0, int((b - a) / step)))
    out = []
    x = a
    while (x < b) if step > 0 else (x > b):
        out.append(x)
        x += step
        if len(out) > 50_000_000:
            raise LispError("range: too many elements")
    return list_(*out)
