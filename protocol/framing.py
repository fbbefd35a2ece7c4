"""Newline framing: each message is one UTF-8 JSON text followed by b"\\n" (stdlib only).

`LineBuffer` is sans-I/O: feed it the bytes a socket gave, get back the complete lines. A line (or
an unfinished tail) over the limit raises `LineTooLong`; the server answers -32600 and closes.
"""

MAX_LINE = 16 * 1024 * 1024  # 16 MiB, the default size limit of one message
HAND_OVER = 1 << 20  # bytes: a line this long that starts the buffer is handed over, not copied


class LineTooLong(Exception):
    def __init__(self, limit: int):
        super().__init__(f"message exceeds the size limit of {limit} bytes")
        self.limit = limit


class LineBuffer:
    """Accumulates bytes, splits them into lines (without the newline); skips blank lines."""

    __slots__ = ("_buf", "_limit", "_scanned")

    def __init__(self, limit: int = MAX_LINE):
        self._buf = bytearray()
        self._limit = limit
        self._scanned = 0  # bytes of _buf already known to hold no newline

    @property
    def pending(self) -> int:
        """Bytes of an unfinished line held back."""
        return len(self._buf)

    def feed(self, data: bytes) -> list[bytes | bytearray]:
        """The lines `data` completes. A long line (HAND_OVER bytes or more) that fills the
        buffer up to its newline comes back as that buffer (a bytearray) and a new one takes
        the rest: copying 15 MiB into fresh memory is one pass that holds the caller's event
        loop for tens of milliseconds, where the buffer grew a read at a time."""
        if not self._buf and data.endswith(b"\n") and data.count(b"\n") == 1:
            # The common case: exactly one whole message in one read.
            if len(data) - 1 > self._limit:
                raise LineTooLong(self._limit)
            line = data[:-1]
            return [line] if line.strip() else []
        buf = self._buf
        buf += data
        lines: list[bytes | bytearray] = []
        start = 0
        pos = buf.find(b"\n", self._scanned)
        while pos != -1:
            if pos - start > self._limit:
                raise LineTooLong(self._limit)
            if not start and pos >= HAND_OVER:
                whole = buf
                buf = self._buf = buf[pos + 1:]
                del whole[pos:]
                if not whole.isspace():
                    lines.append(whole)
                pos = buf.find(b"\n")
                continue
            with memoryview(buf) as view:  # one copy (a bytearray slice would be a second)
                line = bytes(view[start:pos])
            if line.strip():
                lines.append(line)
            start = pos + 1
            pos = buf.find(b"\n", start)
        if start:
            del buf[:start]
        self._scanned = len(buf)
        if len(buf) > self._limit:
            raise LineTooLong(self._limit)
        return lines
