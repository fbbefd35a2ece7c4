"""A daemon shared by a whole test module, for tests that only need a fresh session dir each: the
real daemon in this process (InProcessDaemon), as none of them signals or kills it."""

import shutil
import tempfile
from pathlib import Path

import pytest

from omegacli.autostart import hello_params
from omegacli.client import Client
from tests.conftest import InProcessDaemon, OmegaEnv


@pytest.fixture(scope="module")
def shared_daemon():
    root = Path(tempfile.mkdtemp(prefix="om-", dir="/tmp"))
    (root / "run").mkdir(mode=0o700)
    env = OmegaEnv(root=root, socket=root / "run" / "omegad.sock", session_dir=root / "default")
    daemon = InProcessDaemon(env)
    try:
        yield daemon
    finally:
        assert daemon.stop() == 0, daemon.stderr
        shutil.rmtree(root, ignore_errors=True)


def session_client(daemon: InProcessDaemon, session_dir: Path, env: dict | None = None) -> Client:
    """A client of `daemon` whose hello names `session_dir` and the settings `env`."""
    client = Client.connect(str(daemon.socket), timeout=60)  # a hang fails, not blocks
    params = hello_params("tests", str(session_dir))
    params["env"] = dict(env or {})
    client.call("server.hello", params)
    return client
