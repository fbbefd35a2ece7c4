"""Looking never creates (issue 19, item 2): a request about a session that does not exist
answers -32001 "session not found" and leaves the session dir as it was; only
`session.execute` and `session.open` with mode `write` (or `create`) make a session."""

import msgspec
import pytest

from protocol import errors
from protocol.methods import METHODS, SessionParams
from tests.e2e.conftest import session_client

CREATING = {"session.execute", "session.interrupt", "session.delete"}  # (delete: its own test)


def _example(params: type) -> dict:
    """The smallest params of a method, its session named `ghost`."""
    example: dict = {}
    for f in msgspec.inspect.type_info(params).fields:
        if not f.required:
            continue
        t = f.type
        if isinstance(t, msgspec.inspect.LiteralType):
            example[f.encode_name] = t.values[0]
        elif isinstance(t, msgspec.inspect.IntType):
            example[f.encode_name] = 1
        elif isinstance(t, msgspec.inspect.StrType):
            example[f.encode_name] = "ghost" if f.name == "session" else "x"
        else:
            example[f.encode_name] = {}
    return example


LOOKING = sorted(name for name, spec in METHODS.items()
                 if issubclass(spec.params, SessionParams) and spec.result is not None
                 and name not in CREATING)


def _files(root) -> set[str]:
    """The session dir's files, but for those of session `real` (written after answers)."""
    found = {str(p.relative_to(root)) for p in root.rglob("*")}
    return {f for f in found if not f.startswith("sessions/real.")}


@pytest.fixture
def client(shared_daemon, tmp_path):
    with session_client(shared_daemon, tmp_path) as c:
        c.call("session.execute", {"session": "real", "command": "(define x 1)"})
        yield c


def test_the_list_covers_the_methods_the_issue_names():
    for name in ("session.metrics", "session.trace", "session.checkpoints", "session.complete",
                 "session.open", "timeline.get", "snapshot.list", "session.goto",
                 "session.lookup"):
        assert name in LOOKING


def test_a_missing_session_is_not_found_and_nothing_is_created(client, tmp_path):
    before = _files(tmp_path)
    for method in LOOKING:
        with pytest.raises(errors.RpcError) as e:
            client.call(method, _example(METHODS[method].params))
        assert (e.value.code, e.value.message) == (errors.SessionNotFound.code,
                                                   "Session 'ghost' not found"), method
        assert _files(tmp_path) == before, method
    assert [s["name"] for s in client.call("session.list")["sessions"]] == ["real"]
    assert client.call("session.execute", {"session": "real", "command": "x"})["output"] == \
        "=> 1"


def test_open_for_writing_or_with_create_makes_the_session(client, tmp_path):
    client.call("session.open", {"session": "made", "create": True})
    client.call("session.open", {"session": "leased", "mode": "write"})
    names = [s["name"] for s in client.call("session.list")["sessions"]]
    assert names == ["leased", "made", "real"]


def test_load_of_a_missing_session_says_so_and_creates_nothing(client, tmp_path):
    before = _files(tmp_path)
    out = client.call("session.execute", {"session": "real",
                                          "command": ":session load ghost"})["output"]
    assert out == "Session 'ghost' not found"  # the reference's text (golden run)
    assert _files(tmp_path) == before
