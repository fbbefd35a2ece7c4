"""`<name>.restores`: states that a session adopted without a journal event.

`:session load / goto / resume` change a session's state but, to keep the journal the reference's,
write no event. Omega appends the adopted state here (serialized by the evaluator), tagged with
the journal seq it applies before, so rebuilding the session from its journal gets it back.
Each record: 4-byte length, 4-byte CRC32, then a msgpack `{at, control, state}`; a torn or
corrupt tail is ignored on reading.
"""

from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path

import msgspec

_HEAD = struct.Struct(">II")


class Restore(msgspec.Struct, array_like=True):
    at: int  # applies before the journal event with this seq
    control: str
    state: bytes


_encode = msgspec.msgpack.Encoder().encode
_decode = msgspec.msgpack.Decoder(Restore).decode


def append_restore(path: Path, record: Restore) -> None:
    body = _encode(record)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        os.write(fd, _HEAD.pack(len(body), zlib.crc32(body)) + body)
    finally:
        os.close(fd)


def read_restores(path: Path) -> list[Restore]:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return []
    records, pos = [], 0
    while pos + _HEAD.size <= len(data):
        size, crc = _HEAD.unpack_from(data, pos)
        body = data[pos + _HEAD.size : pos + _HEAD.size + size]
        if len(body) < size or zlib.crc32(body) != crc:
            break
        records.append(_decode(body))
        pos += _HEAD.size + size
    return records
