"""Setting bytes aside before omega cuts or replaces them: nothing on disk is ever simply gone.

`<name>.jsonl` whose torn tail is cut gets `<name>.jsonl.torn-<UTC time>` beside it, holding the
bytes from the cut on (the whole file when it is replaced): the file as it was is what is left
of it, followed by the quarantine file's bytes.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from omegad import owned

MARK = ".torn-"


def set_aside(path: Path, start: int = 0) -> Path:
    """Copy the bytes of `path` from `start` to its end into a new quarantine file beside it
    (written and fsync'd before this returns); its path. Raises OSError when it cannot: then
    the caller must not cut."""
    while True:
        target = free_name(path)
        try:
            out = owned.open_owned(target, os.O_WRONLY | os.O_CLOEXEC, create="new")
        except FileExistsError:
            continue
        break
    try:
        with open(path, "rb") as src:
            src.seek(start)
            while chunk := src.read(1 << 20):
                view = memoryview(chunk)
                while view:
                    view = view[os.write(out, view):]
        os.fsync(out)
    except OSError:
        os.close(out)
        os.unlink(target)
        raise
    os.close(out)
    return target


def free_name(path: Path) -> Path:
    """`<name>.torn-<UTC time>` beside `path`, with a number after it if that one is taken."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    for n in range(10_000):
        target = path.with_name(f"{path.name}{MARK}{stamp}" + (f".{n}" if n else ""))
        if not os.path.lexists(target):
            return target
    raise FileExistsError(f"no free quarantine name for {path.name}")
