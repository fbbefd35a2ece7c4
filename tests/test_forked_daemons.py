"""The fork server behind DaemonProcess: a forked daemon is what `python -m omegad` starts."""

import signal
import subprocess
import sys

from tests.conftest import listening, wait_until
from tests.forked_daemons import DaemonForks


def test_a_refused_command_line_ends_as_it_does_under_python_m_omegad(omega_env):
    argv = ["--foreground", "--socket", str(omega_env.socket), "--max-sessions", "0"]
    fresh = subprocess.run([sys.executable, "-m", "omegad", *argv], capture_output=True, text=True)
    stderr = omega_env.root / "forked.stderr"
    forked = DaemonForks.of_this_worker().spawn(argv, stderr=stderr)
    assert forked.wait(10) == fresh.returncode == 2
    assert stderr.read_text() == fresh.stderr
    assert "--max-sessions must be at least 1" in fresh.stderr


def test_a_forked_daemon_has_the_callers_environment_and_cwd_and_dies_by_its_signal(
        omega_env, monkeypatch):
    monkeypatch.setenv("OMEGAD_LOG_LEVEL", "debug")  # the default of --log-level
    monkeypatch.chdir(omega_env.socket.parent)
    stderr = omega_env.root / "forked.stderr"
    forked = DaemonForks.of_this_worker().spawn(["--foreground", "--socket", omega_env.socket.name],
                                                stderr=stderr)
    wait_until(lambda: listening(omega_env.socket), what="the forked daemon to listen")
    assert forked.poll() is None
    wait_until(lambda: " DEBUG omegad" in stderr.read_text(), what="a debug line in its log")
    forked.send_signal(signal.SIGKILL)
    assert forked.wait(10) == -signal.SIGKILL
    assert forked.poll() == -signal.SIGKILL
    assert not listening(omega_env.socket)
