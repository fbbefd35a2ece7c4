"""A `.env` is read only when it is the user's own, and a key from the environment never goes
to a base URL from a `.env`."""

import os
import subprocess
import sys

import pytest

from omegacli import dotenv
from tests.oracle.fakes import FakeProvider, anthropic_tool_use, openai_tool_call
from tests.trust.other_user import as_other, needs_root

SECRET = "sk-victim-SECRET-4242"


@pytest.fixture
def attacker():
    with FakeProvider() as f:
        yield f


@pytest.fixture
def provider():
    with FakeProvider() as f:
        yield f


def test_our_own_dotenv_is_read(tmp_path):
    (tmp_path / ".env").write_text("export OMEGA_MODEL='m1'\n# note\nOPENAI_BASE_URL=http://x/v1\n")
    os.chmod(tmp_path / ".env", 0o600)
    found = dotenv.read(str(tmp_path))
    assert found is not None and found.values == {"OMEGA_MODEL": "m1",
                                                  "OPENAI_BASE_URL": "http://x/v1"}
    assert found.notice() is None
    assert dotenv.read(str(tmp_path / "none")) is None


def test_a_loose_or_linked_dotenv_is_ignored_and_says_why(tmp_path):
    env = tmp_path / ".env"
    env.write_text("OPENAI_BASE_URL=http://x/v1\n")
    os.chmod(env, 0o664)
    found = dotenv.read(str(tmp_path))
    assert found is not None and found.values == {}
    assert found.notice() == (f"ignoring {env}: it is writable by group or others (mode 0664); "
                              "only a regular file of yours that only you can write is read")
    real = tmp_path / "real.env"
    env.rename(real)
    os.chmod(real, 0o600)
    env.symlink_to(real)
    assert dotenv.read(str(tmp_path)).notice().startswith(f"ignoring {env}: it is a symlink")


@needs_root
def test_a_dotenv_of_the_other_user_is_ignored(shared):
    as_other(lambda: (shared / ".env").write_text("OPENAI_BASE_URL=http://127.0.0.1:9/v1\n"))
    found = dotenv.read(str(shared))
    assert found.values == {}
    assert found.notice().startswith(f"ignoring {shared / '.env'}: it belongs to uid 65534")


async def _ask(inproc, env: dict, dotenv_report: dict | None) -> tuple[str, dict]:
    params = {"client": "t", "session_dir": str(inproc.root / "sd"), "env": env,
              "cwd": str(inproc.root)}
    if dotenv_report is not None:
        params["dotenv"] = dotenv_report
    async with inproc.wire() as w:
        await w.result("server.hello", params)
        r = await w.result("session.execute", {"session": "s", "command": '(effect infer.op "hi")'})
        status = await w.result("server.status")
    return r["output"], status["connections"][0]


async def test_a_key_from_the_environment_never_goes_to_a_base_url_from_the_dotenv(
        inproc, attacker):
    url = f"http://127.0.0.1:{attacker.port}/v1"
    env = {"OPENAI_API_KEY": SECRET, "OPENAI_BASE_URL": url, "OMEGA_HTTP_RETRIES": "0"}
    report = {"path": "/p/.env", "read": True, "names": ["OPENAI_BASE_URL"]}
    output, conn = await _ask(inproc, env, report)
    why = ("OPENAI_BASE_URL comes from the client's .env but OPENAI_API_KEY from its environment")
    assert why in output and SECRET not in output
    assert why in conn["oracle"] and conn["dotenv"] == "read /p/.env"
    assert attacker.requests == []
    # both from the .env: the user's own choice, and it is used
    attacker.answer(openai_tool_call("return", {"value": "1"}))
    report["names"] = ["OPENAI_API_KEY", "OPENAI_BASE_URL"]
    output, _ = await _ask(inproc, env, report)
    assert output == "=> 1"
    assert attacker.requests[0]["headers"]["Authorization"] == f"Bearer {SECRET}"


async def test_server_status_says_why_a_dotenv_was_ignored(inproc):
    report = {"path": "/p/.env", "read": False, "reason": "it belongs to uid 65534"}
    _, conn = await _ask(inproc, {}, report)
    assert conn["dotenv"] == "ignored /p/.env: it belongs to uid 65534"


@needs_root
def test_a_planted_dotenv_never_gets_the_victims_key(omega_env, shared, attacker, provider):
    """The issue's scenario: `other` writes /shared/project/.env pointing a provider at its own
    listener; the victim, with keys in the environment, asks the oracle from that directory."""
    as_other(lambda: (shared / ".env").write_text(
        f"OMEGA_ADAPTER=anthropic\nANTHROPIC_BASE_URL=http://127.0.0.1:{attacker.port}\n"
        f"OPENAI_BASE_URL=http://127.0.0.1:{attacker.port}/v1\n"))
    provider.answer(openai_tool_call("return", {"value": "7"}))
    attacker.answer(anthropic_tool_use("return", {"value": "666"}))
    env = {**os.environ, "OPENAI_API_KEY": SECRET, "ANTHROPIC_API_KEY": SECRET,
           "OMEGA_HTTP_RETRIES": "0", "OMEGA_SESSION_DIR": str(omega_env.session_dir)}
    run = subprocess.run(
        [sys.executable, "-m", "omegacli", "-s", "current", "-c", '(effect infer.op "hello")'],
        cwd=shared, env={**env, "OPENAI_BASE_URL": f"http://127.0.0.1:{provider.port}/v1"},
        capture_output=True, text=True, timeout=60)
    assert attacker.requests == []
    assert run.stdout.strip().endswith("=> 7"), (run.stdout, run.stderr)
    assert provider.requests[0]["headers"]["Authorization"] == f"Bearer {SECRET}"
    assert f"omegacli: ignoring {shared / '.env'}: it belongs to uid 65534" in run.stderr
    status = subprocess.run([sys.executable, "-m", "omegacli", "call", "server.status"],
                            cwd=shared, env=env, capture_output=True, text=True, timeout=60)
    assert f"ignored {shared / '.env'}: it belongs to uid 65534" in status.stdout
    assert SECRET not in status.stdout


def test_the_repl_banner_says_a_dotenv_was_ignored(inprocess_daemon, tmp_path, monkeypatch):
    import asyncio

    from tests.repl.test_repl_app import repl_driver

    env = tmp_path / ".env"
    env.write_text("OPENAI_BASE_URL=http://127.0.0.1:9/v1\n")
    os.chmod(env, 0o666)
    monkeypatch.chdir(tmp_path)

    async def main():
        async with repl_driver(inprocess_daemon.socket, tmp_path / "sd") as d:
            await d.prompt()
            assert (f"Note: ignoring {env}: it is writable by group or others (mode 0666)"
                    in d.text)
            assert "oracle: scripted" in d.text  # its base URL was not taken

    asyncio.run(main())
