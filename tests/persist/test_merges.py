"""Merged records: any state of a long run is rebuilt from its base, a few merges and deltas,
and is the state the session had."""

import importlib
import random

import pytest
import trio

from omegad.lang import ReplState, capture, restore, start
from omegad.persist.checkpoints import (
    ADOPTED,
    ADOPTED_PART,
    ADOPTED_REF,
    DELTA,
    FIRST_LINE,
    FULL,
    MAGIC_V2,
    SPAN,
    CheckpointFile,
    merge_kind,
)
from omegad.sessions.states.saver import MAX_REFS, StateSaver
from omegad.sessions.states.sources import FileStates, rebuild

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


def _continue(saver, state, first_seq, count, expected):
    """`count` more inputs on `state`, saved by `saver` at seqs from `first_seq` on."""
    for seq in range(first_seq, first_seq + count):
        _eval(state, f"(set! n {seq})")
        _eval(state, f"(define (f x) (+ x {seq}))")  # a new closure: objects with new ids
        capture(state)
        saver.save(state, "null", seq, 0)
        expected[seq] = _eval(state, PROBE)
        capture(state)


def test_a_reopened_session_goes_on_from_its_newest_record_without_writing_it_again(tmp_path):
    path = tmp_path / "s.ckpt"
    expected = _write(path, SPAN + 5)
    ckpt = CheckpointFile.open(path)
    before = len(ckpt.entries)
    newest = trio.run(FileStates(ckpt).latest)
    assert newest is not None
    snap, seq = newest
    saver = StateSaver(ckpt)
    saver.reopened_at(before - 1, snap.origin)
    _continue(saver, snap.resume(), seq + 1, 2 * SPAN + 3, expected)
    saver.ckpt.close()
    ckpt = CheckpointFile.open(path)
    kinds = [e.kind for e in ckpt.entries[before:]]
    assert kinds[0] == ADOPTED_REF and FULL not in kinds and ADOPTED not in kinds
    assert kinds.count(merge_kind(1)) == 2  # the new run's own merges, from its own start
    _check(ckpt, expected, list(expected))
    for s in expected:
        assert len(ckpt.chain(ckpt.find(s))) <= 2 * (1 + 3 * (SPAN - 1))


def test_a_state_read_from_another_file_is_adopted_as_a_copy_of_its_records(tmp_path):
    source = tmp_path / "a.ckpt"
    theirs = _write(source, SPAN + 5)
    files = FileStates(CheckpointFile.open(source))
    snap = files[SPAN + 3]  # a base, a merge and deltas away
    saver = StateSaver(CheckpointFile.open(tmp_path / "b.ckpt"))
    own = ReplState()
    _eval(own, "(define mine 1)")
    capture(own)
    saver.save(own, "null", 0, 0)
    state = snap.resume()
    saver.adopt_copy(1, "null", 0, state, snap.origin)
    expected = {1: theirs[SPAN + 3]}
    _continue(saver, state, 2, 3, expected)
    saver.ckpt.close()
    ckpt = CheckpointFile.open(tmp_path / "b.ckpt")
    copied = [r.state for r in snap.origin.records if r.kind != ADOPTED_REF]
    adopted = ckpt.chain(len(ckpt.entries) - 4)  # the adoption: its base and its parts
    assert [r.kind for r in adopted] == [ADOPTED] + [ADOPTED_PART] * (len(copied) - 1)
    assert [r.state for r in adopted] == copied
    assert [e.kind for e in ckpt.entries[-3:]] == [DELTA] * 3
    assert _eval(rebuild(adopted).resume(), PROBE) == expected[1]
    _check(ckpt, expected, [2, 3, 4])


def test_a_state_whose_objects_got_new_ids_since_it_was_read_is_written_in_full(tmp_path):
    path = tmp_path / "s.ckpt"
    expected = _write(path, 5)
    ckpt = CheckpointFile.open(path)
    newest = len(ckpt.entries) - 1
    snap, seq = trio.run(FileStates(ckpt).latest)
    saver = StateSaver(ckpt)
    saver.reopened_at(newest, snap.origin)
    _continue(saver, snap.resume(), seq + 1, 1, expected)  # a delta: a new closure, a new id
    assert ckpt.entries[-1].kind == DELTA
    state = snap.resume()  # back where it was read, but its ids have moved on
    saver.adopt_ref(seq + 1, "null", 0, newest, state, snap.origin)
    _eval(state, "(set! n 77)")
    capture(state)
    saver.save(state, "null", seq + 2, 0)
    assert ckpt.entries[-1].kind == FULL
    expected[seq + 2] = _eval(state, PROBE)
    _check(CheckpointFile.open(path), expected, [seq + 2, seq + 1, seq])


AGAIN = ["(define s 1)", "(define s 'zork)", "(define g car)", "(define s 2)", "(define g 0)",
         *[f"(define f{i} {i})" for i in range(5, SPAN + 1)],
         "(define s 'zork)", "(define g car)", "(define t (list s (g '(1))))"]


def _write_again(path):
    saver = StateSaver(CheckpointFile.open(path))
    state = ReplState()
    for seq, text in enumerate(AGAIN):
        assert not _eval(state, text).startswith("error")
        capture(state)
        saver.save(state, "null", seq, 0)
    saver.ckpt.close()
    return CheckpointFile.open(path)


def test_objects_a_merge_window_made_and_dropped_come_back_through_the_merge(tmp_path):
    """A symbol or builtin first written inside a merge's window, no longer reachable when the
    merge is written, and used again after it: the merge holds it all the same."""
    ckpt = _write_again(tmp_path / "s.ckpt")
    last = len(AGAIN) - 1
    assert merge_kind(1) in [r.kind for r in ckpt.chain(ckpt.find(last))]
    assert _eval(FileStates(ckpt)[last].resume(), "(list s t)") == "=> (zork (zork 1))"


def test_a_file_whose_merge_lacks_such_an_object_is_read_through_its_deltas(
        tmp_path, monkeypatch, caplog):
    writer = importlib.import_module("omegad.lang.serialize")  # (the package exports a function
    # of that name)
    monkeypatch.setattr(writer, "_introduced", lambda w, born: None)  # as written before
    ckpt = _write_again(tmp_path / "s.ckpt")
    monkeypatch.undo()
    snap, seq = trio.run(FileStates(ckpt).latest)
    assert seq == len(AGAIN) - 1
    assert _eval(snap.resume(), "(list s t)") == "=> (zork (zork 1))"
    assert _eval(FileStates(ckpt)[seq - 1].resume(), "(g (list 5))") == "=> 5"
    assert "lacks object" in caplog.text


def test_reopening_again_and_again_keeps_the_chain_bounded(tmp_path):
    """Each reopening's run starts from a reference to the newest record; every MAX_REFS-th
    starts from a full state instead, so that no chain stacks references without end."""
    path = tmp_path / "s.ckpt"
    expected = _write(path, 3)
    seq = max(expected)
    for _ in range(3 * MAX_REFS):
        ckpt = CheckpointFile.open(path)
        snap, newest = trio.run(FileStates(ckpt).latest)
        assert newest == seq
        saver = StateSaver(ckpt)
        saver.reopened_at(len(ckpt.entries) - 1, snap.origin)
        _continue(saver, snap.resume(), seq + 1, 1, expected)
        seq += 1
        saver.ckpt.close()
    ckpt = CheckpointFile.open(path)
    kinds = [e.kind for e in ckpt.entries]
    assert kinds.count(FULL) == 3 and kinds.count(ADOPTED_REF) == 3 * MAX_REFS - 2
    assert max(sum(r.kind == ADOPTED_REF for r in ckpt.chain(i))
               for i in range(len(kinds))) == MAX_REFS
    _check(ckpt, expected, list(expected))


def test_going_back_to_an_own_checkpoint_goes_on_with_deltas(tmp_path, caplog):
    """After a goto back to one of its own checkpoints (the state moved in place), a session's
    next records are deltas: objects given ids on the branch it left (a symbol, a builtin, a
    pair still reachable there) are written whole when a record first refers to them again."""
    path = tmp_path / "s.ckpt"
    saver = StateSaver(CheckpointFile.open(path))
    state = ReplState()
    expected, snaps = {}, {}

    def step(seq, text):
        assert not _eval(state, text).startswith("error"), text
        snaps[seq] = capture(state)
        saver.save(state, "null", seq, 0)
        expected[seq] = _eval(state, "(list n s (g '(1 2)) (car keep) t)")

    for seq, text in enumerate(["(define n 0)", "(define s 'a)", "(define g car)",
                                "(define keep (cons 0 0))", "(define t 0)"]):
        step(seq, text)
    back = 4
    seq = 5
    for text in ["(define s 'abandoned)", "(define g cdr)", "(define other (cons 9 9))",
                 "(set-car! keep 5)", "(define n 1)", "(define s 'late)"]:
        step(seq, text)
        seq += 1
    restore(state, snaps[back])  # the goto: the state moves back in place
    saver.adopt_ref(seq - 1, "null", 0, saver.ckpt.find(back), state)
    for i in range(2 * SPAN + 3):  # through two merges; 'late comes back after the first
        text = ["(define s 'abandoned)", "(define g cdr)", "(set-car! keep n)",
                "(set! n (+ n 1))", "(define g car)", "(define s 'a)"][i % 6]
        step(seq, "(define t 'late)" if i == SPAN + 4 else text)
        seq += 1
    saver.ckpt.close()
    ckpt = CheckpointFile.open(path)
    kinds = [e.kind for e in ckpt.entries]
    after = kinds[kinds.index(ADOPTED_REF) + 1:]
    assert FULL not in after and after.count(merge_kind(1)) == 2
    files = FileStates(ckpt)
    for s, value in expected.items():
        assert _eval(files[s].resume(), "(list n s (g '(1 2)) (car keep) t)") == value, s
    assert "lacks object" not in caplog.text  # (the merges hold what their deltas wrote)
