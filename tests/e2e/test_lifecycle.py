"""The daemon's life: a safe socket, one daemon per socket, status, cancel, shutdown."""

import os
import signal
import socket
import stat
import subprocess
import sys
import time

import psutil
import pytest

from tests.conftest import RawConn, listening, pid_gone, wait_until


def test_socket_is_0600_in_a_0700_runtime_dir_and_pidfile_holds_the_pid(omega_env, monkeypatch):
    monkeypatch.delenv("OMEGAD_SOCKET")
    runtime = omega_env.root / "xdg-run" / "omega"
    proc = subprocess.Popen(
        [sys.executable, "-m", "omegad", "--foreground"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        sock = runtime / "omegad.sock"
        pidfile = runtime / "omegad.pid"
        wait_until(lambda: listening(sock), what="the daemon to listen")
        assert stat.S_IMODE(os.stat(runtime).st_mode) == 0o700
        assert stat.S_IMODE(os.stat(sock).st_mode) == 0o600
        assert pidfile.read_text().strip() == str(proc.pid)  # written before it listens
        with RawConn(sock) as c:
            assert c.call("server.status")["config"]["socket"] == str(sock)
    finally:
        proc.terminate()
        assert proc.wait(10) == 0
    assert not sock.exists() and not pidfile.exists()


def test_a_stale_socket_from_a_dead_daemon_is_replaced(start_daemon, omega_env):
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(str(omega_env.socket))
    stale.close()  # the file stays, nobody listens: what a kill -9 leaves behind
    daemon = start_daemon()
    with RawConn(daemon.socket) as c:
        assert c.call("server.ping") == {"pong": True}
    assert "removing stale socket" in daemon.stderr


def test_a_live_listener_is_never_stolen(start_daemon, omega_env):
    other = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    other.bind(str(omega_env.socket))
    other.listen(1)
    try:
        daemon = start_daemon(ready=False)
        assert daemon.wait() == 1
        assert "a live daemon is already listening" in daemon.stderr
        assert omega_env.socket.exists()
        assert not omega_env.pidfile.exists()
    finally:
        other.close()


def test_a_second_daemon_on_the_same_socket_refuses_to_start(daemon, start_daemon):
    second = start_daemon(ready=False)
    assert second.wait() == 1
    assert f"another omegad (pid {daemon.pid}) is running" in second.stderr
    with RawConn(daemon.socket) as c:  # the first one is untouched
        assert c.call("server.ping") == {"pong": True}


def test_a_path_that_is_not_a_socket_is_not_touched(start_daemon, omega_env):
    omega_env.socket.write_text("precious")
    daemon = start_daemon(ready=False)
    assert daemon.wait() == 1
    assert "exists and is not a socket" in daemon.stderr
    assert omega_env.socket.read_text() == "precious"


@pytest.mark.skipif(os.getuid() != 0, reason="needs root to connect as another user")
def test_a_peer_of_another_uid_is_refused(daemon, omega_env):
    os.chmod(omega_env.root, 0o755)
    os.chmod(omega_env.socket.parent, 0o755)
    os.chmod(omega_env.socket, 0o666)
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: become nobody, connect, report what the daemon said
        status = 1
        try:
            os.setuid(65534)
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(5)
            s.connect(str(omega_env.socket))
            s.sendall(b'{"jsonrpc":"2.0","method":"server.ping","id":1}\n')
            os.write(write_end, b"answer:" + s.recv(100))
            status = 0
        except (ConnectionResetError, BrokenPipeError):  # closed before or after our request
            os.write(write_end, b"answer:")
            status = 0
        except OSError as e:
            os.write(write_end, repr(e).encode())
        finally:
            os._exit(status)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as r:
        said = r.read()
    assert said == b"answer:"  # closed without a word
    assert os.waitpid(pid, 0)[1] == 0
    assert "peer uid 65534" in daemon.stderr


def test_status_reports_the_daemon(daemon, omega_env):
    with RawConn(daemon.socket) as c:
        c.call("server.hello", {"client": "status-test"})
        spin = "(define (spin n) (if (= n 0) 'done (spin (- n 1))))"
        c.call("session.execute", {"session": "s", "command": spin})
        # some CPU to count: a forked daemon (see DaemonProcess) starts at 0 clock ticks
        assert c.call("session.execute", {"session": "s", "command": "(spin 20000)"})["ok"]
        status = c.call("server.status")
        used = psutil.Process(daemon.pid).cpu_times()
        # While the connection holds the session dir: the daemon lets it go once none does.
        assert (omega_env.session_dir / ".omegad.lock").read_text().strip() == str(daemon.pid)
    assert status["pid"] == daemon.pid and status["version"] == "0.1.0"
    assert status["uptime_seconds"] >= 0 and status["rss_bytes"] > 1_000_000
    assert status["cpu_seconds"] > 0 and status["cpu_percent"] >= 0
    assert status["cpu_seconds"] <= round(used.user + used.system, 3)
    # (the readiness probe's connection may still be closing: it never said hello)
    assert [c["client"] for c in status["connections"] if c["client"]] == ["status-test"]
    assert status["session_dirs"] == [str(omega_env.session_dir)]
    assert status["config"]["socket"] == str(omega_env.socket)
    assert status["config"]["log_level"] == "debug"


def test_the_log_file_has_levels(daemon, omega_env):
    with RawConn(daemon.socket) as c:
        c.call("server.ping")
    log = omega_env.log_file.read_text()
    assert " INFO omegad" in log and " DEBUG omegad.server" in log
    assert stat.S_IMODE(os.stat(omega_env.log_file).st_mode) == 0o600


def test_a_slow_request_does_not_block_a_fast_one_behind_it(inprocess_daemon):
    with RawConn(inprocess_daemon.socket) as c:
        c.send({"jsonrpc": "2.0", "method": "server.ping", "params": {"delay": 0.5}, "id": "slow"})
        c.send({"jsonrpc": "2.0", "method": "server.ping", "id": "fast"})
        assert c.recv()["id"] == "fast"
        assert c.recv()["id"] == "slow"


def test_cancel_request_interrupts_an_in_flight_request(inprocess_daemon):
    with RawConn(inprocess_daemon.socket) as c:
        c.send({"jsonrpc": "2.0", "method": "server.ping", "params": {"delay": 30}, "id": 7})
        c.send({"jsonrpc": "2.0", "method": "server.ping", "id": 8})
        assert c.recv()["id"] == 8  # 7 is in flight now
        started = time.monotonic()
        c.send({"jsonrpc": "2.0", "method": "$/cancelRequest", "params": {"id": 7}})
        reply = c.recv()
        assert reply["id"] == 7 and reply["error"]["code"] == -32800
        assert time.monotonic() - started < 5  # not the 30 s asked for (with room for a loaded CI)
        c.send({"jsonrpc": "2.0", "method": "$/cancelRequest", "params": {"id": 99}})  # unknown
        assert c.call("server.ping") == {"pong": True}


def test_a_duplicate_in_flight_id_is_refused(inprocess_daemon):
    with RawConn(inprocess_daemon.socket) as c:
        c.send({"jsonrpc": "2.0", "method": "server.ping", "params": {"delay": 0.3}, "id": 1})
        c.send({"jsonrpc": "2.0", "method": "server.ping", "id": 1})
        first = c.recv()
        assert first["id"] == 1 and first["error"]["code"] == -32600
        assert c.recv()["result"] == {"pong": True}


def test_discover_lists_every_method_with_schemas(inprocess_daemon):
    with RawConn(inprocess_daemon.socket) as c:
        found = c.call("rpc.discover")
    names = {m["name"] for m in found["methods"]}
    assert {
        "server.hello",
        "server.ping",
        "server.status",
        "server.shutdown",
        "rpc.discover",
        "$/cancelRequest",
    } <= names
    for m in found["methods"]:  # (tests/test_discover.py validates the whole document)
        if "result" in m:
            assert m["result"]["schema"]["$ref"].startswith("#/components/schemas/")


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_stops_gracefully_answering_in_flight_requests(daemon, omega_env, signum):
    with RawConn(daemon.socket) as c:
        c.call("server.hello", {"client": "t"})
        c.send({"jsonrpc": "2.0", "method": "server.ping", "params": {"delay": 0.3}, "id": 1})
        c.send({"jsonrpc": "2.0", "method": "server.ping", "id": 2})
        assert c.recv()["id"] == 2  # so request 1 is in flight
        daemon.signal(signum)
        name = signal.Signals(signum).name
        assert c.recv() == {"jsonrpc": "2.0", "method": "server.stopping",
                            "params": {"reason": f"signal {name}"}}
        assert c.recv() == {"jsonrpc": "2.0", "id": 1, "result": {"pong": True}}
        assert c.recv_line() is None
    assert daemon.wait() == 0
    assert not omega_env.socket.exists() and not omega_env.pidfile.exists()
    assert (omega_env.session_dir / ".omegad.lock").read_text() == ""
    assert f"shutdown requested: signal {signal.Signals(signum).name}" in daemon.stderr


def test_server_shutdown_answers_then_stops(daemon, omega_env):
    with RawConn(daemon.socket) as c, RawConn(daemon.socket) as other:
        other.send({"jsonrpc": "2.0", "method": "server.ping", "params": {"delay": 0.2}, "id": 5})
        wait_until(
            lambda: len(RawConn(daemon.socket).call("server.status")["connections"]) == 3,
            what="all connections to be seen",
        )
        assert c.call("server.shutdown") == {"stopping": True}
        notice = other.recv()
        assert notice["method"] == "server.stopping"
        assert notice["params"]["reason"].startswith("server.shutdown from connection")
        assert other.recv()["id"] == 5
    assert daemon.wait() == 0
    assert not omega_env.socket.exists() and not omega_env.pidfile.exists()
    assert "omegad stopped (server.shutdown from connection" in daemon.stderr


def test_idle_exit(start_daemon, omega_env):
    daemon = start_daemon("--idle-exit", "1")
    with RawConn(daemon.socket) as c:
        time.sleep(1.2)  # connected past the idle time: the daemon must stay
        assert c.call("server.ping") == {"pong": True}
    assert daemon.wait() == 0
    assert "idle for 1 s" in daemon.stderr
    assert not omega_env.socket.exists()


def test_background_start_returns_once_ready(omega_env):
    out = subprocess.run(
        [sys.executable, "-m", "omegad", "--session-dir", str(omega_env.session_dir)],
        capture_output=True,
        text=True,
        timeout=10,
    )
    assert out.returncode == 0, out.stderr
    pid = int(omega_env.pidfile.read_text())
    with RawConn(omega_env.socket) as c:  # no wait: listening before the starter exits
        assert c.call("server.status")["config"]["foreground"] is False
        c.call("server.shutdown")
    wait_until(lambda: pid_gone(pid), what="the background daemon to stop")
