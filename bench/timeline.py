"""Snapshot, timeline and metrics benchmarks against real daemons (issue 10).

    python bench/timeline.py [--quick]

1. Metrics recording overhead: one daemon run in this process, `session.execute "(+ 1 2)"` in
   rounds with recording on and off (the order flipped every round); the paired ratio is the
   median over rounds of (median on) / (median off). Also the cost of one `Monitor.record` call,
   as a share of the round trip.
2. A 10 000-checkpoint session (10 000 one-form inputs): `snapshot.create`, `snapshot.restore`
   (of an early, a middle and the latest snapshot) and `timeline.get` first page (100 entries),
   in the daemon that built it and after a restart (states then come from the checkpoint file:
   the first restore of a state rebuilds it, measured apart over five snapshots);
   baseline: `server.ping` in the same run.
Prints a table and writes bench/results/timeline.json.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.sessions import connect, start_daemon, timed_calls  # noqa: E402


def median_ms(values: list[float]) -> float:
    return statistics.median(values) * 1e3


def start(root: Path, metrics: bool):
    old = os.environ.get("OMEGAD_METRICS")
    os.environ["OMEGAD_METRICS"] = "on" if metrics else "off"
    try:
        return start_daemon(root)
    finally:
        if old is None:
            del os.environ["OMEGAD_METRICS"]
        else:
            os.environ["OMEGAD_METRICS"] = old


def stop(proc) -> None:
    proc.terminate()
    proc.wait(30)


def overhead(results: dict[str, float], rounds: int, per_round: int) -> None:
    """One daemon in this process (trio in the main thread, the client in a worker thread), its
    metrics switched on and off between rounds: both arms share the process, the socket, the
    session and the machine's weather, so the paired ratio shows the recording's own cost."""
    import trio

    import omegad.methods  # noqa: F401  (registers the handlers)
    from omegacli.client import Client
    from omegad.config import Config
    from omegad.daemon import Daemon
    from omegad.lifecycle import PidFile, bind_socket

    root = Path(tempfile.mkdtemp(prefix="omb-", dir="/tmp"))
    config = Config(socket=root / "d.sock", session_dir=root / "sd", foreground=True,
                    private_runtime_dir=False, shutdown_grace=5, log_level="warning")
    daemon = Daemon(config, bind_socket(config.socket, private_dir=False),
                    PidFile(config.pidfile))

    def client_side() -> None:
        c = Client.connect(str(config.socket))
        c.call("server.hello", {"client": "bench", "session_dir": str(root / "sd"), "env": {}})
        monitor = daemon.sessions.monitor
        params = {"session": "bench", "command": "(+ 1 2)"}
        timed_calls(c, "session.execute", params, 500)  # warm up
        ratios, all_on, all_off = [], [], []
        for r in range(rounds):
            arms = [True, False] if r % 2 == 0 else [False, True]
            times = {}
            for arm in arms:
                monitor.enabled = arm
                times[arm] = timed_calls(c, "session.execute", params, per_round)
            all_on += times[True]
            all_off += times[False]
            ratios.append(statistics.median(times[True]) / statistics.median(times[False]))
        monitor.enabled = True
        results["execute_p50_us_metrics_on"] = statistics.median(all_on) * 1e6
        results["execute_p50_us_metrics_off"] = statistics.median(all_off) * 1e6
        results["metrics_paired_ratio"] = statistics.median(ratios)
        results["metrics_overhead_pct"] = (statistics.median(ratios) - 1) * 100
        c.close()

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(daemon.run)
            while not hasattr(daemon, "sessions"):
                await trio.sleep(0.01)
            try:
                await trio.to_thread.run_sync(client_side)
            finally:
                daemon.request_shutdown("bench done")

    try:
        trio.run(main)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    record_us = record_cost()
    results["record_call_us"] = record_us
    results["record_share_of_round_trip_pct"] = \
        record_us / results["execute_p50_us_metrics_off"] * 100


def record_cost(n: int = 200_000) -> float:
    """One Monitor.record call (what the actor adds per command), in µs."""
    from types import SimpleNamespace

    from omegad.sessions.notes.metrics import Monitor

    monitor = Monitor(enabled=True)
    state = SimpleNamespace(allocated=0)
    actor = SimpleNamespace(store=SimpleNamespace(root=Path("/x")), name="s", state=state,
                            closed=False, busy=False)
    job = SimpleNamespace(result=SimpleNamespace(ok=True, elapsed_ms=0.1), error=None)
    monitor.of(Path("/x"), "s").allocated = 0
    t = time.perf_counter()
    for _ in range(n):
        monitor.record(actor, job)
    return (time.perf_counter() - t) / n * 1e6


def big_session(results: dict[str, float], checkpoints: int, reps: int) -> None:
    root = Path(tempfile.mkdtemp(prefix="omb-", dir="/tmp"))
    proc = None
    try:
        proc, sock = start(root, metrics=True)
        c = connect(sock, root)
        t = time.perf_counter()
        batch = 500
        for start_i in range(0, checkpoints, batch):
            command = " ".join(f"(define v{i} {i})" for i in range(start_i, start_i + batch))
            c.call("session.execute", {"session": "big", "command": command})
        results["build_s"] = time.perf_counter() - t
        page = c.call("timeline.get", {"session": "big", "limit": 1})
        results["checkpoints"] = page["total"]
        seqs = [3, 4 * (checkpoints // 2) + 3, 4 * (checkpoints - 1) + 3]
        c.call("session.execute", {"session": "big",
                                   "command": f":session annotate {seqs[0]} first #start"})

        def measure(tag: str) -> None:
            ping = timed_calls(c, "server.ping", {}, 200)
            results[f"ping_ms_{tag}"] = median_ms(ping)
            create = timed_calls(c, "snapshot.create", {"session": "big"}, reps)
            results[f"snapshot_create_ms_{tag}"] = median_ms(create)
            snaps = c.call("snapshot.list", {"session": "big"})["snapshots"]
            restore_times = []
            for where, seq in zip(("early", "middle", "latest"), seqs, strict=True):
                # a snapshot at `seq`: go there, snapshot, come back to the latest state
                c.call("session.execute", {"session": "big", "command": ":session load big"})
                c.call("session.execute", {"session": "big",
                                           "command": f":session goto {seq}"})
                sid = c.call("snapshot.create", {"session": "big", "description": where})["id"]
                c.call("session.execute", {"session": "big", "command": ":session load big"})
                params = {"session": "big", "id": sid}
                times = timed_calls(c, "snapshot.restore", params, reps)
                results[f"snapshot_restore_ms_{where}_{tag}"] = median_ms(times)
                restore_times += times
            results[f"snapshot_restore_ms_{tag}"] = median_ms(restore_times)
            first_page = timed_calls(c, "timeline.get", {"session": "big", "limit": 100}, reps)
            results[f"timeline_get_first_page_ms_{tag}"] = median_ms(first_page)
            _ = snaps

        measure("live")
        cold = []  # snapshots at 10 %, 30 % … 90 % of the session, restored once after a restart
        for share in (0.1, 0.3, 0.5, 0.7, 0.9):
            seq = 4 * int(checkpoints * share) + 3
            c.call("session.execute", {"session": "big", "command": ":session load big"})
            c.call("session.execute", {"session": "big", "command": f":session goto {seq}"})
            cold.append(c.call("snapshot.create", {"session": "big"})["id"])
        stop(proc)
        proc, sock = start(root, metrics=True)
        c = connect(sock, root)
        t = time.perf_counter()
        c.call("session.open", {"session": "big"})
        results["reopen_s"] = time.perf_counter() - t
        # the first restore of a state after a restart rebuilds it from the checkpoint file
        firsts = [timed_calls(c, "snapshot.restore", {"session": "big", "id": sid}, 1)[0]
                  for sid in cold]
        results["snapshot_restore_first_ms_restarted"] = median_ms(firsts)
        results["snapshot_restore_first_ms_max_restarted"] = max(firsts) * 1e3
        measure("restarted")
    finally:
        if proc is not None:
            stop(proc)
        shutil.rmtree(root, ignore_errors=True)


GOAL_MS = ("≤ 5 ms", lambda v: v <= 5)
GOALS = {
    "metrics_overhead_pct": ("≤ 5 % of (+ 1 2)", lambda v: v <= 5),
    "snapshot_create_ms_live": GOAL_MS,
    "snapshot_create_ms_restarted": GOAL_MS,
    "snapshot_restore_ms_live": GOAL_MS,
    "snapshot_restore_ms_restarted": GOAL_MS,
    "snapshot_restore_first_ms_restarted": GOAL_MS,
    "timeline_get_first_page_ms_live": GOAL_MS,
    "timeline_get_first_page_ms_restarted": GOAL_MS,
}


def report(results: dict[str, float]) -> None:
    print(f"{'measure':40} {'value':>12}  goal")
    for key, value in results.items():
        goal, ok = GOALS.get(key, ("", None))
        mark = "" if ok is None else ("ok" if ok(value) else "MISSED")
        print(f"{key:40} {value:12.3f}  {goal} {mark}")
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "timeline.json").write_text(json.dumps(results, indent=2))


def main() -> None:
    quick = "--quick" in sys.argv
    results: dict[str, float] = {}
    overhead(results, rounds=10 if quick else 40, per_round=200 if quick else 500)
    big_session(results, checkpoints=2_000 if quick else 10_000, reps=20 if quick else 50)
    report(results)


if __name__ == "__main__":
    main()
