"""Session dirs: absolute paths only, the user's own only, released when nothing uses them."""

import os
from pathlib import Path

import trio

from protocol.errors import INVALID_PARAMS, SESSION_DIR_UNAVAILABLE, UNTRUSTED_PATH
from protocol.paths import SESSION_DIR_LOCK
from tests.trust.other_user import Witness, as_other, needs_root, victim_file


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


async def test_a_thousand_session_dirs_in_turn_keep_the_fd_count_flat(inproc):
    dirs = inproc.root / "many"
    dirs.mkdir(mode=0o700)

    async def hellos_in(names: list[str]) -> None:
        """One connection naming each dir in turn (a new hello lets go of the previous dir);
        the last one is let go of when the connection ends."""
        async with inproc.wire() as w:
            for name in names:
                r = await w.result("server.hello", {"client": "t", "session_dir": str(dirs / name)})
                assert r["session_dir"] == str(dirs / name)
                await w.result("session.list", {})  # its listing watches the dir (inotify)

    await hellos_in(["warm-up"])
    before = open_fds()
    for batch in range(10):
        await hellos_in([f"d{batch}-{i}" for i in range(100)])
    for _ in range(100):  # the daemon notices the last connection's end
        if len(inproc.daemon.connections) == 0:
            break
        await trio.sleep(0.01)
    assert len(inproc.daemon.session_dirs) == 0
    assert open_fds() <= before + 2  # flat: not one per dir


async def test_a_session_dir_stays_locked_while_a_live_session_uses_it(inproc):
    d = inproc.root / "kept"
    async with inproc.wire() as w:
        await w.result("server.hello", {"client": "t", "session_dir": str(d)})
        await w.result("session.execute", {"session": "s", "command": "(define x 1)"})
    for _ in range(100):
        if not inproc.daemon.connections:
            break
        await trio.sleep(0.01)
    assert Path(os.path.realpath(d)) in set(inproc.daemon.session_dirs)  # the session lives on
    assert (d / SESSION_DIR_LOCK).read_text().strip() == str(os.getpid())
    inproc.daemon.sessions.max_sessions = 1  # the next session evicts this one
    other = inproc.root / "other"
    async with inproc.wire() as w:
        await w.result("server.hello", {"client": "t", "session_dir": str(other)})
        await w.result("session.execute", {"session": "s", "command": "(define y 2)"})
        held = set(inproc.daemon.session_dirs)
    assert Path(os.path.realpath(d)) not in held and Path(os.path.realpath(other)) in held
    assert (d / SESSION_DIR_LOCK).read_text() == ""  # released: no pid in it


async def test_relative_or_nul_session_dirs_and_cwds_are_invalid_params(inproc):
    async with inproc.wire() as w:
        for params, says in (
            ({"session_dir": "relative/dir"}, "`session_dir` must be an absolute path"),
            ({"session_dir": "/tmp/a\0b"}, "`session_dir` contains a NUL byte"),
            ({"cwd": "here"}, "`cwd` must be an absolute path"),
            ({"cwd": "/x\0"}, "`cwd` contains a NUL byte"),
        ):
            reply = await w.call("server.hello", {"client": "t", **params})
            assert reply["error"]["code"] == INVALID_PARAMS, reply
            assert says in reply["error"]["message"]
        assert not Path("relative").exists() and not (Path.cwd() / "relative").exists()
        assert (await w.result("server.ping")) == {"pong": True}


async def test_the_filesystem_root_is_not_a_session_dir(inproc):
    async with inproc.wire() as w:
        reply = await w.call("server.hello", {"client": "t", "session_dir": "/"})
        assert reply["error"]["code"] == SESSION_DIR_UNAVAILABLE, reply
        assert reply["error"]["message"] == "/ is the filesystem root, not a session dir"
        assert (await w.result("server.ping")) == {"pong": True}
    assert not os.path.lexists("/sessions") and not os.path.lexists("/" + SESSION_DIR_LOCK)


@needs_root
async def test_a_session_dir_planted_by_the_other_user_is_refused(inproc, shared):
    """/shared/project/.omega-session of `other`, with sessions/current.jsonl and .omegad.lock
    as symlinks to the victim's files: the victim's command is refused by name, nothing written."""
    journal_target = victim_file(inproc.root, "victim-notes.txt")
    lock_target = victim_file(inproc.root, "victim-config.txt")
    planted = shared / ".omega-session"  # the shared 1777 project dir, as /shared/project
    theirs = shared / "their-project" / ".omega-session"

    def plant() -> None:
        os.makedirs(theirs, 0o755)
        os.mkdir(planted, 0o777)
        os.mkdir(planted / "sessions", 0o777)
        os.symlink(journal_target, planted / "sessions" / "current.jsonl")
        os.symlink(lock_target, planted / SESSION_DIR_LOCK)

    as_other(plant)
    seen = Witness([journal_target, lock_target])
    async with inproc.wire() as w:
        reply = await w.call("server.hello", {"client": "t", "session_dir": str(planted)})
        assert reply["error"]["code"] == UNTRUSTED_PATH
        assert f"{planted} belongs to uid 65534" in reply["error"]["message"]
        assert reply["error"]["data"] == {"path": str(planted)}
        reply = await w.call("server.hello", {"client": "t", "session_dir": str(theirs)})
        assert reply["error"]["code"] == UNTRUSTED_PATH
        assert f"{theirs.parent} belongs to uid 65534" in reply["error"]["message"]
        assert (await w.result("server.ping")) == {"pong": True}
    seen.assert_untouched()


@needs_root
async def test_a_session_dir_symlink_of_the_other_user_to_a_dir_of_ours_is_refused(inproc, shared):
    """`other` points /shared/project/.omega-session at a directory of the victim's: the daemon
    must not make it a session dir (no lock file, no sessions/ there)."""
    ours = inproc.root / "victim-dir"
    ours.mkdir(mode=0o700)
    planted = shared / ".omega-session"
    as_other(lambda: os.symlink(ours, planted))
    async with inproc.wire() as w:
        reply = await w.call("server.hello", {"client": "t", "session_dir": str(planted)})
        assert reply["error"]["code"] == UNTRUSTED_PATH
        assert f"{planted} belongs to uid 65534" in reply["error"]["message"]
    assert os.listdir(ours) == []
    mine = shared / "mine"
    mine.symlink_to(ours)  # a symlink of the user's own is followed
    async with inproc.wire() as w:
        r = await w.result("server.hello", {"client": "t", "session_dir": str(mine)})
        assert r["session_dir"] == str(ours)


@needs_root
async def test_symlinks_planted_in_a_session_dir_of_ours_are_refused(inproc, shared):
    """Our own session dir, but its `sessions/` made group/other-writable and planted in: the
    lock or the journal being a symlink is refused by name and its target is untouched."""
    journal_target = victim_file(inproc.root, "victim-notes.txt")
    lock_target = victim_file(inproc.root, "victim-config.txt")
    mine = shared / "mine"
    mine.mkdir(mode=0o700)
    (mine / SESSION_DIR_LOCK).symlink_to(lock_target)
    seen = Witness([journal_target, lock_target])
    async with inproc.wire() as w:
        reply = await w.call("server.hello", {"client": "t", "session_dir": str(mine)})
        assert reply["error"]["code"] == UNTRUSTED_PATH
        assert f"{mine / SESSION_DIR_LOCK} is a symlink" in reply["error"]["message"]
    (mine / SESSION_DIR_LOCK).unlink()
    (mine / "sessions").mkdir(mode=0o700)
    (mine / "sessions" / "current.jsonl").symlink_to(journal_target)
    async with inproc.wire() as w:
        await w.result("server.hello", {"client": "t", "session_dir": str(mine)})
        reply = await w.call("session.execute", {"session": "current", "command": "(define x 1)"})
        assert "error" in reply, reply
        assert str(mine / "sessions" / "current.jsonl") in reply["error"]["message"]
        assert (await w.result("server.ping")) == {"pong": True}
    seen.assert_untouched()
    os.chmod(mine / "sessions", 0o777)
    async with inproc.wire() as w:
        reply = await w.call("server.hello", {"client": "t", "session_dir": str(mine)})
        assert reply["error"]["code"] == UNTRUSTED_PATH
        assert f"{mine / 'sessions'} is writable by group or others" in reply["error"]["message"]
    seen.assert_untouched()
