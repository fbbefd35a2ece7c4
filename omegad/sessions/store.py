"""Where one session dir keeps its sessions: `<dir>/sessions/<name>.jsonl` and friends."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from omegad.persist.index import read_counts


@dataclass(frozen=True)
class SessionStore:
    root: Path  # the session dir (a reference `.omega-session` works as it is)

    @property
    def sessions(self) -> Path:
        return self.root / "sessions"

    def journal(self, name: str) -> Path:
        return self.sessions / f"{name}.jsonl"

    def index(self, name: str) -> Path:
        return self.sessions / f"{name}.index.json"

    def ckpt(self, name: str) -> Path:
        return self.sessions / f"{name}.ckpt"

    def debugger(self, name: str) -> Path:
        return self.sessions / f"{name}.debug.json"

    def notes(self, name: str) -> Path:
        """Snapshots and timeline annotations (sessions/notes/file.py)."""
        return self.sessions / f"{name}.notes"

    def defs(self, name: str) -> Path:
        """The source of its top-level defines, as of a journal position (sessions/defs.py)."""
        return self.sessions / f"{name}.defs"

    def receipts(self, name: str) -> Path:
        return self.sessions / f"{name}.receipts"

    def files(self, name: str) -> list[Path]:
        debug = self.debugger(name)
        ckpt = self.ckpt(name)
        return [self.journal(name), self.index(name), ckpt, ckpt.with_name(ckpt.name + ".sum"),
                debug, debug.with_suffix(".base"), self.receipts(name), self.notes(name),
                self.defs(name)]

    def names(self) -> list[str]:
        """Every session with a journal, in the byte order of file names (as the reference)."""
        return journal_names(self.sessions)

    def counts(self, name: str) -> tuple[int, int] | None:
        """(events, checkpoints) from the index on disk, or None without one."""
        path = self.index(name)
        try:
            return read_counts(path)
        except (FileNotFoundError, ValueError):
            return None


def journal_names(sessions: Path) -> list[str]:
    """The sessions of a sessions directory: one per journal, in the byte order of file names."""
    try:
        files = os.listdir(sessions)
    except FileNotFoundError:
        return []
    journals = [f for f in files if f.endswith(".jsonl")]
    journals.sort(key=str.encode)
    return [f[:-6] for f in journals]
