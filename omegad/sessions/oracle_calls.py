"""A command's oracle calls, journaled: what the actor hands the evaluator as its oracle.

Each call writes, in the order of the reference's mock path (reference-sessions.md §6.6):

    checkpoint llm_boundary (d-1)   the state the call starts from
    step "effect:<op>" (d)          effect (d)
    llm_req / llm_resp (d)          one pair per request: one for scripted and rules oracles, one
                                    per request to the provider (a tool-calling conversation makes
                                    several), each with its receipt in the index
    checkpoint llm_boundary (d)     resume (d)

A provider's tool calls are answered here (`SessionHost`): the model's `eval` runs in the paused
session as a nested evaluation (its changes belong to the waiting command), and its own oracle
calls are journaled one level deeper. The reference's OMEGA_MOCK_EFFECTS path is here too.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import msgspec
import trio

from omegad.lang import api
from omegad.lang.effects import response_value
from omegad.lang.printer import write_str
from omegad.oracle.base import Oracle, OracleError
from omegad.oracle.provider import Exchange, ToolError, receipt_key
from omegad.oracle.receipts import append_receipt
from omegad.persist import events as ev
from omegad.sessions import engine
from omegad.sessions.states.state import at_checkpoint
from omegad.sessions.timeline import Checkpoint

if TYPE_CHECKING:
    from omegad.sessions.interface import Session
    from omegad.sessions.mailbox import Reply

log = logging.getLogger("omegad.sessions")

MAX_DEPTH = 8            # the reference's DepthTrackingAdapter(…, 8)
NESTED_STEP_BUDGET = 1_000_000


def depth_limited() -> api.OracleResponse:
    """The answer past the depth limit (the reference's: unit, confidence 0), not journaled."""
    return api.OracleResponse(None, 0.0, f"depth limit {MAX_DEPTH} reached")


class JournaledOracle:
    """engine.Oracle for one command at one depth: journals each call, answers the model's tools."""

    def __init__(self, actor: Session, oracle: Oracle, sink: Callable[[str], None],
                 depth: int = 1) -> None:
        self.actor = actor
        self.oracle = oracle
        self.sink = sink
        self.depth = depth
        self.evaluating = trio.Lock()  # search.op's samples share the session: one eval at a time

    async def __call__(self, request: api.OracleRequest) -> api.OracleResponse:
        a, d = self.actor, self.depth
        if d > MAX_DEPTH:
            return depth_limited()
        checkpoint(a, d - 1, a.control)
        seq = a.seq
        a.write_events([ev.step_event(seq, d, f"effect:{request.op}"),
                  ev.effect_event(seq + 1, d, request.op, args_preview([request.prompt]))])
        try:
            provider = getattr(self.oracle, "config", None) is not None
            if provider and a.reevaluating and not a.commit_answers:
                # omega re-evaluating by itself (a legacy import) asks no provider anew
                log.warning("session %s: %s not re-evaluated: it would call %s again",
                            a.name, request.op, self.oracle.name)
                raise OracleError(f"not re-evaluated: {request.op} would call "
                                  f"{self.oracle.name} again (no receipt)")
            if provider and not a.commit_answers:  # a provider: it exchanges
                response = await self.oracle.call(request, SessionHost(self))
            else:
                response = await self._answer(request)
        except OracleError as e:
            raise engine.OracleFailure(str(e)) from None
        shown = write_str(response_value(request.op, response))
        checkpoint(a, d, shown)
        a.write_events([ev.resume_event(a.seq, d, shown)])
        return response

    async def _answer(self, request: api.OracleRequest) -> api.OracleResponse:
        """An oracle that asks no one: one receipt for the call itself."""
        a, d = self.actor, self.depth
        key = request.key()
        a.write_events([ev.llm_req_event(a.seq, d, self.oracle.name, request.prompt, key)])
        started = time.perf_counter()
        if a.commit_answers:  # a finished debug run, committed: what it was told then
            response = a.commit_answers.pop(0)
        else:
            response = await self.oracle.call(request)
        ms = round((time.perf_counter() - started) * 1000)
        shown = write_str(response_value(request.op, response))
        keep(a, {"key": key, "request": msgspec.to_builtins(request),
                 "response": msgspec.to_builtins(response), "timestamp": ev.now_ms(),
                 "durationMs": ms})
        a.write_events([ev.llm_resp_event(a.seq, d, shown, ms, key)])
        return response


class SessionHost:
    """provider.ToolHost for a live command: journals exchanges, evaluates in the session."""

    def __init__(self, calls: JournaledOracle) -> None:
        self.calls = calls

    async def exchange(self, exchange: Exchange) -> dict[str, Any]:
        a, d = self.calls.actor, self.calls.depth
        request, key, n = exchange.request, exchange.key, 0
        while key in a.receipts:  # asked before in this session: this answer gets its own receipt
            n += 1
            request = {**exchange.request, "repeat": n}
            key = receipt_key(request)
        a.write_events([ev.llm_req_event(a.seq, d, exchange.model, exchange.prompt, key)])
        started = time.perf_counter()
        data = await exchange.send()
        ms = round((time.perf_counter() - started) * 1000)
        shown = exchange.summarize(data)
        receipt: dict[str, Any] = {"key": key, "request": request,
                                   "response": {"content": shown, "body": data},
                                   "timestamp": ev.now_ms(), "durationMs": ms}
        tokens = exchange.tokens(data)
        if tokens is not None:
            receipt["tokens"] = tokens
        keep(a, receipt)
        a.write_events([ev.llm_resp_event(a.seq, d, shown, ms, key)])
        return data

    async def eval(self, code: str) -> Any:
        calls = self.calls
        nested = JournaledOracle(calls.actor, calls.oracle, calls.sink, calls.depth + 1)
        async with calls.evaluating:
            pool = calls.actor.manager
            return await evaluate_nested(calls.actor.state, code, calls.sink, nested,
                                         pool.command_memory, pool.max_memory)

    def observe(self, what: str) -> Any:
        return observe(self.calls.actor.state, self.calls.actor.defs(), what)


async def evaluate_nested(state: api.ReplState, code: str, sink: Callable[[str], None],
                          oracle: engine.Oracle, memory_budget: int | None = None,
                          max_memory: int | None = None) -> Any:
    """The model's `eval`: run `code` in the paused session; its value, or ToolError. Its
    memory is watched as a command's is (engine.RssWatch: the process's real size, no walk of
    the heap), against the command budget (`memory_budget`, else the evaluator's default)."""
    budget = memory_budget or api.DEFAULT_MEMORY_BUDGET
    run = api.start(state, code, output_sink=sink, nested=True, memory_budget=budget,
                    step_budget=NESTED_STEP_BUDGET)
    watch = engine.RssWatch(budget, max_memory)
    try:
        r = await engine.drive(run, watch, oracle)
    except BaseException:
        run.abandon()
        raise
    if isinstance(r, api.Done):
        return r.value
    watch.give_back()
    raise ToolError(r.message)


def observe(state: api.ReplState, defs: list[str], what: str) -> Any:
    """The `observe` tool's data (the paused session as the model may see it)."""
    what = what.lower()
    if what == "defs":
        return {"defs": defs}
    if what in ("env", "store"):
        names = sorted(state.user_names())
        return {"bindings": names[:200], "count": len(names)}
    return {"what": what, "note": "the session is paused at an oracle call"}


def keep(actor: Session, receipt: dict[str, Any]) -> None:
    """A receipt for the index, and at once in `<name>.receipts` (it survives a crash). A
    scripted answer to a request made before is the same answer: it is written once."""
    old = actor.receipts.get(receipt["key"])
    actor.receipts[receipt["key"]] = receipt
    if old is None or old.get("response") != receipt["response"]:
        append_receipt(actor.store.receipts(actor.name), receipt)


def checkpoint(actor: Session, depth: int, control: str, reason: str = "llm_boundary",
               between_inputs: bool = False) -> None:
    """A checkpoint of the session's committed state (during an oracle call: the state before
    the input), reachable by goto/resume now and, once in the checkpoint file, after a restart."""
    seq = actor.seq
    offsets = actor.write_events([ev.checkpoint_event(seq, depth, reason)])
    actor.checkpoints.append(Checkpoint(seq, reason, f"state-{seq}", offsets[0]))
    actor.states[seq] = at_checkpoint(actor.state, control)
    if between_inputs or _only_a_delta(actor):
        actor.save_state(seq, merges=between_inputs)


def _only_a_delta(actor: Session) -> bool:
    """While an input runs, the live state holds its uncommitted changes: the checkpoint file may
    only get a delta then (the committed changes since the last record: none), never a full
    record, which would serialize the live objects."""
    return actor.saver is not None and actor.saver.can_delta(actor.state)


def args_preview(args: list[Any]) -> str:
    """The effect event's argsPreview: JSON.stringify(args), cut to 200 UTF-16 units."""
    return ev.utf16_cut(json.dumps(args, separators=(",", ":"), ensure_ascii=False),
                        ev.PREVIEW_LIMIT)


# --- the reference's OMEGA_MOCK_EFFECTS=1 path ---------------------------------------------------
_MOCK = re.compile(r"^\(effect\s+(\S+)\s*(.*)", re.S)


def mock_effect(actor: Session, text: str, reply: Reply) -> bool:
    """An input starting with `(effect` is not evaluated: it prints `=> "mock:<op>"` and journals
    the reference's ten events. False when the input is not one."""
    m = _MOCK.match(text.strip()) if text.lstrip().startswith("(effect") else None
    if m is None:
        return False
    op, args = m.group(1), m.group(2).split("\n", 1)[0]
    value = f"mock:{op}"
    request = {"op": op, "args": args}
    key = _sha256(request)
    control = json.dumps(value, ensure_ascii=False)
    seq = actor.seq
    actor.write_events([ev.input_event(seq, text.strip())])
    checkpoint(actor, 0, actor.control, between_inputs=True)
    seq = actor.seq
    actor.write_events([ev.step_event(seq, 1, f"effect:{op}"),
                  ev.effect_event(seq + 1, 1, op, args_preview([args])),
                  ev.llm_req_event(seq + 2, 1, "mock-llm", args, key),
                  ev.llm_resp_event(seq + 3, 1, value, 0, key)])
    keep(actor, {"key": key, "request": request, "response": {"content": value},
                 "timestamp": ev.now_ms(), "durationMs": 0})
    checkpoint(actor, 1, control, between_inputs=True)
    actor.write_events([ev.resume_event(actor.seq, 1, value),
                        ev.result_event(actor.seq + 1, control)])
    actor.control = control
    checkpoint(actor, 0, control, "manual", between_inputs=True)
    reply.line(f"=> {control}")
    reply.ok, reply.value, reply.error = True, control, None
    return True


def _sha256(request: Any) -> str:
    return receipt_key(request)
