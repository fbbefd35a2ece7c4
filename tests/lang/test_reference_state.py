"""Reading the reference's serialized machine states (its index's `states`) into omega states.

Every checkpoint state of every fixture index is read, and what it holds is compared with what
re-evaluating the session's journal up to that checkpoint gives: the same user definitions,
printing the same. Closures keep their captured cells (shared when the reference shared them),
and values omega cannot rebuild raise `UnconvertibleState`.
"""

import copy

import msgspec
import pytest
import trio

from omegad.lang import api
from omegad.lang.api import deserialize
from omegad.lang.printer import write_str
from omegad.lang.reference_state import UnconvertibleState, read_state
from omegad.lang.serialize import serialize
from omegad.oracle.scripted import ScriptedOracle
from omegad.sessions.recovery.replay import replay
from omegad.sessions.timeline import read_timeline
from tests.conftest import SHARED, require_shared

require_shared()
FIXTURES = SHARED / "fixtures" / "omega-ts-sessions"
SESSIONS = FIXTURES / "sessions"
INDEXED = sorted(p.name[: -len(".index.json")] for p in SESSIONS.glob("*.index.json"))
# Infinity and NaN have no JSON form: the reference wrote these controls as `{"n": null}`.
NOT_JSON_NUMBERS = {("arith-errors", "state-22"), ("arith-errors", "state-45")}
# Where omega's evaluator differs from the reference's (DIVERGENCES B: string-length counts
# UTF-16 units there), the state holds the reference's value, re-evaluation omega's.
REFERENCE_CONTROL = {("strings", "state-11"): "8", ("strings", "state-90"): "2"}


def _states(name: str) -> dict:
    return msgspec.json.decode((SESSIONS / f"{name}.index.json").read_bytes())["states"]


def _eval(state: api.ReplState, text: str) -> str:
    r = api.start(state, text).run(1_000_000)
    assert isinstance(r, (api.Done, api.Failed)), r
    return r.printed


def _user_values(state: api.ReplState) -> dict[str, str]:
    return {n: write_str(state.globals[n]) for n in state.user_names()}


def _replayed(name: str) -> dict:
    timeline = read_timeline(SESSIONS, name)
    assert timeline is not None

    async def run():
        return await replay(timeline, ScriptedOracle().call)

    return trio.run(run).at


@pytest.mark.parametrize("name", INDEXED)
def test_every_state_reads_as_reevaluation_gives_it(name):
    states = _states(name)
    timeline = read_timeline(SESSIONS, name)
    replayed = _replayed(name)
    assert len(states) == len(timeline.checkpoints)
    for cp in timeline.checkpoints:
        if (name, cp.state_id) in NOT_JSON_NUMBERS:
            continue
        built = read_state(states[cp.state_id])
        again = replayed[cp.seq]
        expected = again.resume()
        assert _user_values(built.state) == _user_values(expected), cp.state_id
        control = REFERENCE_CONTROL.get((name, cp.state_id), again.control)
        assert built.printed_control == control, cp.state_id


@pytest.mark.parametrize("key", sorted(NOT_JSON_NUMBERS))
def test_a_number_json_cannot_hold_is_unconvertible(key):
    name, state_id = key
    with pytest.raises(UnconvertibleState, match="number written as None"):
        read_state(_states(name)[state_id])


def test_closures_keep_their_captured_state():
    state = read_state(_states("closures")["state-87"]).state
    assert _eval(state, "(c1)") == "=> 4"  # c1 was called three times
    assert _eval(state, "(c2)") == "=> 2"  # c2 once, with a counter of its own
    assert _eval(state, "(c1)") == "=> 5"
    assert _eval(state, "total") == "=> 100"
    assert _eval(state, "(add! 1)") == "=> 101"  # add! changes the global
    assert _eval(state, "total") == "=> 101"
    assert _eval(state, "((compose2 inc inc) 5)") == "=> 7"
    assert _eval(state, "make-counter") == "=> <closure (...)>"
    assert _eval(state, "(define c3 (make-counter))") == "=> c3"
    assert _eval(state, "(c3)") == "=> 1"


def test_closures_sharing_a_cell_keep_sharing_it():
    state = read_state(_states("closures")["state-87"]).state
    assert _eval(state, "((car shared))") == "=> 42"
    _eval(state, "((cadr shared) 7)")
    assert _eval(state, "((car shared))") == "=> 7"


def test_an_earlier_checkpoint_holds_only_what_was_defined_then():
    state = read_state(_states("closures")["state-15"]).state
    assert _eval(state, "(c1)") == "=> 3"
    assert _eval(state, "(c2)") == "error: unbound var c2"


def test_a_redefined_name_is_its_latest_definition():
    states = _states("medium")
    state = read_state(states[list(states)[-1]]).state
    assert _eval(state, "counter") == "=> 5"  # the plain alias still names the first define
    assert _eval(state, "(fib 5)") == "=> 5"


def test_a_read_state_round_trips_through_omegas_serialization():
    state = deserialize(serialize(read_state(_states("closures")["state-87"]).state))
    assert _eval(state, "(c1)") == "=> 4"
    _eval(state, "((cadr shared) 9)")
    assert _eval(state, "((car shared))") == "=> 9"


@pytest.mark.parametrize("name", INDEXED)
def test_closures_are_rebuilt_with_source_names(name):
    states = _states(name)
    for state_id in states:
        if (name, state_id) in NOT_JSON_NUMBERS:
            continue
        state = read_state(states[state_id]).state
        for n in state.user_names():
            lam = getattr(state.globals[n], "lam", None)
            assert lam is None or "$bid#" not in write_str(lam.src), (state_id, n)


# ---- what cannot be read -----------------------------------------------------------------------
def _with_value(value: dict) -> dict:
    """The tiny session's last state with the user's `a` holding `value`."""
    doc = copy.deepcopy(_states("tiny")["state-11"])
    root = doc["ctxTable"][doc["envId"]]
    addr = dict(root["frameEntries"])["a$bid#1"]
    doc["storeEntries"] = [[a, value if a == addr else v] for a, v in doc["storeEntries"]]
    return doc


@pytest.mark.parametrize("value, message", [
    ({"tag": "Continuation", "kont": [], "envId": "x", "storeEntries": [], "handlers": []},
     "Continuation"),
    ({"tag": "Machine", "state": {}, "stepCount": 0, "isDone": False, "machineId": "m"},
     "Machine"),
    ({"tag": "Native", "name": "no-such-native", "arity": 0}, "no-such-native"),
    ({"tag": "Num", "n": None}, "number"),
    ({"tag": "Closure", "params": [], "body": {"tag": "QuoteSyntax", "datum": 1},
      "envId": None}, "QuoteSyntax"),
    ({"tag": "Closure", "params": [], "envId": None}, "malformed"),
])
def test_unconvertible_values_raise(value, message):
    with pytest.raises(UnconvertibleState, match=message):
        read_state(_with_value(value))


def test_a_state_in_the_middle_of_an_evaluation_is_unconvertible():
    doc = copy.deepcopy(_states("tiny")["state-11"])
    doc["kont"] = [{"tag": "KIf", "conseq": {"tag": "Lit", "value": 1}, "envId": doc["envId"]}]
    with pytest.raises(UnconvertibleState, match="middle of an evaluation"):
        read_state(doc)
    doc = copy.deepcopy(_states("tiny")["state-11"])
    doc["control"] = {"tag": "Expr", "e": {"tag": "Lit", "value": 1}}
    with pytest.raises(UnconvertibleState, match="control"):
        read_state(doc)


def test_a_missing_environment_is_unconvertible():
    doc = copy.deepcopy(_states("tiny")["state-11"])
    doc["envId"] = "no-such-ctx"
    with pytest.raises(UnconvertibleState, match="missing ctx"):
        read_state(doc)


# ---- the reference's expression shapes, turned back into source ------------------------------
def _var(name):
    return {"tag": "Var", "name": name}


def _lit(value):
    return {"tag": "Lit", "value": value}


def _app(fn, *args):
    return {"tag": "App", "fn": fn if isinstance(fn, dict) else _var(fn), "args": list(args)}


def _closure(params, body, state_doc):
    return {"tag": "Closure", "params": params, "body": body, "envId": state_doc["envId"]}


def _call_a(body, params, call):
    doc = _states("tiny")["state-11"]
    state = read_state(_with_value(_closure(params, body, doc))).state
    return _eval(state, call)


def test_a_lowered_letrec_becomes_a_letrec_again():
    # (lambda (xs)
    #   (letrec ((loop (lambda (l acc) (if (null? l) acc (loop (cdr l) (+ acc (car l)))))))
    #     (loop xs 0)))
    loop = {"tag": "Lambda", "params": ["l$bid#3", "acc$bid#4"], "body": {
        "tag": "If", "test": _app("null?", _var("l$bid#3")), "conseq": _var("acc$bid#4"),
        "alt": _app(_var("loop$bid#2"), _app("cdr", _var("l$bid#3")),
                    _app("+", _var("acc$bid#4"), _app("car", _var("l$bid#3"))))}}
    body = _app({"tag": "Lambda", "params": ["loop$bid#2"], "body": {"tag": "Begin", "exprs": [
        {"tag": "Set", "name": "loop$bid#2", "rhs": loop},
        _app(_var("loop$bid#2"), _var("xs$bid#1"), _lit(0))]}}, _app("*uninit*"))
    assert _call_a(body, ["xs$bid#1"], "(a '(1 2 3))") == "=> 6"


def test_match_quote_let_and_effects_become_source():
    match = {"tag": "Match", "scrutinee": _var("x$bid#1"), "clauses": [
        {"pat": {"tag": "PVector", "items": [{"tag": "PLit", "value": "add"},
                                             {"tag": "PVar", "name": "n$bid#2"}]},
         "body": {"tag": "Let", "bindings": [{"name": "k$bid#3", "init": _lit(1)}],
                  "body": _app("+", _var("n$bid#2"), _var("k$bid#3"))}},
        {"pat": {"tag": "PWild"}, "body": {"tag": "Quote", "datum": [{"sym": "no"}, 1, "s"]}}]}
    assert _call_a(match, ["x$bid#1"], "(a '(add 4))") == "=> 5"
    assert _call_a(match, ["x$bid#1"], "(a 7)") == '=> (no 1 "s")'
    handled = {"tag": "Handle", "body": {"tag": "Effect", "op": "ask.op", "args": [_lit(2)]},
               "handler": {"on": [{"op": "ask.op", "params": ["v"], "k": "k",
                                   "body": _app(_var("k"), _app("*", _var("v"), _lit(10)))}],
                           "ret": {"v": "r", "body": _app("+", _var("r"), _lit(1))}}}
    assert _call_a(handled, [], "(a)") == "=> 21"


def test_an_unknown_expression_is_unconvertible():
    with pytest.raises(UnconvertibleState, match="expression Nope"):
        _call_a({"tag": "Nope"}, [], "(a)")
