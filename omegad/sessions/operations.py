"""What a session's actor runs: one typed operation per job.

The RPC methods make these from their params; the `:` command parser (commands.parse) makes the
same values from a command line, so `session.goto {seq: 3}` and `:session goto 3` are one
`Goto(3)`, and `commands.perform` runs every one of them through one `match`. A field that is
None is an argument the command line did not give as a number: the command answers with its
usage text, as the reference does. A `:` command with no typed form is a `Command` (its
function and its argument text).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Input:
    """Lisp text: each top-level form evaluated in turn."""

    text: str


@dataclass(frozen=True, slots=True)
class Command:
    """A `:` command without a typed form; `debug`: one of the debugger's (its state is saved
    after it, and the typed debug.* methods read it)."""

    run: Callable[..., Awaitable[None]]  # commands.CommandFn: (session, arg, reply, job)
    arg: str
    debug: bool = False


@dataclass(frozen=True, slots=True)
class Unknown:
    text: str


# --- the session's timeline -----------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Goto:
    seq: int | None


@dataclass(frozen=True, slots=True)
class Resume:
    pass


@dataclass(frozen=True, slots=True)
class Fork:
    name: str


@dataclass(frozen=True, slots=True)
class Save:
    name: str


# --- snapshots and annotations --------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class SnapshotCreate:
    description: str


@dataclass(frozen=True, slots=True)
class SnapshotRestore:
    id: int | None


@dataclass(frozen=True, slots=True)
class SnapshotDelete:
    id: int | None


@dataclass(frozen=True, slots=True)
class Annotate:
    seq: int
    label: str
    description: str = ""


@dataclass(frozen=True, slots=True)
class ImportAnnotations:
    document: Any  # what timeline.export returned


# --- the stepping debugger ------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class DebugStart:
    code: str


@dataclass(frozen=True, slots=True)
class DebugStep:
    count: int | None


@dataclass(frozen=True, slots=True)
class DebugContinue:
    """`:run` / `:continue`: on to a breakpoint, an oracle call or the end."""


@dataclass(frozen=True, slots=True)
class DebugGoto:
    step: int | None


@dataclass(frozen=True, slots=True)
class DebugBack:
    count: int | None


@dataclass(frozen=True, slots=True)
class DebugStop:
    pass


@dataclass(frozen=True, slots=True)
class DebugState:
    pass


@dataclass(frozen=True, slots=True)
class DebugTrace:
    start: int
    count: int


@dataclass(frozen=True, slots=True)
class DebugBreakpoints:
    pass


@dataclass(frozen=True, slots=True)
class DebugBreak:
    type: str  # "step", "expr" or "effect" (anything else is answered as invalid)
    condition: str


@dataclass(frozen=True, slots=True)
class DebugDelbreak:
    id: int | None


@dataclass(frozen=True, slots=True)
class DebugToggle:
    id: int | None


DebugOperation = (DebugStart | DebugStep | DebugContinue | DebugGoto | DebugBack | DebugStop
                  | DebugState | DebugTrace | DebugBreakpoints | DebugBreak | DebugDelbreak
                  | DebugToggle)
Operation = (Input | Command | Unknown | Goto | Resume | Fork | Save | SnapshotCreate
             | SnapshotRestore | SnapshotDelete | Annotate | ImportAnnotations | DebugOperation)
