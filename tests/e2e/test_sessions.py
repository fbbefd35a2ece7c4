"""Sessions through a real daemon: names, queues, interrupts, budgets, leases, one-shot flags."""

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from omegacli.client import Client
from omegad.lang import api
from omegad.sessions import engine
from protocol import errors
from tests.conftest import (
    CONFORMANCE_RUNNER,
    conformance_cases,
    conformance_stdin,
    load_conformance_runner,
    needs_shared,
    wait_until,
)
from tests.e2e.conftest import session_client

ROOT = Path(__file__).resolve().parents[2]
CONFORMANCE = CONFORMANCE_RUNNER


@pytest.fixture
def client(shared_daemon, tmp_path):
    with session_client(shared_daemon, tmp_path / "sd") as c:
        yield c


def execute(c: Client, session: str, command: str) -> dict:
    return c.call("session.execute", {"session": session, "command": command})


@pytest.mark.parametrize("name", ["../x", "a/b", "", "x" * 65, "a\x00b", ".hidden", "-x"])
def test_bad_session_names_are_refused_and_touch_no_file(client, tmp_path, name):
    with pytest.raises(errors.RpcError) as e:
        execute(client, name, "(+ 1 2)")
    assert e.value.code == errors.INVALID_SESSION_NAME
    assert not (tmp_path / "sd" / "sessions").exists() or not any(
        (tmp_path / "sd" / "sessions").iterdir())
    assert not (tmp_path / "x.jsonl").exists()


def test_several_forms_in_one_input_each_print_and_journal(client, tmp_path):
    r = execute(client, "multi", "(define p 1) (define q 2) (+ p q)")
    assert r["output"] == "=> p\n=> q\n=> 3"
    assert r["seq"] == 12  # three inputs of four events each
    journal = (tmp_path / "sd" / "sessions" / "multi.jsonl").read_text().splitlines()
    assert len(journal) == 13


def test_display_output_streams_to_attached_clients(shared_daemon, tmp_path):
    with session_client(shared_daemon, tmp_path / "sd") as a, \
            session_client(shared_daemon, tmp_path / "sd") as b:
        b.call("session.open", {"session": "shared", "create": True})
        assert execute(a, "shared", '(display "hi")')["output"] == "hi=> null"
        seen = []
        b.call("server.ping", on_notification=lambda m, p: seen.append((m, p["text"])))
        assert ("session.output", "hi") in seen


def test_a_client_that_never_reads_does_not_stall_the_session(shared_daemon, tmp_path):
    """Its display notifications queue in its outbox; the writer's commands go on."""
    with session_client(shared_daemon, tmp_path / "sd") as idle, \
            session_client(shared_daemon, tmp_path / "sd") as writer:
        idle.call("session.open", {"session": "loud", "create": True})  # then never reads
        shout = f'(define (shout n) (if (> n 0) (begin (display "{"x" * 1000}") ' \
                '(shout (- n 1))) "done"))'
        execute(writer, "loud", shout)
        for _ in range(3):  # 6 MB of output: far more than the socket buffers hold
            assert execute(writer, "loud", "(shout 2000)")["value"] == '"done"'
        assert execute(writer, "loud", "(+ 1 2)")["output"] == "=> 3"


def test_an_error_leaves_the_state_as_it_was(client):
    execute(client, "atomic", "(define x 1)")
    r = execute(client, "atomic", "(begin (set! x 99) (car '()))")
    assert not r["ok"] and r["output"].startswith("error: ")
    assert execute(client, "atomic", "x")["output"] == "=> 1"


def test_an_endless_loop_is_interrupted_and_the_session_keeps_its_state(shared_daemon, tmp_path):
    with session_client(shared_daemon, tmp_path / "sd") as a, \
            session_client(shared_daemon, tmp_path / "sd") as b:
        execute(a, "spin", "(define n 5)")
        b.call("session.open", {"session": "spin"})
        loop = '(define (f) (begin (set! n (+ n 1)) (f))) (begin (display "go") (f))'
        rid = a.start("session.execute", {"session": "spin", "command": loop})
        started = threading.Event()
        while not started.is_set():  # b sees the loop's output: it is running
            message = b.read()
            if message.get("method") == "session.output" and "go" in message["params"]["text"]:
                started.set()
        assert b.call("session.interrupt", {"session": "spin"})["interrupted"] is True
        with pytest.raises(errors.RpcError) as e:
            a.wait(rid)
        assert e.value.code == errors.INTERRUPTED
        assert execute(a, "spin", "n")["output"] == "=> 5"


def test_interrupt_own_stops_only_the_callers_command(shared_daemon, tmp_path):
    """`session.interrupt {own: true}` (a kernel's interrupt while its cell waits its turn):
    another client's command runs on; the caller's own running command stops."""
    with session_client(shared_daemon, tmp_path / "sd") as a, \
            session_client(shared_daemon, tmp_path / "sd") as b:
        execute(a, "own", "(define n 5) (define (f) (begin (set! n (+ n 1)) (f)))")
        rid = a.start("session.execute", {"session": "own", "command": "(f)"})
        wait_until(lambda: b.call("session.open", {"session": "own"}).get("running"),
                   what="a's command to run")
        assert b.call("session.interrupt", {"session": "own", "own": True}) == {
            "interrupted": False}
        assert b.call("session.open", {"session": "own"})["running"]["first_line"] == "(f)"
        assert a.call("session.interrupt", {"session": "own", "own": True}) == {
            "interrupted": True}
        with pytest.raises(errors.RpcError) as e:
            a.wait(rid)
        assert e.value.code == errors.INTERRUPTED
        assert execute(b, "own", "n")["output"] == "=> 5"


def test_cancel_request_interrupts_a_running_command(client):
    execute(client, "cancel", "(define n 5)")
    rid = client.start("session.execute",
                       {"session": "cancel",
                        "command": "(let loop ((i 0)) (set! n i) (loop (+ i 1)))"})
    client.call("server.ping")
    client.notify("$/cancelRequest", {"id": rid})
    with pytest.raises(errors.RpcError) as e:
        client.wait(rid)
    assert e.value.code == errors.INTERRUPTED
    assert execute(client, "cancel", "n")["output"] == "=> 5"


def test_a_long_command_is_journaled_while_it_runs(client, tmp_path):
    """Its input reaches the journal by the end of its first slice, not when it ends."""
    journal = tmp_path / "sd" / "sessions" / "long.jsonl"
    rid = client.start("session.execute",
                       {"session": "long", "command": "(let loop ((i 0)) (loop (+ i 1)))"})
    wait_until(lambda: journal.exists() and '"type":"input"' in journal.read_text(),
               what="the running command's input in the journal")
    assert '"type":"result"' not in journal.read_text()
    client.call("session.interrupt", {"session": "long"})
    with pytest.raises(errors.RpcError):
        client.wait(rid)


def test_a_runaway_allocation_ends_in_an_error_and_the_daemon_stays_up(client):
    # The default budget (512 MiB) is a minute of allocating: this command asks for a small one
    # (session.execute {memory_budget}), so that the runaway reaches it in about a second.
    assert engine.evaluate.__kwdefaults__["memory_budget"] == api.DEFAULT_MEMORY_BUDGET
    r = client.call("session.execute", {
        "session": "alloc", "command": "(define (grow l) (grow (cons 1 l))) (grow '())",
        "memory_budget": 8 << 20})
    assert r["output"].startswith("=> grow\nerror: ")
    assert "memory budget exceeded" in r["output"]
    assert execute(client, "alloc", "(+ 1 2)")["output"] == "=> 3"


def test_a_client_that_disconnects_mid_command_does_not_kill_the_session(shared_daemon, tmp_path):
    """Its command goes with it (dropped, or interrupted: tests/e2e/test_ownership.py); the
    session stays usable."""
    with session_client(shared_daemon, tmp_path / "sd") as b:
        execute(b, "gone", "(define (s i) (if (= i 200000) i (s (+ i 1))))")
    a = session_client(shared_daemon, tmp_path / "sd")
    a.start("session.execute", {"session": "gone", "command": "(s 0)"})
    a.close()
    with session_client(shared_daemon, tmp_path / "sd") as b:
        assert execute(b, "gone", "(s 199999)")["output"] == "=> 200000"


def test_two_hundred_queued_commands_all_run_in_order(client):
    ids = [client.start("session.execute", {"session": "queue", "command": f"(define x{i} {i})"})
           for i in range(200)]
    replies = {}
    while len(replies) < len(ids):  # answers may leave in any order; commands run in order
        message = client.read()
        replies[message["id"]] = message["result"]["seq"]
    seqs = [replies[i] for i in ids]
    assert seqs == sorted(seqs) and len(set(seqs)) == 200
    assert execute(client, "queue", "(+ x0 x199)")["output"] == "=> 199"


def test_the_write_lease_locks_other_clients_out_until_taken_or_released(shared_daemon, tmp_path):
    with session_client(shared_daemon, tmp_path / "sd") as a, \
            session_client(shared_daemon, tmp_path / "sd") as b:
        a.call("session.open", {"session": "leased", "mode": "write"})
        with pytest.raises(errors.RpcError) as e:
            execute(b, "leased", "(+ 1 2)")
        assert e.value.code == errors.SESSION_LOCKED and "locked by" in e.value.message
        assert b.call("session.checkpoints", {"session": "leased"})["checkpoints"] == []
        b.call("session.take", {"session": "leased"})
        assert execute(b, "leased", "(+ 1 2)")["output"] == "=> 3"
    with session_client(shared_daemon, tmp_path / "sd") as c:
        assert execute(c, "leased", "(+ 2 2)")["output"] == "=> 4"  # the lease died with b


def test_unknown_commands_and_quit(client):
    assert execute(client, "cmds", ":nope")["output"] == (
        "Unknown command: :nope. Type :help for commands.")
    r = execute(client, "cmds", ":quit")
    assert r["should_exit"] and r["output"] == "Goodbye!"
    r = client.call("session.execute", {"session": "cmds", "command": ":q", "piped": True})
    assert r["should_exit"] and r["output"] == ""


def test_completion_lists_bound_names_and_commands(client):
    execute(client, "comp", "(define my-thing 1)")
    assert "my-thing" in client.call("session.complete", {"session": "comp", "prefix": "my-"})[
        "completions"]
    assert ":session list" in client.call("session.complete", {"session": "comp", "prefix": ":s"})[
        "completions"]


def _cli(*args, cwd, env_extra=None):
    env = dict(os.environ, PYTHONPATH=str(ROOT), **(env_extra or {}))
    return subprocess.run([sys.executable, "-m", "omegacli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=60)


def test_batch_sessions_keep_their_bindings_between_calls(omega_env, tmp_path):
    assert _cli("-s", "w", "-c", "(define z 5)", cwd=tmp_path).stdout == "=> z\n"
    assert _cli("-s", "w", "-c", "(+ z 1)", cwd=tmp_path).stdout == "=> 6\n"
    shown = _cli("-s", "w", cwd=tmp_path).stdout.splitlines()
    assert shown == ["Session 'w' loaded.", "  Definitions: 1", "  Debug mode: false",
                     "  Breakpoints: 0"]


def test_file_and_json_flags(omega_env, tmp_path):
    prog = tmp_path / "p.lisp"
    prog.write_text("; a comment\n(define (sq x) (* x x))\n(sq 7)\n")
    out = _cli("-f", str(prog), "-s", "f", "-j", cwd=tmp_path).stdout
    import json

    doc = json.loads(out)
    assert doc["output"] == "=> sq\n=> 49" and doc["defsCount"] == 1 and doc["session"] == "f"


THROUGH_A_PROCESS = ["display.json", "oracle.json"]  # stdout interleaving; the oracle from env


@needs_shared
@pytest.mark.parametrize("case", conformance_cases(CONFORMANCE))
def test_conformance_passes_through_omegacli_repl(case, shared_daemon, omega_env, monkeypatch,
                                                  capsys):
    """What the runner does for one case with `omegacli repl` as the command, the client's main
    run in this process against a daemon in it: one session dir and daemon for all the cases (as
    the runner's one auto-started daemon), stdin decoded as `sys.stdin` is, stdout in lines."""
    import omegacli.__main__ as omegacli

    runner = load_conformance_runner(CONFORMANCE)
    monkeypatch.setenv("OMEGAD_SOCKET", str(shared_daemon.socket))
    monkeypatch.setenv("OMEGA_SESSION_DIR", str(shared_daemon.env.session_dir))
    monkeypatch.setenv("OMEGA_SCRIPTED_ORACLE", "1")
    monkeypatch.delenv("OMEGA_MOCK_EFFECTS", raising=False)
    monkeypatch.chdir(omega_env.root)
    monkeypatch.setattr(sys, "stdin", conformance_stdin(runner, case))
    omegacli.main(["repl"])
    assert runner.split_lines(capsys.readouterr().out) == case["expect"]


@needs_shared
def test_conformance_passes_through_the_omegacli_repl_process(omega_env, tmp_path):
    """The runner itself, `omegacli repl` a process per case (auto-starting the daemon)."""
    command = f"{sys.executable} -m omegacli repl"
    files = [str(CONFORMANCE.parent / name) for name in THROUGH_A_PROCESS]
    total = sum(len(data["cases"])
                for _, data in load_conformance_runner(CONFORMANCE).load_case_files(files))
    done = subprocess.run([sys.executable, str(CONFORMANCE), command, "--jobs", "4",
                           *(arg for f in files for arg in ("--cases", f))],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300,
                          env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert done.returncode == 0, done.stdout[-3000:]
    assert f"{total}/{total} cases passed" in done.stdout
    assert len(conformance_cases(CONFORMANCE)) == 130


def test_session_lock_and_take_commands(shared_daemon, tmp_path):
    with session_client(shared_daemon, tmp_path / "sd") as a, \
            session_client(shared_daemon, tmp_path / "sd") as b:
        assert "locked for writing" in execute(a, "lk", ":session lock")["output"]
        with pytest.raises(errors.RpcError) as e:
            execute(b, "lk", "(+ 1 1)")
        assert e.value.code == errors.SESSION_LOCKED
        assert "taken over" in execute(b, "lk", ":session take")["output"]
        with pytest.raises(errors.RpcError):
            execute(a, "lk", "(+ 1 1)")
        assert "unlocked" in execute(b, "lk", ":session unlock")["output"]
        assert execute(a, "lk", "(+ 1 1)")["output"] == "=> 2"
