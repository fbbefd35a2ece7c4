"""Persistence benchmarks: constant cost per command, bytes on disk, reopening after a restart.

    python bench/persistence.py [--quick]

10 000 `(define xN N)` commands in one session (the time per command of the first and the last
1 000, and their ratio: the cost must not grow with the session), bytes on disk per command,
then daemon restarts: the first `session.list` over 1 000 sessions (median of 5 restarts),
opening the session and `goto` to a random checkpoint, and `:session load / checkpoints / fork`
and the first page of `trace` on the big session, in the daemon and as whole `omegacli -s … -c`
processes; fsync policies side by side. Then the big session opened after each kind of damage to
one of its files, beside its clean open in the same run (`--damage-only`: just these, on a
session built for them), and the cost of a command's appends, and of whole commands, with the
storage checks (a failed write rolled back, the checkpoint file's running CRC) and without them.
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
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
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
    if "--damage-only" in sys.argv:
        damage_only("--quick" in sys.argv)
        return
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
    results |= damaged_opens(root, "big")
    results |= append_costs(20_000)
    results |= command_costs(2_000)
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


# --- damaged files (issue 17) ---------------------------------------------------------------------

def _flip(path: Path, at: int) -> None:
    data = bytearray(path.read_bytes())
    data[at] ^= 0x5A
    path.write_bytes(bytes(data))


def _ckpt_offsets(path: Path) -> list[int]:
    from omegad.persist.checkpoints import CheckpointFile

    return [e.offset for e in CheckpointFile.open(path).entries]


def _damages(sessions: Path, name: str) -> dict[str, Callable[[], None]]:
    """Each kind of damage, as a function that makes it to the files under `sessions`."""
    ckpt, journal = sessions / f"{name}.ckpt", sessions / f"{name}.jsonl"

    def record(which: float) -> Callable[[], None]:
        def flip() -> None:
            offsets = _ckpt_offsets(ckpt)
            _flip(ckpt, offsets[int((len(offsets) - 1) * which)] + 30)
        return flip

    def middle_line() -> None:
        data = journal.read_bytes()
        _flip(journal, data.index(b"\n", len(data) // 2) + 1)

    return {
        "ckpt_first_record_flipped": record(0),
        "ckpt_middle_record_flipped": record(0.5),
        "ckpt_last_record_flipped": record(1),
        "ckpt_header_flipped": lambda: _flip(ckpt, 3),
        "ckpt_zeros_appended": lambda: ckpt.write_bytes(ckpt.read_bytes() + bytes(4096)),
        "ckpt_deleted": lambda: ckpt.unlink(),
        "ckpt_mark_stale": lambda: _flip(sessions / f"{name}.ckpt.sum", 9),
        "index_flipped": lambda: _flip(sessions / f"{name}.index.json", 0),
        "defs_flipped": lambda: _flip(sessions / f"{name}.defs", 3),
        "journal_garbage_appended": lambda: journal.write_bytes(
            journal.read_bytes() + b"\x00garbage\n" + os.urandom(100)),
        "journal_middle_line_flipped": middle_line,
    }


def damaged_opens(root: Path, name: str, rounds: int = 3) -> dict[str, float]:
    """`session.open` of the big session after a restart, on a fresh copy of its files each
    time: clean (and, given OMEGA_BENCH_BASELINE, by that checkout's daemon, three times each
    per round, alternating which goes first) and after each damage, in rounds that interleave
    them all (a loaded machine's noise falls on each alike); medians."""
    sessions = root / "sd" / "sessions"
    pristine = root / "pristine"
    shutil.rmtree(pristine, ignore_errors=True)
    shutil.copytree(sessions, pristine)
    baseline = os.environ.get("OMEGA_BENCH_BASELINE")  # another checkout (e.g. main before)
    kinds = list(_damages(sessions, name))
    times: dict[str, list[float]] = {}
    for _round in range(rounds):
        for pair in range(3 if baseline else 1):  # (the clean open's ratio: more samples)
            order = (ROOT,) if not baseline else \
                (ROOT, Path(baseline)) if pair % 2 else (Path(baseline), ROOT)
            for code in order:
                key = "open_clean_ms" if code == ROOT else "open_clean_baseline_ms"
                times.setdefault(key, []).append(_open_ms(root, name, pristine, code=code))
        for kind in kinds:
            times.setdefault(f"open_{kind}_ms", []).append(_open_ms(root, name, pristine, kind))
    out = {key: statistics.median(values) for key, values in times.items()}
    clean = out["open_clean_ms"]
    if baseline:
        out["open_clean_to_baseline_ratio"] = clean / out["open_clean_baseline_ms"]
        out |= ckpt_open_vs(Path(baseline), pristine / f"{name}.ckpt")
    for kind in kinds:
        out[f"open_{kind}_ratio"] = out[f"open_{kind}_ms"] / clean
    shutil.rmtree(sessions)
    shutil.copytree(pristine, sessions)
    shutil.rmtree(pristine, ignore_errors=True)
    return out


def ckpt_open_vs(baseline: Path, ckpt: Path) -> dict[str, float]:
    """The part of opening the storage checks changed, in this process and so without the
    machine's noise between daemons: reading the checkpoint file's records (CRCs past the
    clean mark checked) beside the baseline checkout's reading of them, interleaved."""
    import importlib.util

    from omegad.persist.checkpoints import CheckpointFile

    spec = importlib.util.spec_from_file_location(
        "baseline_checkpoints", baseline / "omegad" / "persist" / "checkpoints.py")
    assert spec is not None and spec.loader is not None
    old = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = old  # (its dataclasses look their module up)
    spec.loader.exec_module(old)
    work = Path(tempfile.mkdtemp(prefix="omc-", dir="/tmp"))
    try:
        copy = work / ckpt.name
        shutil.copy(ckpt, copy)
        if ckpt.with_name(ckpt.name + ".sum").exists():
            shutil.copy(ckpt.with_name(ckpt.name + ".sum"), work)
        ours, theirs = [], []
        for _ in range(20):
            ours.append(timed(lambda: CheckpointFile.open(copy)))
            theirs.append(timed(lambda: old.CheckpointFile.open(copy)))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    mine, base = statistics.median(ours), statistics.median(theirs)
    return {"ckpt_open_ms": mine, "ckpt_open_baseline_ms": base,
            "ckpt_open_to_baseline_ratio": mine / base}


def _open_ms(root: Path, name: str, pristine: Path, kind: str | None = None,
             code: Path = ROOT) -> float:
    """`session.open` of a fresh copy of the session's files (damaged by `kind`) in a daemon
    run from the checkout at `code`."""
    sessions = root / "sd" / "sessions"
    shutil.rmtree(sessions)
    shutil.copytree(pristine, sessions)
    if kind is not None:
        _damages(sessions, name)[kind]()
    proc, sock = start_daemon(root, code=code)
    try:
        c = connect(sock, root)
        return timed(lambda: c.call("session.open", {"session": name}))
    finally:
        proc.terminate()
        proc.wait(10)


def append_costs(n: int) -> dict[str, float]:
    """A command's appends (its four journal events, then its state record) through the real
    writers, with the storage checks and without them (`checks_off`): in the same two files,
    alternating every few commands (so the file system's state and the machine's load fall on
    both alike); medians of the blocks."""
    times = _appends_us(n)
    with_checks, without = statistics.median(times[True]), statistics.median(times[False])
    return {"appends_with_checks_us": with_checks, "appends_without_checks_us": without,
            "appends_checks_ratio": with_checks / without}


def command_costs(n: int) -> dict[str, float]:
    """Whole commands (`(define xI I)` over the socket of a real daemon in this process: its
    actor, journal and checkpoint file) with the storage checks and without them."""
    import trio

    with_checks, without = _with_and_without_checks(lambda: trio.run(_commands_ms, n // 8), 8)
    return {"cmd_with_checks_ms": with_checks, "cmd_without_checks_ms": without,
            "cmd_checks_ratio": with_checks / without}


def _with_and_without_checks(measure: Callable[[], float], rounds: int) -> tuple[float, float]:
    """Medians of `measure()` with the storage checks on and off, in interleaved rounds that
    alternate which goes first (no order favoured)."""
    times: dict[bool, list[float]] = {True: [], False: []}
    for r in range(rounds):
        for on in ((True, False) if r % 2 else (False, True)):
            if on:
                times[on].append(measure())
            else:
                with checks_off():
                    times[on].append(measure())
    return statistics.median(times[True]), statistics.median(times[False])


@contextmanager
def checks_off() -> Iterator[None]:
    """The appends without the storage checks: a failed write not rolled back (a plain write
    loop) and the checkpoint file's running CRC not counted."""
    from omegad.persist import checkpoints, journal

    checked = (journal.append_or_roll_back, checkpoints.append_or_roll_back,
               checkpoints.CheckpointFile.count)

    def plain_append(fd: int, blob: bytes, _size: int, _path: Path) -> None:
        view = memoryview(blob)
        while view:
            view = view[os.write(fd, view):]

    journal.append_or_roll_back = checkpoints.append_or_roll_back = plain_append
    checkpoints.CheckpointFile.count = lambda self, appended: None  # type: ignore[method-assign]
    try:
        yield
    finally:
        journal.append_or_roll_back, checkpoints.append_or_roll_back, \
            checkpoints.CheckpointFile.count = checked  # type: ignore[method-assign]


async def _commands_ms(n: int) -> float:
    from tests.storage.inprocess import running

    root = Path(tempfile.mkdtemp(prefix="omk-", dir="/tmp"))
    try:
        async with running(root) as d:
            await d.execute("c", "(define warm 0)")
            t = time.perf_counter()
            for i in range(n):
                await d.execute("c", f"(define x{i} {i})")
            return (time.perf_counter() - t) / n * 1e3
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _appends_us(n: int, block: int = 50) -> dict[bool, list[float]]:
    """Microseconds per command's appends, per block of `block` commands, by whether the
    storage checks were on (blocks alternate, each pair in turn starting with the other)."""
    from omegad.persist import events as ev
    from omegad.persist.checkpoints import DELTA, FULL, CheckpointFile, Record
    from omegad.persist.journal import JournalWriter

    root = Path(tempfile.mkdtemp(prefix="oma-", dir="/tmp"))
    state = os.urandom(300)  # about a define's delta
    times: dict[bool, list[float]] = {True: [], False: []}
    try:
        writer = JournalWriter.create(root / "a.jsonl", ev.header("a"))
        ckpt = CheckpointFile.open(root / "a.ckpt")
        for b in range(n // block):
            on = (b % 2 == 0) == (b // 2 % 2 == 0)
            with nullcontext() if on else checks_off():
                t = time.perf_counter()
                for i in range(b * block, (b + 1) * block):
                    seq = writer.next_seq
                    writer.write([ev.input_event(seq, "(define x 1)"),
                                  ev.step_event(seq + 1, 0, "x"), ev.result_event(seq + 2, "x"),
                                  ev.checkpoint_event(seq + 3, 0, "manual")])
                    ckpt.append(Record(seq + 3, DELTA if i else FULL, "null", state,
                                       writer.size))
                times[on].append((time.perf_counter() - t) / block * 1e6)
        writer.close()
        ckpt.close()
        return times
    finally:
        shutil.rmtree(root, ignore_errors=True)


def damage_only(quick: bool) -> None:
    n = 2_000 if quick else 10_000
    root = Path(tempfile.mkdtemp(prefix="omd-", dir="/tmp"))
    results: dict[str, float] = {"commands": n}
    proc, sock = start_daemon(root)
    try:
        c = connect(sock, root)
        for i in range(n):
            run(c, "big", f"(define x{i} {i})")
        c.call("server.flush")
        t = time.perf_counter()
        for i in range(200):
            run(c, "big", f"(define y{i} {i})")
        results["ms_per_cmd_after"] = (time.perf_counter() - t) / 200 * 1e3
        c.call("server.flush")
    finally:
        proc.terminate()
        proc.wait(10)
    try:
        results |= damaged_opens(root, "big")
        results |= append_costs(20_000)
        results |= command_costs(2_000)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    report("persistence_damage", results, GOALS)


GOALS = {
    "last_to_first_ratio": ("≤ 1.2", lambda v: v <= 1.2),
    "bytes_per_cmd": ("≤ 2048", lambda v: v <= 2048),
    "open_goto_after_restart_ms": ("≤ 50", lambda v: v <= 50),
    "list_after_restart_ms": ("≤ 5", lambda v: v <= 5),
    "load_ms": ("≤ 20", lambda v: v <= 20),
    "checkpoints_ms": ("≤ 20", lambda v: v <= 20),
    "fork_ms": ("≤ 20", lambda v: v <= 20),
    "trace_page_ms": ("≤ 20", lambda v: v <= 20),
    "appends_checks_ratio": ("≤ 1.05", lambda v: v <= 1.05),
    "cmd_checks_ratio": ("≤ 1.05", lambda v: v <= 1.05),
    "open_clean_to_baseline_ratio": ("≤ 1.10", lambda v: v <= 1.10),
    "ckpt_open_to_baseline_ratio": ("≤ 1.10", lambda v: v <= 1.10),
    **{f"open_{k}_ms": ("≤ 2000", lambda v: v <= 2000) for k in (
        "ckpt_first_record_flipped", "ckpt_middle_record_flipped", "ckpt_last_record_flipped",
        "ckpt_header_flipped", "ckpt_zeros_appended", "ckpt_deleted", "ckpt_mark_stale",
        "index_flipped", "defs_flipped", "journal_garbage_appended",
        "journal_middle_line_flipped")},
    "oneshot_checkpoints_ms": ("≤ 50 (quiet machine)", lambda v: v <= 50),
}


if __name__ == "__main__":
    main()
