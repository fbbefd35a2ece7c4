"""Reference journals that JavaScript reads are read in full: a preview cut inside an emoji.

The reference cuts `promptPreview`, `argsPreview` and `valuePreview` at 200 UTF-16 units, so an
emoji straddling unit 200 leaves a lone surrogate, written by `JSON.stringify` as `"…\\ud83d"`.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from omegad.persist import jsjson
from omegad.persist.index import read_index_states, render_index
from omegad.persist.journal import read_journal
from tests.storage.inprocess import running

EMOJI = "\U0001f600"  # 😀: the UTF-16 units d83d de00 (after the quote, units 199 and 200)
PROMPT = "x" * 198 + EMOJI + " and the rest of a long prompt"
DEFINES = 8



async def reference_session(root: Path) -> bytes:
    """Session `ref` as the reference's mock-effects path writes it: an effect whose previews
    end in a lone surrogate, then defines; no omega files beside the journal and index."""
    async with running(root, env={"OMEGA_MOCK_EFFECTS": "1"}) as d:
        await d.execute("ref", f'(effect infer.op "{PROMPT}")')
        for i in range(DEFINES):
            await d.execute("ref", f"(define v{i} {i * 7})")
    sessions = root / "sd" / "sessions"
    view = read_journal(sessions / "ref.jsonl")
    lines, offsets = [jsjson.dumps(view.header) + b"\n"], {}
    for event in view.events:
        for key in ("promptPreview", "argsPreview", "valuePreview"):
            if isinstance(event.get(key), str) and event[key].endswith("\ufffd"):
                event[key] = event[key][:-1] + "\ud83d"  # as JavaScript's slice left it
        offsets[event["seq"]] = sum(map(len, lines))
        lines.append(jsjson.dumps(event) + b"\n")
    journal = b"".join(lines)
    assert b'\\ud83d"' in journal
    index = read_index_states(sessions / "ref.index.json")
    for i, cp in enumerate(index.checkpoints):
        index.checkpoints[i] = type(cp)(cp.seq, cp.reason, cp.state_id, offsets[cp.seq])
    for path in sessions.iterdir():
        path.unlink()
    (sessions / "ref.jsonl").write_bytes(journal)
    (sessions / "ref.index.json").write_bytes(render_index(index, index.states))
    return journal


def test_the_lenient_reader_reads_what_javascript_reads_and_writes_it_back_byte_for_byte():
    line = b'{"seq":3,"type":"llm_req","promptPreview":"ab\\ud83d"}'
    event = jsjson.loads(line)
    assert event["promptPreview"] == "ab\ud83d"
    assert jsjson.dumps(event) == line
    assert jsjson.printable(event["promptPreview"]) == "ab\ufffd"
    with pytest.raises(ValueError):
        jsjson.loads(b'{"a": NaN}')  # Python's json reads it; JavaScript's does not
    with pytest.raises(ValueError):
        jsjson.loads(b'{"a": "\\ud83d"')


async def test_an_emoji_cut_at_unit_200_loses_no_event_anywhere(root):
    journal = await reference_session(root)
    sessions = root / "sd" / "sessions"
    events = read_journal(sessions / "ref.jsonl").events
    last_cp = max(e["seq"] for e in events if e["type"] == "checkpoint")
    async with running(root) as d:
        loaded = await d.execute("other", ":session load ref")
        assert f"({len(events)} events)" in loaded
        listing = await d.execute("other", ":session checkpoints")
        assert f"Checkpoints ({sum(e['type'] == 'checkpoint' for e in events)})" in listing
        trace = await d.call("session.trace", {"session": "ref", "limit": 10_000})
        assert trace["total_events"] == len(events)
        assert trace["lines"][-2] == f"[{events[-2]['seq']:03d}] OUT  => v{DEFINES - 1}"
        assert f"(define v{DEFINES - 1}" in await d.execute("other", ":session trace")
        assert (await d.execute("other", f":session goto {last_cp}")).startswith("Jumped")
        assert await d.execute("other", f"v{DEFINES - 1}") == f"=> {(DEFINES - 1) * 7}"
        assert "resum" in (await d.execute("other", ":session resume")).lower()
        # Opened live, the reference's journal keeps every byte, and every define is there.
        names = " ".join(f"v{i}" for i in range(DEFINES))
        assert await d.execute("ref", f"(list {names})") == \
            "=> (" + " ".join(str(i * 7) for i in range(DEFINES)) + ")"
        status = await d.call("session.open", {"session": "ref"})
        assert status["storage"] == []
    after = (sessions / "ref.jsonl").read_bytes()
    assert after.startswith(journal) and len(after) > len(journal)
    assert not list(sessions.glob("*.torn-*"))
    index = (sessions / "ref.index.json").read_bytes()
    assert b"\\ud83d" in index or b"promptPreview" not in index  # escapes kept, never U+FFFD
