"""Bad input over the socket: each answered as JSON-RPC says, none hurting the daemon."""

import os
import socket
import time

import psutil
import pytest

from tests.conftest import RawConn, wait_until

MAX_LINE = 16 * 1024 * 1024


def connections(sock) -> int:
    with RawConn(sock) as c:
        return len(c.call("server.status")["connections"]) - 1  # not counting this one


def assert_healthy(daemon) -> None:
    with RawConn(daemon.socket) as c:
        assert c.call("server.ping") == {"pong": True}
    assert "Traceback" not in daemon.stderr and " ERROR " not in daemon.stderr


def test_invalid_json_is_a_parse_error_and_the_connection_stays_usable(inprocess_daemon):
    with RawConn(inprocess_daemon.socket) as c:
        for junk in ["{", "nul", '{"jsonrpc": "2.0",}', "\x00\x01", "[1,"]:
            c.send(junk)
            reply = c.recv()
            assert reply["error"]["code"] == -32700 and reply["id"] is None
        assert c.call("server.ping") == {"pong": True}


def test_invalid_utf8_is_a_parse_error(inprocess_daemon):
    with RawConn(inprocess_daemon.socket) as c:
        c.send_raw(b'{"jsonrpc": "2.0", "method": "\xff\xfe", "id": 1}\n')
        assert c.recv()["error"]["code"] == -32700
        assert c.call("server.ping") == {"pong": True}


@pytest.mark.parametrize(
    "message",
    [
        '"hello"',
        "42",
        "null",
        "true",
        '{"foo": "boo"}',
        '{"jsonrpc": "2.0", "id": 1}',
        '{"jsonrpc": "1.0", "method": "server.ping", "id": 1}',
        '{"jsonrpc": "2.0", "method": "server.ping", "id": 1.5}',
        '{"jsonrpc": "2.0", "method": "server.ping", "id": {"a": 1}}',
    ],
)
def test_valid_json_that_is_no_request_is_an_invalid_request(inprocess_daemon, message):
    with RawConn(inprocess_daemon.socket) as c:
        c.send(message)
        assert c.recv()["error"]["code"] == -32600
        assert c.call("server.ping") == {"pong": True}


def test_an_invalid_request_with_a_usable_id_is_answered_with_that_id(inprocess_daemon):
    with RawConn(inprocess_daemon.socket) as c:
        c.send('{"jsonrpc": "1.0", "method": "server.ping", "id": 7}')
        reply = c.recv()
        assert reply["id"] == 7 and reply["error"]["code"] == -32600


def test_params_that_are_not_structured_are_an_invalid_request(inprocess_daemon):
    with RawConn(inprocess_daemon.socket) as c:
        reply = c.request("server.ping", "bar")
        assert reply["error"]["code"] == -32600 and reply["id"] == 1


def test_unknown_method(inprocess_daemon):
    with RawConn(inprocess_daemon.socket) as c:
        reply = c.request("server.pong")
        assert reply["error"]["code"] == -32601
        assert "server.pong" in reply["error"]["message"]


@pytest.mark.parametrize(
    ("method", "params", "named"),
    [
        ("server.ping", {"delay": "soon"}, "params.delay"),
        ("server.ping", {"dealy": 1}, "dealy"),
        ("server.ping", [1, 2], "at most 1 positional"),
        ("server.ping", {"delay": -1}, "delay"),
        ("server.hello", {"client": 5}, "params.client"),
        ("server.hello", {"env": {"A": 1}}, "params.env"),
        ("$/cancelRequest", {}, "`id`"),
    ],
)
def test_wrong_params_name_the_field(inprocess_daemon, method, params, named):
    with RawConn(inprocess_daemon.socket) as c:
        reply = c.request(method, params)
        assert reply["error"]["code"] == -32602, reply
        assert named in reply["error"]["message"]


def test_empty_batch(inprocess_daemon):
    with RawConn(inprocess_daemon.socket) as c:
        c.send("[]")
        assert c.recv()["error"]["code"] == -32600
        assert c.call("server.ping") == {"pong": True}


def test_batch_answers_each_request_once_and_no_notification(inprocess_daemon):
    batch = [
        {"jsonrpc": "2.0", "method": "server.ping", "id": 1},
        {"jsonrpc": "2.0", "method": "server.ping"},
        {"jsonrpc": "2.0", "method": "server.ping", "params": {"delay": 0.05}, "id": 2},
        {"jsonrpc": "2.0", "method": "server.nope"},
        {"jsonrpc": "2.0", "method": "server.nope", "id": 3},
        {"jsonrpc": "2.0", "method": "server.ping", "params": {"delay": "x"}},
    ]
    with RawConn(inprocess_daemon.socket) as c:
        c.send(batch)
        reply = c.recv()
        assert sorted(r["id"] for r in reply) == [1, 2, 3]
        codes = {r["id"]: r.get("error", {}).get("code") for r in reply}
        assert codes == {1: None, 2: None, 3: -32601}
        c.send({"jsonrpc": "2.0", "method": "server.ping", "id": "next"})
        assert c.recv()["id"] == "next"  # nothing else was queued before it


def test_a_line_over_the_size_limit_is_refused_then_the_connection_closed(inprocess_daemon):
    with RawConn(inprocess_daemon.socket) as c:
        c.send_raw(b"[" + b" " * MAX_LINE)  # one byte over the limit, no newline yet
        reply = c.recv()
        assert reply["error"]["code"] == -32600 and "size limit" in reply["error"]["message"]
        assert c.recv_line() is None  # closed
    assert_healthy(inprocess_daemon)


def test_a_line_at_the_size_limit_is_accepted(inprocess_daemon):
    body = b'{"jsonrpc":"2.0","method":"server.ping","id":1}'
    with RawConn(inprocess_daemon.socket, timeout=30) as c:
        c.send_raw(body + b" " * (MAX_LINE - len(body)) + b"\n")
        assert c.recv()["result"] == {"pong": True}


def test_hello_with_a_session_dir_that_cannot_be_created(inprocess_daemon, omega_env):
    blocker = omega_env.root / "a-file"
    blocker.write_text("not a dir")
    with RawConn(inprocess_daemon.socket) as c:
        reply = c.request("server.hello", {"client": "t", "session_dir": str(blocker / "sessions")})
        assert reply["error"]["code"] == -32006
        assert "cannot create session dir" in reply["error"]["message"]
        assert c.call("server.ping") == {"pong": True}


@pytest.mark.skipif(os.getuid() == 0, reason="root may write anywhere")
def test_hello_with_a_session_dir_the_user_cannot_write(inprocess_daemon, omega_env):
    ro = omega_env.root / "readonly"
    ro.mkdir(mode=0o500)
    with RawConn(inprocess_daemon.socket) as c:
        reply = c.request("server.hello", {"client": "t", "session_dir": str(ro)})
        assert reply["error"]["code"] == -32006 and "not writable" in reply["error"]["message"]


def test_hello_with_a_session_dir_another_daemon_holds(start_daemon, omega_env):
    first = start_daemon()
    second = start_daemon(socket_path=omega_env.root / "run" / "second.sock")
    shared = str(omega_env.root / "shared-sessions")
    with RawConn(first.socket) as a, RawConn(second.socket) as b:
        assert (
            a.call("server.hello", {"client": "a", "session_dir": shared})["session_dir"] == shared
        )
        reply = b.request("server.hello", {"client": "b", "session_dir": shared})
        assert reply["error"]["code"] == -32006
        assert f"served by another omegad (pid {first.pid})" in reply["error"]["message"]
        assert reply["error"]["data"]["session_dir"] == shared
    assert first.stop() == 0
    with RawConn(second.socket) as b:  # released when the first daemon stopped
        assert (
            b.call("server.hello", {"client": "b", "session_dir": shared})["session_dir"] == shared
        )


def test_a_client_that_disconnects_mid_request_leaves_the_daemon_healthy(inprocess_daemon):
    c = RawConn(inprocess_daemon.socket)
    c.send({"jsonrpc": "2.0", "method": "server.ping", "params": {"delay": 0.1}, "id": 1})
    c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    c.close()
    wait_until(lambda: connections(inprocess_daemon.socket) == 0,
               what="the dropped connection to end")
    assert_healthy(inprocess_daemon)


def test_half_a_line_then_disconnect_leaves_the_daemon_healthy(inprocess_daemon):
    with RawConn(inprocess_daemon.socket) as c:
        c.send_raw(b'{"jsonrpc": "2.0", "method": "server.pi')
    wait_until(lambda: connections(inprocess_daemon.socket) == 0,
               what="the half-line connection to end")
    assert_healthy(inprocess_daemon)


def test_a_request_answered_after_the_client_half_closes(inprocess_daemon):
    with RawConn(inprocess_daemon.socket) as c:
        c.send({"jsonrpc": "2.0", "method": "server.ping", "params": {"delay": 0.05}, "id": 1})
        c.sock.shutdown(socket.SHUT_WR)
        assert c.recv()["result"] == {"pong": True}
        assert c.recv_line() is None


def test_a_thousand_connections_opened_and_dropped_leak_no_fds(daemon):
    proc = psutil.Process(daemon.pid)

    def only_the_listener_left() -> bool:  # accepted sockets carry the socket's path too
        mine = [c for c in proc.net_connections(kind="unix") if c.laddr == str(daemon.socket)]
        return len(mine) == 1

    def settled() -> None:
        # The backlog is FIFO: when this status call is served, every earlier connection was
        # accepted; then wait (opening nothing new) until the daemon has closed this one too.
        wait_until(lambda: connections(daemon.socket) == 0, what="earlier connections to end")
        wait_until(only_the_listener_left, what="the last connection to be closed")

    settled()
    before = proc.num_fds()
    started = time.monotonic()
    for i in range(1000):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(str(daemon.socket))
        if i % 3 == 0:
            s.sendall(b'{"jsonrpc":"2.0","method":"server.ping","id":1}\n')
        elif i % 3 == 1:
            s.sendall(b'{"jsonrpc":"2.0","me')
        s.close()
    settled()
    assert proc.num_fds() == before
    assert time.monotonic() - started < 30
    assert_healthy(daemon)


FLOOD = """
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
burst = b'{"jsonrpc":"2.0","method":"server.ping"}\\n' * 2000  # notifications: no answers
print("flooding", flush=True)
while True:
    s.sendall(burst)
"""


def test_a_client_that_never_stops_sending_does_not_starve_the_others(inprocess_daemon):
    """Its reads always find data waiting and its notifications are handled in place, with no
    answer to wait for: the read loop must still let other connections run."""
    import subprocess
    import sys

    flood = subprocess.Popen([sys.executable, "-c", FLOOD, str(inprocess_daemon.socket)],
                             stdout=subprocess.PIPE)
    try:
        assert flood.stdout.readline() == b"flooding\n"
        with RawConn(inprocess_daemon.socket, timeout=10) as c:
            for _ in range(20):
                assert c.call("server.ping") == {"pong": True}
            assert flood.poll() is None  # (still flooding while the others were answered)
    finally:
        flood.kill()
        flood.wait()
    assert_healthy(inprocess_daemon)
