"""Every method of the wire: one params Struct and one result Struct each, and the table of them.

`METHODS` is the single source of truth: the daemon registers one handler per entry (a test checks
that none is missing) and `rpc.discover` publishes this table with JSON Schemas generated from the
Structs. Adding a method = its two Structs + one `_method(...)` line here + a handler in
`omegad/methods/<family>.py`.

Params Structs forbid unknown fields, so a typo is an `Invalid params` error naming the field.
"""

from typing import Annotated, Any, Literal, NamedTuple

import msgspec

from protocol import PROTOCOL_VERSION


class Params(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Base of every params Struct."""


class Result(msgspec.Struct, kw_only=True):
    """Base of every result Struct."""


# --- server.* -----------------------------------------------------------------------------------


class DotEnv(msgspec.Struct, kw_only=True):
    """What a client did with the `.env` of its working directory: read it (the variables it took
    from it are in `names`), or ignored it because it is not the user's own (`reason` says why)."""

    path: str
    read: bool
    names: list[str] = []
    reason: str = ""


class HelloParams(Params):
    """First call of a client: who it is, which protocol it speaks, its session dir and settings.

    `session_dir` and `cwd` are absolute paths. `:` commands that write a file resolve a relative
    path against `cwd`, and refuse one when the client sent none. `dotenv` is what the client did
    with its `.env` (server.status shows it; a base URL from it never gets a key from elsewhere).
    """

    client: str = ""
    protocol: int = PROTOCOL_VERSION
    session_dir: str | None = None
    env: dict[str, str] = {}
    cwd: str | None = None
    dotenv: DotEnv | None = None


class HelloResult(Result):
    server_version: str
    protocol: int
    pid: int
    capabilities: list[str]
    session_dir: str
    oracle: str = ""  # which oracle this connection's commands use (never a key)


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
    oracle: str = ""  # which oracle its commands use: adapter, model, server; never a key
    dotenv: str = ""  # what its client did with its `.env`: read, or ignored and why


class ConfigInfo(Result):
    socket: str
    pidfile: str
    log_file: str
    log_level: str
    default_session_dir: str
    idle_exit: float | None
    max_line: int
    foreground: bool


class RunningCommand(Result):
    """The command a session is running: who started it, what it is, for how long."""

    session: str
    client: str  # the client name from server.hello ("" for a client that sent none)
    connection: int  # its connection id, as in server.status's connections (0: the daemon's own)
    first_line: str  # the command's first line, cut at 80 characters
    seconds: float  # how long it has been running
    detached: bool  # session.execute {detach: true}: it outlives its connection


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
    storage: list[str] = []  # what opening sessions found damaged on disk and did (newest last)
    running: list[RunningCommand] = []  # every session's running command, longest first


class ShutdownParams(Params):
    pass


class ShutdownResult(Result):
    stopping: bool = True


class FlushParams(Params):
    pass


class FlushResult(Result):
    sessions: int  # sessions in memory whose files were flushed


# --- rpc.* and $/ -------------------------------------------------------------------------------


class DiscoverParams(Params):
    pass


# rpc.discover answers an OpenRPC 1.x document (https://spec.open-rpc.org), generated from the
# table below: each method's params as content descriptors (by name or by position, in this
# order), its result as one, every schema under `components.schemas`.
OPENRPC_VERSION = "1.3.2"


class ContentDescriptor(Result, omit_defaults=True):
    name: str
    schema: dict[str, Any]
    required: bool = False


class MethodInfo(Result, omit_defaults=True):
    name: str
    summary: str
    params: list[ContentDescriptor]
    result: ContentDescriptor | None = None  # none: a notification, never answered
    paramStructure: Literal["either"] = "either"  # noqa: N815 (OpenRPC's spelling)
    notification: bool = msgspec.field(default=False, name="x-notification")


class OpenRpcInfo(Result):
    title: str
    version: str  # the daemon's version
    description: str


class Components(Result):
    schemas: dict[str, Any]


class ErrorInfo(Result):
    code: int
    message: str


class DiscoverResult(Result):
    openrpc: str
    info: OpenRpcInfo
    methods: list[MethodInfo]
    components: Components
    protocol: int = msgspec.field(default=PROTOCOL_VERSION, name="x-protocol")
    errors: list[ErrorInfo] = msgspec.field(default_factory=list, name="x-errors")  # every code


class CancelParams(Params):
    """Cancel the in-flight request `id` of this connection; it answers -32800 (Interrupted)."""

    id: int | str


# --- session.* ----------------------------------------------------------------------------------


class SessionParams(Params):
    """A session of this connection's session dir, by name ([A-Za-z0-9][A-Za-z0-9._-]{0,63})."""

    session: str


class SessionInfo(Result):
    name: str
    events: int | None  # None: no index beside the journal (the reference lists it bare)
    checkpoints: int | None
    in_memory: bool


class ListParams(Params):
    pass


class ListResult(Result):
    sessions: list[SessionInfo]


class OpenParams(SessionParams):
    """Attach this connection to the session (it receives `session.output`); `write` takes the
    write lease, refused while another client holds it. `follow` also sends it every client's
    inputs and result lines (`session.output` kinds `input` and `result`), as a REPL shows them.

    A session that does not exist is created by mode `write` or by `create` (a REPL attaching
    to the session it is about to work in); otherwise it answers -32001, creating nothing."""

    mode: Literal["read", "write"] = "read"
    follow: bool = False
    create: bool = False


class OpenResult(Result):
    session: str
    seq: int  # the session's next journal seq
    lease_holder: str | None
    definitions: int  # top-level definitions in effect
    oracle: str = ""  # the oracle this connection's commands use (scripted, rules, …)
    debug_mode: bool = False  # a debug run is paused at a step (`:debug`)
    step_count: int = 0  # the debugger's current step
    trace_length: int = 0  # steps the debugger's trace holds
    breakpoints: int = 0  # breakpoints set in the session
    storage: list[str] = []  # what opening it found damaged on disk and did about it
    running: RunningCommand | None = None  # the command the session is running, if any
    inputs: int = 0  # inputs in the session's journal (a notebook's execution count)


class ExecuteParams(SessionParams):
    """Run one REPL command: an expression (several top-level forms run one after another) or a
    `:` command. `piped` gives `:quit` the reference's piped-mode behaviour (no `Goodbye!`).

    A command belongs to the connection that sent it: when that connection ends (closed,
    crashed, killed), the command is dropped if still queued and interrupted if running (the
    session rolls back as for any interrupt). `detach` keeps it running to its end instead; its
    answer then goes nowhere, but its effects and journal records stay."""

    command: str
    piped: bool = False
    memory_budget: Annotated[int, msgspec.Meta(gt=0, description=(
        "bytes this command may grow the daemon by (default: omegad --command-memory, 512 MiB);"
        " past it the command ends with `error: memory budget exceeded`"))] | None = None
    step_budget: Annotated[int, msgspec.Meta(gt=0, description=(
        "evaluation steps this command may take (default: no limit); past it the command ends"
        " with `error: step budget exceeded`"))] | None = None
    detach: bool = False


class ExecuteResult(Result):
    output: str  # every line the command printed, `display` output included, as the REPL shows it
    ok: bool  # False when the (last) evaluation ended in an `error:` line
    value: str | None  # the printed value of the last form (after `=> `)
    error: str | None  # the message of the `error:` line
    seq: int  # the session's next journal seq after the command
    should_exit: bool
    elapsed_ms: float
    session: str  # the session the client works in from now on (changes after `:session fork`)
    # How many of the command's inputs (its forms, or the `:` command) ended in an `error:` line
    # or were an unknown `:` command: what `omegacli -c`/`-f` turn into exit status 1.
    failed: int = 0
    inputs: int | None = None  # inputs in the session's journal, once a session.open counted them


class InterruptParams(SessionParams):
    own: bool = False  # only a command this connection sent (a client that waits its turn)


class InterruptResult(Result):
    interrupted: bool  # False when nothing was running


class CheckpointInfo(Result):
    seq: int
    reason: str
    state_id: str


class CheckpointsResult(Result):
    session: str  # the session whose checkpoints these are (the loaded one, else this one)
    checkpoints: list[CheckpointInfo]


class TraceParams(SessionParams):
    from_seq: int = 0
    limit: int = 1000
    verbose: bool = False


class TraceResult(Result):
    session: str
    lines: list[str]
    total_events: int


class GotoParams(SessionParams):
    seq: int


class ForkParams(SessionParams):
    name: str


class SaveParams(SessionParams):
    name: str | None = None


class OutputResult(Result):
    """The text a session command printed (the same as its `:session …` form)."""

    output: str
    session: str


class DeleteResult(Result):
    deleted: bool


class CompleteParams(SessionParams):
    prefix: str


class CompleteResult(Result):
    completions: list[str]


class LookupParams(SessionParams):
    name: str


class Definition(Result):
    """Where a user's definition was made: the session and the seq of its `input` event."""

    session: str
    seq: int


class LookupResult(Result):
    """What a name is bound to in the session (`:doc NAME` prints `text`). A name bound to
    nothing answers `kind: "unbound"` (not an error: a kernel's inspect asks for any word)."""

    name: str
    kind: Literal["primitive", "procedure", "macro", "value", "special form", "unbound"]
    arity: str | None  # "1", "1-2" (optional parameters), "2+" (a rest parameter)
    doc: str | None  # one line (primitives, the prelude's procedures, special forms)
    params: list[str] | None  # a procedure's parameters (". rest" for a rest parameter)
    defined: Definition | None  # a user's definition: where it was made
    source: str | None  # a user's definition: its source text
    text: str  # exactly what `:doc NAME` prints
    usage: str | None = None  # "(car pair)"


class OutputNotice(Params):
    """`session.output` notification: text a running command printed, streamed as it happens.

    `kind` says what the text is: `display` output, the `input` a client sent (the command, as
    it starts running), or the command's `result` lines (`=> …`, `error: …`, a `:` command's
    text) in the order they are printed. Every attached client gets `display`; those that opened
    the session with `follow` get all three, and can show the session as it happens. `client`
    names the client whose command it is."""

    session: str
    text: str
    client: str
    kind: Literal["display", "input", "result"] = "display"


class StoppingNotice(Params):
    """`server.stopping` notification: the daemon is shutting down on purpose (`reason`: who
    asked). Requests in flight are still answered; then the connection closes. A client can
    tell a deliberate stop from a crash, and need not start the daemon again at once."""

    reason: str


class BacktraceFrame(Result):
    procedure: str  # the procedure's name ("lambda" when it has none), or "(top level)"
    form: str  # the form it was evaluating (cut at 100 characters; "" when unknown)


class BacktraceResult(Result):
    """After an evaluation that failed: its active frames, innermost first (tail calls leave
    none), at most 30 of them; `more` counts the rest. Empty when the last evaluation did not
    fail. `text` is exactly what `:bt` prints."""

    session: str
    frames: list[BacktraceFrame]
    more: int
    text: str


# --- snapshot.*, timeline.*, metrics -------------------------------------------------------------
# They act on the session that `session.checkpoints` refers to: the one loaded with `:session load`,
# else the session itself; `session` in a result names it.


class SnapshotInfo(Result):
    id: int
    session: str  # the session the snapshot belongs to
    seq: int  # the checkpoint it names
    description: str
    tags: list[str]  # the `#tag` words of the description
    created: str  # ISO-8601 UTC


class SnapshotCreateParams(SessionParams):
    """Snapshot the checkpoint the session stands at (waits for a running command)."""

    description: str = ""


class SnapshotIdParams(SessionParams):
    id: int


class SnapshotListParams(SessionParams):
    tag: str | None = None  # only snapshots with this tag


class SnapshotListResult(Result):
    session: str
    snapshots: list[SnapshotInfo]


class AnnotationInfo(Result):
    seq: int
    label: str
    description: str
    tags: list[str]
    created: str  # ISO-8601 UTC


class TimelineParams(SessionParams):
    """A page of checkpoints: those with seq >= `from`, at most `limit`; `find` keeps only the
    annotated ones whose label matches it (a case-insensitive regex) or, as `#tag`, that tag."""

    from_: int = msgspec.field(default=0, name="from")
    limit: int = 100
    find: str | None = None


class TimelineEntry(Result):
    seq: int
    reason: str
    state_id: str
    annotation: AnnotationInfo | None


class TimelineResult(Result):
    session: str
    entries: list[TimelineEntry]
    total: int  # checkpoints in the session
    next_from: int | None  # `from` of the next page, None after the last


class AnnotateParams(SessionParams):
    """Label checkpoint `seq` (replacing its label); `#tag` words become tags."""

    seq: int
    label: str
    description: str = ""


class ExportResult(Result):
    session: str
    document: dict[str, Any]  # {"format": "omega-annotations", "version": 1, "annotations": […]}


class ImportParams(SessionParams):
    document: Any  # what timeline.export returned (all of it is checked before any is added)


class ImportResult(Result):
    session: str
    imported: int


class SessionMetricsResult(Result):
    session: str
    in_memory: bool
    commands: int
    errors: int
    mean_ms: float  # of the last 100 commands
    p95_ms: float
    peak_memory_bytes: int  # the evaluator's own accounting of the user's heap
    memory_bytes: int  # at the last sample
    size_bytes: int  # the session's files on disk
    last_accessed: str | None  # ISO-8601 UTC; None: never used since the daemon started


class ServerMetricsParams(Params):
    sessions: bool = True  # include every session of this connection's session dir


class ServerMetricsResult(Result):
    sessions_in_memory: int
    sessions_on_disk: int  # in the session dirs the daemon serves
    total_commands: int
    total_errors: int
    mean_ms: float  # weighted by commands
    total_peak_memory_bytes: int
    rss_bytes: int
    cpu_percent: float
    cpu_seconds: float
    connections: int
    persist_queue: int  # files written and not yet fsync'd
    last_fsync_age: float  # seconds
    fsync_policy: str
    metrics_enabled: bool
    sessions: list[SessionMetricsResult]  # sorted by last access, most recent first
# --- debug.* (the stepping debugger, typed: the same commands as `:debug`, `:step`, …) ----------


class DebugStartParams(SessionParams):
    code: str  # one expression, stepped on a copy of the session's state


class DebugCountParams(SessionParams):
    count: int = 1  # steps (debug.step) or history entries (debug.back)


class DebugGotoParams(SessionParams):
    step: int


class DebugTraceParams(SessionParams):
    start: int = 0
    count: int = 20


class DebugBreakParams(SessionParams):
    type: Literal["step", "expr", "effect"]
    condition: str  # a step number, an expression tag / name, or an operation


class DebugBreakpointParams(SessionParams):
    id: int


class BreakpointInfo(Result):
    id: int
    type: str
    condition: int | str
    enabled: bool


class TraceEntry(Result):
    step: int
    control: str  # as `:trace` shows it: "Expr: App(...)", "Value: 3"
    depth: int


class DebugResult(Result):
    """The debugger after the command: `output` is the text the `:` command prints."""

    session: str
    output: str
    debug_mode: bool  # a run is paused at `step`
    step: int
    control: str | None  # None when no run is paused
    depth: int
    handlers: int
    trace_length: int
    finished: bool  # the last run reached its end (DONE or an error)
    result: str | None  # its printed value (after `=> `) or `error: …` line
    breakpoints: list[BreakpointInfo]
    trace: list[TraceEntry] = []  # debug.trace only


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
    "server.flush",
    FlushParams,
    FlushResult,
    "Write every session's index and fsync every file; returns when it is all on disk.",
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

_method("session.list", ListParams, ListResult, "The sessions of this connection's session dir.")
_method("session.open", OpenParams, OpenResult, "Attach to a session (mode read|write).")
_method("session.execute", ExecuteParams, ExecuteResult, "Run one REPL command in a session.")
_method("session.interrupt", InterruptParams, InterruptResult,
        "Stop the session's running command (with `own`: only if this connection sent it).")
_method("session.take", SessionParams, OpenResult, "Take the session's write lease over.")
_method("session.checkpoints", SessionParams, CheckpointsResult, "Checkpoints of the session.")
_method("session.trace", TraceParams, TraceResult, "A page of the session's rendered journal.")
_method("session.goto", GotoParams, OutputResult, "Restore the state at a checkpoint seq.")
_method("session.resume", SessionParams, OutputResult, "Move to the next checkpoint.")
_method("session.fork", ForkParams, OutputResult, "Fork the session at its current seq.")
_method("session.save", SaveParams, OutputResult, "Copy the session under a new name, or flush it.")
_method("session.delete", SessionParams, DeleteResult, "Delete a session and its files.")
_method("session.complete", CompleteParams, CompleteResult, "Bound names and commands by prefix.")
_method("session.backtrace", SessionParams, BacktraceResult,
        "The Lisp call frames active at the last evaluation's error, innermost first (`:bt`).")
_method("session.lookup", LookupParams, LookupResult,
        "What a name is bound to: kind, arity, doc line, parameters, definition (`:doc`).")
_method("session.output", OutputNotice, None, "Notification (daemon to client): streamed output.")
_method("server.stopping", StoppingNotice, None, "Notification (daemon to client): stopping.")

_method("snapshot.create", SnapshotCreateParams, SnapshotInfo, "Snapshot the current checkpoint.")
_method("snapshot.list", SnapshotListParams, SnapshotListResult, "The session's snapshots.")
_method("snapshot.restore", SnapshotIdParams, SnapshotInfo, "Adopt a snapshot's state.")
_method("snapshot.delete", SnapshotIdParams, SnapshotInfo, "Delete a snapshot.")
_method("timeline.get", TimelineParams, TimelineResult, "A page of annotated checkpoints.")
_method("timeline.annotate", AnnotateParams, AnnotationInfo, "Label a checkpoint.")
_method("timeline.export", SessionParams, ExportResult, "The session's annotations as JSON.")
_method("timeline.import", ImportParams, ImportResult, "Add annotations from an export.")
_method("session.metrics", SessionParams, SessionMetricsResult, "A session's metrics.")
_method("server.metrics", ServerMetricsParams, ServerMetricsResult,
        "The daemon's metrics: totals, process, persistence, and every session's.")
_method("debug.start", DebugStartParams, DebugResult, "Start stepping an expression (`:debug`).")
_method("debug.step", DebugCountParams, DebugResult, "Take `count` steps (`:step N`).")
_method("debug.run", SessionParams, DebugResult,
        "Run to a breakpoint, an oracle call or the end (`:run`); interruptible.")
_method("debug.goto", DebugGotoParams, DebugResult, "Jump to a recorded step (`:goto N`).")
_method("debug.back", DebugCountParams, DebugResult, "Go back in the history (`:back N`).")
_method("debug.stop", SessionParams, DebugResult, "Discard the debug run (`:stop`).")
_method("debug.state", SessionParams, DebugResult, "The debugger's state (`:state`).")
_method("debug.trace", DebugTraceParams, DebugResult,
        "A page of the recorded trace (`:trace start count`), in `trace`.")
_method("debug.breakpoints", SessionParams, DebugResult, "The breakpoints (`:breaks`).")
_method("debug.break", DebugBreakParams, DebugResult, "Add a breakpoint (`:break type cond`).")
_method("debug.delbreak", DebugBreakpointParams, DebugResult, "Delete a breakpoint (`:delbreak`).")
_method("debug.toggle", DebugBreakpointParams, DebugResult, "Enable/disable one (`:toggle`).")
