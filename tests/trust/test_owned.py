"""omegad.owned against files and dirs the other user planted (a forked child at uid 65534)."""

import os
from pathlib import Path

import pytest

from omegad import owned
from protocol.errors import UNTRUSTED_PATH, UntrustedPath
from tests.trust.other_user import Witness, as_other, needs_root, victim_file


def _opens(path: Path, **kw) -> bytes:
    fd = owned.open_owned(path, os.O_WRONLY | os.O_APPEND, **kw)
    try:
        os.write(fd, b"omega\n")
    finally:
        os.close(fd)
    return path.read_bytes()


def test_creates_and_appends_to_a_file_of_ours(tmp_path):
    path = tmp_path / "journal.jsonl"
    assert _opens(path, create=True) == b"omega\n"
    assert _opens(path, create=True) == b"omega\nomega\n"
    assert os.stat(path).st_mode & 0o777 == 0o600


def test_a_new_file_must_not_exist(tmp_path):
    path = tmp_path / "new"
    path.write_text("x")
    with pytest.raises(FileExistsError):
        owned.open_owned(path, os.O_WRONLY, create="new")
    assert path.read_text() == "x"


def test_a_symlink_is_refused_by_name_and_its_target_untouched(tmp_path):
    target = victim_file(tmp_path, "precious")
    link = tmp_path / "journal.jsonl"
    link.symlink_to(target)
    seen = Witness([target])
    for create in (False, True):
        with pytest.raises(UntrustedPath, match=f"{link} is a symlink") as err:
            owned.open_owned(link, os.O_WRONLY | os.O_TRUNC, create=create)
        assert err.value.code == UNTRUSTED_PATH == -32020
    seen.assert_untouched()


def test_a_group_writable_file_is_refused_and_not_truncated(tmp_path):
    path = victim_file(tmp_path, "loose")
    os.chmod(path, 0o620)
    seen = Witness([path])
    with pytest.raises(UntrustedPath, match=f"{path} is writable by group or others"):
        owned.open_owned(path, os.O_WRONLY | os.O_TRUNC, create=True)
    seen.assert_untouched()


def test_a_fifo_is_not_a_regular_file_and_never_blocks(tmp_path):
    path = tmp_path / "fifo"
    os.mkfifo(path, 0o600)
    for flags in (os.O_RDWR, os.O_WRONLY, os.O_RDONLY):  # O_WRONLY alone would wait for a reader
        with pytest.raises(UntrustedPath, match=f"{path} is not a regular file"):
            owned.open_owned(path, flags, create=True)


def test_replace_atomic_writes_through_a_new_temp_file(tmp_path):
    path = tmp_path / "index.json"
    owned.replace_atomic(path, b"one")
    owned.replace_atomic(path, b"two")
    assert path.read_bytes() == b"two"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["index.json"]


def test_replace_atomic_over_a_planted_temp_symlink_leaves_its_target(tmp_path):
    target = victim_file(tmp_path, "precious")
    (tmp_path / ".index.json.tmp").symlink_to(target)
    seen = Witness([target])
    owned.replace_atomic(tmp_path / "index.json", b"data")
    seen.assert_untouched()
    assert (tmp_path / "index.json").read_bytes() == b"data"


def test_ensure_dir_creates_private_dirs(tmp_path):
    d = owned.ensure_dir(tmp_path / "a" / "b")
    assert d.is_dir() and os.stat(d).st_mode & 0o777 == 0o700
    assert os.stat(tmp_path / "a").st_mode & 0o777 == 0o700


def test_a_group_writable_dir_is_refused(tmp_path):
    d = tmp_path / "open"
    d.mkdir()
    os.chmod(d, 0o775)
    with pytest.raises(UntrustedPath, match=f"{d} is writable by group or others"):
        owned.check_dir(d)


def test_a_dir_above_writable_by_others_without_sticky_bit_is_refused(tmp_path):
    above = tmp_path / "open"
    above.mkdir()
    os.chmod(above, 0o777)
    with pytest.raises(UntrustedPath, match=f"{above} is writable by group or others without"):
        owned.ensure_dir(above / "mine")
    assert not (above / "mine").exists()
    os.chmod(above, 0o1777)  # as /tmp: fine
    assert owned.ensure_dir(above / "mine").is_dir()


@needs_root
def test_files_and_dirs_of_the_other_user_are_refused(shared):
    as_other(lambda: (shared / "theirs").write_text("x"))
    as_other(lambda: os.mkdir(shared / "their-dir", 0o700))
    as_other(lambda: os.symlink("/etc/passwd", shared / "link"))
    with pytest.raises(UntrustedPath, match=f"{shared / 'theirs'} belongs to uid 65534"):
        owned.open_owned(shared / "theirs", os.O_WRONLY | os.O_TRUNC, create=True)
    assert (shared / "theirs").read_text() == "x"
    with pytest.raises(UntrustedPath, match=f"{shared / 'their-dir'} belongs to uid 65534"):
        owned.ensure_dir(shared / "their-dir")
    with pytest.raises(UntrustedPath, match=f"{shared / 'their-dir'} belongs to uid 65534"):
        owned.ensure_dir(shared / "their-dir" / "below")
    with pytest.raises(UntrustedPath, match=f"{shared / 'link'} is a symlink"):
        owned.open_owned(shared / "link", os.O_WRONLY, create=True)
    with pytest.raises(UntrustedPath, match=f"{shared / 'link'} belongs to uid 65534"):
        owned.ensure_dir(shared / "link" / "x")


@needs_root
def test_a_dir_of_ours_under_a_dir_of_theirs_is_refused(shared):
    as_other(lambda: os.mkdir(shared / "project", 0o755))
    mine = shared / "project" / ".omega-session"
    os.mkdir(mine, 0o700)  # root can create it there; the other user could still swap it out
    with pytest.raises(UntrustedPath, match=f"{shared / 'project'} belongs to uid 65534"):
        owned.ensure_dir(mine)
