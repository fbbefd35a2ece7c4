"""`<name>.notes`: a session's snapshots and checkpoint annotations, persisted beside its journal.

A snapshot is a named reference to one checkpoint of the session (its seq) with a description,
`#tags` and a creation time: taking one appends one line, nothing is copied. An annotation is a
label (and description, tags) on one checkpoint, one per seq (a new one replaces the old).

File: versioned, append-only JSON lines. Line 1 is `{"format":"omega-notes","version":1}`; each
later line is one change:

    {"op":"snap","id":3,"seq":7,"desc":"before #refactor","tags":["refactor"],"created":<ms>}
    {"op":"unsnap","id":3}
    {"op":"restore","id":3,"into":"<session>","at":<ms>}      (history: a restore happened)
    {"op":"at","of":"<session>","seq":7,"records":12}  (in the restoring session's own file:
        it holds checkpoint 7 of <session> while its `.ckpt` file has 12 records)
    {"op":"metrics","commands":9,"errors":1,"times":[…],"peak":4096,"last":<s>}  (the session's
        metrics, saved when it is flushed, evicted or closed; the last one counts)
    {"op":"note","seq":7,"label":"ok","desc":"","tags":[],"created":<ms>}
    {"op":"unnote","seq":7}

Several notes of one change (an import) are written with one `write`. A torn or unreadable tail
(a crash mid-write) ends the file where it starts and is cut on open, as the checkpoint file does;
an unreadable line amid readable ones is skipped, the lines after it kept.
Files are written with plain writes (they survive `kill -9`) and fsync'd by the persistence worker.
"""

from __future__ import annotations

import json
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omegad import owned
from omegad.persist.failures import append_or_roll_back
from omegad.persist.quarantine import set_aside

FORMAT = "omega-notes"
VERSION = 1
HEADER = {"format": FORMAT, "version": VERSION}
EXPORT_FORMAT = "omega-annotations"

MAX_LABEL = 200  # characters
MAX_DESCRIPTION = 4000
MAX_TAGS = 64
_TAG = re.compile(r"(?<!\S)#([\w.-]+)")


class NotesError(ValueError):
    """Bad input to a notes operation: the message is for the user; nothing was changed."""


def tags_of(*texts: str) -> list[str]:
    """`#tag` words of the texts, in order, without duplicates."""
    seen: dict[str, None] = {}
    for text in texts:
        for tag in _TAG.findall(text):
            seen.setdefault(tag, None)
    return list(seen)


def check_text(what: str, text: str, limit: int) -> str:
    if len(text) > limit:
        raise NotesError(f"{what} is too long ({len(text)} characters; at most {limit})")
    if "\n" in text or "\r" in text:
        raise NotesError(f"{what} must be one line")
    return text


@dataclass(frozen=True)
class Snapshot:
    id: int
    seq: int
    description: str
    tags: list[str]
    created: int  # ms since the epoch

    def record(self) -> dict[str, Any]:
        return {"op": "snap", "id": self.id, "seq": self.seq, "desc": self.description,
                "tags": self.tags, "created": self.created}


@dataclass(frozen=True)
class Note:
    seq: int
    label: str
    description: str
    tags: list[str]
    created: int

    def record(self) -> dict[str, Any]:
        return {"op": "note", "seq": self.seq, "label": self.label, "desc": self.description,
                "tags": self.tags, "created": self.created}

    def exported(self) -> dict[str, Any]:
        return {"checkpointSeq": self.seq, "label": self.label, "description": self.description,
                "tags": self.tags, "created": self.created}


@dataclass
class Notes:
    """One session's notes: in memory, and the append handle of its file."""

    path: Path
    snaps: dict[int, Snapshot] = field(default_factory=dict)  # id -> snapshot, in creation order
    notes: dict[int, Note] = field(default_factory=dict)  # checkpoint seq -> annotation
    next_id: int = 1
    restores: int = 0
    at: tuple[str, int, int] | None = None  # (session, seq, records) of this session's last restore
    metrics: dict[str, Any] | None = None  # the session's metrics as last saved (metrics.py)
    cut: int = 0  # bytes of torn tail cut off on open
    _fd: int = -1
    written: int = 0  # bytes of the file: where its next record goes

    @classmethod
    def open(cls, path: Path) -> Notes:
        notes = cls(path)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return notes
        pos = 0
        good = 0  # where the last readable line ends: a torn or unreadable tail is cut there
        while pos < len(data):
            end = data.find(b"\n", pos)
            if end < 0:
                break
            try:
                rec = json.loads(data[pos:end])
                if pos == 0:
                    if not isinstance(rec, dict) or rec.get("format") != FORMAT:
                        raise NotesError(f"{path.name} is not an omega notes file")
                    if rec.get("version") != VERSION:
                        raise NotesError(f"{path.name}: unknown notes version {rec.get('version')}")
                else:
                    notes.apply(rec)
                good = end + 1
            except NotesError:
                raise
            except (ValueError, KeyError, TypeError, AttributeError):
                if pos == 0:
                    break
                # an unreadable line amid readable ones is skipped (a tail of them is cut)
            pos = end + 1
        pos = good
        notes.cut = len(data) - pos
        notes.written = pos
        if notes.cut:  # (what is cut is set aside first: quarantine.py)
            set_aside(path, pos)
            owned.truncate(path, pos)
        return notes

    def apply(self, rec: dict[str, Any]) -> None:
        op = rec["op"]
        if op == "snap":
            snap = Snapshot(int(rec["id"]), int(rec["seq"]), str(rec["desc"]), list(rec["tags"]),
                        int(rec["created"]))
            self.snaps[snap.id] = snap
            self.next_id = max(self.next_id, snap.id + 1)
        elif op == "unsnap":
            self.snaps.pop(int(rec["id"]), None)
        elif op == "note":
            note = Note(int(rec["seq"]), str(rec["label"]), str(rec["desc"]), list(rec["tags"]),
                        int(rec["created"]))
            self.notes[note.seq] = note
        elif op == "unnote":
            self.notes.pop(int(rec["seq"]), None)
        elif op == "restore":
            self.restores += 1
        elif op == "metrics":
            self.metrics = rec
        elif op == "at":
            self.at = (str(rec["of"]), int(rec["seq"]), int(rec["records"]))
        else:
            raise ValueError(f"unknown op {op!r}")

    def _append(self, records: list[dict[str, Any]]) -> None:
        """Write the records (one write), then apply them: on a failed write nothing changes."""
        if self._fd < 0:
            self._fd = owned.open_owned(self.path, os.O_WRONLY | os.O_APPEND, create=True)
        lines = [_line(r) for r in records]
        if self.written == 0:
            lines.insert(0, _line(HEADER))
        blob = b"".join(lines)
        append_or_roll_back(self._fd, blob, self.written, self.path)  # (a full disk: no change)
        self.written += len(blob)
        for rec in records:
            self.apply(rec)

    # --- snapshots --------------------------------------------------------------------------------

    def snapshot(self, seq: int, description: str) -> Snapshot:
        check_text("The description", description, MAX_DESCRIPTION)
        snap = Snapshot(self.next_id, seq, description, tags_of(description), now_ms())
        self._append([snap.record()])
        return snap

    def get(self, snap_id: int) -> Snapshot:
        snap = self.snaps.get(snap_id)
        if snap is None:
            raise NotesError(f"Snapshot not found: {snap_id}")
        return snap

    def delete(self, snap_id: int) -> Snapshot:
        snap = self.get(snap_id)
        self._append([{"op": "unsnap", "id": snap_id}])
        return snap

    def restored(self, snap: Snapshot, into: str) -> None:
        self._append([{"op": "restore", "id": snap.id, "into": into, "at": now_ms()}])

    def mark(self, of: str, seq: int, records: int) -> None:
        """This session now holds checkpoint `seq` of session `of` (restored from a snapshot),
        while its checkpoint file has `records` records."""
        self._append([{"op": "at", "of": of, "seq": seq, "records": records}])

    def save_metrics(self, record: dict[str, Any]) -> None:
        self._append([{"op": "metrics", **record}])

    def listing(self, tag: str | None = None) -> list[Snapshot]:
        snaps = list(self.snaps.values())
        return [s for s in snaps if tag in s.tags] if tag else snaps

    # --- annotations ------------------------------------------------------------------------------

    def annotate(self, seq: int, label: str, description: str = "") -> Note:
        note = make_note(seq, label, description)
        self._append([note.record()])
        return note

    def unannotate(self, seq: int) -> Note:
        note = self.notes.get(seq)
        if note is None:
            raise NotesError(f"No annotation on checkpoint {seq}")
        self._append([{"op": "unnote", "seq": seq}])
        return note

    def find(self, pattern: str) -> list[Note]:
        """Annotations whose label matches (case-insensitive regex), or with tag `#x`."""
        ordered = [self.notes[s] for s in sorted(self.notes)]
        if pattern.startswith("#") and len(pattern) > 1:
            return [n for n in ordered if pattern[1:] in n.tags]
        try:
            rx = re.compile(pattern, re.IGNORECASE)
        except re.error:
            rx = re.compile(re.escape(pattern), re.IGNORECASE)
        return [n for n in ordered if rx.search(n.label)]

    def export(self) -> dict[str, Any]:
        return {"format": EXPORT_FORMAT, "version": VERSION,
                "annotations": [self.notes[s].exported() for s in sorted(self.notes)]}

    def import_(self, document: Any, checkpoints: set[int]) -> list[Note]:
        """Add the annotations of an exported document: all of them, or (any bad) none."""
        notes = parse_export(document, checkpoints)
        if notes:
            self._append([n.record() for n in notes])
        return notes

    def tags(self) -> list[str]:
        found = {t for n in self.notes.values() for t in n.tags}
        found.update(t for s in self.snaps.values() for t in s.tags)
        return sorted(found)

    # --- the file ---------------------------------------------------------------------------------

    def fsync(self) -> None:
        if self._fd >= 0:
            os.fsync(self._fd)

    def close(self) -> None:
        if self._fd >= 0:
            self.fsync()
            os.close(self._fd)
            self._fd = -1

    def compacted(self, upto: int) -> bytes:
        """The file's content as of now, keeping snapshots and annotations of seq <= upto."""
        records = [s.record() for s in self.snaps.values() if s.seq <= upto]
        records += [self.notes[s].record() for s in sorted(self.notes) if s <= upto]
        return b"".join(_line(r) for r in [HEADER, *records])


def make_note(seq: int, label: str, description: str = "") -> Note:
    label = label.strip()
    if not label:
        raise NotesError("A label must not be empty")
    check_text("The label", label, MAX_LABEL)
    check_text("The description", description, MAX_DESCRIPTION)
    tags = tags_of(label, description)
    if len(tags) > MAX_TAGS:
        raise NotesError(f"Too many tags ({len(tags)}; at most {MAX_TAGS})")
    return Note(seq, label, description, tags, now_ms())


def parse_export(document: Any, checkpoints: set[int]) -> list[Note]:
    """The annotations of an export document (ours, or the plan's bare list), checked whole."""
    items = document
    if isinstance(document, dict):
        if document.get("format") != EXPORT_FORMAT:
            raise NotesError(f"Not an annotations export (expected format '{EXPORT_FORMAT}')")
        if document.get("version") != VERSION:
            raise NotesError(f"Unknown annotations export version: {document.get('version')}")
        items = document.get("annotations")
    if not isinstance(items, list):
        raise NotesError("An annotations export holds a list of annotations")
    out = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise NotesError(f"Annotation {i}: expected an object")
        seq, label = item.get("checkpointSeq"), item.get("label")
        desc = item.get("description", "")
        if type(seq) is not int or not isinstance(label, str) or not isinstance(desc, str):
            raise NotesError(f"Annotation {i}: needs checkpointSeq (integer), label and "
                             "description (strings)")
        if seq not in checkpoints:
            raise NotesError(f"Annotation {i}: {seq} is not a checkpoint of the session")
        try:
            note = make_note(seq, label, desc)
        except NotesError as e:
            raise NotesError(f"Annotation {i}: {e}") from None
        created = item.get("created")
        if type(created) is int:
            note = Note(note.seq, note.label, note.description, note.tags, created)
        out.append(note)
    return out


class NotesBook:
    """Every open notes file of the daemon, by path (a session's notes may be used by its own
    actor and by one that loaded it: both share this one object)."""

    def __init__(self) -> None:
        self.open: dict[Path, Notes] = {}

    def of(self, path: Path) -> Notes:
        notes = self.open.get(path)
        if notes is None:
            notes = self.open[path] = Notes.open(path)
        return notes

    def release(self, path: Path) -> None:
        """Close the file (fsync'd) but keep the notes: its session left memory. The next
        change opens it again."""
        notes = self.open.get(path)
        if notes is not None:
            notes.close()

    def drop(self, path: Path) -> None:
        notes = self.open.pop(path, None)
        if notes is not None:
            notes.close()

    def close_all(self) -> None:
        for notes in self.open.values():
            notes.close()
        self.open.clear()


def copy_notes(book: NotesBook, source: Path, target: Path, upto: int) -> None:
    """A fork's notes: the source's snapshots and annotations up to the fork point."""
    book.drop(target)
    if not source.exists() and source not in book.open:
        target.unlink(missing_ok=True)
        return
    data = book.of(source).compacted(upto)
    owned.write_file(target, data)


def now_ms() -> int:
    return int(time.time() * 1000)


def local_time(ms: int) -> str:
    """JavaScript's `toLocaleString()` in en-US: `11/25/2026, 3:55:12 AM`."""
    t = time.localtime(ms / 1000)
    hour = t.tm_hour % 12 or 12
    half = "AM" if t.tm_hour < 12 else "PM"
    return f"{t.tm_mon}/{t.tm_mday}/{t.tm_year}, {hour}:{t.tm_min:02d}:{t.tm_sec:02d} {half}"


def _line(record: dict[str, Any]) -> bytes:
    return (json.dumps(record, separators=(",", ":"), ensure_ascii=False) + "\n").encode()
