"""Reading a file a user names (`:loadfile`, `:replay`): a regular file of bounded size, read in a
worker thread so a slow disk never holds the event loop.

A device (`/dev/zero`), a FIFO, a socket or a directory is refused by its type before anything is
read (the open itself cannot block: O_NONBLOCK), a `/proc` file by its file system (its size says
nothing about what reading it yields), and a file over MAX_USER_FILE by its size; at most
MAX_USER_FILE + 1 bytes are ever read, so a file growing meanwhile is caught too."""

from __future__ import annotations

import os
import stat

import trio

MAX_USER_FILE = 16 * 1024 * 1024   # bytes (README: ":loadfile")

_KINDS = ((stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISFIFO, "a FIFO"),
          (stat.S_ISSOCK, "a socket"))


class NotLoadable(ValueError):
    """The path names something that is not a regular file of a loadable size."""


async def read_user_file(path: str, limit: int = MAX_USER_FILE) -> str:
    """The UTF-8 text of `path`; OSError, NotLoadable or UnicodeDecodeError say why not."""
    data = await trio.to_thread.run_sync(read_user_bytes, path, limit)
    return data.decode("utf-8")


def read_user_bytes(path: str, limit: int = MAX_USER_FILE) -> bytes:
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOCTTY)
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise NotLoadable(f"{path} is a directory")
        for is_kind, kind in _KINDS:
            if is_kind(st.st_mode):
                raise NotLoadable(f"{path} is {kind}, not a regular file")
        if not stat.S_ISREG(st.st_mode):
            raise NotLoadable(f"{path} is not a regular file")
        if _on_proc(st):
            raise NotLoadable(f"{path} is a /proc file, not a regular file")
        if st.st_size > limit:
            raise NotLoadable(f"{path} is too large to load ({st.st_size} bytes; "
                              f"the limit is {limit})")
        chunks = []
        got = 0
        while got <= limit:
            chunk = os.read(fd, min(1 << 20, limit + 1 - got))
            if not chunk:
                break
            chunks.append(chunk)
            got += len(chunk)
        if got > limit:
            raise NotLoadable(f"{path} is too large to load (over {limit} bytes)")
        return b"".join(chunks)
    finally:
        os.close(fd)


def _on_proc(st: os.stat_result) -> bool:
    try:
        return st.st_dev == os.stat("/proc").st_dev
    except OSError:
        return False
