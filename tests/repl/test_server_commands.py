"""What the REPL relies on in the daemon: `session.output` notices of every kind, `:server status`
and `:server stop` (reference-sessions.md §9.7), the oracle and lease holder in `session.open`."""

from omegacli.autostart import hello_params
from omegacli.client import Client
from tests.conftest import wait_until


def connect(daemon, session_dir, name: str) -> Client:
    client = Client.connect(str(daemon.socket))
    params = hello_params(name, str(session_dir))
    params["env"] = {}
    client.call("server.hello", params)
    return client


def test_an_attached_client_sees_another_clients_input_display_and_results_in_order(
        inprocess_daemon, tmp_path):
    with connect(inprocess_daemon, tmp_path, "alice") as a, \
            connect(inprocess_daemon, tmp_path, "bob") as b:
        b.call("session.open", {"session": "shared", "follow": True, "create": True})
        r = a.call("session.execute", {"session": "shared",
                                       "command": '(display "one") (+ 1 2) (display "two")'})
        assert r["output"] == "one=> null\n=> 3\ntwo=> null"
        seen = []
        b.call("server.ping", on_notification=lambda m, p: seen.append(
            (p["kind"], p["text"], p["client"])))
        assert seen == [
            ("input", '(display "one") (+ 1 2) (display "two")', "alice"),
            ("display", "one", "alice"), ("result", "=> null\n", "alice"),
            ("result", "=> 3\n", "alice"),
            ("display", "two", "alice"), ("result", "=> null\n", "alice"),
        ]


def test_a_command_output_is_streamed_as_result_lines(inprocess_daemon, tmp_path):
    with connect(inprocess_daemon, tmp_path, "alice") as a:
        a.call("session.open", {"session": "s", "follow": True, "create": True})
        seen = []
        a.call("session.execute", {"session": "s", "command": ":session list"},
               on_notification=lambda m, p: seen.append((p["kind"], p["text"])))
        assert seen[0] == ("input", ":session list")
        assert seen[1][0] == "result" and seen[1][1].startswith("Saved sessions:\n")


def test_a_client_that_does_not_follow_gets_display_output_only(inprocess_daemon, tmp_path):
    with connect(inprocess_daemon, tmp_path, "alice") as a:
        seen = []
        a.call("session.execute", {"session": "s", "command": '(display "x") (+ 1 2)'},
               on_notification=lambda m, p: seen.append((p["kind"], p["text"])))
        assert seen == [("display", "x")]


def test_open_names_the_oracle_and_the_lease_holder(
        inprocess_daemon, tmp_path):
    with connect(inprocess_daemon, tmp_path, "alice") as a, \
            connect(inprocess_daemon, tmp_path, "bob") as b:
        opened = a.call("session.open", {"session": "s", "mode": "write"})
        assert opened["oracle"].startswith("scripted") and opened["lease_holder"] == "alice"
        assert b.call("session.open", {"session": "s"})["lease_holder"] == "alice"


def test_server_status_and_stop_work_through_any_client(daemon, tmp_path):
    with connect(daemon, tmp_path, "alice") as a:
        status = a.call("session.execute", {"session": "s", "command": ":server status"})
        assert status["output"] == "Server is running"
        stop = a.call("session.execute", {"session": "s", "command": ":server stop"})
        assert stop["output"] == "Server stopped"
    wait_until(lambda: daemon.proc.poll() is not None, what="the daemon to stop")
    assert daemon.proc.returncode == 0
