import sys

import pytest

from omegad.lang import api
from omegad.oracle.base import call_sync
from omegad.oracle.scripted import ScriptedOracle

# ReplState raises the limit on first use; do it before hypothesis records the old one.
sys.setrecursionlimit(max(sys.getrecursionlimit(), api.MIN_RECURSION_LIMIT))


class Repl:
    """A session driven like the stdin driver: each form prints its line after its output."""

    def __init__(self, oracle=None, **budgets) -> None:
        self.state = api.ReplState()
        self.oracle = oracle or ScriptedOracle()
        self.budgets = budgets

    def lines(self, text: str) -> list[str]:
        out: list[str] = []
        for form in api.parse_inputs(text):
            run = api.start(self.state, form, output_sink=out.append, **self.budgets)
            while True:
                r = run.run(50_000)
                if isinstance(r, api.Running):
                    continue
                if isinstance(r, api.NeedsOracle):
                    run.resume(call_sync(self.oracle, r.request))
                    continue
                out.append(r.printed + "\n")
                break
        return "".join(out).splitlines()

    def __call__(self, text: str) -> str:
        """The last line printed for `text`."""
        return self.lines(text)[-1]


@pytest.fixture
def repl():
    return Repl()
