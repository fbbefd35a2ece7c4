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
prefix keeps the bytes and changes the shift).

Damage is found on open, and bounded so that a clean open stays fast: every record's header is
read (its length and kind chain the file), and the CRC of every record past the last *clean
mark* is checked. The mark (`<name>.ckpt.sum`: a size and the CRC32 of the file's bytes up to
it) is written when the session's index is refreshed; one CRC32 over those bytes (a millisecond
for 10 000 inputs) vouches for every record before it, and when it does not match (or there is
no mark) each record is checked on its own. From the first damaged record on, the file is set
aside (quarantine.py) and cut: the states after it are rebuilt from the journal. A file whose
first line is damaged is set aside whole.

A session's own opening first tries to repair a damaged record whose header still chains
(`keep_damaged`): it computes the record again from the journal (recovery/records.py) and writes
it back in place only when its CRC is the one the header stored, i.e. the bytes are exactly the
ones written; the records after it then stay (no states to rebuild). When that cannot be done,
the file is cut at that record as above.
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
from omegad.persist.failures import CorruptRecord, append_or_roll_back, roll_back
from omegad.persist.journal import last_seq_before
from omegad.persist.quarantine import set_aside
from protocol.errors import UntrustedPath

MAGIC = b"OMEGA-CKPT 3"
MAGIC_V2 = b"OMEGA-CKPT 2\n"
FIRST_LINE = 32  # the v3 first line, padded: a fork rewrites it in place
SPAN = 16  # deltas per merge of level 1; SPAN merges of level k per merge of level k + 1
LEVELS = 6  # merges of levels 1..LEVELS (SPAN ** LEVELS inputs: far beyond any session)
_HEAD = struct.Struct(">IIqBQ")  # length, CRC32 of the rest of the record, seq, kind, journal end
_LEN_CRC = struct.Struct(">II")
_META = struct.Struct(">qBQ")
_MARK = struct.Struct(">QI")  # the clean mark: size, CRC32 of the file's bytes up to it

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
    damage: str = ""  # what was found on open and done about it, in words, when anything was
    crc: int = 0  # CRC32 of the file's bytes [0, size)
    shift: int = 0  # added to every record's journal end
    start: int = FIRST_LINE  # where the records begin
    seqs: list[int] = field(default_factory=list)  # each entry's seq (non-decreasing)
    bases: list[int] = field(default_factory=list)  # the entries that start a run
    damaged: list[int] = field(default_factory=list)  # kept entries that fail their CRC
    _fd: int = -1

    @classmethod
    def open(cls, path: Path, journal: Path | None = None,
             keep_damaged: bool = False) -> CheckpointFile:
        """The file's records, damage repaired (the module's docstring says how); `journal`
        lets a damaged first line be rewritten when the records after it are all intact and
        their journal positions fit that journal as they are (an unforked session's).
        `keep_damaged`: records that fail their CRC (their headers chaining) are kept and
        listed in `damaged`; the caller then calls `rewrite_record` or `cut_records` for each."""
        ckpt = cls(path)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return ckpt
        except OSError as e:  # unreadable: set it aside by name, start a new one
            ckpt._rename_aside(e)
            return ckpt
        if _partial_first_line(data):  # created, then cut off before its first record
            ckpt._cut(data, 0, "its first line is incomplete (a write cut short)")
            return ckpt
        try:
            ckpt.start, ckpt.shift = _first_line(path, data)
        except ValueError:
            if journal is None or not ckpt._new_first_line(data, journal):
                ckpt._cut(data, 0, "its first line is damaged")
                ckpt.start = FIRST_LINE
            return ckpt
        ckpt._scan(data, keep_damaged)
        return ckpt

    def _scan(self, data: bytes, keep_damaged: bool = False) -> None:
        pos = self._scan_records(data)
        end = len(data)
        how = "is incomplete" if pos + _HEAD.size > end or \
            pos + _HEAD.size + _HEAD.unpack_from(data, pos)[0] > end else "is damaged"
        checked, crc = self._clean_up_to(data, pos)
        view = memoryview(data)
        first = bisect.bisect_left(self.entries, checked, key=lambda e: e.offset)
        for i in range(first, len(self.entries)):
            if not _intact(view, self.entries[i]):
                if keep_damaged:
                    self.damaged.append(i)
                    continue
                pos, how = self.entries[i].offset, "fails its checksum"
                self._drop_from(i)
                break
        tail = len(self.entries)  # damaged records up to the end are a damaged tail: cut
        while self.damaged and self.damaged[-1] == tail - 1:
            tail = self.damaged.pop()
        if tail < len(self.entries):
            pos, how = self.entries[tail].offset, "fails its checksum"
            self._drop_from(tail)
        self.size = pos
        self.crc = zlib.crc32(view[checked:pos], crc)
        if pos < end:
            self._cut(data, pos, f"the record at byte {pos} {how}")

    def rewrite_record(self, index: int, control: str, state: bytes, ref: int = -1) -> Path | None:
        """Write damaged record `index` back as (control, state, ref) when that is exactly what
        was written (its CRC is the one its header holds); the damaged bytes from it on are set
        aside first. The quarantine file's path, or None (nothing done) when the CRC differs."""
        entry = self.entries[index]
        with open(self.path, "rb") as f:
            f.seek(entry.offset)
            head = f.read(_HEAD.size)
        size, crc, seq, kind, journal_end = _HEAD.unpack(head)
        body = _encode(Body(control, state, ref))
        meta = _META.pack(seq, kind, journal_end)
        if len(body) != size or zlib.crc32(body, zlib.crc32(meta)) != crc:
            return None
        aside = set_aside(self.path, entry.offset)
        fd = owned.open_owned(self.path, os.O_WRONLY)
        try:
            _write_all_at(fd, body, entry.offset + _HEAD.size)
            os.fsync(fd)
        finally:
            os.close(fd)
        self.damaged.remove(index)
        with open(self.path, "rb") as f:
            self.crc = zlib.crc32(f.read(self.size))
        return aside

    def _new_first_line(self, data: bytes, journal: Path) -> bool:
        """A damaged first line over intact records: when every record checks and the newest
        one's journal end is where its seq's line ends (with no shift), the file is set aside
        whole and gets a new first line; the records stay. False (nothing done) otherwise."""
        self.start, self.shift = FIRST_LINE, 0
        self._scan_records(data)
        view = memoryview(data)
        whole = bool(self.entries) and self.size == len(data) and all(
            _intact(view, e) for e in self.entries)
        last = self.entries[-1] if self.entries else None
        if not whole or last is None or last_seq_before(journal, last.journal_end) != last.seq:
            self.entries, self.seqs, self.bases, self.size = [], [], [], 0
            return False
        aside = set_aside(self.path, 0)
        fd = owned.open_owned(self.path, os.O_WRONLY)
        try:
            os.pwrite(fd, first_line(0), 0)
        finally:
            os.close(fd)
        self.crc = zlib.crc32(first_line(0) + data[FIRST_LINE:])
        self.damage = (f"{self.path.name}: its first line is damaged; its {len(self.entries)}"
                       f" records are intact and were kept under a new first line (the file"
                       f" as it was is set aside in {aside.name})")
        return True

    def _scan_records(self, data: bytes) -> int:
        """Add the entries whose headers chain from `start`; where the chain ends. (`_add`
        inlined: this reads every header of a 10 000-input file on each open.)"""
        pos, end = self.start, len(data)
        unpack, head = _HEAD.unpack_from, _HEAD.size
        entries, seqs, bases = self.entries, self.seqs, self.bases
        last = entries[-1].pos if entries else 0
        while pos + head <= end:
            size, _crc, seq, kind, journal_end = unpack(data, pos)
            if pos + head + size > end or kind not in KINDS:
                break
            if kind in BASES or not entries:
                bases.append(len(entries))
                last = 0
            elif kind == DELTA:
                last += 1
            entries.append(Entry(seq, kind, pos, head + size, journal_end, last))
            seqs.append(seq)
            pos += head + size
        self.size = pos
        return pos

    def _clean_up_to(self, data: bytes, end: int) -> tuple[int, int]:
        """Where the records whose CRC need no check end, and the CRC of the bytes before: the
        clean mark's, when the file's bytes up to it still have its CRC (else (0, 0): nothing
        is vouched for)."""
        try:
            size, crc = _MARK.unpack(self.mark_path.read_bytes())
        except (OSError, struct.error):
            return 0, 0
        if size > end or zlib.crc32(memoryview(data)[:size]) != crc:
            return 0, 0
        return size, crc

    @property
    def mark_path(self) -> Path:
        return self.path.with_name(self.path.name + ".sum")

    def mark_clean(self) -> None:
        """Note the file's size and CRC: the next open checks only the records after them.
        (A mark that does not match the file on open only makes that open check everything.)"""
        try:
            fd = owned.open_owned(self.mark_path, os.O_WRONLY | os.O_TRUNC, create=True)
        except (OSError, UntrustedPath):  # (then the next open checks every record)
            return
        try:
            os.write(fd, _MARK.pack(self.size, self.crc))
        except OSError:
            pass
        finally:
            os.close(fd)

    def _cut(self, data: bytes, pos: int, why: str) -> None:
        """Set the bytes from `pos` on aside, then cut them off."""
        aside = set_aside(self.path, pos)
        owned.truncate(self.path, pos)
        self.size = pos
        self.crc = zlib.crc32(memoryview(data)[:pos])
        self.cut = len(data) - pos
        kept = f"kept its {len(self.entries)} records before it" if self.entries else \
            "kept none of its records"
        self.damage = (f"{self.path.name}: {why}; {kept}, set the {self.cut} bytes from byte"
                       f" {pos} on aside in {aside.name}")

    def cut_records(self, i: int, why: str) -> None:
        """Set records `i` and after aside and cut them off (they disagree with the journal,
        or are damaged)."""
        data = self.path.read_bytes()
        self._drop_from(i)
        self.damaged = [d for d in self.damaged if d < i]
        end = self.entries[-1].offset + self.entries[-1].size if self.entries else 0
        self._cut(data, end, why)

    def _rename_aside(self, error: OSError) -> None:
        from omegad.persist.quarantine import free_name

        aside = free_name(self.path)
        os.rename(self.path, aside)  # (raises when even that is refused: nothing can be done)
        self.damage = (f"{self.path.name} could not be read ({error.strerror or error});"
                       f" moved it aside to {aside.name}")

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
        """Append one record; a write that fails (a full disk) leaves the file as it was."""
        journal_end = max(0, record.journal_end - self.shift)
        body = _encode(Body(record.control, record.state, record.ref))
        meta = _META.pack(record.seq, record.kind, journal_end)
        blob = _LEN_CRC.pack(len(body), zlib.crc32(body, zlib.crc32(meta))) + meta + body
        if self._fd < 0:
            self._fd = owned.open_owned(self.path, os.O_WRONLY | os.O_APPEND, create=True)
        first = first_line(self.shift) if self.size == 0 else b""  # in the same write
        if first:
            blob = first + blob
        append_or_roll_back(self._fd, blob, self.size, self.path)
        self.count(blob)
        self.size += len(first)
        self._add(Entry(record.seq, record.kind, self.size, len(blob) - len(first), journal_end))
        self.size += len(blob) - len(first)

    def count(self, appended: bytes) -> None:
        """Keep the CRC of the whole file current (for the clean mark)."""
        self.crc = zlib.crc32(appended, self.crc)

    def position(self) -> tuple[int, int, int]:
        """Where the file ends now (for `rewind`)."""
        return len(self.entries), self.size, self.crc

    def rewind(self, position: tuple[int, int, int]) -> None:
        """Cut off what was appended since `position` (records that must go in together)."""
        count, size, crc = position
        if self._fd >= 0:
            roll_back(self._fd, size, self.path)
        self._drop_from(count)
        self.size, self.crc = size, crc

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
            for entry in wanted:  # (each record's CRC is checked as it is read)
                f.seek(entry.offset)
                raw = f.read(entry.size)
                if not _intact(raw, Entry(entry.seq, entry.kind, 0, entry.size, 0)):
                    raise CorruptRecord(f"{self.path.name}: the record at byte {entry.offset}"
                                        " fails its checksum (it changed since the session"
                                        " opened; reopening it repairs it)", self.path)
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
    copy.crc = zlib.crc32(target.read_bytes())  # (for its clean mark)
    return copy


def _intact(data: bytes | memoryview, entry: Entry) -> bool:
    """The record's CRC32 covers its seq, kind, journal end and body."""
    size, crc = _LEN_CRC.unpack_from(data, entry.offset)
    start = entry.offset + _LEN_CRC.size
    return zlib.crc32(data[start : start + _META.size + size]) == crc


def _write_all_at(fd: int, blob: bytes, offset: int) -> None:
    view = memoryview(blob)
    while view:
        written = os.pwrite(fd, view, offset)
        view, offset = view[written:], offset + written
