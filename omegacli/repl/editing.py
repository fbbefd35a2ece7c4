"""Line editing for the REPL: when an input is complete, highlighting, completion, key bindings."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Awaitable, Callable, Iterable

from prompt_toolkit.completion import CompleteEvent, Completer, Completion
from prompt_toolkit.document import Document
from prompt_toolkit.filters import has_completions, is_searching
from prompt_toolkit.key_binding import KeyBindings
from prompt_toolkit.key_binding.key_processor import KeyPressEvent
from prompt_toolkit.lexers import PygmentsLexer
from pygments.lexers.lisp import SchemeLexer

from omegacli.syntax import SYMBOL_CHARS, is_complete, open_parens

PROMPT = "Ω> "
CONTINUATION = ".. "


def lexer() -> PygmentsLexer:
    return PygmentsLexer(SchemeLexer)


def key_bindings() -> KeyBindings:
    kb = KeyBindings()

    def newline(event: KeyPressEvent) -> None:
        buf = event.current_buffer
        buf.insert_text("\n" + "  " * max(open_parens(buf.document.text_before_cursor), 0))

    # Enter (and Ctrl-J, which is what Enter sends while the terminal is not in raw mode):
    # submit once balanced, wherever the cursor is; else a new, indented line.
    @kb.add("enter", filter=~has_completions & ~is_searching)
    @kb.add("c-j", filter=~has_completions & ~is_searching)
    def _(event: KeyPressEvent) -> None:
        if is_complete(event.current_buffer.text):
            event.current_buffer.validate_and_handle()
        else:
            newline(event)

    kb.add("escape", "enter", filter=~is_searching)(newline)  # Alt-Enter: a new line anyway

    return kb


# --- completion ---------------------------------------------------------------------------------

Fetch = Callable[[str, dict], Awaitable[dict]]  # an RPC call: method, params -> result


class ReplCompleter(Completer):
    """`:` commands, session names after `:session load`, checkpoint seqs after `:session goto`,
    bound names of the session otherwise. Asks the daemon each time (its answers are cheap)."""

    def __init__(self, call: Fetch, session: Callable[[], str]):
        self.call = call
        self.session = session

    def get_completions(self, document: Document, complete_event: CompleteEvent
                        ) -> Iterable[Completion]:
        return []  # only the async path is used (the daemon is asked)

    async def get_completions_async(self, document: Document, complete_event: CompleteEvent
                                    ) -> AsyncGenerator[Completion, None]:
        try:
            for c in await self.completions(document.text_before_cursor):
                yield c
        except Exception:  # the daemon is away or refused: no completions, never a crash
            return

    async def completions(self, before: str) -> list[Completion]:
        line = before.lstrip()
        if line.startswith(":"):
            return await self._command(line)
        symbol = SYMBOL_CHARS.search(before)
        assert symbol is not None  # the pattern matches the empty string at the end
        word = symbol.group(0)
        if not word:
            return []
        found = await self.call("session.complete", {"session": self.session(), "prefix": word})
        return [Completion(n, -len(word)) for n in sorted(set(found["completions"]))]

    async def _command(self, line: str) -> list[Completion]:
        for verb, arguments in ((":session load ", self._sessions),
                                (":session delete ", self._sessions),
                                (":session goto ", self._seqs)):
            if line.startswith(verb):
                partial = line[len(verb):]
                return [Completion(a, -len(partial)) for a in await arguments()
                        if a.startswith(partial)]
        found = await self.call("session.complete", {"session": self.session(), "prefix": line})
        return [Completion(n, -len(line)) for n in found["completions"]]

    async def _sessions(self) -> list[str]:
        found = await self.call("session.list", {})
        return [s["name"] for s in found["sessions"]]

    async def _seqs(self) -> list[str]:
        found = await self.call("session.checkpoints", {"session": self.session()})
        return [str(c["seq"]) for c in found["checkpoints"]]
