"""The session dirs this daemon serves, each held with an flock while something uses it.

A session dir is trusted only when it is the user's own: the dir (and its `sessions/` dir) owned
by the daemon's uid and not writable by group or others, and every directory above it ours or
root's (writable by others only with the sticky bit, as /tmp); see omegad/owned.py. Otherwise
the client gets UNTRUSTED_PATH naming the path and what is wrong with it.

The lock file `<dir>/.omegad.lock` holds the pid of the daemon serving the dir, so a second daemon
(or this one, asked for a dir it cannot write) answers SESSION_DIR_UNAVAILABLE with a clear message.
The daemon lets go of a dir (`release`) once no connection and no live session uses it, so a
client naming many dirs in turn does not pile up open files.
"""

import fcntl
import logging
import os
from pathlib import Path

from omegad import owned
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
        """Check, create if missing, and lock `path` (checked again if held). Returns the
        resolved dir."""
        path = Path(path).expanduser()
        owned.check_ancestors(path)
        resolved = Path(os.path.realpath(path))
        if resolved == resolved.parent:
            raise SessionDirUnavailable(
                f"{resolved} is the filesystem root, not a session dir", {"session_dir": "/"}
            )
        try:
            owned.ensure_dir(resolved)
        except OSError as e:
            raise SessionDirUnavailable(
                f"cannot create session dir {resolved}: {e.strerror}",
                {"session_dir": str(resolved)},
            ) from None
        if os.path.lexists(resolved / "sessions"):
            owned.check_dir(resolved / "sessions")
        if resolved in self._held:  # checked again: its modes may have changed since
            return resolved
        try:
            fd = owned.open_owned(resolved / SESSION_DIR_LOCK, os.O_RDWR, create=True)
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

    def release(self, path: Path) -> None:
        """Unlock and close a dir's lock file (nothing uses the dir any more)."""
        fd = self._held.pop(path, None)
        if fd is None:
            return
        try:
            os.ftruncate(fd, 0)
        except OSError:
            pass
        os.close(fd)  # closing drops the flock
        log.info("released session dir %s", path)

    def release_all(self) -> None:
        for path in list(self._held):
            self.release(path)
