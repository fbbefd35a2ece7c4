"""Snapshots, timeline annotations and metrics through a real daemon (issue 10)."""

import json
import re
import signal

import pytest

from protocol import errors
from tests.e2e.conftest import session_client


def execute(c, session, command):
    return c.call("session.execute", {"session": session, "command": command})["output"]


def notes_file(env, name):
    return env.session_dir / "sessions" / f"{name}.notes"


def test_snapshot_commands_print_the_plans_texts(inprocess_daemon, omega_env):
    with session_client(inprocess_daemon, omega_env.session_dir) as c:
        assert execute(c, "s", ":session snapshots") == "No snapshots saved."
        assert execute(c, "s", ":session tags") == "No tags."
        execute(c, "s", "(define x 1)")
        out = execute(c, "s", ":session snapshot")
        assert out.splitlines() == ["Created snapshot of session 's'", "  [1] at checkpoint 3"]
        execute(c, "s", "(define y 2)")
        execute(c, "s", ":session snapshot after y #good")
        lines = execute(c, "s", ":session snapshots").splitlines()
        assert lines[0] == "Snapshots:"
        when = r"\(\d{1,2}/\d{1,2}/\d{4}, \d{1,2}:\d\d:\d\d [AP]M\)"
        assert re.fullmatch(r"  \[1\] No description " + when, lines[1])
        assert re.fullmatch(r"  \[2\] after y #good " + when, lines[2])
        assert execute(c, "s", ":session snapshots #good").splitlines()[1].startswith("  [2]")
        listed = c.call("snapshot.list", {"session": "s", "tag": "good"})
        assert [(s["id"], s["seq"], s["tags"]) for s in listed["snapshots"]] == [(2, 7, ["good"])]


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM])
def test_a_restored_snapshot_and_the_notes_survive_a_restart(start_daemon, omega_env, how):
    d = start_daemon()
    with session_client(d, omega_env.session_dir) as c:
        execute(c, "r", "(define x 1)")
        snap = c.call("snapshot.create", {"session": "r", "description": "x is one"})
        execute(c, "r", "(define x 2)")
        execute(c, "r", ":session annotate 7 two #second")
        restored = c.call("snapshot.restore", {"session": "r", "id": snap["id"]})
        assert restored["seq"] == 3
        assert execute(c, "r", "x") == "=> 1"
        execute(c, "r", "(define x (+ x 10))")
        again = execute(c, "r", ":session restore-snapshot 1")
        assert again == "Restored snapshot [1] of session 'r' (checkpoint 3)"
    d.signal(how)
    d.wait()
    d = start_daemon()
    with session_client(d, omega_env.session_dir) as c:
        assert execute(c, "r", "x") == "=> 1"
        assert [s["description"] for s in c.call("snapshot.list", {"session": "r"})["snapshots"]] \
            == ["x is one"]
        assert execute(c, "r", ":session timeline").splitlines()[:3] == \
            ["Timeline:", "  [3] manual", "  [7] manual - two"]
        assert execute(c, "r", ":session find #second") == \
            "Found 1 annotation(s):\n  [7] manual - two (#second)"
        assert execute(c, "r", ":session tags") == "Tags: #second"
        page = c.call("timeline.get", {"session": "r", "from": 7, "limit": 1})
        assert page["entries"][0]["annotation"]["tags"] == ["second"] and page["total"] == 5
        exported = c.call("timeline.export", {"session": "r"})["document"]["annotations"]
        assert [(a["checkpointSeq"], a["label"]) for a in exported] == [(7, "two")]
        assert c.call("snapshot.delete", {"session": "r", "id": 1})["description"] == "x is one"
        assert execute(c, "r", ":session snapshot again").endswith("[2] at checkpoint 19")


def test_deleting_a_snapshot_and_unknown_ids(inprocess_daemon, omega_env):
    with session_client(inprocess_daemon, omega_env.session_dir) as c:
        execute(c, "d", "(define x 1)")
        execute(c, "d", ":session snapshot one")
        before = notes_file(omega_env, "d").read_bytes()
        assert execute(c, "d", ":session delete-snapshot 5") == \
            "Error deleting snapshot: Snapshot not found: 5"
        assert execute(c, "d", ":session restore-snapshot 5") == \
            "Error restoring snapshot: Snapshot not found: 5"
        assert execute(c, "d", ":session restore-snapshot x") == \
            "Usage: :session restore-snapshot <id>"
        for method in ("snapshot.restore", "snapshot.delete"):
            with pytest.raises(errors.RpcError) as e:
                c.call(method, {"session": "d", "id": 5})
            assert e.value.code == errors.INVALID_PARAMS and "Snapshot not found: 5" in str(e.value)
        assert notes_file(omega_env, "d").read_bytes() == before
        assert execute(c, "d", ":session delete-snapshot 1") == \
            "Deleted snapshot [1] of session 'd'"
        assert execute(c, "d", ":session snapshots") == "No snapshots saved."
        assert c.call("snapshot.list", {"session": "d"})["snapshots"] == []


def test_bad_annotations_are_refused_and_change_nothing(inprocess_daemon, omega_env, tmp_path):
    with session_client(inprocess_daemon, omega_env.session_dir) as c:
        execute(c, "b", "(define x 1)")
        execute(c, "b", ":session annotate 3 good")
        before = notes_file(omega_env, "b").read_bytes()
        assert execute(c, "b", ":session annotate 4 nope") == \
            "Error annotating: No checkpoint at seq 4 in session 'b'"
        with pytest.raises(errors.RpcError) as e:
            c.call("timeline.annotate", {"session": "b", "seq": 99, "label": "x"})
        assert e.value.code == errors.INVALID_PARAMS
        huge = "x" * (10 * 1024 * 1024)
        with pytest.raises(errors.RpcError) as e:
            c.call("timeline.annotate", {"session": "b", "seq": 3, "label": huge})
        assert "The label is too long (10485760 characters; at most 200)" in e.value.message
        out = execute(c, "b", f":session annotate 3 {huge}")
        assert out.startswith("Error annotating: The label is too long")
        bad_files = {"not-json.json": "{oops", "wrong.json": '{"format":"other"}',
                     "seq.json": json.dumps([{"checkpointSeq": 4, "label": "a"}])}
        for name, text in bad_files.items():
            (tmp_path / name).write_text(text)
            out = execute(c, "b", f":session import-annotations {tmp_path / name}")
            assert out.startswith("Error importing annotations:"), out
        missing = execute(c, "b", f":session import-annotations {tmp_path / 'nothing.json'}")
        assert missing.startswith("Error importing annotations: No such file")
        with pytest.raises(errors.RpcError) as e:
            c.call("timeline.import", {"session": "b", "document": {"format": "other"}})
        assert e.value.code == errors.INVALID_PARAMS
        assert notes_file(omega_env, "b").read_bytes() == before
        assert execute(c, "b", ":session timeline") == "Timeline:\n  [3] manual - good"


def test_annotations_export_and_import_between_sessions(inprocess_daemon, omega_env, tmp_path):
    with session_client(inprocess_daemon, omega_env.session_dir) as c:
        for s in ("src", "dst"):
            execute(c, s, "(define a 1) (define b 2)")
        execute(c, "src", ":session annotate 3 first #x")
        c.call("timeline.annotate", {"session": "src", "seq": 7, "label": "second one",
                                     "description": "with #y"})
        out = tmp_path / "notes.json"
        assert execute(c, "src", f":session export-annotations {out}") == \
            f"Exported 2 annotation(s) of session 'src' to {out}"
        assert execute(c, "dst", f":session import-annotations {out}") == \
            "Imported 2 annotation(s) into session 'dst'"
        assert execute(c, "dst", ":session timeline") == \
            "Timeline:\n  [3] manual - first\n  [7] manual - second one"
        document = c.call("timeline.export", {"session": "src"})["document"]
        assert document["format"] == "omega-annotations"
        assert [a["tags"] for a in document["annotations"]] == [["x"], ["y"]]
        execute(c, "third", "(define a 1) (define b 2)")
        assert c.call("timeline.import", {"session": "third", "document": document}) == \
            {"session": "third", "imported": 2}
        found = c.call("timeline.get", {"session": "third", "find": "#y"})
        assert [e["annotation"]["label"] for e in found["entries"]] == ["second one"]


def test_timeline_pages(inprocess_daemon, omega_env):
    with session_client(inprocess_daemon, omega_env.session_dir) as c:
        assert execute(c, "p", ":session timeline") == "No checkpoints available."
        execute(c, "p", " ".join(f"(define v{i} {i})" for i in range(25)))
        execute(c, "p", ":session annotate 11 third")
        seen, start = [], 0
        while start is not None:
            page = c.call("timeline.get", {"session": "p", "from": start, "limit": 10})
            assert page["total"] == 25 and len(page["entries"]) <= 10
            seen += page["entries"]
            start = page["next_from"]
        assert [e["seq"] for e in seen] == [3 + 4 * i for i in range(25)]
        assert seen[2]["annotation"]["label"] == "third" and seen[1]["annotation"] is None
        assert c.call("timeline.get", {"session": "p", "from": 12, "limit": 1})["entries"][0][
            "seq"] == 15


def test_the_commands_act_on_the_loaded_session(inprocess_daemon, omega_env):
    with session_client(inprocess_daemon, omega_env.session_dir) as c:
        execute(c, "base", "(define k 1) (define k 2) (define k 3)")
        execute(c, "viewer", "(define mine 0)")
        execute(c, "viewer", ":session load base")
        execute(c, "viewer", ":session goto 7")
        assert execute(c, "viewer", ":session snapshot at two") == \
            "Created snapshot of session 'base'\n  [1] at checkpoint 7"
        execute(c, "viewer", ":session goto 11")
        execute(c, "viewer", ":session restore-snapshot 1")
        assert execute(c, "viewer", "k") == "=> 2"
        assert c.call("snapshot.list", {"session": "base"})["snapshots"][0]["seq"] == 7
        assert c.call("snapshot.list", {"session": "viewer"})["session"] == "base"
        assert execute(c, "viewer", ":session timeline").splitlines()[0] == "Timeline:"
        assert c.call("timeline.get", {"session": "viewer"})["session"] == "base"


def test_fork_copies_notes_up_to_the_fork_point_and_delete_removes_them(
        inprocess_daemon, omega_env):
    with session_client(inprocess_daemon, omega_env.session_dir) as c:
        execute(c, "f", "(define a 1)")
        execute(c, "f", ":session snapshot early")
        execute(c, "f", "(define b 2)")
        execute(c, "f", ":session snapshot late")
        execute(c, "f", ":session annotate 3 one")
        execute(c, "f", ":session annotate 7 two")
        execute(c, "w", ":session load f")
        execute(c, "w", ":session goto 3")
        assert execute(c, "w", ":session fork g").startswith("Session forked as 'g'")
        assert [s["description"] for s in c.call("snapshot.list", {"session": "g"})["snapshots"]] \
            == ["early"]
        assert execute(c, "g", ":session timeline") == "Timeline:\n  [3] manual - one"
        assert notes_file(omega_env, "g").exists()
        assert execute(c, "w", ":session delete g") == "Session 'g' deleted"
        assert not notes_file(omega_env, "g").exists()
        execute(c, "g", "(define fresh 1)")
        assert execute(c, "g", ":session snapshots") == "No snapshots saved."


def test_a_snapshot_from_another_client_waits_for_the_running_command(inprocess_daemon, omega_env):
    spin = "(define (spin n) (if (= n 0) 0 (spin (- n 1))))"
    with session_client(inprocess_daemon, omega_env.session_dir) as a, \
            session_client(inprocess_daemon, omega_env.session_dir) as b:
        execute(a, "busy", spin)
        a.call("session.open", {"session": "busy", "follow": True})  # input notices, too
        rid = a.start("session.execute", {"session": "busy", "command": "(spin 200000)"})
        while True:  # the command's `input` notice: it is running in the actor now
            msg = a.read()
            if msg.get("method") == "session.output" and msg["params"]["kind"] == "input":
                break
        snap = b.call("snapshot.create", {"session": "busy", "description": "after spin"})
        assert a.wait(rid)["output"] == "=> 0"
        assert snap["seq"] == 7  # the running command's checkpoint, not the one before it


def test_metrics_of_a_session_and_of_the_daemon(inprocess_daemon, omega_env):
    with session_client(inprocess_daemon, omega_env.session_dir) as c:
        execute(c, "m", "(define (build n acc) (if (= n 0) acc (build (- n 1) (cons n acc))))"
                        " (define xs (build 1000 '()))")
        execute(c, "m", "(car 5)")
        execute(c, "m", "(+ 1 2)")
        lines = execute(c, "m", ":session metrics").splitlines()
        assert lines[0] == "Session Metrics:"
        assert lines[1] == "  Commands executed: 3"
        assert lines[2] == "  Errors: 1"
        assert re.fullmatch(r"  Average execution time: \d+\.\d\dms", lines[3])
        assert re.fullmatch(r"  Peak memory usage: \d+\.\d\d KB", lines[5]), lines[5]
        assert re.fullmatch(r"  Session size: \d+(\.\d\d KB| B)", lines[6])
        assert re.fullmatch(r"  Last accessed: \d{1,2}/\d{1,2}/\d{4}, .* [AP]M", lines[7])
        typed = c.call("session.metrics", {"session": "m"})
        assert typed["commands"] == 4 and typed["errors"] == 1 and typed["in_memory"]
        assert typed["peak_memory_bytes"] >= 1000 * 16 and typed["size_bytes"] > 0
        execute(c, "m", "(define xs 0)")
        assert c.call("session.metrics", {"session": "m"})["peak_memory_bytes"] == \
            typed["peak_memory_bytes"]  # a peak stays a peak
        execute(c, "other", "(+ 1 1)")
        server = c.call("server.metrics")
        assert server["total_commands"] == 6 and server["sessions_in_memory"] >= 2
        assert server["sessions_on_disk"] >= 2 and server["connections"] >= 1
        assert server["rss_bytes"] > 0 and server["fsync_policy"] == "everysec"
        assert [s["session"] for s in server["sessions"]][:2] == ["other", "m"]


def test_omegacli_top_shows_the_sessions_most_recent_first(inprocess_daemon, omega_env):
    import subprocess
    import sys

    with session_client(inprocess_daemon, omega_env.session_dir) as c:
        execute(c, "older", "(+ 1 2)")
        execute(c, "newer", "(car 1)")
    out = subprocess.run([sys.executable, "-m", "omegacli", "top", "-n", "2", "--interval",
                          "0.05"], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    frames = out.stdout.split("omegad  sessions: ")[1:]
    assert len(frames) == 2 and "\x1b[2J" not in out.stdout  # not a terminal: plain frames
    rows = [line.split() for line in frames[-1].splitlines() if line.startswith(("older",
                                                                                  "newer"))]
    assert [r[0] for r in rows] == ["newer", "older"]
    assert rows[0][1:4] == ["*", "1", "1"] and rows[1][1:4] == ["*", "1", "0"]
    bad = subprocess.run([sys.executable, "-m", "omegacli", "top", "--interval", "0"],
                         capture_output=True, text=True, timeout=30)
    assert bad.returncode == 2 and "--interval must be positive" in bad.stderr


def test_unannotate_and_the_help_lists_the_commands(inprocess_daemon, omega_env):
    with session_client(inprocess_daemon, omega_env.session_dir) as c:
        execute(c, "u", "(define a 1)")
        execute(c, "u", ":session annotate 3 gone soon")
        assert execute(c, "u", ":session unannotate 3") == \
            "Removed annotation of checkpoint [3]: gone"
        assert execute(c, "u", ":session unannotate 3") == \
            "Error removing annotation: No annotation on checkpoint 3"
        assert execute(c, "u", ":session timeline") == "Timeline:\n  [3] manual"
        assert execute(c, "u", ":session find gone") == "No annotations match 'gone'."
        assert execute(c, "u", ":session annotate x y") == \
            "Usage: :session annotate <seq> <label> [description]"
        helped = execute(c, "u", ":help")
        for word in ("snapshot", "snapshots", "restore-snapshot", "delete-snapshot", "timeline",
                     "annotate", "find", "export-annotations", "import-annotations", "metrics"):
            assert f":session {word} " in helped


def test_metrics_are_kept_across_a_restart(start_inprocess_daemon, omega_env):
    d = start_inprocess_daemon()
    with session_client(d, omega_env.session_dir) as c:
        execute(c, "kept", "(define a 1)")
        execute(c, "kept", "(car 1)")
        before = c.call("session.metrics", {"session": "kept"})
    d.stop()
    d = start_inprocess_daemon()
    with session_client(d, omega_env.session_dir) as c:
        listed = {s["session"]: s for s in c.call("server.metrics")["sessions"]}
        assert not listed["kept"]["in_memory"]
        assert (listed["kept"]["commands"], listed["kept"]["errors"]) == (2, 1)
        after = c.call("session.metrics", {"session": "kept"})
        assert (after["commands"], after["errors"]) == (2, 1)  # (metrics RPCs are no commands)
        assert after["peak_memory_bytes"] == before["peak_memory_bytes"] > 0
        assert after["last_accessed"] == before["last_accessed"]
        assert execute(c, "kept", ":session metrics").splitlines()[1] == "  Commands executed: 2"


def test_an_evicted_session_closes_its_notes_file_and_keeps_its_snapshots(start_daemon,
                                                                           omega_env):
    import os

    d = start_daemon("--max-sessions", "1")
    notes = notes_file(omega_env, "ev")

    def open_files() -> set[str]:
        fds = f"/proc/{d.pid}/fd"
        return {os.path.realpath(os.path.join(fds, fd)) for fd in os.listdir(fds)}

    with session_client(d, omega_env.session_dir) as c:
        execute(c, "ev", "(define a 1)")
        execute(c, "ev", ":session snapshot kept")
        assert str(notes.resolve()) in open_files()
        execute(c, "other", "(define b 2)")  # evicts ev
        assert str(notes.resolve()) not in open_files()
        assert execute(c, "ev", ":session snapshots").splitlines()[1].startswith("  [1] kept")
        assert execute(c, "ev", ":session metrics").splitlines()[1] == "  Commands executed: 3"


def test_a_notes_file_of_another_format_is_reported_not_overwritten(inprocess_daemon, omega_env):
    with session_client(inprocess_daemon, omega_env.session_dir) as c:
        execute(c, "z", "(define a 1)")
        notes_file(omega_env, "z").write_text('{"format":"something-else"}\n')
        assert execute(c, "z", ":session snapshots") == \
            "Error: z.notes is not an omega notes file"
        assert execute(c, "z", ":session snapshot x") == \
            "Error creating snapshot: z.notes is not an omega notes file"
        with pytest.raises(errors.RpcError) as e:
            c.call("snapshot.list", {"session": "z"})
        assert e.value.code == errors.INTERNAL_ERROR
        assert "not an omega notes file" in e.value.message
        assert notes_file(omega_env, "z").read_text() == '{"format":"something-else"}\n'


def test_after_a_restart_a_snapshot_names_the_checkpoint_a_restore_left_the_session_at(
        start_daemon, omega_env):
    d = start_daemon()
    with session_client(d, omega_env.session_dir) as c:
        execute(c, "m", "(define x 1)")
        execute(c, "m", ":session snapshot one")
        execute(c, "m", "(define x 2)")
        execute(c, "m", ":session restore-snapshot 1")
        execute(c, "m", ":session reset")
        assert execute(c, "m", ":session snapshot") == "Error creating snapshot: No checkpoint " \
            "to snapshot: the session's state is not at a checkpoint (evaluate something first)"
        execute(c, "m", ":session restore-snapshot 1")
    d.signal(signal.SIGKILL)
    d.wait()
    d = start_daemon()
    with session_client(d, omega_env.session_dir) as c:
        assert execute(c, "m", ":session snapshot back") == \
            "Created snapshot of session 'm'\n  [2] at checkpoint 3"
        assert execute(c, "m", "x") == "=> 1"


def test_a_snapshot_after_load_goto_load_names_the_checkpoint_the_state_is_at(inprocess_daemon,
                                                                             omega_env):
    with session_client(inprocess_daemon, omega_env.session_dir) as c:
        execute(c, "lg", "(define x 1) (define x 2) (define x 3)")
        execute(c, "lg", ":session load lg")
        execute(c, "lg", ":session goto 3")
        assert execute(c, "lg", ":session snapshot").endswith("at checkpoint 3")
        execute(c, "lg", ":session load lg")  # back to the latest state
        assert execute(c, "lg", ":session snapshot").endswith("at checkpoint 11")
        execute(c, "lg", ":session restore-snapshot 1")
        assert execute(c, "lg", "x") == "=> 1"
        execute(c, "lg", ":session restore-snapshot 2")
        assert execute(c, "lg", "x") == "=> 3"
