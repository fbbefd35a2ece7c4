"""A connection's outbox over a real socket pair: whole lines in order, no waiting, a limit."""

import socket

import trio

from omegad.outbox import Outbox


def pair() -> tuple[trio.SocketStream, socket.socket]:
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    ours.setblocking(False)
    return trio.SocketStream(trio.socket.from_stdlib_socket(ours)), theirs


def read_lines(peer: socket.socket, count: int) -> list[bytes]:
    data = b""
    while data.count(b"\n") < count:
        chunk = peer.recv(1 << 20)
        assert chunk, "closed early"
        data += chunk
    return data.split(b"\n")[:count]


async def test_lines_the_socket_cannot_take_at_once_arrive_whole_and_in_order():
    stream, peer = pair()
    overflowed: list[bool] = []
    box = Outbox(stream, 64 << 20, lambda: overflowed.append(True))
    lines = [str(i).encode() * 50_000 for i in range(40)]  # ~9 MB: far over the socket buffer
    async with trio.open_nursery() as nursery:
        nursery.start_soon(box.run)
        for line in lines:
            box.put(line)  # never waits, though nobody reads yet
        got = await trio.to_thread.run_sync(read_lines, peer, len(lines))
        await box.flushed()
        nursery.cancel_scope.cancel()
    assert got == lines
    assert not overflowed


async def test_a_reader_that_falls_past_the_limit_is_dropped():
    stream, peer = pair()
    overflowed: list[bool] = []
    box = Outbox(stream, 1 << 20, lambda: overflowed.append(True))
    for _ in range(40):
        box.put(b"y" * 100_000)
    assert overflowed == [True]
    assert box.closed
    box.put(b"after")  # ignored: the connection is being dropped
    peer.close()


async def test_a_line_put_after_the_stream_closed_goes_nowhere():
    stream, peer = pair()
    box = Outbox(stream, 64 << 20, lambda: None)
    number = stream.socket.fileno()
    await stream.aclose()
    other, other_peer = pair()  # takes the lowest free descriptor: the one just closed
    assert other.socket.fileno() == number
    box.put(b"late")
    other_peer.setblocking(False)
    try:
        stray = other_peer.recv(100)
    except BlockingIOError:
        stray = b""
    assert stray == b""
    for s in (peer, other_peer):
        s.close()
    await other.aclose()
