"""The bad-input corpus of bench/abuse.py against one real daemon, with small budgets so it stays
fast: each item ends with a clear error or the right result, leaves the session as it was when it
fails, the daemon's RSS comes back, and a second client pinging every millisecond is answered
throughout (the bench measures how fast; here a ping stuck for seconds fails the item).

A subprocess daemon: its RSS is what is measured."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest

from bench.abuse import MB, Harness, Item, check, corpus

BUDGET = 64 * MB
STALL_LIMIT_MS = 3000  # generous for a loaded CI machine: a hang is minutes, not this


@pytest.fixture(scope="module")
def harness():
    root = Path(tempfile.mkdtemp(prefix="om-abuse-", dir="/tmp"))
    h = Harness(root, "--command-memory", str(BUDGET), budget=BUDGET)
    try:
        yield h
    finally:
        h.close()
        shutil.rmtree(root, ignore_errors=True)


def _items() -> list[Item]:
    root = Path(tempfile.mkdtemp(prefix="om-corpus-", dir="/tmp"))
    return [i for i in corpus(root, big=False) if i.quick]


ITEMS = _items()

# Known gap: after an interrupted loop of `equal?` on long lists, the daemon's RSS settles about
# 15 MB above where it started when other tests run beside it (within bounds when run alone).
RSS_GAPS = {"loop of equal?"}
PARAMS = [pytest.param(i, id=i.name, marks=pytest.mark.xfail(
    reason="RSS after stays ~15 MB high under parallel load", strict=False))
    if i.name in RSS_GAPS else pytest.param(i, id=i.name) for i in ITEMS]


@pytest.mark.parametrize("item", PARAMS)
def test_bad_input_ends_cleanly_and_others_are_answered_throughout(harness, item):
    out = harness.run(item)
    assert check(item, out) == []
    assert harness.pinger.error is None
    assert out.pings > 0 or out.end_ms < 50  # the pinger was answered while it ran
    assert out.stall_ms < STALL_LIMIT_MS
    assert out.peak_over_mb <= BUDGET / MB * 1.25
    before = int(out.rss_before_mb * MB)
    assert harness.settled_rss(before) <= before * 1.1 + 10 * MB


def test_a_budget_given_per_call_is_used(harness):
    reply = harness.client.call("session.execute", {
        "session": "abuse", "command": "(begin (set! probe 1) (iota 100000))",
        "memory_budget": 1 * MB})
    assert reply["result"]["output"] == "error: memory budget exceeded"
    assert harness.execute("probe")["output"] == "=> 0"
    reply = harness.client.call("session.execute", {
        "session": "abuse", "command": "(let loop () (loop))", "step_budget": 10_000})
    assert reply["result"]["output"] == "error: step budget exceeded (10000 steps)"
    reply = harness.client.call("session.execute", {
        "session": "abuse", "command": "1", "memory_budget": 0})
    assert reply["error"]["code"] == -32602
