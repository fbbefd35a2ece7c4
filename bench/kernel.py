"""The Jupyter kernel (issue 20): omega's kernel beside ipykernel's own Python kernel.

    python bench/kernel.py [--quick]

Both kernels run from kernelspecs installed in a temp prefix, started by jupyter_client as a
notebook server starts them, and are measured the same way in the same run:
- a trivial cell's round trip — `(+ 1 2)` on omega (through omegad), `1+1` on ipykernel — from
  sending execute_request until its execute_reply and the kernel's `idle` have both come back
  (what a frontend waits for), p50/p99 over 500 cells, the two kernels taking turns in blocks;
- start-up: from starting the kernel process to its first kernel_info_reply (median of 7 each).
Goals: omega's cell ≤ 1.2× ipykernel's; omega's start-up ≤ ipykernel's + 100 ms.
Prints a table and writes bench/results/kernel.json.
"""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from jupyter_client.blocking.client import BlockingKernelClient  # noqa: E402
from jupyter_client.manager import KernelManager  # noqa: E402

from bench.sessions import percentile, start_daemon  # noqa: E402
from bench.table import report  # noqa: E402
from omegacli.kernel import spec  # noqa: E402

OMEGA, PYTHON = "omega-bench", "python-bench"
CELLS = {OMEGA: ("(+ 1 2)", "3"), PYTHON: ("1+1", "2")}
BLOCK = 50  # cells per turn


def install(prefix: Path) -> None:
    """Both kernelspecs; omega's modules byte-compiled as pip compiles ipykernel's at install
    (an editable checkout under PYTHONDONTWRITEBYTECODE would compile them at every start)."""
    import compileall

    from ipykernel.kernelspec import install as install_ipykernel

    for package in ("omegacli", "protocol"):
        compileall.compile_dir(str(HERE.parent / package), quiet=1)

    spec.install(OMEGA, "bench", prefix=str(prefix))
    install_ipykernel(prefix=str(prefix), kernel_name=PYTHON)


def start(name: str) -> tuple[KernelManager, BlockingKernelClient, float]:
    """A started kernel, its client, and the seconds until its first kernel_info_reply."""
    t = time.perf_counter()
    km = KernelManager(kernel_name=name)
    km.start_kernel()
    kc = km.client()
    kc.start_channels()
    kc.wait_for_ready(timeout=60)
    return km, kc, time.perf_counter() - t


def stop(km: KernelManager, kc: BlockingKernelClient) -> None:
    kc.stop_channels()
    km.shutdown_kernel(now=True)


def cell(kc: BlockingKernelClient, code: str, expected: str) -> float:
    t = time.perf_counter()
    msg_id = kc.execute(code)
    result = None
    idle = replied = False
    while not (idle and replied):
        if not replied and kc.shell_channel.msg_ready():
            reply = kc.get_shell_msg()
            replied = reply["parent_header"].get("msg_id") == msg_id
            continue
        msg = kc.get_iopub_msg(timeout=30)
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        if msg["msg_type"] == "execute_result":
            result = msg["content"]["data"]["text/plain"]
        idle |= msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle"
        if idle and not replied:
            replied = kc.get_shell_msg(timeout=30)["parent_header"].get("msg_id") == msg_id
    elapsed = time.perf_counter() - t
    assert result == expected, (code, result)
    return elapsed


def main() -> None:
    quick = "--quick" in sys.argv
    n_cells, n_starts = (100, 3) if quick else (500, 7)
    root = Path(tempfile.mkdtemp(prefix="omk-bench-", dir="/tmp"))
    proc, sock = start_daemon(root)
    saved = dict(os.environ)
    os.environ.update(OMEGAD_SOCKET=str(sock), OMEGA_SESSION_DIR=str(root / "sd"),
                      JUPYTER_PATH=str(root / "jupyter" / "share" / "jupyter"),
                      JUPYTER_RUNTIME_DIR=str(root / "runtime"), IPYTHONDIR=str(root / "ipy"),
                      PYTHONPATH=str(HERE.parent))
    results: dict[str, float] = {}
    try:
        install(root / "jupyter")
        starts: dict[str, list[float]] = {OMEGA: [], PYTHON: []}
        for _ in range(n_starts):
            for name in (PYTHON, OMEGA):
                km, kc, seconds = start(name)
                starts[name].append(seconds)
                stop(km, kc)
        kernels = {name: start(name)[:2] for name in (PYTHON, OMEGA)}
        times: dict[str, list[float]] = {OMEGA: [], PYTHON: []}
        for name, (_, kc) in kernels.items():
            for _ in range(20):  # warm up both
                cell(kc, *CELLS[name])
        while len(times[OMEGA]) < n_cells:
            for name, (_, kc) in kernels.items():
                times[name] += [cell(kc, *CELLS[name]) for _ in range(BLOCK)]
        for km, kc in kernels.values():
            stop(km, kc)
        for name, key in ((OMEGA, "omega"), (PYTHON, "ipykernel")):
            results[f"{key}_cell_p50_ms"] = percentile(times[name], 0.5) * 1e3
            results[f"{key}_cell_p99_ms"] = percentile(times[name], 0.99) * 1e3
            results[f"{key}_startup_ms"] = statistics.median(starts[name]) * 1e3
        results["cell_p50_ratio"] = results["omega_cell_p50_ms"] / results["ipykernel_cell_p50_ms"]
        results["cell_p99_ratio"] = results["omega_cell_p99_ms"] / results["ipykernel_cell_p99_ms"]
        results["startup_minus_ipykernel_ms"] = (results["omega_startup_ms"]
                                                 - results["ipykernel_startup_ms"])
        results["load_avg_1min"] = os.getloadavg()[0]
    finally:
        os.environ.clear()
        os.environ.update(saved)
        proc.terminate()
        proc.wait(10)
        shutil.rmtree(root, ignore_errors=True)
    report("kernel", results, GOALS)


GOALS = {
    "cell_p50_ratio": ("≤ 1.2× ipykernel's 1+1", lambda v: v <= 1.2),
    "startup_minus_ipykernel_ms": ("≤ +100 ms", lambda v: v <= 100),
}


if __name__ == "__main__":
    main()
