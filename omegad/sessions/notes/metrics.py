"""Per-session metrics (the plan's SessionMonitor), recorded in O(1) per command.

`record` is called once per command, after it ran: a counter, a ring of the last 100 execution
times with a running sum, and a flag when the command grew the state's allocation counter. Peak
memory is the evaluator's own accounting (`memory_estimate`, a walk of the user's heap): never in
a command's path, but sampled from a task of its own, at most once a second and adaptively less
often when a walk is slow (so walks cost at most ~2 % of the time), and on demand when metrics
are asked for. `OMEGAD_METRICS=off` turns recording off (the benchmark's baseline).

Metrics are saved in the session's notes file when it is flushed, evicted or closed (like the
reference index: a `kill -9` loses the counts since the last save, never the session).
"""

from __future__ import annotations

import logging
import os
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from omegad.lang import memory_estimate
from omegad.lang.api import memory_estimate_steps
from omegad.lang.steps import advance
from omegad.sessions.notes.file import NotesBook, NotesError
from omegad.sessions.store import SessionStore

if TYPE_CHECKING:
    from omegad.lang import api
    from omegad.sessions.mailbox import Job


class Measured(Protocol):
    """What metrics read of a session's actor (interface.Session has it all; naming that here
    would make interface.py, which names the Monitor, and this module import each other)."""

    name: str
    store: SessionStore
    state: api.ReplState
    closed: bool

    @property
    def busy(self) -> bool: ...

log = logging.getLogger("omegad.sessions")

WINDOW = 100  # execution times kept for the mean and p95
SAMPLE_EVERY = 1.0  # seconds between background memory walks, at least
WALK_SHARE = 50  # ... and at least 50 × the last walk's duration


@dataclass
class SessionMetrics:
    commands: int = 0
    errors: int = 0
    times: deque[float] = field(default_factory=lambda: deque(maxlen=WINDOW))
    total: float = 0.0  # sum of `times`
    peak_memory: int = 0
    memory: int = 0  # at the last sample
    last_accessed: float = 0.0  # wall clock seconds, 0 = not since the daemon started
    allocated: int = -1  # state.allocated at the last sample
    stale: bool = False  # the state may have grown since the last sample
    saved: int = -1  # `commands` when last saved to the notes file

    def to_record(self) -> dict[str, Any]:
        return {"commands": self.commands, "errors": self.errors,
                "times": [round(t, 4) for t in self.times], "peak": self.peak_memory,
                "last": self.last_accessed}

    @classmethod
    def from_record(cls, rec: dict[str, Any]) -> SessionMetrics:
        times = [float(t) for t in rec.get("times", [])][-WINDOW:]
        m = cls(commands=int(rec["commands"]), errors=int(rec["errors"]),
                times=deque(times, maxlen=WINDOW), total=sum(times),
                peak_memory=int(rec.get("peak", 0)), last_accessed=float(rec.get("last", 0.0)))
        m.saved = m.commands
        return m

    def record(self, ms: float, ok: bool) -> None:
        times = self.times
        if len(times) == WINDOW:
            self.total -= times[0]
        times.append(ms)
        self.total += ms
        self.commands += 1
        if not ok:
            self.errors += 1
        self.last_accessed = time.time()

    def mean(self) -> float:
        return self.total / len(self.times) if self.times else 0.0

    def p95(self) -> float:
        if not self.times:
            return 0.0
        ordered = sorted(self.times)
        return ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]

    def sample(self, actor: Measured) -> float:
        """Walk the actor's state now; returns how long the walk took (seconds)."""
        started = time.perf_counter()
        self._sampled(actor, memory_estimate(actor.state))
        return time.perf_counter() - started

    async def sample_in_steps(self, actor: Measured) -> float:
        """`sample`, letting others run every few milliseconds (a big state's walk takes a
        while). A command that starts meanwhile changes the state: the walk stops, the memory
        stays stale. Returns the time the walk itself took (seconds)."""
        import trio

        state, took = actor.state, 0.0
        version = state.version  # (a command that ran meanwhile committed: a new version)
        steps = memory_estimate_steps(state)
        while True:
            started = time.perf_counter()
            done, size = advance(steps)
            took += time.perf_counter() - started
            if done:
                self._sampled(actor, size)
                return took
            await trio.lowlevel.checkpoint()
            if actor.busy or actor.closed or actor.state is not state \
                    or state.version != version:
                return took

    def _sampled(self, actor: Measured, size: int) -> None:
        self.memory = size
        self.peak_memory = max(self.peak_memory, size)
        self.allocated = actor.state.allocated
        self.stale = False


class Monitor:
    """The daemon's metrics: one SessionMetrics per (session dir, name), kept across eviction."""

    def __init__(self, nursery: Any = None, enabled: bool | None = None,
                 book: NotesBook | None = None, persister: Any = None) -> None:
        if enabled is None:
            enabled = os.environ.get("OMEGAD_METRICS", "on").lower() not in ("off", "0", "no")
        self.enabled = enabled
        self.nursery = nursery
        self.book = book  # where metrics are saved: the sessions' notes files
        self.persister = persister
        self.sessions: dict[tuple[Path, str], SessionMetrics] = {}
        self._next_walk = 0.0
        self._walk_pending: set[Measured] = set()

    def of(self, root: Path, name: str) -> SessionMetrics:
        key = (root, name)
        found = self.sessions.get(key)
        if found is None:
            found = self.sessions[key] = self._load(root, name) or SessionMetrics()
        return found

    def peek(self, root: Path, name: str) -> SessionMetrics | None:
        """The session's metrics if it has any (in memory, or saved in its notes file)."""
        key = (root, name)
        found = self.sessions.get(key)
        if found is None:
            found = self._load(root, name)
            if found is not None:
                self.sessions[key] = found
        return found

    def _load(self, root: Path, name: str) -> SessionMetrics | None:
        if self.book is None:
            return None
        path = SessionStore(root).notes(name)
        if path not in self.book.open and not path.exists():
            return None
        try:
            rec = self.book.of(path).metrics
            return SessionMetrics.from_record(rec) if rec else None
        except (NotesError, OSError, ValueError, KeyError, TypeError):
            return None

    def save(self, actor: Measured) -> None:
        """Keep the session's metrics in its notes file (on flush, eviction and close)."""
        metrics = self.sessions.get((actor.store.root, actor.name))
        if metrics is None or metrics.commands == metrics.saved or self.book is None:
            return
        try:
            notes = self.book.of(actor.store.notes(actor.name))
            notes.save_metrics(metrics.to_record())
        except (NotesError, OSError) as e:
            log.warning("session %s: metrics not saved: %s", actor.name, e)
            return
        metrics.saved = metrics.commands
        if self.persister is not None:
            self.persister.wrote(notes)

    def forget(self, root: Path, name: str) -> None:
        self.sessions.pop((root, name), None)

    def opened(self, actor: Measured) -> None:
        """Read the session's saved metrics as it opens: recording a command never reads a file
        (it runs after the command's answer has left)."""
        if self.enabled:
            self.of(actor.store.root, actor.name)

    def record(self, actor: Measured, job: Job) -> None:
        """One command ran (called by the actor after each job; O(1), never waits)."""
        if not self.enabled:
            return
        result = job.result
        metrics = self.of(actor.store.root, actor.name)
        ok = job.error is None and result is not None and result.ok
        metrics.record(result.elapsed_ms if result is not None else 0.0, ok)
        if actor.state.allocated != metrics.allocated:
            metrics.stale = True
            if self.nursery is not None and actor not in self._walk_pending:
                self._walk_pending.add(actor)
                self.nursery.start_soon(self._walk_later, actor, metrics)

    async def _walk_later(self, actor: Measured, metrics: SessionMetrics) -> None:
        import trio

        try:
            delay = self._next_walk - time.monotonic()
            if delay > 0:
                await trio.sleep(delay)
            if metrics.stale and not actor.closed and not actor.busy:
                took = await metrics.sample_in_steps(actor)  # (stopped early: stale still)
                self._next_walk = time.monotonic() + max(SAMPLE_EVERY, WALK_SHARE * took)
        finally:
            self._walk_pending.discard(actor)

    def fresh(self, actor: Measured) -> SessionMetrics:
        """The actor's metrics with memory sampled now if the state changed since."""
        metrics = self.of(actor.store.root, actor.name)
        if (metrics.stale or metrics.allocated < 0) and not actor.busy:
            metrics.sample(actor)  # (while a command runs, its state is half-made: keep the last)
        return metrics


def format_bytes(n: int) -> str:
    """`512 B`, `1.50 KB`, `3.20 MB`, `1.00 GB`."""
    if n < 1024:
        return f"{n} B"
    value = float(n)
    for unit in ("KB", "MB"):
        value /= 1024
        if value < 1024:
            return f"{value:.2f} {unit}"
    return f"{value / 1024:.2f} GB"


def disk_size(paths: list[Path]) -> int:
    total = 0
    for path in paths:
        try:
            total += os.stat(path).st_size
        except FileNotFoundError:
            pass
    return total


def last_modified(path: Path) -> float:
    try:
        return os.stat(path).st_mtime
    except FileNotFoundError:
        return 0.0
