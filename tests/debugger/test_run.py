"""DebugRun without a daemon: stepping, time travel by keyframes and re-stepping, summaries."""

import tracemalloc

from omegad import memory
from omegad.lang import api
from omegad.sessions.debug.debugger import Debugger
from omegad.sessions.debug.run import KEYFRAME, DebugRun, expr_tag


def session(*inputs: str) -> api.ReplState:
    state = api.ReplState()
    for text in inputs:
        assert isinstance(api.start(state, text).run(10**7), api.Done)
    return state


FIB = "(define (fib n) (if (< n 2) n (+ (fib (- n 1)) (fib (- n 2)))))"


def views(run: DebugRun, n: int) -> list:
    seen = []
    for _ in range(n):
        seen.append((run.step, run.view()))
        run.advance(1)
    return seen


def test_the_run_sees_the_sessions_definitions_and_leaves_the_session_alone():
    state = session("(define k 3)")
    run = DebugRun("(begin (set! k 10) (+ k 1))", api.serialize(state))
    r = run.advance(10_000)
    assert isinstance(r, api.Done) and r.printed == "=> 11"
    assert api.start(state, "k").run(100).printed == "=> 3"


def test_goto_back_and_forward_gives_the_same_states_as_stepping():
    state = session(FIB, "(define acc 0)")
    code = ("(begin (define (loop i) (if (< i 3000) (begin (set! acc (+ acc i)) (loop (+ i 1)))"
            " acc)) (loop 0))")
    fresh = DebugRun(code, api.serialize(state))
    expected = views(fresh, 4000)
    run = DebugRun(code, api.serialize(state))
    run.advance(3500)
    for target in (0, 1, 999, 1000, 1001, 2500, 3999, 17, 3200):
        run.goto(target)
        assert (run.step, run.view()) == expected[target]
    # the global written by set! is rolled back with the steps, and redone
    probe = DebugRun(code, api.serialize(state))
    probe.advance(50)
    at50 = probe.state.globals["acc"]
    assert at50 > 0
    run.goto(50)
    assert run.state.globals["acc"] == at50
    run.goto(0)
    assert run.state.globals["acc"] == 0


def test_goto_after_the_end_and_after_an_error():
    state = session(FIB)
    run = DebugRun("(fib 10)", api.serialize(state))
    done = run.advance(10**6)
    assert isinstance(done, api.Done) and done.printed == "=> 55"
    end = run.step
    run.goto(3)
    assert run.step == 3 and run.active
    assert run.advance(10**6).printed == "=> 55" and run.step == end
    bad = DebugRun("(begin (fib 5) (car '()))", api.serialize(state))
    failed = bad.advance(10**6)
    assert isinstance(failed, api.Failed)
    bad.goto(2)
    assert bad.step == 2 and bad.active


def test_the_control_summary_names_the_expression_as_the_reference_does():
    def tag(text):
        return expr_tag(api.parse_inputs(text)[0].datum)

    assert tag("(if a b c)") == "If(...)"
    assert tag("(f 1 2)") == "App(...)"
    assert tag("(lambda (a b) a)") == "Lambda(2 params)"
    assert tag("(begin 1 2 3)") == "Begin(3 exprs)"
    assert tag("(define (f x) x)") == "Define(f)"
    assert tag("(effect infer.op \"x\")") == "Effect(infer.op)"
    assert tag("x") == "Var(x)"
    assert tag("3") == "Lit(3)"


def test_breakpoints_match_step_expression_tag_and_effect():
    state = session(FIB)
    dbg = Debugger()
    dbg.run = DebugRun("(fib 3)", api.serialize(state))
    from omegad.sessions.debug.debugger import Breakpoint
    dbg.breakpoints = [Breakpoint(1, "expr", "If")]
    assert dbg.hit(dbg.run) is None          # step 0: an application
    dbg.run.advance(1)
    assert dbg.hit(dbg.run).id == 1
    dbg.breakpoints[0].enabled = False
    assert dbg.hit(dbg.run) is None
    dbg.breakpoints.append(Breakpoint(2, "step", 1))
    assert dbg.hit(dbg.run).id == 2
    assert dbg.next_step_break(0) == 1 and dbg.next_step_break(1) is None


def test_a_million_step_trace_stays_within_its_memory_budget():
    """Budget: 16 MiB for 1 000 000 steps of a loop (keyframes every KEYFRAME steps), held to
    it by what the process really grows by; and a tenth of the trace to a tenth of the budget
    by tracemalloc's exact count (tracing all million steps made this one test 12 s)."""
    state = session("(define (spin n) (if (= n 0) 'done (spin (- n 1))))")
    base = api.serialize(state)
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    tenth = DebugRun("(spin 2000000)", base)
    tenth.advance(100_000)
    used = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    assert used < 16 * 1024 * 1024 // 10, used
    del tenth
    memory.trim()           # (what earlier tests freed goes back first: it is not ours to count)
    start = memory.rss()
    run = DebugRun("(spin 2000000)", base)
    r = run.advance(1_000_000)
    grown = memory.rss() - start
    assert isinstance(r, api.Running) and run.step == 1_000_000
    assert len(run.keyframes) == 1_000_000 // KEYFRAME + 1
    assert grown < 16 * 1024 * 1024, grown
    run.goto(123_457)
    assert run.step == 123_457


def test_time_travel_keeps_closure_state_consistent():
    code = ("(begin (define (mk) (let ((c 0)) (lambda () (set! c (+ c 1)) c)))"
            " (define ctr (mk))"
            " (define (go i) (if (< i 2500) (begin (ctr) (go (+ i 1))) (ctr))) (go 0))")
    run = DebugRun(code, api.serialize(api.ReplState()))
    run.advance(2200)
    for target in (10, 1500, 3, 2100, 999):
        run.goto(target)
    r = run.advance(10**6)
    assert r.printed == "=> 2501"
    run.goto(1200)
    assert run.advance(10**6).printed == "=> 2501"


def test_keyframes_of_a_deep_recursion_cost_about_a_slot_per_step():
    state = session("(define (deep n) (if (= n 0) 0 (+ 1 (deep (- n 1)))))")
    run = DebugRun("(deep 60000)", api.serialize(state))
    run.advance(100_000)
    slots = sum(len(k.stack) for k in run.keyframes)
    assert slots <= 2 * 100_000, slots
    here = run.step
    expected = run.view()
    run.goto(here - 1)
    run.goto(here)
    assert run.view() == expected
    assert run.advance(10**6).printed == "=> 60000"


MUTATING = ("(begin (define (mk) (let ((c 0)) (lambda () (set! c (+ c 1)) c)))"
            " (define ctr (mk)) (define v (make-hash-table)) (define seen '())"
            " (define (go i) (if (< i 1800)"
            "   (begin (hash-set! v (modulo i 4) (ctr))"
            "          (if (= 0 (modulo i 7)) (set! seen (cons i seen)) #f)"
            "          (go (+ i 1)))"
            "   (list (ctr) (length seen))))"
            " (go 0))")


def _seen(run: DebugRun, write_seen=api.write_str):
    g = run.state.globals
    v = g.get("v")
    table = sorted((repr(k), api.write_str(x)) for k, x in v.table.items()) if v else None
    return (run.step, run.view(), table, write_seen(g.get("seen")))


def _write_each_list_once():
    """api.write_str for `seen` while stepping from the start: MUTATING only conses onto it (no
    pair is changed in place), so a list printed once prints the same at every later step."""
    last = [object(), ""]

    def write(seen) -> str:
        if seen is not last[0]:
            last[:] = [seen, api.write_str(seen)]
        return last[1]

    return write


def test_random_travel_matches_stepping_from_the_start():
    import random

    base = api.serialize(api.ReplState())
    fresh = DebugRun(MUTATING, base)
    expected = []
    write_seen = _write_each_list_once()
    while fresh.active:
        expected.append(_seen(fresh, write_seen))
        fresh.advance(1)
    last = len(expected) - 1
    run = DebugRun(MUTATING, base)
    run.advance(last)
    rng = random.Random(7)
    for _ in range(60):
        target = rng.randrange(last + 1)
        run.goto(target)
        assert _seen(run) == expected[target], target
        if rng.random() < 0.3:                 # step on from there (a new world) now and then
            run.advance(rng.randrange(1, 300))
            assert _seen(run) == expected[min(run.step, last)]
    run.goto(0)
    assert run.advance(10**6).printed == fresh.result.printed
