"""Writes that fail (a full disk, an I/O error) leave a file as it was, and are named for the user.

An append that fails part way is rolled back to the file's last good length, so the next append
(once there is space again) goes where it should; the error the command gets says which file,
what failed and, by its code, what kind of failure it was (protocol/errors.py).
"""

from __future__ import annotations

import errno
import logging
import os
from pathlib import Path

from protocol import errors

log = logging.getLogger("omegad.persist")

FULL = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)
DENIED = (errno.EACCES, errno.EPERM, errno.EROFS, errno.ELOOP)


class CorruptRecord(ValueError):
    """A record read from a checkpoint file fails its checksum."""

    def __init__(self, message: str, path: Path) -> None:
        super().__init__(message)
        self.path = path


def append_or_roll_back(fd: int, blob: bytes, size: int, path: Path) -> None:
    """Write all of `blob` at the end of the file (`size` bytes long before it); when a write
    fails, cut the file back to `size` and raise the OSError (with the file's path)."""
    view = memoryview(blob)
    try:
        while view:
            view = view[os.write(fd, view):]
    except OSError as e:
        roll_back(fd, size, path)
        if e.filename is None:
            e.filename = str(path)
        raise


def roll_back(fd: int, size: int, path: Path) -> None:
    try:
        os.ftruncate(fd, size)
    except OSError as e:  # the next append finds the file changed and refuses: still no loss
        log.error("could not cut %s back to %d bytes: %s", path, size, e)


def storage_failure(e: OSError | CorruptRecord, doing: str) -> errors.RpcError:
    if isinstance(e, CorruptRecord):
        return errors.StorageCorrupt(str(e), {"path": str(e.path)})
    return storage_error(e, doing)


def storage_error(e: OSError, doing: str, path: Path | str | None = None) -> errors.RpcError:
    """The application error for a failed read or write: `doing` says what omega was doing
    ("writing the journal"); the message names the file and the system's reason."""
    where = path if path is not None else e.filename
    name = os.fspath(where) if where is not None else "?"
    reason = e.strerror or str(e)
    message = f"{doing} failed: {name}: {reason}"
    data = {"path": name, "reason": reason, "errno": e.errno}
    if e.errno in FULL:
        return errors.StorageFull(message + " (nothing was changed; free some space and retry)",
                                  data)
    if e.errno in DENIED:
        return errors.StoragePermission(message, data)
    return errors.StorageFailed(message + " (nothing was changed)", data)
