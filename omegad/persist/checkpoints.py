"""`<name>.ckpt`: omega's append-only file of session states, beside the reference's journal.

Each record is a state as the evaluator serialized it. A *run* starts with a *base* record: a
full state (the first one, and every state a session adopted without a journal event:
`:session load / goto / resume / reset`), or a pointer to one of the session's own records (when
it went back to one of its checkpoints, or reopened at its newest). A state adopted as it was read
from another session's records is those records copied: the first as the base, the others as
*parts* of it, applied in order. Each later input adds a *delta* (what it changed), and every
`SPAN ** k`-th delta of a run is followed by a *merge* of level k: one record holding what the last
`SPAN ** k` deltas changed together. Restoring any state reads its run's base, at most `SPAN - 1`
merges of each level and `SPAN - 1` deltas: a bounded number of records whatever the session's
length. Writing costs each input its delta and one merge per level, amortized: the same for the
10 000th input as for the 10th (a periodic full state would cost ever more as the state grows).

File: a 32-byte first line `OMEGA-CKPT 3 <shift>` (v2 files start `OMEGA-CKPT 2\\n` and have no
shift), then records of a 25-byte header (body length, CRC32 of the rest, seq, kind, journal end)
and a msgpack body `[control, state, ref]`. A record's seq is its journal checkpoint event (an
adopted state's: the journal seq it applies before, minus one); its journal end, plus the file's
`shift`, is the byte offset in the journal where the events after it begin (a fork's copy of a
prefix keeps the bytes and changes the shift). A torn or corrupt tail is cut on open.
"""

from __future__ import annotations

import bisect
import os
import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import msgspec

from omegad import owned
from omegad.persist.copying import write_with_copy

MAGIC = b"OMEGA-CKPT 3"
MAGIC_V2 = b"OMEGA-CKPT 2\n"
FIRST_LINE = 32  # the v3 first line, padded: a fork rewrites it in place
SPAN = 16  # deltas per merge of level 1; SPAN merges of level k per merge of level k + 1
LEVELS = 6  # merges of levels 1..LEVELS (SPAN ** LEVELS inputs: far beyond any session)
_HEAD = struct.Struct(">IIqBQ")  # length, CRC32 of the rest of the record, seq, kind, journal end
_LEN_CRC = struct.Struct(">II")
_META = struct.Struct(">qBQ")
CHECKED_TAIL = 4  # records whose CRC is checked on open

FULL, DELTA, ADOPTED, ADOPTED_REF = 0, 1, 2, 3  # ADOPTED_REF: "the state of record N"
MERGE = 4  # kinds MERGE + k - 1: a merge of level k
ADOPTED_PART = MERGE + LEVELS  # the rest of an adopted state: a record copied from another file
BASES = (FULL, ADOPTED, ADOPTED_REF)
KINDS = frozenset(range(ADOPTED_PART + 1))


def merge_kind(level: int) -> int:
    return MERGE + level - 1


class Body(msgspec.Struct, array_like=True):
    control: str  # the state's value, as `:session goto` shows it
    state: bytes
    ref: int = -1  # ADOPTED_REF: the index of the record whose state was adopted


@dataclass
class Record:
    seq: int  # state as of this journal seq
    kind: int  # FULL | DELTA | ADOPTED (a full state) | ADOPTED_REF | a merge
    control: str
    state: bytes
    journal_end: int = 0
    ref: int = -1


_encode = msgspec.msgpack.Encoder().encode
_decode = msgspec.msgpack.Decoder(Body).decode


class CorruptRecord(ValueError):
    pass


@dataclass(slots=True)
class Entry:
    seq: int
    kind: int
    offset: int
    size: int
    journal_end: int  # as stored: the file's shift is added by CheckpointFile.journal_end
    pos: int = 0  # deltas since the run's base (a merge: those of the delta it follows)


@dataclass
class CheckpointFile:
    """The records of one `.ckpt` file (their places, not their bytes) and an append handle."""

    path: Path
    entries: list[Entry] = field(default_factory=list)
    size: int = 0
    cut: int = 0  # bytes of torn or corrupt tail cut off on open
    shift: int = 0  # added to every record's journal end
    start: int = FIRST_LINE  # where the records begin
    seqs: list[int] = field(default_factory=list)  # each entry's seq (non-decreasing)
    bases: list[int] = field(default_factory=list)  # the entries that start a run
    _fd: int = -1

    @classmethod
    def open(cls, path: Path) -> CheckpointFile:
        ckpt = cls(path)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return ckpt
        if _partial_first_line(data):
            ckpt.cut = len(data)  # created, then cut off before its first record
            owned.truncate(path, 0)
            return ckpt
        ckpt.start, ckpt.shift = _first_line(path, data)
        ckpt._scan(data)
        return ckpt

    def _scan(self, data: bytes) -> None:
        pos = self.start
        end = len(data)
        unpack, head = _HEAD.unpack_from, _HEAD.size
        while pos + head <= end:
            size, _crc, seq, kind, journal_end = unpack(data, pos)
            if pos + head + size > end or kind not in KINDS:
                break
            self._add(Entry(seq, kind, pos, head + size, journal_end))
            pos += head + size
        first = max(0, len(self.entries) - CHECKED_TAIL)
        for i in range(first, len(self.entries)):  # a torn or corrupt record ends the file
            if not _intact(data, self.entries[i]):
                pos = self.entries[i].offset
                self._drop_from(i)
                break
        self.size = pos
        self.cut = len(data) - pos
        if self.cut:
            owned.truncate(self.path, pos)

    def _add(self, entry: Entry) -> None:
        if entry.kind in BASES or not self.entries:
            self.bases.append(len(self.entries))
        elif entry.kind == DELTA:
            entry.pos = self.entries[-1].pos + 1
        else:
            entry.pos = self.entries[-1].pos
        self.entries.append(entry)
        self.seqs.append(entry.seq)

    def _drop_from(self, i: int) -> None:
        del self.entries[i:], self.seqs[i:]
        while self.bases and self.bases[-1] >= i:
            self.bases.pop()

    def run_length(self) -> int:
        """Deltas since the last base record (0 when the last record is one)."""
        return self.entries[-1].pos if self.entries else 0

    def journal_end(self, index: int) -> int:
        return self.entries[index].journal_end + self.shift

    def append(self, record: Record) -> None:
        journal_end = max(0, record.journal_end - self.shift)
        body = _encode(Body(record.control, record.state, record.ref))
        meta = _META.pack(record.seq, record.kind, journal_end)
        blob = _LEN_CRC.pack(len(body), zlib.crc32(body, zlib.crc32(meta))) + meta + body
        if self._fd < 0:
            self._fd = owned.open_owned(self.path, os.O_WRONLY | os.O_APPEND, create=True)
        first = first_line(self.shift) if self.size == 0 else b""  # in the same write
        _write_all(self._fd, first + blob)
        self.size += len(first)
        self._add(Entry(record.seq, record.kind, self.size, len(blob), journal_end))
        self.size += len(blob)

    def prefix_end(self, cut: int) -> int:
        """How many entries have a journal seq up to `cut`."""
        return bisect.bisect_right(self.seqs, cut)

    def fsync(self) -> None:
        if self._fd >= 0:
            os.fsync(self._fd)

    def close(self) -> None:
        if self._fd >= 0:
            self.fsync()
            os.close(self._fd)
            self._fd = -1

    # --- reading states -------------------------------------------------------------------------

    def chain(self, index: int, merges: bool = True) -> list[Record]:
        """The records that rebuild entry `index`: its run's base, then the fewest merges and
        deltas that reach it (a reference to an earlier record stands for that record's chain).
        `merges=False`: every delta instead (longer, and right even where a merge is not)."""
        records = self._read([self.entries[i] for i in self._path(index, merges)])
        if records[0].kind == ADOPTED_REF:
            return self.chain(records[0].ref, merges) + records
        return records

    def _path(self, index: int, merges: bool = True) -> list[int]:
        run = bisect.bisect_right(self.bases, index) - 1
        base = self.bases[run]
        end = self.bases[run + 1] if run + 1 < len(self.bases) else len(self.entries)
        target = self.entries[index].pos
        path, at = [base], 0
        while base + len(path) < end and self.entries[base + len(path)].kind == ADOPTED_PART:
            path.append(base + len(path))  # (all part of the base)
        for level in range(LEVELS, 0, -1) if merges else ():
            step = SPAN ** level
            while at + step <= target:
                found = self._find_merge(base, end, at + step, level)
                if found is None:
                    break
                path.append(found)
                at += step
        while at < target:
            at += 1
            path.append(self._delta_at(base, end, at))
        return path

    def _delta_at(self, base: int, end: int, pos: int) -> int:
        """The delta at `pos` of the run [base, end): the first entry with that position (at
        least `pos` entries lie between the base and it)."""
        return _bisect_pos(self.entries, pos, base + pos, end)

    def _find_merge(self, base: int, end: int, pos: int, level: int) -> int | None:
        i = _bisect_pos(self.entries, pos, base + pos, end)
        kind = merge_kind(level)
        i += 1
        while i < end and self.entries[i].pos == pos and self.entries[i].kind != DELTA:
            if self.entries[i].kind == kind:
                return i
            i += 1
        return None

    def _read(self, wanted: list[Entry]) -> list[Record]:
        out = []
        with open(self.path, "rb") as f:
            for entry in wanted:
                f.seek(entry.offset)
                raw = f.read(entry.size)
                if not _intact(raw, Entry(entry.seq, entry.kind, 0, entry.size, 0)):
                    raise CorruptRecord(f"{self.path.name}: the record at byte {entry.offset}"
                                        " fails its checksum")
                body = _decode(raw[_HEAD.size :])
                out.append(Record(entry.seq, entry.kind, body.control, body.state,
                                  entry.journal_end + self.shift, body.ref))
        return out

    def find(self, seq: int) -> int | None:
        """The index of the last full or delta record of a checkpoint at `seq` (None if none)."""
        i = bisect.bisect_right(self.seqs, seq) - 1
        while i >= 0 and self.seqs[i] == seq:
            if self.entries[i].kind in (FULL, DELTA):
                return i
            i -= 1
        return None

    def newest_is(self, seq: int) -> bool:
        """Whether the newest record is the state of the checkpoint at `seq` (its own full or
        delta record, or a merge after it; not a state adopted at that seq)."""
        index = self.find(seq)
        return (index is not None and self.bases[-1] <= index
                and self.entries[-1].pos == self.entries[index].pos)

    def at_or_before(self, seq: int) -> int | None:
        """The index of the newest record whose seq is at most `seq`."""
        i = bisect.bisect_right(self.seqs, seq) - 1
        return i if i >= 0 else None


def _bisect_pos(entries: list[Entry], pos: int, lo: int, hi: int) -> int:
    """The first index in [lo, hi) whose entry's position is `pos` or more (positions within a
    run never decrease)."""
    lo = min(lo, hi)
    while lo < hi:
        mid = (lo + hi) // 2
        if entries[mid].pos < pos:
            lo = mid + 1
        else:
            hi = mid
    return lo


def first_line(shift: int) -> bytes:
    line = MAGIC + b" " + str(shift).encode()
    return line + b" " * (FIRST_LINE - 1 - len(line)) + b"\n"


def _partial_first_line(data: bytes) -> bool:
    """A file created and cut off before its first record was whole."""
    if data.startswith(MAGIC_V2):
        return False
    return (len(data) < FIRST_LINE and MAGIC.startswith(data[: len(MAGIC)])
            or MAGIC_V2.startswith(data))


def _first_line(path: Path, data: bytes) -> tuple[int, int]:
    """(where the records begin, the journal shift) from the file's first line."""
    if data.startswith(MAGIC_V2):
        return len(MAGIC_V2), 0
    line = data[:FIRST_LINE]
    words = line.split()
    if (len(line) == FIRST_LINE and line.endswith(b"\n") and len(words) == 3
            and b" ".join(words[:2]) == MAGIC and words[2].lstrip(b"-").isdigit()):
        return FIRST_LINE, int(words[2])
    raise ValueError(f"{path.name} is not an omega checkpoint file")


def copy_prefix(source: CheckpointFile, target: Path, cut: int, shift: int) -> CheckpointFile:
    """A new checkpoint file at `target` holding `source`'s records up to journal seq `cut`, its
    journal positions moved by `shift` bytes more: the records' bytes are copied as they are
    (in the kernel where it can), only the first line is new."""
    count = source.prefix_end(cut)
    copy = CheckpointFile(target, shift=source.shift + shift)
    if count == 0:
        target.unlink(missing_ok=True)
        return copy
    end = source.entries[count - 1].offset + source.entries[count - 1].size
    write_with_copy(target, first_line(copy.shift), source.path, source.start, end)
    delta = FIRST_LINE - source.start
    if delta == 0:
        copy.entries = source.entries[:count]  # the same places: the entries are shared
        copy.seqs = source.seqs[:count]
        copy.bases = source.bases[: bisect.bisect_left(source.bases, count)]
    else:
        for e in source.entries[:count]:
            copy._add(Entry(e.seq, e.kind, e.offset + delta, e.size, e.journal_end))
    copy.size = end + delta
    return copy


def _intact(data: bytes, entry: Entry) -> bool:
    """The record's CRC32 covers its seq, kind, journal end and body."""
    size, crc = _LEN_CRC.unpack_from(data, entry.offset)
    start = entry.offset + _LEN_CRC.size
    return zlib.crc32(data[start : start + _META.size + size]) == crc


def _write_all(fd: int, blob: bytes) -> None:
    view = memoryview(blob)
    while view:
        view = view[os.write(fd, view) :]
