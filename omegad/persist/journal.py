"""`<name>.jsonl`: the reference's event journal, appended as events happen, read tolerantly.

Lines are read as JavaScript's `JSON.parse` reads them (jsjson.py). Only an incomplete last line
(no newline: a write cut short) is a torn tail; a whole line that does not decode is reported
and skipped, never cut, and what is cut is first set aside (quarantine.py).
"""

from __future__ import annotations

import os
from collections.abc import Generator
from dataclasses import dataclass, field
from pathlib import Path

import msgspec

from omegad import owned
from omegad.persist import jsjson
from omegad.persist.events import Event
from omegad.persist.failures import append_or_roll_back
from omegad.persist.quarantine import set_aside

_decode = msgspec.json.Decoder().decode
_decode_lines = msgspec.json.Decoder().decode_lines


INPUT_MARK = b'"type":"input"'  # in a line of its own only in an input event (strings escape it)


def encode_line(event: Event) -> bytes:
    return jsjson.dumps(event) + b"\n"


def encode_parts(event: Event) -> list[bytes]:
    """`encode_line` as parts: a long string's Pieces (jsjson) go in as they are, not joined."""
    if jsjson.Pieces not in map(type, event.values()):
        return [encode_line(event)]
    return [*jsjson.dumps_parts(event), b"\n"]


@dataclass
class JournalView:
    """A journal as read from disk: the header, the seq'd events, and where each line starts."""

    header: Event | None = None
    events: list[Event] = field(default_factory=list)
    offsets: list[int] = field(default_factory=list)  # byte offset of each event's line
    size: int = 0  # bytes of whole lines; a torn tail lies beyond
    torn: int = 0  # bytes after the last whole line (a last line with no newline)
    bad: list[tuple[int, int]] = field(default_factory=list)  # (offset, length) of whole lines
    #                                                           that are not journal events

    @property
    def next_seq(self) -> int:
        return self.events[-1]["seq"] + 1 if self.events else 0


def read_journal(path: Path, start: int = 0, until: int | None = None) -> JournalView:
    """Every whole line of the journal (from byte `start` on, with the header line always read,
    up to the event with seq `until` when given: then only the blocks that hold it are read);
    a whole line that is not an event is noted in `bad` and skipped."""
    view = JournalView()
    try:
        f = open(path, "rb")
    except FileNotFoundError:
        return view
    with f:
        first = f.readline()
        if start > 0 and first.endswith(b"\n"):
            _take(view, first, 0)
        f.seek(start)
        block = -1 if until is None else _BLOCK
        data, pos, done = b"", 0, False
        while not done:
            more = f.read(block)
            data = data[pos:] + more
            start += pos
            pos, done = _take_lines(view, data, start, until)
            done = done or not more or block < 0
        view.size = start + pos
        view.torn = os.fstat(f.fileno()).st_size - view.size  # (as much as was not taken)
    return view


_BLOCK = 1 << 16


def _take_lines(view: JournalView, data: bytes, offset: int, until: int | None) -> tuple[int,
                                                                                          bool]:
    """Take the whole lines of `data` (which starts at byte `offset`); returns where the lines
    taken end, and whether reading is over (the event `until` reached)."""
    if until is None:
        end = data.rfind(b"\n") + 1
        if _take_all(view, data[:end], offset):
            return end, False
    pos = 0
    while pos < len(data):
        end = data.find(b"\n", pos)
        if end < 0:
            return pos, False
        if not _take(view, data[pos:end], offset + pos):
            view.bad.append((offset + pos, end + 1 - pos))
        pos = end + 1
        if until is not None and view.events and view.events[-1]["seq"] >= until:
            return pos, True
    return pos, False


def _take_all(view: JournalView, data: bytes, offset: int) -> bool:
    """Take every line of `data` (whole lines) in one decoding, when each is one JSON object
    (it starts with `{` and ends with `}`: then no value spans two lines, and as many values as
    lines means one per line) and an event or the header. False (nothing taken) otherwise: then
    they are read one by one, and a line that is not an event is found and reported."""
    lines = data.split(b"\n")
    lines.pop()  # (after the last newline)
    if not all(line[:1] == b"{" and line[-1:] == b"}" for line in lines):
        return False
    try:
        decoded = _decode_lines(data)
    except msgspec.DecodeError:
        return False
    if len(decoded) != len(lines):
        return False
    events, offsets = [], []
    header = view.header
    for line, event in zip(lines, decoded, strict=True):
        if "seq" in event:
            if type(event["seq"]) is not int or type(event.get("type")) is not str:
                return False
            events.append(event)
            offsets.append(offset)
        elif event.get("type") == "session" and header is None:
            header = event
        offset += len(line) + 1
    view.header = header
    view.events += events
    view.offsets += offsets
    return True


def _take(view: JournalView, line: bytes, offset: int) -> bool:
    """Add one line to the view; False when it is not a journal event (a corrupt line)."""
    if not line.strip():
        return True
    try:
        event = _decode(line)
    except msgspec.DecodeError:
        try:  # what JavaScript reads: a lone surrogate escape (a preview cut inside an emoji)
            event = jsjson.js_loads(line)
        except ValueError:
            return False
    if not isinstance(event, dict):
        return False
    if "seq" in event:
        if not isinstance(event["seq"], int) or not isinstance(event.get("type"), str):
            return False
        view.events.append(event)
        view.offsets.append(offset)
    elif event.get("type") == "session" and view.header is None:
        view.header = event
    return True


class JournalChanged(OSError):
    def __init__(self, path: Path, expected: int) -> None:
        super().__init__(0, f"{path.name} was changed by another program (expected {expected}"
                            " bytes); not writing over it")


class JournalWriter:
    """Appends encoded events to one journal file; tracks the next seq and the byte offset.

    One `os.write` per batch: the reply to a command goes out after its events reached the OS.
    """

    def __init__(self, path: Path, next_seq: int, size: int) -> None:
        self.path = path
        self.next_seq = next_seq
        self.size = size
        self._fd = owned.open_owned(path, os.O_WRONLY | os.O_APPEND, create=True)
        self._held: list[bytes] = []  # the held events' lines, in parts (encode_parts)
        self.written_seq = next_seq  # the next seq after the events on disk
        self.aside: Path | None = None  # where opening set a torn last line aside
        self.counted_inputs: int | None = None  # once `inputs()` was asked: kept up to date

    @classmethod
    def create(cls, path: Path, header: Event) -> JournalWriter:
        owned.ensure_dir(path.parent)
        if path.exists() and path.stat().st_size:  # nothing in it was an event: keep it aside
            set_aside(path, 0)
        writer = cls(path, 0, 0)
        os.ftruncate(writer._fd, 0)
        writer.write([header])
        return writer

    @classmethod
    def open_existing(cls, path: Path, view: JournalView, next_seq: int) -> JournalWriter:
        """Append after the view's whole lines: a torn last line is set aside, then cut."""
        aside = set_aside(path, view.size) if view.torn else None
        if view.torn:
            owned.truncate(path, view.size)
        writer = cls(path, next_seq, view.size)
        writer.aside = aside
        return writer

    def hold(self, events: list[Event]) -> None:
        """Take events that go out with the next write (their seqs count at once): a command
        that finishes without yielding writes its input and its result in one system call."""
        for event in events:
            self.next_seq = event["seq"] + 1
            self._held += encode_parts(event)
        self._count(events)

    def inputs(self) -> int:
        """Input events in the journal (what a notebook numbers its cells by): counted in the
        file once, on the first question, then as they are written."""
        if self.counted_inputs is None:
            with open(self.path, "rb") as f:
                data = f.read(self.size)
            held = sum(line.count(INPUT_MARK) for line in self._held)
            self.counted_inputs = data.count(INPUT_MARK) + held
        return self.counted_inputs

    def _count(self, events: list[Event]) -> None:
        if self.counted_inputs is not None:
            self.counted_inputs += [e.get("type") for e in events].count("input")

    def flush(self) -> None:
        if self._held:
            self.write([])

    def flush_steps(self, piece: int = 1 << 20) -> Generator[None, None, None]:
        """`flush` in steps of `piece` bytes (a 15 MiB input's two events are 30 MB: one write
        of them holds the event loop). Run it to its end: a write that fails cuts the file back
        to where the held lines began and raises, as `write` does."""
        if not self._held:
            return
        if os.fstat(self._fd).st_size != self.size:
            raise JournalChanged(self.path, self.size)
        pos = self.size
        lines, self._held = self._held, []
        try:
            for line in lines:
                for i in range(0, len(line), piece):
                    part = line[i:i + piece]
                    append_or_roll_back(self._fd, part, self.size, self.path)
                    pos += len(part)
                    yield
        except OSError:  # (cut back already: the seqs are as on disk, inputs counted anew)
            self.next_seq, self.counted_inputs = self.written_seq, None
            raise
        self.size = pos
        self.written_seq = self.next_seq

    def write(self, events: list[Event]) -> list[int]:
        """Append the held events and these; returns the byte offset at which each of these
        lines starts.

        Refuses (JournalChanged) when the file is no longer as we left it: another program (the
        reference REPL truncates `current.jsonl`) wrote it, and appending would corrupt both."""
        if os.fstat(self._fd).st_size != self.size:
            raise JournalChanged(self.path, self.size)
        offsets: list[int] = []
        self._count(events)
        chunks, self._held = self._held, []
        pos = self.size + sum(map(len, chunks))
        for event in events:
            if "seq" in event:
                self.next_seq = event["seq"] + 1
            line = encode_line(event)
            offsets.append(pos)
            chunks.append(line)
            pos += len(line)
        try:
            append_or_roll_back(self._fd, b"".join(chunks), self.size, self.path)
        except OSError:  # (the file is as it was: so are the seqs; inputs are counted anew)
            self.next_seq, self.counted_inputs = self.written_seq, None
            raise
        self.size = pos
        self.written_seq = self.next_seq
        return offsets

    def fsync(self) -> None:
        # No "clean" shortcut: a write may land while another thread's fsync runs.
        if self._fd >= 0:
            os.fsync(self._fd)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


def last_seq_before(path: Path, offset: int) -> int | None:
    """The seq of the journal event whose line ends at byte `offset` (None if none does)."""
    with open(path, "rb") as f:
        f.seek(max(0, offset - 8192))
        chunk = f.read(min(offset, 8192))
    if not chunk.endswith(b"\n"):
        return None
    line = chunk[:-1].rsplit(b"\n", 1)[-1]
    try:
        event = jsjson.loads(line)
    except ValueError:
        return None
    return event.get("seq") if isinstance(event, dict) else None
