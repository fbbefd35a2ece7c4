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

from omegad import owned
from omegad.persist import jsjson


class Checkpoint(msgspec.Struct, frozen=True):
    """A journal checkpoint event: its seq, reason, state id and the byte offset of its line
    (an index entry, under the reference's field names in the file)."""

    seq: int
    reason: str
    state_id: str = msgspec.field(name="stateId")
    offset: int = msgspec.field(name="byteOffset")


def CheckpointEntry(seq: int, byteOffset: int, stateId: str, reason: str) -> Checkpoint:  # noqa: N802, N803
    """An index entry in the reference's field order."""
    return Checkpoint(seq, reason, stateId, byteOffset)


class IndexInfo(msgspec.Struct):
    sessionId: str = ""  # noqa: N815
    eventCount: int = 0  # noqa: N815
    checkpoints: list[Checkpoint] = []
    receipts: dict[str, Any] = {}


class IndexWithStates(IndexInfo):
    """An index with the reference's serialized states, each kept as its raw JSON text."""

    states: dict[str, msgspec.Raw] = {}


class IndexCounts(msgspec.Struct):
    eventCount: int = 0  # noqa: N815
    checkpoints: list[msgspec.Raw] = []


class _StatesDecoder(jsjson.Decoder[IndexWithStates]):
    """Falling back to JavaScript's reading, each state is kept as its (compact) JSON text."""

    def convert(self, obj: Any) -> IndexWithStates:
        states = obj.pop("states", None) if isinstance(obj, dict) else None
        info = msgspec.convert(obj, IndexWithStates)
        if isinstance(states, dict):
            info.states = {k: msgspec.Raw(jsjson.dumps(v)) for k, v in states.items()}
        return info


class _CountsDecoder(jsjson.Decoder[IndexCounts]):
    def convert(self, obj: Any) -> IndexCounts:
        checkpoints = obj.pop("checkpoints", []) if isinstance(obj, dict) else []
        counts = msgspec.convert(obj, IndexCounts)
        counts.checkpoints = [msgspec.Raw(b"0")] * len(checkpoints)
        return counts


_info = jsjson.Decoder(IndexInfo)
_with_states = _StatesDecoder(IndexWithStates)
_counts = _CountsDecoder(IndexCounts)


def read_index(path: Path) -> IndexInfo:
    return _info.decode(path.read_bytes())


def read_index_states(path: Path) -> IndexWithStates:
    """The index and its states (raw: building them is left to whoever needs one)."""
    return _with_states.decode(path.read_bytes())


def read_counts(path: Path) -> tuple[int, int]:
    """(eventCount, number of checkpoints), as `:session list` shows them."""
    counts = _counts.decode(path.read_bytes())
    return counts.eventCount, len(counts.checkpoints)


def render_index(info: IndexInfo, states: dict[str, msgspec.Raw] | None = None) -> bytes:
    """`JSON.stringify(index, null, 2)` of the reference's schema (what `json.dumps(doc,
    indent=2, ensure_ascii=False)` gives, written out by hand: an index of 10 000 checkpoints
    is rendered in milliseconds; lone surrogates as escapes); `states` (raw JSON texts, as read
    from a reference index) go in as they are."""
    receipts = json.dumps(info.receipts, indent=2, ensure_ascii=False).replace("\n", "\n  ")
    return jsjson.encode_text("".join((
        "{\n",
        f'  "sessionId": {_js(info.sessionId)},\n',
        f'  "eventCount": {info.eventCount},\n',
        f'  "checkpoints": {_render_checkpoints(info.checkpoints)},\n',
        f'  "states": {_render_states(states)},\n',
        f'  "receipts": {receipts}\n',
        "}",
    )))


def _render_states(states: dict[str, msgspec.Raw] | None) -> str:
    if not states:
        return "{}"
    members = ",\n".join(f"    {_js(k)}: {bytes(v).decode()}" for k, v in states.items())
    return "{\n" + members + "\n  }"


def _render_checkpoints(checkpoints: list[Checkpoint]) -> str:
    if not checkpoints:
        return "[]"
    js: dict[str, str] = {}  # reasons (and ids) repeat: each string is escaped once

    def quoted(text: str) -> str:
        out = js.get(text)
        if out is None:
            out = js[text] = _js(text)
        return out

    items = [f'    {{\n      "seq": {cp.seq},\n      "byteOffset": {cp.offset},\n'
             f'      "stateId": {_plain(cp.state_id) or quoted(cp.state_id)},\n'
             f'      "reason": {quoted(cp.reason)}\n    }}' for cp in checkpoints]
    return "[\n" + ",\n".join(items) + "\n  ]"


def _plain(text: str) -> str | None:
    """`"text"` when JSON needs no escape in it (the usual `state-N`), else None."""
    if text.isascii() and text.isprintable() and '"' not in text and "\\" not in text:
        return f'"{text}"'
    return None


def _js(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def write_atomic(path: Path, data: bytes) -> None:
    """Write a temp file, fsync it, rename it over `path`, fsync the directory."""
    try:
        owned.replace_atomic(path, data)
    except OSError as e:  # (a full disk): the file stays as it was, no temp file is left
        path.with_name(f".{path.name}.tmp").unlink(missing_ok=True)
        if e.filename is None:
            e.filename = str(path)
        raise


def write_index(path: Path, info: IndexInfo,
                states: dict[str, msgspec.Raw] | None = None) -> None:
    write_atomic(path, render_index(info, states))


def write_in_place(path: Path, data: bytes) -> None:
    """Rewrite an existing file and fsync it: the directory does not change (a torn write is
    read back as unreadable by whoever reads it)."""
    fd = owned.open_owned(path, os.O_WRONLY | os.O_TRUNC)
    try:
        owned.write_all(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
