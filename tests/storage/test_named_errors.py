"""Errors from storage are named: each kind gets its application code and one line naming the
file, never -32603 with a traceback. (A full disk: -32010 and an I/O error: -32014 are in
test_full_disk.py; a session open elsewhere: -32013 in test_one_writer.py.)"""

from __future__ import annotations

import pytest

from omegad.persist.checkpoints import CheckpointFile
from tests.storage.faults import unreadable
from tests.storage.inprocess import RpcFailure, running


async def test_a_record_damaged_after_the_session_opened_is_named_corrupt(root):
    async with running(root) as d:
        for i in range(6):
            await d.execute("s", f"(define v{i} {i})")
    async with running(root) as d:  # (its states are in the file now, not in memory)
        assert (await d.execute("s", ":session load s")).startswith("Loaded session 's'")
        ckpt = d.sessions / "s.ckpt"
        entry = CheckpointFile.open(ckpt).entries[1]  # the state at the second checkpoint
        data = bytearray(ckpt.read_bytes())
        data[entry.offset + entry.size - 1] ^= 0x5A  # changed by another program, while open
        ckpt.write_bytes(bytes(data))
        with pytest.raises(RpcFailure) as corrupt:
            await d.call("session.goto", {"session": "s", "seq": entry.seq})
        assert corrupt.value.code == -32011
        assert "s.ckpt" in corrupt.value.message and "checksum" in corrupt.value.message
        assert "Traceback" not in corrupt.value.message
        assert await d.execute("s", "v5") == "=> 5"  # the session is where it was
        assert await d.call("server.ping") == {"pong": True}


async def test_a_notes_file_that_cannot_be_opened_is_named_a_permission_error(root):
    async with running(root) as d:
        await d.execute("s", "(define a 1)")
        notes = d.sessions / "s.notes"
        d.daemon.sessions.notes.drop(notes)  # (so that the snapshot opens it again)
        with unreadable(notes):
            with pytest.raises(RpcFailure) as denied:
                await d.call("snapshot.create", {"session": "s", "description": "x"})
        assert denied.value.code == -32012 and denied.value.data["path"] == str(notes)
        assert "Permission denied" in denied.value.message
        assert await d.execute("s", "a") == "=> 1"
        listed = await d.call("snapshot.list", {"session": "s"})
        assert listed["snapshots"] == []
        assert await d.call("server.ping") == {"pong": True}
