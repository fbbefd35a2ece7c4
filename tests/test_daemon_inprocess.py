"""The Daemon object driven in-process under pytest-trio: its hooks for later issues."""

import dataclasses
import json
import shutil
import tempfile
from pathlib import Path

import pytest
import trio

import omegad.methods  # noqa: F401  (registers the handlers)
from omegad.config import Config
from omegad.daemon import Daemon
from omegad.lifecycle import PidFile, bind_socket
from tests.conftest import daemon_in_loop


@pytest.fixture
def config():
    root = Path(tempfile.mkdtemp(prefix="om-", dir="/tmp"))
    yield Config(
        socket=root / "d.sock",
        session_dir=root / "sessions",
        foreground=True,
        private_runtime_dir=False,
        shutdown_grace=5,
    )
    shutil.rmtree(root, ignore_errors=True)


async def request(stream: trio.SocketStream, message: dict) -> None:
    await stream.send_all(json.dumps(message).encode() + b"\n")


async def read_line(stream: trio.SocketStream, buf: bytearray) -> dict:
    while b"\n" not in buf:
        chunk = await stream.receive_some()
        assert chunk, "connection closed"
        buf += chunk
    line, _, rest = bytes(buf).partition(b"\n")
    buf[:] = rest
    return json.loads(line)


async def test_shutdown_answers_in_flight_requests_then_runs_cleanups_in_reverse(config):
    daemon = Daemon(config, bind_socket(config.socket, private_dir=False), PidFile(config.pidfile))
    events: list[str] = []

    async def flush_persistence() -> None:
        await trio.sleep(0)
        events.append("flush")

    async def close_sessions() -> None:
        events.append("close")

    daemon.on_shutdown(flush_persistence)
    daemon.on_shutdown(close_sessions)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(daemon.run)
        stream = await trio.open_unix_socket(str(config.socket))
        buf = bytearray()
        await request(
            stream, {"jsonrpc": "2.0", "method": "server.ping", "params": {"delay": 0.2}, "id": 1}
        )
        await request(stream, {"jsonrpc": "2.0", "method": "server.ping", "id": 2})
        assert (await read_line(stream, buf))["id"] == 2
        daemon.request_shutdown("test")
        assert events == []
        notice = await read_line(stream, buf)
        assert notice == {"jsonrpc": "2.0", "method": "server.stopping",
                          "params": {"reason": "test"}}
        reply = await read_line(stream, buf)
        assert reply["id"] == 1 and reply["result"] == {"pong": True}
        events.append("answered")
    assert events == ["answered", "close", "flush"]
    assert not config.socket.exists() and not config.pidfile.exists()


async def test_handlers_can_start_tasks_in_the_root_nursery_and_notify(config):
    daemon = Daemon(config, bind_socket(config.socket, private_dir=False), PidFile(config.pidfile))
    seen = trio.Event()

    async def background() -> None:
        seen.set()
        await trio.sleep_forever()  # cancelled at shutdown, after the cleanups

    async with trio.open_nursery() as nursery:
        nursery.start_soon(daemon.run)
        stream = await trio.open_unix_socket(str(config.socket))
        buf = bytearray()
        await request(stream, {"jsonrpc": "2.0", "method": "server.ping", "id": 1})
        await read_line(stream, buf)
        daemon.nursery.start_soon(background)
        await seen.wait()
        (conn,) = daemon.connections.values()
        await conn.notify("session.output", {"text": "hi"})
        assert await read_line(stream, buf) == {
            "jsonrpc": "2.0",
            "method": "session.output",
            "params": {"text": "hi"},
        }
        daemon.request_shutdown("test")


async def test_a_command_still_running_past_the_grace_is_interrupted_before_files_close(config):
    config = dataclasses.replace(config, shutdown_grace=0.2)
    daemon = Daemon(config, bind_socket(config.socket, private_dir=False), PidFile(config.pidfile))
    async with trio.open_nursery() as nursery:
        nursery.start_soon(daemon.run)
        stream = await trio.open_unix_socket(str(config.socket))
        spin = "(let loop ((i 0)) (loop (+ i 1)))"
        await request(stream, {"jsonrpc": "2.0", "method": "session.execute", "id": 1,
                               "params": {"session": "spin", "command": spin}})
        journal = config.session_dir / "sessions" / "spin.jsonl"
        while not journal.exists() or b'"input"' not in journal.read_bytes():
            await trio.sleep(0.01)
        daemon.request_shutdown("test")
    last = json.loads(journal.read_text().splitlines()[-1])
    assert (last["type"], last["message"]) == ("error", "interrupted")


async def test_a_trio_test_drives_the_real_daemon_in_its_own_loop(omega_env):
    async with daemon_in_loop(omega_env) as d:
        writer, watcher = await d.client(), await d.client()
        await watcher.call("session.open", {"session": "s", "create": True})
        r = await writer.call("session.execute", {"session": "s", "command": '(display "hi") 7'})
        assert r["output"] == "hi=> null\n=> 7" and r["ok"]
        seen: list[tuple[str, str]] = []
        await watcher.call("server.ping", on_notification=lambda m, p: seen.append((m, p["text"])))
        assert ("session.output", "hi") in seen
        assert (omega_env.session_dir / "sessions" / "s.jsonl").exists()
        assert len(d.daemon.connections) == 2  # the daemon's own state is at hand


async def test_a_sessions_output_is_encoded_once_for_all_the_clients_it_goes_to(
        omega_env, monkeypatch):
    from omegad.sessions import actor

    encoded: list[str] = []
    real = actor.encode_notification

    def counted(method, params):
        encoded.append(params.text)
        return real(method, params)

    monkeypatch.setattr(actor, "encode_notification", counted)
    async with daemon_in_loop(omega_env) as d:
        writer, one, two = await d.client(), await d.client(), await d.client()
        for watcher in (one, two):
            await watcher.call("session.open", {"session": "s", "create": True})
        r = await writer.call("session.execute", {"session": "s", "command": '(display "hi") 7'})
        assert r["output"] == "hi=> null\n=> 7"
        seen: list[str] = []
        for watcher in (one, two):
            await watcher.call("server.ping", on_notification=lambda m, p: seen.append(p["text"]))
        assert seen.count("hi") == 2                  # each watcher got it
        assert encoded.count("hi") == 1
