"""The bridge between a session and the language: run one form in slices, answer its oracle calls.

Everything the actor needs from `omegad.lang` goes through here, so the actor reads as a mailbox
loop and this module reads as "how one form is evaluated".
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

import trio

from omegad import collector, memory
from omegad.lang import api, backtrace, printer
from omegad.lang.revision import restore
from omegad.lang.steps import Steps, advance
from omegad.persist import jsjson

SLICE_SECONDS = 0.002  # a slice of evaluation ends after this much wall time, then trio runs
SLICE_STEPS = 1_000_000  # and after this many steps, whatever the clock says
MIN_GROWTH = 16 << 20  # bytes a form must have grown the daemon by to be ended for --max-memory
TRIM_AFTER = 4 << 20  # bytes a form grew the process by before freed memory is given back
# Far less time than growing by TRIM_AFTER takes: a page becomes resident only once the kernel
# has faulted it in and zeroed it (measured: 3-4 ms for 4 MiB, a `bytes` or a list made at once).
QUICK = 100e-6
OUTPUT_CAP = printer.TEXT_CAP  # characters of `display` output one form may print (README)

T = TypeVar("T")
Oracle = Callable[[api.OracleRequest], Awaitable[api.OracleResponse]]


@dataclass
class Outcome:
    ok: bool
    line: str  # "=> …" or "error: …"
    value: str | None  # printed value (the result event's `value`)
    error: str | None
    control: str  # what the checkpoint's state holds as its value ("null" after a define)
    defined: str | None = None  # the name a top-level define bound
    frames: list[backtrace.Frame] = field(default_factory=list)  # an error's, innermost first
    more_frames: int = 0


def forms(text: str) -> list[api.Form]:
    return api.parse_inputs(text)


BIG_INPUT = 64 * 1024  # characters; a longer input is read in slices


async def read_forms(text: str) -> list[api.Form]:
    """`forms`; a big input in slices of SLICE_SECONDS, between which others are served."""
    if len(text) <= BIG_INPUT:
        return forms(text)
    return await in_slices(api.parse_inputs_steps(text))


async def journal_text(text: str) -> str | jsjson.Pieces:
    """An input's text as its journal events hold it: a big one encoded in slices (jsjson)."""
    if len(text) <= BIG_INPUT:
        return text
    return await in_slices(jsjson.string_steps(text))


async def in_slices(steps: Steps[T]) -> T:
    """Run work done in steps (steps.py) in slices of SLICE_SECONDS, between which others are
    served; returns its result."""
    with collector.evaluating():   # (no full collection inside a slice: it walks everything)
        while True:
            over = slice_clock()
            while not over():
                done, result = advance(steps)
                if done:
                    value: T = result
                    return value
            await trio.lowlevel.checkpoint()


async def evaluate(
    state: api.ReplState,
    form: api.Form,
    sink: Callable[[str], None],
    oracle: Oracle,
    on_slice: Callable[[], Awaitable[None]] | None = None,
    *,
    step_budget: int | None = None,
    memory_budget: int | None = api.DEFAULT_MEMORY_BUDGET,
    max_memory: int | None = None,
) -> Outcome:
    """Evaluate one form; on cancellation the state is rolled back before the Cancelled leaves.

    Between slices the process's real size is read: a form that grew it by more than its
    memory budget, or past `max_memory` (the daemon's whole limit), ends with an error."""
    capped = OutputCap(sink)
    run = api.start(state, form, output_sink=capped, step_budget=step_budget,
                    memory_budget=memory_budget)
    watch = RssWatch(memory_budget, max_memory)
    try:
        with collector.evaluating():
            r = await drive(run, watch, oracle, on_slice)
            capped.close()
            outcome = _outcome(form, r)
            run.release()
            del r
            if api.unburied():
                await _bury()
            # (giving memory back is a step of its own: milliseconds, as building the answer)
            if watch.grew():
                await trio.lowlevel.checkpoint()
                watch.give_back()
                await trio.lowlevel.checkpoint()
            return outcome
    except BaseException:   # (interrupted: the answer does not wait for memory to go back)
        run.abandon()
        capped.close()
        run.release()
        _owed.append(watch)
        raise


async def drive(run: api.Run, watch: RssWatch, oracle: Oracle,
                on_slice: Callable[[], Awaitable[None]] | None = None) -> api.Done | api.Failed:
    """Run `run` to its end in slices of SLICE_SECONDS, answering its oracle calls; between
    slices the process's real size is checked against `watch` (a form's, or an oracle's nested
    evaluation's: the same accounting for both)."""
    while True:
        r = run.run(SLICE_STEPS, slice_clock(), watch.grown)
        if isinstance(r, api.Running):
            over = watch.over()
            if over is not None:
                run.stop(over)
                continue
            if on_slice is not None:
                await on_slice()
            await trio.lowlevel.checkpoint()
        elif isinstance(r, api.NeedsOracle):
            try:
                response = await oracle(r.request)
            except OracleFailure as e:
                run.resume_error(str(e))
            else:
                run.resume(response)
        else:
            return r


async def _bury() -> None:
    """The big lists the form made and left behind are freed in slices, not in one go (asked
    only when `api.unburied()`: most forms leave none)."""
    await in_slices(api.bury_steps())


_owed: list[RssWatch] = []  # interrupted forms whose memory is given back after their answer


async def tidy() -> None:
    """After a job (its answer has left): what an interrupted form left to free is freed in
    slices, and the memory given back, before the next job starts."""
    if api.unburied():
        await _bury()
    while _owed:
        _owed.pop().give_back()


class RssWatch:
    """The process's resident size during one form, against the form's budget and the
    daemon's limit (memory.py reads it: a few microseconds per slice)."""

    def __init__(self, budget: int | None, limit: int | None) -> None:
        self.budget = budget
        self.limit = limit
        self.start = memory.rss()
        self.since = time.perf_counter()

    def grown(self) -> int:
        return max(0, memory.rss() - self.start)

    def over(self) -> str | None:
        now = memory.rss()
        if self.budget is not None and now - self.start > self.budget:
            return (f"memory budget exceeded (the daemon grew by {now - self.start} bytes "
                    f"> {self.budget})")
        if self.limit is not None and now - memory.baseline() > self.limit \
                and now - self.start > MIN_GROWTH:
            return (f"daemon memory limit exceeded (sessions hold {now - memory.baseline()} "
                    f"bytes > --max-memory {self.limit})")
        return None

    def grew(self) -> bool:
        """The form grew the process enough for freed memory to be given back. One that ended
        within QUICK of its start did not: its size is not read again (most forms; the read is
        a system call)."""
        if time.perf_counter() - self.since < QUICK:
            return False
        return memory.rss() > self.start + TRIM_AFTER

    def give_back(self) -> None:
        """After a form: what it made and no longer holds (all of it, when it failed or was
        interrupted; its printed value's pieces when it succeeded) goes back to the system."""
        if self.grew():
            memory.trim(self.start)


class OutputCap:
    """A sink passing on at most `limit` characters of a form's `display` output; what it
    held back is counted and named by one last line, `… [N more bytes]` (the rule a printed
    value follows too: printer.py). A displayed value the printer cut already comes with its
    marker: what that marker counts is added, so N is every byte not shown."""

    def __init__(self, sink: Callable[[str], None], limit: int = OUTPUT_CAP) -> None:
        self.sink = sink
        self.room = limit
        self.dropped = 0
        self.exact = True

    def __call__(self, chunk: str) -> None:
        room = self.room
        if len(chunk) <= room:
            self.room -= len(chunk)
            self.sink(chunk)
            return
        if room:
            self.sink(chunk[:room])
            self.room = 0
        end, more, exact = printer.cut_off(chunk, room)  # (measured in place: 20 MB displayed
        self.dropped += printer.utf8_size(chunk, room, end) + more  # are not copied to be)
        self.exact = self.exact and exact

    def close(self) -> None:
        if self.dropped:
            self.sink("\n" + printer.more_marker(self.dropped, self.exact) + "\n")
            self.dropped = 0


def slice_clock(seconds: float = SLICE_SECONDS) -> Callable[[], bool]:
    """The machine's `should_yield` for one slice: has the slice had its time?"""
    deadline = time.perf_counter() + seconds
    return lambda: time.perf_counter() >= deadline


class OracleFailure(Exception):
    """An oracle call that failed: the command ends with `error: <message>`."""


def _outcome(form: api.Form, r: api.Done | api.Failed) -> Outcome:
    if isinstance(r, api.Failed):
        return Outcome(False, r.printed, None, r.message, "", frames=r.frames,
                       more_frames=r.more_frames)
    value = r.printed[3:]
    defined = api.define_name(form.datum)
    return Outcome(True, r.printed, value, None, "null" if defined else value, defined)


def discard(state: api.ReplState, version: int) -> api.ReplState:
    """Undo a form that completed but could not be journaled: back to the state's last
    checkpoint (taken after the previous form), as if it had never run. A state with none yet
    has had no form succeed: that is a new state."""
    if state.head is None:
        return api.ReplState()
    restore(state, state.head)
    state.version = version
    return state
