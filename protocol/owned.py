"""Opening the files omega writes, locks or creates, trusting only what the user owns.

A session dir, the runtime dir and the socket's dir are shared with whoever else can write to
them, so every file omega opens there for writing or locking goes through here:

  open_owned(path, flags)   O_NOFOLLOW | O_CLOEXEC; after opening, fstat: a regular file, ours,
                            not writable by group or others. `create=True` adds O_CREAT,
                            `create="new"` O_CREAT | O_EXCL (the name must not exist at all).
  write_file(path, data)    create or overwrite in place; truncate(path, n); copy_file(a, b)
  replace_atomic(path, data)  a temp file created with O_EXCL beside `path`, fsynced, renamed
                            over it.
  check_dir(path)           a directory (not a symlink), ours, not writable by group or others.
  check_ancestors(path)     each directory above `path` is ours or root's, and writable by
                            others only with the sticky bit (as /tmp); a symlink on the way is
                            ours or root's.
  ensure_dir(path)          create `path` 0700 if missing (and its missing parents), then check it.

Every refusal is an `UntrustedPath` (application code -32020) whose message names the path and
what is wrong with it, as ssh does for `~/.ssh`. Stdlib only: the one-shot client imports it.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from protocol.errors import UntrustedPath

NOFOLLOW = os.O_NOFOLLOW | os.O_CLOEXEC
# O_NONBLOCK: a FIFO planted where a file should be fails or opens at once (and is then refused)
# instead of blocking the daemon until someone reads it; regular files ignore the flag.
OPENING = NOFOLLOW | os.O_NONBLOCK
OPEN_TO_OTHERS = stat.S_IWGRP | stat.S_IWOTH

TYPE_CHECKING = False  # (importing `typing` costs the one-shot client ~3 ms: client.py)
if TYPE_CHECKING:
    from typing import Literal

    Create = bool | Literal["new"]


def open_owned(
    path: str | Path, flags: int, *, create: Create = False, mode: int = 0o600,
    private: bool = True,
) -> int:
    """Open `path` without following a symlink at its end and check what was opened.

    `flags` are the access flags (os.O_WRONLY | os.O_APPEND, os.O_RDWR, ...); O_TRUNC is applied
    with ftruncate only after the checks. The result is a raw fd the caller closes. Raises
    UntrustedPath when the name is a symlink, not a regular file, someone else's, or writable by
    group or others (unless `private` is False: a file the user named, such as an export
    target, may be group-writable); other OSErrors pass through unchanged.
    """
    truncate = bool(flags & os.O_TRUNC)  # only once we know the file is ours
    flags = (flags & ~os.O_TRUNC) | OPENING
    if create == "new":
        flags |= os.O_CREAT | os.O_EXCL
    elif create:
        flags |= os.O_CREAT
    try:
        fd = os.open(path, flags, mode)
    except OSError as e:
        _refuse_link(path, e)
        if e.errno == errno.ENXIO:  # a FIFO nobody reads
            raise untrusted(path, "is not a regular file") from None
        raise
    try:
        check_file(path, os.fstat(fd), private=private)
        if truncate:
            os.ftruncate(fd, 0)
    except BaseException:
        os.close(fd)
        raise
    return fd


def check_file(path: str | Path, st: os.stat_result, *, private: bool = True) -> None:
    """Refuse anything but a regular file of ours (that only we may write, if `private`)."""
    if not stat.S_ISREG(st.st_mode):
        raise untrusted(path, "is not a regular file")
    _check_owner(path, st)
    if private and stat.S_IMODE(st.st_mode) & OPEN_TO_OTHERS:
        raise untrusted(path, f"is writable by group or others (mode {_mode(st)})")


def replace_atomic(path: str | Path, data: bytes, *, sync: bool = True) -> None:
    """Replace `path` with `data` through a temp file created with O_EXCL in the same directory.

    A temp file left by a crash (or planted by anyone) is removed first: unlinking a name never
    writes through it. With `sync`, the data and then the directory entry are fsynced.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        os.unlink(tmp)
    except FileNotFoundError:
        pass
    fd = open_owned(tmp, os.O_WRONLY, create="new")
    try:
        write_all(fd, data)
        if sync:
            os.fsync(fd)
    finally:
        os.close(fd)
    target = _existing_target(path)
    if target is not None and stat.S_ISDIR(target.st_mode):
        os.unlink(tmp)
        raise untrusted(path, "is a directory")
    os.replace(tmp, path)
    if sync:
        fsync_dir(path.parent)


def write_file(path: str | Path, data: bytes, *, private: bool = True, mode: int = 0o600) -> None:
    """Create or overwrite `path` with `data` in place (no fsync): open_owned with O_TRUNC."""
    fd = open_owned(path, os.O_WRONLY | os.O_TRUNC, create=True, mode=mode, private=private)
    try:
        write_all(fd, data)
    finally:
        os.close(fd)


def truncate(path: str | Path, size: int) -> None:
    """os.truncate without following a symlink, on a file of ours only."""
    fd = open_owned(path, os.O_WRONLY)
    try:
        os.ftruncate(fd, size)
    finally:
        os.close(fd)


def copy_file(source: str | Path, target: str | Path) -> None:
    """Copy `source` (a file of ours, not followed if a symlink) over `target` (created 0600)."""
    src = open_owned(source, os.O_RDONLY)
    try:
        dst = open_owned(target, os.O_WRONLY | os.O_TRUNC, create=True)
        try:
            while os.sendfile(dst, src, None, 1 << 24):
                pass
        finally:
            os.close(dst)
    finally:
        os.close(src)


def _existing_target(path: Path) -> os.stat_result | None:
    try:
        return os.lstat(path)
    except FileNotFoundError:
        return None


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def fsync_dir(path: str | Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | NOFOLLOW)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def check_dir(path: str | Path) -> os.stat_result:
    """`path` is a directory (a symlink is refused), ours, not writable by group or others."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        raise untrusted(path, "does not exist") from None
    if stat.S_ISLNK(st.st_mode):
        raise untrusted(path, "is a symlink")
    if not stat.S_ISDIR(st.st_mode):
        raise untrusted(path, "is not a directory")
    _check_owner(path, st)
    if stat.S_IMODE(st.st_mode) & OPEN_TO_OTHERS:
        raise untrusted(path, f"is writable by group or others (mode {_mode(st)})")
    return st


def check_ancestors(path: str | Path) -> None:
    """Everything above `path` (taken absolute, symlinks as written and as resolved) is safe:
    directories owned by us or root and writable by others only with the sticky bit, symlinks
    (`path` itself included) owned by us or root. Otherwise someone else could swap the path
    out from under us, or point it at a directory of ours we did not name."""
    path = Path(os.path.abspath(path))
    if os.path.islink(path):
        written = [path, *path.parents]
    else:
        written = list(path.parents)
    resolved = list(Path(os.path.realpath(path.parent)).parents) + [
        Path(os.path.realpath(path.parent))
    ]
    for above in dict.fromkeys(written + resolved):
        try:
            st = os.lstat(above)
        except FileNotFoundError:
            continue  # not made yet: ensure_dir makes it ours
        if st.st_uid not in (0, os.getuid()):
            whose = f"belongs to uid {st.st_uid}, not to us (uid {os.getuid()}) or root"
            raise untrusted(above, whose)
        sticky = st.st_mode & stat.S_ISVTX
        if stat.S_ISDIR(st.st_mode) and st.st_mode & OPEN_TO_OTHERS and not sticky:
            loose = f"is writable by group or others without the sticky bit (mode {_mode(st)})"
            raise untrusted(above, loose)


def ensure_dir(path: str | Path, mode: int = 0o700) -> Path:
    """Create `path` (and any missing parents) with `mode` if missing; then check it and what is
    above it. Returns `path` as given (absolute if it was)."""
    path = Path(path)
    check_ancestors(path)
    try:
        os.mkdir(path, mode)
    except FileExistsError:
        pass
    except FileNotFoundError:
        ensure_dir(path.parent, mode)
        try:
            os.mkdir(path, mode)
        except FileExistsError:
            pass
    check_dir(path)
    return path


def untrusted(path: str | Path, what: str) -> UntrustedPath:
    return UntrustedPath(f"{path} {what}; refusing to use it", {"path": str(path)})


def _check_owner(path: str | Path, st: os.stat_result) -> None:
    if st.st_uid != os.getuid():
        raise untrusted(path, f"belongs to uid {st.st_uid}, not to us (uid {os.getuid()})")


def _refuse_link(path: str | Path, error: OSError) -> None:
    """O_NOFOLLOW on a symlink fails with ELOOP (EMLINK on some BSDs): say so by name."""
    try:
        is_link = stat.S_ISLNK(os.lstat(path).st_mode)
    except OSError:
        return
    if is_link:
        raise untrusted(path, "is a symlink") from None


def _mode(st: os.stat_result) -> str:
    return f"{stat.S_IMODE(st.st_mode):04o}"
