"""Playing the other user: a forked child that drops to an unprivileged uid to plant files.

    shared = shared_dir()                 # a 1777 dir, as /shared/project on a multi-user machine
    as_other(lambda: os.symlink(victim_file, shared / "x"))
    before = Witness([victim_file]); ...; before.assert_untouched()

The child runs the function and exits 0, or prints its traceback and exits 1 (the test fails with
it). Tests need root to drop privileges; elsewhere `needs_root` skips them with that reason.
"""

from __future__ import annotations

import os
import tempfile
import traceback
from collections.abc import Callable
from pathlib import Path

import pytest

OTHER_UID = OTHER_GID = 65534  # nobody/nogroup

needs_root = pytest.mark.skipif(
    not hasattr(os, "setuid") or os.getuid() != 0,
    reason="playing another user needs root to drop privileges (os.setuid); CI runs as root",
)


def as_other(plant: Callable[[], object]) -> None:
    """Run `plant()` in a child process as uid/gid 65534; fail the test if it raised."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        os.close(r)
        code = 0
        try:
            os.setgroups([])
            os.setgid(OTHER_GID)
            os.setuid(OTHER_UID)
            plant()
        except BaseException:
            os.write(w, traceback.format_exc().encode())
            code = 1
        finally:
            os._exit(code)
    os.close(w)
    with os.fdopen(r, "rb") as out:
        report = out.read().decode()
    _, status = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        pytest.fail(f"the other user's planting failed:\n{report}")


def shared_dir() -> Path:
    """A new world-writable sticky dir (mode 1777) in /tmp, as /shared/project on a multi-user
    machine; the caller removes it."""
    d = Path(tempfile.mkdtemp(prefix="om-shared-", dir="/tmp"))
    os.chmod(d, 0o1777)
    return d


def victim_file(parent: Path, name: str, text: str = "the victim's own data\n") -> Path:
    """A file of the victim's (root's), 0600, outside anything omega should write."""
    path = parent / name
    path.write_text(text)
    os.chmod(path, 0o600)
    return path


class Witness:
    """The contents and mtimes of files that nothing may write: `assert_untouched()` compares."""

    def __init__(self, paths: list[Path]) -> None:
        self.paths = paths
        self.before = {p: self._look(p) for p in paths}

    @staticmethod
    def _look(p: Path) -> tuple[bytes, int, int] | None:
        try:
            st = os.lstat(p)
        except FileNotFoundError:
            return None
        data = p.read_bytes() if p.is_file() and not p.is_symlink() else b""
        return data, st.st_mtime_ns, st.st_mode

    def assert_untouched(self) -> None:
        for p in self.paths:
            assert self._look(p) == self.before[p], f"{p} was written"
