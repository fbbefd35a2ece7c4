"""A live session's files have one writer: `:session save B` does not write under B's actor."""

from __future__ import annotations

import pytest

from protocol import messages
from tests.storage.inprocess import RpcFailure, running


async def test_saving_over_an_open_session_is_refused_and_loses_nothing(root):
    async with running(root) as d:
        b = await d.connection()
        await b.execute("B", "(define kept 1)")
        await d.execute("A", "(define a 2)")
        out = await d.execute("A", ":session save B")
        assert out.startswith("Error saving session: session 'B' is open")
        with pytest.raises(RpcFailure) as busy:
            await d.call("session.save", {"session": "A", "name": "B"})
        assert busy.value.code == -32013 and "'B' is open" in busy.value.message
        assert await b.execute("B", "(define more 3)") == "=> more"  # B is unharmed
        assert await d.execute("A", "a") == "=> 2"  # and so is A
        await b.close()
    async with running(root) as d:
        assert await d.execute("B", "(list kept more)") == "=> (1 3)"


async def test_saving_over_a_session_no_one_uses_goes_through_its_actor(root):
    async with running(root) as d:
        b = await d.connection()
        await b.execute("B", "(define old 1)")
        await b.close()
        await d.execute("A", "(define a 2)")
        assert await d.execute("A", ":session save B") == "Session saved as 'B'"
        assert await d.execute("B", "a") == "=> 2"  # B reopened from the saved files
    async with running(root) as d:
        assert await d.execute("B", "a") == "=> 2"


def test_a_lone_surrogate_goes_out_as_u_fffd():
    line = messages.encode_result(1, {"output": "ab\ud83d"})
    assert line == b'{"jsonrpc":"2.0","id":1,"result":{"output":"ab\xef\xbf\xbd"}}'
