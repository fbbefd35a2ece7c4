"""A daemon shared by a whole test module, for tests that only need a fresh session dir each."""

import shutil
import tempfile
from pathlib import Path

import pytest

from omegacli.autostart import hello_params
from omegacli.client import Client
from tests.conftest import DaemonProcess, OmegaEnv


@pytest.fixture(scope="module")
def shared_daemon():
    root = Path(tempfile.mkdtemp(prefix="om-", dir="/tmp"))
    (root / "run").mkdir(mode=0o700)
    env = OmegaEnv(root=root, socket=root / "run" / "omegad.sock", session_dir=root / "default")
    daemon = DaemonProcess(env).wait_ready()
    try:
        yield daemon
    finally:
        daemon.stop()
        shutil.rmtree(root, ignore_errors=True)


def session_client(daemon: DaemonProcess, session_dir: Path, env: dict | None = None) -> Client:
    """A client of `daemon` whose hello names `session_dir` and the settings `env`."""
    client = Client.connect(str(daemon.socket), timeout=60)  # a hang fails, not blocks
    params = hello_params("tests", str(session_dir))
    params["env"] = dict(env or {})
    client.call("server.hello", params)
    return client
