"""The bad-input corpus of bench/abuse.py against one real daemon, with small budgets so it stays
fast: each item ends with a clear error or the right result, leaves the session as it was when it
fails, the daemon's RSS comes back, and a second client pinging every millisecond is answered
throughout (the bench measures how fast; here a ping stuck for seconds fails the item).

A subprocess daemon: its RSS is what is measured."""

from __future__ import annotations

import atexit
import json
import shutil
import tempfile
from pathlib import Path

import pytest

from bench.abuse import MB, Harness, Item, check, corpus
from tests.conftest import RawConn

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
    """The quick items, made at collection (their names are the test ids); the files they name
    (a FIFO, a sparse file) go when the process that collected them exits."""
    root = Path(tempfile.mkdtemp(prefix="om-corpus-", dir="/tmp"))
    atexit.register(shutil.rmtree, root, ignore_errors=True)
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


def _raw(harness) -> RawConn:
    c = RawConn(harness.sock, timeout=60)
    c.call("server.hello", {"client": "t", "session_dir": str(harness.root / "sd"), "env": {}})
    return c


def test_a_long_request_line_is_answered_as_a_short_one_is(harness):
    """A line over 1 MiB has its long strings decoded in steps (protocol/long_strings.py):
    escapes, surrogate pairs (json.dumps writes 😀 as two escapes) and UTF-8 across the cuts."""
    unit = 'é\\"x\\n😀\\\\ab'
    one = int(harness.execute(f'(string-length "{unit}")')["output"][3:])
    text = f'(string-length "{unit * 150_000}")'
    start = harness.pinger.window()[0]
    assert harness.execute(text)["output"] == f"=> {one * 150_000}"
    with _raw(harness) as c:
        reply = c.request("session.execute", {"session": "abuse", "command": text})
        assert reply["result"]["output"] == f"=> {one * 150_000}"
        c.send_raw(json.dumps({"jsonrpc": "2.0", "method": "session.execute", "id": 7, "params": {
            "session": "abuse", "command": text}}, ensure_ascii=False).encode() + b"\n")
        assert c.recv()["result"]["output"] == f"=> {one * 150_000}"
    journal = harness.root / "sd" / "sessions" / "abuse.jsonl"
    codes = [e.get("code") for e in map(json.loads, journal.read_bytes().splitlines())
             if e.get("type") == "input"]
    assert codes[-3:] == [text] * 3
    assert harness.pinger.since(start)[0] and harness.pinger.error is None


@pytest.mark.parametrize("case", ["bad escape", "long method", "long string for a number",
                                  "unfinished string", "batch"])
def test_a_long_bad_request_line_is_answered_as_before(harness, case):
    """Each long line that is not a request with long strings in its params is decoded whole,
    as any line is: the same error names what is wrong; the session is unchanged."""
    harness.execute("(set! probe 0)")
    command = f'(begin (set! probe 1) (string-length "{"x" * (2 * MB)}"))'
    request = {"jsonrpc": "2.0", "method": "session.execute", "id": 1,
               "params": {"session": "abuse", "command": command}}
    line = json.dumps(request).encode()
    start = harness.pinger.window()[0]
    with _raw(harness) as c:
        if case == "bad escape":
            c.send_raw(line.replace(b"xxxx", b"x\\qx", 1) + b"\n")
            error = c.recv()["error"]
            assert error["code"] == -32700 and "Parse error" in error["message"]
        elif case == "long method":
            c.send({**request, "method": "x" * (2 * MB)})
            error = c.recv()["error"]
            assert error["code"] == -32601 and error["message"].startswith("Method not found: xx")
        elif case == "long string for a number":
            c.send({**request, "params": {**request["params"], "memory_budget": "9" * (2 * MB)}})
            assert c.recv()["error"] == {"code": -32602, "message": "Invalid params: Expected "
                                         "`int | null`, got `str` - at `params.memory_budget`"}
        elif case == "unfinished string":
            c.send_raw(line[:-40] + b"\n")
            assert c.recv()["error"]["code"] == -32700
        else:
            c.send_raw(b"[" + line + b"]\n")
            [answer] = c.recv()
            assert answer["result"]["output"] == f"=> {2 * MB}"
            harness.execute("(set! probe 0)")
        assert c.call("server.ping") == {"pong": True}
    assert harness.execute("probe")["output"] == "=> 0"
    assert harness.pinger.since(start)[0] and harness.pinger.error is None
