"""Debugger benchmarks (issue 9).

    python bench/debugger.py [--quick]

Through a real daemon: `:step` round trip (p50, beside `server.ping`), `:run` of `(fib 20)` under
the debugger (including its commit as one journaled input) vs `(fib 20)` evaluated directly.
In process: the stepping loop alone vs a plain run, the memory a 1 000 000-step trace holds
(keyframes every KEYFRAME steps; budget 16 MiB), and `:goto` to random steps of it.
Prints a table and writes bench/results/debugger.json.
"""

from __future__ import annotations

import json
import random
import shutil
import sys
import tempfile
import threading
import time
import tracemalloc
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from bench.sessions import connect, percentile, start_daemon, timed_calls  # noqa: E402
from omegad.lang import api  # noqa: E402
from omegad.sessions.debug.run import KEYFRAME, DebugRun  # noqa: E402
from protocol import errors  # noqa: E402

FIB = "(define (fib n) (if (< n 2) n (+ (fib (- n 1)) (fib (- n 2)))))"
SPIN = "(define (spin n) (if (= n 0) 'done (spin (- n 1))))"
MEMORY_BUDGET = 16 * 1024 * 1024


def daemon_figures(n_steps: int) -> dict:
    root = Path(tempfile.mkdtemp(prefix="om-bench-", dir="/tmp"))
    proc, sock = start_daemon(root)
    try:
        c = connect(sock, root)

        def ex(cmd: str) -> str:
            return c.call("session.execute", {"session": "b", "command": cmd})["output"]

        ex(FIB)
        ex(":debug (fib 25)")
        ping = timed_calls(c, "server.ping", {}, n_steps)
        plain = timed_calls(c, "session.execute", {"session": "b", "command": "(+ 1 2)"},
                            n_steps)
        step = timed_calls(c, "session.execute", {"session": "b", "command": ":step"}, n_steps)
        ex(":stop")
        direct, debugged = [], []
        for _ in range(3):
            t = time.perf_counter()
            assert ex("(fib 20)") == "=> 6765"
            direct.append(time.perf_counter() - t)
            ex(":debug (fib 20)")
            t = time.perf_counter()
            out = ex(":run")
            debugged.append(time.perf_counter() - t)
            assert "Result: 6765" in out, out
        interrupt_ms = []
        ex("(define (forever) (forever))")
        for _ in range(5):
            ex(":debug (forever)")
            done = threading.Event()
            ended: list[float] = []

            def spin(done: threading.Event = done, ended: list[float] = ended) -> None:
                with connect(sock, root) as c2:
                    try:
                        c2.call("session.execute", {"session": "b", "command": ":run"})
                    except errors.RpcError:
                        ended.append(time.perf_counter())
                done.set()

            threading.Thread(target=spin, daemon=True).start()
            while not c.call("session.interrupt", {"session": "b"})["interrupted"]:
                time.sleep(0.001)
            t = time.perf_counter()
            done.wait(10)
            interrupt_ms.append(((ended[0] if ended else time.perf_counter()) - t) * 1000)
            ex(":stop")
        c.close()
    finally:
        proc.terminate()
        proc.wait(10)
        shutil.rmtree(root, ignore_errors=True)
    return {
        "step_round_trip_p50_ms": round(percentile(step, 0.5) * 1000, 3),
        "ping_round_trip_p50_ms": round(percentile(ping, 0.5) * 1000, 3),
        "execute_1_plus_2_p50_ms": round(percentile(plain, 0.5) * 1000, 3),
        "fib20_direct_s": round(min(direct), 4),
        "fib20_debug_run_s": round(min(debugged), 4),
        "fib20_ratio_with_commit": round(min(debugged) / min(direct), 2),
        "interrupt_run_max_ms": round(max(interrupt_ms), 2),
    }


def in_process_figures(quick: bool) -> dict:
    state = api.ReplState()
    for text in (FIB, SPIN):
        api.start(state, text).run(10**6)
    base = api.serialize(state)
    # the stepping loop alone (no daemon, no commit) vs a plain run
    t = time.perf_counter()
    plain = api.start(api.deserialize(base), "(fib 20)")
    assert plain.run(10**8).printed == "=> 6765"
    plain_s = time.perf_counter() - t
    run = DebugRun("(fib 20)", base)
    t = time.perf_counter()
    assert run.advance(10**8).printed == "=> 6765"
    debug_s = time.perf_counter() - t
    # a 1 000 000-step trace
    n = 200_000 if quick else 1_000_000
    big = DebugRun("(spin 5000000)", base)
    t = time.perf_counter()
    big.advance(n)
    advance_s = time.perf_counter() - t
    tracemalloc.start()        # the memory on a second run: tracemalloc slows the stepping
    before = tracemalloc.get_traced_memory()[0]
    big = DebugRun("(spin 5000000)", base)
    big.advance(n)
    held = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    rng = random.Random(9)
    back, forward = [], []
    for _ in range(10 if quick else 30):
        target = rng.randrange(n)
        here = big.step
        t = time.perf_counter()
        big.goto(target)
        (back if target <= here else forward).append(time.perf_counter() - t)
    every = back + forward
    return {
        "fib20_plain_s": round(plain_s, 4), "fib20_stepper_s": round(debug_s, 4),
        "fib20_stepper_ratio": round(debug_s / plain_s, 2),
        "trace_steps": n, "keyframe_every": KEYFRAME,
        "trace_advance_s": round(advance_s, 3),
        "trace_memory_bytes": held, "trace_memory_budget_bytes": MEMORY_BUDGET,
        "goto_random_p50_ms": round(percentile(every, 0.5) * 1000, 2),
        "goto_backward_p50_ms": round(percentile(back, 0.5) * 1000, 2) if back else None,
        "goto_forward_p50_ms": round(percentile(forward, 0.5) * 1000, 2) if forward else None,
        "goto_max_ms": round(max(every) * 1000, 2),
    }


def main() -> None:
    quick = "--quick" in sys.argv
    results = {**daemon_figures(100 if quick else 500), **in_process_figures(quick)}
    width = max(len(k) for k in results)
    for k, v in results.items():
        print(f"  {k:<{width}}  {v}")
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    (out / "debugger.json").write_text(json.dumps(results, indent=2) + "\n")
    assert results["trace_memory_bytes"] < MEMORY_BUDGET, "the trace exceeds its memory budget"


if __name__ == "__main__":
    main()
