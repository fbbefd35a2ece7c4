"""The directory watch behind fast listings: what it reports, and when it admits not knowing."""

import os
import struct

import pytest

from omegad.sessions.listing import dirwatch
from omegad.sessions.listing.dirwatch import APPEARED_OR_GONE, IN_CLOSE_WRITE, DirWatch

pytestmark = pytest.mark.skipif(dirwatch._LIBC is None, reason="needs inotify (Linux)")


def test_it_reports_files_that_come_go_and_are_rewritten(tmp_path):
    (tmp_path / "old.jsonl").write_text("x")
    watch = DirWatch(tmp_path)
    assert watch.changes() == {}
    (tmp_path / "new.jsonl").write_text("x")
    (tmp_path / "old.jsonl").unlink()
    with open(tmp_path / "a.index.json", "w") as f:
        f.write("{}")
    (tmp_path / "tmp").write_text("{}")
    os.rename(tmp_path / "tmp", tmp_path / "b.index.json")
    seen = watch.changes()
    assert seen is not None
    assert seen["new.jsonl"] & APPEARED_OR_GONE and seen["old.jsonl"] & APPEARED_OR_GONE
    assert seen["a.index.json"] & IN_CLOSE_WRITE
    assert seen["b.index.json"] & APPEARED_OR_GONE
    assert watch.changes() == {}
    watch.close()


def test_appends_to_an_open_file_are_not_reported(tmp_path):
    with open(tmp_path / "j.jsonl", "a") as journal:
        watch = DirWatch(tmp_path)
        journal.write("line\n")
        journal.flush()
        assert watch.changes() == {}
    watch.close()


def test_a_lost_watch_answers_unknown_then_watches_again(tmp_path):
    watch = DirWatch(tmp_path / "missing")
    assert watch.changes() is None  # nothing to watch yet
    (tmp_path / "missing").mkdir()
    assert watch.changes() is None  # started now
    (tmp_path / "missing" / "x.jsonl").write_text("")
    assert "x.jsonl" in (watch.changes() or {})
    watch.close()


def test_an_overflowed_queue_means_unknown():
    overflow = struct.pack("iIII", -1, dirwatch.IN_Q_OVERFLOW, 0, 0)
    assert dirwatch._parse(overflow, {}) is False
