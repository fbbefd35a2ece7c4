"""The kernel's link to omegad: reached as omegacli reaches it (omegacli.autostart: started when
none runs), attached to one session, moved onto ipykernel's asyncio loop (the REPL's connection),
and reached again after the daemon went away.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from typing import Any

from omegacli import autostart
from omegacli.client import Client, DaemonUnreachable
from omegacli.repl.connection import Connection, Notice
from protocol import errors, paths

Opened = Callable[[dict[str, Any]], None]  # told each session.open result (attach, reattach)


class Link:
    def __init__(self, client_name: str, session: str, on_notification: Notice,
                 on_opened: Opened):
        self.client_name = client_name
        self.session = session
        self.on_notification = on_notification
        self.on_opened = on_opened
        self.socket, self.socket_named = paths.socket_path(), "OMEGAD_SOCKET" in os.environ
        self.conn: Connection | None = None
        self.hello: dict[str, Any] = {}
        self.opened: dict[str, Any] = {}
        self.problem: str | None = None  # why the daemon is not reached, when it is not
        self.lost = False  # the connection went away (the next cell says it reattached)
        self._adopting: Client | None = None  # reached before the loop ran, not adopted yet
        self._reaching = asyncio.Lock()
        self._create = True  # session.open's `create` (False against a daemon that predates it)

    def reach_now(self) -> None:
        """Blocking, before the loop runs (kernel_info's banner names the daemon at once)."""
        try:
            self._adopting, self.hello, opened = self._reach()
            self._opened(opened)
        except (DaemonUnreachable, errors.RpcError) as e:
            self.problem = str(e)

    def _reach(self) -> tuple[Client, dict[str, Any], dict[str, Any]]:
        client, hello = autostart.connect(self.socket, client_name=self.client_name,
                                          socket_named=self.socket_named)
        try:
            try:
                opened = client.call("session.open", self._open_params(self.session))
            except errors.RpcError as e:
                if not self._refuses_create(e):
                    raise
                opened = client.call("session.open", self._open_params(self.session))
        except BaseException:
            client.close()
            raise
        return client, hello, opened

    def _open_params(self, name: str) -> dict[str, Any]:
        params: dict[str, Any] = {"session": name, "follow": True}  # every client's commands
        if self._create:
            params["create"] = True  # a notebook attaches to the session it is about to work in
        return params

    def _refuses_create(self, e: errors.RpcError) -> bool:
        """A daemon from before `create` (its session.open always created) refuses the field."""
        if self._create and e.code == errors.INVALID_PARAMS and "create" in (e.message or ""):
            self._create = False
            return True
        return False

    def _opened(self, opened: dict[str, Any]) -> None:
        self.session, self.opened = opened["session"], opened
        self.on_opened(opened)

    async def up(self) -> bool:
        """Connected and attached (reattaching after a loss, starting the daemon if need be)."""
        async with self._reaching:  # one connection, however many handlers ask at once
            if self.conn is not None and not self.conn.lost:
                return True
            if self._adopting is None:
                try:
                    self._adopting, self.hello, opened = await asyncio.to_thread(self._reach)
                    self._opened(opened)
                except (DaemonUnreachable, errors.RpcError) as e:
                    self.problem = str(e)
                    return False
            client, self._adopting = self._adopting, None
            assert client is not None
            self.conn = await Connection.adopt(client, self.on_notification, self._on_lost)
            self.problem = None
            return True

    def _on_lost(self) -> None:
        self.lost = True

    async def call(self, method: str, params: dict[str, Any]) -> Any:
        if not await self.up():
            raise DaemonUnreachable(self.problem or "the daemon is not reachable")
        assert self.conn is not None
        return await self.conn.call(method, params)

    async def open(self, name: str) -> dict[str, Any]:
        """session.open NAME, following it; the link works in NAME from now on."""
        try:
            opened = await self.call("session.open", self._open_params(name))
        except errors.RpcError as e:
            if not self._refuses_create(e):
                raise
            opened = await self.call("session.open", self._open_params(name))
        self._opened(opened)
        return opened

    def start(self, method: str, params: dict[str, Any]) -> tuple[int, asyncio.Future]:
        assert self.conn is not None  # after up()
        return self.conn.start(method, params)

    def notify(self, method: str, params: dict[str, Any]) -> None:
        if self.conn is not None:
            self.conn.notify(method, params)

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
        if self._adopting is not None:
            self._adopting.close()
