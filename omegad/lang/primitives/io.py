"""Output: `display` and `newline` write to the run's output sink, never to sys.stdout."""

from __future__ import annotations

from ..printer import display_str, write_str
from ..values import Value
from .registry import cprim


@cprim("display", "x", "Write x for people (strings without quotes) to the output.")
def display(m: Value, args: Value) -> None:
    m.out(display_str(args[0]) if args else "")
    return None


@cprim("newline", "", "Write a line break to the output.")
def newline(m: Value, args: Value) -> None:
    m.out("\n")
    return None


@cprim("write", "x", "Write x as the printer shows values (strings quoted) to the output.")
def write(m: Value, args: Value) -> None:
    m.out(write_str(args[0]) if args else "")
    return None


@cprim("displayln", "x", "display x, then a line break.")
def displayln(m: Value, args: Value) -> None:
    m.out((display_str(args[0]) if args else "") + "\n")
    return None
