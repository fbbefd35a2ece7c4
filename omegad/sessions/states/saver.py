"""How a session's states go into its checkpoint file: a full state to start a run, then a delta
per input and, every `SPAN ** k` deltas, a merge of level k (persist/checkpoints.py).

The saver remembers what the file's reader will know: the state its last record described (a
delta needs that base on both sides) and, per level, the checkpoint and object-id watermark where
the level's current merge began. A state read from records (state.py: Written) needs no new base
while its object ids are the ones a reader of those records gives: a reopened session goes on
from its newest record, and a state loaded from another session is a copy of that one's records.
A session that went back to one of its own checkpoints goes on from that record too, writing
whole, once, the objects given ids on the branch it left (serialize.Rebase).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from omegad.lang import api
from omegad.lang.revision import Revision
from omegad.lang.serialize import (
    MergeUnavailable,
    Rebase,
    SerialTable,
    serialize,
    serialize_delta,
    serialize_merge,
)
from omegad.persist.checkpoints import (
    ADOPTED,
    ADOPTED_PART,
    ADOPTED_REF,
    DELTA,
    FULL,
    LEVELS,
    SPAN,
    CheckpointFile,
    Record,
    merge_kind,
)

if TYPE_CHECKING:
    from omegad.sessions.states.state import Written

log = logging.getLogger("omegad.sessions")

MAX_REFS = 4  # references in a row, at most, before a run starts from a full state again


class StateSaver:
    def __init__(self, ckpt: CheckpointFile) -> None:
        self.ckpt = ckpt
        self.last: tuple[api.ReplState, Revision | None] | None = None  # (state, its checkpoint)
        self.marks: dict[int, tuple[Revision | None, int]] = {}  # level -> (since, first new id)
        self.reopened: tuple[int, Written] | None = None  # the newest record, as read on open
        self.rebase: Rebase | None = None  # the run went back to an earlier record of ours
        self.refs = 0  # references to earlier records on the chain of the run's records
        # Records of ours whose reader knows every object id below a watermark (those of runs
        # that did not go back), for the table they were written with: index -> (ids, refs).
        self.known: dict[int, tuple[int, int]] = {}
        self.known_table: SerialTable | None = None

    def can_delta(self, state: api.ReplState) -> bool:
        """Whether the next record of `state` can be a delta (else it is a full state)."""
        last = self.last
        return last is not None and last[0] is state and state.ser is not None

    def save(self, state: api.ReplState, control: str, seq: int, journal_end: int, *,
             adopted: bool = False, merges: bool = True) -> None:
        """Append `state`: a delta against the last record when it can, else in full; then the
        merges its position calls for (`merges=False` while an input runs: a merge would write
        live values of places the input changed)."""
        try:
            self._save(state, control, seq, journal_end, adopted, merges)
        except OSError:  # nothing of it is in the file: the next record is a whole state
            self.last, self.reopened, self.rebase = None, None, None
            raise

    def _save(self, state: api.ReplState, control: str, seq: int, journal_end: int,
              adopted: bool, merges: bool) -> None:
        if not adopted and not self.can_delta(state):
            self._continue_reopened(state)
        self.reopened = None
        full = adopted or not self.can_delta(state)
        if full:
            data = serialize(state)
            self.rebase, self.refs = None, 0
            self.known, self.known_table = {}, state.ser
        else:
            assert self.last is not None
            data = serialize_delta(state, self.last[1], self.rebase)
        kind = ADOPTED if adopted else FULL if full else DELTA
        self.ckpt.append(Record(seq, kind, control, data, journal_end))
        self.last = (state, state.head)
        if self.rebase is None and self.known_table is not None and state.ser is self.known_table:
            self.known[len(self.ckpt.entries) - 1] = (state.ser.next, self.refs)
        mark = (state.head, state.ser.next)
        if full:
            self.marks = dict.fromkeys(range(1, LEVELS + 1), mark)
            return
        pos = self.ckpt.run_length()
        for level in range(1, LEVELS + 1):
            if pos % SPAN**level:
                break
            since, born = self.marks[level]
            if merges:
                self._merge(state, control, seq, journal_end, level, since, born)
            self.marks[level] = mark

    def _merge(self, state: api.ReplState, control: str, seq: int, journal_end: int, level: int,
               since: Revision | None, born: int) -> None:
        try:
            data = serialize_merge(state, since, born)
        except MergeUnavailable as e:  # restoring reads the deltas instead: slower, as right
            log.debug("no merge of level %d at seq %d: %s", level, seq, e)
            return
        self.ckpt.append(Record(seq, merge_kind(level), control, data, journal_end))

    def adopt_ref(self, seq: int, control: str, journal_end: int, index: int,
                  state: api.ReplState, origin: Written | None = None) -> None:
        """The session went back to the state of its own record `index`: point at it (nothing
        copied). The next record is a delta when the state is still as read from that record's
        chain (`origin`), else full: a delta needs a base both sides share."""
        self.reopened, self.rebase, self.last = None, None, None
        self.ckpt.append(Record(seq, ADOPTED_REF, control, b"", journal_end, index))
        known = self.known.get(index) if state.ser is self.known_table else None
        if origin is not None and self._can_refer(state, origin):
            self._based_on(state, origin)
        elif known is not None and known[1] < MAX_REFS:  # our own record, ids known below
            self.rebase = Rebase(known[0], state.ser.next)
            self.refs = known[1] + 1
            self.last = (state, state.head)
            self.marks = dict.fromkeys(range(1, LEVELS + 1), (state.head, known[0]))

    def adopt_copy(self, seq: int, control: str, journal_end: int, state: api.ReplState,
                   origin: Written) -> None:
        """The session adopted a state just read from another file's records (`origin`, which
        stands for it): those records, copied as they are, are its base (nothing serialized),
        and the next record is a delta against it."""
        parts = [r for r in origin.records if r.kind != ADOPTED_REF]  # (refs hold no state)
        self.last, self.reopened = None, None
        position = self.ckpt.position()
        try:
            for i, record in enumerate(parts):
                kind = ADOPTED if i == 0 else ADOPTED_PART
                self.ckpt.append(Record(seq, kind, control, record.state, journal_end))
        except OSError:
            self.ckpt.rewind(position)  # a base with parts missing would be a wrong state
            raise
        self._based_on(state, origin, refs=0)

    def reopened_at(self, index: int, origin: Written) -> None:
        """The session opened with the state of its newest record `index`, read from its chain.
        Its next record starts a run there (a reference to that record, then a delta) rather
        than with the whole state, if the state still stands for it then."""
        self.reopened = (index, origin)

    def _continue_reopened(self, state: api.ReplState) -> None:
        if self.reopened is None:
            return
        index, origin = self.reopened
        if self._can_refer(state, origin):
            newest = origin.records[-1]
            self.ckpt.append(Record(newest.seq, ADOPTED_REF, newest.control, b"",
                                    newest.journal_end, index))
            self._based_on(state, origin)

    @staticmethod
    def _can_refer(state: api.ReplState, origin: Written) -> bool:
        """Whether a run may start from a reference to `origin`'s newest record: the state is
        still as read, and the chain does not grow without end (a session evicted and reopened
        again and again would stack a reference per reopening: every `MAX_REFS`-th is full)."""
        return origin.refs < MAX_REFS and origin.stands_for(state)

    def _based_on(self, state: api.ReplState, origin: Written, refs: int | None = None) -> None:
        """A run begins with `state` as `origin` left it: deltas and merges count from there.
        (Its reader's ids are the state's: every one below the table's `next` is known.)"""
        self.last = (state, origin.revision)
        self.marks = dict.fromkeys(range(1, LEVELS + 1), (origin.revision, origin.next_id))
        self.rebase = None
        self.refs = origin.refs + 1 if refs is None else refs
        if state.ser is not self.known_table:
            self.known, self.known_table = {}, state.ser

