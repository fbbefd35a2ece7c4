"""Shared fixtures: an isolated environment and a real `omegad` on a temp socket.

Tests never touch the user's real runtime or data dirs: `omega_env` points OMEGAD_SOCKET,
OMEGA_SESSION_DIR, XDG_RUNTIME_DIR and XDG_DATA_HOME into a short temp dir (Unix socket paths are
limited to ~107 bytes, so not pytest's long tmp_path) and stops any daemon left there at teardown.

    def test_x(daemon):                      # a started daemon (DaemonProcess)
        with RawConn(daemon.socket) as c:    # a line-level JSON client
            assert c.call("server.ping")["result"] == {"pong": True}
"""

import itertools
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"  # the project's shared notes and fixtures (CI has them there)
needs_shared = pytest.mark.skipif(not SHARED.is_dir(), reason=f"needs {SHARED}")


def require_shared() -> None:
    """Skip the calling test module when the shared fixtures are not beside the checkout."""
    if not SHARED.is_dir():
        pytest.skip(f"needs {SHARED}", allow_module_level=True)

READY_TIMEOUT = 10.0


@dataclass
class OmegaEnv:
    root: Path
    socket: Path
    session_dir: Path

    @property
    def pidfile(self) -> Path:
        return self.socket.with_suffix(".pid")

    @property
    def log_file(self) -> Path:
        return self.socket.with_suffix(".log")


def pid_of_daemon(sock: Path) -> int | None:
    from omegacli.autostart import running_pid

    return running_pid(sock)


def wait_until(condition, timeout: float = READY_TIMEOUT, what: str = "condition") -> None:
    """Poll `condition()` with a short backoff until true; fail the test after `timeout`."""
    deadline = time.monotonic() + timeout
    delay = 0.001
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        time.sleep(delay)
        delay = min(delay * 2, 0.05)


def listening(path: Path) -> bool:
    """Something accepts connections on the Unix socket at `path`."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(str(path))
        return True
    except OSError:
        return False
    finally:
        s.close()


def pid_gone(pid: int) -> bool:
    """The process has exited (a zombie not yet reaped by its parent counts as exited)."""
    import psutil

    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


@pytest.fixture
def omega_env(monkeypatch):
    root = Path(tempfile.mkdtemp(prefix="om-", dir="/tmp"))
    run = root / "run"
    run.mkdir(mode=0o700)
    env = OmegaEnv(root=root, socket=run / "omegad.sock", session_dir=root / "sessions")
    monkeypatch.setenv("OMEGAD_SOCKET", str(env.socket))
    monkeypatch.setenv("OMEGA_SESSION_DIR", str(env.session_dir))
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(root / "xdg-run"))
    monkeypatch.setenv("XDG_DATA_HOME", str(root / "xdg-data"))
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    for name in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "OPENAI_BASE_URL", "ANTHROPIC_BASE_URL",
                 "OMEGA_ORACLE", "OMEGA_ADAPTER", "OMEGA_MODEL"):
        monkeypatch.delenv(name, raising=False)  # a developer's keys never reach a test
    try:
        yield env
    finally:
        pid = pid_of_daemon(env.socket)
        if pid and pid > 0:
            os.kill(pid, signal.SIGTERM)
            wait_until(lambda: pid_gone(pid), what=f"leftover daemon {pid} to stop")
        shutil.rmtree(root, ignore_errors=True)


class DaemonProcess:
    """`python -m omegad --foreground` on the env's socket, its stderr in a file of its own."""

    _started = itertools.count(1)

    def __init__(self, env: OmegaEnv, *args: str, socket_path: Path | None = None):
        self.env = env
        self.socket = socket_path or env.socket
        # One file per process: a second daemon on the same socket (started while the first still
        # writes) must neither truncate the first's stderr nor have its own overwritten by it.
        self.stderr_path = self.socket.with_suffix(f".{next(self._started)}.stderr")
        cmd = [sys.executable, "-m", "omegad", "--foreground", "--socket", str(self.socket)]
        cmd += ["--session-dir", str(env.session_dir), "--log-level", "debug", *args]
        with open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen(
                cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err
            )

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def stderr(self) -> str:
        return self.stderr_path.read_text()

    def wait_ready(self) -> "DaemonProcess":
        def ready() -> bool:
            if self.proc.poll() is not None:
                pytest.fail(f"omegad exited with {self.proc.returncode}: {self.stderr}")
            return listening(self.socket)

        wait_until(ready, what="omegad to listen")
        return self

    def signal(self, signum: int) -> None:
        self.proc.send_signal(signum)

    def wait(self, timeout: float = READY_TIMEOUT) -> int:
        return self.proc.wait(timeout)

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(READY_TIMEOUT)


@pytest.fixture
def start_daemon(omega_env):
    """A factory: start_daemon(*flags, socket_path=None) -> a ready DaemonProcess, stopped after."""
    started: list[DaemonProcess] = []

    def start(*args: str, socket_path: Path | None = None, ready: bool = True) -> DaemonProcess:
        d = DaemonProcess(omega_env, *args, socket_path=socket_path)
        started.append(d)
        return d.wait_ready() if ready else d

    yield start
    for d in started:
        d.stop()


@pytest.fixture
def daemon(start_daemon) -> DaemonProcess:
    d = start_daemon()
    yield d
    assert d.stop() == 0, d.stderr


class RawConn:
    """A blocking line-level client: send raw bytes or JSON, receive parsed lines (5 s timeout)."""

    def __init__(self, path: Path, timeout: float = 5.0):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(str(path))  # blocking: waits if the listen backlog is full
        self.sock.settimeout(timeout)
        self.buf = b""
        self._id = 0

    def __enter__(self) -> "RawConn":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self.sock.close()

    def send_raw(self, data: bytes) -> None:
        self.sock.sendall(data)

    def send(self, message) -> None:
        text = message if isinstance(message, str) else json.dumps(message)
        self.sock.sendall(text.encode() + b"\n")

    def recv_line(self) -> bytes | None:
        """The next line, or None at EOF."""
        while b"\n" not in self.buf:
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                return None
            self.buf += chunk
        line, _, self.buf = self.buf.partition(b"\n")
        return line

    def recv(self):
        line = self.recv_line()
        assert line is not None, "the daemon closed the connection"
        return json.loads(line)

    def request(self, method: str, params=None, id=None):
        """Send a request and return the next message (callers not pipelining)."""
        if id is None:
            self._id += 1
            id = self._id
        message = {"jsonrpc": "2.0", "method": method, "id": id}
        if params is not None:
            message["params"] = params
        self.send(message)
        return self.recv()

    def call(self, method: str, params=None):
        reply = self.request(method, params)
        assert "result" in reply, reply
        return reply["result"]
