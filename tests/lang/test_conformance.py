"""The reference transcripts pass through the stdin driver (python -m omegad.lang).

Every case runs in this process, through the driver's own loop (`drive`) fed the bytes the runner
would write to its stdin: a fresh REPL per case, as a fresh process would be. One test runs the
runner itself on a few case files, so the `python -m omegad.lang` entry stays covered; 130
interpreter start-ups for the rest would only measure Python's start-up."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from omegad.lang.__main__ import drive
from tests.conftest import (
    CONFORMANCE_RUNNER,
    conformance_cases,
    conformance_stdin,
    load_conformance_runner,
)

RUNNER = Path(os.environ.get("OMEGA_CONFORMANCE_RUNNER", CONFORMANCE_RUNNER))
needs_runner = pytest.mark.skipif(not RUNNER.exists(), reason="conformance transcripts not present")
THROUGH_A_PROCESS = ["display.json", "oracle.json"]  # stdout interleaving; the oracle from env


@pytest.fixture(scope="module")
def runner():
    return load_conformance_runner(RUNNER)


@needs_runner
@pytest.mark.parametrize("case", conformance_cases(RUNNER))
def test_conformance_transcript(case, runner, monkeypatch, tmp_path):
    """What the runner does for one case, with the driver in this process: the same environment,
    stdin decoded as `sys.stdin` is (UTF-8, universal newlines), stdout split into lines."""
    monkeypatch.setenv("OMEGA_SCRIPTED_ORACLE", "1")
    monkeypatch.delenv("OMEGA_MOCK_EFFECTS", raising=False)
    monkeypatch.setenv("OMEGA_SESSION_DIR", str(tmp_path))
    stdin = conformance_stdin(runner, case)
    out: list[str] = []
    drive(stdin, out.append)
    assert runner.split_lines("".join(out)) == case["expect"]


@needs_runner
def test_conformance_transcripts_pass_through_the_stdin_driver_process():
    repo = Path(__file__).resolve().parents[2]
    files = [str(RUNNER.parent / n) for n in THROUGH_A_PROCESS if (RUNNER.parent / n).exists()]
    files = files or [str(RUNNER.parent)]  # another set of transcripts: all of them
    args = [arg for f in files for arg in ("--cases", f)]
    proc = subprocess.run(
        [sys.executable, str(RUNNER), f"{sys.executable} -m omegad.lang", *args, "--jobs", "4"],
        cwd=repo, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert "cases passed" in proc.stdout
    loaded = load_conformance_runner(RUNNER).load_case_files(files)
    total = sum(len(data["cases"]) for _, data in loaded)
    assert f"{total}/{total} cases passed" in proc.stdout
