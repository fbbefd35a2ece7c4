"""A client connection as the work it asks for sees it: the sessions (their actors, the commands,
the manager) and the method table. omegad.server.Connection is the one there is; code that only
serves a connection types it as a Caller, so that it does not depend on the server around it."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any, Protocol


class Reached(Protocol):
    """The daemon a connection reached, as far as a command may use it: the session dirs it
    serves (client_files.py) and stopping it (`:server stop`)."""

    @property
    def session_dirs(self) -> Iterable[Path]: ...

    def request_shutdown(self, reason: str) -> None: ...


class Caller(Protocol):
    """One client connection: who it is, what its `server.hello` sent (settings, session dir,
    working directory), a way to stream notifications to it while its requests run, and the
    daemon it reached."""

    @property
    def id(self) -> int: ...

    @property
    def client(self) -> str: ...

    @property
    def env(self) -> dict[str, str]: ...

    @property
    def session_dir(self) -> Path | None: ...

    @property
    def cwd(self) -> Path | None: ...

    @property
    def closed(self) -> bool: ...

    @property
    def daemon(self) -> Reached: ...

    async def notify(self, method: str, params: Any = ...) -> None: ...

    def notify_encoded(self, method: str, line: bytes) -> None: ...
