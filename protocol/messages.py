"""JSON-RPC 2.0 envelopes as msgspec Structs, with one encoder and decoders built once.

A request's `params` stay raw (`msgspec.Raw`) until the dispatcher knows the method and decodes them
with that method's params Struct. An absent `id` makes a request a notification; `id: null` is a
(discouraged, but valid) request id.
"""

import re
from typing import Any, Literal

import msgspec
from msgspec import UNSET, Raw, UnsetType

from protocol import errors

Id = int | str | None


class Request(msgspec.Struct, kw_only=True):
    """A request, or a notification when `id` is absent."""

    jsonrpc: Literal["2.0"]
    method: str
    params: Raw | UnsetType = UNSET
    id: Id | UnsetType = UNSET

    @property
    def is_notification(self) -> bool:
        return self.id is UNSET


class ErrorObject(msgspec.Struct, kw_only=True):
    code: int
    message: str
    data: Any | UnsetType = UNSET


class Response(msgspec.Struct, kw_only=True):
    jsonrpc: Literal["2.0"] = "2.0"
    id: Id
    result: Any


class ErrorResponse(msgspec.Struct, kw_only=True):
    jsonrpc: Literal["2.0"] = "2.0"
    id: Id
    error: ErrorObject


class Notification(msgspec.Struct, kw_only=True):
    """A message that expects no answer (e.g. `session.output`, `$/cancelRequest`)."""

    jsonrpc: Literal["2.0"] = "2.0"
    method: str
    params: Any | UnsetType = UNSET


class ServerMessage(msgspec.Struct, kw_only=True):
    """Anything a daemon sends on one line: a response, an error response or a notification.

    For typed clients: `method` set means a notification; otherwise `error` or `result`.
    A batch answer is a JSON array of these (decode it with `decode_server_batch`).
    """

    jsonrpc: Literal["2.0"] = "2.0"
    id: Id | UnsetType = UNSET
    result: Raw | UnsetType = UNSET
    error: ErrorObject | UnsetType = UNSET
    method: str | UnsetType = UNSET
    params: Raw | UnsetType = UNSET


encoder = msgspec.json.Encoder()
request_decoder = msgspec.json.Decoder(Request)
batch_decoder = msgspec.json.Decoder(list[Raw])
server_message_decoder = msgspec.json.Decoder(ServerMessage)
server_batch_decoder = msgspec.json.Decoder(list[ServerMessage])


def error_object(exc: errors.RpcError) -> ErrorObject:
    data = UNSET if exc.data is None else exc.data
    return ErrorObject(code=exc.code, message=exc.message, data=data)


def encode_result(id: Id, result: Any) -> bytes:
    return _encode(Response(id=id, result=result))


def encode_error(id: Id, exc: errors.RpcError) -> bytes:
    return _encode(ErrorResponse(id=id, error=error_object(exc)))


def encode_notification(method: str, params: Any = UNSET) -> bytes:
    return _encode(Notification(method=method, params=params))


def _encode(message: Any) -> bytes:
    """UTF-8 JSON of a message. A string read from a file JavaScript wrote may hold a lone
    surrogate (the half of an emoji a 200-unit preview cut), which UTF-8 cannot carry: it is
    sent as U+FFFD, as Node prints it."""
    try:
        return encoder.encode(message)
    except UnicodeEncodeError:
        return encoder.encode(_printable(msgspec.to_builtins(message, builtin_types=(Raw,))))


_LONE = re.compile("[\ud800-\udfff]")


def _printable(value: Any) -> Any:
    if isinstance(value, str):
        return _LONE.sub("\ufffd", value)
    if isinstance(value, dict):
        return {_printable(k): _printable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_printable(v) for v in value]
    return value


def encode_request(method: str, params: Any = UNSET, id: Id | UnsetType = UNSET) -> bytes:
    raw = UNSET if params is UNSET else Raw(encoder.encode(params))
    return encoder.encode(Request(jsonrpc="2.0", method=method, params=raw, id=id))
