"""Copying a byte range of one file into a new one, in the kernel where it can (a fork's journal
and checkpoint file are a new first line and a prefix of the source's bytes)."""

from __future__ import annotations

import os
from pathlib import Path

from omegad import owned


def write_with_copy(target: Path, head: bytes, source: Path, start: int, end: int) -> None:
    """Write `target` as `head` followed by the bytes [start, end) of `source`."""
    fd = owned.open_owned(target, os.O_WRONLY | os.O_TRUNC, create=True)
    try:
        _write_all(fd, head)
        src = owned.open_owned(source, os.O_RDONLY)
        try:
            _copy_range(src, fd, start, end - start)
        finally:
            os.close(src)
    finally:
        os.close(fd)


def _copy_range(src: int, dst: int, offset: int, length: int) -> None:
    while length > 0:
        try:
            n = os.copy_file_range(src, dst, length, offset)
        except OSError:
            n = 0
        if n <= 0:  # not supported here (or the source ended): through user space
            n = len(chunk := os.pread(src, min(length, 1 << 20), offset))
            if n == 0:
                raise OSError(f"the source ended {length} bytes early")
            _write_all(dst, chunk)
        offset += n
        length -= n


def _write_all(fd: int, blob: bytes) -> None:
    view = memoryview(blob)
    while view:
        view = view[os.write(fd, view) :]


def copy_files(pairs: list[tuple[Path, Path]]) -> None:
    """Copy each source over its target, all or none: each is copied to a temp file beside its
    target first, and only when every copy is whole are they renamed into place (a full disk
    half way leaves every target as it was)."""
    temps: list[tuple[Path, Path]] = []
    try:
        for source, target in pairs:
            tmp = target.with_name(f".{target.name}.tmp")
            temps.append((tmp, target))
            write_with_copy(tmp, b"", source, 0, source.stat().st_size)
    except OSError:
        for tmp, _target in temps:
            tmp.unlink(missing_ok=True)
        raise
    for tmp, target in temps:
        os.replace(tmp, target)


class WrittenFile:
    """A file written whole through another handle (a fork's copies), for the persistence
    worker's fsync rounds: its data, then its directory entry."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fsync(self) -> None:
        for target, flags in ((self.path, os.O_RDONLY), (self.path.parent, os.O_RDONLY)):
            try:
                fd = os.open(target, flags)
            except FileNotFoundError:
                return  # deleted since: nothing to keep
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
