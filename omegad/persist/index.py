"""`<name>.index.json`: the reference's index schema (checkpoints, receipts), written atomically.

Omega's index holds no machine states (`"states": {}`): those live in omega's checkpoint file.
Reading a reference index skips its (large) `states` member without building it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import msgspec


class CheckpointEntry(msgspec.Struct):
    seq: int
    byteOffset: int  # noqa: N815 - the reference's field name
    stateId: str  # noqa: N815
    reason: str


class IndexInfo(msgspec.Struct):
    sessionId: str = ""  # noqa: N815
    eventCount: int = 0  # noqa: N815
    checkpoints: list[CheckpointEntry] = []
    receipts: dict[str, Any] = {}


class IndexCounts(msgspec.Struct):
    eventCount: int = 0  # noqa: N815
    checkpoints: list[msgspec.Raw] = []


_info = msgspec.json.Decoder(IndexInfo)
_counts = msgspec.json.Decoder(IndexCounts)


def read_index(path: Path) -> IndexInfo:
    return _info.decode(path.read_bytes())


def read_counts(path: Path) -> tuple[int, int]:
    """(eventCount, number of checkpoints), as `:session list` shows them."""
    counts = _counts.decode(path.read_bytes())
    return counts.eventCount, len(counts.checkpoints)


def render_index(info: IndexInfo) -> bytes:
    """`JSON.stringify(index, null, 2)` of the reference's schema."""
    doc = {
        "sessionId": info.sessionId,
        "eventCount": info.eventCount,
        "checkpoints": [msgspec.structs.asdict(cp) for cp in info.checkpoints],
        "states": {},
        "receipts": info.receipts,
    }
    return json.dumps(doc, indent=2, ensure_ascii=False).encode()


def write_atomic(path: Path, data: bytes) -> None:
    """Write a temp file, fsync it, rename it over `path`, fsync the directory."""
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def write_index(path: Path, info: IndexInfo) -> None:
    write_atomic(path, render_index(info))
