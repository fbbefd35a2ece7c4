"""A session's journal as a timeline: checkpoints, goto / resume arithmetic, the reference's texts.

`:session load NAME` reads NAME's journal into a `Timeline`; `goto`, `resume`, `checkpoints` and
`trace` then work on it. Where states come from is the caller's business (`StateSource`).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec

from omegad.oracle.receipts import read_receipts
from omegad.persist.events import Event
from omegad.persist.index import Checkpoint, IndexWithStates, read_index_states
from omegad.persist.journal import read_journal
from omegad.sessions.render import render_trace

log = logging.getLogger("omegad.sessions")


class Timeline:
    """A session's events and checkpoints. Built from a live session, its events stay on disk
    until something needs them all (`trace`); `goto` and `resume` read only from the checkpoint
    they start at."""

    def __init__(self, name: str, header: Event | None, events: list[Event] | None,
                 checkpoints: list[Checkpoint], receipts: dict[str, Any] | None = None, *,
                 path: Path | None = None, count: int | None = None,
                 states: dict[str, msgspec.Raw] | None = None) -> None:
        self.name = name
        self.header = header
        self._events = events
        self.checkpoints = checkpoints
        self.receipts = receipts if receipts is not None else {}
        self._path = path
        self._count = count
        self.states = states if states is not None else {}  # the reference's, by state id
        self._checkpoint_lines: list[str] | None = None

    @property
    def events(self) -> list[Event]:
        if self._events is None:
            self._events = read_journal(self._path).events if self._path else []
        return self._events

    @property
    def loaded(self) -> bool:
        """Whether the events are in memory (a timeline read from files) or still on disk."""
        return self._events is not None or self._path is None

    @property
    def event_count(self) -> int:
        if self._count is not None:
            return self._count
        return self.events[-1]["seq"] + 1 if self.events else 0

    def checkpoint_before(self, seq: int) -> Checkpoint | None:
        best = None
        for cp in self.checkpoints:
            if cp.seq <= seq:
                best = cp
        return best

    def checkpoint_after(self, seq: int) -> Checkpoint | None:
        return next((cp for cp in self.checkpoints if cp.seq > seq), None)

    def between(self, first: int, last: int) -> list[Event]:
        """Events with first < seq <= last."""
        if self._events is None and self._path is not None:
            start = self.checkpoint_before(first)
            offset = start.offset if start is not None else 0
            events = read_journal(self._path, start=offset, until=last).events
        else:
            events = self.events
        return [e for e in events if first < e["seq"] <= last]

    def trace_lines(self, verbose: bool) -> list[str]:
        return render_trace(self.header, self.events, verbose)

    def checkpoint_lines(self) -> list[str]:
        """`:session checkpoints` (rendered once while the checkpoints stay as they are)."""
        if self._checkpoint_lines is None or len(self._checkpoint_lines) != \
                len(self.checkpoints) + 1:
            lines = [f"Checkpoints ({len(self.checkpoints)}):"]
            lines += [f"  [{cp.seq:03d}] {cp.reason} (state: {cp.state_id})"
                      for cp in self.checkpoints]
            self._checkpoint_lines = lines
        return self._checkpoint_lines


def read_timeline(sessions_dir: Path, name: str) -> Timeline | None:
    """NAME's journal as a timeline, or None when there is no journal."""
    path = sessions_dir / f"{name}.jsonl"
    if not path.exists():
        return None
    view = read_journal(path)
    if view.bad:
        log.warning("session %s: %d line(s) of %s could not be read (the first at byte %d);"
                    " skipped", name, len(view.bad), path.name, view.bad[0][0])
    checkpoints = [
        Checkpoint(e["seq"], e["reason"], e["stateId"], off)
        for e, off in zip(view.events, view.offsets, strict=True)
        if e["type"] == "checkpoint"
    ]
    index_path = sessions_dir / f"{name}.index.json"
    try:
        info = read_index_states(index_path)
    except FileNotFoundError:
        info = IndexWithStates()
    except (OSError, ValueError) as e:  # the journal has the checkpoints; the states, replay
        log.warning("session %s: %s could not be read (%s); using the journal alone", name,
                    index_path.name, e)
        info = IndexWithStates()
    # Receipts made since the index was last written (a crash) are in `<name>.receipts`.
    receipts = {**read_receipts(sessions_dir / f"{name}.receipts"), **info.receipts}
    return Timeline(name, view.header, view.events, checkpoints, receipts, states=info.states)


@dataclass(frozen=True)
class Jump:
    """What `:session goto` reports besides the restored state."""

    checkpoint: Checkpoint
    replayed_steps: int
    receipt_keys: list[str]
    control_override: str | None  # the last replayed LLM response, printed as a value

    def lines(self, target: int, control: str) -> list[str]:
        return [
            f"Jumped to seq {target}",
            f"  Replayed {self.replayed_steps} steps",
            f"  Used {len(self.receipt_keys)} cached LLM receipts",
            f"  Control: Value: {self.control_override or control}",
        ]


def plan_jump(timeline: Timeline, target: int) -> Jump | None:
    cp = timeline.checkpoint_before(target)
    if cp is None:
        return None
    steps = 0
    keys: list[str] = []
    control = None
    for event in timeline.between(cp.seq, target):
        if event["type"] == "step":
            steps += 1
        elif event["type"] == "llm_resp":
            keys.append(event["receiptKey"])
            control = json.dumps(receipt_content(timeline, event), ensure_ascii=False)
    return Jump(cp, steps, keys, control)


def receipt_content(timeline: Timeline, event: Event) -> str:
    receipt = timeline.receipts.get(event["receiptKey"])
    if receipt is None:
        raise LookupError(f"Receipt not found: {event['receiptKey']}")
    response = receipt.get("response", {})
    content = response.get("content") if isinstance(response, dict) else None
    if isinstance(content, str):
        return content
    return json.dumps(response, separators=(",", ":"), ensure_ascii=False)
