"""Files that `:` commands read or write on a client's behalf (:dump, :export, :replay, :loadfile,
:session export-annotations / import-annotations).

A path is absolute, or relative to the client's working directory (`cwd` in `server.hello`);
a relative path from a client that sent none is refused (it would resolve against the daemon's
working directory). A command never writes into a session dir other than the client's own, nor
over the files omega keeps in the client's own (its `sessions/` dir and its lock). Files are
written through omegad/owned.py: a symlink or someone else's file at the target is refused.
Files are read as user_files.py reads them: a regular file of bounded size, off the event loop.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from omegad import owned
from omegad.user_files import NotLoadable, read_user_file
from protocol.errors import UntrustedPath
from protocol.paths import SESSION_DIR_LOCK

if TYPE_CHECKING:
    from omegad.caller import Caller


class ClientPathError(Exception):
    """A path a `:` command cannot use; the message says which and why."""


class ClientFileMissing(ClientPathError):
    """The file to read does not exist."""

    def __init__(self, path: Path):
        super().__init__(f"No such file or directory: {path}")
        self.path = path


def os_message(e: OSError) -> str:
    """An OSError as one line: its reason, and the file when it names one."""
    return f"{e.strerror or e}: {e.filename}" if e.filename else str(e.strerror or e)


def resolve(conn: Caller | None, arg: str) -> Path:
    """The file `arg` names for this client: absolute, or relative to its working directory."""
    text = arg.strip()
    if "\0" in text:
        raise ClientPathError("the path contains a NUL byte")
    path = Path(text).expanduser()
    if path.is_absolute():
        return path
    cwd = conn.cwd if conn is not None else None
    if cwd is None:
        raise ClientPathError(f"{text} is a relative path and the client sent no working "
                              "directory in server.hello (give an absolute path)")
    return cwd / path


def writable(conn: Caller | None, arg: str) -> Path:
    """`resolve`, refusing a target inside another session dir or among omega's own files."""
    path = resolve(conn, arg)
    real = Path(os.path.realpath(path.parent)) / path.name
    own = conn.session_dir if conn is not None else None
    served = set(conn.daemon.session_dirs) if conn is not None else set()
    for above in real.parents:
        if above == own:
            inside = real.relative_to(own).parts
            if inside[0] in ("sessions", SESSION_DIR_LOCK):
                raise ClientPathError(f"{path} would overwrite the session dir's own files")
            break
        if above in served or os.path.lexists(above / SESSION_DIR_LOCK):
            raise ClientPathError(f"{path} is inside the session dir {above}, which is not this "
                                  "client's")
    return path


def write(conn: Caller | None, arg: str, text: str) -> Path:
    """Write `text` to the file `arg` names (created with the usual 0666 & umask); its path."""
    path = writable(conn, arg)
    try:
        owned.write_file(path, text.encode(), private=False, mode=0o666)
    except UntrustedPath as e:
        raise ClientPathError(e.message) from None
    except OSError as e:
        raise ClientPathError(os_message(e)) from None
    return path


async def read(conn: Caller | None, arg: str) -> tuple[Path, str]:
    """The file `arg` names and its UTF-8 text."""
    path = resolve(conn, arg)
    try:
        return path, await read_user_file(str(path))
    except FileNotFoundError:
        raise ClientFileMissing(path) from None
    except OSError as e:
        raise ClientPathError(os_message(e)) from None
    except (NotLoadable, UnicodeDecodeError) as e:
        raise ClientPathError(str(e)) from None
