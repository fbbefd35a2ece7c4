"""The stdin driver: `python -m omegad.lang` reads inputs as the reference's piped mode does.

Lines are accumulated until the count of `(` minus `)` on them drops to zero or below; blank
lines and lines starting with `;` are skipped; `:quit`/`:q` stops; other `:` commands are
ignored here (the daemon implements them). Each top-level form of an input prints one line:
`=> value` or `error: message`, with `display` output written as it happens.

Oracle: scripted (the default, as with OMEGA_SCRIPTED_ORACLE=1), or the rules oracle when
OMEGA_RULES_FILE names a rules JSON file. With OMEGA_MOCK_EFFECTS=1 an input starting with
`(effect OP` is not evaluated and prints `=> "mock:OP"`, as the reference does."""

from __future__ import annotations

import io
import os
import re
import sys
from collections.abc import Callable, Iterable
from typing import cast

from omegad.oracle.base import OracleError, call_sync

from .api import Done, Failed, NeedsOracle, ReplState, Running, parse_inputs, start
from .values import Value


def make_oracle() -> Value:
    rules = os.environ.get("OMEGA_RULES_FILE")
    if rules:
        from omegad.oracle.rules import RulesOracle
        return RulesOracle.from_file(rules)
    from omegad.oracle.scripted import ScriptedOracle
    return ScriptedOracle()


_MOCK = re.compile(r"\(effect\s+([^\s)]+)")


def evaluate(state: ReplState, text: str, out: Value, oracle: Value) -> None:
    if os.environ.get("OMEGA_MOCK_EFFECTS") == "1":
        mock = _MOCK.match(text.strip())
        if mock:
            out(f'=> "mock:{mock.group(1)}"\n')
            return
    for form in parse_inputs(text):
        run = start(state, form, output_sink=out)
        while True:
            r = run.run(1_000_000)
            if isinstance(r, Running):
                continue
            if isinstance(r, NeedsOracle):
                try:
                    run.resume(call_sync(oracle, r.request))
                except OracleError as e:
                    run.resume_error(f"Oracle failed: {e}")
                continue
            assert isinstance(r, (Done, Failed))
            out(r.printed + "\n")
            break


def drive(lines: Iterable[str], write: Callable[[str], object],
          flush: Callable[[], object] = lambda: None) -> None:
    """The REPL over `lines` (stdin's, or a test's), from a fresh state, printing with `write`."""
    state = ReplState()
    oracle = make_oracle()
    buffer: list[str] = []
    depth = 0
    for raw in lines:
        line = raw.rstrip("\n").rstrip("\r")
        trimmed = line.strip()
        if trimmed in (":quit", ":q"):
            break
        if trimmed == "" or trimmed.startswith(";") or trimmed.startswith(":"):
            continue
        buffer.append(line)
        depth += line.count("(") - line.count(")")
        if depth <= 0:
            evaluate(state, "\n".join(buffer), write, oracle)
            flush()
            buffer = []
            depth = 0
    if buffer:
        evaluate(state, "\n".join(buffer), write, oracle)
    flush()


def main() -> int:
    cast(io.TextIOWrapper, sys.stdin).reconfigure(encoding="utf-8", errors="replace")
    cast(io.TextIOWrapper, sys.stdout).reconfigure(encoding="utf-8")
    drive(sys.stdin, sys.stdout.write, sys.stdout.flush)
    return 0


if __name__ == "__main__":
    sys.exit(main())
