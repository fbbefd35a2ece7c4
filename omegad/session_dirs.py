"""The session dirs this daemon serves, each held with an flock for as long as the daemon lives.

The lock file `<dir>/.omegad.lock` holds the pid of the daemon serving the dir, so a second daemon
(or this one, asked for a dir it cannot write) answers SESSION_DIR_UNAVAILABLE with a clear message.
"""

import fcntl
import logging
import os
from pathlib import Path

from protocol.errors import SessionDirUnavailable
from protocol.paths import SESSION_DIR_LOCK

log = logging.getLogger("omegad.session_dirs")


class SessionDirs:
    def __init__(self) -> None:
        self._held: dict[Path, int] = {}  # resolved dir -> fd of its locked lock file

    def __iter__(self):
        return iter(self._held)

    def __len__(self) -> int:
        return len(self._held)

    def acquire(self, path: str | Path) -> Path:
        """Validate, create if missing, and lock `path`; idempotent. Returns the resolved dir."""
        resolved = Path(os.path.realpath(Path(path).expanduser()))
        if resolved in self._held:
            return resolved
        try:
            os.makedirs(resolved, exist_ok=True)
        except OSError as e:
            raise SessionDirUnavailable(
                f"cannot create session dir {resolved}: {e.strerror}",
                {"session_dir": str(resolved)},
            ) from None
        if not os.access(resolved, os.W_OK | os.X_OK):
            raise SessionDirUnavailable(
                f"session dir {resolved} is not writable", {"session_dir": str(resolved)}
            )
        lock = resolved / SESSION_DIR_LOCK
        try:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except OSError as e:
            raise SessionDirUnavailable(
                f"session dir {resolved} is not writable: {e.strerror}",
                {"session_dir": str(resolved)},
            ) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise SessionDirUnavailable(
                f"session dir {resolved} is served by another omegad (pid {holder})",
                {"session_dir": str(resolved), "pid": holder},
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._held[resolved] = fd
        log.info("serving session dir %s", resolved)
        return resolved

    def release_all(self) -> None:
        for path, fd in self._held.items():
            try:
                os.ftruncate(fd, 0)
            except OSError:
                pass
            os.close(fd)  # closing drops the flock
            log.info("released session dir %s", path)
        self._held.clear()
