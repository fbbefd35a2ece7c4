"""The reference's tool-calling loop, shared by the OpenAI and Anthropic adapters.

One oracle call (`infer.op`, `int.op`, `rewrite.op`, an oracle-lambda application) is a
conversation: the model gets the prompt and the tools `eval`, `apply`, `observe`, `match`,
`assert`, `return`; each of its tool calls is answered (the `eval`s are evaluated in the paused
session, through the `ToolHost`) until it calls `return`, at most 20 turns. `search.op` runs n
such conversations concurrently, at most `search_concurrency` at a time.

Every request to the provider goes through `host.exchange`, which journals it and keeps its
receipt; a replaying host answers from the receipts instead, so the same loop replays a session
without any request reaching the provider. A dialect (openai.py, anthropic.py) says how messages,
tools and answers look on its wire.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import trio

from omegad.lang.effects import OracleRequest, OracleResponse, Sample, decode_value
from omegad.lang.printer import write_str
from omegad.lang.values import Pair, Sym
from omegad.oracle.base import OracleError
from omegad.oracle.http import HttpPolicy, post_json
from omegad.oracle.rules import parse_answer

MAX_TURNS = 20

# The reference's tool definitions (src/core/oracle/adapters/openaiAdapter.ts), in its order.
TOOLS: list[dict[str, Any]] = [
    {"name": "eval",
     "description": "Evaluate a Lisp expression in the current environment. "
                    "Returns the result value.",
     "parameters": {"type": "object", "properties": {"expr": {
         "type": "string",
         "description": "Lisp expression to evaluate (e.g., '(+ 1 2)' or "
                        "'(define (f x) (* x x))')"}},
         "required": ["expr"]}},
    {"name": "apply",
     "description": "Apply a function to arguments",
     "parameters": {"type": "object", "properties": {
         "fn": {"type": "string", "description": "Function name or expression"},
         "args": {"type": "array", "items": {"type": "string"},
                  "description": "Arguments as Lisp expressions"}},
         "required": ["fn", "args"]}},
    {"name": "observe",
     "description": "Observe runtime state - useful for introspection",
     "parameters": {"type": "object", "properties": {"what": {
         "type": "string",
         "enum": ["stack", "control", "handlers", "store", "env", "defs"],
         "description": "What to observe: stack (call stack), control (current expression), "
                        "handlers (effect handlers), store (memory), env (environment "
                        "bindings), defs (top-level definitions)"}},
         "required": ["what"]}},
    {"name": "match",
     "description": "Match an expression against a pattern with ?x binders",
     "parameters": {"type": "object", "properties": {
         "expr": {"type": "string", "description": "Expression to match"},
         "pattern": {"type": "string",
                     "description": "Pattern with ?x binders (e.g., '(?op ?a ?b)')"}},
         "required": ["expr", "pattern"]}},
    {"name": "assert",
     "description": "Assert a condition - useful for validation",
     "parameters": {"type": "object", "properties": {
         "predicate": {"type": "string",
                       "description": "Predicate expression that should evaluate to true"},
         "msg": {"type": "string", "description": "Error message if assertion fails"}},
         "required": ["predicate", "msg"]}},
    {"name": "return",
     "description": "Return a final result and end the session. "
                    "Call this when you have computed the answer.",
     "parameters": {"type": "object", "properties": {
         "value": {"type": "string",
                   "description": "Value to return as a Lisp literal "
                                  "(e.g., '42', '#t', '(list 1 2 3)')"},
         "confidence": {"type": "number",
                        "description": "Confidence in result from 0 to 1 (default: 0.9)"}},
         "required": ["value"]}},
]


class ToolError(Exception):
    """A tool call the session could not carry out (the model reads `Error: <message>`)."""


@dataclass
class Exchange:
    """One request to a provider, as the host journals it and keeps its receipt."""

    adapter: str
    model: str
    prompt: str                                  # the llm_req event's promptPreview
    request: dict[str, Any]                      # the receipt's request: {adapter, body[, sample]}
    send: Callable[[], Awaitable[dict[str, Any]]]
    summarize: Callable[[dict[str, Any]], str]   # the llm_resp event's valuePreview
    tokens: Callable[[dict[str, Any]], int | None] = lambda _r: None

    @property
    def key(self) -> str:
        return receipt_key(self.request)


def receipt_key(request: Any) -> str:
    """SHA-256 of the compact JSON, as the reference computes receipt keys."""
    text = json.dumps(request, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class ToolHost(Protocol):
    """What an adapter needs from the session it answers for."""

    async def eval(self, code: str) -> Any: ...          # a Lisp value; ToolError if it fails

    def observe(self, what: str) -> Any: ...             # JSON-able data

    async def exchange(self, exchange: Exchange) -> dict[str, Any]: ...


class DirectHost:
    """No session behind the call: requests go straight out, and the model cannot evaluate."""

    async def eval(self, code: str) -> Any:
        raise ToolError("no session to evaluate in")

    def observe(self, what: str) -> Any:
        return {}

    async def exchange(self, exchange: Exchange) -> dict[str, Any]:
        return await exchange.send()


@dataclass(frozen=True)
class ProviderConfig:
    adapter: str                         # "openai" | "anthropic"
    model: str
    api_key: str = field(default="", repr=False)
    base_url: str = ""
    temperature: float = 0.7
    max_tokens: int = 4096
    policy: HttpPolicy = HttpPolicy()
    search_concurrency: int = 4

    def describe(self) -> str:
        return f"{self.adapter} ({self.model} at {self.base_url})"


@dataclass
class Reply:
    """A provider's answer, read by a dialect: its text, its tool calls, the message to keep."""

    text: str
    calls: list[tuple[str, str, dict[str, Any]]]  # (id, tool name, arguments)
    message: dict[str, Any]


class ProviderOracle:
    """An oracle that asks a chat model. Subclasses give the wire dialect."""

    name = "provider"
    path = ""
    system_prompt = ""

    def __init__(self, config: ProviderConfig) -> None:
        self.config = config

    def describe(self) -> str:
        return self.config.describe()

    # --- the dialect ------------------------------------------------------------------------------
    def format_val(self, v: Any) -> str:
        raise NotImplementedError

    def first_messages(self, prompt: str) -> list[dict[str, Any]]:
        raise NotImplementedError

    def body(self, messages: list[dict[str, Any]]) -> dict[str, Any]:
        raise NotImplementedError

    def headers(self) -> dict[str, str]:
        raise NotImplementedError

    def read(self, data: dict[str, Any]) -> Reply:
        raise NotImplementedError

    def tool_results(self, results: list[tuple[str, str]]) -> list[dict[str, Any]]:
        raise NotImplementedError

    def usage(self, data: dict[str, Any]) -> int | None:
        return None

    # --- the loop ---------------------------------------------------------------------------------
    async def call(self, request: OracleRequest, host: ToolHost | None = None) -> OracleResponse:
        host = host or DirectHost()
        if request.op != "search.op":
            return await self._conversation(request, host, None)
        samples: list[Sample | None] = [None] * max(1, request.n)
        limiter = trio.CapacityLimiter(max(1, self.config.search_concurrency))

        async def one(i: int) -> None:
            async with limiter:
                r = await self._conversation(request, host, i)
            samples[i] = Sample(r.denotation, r.confidence, r.trace)

        try:
            async with trio.open_nursery() as nursery:
                for i in range(len(samples)):
                    nursery.start_soon(one, i)
        except BaseExceptionGroup as group:  # one failed sample fails the search, as one error
            first = _first_oracle_error(group)
            if first is None:
                raise
            raise first from None
        done = [s for s in samples if s is not None]
        head = done[0]
        return OracleResponse(head.denotation, head.confidence, head.trace, samples=done)

    def user_prompt(self, request: OracleRequest) -> str:
        if request.op == "oracle.apply.op":
            proc = json.dumps({"tag": "OracleProc", "params": request.params,
                               "spec": self.format_val(decode_value(request.spec))},
                              separators=(",", ":"), ensure_ascii=False)
            args = ", ".join(self.format_val(decode_value(a)) for a in request.args)
            return f"Apply procedure {proc} to args: {args}"
        return self.format_val(decode_value(request.payload))

    async def _conversation(self, request: OracleRequest, host: ToolHost,
                            sample: int | None) -> OracleResponse:
        prompt = self.user_prompt(request)
        messages = self.first_messages(prompt)
        model = self.config.model
        for turn in range(MAX_TURNS):
            body = self.body(list(messages))  # the receipt keeps this turn as it was sent
            wire: dict[str, Any] = {"adapter": self.name, "body": body}
            if sample is not None:
                wire["sample"] = sample
            data = await host.exchange(Exchange(
                self.name, model, prompt if turn == 0 else _last_text(messages), wire,
                functools.partial(self.post, body), self.summarize, self.usage))
            reply = self.read(data)
            if not reply.calls:
                if reply.text:
                    return OracleResponse(
                        reply.text, 0.5,
                        f"adapter={self.name} model={model} (text response, no return tool)")
                raise OracleError(f"{self.name}: empty answer from the model")
            messages.append(reply.message)
            results: list[tuple[str, str]] = []
            for call_id, tool, args in reply.calls:
                if tool == "return":
                    value = args.get("value")
                    text = value if isinstance(value, str) else json.dumps(value)
                    confidence = args.get("confidence", 0.9)
                    if not isinstance(confidence, (int, float)) or isinstance(confidence, bool):
                        confidence = 0.9
                    return OracleResponse(parse_answer(text.strip()), float(confidence),
                                          f"adapter={self.name} model={model} turns={turn + 1}")
                results.append((call_id, await self._tool(tool, args, host)))
            messages.extend(self.tool_results(results))
        raise OracleError(f"{self.name}: no answer after {MAX_TURNS} turns")

    async def post(self, body: dict[str, Any]) -> dict[str, Any]:
        url = self.config.base_url.rstrip("/") + self.path
        data = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        return await post_json(self.name, url, self.headers(), data, self.config.policy,
                               self.config.api_key)

    def summarize(self, data: dict[str, Any]) -> str:
        """The answer as one line: its text, or its tool calls (`return 4`, `eval (+ 1 2)`)."""
        try:
            reply = self.read(data)
        except OracleError as e:
            return str(e)
        parts = [reply.text] if reply.text else []
        for _id, tool, args in reply.calls:
            shown = " ".join(v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)
                             for v in args.values())
            parts.append(f"{tool} {shown}".strip())
        return "; ".join(parts)

    # --- tools ------------------------------------------------------------------------------------
    async def _tool(self, tool: str, args: dict[str, Any], host: ToolHost) -> str:
        try:
            if tool == "eval":
                return self.format_val(await host.eval(_arg(args, "expr")))
            if tool == "apply":
                fn = _arg(args, "fn")
                items = args.get("args") or []
                code = "(" + " ".join([fn, *(str(a) for a in items)]) + ")"
                return self.format_val(await host.eval(code))
            if tool == "observe":
                return json.dumps(host.observe(_arg(args, "what")), indent=2,
                                  ensure_ascii=False)
            if tool == "match":
                return json.dumps(match_text(_arg(args, "expr"), _arg(args, "pattern")))
            if tool == "assert":
                try:
                    ok = await host.eval(_arg(args, "predicate"))
                except ToolError as e:
                    return f"Assertion failed: {e}"
                return "Assertion passed" if ok is not False else \
                    f"Assertion failed: {args.get('msg', '')}"
        except ToolError as e:
            return f"Error: {e}"
        return f"Unknown tool: {tool}"


def _first_oracle_error(group: BaseExceptionGroup) -> Exception | None:
    for e in group.exceptions:
        found = _first_oracle_error(e) if isinstance(e, BaseExceptionGroup) else e
        if isinstance(found, (OracleError, ToolError)):
            return found
    return None


def _arg(args: dict[str, Any], name: str) -> str:
    value = args.get(name)
    if not isinstance(value, str):
        raise ToolError(f"missing argument '{name}'")
    return value


def _last_text(messages: list[dict[str, Any]]) -> str:
    """The promptPreview of a follow-up request: the tool results it carries."""
    content = messages[-1].get("content") if messages else ""
    if isinstance(content, list):
        return " ".join(str(b.get("content", "")) for b in content if isinstance(b, dict))
    return str(content or "")


# --- the reference's value rendering -----------------------------------------------------------
def items_of(v: Any) -> tuple[list[Any], Any]:
    items = []
    while type(v) is Pair:
        items.append(v.car)
        v = v.cdr
    return items, v


def format_openai(v: Any) -> str:
    """openaiAdapter.ts formatVal: strings raw, a list of strings concatenated."""
    if type(v) is Pair:
        items, tail = items_of(v)
        if tail is None:
            if all(type(i) is str for i in items):
                return "".join(items)
            return "(" + " ".join(format_openai(i) for i in items) + ")"
        return f"[{format_openai(v.car)} {format_openai(v.cdr)}]"
    return _format_atom(v)


def format_anthropic(v: Any) -> str:
    """anthropicAdapter.ts formatVal: any pair is `[car cdr]` (the reference's raw cons view)."""
    if type(v) is Pair:
        return f"[{format_anthropic(v.car)} {format_anthropic(v.cdr)}]"
    return _format_atom(v)


def _format_atom(v: Any) -> str:
    """What both adapters' formatVal give a non-pair: strings raw, `()`, `#t`/`#f`, names."""
    t = type(v)
    if v is None:
        return "()"
    if t is str:
        return v
    if t is bool:
        return "#t" if v else "#f"
    if t is Sym:
        return v.name
    return write_str(v)


def match_text(expr: str, pattern: str) -> dict[str, Any]:
    """`match` tool: a structural match of two data with `?x` binders."""
    from omegad.lang.api import parse_inputs

    e, p = parse_inputs(expr), parse_inputs(pattern)
    if len(e) != 1 or len(p) != 1 or e[0].error or p[0].error:
        return {"matched": False, "error": "expected one expression and one pattern"}
    bindings: dict[str, Any] = {}
    ok = _match(e[0].datum, p[0].datum, bindings)
    return {"matched": ok, "bindings": bindings if ok else {}}


def _match(d: Any, p: Any, out: dict[str, Any]) -> bool:
    if type(p) is Sym and p.name.startswith("?"):
        shown = write_str(d)
        if p.name in out and out[p.name] != shown:
            return False
        out[p.name] = shown
        return True
    if type(p) is Pair:
        return type(d) is Pair and _match(d.car, p.car, out) and _match(d.cdr, p.cdr, out)
    return d == p if type(d) is type(p) else False
