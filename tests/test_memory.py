"""omegad/memory.py: giving memory back after a command collects fully only when that is cheap."""

import gc
import sys

import pytest

from omegad import memory
from omegad.lang.values import make_list


@pytest.fixture
def collections(monkeypatch):
    """The generations trim() asked gc to collect, counting from a baseline taken now (as the
    daemon takes it as it starts: in this process, other tests left objects behind)."""
    monkeypatch.setattr(memory, "_baseline", [memory.rss(), sys.getallocatedblocks()])
    asked: list[int] = []
    real = gc.collect

    def collect(generation: int = 2) -> int:
        asked.append(generation)
        return real(generation)

    monkeypatch.setattr(gc, "collect", collect)
    return asked


def test_a_command_that_left_little_alive_is_followed_by_a_full_collection(collections):
    memory.trim(memory.baseline())
    assert collections == [2]


def test_a_command_that_left_a_million_objects_alive_is_not(collections):
    """A full collection walks every live object: after (define big (iota 1000000)) that was
    a step of 75-200 ms; the young generations are still collected."""
    big = make_list([float(i) for i in range(300_000)])   # 600 000 small objects
    memory.trim(memory.baseline())
    assert collections == [1]
    del big
    memory.trim(memory.baseline())
    assert collections == [1, 2]
