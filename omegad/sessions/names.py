"""Session names: `[A-Za-z0-9][A-Za-z0-9._-]{0,63}`, so a name is always one plain file stem."""

import re

from protocol.errors import InvalidSessionName

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


def check_name(name: str) -> str:
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        shown = repr(name) if len(str(name)) <= 80 else repr(str(name)[:77] + "...")
        raise InvalidSessionName(
            f"Invalid session name {shown}: use 1-64 characters from A-Z a-z 0-9 . _ -,"
            " starting with a letter or digit",
            {"session": str(name)[:80]},
        )
    return name
