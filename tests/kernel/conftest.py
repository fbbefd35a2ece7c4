"""A real daemon on a temp socket and session dir, and the omega kernelspec installed (by
`omegacli kernel install --prefix`) where Jupyter finds it: the whole path a notebook takes."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import DaemonProcess, OmegaEnv, pid_gone, pid_of_daemon, wait_until

pytest.importorskip("ipykernel", reason="the jupyter extra is not installed")

KERNEL = "omega"  # the name examples/omega-tour.ipynb asks for


@dataclass
class JupyterEnv:
    omega: OmegaEnv
    daemon: DaemonProcess
    prefix: Path  # PREFIX/share/jupyter/kernels/<name>/kernel.json

    def omegacli(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "omegacli", *args], input=stdin,
                              capture_output=True, text=True, timeout=60)


def install_kernel(prefix: Path, *args: str) -> None:
    done = subprocess.run([sys.executable, "-m", "omegacli", "kernel", "install", "--prefix",
                           str(prefix), *args], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


@contextmanager
def jupyter_env() -> Iterator[JupyterEnv]:
    root = Path(tempfile.mkdtemp(prefix="omk-", dir="/tmp"))
    (root / "run").mkdir(mode=0o700)
    omega = OmegaEnv(root=root, socket=root / "run" / "omegad.sock",
                     session_dir=root / "sessions")
    prefix = root / "jupyter"
    settings = {
        "OMEGAD_SOCKET": str(omega.socket), "OMEGA_SESSION_DIR": str(omega.session_dir),
        "XDG_RUNTIME_DIR": str(root / "xdg-run"), "XDG_DATA_HOME": str(root / "xdg-data"),
        "JUPYTER_PATH": str(prefix / "share" / "jupyter"),
        "JUPYTER_RUNTIME_DIR": str(root / "jupyter-runtime"),
        "JUPYTER_CONFIG_DIR": str(root / "jupyter-config"),
        "JUPYTER_PLATFORM_DIRS": "1",
        "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
    }
    with pytest.MonkeyPatch.context() as mp:
        for name, value in settings.items():
            mp.setenv(name, value)
        for name in ("OMEGA_SESSION", "JPY_SESSION_NAME", "OMEGA_ORACLE", "OPENAI_API_KEY",
                     "ANTHROPIC_API_KEY", "OMEGA_ADAPTER", "OMEGA_MODEL"):
            mp.delenv(name, raising=False)
        daemon = DaemonProcess(omega).wait_ready()
        try:
            install_kernel(prefix)
            yield JupyterEnv(omega, daemon, prefix)
        finally:
            daemon.stop()
            pid = pid_of_daemon(omega.socket)  # one a kernel started after a test killed ours
            if pid and pid > 0:
                os.kill(pid, signal.SIGTERM)
                wait_until(lambda: pid_gone(pid), what=f"daemon {pid} to stop")
            shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def jupyter() -> Iterator[JupyterEnv]:
    with jupyter_env() as env:
        yield env
