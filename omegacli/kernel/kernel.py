"""OmegaKernel: ipykernel's `Kernel`, made a client of omegad, as Jupyter documents wrapper kernels.

It evaluates nothing itself. A cell goes to `session.execute` on the notebook's session; the
daemon's `session.output` notices come back as the cell's streams (cells.py); other clients'
inputs and outputs on the same session are published on IOPub under a parent naming that client
(a request no frontend of this kernel sent). link.py reaches the daemon and the session.
"""

from __future__ import annotations

import asyncio
import os
import signal
import uuid
from typing import Any

from ipykernel.kernelbase import Kernel
from traitlets import Unicode

from omegacli.client import DaemonUnreachable
from omegacli.inputs import with_paths
from omegacli.kernel import choice
from omegacli.kernel.cells import Cell, Publish
from omegacli.kernel.link import Link
from omegacli.syntax import open_parens, operator_at, symbol_at
from protocol import __version__, errors

ENAME = "OmegaError"
INTERRUPTED = "interrupted; the session is as it was before this command"
WAITING_NOTE_AFTER = 0.5  # seconds a cell waits before it says whose command it waits for


class OmegaKernel(Kernel):
    implementation = "omega"
    implementation_version = __version__
    language = "omega"
    language_version = "1"
    language_info = {
        "name": "omega",
        "mimetype": "text/x-omega",
        "file_extension": ".omega",
        "pygments_lexer": "scheme",  # the REPL's lexer (pygments' SchemeLexer)
        "codemirror_mode": "scheme",
    }
    omega_session = Unicode("", help="session from the kernelspec (--session)").tag(config=True)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.client_name = f"omega-kernel[{os.getpid()}]"
        self.running: tuple[int, Cell] | None = None
        self._others: dict[str, dict[str, str]] = {}  # client name -> its command's parent header
        session = choice.choose(self.omega_session or None, os.environ)
        self.link = Link(self.client_name, session, self._on_notification, self._on_opened)
        self.link.reach_now()

    @property
    def session_name(self) -> str:
        return self.link.session

    def _on_opened(self, opened: dict[str, Any]) -> None:
        self.execution_count = opened.get("inputs", self.execution_count)  # In [n]: the journal's

    def start(self) -> None:
        super().start()
        self.io_loop.add_callback(self.link.up)  # other clients' output shows before a cell

    def _on_notification(self, method: str, params: dict[str, Any]) -> None:
        if method != "session.output" or params.get("session") != self.session_name:
            return
        kind, text = params.get("kind", "display"), params.get("text", "")
        if params.get("client") == self.client_name:
            if self.running is not None and kind != "input":
                cell = self.running[1]
                (cell.display if kind == "display" else cell.result)(text)
            return
        # Another client's command, under a parent of its own that no frontend of ours sent:
        # frontends tell other clients' output by the parent's session (jupyter console's
        # --include-other-output shows it as `Remote In [n]:` and its output).
        who = params.get("client") or "another client"
        if kind == "input" or who not in self._others:
            self._others[who] = {"msg_id": uuid.uuid4().hex, "session": who, "username": who,
                                 "msg_type": "execute_request", "version": "5.3"}
        parent = self._others[who]
        if kind == "input":
            self.execution_count += 1
            self._iopub("execute_input", {"code": text, "execution_count": self.execution_count},
                        parent)
        else:
            self._iopub("stream", {"name": "stdout", "text": text}, parent)

    def _iopub(self, msg_type: str, content: dict[str, Any], parent: dict[str, Any]) -> None:
        if self.session is None:  # (only before ipykernel has set the kernel up)
            return
        self.session.send(self.iopub_socket, msg_type, content, parent=parent,
                          ident=self._topic(msg_type))

    # --- kernel_info ------------------------------------------------------------------------------

    @property
    def banner(self) -> str:  # type: ignore[override]
        hello, opened = self.link.hello, self.link.opened
        if not hello:
            return (f"Omega kernel · omegad not reachable ({self.link.problem}); the next cell "
                    f"tries again.\nSession '{self.session_name}'.")
        oracle = opened.get("oracle") or hello.get("oracle") or "?"
        return (f"Omega kernel · omegad {hello.get('server_version', '?')} "
                f"(pid {hello.get('pid', '?')}) · oracle: {oracle}\n"
                f"Session '{self.session_name}' in {hello.get('session_dir', '?')}, "
                f"seq {opened.get('seq', '?')}, {opened.get('definitions', 0)} "
                "definitions. %session NAME switches sessions; :help lists commands.")

    # --- execute ----------------------------------------------------------------------------------

    async def do_execute(self, code: str, silent: bool, store_history: bool = True,
                         user_expressions: dict[str, Any] | None = None,
                         allow_stdin: bool = False, **kwargs: Any) -> dict[str, Any]:
        parent = self.get_parent("shell")

        def publish(name: str, text: str) -> None:
            if not silent and text:
                self._iopub("stream", {"name": name, "text": text}, parent)

        before = self.execution_count - (0 if silent else 1)  # ipykernel counted this cell
        magic, name, code = choice.session_magic(code)
        if magic:
            problem = await self._switch(name, publish)
            if problem is not None:
                return self._error(problem, [f"error: {problem}"], silent, parent)
        if not code.strip():
            return self._ok()
        if not await self.link.up():
            problem = f"omegad is not reachable ({self.link.problem}); the cell was not sent"
            return self._error(problem, [f"error: {problem}"], silent, parent)
        if self.link.lost:
            self.link.lost = False
            publish("stderr", f"Reattached to session '{self.session_name}' "
                              f"(seq {self.link.opened.get('seq', '?')}).\n")
        outcome = await self._run(code, publish, parent, silent)
        if not store_history:
            self.execution_count = outcome["execution_count"] = before  # the journal keeps it
        return outcome

    async def _run(self, code: str, publish: Publish, parent: dict[str, Any],
                   silent: bool) -> dict[str, Any]:
        cell = Cell(publish, command=code.strip().startswith(":"))
        rid, future = self.link.start("session.execute",
                                      {"session": self.session_name, "command": with_paths(code)})
        self.running = (rid, cell)
        note = asyncio.get_running_loop().create_task(self._note_waiting(publish))
        try:
            result = await future
        except errors.RpcError as e:
            return self._error(*self._refused(e), silent, parent)
        except DaemonUnreachable:
            return await self._lost_reply(silent, parent)
        finally:
            self.running = None
            note.cancel()
        ending = cell.finish(result)
        self.execution_count = result.get("inputs") or self.execution_count
        if result["session"] != self.session_name:  # after `:session fork NAME`: work in NAME
            await self._switch(result["session"], lambda name, text: None)
        if ending.value is not None and not silent:
            self._iopub("execute_result", {"execution_count": self.execution_count,
                                           "data": {"text/plain": ending.value}, "metadata": {}},
                        parent)
        if ending.errors:
            message = ending.errors[-1]
            return self._error(message, await self._traceback(message), silent, parent)
        return self._ok()

    def _ok(self) -> dict[str, Any]:
        return {"status": "ok", "execution_count": self.execution_count, "payload": [],
                "user_expressions": {}}

    def _error(self, message: str, traceback: list[str], silent: bool,
               parent: dict[str, Any]) -> dict[str, Any]:
        content = {"ename": ENAME, "evalue": message, "traceback": traceback}
        if not silent:
            self._iopub("error", content, parent)
        return {"status": "error", "execution_count": self.execution_count, **content}

    @staticmethod
    def _refused(e: errors.RpcError) -> tuple[str, list[str]]:
        if e.code == errors.INTERRUPTED:
            message = INTERRUPTED
        elif e.code == errors.SESSION_LOCKED:
            message = (f"{e.message}: another client holds the write lease. :session take "
                       "takes it over.")
        else:
            message = e.message or f"error {e.code}"
        return message, [f"error: {message}"]

    async def _traceback(self, message: str) -> list[str]:
        """The `error:` line, then what `:bt` prints for it (when the daemon keeps a backtrace)."""
        lines = [f"error: {message}"]
        try:
            bt = await self.link.call("session.backtrace", {"session": self.session_name})
        except (errors.RpcError, DaemonUnreachable):
            return lines
        return lines + bt.get("text", "").splitlines() if bt.get("frames") else lines

    async def _lost_reply(self, silent: bool, parent: dict[str, Any]) -> dict[str, Any]:
        """The daemon went away mid-cell: its reply is lost and the cell is not sent again."""
        message = ("the daemon went away while running this cell: its reply was lost, and it is "
                   "not sent again")
        if await self.link.up():
            self.link.lost = False
            message += (f"; session '{self.session_name}' is at seq "
                        f"{self.link.opened.get('seq')}: "
                        "check whether the cell ran before running it again")
        return self._error(message, [f"error: {message}"], silent, parent)

    async def _note_waiting(self, publish: Publish) -> None:
        """A cell queued behind another client's command says whose, once it has waited a bit,
        and again whenever the command ahead of it changes (several may be queued)."""
        told: tuple[str, str] | None = None
        while True:
            await asyncio.sleep(WAITING_NOTE_AFTER)
            try:
                opened = await self.link.call("session.open", {"session": self.session_name})
            except (errors.RpcError, DaemonUnreachable):
                return
            running = opened.get("running")
            if running and running.get("client") == self.client_name:
                return  # this cell's turn came
            if not running:
                continue
            ahead = (running["client"], running["first_line"])
            if ahead != told:
                told = ahead
                publish("stderr", f"(waiting for {ahead[0]}'s command `{ahead[1]}`, "
                                  f"running {running['seconds']:.1f} s)\n")

    async def _switch(self, name: str | None, publish: Publish) -> str | None:
        """`%session [NAME]`: show the session, or work in NAME from now on. A problem, or None."""
        if name is None:
            publish("stdout", f"Session '{self.session_name}' in "
                              f"{self.link.hello.get('session_dir', '?')}.\n")
            return None
        try:
            opened = await self.link.open(name)
        except errors.RpcError as e:
            return e.message or f"error {e.code}"
        except DaemonUnreachable as e:
            return f"omegad is not reachable ({e})"
        publish("stdout", f"Now in session '{name}' (seq {opened['seq']}, "
                          f"{opened['definitions']} definitions).\n")
        return None

    # --- interrupt --------------------------------------------------------------------------------

    async def interrupt_request(self, stream: Any, ident: Any, parent: Any) -> None:
        """On the control thread: the running cell's request is cancelled on the shell's loop."""
        self.io_loop.add_callback(self._interrupt)
        if self.session is not None:
            self.session.send(stream, "interrupt_reply", {"status": "ok"}, parent, ident=ident)

    def _interrupt(self) -> None:
        if self.running is not None:
            asyncio.get_running_loop().create_task(self._interrupt_cell(self.running[0]))

    async def _interrupt_cell(self, rid: int) -> None:
        """`session.interrupt` of this cell's command only (`own`): another client's command,
        which the cell may still wait behind, runs on; a cell still waiting is withdrawn."""
        try:
            stopped = await self.link.call("session.interrupt",
                                           {"session": self.session_name, "own": True})
        except (errors.RpcError, DaemonUnreachable):
            stopped = {"interrupted": False}
        if not stopped["interrupted"] and self.running is not None and self.running[0] == rid:
            self.link.notify("$/cancelRequest", {"id": rid})

    def pre_handler_hook(self) -> None:
        loop = asyncio.get_running_loop()
        self.saved_sigint_handler = signal.signal(
            signal.SIGINT, lambda signum, frame: loop.call_soon_threadsafe(self._interrupt))

    def post_handler_hook(self) -> None:
        signal.signal(signal.SIGINT, self.saved_sigint_handler)

    # --- the rest of the protocol -----------------------------------------------------------------

    async def do_complete(self, code: str, cursor_pos: int | None) -> dict[str, Any]:
        cursor = len(code) if cursor_pos is None else cursor_pos
        line_start = code.rfind("\n", 0, cursor) + 1
        line = code[line_start:cursor]
        if line.lstrip().startswith(":"):
            start, end = cursor - len(line.lstrip()), cursor
        else:
            start, end = symbol_at(code, cursor)
        prefix = code[start:cursor]
        matches: list[str] = []
        if prefix:
            try:
                found = await self.link.call("session.complete",
                                             {"session": self.session_name, "prefix": prefix})
                matches = sorted(set(found["completions"]))
            except (errors.RpcError, DaemonUnreachable):
                pass
        return {"status": "ok", "matches": matches, "cursor_start": start, "cursor_end": end,
                "metadata": {}}

    async def do_inspect(self, code: str, cursor_pos: int | None, detail_level: int = 0,
                         omit_sections: Any = ()) -> dict[str, Any]:
        """What `:doc` says of the name under the cursor, else of the form's operator."""
        reply: dict[str, Any] = {"status": "ok", "found": False, "data": {}, "metadata": {}}
        for name in _names_at(code, len(code) if cursor_pos is None else cursor_pos):
            try:
                found = await self.link.call("session.lookup", {"session": self.session_name,
                                                                "name": name})
            except (errors.RpcError, DaemonUnreachable):
                return reply
            if found.get("kind") not in (None, "unbound") and found.get("text"):
                text = found["text"]
                if detail_level and found.get("source") and found["source"] not in text:
                    text += "\n" + found["source"]
                return {**reply, "found": True, "data": {"text/plain": text}}
        return reply

    async def do_is_complete(self, code: str) -> dict[str, Any]:
        stripped = code.strip()
        if not stripped or stripped.startswith(":"):
            return {"status": "complete"}
        depth = open_parens(code)
        if depth > 0:
            return {"status": "incomplete", "indent": "  " * depth}
        return {"status": "invalid" if depth < 0 else "complete"}

    async def do_shutdown(self, restart: bool) -> dict[str, Any]:
        """Detach: the session stays alive in the daemon, for the next kernel or the REPL.

        This runs on the control thread, and the connection belongs to the shell's loop: closing
        it from here left a callback that the kernel's exit then waited for until it was killed."""
        self.io_loop.add_callback(self.link.close)
        return {"status": "ok", "restart": restart}


def _names_at(code: str, cursor: int) -> list[str]:
    """The symbol under the cursor, then the operator of the form the cursor is in."""
    start, end = symbol_at(code, cursor)
    names = [code[start:end]] if start < end else []
    operator = operator_at(code, cursor)
    return names + [operator] if operator and operator not in names else names
