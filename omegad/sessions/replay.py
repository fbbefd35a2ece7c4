"""Rebuild a session's states by re-evaluating its journal: for journals without omega's checkpoint
file (the reference's, index-less ones) and for bringing a session back into memory.

Only inputs that succeeded are re-evaluated (a failed input changed nothing). Oracle calls are
answered from the journal's receipts, in order; an input that made none gets the scripted oracle,
which is how the reference recorded its sessions. No provider is ever called from here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import msgspec

from omegad.lang import api
from omegad.lang.checkpoint import capture
from omegad.persist.events import Event
from omegad.sessions import engine
from omegad.sessions.engine import Snapshot
from omegad.sessions.timeline import Timeline, receipt_content


@dataclass
class Replayed:
    state: api.ReplState
    control: str = "null"
    at: dict[int, Snapshot] = field(default_factory=dict)  # checkpoint seq -> snapshot
    skipped: list[str] = field(default_factory=list)  # inputs that no longer evaluate


async def replay(timeline: Timeline, fallback: engine.Oracle,
                 start: Snapshot | None = None, after: int = -1) -> Replayed:
    """Re-evaluate the journal's inputs after seq `after`, from `start` (else an empty state)."""
    done = Replayed(api.ReplState())
    if start is not None:
        done.state, done.control = start.resume(), start.control
    pending: Event | None = None
    receipts: list[Event] = []
    for event in timeline.events:
        if event["seq"] <= after:
            continue
        kind = event["type"]
        if kind == "input":
            pending, receipts = event, []
        elif kind == "llm_resp":
            receipts.append(event)
        elif kind == "result" and pending is not None:
            await _apply(done, timeline, pending, receipts, event, fallback)
            pending = None
        elif kind == "checkpoint":
            if receipts and event["reason"] == "llm_boundary":
                done.control = json.dumps(receipt_content(timeline, receipts[-1]),
                                          ensure_ascii=False)
            done.at[event["seq"]] = Snapshot(done.state, capture(done.state), done.control)
    return done


async def _apply(done: Replayed, timeline: Timeline, entry: Event, receipts: list[Event],
                 result: Event, fallback: engine.Oracle) -> None:
    code = entry["code"]
    if receipts and _is_mock(timeline, receipts[0]):
        done.control = json.dumps(receipt_content(timeline, receipts[-1]), ensure_ascii=False)
        return
    forms = api.parse_inputs(code)
    # The reference evaluated only the last form of a multi-form input; its states say so.
    form = forms[-1]
    answers = iter(receipts)

    async def oracle(request: api.OracleRequest) -> api.OracleResponse:
        receipt = next(answers, None)
        if receipt is None:
            return await fallback(request)
        return response_from_receipt(timeline.receipts.get(receipt["receiptKey"], {}))

    outcome = await engine.evaluate(done.state, form, lambda _s: None, oracle)
    if outcome.ok:
        done.control = outcome.control
    else:
        done.skipped.append(code)


def _is_mock(timeline: Timeline, event: Event) -> bool:
    """The reference's OMEGA_MOCK_EFFECTS path: the input was never evaluated."""
    receipt = timeline.receipts.get(event["receiptKey"], {})
    request = receipt.get("request", {})
    return isinstance(request, dict) and set(request) == {"op", "args"}


def response_from_receipt(receipt: dict) -> api.OracleResponse:
    return msgspec.convert(receipt.get("response", {}), api.OracleResponse)
