"""A live session's files have one writer. What writes another session B's files either goes
through what B itself writes with (its actor; the daemon's one notes object of B's notes file)
or is refused while B is open elsewhere: `:session save B` / `session.save`, `:session delete B`
/ `session.delete`, a snapshot of B restored in a session that loaded B, annotations imported
into B from there."""

from __future__ import annotations

from pathlib import Path

import pytest

from protocol import messages
from tests.storage.inprocess import RpcFailure, running


async def test_saving_over_an_open_session_is_refused_and_loses_nothing(root):
    async with running(root) as d:
        b = await d.connection()
        await b.execute("B", "(define kept 1)")
        await d.execute("A", "(define a 2)")
        before = _files(d.sessions, "B")
        out = await d.execute("A", ":session save B")
        assert out.startswith("Error saving session: session 'B' is open")
        with pytest.raises(RpcFailure) as busy:
            await d.call("session.save", {"session": "A", "name": "B"})
        assert busy.value.code == -32013 and "'B' is open" in busy.value.message
        assert _files(d.sessions, "B") == before
        assert await b.execute("B", "(define more 3)") == "=> more"  # B is unharmed
        assert await d.execute("A", "a") == "=> 2"  # and so is A
        await b.close()
    async with running(root) as d:
        assert await d.execute("B", "(list kept more)") == "=> (1 3)"


async def test_saving_over_a_session_no_one_uses_goes_through_its_actor(root):
    async with running(root) as d:
        b = await d.connection()
        await b.execute("B", "(define old 1)")
        await b.close()
        await d.execute("A", "(define a 2)")
        assert await d.execute("A", ":session save B") == "Session saved as 'B'"
        assert await d.execute("B", "a") == "=> 2"  # B reopened from the saved files
    async with running(root) as d:
        assert await d.execute("B", "a") == "=> 2"


def test_a_lone_surrogate_goes_out_as_u_fffd():
    line = messages.encode_result(1, {"output": "ab\ud83d"})
    assert line == b'{"jsonrpc":"2.0","id":1,"result":{"output":"ab\xef\xbf\xbd"}}'


def _files(sessions: Path, name: str, notes: bool = True) -> dict[str, bytes]:
    """The bytes of each of a session's files (its notes file left out when `notes` is False)."""
    return {p.name: p.read_bytes() for p in sessions.glob(f"{name}.*")
            if notes or not p.name.endswith(".notes")}


async def test_deleting_a_session_open_in_another_client_is_refused(root):
    async with running(root) as d:
        b = await d.connection()
        await b.execute("B", "(define kept 1)")
        await d.call("server.flush")
        before = _files(d.sessions, "B")
        out = await d.execute("A", ":session delete B")
        assert out == ("Error deleting session: session 'B' is open in another client (it has"
                       " its own writer); close it there first")
        with pytest.raises(RpcFailure) as busy:
            await d.call("session.delete", {"session": "B"})
        assert busy.value.code == -32013 and "'B' is open" in busy.value.message
        assert _files(d.sessions, "B") == before
        assert await b.execute("B", "kept") == "=> 1"
        assert await d.call("server.ping") == {"pong": True}
        await b.close()
        assert await d.execute("A", ":session delete B") == "Session 'B' deleted"
        assert not list(d.sessions.glob("B.*"))


async def test_a_snapshot_of_an_open_session_restored_in_another_leaves_its_files_to_it(root):
    async with running(root) as d:
        b = await d.connection()
        await b.execute("B", "(define x 1)")
        assert (await b.execute("B", ":session snapshot one")).endswith("[1] at checkpoint 3")
        await b.execute("B", "(define x 2)")
        await d.call("server.flush")
        before = _files(d.sessions, "B", notes=False)
        await d.execute("A", ":session load B")
        restored = await d.execute("A", ":session restore-snapshot 1")
        assert restored.startswith("Restored snapshot [1] of session 'B'")
        assert await d.execute("A", "x") == "=> 1"
        await d.call("server.flush")
        assert _files(d.sessions, "B", notes=False) == before  # (only its notes: one writer)
        assert await b.execute("B", "x") == "=> 2"
        assert "[2] at checkpoint" in await b.execute("B", ":session snapshot two")
        await b.close()
    async with running(root) as d:
        listed = await d.call("snapshot.list", {"session": "B"})
        assert [s["description"] for s in listed["snapshots"]] == ["one", "two"]
        assert await d.execute("B", "x") == "=> 2"


async def test_annotations_imported_into_an_open_session_go_through_its_notes_writer(root):
    async with running(root) as d:
        b = await d.connection()
        await b.execute("B", "(define x 1)")
        await b.execute("B", "(define y 2)")
        seqs = [c["seq"] for c in (await b.call("session.checkpoints",
                                                {"session": "B"}))["checkpoints"]]
        await d.call("server.flush")
        before = _files(d.sessions, "B", notes=False)
        await d.execute("A", ":session load B")
        document = {"format": "omega-annotations", "version": 1, "annotations": [
            {"checkpointSeq": seqs[0], "label": "first", "description": "", "tags": [],
             "created": 0}]}
        imported = await d.call("timeline.import", {"session": "A", "document": document})
        assert imported == {"session": "B", "imported": 1}
        await b.execute("B", f":session annotate {seqs[1]} second")
        assert _files(d.sessions, "B", notes=False) == before
        await b.close()
    async with running(root) as d:
        got = await d.call("timeline.get", {"session": "B"})
        labels = {e["seq"]: (e["annotation"] or {}).get("label") for e in got["entries"]}
        assert labels[seqs[0]] == "first" and labels[seqs[1]] == "second"
