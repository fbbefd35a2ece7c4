"""protocol/long_strings.py: a JSON text decoded with its long strings lifted out and decoded in
pieces gives what msgspec gives for the whole text, or fails to decode (never another value)."""

from __future__ import annotations

import json

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from omegad.lang.steps import finish
from protocol import long_strings


@pytest.fixture(autouse=True)
def small_pieces(monkeypatch):
    """Strings of 5 bytes are long, pieces 32 bytes: cut points land everywhere."""
    monkeypatch.setattr(long_strings, "LONG", 5)
    monkeypatch.setattr(long_strings, "PIECE", 32)


def decoded(text: bytes):
    lifted = finish(long_strings.lift_steps(text))
    value = msgspec.json.decode(lifted.skeleton)
    return long_strings.put_back(value, finish(lifted.strings_steps(text))), lifted


TRICKY = 'ab"\\\n\t\u00e9\u20ac\U0001F600\u0001 /'
texts = st.text(alphabet=st.sampled_from(TRICKY), max_size=120)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | texts,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4),
    max_leaves=12,
)


@given(value=json_values, ascii_only=st.booleans())
def test_a_json_text_decodes_to_what_msgspec_decodes(value, ascii_only):
    text = json.dumps(value, ensure_ascii=ascii_only).encode()
    assert decoded(text)[0] == msgspec.json.decode(text)


@given(value=json_values, at=st.integers(min_value=0), junk=st.sampled_from(
    [b'"', b"\\", b"\\q", b"\\u12", b"\\ud83d", b"\xff", b"\x01", b"\xc3", b"}", b""]))
def test_a_broken_text_fails_to_decode_or_decodes_as_msgspec_does(value, at, junk):
    text = json.dumps({"k": value, "s": "x" * 40}).encode()
    at %= len(text)
    broken = text[:at] + junk + text[at + 1:]
    try:
        whole = msgspec.json.decode(broken)
    except msgspec.DecodeError:
        whole = None
    try:
        got = decoded(broken)[0]
    except msgspec.DecodeError:
        return
    assert got == whole


def test_long_strings_are_lifted_and_short_ones_stay():
    text = json.dumps({"sh": "abc", "long": "é" * 100, "list": ["x" * 50]}).encode()
    value, lifted = decoded(text)
    assert value == {"sh": "abc", "long": "é" * 100, "list": ["x" * 50]}
    assert len(lifted.spans) == 2 and b"abc" in lifted.skeleton and b"xxxxx" not in lifted.skeleton
    assert all(lifted.holds(name) for name in lifted.spans) and not lifted.holds("abc")


def test_cuts_never_split_an_escape_a_surrogate_pair_or_a_character():
    for text in ("\\" * 77, "😀" * 40, "a\\" * 30 + "😀", "é€😀\n\"" * 25):
        for shift in range(12):
            body = json.dumps({"s": "x" * shift + text}, ensure_ascii=shift % 2 == 0).encode()
            assert decoded(body)[0] == {"s": "x" * shift + text}


def test_a_long_string_is_decoded_over_many_steps():
    text = json.dumps({"s": "y" * 1000}).encode()
    lifted = finish(long_strings.lift_steps(text))
    steps = list(lifted.strings_steps(text))
    assert len(steps) >= 1000 // 32
