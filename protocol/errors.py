"""JSON-RPC error codes and the exceptions that carry them (stdlib only).

Handlers raise an `RpcError` subclass; the dispatcher turns it into the error object once.
Application codes live in the implementation-defined range -32000..-32099, except INTERRUPTED,
which is -32800 as in the Language Server Protocol's RequestCancelled.
"""

# The five standard codes of JSON-RPC 2.0.
PARSE_ERROR = -32700  # the line is not valid JSON
INVALID_REQUEST = -32600  # valid JSON, but not a request (or an empty batch, or a line too long)
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602  # the message names the offending field
INTERNAL_ERROR = -32603  # a bug in the daemon; details are in its log

# Application codes.
SESSION_NOT_FOUND = -32001  # no session by that name in the connection's session dir
INVALID_SESSION_NAME = -32002  # a name must match [A-Za-z0-9][A-Za-z0-9._-]{0,63}
SESSION_LOCKED = -32003  # another client holds the session's write lease
LIMIT_EXCEEDED = -32004  # a step, memory, size or time budget was exceeded
VERSION_MISMATCH = -32005  # client and daemon speak different protocol versions
SESSION_DIR_UNAVAILABLE = (
    -32006
)  # the session dir cannot be created/written or another daemon holds it
UNTRUSTED_PATH = -32020  # a path someone else could write: a symlink, another owner, open to others
INTERRUPTED = -32800  # cancelled by $/cancelRequest, session.interrupt or shutdown

MESSAGES = {
    PARSE_ERROR: "Parse error",
    INVALID_REQUEST: "Invalid Request",
    METHOD_NOT_FOUND: "Method not found",
    INVALID_PARAMS: "Invalid params",
    INTERNAL_ERROR: "Internal error",
    SESSION_NOT_FOUND: "Session not found",
    INVALID_SESSION_NAME: "Invalid session name",
    SESSION_LOCKED: "Session locked",
    LIMIT_EXCEEDED: "Limit exceeded",
    VERSION_MISMATCH: "Version mismatch",
    SESSION_DIR_UNAVAILABLE: "Session dir unavailable",
    UNTRUSTED_PATH: "Untrusted path",
    INTERRUPTED: "Interrupted",
}


class RpcError(Exception):
    """An error a request ends with; `code` says which, `message` is for the user to read."""

    code = INTERNAL_ERROR
    interrupted_by_user = False  # a client's mark: the user (Ctrl-C), not a timeout, cancelled it

    def __init__(self, message: str | None = None, data: object = None, *, code: int | None = None):
        if code is not None:
            self.code = code
        self.message = message or MESSAGES.get(self.code, "Error")
        self.data = data
        super().__init__(self.message)

    def __str__(self) -> str:
        return f"{self.message} ({self.code})"


class ParseError(RpcError):
    code = PARSE_ERROR


class InvalidRequest(RpcError):
    code = INVALID_REQUEST


class MethodNotFound(RpcError):
    code = METHOD_NOT_FOUND


class InvalidParams(RpcError):
    code = INVALID_PARAMS


class InternalError(RpcError):
    code = INTERNAL_ERROR


class SessionNotFound(RpcError):
    code = SESSION_NOT_FOUND


class InvalidSessionName(RpcError):
    code = INVALID_SESSION_NAME


class SessionLocked(RpcError):
    code = SESSION_LOCKED


class LimitExceeded(RpcError):
    code = LIMIT_EXCEEDED


class VersionMismatch(RpcError):
    code = VERSION_MISMATCH


class SessionDirUnavailable(RpcError):
    code = SESSION_DIR_UNAVAILABLE


class UntrustedPath(RpcError):
    """A file or directory omega would write, lock or read secrets from is not the user's own;
    the message names the path and what is wrong with it."""

    code = UNTRUSTED_PATH


class Interrupted(RpcError):
    code = INTERRUPTED


# Storage (issue 17): a session's files could not be written or read as they are.
STORAGE_FULL = -32010  # no space left (ENOSPC, EDQUOT, EFBIG): nothing was changed
STORAGE_CORRUPT = -32011  # a file is damaged beyond what opening repairs
STORAGE_PERMISSION = -32012  # a file or directory may not be read or written (EACCES, EROFS …)
SESSION_BUSY = -32013  # the session is live and has its own writer: ask through it
STORAGE_FAILED = -32014  # the disk failed a read or write (EIO …): nothing was changed

MESSAGES |= {
    STORAGE_FULL: "Storage full",
    STORAGE_CORRUPT: "Storage corrupt",
    STORAGE_PERMISSION: "Storage permission denied",
    SESSION_BUSY: "Session busy elsewhere",
    STORAGE_FAILED: "Storage failed",
}


class StorageFull(RpcError):
    code = STORAGE_FULL


class StorageCorrupt(RpcError):
    code = STORAGE_CORRUPT


class StoragePermission(RpcError):
    code = STORAGE_PERMISSION


class SessionBusy(RpcError):
    code = SESSION_BUSY


class StorageFailed(RpcError):
    code = STORAGE_FAILED
