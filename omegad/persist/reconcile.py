"""A session's journal and its checkpoint file brought to agree on opening.

The journal is the record of what was acknowledged; the checkpoint file holds states as of
journal positions. When the journal ends before some of the file's records (it was cut short by
another program, or lost its last writes in a power loss while the file kept them), those
records describe inputs the journal no longer has: they are set aside and cut, so the session's
state is the journal's longest prefix. The seqs those records used are not given out again.
(The other way round, a journal ahead of the file, is the ordinary case after a crash: the
inputs after the newest record are re-evaluated and their records written.)
"""

from __future__ import annotations

import bisect

from omegad.persist.checkpoints import CheckpointFile
from omegad.persist.journal import JournalView


def reconcile(ckpt: CheckpointFile, view: JournalView) -> tuple[str, int]:
    """Cut the records the journal does not reach; returns (what was done, in words, or "";
    the lowest seq the session may use next)."""
    if not ckpt.entries:
        return "", view.next_seq
    first = bisect.bisect_left(ckpt.seqs, view.next_seq)
    while first > 0 and ckpt.journal_end(first - 1) > view.size:
        first -= 1
    if first == len(ckpt.entries):
        return "", view.next_seq
    highest = ckpt.seqs[-1]
    floor = max(view.next_seq, highest + 1)
    ends = view.events[-1]["seq"] if view.events else -1
    dropped = len(ckpt.entries) - first
    ckpt.cut_records(first, f"its last {dropped} record(s) hold states up to seq {highest},"
                            f" after the end of the journal (seq {ends})")
    said = (f"the journal ends at seq {ends} but the checkpoint file had states up to seq"
            f" {highest} (the journal was cut short); the session goes on from the journal's"
            f" last input, and new inputs start at seq {floor} ({ckpt.damage})")
    return said, floor
