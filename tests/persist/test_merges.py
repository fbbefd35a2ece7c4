"""Merged records: any state of a long run is rebuilt from its base, a few merges and deltas,
and is the state the session had."""

import random

import pytest

from omegad.lang import ReplState, capture, start
from omegad.persist.checkpoints import (
    DELTA,
    FIRST_LINE,
    FULL,
    MAGIC_V2,
    SPAN,
    CheckpointFile,
    merge_kind,
)
from omegad.sessions.saver import StateSaver
from omegad.sessions.states import FileStates

PROBE = ("(list n (car p) (hash-ref h 'k 0) (f 1) (length acc) (car q) (hash-ref h2 'a 0)"
         " ((cdr cell)))")
CELL = "(define cell (let ((k {i})) (cons (lambda () (set! k (+ k 1)) k) (lambda () k))))"


def _eval(state, text):
    return start(state, text).run(1_000_000).printed


def _inputs(count):
    """Inputs that define, redefine and mutate pairs, hash tables and closures' frames, old
    ones and ones made a few inputs before (so within one merge)."""
    yield ["(define n 0)", "(define p (cons 0 0))", "(define h (make-hash-table))",
           "(define acc '())", "(define (f x) x)", "(define q (cons 0 0))",
           "(define h2 (make-hash-table))", CELL.format(i=0)]
    for i in range(1, count):
        yield [[
            f"(set! n {i})",
            f"(set-car! p {i})",
            f"(hash-set! h 'k {i})",
            f"(define f (let ((k {i})) (lambda (x) (+ x k))))",
            f"(set! acc (cons {i} acc))",
            f"(define q (cons {i} {i}))" if i % 3 else f"(set-car! q {-i})",
            "(define h2 (make-hash-table))" if i % 4 else f"(hash-set! h2 'a {i})",
            CELL.format(i=i) if i % 5 else "((car cell))",
        ][i % 8]]


def _write(path, count, merges=True):
    """`count` inputs saved into a checkpoint file; returns the probe's answer at each seq."""
    saver = StateSaver(CheckpointFile.open(path))
    state = ReplState()
    expected = {}
    for seq, forms in enumerate(_inputs(count)):
        for form in forms:
            assert not _eval(state, form).startswith("error")
        capture(state)
        saver.save(state, "null", seq, 0, merges=merges)
        expected[seq] = _eval(state, PROBE)
        capture(state)
    saver.ckpt.close()
    return expected


def _check(ckpt, expected, seqs):
    files = FileStates(ckpt)
    for seq in seqs:
        assert _eval(files[seq].resume(), PROBE) == expected[seq], seq


def test_a_version_2_file_is_read_as_it_is(tmp_path):
    path = tmp_path / "s.ckpt"
    expected = _write(path, 40, merges=False)
    path.write_bytes(MAGIC_V2 + path.read_bytes()[FIRST_LINE:])  # the records are unchanged
    ckpt = CheckpointFile.open(path)
    assert ckpt.start == len(MAGIC_V2) and ckpt.cut == 0 and len(ckpt.entries) == 40
    _check(ckpt, expected, [0, 17, 39])


def test_a_tail_cut_between_a_delta_and_its_merges_loses_only_the_merges(tmp_path):
    path = tmp_path / "s.ckpt"
    expected = _write(path, 2 * SPAN + 1)
    ckpt = CheckpointFile.open(path)
    merge = next(e for e in ckpt.entries if e.pos == 2 * SPAN and e.kind != DELTA)
    with open(path, "r+b") as f:
        f.truncate(merge.offset + 5)  # a crash while the merges after delta 32 were written
    ckpt = CheckpointFile.open(path)
    assert ckpt.entries[-1].kind == DELTA and ckpt.entries[-1].pos == 2 * SPAN
    _check(ckpt, expected, [2 * SPAN, SPAN + 3, 1])
    saver = StateSaver(ckpt)  # a new daemon's: its first record starts a run
    state = FileStates(ckpt)[2 * SPAN].resume()
    _eval(state, "(set! n 1000)")
    capture(state)
    saver.save(state, "null", 2 * SPAN + 1, 0)
    assert ckpt.entries[-1].kind == FULL
    assert _eval(FileStates(CheckpointFile.open(path))[2 * SPAN + 1].resume(), "n") == "=> 1000"


@pytest.mark.parametrize("skip", [False, True])
def test_every_state_of_a_long_run_comes_back_through_merges(tmp_path, skip):
    """(With `skip`, no merges are written, as while an input runs: the deltas serve.)"""
    path = tmp_path / "s.ckpt"
    expected = _write(path, SPAN * SPAN + 40, merges=not skip)
    ckpt = CheckpointFile.open(path)
    kinds = [e.kind for e in ckpt.entries]
    assert kinds.count(DELTA) == len(expected) - 1
    assert kinds.count(merge_kind(2)) == (0 if skip else 1)
    assert kinds.count(merge_kind(1)) == (0 if skip else SPAN + 2)
    seqs = [0, 1, SPAN, SPAN + 1, SPAN * SPAN, len(expected) - 1,
            *random.Random(3).sample(range(len(expected)), 30)]
    if not skip:
        for seq in seqs:
            assert len(ckpt.chain(ckpt.find(seq))) <= 1 + 3 * (SPAN - 1)
    _check(ckpt, expected, seqs)
