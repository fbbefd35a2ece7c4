"""`omegacli` as scripts and people use it: exit statuses of -c/-f, `-j`, FILE:LINE:COLUMN, flags
that contradict each other, --help, --version, `daemon status` and `top` quitting.

One daemon for the module (`shared_daemon`); each test has its own session dir, and every CLI is
a real subprocess, since exit statuses and terminals are what is tested.
"""

import json
import os
import select
import subprocess
import sys
import termios

import pytest

from tests.conftest import ROOT, RawConn, wait_until


@pytest.fixture
def cli(shared_daemon, tmp_path):
    """Run `omegacli ARGS` against the module's daemon, with a session dir of the test's own."""
    env = dict(os.environ, OMEGAD_SOCKET=str(shared_daemon.socket), PYTHONPATH=str(ROOT),
               OMEGA_SESSION_DIR=str(tmp_path / "sd"))

    def run(*args: str, stdin: str = "", **extra: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "omegacli", *args], input=stdin,
                              capture_output=True, text=True, timeout=60, cwd=tmp_path,
                              env={**env, **extra})

    return run


def still_answering(daemon) -> bool:
    with RawConn(daemon.socket) as c:
        return c.call("server.ping") == {"pong": True}


# --- exit statuses of -c and -f ------------------------------------------------------------------


@pytest.mark.parametrize("command, stdout", [
    ("(car 1)", "error: car: expected pair\n"),
    ("(+ 1", "error: parse: missing ')'\n"),
    (":frobnicate", "Unknown command: :frobnicate. Type :help for commands.\n"),
    ("(car 1) (+ 1 2)", "error: car: expected pair\n=> 3\n"),  # any input, not only the last
], ids=["eval-error", "parse-error", "unknown-command", "error-then-success"])
def test_c_exits_1_after_an_error_with_the_references_stdout(cli, command, stdout):
    out = cli("-c", command)
    assert (out.returncode, out.stdout, out.stderr) == (1, stdout, "")


def test_c_exits_0_when_every_input_succeeds(cli):
    out = cli("-s", "ok", "-c", "(define (sq x) (* x x)) (sq 7)")
    assert (out.returncode, out.stdout) == (0, "=> sq\n=> 49\n")


PROGRAM = """\
(define x 1)
; a comment line: dropped, but still counted as a line
(car x)
  (+ 1 2))
(define (f y)
  (if y
    1
"""


def test_f_runs_on_after_errors_and_names_each_failure_file_line_column(cli, tmp_path):
    (tmp_path / "prog.omega").write_text(PROGRAM)
    out = cli("-s", "prog", "-f", "prog.omega")
    assert out.returncode == 1
    # stdout is the reference's (its splitting of forms included), line for line
    assert out.stdout.splitlines() == [
        "=> x", "error: car: expected pair", "=> 3", "error: parse: unexpected ')'",
        "error: unbound var f", "error: parse: missing ')'"]
    assert out.stderr.splitlines() == [
        "prog.omega:3:1: error: car: expected pair",
        "prog.omega:4:10: error: parse: unexpected ')'",  # the stray `)`
        "prog.omega:5:9: error: unbound var f",
        "prog.omega:6:3: error: parse: missing ')'",  # the `(` left open
    ]
    assert cli("-s", "prog", "-c", "x").stdout == "=> 1\n"  # it ran on after the errors


def test_f_exits_0_for_a_clean_file(cli, tmp_path):
    (tmp_path / "clean.omega").write_text("; squares\n(define (sq x)\n  (* x x))\n(sq 5)\n")
    out = cli("-f", "clean.omega")
    assert (out.returncode, out.stdout, out.stderr) == (0, "=> sq\n=> 25\n", "")


def test_j_carries_ok_value_and_error_as_session_execute_does(cli):
    good = json.loads(cli("-s", "js", "-j", "-c", "(+ 1 2)").stdout)
    assert good == {"session": "js", "command": "(+ 1 2)", "debugMode": False, "stepCount": 0,
                    "defsCount": 0, "output": "=> 3", "ok": True, "value": "3", "error": None}
    out = cli("-j", "-c", "(car 1)")
    bad = json.loads(out.stdout)
    assert out.returncode == 1 and "session" not in bad  # a scratch session: none to name
    via_call = json.loads(cli("call", "session.execute",
                              '{"session": "js", "command": "(car 1)"}').stdout)
    assert {k: bad[k] for k in ("output", "ok", "value", "error")} == \
        {k: via_call[k] for k in ("output", "ok", "value", "error")}


def test_j_of_a_file_says_its_first_error_and_last_value(cli, tmp_path):
    (tmp_path / "p.omega").write_text("(car 1)\n(cdr 1)\n(+ 2 2)\n")
    out = cli("-j", "-f", "p.omega")
    doc = json.loads(out.stdout)
    assert out.returncode == 1 and list(doc)[:1] == ["file"]
    assert (doc["ok"], doc["value"], doc["error"]) == (False, "4", "car: expected pair")
    assert out.stderr.splitlines() == ["p.omega:1:1: error: car: expected pair",
                                       "p.omega:2:1: error: cdr: expected pair"]


# --- usage errors: exit 2, the clear error, nothing run, the daemon still answering --------------


@pytest.mark.parametrize("args, says", [
    (["-c", "(define u 1)", "-f", "prog.omega"], "-c/--cmd and -f/--file cannot be used together"),
    (["-c", "(define u 1)", "repl"], "-c/--cmd runs without a COMMAND: drop `repl`"),
    (["-s", "use", "call", "server.ping"], "-s/--session goes with -c, -f, repl or kernel"),
    (["-j", "-s", "use"], "-j/--json goes with -c, -f or `daemon status`"),
    (["-s", "use", "-f", "missing.omega"], "File not found: "),
], ids=["c-and-f", "c-and-repl", "s-and-call", "j-alone", "missing-file"])
def test_contradictory_flags_are_a_usage_error_naming_them(cli, shared_daemon, tmp_path, args,
                                                          says):
    (tmp_path / "prog.omega").write_text("(define u 2)\n")
    out = cli(*args)
    assert out.returncode == 2 and says in out.stderr and out.stdout == ""
    assert not (tmp_path / "sd" / "sessions" / "use.jsonl").exists()  # nothing ran
    assert still_answering(shared_daemon)


def test_s_works_before_and_after_repl(cli, tmp_path):
    assert cli("-s", "w", "repl", stdin="(define a 1)\n").stdout == "=> a\n"
    assert cli("repl", "-s", "w", stdin="(define b 2)\n").stdout == "=> b\n"
    assert cli("repl", "--session", "w", stdin="(list a b)\n").stdout == "=> (1 2)\n"
    assert not (tmp_path / "sd" / "sessions" / "current.jsonl").exists()  # never `current`


def test_no_daemon_exits_3(cli, tmp_path):
    (tmp_path / "p.omega").write_text("(+ 1 2)\n")
    for args in (["-c", "(+ 1 2)"], ["-s", "x", "-f", "p.omega"]):
        out = cli("--no-autostart", *args, OMEGAD_SOCKET=str(tmp_path / "none.sock"))
        assert (out.returncode, out.stdout) == (3, "") and "no daemon on" in out.stderr


# --- help, versions, daemon status ---------------------------------------------------------------


def test_help_describes_the_commands_the_scratch_rule_and_examples(cli):
    out = cli("--help")
    assert out.returncode == 0
    text = " ".join(out.stdout.split())  # the width of the terminal decides the wrapping
    for command in ("repl", "call", "daemon", "top"):
        assert f"\n    {command} " in out.stdout  # with its one-line description
    assert "-c and -f without -s run in a scratch session that is thrown away" in text
    assert "With no COMMAND and none of -c/-f/-s, omegacli starts the REPL" in text
    assert out.stdout.split("examples:\n")[1].count("  omegacli ") == 3


def test_version_prints_ours_and_the_running_daemons(cli, shared_daemon, tmp_path):
    from omegad import __version__
    from protocol import PROTOCOL_VERSION

    out = cli("--version")
    assert out.returncode == 0
    assert out.stdout.splitlines() == [
        f"omegacli {__version__} (protocol {PROTOCOL_VERSION})",
        f"omegad {__version__} (protocol {PROTOCOL_VERSION}), pid {shared_daemon.pid},"
        f" on {shared_daemon.socket}"]
    alone = tmp_path / "alone.sock"
    out = cli("--version", OMEGAD_SOCKET=str(alone))
    assert out.stdout.splitlines()[1] == f"omegad: not running (socket {alone})"
    assert not alone.exists()  # asked, never started
    out = subprocess.run([sys.executable, "-m", "omegad", "--version"], capture_output=True,
                         text=True, timeout=30)
    assert (out.returncode, out.stdout) == (0, f"omegad {__version__} (protocol "
                                               f"{PROTOCOL_VERSION})\n")


def test_daemon_status_is_a_summary_and_j_its_json(cli, shared_daemon):
    out = cli("daemon", "status")
    assert out.returncode == 0
    lines = out.stdout.splitlines()
    assert lines[0].startswith("omegad ") and f"pid {shared_daemon.pid}, up " in lines[0]
    assert f"  socket  {shared_daemon.socket}" in lines
    assert any(line.endswith("client:") or line.endswith("clients:") for line in lines)
    for args in (["daemon", "status", "-j"], ["-j", "daemon", "status"]):
        assert json.loads(cli(*args).stdout)["pid"] == shared_daemon.pid


def test_daemon_status_names_the_commands_running(cli, shared_daemon, tmp_path):
    loop = "(let loop ((i 0)) (loop (+ i 1)))"
    with RawConn(shared_daemon.socket, timeout=15) as other:
        other.call("server.hello", {"client": "looper", "session_dir": str(tmp_path / "sd")})
        other.send({"jsonrpc": "2.0", "id": 7, "method": "session.execute",
                    "params": {"session": "spin", "command": loop}})

        def spinning() -> bool:
            with RawConn(shared_daemon.socket) as c:
                return any(r["session"] == "spin" for r in c.call("server.status")["running"])

        wait_until(spinning, what="the loop to run")
        lines = cli("daemon", "status").stdout.splitlines()
        assert "1 command running:" in lines
        assert any(line.startswith(f"  spin  `{loop}` from looper for ") for line in lines)
        other.send({"jsonrpc": "2.0", "id": 8, "method": "session.interrupt",
                    "params": {"session": "spin"}})
        answers = {m["id"]: m for m in (other.recv(), other.recv())}
        assert answers[7]["error"]["code"] == -32800 and answers[8]["result"]["interrupted"]


# --- top -----------------------------------------------------------------------------------------


def in_a_terminal(args: list[str], env: dict) -> tuple[subprocess.Popen, int]:
    """`omegacli ARGS` with a pseudo-terminal as its controlling terminal; (process, master)."""
    import fcntl
    import pty

    master, slave = pty.openpty()

    def take_terminal() -> None:
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    proc = subprocess.Popen([sys.executable, "-m", "omegacli", *args], stdin=slave,
                            stdout=slave, stderr=slave, env=env, start_new_session=True,
                            preexec_fn=take_terminal)
    os.close(slave)
    return proc, master


class Screen:
    def __init__(self, master: int):
        self.master, self.text = master, ""

    def read(self) -> str:
        while select.select([self.master], [], [], 0)[0]:
            try:
                chunk = os.read(self.master, 65536)
            except OSError:  # the other side closed
                break
            if not chunk:
                break
            self.text += chunk.decode(errors="replace")
        return self.text


@pytest.mark.parametrize("key", [b"q", b"\x03"], ids=["q", "ctrl-c"])
def test_top_quits_on_q_and_ctrl_c(shared_daemon, tmp_path, key):
    env = dict(os.environ, OMEGAD_SOCKET=str(shared_daemon.socket), PYTHONPATH=str(ROOT),
               OMEGA_SESSION_DIR=str(tmp_path / "sd"), TERM="xterm")
    proc, master = in_a_terminal(["top", "--interval", "30"], env)
    screen = Screen(master)
    try:
        wait_until(lambda: "SESSION" in screen.read(), what="top's first frame")
        assert not termios.tcgetattr(master)[3] & termios.ICANON  # one key, no Enter
        os.write(master, key)
        assert proc.wait(timeout=10) == 0  # at once, not after its 30 s interval
        assert termios.tcgetattr(master)[3] & termios.ICANON  # the terminal as it was
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
