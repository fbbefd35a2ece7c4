"""The examples of the JSON-RPC 2.0 specification, section 7, run against server.* methods.

The spec's `subtract`/`sum`/`update`/`notify_hello`/`get_data` become `server.ping` (by position and
by name) and `server.status`; `foobar` stays a method that does not exist.
"""

from tests.conftest import RawConn

PING = {"pong": True}


def test_call_with_positional_parameters(inprocess_daemon):
    with RawConn(inprocess_daemon.socket) as c:
        c.send('{"jsonrpc": "2.0", "method": "server.ping", "params": [0], "id": 1}')
        assert c.recv() == {"jsonrpc": "2.0", "result": PING, "id": 1}
        c.send('{"jsonrpc": "2.0", "method": "server.ping", "params": [], "id": 2}')
        assert c.recv() == {"jsonrpc": "2.0", "result": PING, "id": 2}


def test_call_with_named_parameters(inprocess_daemon):
    with RawConn(inprocess_daemon.socket) as c:
        c.send('{"jsonrpc": "2.0", "method": "server.ping", "params": {"delay": 0}, "id": 3}')
        assert c.recv() == {"jsonrpc": "2.0", "result": PING, "id": 3}
        c.send(
            '{"jsonrpc": "2.0", "method": "server.hello", "params": {"client": "spec"}, "id": 4}'
        )
        reply = c.recv()
        assert reply["id"] == 4 and reply["result"]["protocol"] == 1


def test_notifications_get_no_response(inprocess_daemon):
    with RawConn(inprocess_daemon.socket) as c:
        c.send('{"jsonrpc": "2.0", "method": "server.ping", "params": [0]}')
        c.send('{"jsonrpc": "2.0", "method": "server.ping"}')
        c.send('{"jsonrpc": "2.0", "method": "foobar"}')  # unknown: still no answer
        c.send('{"jsonrpc": "2.0", "method": "server.ping", "id": "after"}')
        assert c.recv() == {"jsonrpc": "2.0", "result": PING, "id": "after"}


def test_call_of_a_non_existent_method(inprocess_daemon):
    with RawConn(inprocess_daemon.socket) as c:
        c.send('{"jsonrpc": "2.0", "method": "foobar", "id": "1"}')
        reply = c.recv()
        assert reply["id"] == "1" and reply["error"]["code"] == -32601


def test_call_with_invalid_json(inprocess_daemon):
    with RawConn(inprocess_daemon.socket) as c:
        c.send('{"jsonrpc": "2.0", "method": "foobar, "params": "bar", "baz]')
        reply = c.recv()
        assert reply["id"] is None and reply["error"]["code"] == -32700


def test_call_with_invalid_request_object(inprocess_daemon):
    with RawConn(inprocess_daemon.socket) as c:
        c.send('{"jsonrpc": "2.0", "method": 1, "params": "bar"}')
        reply = c.recv()
        assert reply["id"] is None and reply["error"]["code"] == -32600


def test_batch_with_invalid_json(inprocess_daemon):
    with RawConn(inprocess_daemon.socket) as c:
        c.send(
            '[{"jsonrpc": "2.0", "method": "server.ping", "params": [0], "id": "1"},'
            '{"jsonrpc": "2.0", "method"]'
        )
        reply = c.recv()
        assert isinstance(reply, dict)
        assert reply["id"] is None and reply["error"]["code"] == -32700


def test_empty_array(inprocess_daemon):
    with RawConn(inprocess_daemon.socket) as c:
        c.send("[]")
        reply = c.recv()
        assert isinstance(reply, dict)
        assert reply["id"] is None and reply["error"]["code"] == -32600


def test_invalid_batch_but_not_empty(inprocess_daemon):
    with RawConn(inprocess_daemon.socket) as c:
        c.send("[1]")
        reply = c.recv()
        assert len(reply) == 1
        assert reply[0]["id"] is None and reply[0]["error"]["code"] == -32600


def test_invalid_batch(inprocess_daemon):
    with RawConn(inprocess_daemon.socket) as c:
        c.send("[1,2,3]")
        reply = c.recv()
        assert [r["error"]["code"] for r in reply] == [-32600] * 3
        assert all(r["id"] is None for r in reply)


def test_mixed_batch(inprocess_daemon):
    with RawConn(inprocess_daemon.socket) as c:
        c.send(
            "["
            '{"jsonrpc": "2.0", "method": "server.ping", "params": [0], "id": "1"},'
            '{"jsonrpc": "2.0", "method": "server.ping", "params": [0]},'
            '{"jsonrpc": "2.0", "method": "server.ping", "params": {"delay": 0}, "id": "2"},'
            '{"foo": "boo"},'
            '{"jsonrpc": "2.0", "method": "foo.get", "params": {"name": "myself"}, "id": "5"},'
            '{"jsonrpc": "2.0", "method": "server.status", "id": "9"}'
            "]"
        )
        reply = {r["id"] if r["id"] is not None else "null": r for r in c.recv()}
        assert set(reply) == {"1", "2", "null", "5", "9"}
        assert reply["1"]["result"] == PING and reply["2"]["result"] == PING
        assert reply["null"]["error"]["code"] == -32600
        assert reply["5"]["error"]["code"] == -32601
        assert reply["9"]["result"]["pid"] == inprocess_daemon.pid


def test_batch_of_only_notifications_gets_nothing(inprocess_daemon):
    with RawConn(inprocess_daemon.socket) as c:
        c.send(
            '[{"jsonrpc": "2.0", "method": "server.ping", "params": [0]},'
            '{"jsonrpc": "2.0", "method": "server.ping"}]'
        )
        c.send('{"jsonrpc": "2.0", "method": "server.ping", "id": "next"}')
        assert c.recv()["id"] == "next"
