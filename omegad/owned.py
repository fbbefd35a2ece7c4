"""Opening the files omega writes, locks or creates, trusting only what the user owns.

The code lives in protocol/owned.py (stdlib only), so that the one-shot client, which imports
nothing of omegad, checks its start lock and `.env` the same way; the daemon imports it as
`omegad.owned`.
"""

from protocol.owned import (
    NOFOLLOW,
    OPEN_TO_OTHERS,
    check_ancestors,
    check_dir,
    check_file,
    copy_file,
    ensure_dir,
    fsync_dir,
    open_owned,
    replace_atomic,
    truncate,
    untrusted,
    write_all,
    write_file,
)

__all__ = [
    "NOFOLLOW", "OPEN_TO_OTHERS", "check_ancestors", "check_dir", "check_file", "copy_file",
    "ensure_dir", "fsync_dir", "open_owned", "replace_atomic", "truncate", "untrusted",
    "write_all", "write_file",
]
