"""Evaluator benchmarks: (fib 25), a 1 000 000-iteration tail loop, map over 100 000 elements,
checkpoint capture and serialized sizes after 1 000 small defines.

Prints a table and writes bench/results/eval.json. Goals (issue 4): fib 25 <= 1.5 s, tail loop
<= 2 s with flat memory, a checkpoint delta after one small define <= 2 KB whatever the size."""

from __future__ import annotations

import json
import platform
import resource
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from omegad.lang import api  # noqa: E402


def run(state, src: str, slice_steps: int = 100_000):
    """Evaluate one form in slices, as the session actor does; returns (result, secs, max depth)."""
    r = api.start(state, src)
    t0 = time.perf_counter()
    max_depth = 0
    while True:
        res = r.run(slice_steps)
        max_depth = max(max_depth, len(r.m.stack))
        if not isinstance(res, api.Running):
            break
    return res, time.perf_counter() - t0, max_depth


def rss_kb() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def main() -> dict:
    results: dict = {"python": platform.python_version(), "machine": platform.machine()}
    st = api.ReplState()

    run(st, "(define (fib n) (if (< n 2) n (+ (fib (- n 1)) (fib (- n 2)))))")
    res, secs, depth = run(st, "(fib 25)")
    assert res.printed == "=> 75025", res
    results["fib25"] = {"seconds": round(secs, 3), "steps": res.steps,
                        "steps_per_second": round(res.steps / secs), "max_stack": depth,
                        "goal_seconds": 1.5}

    rss0 = rss_kb()
    res, secs, depth = run(st, "(let loop ((i 0)) (if (= i 1000000) 'done (loop (+ i 1))))")
    assert res.printed == "=> done", res
    results["tail_loop_1e6"] = {"seconds": round(secs, 3), "steps": res.steps,
                                "steps_per_second": round(res.steps / secs),
                                "max_stack": depth, "max_rss_growth_kb": rss_kb() - rss0,
                                "goal_seconds": 2.0}

    run(st, "(define big (let loop ((i 0) (acc '())) "
            "(if (= i 100000) acc (loop (+ i 1) (cons i acc)))))")
    res, secs, depth = run(st, "(length (map (lambda (x) (* x 2)) big))")
    assert res.printed == "=> 100000", res
    results["map_1e5"] = {"seconds": round(secs, 3), "steps": res.steps,
                          "steps_per_second": round(res.steps / secs)}

    res, secs, depth = run(st, "(length (map car (map list big)))")
    results["map_prim_1e5"] = {"seconds": round(secs, 3)}

    # checkpoints: 1 000 small defines, then one more
    st = api.ReplState()
    t0 = time.perf_counter()
    for i in range(1000):
        run(st, f"(define (f{i} x) (+ x {i}))")
        run(st, f"(define v{i} (list {i} \"s{i}\"))")
    define_secs = time.perf_counter() - t0
    cp = api.capture(st)
    t0 = time.perf_counter()
    full = api.serialize(st)
    full_secs = time.perf_counter() - t0
    run(st, "(define (small y) (* y 2))")
    t0 = time.perf_counter()
    cp2 = api.capture(st)
    capture_secs = time.perf_counter() - t0
    t0 = time.perf_counter()
    delta = api.serialize_delta(st, cp)
    delta_secs = time.perf_counter() - t0
    # round trip check
    st2 = api.deserialize(delta, base=api.deserialize(full))
    res, _, _ = run(st2, "(list (small 21) (f999 1) (car v500))")
    assert res.printed == "=> (42 1000 500)", res
    t0 = time.perf_counter()
    api.restore(st, cp)
    restore_secs = time.perf_counter() - t0
    api.restore(st, cp2)
    results["checkpoint_after_2000_defines"] = {
        "define_each_ms": round(define_secs / 2000 * 1000, 3),
        "full_bytes": len(full), "full_serialize_ms": round(full_secs * 1000, 2),
        "capture_ms": round(capture_secs * 1000, 4),
        "delta_bytes_one_define": len(delta), "delta_serialize_ms": round(delta_secs * 1000, 3),
        "restore_ms": round(restore_secs * 1000, 4), "goal_delta_bytes": 2048,
        "memory_estimate": api.memory_estimate(st)}

    print(f"{'benchmark':<34}{'result':>44}")
    for k, v in results.items():
        if isinstance(v, dict):
            text = ", ".join(f"{a}={b}" for a, b in v.items() if not a.startswith("goal"))
            print(f"{k:<34}{text}")
    out = HERE / "results" / "eval.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=1) + "\n")
    return results


if __name__ == "__main__":
    main()
