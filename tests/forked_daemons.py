"""Daemon processes forked from one interpreter that has already imported omegad.

A fresh `python -m omegad` spends ~0.45 s of CPU importing trio, msgspec and omegad before it
does anything, and the suite starts dozens of daemons that a test kills, signals or restarts. A
fork server (the pattern of multiprocessing's forkserver and Android's zygote) pays that once per
pytest worker: it imports the daemon's modules, then forks a child per request, and the child runs
`omegad.__main__.main(argv)` as `python -m omegad argv` would, in a process of its own (its own
pid, signals, file descriptors and exit status), with the requester's environment and cwd.

    forks = DaemonForks.of_this_worker()
    proc = forks.spawn(["--foreground", "--socket", path], stderr=path_of_log)  # Popen-like
    proc.send_signal(signal.SIGKILL); proc.wait()  # -9, as subprocess reports it

The server's stdin carries one JSON request per line ({"argv", "env", "cwd", "stderr"}); its
stdout answers each with {"pid"} and, once a child has exited and been reaped, reports
{"exited": pid, "status": code} with `code` as `Popen.returncode` has it.
"""

from __future__ import annotations

import atexit
import json
import os
import queue
import selectors
import signal
import subprocess
import sys
import threading
import traceback
from pathlib import Path
from typing import IO

REPLY_TIMEOUT = 30.0


class DaemonForks:
    """This process's client of its fork server, started on first use."""

    _mine: DaemonForks | None = None

    @classmethod
    def of_this_worker(cls) -> DaemonForks:
        if cls._mine is None or cls._mine.server.poll() is not None:
            cls._mine = cls()
        return cls._mine

    def __init__(self) -> None:
        self.server = subprocess.Popen(
            [sys.executable, __file__], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            cwd=Path(__file__).parent,
        )
        self._replies: queue.Queue[dict] = queue.Queue()
        self._exits: dict[int, int] = {}
        self._exited = threading.Condition()
        self._asking = threading.Lock()
        threading.Thread(target=self._read, name="daemon forks", daemon=True).start()
        atexit.register(self.close)

    def spawn(self, argv: list[str], *, stderr: Path) -> ForkedDaemon:
        request = {"argv": argv, "env": dict(os.environ), "cwd": os.getcwd(), "stderr": str(stderr)}
        assert self.server.stdin is not None
        with self._asking:
            self.server.stdin.write(json.dumps(request).encode() + b"\n")
            self.server.stdin.flush()
            try:
                reply = self._replies.get(timeout=REPLY_TIMEOUT)
            except queue.Empty:
                raise RuntimeError("the daemon fork server did not answer") from None
        if "pid" not in reply:
            raise RuntimeError(f"the daemon fork server failed: {reply.get('error')}")
        return ForkedDaemon(self, reply["pid"])

    def exit_status(self, pid: int, timeout: float | None = 0) -> int | None:
        """The child's exit status once it has exited, waiting up to `timeout` (None: forever)."""
        with self._exited:
            self._exited.wait_for(lambda: pid in self._exits, timeout)
            return self._exits.get(pid)

    def close(self) -> None:
        if self.server.poll() is None:
            assert self.server.stdin is not None
            self.server.stdin.close()  # the server exits at the end of its input
            self.server.wait()

    def _read(self) -> None:
        assert self.server.stdout is not None
        for line in self.server.stdout:
            message = json.loads(line)
            if "exited" in message:
                with self._exited:
                    self._exits[message["exited"]] = message["status"]
                    self._exited.notify_all()
            else:
                self._replies.put(message)
        self._replies.put({"error": f"it exited with {self.server.wait()}"})


class ForkedDaemon:
    """A forked daemon, with the part of `subprocess.Popen`'s surface the tests use."""

    def __init__(self, forks: DaemonForks, pid: int):
        self.forks = forks
        self.pid = pid
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            self.returncode = self.forks.exit_status(self.pid)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is None:
            self.returncode = self.forks.exit_status(self.pid, timeout)
            if self.returncode is None:
                raise subprocess.TimeoutExpired(f"omegad[{self.pid}]", timeout or 0)
        return self.returncode

    def send_signal(self, signum: int) -> None:
        if self.poll() is None:
            os.kill(self.pid, signum)


# The server side: run as `python tests/forked_daemons.py`.

def serve() -> None:
    import omegad.__main__  # noqa: F401  what every child runs: imported once, here
    import omegad.daemon  # noqa: F401
    import omegad.methods  # noqa: F401

    assert threading.active_count() == 1, "fork needs a process with one thread"
    wake_r, wake_w = os.pipe()
    for fd in (wake_r, wake_w):
        os.set_blocking(fd, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda signum, frame: None)  # the wakeup fd is the signal
    selector = selectors.DefaultSelector()
    selector.register(0, selectors.EVENT_READ)
    selector.register(wake_r, selectors.EVENT_READ)
    own_fds = [0, 1, wake_r, wake_w, selector.fileno()]
    out = sys.stdout.buffer
    pending = b""
    while True:
        for key, _ in selector.select():
            if key.fd == wake_r:
                os.read(wake_r, 4096)  # what is left wakes the next select
                _report_exits(out)
                continue
            data = os.read(0, 1 << 16)
            if not data:
                return
            pending += data
            while b"\n" in pending:
                line, _, pending = pending.partition(b"\n")
                _answer(out, json.loads(line), own_fds)


def _answer(out: IO[bytes], request: dict, own_fds: list[int]) -> None:
    try:
        reply: dict = {"pid": _fork(request, own_fds)}
    except OSError as e:
        reply = {"error": str(e)}
    out.write(json.dumps(reply).encode() + b"\n")
    out.flush()


def _report_exits(out: IO[bytes]) -> None:
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        exited = {"exited": pid, "status": os.waitstatus_to_exitcode(status)}
        out.write(json.dumps(exited).encode() + b"\n")
        out.flush()


def _fork(request: dict, own_fds: list[int]) -> int:
    stderr = os.open(request["stderr"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        pid = os.fork()
    except OSError:
        os.close(stderr)
        raise
    if pid:
        os.close(stderr)
        return pid
    try:  # the child: never returns into the server's loop
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        devnull = os.open(os.devnull, os.O_RDWR)
        os.dup2(devnull, 0)
        os.dup2(devnull, 1)
        os.dup2(stderr, 2)
        for fd in {devnull, stderr, *own_fds} - {0, 1, 2}:
            os.close(fd)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        code = _run_main(request["argv"])
    except BaseException:
        traceback.print_exc()
        code = 1
    _exit(code)


def _run_main(argv: list[str]) -> int:
    """`python -m omegad ARGV` as the interpreter would finish it: main's status, or 1 with the
    traceback for an uncaught exception."""
    import omegad.__main__ as entry

    sys.argv = [entry.__file__ or "omegad", *argv]
    try:
        return entry.main(argv) or 0
    except SystemExit as e:
        if e.code is None or isinstance(e.code, int):
            return e.code or 0
        print(e.code, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        traceback.print_exc()
        return -signal.SIGINT


def _exit(code: int) -> None:
    """End the child as an interpreter ends: exit handlers, flushed streams, then the status (an
    uncaught Ctrl-C ends it by SIGINT, as Python does)."""
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    if code == -signal.SIGINT:
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGINT)
    os._exit(code & 0xFF)


if __name__ == "__main__":
    serve()
