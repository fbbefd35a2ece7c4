"""`<name>.ckpt`: omega's append-only file of session states, beside the reference's journal.

Each record is a state as the evaluator serialized it: a *delta* against the previous record
(what one input changed), or a *full* state — the first one, one every `FULL_EVERY` records, and
every state a session adopted without a journal event (`:session load / goto / resume / reset`);
going back to one of the session's own checkpoints is a record that points at that checkpoint's.
Restoring any checkpoint therefore reads one full record and at most `FULL_EVERY - 1` deltas.

File: the magic line `OMEGA-CKPT 1\\n`, then records of a 12-byte header (body length, CRC32 of the
body, 4 spare bytes) and a msgpack body `[seq, kind, control, state]`. A checkpoint record's
`seq` is its journal checkpoint event; an adopted state's `seq` is the journal seq it applies
before, minus one. A torn or corrupt tail ends the file where it starts, and is cut on open.
"""

from __future__ import annotations

import os
import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import msgspec

MAGIC = b"OMEGA-CKPT 2\n"
FULL_EVERY = 64
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
    _fd: int = -1

    @classmethod
    def open(cls, path: Path) -> CheckpointFile:
        ckpt = cls(path)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return ckpt
        if len(data) < len(MAGIC) and MAGIC.startswith(data):
            ckpt.cut = len(data)  # created, then cut off before its first record
            os.truncate(path, 0)
            return ckpt
        if not data.startswith(MAGIC):
            raise ValueError(f"{path.name} is not an omega checkpoint file")
        pos = len(MAGIC)
        while pos + _HEAD.size <= len(data):
            size, _crc, seq, kind, journal_end = _HEAD.unpack_from(data, pos)
            if pos + _HEAD.size + size > len(data) or kind not in KINDS:
                break
            ckpt.entries.append(Entry(seq, kind, pos, _HEAD.size + size, journal_end))
            pos += _HEAD.size + size
        first = max(0, len(ckpt.entries) - CHECKED_TAIL)
        for i in range(first, len(ckpt.entries)):  # a torn or corrupt record ends the file
            if not _intact(data, ckpt.entries[i]):
                pos = ckpt.entries[i].offset
                del ckpt.entries[i:]
                break
        ckpt.size = pos
        ckpt.cut = len(data) - pos
        if ckpt.cut:
            os.truncate(path, pos)
        return ckpt

    def deltas_since_full(self) -> int:
        count = 0
        for entry in reversed(self.entries):
            if entry.kind != DELTA:
                break
            count += 1
        return count

    def append(self, record: Record) -> None:
        body = _encode(Body(record.control, record.state, record.ref))
        meta = _META.pack(record.seq, record.kind, record.journal_end)
        blob = _LEN_CRC.pack(len(body), zlib.crc32(body, zlib.crc32(meta))) + meta + body
        if self._fd < 0:
            self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        magic = MAGIC if self.size == 0 else b""  # with the first record, in the same write
        _write_all(self._fd, magic + blob)
        self.size += len(magic)
        self.entries.append(Entry(record.seq, record.kind, self.size, len(blob),
                                  record.journal_end))
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
                                  entry.journal_end, body.ref))
        return out

    def find(self, seq: int) -> int | None:
        """The index of the last record of a checkpoint at `seq` (None when there is none)."""
        for i in range(len(self.entries) - 1, -1, -1):
            entry = self.entries[i]
            if entry.seq == seq and entry.kind in (FULL, DELTA):
                return i
        return None


def _intact(data: bytes, entry: Entry) -> bool:
    """The record's CRC32 covers its seq, kind, journal end and body."""
    size, crc = _LEN_CRC.unpack_from(data, entry.offset)
    start = entry.offset + _LEN_CRC.size
    return zlib.crc32(data[start : start + _META.size + size]) == crc


def _write_all(fd: int, blob: bytes) -> None:
    view = memoryview(blob)
    while view:
        view = view[os.write(fd, view) :]
