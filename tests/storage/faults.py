"""A fault-injecting file layer for tests, in the spirit of SQLite's test VFS.

`FaultyDisk` wraps the os-level calls omega's persistence makes (`os.open`, `os.write`,
`os.fsync`, `os.replace`, `os.copy_file_range`) for files under one directory: it can fail the
Nth write with ENOSPC (every write after it too, until `free()`) or EIO (once), after writing
part of it, as a filling disk does; and it remembers what each file held
when it was last fsync'd, so a test can "crash" the machine: every file goes back to its last
synced bytes (a file never synced disappears), as after a power loss.
`unreadable(path)` makes opening one file fail with EACCES, even for root.
"""

from __future__ import annotations

import builtins
import errno
import io
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


class FaultyDisk:
    def __init__(self, root: Path) -> None:
        self.root = str(root)
        self.fds: dict[int, str] = {}
        self.writes = 0  # writes to files under root so far
        self.fail_at: int | None = None  # the write (1-based) that fails
        self.error = errno.ENOSPC
        self.failed = 0
        self.failed_path = ""
        self.full = False
        self.synced: dict[str, bytes] = {}
        self._real = (os.open, os.write, os.fsync, os.replace, os.close)
        self._copy_range = os.copy_file_range

    def __enter__(self) -> FaultyDisk:
        for path in Path(self.root).rglob("*"):
            if path.is_file():
                self.synced[str(path)] = path.read_bytes()
        os.open, os.write, os.fsync, os.replace, os.close = (  # type: ignore[assignment]
            self._open, self._write, self._fsync, self._replace, self._close)
        os.copy_file_range = self._copy  # type: ignore[assignment]
        return self

    def __exit__(self, *exc: object) -> None:
        os.open, os.write, os.fsync, os.replace, os.close = self._real  # type: ignore[assignment]
        os.copy_file_range = self._copy_range  # type: ignore[assignment]

    def fail_write(self, n: int, error: int = errno.ENOSPC) -> None:
        """Fail the `n`th write from now (it writes half its bytes, then the rest fails). A full
        disk (ENOSPC) stays full, failing every write after, until `free()`; EIO fails once."""
        self.fail_at, self.error = self.writes + n, error
        self.full = error == errno.ENOSPC

    def free(self) -> None:
        """Space is back."""
        self.fail_at, self.full = None, False

    def _open(self, path: Any, flags: int, mode: int = 0o777, **kw: Any) -> int:
        fd = self._real[0](path, flags, mode, **kw)
        name = os.path.abspath(os.fspath(path))
        if name.startswith(self.root) and not os.path.isdir(name):
            self.fds[fd] = name
        return fd

    def _close(self, fd: int) -> None:
        self.fds.pop(fd, None)
        self._real[4](fd)

    def _write(self, fd: int, data: Any) -> int:
        if fd not in self.fds:
            return self._real[1](fd, data)
        if self._failing(fd, len(data)):
            return self._real[1](fd, bytes(data)[: len(data) // 2])  # a short write
        return self._real[1](fd, data)

    def _copy(self, src: int, dst: int, count: int, *args: Any) -> int:
        """A copy in the kernel (copy_file_range) is a write too."""
        if dst in self.fds and self._failing(dst, count):
            return self._copy_range(src, dst, count // 2, *args)
        return self._copy_range(src, dst, count, *args)

    def _failing(self, fd: int, size: int) -> bool:
        """Count a write; True: write half of it (the failing write's first call); raises
        the error on the call after."""
        self.writes += 1
        if self.fail_at is None or self.writes < self.fail_at:
            return False
        if self.writes == self.fail_at and size > 1:
            return True
        if not self.full:
            self.fail_at = None
        self.failed += 1
        self.failed_path = self.fds[fd]
        raise OSError(self.error, os.strerror(self.error))

    def _fsync(self, fd: int) -> None:
        self._real[2](fd)
        name = self.fds.get(fd)
        if name is not None and os.path.isfile(name):
            with open(name, "rb") as f:
                self.synced[name] = f.read()

    def _replace(self, src: Any, dst: Any, **kw: Any) -> None:
        self._real[3](src, dst, **kw)
        s, d = os.path.abspath(os.fspath(src)), os.path.abspath(os.fspath(dst))
        if s in self.synced:
            self.synced[d] = self.synced.pop(s)

    def power_loss(self) -> None:
        """Every file under root back to what it held at its last fsync (or gone)."""
        for path in Path(self.root).rglob("*"):
            if not path.is_file() or path.suffix == ".sock":
                continue
            kept = self.synced.get(str(path))
            if kept is None:
                path.unlink()
            else:
                path.write_bytes(kept)


@contextmanager
def unreadable(path: Path | None) -> Iterator[None]:
    """Opening `path` fails with EACCES (whoever we are) while the block runs."""
    if path is None:
        yield
        return
    target = str(path)
    real_open, real_io_open = os.open, io.open

    def denied(name: Any) -> bool:
        try:
            return os.path.abspath(os.fspath(name)) == target
        except TypeError:
            return False

    def os_open(name: Any, *args: Any, **kw: Any) -> int:
        if denied(name):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), target)
        return real_open(name, *args, **kw)

    def io_open(name: Any, *args: Any, **kw: Any) -> Any:
        if denied(name):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), target)
        return real_io_open(name, *args, **kw)

    os.open, io.open, builtins.open = os_open, io_open, io_open  # type: ignore[assignment]
    try:
        yield
    finally:
        os.open, io.open, builtins.open = real_open, real_io_open, real_io_open  # type: ignore[assignment]
