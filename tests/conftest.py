"""Shared fixtures: an isolated environment and a real `omegad`, in this process or in its own.

Tests never touch the user's real runtime or data dirs: `omega_env` points OMEGAD_SOCKET,
OMEGA_SESSION_DIR, XDG_RUNTIME_DIR and XDG_DATA_HOME into a short temp dir (Unix socket paths are
limited to ~107 bytes, so not pytest's long tmp_path) and stops any daemon left there at teardown.

Which daemon a test takes (in-process unless a process boundary is what it tests):

    def test_x(inprocess_daemon):            # the real daemon in this process (InProcessDaemon):
        with inprocess_daemon.client() as c: # server, dispatch, sessions, actors and persistence
            c.call("session.execute", {"session": "s", "command": "(+ 1 2)"})

    def test_y(start_inprocess_daemon, omega_env):   # restarts, flags: stop() is a clean shutdown
        d = start_inprocess_daemon("--max-sessions", "2"); ...; d.stop()
        d = start_inprocess_daemon()                  # same socket and session dir: reopened

    async def test_z(omega_env):              # a trio test: the daemon runs in the test's own loop
        async with daemon_in_loop(omega_env) as d:
            c = await d.client()
            assert await c.call("server.ping") == {"pong": True}

    def test_w(daemon):                       # `omegad` in its own process (DaemonProcess): where a
        os.kill(daemon.pid, signal.SIGKILL)   # process matters: signals, kill -9, pid, log file,
                                              # startup, auto-start, the CLI's own lifecycle
    RawConn(daemon.socket)                    # a line-level JSON client for either kind

tests/e2e/conftest.py's `shared_daemon` is one in-process daemon for a whole module (tests that
need only a fresh session dir each). Each in-process daemon's log (at debug level) is in its
`stderr`, as a subprocess's would be. Its pid is the test process's.
"""

import io
import itertools
import json
import logging
import os
import shutil
import signal
import socket
import tempfile
import threading
import time
import traceback
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.forked_daemons import DaemonForks

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"  # the project's shared notes and fixtures (CI has them there)
needs_shared = pytest.mark.skipif(not SHARED.is_dir(), reason=f"needs {SHARED}")


CONFORMANCE_RUNNER = SHARED / "conformance" / "run_reference.py"


def load_conformance_runner(path: Path = CONFORMANCE_RUNNER):
    """The transcripts' runner as a module: its case loading, stdin text and line splitting are
    the contract a test that runs cases in this process follows."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("run_reference", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def conformance_stdin(runner, case: dict) -> io.TextIOWrapper:
    """A case's inputs as the runner writes them to a process's stdin, read back as `sys.stdin`
    reads them (UTF-8, errors replaced, universal newlines)."""
    data = runner.stdin_text(case["inputs"]).encode("utf-8")
    return io.TextIOWrapper(io.BytesIO(data), encoding="utf-8", errors="replace")


def conformance_cases(path: Path = CONFORMANCE_RUNNER) -> list:
    """One pytest.param per transcript case next to the runner at `path`, with its group/name."""
    if not path.exists():
        return [pytest.param(None, id="no-transcripts")]
    return [pytest.param(case, id=f"{data.get('group', file.stem)}/{case['name']}")
            for file, data in load_conformance_runner(path).load_case_files([str(path.parent)])
            for case in data["cases"]]


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
        if pid and pid > 0 and pid != os.getpid():  # an in-process daemon stops by its fixture
            os.kill(pid, signal.SIGTERM)
            wait_until(lambda: pid_gone(pid), what=f"leftover daemon {pid} to stop")
        shutil.rmtree(root, ignore_errors=True)


class DaemonProcess:
    """`omegad --foreground` on the env's socket, in a process of its own, its stderr in a file
    of its own. The process is forked from this worker's fork server (tests/forked_daemons.py),
    which has imported omegad once, and runs `omegad.__main__.main` as `python -m omegad` would:
    the tests that start an `omegad` by its command line (auto-start, `omegacli daemon`, the
    kernel) are what exercise the interpreter's start."""

    _started = itertools.count(1)

    def __init__(self, env: OmegaEnv, *args: str, socket_path: Path | None = None):
        self.env = env
        self.socket = socket_path or env.socket
        # One file per process: a second daemon on the same socket (started while the first still
        # writes) must neither truncate the first's stderr nor have its own overwritten by it.
        self.stderr_path = self.socket.with_suffix(f".{next(self._started)}.stderr")
        argv = ["--foreground", "--socket", str(self.socket), "--session-dir",
                str(env.session_dir), "--log-level", "debug", *args]
        self.proc = DaemonForks.of_this_worker().spawn(argv, stderr=self.stderr_path)

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


class InProcessDaemon:
    """The real daemon run in this process: `omegad.daemon.Daemon` (server, dispatch, session
    manager, actors, persistence worker) under `trio.run` in a helper thread, listening on a real
    Unix socket in the env's temp dir. Same flags and same surface as DaemonProcess where no
    process is involved: `socket`, `env`, `pid` (this process's: what the daemon reports),
    `stderr` (its log at debug level, and the traceback if it died), `stop()` (0 after a clean
    shutdown). It cannot be signalled: a test that signals or kills the daemon needs a
    DaemonProcess.

    The helper thread is how synchronous tests (blocking clients, as omegacli's) reach a daemon
    without a subprocess; an async test runs the daemon in its own trio loop instead
    (`daemon_in_loop`). `in_loop(fn, *args)` runs `fn` in the daemon's loop and returns its result,
    for a test that looks at the daemon's state.
    """

    _levels_held = 0  # daemons running: the "omegad" logger is at DEBUG while any is
    _saved_level = logging.NOTSET

    def __init__(self, env: OmegaEnv, *args: str, socket_path: Path | None = None):
        import omegad.methods  # noqa: F401  (registers the handlers)
        from omegad.__main__ import parse_args
        from omegad.daemon import Daemon
        from omegad.lifecycle import PidFile, bind_socket

        self.env = env
        self.socket = socket_path or env.socket
        self.config = parse_args(["--foreground", "--socket", str(self.socket), "--session-dir",
                                  str(env.session_dir), "--log-level", "debug", *args])
        self.pidfile = PidFile(self.config.pidfile)
        try:
            sock = bind_socket(self.config.socket, private_dir=self.config.private_runtime_dir)
        except BaseException:
            self.pidfile.remove()
            os.close(self.pidfile.fd)
            raise
        self.daemon = Daemon(self.config, sock, self.pidfile, watch_signals=False)
        self.error: BaseException | None = None
        self._log = io.StringIO()
        self._handler = logging.StreamHandler(self._log)
        self._handler.setFormatter(logging.Formatter(
            "%(asctime)s %(levelname)s %(name)s[%(process)d]: %(message)s"))
        self._handler.addFilter(lambda record: record.thread in self._threads())
        self._hold_debug_level()
        logging.getLogger("omegad").addHandler(self._handler)
        self._token = None
        self._running = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"omegad {self.socket}", daemon=True)
        self._thread.start()
        self._running.wait()

    def _run(self) -> None:
        import trio

        async def main() -> None:
            self._token = trio.lowlevel.current_trio_token()
            self._running.set()
            await self.daemon.run()

        try:
            trio.run(main)
        except BaseException as e:  # the test sees it in stop() and stderr
            self.error = e
        finally:
            self._running.set()

    def _threads(self) -> set[int | None]:
        return {self._thread.ident}

    @classmethod
    def _hold_debug_level(cls) -> None:
        logger = logging.getLogger("omegad")
        if not cls._levels_held:
            cls._saved_level = logger.level
            logger.setLevel(logging.DEBUG)
        cls._levels_held += 1

    @classmethod
    def _release_debug_level(cls) -> None:
        cls._levels_held -= 1
        if not cls._levels_held:
            logging.getLogger("omegad").setLevel(cls._saved_level)

    def wait_ready(self) -> "InProcessDaemon":
        """It listens from construction on (the socket is bound before the thread starts)."""
        if self.error is not None:
            pytest.fail(f"omegad failed: {self.stderr}")
        return self

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    @property
    def pid(self) -> int:
        """The process the daemon runs in, this one (as server.hello and server.status say)."""
        return os.getpid()

    def signal(self, signum: int) -> None:
        raise TypeError("an in-process daemon cannot be signalled: use `daemon`/`start_daemon`")

    @property
    def stderr(self) -> str:
        text = self._log.getvalue()
        if self.error is not None:
            text += "".join(traceback.format_exception(self.error))
        return text

    def in_loop(self, fn, *args):
        """fn(*args) run in the daemon's trio loop (between its tasks' steps); its result."""
        import trio

        return trio.from_thread.run_sync(fn, *args, trio_token=self._token)

    def request_shutdown(self, reason: str = "test") -> None:
        import trio

        try:
            self.in_loop(self.daemon.request_shutdown, reason)
        except trio.RunFinishedError:
            pass

    def wait(self, timeout: float = READY_TIMEOUT) -> int:
        """Wait for the daemon to stop (asked by a request, idle exit, or `request_shutdown`);
        0 after a clean shutdown, 1 if it died."""
        self._thread.join(timeout)
        if self._thread.is_alive():
            pytest.fail(f"the in-process omegad did not stop within {timeout} s")
        self._release()
        return 0 if self.error is None else 1

    def stop(self) -> int:
        if self._thread.is_alive():
            self.request_shutdown("test stop")
        return self.wait(READY_TIMEOUT + self.config.shutdown_grace)

    def _release(self) -> None:
        """What a process's exit would do: drop the pidfile's lock, stop capturing the log."""
        if self._handler is None:
            return
        logging.getLogger("omegad").removeHandler(self._handler)
        self._release_debug_level()
        self._handler = None
        try:
            os.close(self.pidfile.fd)
        except OSError:
            pass

    def client(self, session_dir: Path | None = None, env: dict | None = None,
               timeout: float = 60):
        """A blocking omegacli Client whose `server.hello` names `session_dir` (default: the
        env's) and the settings `env`."""
        from omegacli.autostart import hello_params
        from omegacli.client import Client

        client = Client.connect(str(self.socket), timeout=timeout)  # a hang fails, not blocks
        params = hello_params("tests", str(session_dir or self.env.session_dir))
        params["env"] = dict(env or {})
        client.call("server.hello", params)
        return client


@pytest.fixture
def start_inprocess_daemon(omega_env):
    """A factory: start_inprocess_daemon(*flags, socket_path=None) -> a running InProcessDaemon,
    stopped after the test (and asserted to have stopped cleanly)."""
    started: list[InProcessDaemon] = []

    def start(*args: str, socket_path: Path | None = None) -> InProcessDaemon:
        d = InProcessDaemon(omega_env, *args, socket_path=socket_path)
        started.append(d)
        return d

    yield start
    for d in started:
        assert d.stop() == 0, d.stderr


@pytest.fixture
def inprocess_daemon(start_inprocess_daemon) -> InProcessDaemon:
    return start_inprocess_daemon()


class LoopDaemon:
    """A daemon running in the test's own trio loop (see `daemon_in_loop`)."""

    def __init__(self, daemon, env: OmegaEnv):
        self.daemon = daemon  # the omegad.daemon.Daemon, for looking at its state
        self.env = env
        self.socket = daemon.config.socket

    async def client(self, session_dir: Path | None = None, env: dict | None = None):
        """An AsyncClient whose `server.hello` names `session_dir` (default: the env's)."""
        from omegacli.autostart import hello_params

        client = await AsyncClient.connect(self.socket)
        params = hello_params("tests", str(session_dir or self.env.session_dir))
        params["env"] = dict(env or {})
        await client.call("server.hello", params)
        return client


@asynccontextmanager
async def daemon_in_loop(env: OmegaEnv, *args: str) -> AsyncIterator[LoopDaemon]:
    """The real daemon in the calling test's trio loop, with the same flags as `omegad`:

        async def test_x(omega_env):
            async with daemon_in_loop(omega_env, "--max-sessions", "2") as d:
                c = await d.client()
                assert (await c.call("session.execute", {...}))["ok"]

    It is shut down gracefully when the block ends."""
    import trio

    import omegad.methods  # noqa: F401  (registers the handlers)
    from omegad.__main__ import parse_args
    from omegad.daemon import Daemon
    from omegad.lifecycle import PidFile, bind_socket

    config = parse_args(["--foreground", "--socket", str(env.socket), "--session-dir",
                         str(env.session_dir), *args])
    pidfile = PidFile(config.pidfile)
    daemon = Daemon(config, bind_socket(config.socket, private_dir=False), pidfile,
                    watch_signals=False)
    try:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(daemon.run)
            await trio.lowlevel.checkpoint()  # run() has set up its stop event
            try:
                yield LoopDaemon(daemon, env)
            finally:
                daemon.request_shutdown("test")
    finally:
        os.close(pidfile.fd)


class AsyncClient:
    """A JSON-RPC client for trio tests, shaped as omegacli's blocking Client: `call`, `start` and
    `wait`, `notify`, `read` (the next message), `send` (any JSON value), `aclose`."""

    def __init__(self, stream):
        self.stream = stream
        self._buf = b""
        self._ids = itertools.count(1)

    @classmethod
    async def connect(cls, path: Path) -> "AsyncClient":
        import trio

        return cls(await trio.open_unix_socket(str(path)))

    async def __aenter__(self) -> "AsyncClient":
        return self

    async def __aexit__(self, *exc) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self.stream.aclose()

    async def send(self, message) -> None:
        await self.stream.send_all(json.dumps(message).encode() + b"\n")

    async def notify(self, method: str, params=None) -> None:
        message = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            message["params"] = params
        await self.send(message)

    async def start(self, method: str, params=None) -> int:
        rid = next(self._ids)
        message = {"jsonrpc": "2.0", "method": method, "id": rid}
        if params is not None:
            message["params"] = params
        await self.send(message)
        return rid

    async def read(self) -> dict:
        while b"\n" not in self._buf:
            chunk = await self.stream.receive_some()
            assert chunk, "the daemon closed the connection"
            self._buf += chunk
        line, _, self._buf = self._buf.partition(b"\n")
        return json.loads(line)

    async def wait(self, rid: int, on_notification=None):
        """The result of request `rid` (raising RpcError for an error); notifications read on
        the way go to `on_notification(method, params)`."""
        from protocol import errors

        while True:
            message = await self.read()
            if message.get("id") == rid and "method" not in message:
                if "error" in message:
                    err = message["error"]
                    raise errors.RpcError(err.get("message"), err.get("data"),
                                          code=err.get("code"))
                return message.get("result")
            if "method" in message and on_notification is not None:
                on_notification(message["method"], message.get("params"))

    async def call(self, method: str, params=None, on_notification=None):
        return await self.wait(await self.start(method, params), on_notification)


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
