"""The REPL's asyncio connection: messages sent `together()` leave in one write."""

from __future__ import annotations

import asyncio
import json
import socket

from omegacli.repl.connection import Connection


def test_messages_sent_together_leave_in_one_write_at_the_end_of_the_block():
    ours, daemons = socket.socketpair()
    daemons.setblocking(False)

    async def main() -> list[bytes]:
        reader, writer = await asyncio.open_unix_connection(sock=ours)
        conn = Connection(reader, writer, lambda *_: None, lambda: None)
        seen = []
        with conn.together():
            conn.start("session.interrupt", {"session": "s"})
            conn.notify("$/cancelRequest", {"id": 7})
            try:
                seen.append(daemons.recv(4096))
            except BlockingIOError:
                seen.append(b"")                      # nothing has left inside the block
        seen.append(daemons.recv(4096))               # both, from one write
        conn.start("server.ping", {})
        seen.append(daemons.recv(4096))               # outside a block: at once
        conn.task.cancel()
        writer.close()
        return seen

    inside, after, alone = asyncio.run(main())
    daemons.close()
    assert inside == b""
    assert [json.loads(line)["method"] for line in after.splitlines()] == \
        ["session.interrupt", "$/cancelRequest"]
    assert json.loads(alone)["method"] == "server.ping"
