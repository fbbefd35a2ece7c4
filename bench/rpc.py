"""RPC benchmark: round-trip latency, concurrent throughput, one-shot client process time.

    python bench/rpc.py          (or `make bench`)

Starts its own omegad and a bare trio echo server (the baseline) on temp sockets, measures both
with the same blocking stdlib client (alternating between them, so that a noisy machine loads both
alike), prints a table and writes bench/results/rpc.json.
Goals (issue 3): ping p50 <= 60 us and <= 2x echo p50; p99 <= 250 us; one-shot <= 50 ms on a quiet
machine and <= 2x `python -c pass` measured in the same run.
"""

import json
import os
import platform
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
RESULTS = ROOT / "bench" / "results" / "rpc.json"
CALLS = 10_000
WARMUP = 1_000
CLIENTS = 16
CALLS_PER_CLIENT = 1_000
ONESHOT_RUNS = 20

PING = b'{"jsonrpc":"2.0","method":"server.ping","id":1}\n'
# A ping that takes the task path (own task + cancel scope), as waiting methods such as
# session.execute do; informational.
TASK_PING = b'{"jsonrpc":"2.0","method":"server.ping","params":{"delay":1e-9},"id":1}\n'

ECHO_SERVER = """
import sys, trio

async def echo(stream):
    async with stream:
        async for data in stream:
            await stream.send_all(data)

async def main(path):
    sock = trio.socket.socket(trio.socket.AF_UNIX, trio.socket.SOCK_STREAM)
    await sock.bind(path)
    sock.listen(512)
    print("ready", flush=True)
    await trio.serve_listeners(echo, [trio.SocketListener(sock)])

trio.run(main, sys.argv[1])
"""


class LineClient:
    def __init__(self, path: str):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(path)
        self.buf = b""

    def roundtrip(self, line: bytes) -> bytes:
        self.sock.sendall(line)
        buf = self.buf
        while b"\n" not in buf:
            buf += self.sock.recv(65536)
        reply, _, self.buf = buf.partition(b"\n")
        return reply

    def close(self) -> None:
        self.sock.close()


def wait_listening(path: str, proc: subprocess.Popen, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(path)
            return
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"nothing listens on {path}") from None
            time.sleep(0.005)
        finally:
            s.close()


def latencies(paths: list[str], line: bytes, block: int = 500) -> list[dict]:
    """Round-trip times against each server, measured in alternating blocks so that load
    changes on a shared machine hit all of them alike."""
    clients = [LineClient(p) for p in paths]
    for c in clients:
        for _ in range(WARMUP):
            c.roundtrip(line)
    samples: list[list[int]] = [[] for _ in paths]
    clock = time.perf_counter_ns
    for _ in range(CALLS // block):
        for c, out in zip(clients, samples, strict=True):
            for _ in range(block):
                t0 = clock()
                c.roundtrip(line)
                out.append(clock() - t0)
    for c in clients:
        c.close()
    stats = []
    for out in samples:
        out.sort()
        stats.append(
            {
                "p50_us": out[len(out) // 2] / 1000,
                "p99_us": out[int(len(out) * 0.99)] / 1000,
                "mean_us": statistics.fmean(out) / 1000,
            }
        )
    return stats


def throughput(path: str, line: bytes) -> float:
    clients = [LineClient(path) for _ in range(CLIENTS)]
    barrier = threading.Barrier(CLIENTS + 1)

    def run(c: LineClient) -> None:
        barrier.wait()
        for _ in range(CALLS_PER_CLIENT):
            c.roundtrip(line)

    threads = [threading.Thread(target=run, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    barrier.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    for c in clients:
        c.close()
    return CLIENTS * CALLS_PER_CLIENT / elapsed


def process_ms(cmds: list[list[str]], env: dict) -> list[float]:
    """Median whole-process time of each command, runs interleaved."""
    times: list[list[float]] = [[] for _ in cmds]
    for _ in range(ONESHOT_RUNS):
        for cmd, out in zip(cmds, times, strict=True):
            t0 = time.perf_counter()
            subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, check=True)
            out.append((time.perf_counter() - t0) * 1000)
    return [statistics.median(t) for t in times]


def main() -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="ombench-", dir="/tmp"))
    sock = tmp / "omegad.sock"
    echo_sock = tmp / "echo.sock"
    env = dict(os.environ, OMEGAD_SOCKET=str(sock), OMEGA_SESSION_DIR=str(tmp / "sessions"))
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    daemon = subprocess.Popen(
        [sys.executable, "-m", "omegad", "--foreground", "--log-level", "warning"],
        env=env,
        stderr=subprocess.DEVNULL,
    )
    echo = subprocess.Popen(
        [sys.executable, "-c", ECHO_SERVER, str(echo_sock)], stdout=subprocess.DEVNULL
    )
    try:
        wait_listening(str(sock), daemon)
        wait_listening(str(echo_sock), echo)
        ping, base = latencies([str(sock), str(echo_sock)], PING)
        task_ping, task_base = latencies([str(sock), str(echo_sock)], TASK_PING)
        # Throughput: best of two alternating runs each.
        runs = [(throughput(str(sock), PING), throughput(str(echo_sock), PING)) for _ in range(2)]
        ping_tput = max(r[0] for r in runs)
        echo_tput = max(r[1] for r in runs)
        cli = shutil.which("omegacli", path=str(Path(sys.executable).parent))
        cli_cmd = [cli] if cli else [sys.executable, "-m", "omegacli"]
        oneshot, python_pass = process_ms(
            [[*cli_cmd, "call", "server.ping"], [sys.executable, "-c", "pass"]], env
        )
    finally:
        for p in (daemon, echo):
            p.terminate()
            p.wait(10)
        shutil.rmtree(tmp, ignore_errors=True)

    rows = [
        (
            "ping p50 (us)",
            ping["p50_us"],
            "echo p50",
            base["p50_us"],
            "<= 60 and <= 2x",
            ping["p50_us"] <= 60 and ping["p50_us"] <= 2 * base["p50_us"],
        ),
        (
            "ping p99 (us)",
            ping["p99_us"],
            "echo p99",
            base["p99_us"],
            "<= 250",
            ping["p99_us"] <= 250,
        ),
        (
            "task-path ping p50 (us)",
            task_ping["p50_us"],
            "echo p50",
            task_base["p50_us"],
            "-",
            None,
        ),
        (f"{CLIENTS} clients (calls/s)", ping_tput, "echo calls/s", echo_tput, "-", None),
        (
            "one-shot call (ms)",
            oneshot,
            "python -c pass",
            python_pass,
            "<= 50 and <= 2x",
            oneshot <= 50 and oneshot <= 2 * python_pass,
        ),
    ]
    print(f"{'metric':<24}{'omega':>12}  {'baseline':<16}{'value':>10}{'ratio':>8}  {'goal':<18}ok")
    for name, value, bname, bvalue, goal, ok in rows:
        mark = "-" if ok is None else ("yes" if ok else "NO")
        print(
            f"{name:<24}{value:>12.1f}  {bname:<16}{bvalue:>10.1f}{value / bvalue:>8.2f}  "
            f"{goal:<18}{mark}"
        )
    result = {
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
        },
        "calls": CALLS,
        "ping": ping,
        "echo": base,
        "ping_p50_ratio_to_echo": ping["p50_us"] / base["p50_us"],
        "task_path_ping": task_ping,
        "throughput": {
            "clients": CLIENTS,
            "calls_per_client": CALLS_PER_CLIENT,
            "ping_calls_per_s": ping_tput,
            "echo_calls_per_s": echo_tput,
        },
        "oneshot": {
            "omegacli_call_server_ping_ms": oneshot,
            "python_c_pass_ms": python_pass,
            "ratio": oneshot / python_pass,
            "runs": ONESHOT_RUNS,
            "statistic": "median",
        },
        "goals_met": {name: ok for name, *_, ok in rows if ok is not None},
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {RESULTS.relative_to(ROOT)}")
    return result


if __name__ == "__main__":
    main()
