"""The reference transcripts pass through the stdin driver (python -m omegad.lang)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import SHARED

RUNNER = SHARED / "conformance" / "run_reference.py"
RUNNER = Path(os.environ.get("OMEGA_CONFORMANCE_RUNNER", RUNNER))


@pytest.mark.skipif(not RUNNER.exists(), reason="conformance transcripts not present")
def test_conformance_transcripts_all_pass():
    repo = Path(__file__).resolve().parents[2]
    proc = subprocess.run(
        [sys.executable, str(RUNNER), f"{sys.executable} -m omegad.lang", "--jobs", "8"],
        cwd=repo, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert "cases passed" in proc.stdout
