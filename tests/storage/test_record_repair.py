"""A damaged checkpoint record followed by good ones is computed again from the journal and written
back when it comes out exactly as written: the file is whole again, byte for byte, and opening
re-evaluates only the inputs up to that record. When it cannot come out the same (its input in
the journal is not the one it was computed from), the file is cut there as before."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from omegad.persist.checkpoints import DELTA, FULL, CheckpointFile
from omegad.persist.journal import read_journal
from tests.storage.inprocess import running

DEFINES = 40  # past two merges of level 1


async def _session(root: Path) -> Path:
    async with running(root) as d:
        for i in range(DEFINES):
            await d.execute("s", f"(define v{i} {i * 3})")
    return root / "sd" / "sessions"


def _flip(path: Path, at: int) -> bytes:
    data = path.read_bytes()
    path.write_bytes(data[:at] + bytes([data[at] ^ 0x5A]) + data[at + 1:])
    return data


def _record(sessions: Path, kind: int, middle: bool) -> int:
    entries = CheckpointFile.open(sessions / "s.ckpt").entries
    found = [i for i, e in enumerate(entries) if e.kind == kind]
    return found[len(found) // 2] if middle else found[0]


@pytest.mark.parametrize(("kind", "middle"), [(FULL, False), (DELTA, True)],
                         ids=["first-full-record", "middle-delta"])
async def test_a_damaged_record_is_computed_again_and_the_file_is_whole(root, kind, middle):
    sessions = await _session(root)
    ckpt = sessions / "s.ckpt"
    entry = CheckpointFile.open(ckpt).entries[_record(sessions, kind, middle)]
    original = _flip(ckpt, entry.offset + entry.size - 1)  # a byte of its body
    damaged = ckpt.read_bytes()
    async with running(root) as d:
        opened = await d.call("session.open", {"session": "s"})
        said = " ".join(opened["storage"])
        assert f"record at byte {entry.offset}" in said and "written back" in said, said
        assert await d.execute("s", f"(list v0 v{DEFINES // 2} v{DEFINES - 1})") == \
            f"=> (0 {DEFINES // 2 * 3} {(DEFINES - 1) * 3})"
        other = await d.connection()
        assert await other.call("server.ping") == {"pong": True}
        await other.close()
    after = ckpt.read_bytes()
    assert after[: len(original)] == original  # whole again: every record as it was written
    aside = list(sessions.glob("s.ckpt.torn-*"))  # the damaged bytes, from the record on
    assert len(aside) == 1 and aside[0].read_bytes() == damaged[entry.offset:]
    assert not CheckpointFile.open(ckpt).damage  # (its clean mark vouches for it again)


async def test_a_record_that_does_not_come_out_the_same_is_cut_and_its_states_rebuilt(root):
    sessions = await _session(root)
    ckpt, journal = sessions / "s.ckpt", sessions / "s.jsonl"
    index = _record(sessions, DELTA, True)
    entry = CheckpointFile.open(ckpt).entries[index]
    _flip(ckpt, entry.offset + entry.size - 1)
    view = read_journal(journal)  # the record's input, changed in the journal (same length)
    event = max((e for e in view.events if e["type"] == "input" and e["seq"] < entry.seq),
                key=lambda e: e["seq"])
    code = event["code"]
    number = code.split()[-1].rstrip(")")
    other = "8" * len(number) if number != "8" * len(number) else "7" * len(number)
    data = journal.read_bytes()
    old = b'"code":' + json.dumps(code).encode()
    assert data.count(old) == 1
    journal.write_bytes(data.replace(old, b'"code":' + json.dumps(
        code.replace(number, other)).encode()))
    async with running(root) as d:
        opened = await d.call("session.open", {"session": "s"})
        said = " ".join(opened["storage"])
        assert f"the record at byte {entry.offset} fails its checksum" in said, said
        assert "rebuilt from the journal" in said
        assert await d.execute("s", f"v{DEFINES - 1}") == f"=> {(DEFINES - 1) * 3}"
    assert CheckpointFile.open(ckpt).seqs[-1] >= entry.seq  # the states after it written again
