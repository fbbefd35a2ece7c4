"""States read from a checkpoint file: at once, or in steps that let other tasks run."""

import trio

from omegad.lang import ReplState, capture, start
from omegad.lang.serialize import STEP
from omegad.persist.checkpoints import CheckpointFile
from omegad.sessions.states.saver import StateSaver
from omegad.sessions.states.sources import (
    FileStates,
    LayeredStates,
    rebuild,
    rebuild_in_steps,
    state_at,
)


def _saved(path, inputs):
    saver = StateSaver(CheckpointFile.open(path))
    state = ReplState()
    for seq, text in enumerate(inputs):
        assert not start(state, text).run(10_000_000).printed.startswith("error")
        capture(state)
        saver.save(state, "null", seq, 0)
    saver.ckpt.close()
    return CheckpointFile.open(path)


BIG = ["(define (build n acc) (if (= n 0) acc (build (- n 1) (cons (list n) acc))))",
       f"(define xs (build {STEP} '()))", "(set-car! (car xs) 'first)"]


def test_a_big_state_read_in_steps_lets_other_tasks_run_and_is_the_same_state(tmp_path):
    ckpt = _saved(tmp_path / "s.ckpt", BIG)
    chain = ckpt.chain(len(ckpt.entries) - 1)
    turns = 0

    async def main():
        nonlocal turns
        async with trio.open_nursery() as nursery:
            async def other():
                nonlocal turns
                while True:
                    turns += 1
                    await trio.lowlevel.checkpoint()
            nursery.start_soon(other)
            await trio.lowlevel.checkpoint()
            before = turns
            snap = await rebuild_in_steps(chain)
            ran = turns - before
            nursery.cancel_scope.cancel()
        return snap, ran

    snap, ran = trio.run(main)
    assert ran >= 4  # (two pair objects per element: at least four steps of STEP objects)
    probe = "(list (length xs) (car (car xs)) (car (cadr xs)))"
    expected = start(rebuild(chain).resume(), probe).run(10_000_000).printed
    assert start(snap.resume(), probe).run(10_000_000).printed == expected == "=> (20000 first 2)"


def test_the_store_that_serves_a_seq_is_the_one_prepared(tmp_path):
    ckpt = _saved(tmp_path / "s.ckpt", ["(define a 1)", "(define a 2)"])
    files = FileStates(ckpt)

    class Reference(dict):
        prepared: list[int] = []

        async def prepare(self, seq):
            self.prepared.append(seq)

    reference = Reference({-5: None})
    layered = LayeredStates({}, files, reference)

    async def main():
        snap = await state_at(layered, 1)
        await layered.prepare(-5)  # before the file's first record: the reference's
        return snap

    snap = trio.run(main)
    assert start(snap.resume(), "a").run(100).printed == "=> 2"
    assert reference.prepared == [-5]


def test_a_memory_walk_in_steps_matches_the_whole_walk_and_stops_when_a_command_starts():
    from types import SimpleNamespace

    from omegad.sessions.notes.metrics import SessionMetrics

    state = ReplState()
    for text in BIG[:2]:
        start(state, text).run(10_000_000)
    actor = SimpleNamespace(state=state, busy=False, closed=False)
    whole, stepped = SessionMetrics(), SessionMetrics()
    whole.sample(actor)
    trio.run(stepped.sample_in_steps, actor)
    assert stepped.memory == whole.memory > 20_000 * 56 and not stepped.stale

    interrupted = SessionMetrics()
    interrupted.stale = True

    async def main():
        async with trio.open_nursery() as nursery:
            async def command_arrives():
                actor.busy = True
            nursery.start_soon(command_arrives)
            await interrupted.sample_in_steps(actor)

    trio.run(main)
    assert interrupted.stale and interrupted.memory == 0

    actor.busy = False
    ran_meanwhile = SessionMetrics()
    ran_meanwhile.stale = True

    async def main2():
        async with trio.open_nursery() as nursery:
            async def a_whole_command_runs():  # (started and done between two steps)
                start(state, "(define extra 1)").run(100)
            nursery.start_soon(a_whole_command_runs)
            await ran_meanwhile.sample_in_steps(actor)

    trio.run(main2)
    assert ran_meanwhile.stale and ran_meanwhile.memory == 0
