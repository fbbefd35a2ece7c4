import os
import subprocess
import sys
from pathlib import Path

import msgspec
import pytest

from protocol import PROTOCOL_VERSION, errors, messages, paths
from protocol.methods import METHODS


def test_error_codes_are_distinct_and_documented():
    codes = [v for k, v in vars(errors).items() if k.isupper() and isinstance(v, int)]
    assert len(codes) == len(set(codes))
    assert set(codes) == set(errors.MESSAGES)
    assert errors.INTERRUPTED == -32800
    assert {-32700, -32600, -32601, -32602, -32603} <= set(codes)


def test_rpc_error_subclasses_carry_their_code():
    e = errors.SessionDirUnavailable("nope", {"session_dir": "/x"})
    assert (e.code, e.message, e.data) == (
        errors.SESSION_DIR_UNAVAILABLE,
        "nope",
        {"session_dir": "/x"},
    )
    assert errors.RpcError(code=-32601).message == "Method not found"


def test_request_decoding_distinguishes_requests_and_notifications():
    req = messages.request_decoder.decode(b'{"jsonrpc":"2.0","method":"m","params":[1],"id":"a"}')
    assert (req.method, req.id, bytes(req.params)) == ("m", "a", b"[1]")
    note = messages.request_decoder.decode(b'{"jsonrpc":"2.0","method":"m"}')
    assert note.is_notification
    null_id = messages.request_decoder.decode(b'{"jsonrpc":"2.0","method":"m","id":null}')
    assert not null_id.is_notification and null_id.id is None


@pytest.mark.parametrize(
    "line",
    [
        b'{"jsonrpc":"1.0","method":"m","id":1}',
        b'{"method":"m","id":1}',
        b'{"jsonrpc":"2.0","id":1}',
        b'{"jsonrpc":"2.0","method":1}',
        b'{"jsonrpc":"2.0","method":"m","id":1.5}',
        b"7",
    ],
)
def test_non_requests_fail_validation(line):
    with pytest.raises(msgspec.ValidationError):
        messages.request_decoder.decode(line)


def test_responses_encode_as_json_rpc():
    ok = msgspec.json.decode(messages.encode_result(3, {"a": 1}))
    assert ok == {"jsonrpc": "2.0", "id": 3, "result": {"a": 1}}
    err = msgspec.json.decode(messages.encode_error(None, errors.MethodNotFound()))
    assert err == {
        "jsonrpc": "2.0",
        "id": None,
        "error": {"code": -32601, "message": "Method not found"},
    }
    note = msgspec.json.decode(messages.encode_notification("session.output", {"line": "x"}))
    assert note == {"jsonrpc": "2.0", "method": "session.output", "params": {"line": "x"}}


def test_server_messages_decode_for_typed_clients():
    msg = messages.server_message_decoder.decode(messages.encode_error(1, errors.Interrupted()))
    assert msg.error.code == errors.INTERRUPTED and msg.id == 1


def test_every_method_has_params_and_a_handler():
    import omegad.methods  # noqa: F401
    from omegad.dispatch import ROUTES

    assert set(ROUTES) == set(METHODS)
    for spec in METHODS.values():
        assert issubclass(spec.params, msgspec.Struct)


def test_discover_is_generated_from_the_method_table():
    from omegad.methods.server import build_discover

    result = msgspec.to_builtins(build_discover())
    assert result["x-protocol"] == PROTOCOL_VERSION
    assert [m["name"] for m in result["methods"]] == sorted(METHODS)
    hello = next(m for m in result["methods"] if m["name"] == "server.hello")
    assert [p["name"] for p in hello["params"]] == [
        "client",
        "protocol",
        "session_dir",
        "env",
        "cwd",  # issue 18: additions
        "dotenv",
    ]
    ref = hello["result"]["schema"]["$ref"].rsplit("/", 1)[1]
    assert "server_version" in result["components"]["schemas"][ref]["properties"]


def test_sidecar_paths_sit_beside_the_socket(tmp_path):
    sock = tmp_path / "omegad.sock"
    assert paths.pidfile_path(sock) == tmp_path / "omegad.pid"
    assert paths.start_lock_path(sock) == tmp_path / "omegad.lock"
    assert paths.log_path(sock) == tmp_path / "omegad.log"
    assert paths.pidfile_path(tmp_path / "x") == tmp_path / "x.pid"


def test_socket_path_comes_from_env_then_runtime_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("OMEGAD_SOCKET", str(tmp_path / "s.sock"))
    assert paths.socket_path() == tmp_path / "s.sock"
    monkeypatch.delenv("OMEGAD_SOCKET")
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    assert paths.socket_path() == tmp_path / "omega" / "omegad.sock"
    monkeypatch.delenv("XDG_RUNTIME_DIR")
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    assert paths.runtime_dir() == tmp_path / f"omega-{os.getuid()}"


def test_session_dir_env_then_local_dir_then_data_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("OMEGA_SESSION_DIR", str(tmp_path / "s"))
    assert paths.session_dir(str(tmp_path)) == tmp_path / "s"
    monkeypatch.delenv("OMEGA_SESSION_DIR")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert paths.session_dir(str(tmp_path)) == tmp_path / "data" / "omega"
    (tmp_path / ".omega-session").mkdir()
    assert paths.session_dir(str(tmp_path)) == tmp_path / ".omega-session"


def test_private_dir_is_created_0700_and_tightened(tmp_path):
    d = tmp_path / "a" / "run"
    paths.ensure_private_dir(d, tighten=True)
    assert os.stat(d).st_mode & 0o777 == 0o700
    os.chmod(d, 0o755)
    paths.ensure_private_dir(d, tighten=True)
    assert os.stat(d).st_mode & 0o777 == 0o700


def test_a_world_writable_named_dir_is_refused(tmp_path):
    d = tmp_path / "open"
    d.mkdir()
    os.chmod(d, 0o777)
    with pytest.raises(paths.UnsafePath):
        paths.ensure_private_dir(d, tighten=False)


def test_a_runtime_dir_of_another_user_is_refused(tmp_path):
    if os.getuid() != 0:
        pytest.skip("needs root to create a directory owned by someone else")
    d = tmp_path / "theirs"
    d.mkdir(mode=0o700)
    os.chown(d, 65534, 65534)
    with pytest.raises(paths.UnsafePath, match="belongs to uid 65534"):
        paths.ensure_private_dir(d, tighten=True)


def test_protocol_imports_neither_trio_nor_msgspec_on_the_light_path():
    code = (
        "import sys, protocol.errors, protocol.framing, protocol.paths; print(sorted(sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = out.stdout
    for heavy in ("'trio'", "'msgspec'", "'platformdirs'", "'prompt_toolkit'"):
        assert heavy not in loaded


def test_user_data_dir_matches_platformdirs(monkeypatch, tmp_path):
    import platformdirs

    for xdg in (None, str(tmp_path)):
        if xdg is None:
            monkeypatch.delenv("XDG_DATA_HOME", raising=False)
        else:
            monkeypatch.setenv("XDG_DATA_HOME", xdg)
        assert paths.user_data_dir() == Path(platformdirs.user_data_dir("omega"))
