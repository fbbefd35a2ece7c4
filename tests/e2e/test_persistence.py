"""Sessions on disk through real daemons: restarts, kill -9, eviction, adopted states, flush."""

import json
import os
import signal

import pytest

from omegad.persist.checkpoints import (
    ADOPTED,
    ADOPTED_PART,
    ADOPTED_REF,
    DELTA,
    FULL,
    CheckpointFile,
)
from tests.conftest import SHARED, needs_shared
from tests.e2e.conftest import session_client


def execute(c, session, command):
    return c.call("session.execute", {"session": session, "command": command})["output"]


COUNTER = "(define make (lambda () (let ((n 0)) (lambda () (set! n (+ n 1)) n))))"


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM])
def test_a_session_comes_back_after_the_daemon_dies(start_daemon, omega_env, how):
    d = start_daemon()
    with session_client(d, omega_env.session_dir) as c:
        execute(c, "keep", COUNTER)
        execute(c, "keep", "(define tick (make))")
        assert execute(c, "keep", "(tick) (tick)") == "=> 1\n=> 2"
        execute(c, "keep", "(define xs (list 1 2 3))")
    d.signal(how)
    d.wait()
    d = start_daemon()
    with session_client(d, omega_env.session_dir) as c:
        assert execute(c, "keep", "(tick)") == "=> 3"
        assert execute(c, "keep", "xs") == "=> (1 2 3)"
        listed = {s["name"]: s for s in c.call("session.list")["sessions"]}
        assert listed["keep"]["events"] == 28  # seven inputs of four events each


def test_a_loaded_state_survives_a_restart(start_daemon, omega_env):
    d = start_daemon()
    with session_client(d, omega_env.session_dir) as c:
        execute(c, "src", "(define a 41)")
        execute(c, "dst", ":session load src")
        execute(c, "dst", "(define b (+ a 1))")
    d.signal(signal.SIGKILL)
    d.wait()
    d = start_daemon()
    with session_client(d, omega_env.session_dir) as c:
        assert execute(c, "dst", "(+ a b)") == "=> 83"


def test_states_read_from_files_are_written_again_as_references_and_copies(start_inprocess_daemon,
                                                                         omega_env):
    """A session reopened after a restart goes on from its newest record (a reference to it, then
    deltas), and a state loaded from another session is a copy of that session's records: no
    state is serialized whole again."""
    sessions = omega_env.session_dir / "sessions"
    d = start_inprocess_daemon()
    with session_client(d, omega_env.session_dir) as c:
        execute(c, "src", COUNTER + " (define tick (make)) (tick) (tick)")
    d.stop()
    d = start_inprocess_daemon()
    with session_client(d, omega_env.session_dir) as c:
        assert execute(c, "src", "(tick)") == "=> 3"
        execute(c, "dst", "(define own 1)")
        execute(c, "dst", ":session load src")
        assert execute(c, "dst", "(tick)") == "=> 4"
    d.stop()
    kinds = [e.kind for e in CheckpointFile.open(sessions / "src.ckpt").entries]
    assert kinds == [FULL, DELTA, DELTA, DELTA, ADOPTED_REF, DELTA]
    dst = CheckpointFile.open(sessions / "dst.ckpt")
    assert [e.kind for e in dst.entries][1:] == [ADOPTED] + [ADOPTED_PART] * 4 + [DELTA]
    src_bytes = (sessions / "src.ckpt").read_bytes()
    for record in dst.chain(len(dst.entries) - 2):  # the adopted state: src's records' bytes
        assert len(record.state) > 50 and record.state in src_bytes
    d = start_inprocess_daemon()
    with session_client(d, omega_env.session_dir) as c:
        assert execute(c, "src", "(tick)") == "=> 4"
        assert execute(c, "dst", "(tick)") == "=> 5"
        assert execute(c, "dst", "own").startswith("error: unbound")


def test_inputs_after_a_goto_back_come_back_after_a_crash(start_daemon, omega_env):
    """After a goto back, the session writes deltas (no whole state): they must be enough."""
    d = start_daemon()
    with session_client(d, omega_env.session_dir) as c:
        execute(c, "tt", "(define a 1) (define s 'first)")  # checkpoints 3 and 7
        execute(c, "tt", "(define s 'second) (define b (list s a))")
        execute(c, "tt", ":session load tt")
        assert "Jumped to seq 7" in execute(c, "tt", ":session goto 7")
        execute(c, "tt", "(define c (list s 'second))")  # a symbol of the branch left
        c.call("server.ping")  # (answered once the input's state record is written)
    d.signal(signal.SIGKILL)
    d.wait()
    kinds = [e.kind for e in CheckpointFile.open(omega_env.session_dir / "sessions"
                                                 / "tt.ckpt").entries]
    assert kinds[-2:] == [ADOPTED_REF, DELTA]
    d = start_daemon()
    with session_client(d, omega_env.session_dir) as c:
        assert execute(c, "tt", "c") == "=> (first second)"
        assert execute(c, "tt", "b").startswith("error: unbound")
        execute(c, "other", ":session load tt")
        assert execute(c, "other", "(list a s c)") == "=> (1 first (first second))"


def test_an_evicted_session_comes_back_with_its_state(start_inprocess_daemon, omega_env):
    d = start_inprocess_daemon("--max-sessions", "2")
    with session_client(d, omega_env.session_dir) as c:
        execute(c, "first", COUNTER + " (define t (make)) (t)")
        for name in ("second", "third", "fourth"):
            execute(c, name, "(define z 1)")
        assert not {s["name"]: s for s in c.call("session.list")["sessions"]}["first"]["in_memory"]
        assert execute(c, "first", "(t)") == "=> 2"


def test_goto_on_a_session_written_by_omega_restores_that_checkpoint(
        start_inprocess_daemon, omega_env):
    d = start_inprocess_daemon()
    with session_client(d, omega_env.session_dir) as c:
        for i in range(5):
            execute(c, "hist", f"(define v{i} {i * 10})")
    d.stop()
    d = start_inprocess_daemon()
    with session_client(d, omega_env.session_dir) as c:
        execute(c, "other", ":session load hist")
        assert "Jumped to seq 11" in execute(c, "other", ":session goto 11")
        assert execute(c, "other", "v2") == "=> 20"
        assert execute(c, "other", "v3").startswith("error: unbound")


def test_server_flush_writes_the_index_with_the_reference_schema(start_inprocess_daemon, omega_env):
    d = start_inprocess_daemon("--fsync", "always")
    with session_client(d, omega_env.session_dir) as c:
        execute(c, "idx", "(define q 1) (+ q 1)")
        assert c.call("server.flush")["sessions"] >= 1
    index = json.loads((omega_env.session_dir / "sessions" / "idx.index.json").read_text())
    assert index["eventCount"] == 8 and index["states"] == {}
    assert [cp["seq"] for cp in index["checkpoints"]] == [3, 7]
    journal = (omega_env.session_dir / "sessions" / "idx.jsonl").read_bytes()
    for cp in index["checkpoints"]:
        line = journal[cp["byteOffset"]:].split(b"\n", 1)[0]
        assert json.loads(line)["type"] == "checkpoint"


def test_a_torn_tail_is_cut_and_the_session_opens(start_inprocess_daemon, omega_env):
    d = start_inprocess_daemon()
    with session_client(d, omega_env.session_dir) as c:
        execute(c, "torn", "(define w 7)")
    d.stop()
    sessions = omega_env.session_dir / "sessions"
    with open(sessions / "torn.jsonl", "ab") as f:
        f.write(b'{"seq":4,"ts":1,"type":"inp')
    with open(sessions / "torn.ckpt", "ab") as f:
        f.write(b"\x00\x00\x00\x10garbage")
    d = start_inprocess_daemon()
    with session_client(d, omega_env.session_dir) as c:
        assert execute(c, "torn", "w") == "=> 7"
    assert b"garbage" not in (sessions / "torn.ckpt").read_bytes()


def test_an_input_whose_state_record_never_reached_the_disk_is_replayed(start_inprocess_daemon,
                                                                        omega_env):
    """A command is answered once its journal events are written; its state record follows.
    A daemon killed in between leaves the journal one input ahead of the checkpoint file."""
    d = start_inprocess_daemon()
    with session_client(d, omega_env.session_dir) as c:
        execute(c, "late", COUNTER + " (define tick (make))")
        assert execute(c, "late", "(tick)") == "=> 1"
        assert execute(c, "late", "(tick)") == "=> 2"
    d.stop()
    path = omega_env.session_dir / "sessions" / "late.ckpt"
    last = CheckpointFile.open(path).entries[-1]
    assert last.seq == 15  # the second (tick)'s checkpoint
    os.truncate(path, last.offset)
    d = start_inprocess_daemon()
    with session_client(d, omega_env.session_dir) as c:
        assert execute(c, "other", ":session load late").startswith("Loaded session 'late'")
        assert execute(c, "other", "(tick)") == "=> 3"  # its latest state, not the one before
        assert CheckpointFile.open(path).entries[-1].seq == 15  # (written as `late` opened)
        assert execute(c, "late", "(tick)") == "=> 3"
    d.stop()
    assert CheckpointFile.open(path).entries[-1].seq == 19


def test_definitions_are_listed_again_after_a_restart(start_inprocess_daemon, omega_env):
    d = start_inprocess_daemon()
    with session_client(d, omega_env.session_dir) as c:
        execute(c, "defs", "(define (f) 1) (define g 2) (define (f) 3)")
    d.stop()
    d = start_inprocess_daemon()
    with session_client(d, omega_env.session_dir) as c:
        assert execute(c, "defs", ":defs") == "(define g 2)\n(define (f) 3)"
        assert c.call("session.open", {"session": "defs"})["definitions"] == 2


def test_the_memory_bound_evicts_idle_sessions(start_inprocess_daemon, omega_env):
    d = start_inprocess_daemon("--max-memory", "4K")
    build = "(define (build n acc) (if (= n 0) acc (build (- n 1) (cons n acc))))"
    with session_client(d, omega_env.session_dir) as c:
        execute(c, "big", build + " (define xs (build 2000 '()))")
        execute(c, "small", "(define y 1)")
        listed = {s["name"]: s["in_memory"] for s in c.call("session.list")["sessions"]}
        assert listed == {"big": False, "small": True}
        assert execute(c, "big", "(length xs)") == "=> 2000"


def test_the_catalog_lists_sessions_after_a_restart_without_reading_their_indexes(
        start_inprocess_daemon, omega_env):
    d = start_inprocess_daemon()
    with session_client(d, omega_env.session_dir) as c:
        for name in ("a1", "a2", "a3"):
            execute(c, name, "(define x 1) (define y 2)")
    d.stop()
    sessions = omega_env.session_dir / "sessions"
    assert (sessions / ".omega-catalog").exists()
    index = sessions / "a2.index.json"
    stat = index.stat()
    index.write_text("{not json")  # unreadable now: a listing that read it would lose a2's counts
    os.truncate(index, stat.st_size)
    os.utime(index, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    d = start_inprocess_daemon()
    with session_client(d, omega_env.session_dir) as c:
        listed = {s["name"]: (s["events"], s["checkpoints"])
                  for s in c.call("session.list")["sessions"]}
    assert listed == {"a1": (8, 2), "a2": (8, 2), "a3": (8, 2)}


def test_an_unreadable_index_does_not_stop_a_session_from_opening(start_inprocess_daemon,
                                                                  omega_env):
    d = start_inprocess_daemon()
    with session_client(d, omega_env.session_dir) as c:
        execute(c, "hurt", "(define k 11)")
    d.stop()
    (omega_env.session_dir / "sessions" / "hurt.index.json").write_text("{not json")
    d = start_inprocess_daemon()
    with session_client(d, omega_env.session_dir) as c:
        assert execute(c, "hurt", "k") == "=> 11"


def test_going_back_in_a_sessions_own_history_survives_restarts(start_daemon, omega_env):
    d = start_daemon()
    with session_client(d, omega_env.session_dir) as c:
        for i in range(4):
            execute(c, "own", f"(define v{i} {i})")
        execute(c, "own", ":session load own")
        assert "Jumped to seq 7" in execute(c, "own", ":session goto 7")  # v0, v1
        execute(c, "own", "(define w (+ v0 v1 10))")
    d.signal(signal.SIGKILL)
    d.wait()
    d = start_daemon()
    with session_client(d, omega_env.session_dir) as c:
        assert execute(c, "own", "w") == "=> 11"
        assert execute(c, "own", "v2").startswith("error: unbound")
        execute(c, "own", ":session load own")
        assert "Jumped to seq 11" in execute(c, "own", ":session goto 11")
        assert execute(c, "own", "v2") == "=> 2"
    ckpt = (omega_env.session_dir / "sessions" / "own.ckpt")
    from omegad.persist.checkpoints import ADOPTED_REF, CheckpointFile
    assert ADOPTED_REF in [e.kind for e in CheckpointFile.open(ckpt).entries]


def test_a_fork_of_an_omega_session_copies_its_journal_up_to_the_goto_point(
        start_inprocess_daemon, omega_env):
    d = start_inprocess_daemon()
    with session_client(d, omega_env.session_dir) as c:
        for i in range(5):
            execute(c, "orig", f"(define f{i} {i})")
        execute(c, "orig", ":session load orig")
        execute(c, "orig", ":session goto 9")  # a step event: the state of checkpoint 7
        assert execute(c, "orig", ":session fork branch") == "Session forked as 'branch'"
        assert execute(c, "branch", "(+ f0 f1)") == "=> 1"
        assert execute(c, "branch", "f2").startswith("error: unbound")
    d.stop()
    assert "branch: reading its whole journal" not in d.stderr  # its records were moved too
    sessions = omega_env.session_dir / "sessions"
    lines = (sessions / "branch.jsonl").read_bytes().splitlines(keepends=True)
    header = json.loads(lines[0])
    assert header["id"] == "branch" and [json.loads(x)["seq"] for x in lines[1:11]] == list(
        range(10))
    original = (sessions / "orig.jsonl").read_bytes().splitlines(keepends=True)
    assert lines[1:11] == original[1:11]
    index = json.loads((sessions / "branch.index.json").read_text())
    assert index["sessionId"] == "branch"
    assert index["eventCount"] == 17  # ten forked, seven from the two inputs made in the fork
    journal = (sessions / "branch.jsonl").read_bytes()
    for cp in index["checkpoints"]:
        assert json.loads(journal[cp["byteOffset"]:].split(b"\n", 1)[0])["seq"] == cp["seq"]


def test_after_a_clean_stop_a_session_reopens_without_reading_its_whole_journal(
        start_daemon, omega_env):
    d = start_daemon()
    with session_client(d, omega_env.session_dir) as c:
        for i in range(3):
            execute(c, "quick", f"(define q{i} {i})")
    d.stop()
    d = start_daemon()
    with session_client(d, omega_env.session_dir) as c:
        assert execute(c, "quick", "(+ q0 q1 q2)") == "=> 3"
    d.stop()
    assert "quick: reading its whole journal" not in d.stderr
    d = start_daemon()  # after kill -9 the index is stale: then the journal is read, and said so
    with session_client(d, omega_env.session_dir) as c:
        execute(c, "quick", "(define q3 3)")
        c.call("server.ping")  # answered after the input's state record is written
    d.signal(signal.SIGKILL)
    d.wait()
    d = start_daemon()
    with session_client(d, omega_env.session_dir) as c:
        assert execute(c, "quick", "q3") == "=> 3"
    d.stop()
    assert "quick: reading its whole journal" in d.stderr


@needs_shared
def test_listings_follow_what_other_programs_do_in_the_session_dir(shared_daemon, tmp_path):
    """Journals copied in or removed, an index rewritten in place (as the reference writes it):
    each listing shows the directory as it is, though later ones read no index unchanged."""
    fixtures = SHARED / "fixtures" / "omega-ts-sessions" / "sessions"
    sessions = tmp_path / "sd" / "sessions"
    with session_client(shared_daemon, tmp_path / "sd") as c:
        def listed() -> dict:
            return {s["name"]: (s["events"], s["checkpoints"])
                    for s in c.call("session.list")["sessions"]}

        execute(c, "ours", "(define a 1)")
        assert listed() == {"ours": (4, 1)}
        for suffix in (".jsonl", ".index.json"):
            (sessions / f"tiny{suffix}").write_bytes((fixtures / f"tiny{suffix}").read_bytes())
        assert listed()["tiny"] == (12, 3)
        index = json.loads((sessions / "tiny.index.json").read_text())
        index["eventCount"], index["checkpoints"] = 8, index["checkpoints"][:2]
        with open(sessions / "tiny.index.json", "w") as f:  # in place: no rename
            json.dump(index, f, indent=2)
        assert listed()["tiny"] == (8, 2)
        (sessions / "tiny.jsonl").unlink()
        assert "tiny" not in listed()
        assert c.call("session.list")["sessions"][0]["name"] == "ours"


def test_a_session_reopened_again_and_again_keeps_closures_and_mutations(start_daemon, omega_env):
    """Each reopening rebuilds the state from the checkpoint file and starts a new run of
    records there; after stops and a kill, shared captured state still reads right."""
    for round_ in range(3):
        d = start_daemon()
        with session_client(d, omega_env.session_dir) as c:
            if round_ == 0:
                execute(c, "grow", COUNTER)
                execute(c, "grow", "(define tick (make))")
                execute(c, "grow", "(define xs (list 1 2))")
            assert execute(c, "grow", "(tick)") == f"=> {round_ + 1}"
            execute(c, "grow", f"(set! xs (cons {round_} xs))")
            execute(c, "grow", f"(define y{round_} (lambda () (length xs)))")
            assert execute(c, "grow", f"(y{round_})") == f"=> {round_ + 3}"
        d.signal(signal.SIGKILL if round_ == 1 else signal.SIGTERM)
        d.wait()
    d = start_daemon()
    with session_client(d, omega_env.session_dir) as c:
        assert execute(c, "grow", "(tick) xs (y0) (y2)") == "=> 4\n=> (2 1 0 1 2)\n=> 5\n=> 5"


def test_forks_of_forks_survive_a_kill_and_reopen_from_their_records(start_daemon, omega_env):
    """Each fork copies its source's bytes under a header of another length (its journal
    positions shift one way, then the other) and writes its index only when flushed."""
    d = start_daemon()
    with session_client(d, omega_env.session_dir) as c:
        for i in range(40):  # more inputs than one merge covers
            execute(c, "o", f"(define g{i} {i})")
        assert execute(c, "o", ":session fork a-longer-name") == \
            "Session forked as 'a-longer-name'"
        execute(c, "a-longer-name", "(define h 1)")
        execute(c, "a-longer-name", ":session load a-longer-name")
        assert "Jumped to seq 83" in execute(c, "a-longer-name", ":session goto 83")  # g20
        execute(c, "a-longer-name", ":session fork s")
        assert execute(c, "s", "(+ g0 g20)") == "=> 20"
        assert execute(c, "s", "g21").startswith("error: unbound")
    d.signal(signal.SIGKILL)
    d.wait()
    d = start_daemon()
    with session_client(d, omega_env.session_dir) as c:
        assert execute(c, "s", "(+ g0 g20)") == "=> 20"
        assert execute(c, "a-longer-name", "g20") == "=> 20"  # where its goto left it
        assert execute(c, "a-longer-name", "h").startswith("error: unbound")
        execute(c, "s", ":session load s")
        assert "Jumped to seq 43" in execute(c, "s", ":session goto 43")  # g10
        assert execute(c, "s", "g11").startswith("error: unbound")
    assert d.stop() == 0
    d = start_daemon()
    with session_client(d, omega_env.session_dir) as c:
        assert execute(c, "s", "(+ g0 g10)") == "=> 10"
        listed = {s["name"]: s["events"] for s in c.call("session.list")["sessions"]}
        assert listed["s"] == 84 + 3 * 4 + 2 * 3  # forked, three inputs, two unbound errors
    assert d.stop() == 0
    assert "reading its whole journal" not in d.stderr


def test_defines_are_listed_after_restarts_from_the_defs_file_and_the_journal_after_it(
        start_daemon, omega_env):
    d = start_daemon()
    with session_client(d, omega_env.session_dir) as c:
        execute(c, "d", "(define a 1)")
        execute(c, "d", "(define (f x) (* x a))")
    d.signal(signal.SIGTERM)
    d.wait()
    assert (omega_env.session_dir / "sessions" / "d.defs").exists()
    d = start_daemon()
    with session_client(d, omega_env.session_dir) as c:
        execute(c, "d", "(define a 2)")
        assert c.call("session.open", {"session": "d"})["definitions"] == 2
    d.signal(signal.SIGKILL)  # the file is not refreshed: the journal after it is read
    d.wait()
    d = start_daemon()
    with session_client(d, omega_env.session_dir) as c:
        assert execute(c, "d", ":defs") == "(define (f x) (* x a))\n(define a 2)"
        assert execute(c, "d", "(f 5)") == "=> 10"


def test_a_reset_session_lists_no_defines_after_a_restart(start_daemon, omega_env):
    d = start_daemon()
    with session_client(d, omega_env.session_dir) as c:
        execute(c, "r", "(define a 1)")
        c.call("server.flush")  # the index and .defs are written: the reset comes after
        c.call("session.execute", {"session": "r", "command": ":session reset", "piped": True})
    d.signal(signal.SIGTERM)  # nothing journaled since the reset
    d.wait()
    d = start_daemon()
    with session_client(d, omega_env.session_dir) as c:
        assert execute(c, "r", ":defs") == "(no user definitions yet)"
        assert execute(c, "r", "a").startswith("error: ")
