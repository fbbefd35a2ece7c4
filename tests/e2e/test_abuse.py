"""The bad-input corpus of bench/abuse.py against one real daemon, with small budgets so it stays
fast: each item ends with a clear error or the right result, leaves the session as it was when it
fails, the daemon's RSS comes back, and a second client pinging every millisecond is answered
throughout (the bench measures how fast; here a ping stuck for seconds fails the item).

A subprocess daemon: its RSS is what is measured."""

from __future__ import annotations

import json
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

@pytest.mark.parametrize("item", ITEMS, ids=[i.name for i in ITEMS])
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


def test_a_printed_value_and_display_output_are_cut_by_one_rule(harness):
    whole = "(" + " ".join(str(i) for i in range(200_000)) + ")"
    left_out = len(whole) - MB
    out = harness.execute("(iota 200000)")["output"]
    assert out == "=> " + whole[:MB] + f" … [{left_out} more bytes]"
    out = harness.execute("(begin (display (iota 200000)) (display \"é\") 1)")["output"]
    assert out == whole[:MB] + f"\n… [{left_out + 2} more bytes]\n=> 1"
    assert harness.execute("(+ 1 1)")["output"] == "=> 2"


def test_a_big_input_is_journaled_as_it_was_sent(harness):
    text = '(string-length "' + "é\\\"x\\n" * 40_000 + '")'
    assert harness.execute(text)["output"] == "=> 160000"
    journal = harness.root / "sd" / "sessions" / "abuse.jsonl"
    codes = [e.get("code") for e in map(json.loads, journal.read_bytes().splitlines())
             if e.get("type") == "input"]
    assert codes[-1] == text
