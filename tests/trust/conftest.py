import shutil

import pytest

from tests.trust.other_user import shared_dir


@pytest.fixture
def shared():
    """A 1777 dir both users can write to, removed after the test."""
    d = shared_dir()
    yield d
    shutil.rmtree(d, ignore_errors=True)
