"""`:doc NAME` and `session.lookup`: what a name is bound to, through a real daemon."""

import pytest

from protocol import errors
from tests.e2e.conftest import session_client


@pytest.fixture
def client(shared_daemon, tmp_path):
    with session_client(shared_daemon, tmp_path) as c:
        yield c


def run(c, command: str, session: str = "docs") -> str:
    return c.call("session.execute", {"session": session, "command": command})["output"]


def test_doc_of_a_primitive_gives_its_arity_and_line(client):
    assert run(client, ":doc car") == ("car: primitive, 1 argument\n"
                                       "  (car pair)\n"
                                       "  The first element of a pair (or of a vector).")
    found = client.call("session.lookup", {"session": "docs", "name": "substring"})
    assert found["kind"] == "primitive" and found["arity"] == "2-3"
    assert found["usage"] == "(substring string start [end])"
    assert found["defined"] is None and found["source"] is None
    assert found["text"] == run(client, ":doc substring")


def test_doc_of_a_user_function_gives_parameters_place_and_source(client):
    run(client, "(define x 1)")
    run(client, "(define (area w h)\n  (* w h))")
    found = client.call("session.lookup", {"session": "docs", "name": "area"})
    assert found["kind"] == "procedure" and found["params"] == ["w", "h"]
    assert found["arity"] == "2"
    assert found["defined"] == {"session": "docs", "seq": 4}  # the second input's event
    assert found["source"] == "(define (area w h)\n  (* w h))"
    assert run(client, ":doc area") == ("area: procedure, 2 arguments\n"
                                        "  (area w h)\n"
                                        "  defined in session docs at seq 4\n"
                                        "  (define (area w h)\n"
                                        "    (* w h))")


def test_where_a_definition_was_made_survives_a_daemon_restart(start_inprocess_daemon, omega_env):
    """After a restart the place comes from the journal (the defs file keeps only sources)."""
    for round_ in (1, 2):
        daemon = start_inprocess_daemon()
        with session_client(daemon, omega_env.session_dir) as c:
            if round_ == 1:
                run(c, "(define (sq n) (* n n))", "kept")
                run(c, "(define (sq n) (* n n n))", "kept")  # redefined: this one counts
            found = c.call("session.lookup", {"session": "kept", "name": "sq"})
        assert found["defined"] == {"session": "kept", "seq": 4}, round_
        assert found["source"] == "(define (sq n) (* n n n))"
        assert daemon.stop() == 0


def test_an_unbound_name_is_unbound_not_an_error(client):
    run(client, "(+ 1 2)")
    found = client.call("session.lookup", {"session": "docs", "name": "nope"})
    assert found["kind"] == "unbound" and found["text"].startswith("nope: not bound")
    assert run(client, ":doc") == "Usage: :doc <name>"


def test_lookup_in_a_missing_session_is_not_found_and_creates_nothing(client, tmp_path):
    with pytest.raises(errors.RpcError) as e:
        client.call("session.lookup", {"session": "ghost", "name": "car"})
    assert e.value.code == errors.SessionNotFound.code
    assert not list(tmp_path.glob("sessions/ghost*"))
    assert client.call("server.ping") == {"pong": True}


THREE_DEEP = ["(define (inner x) (car x))", "(define (middle x) (+ 1 (inner x)))",
              "(define (outer x) (* 2 (middle x)))"]


def test_bt_after_an_error_three_calls_deep_names_all_three(client):
    for text in THREE_DEEP:
        run(client, text, "bt")
    assert run(client, "(outer 5)", "bt") == "error: car: expected pair"  # the reference's line
    assert run(client, ":bt", "bt") == ("Backtrace (innermost first):\n"
                                        "  0: inner  (car x)\n"
                                        "  1: middle  (+ 1 (inner x))\n"
                                        "  2: outer  (* 2 (middle x))")
    found = client.call("session.backtrace", {"session": "bt"})
    assert [(f["procedure"], f["form"]) for f in found["frames"]] == [
        ("inner", "(car x)"), ("middle", "(+ 1 (inner x))"), ("outer", "(* 2 (middle x))")]
    assert found["text"] == run(client, ":bt", "bt") and found["more"] == 0


def test_bt_is_empty_once_an_evaluation_succeeds(client):
    run(client, "(car 1)", "bt2")
    assert client.call("session.backtrace", {"session": "bt2"})["frames"]
    run(client, "(+ 1 2)", "bt2")
    found = client.call("session.backtrace", {"session": "bt2"})
    assert found["frames"] == [] and found["text"] == run(client, ":bt", "bt2") == \
        "(no backtrace: the last evaluation did not fail)"


def test_env_lists_every_binding_it_counts(client):
    run(client, "(define (area w h) (* w h))", "env")
    run(client, "(define n 5)", "env")
    out = run(client, ":env", "env").split("\n")
    assert out[:3] == ["User bindings (2):", "  area = <closure (w h)>", "  n = 5"]
    listed = " ".join(out[4:-1]).split()
    assert out[-1] == f"({len(listed) + 2} total bindings)"
    for name in ("car", "map", "sort", "string-append"):
        assert name in listed
        assert client.call("session.lookup", {"session": "env", "name": name})["kind"] != \
            "unbound"
    assert run(client, ":env n", "env") == "n = 5"
