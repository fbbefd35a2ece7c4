"""The reference's session files, read by omega: every golden run of the fixtures, line for line.

Each run gets a fresh copy of the fixture sessions as its session dir and pipes its stdin through
the same code as `omegacli repl` (piped mode) to a real daemon; stdout must equal `omega_stdout`
where the fixture has one (a reference bug omega does not copy), else the reference's `stdout`.
"""

import io
import json
import shutil
from contextlib import redirect_stdout

import pytest

from omegacli.inputs import piped_inputs
from omegacli.sessions import run_inputs
from tests.conftest import SHARED, require_shared
from tests.e2e.conftest import session_client

require_shared()
FIXTURES = SHARED / "fixtures" / "omega-ts-sessions"
GOLDEN = json.loads((FIXTURES / "golden.json").read_text())


def _runs():
    for run in GOLDEN["dir_runs"]:
        yield pytest.param(run, id=run["name"])
    for session in GOLDEN["sessions"].values():
        for run in session["runs"]:
            yield pytest.param(run, id=run["name"])


@pytest.mark.parametrize("run", list(_runs()))
def test_golden_run(shared_daemon, tmp_path, run):
    session_dir = tmp_path / ".omega-session"
    shutil.copytree(FIXTURES / "sessions", session_dir / "sessions")
    env = run.get("env", GOLDEN["default_env"])
    out = io.StringIO()
    with session_client(shared_daemon, session_dir, env) as client, redirect_stdout(out):
        run_inputs(client, "current", piped_inputs(run["stdin"]), timeout=30)
    expected = run.get("omega_stdout") or run["stdout"]
    assert out.getvalue().split("\n")[:-1] == expected
