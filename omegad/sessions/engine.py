"""The bridge between a session and the language: run one form in slices, answer its oracle calls.

Everything the actor needs from `omegad.lang` goes through here, so the actor reads as a mailbox
loop and this module reads as "how one form is evaluated".
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import trio

from omegad.lang import api, backtrace
from omegad.lang.revision import restore

SLICE_STEPS = 3_000  # steps between yields to trio: about 2 ms of evaluation

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


async def evaluate(
    state: api.ReplState,
    form: api.Form,
    sink: Callable[[str], None],
    oracle: Oracle,
    on_slice: Callable[[], Awaitable[None]] | None = None,
    *,
    step_budget: int | None = None,
    memory_budget: int | None = api.DEFAULT_MEMORY_BUDGET,
) -> Outcome:
    """Evaluate one form; on cancellation the state is rolled back before the Cancelled leaves."""
    run = api.start(state, form, output_sink=sink, step_budget=step_budget,
                    memory_budget=memory_budget)
    try:
        while True:
            r = run.run(SLICE_STEPS)
            if isinstance(r, api.Running):
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
                return _outcome(form, r)
    except BaseException:
        run.abandon()
        raise


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
