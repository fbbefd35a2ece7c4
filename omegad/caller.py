"""A client connection as the work it asks for sees it: the sessions (their actors, the commands,
the manager) and the method table. omegad.server.Connection is the one there is; code that only
serves a connection types it as a Caller, so that it does not depend on the server around it."""

from __future__ import annotations

from typing import Any, Protocol


class Stoppable(Protocol):
    """The daemon a connection reached, as far as a command may act on it (`:server stop`)."""

    def request_shutdown(self, reason: str) -> None: ...


class Caller(Protocol):
    """One client connection: who it is, the settings its `server.hello` sent, a way to stream
    notifications to it while its requests run, and the daemon it reached."""

    @property
    def id(self) -> int: ...

    @property
    def client(self) -> str: ...

    @property
    def env(self) -> dict[str, str]: ...

    @property
    def closed(self) -> bool: ...

    @property
    def daemon(self) -> Stoppable: ...

    async def notify(self, method: str, params: Any = ...) -> None: ...
