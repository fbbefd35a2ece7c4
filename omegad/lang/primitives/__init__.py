"""The primitives, one module a family; each registers its own into the table in registry.py."""

from __future__ import annotations

from .registry import PRIMS


def load_all() -> dict[str, object]:
    """The table, with every family registered (imported on first use)."""
    from . import equality, hof, io, lists, misc, numbers, strings  # noqa: F401
    return PRIMS
