"""Fixtures of the storage tests: a short temp dir (Unix socket paths are limited to ~107 bytes)."""

import shutil
import tempfile
from pathlib import Path

import pytest


@pytest.fixture
def root():
    path = Path(tempfile.mkdtemp(prefix="om17-", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)
