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


class Input(Operation):
    """Lisp text: each top-level form evaluated in turn."""

    text: str


class Command(Operation):
    """A `:` command without a typed form; `debug`: one of the debugger's (its state is saved
    after it, and the typed debug.* methods read it)."""

    run: Callable[..., Awaitable[None]]  # commands.CommandFn: (session, arg, reply, job)
    arg: str
    debug: bool = False


class Unknown(Operation):
    text: str


# --- the session's timeline -----------------------------------------------------------------------

class Goto(Operation):
    seq: int | None


class Resume(Operation):
    pass


class Fork(Operation):
    name: str


class Save(Operation):
    name: str


# --- snapshots and annotations --------------------------------------------------------------------

class SnapshotCreate(Operation):
    description: str


class SnapshotRestore(Operation):
    id: int | None


class SnapshotDelete(Operation):
    id: int | None


class Annotate(Operation):
    seq: int
    label: str
    description: str = ""


class ImportAnnotations(Operation):
    document: Any  # what timeline.export returned


# --- the stepping debugger ------------------------------------------------------------------------

class DebugStart(Operation):
    code: str


class DebugStep(Operation):
    count: int | None


class DebugContinue(Operation):
    """`:run` / `:continue`: on to a breakpoint, an oracle call or the end."""


class DebugGoto(Operation):
    step: int | None


class DebugBack(Operation):
    count: int | None


class DebugStop(Operation):
    pass


class DebugState(Operation):
    pass


class DebugTrace(Operation):
    start: int
    count: int


class DebugBreakpoints(Operation):
    pass


class DebugBreak(Operation):
    type: str  # "step", "expr" or "effect" (anything else is answered as invalid)
    condition: str


class DebugDelbreak(Operation):
    id: int | None


class DebugToggle(Operation):
    id: int | None


DebugOperation = (DebugStart | DebugStep | DebugContinue | DebugGoto | DebugBack | DebugStop
                  | DebugState | DebugTrace | DebugBreakpoints | DebugBreak | DebugDelbreak
                  | DebugToggle)
