"""The catalog's session names: taken as saved while the directory is unchanged, else listed."""

import os
import time

from omegad.sessions.listing.catalog import FILE, Catalog


def _sessions(tmp_path, *names):
    sessions = tmp_path / "sessions"
    sessions.mkdir()
    for name in names:
        (sessions / f"{name}.jsonl").write_text("")
    return sessions


def _quiet(directory):
    """As if nothing had changed there for a second."""
    then = time.time_ns() - 1_000_000_000
    os.utime(directory, ns=(then, then))


def test_names_stand_while_the_directory_is_unchanged(tmp_path):
    sessions = _sessions(tmp_path, "b", "a-b", "a")
    (sessions / FILE).write_bytes(b"")
    _quiet(sessions)
    Catalog(sessions).save()
    assert Catalog(sessions).names() == ["a-b", "a", "b"]  # the byte order of the file names
    (sessions / "c.jsonl").write_text("")  # another program, while the daemon was down
    assert Catalog(sessions).names() is None


def test_names_of_a_directory_changed_just_now_are_not_kept(tmp_path):
    sessions = _sessions(tmp_path, "a")
    Catalog(sessions).save()
    assert Catalog(sessions).names() is None


def test_saving_the_catalog_leaves_the_directory_as_it_was(tmp_path):
    sessions = _sessions(tmp_path, "a")
    (sessions / FILE).write_bytes(b"")
    _quiet(sessions)
    before = os.stat(sessions).st_mtime_ns
    catalog = Catalog(sessions)
    catalog.changed = True
    catalog.save()
    assert os.stat(sessions).st_mtime_ns == before
