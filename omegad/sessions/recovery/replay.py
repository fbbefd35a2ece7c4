"""Rebuild a session's states by re-evaluating its journal: for journals with no states to read
(neither omega's checkpoint file nor the reference's states in its index: index-less journals,
reference checkpoints whose state omega cannot rebuild, checkpoints whose records a damaged or
deleted checkpoint file lost: JournalStates) and for the inputs a session's journal holds after
its newest saved state.

Only inputs that succeeded are re-evaluated (a failed input changed nothing). Oracle calls are
answered from the journal's receipts, call by call in journal order (each `effect` event and the
`llm_resp` events of its depth up to its `resume`). A call made to a provider is replayed by
running the adapter's tool-calling loop again against a host that answers each request from its
receipt by key, so the model's `eval`s re-run in the rebuilt state and no request ever leaves the
daemon; a request without a receipt fails the input with "Receipt not found: <key>". An input
that journaled no oracle call at all (the reference's own sessions, whose calls left no trace)
gets the fallback, the scripted oracle, as the reference recorded them.

Re-evaluating is a batch: the inputs run back to back (others are served whenever a slice's
time is up, between inputs as within one), with no output, notifications or per-input
bookkeeping beyond what an input's outcome needs; each input still runs under the same budgets
as a live one (the memory budget against the process's growth, the depth limit).
"""

from __future__ import annotations

import copy
import json
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import msgspec
import trio

from omegad import collector
from omegad.lang import api
from omegad.lang.revision import capture
from omegad.lang.steps import advance
from omegad.oracle.base import OracleError
from omegad.oracle.provider import Exchange, receipt_key
from omegad.persist.events import Event
from omegad.sessions import engine
from omegad.sessions.states.state import CheckpointState
from omegad.sessions.timeline import Timeline, receipt_content

log = logging.getLogger("omegad.sessions")


@dataclass
class Replayed:
    state: api.ReplState
    control: str = "null"
    at: dict[int, CheckpointState] = field(default_factory=dict)  # checkpoint seq -> its state
    skipped: list[str] = field(default_factory=list)  # inputs that no longer evaluate


async def replay(timeline: Timeline, fallback: engine.Oracle,
                 start: CheckpointState | None = None, after: int = -1,
                 on_checkpoint: Callable[[int, CheckpointState], None] | None = None,
                 every_state: bool = True) -> Replayed:
    """Re-evaluate the journal's inputs after seq `after`, from `start` (else an empty state);
    `on_checkpoint(seq, state)` sees each checkpoint as it is reached. `every_state=False`:
    only the last checkpoint's state is kept (`at`), the others are not captured."""
    done = Replayed(api.ReplState())
    if start is not None:
        done.state, done.control = start.resume(), start.control
    last = -1 if every_state or on_checkpoint is not None else next(
        (e["seq"] for e in reversed(timeline.events) if e["type"] == "checkpoint"), -1)
    with collector.evaluating():
        await _replay_events(done, timeline, fallback, after, on_checkpoint, _Slices(), last)
    return done


async def _replay_events(done: Replayed, timeline: Timeline, fallback: engine.Oracle, after: int,
                         on_checkpoint: Callable[[int, CheckpointState], None] | None,
                         slices: _Slices, last: int) -> None:
    """(`last`: the only checkpoint whose state is kept, or -1 for every one.)"""
    pending: Event | None = None
    receipts: list[Event] = []
    calls: list[_Call] = []
    for event in timeline.events:
        if event["seq"] <= after:
            continue
        kind = event["type"]
        if kind == "input":
            pending, receipts, calls = event, [], []
        elif kind == "llm_resp":
            receipts.append(event)
            _add_call_event(calls, event)
        elif kind in ("effect", "resume"):
            _add_call_event(calls, event)
        elif kind == "result" and pending is not None:
            await _apply(done, timeline, pending, receipts, calls, fallback, slices)
            pending = None
        elif kind == "checkpoint":
            if receipts and event["reason"] == "llm_boundary":
                try:
                    done.control = json.dumps(receipt_content(timeline, receipts[-1]),
                                              ensure_ascii=False)
                except LookupError:
                    pass  # the input is reported when it is re-evaluated
            if last < 0 or event["seq"] == last:
                snap = done.at[event["seq"]] = CheckpointState(done.state, capture(done.state),
                                                        done.control)
                if on_checkpoint is not None:
                    on_checkpoint(event["seq"], snap)
            await slices.between()


class _Slices:
    """One clock for a whole replay: others run whenever a slice has had its time, between two
    inputs as within one (engine.drive), not only when one input takes a slice's time."""

    def __init__(self) -> None:
        self.over = engine.slice_clock()

    async def between(self) -> None:
        if self.over():
            await trio.lowlevel.checkpoint()
            self.over = engine.slice_clock()


class JournalStates:
    """The states at checkpoints that no file holds (the checkpoint file was deleted or cut,
    and holds only what was written since; an opening that re-evaluated the whole journal kept
    only the last): the journal's inputs re-evaluated once, on the first need, from the
    timeline as it is then."""

    def __init__(self, timeline: Callable[[], Timeline], fallback: engine.Oracle) -> None:
        self.timeline = timeline
        self.fallback = fallback
        self._replayed: dict[int, CheckpointState] | None = None

    def __contains__(self, seq: object) -> bool:
        return isinstance(seq, int) and any(c.seq == seq for c in self.timeline().checkpoints)

    async def prepare(self, seq: int) -> None:
        if self._replayed is None and seq in self:
            timeline = self.timeline()
            log.info("session %s: re-evaluating its journal for states no file holds",
                     timeline.name)
            self._replayed = (await replay(timeline, self.fallback)).at

    def __getitem__(self, seq: int) -> CheckpointState:
        if self._replayed is None or seq not in self._replayed:
            raise KeyError(seq)
        return self._replayed[seq]


@dataclass
class _Call:
    """One journaled oracle call: its depth and the receipt keys of its requests."""

    depth: int
    keys: list[str] = field(default_factory=list)
    open: bool = True


def _add_call_event(calls: list[_Call], event: Event) -> None:
    kind, depth = event["type"], event.get("d", 1)
    if kind == "effect":
        calls.append(_Call(depth))
        return
    call = next((c for c in reversed(calls) if c.open and c.depth == depth), None)
    if call is None:
        if kind == "llm_resp":  # an llm_resp with no effect before it: a call of its own
            calls.append(_Call(depth, [event["receiptKey"]], open=False))
        return
    if kind == "llm_resp":
        call.keys.append(event["receiptKey"])
    else:
        call.open = False


async def _apply(done: Replayed, timeline: Timeline, entry: Event, receipts: list[Event],
                 calls: list[_Call], fallback: engine.Oracle, slices: _Slices) -> None:
    code = entry["code"]
    if receipts and _is_mock(timeline, receipts[0]):
        done.control = json.dumps(receipt_content(timeline, receipts[-1]), ensure_ascii=False)
        return
    forms = api.parse_inputs(code)
    # The reference evaluated only the last form of a multi-form input; its states say so.
    form = forms[-1]
    oracle = ReceiptOracle(timeline.receipts, calls, fallback, done.state)
    r = await _evaluate(done.state, form, oracle, slices)
    if isinstance(r, api.Done):
        done.control = "null" if api.define_name(form.datum) else r.printed[3:]
    else:
        log.warning("session %s: input at seq %s not replayed: %s", timeline.name,
                    entry["seq"], r.message)
        done.skipped.append(code)


async def _evaluate(state: api.ReplState, form: api.Form, oracle: ReceiptOracle,
                    slices: _Slices) -> api.Done | api.Failed:
    """engine.evaluate's run of one form, as a replay needs it: no output, the same budgets
    and oracle answers, and what it left to free freed as the replay goes on."""
    run = api.start(state, form)
    watch = engine.RssWatch(api.DEFAULT_MEMORY_BUDGET, None)
    with _released(run):
        r = await engine.drive(run, watch, oracle)
    steps = api.bury_steps()
    while not advance(steps)[0]:
        await slices.between()
    if isinstance(r, api.Failed):
        watch.give_back()
    return r


@contextmanager
def _released(run: api.Run) -> Iterator[None]:
    """A run interrupted (the opening cancelled) leaves the state as it was before it."""
    try:
        yield
    except BaseException:
        run.abandon()
        raise
    finally:
        run.release()


class ReceiptOracle:
    """engine.Oracle for re-evaluating one journaled input: every answer comes from a receipt."""

    def __init__(self, receipts: dict[str, Any], calls: list[_Call], fallback: engine.Oracle,
                 state: api.ReplState) -> None:
        self.receipts = receipts
        self.calls = iter(calls)
        self.journaled = bool(calls)
        self.fallback = fallback
        self.state = state
        self.depth = 1  # as the live call's: past the depth limit nothing was journaled

    def deeper(self) -> ReceiptOracle:
        """The same journal's calls, for the oracle calls of a model's `eval`."""
        nested = copy.copy(self)
        nested.depth = self.depth + 1
        return nested

    async def __call__(self, request: api.OracleRequest) -> api.OracleResponse:
        from omegad.sessions.oracle_calls import MAX_DEPTH, depth_limited

        if self.depth > MAX_DEPTH:
            return depth_limited()
        call = next(self.calls, None)
        if call is None:
            if self.journaled:  # ours, and the journal shows fewer calls: never ask anew
                raise engine.OracleFailure(
                    f"Receipt not found: {request.key()} (the journal has no such call)")
            return await self.fallback(request)
        if not call.keys:
            raise engine.OracleFailure(f"Receipt not found: {request.key()}")
        first = self.receipts.get(call.keys[0])
        if first is None:
            raise engine.OracleFailure(f"Receipt not found: {call.keys[0]}")
        provider = provider_for_receipt(first)
        if provider is None:
            return response_from_receipt(first)
        try:
            return await provider.call(request, ReceiptHost(self, call.keys))
        except OracleError as e:
            raise engine.OracleFailure(str(e)) from None


class ReceiptHost:
    """provider.ToolHost that answers each request to the provider from its receipt."""

    def __init__(self, oracle: ReceiptOracle, keys: list[str]) -> None:
        self.oracle = oracle
        self.unused = list(keys)  # this call's receipts, in journal order

    async def exchange(self, exchange: Exchange) -> dict[str, Any]:
        receipt = self._take(exchange.request)
        if receipt is None:
            raise OracleError(f"Receipt not found: {exchange.key}")
        key = receipt.get("key", exchange.key)
        response = receipt.get("response")
        body = response.get("body") if isinstance(response, dict) else None
        if not isinstance(body, dict):
            raise OracleError(f"Receipt {key} holds no provider answer")
        return body

    def _take(self, request: dict[str, Any]) -> dict[str, Any] | None:
        """The receipt of this request: the first unused one of this call that asked it (the
        same request asked twice has one receipt per answer, told apart by `repeat`)."""
        for key in self.unused:
            receipt = self.oracle.receipts.get(key)
            asked = receipt.get("request") if isinstance(receipt, dict) else None
            if isinstance(asked, dict) and {k: v for k, v in asked.items()
                                            if k != "repeat"} == request:
                self.unused.remove(key)
                return receipt
        return self.oracle.receipts.get(receipt_key(request))

    async def eval(self, code: str) -> Any:
        from omegad.sessions.oracle_calls import evaluate_nested

        return await evaluate_nested(self.oracle.state, code, lambda _s: None,
                                     self.oracle.deeper())

    def observe(self, what: str) -> Any:
        from omegad.sessions.oracle_calls import observe

        return observe(self.oracle.state, [], what)


def provider_for_receipt(receipt: dict[str, Any]) -> Any:
    """The adapter that made a receipt's request, set up as it was (model, sampling), with no
    key and no server: it can only be answered from receipts."""
    request = receipt.get("request")
    if not isinstance(request, dict) or not isinstance(request.get("body"), dict):
        return None
    adapter, body = request.get("adapter"), request["body"]
    if adapter not in ("openai", "anthropic"):
        return None
    from omegad.oracle.provider import ProviderConfig

    config = ProviderConfig(adapter=adapter, model=str(body.get("model", "")),
                            base_url="receipts:", temperature=body.get("temperature", 0.7),
                            max_tokens=body.get("max_tokens", 4096))
    if adapter == "openai":
        from omegad.oracle.openai import OpenAIOracle

        return OpenAIOracle(config)
    from omegad.oracle.anthropic import AnthropicOracle

    return AnthropicOracle(config)


def _is_mock(timeline: Timeline, event: Event) -> bool:
    """The reference's OMEGA_MOCK_EFFECTS path: the input was never evaluated."""
    receipt = timeline.receipts.get(event["receiptKey"], {})
    request = receipt.get("request", {})
    return isinstance(request, dict) and set(request) == {"op", "args"}


def response_from_receipt(receipt: dict) -> api.OracleResponse:
    return msgspec.convert(receipt.get("response", {}), api.OracleResponse)
