"""Instructions per command, counted by valgrind's callgrind, beside a base commit's: a figure
this shared machine's noise does not move. Runs of the same code agree within 2.5 % for
`session.execute`. `server.ping` is ~9x cheaper, so the daemon's timers (its collector, fsyncs)
firing during the count weigh on it: its runs moved by up to 40 %.

    python bench/instructions.py [--quick] [--base COMMIT]

Starts this checkout's daemon and BASE's (default a8a8f8f, the commit before `omegad/sessions`
was re-cut; checked out in a temporary worktree), each under callgrind, warms each up, then
counts the daemon's instructions per request: `session.execute "(+ 1 2)"` from one client, the
same from 8 clients on 8 sessions at once, and `server.ping`. Skipped where valgrind is not
installed. Prints a table and writes bench/results/instructions.json.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.sessions import connect, start_daemon  # noqa: E402
from bench.table import report  # noqa: E402
from bench.worktree import checked_out  # noqa: E402
from omegacli.client import Client  # noqa: E402

BASE = "a8a8f8f"
GOALS = {f"{key}_ratio": ("≤ 1.05", lambda v: v <= 1.05)
         for key in ("execute", "execute_8_clients", "ping")}


def _execute(session: int) -> dict[str, str]:
    return {"session": f"s{session}", "command": "(+ 1 2)"}


class CountedDaemon:
    """A daemon from `tree`'s code under callgrind; `count(work, n)` is its instructions per
    request while `work` sends `n` requests."""

    def __init__(self, tree: Path, root: Path) -> None:
        root.mkdir(parents=True)
        self.root = root
        self.out = root / "callgrind.out"
        self.dumps = 0
        under = ("valgrind", "--tool=callgrind", f"--callgrind-out-file={self.out}")
        self.proc, self.sock = start_daemon(root, code=tree, under=under,
                                            timeout=300)  # (valgrind starts Python slowly)

    def client(self) -> Client:
        return connect(self.sock, self.root)

    def count(self, work: Callable[[], None], n: int) -> float:
        self._control("-z")
        work()
        self._control("-d")
        self.dumps += 1
        dump = Path(f"{self.out}.{self.dumps}")
        summary = next(line for line in dump.read_text().splitlines()
                       if line.startswith("summary:"))
        return int(summary.split()[1]) / n

    def _control(self, flag: str) -> None:
        subprocess.run(["callgrind_control", flag, str(self.proc.pid)], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(60)


def figures(tree: Path, root: Path, n: int) -> dict[str, float]:
    d = CountedDaemon(tree, root)
    try:
        clients = [d.client() for _ in range(8)]
        for i, c in enumerate(clients):  # warm: every session open, every path taken
            _repeat(c, "session.execute", _execute(i), 50)
        one = clients[0]
        return {
            "execute": d.count(lambda: _repeat(one, "session.execute", _execute(0), n), n),
            "execute_8_clients": d.count(lambda: _in_parallel(clients, n // 8), n // 8 * 8),
            "ping": d.count(lambda: _repeat(one, "server.ping", {}, n), n),
        }
    finally:
        d.stop()


def _repeat(c: Client, method: str, params: dict, n: int) -> None:
    for _ in range(n):
        c.call(method, params)


def _in_parallel(clients: list[Client], each: int) -> None:
    threads = [threading.Thread(target=_repeat, args=(c, "session.execute", _execute(i), each))
               for i, c in enumerate(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def main() -> None:
    if shutil.which("valgrind") is None or shutil.which("callgrind_control") is None:
        print("valgrind is not installed: instructions not counted")
        return
    n = 400 if "--quick" in sys.argv else 800
    base = sys.argv[sys.argv.index("--base") + 1] if "--base" in sys.argv else BASE
    with tempfile.TemporaryDirectory(prefix="omega-instr-") as tmp:
        work = Path(tmp)
        this = figures(ROOT, work / "this", n)
        with checked_out(base, work / "base") as tree:
            before = figures(tree, work / "base-run", n)
    results: dict[str, float] = {}
    for key, value in this.items():
        results[f"{key}_this"] = round(value)
        results[f"{key}_base"] = round(before[key])
        results[f"{key}_ratio"] = value / before[key]
    print(f"daemon instructions per request, this checkout and {base}")
    report("instructions", results, GOALS)


if __name__ == "__main__":
    main()
