"""`<name>.index.json`: the reference's index schema (checkpoints, receipts), written atomically.

Omega's index holds no machine states of its own: those live in omega's checkpoint file. A
reference index's (large) `states` member is read as raw JSON text per state, decoded only when
a state is needed (lang/reference_state.py), and written back unchanged when omega rewrites an
index that had them, so the reference can still `goto` in it.
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


class IndexWithStates(IndexInfo):
    """An index with the reference's serialized states, each kept as its raw JSON text."""

    states: dict[str, msgspec.Raw] = {}


class IndexCounts(msgspec.Struct):
    eventCount: int = 0  # noqa: N815
    checkpoints: list[msgspec.Raw] = []


_info = msgspec.json.Decoder(IndexInfo)
_with_states = msgspec.json.Decoder(IndexWithStates)
_counts = msgspec.json.Decoder(IndexCounts)


def read_index(path: Path) -> IndexInfo:
    return _info.decode(path.read_bytes())


def read_index_states(path: Path) -> IndexWithStates:
    """The index and its states (raw: building them is left to whoever needs one)."""
    return _with_states.decode(path.read_bytes())


def read_counts(path: Path) -> tuple[int, int]:
    """(eventCount, number of checkpoints), as `:session list` shows them."""
    counts = _counts.decode(path.read_bytes())
    return counts.eventCount, len(counts.checkpoints)


_PLACE = "\x00states\x00"  # a key no index has: where the raw states go


def render_index(info: IndexInfo, states: dict[str, msgspec.Raw] | None = None) -> bytes:
    """`JSON.stringify(index, null, 2)` of the reference's schema; `states` (raw JSON texts, as
    read from a reference index) go in as they are."""
    doc = {
        "sessionId": info.sessionId,
        "eventCount": info.eventCount,
        "checkpoints": [msgspec.structs.asdict(cp) for cp in info.checkpoints],
        "states": {_PLACE: 0} if states else {},
        "receipts": info.receipts,
    }
    text = json.dumps(doc, indent=2, ensure_ascii=False).encode()
    if not states:
        return text
    members = b",\n".join(b"    " + json.dumps(k).encode() + b": " + bytes(v)
                           for k, v in states.items())
    place = b"    " + json.dumps(_PLACE).encode() + b": 0"
    return text.replace(place, members, 1)


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


def write_index(path: Path, info: IndexInfo,
                states: dict[str, msgspec.Raw] | None = None) -> None:
    write_atomic(path, render_index(info, states))
