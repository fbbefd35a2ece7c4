"""`omegacli` end to end: one-shot calls, exit statuses, daemon control, auto-start."""

import fcntl
import json
import os
import signal
import socket
import subprocess
import sys
import threading

import psutil
import pytest

from tests.conftest import RawConn, pid_gone, wait_until


def omegacli(*args: str, timeout: float = 30) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "omegacli", *args], capture_output=True, text=True, timeout=timeout
    )


def daemons_on(sock) -> list[psutil.Process]:
    found = []
    for p in psutil.process_iter(["cmdline", "status"]):
        cmd = p.info["cmdline"] or []
        if "omegad" in cmd and str(sock) in cmd and p.info["status"] != psutil.STATUS_ZOMBIE:
            found.append(p)
    return found


def test_call_prints_the_result_as_json(inprocess_daemon):
    out = omegacli("call", "server.ping")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == {"pong": True}
    out = omegacli("call", "server.ping", '{"delay": 0}')
    assert json.loads(out.stdout) == {"pong": True}


def test_call_sends_hello_with_the_session_dir_and_env(inprocess_daemon, omega_env, monkeypatch):
    monkeypatch.setenv("OMEGA_MODEL", "m-1")
    out = omegacli("call", "server.status")
    status = json.loads(out.stdout)
    me = [c for c in status["connections"] if c["client"] == f"omegacli[{c['peer_pid']}]"]
    assert len(me) == 1 and me[0]["session_dir"] == str(omega_env.session_dir)


def test_an_rpc_error_goes_to_stderr_with_status_1(inprocess_daemon):
    out = omegacli("call", "server.nothing")
    assert out.returncode == 1 and out.stdout == ""
    assert "-32601" in out.stderr and "server.nothing" in out.stderr
    out = omegacli("call", "server.ping", '{"delay": "x"}')
    assert out.returncode == 1 and "params.delay" in out.stderr


@pytest.mark.parametrize(
    "args",
    [
        ("call",),
        ("call", "server.ping", "{"),
        ("call", "server.ping", "3"),
        ("frobnicate",),
        ("daemon", "explode"),
        ("call", "a", "{}", "extra"),
    ],
)
def test_bad_usage_exits_2(omega_env, args):
    out = omegacli(*args)
    assert out.returncode == 2, out
    assert "usage:" in out.stderr


def test_no_daemon_and_no_autostart_exits_3(omega_env):
    out = omegacli("--no-autostart", "call", "server.ping")
    assert out.returncode == 3 and "no daemon" in out.stderr
    assert not omega_env.socket.exists()


def test_call_auto_starts_a_daemon(omega_env):
    out = omegacli("call", "server.status")
    assert out.returncode == 0, out.stderr
    status = json.loads(out.stdout)
    assert status["config"]["socket"] == str(omega_env.socket)
    assert status["pid"] == int(omega_env.pidfile.read_text())
    assert [p.pid for p in daemons_on(omega_env.socket)] == [status["pid"]]


def test_ten_clients_at_once_start_exactly_one_daemon(omega_env):
    clients = [
        subprocess.Popen(
            [sys.executable, "-m", "omegacli", "call", "server.ping"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(10)
    ]
    answers = [c.communicate(timeout=30) for c in clients]
    assert [c.returncode for c in clients] == [0] * 10, answers
    assert all(json.loads(out) == {"pong": True} for out, _ in answers)
    assert len(daemons_on(omega_env.socket)) == 1


def test_a_failed_start_is_reported_with_the_daemons_error(omega_env):
    omega_env.socket.write_text("in the way")
    out = omegacli("call", "server.ping")
    assert out.returncode == 3
    assert "omegad failed to start" in out.stderr and "is not a socket" in out.stderr


class FakeOldDaemon(threading.Thread):
    """A daemon of another protocol version: refuses hello (or answers an old protocol),
    obeys server.shutdown, and holds the pidfile lock as a real one does."""

    def __init__(self, env, refuse: bool):
        super().__init__(daemon=True)
        self.refuse = refuse
        self.sock_path = env.socket
        self.pidfile = os.open(env.pidfile, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(self.pidfile, fcntl.LOCK_EX)
        os.write(self.pidfile, f"{os.getpid()}\n".encode())
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(str(env.socket))
        self.listener.listen(8)
        self.asked_to_stop = False

    def run(self):
        while not self.asked_to_stop:
            conn, _ = self.listener.accept()
            with conn, conn.makefile("rwb") as f:
                for line in f:
                    req = json.loads(line)
                    if req["method"] == "server.hello" and self.refuse:
                        reply = {"error": {"code": -32005, "message": "Version mismatch"}}
                    elif req["method"] == "server.hello":
                        reply = {
                            "result": {
                                "server_version": "0.0.1",
                                "protocol": 0,
                                "pid": 1,
                                "capabilities": [],
                                "session_dir": "/nowhere",
                            }
                        }
                    elif req["method"] == "server.shutdown":
                        reply = {"result": {"stopping": True}}
                        self.asked_to_stop = True
                    else:
                        reply = {"error": {"code": -32601, "message": "Method not found"}}
                    f.write(
                        json.dumps({"jsonrpc": "2.0", "id": req["id"], **reply}).encode() + b"\n"
                    )
                    f.flush()
                    if self.asked_to_stop:
                        break
        self.listener.close()
        os.unlink(self.sock_path)
        os.close(self.pidfile)  # drops the lock: "gone"


@pytest.mark.parametrize("refuse", [True, False], ids=["hello-refused", "old-protocol"])
def test_an_incompatible_daemon_is_asked_to_stop_and_replaced(omega_env, refuse):
    fake = FakeOldDaemon(omega_env, refuse)
    fake.start()
    out = omegacli("call", "server.status")
    assert out.returncode == 0, out.stderr
    fake.join(5)
    assert fake.asked_to_stop
    assert json.loads(out.stdout)["protocol"] == 1


def test_daemon_start_status_restart_stop(omega_env):
    out = omegacli("daemon", "status")
    assert out.returncode == 3 and "not running" in out.stderr
    out = omegacli("daemon", "start")
    assert out.returncode == 0 and "omegad started" in out.stdout
    first = int(omega_env.pidfile.read_text())
    assert omegacli("daemon", "start").stdout.startswith(f"omegad is already running (pid {first})")
    status = omegacli("daemon", "status", "-j")
    assert status.returncode == 0 and json.loads(status.stdout)["pid"] == first
    out = omegacli("daemon", "restart")
    assert out.returncode == 0 and f"omegad stopped (pid {first})" in out.stdout
    second = int(omega_env.pidfile.read_text())
    assert second != first
    # Its lock is free once its files are closed, a moment before the kernel marks it exited.
    wait_until(lambda: pid_gone(first), what=f"the first daemon {first} to exit")
    out = omegacli("daemon", "stop")
    assert out.returncode == 0 and f"omegad stopped (pid {second})" in out.stdout
    assert not omega_env.socket.exists() and not omega_env.pidfile.exists()
    out = omegacli("daemon", "stop")
    assert out.returncode == 0 and "not running" in out.stdout


def test_timeout_cancels_the_call(inprocess_daemon):
    out = omegacli("call", "server.ping", '{"delay": 30}', "--timeout", "0.2")
    assert out.returncode == 1
    assert "-32800" in out.stderr and "timed out after 0.2 s" in out.stderr


def test_ctrl_c_cancels_the_call(inprocess_daemon):
    client = subprocess.Popen(
        [sys.executable, "-m", "omegacli", "call", "server.ping", '{"delay": 30}'],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )

    def in_flight() -> bool:
        with RawConn(inprocess_daemon.socket) as c:
            return any(x["in_flight"] for x in c.call("server.status")["connections"])

    wait_until(in_flight, what="the call to be in flight")
    client.send_signal(signal.SIGINT)
    _, err = client.communicate(timeout=10)
    assert client.returncode == 130 and "-32800" in err


def test_the_one_shot_path_imports_nothing_heavy(inprocess_daemon):
    out = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "omegacli", "call", "server.ping"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert out.returncode == 0
    modules = {
        line.rsplit("|", 1)[1].strip()
        for line in out.stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }
    assert "omegacli.client" in modules
    heavy = {
        "trio",
        "msgspec",
        "prompt_toolkit",
        "psutil",
        "platformdirs",
        "omegad",
        "asyncio",
        "subprocess",
    }
    assert not {m.split(".")[0] for m in modules} & heavy


@pytest.mark.skipif(os.getuid() != 0, reason="needs root to listen as another user")
def test_the_client_refuses_a_socket_served_by_another_user(omega_env):
    from omegacli.client import Client, DaemonUnreachable

    shared = omega_env.root / "shared"
    shared.mkdir()
    os.chmod(omega_env.root, 0o755)
    os.chmod(shared, 0o777)
    path = str(shared / "evil.sock")
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: another user's listener
        try:
            os.setuid(65534)
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.bind(path)
            s.listen(1)
            os.write(write_end, b"ready")
            s.settimeout(10)
            s.accept()
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as r:
        assert r.read(5) == b"ready"
    try:
        with pytest.raises(DaemonUnreachable, match="served by uid 65534"):
            Client.connect(path)
    finally:
        os.waitpid(pid, 0)
