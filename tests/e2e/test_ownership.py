"""A command belongs to the connection that sent it (issue 19, item 1).

When a client's connection ends its queued commands are dropped and its running one is
interrupted (the session rolls back), unless it asked for `detach`; `server.status` and
`session.open` report each session's running command."""

import json
import signal
import socket
import subprocess
import sys
import textwrap

from tests.conftest import ROOT, RawConn, wait_until

LOOP = "(begin (set! x 2) (let loop ((i 0)) (loop (+ i 1))))"

# A client in a process of its own: hello, then one command it never waits for.
CLIENT = textwrap.dedent("""
    import json, socket, sys, time
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(sys.argv[1])
    def send(i, method, params):
        msg = {"jsonrpc": "2.0", "id": i, "method": method, "params": params}
        sock.sendall(json.dumps(msg).encode() + b"\\n")
    send(1, "server.hello", {"client": "doomed", "session_dir": sys.argv[2]})
    send(2, "session.execute", json.loads(sys.argv[3]))
    send(3, "session.execute", {"session": "work", "command": "(set! x 3)"})  # queued behind
    while True:
        time.sleep(60)
""")


def _running(c: RawConn) -> list[dict]:
    return c.call("server.status")["running"]


def _start(c: RawConn, session_dir) -> None:
    c.call("server.hello", {"client": "watcher", "session_dir": str(session_dir)})
    assert c.call("session.execute", {"session": "work", "command": "(define x 1)"})["ok"]


def _spawn(daemon, session_dir, params: dict) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", CLIENT, str(daemon.socket), str(session_dir), json.dumps(params)],
        cwd=ROOT,
    )


def _value(c: RawConn, command: str) -> str:
    return c.call("session.execute", {"session": "work", "command": command})["output"]


def test_kill_9_of_a_client_interrupts_its_running_command_and_drops_its_queue(daemon):
    session_dir = daemon.env.session_dir
    with RawConn(daemon.socket, timeout=30) as c:
        _start(c, session_dir)
        client = _spawn(daemon, session_dir, {"session": "work", "command": LOOP})
        try:
            wait_until(lambda: _running(c), what="the client's loop to run")
            [running] = _running(c)
            assert running["session"] == "work"
            assert running["client"] == "doomed"
            assert running["first_line"] == LOOP
            assert running["detached"] is False
            ids = [k["id"] for k in c.call("server.status")["connections"]
                   if k["client"] == "doomed"]
            assert running["connection"] in ids
            opened = c.call("session.open", {"session": "work"})
            assert opened["running"]["client"] == "doomed"
        finally:
            client.send_signal(signal.SIGKILL)
            client.wait()
        wait_until(lambda: not _running(c), what="the dead client's loop to stop")
        assert _value(c, "x") == "=> 1"  # rolled back, and the queued (set! x 3) never ran
        wait_until(lambda: all(k["client"] != "doomed"
                               for k in c.call("server.status")["connections"]),
                   what="the dead connection to go")
        assert c.call("session.open", {"session": "work"})["running"] is None


def test_closing_the_connection_interrupts_its_command(inprocess_daemon):
    with RawConn(inprocess_daemon.socket, timeout=30) as c:
        _start(c, inprocess_daemon.env.session_dir)
        with RawConn(inprocess_daemon.socket, timeout=30) as doomed:
            doomed.call("server.hello", {"client": "doomed",
                                         "session_dir": str(inprocess_daemon.env.session_dir)})
            doomed.send({"jsonrpc": "2.0", "id": 1, "method": "session.execute",
                         "params": {"session": "work", "command": LOOP}})
            wait_until(lambda: _running(c), what="the loop to run")
        wait_until(lambda: not _running(c), what="the closed client's loop to stop")
        assert _value(c, "x") == "=> 1"


def test_a_detached_command_outlives_its_client(daemon):
    session_dir = daemon.env.session_dir
    with RawConn(daemon.socket, timeout=30) as c:
        _start(c, session_dir)
        client = _spawn(daemon, session_dir,
                        {"session": "work", "command": LOOP, "detach": True})
        wait_until(lambda: _running(c), what="the detached loop to run")
        client.send_signal(signal.SIGKILL)
        client.wait()
        wait_until(lambda: all(k["client"] != "doomed"
                               for k in c.call("server.status")["connections"]),
                   what="the dead connection to go")
        [running] = _running(c)
        assert running["detached"] is True and running["client"] == "doomed"
        assert c.call("session.interrupt", {"session": "work"}) == {"interrupted": True}
        wait_until(lambda: not _running(c), what="the interrupt")
        # The command queued behind it was not detached: dropped with its connection.
        assert _value(c, "x") == "=> 1"


def test_a_client_that_only_stops_writing_still_gets_its_answer(inprocess_daemon):
    """`socat` and `nc -N` send their input, shut down their writing half, then read."""
    with RawConn(inprocess_daemon.socket, timeout=30) as c:
        c.send({"jsonrpc": "2.0", "id": 1, "method": "session.execute",
                "params": {"session": "work", "command":
                           "(let loop ((i 0)) (if (< i 20000) (loop (+ i 1)) 'done))"}})
        c.sock.shutdown(socket.SHUT_WR)
        reply = c.recv()
        assert reply["result"]["output"] == "=> done"
