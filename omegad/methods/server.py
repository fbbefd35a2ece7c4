"""server.* and rpc.* methods, and the $/cancelRequest notification."""

import os
import time
from pathlib import Path

import msgspec
import trio

from omegad import __version__
from omegad.dispatch import method
from omegad.oracle.select import DOTENV_NAMES, anchor_paths, oracle_description
from omegad.server import Connection
from protocol import PROTOCOL_VERSION, errors
from protocol import methods as m

CAPABILITIES = ["batch", "cancel", "notifications"]
MAX_PING_DELAY = 60.0


@method("server.hello", inline=True)
async def hello(p: m.HelloParams, conn: Connection) -> m.HelloResult:
    if p.protocol != PROTOCOL_VERSION:
        raise errors.VersionMismatch(
            f"Version mismatch: the daemon speaks protocol {PROTOCOL_VERSION}, "
            f"the client {p.protocol}",
            {"server_version": __version__, "protocol": PROTOCOL_VERSION},
        )
    daemon = conn.daemon
    for field, value in (("session_dir", p.session_dir), ("cwd", p.cwd)):
        if value is not None:
            check_client_path(field, value)
    previous = conn.session_dir
    conn.session_dir = daemon.session_dirs.acquire(p.session_dir or daemon.config.session_dir)
    if previous is not None and previous != conn.session_dir:
        daemon.release_if_unused(previous)
    conn.client = p.client
    conn.cwd = Path(p.cwd) if p.cwd is not None else None
    conn.dotenv = p.dotenv
    conn.env = dict(p.env)
    conn.env.pop(DOTENV_NAMES, None)
    if p.dotenv is not None and p.dotenv.read:
        conn.env[DOTENV_NAMES] = ",".join(p.dotenv.names)
    anchor_paths(conn.env, conn.cwd)
    return m.HelloResult(
        server_version=__version__,
        protocol=PROTOCOL_VERSION,
        pid=os.getpid(),
        capabilities=CAPABILITIES,
        session_dir=str(conn.session_dir),
        oracle=oracle_description(conn.env),
    )



def check_client_path(field: str, value: str) -> None:
    """A path a client sends is absolute and free of NUL (relative paths would resolve against
    the daemon's working directory, not the client's)."""
    if "\0" in value:
        raise errors.InvalidParams(f"Invalid params: `{field}` contains a NUL byte")
    if not os.path.isabs(value):
        raise errors.InvalidParams(
            f"Invalid params: `{field}` must be an absolute path, not {value!r}"
        )


def dotenv_text(dotenv: m.DotEnv | None) -> str:
    """What server.status says a connection's client did with its .env."""
    if dotenv is None:
        return ""
    if dotenv.read:
        return f"read {dotenv.path}"
    return f"ignored {dotenv.path}: {dotenv.reason}"


@method("server.ping", inline=lambda p: not p.delay)
async def ping(p: m.PingParams, conn: Connection) -> m.PingResult:
    if not 0 <= p.delay <= MAX_PING_DELAY:
        raise errors.InvalidParams(
            f"Invalid params: `delay` must be within 0..{MAX_PING_DELAY:g} s"
        )
    if p.delay:
        await trio.sleep(p.delay)
    return m.PingResult()


@method("server.status", inline=True)
async def status(p: m.StatusParams, conn: Connection) -> m.StatusResult:
    daemon = conn.daemon
    cfg = daemon.config
    proc = daemon.process
    with proc.oneshot():
        rss = proc.memory_info().rss
        cpu = proc.cpu_times()
        cpu_percent = proc.cpu_percent(None)
    now = time.monotonic()
    connections = [
        m.ConnectionInfo(
            id=c.id,
            client=c.client,
            peer_pid=c.peer_pid,
            session_dir=str(c.session_dir) if c.session_dir else None,
            in_flight=len(c.in_flight),
            connected_seconds=round(now - c.connected_at, 3),
            oracle=oracle_description(c.env),
            dotenv=dotenv_text(c.dotenv),
        )
        for c in daemon.connections.values()
    ]
    return m.StatusResult(
        version=__version__,
        protocol=PROTOCOL_VERSION,
        pid=os.getpid(),
        started_at=daemon.started_at.isoformat(timespec="seconds"),
        uptime_seconds=round(daemon.uptime(), 3),
        rss_bytes=rss,
        cpu_percent=cpu_percent,
        cpu_seconds=round(cpu.user + cpu.system, 3),
        connections=connections,
        session_dirs=[str(d) for d in daemon.session_dirs],
        storage=list(daemon.sessions.storage_notices),
        config=m.ConfigInfo(
            socket=str(cfg.socket),
            pidfile=str(cfg.pidfile),
            log_file=str(cfg.log_file),
            log_level=cfg.log_level,
            default_session_dir=str(cfg.session_dir),
            idle_exit=cfg.idle_exit,
            max_line=cfg.max_line,
            foreground=cfg.foreground,
        ),
        running=daemon.sessions.running(),
    )


@method("server.shutdown", inline=True)
async def shutdown(p: m.ShutdownParams, conn: Connection) -> m.ShutdownResult:
    conn.daemon.request_shutdown(
        f"server.shutdown from connection {conn.id} ({conn.client or '?'})"
    )
    return m.ShutdownResult()


_discover_cache: m.DiscoverResult | None = None


@method("rpc.discover", inline=True)
async def discover(p: m.DiscoverParams, conn: Connection) -> m.DiscoverResult:
    global _discover_cache
    if _discover_cache is None:
        _discover_cache = build_discover()
    return _discover_cache


def build_discover() -> m.DiscoverResult:
    """The published OpenRPC document, generated from protocol.methods.METHODS (never
    hand-written)."""
    specs = sorted(m.METHODS.values(), key=lambda s: s.name)
    types: list[type] = []
    for s in specs:
        types.append(s.params)
        if s.result is not None:
            types.append(s.result)
    _, schemas = msgspec.json.schema_components(types, ref_template=REF)
    methods = [
        m.MethodInfo(
            name=s.name,
            summary=s.summary,
            params=_param_descriptors(schemas[s.params.__name__]),
            result=m.ContentDescriptor(name="result", schema=_ref(s.result), required=True)
            if s.result is not None else None,
            notification=s.result is None,
        )
        for s in specs
    ]
    info = m.OpenRpcInfo(title="omegad", version=__version__, description=DESCRIPTION)
    codes = [m.ErrorInfo(code=c, message=text) for c, text in sorted(errors.MESSAGES.items())]
    return m.DiscoverResult(openrpc=m.OPENRPC_VERSION, info=info, methods=methods,
                            components=m.Components(schemas=schemas), errors=codes)


REF = "#/components/schemas/{name}"
DESCRIPTION = ("The omega session server: Omega Lisp sessions over JSON-RPC 2.0, one JSON text "
               "per line on a Unix socket.")


def _ref(t: type) -> dict[str, str]:
    return {"$ref": REF.format(name=t.__name__)}


def _param_descriptors(schema: dict) -> list[m.ContentDescriptor]:
    """A params Struct's fields, in order, as OpenRPC content descriptors."""
    required = set(schema.get("required", ()))
    return [m.ContentDescriptor(name=name, schema=field, required=name in required)
            for name, field in schema.get("properties", {}).items()]


@method("$/cancelRequest", inline=True)
async def cancel_request(p: m.CancelParams, conn: Connection) -> None:
    conn.cancel(p.id)


@method("server.stopping", inline=True)
async def server_stopping(p: m.StoppingNotice, conn: Connection) -> None:
    """Sent by the daemon to clients as it stops; a client sending it is ignored."""
