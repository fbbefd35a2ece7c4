"""Journal and checkpoint file agree after opening: the journal's longest prefix, seqs never
given out twice, and the log says so in words."""

from __future__ import annotations

from omegad.persist.checkpoints import CheckpointFile
from omegad.persist.index import read_index_states, render_index
from omegad.persist.journal import read_journal
from tests.storage.inprocess import running


async def test_a_journal_cut_short_under_its_states_goes_on_without_reusing_a_seq(root):
    async with running(root) as d:
        for i in range(10):
            await d.execute("s", f"(define v{i} {i})")
    sessions = root / "sd" / "sessions"
    journal = sessions / "s.jsonl"
    view = read_journal(journal)
    highest = CheckpointFile.open(sessions / "s.ckpt").seqs[-1]
    cut = view.offsets[4 * 6 + 1 - 1]  # before the 7th input's input line: 6 inputs remain
    whole = journal.read_bytes()
    journal.write_bytes(whole[:cut])
    async with running(root) as d:
        opened = await d.call("session.open", {"session": "s"})
        said = " ".join(opened["storage"])
        assert "journal ends at seq" in said and f"up to seq {highest}" in said, said
        assert await d.execute("s", "(list v0 v5)") == "=> (0 5)"
        assert (await d.execute("s", "v6")).startswith("error")  # the journal's prefix wins
        assert await d.execute("s", "(define w 1)") == "=> w"
        status = await d.call("server.status")
        assert any("session s:" in n for n in status["storage"])
    events = read_journal(journal).events
    new = [e for e in events if e["seq"] > view.events[4 * 6 - 1]["seq"]]
    assert new and new[0]["seq"] > highest  # never a seq the set-aside records used
    ckpt = CheckpointFile.open(sessions / "s.ckpt")
    assert ckpt.seqs == sorted(ckpt.seqs) and not ckpt.damage
    aside = list(sessions.glob("s.ckpt.torn-*"))
    assert len(aside) == 1 and aside[0].stat().st_size > 0


def test_rewriting_an_index_keeps_lone_surrogates_byte_for_byte(tmp_path):
    text = (b'{\n  "sessionId": "r",\n  "eventCount": 2,\n  "checkpoints": [],\n'
            b'  "states": {},\n  "receipts": {\n    "k": {\n      "prompt": "ab\\ud83d"\n'
            b'    }\n  }\n}')
    path = tmp_path / "r.index.json"
    path.write_bytes(text)
    index = read_index_states(path)
    assert index.receipts["k"]["prompt"] == "ab\ud83d"
    assert render_index(index, index.states) == text
