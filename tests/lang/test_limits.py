"""Issue 16 in the evaluator: cycles end, long work is cut in pieces a slice can end between,
budgets are charged before allocating, and the reader works in steps."""

from __future__ import annotations

import pytest

from omegad.lang import api
from omegad.lang.pieces import PIECE
from omegad.lang.steps import advance


def run(state: api.ReplState, src: str, should_yield=None, **limits):
    """Evaluate to the end; returns (printed, slices it took)."""
    r = api.start(state, src, **limits)
    slices = 0
    while True:
        slices += 1
        x = r.run(10_000_000, should_yield)
        if not isinstance(x, api.Running):
            return x.printed, slices


@pytest.fixture(scope="module")
def state():
    st = api.ReplState()
    for src in ("(define c (list 1 2 3))", "(set-cdr! (cddr c) c)",
                "(define d (list 1 2 3))", "(set-cdr! (cddr d) d)",
                "(define e (list 1 2 4))", "(set-cdr! (cddr e) e)",
                "(define g (list 1))", "(set-car! g g)", "(define h (list 1))", "(set-car! h h)"):
        run(st, src)
    return st


@pytest.mark.parametrize("src, printed", [
    ("(length c)", "error: length: circular list"),
    ("(member 99 c)", "error: member: circular list"),
    ("(memq 99 c)", "error: memq: circular list"),
    ("(assv 99 (list (cons 1 2)))", "=> #f"),
    ("(member 2 c)", "=> (2 3 1 . #cycle#)"),
    ("(list-ref c 1000000000000000)", "=> 2"),
    ("(list-ref c 1000000000000002)", "=> 1"),
    ("(list-tail c 7)", "=> (2 3 1 . #cycle#)"),
    ("(take c 7)", "=> (1 2 3 1 2 3 1)"),
    ("(reverse c)", "error: reverse: circular list"),
    ("(append c '(1))", "error: append: circular list"),
    ("(list-copy c)", "error: list-copy: circular list"),
    ("(last-pair c)", "error: last-pair: circular list"),
    ("(list->vector c)", "error: list->vector: circular list"),
    ("(list->string c)", "error: list->string: circular list"),
    ("(string-join c)", "error: string-join: circular list"),
    ("(apply + c)", "error: apply: circular list"),
    ("(map car c)", "error: map: circular list"),
    ("(for-each car c)", "error: for-each: circular list"),
    ("(filter car c)", "error: filter: circular list"),
    ("(fold-left + 0 c)", "error: fold-left: circular list"),
    ("(fold-right + 0 c)", "error: fold-right: circular list"),
    ("(reduce + 0 c)", "error: reduce: circular list"),
    ("(list? c)", "=> #f"),
    ("(equal? c d)", "=> #t"),
    ("(equal? c e)", "=> #f"),
    ("(equal? g h)", "=> #t"),
    ("(hash-set! (make-hash-table) c 1)", "error: hash table: circular key"),
    ("c", "=> (1 2 3 . #cycle#)"),
])
def test_every_list_walk_ends_on_a_circular_list(state, src, printed):
    assert run(state, src)[0] == printed


@pytest.mark.parametrize("src, printed", [
    ("(length (iota 20000))", "=> 20000"),
    ("(length (reverse (iota 20000)))", "=> 20000"),
    ("(list-ref (append (iota 20000) '(x)) 20000)", "=> x"),
    ("(equal? (iota 20000) (iota 20000))", "=> #t"),
    ("(equal? (iota 20000) (append (iota 19999) '(0)))", "=> #f"),
    ("(length (map (lambda (x) x) (iota 20000)))", "=> 20000"),
    ("(length (map + (iota 20000) (iota 20000)))", "=> 20000"),
    ("(apply + (iota 20000))", "=> 199990000"),
    ("(fold-left + 0 (iota 20000))", "=> 199990000"),
    ("(length (range 0 20000))", "=> 20000"),
    ("(list? (iota 20000))", "=> #t"),
    ("(car (last-pair (iota 20000)))", "=> 19999"),
    ("(length (list-copy (iota 20000)))", "=> 20000"),
])
def test_long_work_is_cut_in_pieces_a_slice_ends_between(state, src, printed):
    """With a driver that always wants the slice over, a primitive over 20 000 elements takes
    several slices (one per piece or so), and gives the same answer as in one."""
    assert run(state, src) == (printed, 1)
    text, slices = run(state, src, should_yield=lambda: True)
    assert text == printed
    assert slices >= 20_000 // PIECE


def test_a_finished_value_is_printed_in_steps(state):
    text, slices = run(state, "(iota 20000)", should_yield=lambda: True)
    assert text.startswith("=> (0 1 2") and text.endswith(" 19999)")
    assert slices > 20_000 // PIECE + 3


def test_size_known_allocations_are_refused_before_they_happen(state):
    for src in ("(iota 1000000000)", "(range 0 10000000)", "(iota 1000000)"):
        printed, slices = run(state, src, memory_budget=64 << 20)
        assert (printed, slices) == ("error: memory budget exceeded", 1)
    assert run(state, '(let loop ((s "x")) (loop (string-append s s)))')[0].startswith(
        "error: string-append: string too long")


def test_the_reader_works_in_steps():
    steps = api.parse_inputs_steps("'(" + "1 " * 50_000 + ")")
    n = 0
    while True:
        done, forms = advance(steps)
        n += 1
        if done:
            break
    assert n > 10 and forms[0].error is None
    assert api.parse_inputs("(" * 100_000)[0].error == "parse: missing ')'"
    assert [f.text for f in api.parse_inputs('(a "b\\"c" ; x\n d)  (e)')] == \
        ['(a "b\\"c" ; x\n d)', "(e)"]
