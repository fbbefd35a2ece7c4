import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocol.framing import LineBuffer, LineTooLong


def test_whole_lines_in_one_read():
    assert LineBuffer().feed(b'{"a":1}\n') == [b'{"a":1}']
    assert LineBuffer().feed(b"x\ny\n") == [b"x", b"y"]


def test_partial_line_is_held_until_its_newline():
    buf = LineBuffer()
    assert buf.feed(b'{"a"') == []
    assert buf.pending == 4
    assert buf.feed(b":1}\nnext") == [b'{"a":1}']
    assert buf.feed(b"\n") == [b"next"]
    assert buf.pending == 0


def test_blank_lines_are_skipped():
    assert LineBuffer().feed(b"\n  \r\nx\n\n") == [b"x"]


def test_line_at_the_limit_passes_and_over_it_raises():
    assert LineBuffer(limit=5).feed(b"12345\n") == [b"12345"]
    with pytest.raises(LineTooLong):
        LineBuffer(limit=5).feed(b"123456\n")
    with pytest.raises(LineTooLong):
        LineBuffer(limit=5).feed(b"ab\n123456\n")


def test_unfinished_tail_over_the_limit_raises_before_its_newline():
    buf = LineBuffer(limit=8)
    buf.feed(b"1234")
    with pytest.raises(LineTooLong):
        buf.feed(b"56789")


@given(
    lines=st.lists(st.binary(min_size=1, max_size=20).map(lambda b: b.replace(b"\n", b"x") + b"z")),
    cuts=st.lists(st.integers(min_value=0, max_value=400)),
)
def test_any_split_of_the_stream_gives_the_same_lines(lines, cuts):
    assert_split_gives_the_same_lines(lines, cuts)


def assert_split_gives_the_same_lines(lines: list[bytes], cuts: list[int]) -> None:
    stream = b"".join(line + b"\n" for line in lines)
    points = sorted({min(c, len(stream)) for c in cuts} | {0, len(stream)})
    buf = LineBuffer()
    out = []
    for a, b in zip(points, points[1:], strict=False):
        out += buf.feed(stream[a:b])
    assert out == [line for line in lines if line.strip()]


def test_a_long_line_comes_back_whole_and_what_follows_it_stays():
    from protocol.framing import HAND_OVER

    long = b'{"x":"' + b"y" * (2 * HAND_OVER) + b'"}'
    stream = long + b"\nnext\n  \nlast"
    buf = LineBuffer()
    out = []
    for i in range(0, len(stream), 256 * 1024):
        out += buf.feed(stream[i:i + 256 * 1024])
    assert out == [long, b"next"]
    assert buf.pending == 4
    assert buf.feed(b"\n") == [b"last"]


def test_a_long_blank_line_is_skipped_and_a_long_one_over_the_limit_raises():
    from protocol.framing import HAND_OVER

    assert LineBuffer().feed(b" " * (HAND_OVER + 5) + b"\nx\n") == [b"x"]
    with pytest.raises(LineTooLong):
        LineBuffer(limit=HAND_OVER + 1).feed(b"z" * (HAND_OVER + 2) + b"\n")


@given(
    lines=st.lists(st.binary(min_size=1, max_size=20).map(lambda b: b.replace(b"\n", b"x") + b"z")),
    cuts=st.lists(st.integers(min_value=0, max_value=400)),
)
def test_any_split_gives_the_same_lines_when_long_lines_are_handed_over(lines, cuts):
    import protocol.framing

    saved, protocol.framing.HAND_OVER = protocol.framing.HAND_OVER, 4  # most lines are "long"
    try:
        assert_split_gives_the_same_lines(lines, cuts)
    finally:
        protocol.framing.HAND_OVER = saved
