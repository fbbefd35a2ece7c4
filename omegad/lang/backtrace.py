"""The Lisp call frames active at an error, innermost first: what `:bt` shows.

Pure: read from a machine that has just raised. Each procedure activation is found from the
environments on its continuation: a closure call's environment frame ends with its Lambda
(machine.apply_proc), and a frame pushed by compiled code names the node it belongs to
(`resume.node`), whose `src` is the form being evaluated. Tail calls leave no frame (as in any
Scheme); frames of one activation are shown once, with the innermost form.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from . import compile as _compile
from .printer import write_str
from .values import Lambda

if TYPE_CHECKING:
    from .machine import Machine

MAX_FRAMES = 30  # activations shown; the rest are counted
FORM_WIDTH = 100
TOP_LEVEL = "(top level)"
_COMPILED = _compile.__name__  # compiled nodes are functions made there


@dataclass(frozen=True, slots=True)
class Frame:
    procedure: str  # the procedure's name ("lambda" if it has none), or "(top level)"
    form: str  # the form it was evaluating when the error came, cut at FORM_WIDTH


def frames(m: Machine) -> tuple[list[Frame], int]:
    """The activations on the machine's continuation when it failed, innermost first (at most
    MAX_FRAMES), and how many more there were."""
    found: list[Frame] = []
    last_owner: object = None
    more = 0
    for env, node in _points(m):
        owner, name = _activation(env)
        if owner is last_owner and found:
            continue
        last_owner = owner
        if len(found) == MAX_FRAMES:
            more += 1
            continue
        src = getattr(node, "src", None)
        found.append(Frame(name, _cut(write_str(src)) if src is not None else ""))
    return found, more


def render(found: list[Frame], more: int) -> list[str]:
    if not found:
        return ["(no backtrace: the last evaluation did not fail)"]
    lines = ["Backtrace (innermost first):"]
    for i, f in enumerate(found):
        lines.append(f"  {i}: {f.procedure}" + (f"  {f.form}" if f.form else ""))
    if more:
        lines.append(f"  ... {more} more")
    return lines


def _points(m: Machine) -> Iterator[tuple[Any, Any]]:
    """(environment, node) of the failing control, then of each compiled-code frame below it."""
    at = m.failed_at
    if at:
        if getattr(at[0], "node", None) is not None:  # a frame being resumed
            yield (at[1] if len(at) > 1 else None), at[0].node
        elif getattr(at[0], "__module__", None) == _COMPILED:  # a control: (node, env)
            yield at[1], at[0]
    for fr in reversed(m.stack):
        node = getattr(fr[0], "node", None)
        if node is not None:
            yield (fr[1] if len(fr) > 1 else None), node


def _activation(env: Any) -> tuple[object, str]:
    """The closure call an environment belongs to (its frame) and the procedure's name."""
    while type(env) is list and env:
        if type(env[-1]) is Lambda:
            return env, env[-1].name
        env = env[0]
    return None, TOP_LEVEL


def _cut(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= FORM_WIDTH else text[:FORM_WIDTH - 1] + "…"
