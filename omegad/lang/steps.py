"""Work done in steps: a generator that yields between steps and returns its result.

Reading a big state or walking a big heap takes long enough that the daemon must let other
sessions run meanwhile; the evaluator stays free of trio, so its long walks are generators, and
the caller decides what happens between steps (nothing, or a trio checkpoint)."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any, TypeVar

T = TypeVar("T")
Steps = Generator[None, None, T]


def advance(steps: Steps[Any]) -> tuple[bool, Any]:
    """Run one step: (True, the result) once there was none left, else (False, None)."""
    try:
        next(steps)
    except StopIteration as done:
        return True, done.value
    return False, None


def finish(steps: Steps[T]) -> T:
    """Run every step at once; returns the result."""
    while True:
        done, value = advance(steps)
        if done:
            result: T = value
            return result
