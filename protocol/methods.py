"""Every method of the wire: one params Struct and one result Struct each, and the table of them.

`METHODS` is the single source of truth: the daemon registers one handler per entry (a test checks
that none is missing) and `rpc.discover` publishes this table with JSON Schemas generated from the
Structs. Adding a method = its two Structs + one `_method(...)` line here + a handler in
`omegad/methods/<family>.py`.

Params Structs forbid unknown fields, so a typo is an `Invalid params` error naming the field.
"""

from typing import Any, NamedTuple

import msgspec

from protocol import PROTOCOL_VERSION


class Params(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Base of every params Struct."""


class Result(msgspec.Struct, kw_only=True):
    """Base of every result Struct."""


# --- server.* -----------------------------------------------------------------------------------


class HelloParams(Params):
    """First call of a client: who it is, which protocol it speaks, its session dir and settings."""

    client: str = ""
    protocol: int = PROTOCOL_VERSION
    session_dir: str | None = None
    env: dict[str, str] = {}


class HelloResult(Result):
    server_version: str
    protocol: int
    pid: int
    capabilities: list[str]
    session_dir: str


class PingParams(Params):
    """`delay` (seconds, ≤ 60) answers later: a harmless slow request for clients and tests."""

    delay: float = 0.0


class PingResult(Result):
    pong: bool = True


class StatusParams(Params):
    pass


class ConnectionInfo(Result):
    id: int
    client: str
    peer_pid: int | None
    session_dir: str | None
    in_flight: int
    connected_seconds: float


class ConfigInfo(Result):
    socket: str
    pidfile: str
    log_file: str
    log_level: str
    default_session_dir: str
    idle_exit: float | None
    max_line: int
    foreground: bool


class StatusResult(Result):
    version: str
    protocol: int
    pid: int
    started_at: str
    uptime_seconds: float
    rss_bytes: int
    cpu_percent: float
    cpu_seconds: float
    connections: list[ConnectionInfo]
    session_dirs: list[str]
    config: ConfigInfo


class ShutdownParams(Params):
    pass


class ShutdownResult(Result):
    stopping: bool = True


# --- rpc.* and $/ -------------------------------------------------------------------------------


class DiscoverParams(Params):
    pass


class MethodInfo(Result):
    name: str
    summary: str
    notification: bool
    params: dict[str, Any]
    result: dict[str, Any] | None


class DiscoverResult(Result):
    protocol: int
    methods: list[MethodInfo]
    components: dict[str, Any]


class CancelParams(Params):
    """Cancel the in-flight request `id` of this connection; it answers -32800 (Interrupted)."""

    id: int | str


# --- the table ----------------------------------------------------------------------------------


class MethodSpec(NamedTuple):
    name: str
    params: type[Params]
    result: type[Result] | None  # None: a notification, never answered
    summary: str


METHODS: dict[str, MethodSpec] = {}


def _method(name: str, params: type[Params], result: type[Result] | None, summary: str) -> None:
    METHODS[name] = MethodSpec(name, params, result, summary)


_method(
    "server.hello",
    HelloParams,
    HelloResult,
    "Introduce the client; checks the protocol version and opens its session dir.",
)
_method("server.ping", PingParams, PingResult, "Answer (after `delay` seconds).")
_method(
    "server.status",
    StatusParams,
    StatusResult,
    "Version, pid, uptime, memory and CPU, connections, session dirs served, config.",
)
_method(
    "server.shutdown",
    ShutdownParams,
    ShutdownResult,
    "Stop the daemon gracefully: in-flight requests are answered, files flushed.",
)
_method(
    "rpc.discover",
    DiscoverParams,
    DiscoverResult,
    "This list of methods, with JSON Schemas of their params and results.",
)
_method(
    "$/cancelRequest",
    CancelParams,
    None,
    "Notification: cancel an in-flight request of this connection (it answers -32800).",
)
