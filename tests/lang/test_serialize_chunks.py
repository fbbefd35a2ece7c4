"""A record's objects are encoded a chunk at a time, into the very bytes of one encoding."""

import msgspec
import pytest

from omegad.lang.serialize import ENCODE_CHUNK, encode_in_chunks

ENC = msgspec.msgpack.Encoder()


@pytest.mark.parametrize("n", [0, 1, 15, 16, ENCODE_CHUNK, ENCODE_CHUNK + 1, 65_535, 65_536,
                               3 * ENCODE_CHUNK + 7])
def test_chunks_encode_to_the_bytes_of_one_encoding(n):
    items = [[i, ["pair", i, None if i % 3 else "x" * (i % 40)]] for i in range(n)]
    assert ENC.encode({"objects": encode_in_chunks(items)}) == ENC.encode({"objects": items})
    assert msgspec.msgpack.decode(ENC.encode(encode_in_chunks(items))) == items
