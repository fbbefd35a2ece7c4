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

`queues=True` marks a handler that queues work elsewhere (a session's actor) and returns it at
once, unawaited: an `Answering`, which calls back with its outcome when done. The connection
calls such a handler in its read loop as the request arrives (so one client's commands run in
the order it sent them) and spawns no task for it: the work's callback sends the answer. In a
batch, `run` waits for the work instead. Either way the registered handler is the code that runs.
"""

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

import msgspec
from msgspec import UNSET

from omegad.caller import Caller
from omegad.persist.failures import CorruptRecord, storage_failure
from protocol import errors
from protocol.messages import Id, Request, encode_error, encode_result
from protocol.methods import METHODS, MethodSpec, Params

log = logging.getLogger("omegad.dispatch")

# A handler's conn is the server's Connection (handlers type it so); here it is only passed on.
Handler = Callable[[Any, Any], Awaitable[Any]]
Outcome = Any  # a result Struct, or the RpcError the request ends with


class Answering(Protocol):
    """Queued work that reports its own outcome (see `queues` above). `detached` work goes on
    when its connection ends (else the connection abandons it)."""

    detached: bool

    def when_done(self, callback: Callable[[Outcome], None]) -> None: ...

    def abandon(self) -> None: ...

    async def wait(self) -> Any: ...


@dataclass(slots=True, frozen=True)
class Route:
    spec: MethodSpec
    handler: Any  # a Handler; for a route that `queues`, (params, conn) -> Answering
    decoder: msgspec.json.Decoder
    inline: bool | Callable[[Any], bool]
    queues: bool = False

    def runs_inline(self, params: Params) -> bool:
        return self.inline if isinstance(self.inline, bool) else self.inline(params)


ROUTES: dict[str, Route] = {}


def method(
    name: str,
    *,
    inline: bool | Callable[[Any], bool] = False,
    queues: bool = False,
) -> Callable[[Any], Any]:
    """Register the decorated function as the handler of `name`: a coroutine function, or with
    `queues=True` a plain function returning the `Answering` work it queued (its RpcErrors are
    answered at once)."""
    spec = METHODS.get(name)
    if spec is None:
        raise KeyError(f"{name!r} is not in protocol.methods.METHODS; declare its Structs there")

    def register(handler: Any) -> Any:
        decoder = msgspec.json.Decoder(spec.params)
        ROUTES[name] = Route(spec, handler, decoder, inline, queues)
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
        if first == b"[":
            return _by_position(route, msgspec.json.decode(raw))
    except msgspec.ValidationError as e:
        raise _invalid_params(e) from None
    raise errors.InvalidRequest("Invalid Request: params must be an object or an array")


def params_from(route: Route, value: Any) -> Params:
    """`decode_params` from the params' JSON value, decoded already (a long line's, whose long
    strings were decoded in steps: server.py): msgspec's conversion from JSON data follows the
    same rules, and says the same things, as its decoder."""
    try:
        if isinstance(value, dict):
            return msgspec.convert(value, route.spec.params, str_keys=True)
        if isinstance(value, list):
            return _by_position(route, value)
    except msgspec.ValidationError as e:
        raise _invalid_params(e) from None
    raise errors.InvalidRequest("Invalid Request: params must be an object or an array")


def _by_position(route: Route, items: list[Any]) -> Params:
    """Params by position: the Struct's fields in declaration order."""
    fields = route.spec.params.__struct_fields__
    if len(items) > len(fields):
        raise errors.InvalidParams(
            f"Invalid params: {route.spec.name} takes at most {len(fields)} positional"
            f" params ({', '.join(fields) or 'none'}), got {len(items)}"
        )
    return msgspec.convert(dict(zip(fields, items, strict=False)), route.spec.params)


def prepare(req: Request, params: Any = UNSET) -> tuple[Route, Any]:
    """The route and decoded params of a request (`params`: their JSON value, when it was
    decoded already); raises MethodNotFound / InvalidParams."""
    route = ROUTES.get(req.method)
    if route is None:
        raise errors.MethodNotFound(f"Method not found: {req.method}")
    if params is not UNSET:
        return route, params_from(route, params)
    return route, decode_params(route, req.params)


async def run(route: Route, params: Params, rid: Id, req: Request, conn: Caller) -> bytes:
    """Run a prepared request (its id: `rid`) to completion; its encoded answer (no newline)."""
    try:
        if route.queues:
            return encode_result(rid, await route.handler(params, conn).wait())
        return encode_result(rid, await route.handler(params, conn))
    except errors.RpcError as e:
        return encode_error(rid, e)
    except (OSError, CorruptRecord) as e:  # the disk, named: never a traceback to the client
        log.error("request %r (%s): %s", req.id, req.method, e)
        return encode_error(rid, storage_failure(e, req.method))
    except Exception:
        log.exception("request %r (%s) failed", rid, req.method)
        return encode_error(rid, errors.InternalError("Internal error (see the daemon log)"))


async def notified(route: Route, params: Params, req: Request, conn: Caller) -> None:
    """Run a prepared notification to completion: it is never answered, even with an error."""
    try:
        if route.queues:
            await unanswered(route.handler(params, conn))
        else:
            await route.handler(params, conn)
    except errors.RpcError:
        pass
    except Exception:
        log.exception("notification (%s) failed", req.method)


async def unanswered(work: Answering) -> None:
    """Wait for the work a notification queued (nobody is answered; cancelling the wait, as a
    closing connection does, abandons it)."""
    try:
        await work.wait()
    except errors.RpcError:
        pass
    except Exception:
        log.exception("a notification's work failed")


async def dispatch(req: Request, rid: Id, conn: Caller) -> bytes:
    """prepare + run for request `rid`, with preparation errors answered too."""
    try:
        route, params = prepare(req)
    except errors.RpcError as e:
        return encode_error(rid, e)
    return await run(route, params, rid, req, conn)


async def dispatch_notification(req: Request, conn: Caller) -> None:
    """prepare + notified; preparation errors are not answered either."""
    try:
        route, params = prepare(req)
    except errors.RpcError:
        return
    await notified(route, params, req, conn)
