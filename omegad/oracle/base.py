"""The oracle interface: an async `call(request) -> response`, plus receipts.

Requests and responses are msgspec Structs from `omegad.lang.effects`, so a caller can journal
each pair as a receipt (keyed by `request.key()`) and replay it later without calling."""

from __future__ import annotations

from typing import Protocol

import msgspec

from omegad.lang.effects import OracleRequest, OracleResponse

__all__ = ["Oracle", "OracleError", "OracleRequest", "OracleResponse", "Receipt", "ReplayOracle",
           "call_sync"]


class OracleError(Exception):
    """The oracle could not answer; the command ends with `error: <message>`."""


class Oracle(Protocol):
    name: str

    async def call(self, request: OracleRequest, host=None) -> OracleResponse: ...


class Receipt(msgspec.Struct, frozen=True):
    key: str
    request: OracleRequest
    response: OracleResponse
    adapter: str = ""


class ReplayOracle:
    """Answers from recorded receipts only; a request without a receipt is an OracleError."""

    name = "replay"

    def __init__(self, receipts: list[Receipt]) -> None:
        self.by_key = {r.key: r.response for r in receipts}

    async def call(self, request: OracleRequest, host=None) -> OracleResponse:
        try:
            return self.by_key[request.key()]
        except KeyError:
            raise OracleError(f"no receipt for {request.op} request") from None


def call_sync(oracle: Oracle, request: OracleRequest) -> OracleResponse:
    """Run an oracle that never awaits anything (scripted, rules, replay) without an event loop."""
    coro = oracle.call(request)
    try:
        coro.send(None)
    except StopIteration as stop:
        return stop.value
    coro.close()
    raise RuntimeError(f"oracle {oracle.name!r} needs an event loop")
