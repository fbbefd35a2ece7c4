"""What a session's actor runs: one typed operation per job.

The RPC methods make these from their params; the `:` command parser (commands.parse) makes the
same values from a command line, so `session.goto {seq: 3}` and `:session goto 3` are one
`Goto(3)`, and `commands.perform` runs every one of them through one `match`. They are frozen
msgspec Structs (one per command: a Struct is made in under a microsecond). A field that is None
is an argument the command line did not give as a number: the command answers with its usage
text, as the reference does. A `:` command with no typed form is a `Command` (its
function and its argument text).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import msgspec


class Operation(msgspec.Struct, frozen=True):
    """The base of every operation: an immutable value, compared by its fields."""


class Input(Operation, frozen=True):
    """Lisp text: each top-level form evaluated in turn."""

    text: str


class Command(Operation, frozen=True):
    """A `:` command without a typed form; `debug`: one of the debugger's (its state is saved
    after it, and the typed debug.* methods read it)."""

    run: Callable[..., Awaitable[None]]  # commands.CommandFn: (session, arg, reply, job)
    arg: str
    debug: bool = False


class Unknown(Operation, frozen=True):
    text: str


# --- the session's timeline -----------------------------------------------------------------------

class Goto(Operation, frozen=True):
    seq: int | None


class Resume(Operation, frozen=True):
    pass


class Fork(Operation, frozen=True):
    name: str


class Save(Operation, frozen=True):
    name: str


# --- snapshots and annotations --------------------------------------------------------------------

class SnapshotCreate(Operation, frozen=True):
    description: str


class SnapshotRestore(Operation, frozen=True):
    id: int | None


class SnapshotDelete(Operation, frozen=True):
    id: int | None


class Annotate(Operation, frozen=True):
    seq: int
    label: str
    description: str = ""


class ImportAnnotations(Operation, frozen=True):
    document: Any  # what timeline.export returned


# --- the stepping debugger ------------------------------------------------------------------------

class DebugStart(Operation, frozen=True):
    code: str


class DebugStep(Operation, frozen=True):
    count: int | None


class DebugContinue(Operation, frozen=True):
    """`:run` / `:continue`: on to a breakpoint, an oracle call or the end."""


class DebugGoto(Operation, frozen=True):
    step: int | None


class DebugBack(Operation, frozen=True):
    count: int | None


class DebugStop(Operation, frozen=True):
    pass


class DebugState(Operation, frozen=True):
    pass


class DebugTrace(Operation, frozen=True):
    start: int
    count: int


class DebugBreakpoints(Operation, frozen=True):
    pass


class DebugBreak(Operation, frozen=True):
    type: str  # "step", "expr" or "effect" (anything else is answered as invalid)
    condition: str


class DebugDelbreak(Operation, frozen=True):
    id: int | None


class DebugToggle(Operation, frozen=True):
    id: int | None


DebugOperation = (DebugStart | DebugStep | DebugContinue | DebugGoto | DebugBack | DebugStop
                  | DebugState | DebugTrace | DebugBreakpoints | DebugBreak | DebugDelbreak
                  | DebugToggle)
