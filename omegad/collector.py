"""Full garbage collections between commands, not in the middle of one.

CPython starts a full collection whenever enough objects have survived into the oldest
generation: in a daemon whose sessions hold tens of thousands of long-lived objects, that is a
pause of several milliseconds landing on whichever command happens to allocate at that moment
(bench/timeline.py: the one slow restore of five after a restart). Here the oldest generation's
automatic threshold is raised to a backstop, and a task in the root nursery runs the full
collection itself once no command has run for `IDLE` seconds and the usual amount of work is
due. Under a continuous stream of commands the backstop still collects.
"""

from __future__ import annotations

import gc
import time

import trio

IDLE = 0.05  # seconds without a command before a due full collection runs
DUE = 10  # collections of the middle generation that make a full one due (CPython's default)
BACKSTOP = 100  # the automatic threshold while this task runs: 10 times later than CPython's

_last_command = time.monotonic()


def command_ran() -> None:
    """Called after each command (actor.py): the daemon is not idle."""
    global _last_command
    _last_command = time.monotonic()


async def run() -> None:
    young, middle, _old = gc.get_threshold()
    gc.set_threshold(young, middle, BACKSTOP)
    try:
        while True:
            await trio.sleep(IDLE)
            if gc.get_count()[2] >= DUE and time.monotonic() - _last_command >= IDLE:
                gc.collect()
    finally:
        gc.set_threshold(young, middle, _old)
