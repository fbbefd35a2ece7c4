"""A small blocking JSON-RPC client over the daemon's Unix socket (stdlib only: socket, json).

with Client.connect(path) as c:
    c.hello(client="omegacli", session_dir="/x", env={})
    c.call("server.status")            # -> the result, or raises protocol.errors.RpcError
"""

import itertools
import json
import socket

from protocol import errors

CANCEL_GRACE = 2.0  # seconds to wait for the answer of a cancelled request

# Typing is left out on purpose: importing `typing` costs the one-shot path ~4 ms.


class DaemonUnreachable(Exception):
    """Nothing answers on the socket (missing, refused, or the daemon went away)."""


class Client:
    def __init__(self, sock: socket.socket, path: str):
        self.sock = sock
        self.path = path
        self._buf = b""
        self._ids = itertools.count(1)

    @classmethod
    def connect(cls, path: str, timeout: float | None = None) -> "Client":
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.connect(path)  # blocking: waits if the listen backlog is full
        except (FileNotFoundError, ConnectionRefusedError, NotADirectoryError) as e:
            sock.close()
            raise DaemonUnreachable(f"no daemon on {path}: {e.strerror}") from None
        except OSError:
            sock.close()
            raise
        _check_peer(sock, path)
        sock.settimeout(timeout)
        return cls(sock, path)

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.sock.close()

    def send(self, message: dict) -> None:
        data = json.dumps(message, separators=(",", ":")).encode() + b"\n"
        try:
            self.sock.sendall(data)
        except (BrokenPipeError, ConnectionResetError) as e:
            raise DaemonUnreachable(f"the daemon closed the connection: {e.strerror}") from None

    def notify(self, method: str, params: object = None) -> None:
        message: dict[str, object] = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            message["params"] = params
        self.send(message)

    def start(self, method: str, params: object = None) -> int:
        """Send a request and return its id (read the answer with `wait`)."""
        rid = next(self._ids)
        message = {"jsonrpc": "2.0", "method": method, "id": rid}
        if params is not None:
            message["params"] = params
        self.send(message)
        return rid

    def wait(self, rid: int, on_notification=None) -> object:
        """Read until the answer to `rid`; notifications in between go to `on_notification`."""
        while True:
            message = self.read()
            if message.get("id") == rid and "method" not in message:
                if "error" in message:
                    err = message["error"]
                    raise errors.RpcError(err.get("message"), err.get("data"), code=err.get("code"))
                return message.get("result")
            if "method" in message and on_notification is not None:
                on_notification(message["method"], message.get("params"))

    def call(self, method: str, params: object = None, on_notification=None):
        return self.wait(self.start(method, params), on_notification)

    def read(self) -> dict:
        while b"\n" not in self._buf:
            try:
                chunk = self.sock.recv(65536)
            except ConnectionResetError:
                chunk = b""
            if not chunk:
                raise DaemonUnreachable("the daemon closed the connection")
            self._buf += chunk
        line, _, self._buf = self._buf.partition(b"\n")
        return json.loads(line)


def _check_peer(sock: socket.socket, path: str) -> None:
    """Refuse a socket served by another user: hello carries our settings and provider keys."""
    if not hasattr(socket, "SO_PEERCRED"):
        return
    import os
    import struct

    _, uid, _ = struct.unpack("3i", sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))
    if uid != os.getuid():
        sock.close()
        raise DaemonUnreachable(f"refusing {path}: it is served by uid {uid}, not by us")


def call_interruptible(client: Client, method: str, params, timeout: float | None):
    """Call; on Ctrl-C or after `timeout` s, send $/cancelRequest and return/raise its answer."""
    rid = client.start(method, params)
    by_user = False
    try:
        client.sock.settimeout(timeout)
        return client.wait(rid)
    except KeyboardInterrupt:
        by_user = True
    except TimeoutError:
        pass
    client.notify("$/cancelRequest", {"id": rid})
    client.sock.settimeout(CANCEL_GRACE)
    try:
        return client.wait(rid)
    except TimeoutError:
        raise errors.Interrupted("the daemon did not answer the cancelled request") from None
    except errors.RpcError as e:
        e.interrupted_by_user = by_user
        if not by_user and e.code == errors.INTERRUPTED:
            e.message = f"timed out after {timeout:g} s; {e.message}"
        raise
