"""Providers through a real daemon, against real HTTP servers on loopback speaking each API."""

import hashlib
import json
import threading

import pytest

from protocol import errors
from tests.conftest import wait_until
from tests.e2e.conftest import session_client
from tests.oracle.fakes import (
    Answer,
    FakeProvider,
    anthropic_tool_use,
    error,
    openai_text,
    openai_tool_call,
)

SECRET = "sk-test-SECRET-0123456789"


def openai_env(fake: FakeProvider, **extra: str) -> dict:
    return {"OMEGA_ORACLE": "openai", "OPENAI_BASE_URL": f"http://127.0.0.1:{fake.port}/v1",
            "OPENAI_API_KEY": SECRET, "OMEGA_HTTP_BACKOFF": "0.01", "OMEGA_HTTP_RETRIES": "3",
            **extra}


def execute(c, session: str, command: str) -> dict:
    return c.call("session.execute", {"session": session, "command": command})


def journal(session_dir, name: str) -> list[dict]:
    lines = (session_dir / "sessions" / f"{name}.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines[1:]]


@pytest.fixture
def fake():
    with FakeProvider() as f:
        yield f


def test_openai_gets_the_reference_prompt_tools_and_settings(shared_daemon, tmp_path, fake):
    fake.answer(openai_tool_call("return", {"value": "4", "confidence": 0.8}),
                openai_tool_call("return", {"value": '"positive"'}))
    with session_client(shared_daemon, tmp_path, openai_env(fake)) as c:
        assert execute(c, "p", '(effect infer.op "What is 2+2?")')["output"] == "=> 4"
        r = execute(c, "p", '(effect int.op (list "Sentiment of: " "good day"))')
    assert r["output"] == ('=> (meaning (denotation "positive") (confidence 0.9) '
                           '(trace "adapter=openai model=gpt-4o turns=1"))')
    first, second = fake.requests
    assert first["path"] == "/v1/chat/completions"
    assert first["headers"]["Authorization"] == f"Bearer {SECRET}"
    body = first["body"]
    assert [m["role"] for m in body["messages"]] == ["system", "user"]
    assert body["messages"][0]["content"].startswith(
        "You are an Oracle that answers questions using tool calls.")
    assert body["messages"][1]["content"] == "What is 2+2?"
    assert second["body"]["messages"][1]["content"] == "Sentiment of: good day"
    assert [t["function"]["name"] for t in body["tools"]] == \
        ["eval", "apply", "observe", "match", "assert", "return"]
    assert body["tools"][0]["function"]["parameters"]["required"] == ["expr"]
    assert (body["model"], body["tool_choice"], body["temperature"], body["max_tokens"]) == \
        ("gpt-4o", "auto", 0.7, 4096)


def test_the_model_evaluates_in_the_paused_session(shared_daemon, tmp_path, fake):
    fake.answer(openai_tool_call("eval", {"expr": "(define helper (+ base 2))"}, "c1"),
                openai_tool_call("eval", {"expr": "(* helper 10)"}, "c2"),
                openai_tool_call("return", {"value": "420"}, "c3"))
    with session_client(shared_daemon, tmp_path, openai_env(fake)) as c:
        execute(c, "tools", "(define base 40)")
        r = execute(c, "tools", '(define answer (effect infer.op "use the session"))')
        assert r["output"] == "=> answer"
        assert execute(c, "tools", "(list answer helper)")["output"] == "=> (420 42)"
    turns = [req["body"]["messages"] for req in fake.requests]
    assert len(turns) == 3
    assert turns[1][-2]["tool_calls"][0]["function"]["name"] == "eval"
    assert turns[1][-1] == {"role": "tool", "tool_call_id": "c1", "content": "()"}
    assert turns[2][-1] == {"role": "tool", "tool_call_id": "c2", "content": "420"}
    events = journal(tmp_path, "tools")
    kinds = [(e["type"], e.get("d"), e.get("reason")) for e in events[4:-4]]
    assert kinds == [("input", None, None), ("step", 0, None),
                     ("checkpoint", 0, "llm_boundary"), ("step", 1, None),
                     ("effect", 1, None)] + [("llm_req", 1, None), ("llm_resp", 1, None)] * 3 + [
                     ("checkpoint", 1, "llm_boundary"), ("resume", 1, None),
                     ("result", None, None), ("checkpoint", 0, "manual")]
    reqs = [e for e in events if e["type"] == "llm_req"]
    assert reqs[0]["model"] == "gpt-4o" and reqs[0]["promptPreview"] == "use the session"
    assert len({e["receiptKey"] for e in reqs}) == 3


def test_a_failing_eval_is_reported_to_the_model_and_undone(shared_daemon, tmp_path, fake):
    fake.answer(openai_tool_call("eval", {"expr": "(begin (define tmp 1) (car '()))"}),
                openai_tool_call("return", {"value": "ok"}))
    with session_client(shared_daemon, tmp_path, openai_env(fake)) as c:
        assert execute(c, "e", '(effect infer.op "try")')["output"] == '=> "ok"'
        assert execute(c, "e", "tmp")["output"].startswith("error: ")
    assert fake.requests[1]["body"]["messages"][-1]["content"] == \
        "Error: car: expected pair"


def test_429_then_success_retries(shared_daemon, tmp_path, fake):
    fake.answer(error(429, "Rate limit reached", "rate_limit_error"),
                Answer(503, {"error": {"message": "busy"}}, {"Retry-After": "0"}),
                openai_text("fine"))
    with session_client(shared_daemon, tmp_path, openai_env(fake)) as c:
        assert execute(c, "r", '(effect infer.op "hi")')["output"] == '=> "fine"'
    assert len(fake.requests) == 3


def test_a_500_storm_ends_in_an_error_with_the_providers_message(shared_daemon, tmp_path):
    with FakeProvider(default=error(500, "The server is overloaded")) as fake, \
            session_client(shared_daemon, tmp_path, openai_env(fake)) as c:
        execute(c, "s", "(define kept 1)")
        r = execute(c, "s", '(define lost (effect infer.op "hi"))')
        assert r["output"] == ("error: openai: HTTP 500: The server is overloaded "
                               "(server_error) (after 4 attempts)")
        assert not r["ok"]
        assert len(fake.requests) == 4
        assert execute(c, "s", "kept")["output"] == "=> 1"
        assert execute(c, "s", "lost")["output"].startswith("error: ")
    assert SECRET not in (tmp_path / "sessions" / "s.jsonl").read_text()


def test_a_client_error_is_not_retried(shared_daemon, tmp_path, fake):
    fake.answer(error(401, "Incorrect API key provided", "invalid_request_error"))
    with session_client(shared_daemon, tmp_path, openai_env(fake)) as c:
        r = execute(c, "k", '(effect infer.op "hi")')
    assert r["output"] == ("error: openai: HTTP 401: Incorrect API key provided "
                           "(invalid_request_error)")
    assert len(fake.requests) == 1


def test_a_provider_that_never_answers_times_out(shared_daemon, tmp_path, fake):
    never = threading.Event()
    fake.answer(Answer(200, {}, hold=never))
    try:
        with session_client(shared_daemon, tmp_path,
                            openai_env(fake, OMEGA_HTTP_TIMEOUT="0.5")) as c:
            r = execute(c, "t", '(effect infer.op "hi")')
        assert r["output"] == "error: openai: no answer within 0.5 s (timed out)"
        assert len(fake.requests) == 1
    finally:
        never.set()


def test_an_interrupt_during_a_slow_answer_cancels_the_request(shared_daemon, tmp_path, fake):
    slow = threading.Event()
    fake.answer(Answer(200, openai_text("late").body, hold=slow))
    env = openai_env(fake)
    try:
        with session_client(shared_daemon, tmp_path, env) as a, \
                session_client(shared_daemon, tmp_path, env) as b:
            execute(a, "slow", "(define n 5)")
            rid = a.start("session.execute",
                          {"session": "slow", "command": '(set! n (effect infer.op "hi"))'})
            wait_until(lambda: len(fake.requests) == 1, what="the request to reach the fake")
            # While it waits on the provider, the server and other sessions answer.
            assert b.call("server.ping")["pong"] is True
            assert execute(b, "other", "(+ 1 2)")["output"] == "=> 3"
            assert b.call("session.interrupt", {"session": "slow"})["interrupted"] is True
            with pytest.raises(errors.RpcError) as e:
                a.wait(rid)
            assert e.value.code == errors.INTERRUPTED
            wait_until(fake.closed_early.is_set, what="the daemon to drop the connection")
            assert execute(a, "slow", "n")["output"] == "=> 5"
    finally:
        slow.set()


def test_search_samples_run_concurrently_within_the_limit(shared_daemon, tmp_path, fake):
    barrier = threading.Barrier(4, timeout=10)
    inflight, peak, lock = [0], [0], threading.Lock()

    answers = [openai_tool_call("return", {"value": str(i)}) for i in range(8)]
    original = fake.server.RequestHandlerClass.do_POST

    def do_post(handler):
        with lock:
            inflight[0] += 1
            peak[0] = max(peak[0], inflight[0])
        try:
            barrier.wait()  # only passes when four requests are in flight together
            original(handler)
        finally:
            with lock:
                inflight[0] -= 1

    fake.server.RequestHandlerClass.do_POST = do_post
    fake.answer(*answers)
    env = openai_env(fake, OMEGA_SEARCH_CONCURRENCY="4")
    with session_client(shared_daemon, tmp_path, env) as c:
        r = execute(c, "search", '(define d (effect search.op "pick"))')
        assert r["output"] == "=> d", r
        assert execute(c, "search", "d")["output"] == "=> <dist 8>"
    assert len(fake.requests) == 8
    assert peak[0] == 4
    resps = [e for e in journal(tmp_path, "search") if e["type"] == "llm_resp"]
    assert sorted(e["valuePreview"] for e in resps) == [f"return {i}" for i in range(8)]
    assert len({e["receiptKey"] for e in resps}) == 8  # each sample its own receipt


def test_anthropic_gets_the_reference_request_and_tool_results(shared_daemon, tmp_path, fake):
    fake.answer(anthropic_tool_use("eval", {"expr": "(+ 20 22)"}, "tu1"),
                anthropic_tool_use("return", {"value": "'low"}, "tu2"))
    env = {"OMEGA_ADAPTER": "anthropic", "ANTHROPIC_API_KEY": SECRET,
           "ANTHROPIC_BASE_URL": f"http://127.0.0.1:{fake.port}", "OMEGA_MODEL": "claude-test"}
    with session_client(shared_daemon, tmp_path, env) as c:
        r = execute(c, "a", '(effect infer.op (list "rate: " "x"))')
    assert r["output"] == "=> low"
    first, second = fake.requests
    assert first["path"] == "/v1/messages"
    assert first["headers"]["x-api-key"] == SECRET
    assert first["headers"]["anthropic-version"] == "2023-06-01"
    body = first["body"]
    assert list(body) == ["model", "max_tokens", "system", "tools", "messages"]
    assert body["model"] == "claude-test" and body["max_tokens"] == 4096
    assert body["system"].startswith("You are an Oracle for a Lisp runtime.")
    assert body["messages"] == [{"role": "user", "content": "[rate:  [x ()]]"}]
    assert [t["name"] for t in body["tools"]] == \
        ["eval", "apply", "observe", "match", "assert", "return"]
    assert "input_schema" in body["tools"][0]
    assert second["body"]["messages"][-1] == {"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": "tu1", "content": "42"}]}


def test_status_shows_each_connections_oracle_and_no_key(shared_daemon, tmp_path, fake):
    with session_client(shared_daemon, tmp_path, openai_env(fake)), \
            session_client(shared_daemon, tmp_path, {"OMEGA_SCRIPTED_ORACLE": "1"}) as b:
        status = b.call("server.status")
    text = json.dumps(status)
    assert SECRET not in text
    oracles = {c["oracle"] for c in status["connections"]}
    assert f"openai (gpt-4o at http://127.0.0.1:{fake.port}/v1)" in oracles
    assert "scripted" in oracles


def test_a_provider_chosen_without_a_key_is_an_error_not_null(shared_daemon, tmp_path):
    with session_client(shared_daemon, tmp_path, {"OMEGA_ORACLE": "openai"}) as c:
        r = execute(c, "nokey", '(effect infer.op "hi")')
    assert r["output"] == "error: openai: OPENAI_API_KEY is not set"


def test_receipt_keys_are_the_sha256_of_the_request(shared_daemon, tmp_path, fake):
    fake.answer(openai_tool_call("return", {"value": "1"}))
    with session_client(shared_daemon, tmp_path, openai_env(fake)) as c:
        execute(c, "k", '(effect infer.op "one")')
        execute(c, "k", ":session save k2")  # writes the index
    index = json.loads((tmp_path / "sessions" / "k2.index.json").read_text())
    (key, receipt), = index["receipts"].items()
    compact = json.dumps(receipt["request"], separators=(",", ":"), ensure_ascii=False)
    assert hashlib.sha256(compact.encode()).hexdigest() == key
    assert receipt["request"]["body"] == fake.requests[0]["body"]
    assert receipt["response"]["content"] == "return 1" and receipt["tokens"] == 15


def test_the_banner_says_which_oracle_answers(shared_daemon, tmp_path, fake):
    with session_client(shared_daemon, tmp_path, {}) as plain, \
            session_client(shared_daemon, tmp_path, openai_env(fake)) as configured:
        assert plain.call("session.open", {"session": "b", "create": True})["oracle"] == (
            "scripted (no provider configured: set OPENAI_API_KEY, ANTHROPIC_API_KEY "
            "or OMEGA_ORACLE)")
        opened = configured.call("session.open", {"session": "b"})
        assert opened["oracle"] == f"openai (gpt-4o at http://127.0.0.1:{fake.port}/v1)"


def test_a_model_eval_that_calls_the_oracle_is_journaled_one_level_deeper(
        shared_daemon, tmp_path, fake):
    fake.answer(openai_tool_call("eval", {"expr": '(effect infer.op "inner")'}, "outer1"),
                openai_tool_call("return", {"value": "5"}, "inner1"),
                openai_tool_call("return", {"value": "6"}, "outer2"))
    with session_client(shared_daemon, tmp_path, openai_env(fake)) as c:
        assert execute(c, "n", '(effect infer.op "outer")')["output"] == "=> 6"
    assert fake.requests[1]["body"]["messages"][1]["content"] == "inner"
    assert fake.requests[2]["body"]["messages"][-1]["content"] == "5"
    depths = [(e["type"], e["d"]) for e in journal(tmp_path, "n")
              if e["type"] in ("effect", "llm_req", "resume")]
    assert depths == [("effect", 1), ("llm_req", 1), ("effect", 2), ("llm_req", 2),
                      ("resume", 2), ("llm_req", 1), ("resume", 1)]


def test_a_provider_error_in_the_debugger_is_an_error_line(shared_daemon, tmp_path, fake):
    fake.answer(error(401, "Incorrect API key provided", "invalid_request_error"))
    with session_client(shared_daemon, tmp_path, openai_env(fake)) as c:
        execute(c, "dbg", ':debug (effect infer.op "x")')
        out = execute(c, "dbg", ":run")["output"]
    assert "error: openai: HTTP 401: Incorrect API key provided" in out, out


def test_two_clients_on_one_session_each_use_their_own_settings(shared_daemon, tmp_path, fake):
    fake.answer(openai_tool_call("return", {"value": "from the model"}))
    with session_client(shared_daemon, tmp_path, openai_env(fake)) as a, \
            session_client(shared_daemon, tmp_path, {"OMEGA_SCRIPTED_ORACLE": "1"}) as b:
        assert execute(a, "both", '(effect infer.op "q")')["output"] == '=> "from the model"'
        assert execute(b, "both", '(effect infer.op "q")')["output"] == "=> 42"
    assert len(fake.requests) == 1


def test_a_legacy_import_never_asks_the_provider(shared_daemon, tmp_path, fake):
    home = tmp_path / "home"
    (home / ".omega-sessions").mkdir(parents=True)
    (home / ".omega-sessions" / "repl-leg.json").write_text(json.dumps({"defs": [
        "(define a 1)", '(define b (effect infer.op "q"))', "(define c 3)"]}))
    with session_client(shared_daemon, tmp_path / "sd", {**openai_env(fake),
                                                          "HOME": str(home)}) as c:
        assert execute(c, "leg", "(list a c)")["output"] == "=> (1 3)"
        assert execute(c, "leg", "b")["output"].startswith("error: ")
    assert fake.requests == []


def test_a_models_eval_past_the_command_budget_fails_as_a_command_would(
        start_inprocess_daemon, tmp_path, fake):
    daemon = start_inprocess_daemon("--command-memory", str(16 << 20))
    grow = "(let loop ((l '()) (i 0)) (if (< i 3000000) (loop (cons i l) (+ i 1)) (length l)))"
    fake.answer(openai_tool_call("eval", {"expr": f"(begin (define tmp 1) {grow})"}),
                openai_tool_call("return", {"value": "ok"}))
    with session_client(daemon, tmp_path, openai_env(fake)) as c:
        execute(c, "m", "(define kept 1)")
        assert execute(c, "m", '(effect infer.op "grow")')["output"] == '=> "ok"'
        assert execute(c, "m", "tmp")["output"].startswith("error: ")
        assert execute(c, "m", "kept")["output"] == "=> 1"
        with session_client(daemon, tmp_path) as other:
            assert other.call("server.ping") == {"pong": True}
    told = fake.requests[1]["body"]["messages"][-1]["content"]
    assert told.startswith("Error: memory budget exceeded"), told
