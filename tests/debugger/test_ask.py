"""`:ask` through a fake OpenAI-compatible server, then `:traces` and `:trace ID [-v]`."""

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from tests.e2e.conftest import session_client


class FakeOpenAI(BaseHTTPRequestHandler):
    answers: list = []
    seen: list = []

    def do_POST(self):  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        FakeOpenAI.seen.append(body)
        data = json.dumps(FakeOpenAI.answers.pop(0)).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def fake_openai():
    server = HTTPServer(("127.0.0.1", 0), FakeOpenAI)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    FakeOpenAI.seen = []
    yield f"http://127.0.0.1:{server.server_port}/v1"
    server.shutdown()


def tool_call(name: str, args: dict) -> dict:
    return {"choices": [{"message": {"role": "assistant", "content": None, "tool_calls": [
        {"id": "c1", "type": "function",
         "function": {"name": name, "arguments": json.dumps(args)}}]}}]}


def text(content: str) -> dict:
    return {"choices": [{"message": {"role": "assistant", "content": content}}]}


def test_ask_runs_the_tool_loop_and_keeps_a_trace(shared_daemon, tmp_path, fake_openai):
    FakeOpenAI.answers = [tool_call("eval_lisp", {"code": "(define (sq n) (* n n))"}),
                          tool_call("debug_load", {"code": "(sq 7)"}),
                          tool_call("debug_run", {}),
                          text("sq 7 is 49.")]
    env = {"OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": fake_openai}
    with session_client(shared_daemon, tmp_path / "sd", env) as c:
        def run(cmd):
            return c.call("session.execute", {"session": "a", "command": cmd})["output"]

        assert run(":traces") == "(no traces recorded yet)"
        out = run(":ask what is sq 7?").split("\n")
        assert out[:3] == ["; --- agentic session begins ---", "; using: openai (tools: native)",
                           '; question: "what is sq 7?"']
        assert out[3:5] == ["", "Answer: sq 7 is 49."]
        trace_id = out[6].removeprefix("Trace ID: ")
        assert re.fullmatch(r"t-[0-9a-z]+-[0-9a-z]{6}", trace_id)
        assert out[7:] == [f"(use ':trace {trace_id}' to see details, ':trace {trace_id} "
                           "--verbose' for full trace)", "; --- agentic session ends ---"]
        # the model's tools ran in the session: the define stayed, the debug run committed
        assert run("(sq 3)") == "=> 9"
        tools = [t["function"]["name"] for t in FakeOpenAI.seen[0]["tools"]]
        assert tools[:3] == ["eval_lisp", "get_definitions", "inspect_value"]
        fed = FakeOpenAI.seen[3]["messages"][-1]
        assert fed["role"] == "tool" and "=== DONE at step" in fed["content"]
        listed = run(":traces").split("\n")
        assert listed[0] == "Recent LLM Traces:"
        assert re.fullmatch(rf'  {trace_id}: "what is sq 7\?" \(\d+ms, 3 tool calls\)',
                            listed[1])
        shown = run(f":trace {trace_id}").split("\n")
        assert shown[:3] == [f"Trace ID: {trace_id}", "Question: what is sq 7?",
                             "Answer: sq 7 is 49."]
        assert re.fullmatch(r"Duration: \d+ms", shown[3]) and shown[4] == "Tool calls: 3"
        verbose = run(":trace --last -v").split("\n")
        assert verbose[:5] == shown and verbose[5:7] == ["", "─── Full Trace ───"]
        assert re.fullmatch(r"\[\d\d:\d\d:\d\d\.\d{3}\] REQUEST", verbose[7])
        assert any(line.endswith("TOOL CALL: debug_load") for line in verbose)
        assert '  Args: {"code":"(sq 7)"}' in verbose


def test_ask_reports_a_provider_failure_in_one_line(shared_daemon, tmp_path):
    env = {"OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": "http://127.0.0.1:9/v1",
           "OMEGA_HTTP_RETRIES": "0"}
    with session_client(shared_daemon, tmp_path / "sd", env) as c:
        out = c.call("session.execute", {"session": "b", "command": ":ask hi"})["output"]
        lines = out.split("\n")
        assert lines[:3] == ["; --- agentic session begins ---",
                             "; using: openai (tools: native)", '; question: "hi"']
        assert len(lines) == 4 and lines[3].startswith("LLM error: openai: connection failed")


def test_an_effect_reached_while_stepping_asks_the_provider_whose_tools_see_the_run(
        shared_daemon, tmp_path, fake_openai):
    FakeOpenAI.answers = [tool_call("eval", {"expr": "(+ k 1)"}),
                          tool_call("return", {"value": "99"})]
    env = {"OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": fake_openai}
    with session_client(shared_daemon, tmp_path / "sd", env) as c:
        def run(cmd):
            return c.call("session.execute", {"session": "p", "command": cmd})["output"]

        run("(define k 3)")
        run(':debug (+ 1 (effect infer.op "what?"))')
        out = run(":run").split("\n")
        assert out[2:4] == ["Operation: infer.op", 'Args: "what?"']
        assert "Control: Value: 99" in out
        assert FakeOpenAI.seen[1]["messages"][-1]["content"] == "4"   # eval saw k
        assert run(":run").split("\n")[2] == "Result: 100"
        assert len(FakeOpenAI.seen) == 2        # the commit replayed the answer
        journal = (tmp_path / "sd" / "sessions" / "p.jsonl").read_text()
        assert journal.count('"type":"llm_resp"') == 1
        run(":goto 0")
        assert run(":run").split("\n")[2] == "Result: 100"
        assert len(FakeOpenAI.seen) == 2        # travel replays the answer too


def test_ask_uses_the_oracle_settings_infer_op_uses(shared_daemon, tmp_path, fake_openai):
    """A local server chosen with OMEGA_ORACLE and a base URL, no key: infer.op and :ask both
    reach it."""
    FakeOpenAI.answers = [tool_call("return", {"value": "7"}), text("Seven.")]
    env = {"OMEGA_ORACLE": "openai", "OPENAI_BASE_URL": fake_openai}
    with session_client(shared_daemon, tmp_path / "sd", env) as c:
        def run(cmd):
            return c.call("session.execute", {"session": "k", "command": cmd})["output"]

        assert run('(effect infer.op "n?")') == "=> 7"
        out = run(":ask what is n?").split("\n")
        assert out[1] == "; using: openai (tools: native)" and out[4] == "Answer: Seven."
    assert len(FakeOpenAI.seen) == 2


@pytest.mark.parametrize(("env", "line"), [
    ({"OMEGA_ORACLE": "anthropic"}, "error: :ask: anthropic: ANTHROPIC_API_KEY is not set"),
    ({"OMEGA_ORACLE": "scripted", "OPENAI_API_KEY": "sk-test"},
     "error: :ask needs an LLM provider; this client's oracle is scripted. Set OPENAI_API_KEY or"
     " ANTHROPIC_API_KEY, or OMEGA_ORACLE=openai|anthropic with OPENAI_BASE_URL /"
     " ANTHROPIC_BASE_URL for a local server"),
])
def test_ask_without_a_provider_names_the_settings_that_exist(shared_daemon, tmp_path, env, line):
    with session_client(shared_daemon, tmp_path / "sd", env) as c:
        out = c.call("session.execute", {"session": "n", "command": ":ask hi"})["output"]
        assert out == line and "config.yaml" not in out
        assert c.call("session.execute", {"session": "n", "command": "(+ 1 1)"})["output"] == \
            "=> 2"
