"""The daemon's settings, built once from its flags (see __main__.py)."""

from dataclasses import dataclass, field
from pathlib import Path

from protocol import paths
from protocol.framing import MAX_LINE


@dataclass(frozen=True, slots=True)
class Config:
    socket: Path
    session_dir: Path  # for connections whose hello names none (or that skip hello)
    log_level: str = "info"
    idle_exit: float | None = None  # exit after this many seconds without any connection
    foreground: bool = False
    max_line: int = MAX_LINE
    shutdown_grace: float = 10.0  # how long in-flight requests may finish before being cancelled
    fsync: str = "everysec"  # always | everysec | no (see omegad/persist/worker.py)
    max_sessions: int = 64  # session actors kept in memory (idle ones beyond are evicted)
    max_memory: int = 1 << 30  # bytes of session state in memory, by the evaluator's accounting
    private_runtime_dir: bool = True  # the socket's dir is ours: enforce 0700 (off for --socket)
    # The settings of the daemon's own environment (protocol/settings.py): those of a
    # connection that sends no server.hello, as tmux's global environment.
    settings: dict[str, str] = field(default_factory=dict)

    @property
    def pidfile(self) -> Path:
        return paths.pidfile_path(self.socket)

    @property
    def log_file(self) -> Path:
        return paths.log_path(self.socket)
