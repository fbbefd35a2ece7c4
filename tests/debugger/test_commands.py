"""Every debugger command and alias through a real daemon (raw RPC `session.execute`)."""

import json
import os
import threading
import time

import pytest

from omegacli.client import Client
from protocol import errors
from tests.e2e.conftest import session_client

FIB = "(define (fib n) (if (< n 2) n (+ (fib (- n 1)) (fib (- n 2)))))"


@pytest.fixture
def client(shared_daemon, tmp_path):
    with session_client(shared_daemon, tmp_path / "sd") as c:
        yield c


def run(c: Client, command: str, session: str = "d") -> str:
    return c.call("session.execute", {"session": session, "command": command})["output"]


def seq(c: Client, session: str = "d") -> int:
    return c.call("session.open", {"session": session})["seq"]


def block(step: int, control: str, depth: int, handlers: int = 0) -> list[str]:
    return ["", f"─── Step {step} ───", f"Control: {control}", f"Stack depth: {depth}",
            f"Handlers: {handlers}"]


def test_debug_prints_the_start_line_and_the_state_block_once(client):
    out = run(client, ":debug (+ 1 (* 2 3))").split("\n")
    assert out == ["Debug session started. Use :step to begin stepping.",
                   *block(0, "Expr: App(...)", 0)]
    assert run(client, ":state").split("\n") == block(0, "Expr: App(...)", 0)
    assert run(client, ":st") == run(client, ":state")


def test_stepping_sees_the_sessions_definitions_and_commits_at_done(client, tmp_path):
    run(client, FIB)
    run(client, ":debug (define r (fib 4))")
    out = run(client, ":step")
    assert out.startswith("\n─── Step 1 ───\nControl: ")
    before = seq(client)
    out = run(client, ":run").split("\n")
    assert out[:3] == ["", out[1], "Result: r"] and out[1].startswith("=== DONE at step ")
    done_at = int(out[1].split()[-2])
    assert out[3] == f"Trace: {done_at} steps recorded. Use :trace to view, :goto N to jump."
    assert run(client, "r") == "=> 3"          # committed: one journaled input
    journal = [json.loads(x) for x in
               (tmp_path / "sd" / "sessions" / "d.jsonl").read_text().splitlines()[1:]]
    added = [e["type"] for e in journal if e["seq"] >= before]
    assert added[:4] == ["input", "step", "result", "checkpoint"]
    assert journal[[e["seq"] for e in journal].index(before)]["code"] == "(define r (fib 4))"
    assert "(define r (fib 4))" in run(client, ":defs").split("\n")
    # after DONE: no paused run, the trace stays for post-mortem travel
    assert run(client, ":state") == "(no debug session active)"
    assert run(client, ":step") == "(no debug session - use :debug (expr) to start)"
    assert run(client, ":goto 2").startswith("Jumped to step 2\n\n─── Step 2 ───")
    n = seq(client)
    assert run(client, ":run").split("\n")[1] == f"=== DONE at step {done_at} ==="
    assert seq(client) == n                     # reaching DONE again commits nothing more


def test_stop_discards_the_run(client):
    run(client, ":debug (define q 1)")
    run(client, ":step")
    n = seq(client)
    assert run(client, ":stop") == "Stopped."
    assert seq(client) == n
    assert run(client, "q").startswith("error: ")
    assert run(client, ":state") == "(no debug session active)"
    assert run(client, ":trace") == "(no trace recorded)"


def test_the_debug_run_works_on_a_copy_until_done(client):
    run(client, FIB)
    run(client, "(define x 1)")
    run(client, ":debug (begin (set! x 99) (fib 6) x)")
    assert run(client, ":step 3").startswith("\n─── Step 3 ───")
    assert run(client, "x") == "=> 1"           # the session is untouched while stepping
    assert run(client, ":env x") == "x = 99"    # :env looks into the paused run
    run(client, ":run")
    assert run(client, "x") == "=> 99"


def test_an_effect_is_dispatched_to_the_oracle_and_replayed_on_travel(client, tmp_path):
    out = run(client, ':debug (+ 1 (effect infer.op "q"))')
    out = run(client, ":run").split("\n")
    assert out[1].startswith("=== EFFECT at step ") and out[2:4] == ["Operation: infer.op",
                                                                     'Args: "q"']
    assert "Control: Value: 42" in out
    assert run(client, ":run").split("\n")[2] == "Result: 43"
    journal = (tmp_path / "sd" / "sessions" / "d.jsonl").read_text()
    assert journal.count('"type":"llm_req"') == 1 and journal.count('"type":"result"') == 1
    n = seq(client)
    run(client, ":goto 0")
    assert run(client, ":run").split("\n")[2] == "Result: 43"   # no EFFECT: replayed
    assert seq(client) == n


def test_goto_trace_and_their_errors(client):
    run(client, FIB)
    run(client, ":debug (fib 5)")
    run(client, ":step 30")
    out = run(client, ":trace").split("\n")
    assert out[:2] == ["", "Trace (31 steps recorded):"] and len(out) == 2 + 20 + 1
    assert out[2].startswith("  [0] Expr: App(...) | stack=0")
    assert out[-1] == "  ... (11 more, use ':trace 20 20' to see more)"
    out = run(client, ":trace 28 5").split("\n")
    assert out[2].startswith("  [28] ") and out[-1].endswith(" <-- current")
    assert run(client, ":goto 99999") == "Step 99999 not found. Available: 0-30"
    assert run(client, ":g 7").startswith("Jumped to step 7\n")
    assert run(client, ":goto x") == "Usage: :goto <step-number>"
    assert run(client, ":goto") == "Usage: :goto <step-number>"
    assert run(client, ":trace 7 1").split("\n")[2].endswith("<-- current")


def test_breakpoints(client):
    run(client, FIB)
    assert run(client, ":breaks") == "No breakpoints set."
    assert run(client, ":break step 5") == "Breakpoint 1 added: step = 5"
    assert run(client, ":b expr If") == "Breakpoint 2 added: expr = If"
    assert run(client, ":break effect infer.op") == "Breakpoint 3 added: effect = infer.op"
    assert run(client, ":breakpoints").split("\n") == [
        "Breakpoints:", "  1: step = 5 [enabled]", "  2: expr = If [enabled]",
        "  3: effect = infer.op [enabled]"]
    assert run(client, ":toggle 2") == "Breakpoint 2 disabled."
    run(client, ":debug (fib 6)")
    out = run(client, ":run").split("\n")
    assert out[:3] == ["", "*** Breakpoint 1 hit at step 5 ***", "  Type: step, Condition: 5"]
    assert out[4] == "─── Step 5 ───"
    assert run(client, ":toggle 2") == "Breakpoint 2 enabled."
    out = run(client, ":c").split("\n")
    assert out[1].startswith("*** Breakpoint 2 hit at step ") and "Control: Expr: If(...)" in out
    assert run(client, ":del 2") == "Breakpoint 2 deleted."
    assert run(client, ":delbreak 2") == "Breakpoint 2 not found."
    assert run(client, ":delbreak 42") == "Breakpoint 42 not found."
    assert run(client, ":continue").split("\n")[1].startswith("=== DONE at step ")
    run(client, ':debug (begin 1 (effect infer.op "x"))')
    out = run(client, ":run").split("\n")
    assert out[1] == f"*** Breakpoint 3 hit at step {out[1].split()[-2]} ***"
    assert "Control: Expr: Effect(infer.op)" in out


@pytest.mark.parametrize("command, line", [
    (":break nonsense", "Usage: :break step <N> | :break expr <tag> | :break effect <op>"),
    (":break", "Usage: :break step <N> | :break expr <tag> | :break effect <op>"),
    (":b", "Usage: :break step <N> | :break expr <tag> | :break effect <op>"),
    (":break when x", "Invalid breakpoint type. Use: step, expr, or effect"),
    (":break step x", "Usage: :break step <N>  (N a step number)"),
    (":delbreak x", "Usage: :delbreak <id>"), (":del", "Usage: :delbreak <id>"),
    (":toggle", "Usage: :toggle <id>"), (":toggle 9", "Breakpoint 9 not found."),
    (":step abc", "Usage: :step [N]  (N a positive number of steps)"),
    (":step 0", "Usage: :step [N]  (N a positive number of steps)"),
    (":frame -1", "(frame -1 out of range, stack has 0 frames)"),
    (":frame x", "Usage: :frame <number>"), (":frame", "Usage: :frame <number>"),
    (":debug", "Usage: :debug (expression)"), (":debug (+ 1", "error: parse: missing ')'"),
    (":save", "Usage: :save <name>"), (":restore", "Usage: :restore <name>"),
    (":save s", "(no debug session - use :debug (expr) first)"),
    (":restore nope", "Snapshot 'nope' not found."),
    (":export", "Usage: :export <snapshot-name> <filepath>"),
    (":export nope /tmp/x", "Snapshot 'nope' not found."),
    (":record", "Usage: :record on|off"), (":record maybe", "Usage: :record on|off"),
    (":dump", "Usage: :dump <filepath>"), (":dump /tmp/x.json", "No trace to dump."),
    (":replay", "Usage: :replay <filepath>"),
    (":replay /nonexistent/d.json", "File not found: /nonexistent/d.json"),
    (":loadfile", "Usage: :loadfile <path>"),
    (":loadfile /nonexistent/f.omega", "File not found: /nonexistent/f.omega"),
    (":back", "No history available."), (":history", "No history available."),
    (":hist 3", "No history available."), (":snapshots", "No snapshots saved."),
    (":snaps", "No snapshots saved."), (":run", "(no debug session - use :debug (expr) to start)"),
    (":stack", "(empty stack)"), (":control", "Value: null"),
    (":ask", "Usage: :ask <question>"),
    (":ask why", "error: :ask needs an LLM provider; this client's oracle is scripted. Set "
     "OPENAI_API_KEY or ANTHROPIC_API_KEY, or OMEGA_ORACLE=openai|anthropic with "
     "OPENAI_BASE_URL / ANTHROPIC_BASE_URL for a local server"),
    (":traces", "(no traces recorded yet)"), (":trace --last", "No traces recorded yet."),
    (":trace t-1 -v", "Trace 't-1' not found. Use :traces to list available traces."),
    (":trace -v", "Usage: :trace <id> [--verbose] or :trace --last [--verbose]"),
])
def test_one_clear_line_and_the_session_unchanged(client, command, line):
    run(client, "(define z 5)")
    n = seq(client)
    assert run(client, command) == line
    assert seq(client) == n and run(client, "z") == "=> 5"


@pytest.mark.parametrize("command", [":opr-list", ":opr-run k {}", ":opr-receipts",
                                     ":opr-verify", ":opr-verify f"])
def test_opr_commands_say_omega_has_no_opr_runtime(client, command):
    assert run(client, command) == ("The :opr-* commands belong to the reference's OPR runtime, "
                                    "which omega does not have.")


def test_snapshots_history_and_back(client, tmp_path):
    run(client, FIB)
    run(client, ":debug (fib 4)")
    run(client, ":step 4")
    assert run(client, ":save four") == "Saved snapshot 'four' at step 4"
    run(client, ":step 3")
    out = run(client, ":snapshots").split("\n")
    assert out[:2] == ["", "Snapshots:"] and out[2].startswith("  four: step 4 (20")
    out = run(client, ":restore four").split("\n")
    assert out[0] == "Loaded snapshot 'four' (step 4)" and out[2] == "─── Step 4 ───"
    path = tmp_path / "snap.json"
    assert run(client, f":export four {path}") == f"Exported snapshot metadata to {path}"
    meta = json.loads(path.read_text())
    assert meta["name"] == "four" and meta["step"] == 4 and meta["controlTag"] in ("Expr", "Val")
    out = run(client, ":history").split("\n")
    assert out[:2] == ["", "History (last 7 steps):"] and out[-1] == "  [4] <current>"
    out = run(client, ":hist 2").split("\n")
    assert out[1] == "History (last 2 steps):" and len(out) == 5
    out = run(client, ":back 2").split("\n")
    assert out[0] == "Rewound to step 5" and out[2] == "─── Step 5 ───"
    assert run(client, ":back").startswith("Rewound to step 4\n")


def test_record_dump_and_replay(client, tmp_path):
    run(client, FIB)
    run(client, ":debug (fib 3)")
    run(client, ":step 3")
    assert run(client, ":record off").split("\n") == [
        "Recording: OFF", "Warning: Without recording, 'goto' and 'dump' won't have new steps."]
    run(client, ":step 3")
    assert run(client, ":goto 5") == "Step 5 not found. Available: 0-3"
    assert run(client, ":record on") == "Recording: ON"
    run(client, ":run")
    dump = tmp_path / "t.json"
    out = run(client, f":dump {dump}").split("\n")
    data = json.loads(dump.read_text())
    assert out == [f"Dumped trace summary to {dump} ({data['totalSteps']} steps)",
                   "To replay: load the code and step through, or use ':replay <file>'"]
    assert data["version"] == 1 and data["code"] == "(fib 3)"
    assert data["traceSummary"][0] == {"step": 0, "control": "Expr: App(...)", "stackDepth": 0}
    out = run(client, f":replay {dump}").split("\n")
    assert out[:5] == [f"Loading dump from: {dump}", f"Original timestamp: {data['timestamp']}",
                       f"Total steps: {data['totalSteps']}", "", "Replaying execution..."]
    assert out[-2] == f"Replay complete. {data['totalSteps']} steps recorded."
    assert out[-1] == "Use ':goto <step>' to jump to any step, or ':trace' to see the trace."
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    assert run(client, f":replay {bad}").startswith("Error loading dump: ")
    bad.write_text('{"version": 1}')
    assert run(client, f":replay {bad}") == "Dump file missing 'code' field - cannot replay."


def test_inspection_in_a_paused_run(client):
    run(client, FIB)
    run(client, ":debug (+ 1 (fib 3))")
    run(client, ":step 3")
    out = run(client, ":stack").split("\n")
    depth = int(out[0].removeprefix("Stack depth: "))
    assert depth > 0 and len(out) == depth + 1 and out[1].startswith(f"  {depth - 1}: ")
    out = run(client, ":frame 0").split("\n")
    assert out[0].startswith("  0: ") and out[1].startswith("  tag: ")
    assert run(client, f":frame {depth}") == \
        f"(frame {depth} out of range, stack has {depth} frames)"
    assert run(client, ":control") == run(client, ":state").split("\n")[2][len("Control: "):]
    out = run(client, ":env").split("\n")  # every binding it counts, the user's with values
    assert out[:2] == ["User bindings (1):", "  fib = <closure (n)>"]
    assert out[2].startswith("Built in (")
    listed = " ".join(out[3:-1]).split()
    assert "car" in listed and "sort" in listed and "fib" not in listed
    assert out[2] == f"Built in ({len(listed)}; :doc NAME describes one):"
    assert out[-1] == f"({len(listed) + 1} total bindings)"
    assert run(client, ":env nope") == "(binding 'nope' not found)"


def test_loadfile_evaluates_a_file_and_refuses_directories_and_huge_files(client, tmp_path):
    src = tmp_path / "f.omega"
    src.write_text("(define lf 4)\n(* lf 2)\n")
    assert run(client, f":loadfile {src}").split("\n") == [f"Loaded from: {src}", "=> lf",
                                                            "=> 8"]
    n = seq(client)
    assert run(client, f":loadfile {tmp_path}") == \
        f"error: {tmp_path} is a directory"
    big = tmp_path / "big.omega"
    with open(big, "wb") as f:
        f.truncate(50 * 1024 * 1024)
    assert run(client, f":loadfile {big}").startswith(f"error: {big} is too large to load (")
    assert seq(client) == n


@pytest.mark.parametrize(("command", "prefix", "missing"), [
    (":replay", "Error loading dump: ", "File not found: "),
    (":session import-annotations", "Error importing annotations: ",
     "Error importing annotations: No such file or directory: "),
])
def test_every_command_that_reads_a_file_refuses_devices_fifos_and_huge_files(
        client, tmp_path, command, prefix, missing):
    """Read off the loop as :loadfile reads (a regular file, at most 16 MiB): `/dev/zero` or a
    FIFO with no writer never holds the daemon, and nothing changes in the session."""
    run(client, "(define kept 1)")
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    big = tmp_path / "big.json"
    with open(big, "wb") as f:
        f.truncate(50 * 1024 * 1024)
    n, notes = seq(client), run(client, ":session annotations")
    assert run(client, f"{command} /dev/zero") == \
        f"{prefix}/dev/zero is a character device, not a regular file"
    assert run(client, f"{command} {fifo}") == f"{prefix}{fifo} is a FIFO, not a regular file"
    assert run(client, f"{command} {big}").startswith(f"{prefix}{big} is too large to load (")
    assert run(client, f"{command} {tmp_path}/none.json") == f"{missing}{tmp_path}/none.json"
    assert (seq(client), run(client, ":session annotations")) == (n, notes)
    assert run(client, "kept") == "=> 1"
    assert client.call("server.ping")["pong"]


def test_a_run_that_never_ends_is_interrupted_quickly_and_the_session_stays_usable(
        shared_daemon, tmp_path, client):
    run(client, "(define (spin) (spin))")
    run(client, ":debug (spin)")
    failure: list[BaseException] = []

    def runner():
        with session_client(shared_daemon, tmp_path / "sd") as c2:
            try:
                run(c2, ":run")
            except errors.RpcError as e:
                failure.append(e)

    t = threading.Thread(target=runner)
    t.start()
    deadline = time.monotonic() + 10
    while not client.call("session.interrupt", {"session": "d"})["interrupted"]:
        assert time.monotonic() < deadline, "the :run never started"
    started = time.monotonic()
    t.join(5)
    assert not t.is_alive() and time.monotonic() - started < 0.1
    assert failure and failure[0].code == errors.INTERRUPTED
    out = run(client, ":state").split("\n")
    assert out[1].startswith("─── Step ") and int(out[1].split()[2]) > 0
    assert run(client, ":stop") == "Stopped."
    assert run(client, "(+ 1 2)") == "=> 3"


def test_the_debugger_is_typed_rpc_too(client):
    names = {m["name"] for m in client.call("rpc.discover")["methods"]}
    assert {"debug.start", "debug.step", "debug.run", "debug.goto", "debug.back", "debug.stop",
            "debug.state", "debug.trace", "debug.breakpoints", "debug.break", "debug.delbreak",
            "debug.toggle"} <= names
    run(client, FIB)
    r = client.call("debug.start", {"session": "d", "code": "(fib 4)"})
    assert r["debug_mode"] and r["step"] == 0 and r["control"] == "Expr: App(...)"
    assert r["output"].startswith("Debug session started.")
    r = client.call("debug.step", {"session": "d", "count": 3})
    assert r["step"] == 3 and r["depth"] >= 1
    r = client.call("debug.break", {"session": "d", "type": "expr", "condition": "If"})
    assert r["breakpoints"] == [{"id": 1, "type": "expr", "condition": "If", "enabled": True}]
    r = client.call("debug.run", {"session": "d"})
    assert r["control"] == "Expr: If(...)" and "*** Breakpoint 1 hit" in r["output"]
    here = r["step"]
    r = client.call("debug.trace", {"session": "d", "start": 0, "count": 3})
    assert [e["step"] for e in r["trace"]] == [0, 1, 2]
    assert r["trace"][0] == {"step": 0, "control": "Expr: App(...)", "depth": 0}
    assert r["trace_length"] == here + 1
    r = client.call("debug.goto", {"session": "d", "step": 1})
    assert r["step"] == 1
    r = client.call("debug.back", {"session": "d"})
    assert r["step"] == here - 1
    client.call("debug.toggle", {"session": "d", "id": 1})
    r = client.call("debug.run", {"session": "d"})
    assert r["finished"] and r["result"] == "3" and not r["debug_mode"]
    r = client.call("debug.delbreak", {"session": "d", "id": 1})
    assert r["breakpoints"] == [] and r["output"] == "Breakpoint 1 deleted."
    assert client.call("debug.state", {"session": "d"})["control"] is None
    assert client.call("debug.stop", {"session": "d"})["output"] == "Stopped."
    with pytest.raises(errors.RpcError) as e:
        client.call("debug.break", {"session": "d", "type": "bogus", "condition": "x"})
    assert e.value.code == errors.INVALID_PARAMS


def test_a_typed_breakpoint_keeps_its_whole_condition(client):
    """debug.break's condition is one value: `my tag` stays `my tag` (as a `:break` line, the
    condition is the first word, as in the reference)."""
    client.call("session.open", {"session": "tags", "create": True})  # (looking never creates)
    r = client.call("debug.break", {"session": "tags", "type": "expr", "condition": "my tag"})
    assert r["output"] == "Breakpoint 1 added: expr = my tag"
    assert r["breakpoints"] == [{"id": 1, "type": "expr", "condition": "my tag",
                                 "enabled": True}]
    assert client.call("session.execute", {"session": "tags", "command": ":break expr my tag"}
                       )["output"] == "Breakpoint 2 added: expr = my"
    assert client.call("session.execute", {"session": "tags", "command": ":breaks"})["output"] \
        == "Breakpoints:\n  1: expr = my tag [enabled]\n  2: expr = my [enabled]"
    r = client.call("debug.break", {"session": "tags", "type": "step", "condition": "x y"})
    assert r["output"] == "Usage: :break step <N>  (N a step number)" and len(r["breakpoints"]) == 2


def test_a_command_line_and_a_typed_method_make_the_same_operation():
    from omegad.sessions import commands
    from omegad.sessions import operations as op

    assert commands.parse(":session goto 3") == op.Goto(3)
    assert commands.parse(":session goto x") == op.Goto(None)
    assert commands.parse(":session resume") == op.Resume()
    assert commands.parse(":session fork b") == op.Fork("b")
    assert commands.parse("  :session save  b ") == op.Save("b")
    assert commands.parse(":session snapshot before #x") == op.SnapshotCreate("before #x")
    assert commands.parse(":session restore-snapshot 2") == op.SnapshotRestore(2)
    assert commands.parse(":session annotate 4 start here") == op.Annotate(4, "start", "here")
    assert commands.parse(":break expr If") == op.DebugBreak("expr", "If")
    assert commands.parse(":step") == op.DebugStep(1)
    assert commands.parse(":step 5") == op.DebugStep(5)
    assert commands.parse(":run") == commands.parse(":c") == op.DebugContinue()
    assert commands.parse(":trace 2 4") == op.DebugTrace(2, 4)
    assert commands.parse(":trace") == op.DebugTrace(0, 20)
    assert commands.parse(":toggle 1") == op.DebugToggle(1)
    assert commands.parse("(+ 1 2)") == op.Input("(+ 1 2)")
    assert commands.parse(":session save") == op.Unknown(":session save")
    for typed in (op.Goto(3), op.Fork("b"), op.Save("b"), op.SnapshotCreate("x"),
                  op.DebugBreak("expr", "If"), op.DebugStep(5), op.DebugTrace(2, 4),
                  op.DebugToggle(1), op.DebugStart("(f 1)")):
        assert commands.parse(commands.line_of(typed)) == typed


def test_a_debug_run_past_the_command_budget_ends_as_a_command_would(
        start_inprocess_daemon, tmp_path):
    daemon = start_inprocess_daemon("--command-memory", str(16 << 20))
    grow = "(let loop ((l '()) (i 0)) (if (< i 3000000) (loop (cons i l) (+ i 1)) (length l)))"
    with session_client(daemon, tmp_path / "sd") as c:
        run(c, "(define kept 1)")
        run(c, f":debug (begin (set! kept 2) {grow})")
        out = run(c, ":continue")
        assert out.split("\n")[-1].startswith("error: memory budget exceeded"), out[-300:]
        assert run(c, "kept") == "=> 1"
        with session_client(daemon, tmp_path / "sd") as other:
            assert other.call("server.ping") == {"pong": True}
