"""The call frames active at an error (`:bt`), read from the machine: no daemon needed."""

from omegad.lang import api, backtrace


def _state(*defs: str) -> api.ReplState:
    s = api.ReplState()
    for text in defs:
        assert isinstance(api.start(s, text).run(), api.Done), text
    return s


def _fail(s: api.ReplState, text: str) -> api.Failed:
    r = api.start(s, text).run(10_000_000)
    assert isinstance(r, api.Failed), r
    return r


def test_three_calls_deep_name_all_three_innermost_first():
    s = _state("(define (c x) (car x))", "(define (b x) (+ 1 (c x)))",
               "(define (a x) (+ 1 (b x)))")
    r = _fail(s, "(list (a 5))")
    assert r.printed == "error: car: expected pair"
    assert [(f.procedure, f.form) for f in r.frames] == [
        ("c", "(car x)"), ("b", "(+ 1 (c x))"), ("a", "(+ 1 (b x))"),
        ("(top level)", "(list (a 5))")]


def test_tail_calls_leave_no_frame():
    s = _state("(define (c x) (car x))", "(define (b x) (c x))")
    assert [f.procedure for f in _fail(s, "(b 1)").frames] == ["c"]


def test_deep_recursion_is_capped_and_counted():
    s = _state("(define (f n) (if (= n 0) (car 1) (+ 1 (f (- n 1)))))")
    r = _fail(s, "(f 100)")
    assert len(r.frames) == backtrace.MAX_FRAMES and r.more_frames == 101 - backtrace.MAX_FRAMES
    assert backtrace.render(r.frames, r.more_frames)[-1] == f"  ... {r.more_frames} more"


def test_an_arity_error_keeps_the_references_text_and_the_call_is_in_the_backtrace():
    s = _state("(define (one x) x)", "(define (caller) (+ 1 (one 1 2)))")
    r = _fail(s, "(caller)")
    assert r.message == "Closure apply arity mismatch: expected 1, got 2"
    assert [(f.procedure, f.form) for f in r.frames] == [("caller", "(+ 1 (one 1 2))")]


def test_a_lambda_and_a_let_inside_a_procedure():
    s = _state("(define (g xs) (let ((y (map (lambda (x) (car x)) xs))) y))")
    r = _fail(s, "(g (list 1))")
    assert [f.procedure for f in r.frames] == ["lambda", "g"]


def test_the_state_is_rolled_back_as_before():
    s = _state("(define n 1)", "(define (bump) (set! n 2) (car 1))")
    _fail(s, "(bump)")
    assert api.start(s, "n").run().printed == "=> 1"
