"""`<name>.ckpt`: omega's append-only file of session states, beside the reference's journal.

Each record is a state as the evaluator serialized it: a *delta* against the previous record
(what one input changed), or a *full* state — the first one, one whenever the deltas since the
last full record add up to its size, and every state a session adopted without a journal event
(`:session load / goto / resume / reset`); going back to one of the session's own checkpoints is
a record that points at that checkpoint's. Restoring any checkpoint therefore reads at most about
twice the state's size, and the file grows by at most about twice what the inputs changed: a
full record every N commands would make a session whose state grows cost O(n²) bytes on disk.

File: the magic line `OMEGA-CKPT 2\n`, then records of a 25-byte header (body length, CRC32 of
the rest, seq, kind, journal end) and a msgpack body `[control, state, ref]`. A checkpoint
record's `seq` is its journal checkpoint event; an adopted state's `seq` is the journal seq it
applies before, minus one. A torn or corrupt tail ends the file where it starts, and is cut on
open; opening reads the headers only (through mmap: a record's body is never paged in).
"""

from __future__ import annotations

import mmap
import os
import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import msgspec

MAGIC = b"OMEGA-CKPT 2\n"
MIN_FULL_GAP = 16 << 10  # however small the state, deltas of this many bytes may follow it
_HEAD = struct.Struct(">IIqBQ")  # length, CRC32 of the rest of the record, seq, kind, journal end
_LEN_CRC = struct.Struct(">II")
_META = struct.Struct(">qBQ")
CHECKED_TAIL = 4  # records whose CRC is checked on open

FULL, DELTA, ADOPTED, ADOPTED_REF = 0, 1, 2, 3  # ADOPTED_REF: "the state of record N"
KINDS = (FULL, DELTA, ADOPTED, ADOPTED_REF)


class Body(msgspec.Struct, array_like=True):
    control: str  # the state's value, as `:session goto` shows it
    state: bytes
    ref: int = -1  # ADOPTED_REF: the index of the record whose state was adopted


@dataclass
class Record:
    seq: int  # state as of this journal seq
    kind: int  # FULL | DELTA | ADOPTED (a full state) | ADOPTED_REF (the state of record `ref`)
    control: str
    state: bytes
    journal_end: int = 0
    ref: int = -1


_encode = msgspec.msgpack.Encoder().encode
_decode = msgspec.msgpack.Decoder(Body).decode


class CorruptRecord(ValueError):
    pass


@dataclass
class Entry:
    seq: int
    kind: int
    offset: int
    size: int
    journal_end: int


@dataclass
class CheckpointFile:
    """The records of one `.ckpt` file (their places, not their bytes) and an append handle."""

    path: Path
    entries: list[Entry] = field(default_factory=list)
    size: int = 0
    cut: int = 0  # bytes of torn or corrupt tail cut off on open
    base_bytes: int = 0  # the size of the last record that is not a delta
    delta_bytes: int = 0  # the deltas' since
    _fd: int = -1

    @classmethod
    def open(cls, path: Path) -> CheckpointFile:
        ckpt = cls(path)
        try:
            with open(path, "rb") as f:
                size = os.fstat(f.fileno()).st_size
                if size == 0:
                    return ckpt
                with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as data:
                    ckpt._scan(data, size)
        except FileNotFoundError:
            return ckpt
        if ckpt.cut:
            os.truncate(path, ckpt.size)
        return ckpt

    def _scan(self, data: mmap.mmap, length: int) -> None:
        if length < len(MAGIC) and MAGIC.startswith(data[:length]):
            self.cut = length  # created, then cut off before its first record
            return
        if data[: len(MAGIC)] != MAGIC:
            raise ValueError(f"{self.path.name} is not an omega checkpoint file")
        pos = len(MAGIC)
        while pos + _HEAD.size <= length:
            size, _crc, seq, kind, journal_end = _HEAD.unpack_from(data, pos)
            if pos + _HEAD.size + size > length or kind not in KINDS:
                break
            self._add(Entry(seq, kind, pos, _HEAD.size + size, journal_end))
            pos += _HEAD.size + size
        first = max(0, len(self.entries) - CHECKED_TAIL)
        for i in range(first, len(self.entries)):  # a torn or corrupt record ends the file
            if not _intact(data, self.entries[i]):
                pos = self.entries[i].offset
                del self.entries[i:]
                self._recount()
                break
        self.size = pos
        self.cut = length - pos

    def _add(self, entry: Entry) -> None:
        self.entries.append(entry)
        if entry.kind == DELTA:
            self.delta_bytes += entry.size
        else:
            self.base_bytes, self.delta_bytes = entry.size, 0

    def _recount(self) -> None:
        entries, self.entries = self.entries, []
        self.base_bytes = self.delta_bytes = 0
        for entry in entries:
            self._add(entry)

    def wants_full(self) -> bool:
        """Should the next record be a full state? Once the deltas since the last full record
        weigh as much as it does: then both restoring and the file's growth stay linear."""
        return not self.entries or self.delta_bytes >= max(self.base_bytes, MIN_FULL_GAP)

    def append(self, record: Record) -> None:
        body = _encode(Body(record.control, record.state, record.ref))
        meta = _META.pack(record.seq, record.kind, record.journal_end)
        blob = _LEN_CRC.pack(len(body), zlib.crc32(body, zlib.crc32(meta))) + meta + body
        if self._fd < 0:
            self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        magic = MAGIC if self.size == 0 else b""  # with the first record, in the same write
        _write_all(self._fd, magic + blob)
        self.size += len(magic)
        self._add(Entry(record.seq, record.kind, self.size, len(blob), record.journal_end))
        self.size += len(blob)

    def copy_prefix(self, target: Path, cut: int, shift: int) -> None:
        """Write the records up to journal seq `cut` to `target`, journal positions moved by
        `shift` (each record's CRC recomputed over its new position)."""
        kept = [e for e in self.entries if e.seq <= cut]
        if not kept:
            return
        with open(self.path, "rb") as f:
            data = f.read(kept[-1].offset + kept[-1].size)
        if shift == 0:
            target.write_bytes(data)
            return
        out = [MAGIC]
        for entry in kept:
            start = entry.offset + _HEAD.size
            body = data[start : entry.offset + entry.size]
            meta = _META.pack(entry.seq, entry.kind, max(0, entry.journal_end + shift))
            out.append(_LEN_CRC.pack(len(body), zlib.crc32(body, zlib.crc32(meta))) + meta + body)
        target.write_bytes(b"".join(out))

    def fsync(self) -> None:
        if self._fd >= 0:
            os.fsync(self._fd)

    def close(self) -> None:
        if self._fd >= 0:
            self.fsync()
            os.close(self._fd)
            self._fd = -1

    def chain(self, index: int) -> list[Record]:
        """The records that rebuild entry `index`: its last full record, then the deltas after
        (a reference to an earlier record stands for that record's chain)."""
        start = index
        while self.entries[start].kind == DELTA:
            start -= 1
        records = self._read(self.entries[start : index + 1])
        if records[0].kind == ADOPTED_REF:
            return self.chain(records[0].ref) + records
        return records

    def _read(self, wanted: list[Entry]) -> list[Record]:
        """The records of consecutive entries, read in one go."""
        out = []
        start = wanted[0].offset
        with open(self.path, "rb") as f:
            f.seek(start)
            data = f.read(wanted[-1].offset + wanted[-1].size - start)
        for entry in wanted:
            raw = data[entry.offset - start : entry.offset - start + entry.size]
            if not _intact(raw, Entry(entry.seq, entry.kind, 0, entry.size, 0)):
                raise CorruptRecord(f"{self.path.name}: the record at byte {entry.offset}"
                                    " fails its checksum")
            body = _decode(raw[_HEAD.size :])
            out.append(Record(entry.seq, entry.kind, body.control, body.state,
                              entry.journal_end, body.ref))
        return out

    def find(self, seq: int) -> int | None:
        """The index of the last record of a checkpoint at `seq` (None when there is none)."""
        for i in range(len(self.entries) - 1, -1, -1):
            entry = self.entries[i]
            if entry.seq == seq and entry.kind in (FULL, DELTA):
                return i
        return None


def _intact(data: bytes | mmap.mmap, entry: Entry) -> bool:
    """The record's CRC32 covers its seq, kind, journal end and body."""
    size, crc = _LEN_CRC.unpack_from(data, entry.offset)
    start = entry.offset + _LEN_CRC.size
    return zlib.crc32(data[start : start + _META.size + size]) == crc


def _write_all(fd: int, blob: bytes) -> None:
    view = memoryview(blob)
    while view:
        view = view[os.write(fd, view) :]
