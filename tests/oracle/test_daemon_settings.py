"""A raw client (no `server.hello`) uses the daemon's own environment as its settings, as
tmux's global environment does (issue 19, item 3). A subprocess daemon: its environment is the
point."""

import pytest

from tests.conftest import RawConn
from tests.oracle.fakes import FakeProvider, openai_tool_call


@pytest.fixture
def fake():
    with FakeProvider() as f:
        yield f


def test_a_raw_clients_provider_call_reaches_the_provider_of_the_daemons_environment(
        monkeypatch, start_daemon, fake):
    url = f"http://127.0.0.1:{fake.port}/v1"
    monkeypatch.setenv("OMEGA_ORACLE", "openai")
    monkeypatch.setenv("OPENAI_BASE_URL", url)
    daemon = start_daemon()
    monkeypatch.delenv("OMEGA_ORACLE")  # the test's own clients have none of it
    monkeypatch.delenv("OPENAI_BASE_URL")
    fake.answer(openai_tool_call("return", {"value": '"from the provider"'}))
    with RawConn(daemon.socket, timeout=30) as raw, RawConn(daemon.socket, timeout=30) as hello:
        hello.call("server.hello", {"client": "with-hello", "env": {}})
        out = raw.call("session.execute", {"session": "w", "command": '(effect infer.op "hi")'})
        assert out["output"] == '=> "from the provider"'
        assert fake.requests[0]["body"]["messages"][-1]["content"] == "hi"
        # A client that says hello brings its own settings (here: none, so scripted).
        out = hello.call("session.execute", {"session": "w", "command": '(effect infer.op "x")'})
        assert out["output"] == "=> 42"
        assert len(fake.requests) == 1
        oracles = {c["client"]: c["oracle"] for c in raw.call("server.status")["connections"]}
    assert oracles[""] == f"openai (gpt-4o at {url})"
    assert oracles["with-hello"].startswith("scripted")
