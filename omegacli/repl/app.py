"""The interactive REPL: a prompt_toolkit prompt in front of one daemon session.

One loop: read an input (multi-line while parentheses are open), send it as `session.execute`,
show what the daemon streams back (`session.output`) while a small running view shows a spinner
and takes Ctrl-C (sent as `$/cancelRequest` for that request: the session stays as it was).
Other clients' commands on the same session are shown as they happen, marked with their name.
If the daemon goes away the REPL says so, starts it again and reattaches, keeping the line being
edited; a command whose reply was lost is never sent again.

The only lines made here are about the REPL itself (banner, daemon trouble); every line about a
command comes from the daemon.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from prompt_toolkit import PromptSession
from prompt_toolkit.application import Application, get_app_session
from prompt_toolkit.formatted_text import FormattedText
from prompt_toolkit.history import FileHistory, History, InMemoryHistory
from prompt_toolkit.key_binding import KeyBindings
from prompt_toolkit.keys import Keys
from prompt_toolkit.layout import HSplit, Layout, Window
from prompt_toolkit.layout.controls import FormattedTextControl
from prompt_toolkit.layout.processors import HighlightMatchingBracketProcessor
from prompt_toolkit.patch_stdout import patch_stdout

from omegacli import autostart, dotenv
from omegacli.client import DaemonUnreachable
from omegacli.human import running_line
from omegacli.inputs import with_paths
from omegacli.repl import editing
from omegacli.repl.connection import Connection
from protocol import errors

SPINNER_AFTER = 0.3  # seconds of evaluation before the spinner shows
RUNNING_VIEW_AFTER = 0.05  # a command answered sooner never shows the running view
SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
WHAT_WIDTH = 40  # characters of a running command shown in a busy line


@dataclass
class Target:
    """Where the daemon is and how to reach (or start) it."""

    socket: Path
    socket_named: bool = False
    session_dir: str | None = None
    autostart: bool = True


class Repl:
    def __init__(self, target: Target, session: str = "current", *,
                 history: History | None = None, write: Callable[[str], None] | None = None,
                 client_name: str | None = None):
        self.target = target
        self.session = session
        self.name = client_name or f"omegacli-repl[{os.getpid()}]"
        self.history = history or InMemoryHistory()
        self._write = write
        self.conn: Connection | None = None
        self.hello: dict = {}
        self.seq: int | None = None
        self.last_ms: float | None = None
        self.stopped_by_user = False  # after `:server stop`: no automatic restart
        self.stopped_because: str | None = None  # the daemon's `server.stopping` reason
        self.running: RunningCommand | None = None
        self._armed: tuple[int, str] | None = None  # the command a first Ctrl-C asked about
        self.at_line_start = True
        self._reconnecting: asyncio.Task | None = None
        self.prompt: PromptSession | None = None
        self._tasks: set[asyncio.Task] = set()

    # --- output -----------------------------------------------------------------------------------

    def write(self, text: str) -> None:
        if not text:
            return
        self.at_line_start = text.endswith("\n")
        if self._write is not None:
            self._write(text)
        else:
            sys.stdout.write(text)
            sys.stdout.flush()

    def say(self, line: str) -> None:
        """A line about the REPL itself, on a line of its own."""
        self.write(("" if self.at_line_start else "\n") + line + "\n")

    # --- the daemon -------------------------------------------------------------------------------

    @property
    def up(self) -> bool:
        return self.conn is not None and not self.conn.lost

    async def connect(self) -> dict | None:
        """Reach the daemon (starting it when allowed), attach to the session; its open result."""
        try:
            client, hello = await asyncio.to_thread(
                autostart.connect, self.target.socket, autostart=self.target.autostart,
                client_name=self.name, session_dir=self.target.session_dir,
                socket_named=self.target.socket_named)
        except (DaemonUnreachable, errors.RpcError) as e:
            self.say(f"Server is not responding ({e})")
            return None
        self.conn = await Connection.adopt(client, self._on_notification, self._on_lost)
        self.hello = hello
        self.stopped_by_user = False
        self.stopped_because = None
        try:
            opened = await self.conn.call("session.open", self._open_params())
        except errors.RpcError as e:
            self.say(f"Cannot attach to session '{self.session}': {e.message}")
            return None
        except DaemonUnreachable:
            return None
        self.seq = opened["seq"]
        return opened

    def _open_params(self) -> dict:
        # every client's inputs and results; the session it works in is created if need be
        return {"session": self.session, "follow": True, "create": True}

    def _on_lost(self) -> None:
        if self.stopped_by_user or self.running is not None:
            return  # a running command reports it itself
        if self.stopped_because is not None:  # stopped on purpose: no restart behind its back
            again = "it starts again" if self.target.autostart else "reconnecting"
            self.say(f"The daemon stopped ({self.stopped_because}); {again} with your next "
                     "command.")
            return
        self.say("The daemon went away; " + ("starting it again…" if self.target.autostart
                                             else "reconnecting…"))
        self._reconnecting = self._spawn(self.reattach())

    def _spawn(self, coro) -> asyncio.Task:
        """A background task of the REPL, held until it ends (cancelled when the REPL ends)."""
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def reattach(self) -> bool:
        opened = await self.connect()
        if opened is None:
            return False
        self.say(f"Reattached to session '{self.session}' (seq {opened['seq']}).")
        self._lease_note(opened)
        self._busy_note(opened)
        return True

    async def ensure_up(self) -> bool:
        if self._reconnecting is not None and not self._reconnecting.done():
            await self._reconnecting
        return self.up or await self.reattach()

    def _lease_note(self, opened: dict) -> None:
        holder = opened.get("lease_holder")
        if holder and holder != self.name:
            self.say(f"The write lease on '{self.session}' is held by {holder}: your commands "
                     "are refused until it is released; :session take takes it over.")

    def _busy_note(self, opened: dict) -> None:
        """What the session is running as we attach, and what Ctrl-C does about it."""
        running = opened.get("running")
        if running is None:
            return
        holder = self._lease_elsewhere(opened)
        how = (f"{holder} holds the write lease; Ctrl-C twice takes it over and interrupts it"
               if holder else "Ctrl-C interrupts it")
        self.say(f"busy: {running_line(running, WHAT_WIDTH)} — {how}")

    def _lease_elsewhere(self, opened: dict) -> str | None:
        holder = opened.get("lease_holder")
        return holder if holder and holder != self.name else None

    async def interrupt_session(self) -> None:
        """Ctrl-C on an empty line: interrupt whatever the session runs, whoever started it.
        While another client holds the write lease, the first Ctrl-C says so and the second
        takes the lease over (as `:session take`, which would wait behind the command) first."""
        armed, self._armed = self._armed, None
        if not self.up:
            return
        try:
            opened = await self.call("session.open", self._open_params())
            running = opened.get("running")
            if running is None:
                return
            what = running_line(running, WHAT_WIDTH)
            holder = self._lease_elsewhere(opened)
            if holder is not None:
                if armed != (running["connection"], running["first_line"]):
                    self._armed = (running["connection"], running["first_line"])
                    self.say(f"{holder} holds the write lease on '{self.session}': Ctrl-C "
                             f"again takes it over (as :session take) and interrupts {what}.")
                    return
                await self.call("session.take", {"session": self.session})
                self.say(f"This client took the write lease over from {holder}.")
            answer = await self.call("session.interrupt", {"session": self.session})
        except (errors.RpcError, DaemonUnreachable):
            return
        if answer["interrupted"]:
            self.say(f"Interrupted {what}; the session is as it was before it.")

    async def call(self, method: str, params: dict) -> dict:
        if not self.up:
            raise DaemonUnreachable("the daemon is not connected")
        assert self.conn is not None
        return await self.conn.call(method, params)

    def _on_notification(self, method: str, params: dict) -> None:
        if method == "server.stopping":
            self.stopped_because = params.get("reason") or "stopping"
            return
        if method != "session.output" or params.get("session") != self.session:
            return
        kind, text = params.get("kind", "display"), params.get("text", "")
        who = params.get("client")
        running = self.running
        if who == self.name and running is not None:
            if kind != "input":
                running.streamed |= kind == "result"
                self.write(text)
            return
        if who == self.name:
            return  # a command of ours whose request is gone (interrupted): nothing to add
        if kind == "input":
            first, *rest = text.strip("\n").split("\n")
            lines = [f"[{who}] {editing.PROMPT}{first}"] + [f"[{who}] {editing.CONTINUATION}{r}"
                                                            for r in rest]
            self.say("\n".join(lines))
        else:
            self.write(text)
            if kind == "result":  # another client moved the session on: learn its seq
                self._spawn(self._refresh_seq())

    async def _refresh_seq(self) -> None:
        try:
            self.seq = (await self.call("session.open", self._open_params()))["seq"]
        except (errors.RpcError, DaemonUnreachable):
            self.seq = None

    # --- the loop ---------------------------------------------------------------------------------

    async def run(self) -> int:
        if self._write is not None:
            return await self._run()
        # Raw mode between prompts too: keys typed while a command starts or ends are read by
        # the next prompt as typed (not echoed, Enter still Enter, Ctrl-C a key, not SIGINT).
        with get_app_session().input.raw_mode(), patch_stdout(raw=True):
            return await self._run()

    async def _run(self) -> int:
        opened = await self.connect()
        if opened is None:
            return 3
        self.banner(opened)
        self.prompt = self._prompt_session()
        typeahead = ""
        try:
            while True:
                if not self.at_line_start:
                    self.write("\n")
                try:
                    text = await self.prompt.prompt_async(default=typeahead)
                except KeyboardInterrupt:
                    if not self.prompt.default_buffer.text.strip():  # else: it clears the line
                        await self.interrupt_session()
                    typeahead = ""
                    continue
                except EOFError:
                    self.say("Goodbye!")
                    return 0
                typeahead = ""
                self._armed = None
                if not text.strip():
                    continue
                outcome = await self.execute(text)
                if outcome.should_exit:
                    return 0
                typeahead = outcome.typeahead
        finally:
            for task in self._tasks:
                task.cancel()
            if self.conn is not None:
                self.conn.close()

    def banner(self, opened: dict) -> None:
        version = self.hello.get("server_version", "?")
        oracle = opened.get("oracle") or "?"
        self.say(f"OmegaLLM REPL · omegad {version} (pid {self.hello.get('pid', '?')}) · "
                 f"oracle: {oracle}")
        self.say(f"Session '{opened['session']}', seq {opened['seq']}, "
                 f"{opened['definitions']} definitions. :help for commands, Ctrl-D to quit.")
        found = dotenv.read(os.getcwd())
        notice = found.notice() if found is not None else None
        if notice:
            self.say(f"Note: {notice}")
        self._lease_note(opened)
        self._busy_note(opened)

    def _prompt_session(self) -> PromptSession:
        return PromptSession(
            message=editing.PROMPT,
            multiline=True,
            prompt_continuation=lambda width, line, wrap: editing.CONTINUATION.rjust(width),
            key_bindings=editing.key_bindings(),
            lexer=editing.lexer(),
            completer=editing.ReplCompleter(self.call, lambda: self.session),
            complete_while_typing=False,
            history=self.history,
            input_processors=[HighlightMatchingBracketProcessor(chars="()[]")],
            bottom_toolbar=self.toolbar,
            refresh_interval=0.5,  # the toolbar follows the daemon coming and going
        )

    def toolbar(self) -> FormattedText:
        seq = "?" if self.seq is None else str(self.seq)
        daemon = ("", "daemon up") if self.up else ("bg:ansired", "daemon DOWN")
        last = "" if self.last_ms is None else f" · last {_duration(self.last_ms / 1000)}"
        return FormattedText([("", f" session {self.session} · seq {seq} · "), daemon,
                              ("", last + " ")])

    # --- one command ------------------------------------------------------------------------------

    async def execute(self, text: str) -> Outcome:
        stripped = text.strip()
        if stripped in (":server status", ":server stop") and not self.up:
            self.say("Server is not responding" if stripped == ":server status"
                     else "No server to stop")
            return Outcome()
        if not await self.ensure_up():
            self.say("The command was not sent.")
            return Outcome(typeahead=text)
        assert self.conn is not None
        # The daemon closes our connection once it has answered `:server stop`: not a death.
        self.stopped_by_user = stripped == ":server stop"
        rid, future = self.conn.start("session.execute",
                                      {"session": self.session, "command": with_paths(text)})
        running = self.running = RunningCommand(self, rid, future)
        loop = asyncio.get_running_loop()
        try:
            loop.add_signal_handler(signal.SIGINT, running.interrupt)
        except (ValueError, RuntimeError, NotImplementedError):
            pass  # not the main thread (tests): Ctrl-C arrives as a key
        try:
            await running.wait()
            result = future.result()
        except errors.RpcError as e:
            self.stopped_by_user = False
            self.last_ms = (time.monotonic() - running.started) * 1000
            self._rpc_error(e)
            return Outcome(typeahead=running.typeahead)
        except DaemonUnreachable:
            self.running = None
            self.say("The daemon went away while running this command: its reply was lost, and "
                     "it is not sent again.")
            self.say("Starting the daemon again…" if self.target.autostart else "Reconnecting…")
            if await self.reattach():
                self.say(f"Session '{self.session}' is at seq {self.seq}: check whether the "
                         "command ran before sending it again.")
            return Outcome(typeahead=running.typeahead)
        finally:
            self.running = None
            try:
                loop.remove_signal_handler(signal.SIGINT)
            except (ValueError, RuntimeError, NotImplementedError):
                pass
        if not running.streamed:  # no `result` notices came (an older daemon): print the reply
            self.write(result["output"] + "\n" if result["output"] else "")
        self.seq, self.last_ms = result["seq"], result["elapsed_ms"]
        if result["session"] != self.session:  # after `:session fork NAME`: work in NAME
            self.session = result["session"]
            await self._refresh_seq()
        if self.stopped_by_user:
            self.stopped_by_user = "Server stopped" in result["output"]
            if self.stopped_by_user and self.target.autostart:
                self.say("(the next command starts the daemon again)")
        return Outcome(should_exit=result["should_exit"], typeahead=running.typeahead)

    def _rpc_error(self, e: errors.RpcError) -> None:
        if e.code == errors.INTERRUPTED:
            self.say("error: interrupted; the session is as it was before this command")
        elif e.code == errors.SESSION_LOCKED:
            self.say(f"error: {e.message}: another client holds the write lease. "
                     ":session take takes it over.")
        else:
            self.say(f"error: {e.message}")


@dataclass
class Outcome:
    should_exit: bool = False
    typeahead: str = ""  # keys typed while the command ran: the next prompt starts with them


class RunningCommand:
    """A command in flight: a small view with a spinner and the toolbar, and Ctrl-C to stop it."""

    def __init__(self, repl: Repl, rid: int, future: asyncio.Future):
        self.repl = repl
        self.rid = rid
        self.future = future
        self.started = time.monotonic()
        self.streamed = False
        self.interrupted_at: float | None = None
        self.typeahead = ""
        self.app: Application | None = None

    def interrupt(self) -> None:
        """Ctrl-C: interrupt whatever the session is running (ours, or another client's that
        ours waits behind), then drop ours if it is still queued. In that order, the cancel can
        never reach a command that started after ours; in one write, ours cannot start between
        the two either (the daemon handles both in one go)."""
        conn = self.repl.conn
        if self.future.done() or conn is None:
            return
        self.interrupted_at = time.monotonic()
        with conn.together():
            _, answer = conn.start("session.interrupt", {"session": self.repl.session})
            conn.notify("$/cancelRequest", {"id": self.rid})
        answer.add_done_callback(lambda f: f.cancelled() or f.exception())  # none is awaited
        if self.app is not None:
            self.app.invalidate()

    async def wait(self) -> None:
        done, _ = await asyncio.wait({self.future}, timeout=RUNNING_VIEW_AFTER)
        if done:
            return
        self.app = self._app()
        view = asyncio.ensure_future(self.app.run_async())
        try:
            await asyncio.wait({self.future, view}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            while not view.done():  # the view may still be starting: exit once it can
                try:
                    self.app.exit()
                    break
                except Exception:  # "not running" yet
                    await asyncio.sleep(0.001)
            await view

    def _app(self) -> Application:
        kb = KeyBindings()

        @kb.add("c-c")
        def _(event) -> None:
            self.interrupt()

        @kb.add(Keys.Any)
        def _(event) -> None:
            if event.data.isprintable():
                self.typeahead += event.data

        @kb.add("c-d")
        def _(event) -> None:
            pass

        spinner = Window(FormattedTextControl(self._spinner), height=1)
        toolbar = Window(FormattedTextControl(self.repl.toolbar), height=1,
                         style="class:bottom-toolbar")
        return Application(layout=Layout(HSplit([spinner, toolbar])), key_bindings=kb,
                           refresh_interval=0.1, erase_when_done=True,
                           full_screen=False)

    def _spinner(self) -> FormattedText:
        elapsed = time.monotonic() - self.started
        if self.interrupted_at is not None:
            return FormattedText([("class:spinner", f"interrupting… ({_duration(elapsed)})")])
        if elapsed < SPINNER_AFTER:
            return FormattedText([])
        frame = SPINNER[int(elapsed * 10) % len(SPINNER)]
        return FormattedText([("class:spinner",
                               f"{frame} running {_duration(elapsed)} · Ctrl-C interrupts")])


def _duration(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.1f} s"


def default_history() -> History:
    """Per-user history under platformdirs' state dir (falls back to memory if unwritable)."""
    import platformdirs

    path = Path(platformdirs.user_state_dir("omega")) / "repl_history"
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        path.touch(mode=0o600, exist_ok=True)
    except OSError:
        return InMemoryHistory()
    return FileHistory(str(path))
