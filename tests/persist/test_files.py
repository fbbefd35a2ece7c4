"""The files themselves: journal and checkpoint records, torn tails, checksums, the index."""

import json

from omegad.lang import ReplState, capture, serialize, serialize_delta, start
from omegad.persist import events as ev
from omegad.persist.checkpoints import DELTA, FULL, CheckpointFile, Record
from omegad.persist.index import (
    CheckpointEntry,
    IndexInfo,
    read_index,
    render_index,
    write_index,
)
from omegad.persist.journal import JournalChanged, JournalWriter, read_journal
from omegad.sessions.states.sources import FileStates


def _eval(state, text):
    run = start(state, text)
    return run.run(100_000)


def test_a_torn_journal_tail_is_cut_back_to_the_last_whole_line(tmp_path):
    path = tmp_path / "s.jsonl"
    writer = JournalWriter.create(path, ev.header("s"))
    writer.write([ev.input_event(0, "(+ 1 2)"), ev.step_event(1, 0, "(+ 1 2)")])
    writer.close()
    whole = path.stat().st_size
    tail = b'{"seq":2,"ts":1,"type":"res'
    with open(path, "ab") as f:
        f.write(tail)
    view = read_journal(path)
    assert view.torn == len(tail) and view.next_seq == 2
    JournalWriter.open_existing(path, view, view.next_seq).close()
    assert path.stat().st_size == whole


def test_a_journal_changed_by_another_program_is_not_written_over(tmp_path):
    path = tmp_path / "s.jsonl"
    writer = JournalWriter.create(path, ev.header("s"))
    path.write_text("")  # the reference REPL truncates current.jsonl at start
    try:
        writer.write([ev.input_event(0, "1")])
    except JournalChanged as e:
        assert "changed by another program" in str(e)
    else:
        raise AssertionError("the write went through")
    assert path.read_text() == ""


def _states(n):
    state = ReplState()
    records = []
    base = None
    for i in range(n):
        assert _eval(state, f"(define x{i} {i})").printed == f"=> x{i}"
        cp = capture(state)
        data = serialize(state) if base is None else serialize_delta(state, base)
        records.append(Record(i, FULL if base is None else DELTA, "null", data))
        base = cp
    return records


def test_checkpoint_records_rebuild_any_state_and_a_flipped_byte_ends_the_file(tmp_path):
    path = tmp_path / "s.ckpt"
    ckpt = CheckpointFile.open(path)
    for record in _states(5):
        ckpt.append(record)
    ckpt.close()
    assert [e.kind for e in CheckpointFile.open(path).entries] == [FULL] + [DELTA] * 4
    snap = FileStates(CheckpointFile.open(path))[3]
    state = snap.resume()
    assert _eval(state, "(+ x0 x3)").printed == "=> 3"
    assert _eval(state, "x4").printed.startswith("error: ")
    data = bytearray(path.read_bytes())
    last = CheckpointFile.open(path).entries[-1]
    data[last.offset + 20] ^= 0xFF
    path.write_bytes(bytes(data))
    reopened = CheckpointFile.open(path)
    assert len(reopened.entries) == 4 and reopened.cut == last.size
    assert path.stat().st_size == last.offset


def test_deltas_stay_small_whatever_the_session_size(tmp_path):
    records = _states(300)
    assert max(len(r.state) for r in records[1:]) < 2048


def test_the_index_has_the_reference_schema_and_no_states(tmp_path):
    path = tmp_path / "s.index.json"
    write_index(path, IndexInfo("s", 4, [CheckpointEntry(3, 120, "state-3", "manual")], {}))
    doc = json.loads(path.read_text())
    assert list(doc) == ["sessionId", "eventCount", "checkpoints", "states", "receipts"]
    assert doc["states"] == {} and doc["checkpoints"][0]["byteOffset"] == 120
    assert read_index(path).eventCount == 4


def _bytes_read() -> int:
    for line in open("/proc/self/io"):
        if line.startswith("rchar:"):
            return int(line.split()[1])
    raise LookupError("rchar")


def test_reading_the_start_of_a_big_journal_reads_only_the_start(tmp_path):
    path = tmp_path / "big.jsonl"
    writer = JournalWriter.create(path, ev.header("big"))
    text = "x" * 10_000
    for seq in range(0, 4000, 2):  # 40 MB
        writer.write([ev.input_event(seq, text), ev.result_event(seq + 1, "null")])
    writer.close()
    before = _bytes_read()
    view = read_journal(path, until=99)
    assert [e["seq"] for e in view.events] == list(range(100))
    assert _bytes_read() - before < 2_000_000  # not the 40 MB
    assert len(read_journal(path).events) == 4000


def test_the_index_renders_as_json_stringify_with_two_spaces():
    receipts = {"k1": {"request": {"op": "ask", "args": ["é", 1.5, None]}, "response": {}},
                "k2": {"list": [], "nested": {"a": [1, {"b": "\u2028\"q\"\\"}]}}}
    checkpoints = [CheckpointEntry(3, 120, "state-3", "manual"),
                   CheckpointEntry(7, 300, 'st "x"\n', "llm_boundary"),
                   CheckpointEntry(9, 400, "état", "manual")]
    for info in (IndexInfo("s", 4, checkpoints, receipts), IndexInfo("é", 0, [], {})):
        doc = {"sessionId": info.sessionId, "eventCount": info.eventCount,
               "checkpoints": [{"seq": c.seq, "byteOffset": c.offset, "stateId": c.state_id,
                                "reason": c.reason} for c in info.checkpoints],
               "states": {}, "receipts": info.receipts}
        assert render_index(info) == json.dumps(doc, indent=2, ensure_ascii=False).encode()


def _big_input_events(seq: int, code: str) -> list[dict]:
    from omegad.lang.steps import finish
    from omegad.persist import jsjson

    raw = finish(jsjson.string_steps(code))
    events = [ev.input_event(seq, code), ev.step_event(seq + 1, 0, code)]
    events[0]["code"] = events[1]["ctrl"] = raw
    return events


def test_a_big_input_is_written_in_steps_as_one_write_would_write_it(tmp_path):
    code = '(display "' + "é\ud800x\\\"" * 300_000 + '")'
    path = tmp_path / "s.jsonl"
    writer = JournalWriter.create(path, ev.header("s"))
    writer.hold(_big_input_events(0, code))
    steps = list(writer.flush_steps(piece=1 << 18))
    writer.write([ev.result_event(2, "ok")])
    writer.close()
    assert len(steps) > 4
    view = read_journal(path)
    assert [e["type"] for e in view.events] == ["input", "step", "result"]
    assert view.events[0]["code"] == view.events[1]["ctrl"] == code
    assert view.next_seq == 3 and view.torn == 0


def test_a_big_input_whose_write_fails_halfway_leaves_the_journal_as_it_was(
        tmp_path, monkeypatch):
    import errno
    import os

    path = tmp_path / "s.jsonl"
    writer = JournalWriter.create(path, ev.header("s"))
    before = path.read_bytes()
    real_write, writes = os.write, []

    def failing_disk(fd: int, data) -> int:   # the third piece finds the disk full
        writes.append(len(data))
        if len(writes) == 3:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(fd, data)

    writer.hold(_big_input_events(0, "(quote " + "x" * 2_000_000 + ")"))
    monkeypatch.setattr(os, "write", failing_disk)
    try:
        list(writer.flush_steps(piece=1 << 18))
    except OSError as e:
        assert e.errno == errno.ENOSPC
    else:
        raise AssertionError("the write went through")
    monkeypatch.undo()
    assert path.read_bytes() == before
    writer.write([ev.input_event(writer.next_seq, "1")])   # the next write goes on from there
    assert [e["seq"] for e in read_journal(path).events] == [0]
