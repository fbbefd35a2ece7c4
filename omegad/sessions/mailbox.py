"""An actor's mail: the job a request queues (an operation, who asked, how it ended) and the reply
a command prints into."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import trio

from protocol import methods as m

if TYPE_CHECKING:
    from omegad.caller import Caller
    from omegad.sessions.operations import Operation


@dataclass(slots=True)  # no field is added on the fly
class Job:
    op: Operation
    command: str  # the command line attached followers see as its `input` notice
    conn: Caller | None
    piped: bool
    typed: bool = False  # made from an RPC method's params: a notes error is an RPC error
    done: trio.Event = field(default_factory=trio.Event)
    result: m.ExecuteResult | None = None
    error: BaseException | None = None
    scope: trio.CancelScope | None = None
    abandoned: bool = False
    data: Any = None  # what the operation made, for an RPC method to return typed (a snapshot …)
    callback: Callable[[Any], None] | None = None  # the connection's, when it awaits no task
    memory_budget: int | None = None  # session.execute's own limits (None: the daemon's)
    step_budget: int | None = None
    detached: bool = False  # runs on when its connection ends (session.execute {detach})
    started: float | None = None  # time.monotonic() when it started running

    def when_done(self, callback: Callable[[Any], None]) -> None:
        """Answer the request by calling back (dispatch.Answering) instead of a waiting task."""
        self.callback = callback

    def abandon(self) -> None:
        """Its request was cancelled: skip the command if queued, interrupt it if running."""
        self.abandoned = True
        if self.scope is not None:
            self.scope.cancel()

    async def wait(self) -> m.ExecuteResult:
        try:
            await self.done.wait()
        except trio.Cancelled:
            if not (self.detached and self.conn is not None and self.conn.closed):
                self.abandon()
            raise
        if self.error is not None:
            raise self.error
        assert self.result is not None
        return self.result

    def finish(self) -> None:
        self.done.set()
        callback, self.callback = self.callback, None  # (it holds the job: a cycle otherwise)
        if callback is not None:
            callback(self.error if self.error is not None else self.result)


@dataclass(slots=True)
class Reply:
    """What a command printed, piece by piece, and how its last evaluation ended."""

    text: list[str] = field(default_factory=list)
    ok: bool = True
    value: str | None = None
    error: str | None = None
    should_exit: bool = False
    session: str | None = None
    failed: int = 0  # inputs that ended in an error (ExecuteResult.failed)
    unsent: list[str] = field(default_factory=list)  # lines not yet streamed as `result`

    def line(self, text: str) -> None:
        self.text.append(text + "\n")
        self.unsent.append(text + "\n")
        if text.startswith("error: "):
            self.fail(text.removeprefix("error: "))

    def fail(self, message: str) -> None:
        """An input ended in an error (its line printed already)."""
        self.ok, self.value, self.error = False, None, message
        self.failed += 1

    def lines(self, lines: list[str]) -> None:
        if lines:  # one piece: a listing of 10 000 checkpoints is one join, not 20 000 appends
            block = "\n".join(lines) + "\n"
            self.text.append(block)
            self.unsent.append(block)

    def output(self) -> str:
        """The text without its last line break, joined once (not copied again to drop it:
        a 1 MiB output is a few milliseconds a copy)."""
        parts = self.text
        end = len(parts)
        while end and not parts[end - 1]:
            end -= 1
        if end and parts[end - 1].endswith("\n"):
            return "".join([*parts[:end - 1], parts[end - 1][:-1]])
        return "".join(parts)
