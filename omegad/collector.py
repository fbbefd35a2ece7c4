"""The daemon's memory housekeeping, done when no command is running.

Full garbage collections: CPython starts one whenever enough objects have survived into the
oldest generation; in a daemon whose sessions hold tens of thousands of long-lived objects, that
is a pause of several milliseconds landing on whichever command happens to allocate at that
moment (bench/timeline.py: the one slow restore in five after a restart, 7 ms instead of 3.5).
Here the oldest generation's automatic threshold is raised to a backstop, and this task runs the
full collection itself once no command has run for `IDLE` seconds and the usual amount of work
is due. Under a continuous stream of commands the backstop still collects.

Warming up: at the first idle moment, while no session is open yet, the evaluator's primitives
are imported and one session state is built (the first session opened must not pay for them),
and everything made so far is frozen (gc.freeze): full collections no longer walk the daemon's
own ~50 000 long-lived objects (measured: a 20 ms pause becomes 11 ms). Not at start-up itself:
a client that starts the daemon is waiting for its first answer.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable

import trio

IDLE = 0.05  # seconds without a request or command before a due full collection runs
DUE = 10  # collections of the middle generation that make a full one due (CPython's default)
BACKSTOP = 100  # the automatic threshold while this task runs: 10 times later than CPython's

_last_activity = time.monotonic()


def activity() -> None:
    """The daemon is not idle: called as each request arrives (server.py) and after each
    command (actor.py)."""
    global _last_activity
    _last_activity = time.monotonic()


async def run(no_sessions: Callable[[], bool]) -> None:
    """The task (in the daemon's root nursery); `no_sessions()`: nothing is open yet. What the
    daemon made before it served anyone (its modules: ~30 000 objects) is frozen at once,
    whether or not the warm-up comes: a full collection after a session's first big form
    (memory.trim) walked them, 20-30 ms of one step on a loaded machine, instead of 1."""
    gc.freeze()
    young, middle, old = _between
    _set_between(young, middle, BACKSTOP)
    warm = False
    try:
        while True:
            await trio.sleep(IDLE)
            if time.monotonic() - _last_activity < IDLE or _evaluating[0]:
                continue  # (a slice that runs long also looks idle: no request is read)
            if not warm:
                warm = True
                if no_sessions():
                    warm_up()
            elif gc.get_count()[2] >= DUE:
                gc.collect()
    finally:
        _set_between(young, middle, old)


_evaluating = [0]
NO_FULL = 1 << 30  # the oldest generation's threshold while evaluations run: never reached
# The thresholds while no evaluation runs. They are changed only here (each read or change is a
# call that parses its arguments: four of them cost a small command ~1 µs).
_between = list(gc.get_threshold())


def _set_between(young: int, middle: int, old: int) -> None:
    _between[:] = [young, middle, old]
    if not _evaluating[0]:
        gc.set_threshold(young, middle, old)


class _Evaluating:
    """No automatic full collection while any evaluation runs: one walks every object the
    daemon holds (600 ms on a heap of a million pairs, measured under load), and the slice it
    lands in holds the loop that long. Young generations are still collected; the full
    collection waits for this task's idle moment (or the backstop once no evaluation runs).
    A class, not a generator: it wraps every command (a generator's context costs ~4 µs)."""

    def __enter__(self) -> None:
        if not _evaluating[0]:
            gc.set_threshold(_between[0], _between[1], NO_FULL)
        _evaluating[0] += 1

    def __exit__(self, *exc: object) -> None:
        _evaluating[0] -= 1
        if not _evaluating[0]:
            gc.set_threshold(*_between)


_EVALUATING = _Evaluating()


def evaluating() -> _Evaluating:
    """`with evaluating():` around an evaluation (see _Evaluating)."""
    return _EVALUATING


def warm_up() -> None:
    from omegad.lang import api

    api.ReplState()
    gc.collect()
    gc.freeze()
