"""Sizes, durations and running commands as omegacli's lines say them to people."""

from __future__ import annotations


def human_bytes(n: int) -> str:
    value = float(n)
    for unit in ("B", "K", "M", "G"):
        if value < 1024 or unit == "G":
            return f"{value:.0f}{unit}" if unit == "B" else f"{value:.1f}{unit}"
        value /= 1024
    raise AssertionError


def human_seconds(seconds: float) -> str:
    """`12 s`, `40 min`, `2 h 5 min`, `3 d 4 h`: as precise as a glance needs."""
    s = int(max(0.0, seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min"
    if s < 86400:
        return f"{s // 3600} h {s % 3600 // 60} min"
    return f"{s // 86400} d {s % 86400 // 3600} h"


def running_line(command: dict, width: int = 80) -> str:
    """A running command (protocol.methods.RunningCommand) without its session: what runs (its
    first line, cut to `width`), who started it, for how long."""
    text = command["first_line"]
    if len(text) > width:
        text = text[:width - 1].rstrip() + " …"
    who = command["client"] or f"a client without a name (connection {command['connection']})"
    detached = " (detached)" if command.get("detached") else ""
    return f"`{text}` from {who}{detached} for {human_seconds(command['seconds'])}"
