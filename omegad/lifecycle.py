"""Starting up safely, before trio runs: the pidfile lock, the socket, daemonizing, logging.

Everything here either succeeds or raises `StartupError` with a message for the user; the process
then exits 1 with that message on stderr (an auto-starting client shows it as the daemon's error).
"""

import errno
import fcntl
import logging
import os
import signal
import socket
import stat
import sys
import time
from pathlib import Path
from typing import NoReturn

from omegad import owned
from omegad.config import Config
from protocol.errors import UntrustedPath
from protocol.paths import UnsafePath, ensure_private_dir

log = logging.getLogger("omegad")

PROBE_PATIENCE = 2.0  # seconds to wait for probing clients' shared locks on the pidfile to go
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class StartupError(Exception):
    pass


def hold_stop_signals() -> None:
    """Keep SIGTERM and SIGINT pending from before the socket listens until the daemon's signal
    watcher runs (`release_stop_signals`): a stop asked for as soon as the daemon is ready is then
    a graceful one, not death by the default action with the socket and pidfile left behind."""
    signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)


def release_stop_signals() -> None:
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)


class PidFile:
    """An flock'd pidfile held for the daemon's whole life: one daemon per socket.

    The lock is the daemon's life, to the end: `remove` unlinks the file but leaves the descriptor
    for the kernel to close when the process exits, so a client that finds the lock free (see
    omegacli.autostart.running_pid) knows the daemon has exited, not merely that it is exiting.
    """

    def __init__(self, path: Path):
        self.path = path
        deadline = time.monotonic() + PROBE_PATIENCE
        while True:
            self.fd = _open_owned(path, os.O_RDWR)
            try:
                fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if not self._only_probed() or time.monotonic() > deadline:
                    self._refuse()
                time.sleep(0.01)
            else:
                if self._still_linked():
                    self.write_pid()  # before we listen: whoever finds us can read it
                    return
            os.close(self.fd)  # a stopping daemon unlinked it meanwhile: take the new one

    def _only_probed(self) -> bool:
        """The lock is held only shared, by clients probing for a daemon (for microseconds), or
        by a daemon that has just unlinked this file on its way out: worth another try."""
        try:
            fcntl.flock(self.fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return not self._still_linked()
        fcntl.flock(self.fd, fcntl.LOCK_UN)
        return True

    def _still_linked(self) -> bool:
        """Our descriptor's file is still the one at `path` (not one a daemon unlinked)."""
        try:
            st = os.lstat(self.path)
        except FileNotFoundError:
            return False
        mine = os.fstat(self.fd)
        return (st.st_dev, st.st_ino) == (mine.st_dev, mine.st_ino)

    def _refuse(self) -> NoReturn:
        holder = os.pread(self.fd, 32, 0).decode(errors="replace").strip() or "?"
        os.close(self.fd)
        raise StartupError(f"another omegad (pid {holder}) is running; its pidfile is {self.path}")

    def write_pid(self, pid: int | None = None) -> None:
        os.ftruncate(self.fd, 0)
        os.pwrite(self.fd, f"{pid or os.getpid()}\n".encode(), 0)

    def remove(self) -> None:
        """Unlink; the lock stays held until the process exits (see the class docstring)."""
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass


def bind_socket(path: Path, *, private_dir: bool) -> socket.socket:
    """Bind a listening Unix socket at `path` (0600) in a directory that is safe for it.

    A socket file left by a dead daemon is removed; one a live daemon answers on is never taken.
    """
    check_socket_dir(path.parent, private_dir=private_dir)
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        pass
    else:
        if not stat.S_ISSOCK(st.st_mode):
            raise StartupError(f"{path} exists and is not a socket; not touching it")
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            probe.connect(str(path))
        except ConnectionRefusedError:
            log.info("removing stale socket %s", path)
            os.unlink(path)
        except OSError as e:
            raise StartupError(f"cannot check the existing socket {path}: {e.strerror}") from None
        else:
            raise StartupError(f"a live daemon is already listening on {path}")
        finally:
            probe.close()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old_umask = os.umask(0o177)
    try:
        sock.bind(str(path))
    except OSError as e:
        sock.close()
        hint = " (socket paths are limited to ~107 bytes)" if e.errno == errno.EINVAL else ""
        raise StartupError(f"cannot bind {path}: {e.strerror}{hint}") from None
    finally:
        os.umask(old_umask)
    os.chmod(path, 0o600)
    sock.listen(512)
    return sock


def daemonize(log_file: Path, pidfile: PidFile) -> None:
    """Fork into the background. The parent exits 0: the socket is already listening, so the
    daemon is ready when its starter's process ends. The child loses its terminal and writes
    stderr (crashes included) to the log file."""
    child = os.fork()
    if child > 0:
        pidfile.write_pid(child)  # before the starter returns: "ready" includes the pidfile
        os._exit(0)
    os.setsid()
    devnull = os.open(os.devnull, os.O_RDWR)
    logfd = _open_log(log_file)
    os.dup2(devnull, 0)
    os.dup2(devnull, 1)
    os.dup2(logfd, 2)
    os.close(devnull)
    os.close(logfd)
    os.chdir("/")


def setup_logging(config: Config) -> None:
    level = getattr(logging, config.log_level.upper())
    log_stream = os.fdopen(_open_log(config.log_file), "a", encoding="utf-8")
    handlers: list[logging.Handler] = [logging.StreamHandler(log_stream)]
    if config.foreground:
        handlers.append(logging.StreamHandler(sys.stderr))
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(name)s[%(process)d]: %(message)s")
    root = logging.getLogger()
    for h in handlers:
        h.setFormatter(fmt)
        root.addHandler(h)
    root.setLevel(level)


def check_socket_dir(path: Path, *, private_dir: bool) -> None:
    """The socket's dir (also the pidfile's and the log's) is ours alone, and so is every
    directory above it (or root's; writable by others only when sticky, as /tmp)."""
    try:
        owned.check_ancestors(path)
        ensure_private_dir(path, tighten=private_dir)
    except (UnsafePath, UntrustedPath, OSError) as e:
        raise StartupError(f"unsafe or unusable socket directory: {e}") from None


def _open_owned(path: Path, flags: int, *, private: bool = True) -> int:
    try:
        return owned.open_owned(path, flags, create=True, private=private)
    except UntrustedPath as e:
        raise StartupError(e.message) from None
    except OSError as e:
        raise StartupError(f"cannot open {path}: {e.strerror}") from None


def _open_log(path: Path) -> int:
    """The log, opened to append: a file of ours (0600 even if it was looser)."""
    fd = _open_owned(path, os.O_WRONLY | os.O_APPEND, private=False)
    os.fchmod(fd, 0o600)
    return fd
