"""Which session a notebook works in, and the `%session NAME` line magic."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import PurePath

DEFAULT = "notebook"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_MAGIC = re.compile(r"\A[ \t]*%session(?:[ \t]+(\S+))?[ \t]*(?:\n|\Z)")


def choose(spec_session: str | None, environ: Mapping[str, str]) -> str:
    """The kernelspec's --session, else $OMEGA_SESSION, else the stem of the notebook's file
    name (JPY_SESSION_NAME, set by the Jupyter server), else `notebook`."""
    if spec_session:
        return spec_session
    if environ.get("OMEGA_SESSION"):
        return environ["OMEGA_SESSION"]
    stem = name_from(PurePath(environ.get("JPY_SESSION_NAME", "")).stem)
    return stem or DEFAULT


def name_from(text: str) -> str:
    """A session name made of `text`: characters a name cannot hold become `-`."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", text).lstrip("._-")[:64].rstrip("-")
    return name if _NAME.fullmatch(name) else ""


def session_magic(code: str) -> tuple[bool, str | None, str]:
    """(whether the cell starts with `%session`, the name it gives or None, the rest)."""
    m = _MAGIC.match(code)
    if m is None:
        return False, None, code
    return True, m.group(1), code[m.end():]
