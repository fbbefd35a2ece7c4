"""The prompt_toolkit REPL driven with typed keys (a pipe input) against a real daemon."""

import asyncio
import signal
import time
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from prompt_toolkit.application import create_app_session
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput

from omegacli.autostart import hello_params
from omegacli.client import Client
from omegacli.repl import editing
from omegacli.repl.app import Repl, Target
from protocol import errors
from tests.conftest import pid_of_daemon

TIMEOUT = 10.0


class Driver:
    """Types keys into a running Repl and reads what it wrote."""

    def __init__(self, repl: Repl, keys, out: list[str], task: asyncio.Task):
        self.repl, self.keys, self.out, self.task = repl, keys, out, task

    @property
    def text(self) -> str:
        return "".join(self.out)

    async def until(self, condition, what: str) -> None:
        deadline = time.monotonic() + TIMEOUT
        while not condition():
            if self.task.done():
                self.task.result()
                raise AssertionError(f"the REPL ended while waiting for {what}:\n{self.text}")
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}; output so far:\n{self.text}")
            await asyncio.sleep(0.005)

    def at_prompt(self) -> bool:
        prompt = self.repl.prompt
        return self.repl.running is None and prompt is not None and prompt.app.is_running

    async def prompt(self) -> None:
        await self.until(self.at_prompt, "the prompt")

    async def type(self, keys: str) -> None:
        await self.prompt()
        self.keys.send_text(keys)

    async def run(self, keys: str, expect: str) -> None:
        """Type an input at the prompt and wait until `expect` is printed and the prompt is back."""
        start = len(self.text)
        await self.type(keys)
        await self.until(lambda: expect in self.text[start:], repr(expect))
        await self.prompt()


@asynccontextmanager
async def repl_driver(socket: Path, session_dir: Path, session: str = "current",
                      name: str = "me", autostart: bool = False):
    out: list[str] = []
    with create_pipe_input() as keys, create_app_session(input=keys, output=DummyOutput()):
        target = Target(socket=socket, socket_named=True, session_dir=str(session_dir),
                        autostart=autostart)
        repl = Repl(target, session, write=out.append, client_name=name)
        task = asyncio.ensure_future(repl.run())
        driver = Driver(repl, keys, out, task)
        try:
            yield driver
        finally:
            if not task.done():
                task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass


def client_of(socket: Path, session_dir: Path, name: str) -> Client:
    client = Client.connect(str(socket))
    params = hello_params(name, str(session_dir))
    params["env"] = {}
    client.call("server.hello", params)
    return client


def test_open_parens_ignores_strings_comments_and_characters():
    assert editing.open_parens("(define (f x)") == 1
    assert editing.open_parens('(display "(((")') == 0
    assert editing.open_parens("(f ; (((\n") == 1
    assert editing.open_parens("(eq? #\\( x)") == 0
    assert editing.open_parens('(display "open') == 2  # inside a string: go on
    assert editing.is_complete(":session list") and editing.is_complete("(+ 1 2))")
    assert not editing.is_complete("(+ 1\n  2")


def test_banner_multiline_define_then_call(inprocess_daemon, tmp_path):
    async def main():
        async with repl_driver(inprocess_daemon.socket, tmp_path) as d:
            await d.prompt()
            assert "Session 'current', seq 0" in d.text and "oracle: scripted" in d.text
            await d.type("(define (sq x)\r")
            await d.until(lambda: d.repl.prompt.app.current_buffer.text == "(define (sq x)\n  ",
                          "a continuation line, indented")
            await d.run('(* x x)) ; a comment (\r', "=> sq")
            await d.run('(sq 7) (display "(")\r', "=> 49\n(=> null\n")
            assert d.repl.seq == 12
            d.keys.send_text("\x04")
            assert await d.task == 0
            assert d.text.endswith("Goodbye!\n")

    asyncio.run(main())


def test_ctrl_c_interrupts_an_evaluation_and_leaves_the_session_as_it_was(
        inprocess_daemon, tmp_path):
    async def main():
        async with repl_driver(inprocess_daemon.socket, tmp_path) as d:
            await d.run("(define n 5)\r", "=> n")
            await d.type('(begin (display "go") (let loop ((i 0)) (set! n i) (loop (+ i 1))))\r')
            await d.until(lambda: "go" in d.text and d.repl.running is not None
                          and d.repl.running.app is not None and d.repl.running.app.is_running,
                          "the loop to run")
            d.keys.send_text("(+ n 1)")  # typed while it runs: kept for the next prompt
            d.keys.send_text("\x03")
            await d.until(lambda: "error: interrupted" in d.text, "the interrupt")
            await d.prompt()
            await d.until(lambda: d.repl.prompt.app.current_buffer.text == "(+ n 1)", "typeahead")
            await d.run("\r", "=> 6")
            assert not d.task.done()
            assert d.repl.last_ms is not None and "last" in str(d.repl.toolbar())

    asyncio.run(main())


def test_ctrl_c_on_a_line_clears_it_and_ctrl_d_needs_an_empty_line(inprocess_daemon, tmp_path):
    async def main():
        async with repl_driver(inprocess_daemon.socket, tmp_path) as d:
            await d.type("(this is not sent")
            await d.until(lambda: d.repl.prompt.app.current_buffer.text, "the keys")
            d.keys.send_text("\x03")
            await d.run("(+ 1 2)\r", "=> 3")
            assert "this is not sent" not in d.text
            await d.type(":quit\r")
            assert await d.task == 0
            assert d.text.endswith("=> 3\nGoodbye!\n")

    asyncio.run(main())


def test_after_a_fork_the_repl_works_in_the_new_session(inprocess_daemon, tmp_path):
    async def main():
        async with repl_driver(inprocess_daemon.socket, tmp_path) as d:
            await d.run("(define x 1)\r", "=> x")
            await d.run(":session fork branch\r", "Session forked as 'branch'")
            assert d.repl.session == "branch" and "session branch" in str(d.repl.toolbar())
            start = len(d.text)
            await d.run('(define x 2) (display "shown once")\r', "=> x\nshown once=> null\n")
            assert d.text[start:].count("shown once") == 1
        with client_of(inprocess_daemon.socket, tmp_path, "check") as c:
            r = c.call("session.execute", {"session": "current", "command": "x"})
            assert r["output"] == "=> 1"

    asyncio.run(main())


def test_tab_completes_bound_names(inprocess_daemon, tmp_path):
    async def main():
        async with repl_driver(inprocess_daemon.socket, tmp_path) as d:
            await d.run("(define my-thing 41)\r", "=> my-thing")
            await d.type("(+ 1 my-th")
            await d.until(lambda: d.repl.prompt.app.current_buffer.text == "(+ 1 my-th", "keys")
            d.keys.send_text("\t")
            await d.until(lambda: d.repl.prompt.app.current_buffer.text == "(+ 1 my-thing",
                          "the completion")
            await d.run(")\r", "=> 42")

    asyncio.run(main())


def test_completer_knows_commands_session_names_and_checkpoint_seqs(inprocess_daemon, tmp_path):
    async def main():
        async with repl_driver(inprocess_daemon.socket, tmp_path) as d:
            await d.run("(define x 1)\r", "=> x")
            await d.run(":session save saved-one\r", "Session saved as 'saved-one'")
            await d.run(":session load current\r", "Loaded session")
            completer = editing.ReplCompleter(d.repl.call, lambda: d.repl.session)

            async def texts(before):
                return [c.text for c in await completer.completions(before)]

            assert {":session list", ":session load"} <= set(await texts(":session l"))
            assert await texts(":session load sav") == ["saved-one"]
            assert await texts(":session goto ") == ["3"]
            assert "x" in await texts("(+ x")
            assert await texts("(+ 1 ") == []

    asyncio.run(main())


def test_another_clients_commands_show_as_they_happen_and_the_lease_is_explained(
        inprocess_daemon, tmp_path):
    async def main():
        async with repl_driver(inprocess_daemon.socket, tmp_path) as d:
            await d.prompt()
            with client_of(inprocess_daemon.socket, tmp_path, "bob") as bob:
                await asyncio.to_thread(bob.call, "session.execute",
                                        {"session": "current", "command": "(define b 40)"})
                await d.until(lambda: "[bob] Ω> (define b 40)\n=> b\n" in d.text, "bob's input")
                await d.until(lambda: d.repl.seq == 4, "the session's seq after bob's define")
                await asyncio.to_thread(bob.call, "session.open",
                                        {"session": "current", "mode": "write"})
                await d.run("(+ b 2)\r", ":session take takes it over")
                assert "session locked by bob" in d.text
                await d.run(":session take\r", "this client holds the write lease")
                await d.run("(+ b 2)\r", "=> 42")

    asyncio.run(main())


def test_server_status_and_stop_then_the_next_command_starts_a_daemon(start_daemon, tmp_path):
    daemon = start_daemon()

    async def main():
        async with repl_driver(daemon.socket, tmp_path, autostart=True) as d:
            await d.run(":server status\r", "Server is running")
            await d.run(":server stop\r", "Server stopped")
            await d.until(lambda: not d.repl.up, "the daemon to go")
            await d.run(":server status\r", "Server is not responding")
            await d.run(":server stop\r", "No server to stop")
            await d.run("(+ 1 2)\r", "=> 3")
            assert "went away" not in d.text
        return pid_of_daemon(daemon.socket)

    restarted = asyncio.run(main())
    assert daemon.wait() == 0 and restarted not in (None, daemon.pid)


def test_a_daemon_stopped_elsewhere_is_told_apart_from_a_crash(start_daemon, tmp_path):
    daemon = start_daemon()

    async def main():
        async with repl_driver(daemon.socket, tmp_path, autostart=True) as d:
            await d.run("(define kept 1)\r", "=> kept")
            daemon.signal(signal.SIGTERM)  # as `omegacli daemon stop` or a logout would
            await d.until(lambda: "The daemon stopped (signal SIGTERM); it starts again with "
                          "your next command." in d.text, "the stop notice")
            assert "went away" not in d.text
            await d.run("kept\r", "=> 1")
        return pid_of_daemon(daemon.socket)

    restarted = asyncio.run(main())
    assert daemon.wait() == 0 and restarted not in (None, daemon.pid)


def test_a_dead_daemon_is_restarted_keeping_the_line_being_edited(start_daemon, tmp_path):
    daemon = start_daemon()

    async def main():
        async with repl_driver(daemon.socket, tmp_path, autostart=True) as d:
            await d.run("(define kept 1)\r", "=> kept")
            await d.type("(+ kept")
            await d.until(lambda: d.repl.prompt.app.current_buffer.text == "(+ kept", "keys")
            daemon.signal(signal.SIGKILL)
            await d.until(lambda: "Reattached to session 'current' (seq 4)" in d.text,
                          "the reattach")
            assert "The daemon went away" in d.text
            await d.run(" 2)\r", "=> 3")
        return pid_of_daemon(daemon.socket)

    restarted = asyncio.run(main())
    assert restarted not in (None, daemon.pid)


def test_a_command_whose_reply_was_lost_is_not_sent_again(start_daemon, tmp_path):
    daemon = start_daemon()

    async def main():
        async with repl_driver(daemon.socket, tmp_path, autostart=True) as d:
            await d.run("(define n 0)\r", "=> n")
            await d.type('(begin (display "go") (let loop () (loop)))\r')
            await d.until(lambda: "go" in d.text, "the loop to run")
            daemon.signal(signal.SIGKILL)
            await d.until(lambda: "check whether the command ran" in d.text, "the report")
            assert "its reply was lost, and it is not sent again" in d.text
            assert "Session 'current' is at seq" in d.text
            await d.prompt()
            assert d.repl.prompt.app.current_buffer.text == ""
        return pid_of_daemon(daemon.socket)

    assert asyncio.run(main()) not in (None, daemon.pid)
    journal = (tmp_path / "sessions" / "current.jsonl").read_text()
    assert journal.count('"type":"input","code":"(begin (display') == 1  # never sent again


@pytest.mark.parametrize("flag", ["call", "-c", "-s -c"])
def test_one_shot_paths_do_not_import_prompt_toolkit(flag, inprocess_daemon):
    import subprocess
    import sys

    args = {"call": ["call", "server.ping"], "-c": ["-c", "(+ 1 2)"],
            "-s -c": ["-s", "one", "-c", "(+ 1 2)"]}[flag]
    code = (f"import sys; from omegacli.__main__ import main; main({args!r}); "
            "print('prompt_toolkit' in sys.modules, 'trio' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip().endswith("False False")


def test_without_a_daemon_a_line_is_kept_until_it_can_be_sent(start_daemon, tmp_path):
    daemon = start_daemon()

    async def main():
        async with repl_driver(daemon.socket, tmp_path, autostart=False) as d:
            await d.prompt()
            daemon.signal(signal.SIGKILL)
            await d.until(lambda: "Server is not responding" in d.text, "the daemon's loss")
            assert "daemon DOWN" in str(d.repl.toolbar())
            await d.run("(+ 1 2)\r", "The command was not sent.")
            assert d.repl.prompt.app.current_buffer.text == "(+ 1 2)"
            await asyncio.to_thread(start_daemon)
            await d.run("\r", "=> 3")
            assert "daemon up" in str(d.repl.toolbar())

    asyncio.run(main())


def test_no_daemon_and_no_autostart_ends_with_status_3(omega_env, tmp_path):
    async def main():
        async with repl_driver(omega_env.socket, tmp_path, autostart=False) as d:
            assert await d.task == 3
            assert "Server is not responding" in d.text

    asyncio.run(main())


LOOP = "(let loop ((i 0)) (loop (+ i 1)))"


def start_loop(socket: Path, session_dir: Path, name: str, lease: bool = False) -> tuple:
    """Another client running an endless loop in `current` (holding the write lease if asked);
    returns once the daemon reports it running: (client, request id)."""
    client = client_of(socket, session_dir, name)
    client.sock.settimeout(TIMEOUT)
    client.call("session.open", {"session": "current", "mode": "write" if lease else "read",
                                 "create": True})
    rid = client.start("session.execute", {"session": "current", "command": LOOP})
    with client_of(socket, session_dir, "watcher") as watcher:
        deadline = time.monotonic() + TIMEOUT
        while watcher.call("session.open", {"session": "current"})["running"] is None:
            assert time.monotonic() < deadline, "the loop never started"
            time.sleep(0.01)
    return client, rid


def interrupted(client: Client, rid: int) -> bool:
    try:
        client.wait(rid)
    except errors.RpcError as e:
        return e.code == errors.INTERRUPTED
    return False


def test_ctrl_c_while_another_client_holds_the_lease_says_so_then_takes_it(daemon, tmp_path):
    bob, rid = start_loop(daemon.socket, tmp_path, "bob", lease=True)

    async def main():
        async with repl_driver(daemon.socket, tmp_path) as d:
            await d.prompt()
            assert f"busy: `{LOOP}` from bob for " in d.text
            assert "bob holds the write lease; Ctrl-C twice takes it over" in d.text
            await d.type("(half a line")
            await d.until(lambda: d.repl.prompt.app.current_buffer.text, "the keys")
            d.keys.send_text("\x03")  # on a line: clears it, and only that
            await d.until(lambda: d.at_prompt() and not d.repl.prompt.app.current_buffer.text,
                          "the cleared line")
            assert "Ctrl-C again" not in d.text
            d.keys.send_text("\x03")
            await d.until(lambda: "Ctrl-C again takes it over (as :session take)" in d.text,
                          "the lease explained")
            with client_of(daemon.socket, tmp_path, "check") as c:  # still running
                assert c.call("session.open", {"session": "current"})["running"] is not None
            await d.prompt()
            d.keys.send_text("\x03")
            await d.until(lambda: "Interrupted `(let loop" in d.text, "the interrupt")
            assert "This client took the write lease over from bob." in d.text
            assert await asyncio.to_thread(interrupted, bob, rid)
            await d.run("(+ 1 2)\r", "=> 3")

    try:
        asyncio.run(main())
    finally:
        bob.close()


def test_ctrl_c_on_a_command_queued_behind_another_interrupts_that_one(daemon, tmp_path):
    bob, rid = start_loop(daemon.socket, tmp_path, "bob")

    async def main():
        async with repl_driver(daemon.socket, tmp_path) as d:
            await d.prompt()
            assert "— Ctrl-C interrupts it" in d.text
            await d.type("(define after 1)\r")
            await d.until(lambda: d.repl.running is not None and d.repl.running.app is not None
                          and d.repl.running.app.is_running, "our command to wait")
            d.keys.send_text("\x03")
            assert await asyncio.to_thread(interrupted, bob, rid)
            await d.until(lambda: "error: interrupted" in d.text, "ours dropped too")
            await d.run("(+ 1 2)\r", "=> 3")

    try:
        asyncio.run(main())
    finally:
        bob.close()
