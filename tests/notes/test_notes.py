"""The notes file (snapshots, annotations) and the metrics ring, without a daemon."""

import json

import pytest

from omegad.sessions.notes.file import (
    MAX_LABEL,
    Notes,
    NotesBook,
    NotesError,
    copy_notes,
    local_time,
    tags_of,
)
from omegad.sessions.notes.metrics import WINDOW, SessionMetrics, format_bytes


def test_snapshots_and_annotations_come_back_from_the_file(tmp_path):
    path = tmp_path / "s.notes"
    notes = Notes.open(path)
    first = notes.snapshot(3, "before the #refactor #wip")
    notes.snapshot(7, "")
    notes.annotate(3, "start", "it #works")
    notes.annotate(3, "begin")  # replaces
    notes.delete(first.id)
    notes.close()
    again = Notes.open(path)
    assert [(s.id, s.seq, s.description) for s in again.listing()] == [(2, 7, "")]
    assert again.notes[3].label == "begin" and again.notes[3].tags == []
    assert again.next_id == 3  # a deleted id is never reused
    assert json.loads(path.read_text().splitlines()[0]) == {"format": "omega-notes", "version": 1}


def test_a_torn_tail_is_cut_and_the_rest_kept(tmp_path):
    path = tmp_path / "s.notes"
    notes = Notes.open(path)
    notes.snapshot(3, "kept")
    notes.close()
    whole = path.read_bytes()
    path.write_bytes(whole + b'{"op":"snap","id":2,"se')
    again = Notes.open(path)
    assert again.cut == len(b'{"op":"snap","id":2,"se') and path.read_bytes() == whole
    assert [s.description for s in again.listing()] == ["kept"]
    assert again.snapshot(3, "next").id == 2


def test_another_files_format_or_version_is_refused(tmp_path):
    path = tmp_path / "s.notes"
    path.write_text('{"format":"omega-notes","version":9}\n')
    with pytest.raises(NotesError, match="version 9"):
        Notes.open(path)
    path.write_text('{"something":"else"}\n')
    with pytest.raises(NotesError, match="not an omega notes file"):
        Notes.open(path)


def test_bad_labels_change_nothing(tmp_path):
    path = tmp_path / "s.notes"
    notes = Notes.open(path)
    for label in ["x" * (MAX_LABEL + 1), "", "two\nlines"]:
        with pytest.raises(NotesError):
            notes.annotate(3, label)
    assert not notes.notes and not path.exists()


def test_an_import_is_checked_whole_before_anything_is_added(tmp_path):
    notes = Notes.open(tmp_path / "s.notes")
    good = {"checkpointSeq": 3, "label": "a", "description": "", "tags": []}
    bad = {"checkpointSeq": 5, "label": "b"}
    with pytest.raises(NotesError, match="5 is not a checkpoint"):
        notes.import_({"format": "omega-annotations", "version": 1, "annotations": [good, bad]},
                      {3, 7})
    for document in [{"format": "x"}, {"format": "omega-annotations", "version": 1},
                     [{"checkpointSeq": "3", "label": "a"}], 42]:
        with pytest.raises(NotesError):
            notes.import_(document, {3})
    assert not notes.notes
    assert [n.seq for n in notes.import_([good], {3})] == [3]  # the plan's bare list works too


def test_find_by_label_regex_or_tag(tmp_path):
    notes = Notes.open(tmp_path / "s.notes")
    notes.annotate(3, "Setup", "#init")
    notes.annotate(7, "setup-done")
    notes.annotate(9, "other", "#init")
    assert [n.seq for n in notes.find("^setup")] == [3, 7]
    assert [n.seq for n in notes.find("#init")] == [3, 9]
    assert [n.seq for n in notes.find("(")] == []  # not a regex: matched as text
    assert notes.tags() == ["init"]


def test_a_fork_gets_the_notes_up_to_its_point(tmp_path):
    book = NotesBook()
    source = book.of(tmp_path / "a.notes")
    source.snapshot(3, "early")
    source.snapshot(11, "late")
    source.annotate(7, "mid")
    copy_notes(book, tmp_path / "a.notes", tmp_path / "b.notes", 8)
    forked = Notes.open(tmp_path / "b.notes")
    assert [s.seq for s in forked.listing()] == [3] and list(forked.notes) == [7]
    assert forked.next_id == 2
    book.close_all()


def test_tags_are_hash_words():
    assert tags_of("a #b c#d #e-f.g #b", "#h") == ["b", "e-f.g", "h"]


def test_local_time_reads_like_javascripts_to_locale_string():
    import re

    assert re.fullmatch(r"\d{1,2}/\d{1,2}/\d{4}, \d{1,2}:\d\d:\d\d [AP]M", local_time(0))


def test_the_window_keeps_the_last_hundred_times():
    m = SessionMetrics()
    for i in range(WINDOW + 50):
        m.record(float(i), ok=i % 10 != 0)
    assert m.commands == WINDOW + 50 and m.errors == 15
    assert m.mean() == pytest.approx(sum(range(50, WINDOW + 50)) / WINDOW)
    assert m.p95() == 145.0


def test_bytes_read_as_the_plan_prints_them():
    assert [format_bytes(n) for n in (0, 1023, 1536, 5 * 1024**2, 3 * 1024**3)] == \
        ["0 B", "1023 B", "1.50 KB", "5.00 MB", "3.00 GB"]


def test_metrics_and_restore_marks_come_back_from_the_file(tmp_path):
    from types import SimpleNamespace

    from omegad.sessions.notes.metrics import Monitor
    from omegad.sessions.store import SessionStore

    store = SessionStore(tmp_path)
    store.sessions.mkdir()
    book = NotesBook()
    monitor = Monitor(enabled=True, book=book)
    actor = SimpleNamespace(store=store, name="s", state=SimpleNamespace(allocated=0),
                            closed=False, busy=True)
    for ms, ok in [(1.0, True), (3.0, False)]:
        monitor.record(actor, SimpleNamespace(result=SimpleNamespace(ok=ok, elapsed_ms=ms),
                                              error=None))
    monitor.save(actor)
    book.of(store.notes("s")).mark("other", 7, 12)
    book.close_all()
    again = Monitor(enabled=True, book=NotesBook())
    m = again.peek(tmp_path, "s")
    assert m is not None and (m.commands, m.errors, m.mean()) == (2, 1, 2.0)
    assert again.peek(tmp_path, "nobody") is None
    assert Notes.open(store.notes("s")).at == ("other", 7, 12)


def test_an_unreadable_line_amid_readable_ones_is_skipped(tmp_path):
    path = tmp_path / "s.notes"
    notes = Notes.open(path)
    notes.snapshot(3, "one")
    notes.snapshot(7, "two")
    notes.close()
    header, one, two = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(header + b"{garbage\n" + one + two + b"{torn")
    again = Notes.open(path)
    assert [s.description for s in again.listing()] == ["one", "two"]
    assert path.read_bytes() == header + b"{garbage\n" + one + two
