"""Reach the daemon: connect, start one when none runs, replace one that speaks another protocol.

Starting is serialised by an flock on the start lock beside the socket: the first client takes it,
spawns `python -m omegad` (which forks into the background once its socket listens, so the spawned
process ending with status 0 means "ready"), and releases it; the others wait for the lock, retry
the socket and find the daemon. A daemon that holds the pidfile but does not answer (starting, or
stopping: its socket goes first) is waited for, not raced. A failed start is reported with the
daemon's own stderr. Stopping one waits for its process to exit (it holds the pidfile lock till
then).
"""

import fcntl
import os
import sys
import time
from pathlib import Path

from omegacli import dotenv
from omegacli.client import Client, DaemonUnreachable
from protocol import PROTOCOL_VERSION, errors, owned, paths
from protocol.settings import PREFIXES

START_TIMEOUT = 5.0  # seconds a start may take before we report it failed
STOP_TIMEOUT = 10.0  # seconds a daemon asked to stop may take to go away
ENV_PREFIXES = PREFIXES  # (protocol/settings.py: the daemon reads the same for raw clients)


class StartFailed(DaemonUnreachable):
    """We tried to start a daemon and it did not come up; the message says why."""


def collect_env(cwd: str, found: dotenv.DotEnv | None = None) -> dict[str, str]:
    """Settings a client passes in `server.hello`: its .env (if it is the user's own), then its
    OMEGA_*/provider vars."""
    env: dict[str, str] = dict(found.values) if found is not None else {}
    for key, value in os.environ.items():
        if key.startswith(ENV_PREFIXES):
            env[key] = value
    if "HOME" in os.environ:
        env["HOME"] = os.environ["HOME"]
    return env


def hello_params(client_name: str, session_dir: str | None = None) -> dict[str, object]:
    cwd = os.getcwd()
    found = dotenv.read(cwd)
    params: dict[str, object] = {
        "client": client_name,
        "protocol": PROTOCOL_VERSION,
        "session_dir": os.path.abspath(session_dir or paths.session_dir(cwd)),
        "env": collect_env(cwd, found),
        "cwd": cwd,
    }
    if found is not None:  # the names whose values the environment did not override
        taken = [k for k in found.values if not (k.startswith(ENV_PREFIXES) and k in os.environ)]
        params["dotenv"] = found.report(taken)
    return params


def connect(
    sock: Path,
    *,
    autostart: bool = True,
    client_name: str | None = None,
    session_dir: str | None = None,
    socket_named: bool = False,
    timeout: float | None = None,
) -> tuple[Client, dict]:
    """A client whose `server.hello` succeeded, and that hello's result.

    Raises DaemonUnreachable (StartFailed when a start failed) or RpcError (hello refused).
    """
    params = hello_params(client_name or f"omegacli[{os.getpid()}]", session_dir)
    for attempt in (1, 2):
        try:
            client = Client.connect(str(sock), timeout)
        except DaemonUnreachable:
            if not autostart:
                raise
            client = start(sock, socket_named=socket_named, timeout=timeout)
        try:
            result = client.call("server.hello", params)
        except errors.RpcError as e:
            if e.code != errors.VERSION_MISMATCH or not autostart or attempt == 2:
                client.close()
                raise
            result = {"protocol": None}
        except DaemonUnreachable:
            client.close()
            if autostart and attempt == 1:
                continue  # it went away under us (idle exit, stop): start one
            raise
        if result.get("protocol") == PROTOCOL_VERSION:
            return client, result
        if not autostart or attempt == 2:
            client.close()
            raise errors.VersionMismatch(
                f"the daemon on {sock} speaks protocol {result.get('protocol')}, "
                f"we speak {PROTOCOL_VERSION}"
            )
        stop(client, sock)  # incompatible: ask it to go, then start our own
    raise AssertionError("unreachable")


def stop(client: Client, sock: Path) -> None:
    """Ask the daemon behind `client` to shut down and wait until its process has exited."""
    # Opened before asking: the daemon unlinks its pidfile on its way out, and then only a
    # descriptor opened earlier can tell, by the lock it holds till its exit, when it is gone.
    fd = _open_pidfile(sock)
    try:
        try:
            client.call("server.shutdown")
        except (errors.RpcError, DaemonUnreachable):
            pass
        finally:
            client.close()
        if fd is not None:
            _wait_unlocked(fd, f"the daemon on {sock} did not stop within {STOP_TIMEOUT:g} s")
    finally:
        if fd is not None:
            os.close(fd)


def _open_pidfile(sock: Path) -> int | None:
    try:
        return os.open(paths.pidfile_path(sock), os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return None


def _wait_unlocked(fd: int, failure: str, timeout: float = STOP_TIMEOUT) -> None:
    """Wait until no daemon holds this pidfile's lock, which it does until its process exits."""
    deadline = time.monotonic() + timeout
    delay = 0.002
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            if time.monotonic() > deadline:
                raise DaemonUnreachable(failure) from None
            time.sleep(delay)
            delay = min(delay * 2, 0.1)
        else:
            fcntl.flock(fd, fcntl.LOCK_UN)
            return


def running_pid(sock: Path) -> int | None:
    """The pid of the daemon holding this socket's pidfile lock, or None when none does."""
    fd = _open_pidfile(sock)
    if fd is None:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            text = os.pread(fd, 32, 0).decode(errors="replace").strip()
            return int(text) if text.isdigit() else -1
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def start(sock: Path, *, socket_named: bool = False, timeout: float | None = None) -> Client:
    """Start a daemon on `sock` unless another client just did; return a connection to it."""
    try:
        paths.ensure_private_dir(sock.parent, tighten=not socket_named)
        lock = owned.open_owned(paths.start_lock_path(sock), os.O_RDWR, create=True)
    except (paths.UnsafePath, OSError) as e:
        raise StartFailed(f"cannot start omegad: {e}") from None
    except errors.UntrustedPath as e:
        raise StartFailed(f"cannot start omegad: {e.message}") from None
    try:
        # The holder may wait out a stopping daemon, then start one and wait for it to answer.
        _lock_with_deadline(lock, time.monotonic() + STOP_TIMEOUT + 2 * START_TIMEOUT)
        client = _holder_answers(sock, timeout)  # another client started it meanwhile
        if client is not None:
            return client
        _spawn(sock, socket_named)
        return _connect_with_backoff(sock, timeout)
    finally:
        os.close(lock)  # drops the flock


def _holder_answers(sock: Path, timeout: float | None) -> Client | None:
    """A connection to the daemon on `sock`, or None when no daemon holds its pidfile.

    A daemon may hold the pidfile and not answer: one stopping (its socket is gone first) or one
    starting (not listening yet). A new one could not take the pidfile, so wait for it to go (or
    to listen).
    """
    deadline = time.monotonic() + STOP_TIMEOUT
    delay = 0.002
    while True:
        try:
            return Client.connect(str(sock), timeout)
        except DaemonUnreachable:
            pid = running_pid(sock)
            if pid is None:
                return None
        if time.monotonic() > deadline:
            raise StartFailed(
                f"omegad (pid {pid}) holds {paths.pidfile_path(sock)} but does not answer on "
                f"{sock}, nor stop, within {STOP_TIMEOUT:g} s"
            )
        time.sleep(delay)
        delay = min(delay * 2, 0.1)


def _lock_with_deadline(fd: int, deadline: float) -> None:
    delay = 0.001
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() > deadline:
                raise StartFailed("another client is still starting omegad; giving up") from None
            time.sleep(delay)
            delay = min(delay * 2, 0.05)


def _spawn(sock: Path, socket_named: bool) -> None:
    import subprocess

    cmd = [sys.executable, "-m", "omegad"]
    if socket_named:
        cmd += ["--socket", str(sock)]
    env = dict(os.environ)
    if socket_named:
        env["OMEGAD_SOCKET"] = str(sock)
    # Make `omegad` importable from wherever this client was imported (venv or source tree).
    root = str(Path(__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    proc = subprocess.Popen(
        cmd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
        cwd="/",
        env=env,
    )
    try:
        _, err = proc.communicate(timeout=START_TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise StartFailed(
            f"omegad did not become ready within {START_TIMEOUT:g} s (log: {paths.log_path(sock)})"
        ) from None
    if proc.returncode != 0:
        message = err.decode(errors="replace").strip() or f"exit status {proc.returncode}"
        raise StartFailed(f"omegad failed to start: {message}")


def _connect_with_backoff(sock: Path, timeout: float | None) -> Client:
    deadline = time.monotonic() + START_TIMEOUT
    delay = 0.002
    while True:
        try:
            return Client.connect(str(sock), timeout)
        except DaemonUnreachable as e:
            if time.monotonic() > deadline:
                raise StartFailed(
                    f"omegad started but does not answer on {sock} ({e}); "
                    f"log: {paths.log_path(sock)}"
                ) from None
            time.sleep(delay)
            delay = min(delay * 2, 0.2)
