"""One cell's command, from the daemon's notices to the cell's outputs.

While the command runs, the daemon streams `session.output` notices: `display` text as the program
writes it, and one `result` notice per form (`=> value` or `error: message`, or a `:` command's
text). Each goes out as a `stream` at once, except the last `result`: when the command ends, the
last form's value becomes the cell's `execute_result` and an `error:` line its `error` — so a cell
shows what the REPL shows, in the order the REPL shows it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

Publish = Callable[[str, str], None]  # (stream name: "stdout" | "stderr", text)
ERROR_PREFIX = "error: "
VALUE_PREFIX = "=> "


def error_of(text: str) -> str | None:
    """The message of an `error:` line, or None when `text` is not one."""
    if not text.startswith(ERROR_PREFIX):
        return None
    return text[len(ERROR_PREFIX):].removesuffix("\n")


@dataclass
class Ending:
    value: str | None  # the last form's value as the REPL prints it after `=> `
    errors: list[str] = field(default_factory=list)  # every `error:` line's message, in order


class Cell:
    def __init__(self, publish: Publish, command: bool):
        self.publish = publish
        self.command = command  # a `:` command: its text is printed, it has no value
        self.held: str | None = None  # the latest `result` text, not published yet
        self.heard = False
        self.errors: list[str] = []

    def display(self, text: str) -> None:
        self.heard = True
        self._release()
        self.publish("stdout", text)

    def result(self, text: str) -> None:
        self.heard = True
        self._release()
        self.held = text

    def _release(self) -> None:
        """A form's result line that is not the cell's last: printed as the REPL prints it."""
        text, self.held = self.held, None
        if text is None:
            return
        error = error_of(text)
        if error is not None:
            self.errors.append(error)
        self.publish("stdout" if error is None else "stderr", text)

    def finish(self, result: dict[str, Any]) -> Ending:
        """The command's answer came: how the cell ends (the last line not published yet)."""
        text, self.held = self.held, None
        if text is None:
            if not self.heard and result.get("output"):  # a daemon that streams no results
                self.publish("stdout", result["output"] + "\n")
            return Ending(None, self.errors)
        error = error_of(text)
        if error is not None:
            return Ending(None, [*self.errors, error])
        if not self.command and text.startswith(VALUE_PREFIX) and result.get("value") is not None:
            return Ending(text[len(VALUE_PREFIX):].removesuffix("\n"), self.errors)
        self.publish("stdout", text)
        return Ending(None, self.errors)
