"""A big session state (400 000 pairs, ~10 MB serialized) and the daemon around it.

    python bench/big_state.py

One session builds the state; then another loads it (`:session load`) while a second client
pings without pause: the load's time, the longest ping during it (how long the daemon stopped
answering anyone else) beside the ping median, and the checkpoint bytes the load wrote. Then a
goto back to the big state's checkpoint and an input after it, and a restart: opening the big
session and its first input (none of which may write the state again).
Prints a table and writes bench/results/big_state.json.
"""

from __future__ import annotations

import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.persistence import run, timed  # noqa: E402
from bench.sessions import connect, start_daemon  # noqa: E402
from bench.table import report  # noqa: E402

PAIRS = 400_000
BUILD = ("(define (build n acc) (if (= n 0) acc"
         " (build (- n 1) (cons (string-append \"item-\" (number->string n)) acc))))")


def pinging(sock: Path, root: Path, stop: threading.Event, out: list[float]) -> None:
    c = connect(sock, root)
    while not stop.is_set():
        t = time.perf_counter()
        c.call("server.ping")
        out.append(time.perf_counter() - t)


def input_writes(c, ckpt: Path, session: str, command: str) -> tuple[float, float]:
    """One input's round trip (ms) and what it added to the checkpoint file (KB)."""
    before = ckpt.stat().st_size
    ms = timed(lambda: run(c, session, command))
    return ms, (grown(ckpt, before) - before) / 1e3


def grown(ckpt: Path, size: int) -> int:
    """The file's size once it is larger than `size`: an input's state record is written after
    its answer has left."""
    deadline = time.monotonic() + 120
    while not ckpt.exists() or ckpt.stat().st_size <= size:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{ckpt} did not grow past {size} bytes in 120 s")
        time.sleep(0.001)
    return ckpt.stat().st_size


def main() -> None:
    root = Path(tempfile.mkdtemp(prefix="omb-", dir="/tmp"))
    sessions = root / "sd" / "sessions"
    results: dict[str, float] = {"pairs": PAIRS}
    try:
        proc, sock = start_daemon(root)
        try:
            c = connect(sock, root)
            run(c, "big", BUILD)
            results["build_s"] = timed(lambda: run(c, "big", f"(define xs (build {PAIRS} '()))"))
            results["build_s"] /= 1e3
            run(c, "other", "(define q 1)")
            before = grown(sessions / "other.ckpt", 0)
            pings: list[float] = []
            stop = threading.Event()
            pinger = threading.Thread(target=pinging, args=(sock, root, stop, pings))
            pinger.start()
            while len(pings) < 200:  # the pinger is up and measured before the load starts
                time.sleep(0.01)
            mark = len(pings)
            results["load_ms"] = timed(lambda: run(c, "other", ":session load big"))
            stop.set()
            pinger.join()
            during = pings[mark:]
            results["ping_p50_ms"] = statistics.median(pings[:mark]) * 1e3
            results["longest_ping_during_load_ms"] = max(during) * 1e3
            results["load_wrote_mb"] = ((sessions / "other.ckpt").stat().st_size - before) / 1e6
            results["big_ckpt_mb"] = (sessions / "big.ckpt").stat().st_size / 1e6
            xs = run(c, "big", ":session checkpoints")["seq"] - 1  # (after the big define)
            run(c, "big", "(define extra 1)")
            run(c, "big", ":session load big")
            results["goto_back_ms"] = timed(lambda: run(c, "big", f":session goto {xs}"))
            results["input_after_goto_ms"], results["input_after_goto_wrote_kb"] = \
                input_writes(c, sessions / "big.ckpt", "big", "(define y 2)")
        finally:
            proc.terminate()
            proc.wait(30)
        proc, sock = start_daemon(root)
        try:
            c = connect(sock, root)
            results["reopen_ms"] = timed(lambda: run(c, "big", ":session checkpoints"))
            results["first_input_after_reopen_ms"], results["first_input_wrote_kb"] = \
                input_writes(c, sessions / "big.ckpt", "big", "(define z 1)")
        finally:
            proc.terminate()
            proc.wait(30)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    report("big_state", results, GOALS)


GOALS = {  # (no issue sets goals here: these check that the state is not written again)
    "input_after_goto_wrote_kb": ("≤ 10 (a delta)", lambda v: v <= 10),
    "first_input_wrote_kb": ("≤ 10 (a reference and a delta)", lambda v: v <= 10),
}


if __name__ == "__main__":
    main()
