"""Merged records: any state of a long run is rebuilt from its base, a few merges and deltas,
and is the state the session had."""

import random

import pytest

from omegad.lang import ReplState, capture, start
from omegad.persist.checkpoints import DELTA, SPAN, CheckpointFile, merge_kind
from omegad.sessions.saver import StateSaver
from omegad.sessions.states import FileStates

PROBE = "(list n (car p) (hash-ref h 'k 0) (f 1) (length acc))"


def _eval(state, text):
    return start(state, text).run(1_000_000).printed


def _inputs(count):
    """Inputs that define, redefine, mutate pairs and hash tables and make closures."""
    yield ["(define n 0)", "(define p (cons 0 0))", "(define h (make-hash-table))",
           "(define acc '())", "(define (f x) x)"]
    for i in range(1, count):
        kind = i % 5
        if kind == 0:
            yield [f"(set! n {i})"]
        elif kind == 1:
            yield [f"(set-car! p {i})"]
        elif kind == 2:
            yield [f"(hash-set! h 'k {i})"]
        elif kind == 3:
            yield [f"(define f (let ((k {i})) (lambda (x) (+ x k))))"]
        else:
            yield [f"(set! acc (cons {i} acc))"]


@pytest.mark.parametrize("skip", [0, 2])
def test_every_state_of_a_long_run_comes_back_through_merges(tmp_path, skip):
    """(With `skip`, every other input's merges are left out, as while an input runs.)"""
    path = tmp_path / "s.ckpt"
    saver = StateSaver(CheckpointFile.open(path))
    state = ReplState()
    expected = {}
    for seq, forms in enumerate(_inputs(SPAN * SPAN + 40)):
        for form in forms:
            assert not _eval(state, form).startswith("error")
        capture(state)
        saver.save(state, "null", seq, 0, merges=not skip or seq % skip == 1)
        expected[seq] = _eval(state, PROBE)
        assert not expected[seq].startswith("error"), expected[seq]
        capture(state)  # the probe changed nothing: an empty checkpoint
    saver.ckpt.close()
    ckpt = CheckpointFile.open(path)
    kinds = [e.kind for e in ckpt.entries]
    if not skip:
        assert kinds.count(merge_kind(2)) == 1 and kinds.count(merge_kind(1)) == SPAN + 2
    files = FileStates(ckpt)
    for seq in [0, 1, SPAN, SPAN + 1, SPAN * SPAN, len(expected) - 1,
                *random.Random(3).sample(range(len(expected)), 30)]:
        chain = ckpt.chain(ckpt.find(seq))
        assert skip or len(chain) <= 1 + 3 * (SPAN - 1)
        assert _eval(files[seq].resume(), PROBE) == expected[seq], seq
    assert sum(1 for k in kinds if k == DELTA) == len(expected) - 1
