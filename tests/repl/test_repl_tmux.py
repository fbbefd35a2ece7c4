"""`omegacli repl` in a real terminal (tmux), against a real daemon: type, read the screen."""

import os
import shlex
import shutil
import subprocess
import sys

import pytest

from tests.conftest import ROOT, RawConn, wait_until


def tmux_binary() -> str:
    found = shutil.which("tmux")
    if found:
        return found
    if shutil.which("apt-get") and os.geteuid() == 0:
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        for step in (["install"], ["update"], ["install"]):  # update only if install fails
            if shutil.which("tmux"):
                break
            args = step + (["-y", "-q", "tmux"] if step == ["install"] else ["-q"])
            subprocess.run(["apt-get", *args], capture_output=True, timeout=600, env=env)
    found = shutil.which("tmux")
    if not found:
        pytest.skip("tmux is not installed and could not be installed here "
                    "(apt-get install tmux needs apt-get and root)")
    return found


class Pane:
    def __init__(self, tmux: str, server: str):
        self.tmux, self.server = tmux, server

    def run(self, *args: str) -> str:
        return subprocess.run([self.tmux, "-S", self.server, *args], capture_output=True,
                              text=True, check=True).stdout

    def keys(self, *keys: str) -> None:
        self.run("send-keys", "-t", "repl", *keys)

    def screen(self) -> str:
        return self.run("capture-pane", "-p", "-t", "repl")

    def wait_for(self, text: str, what: str) -> None:
        try:
            wait_until(lambda: text in self.screen(), timeout=15, what=what)
        except pytest.fail.Exception:
            raise AssertionError(f"{what}: {text!r} not on screen:\n{self.screen()}") from None


@pytest.fixture
def state(omega_env):
    return omega_env.root / "state"


@pytest.fixture
def open_pane(daemon, omega_env, state):
    """A factory: open_pane() starts `omegacli repl` in a tmux pane (one per test)."""
    tmux = tmux_binary()
    server = str(omega_env.root / "tmux.sock")
    env = {"OMEGAD_SOCKET": str(daemon.socket), "OMEGA_SESSION_DIR": str(omega_env.session_dir),
           "XDG_STATE_HOME": str(state), "PYTHONPATH": str(ROOT),
           "TERM": "xterm-256color", "HOME": str(omega_env.root), "PATH": os.environ["PATH"],
           "LANG": "C.UTF-8"}
    repl = f"{sys.executable} -m omegacli repl; echo REPL exit status $?"
    command = " ".join([f"{k}={v!s}" for k, v in env.items()] + ["sh", "-c", shlex.quote(repl)])
    conf = omega_env.root / "tmux.conf"
    conf.write_text("set -g remain-on-exit on\nset -g status off\n")

    def open_it() -> Pane:
        p = Pane(tmux, server)
        p.run("-f", str(conf), "new-session", "-d", "-s", "repl", "-x", "100", "-y", "30",
              "env -i " + command)
        return p

    try:
        yield open_it
    finally:
        subprocess.run([tmux, "-S", server, "kill-server"], capture_output=True)


@pytest.fixture
def pane(open_pane):
    return open_pane()


def test_a_terminal_session_define_call_interrupt_and_quit(pane, state):
    pane.wait_for("Session 'current', seq 0", "the banner")
    pane.wait_for("daemon up", "the toolbar")
    pane.keys("(define (sq x)", "Enter")
    pane.wait_for("\n..", "a continuation prompt")
    pane.keys("(* x x))", "Enter")
    pane.wait_for("=> sq", "the define's result")
    pane.keys("(sq 12)", "Enter", "(sq 2)", "Enter")  # typed ahead, with no wait between
    pane.wait_for("=> 144", "the call's result")
    pane.wait_for("=> 4", "the typed-ahead call's result")
    pane.keys("(let loop ((i 0)) (loop (+ i 1)))", "Enter")
    pane.wait_for("Ctrl-C interrupts", "the spinner")
    pane.keys("C-c")
    pane.wait_for("error: interrupted", "the interrupt")
    pane.keys("(sq 3)", "Enter")
    pane.wait_for("=> 9", "the session after the interrupt")
    pane.keys("C-r", "sq 1")
    pane.wait_for("I-search backward: sq 1", "a history search")
    pane.keys("Enter", "Enter")
    wait_until(lambda: pane.screen().count("=> 144") == 2, what="the found input to run again")
    pane.keys("C-d")
    pane.wait_for("Goodbye!", "the goodbye")
    pane.wait_for("REPL exit status 0", "the REPL to exit with status 0")
    history = (state / "omega" / "repl_history").read_text()
    assert "+(sq 12)" in history and "+(define (sq x)\n+  (* x x))" in history


def test_attaching_to_a_busy_session_shows_it_and_ctrl_c_frees_it(open_pane, daemon, omega_env):
    loop = "(let loop ((i 0)) (loop (+ i 1)))"
    with RawConn(daemon.socket, timeout=15) as other:
        other.call("server.hello", {"client": "omegacli[5969]",
                                    "session_dir": str(omega_env.session_dir)})
        other.send({"jsonrpc": "2.0", "id": 99, "method": "session.execute",
                    "params": {"session": "current", "command": "(define n 1)\n" + loop}})
        wait_until(lambda: running(daemon, "current"), what="the other client's loop to run")
        pane = open_pane()
        pane.wait_for("busy: `(define n 1)` from omegacli[5969] for ", "the busy line")
        pane.wait_for("— Ctrl-C interrupts it", "what Ctrl-C does")
        pane.keys("C-c")
        pane.wait_for("Interrupted `(define n 1)`", "the interrupt")
        answer = other.recv()  # the loop's own client learns it was interrupted
        assert answer["id"] == 99 and answer["error"]["code"] == -32800
        pane.keys("(+ n 1)", "Enter")
        pane.wait_for("=> 2", "the freed session")  # `n` stayed: only the loop rolled back
        assert not running(daemon, "current")


def running(daemon, session: str) -> bool:
    with RawConn(daemon.socket) as c:
        return any(r["session"] == session for r in c.call("server.status")["running"])
