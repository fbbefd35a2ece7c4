"""The step machine as the session actor drives it: slices, budgets, atomic commands, oracle."""

import msgspec
import pytest

from omegad.lang import api
from omegad.lang.effects import OracleRequest, OracleResponse
from omegad.oracle.base import Receipt, ReplayOracle, call_sync
from omegad.oracle.scripted import ScriptedOracle


def drive(run, oracle=None, slice_steps=1000):
    slices = 0
    requests = []
    while True:
        r = run.run(slice_steps)
        slices += 1
        if isinstance(r, api.Running):
            continue
        if isinstance(r, api.NeedsOracle):
            requests.append(r.request)
            run.resume(call_sync(oracle or ScriptedOracle(), r.request))
            continue
        return r, slices, requests


def test_runs_in_slices_and_reports_running():
    st = api.ReplState()
    run = api.start(st, "(let loop ((i 0)) (if (= i 20000) i (loop (+ i 1))))")
    r = run.run(100)
    assert isinstance(r, api.Running)
    r, slices, _ = drive(run, slice_steps=1000)
    assert r.printed == "=> 20000" and slices > 10


def test_deep_non_tail_recursion_finishes_without_python_recursion():
    st = api.ReplState()
    drive(api.start(st, "(define (sum-to n) (if (= n 0) 0 (+ n (sum-to (- n 1)))))"))
    r, _, _ = drive(api.start(st, "(sum-to 100000)"), slice_steps=100_000)
    assert r.printed == "=> 5000050000"


@pytest.mark.slow
def test_million_deep_recursion_finishes():
    st = api.ReplState()
    drive(api.start(st, "(define (sum-to n) (if (= n 0) 0 (+ n (sum-to (- n 1)))))"))
    r, _, _ = drive(api.start(st, "(sum-to 1000000)"), slice_steps=1_000_000)
    assert r.printed == "=> 500000500000"


def test_depth_limit_gives_a_clear_error_and_the_state_survives():
    st = api.ReplState()
    drive(api.start(st, "(define (deep n) (+ 1 (deep n)))"))
    r, _, _ = drive(api.start(st, "(deep 1)", depth_limit=10_000), slice_steps=100_000)
    assert r.printed == "error: recursion depth limit exceeded (10000 frames)"
    r, _, _ = drive(api.start(st, "(+ 1 2)"))
    assert r.printed == "=> 3"


def test_step_budget():
    st = api.ReplState()
    r, _, _ = drive(api.start(st, "(let loop () (loop))", step_budget=50_000))
    assert r.printed == "error: step budget exceeded (50000 steps)"


def test_memory_budget_ends_runaway_allocation_and_restores_state():
    st = api.ReplState()
    drive(api.start(st, "(define keep 1)"))
    drive(api.start(st, "(define (grow l) (grow (cons 1 l)))"))
    r, _, _ = drive(api.start(st, "(begin (set! keep 2) (grow '()))", memory_budget=5_000_000),
                    slice_steps=100_000)
    assert r.printed.startswith("error: memory budget exceeded")
    assert drive(api.start(st, "keep"))[0].printed == "=> 1"


def test_huge_string_is_stopped_by_the_memory_budget():
    st = api.ReplState()
    drive(api.start(st, "(define (dbl s n) (if (= n 0) s (dbl (string-append s s) (- n 1))))"))
    r, _, _ = drive(api.start(st, "(string-length (dbl \"ab\" 40))", memory_budget=10_000_000))
    assert r.printed == "error: memory budget exceeded"


def test_failed_command_leaves_state_as_before():
    st = api.ReplState()
    drive(api.start(st, "(define x 1)"))
    drive(api.start(st, "(define p (list 1 2))"))
    drive(api.start(st, "(define (mk) (let ((n 0)) (lambda () (set! n (+ n 1)) n)))"))
    drive(api.start(st, "(define c (mk))"))
    drive(api.start(st, "(c)"))
    src = "(begin (set! x 2) (define y 3) (set-car! p 9) (c) (gensym) (car '()))"
    r, _, _ = drive(api.start(st, src))
    assert r.printed == "error: car: expected pair"
    for src, out in [("x", "=> 1"), ("y", "error: unbound var y"), ("p", "=> (1 2)"),
                     ("(c)", "=> 2"), ("(gensym)", "=> g1")]:
        assert drive(api.start(st, src))[0].printed == out


def test_abandoned_run_rolls_back():
    st = api.ReplState()
    drive(api.start(st, "(define x 1)"))
    run = api.start(st, "(begin (set! x 5) (let loop () (loop)))")
    assert isinstance(run.run(10_000), api.Running)
    run.abandon()
    assert drive(api.start(st, "x"))[0].printed == "=> 1"


def test_oracle_requests_are_journalable_values_and_replay_without_calling():
    st = api.ReplState()
    r, _, reqs = drive(api.start(st, "(list (effect infer.op (list \"Hello \" \"world\")) "
                                     "((oracle-lambda (a b) \"apply-add\") 2 3))"))
    assert r.printed == "=> (42 5)"
    assert reqs[0].op == "infer.op" and reqs[0].prompt == "Hello world"
    assert reqs[1].op == "oracle.apply.op" and reqs[1].args == [2.0, 3.0]
    receipts = []
    for q in reqs:
        resp = call_sync(ScriptedOracle(), q)
        receipt = Receipt(q.key(), q, resp, "scripted")
        blob = msgspec.json.encode(receipt)
        receipts.append(msgspec.json.decode(blob, type=Receipt))
    st2 = api.ReplState()
    r2, _, _ = drive(api.start(st2, "(list (effect infer.op (list \"Hello \" \"world\")) "
                                    "((oracle-lambda (a b) \"apply-add\") 2 3))"),
                     oracle=ReplayOracle(receipts))
    assert r2.printed == "=> (42 5)"


def test_needs_oracle_is_stable_until_resumed_and_handlers_take_precedence():
    st = api.ReplState()
    run = api.start(st, "(+ 1 (effect infer.op \"q\"))")
    r1 = run.run(100)
    r2 = run.run(100)
    assert isinstance(r1, api.NeedsOracle) and r1.request == r2.request
    run.resume(OracleResponse(denotation=9.0))
    assert run.run(100).printed == "=> 10"
    r, _, reqs = drive(api.start(st, "(handle (effect infer.op \"x\") (on infer.op (p k) (k 1)))"))
    assert r.printed == "=> 1" and reqs == []


def test_oracle_failure_is_an_error_line_and_rolls_back():
    st = api.ReplState()
    drive(api.start(st, "(define x 1)"))
    run = api.start(st, "(begin (set! x 2) (effect infer.op \"q\"))")
    assert isinstance(run.run(100), api.NeedsOracle)
    run.resume_error("Oracle failed: boom")
    assert run.run(100).printed == "error: Oracle failed: boom"
    assert drive(api.start(st, "x"))[0].printed == "=> 1"


def test_request_key_is_stable():
    q = OracleRequest(op="infer.op", prompt="p", payload="p")
    assert q.key() == OracleRequest(op="infer.op", prompt="p", payload="p").key()
    assert len(q.key()) == 64


def test_parse_inputs_and_define_names():
    forms = api.parse_inputs("(define (f x) x) (+ 1 2) ; c")
    assert [f.text for f in forms] == ["(define (f x) x)", "(+ 1 2)"]
    assert api.define_name(forms[0].datum) == "f"
    assert api.define_name(forms[1].datum) is None
    [bad] = api.parse_inputs("(+ 1")
    assert bad.error == "parse: missing ')'"


def test_global_names_for_completion():
    st = api.ReplState()
    drive(api.start(st, "(define my-var 1)"))
    assert "my-var" in api.global_names(st) and "car" in api.global_names(st)
    assert st.user_names() == ["my-var"]


def test_call_cc_reentry_across_inputs():
    st = api.ReplState()
    drive(api.start(st, "(define kk #f)"))
    assert drive(api.start(st, "(+ 1 (call/cc (lambda (k) (set! kk k) 1)))"))[0].printed == "=> 2"
    assert drive(api.start(st, "(kk 10)"))[0].printed == "=> 11"


def test_garbage_does_not_count_against_the_memory_budget():
    st = api.ReplState()
    src = "(let loop ((i 0)) (if (= i 200000) 'done (begin (list 1 2 3) (loop (+ i 1)))))"
    r, _, _ = drive(api.start(st, src, memory_budget=5_000_000), slice_steps=100_000)
    assert r.printed == "=> done"


def test_nested_evaluation_while_waiting_on_the_oracle_joins_the_command():
    st = api.ReplState()
    drive(api.start(st, "(define x 1)"))
    outer = api.start(st, "(begin (set! x 2) (effect infer.op \"q\"))")
    assert isinstance(outer.run(100), api.NeedsOracle)
    inner, _, _ = drive(api.start(st, "(begin (set! x (+ x 10)) x)", nested=True))
    assert inner.printed == "=> 12"
    bad, _, _ = drive(api.start(st, "(begin (set! x 100) (car '()))", nested=True))
    assert bad.printed == "error: car: expected pair"
    outer.resume_error("Oracle failed: no")
    assert outer.run(10).printed.startswith("error:")
    assert drive(api.start(st, "x"))[0].printed == "=> 1"


def test_inspect_shows_control_and_frames_between_slices():
    st = api.ReplState()
    drive(api.start(st, "(define (f n) (if (= n 0) 0 (+ 1 (f (- n 1)))))"))
    run = api.start(st, "(f 3)")
    seen = []
    while isinstance(run.run(1), api.Running):
        seen.append(run.inspect())
    assert any(v["control"][0] == "Expr" and v["control"][1].startswith("(if") for v in seen)
    assert max(v["depth"] for v in seen) == 3
    assert seen[-1]["steps"] == run.steps - 1
