"""The `.env` of the client's working directory, read only when it is the user's own.

A `.env` is read when it is a regular file (not a symlink), owned by our uid and not writable by
group or others; otherwise it is ignored and `report` says why (the REPL banner, `-c` on stderr
and `server.status` show it). Its variables go to the daemon in `server.hello` with their names
in `dotenv.names`, so a base URL from it never receives a key from the environment (see
omegad/oracle/select.py and the README's provider section).
"""

from __future__ import annotations

import os
from pathlib import Path

from protocol import owned
from protocol.errors import UntrustedPath

MAX_SIZE = 1 << 20  # a larger .env is not a settings file


class DotEnv:
    """A plain class: `dataclasses` (with `inspect` and `ast`) would cost every one-shot
    client ~8 ms of imports (omegacli/client.py leaves `typing` out for the same reason)."""

    __slots__ = ("path", "values", "ignored")

    def __init__(self, path: Path, values: dict[str, str] | None = None,
                 ignored: str = "") -> None:
        self.path = path
        self.values = {} if values is None else values
        self.ignored = ignored  # why it was not read ("" when it was)

    def report(self, taken: list[str]) -> dict[str, object]:
        """`server.hello`'s `dotenv`; `taken`: the variables whose values came from the file."""
        if self.ignored:
            return {"path": str(self.path), "read": False, "reason": self.ignored}
        return {"path": str(self.path), "read": True, "names": sorted(taken)}

    def notice(self) -> str | None:
        """What the client says when it ignored the file (None when it read it)."""
        return f"ignoring {self.path}: {self.ignored}" if self.ignored else None


def read(cwd: str) -> DotEnv | None:
    """The `.env` in `cwd`: its values, or why it was ignored; None when there is none."""
    path = Path(cwd, ".env")
    try:
        fd = owned.open_owned(path, os.O_RDONLY | os.O_NONBLOCK)
    except FileNotFoundError:
        return None
    except UntrustedPath as e:
        return DotEnv(path, ignored=_why(e, path))
    except OSError as e:
        return DotEnv(path, ignored=f"cannot read it ({e.strerror})")
    try:
        data = os.read(fd, MAX_SIZE + 1)
    finally:
        os.close(fd)
    if len(data) > MAX_SIZE:
        return DotEnv(path, ignored=f"it is larger than {MAX_SIZE} bytes")
    return DotEnv(path, parse(data.decode("utf-8", errors="replace")))


def _why(e: UntrustedPath, path: Path) -> str:
    """`is a symlink` … from the error's `<path> is a symlink; refusing to use it`."""
    text = e.message.removeprefix(f"{path} ").removesuffix("; refusing to use it")
    return f"it {text}; only a regular file of yours that only you can write is read"


def parse(text: str) -> dict[str, str]:
    values: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.removeprefix("export ").partition("=")
        values[key.strip()] = value.strip().strip("'\"")
    return values
