"""Sessions that called a provider come back (restart, crash, goto) from their receipts alone:
the fake provider is stopped first, so a request that reached it could not be answered."""

import json
import signal

import pytest

from tests.conftest import SHARED, needs_shared
from tests.e2e.conftest import session_client
from tests.oracle.fakes import FakeProvider, openai_tool_call
from tests.oracle.test_providers_e2e import execute, openai_env

MOCK_FIXTURE = SHARED / "fixtures" / "omega-ts-sessions" / "sessions" / "mock-effects.jsonl"


def make_session(daemon, session_dir, env) -> None:
    with session_client(daemon, session_dir, env) as c:
        execute(c, "r", "(define before 1)")
        r = execute(c, "r", '(define answer (effect infer.op "what is seven?"))')
        assert r["output"] == "=> answer"
        execute(c, "r", "(define after (+ answer side))")


def scripted_fake() -> FakeProvider:
    fake = FakeProvider().__enter__()
    fake.answer(openai_tool_call("eval", {"expr": "(define side 5)"}, "c1"),
                openai_tool_call("return", {"value": "7"}, "c2"))
    return fake


@pytest.mark.parametrize("states", ["saved", "rebuilt from the journal"])
def test_replay_after_a_restart_never_calls_the_provider(start_inprocess_daemon, omega_env, states):
    fake = scripted_fake()
    env = openai_env(fake)
    first = start_inprocess_daemon()
    make_session(first, omega_env.session_dir, env)
    assert first.stop() == 0
    fake.stop()
    assert len(fake.requests) == 2
    if states != "saved":  # no checkpoint file: every input is re-evaluated from its receipts
        (omega_env.session_dir / "sessions" / "r.ckpt").unlink()
    second = start_inprocess_daemon()
    with session_client(second, omega_env.session_dir, env) as c:
        assert execute(c, "r", "(list before answer side after)")["output"] == "=> (1 7 5 12)"
        journal = [json.loads(x) for x in
                   (omega_env.session_dir / "sessions" / "r.jsonl").read_text().splitlines()[1:]]
        boundary = [e["seq"] for e in journal if e.get("reason") == "llm_boundary"]
        assert execute(c, "r", ":session load r")["ok"]
        goto = execute(c, "r", f":session goto {boundary[0]}")["output"]
        assert goto.startswith(f"Jumped to seq {boundary[0]}")
        assert execute(c, "r", "before")["output"] == "=> 1"
        assert execute(c, "r", "answer")["output"].startswith("error: ")
        resumed = execute(c, "r", ":session resume")["output"]
        assert resumed == f"Used 2 cached receipts\nResumed to seq {boundary[1]}"
        assert execute(c, "r", "answer")["output"].startswith("error: ")  # still before it
    assert len(fake.requests) == 2


def test_crash_recovery_replays_receipts_written_before_the_crash(start_daemon, omega_env):
    fake = scripted_fake()
    env = openai_env(fake)
    first = start_daemon()
    make_session(first, omega_env.session_dir, env)
    first.signal(signal.SIGKILL)
    first.wait()
    fake.stop()
    second = start_daemon()
    with session_client(second, omega_env.session_dir, env) as c:
        assert execute(c, "r", "(list answer side after)")["output"] == "=> (7 5 12)"
    assert len(fake.requests) == 2


def test_a_missing_receipt_is_reported_and_nothing_is_asked(start_inprocess_daemon, omega_env):
    fake = scripted_fake()
    env = openai_env(fake)
    first = start_inprocess_daemon()
    make_session(first, omega_env.session_dir, env)
    assert first.stop() == 0
    fake.stop()
    sessions = omega_env.session_dir / "sessions"
    index = json.loads((sessions / "r.index.json").read_text())
    lost = sorted(index["receipts"])[0]
    del index["receipts"][lost]
    (sessions / "r.index.json").write_text(json.dumps(index))
    lines = (sessions / "r.receipts").read_text().splitlines()
    (sessions / "r.receipts").write_text(
        "".join(x + "\n" for x in lines if json.loads(x)["key"] != lost))
    (sessions / "r.ckpt").unlink()  # so the inputs are re-evaluated
    second = start_inprocess_daemon()
    with session_client(second, omega_env.session_dir, env) as c:
        assert execute(c, "r", "before")["output"] == "=> 1"
        assert execute(c, "r", "answer")["output"].startswith("error: ")
    assert second.stop() == 0
    assert f"Receipt not found: {lost}" in second.stderr
    assert len(fake.requests) == 2


def test_keys_never_reach_journals_indexes_or_logs(start_inprocess_daemon, omega_env):
    fake = scripted_fake()
    env = openai_env(fake)
    d = start_inprocess_daemon()
    make_session(d, omega_env.session_dir, env)
    assert d.stop() == 0
    fake.stop()
    secret = env["OPENAI_API_KEY"]
    for path in omega_env.root.rglob("*"):
        if path.is_file():
            assert secret.encode() not in path.read_bytes(), path


@needs_shared
def test_mock_effects_journal_the_references_events_line_for_line(
        start_inprocess_daemon, omega_env):
    env = {"OMEGA_SCRIPTED_ORACLE": "1", "OMEGA_MOCK_EFFECTS": "1"}
    inputs = ['(define topic "weather")', '(effect infer.op "What is 2+2?")', "(define y 5)",
              '(effect infer.op "Summarize the weather in one word")', "(+ y 1)",
              '(effect search.op "find three recipes")', "(car '())",
              '(effect int.op "interpret: ünïcödé ✓ 日本")', "y"]
    d = start_inprocess_daemon()
    with session_client(d, omega_env.session_dir, env) as c:
        outputs = [execute(c, "current", text)["output"] for text in inputs]
    assert outputs == ["=> topic", '=> "mock:infer.op"', "=> y", '=> "mock:infer.op"', "=> 6",
                       '=> "mock:search.op"', "error: car: expected pair", '=> "mock:int.op"',
                       "=> 5"]
    assert d.stop() == 0

    def shape(line: str) -> dict:
        event = json.loads(line)
        event.pop("ts", None)
        event.pop("stack", None)
        event.pop("created", None)
        return event

    ours = (omega_env.session_dir / "sessions" / "current.jsonl").read_text().splitlines()
    with open(MOCK_FIXTURE, encoding="utf-8") as f:
        theirs = f.read().splitlines()
    assert [shape(x) for x in ours] == [shape(x) for x in theirs]
    index = json.loads((omega_env.session_dir / "sessions" / "current.index.json").read_text())
    fixture_index = json.loads(MOCK_FIXTURE.with_suffix(".index.json").read_text())
    assert {k: (r["request"], r["response"]) for k, r in index["receipts"].items()} == \
        {k: (r["request"], r["response"]) for k, r in fixture_index["receipts"].items()}


def test_nested_calls_and_search_samples_replay_from_their_receipts(start_inprocess_daemon,
                                                                   omega_env):
    fake = FakeProvider().__enter__()
    fake.answer(openai_tool_call("eval", {"expr": '(define inner (effect infer.op "in"))'}),
                openai_tool_call("return", {"value": "5"}),
                openai_tool_call("return", {"value": "6"}),
                *[openai_tool_call("return", {"value": str(i)}) for i in range(8)])
    env = openai_env(fake, OMEGA_SEARCH_CONCURRENCY="1")
    first = start_inprocess_daemon()
    with session_client(first, omega_env.session_dir, env) as c:
        assert execute(c, "n", '(define outer (effect infer.op "out"))')["output"] == "=> outer"
        execute(c, "n", '(define d (effect search.op "pick"))')
    assert first.stop() == 0
    fake.stop()
    (omega_env.session_dir / "sessions" / "n.ckpt").unlink()
    second = start_inprocess_daemon()
    with session_client(second, omega_env.session_dir, env) as c:
        assert execute(c, "n", "(list outer inner)")["output"] == "=> (6 5)"
        assert execute(c, "n", "d")["output"] == "=> <dist 8>"
    assert second.stop() == 0
    assert "not replayed" not in second.stderr
    assert len(fake.requests) == 11


def test_calls_past_the_depth_limit_replay_as_they_ran(start_inprocess_daemon, omega_env):
    fake = FakeProvider().__enter__()
    fake.answer(*[openai_tool_call("eval", {"expr": '(effect infer.op "deeper")'})] * 8,
                *[openai_tool_call("return", {"value": str(level)}) for level in range(8, 0, -1)])
    env = openai_env(fake)
    first = start_inprocess_daemon()
    with session_client(first, omega_env.session_dir, env) as c:
        assert execute(c, "deep", '(define v (effect infer.op "top"))')["output"] == "=> v"
        assert execute(c, "deep", "v")["output"] == "=> 1"
    assert first.stop() == 0
    fake.stop()
    assert len(fake.requests) == 16  # depth 9 was answered by the limit, not the provider
    events = journal_of(omega_env.session_dir, "deep")
    assert max(e.get("d", 0) for e in events) == 8
    (omega_env.session_dir / "sessions" / "deep.ckpt").unlink()
    second = start_inprocess_daemon()
    with session_client(second, omega_env.session_dir, env) as c:
        assert execute(c, "deep", "v")["output"] == "=> 1"
    assert len(fake.requests) == 16


def journal_of(session_dir, name):
    lines = (session_dir / "sessions" / f"{name}.jsonl").read_text().splitlines()
    return [json.loads(x) for x in lines[1:]]


def test_the_same_question_asked_twice_replays_both_answers(start_inprocess_daemon, omega_env):
    fake = FakeProvider().__enter__()
    fake.answer(openai_tool_call("return", {"value": "heads"}),
                openai_tool_call("return", {"value": "tails"}))
    env = openai_env(fake)
    first = start_inprocess_daemon()
    with session_client(first, omega_env.session_dir, env) as c:
        execute(c, "coin", '(define a (effect infer.op "flip"))')
        execute(c, "coin", '(define b (effect infer.op "flip"))')
        assert execute(c, "coin", "(list a b)")["output"] == '=> ("heads" "tails")'
    assert first.stop() == 0
    fake.stop()
    assert fake.requests[0]["body"] == fake.requests[1]["body"]
    keys = [e["receiptKey"] for e in journal_of(omega_env.session_dir, "coin")
            if e["type"] == "llm_resp"]
    assert len(set(keys)) == 2  # one receipt per answer
    (omega_env.session_dir / "sessions" / "coin.ckpt").unlink()
    second = start_inprocess_daemon()
    with session_client(second, omega_env.session_dir, env) as c:
        assert execute(c, "coin", "(list a b)")["output"] == '=> ("heads" "tails")'
    assert len(fake.requests) == 2
