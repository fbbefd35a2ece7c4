"""The source of a session's top-level defines (`:defs`, the open summary's count), kept beside
the journal in `<name>.defs` as of a journal position.

They are a view of the journal: each `input` whose form is a `define` and whose `result` followed.
Reading them back from a long journal means parsing every input again (half a second for 10 000
inputs), so the actor saves them whenever it refreshes the index, and a reopened session reads
the file and only the journal written after it. A missing, unreadable or outdated file (a crash
before the refresh, a journal cut shorter) falls back to reading the whole journal.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import msgspec

from omegad.lang import api
from omegad.persist.index import write_atomic
from omegad.persist.journal import read_journal
from omegad.persist.quarantine import set_aside

log = logging.getLogger("omegad.sessions")

VERSION = 1


class _Doc(msgspec.Struct, array_like=True):
    version: int
    journal_end: int  # the journal's size when these were saved (a line boundary)
    defs: dict[str, str]  # name -> source, in the order they were (re)defined


def save(path: Path, journal_end: int, defs: dict[str, str]) -> None:
    try:
        write_atomic(path, msgspec.msgpack.encode(_Doc(VERSION, journal_end, defs)))
    except OSError as e:  # the journal still has them: a later open reads it instead
        log.warning("could not save %s: %s", path.name, e)


def load(path: Path, journal: Path) -> dict[str, str]:
    """The defines in effect at the end of `journal`."""
    try:
        doc = msgspec.msgpack.decode(path.read_bytes(), type=_Doc)
        if doc.version == VERSION and doc.journal_end <= journal.stat().st_size:
            return defines_of(read_journal(journal, start=doc.journal_end).events, doc.defs)
    except FileNotFoundError:
        pass
    except (OSError, msgspec.DecodeError, msgspec.ValidationError) as e:
        log.warning("%s unreadable (%s): reading the journal", path.name, e)
        try:  # set aside: the next refresh writes it again
            set_aside(path)
            path.unlink()
        except OSError:
            pass
    return defines_of(read_journal(journal).events)


def defines_of(events: list[dict[str, Any]], defs: dict[str, str] | None = None
               ) -> dict[str, str]:
    """`defs` updated by the top-level defines that succeeded among `events`."""
    defs = {} if defs is None else defs
    code = None
    for event in events:
        if event["type"] == "input":
            code = event["code"]
        elif event["type"] == "result" and code is not None:
            name = _defined(code)
            if name is not None:
                defs.pop(name, None)
                defs[name] = code
            code = None
    return defs


def _defined(code: str) -> str | None:
    if "define" not in code:  # most inputs: no need to read them
        return None
    forms = api.parse_inputs(code)
    return api.define_name(forms[-1].datum) if forms else None
