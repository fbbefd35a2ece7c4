"""Persistence benchmarks: constant cost per command, bytes on disk, reopening after a restart.

    python bench/persistence.py [--quick]

10 000 `(define xN N)` commands in one session (the time per command of the first and the last
1 000, and their ratio: the cost must not grow with the session), bytes on disk per command,
then daemon restarts: the first `session.list` over 1 000 sessions (median of 5 restarts),
opening the session and `goto` to a random checkpoint, and `:session load / checkpoints / fork`
and the first page of `trace` on the big session, in the daemon and as whole `omegacli -s … -c`
processes; fsync policies side by side.
Prints a table and writes bench/results/persistence.json.
"""

from __future__ import annotations

import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.sessions import connect, process_time, start_daemon  # noqa: E402
from bench.table import report  # noqa: E402

REFERENCE_MS_PER_COMMAND_AT_200 = 90.0  # reference-sessions.md §8: 200 commands, 17.9 s


def run(c, session: str, command: str) -> dict:
    return c.call("session.execute", {"session": session, "command": command})


def timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return (time.perf_counter() - t) * 1e3


def main() -> None:
    quick = "--quick" in sys.argv
    n = 2_000 if quick else 10_000
    block = n // 10
    root = Path(tempfile.mkdtemp(prefix="omp-", dir="/tmp"))
    results: dict[str, float] = {"commands": n}
    proc, sock = start_daemon(root)
    try:
        c = connect(sock, root)
        times = []
        for i in range(n):
            t = time.perf_counter()
            run(c, "big", f"(define x{i} {i})")
            times.append(time.perf_counter() - t)
        first = statistics.mean(times[:block]) * 1e3
        last = statistics.mean(times[-block:]) * 1e3
        results |= {"first_block_ms_per_cmd": first, "last_block_ms_per_cmd": last,
                    "last_to_first_ratio": last / first,
                    "reference_ms_per_cmd_at_200": REFERENCE_MS_PER_COMMAND_AT_200}
        sessions = 200 if quick else 1_000
        for i in range(sessions):
            run(c, f"s{i}", "(define a 1)")
        c.call("server.flush")
        files = list((root / "sd" / "sessions").glob("big.*"))
        results["bytes_per_cmd"] = sum(f.stat().st_size for f in files) / n
        for policy in ("always", "everysec", "no"):
            results[f"fsync_{policy}_ms_per_cmd"] = fsync_cost(policy, 300)
    finally:
        proc.terminate()
        proc.wait(10)
    results |= list_after_restarts(root, 5)
    results["list_sessions"] = sessions + 1
    proc, sock = start_daemon(root)
    try:
        c = connect(sock, root)
        target = random.Random(7).randrange(n) * 4 + 3
        results["open_goto_after_restart_ms"] = timed(
            lambda: (run(c, "big", ":session load big"), run(c, "big", f":session goto {target}")))
        results["load_ms"] = timed(lambda: run(c, "other", ":session load big"))
        results["checkpoints_ms"] = timed(lambda: run(c, "other", ":session checkpoints"))
        results["trace_page_ms"] = timed(
            lambda: c.call("session.trace", {"session": "big", "limit": 50}))
        results["fork_ms"] = timed(lambda: run(c, "other", ":session fork big-fork"))
        env = dict(os.environ, PYTHONPATH=str(ROOT), OMEGAD_SOCKET=str(sock),
                   OMEGA_SESSION_DIR=str(root / "sd"))
        results["oneshot_checkpoints_ms"] = process_time(
            [sys.executable, "-m", "omegacli", "-s", "big", "-c", ":session checkpoints"], 5,
            env) * 1e3
        results["python_pass_ms"] = process_time([sys.executable, "-c", "pass"], 5, env) * 1e3
    finally:
        proc.terminate()
        proc.wait(10)
        shutil.rmtree(root, ignore_errors=True)
    report("persistence", results, GOALS)


def list_after_restarts(root: Path, restarts: int) -> dict[str, float]:
    """The first `session.list` of a fresh daemon, over several restarts (one sample each: a
    single one would measure the machine's noise as much as the listing), with a ping after it
    as the baseline."""
    lists, pings = [], []
    for _ in range(restarts):
        proc, sock = start_daemon(root)
        try:
            call = connect(sock, root).call
            lists.append(timed(lambda: call("session.list")))  # noqa: B023 (called at once)
            pings.append(timed(lambda: call("server.ping")))  # noqa: B023
        finally:
            proc.terminate()
            proc.wait(10)
    return {"list_after_restart_ms": statistics.median(lists),
            "list_after_restart_max_ms": max(lists),
            "ping_after_restart_ms": statistics.median(pings)}


def fsync_cost(policy: str, n: int) -> float:
    root = Path(tempfile.mkdtemp(prefix="omf-", dir="/tmp"))
    proc, sock = start_daemon(root, "--fsync", policy)
    try:
        c = connect(sock, root)
        t = time.perf_counter()
        for i in range(n):
            run(c, "f", f"(define y{i} {i})")
        return (time.perf_counter() - t) / n * 1e3
    finally:
        proc.terminate()
        proc.wait(10)
        shutil.rmtree(root, ignore_errors=True)


GOALS = {
    "last_to_first_ratio": ("≤ 1.2", lambda v: v <= 1.2),
    "bytes_per_cmd": ("≤ 2048", lambda v: v <= 2048),
    "open_goto_after_restart_ms": ("≤ 50", lambda v: v <= 50),
    "list_after_restart_ms": ("≤ 5", lambda v: v <= 5),
    "load_ms": ("≤ 20", lambda v: v <= 20),
    "checkpoints_ms": ("≤ 20", lambda v: v <= 20),
    "fork_ms": ("≤ 20", lambda v: v <= 20),
    "trace_page_ms": ("≤ 20", lambda v: v <= 20),
    "oneshot_checkpoints_ms": ("≤ 50 (quiet machine)", lambda v: v <= 50),
}


if __name__ == "__main__":
    main()
