"""`omegacli -s NAME`: the reference's summary block, legacy batch files imported on first use
(with their debugger state), and the same debugger text through -c, the piped REPL and RPC."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from omegacli.client import Client
from tests.conftest import SHARED

ROOT = Path(__file__).resolve().parents[2]
BATCH = SHARED / "fixtures" / "omega-ts-sessions" / "batch"
GOLDEN = json.loads((BATCH / "golden.json").read_text()) if BATCH.exists() else None


@pytest.fixture
def home(tmp_path):
    if GOLDEN is None:
        pytest.skip("the shared batch fixtures are not here")
    (tmp_path / "home" / ".omega-sessions").mkdir(parents=True)
    for f in ("repl-dbg.json", "repl-defs.json"):
        shutil.copy(BATCH / f, tmp_path / "home" / ".omega-sessions" / f)
    return tmp_path / "home"


def omegacli(home: Path, *args: str, stdin: str = "", cwd: Path | None = None,
             status: int = 0) -> list[str]:
    env = dict(os.environ, HOME=str(home))
    out = subprocess.run([sys.executable, "-m", "omegacli", *args], input=stdin,
                         capture_output=True, text=True, timeout=60, env=env, cwd=cwd)
    assert out.returncode == status, out.stderr
    return out.stdout.split("\n")[:-1]


def golden(file: str, args: list[str]) -> list[str]:
    for r in GOLDEN["files"][file]["runs"]:
        if r["args"] == args:
            return r["omega_stdout"] if "omega_stdout" in r else r["stdout"]
    raise KeyError(args)


def test_a_legacy_batch_file_is_imported_with_its_defines(inprocess_daemon, home):
    assert omegacli(home, "-s", "defs") == golden("repl-defs.json", ["-s", "defs"])
    for cmd in ("(+ z 1)", "(sq 3)", "greeting", ":defs", "(* 6 7)"):
        assert omegacli(home, "-s", "defs", "-c", cmd) == \
            golden("repl-defs.json", ["-s", "defs", "-c", cmd])
    # the legacy file is left as it was (C6)
    assert (home / ".omega-sessions" / "repl-defs.json").read_bytes() == \
        (BATCH / "repl-defs.json").read_bytes()


def test_a_legacy_file_saved_in_debug_mode_comes_back_in_debug_mode(inprocess_daemon, home):
    out = omegacli(home, "-s", "dbg")
    assert out[:3] == ["Session 'dbg' loaded.", "  Definitions: 1", "  Debug mode: true"]
    step = int(out[3].removeprefix("  Step count: "))
    assert out[4:] == [f"  Trace length: {step + 1}", "  Breakpoints: 0"]
    state = omegacli(home, "-s", "dbg", "-c", ":state")
    assert state[:2] == ["", f"─── Step {step} ───"]
    assert omegacli(home, "-s", "dbg", "-c", "k") == ["=> 3"]
    doc = json.loads("\n".join(omegacli(home, "-s", "dbg", "-j", "-c", ":breaks")))
    assert doc["debugMode"] is True and doc["stepCount"] == step and doc["defsCount"] == 1
    out = omegacli(home, "-s", "dbg", "-c", ":run")
    assert out[1] == f"=== DONE at step {step + 1} ===" and out[2] == "Result: 7"
    assert omegacli(home, "-s", "dbg")[2] == "  Debug mode: false"


def test_the_same_text_through_c_the_piped_repl_and_rpc(
        inprocess_daemon, home, omega_env, tmp_path):
    fib = "(define (fib n) (if (< n 2) n (+ (fib (- n 1)) (fib (- n 2)))))"
    commands = [fib, ":debug (fib 3)", ":step 2", ":break expr If", ":run", ":trace 0 3",
                ":stack", ":history 2", ":toggle 1", ":run"]
    via_c = []
    for cmd in commands:
        via_c.extend(omegacli(home, "-s", "one", "-c", cmd))
    piped = omegacli(home, "--session", "two", "repl", stdin="\n".join(commands) + "\n")
    with Client.connect(str(omega_env.socket)) as c:
        c.call("server.hello", {"client": "t", "protocol": 1,
                                "session_dir": str(omega_env.session_dir), "env": {}})
        via_rpc = []
        for cmd in commands:
            out = c.call("session.execute", {"session": "three", "command": cmd})["output"]
            via_rpc.extend(out.split("\n") if out else [])
    assert via_c == piped == via_rpc
    assert "=== DONE at step" in "\n".join(via_c)


def test_loadfile_paths_are_the_clients(inprocess_daemon, home, tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    (work / "lib.omega").write_text("(define lib-x 41)\n")
    out = omegacli(home, "-s", "lf", "-c", ":loadfile lib.omega", cwd=work)
    assert out == [f"Loaded from: {work / 'lib.omega'}", "=> lib-x"]
    assert omegacli(home, "-s", "lf", "-c", "(+ lib-x 1)") == ["=> 42"]
    assert omegacli(home, "-s", "lf", "-c", ":loadfile nope.omega", cwd=work) == \
        [f"File not found: {work / 'nope.omega'}"]


def test_debugger_state_survives_a_daemon_restart(start_inprocess_daemon, home):
    d = start_inprocess_daemon()
    omegacli(home, "-s", "keep", "-c", "(define (fib n) (if (< n 2) n (+ (fib (- n 1)) "
                                       "(fib (- n 2)))))")
    omegacli(home, "-s", "keep", "-c", ":debug (fib 5)")
    omegacli(home, "-s", "keep", "-c", ":step 12")
    omegacli(home, "-s", "keep", "-c", ":break expr If")
    omegacli(home, "-s", "keep", "-c", ":save mid")
    omegacli(home, "-s", "keep", "-c", ":record off")
    before = omegacli(home, "-s", "keep", "-c", ":state")
    trace = omegacli(home, "-s", "keep", "-c", ":trace 5 5")
    history = omegacli(home, "-s", "keep", "-c", ":history 3")
    assert d.stop() == 0
    start_inprocess_daemon()
    assert omegacli(home, "-s", "keep", "-c", ":state") == before
    assert omegacli(home, "-s", "keep", "-c", ":trace 5 5") == trace
    assert omegacli(home, "-s", "keep", "-c", ":history 3") == history
    assert omegacli(home, "-s", "keep", "-c", ":breaks") == ["Breakpoints:",
                                                             "  1: expr = If [enabled]"]
    assert omegacli(home, "-s", "keep", "-c", ":snapshots")[2].startswith("  mid: step 12 (")
    assert omegacli(home, "-s", "keep", "-c", ":record on") == ["Recording: ON"]
    restored = omegacli(home, "-s", "keep", "-c", ":restore mid")
    assert restored[0] == "Loaded snapshot 'mid' (step 12)"


def test_a_legacy_define_that_needs_the_oracle_is_skipped_not_called(inprocess_daemon, home):
    legacy = {"defs": ["(define a 1)", '(define b (effect infer.op "x"))', "(define c (+ a 1))"],
              "debugMode": False, "stepCount": 0, "traceLength": 0, "breakpoints": [],
              "nextBreakpointId": 1, "recordingEnabled": True}
    (home / ".omega-sessions" / "repl-orc.json").write_text(json.dumps(legacy))
    assert omegacli(home, "-s", "orc", "-c", "(list a c)") == ["=> (1 2)"]
    assert omegacli(home, "-s", "orc", "-c", "b", status=1)[0].startswith("error: ")
