"""Where the daemon's socket, pidfile, start lock and log live, and which session dir a client uses.

Stdlib only on the paths a one-shot client takes; platformdirs is imported lazily, and only where
the standard library cannot answer (the user data dir, or a runtime dir outside Linux).

  socket       $OMEGAD_SOCKET, else <runtime dir>/omegad.sock
  runtime dir  $XDG_RUNTIME_DIR/omega; without XDG_RUNTIME_DIR, <tmp>/omega-<uid> (0700, ours)
  pidfile      beside the socket: omegad.sock -> omegad.pid (flock'd by the daemon for its life)
  start lock   omegad.lock (taken by a client while it starts a daemon)
  log file     omegad.log
  session dir  $OMEGA_SESSION_DIR, else ./.omega-session if it exists, else the user data dir
"""

import os
import stat
import sys
from pathlib import Path

APP = "omega"
SOCKET_NAME = "omegad.sock"
SESSION_DIR_LOCK = ".omegad.lock"  # the daemon's flock inside each session dir it serves


class UnsafePath(Exception):
    """A directory we would put the socket in belongs to someone else or is open to others."""


def runtime_dir() -> Path:
    xdg = os.environ.get("XDG_RUNTIME_DIR")
    if sys.platform.startswith("linux") or xdg:
        if xdg:
            return Path(xdg) / APP
        tmp = os.environ.get("TMPDIR") or "/tmp"
        return Path(tmp) / f"{APP}-{os.getuid()}"
    import platformdirs

    return Path(platformdirs.user_runtime_dir(APP))


def socket_path() -> Path:
    env = os.environ.get("OMEGAD_SOCKET")
    return Path(env) if env else runtime_dir() / SOCKET_NAME


def _sidecar(sock: Path, suffix: str) -> Path:
    stem = sock.name[: -len(".sock")] if sock.name.endswith(".sock") else sock.name
    return sock.with_name(stem + suffix)


def pidfile_path(sock: Path) -> Path:
    return _sidecar(sock, ".pid")


def start_lock_path(sock: Path) -> Path:
    return _sidecar(sock, ".lock")


def log_path(sock: Path) -> Path:
    return _sidecar(sock, ".log")


def user_data_dir() -> Path:
    """platformdirs' user data dir; on Linux computed here as it does (saves its import)."""
    if sys.platform.startswith("linux"):
        xdg = os.environ.get("XDG_DATA_HOME", "").strip()
        return Path(xdg or os.path.expanduser("~/.local/share")) / APP
    import platformdirs

    return Path(platformdirs.user_data_dir(APP))


def session_dir(cwd: str | None = None) -> Path:
    """The session dir a client asks for: env, then ./.omega-session, then the user data dir."""
    env = os.environ.get("OMEGA_SESSION_DIR")
    if env:
        return Path(env).expanduser().absolute()
    local = Path(cwd or os.getcwd()) / ".omega-session"
    if local.is_dir():
        return local.absolute()
    return user_data_dir()


def ensure_private_dir(path: Path, *, tighten: bool) -> None:
    """Create `path` 0700 if missing; refuse it if it is not ours or others may write to it.

    The socket's dir holds the pidfile, the start lock and the log too: it must be ours and
    writable by us alone (a sticky dir such as /tmp is refused: others could plant names in it).
    With `tighten`, a directory of ours with looser permissions is chmod'ed to 0700 (our own
    runtime dir); without it (a directory the user named), one group or others can write to is
    refused.
    """
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        pass
    except FileNotFoundError:
        os.makedirs(path.parent, mode=0o700, exist_ok=True)
        os.mkdir(path, 0o700)
    st = os.lstat(path)
    if stat.S_ISLNK(st.st_mode):
        raise UnsafePath(f"{path} is a symlink")
    if not stat.S_ISDIR(st.st_mode):
        raise UnsafePath(f"{path} is not a directory")
    if st.st_uid != os.getuid():
        raise UnsafePath(f"{path} belongs to uid {st.st_uid}, not to us (uid {os.getuid()})")
    mode = stat.S_IMODE(st.st_mode)
    if tighten:
        if mode & 0o077:
            os.chmod(path, 0o700)
    elif mode & 0o022:
        raise UnsafePath(f"{path} is writable by other users (mode {mode:04o})")
