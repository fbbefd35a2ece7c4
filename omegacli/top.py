"""`omegacli top`: a live view of the daemon's sessions and their metrics, like `top`.

Polls `server.metrics` every `--interval` seconds and redraws a table (sessions of the client's
session dir, most recently used first) under a summary of the daemon. `-n N` stops after N
frames; when stdout is not a terminal each frame is printed plainly, without clearing. Standard
library only (the one-shot client); `q` or Ctrl-C quits.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from datetime import datetime
from typing import Any, TextIO

from omegacli.human import human_bytes

CLEAR = "\x1b[H\x1b[2J"


def ago(iso: str | None, now: float) -> str:
    if not iso:
        return "-"
    then = datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()
    seconds = max(0.0, now - then)
    if seconds < 60:
        return f"{seconds:.0f}s ago"
    if seconds < 3600:
        return f"{seconds / 60:.0f}m ago"
    if seconds < 86400:
        return f"{seconds / 3600:.1f}h ago"
    return f"{seconds / 86400:.1f}d ago"


def render(m: dict[str, Any], width: int, height: int, now: float | None = None) -> list[str]:
    now = time.time() if now is None else now
    lines = [
        f"omegad  sessions: {m['sessions_in_memory']} in memory, {m['sessions_on_disk']} on disk"
        f"  clients: {m['connections']}  rss: {human_bytes(m['rss_bytes'])}"
        f"  cpu: {m['cpu_percent']:.1f}% ({m['cpu_seconds']:.1f}s)",
        f"commands: {m['total_commands']}  errors: {m['total_errors']}"
        f"  mean: {m['mean_ms']:.2f}ms  fsync: {m['fsync_policy']}, queue {m['persist_queue']},"
        f" last {m['last_fsync_age']:.1f}s ago",
        "",
        f"{'SESSION':<24} {'MEM':>3} {'CMDS':>7} {'ERR':>5} {'MEAN ms':>8} {'P95 ms':>8}"
        f" {'PEAK':>7} {'DISK':>7}  LAST ACCESS",
    ]
    for s in m["sessions"][: max(0, height - len(lines) - 1)]:
        lines.append(
            f"{s['session'][:24]:<24} {'*' if s['in_memory'] else '':>3} {s['commands']:>7}"
            f" {s['errors']:>5} {s['mean_ms']:>8.2f} {s['p95_ms']:>8.2f}"
            f" {human_bytes(s['peak_memory_bytes']):>7} {human_bytes(s['size_bytes']):>7}"
            f"  {ago(s['last_accessed'], now)}")
    return [line[:width] for line in lines]


def run(client: Any, interval: float, frames: int | None, out: TextIO = sys.stdout,
        keys: TextIO = sys.stdin) -> int:
    live = out.isatty()
    shown = 0
    try:
        with Keys(keys) as pressed:
            while frames is None or shown < frames:
                metrics = client.call("server.metrics", {"sessions": True})
                size = shutil.get_terminal_size((100, 40))
                lines = render(metrics, size.columns, size.lines if live else 10_000)
                out.write((CLEAR if live else "") + "\n".join(lines) + "\n")
                out.flush()
                shown += 1
                if frames is not None and shown >= frames:
                    break
                if pressed.wait(interval) in QUIT_KEYS:
                    break
    except KeyboardInterrupt:
        pass  # Ctrl-C quits, as `q` does
    return 0


QUIT_KEYS = ("q", "Q")


class Keys:
    """Single keys from a terminal (cbreak mode: no Enter needed, Ctrl-C still a signal) while
    in use; from anything else, nothing (`wait` only sleeps)."""

    def __init__(self, stream: TextIO):
        self.fd = stream.fileno() if stream.isatty() else None
        self.saved: list | None = None

    def __enter__(self) -> Keys:
        if self.fd is not None:
            import termios
            import tty

            self.saved = termios.tcgetattr(self.fd)
            tty.setcbreak(self.fd)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.fd is not None and self.saved is not None:
            import termios

            termios.tcsetattr(self.fd, termios.TCSADRAIN, self.saved)

    def wait(self, seconds: float) -> str:
        """A key pressed within `seconds` (a quit key if among them; any key refreshes at once),
        or "" when none was."""
        if self.fd is None:
            time.sleep(seconds)
            return ""
        import select

        ready, _, _ = select.select([self.fd], [], [], seconds)
        if not ready:
            return ""
        data = os.read(self.fd, 64).decode(errors="replace")
        return next((k for k in data if k in QUIT_KEYS), data[-1:])
