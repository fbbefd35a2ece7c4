"""A session whose journal is 100 MB (issue: persistence, "Scale"): nothing may read it whole.

    python bench/big_journal.py [--quick]

Builds one session of 5 000 inputs, each measuring a 10 KB string literal (the journal holds
each text twice: the input and its step; the state stays small, so what is timed is the
journal's size, not the state's), restarts the daemon, then times what a user does first with it:
open it (a command in it), `:session checkpoints`, the first page of `trace`, `goto` to a random
checkpoint, `:session load` from another session, and `session.list`. Baseline: `server.ping`
in the same run. Prints a table and writes bench/results/big_journal.json.
"""

from __future__ import annotations

import random
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.persistence import run  # noqa: E402
from bench.persistence import timed as timed_ms  # noqa: E402
from bench.sessions import connect, start_daemon  # noqa: E402
from bench.table import report  # noqa: E402

TEXT = "x" * 10_000


def build(c, inputs: int) -> None:
    for i in range(inputs):
        run(c, "huge", f'(+ {i} (string-length "{TEXT}"))')
    c.call("server.flush")


def first_uses(c, inputs: int, results: dict[str, float]) -> None:
    results["ping_ms"] = timed_ms(lambda: c.call("server.ping"))
    results["open_ms"] = timed_ms(lambda: run(c, "huge", "(+ 1 2)"))
    results["checkpoints_ms"] = timed_ms(lambda: run(c, "huge", ":session checkpoints"))
    results["trace_page_ms"] = timed_ms(
        lambda: c.call("session.trace", {"session": "huge", "limit": 50}))
    target = random.Random(11).randrange(inputs) * 4 + 3
    results["goto_ms"] = timed_ms(lambda: run(c, "huge", f":session goto {target}"))
    results["load_from_other_ms"] = timed_ms(lambda: run(c, "other", ":session load huge"))
    results["list_ms"] = timed_ms(lambda: c.call("session.list"))


def main() -> None:
    inputs = 1_000 if "--quick" in sys.argv else 5_000
    root = Path(tempfile.mkdtemp(prefix="omj-", dir="/tmp"))
    results: dict[str, float] = {"inputs": inputs}
    proc, sock = start_daemon(root)
    try:
        build(connect(sock, root), inputs)
    finally:
        proc.terminate()
        proc.wait(30)
    journal = root / "sd" / "sessions" / "huge.jsonl"
    results["journal_mb"] = journal.stat().st_size / 1e6
    proc, sock = start_daemon(root)
    try:
        first_uses(connect(sock, root), inputs, results)
    finally:
        proc.terminate()
        proc.wait(30)
        shutil.rmtree(root, ignore_errors=True)
    report("big_journal", results, GOALS)


GOALS = {
    "open_ms": ("≤ 50", lambda v: v <= 50),
    "checkpoints_ms": ("≤ 20", lambda v: v <= 20),
    "trace_page_ms": ("≤ 20", lambda v: v <= 20),
    "goto_ms": ("≤ 50", lambda v: v <= 50),
    "load_from_other_ms": ("≤ 20", lambda v: v <= 20),
    "list_ms": ("≤ 5", lambda v: v <= 5),
}


if __name__ == "__main__":
    main()
