"""Random programs never escape as Python exceptions: every input ends in `=> ` or `error: `
with a message of ours (no "internal error"), and a failed input leaves the state as it was."""

import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from omegad.lang import api

ATOMS = st.sampled_from([
    "0", "1", "-2", "3.5", "#t", "#f", "'()", "\"s\"", "'a", "x", "f", "lst", "car", "+",
    "(lambda (y) y)", "null", "k"])
HEADS = st.sampled_from([
    "+", "-", "*", "/", "<", "=", "car", "cdr", "cons", "list", "length", "append", "reverse",
    "map", "filter", "fold-left", "apply", "equal?", "eq?", "not", "null?", "string-append",
    "string-length", "substring", "number->string", "display", "f", "force", "stream->list",
    "list-ref", "assoc", "member", "hash-ref", "vector-ref", "call/cc", "eval", "read",
    "set-car!", "gensym", "error", "string-split", "sort", "stream-car", "max", "abs"])


def forms(depth: int):
    if depth == 0:
        return ATOMS
    sub = forms(depth - 1)
    return st.one_of(
        ATOMS,
        st.builds(lambda h, a: f"({h} {' '.join(a)})", HEADS, st.lists(sub, max_size=3)),
        st.builds(lambda t, a, b: f"(if {t} {a} {b})", sub, sub, sub),
        st.builds(lambda a, b: f"(let ((x {a})) {b})", sub, sub),
        st.builds(lambda a: f"(lambda (x) {a})", sub),
        st.builds(lambda a, b: f"(begin (set! x {a}) {b})", sub, sub),
        st.builds(lambda a, b: f"(and {a} {b})", sub, sub),
        st.builds(lambda a, b: f"(cond ({a} {b}) (else 0))", sub, sub),
        st.builds(lambda a: f"(handle {a} (on e.op (v k) (k v)))", sub),
        st.builds(lambda a: f"(effect e.op {a})", sub),
        st.builds(lambda a, b: f"(amb {a} {b})", sub, sub),
        st.builds(lambda a: f"(require {a})", sub),
        st.builds(lambda a: f"(delay {a})", sub),
        st.builds(lambda a, b: f"(match {a} ((?p ?q) p) (_ {b}))", sub, sub),
    )


EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "300"))  # more for a longer local run
SETUP = ["(define x 1)", "(define (f a) (list a x))", "(define lst (list 1 2 3))",
         "(define k #f)"]


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(forms(3))
def test_random_programs_end_in_a_result_or_an_error_of_ours(src):
    state = api.ReplState()
    for s in SETUP:
        api.start(state, s).run(1000)
    before = api.serialize(state)
    run = api.start(state, src, step_budget=20_000, memory_budget=20_000_000)
    while True:
        r = run.run(5_000)
        if isinstance(r, api.NeedsOracle):
            run.resume(api.OracleResponse(denotation=42.0))
            continue
        if not isinstance(r, api.Running):
            break
    assert isinstance(r, (api.Done, api.Failed))
    if isinstance(r, api.Failed):
        assert not r.message.startswith("internal error"), (src, r.message)
        state.head = None
        assert api.serialize(state) == before, src
