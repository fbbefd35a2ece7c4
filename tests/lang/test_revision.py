"""Revisions (capture/restore in memory) and serialization (full and delta), with property
tests: serialise -> deserialise -> continue prints what continuing directly prints."""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from omegad.lang import api

from .conftest import Repl

SETUP = [
    "(define (mk n) (let ((c n)) (lambda () (set! c (+ c 1)) c)))",
    "(define (ints n) (cons-stream n (ints (+ n 1))))",
    "(define h (make-hash-table))",
    "(define g 0)",
]

N = st.integers(0, 3)
COMMANDS = st.one_of(
    st.builds(lambda i, a, b: f"(define v{i} (list {a} {b} 'x))", N, N, N),
    st.builds(lambda i, a, b: f"(define s{i} (cons v{a} v{b}))", N, N, N),
    st.builds(lambda i: f"(set-cdr! (cddr v{i}) v{i})", N),
    st.builds(lambda i: f"(set-car! v{i} (list 'shared v{i}))", N),
    st.builds(lambda i, n: f"(define c{i} (mk {n}))", N, N),
    st.builds(lambda i: f"(c{i})", N),
    st.builds(lambda i, n: f"(define st{i} (ints {n}))", N, N),
    st.builds(lambda i, n: f"(stream->list st{i} {n + 1})", N, N),
    st.builds(lambda n: f"(set! g (+ g {n}))", N),
    st.builds(lambda k, i: f"(hash-set! h {k} v{i})", N, N),
    st.builds(lambda k: f"(hash-ref h {k} 'none)", N),
    st.builds(lambda i: f"v{i}", N),
    st.builds(lambda i: f"s{i}", N),
    st.just("g"),
    st.just("(gensym)"),
    st.builds(lambda i: f"(define (f{i} x) (+ x g {i}))", N),
    # a cycle made with set!: a list holding a closure whose frame holds the list
    st.builds(lambda i: f"(define cy{i} (let ((me #f)) (set! me (list 'node (lambda () me))) me))",
              N),
    st.builds(lambda i: f"(car ((cadr cy{i})))", N),
    st.builds(lambda i: f"(eq? cy{i} ((cadr cy{i})))", N),
    st.builds(lambda i, n: f"(f{i} {n})", N, N),
)
PROGRAMS = st.lists(COMMANDS, min_size=1, max_size=12)


def fresh() -> Repl:
    r = Repl()
    for src in SETUP:
        r.lines(src)
    return r


def continued(state, cmds) -> list[str]:
    r = Repl()
    r.state = state
    return [line for c in cmds for line in r.lines(c)]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(PROGRAMS, PROGRAMS)
def test_full_roundtrip_then_continue_matches_direct(before, after):
    a = fresh()
    for c in before:
        a.lines(c)
    restored = api.deserialize(api.serialize(a.state))
    assert continued(restored, after) == continued(a.state, after)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(PROGRAMS, PROGRAMS, PROGRAMS)
def test_delta_roundtrip_then_continue_matches_direct(first, second, after):
    a = fresh()
    for c in first:
        a.lines(c)
    cp1 = api.capture(a.state)
    full = api.serialize(a.state)
    b = api.deserialize(full)
    for c in second:
        a.lines(c)
    api.capture(a.state)
    b = api.deserialize(api.serialize_delta(a.state, cp1), base=b)
    assert continued(b, after) == continued(a.state, after)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(PROGRAMS, PROGRAMS, PROGRAMS)
def test_restore_in_memory_then_continue_matches_a_replay(first, second, after):
    a = fresh()
    for c in first:
        a.lines(c)
    cp = api.capture(a.state)
    for c in second:
        a.lines(c)
    api.capture(a.state)
    api.restore(a.state, cp)
    b = fresh()
    for c in first:
        b.lines(c)
    assert continued(a.state, after) == continued(b.state, after)


def test_restore_moves_between_branches():
    r = fresh()
    r.lines("(define x 1)")
    base = api.capture(r.state)
    r.lines("(define x 2) (define y 'b1)")
    b1 = api.capture(r.state)
    api.restore(r.state, base)
    assert r("x") == "=> 1" and r("y") == "error: unbound var y"
    r.lines("(define x 3)")
    b2 = api.capture(r.state)
    api.restore(r.state, b1)
    assert r("(list x y)") == "=> (2 b1)"
    api.restore(r.state, b2)
    assert r("x") == "=> 3"


def test_delta_after_one_small_define_is_small_whatever_the_size():
    r = fresh()
    for i in range(1000):
        r.lines(f"(define (f{i} x) (+ x {i}))")
    cp = api.capture(r.state)
    full = api.serialize(r.state)
    r.lines("(define (small y) (* y 2))")
    api.capture(r.state)
    delta = api.serialize_delta(r.state, cp)
    assert len(delta) <= 2048 < len(full)
    b = api.deserialize(delta, base=api.deserialize(full))
    assert continued(b, ["(small 21)", "(f999 1)"]) == ["=> 42", "=> 1000"]


def test_capture_costs_what_changed():
    r = fresh()
    for i in range(500):
        r.lines(f"(define v{i} {i})")
    api.capture(r.state)
    r.lines("(define w 1)")
    cp = api.capture(r.state)
    assert len(cp.changes) == 1


def test_continuations_are_not_restorable_but_fail_clearly():
    r = fresh()
    r.lines("(define kk #f)")
    r.lines("(+ 1 (call/cc (lambda (k) (set! kk k) 1)))")
    b = api.deserialize(api.serialize(r.state))
    assert continued(b, ["(kk 1)"])[0].startswith("error: continuation cannot be resumed")


def test_serialization_is_versioned_msgpack():
    import msgspec
    r = fresh()
    doc = msgspec.msgpack.decode(api.serialize(r.state))
    assert doc["format"] == 1 and doc["kind"] == "full"


def test_memory_estimate_grows_with_the_heap():
    r = fresh()
    small = api.memory_estimate(r.state)
    r.lines("(define big (let loop ((i 0) (a '())) (if (= i 10000) a (loop (+ i 1) (cons i a)))))")
    assert api.memory_estimate(r.state) > small + 10000 * 50


def test_delta_carries_mutations_of_objects_written_before():
    a = fresh()
    a.lines("(define c (mk 0)) (c) (define v (list 1 2 3)) (define s (ints 1)) "
            "(hash-set! h 1 'one) (define (getg) g)")
    cp = api.capture(a.state)
    b = api.deserialize(api.serialize(a.state))
    a.lines("(c) (set-car! v 'changed) (set-cdr! (cddr v) v) (stream->list s 3) "
            "(hash-set! h 2 'two) (set! g 7) (gensym)")
    api.capture(a.state)
    b = api.deserialize(api.serialize_delta(a.state, cp), base=b)
    after = ["(c)", "v", "(stream->list s 4)", "(hash-ref h 1 0)", "(hash-ref h 2 0)",
             "(getg)", "(gensym)"]
    expected = ["=> 3", "=> (changed 2 3 . #cycle#)", "=> (1 2 3 4)", "=> one", "=> two",
                "=> 7", "=> g2"]
    assert continued(b, after) == expected
    assert continued(a.state, after) == expected


def test_cycle_made_with_set_survives_a_roundtrip():
    a = fresh()
    a.lines("(define cy (let ((me #f)) (set! me (list 'node (lambda () me))) me))")
    b = api.deserialize(api.serialize(a.state))
    assert continued(b, ["(eq? cy ((cadr cy)))", "(car ((cadr cy)))"]) == ["=> #t", "=> node"]


def test_arity_errors_name_the_primitive():
    assert fresh()("(car)").startswith("error: car: wrong number of arguments")


def test_pruned_history_keeps_later_revisions_restorable():
    r = fresh()
    r.lines("(define x 1)")
    api.capture(r.state)
    r.lines("(define x 2)")
    mid = api.capture(r.state)
    r.lines("(define x 3)")
    api.capture(r.state)
    api.prune_revisions(mid)
    assert mid.parent is None and mid.changes == []
    api.restore(r.state, mid)
    assert r("x") == "=> 2"


def test_delta_after_restoring_another_branch():
    a = fresh()
    a.lines("(define x 1) (define l (list 1 2))")
    base = api.capture(a.state)
    b = api.deserialize(api.serialize(a.state))
    a.lines("(define x 2) (set-car! l 'changed) (define y 'branch1)")
    b1 = api.capture(a.state)
    b = api.deserialize(api.serialize_delta(a.state, base), base=b)
    api.restore(a.state, base)
    a.lines("(define z 'branch2)")
    api.capture(a.state)
    b = api.deserialize(api.serialize_delta(a.state, b1), base=b)
    after = ["x", "l", "y", "z"]
    assert continued(b, after) == continued(a.state, after) == [
        "=> 1", "=> (1 2)", "error: unbound var y", "=> branch2"]
