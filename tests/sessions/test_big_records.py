"""A big state record (a form that kept a million pairs) is written after the answer in a worker
thread: the daemon answers every other client meanwhile; the session's next command, and a load
of the session from another, wait for it."""

import threading

from omegad.lang import start
from omegad.persist.checkpoints import CheckpointFile
from omegad.sessions.actor import BIG_RECORD
from omegad.sessions.states.saver import StateSaver
from omegad.sessions.states.sources import FileStates

PAIRS = 200_000  # 96 bytes of accounting each: over BIG_RECORD


def test_a_big_state_record_is_written_while_the_daemon_answers_others(
        start_inprocess_daemon, monkeypatch):
    writing, release = threading.Event(), threading.Event()
    real = StateSaver.save

    def save(self, state, *args, **kwargs):
        if state.allocated > BIG_RECORD and not writing.is_set():
            writing.set()  # the record of the big form: held until the others were answered
            assert release.wait(60)
        return real(self, state, *args, **kwargs)

    monkeypatch.setattr(StateSaver, "save", save)
    daemon = start_inprocess_daemon()
    ckpt = daemon.env.session_dir / "sessions" / "big.ckpt"
    with daemon.client(timeout=20) as a, daemon.client(timeout=20) as b:
        define = f"(define big (iota {PAIRS}))"
        big = a.call("session.execute", {"session": "big", "command": define})
        assert big["output"] == "=> big"
        assert writing.wait(20)
        try:
            assert b.call("server.ping") == {"pong": True}
            assert b.call("session.execute", {"session": "other", "command": "(+ 1 2)"})["output"] \
                == "=> 3"
            waiting = a.start("session.execute", {"session": "big", "command": "(length big)"})
            load = {"session": "other", "command": ":session load big"}
            loading = b.start("session.execute", load)
        finally:
            release.set()
        assert a.wait(waiting)["output"] == f"=> {PAIRS}"
        assert b.wait(loading)["output"].startswith("Loaded session 'big'")
        length = {"session": "other", "command": "(length big)"}
        assert b.call("session.execute", length)["output"] == f"=> {PAIRS}"
    assert daemon.stop() == 0
    records = CheckpointFile.open(ckpt)  # the first record, written in the thread, holds big
    first = FileStates(records)[records.seqs[0]].resume()
    assert start(first, "(length big)").run(10**7).printed == f"=> {PAIRS}"
    daemon = start_inprocess_daemon()
    with daemon.client() as c:
        opened = c.call("session.execute", {"session": "big", "command": "(length big)"})
        assert opened["output"] == f"=> {PAIRS}"
    assert daemon.stop() == 0
