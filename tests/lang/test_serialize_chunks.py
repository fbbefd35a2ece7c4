"""A big record's objects are written in chunks (each decoded in a step of its own when read in
steps); small records are written as before (format 1)."""

import msgspec
import pytest

from omegad.lang import ReplState, start
from omegad.lang.serialize import (
    CHUNK,
    CHUNKED_FORMAT,
    FORMAT_VERSION,
    deserialize,
    serialize,
    serialize_delta,
)


def run(state: ReplState, text: str) -> str:
    return start(state, text).run(10**8).printed


def test_a_big_state_is_written_in_chunks_and_read_a_chunk_per_step():
    state = ReplState()
    serialize(state)
    assert run(state, f"(define big (iota {3 * CHUNK + 7}))") == "=> big"
    assert run(state, "(define small (list 1 2))") == "=> small"
    full = serialize(state)
    doc = msgspec.msgpack.decode(full)
    assert doc["format"] == CHUNKED_FORMAT and doc["objects"] == []
    assert [len(msgspec.msgpack.decode(c)) for c in doc["chunks"]][:3] == [CHUNK] * 3
    back = deserialize(full, fresh=ReplState)
    assert run(back, "(list (length big) (list-ref big 60006) small)") == "=> (60007 60006 (1 2))"
    run(state, "(set-car! small 9)")
    delta = msgspec.msgpack.decode(serialize_delta(state, None))
    assert delta["format"] == FORMAT_VERSION and "chunks" not in delta  # small: as before


def test_a_record_of_another_format_is_refused_by_name():
    data = msgspec.msgpack.encode({"format": 3, "kind": "full"})
    with pytest.raises(ValueError, match="unsupported state format 3"):
        deserialize(data, fresh=ReplState)
