"""Session benchmarks against a real daemon on a temp socket (issue: sessions live in the daemon).

    python bench/sessions.py [--quick]

Measures, each beside a baseline taken in the same run (machines here are shared and noisy):
`session.execute "(+ 1 2)"` round trips (baseline: `server.ping`), the whole process
`omegacli -s bench -c '(+ 1 2)'` (baseline: `python -c pass`), `session.list` over 1 000 sessions,
8 clients on 8 sessions, `server.ping` while another session spins, and interrupt latency.
Prints a table and writes bench/results/sessions.json.
"""

from __future__ import annotations

import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.table import report  # noqa: E402
from omegacli.client import Client  # noqa: E402


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def timed_calls(client: Client, method: str, params: dict, n: int) -> list[float]:
    out = []
    for _ in range(n):
        t = time.perf_counter()
        client.call(method, params)
        out.append(time.perf_counter() - t)
    return out


def start_daemon(root: Path, *flags: str, code: Path = ROOT, under: tuple[str, ...] = (),
                 timeout: float = 10) -> tuple[subprocess.Popen, Path]:
    """omegad from the checkout at `code` (this one unless a baseline is measured), run `under`
    another program if given (valgrind …), listening within `timeout` seconds. It runs in
    `code`: `python -m` puts the working directory before PYTHONPATH, so a baseline daemon
    started from this checkout's directory ran this checkout's omegad."""
    sock = root / "omegad.sock"
    env = dict(os.environ, PYTHONPATH=str(code))
    proc = subprocess.Popen(
        [*under, sys.executable, "-m", "omegad", "--foreground", "--socket", str(sock),
         "--session-dir", str(root / "sd"), "--log-level", "warning", *flags],
        env=env, cwd=code, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        s = socket.socket(socket.AF_UNIX)
        try:
            s.connect(str(sock))
            return proc, sock
        except OSError:
            time.sleep(0.01)
        finally:
            s.close()
    proc.kill()
    raise SystemExit("omegad did not start")


def connect(sock: Path, root: Path) -> Client:
    c = Client.connect(str(sock))
    c.call("server.hello", {"client": "bench", "session_dir": str(root / "sd"), "env": {}})
    return c


def process_time(cmd: list[str], n: int, env: dict) -> float:
    """Median wall time of a whole process. Its end is seen at once: `wait()` without a timeout
    blocks in waitpid, where a timeout polls with sleeps that grow to 50 ms (in CPython) and
    would add their own milliseconds to every figure; a watchdog kills a process that hangs."""
    times = []
    for _ in range(n):
        t = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL)
        watchdog = threading.Timer(60, proc.kill)
        watchdog.start()
        code = proc.wait()
        times.append(time.perf_counter() - t)
        watchdog.cancel()
        if code != 0:
            raise SystemExit(f"{cmd} exited with {code}")
    return statistics.median(times)


def main() -> None:
    quick = "--quick" in sys.argv
    n_calls = 2_000 if quick else 10_000
    root = Path(tempfile.mkdtemp(prefix="omb-", dir="/tmp"))
    proc, sock = start_daemon(root)
    results: dict[str, float] = {}
    try:
        c = connect(sock, root)
        c.call("session.execute", {"session": "bench", "command": "(define y 1)"})
        ping = timed_calls(c, "server.ping", {}, n_calls)
        exe = timed_calls(c, "session.execute", {"session": "bench", "command": "(+ 1 2)"},
                          n_calls)
        results |= {
            "ping_p50_us": percentile(ping, 0.5) * 1e6,
            "execute_p50_us": percentile(exe, 0.5) * 1e6,
            "execute_p99_us": percentile(exe, 0.99) * 1e6,
        }
        results["execute_p50_ratio_to_ping"] = results["execute_p50_us"] / results["ping_p50_us"]

        env = dict(os.environ, PYTHONPATH=str(ROOT), OMEGAD_SOCKET=str(sock),
                   OMEGA_SESSION_DIR=str(root / "sd"))
        base = process_time([sys.executable, "-c", "pass"], 20, env)
        one = process_time([sys.executable, "-m", "omegacli", "-s", "bench", "-c", "(+ 1 2)"],
                           20, env)
        results |= {"python_pass_ms": base * 1e3, "oneshot_ms": one * 1e3,
                    "oneshot_ratio": one / base}

        n_sessions = 200 if quick else 1_000
        for i in range(n_sessions):
            c.call("session.execute", {"session": f"s{i}", "command": "(define a 1)"})
        lists = timed_calls(c, "session.list", {}, 50)
        results["list_ms"] = statistics.median(lists) * 1e3
        results["list_sessions"] = n_sessions

        results["commands_per_s_8_clients"] = throughput(sock, root, 8, 300 if quick else 1_000)

        spinner = connect(sock, root)
        rid = spinner.start("session.execute",
                            {"session": "spin", "command": "(let loop ((i 0)) (loop (+ i 1)))"})
        time.sleep(0.2)  # let the spin get going; this is load, not a condition
        during = timed_calls(c, "server.ping", {}, 500)
        results["ping_p99_during_spin_ms"] = percentile(during, 0.99) * 1e3
        t = time.perf_counter()
        c.call("session.interrupt", {"session": "spin"})
        try:
            spinner.wait(rid)
        except Exception:
            pass
        results["interrupt_ms"] = (time.perf_counter() - t) * 1e3
    finally:
        proc.terminate()
        proc.wait(10)
        shutil.rmtree(root, ignore_errors=True)
    report("sessions", results, GOALS)


def _client_process(sock: str, root: str, i: int, per_client: int, ready, go) -> None:
    c = connect(Path(sock), Path(root))
    ready.release()
    go.wait()
    for _ in range(per_client):
        c.call("session.execute", {"session": f"t{i}", "command": "(+ 1 2)"})


def throughput(sock: Path, root: Path, clients: int, per_client: int) -> float:
    """Commands per second from `clients` client processes, one session each."""
    import multiprocessing as mp

    ready, go = mp.Semaphore(0), mp.Event()
    procs = [mp.Process(target=_client_process, args=(str(sock), str(root), i, per_client,
                                                      ready, go)) for i in range(clients)]
    for p in procs:
        p.start()
    for _ in procs:
        ready.acquire()
    t = time.perf_counter()
    go.set()
    for p in procs:
        p.join()
    return clients * per_client / (time.perf_counter() - t)


GOALS = {
    "execute_p50_us": ("≤ 150", lambda v: v <= 150),
    "execute_p99_us": ("≤ 1000", lambda v: v <= 1000),
    "oneshot_ms": ("≤ 50 (quiet machine)", lambda v: v <= 50),
    "oneshot_ratio": ("≤ 2× python -c pass", lambda v: v <= 2),
    "list_ms": ("≤ 2", lambda v: v <= 2),
    "commands_per_s_8_clients": ("≥ 5000", lambda v: v >= 5000),
    "ping_p99_during_spin_ms": ("≤ 20", lambda v: v <= 20),
    "interrupt_ms": ("≤ 100", lambda v: v <= 100),
}


if __name__ == "__main__":
    main()
