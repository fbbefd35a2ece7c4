"""The method table: method name -> handler with its params/result Structs, and `dispatch`.

Handlers live in `omegad/methods/<family>.py` and register with `@method("family.name")`; the
name must be in `protocol.methods.METHODS`, which gives the Structs. A handler is
`async def handler(params: <ParamsStruct>, conn: Connection) -> <ResultStruct>` and raises
`protocol.errors.RpcError` subclasses for errors the user should read; anything else becomes
-32603 and is logged with its traceback.

`inline=True` marks a handler that never waits (no blocking, no awaits that park): the connection
runs it in its read loop, in arrival order, instead of in a task of its own, which saves a task
spawn and a scheduler pass per request. `inline` may also be a predicate on the decoded params
(`server.ping` is inline unless it has a `delay`). `server.hello` is inline so that requests
pipelined behind it see its effects. Handlers that may wait (session commands) must not be inline.

`answers=True` marks a route whose admission returns an `Answering`: work queued elsewhere (a
session's actor) that calls back with its outcome when done. The connection then spawns no task
for the request at all: the actor's callback sends the answer. The handler still serves the
paths that need a task (batches).
"""

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

import msgspec
from msgspec import UNSET

from omegad.caller import Caller
from protocol import errors
from protocol.messages import Id, Request, encode_error, encode_result
from protocol.methods import METHODS, MethodSpec, Params

log = logging.getLogger("omegad.dispatch")

# A handler's conn is the server's Connection (handlers type it so); here it is only passed on.
Handler = Callable[[Any, Any], Awaitable[Any]]
Outcome = Any  # a result Struct, or the RpcError the request ends with


class Answering(Protocol):
    """An admitted request that reports its own outcome (see `answers` above)."""

    def when_done(self, callback: Callable[[Outcome], None]) -> None: ...

    def abandon(self) -> None: ...


@dataclass(slots=True, frozen=True)
class Route:
    spec: MethodSpec
    handler: Handler
    decoder: msgspec.json.Decoder
    inline: bool | Callable[[Any], bool]
    admit: Callable[[Any, Any], Any] | None = None
    answers: bool = False

    def runs_inline(self, params: Params) -> bool:
        return self.inline if isinstance(self.inline, bool) else self.inline(params)


ROUTES: dict[str, Route] = {}


def method(
    name: str,
    *,
    inline: bool | Callable[[Any], bool] = False,
    admit: Callable[[Any, Any], Any] | None = None,
    answers: bool = False,
) -> Callable[[Handler], Handler]:
    """Register the decorated coroutine function as the handler of `name`.

    `admit(params, conn)`, when given, runs in the connection's read loop as the request arrives
    (so requests are admitted in arrival order, whatever order their tasks later run in); what it
    returns is what the handler receives instead of the params. Its RpcErrors are answered at once.
    """
    spec = METHODS.get(name)
    if spec is None:
        raise KeyError(f"{name!r} is not in protocol.methods.METHODS; declare its Structs there")

    def register(handler: Handler) -> Handler:
        decoder = msgspec.json.Decoder(spec.params)
        ROUTES[name] = Route(spec, handler, decoder, inline, admit, answers)
        return handler

    return register


def _invalid_params(e: msgspec.ValidationError) -> errors.InvalidParams:
    text = str(e).replace("`$.", "`params.").replace("`$`", "`params`")
    if text.endswith(" - at `params`"):
        text = text[: -len(" - at `params`")]
    return errors.InvalidParams(f"Invalid params: {text}")


def decode_params(route: Route, raw: msgspec.Raw | Any) -> Params:
    if raw is UNSET:
        raw = b"{}"
    first = memoryview(raw)[:1].tobytes()
    try:
        if first == b"{":
            return route.decoder.decode(raw)
        if first == b"[":  # by position: the Struct's fields in declaration order
            items = msgspec.json.decode(raw)
            fields = route.spec.params.__struct_fields__
            if len(items) > len(fields):
                raise errors.InvalidParams(
                    f"Invalid params: {route.spec.name} takes at most {len(fields)} positional"
                    f" params ({', '.join(fields) or 'none'}), got {len(items)}"
                )
            return msgspec.convert(dict(zip(fields, items, strict=False)), route.spec.params)
    except msgspec.ValidationError as e:
        raise _invalid_params(e) from None
    raise errors.InvalidRequest("Invalid Request: params must be an object or an array")


def prepare(req: Request, conn: Caller | None = None) -> tuple[Route, Any]:
    """The route and decoded params of a request (admitted, for routes that admit); raises
    MethodNotFound / InvalidParams / the admission's errors."""
    route = ROUTES.get(req.method)
    if route is None:
        raise errors.MethodNotFound(f"Method not found: {req.method}")
    params = decode_params(route, req.params)
    if route.admit is not None and conn is not None:
        return route, route.admit(params, conn)
    return route, params


async def run(route: Route, params: Params, rid: Id, req: Request, conn: Caller) -> bytes:
    """Run a prepared request (its id: `rid`) to completion; its encoded answer (no newline)."""
    try:
        return encode_result(rid, await route.handler(params, conn))
    except errors.RpcError as e:
        return encode_error(rid, e)
    except Exception:
        log.exception("request %r (%s) failed", rid, req.method)
        return encode_error(rid, errors.InternalError("Internal error (see the daemon log)"))


async def notified(route: Route, params: Params, req: Request, conn: Caller) -> None:
    """Run a prepared notification to completion: it is never answered, even with an error."""
    try:
        await route.handler(params, conn)
    except errors.RpcError:
        pass
    except Exception:
        log.exception("notification (%s) failed", req.method)


async def dispatch(req: Request, rid: Id, conn: Caller) -> bytes:
    """prepare + run for request `rid`, with preparation errors answered too."""
    try:
        route, params = prepare(req, conn)
    except errors.RpcError as e:
        return encode_error(rid, e)
    return await run(route, params, rid, req, conn)


async def dispatch_notification(req: Request, conn: Caller) -> None:
    """prepare + notified; preparation errors are not answered either."""
    try:
        route, params = prepare(req, conn)
    except errors.RpcError:
        return
    await notified(route, params, req, conn)
