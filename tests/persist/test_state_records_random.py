"""Random histories of one session's checkpoint file: inputs, reopenings, gotos to its own
checkpoints (in memory and read back), states loaded from another file, resets. Whatever the
history, every input's record gives back the state the session had after that input."""

import random

import pytest
import trio

from omegad.lang import ReplState, capture, start
from omegad.persist.checkpoints import CheckpointFile
from omegad.sessions.states.saver import StateSaver
from omegad.sessions.states.sources import FileStates
from omegad.sessions.states.state import CheckpointState

SETUP = ["(define n 0)", "(define p (cons 0 0))", "(define h (make-hash-table))",
         "(define acc '())", "(define (f x) x)", "(define s 'start)", "(define g car)",
         "(define cell (let ((k 0)) (cons (lambda () (set! k (+ k 1)) k) (lambda () k))))",
         "(define alias p)"]
INPUTS = [
    "(set! n (+ n 1))", "(set-car! p n)", "(hash-set! h 'k n)", "(set! acc (cons n acc))",
    "(define f (let ((k n)) (lambda (x) (+ x k))))", "((car cell))",
    "(define s 'zork)", "(define s 'quux)", "(define s 1)",  # symbols dropped, used again
    "(define g cdr)", "(define g car)", "(define g 0)",  # and builtins
    "(define p (cons n n))", "(define h (make-hash-table))", "(set! acc '())",
    "(define alias p)", "(set-car! alias (+ n 10))",  # one pair, two names: still one pair
]
PROBES = ["n", "(car p)", "(hash-ref h 'k 0)", "(f 1)", "(length acc)", "s",
          "(if (procedure? g) (g '(7 8)) g)", "((cdr cell))", "(eq? alias p)", "(car alias)"]


def probe(state) -> str:
    return " | ".join(start(state, x).run(100_000).printed for x in PROBES)


class Session:
    """What a session's actor does to its checkpoint file, without the actor."""

    def __init__(self, path) -> None:
        self.path = path
        self.saver = StateSaver(CheckpointFile.open(path))
        self.state = ReplState()
        self.seq = 0
        self.expected: dict[int, str] = {}
        self.memory: dict[int, CheckpointState] = {}  # this state's checkpoints, in memory

    def input(self, text: str) -> None:
        if start(self.state, text).run(1_000_000).printed.startswith("error"):
            return  # no checkpoint: nothing was committed
        snap = CheckpointState(self.state, capture(self.state), "null")
        self.saver.save(self.state, "null", self.seq, 0)
        self.expected[self.seq] = probe(self.state)
        self.memory[self.seq] = snap
        self.seq += 1

    def reopen(self) -> None:
        self.saver.ckpt.close()
        ckpt = CheckpointFile.open(self.path)
        newest = trio.run(FileStates(ckpt).latest)
        self.saver = StateSaver(ckpt)
        if newest is None:
            self.state, self.memory = ReplState(), {}
            return
        snap, seq = newest
        self.state, self.memory = snap.resume(), {}
        if ckpt.newest_is(seq):  # (not a state adopted at that seq)
            self.saver.reopened_at(len(ckpt.entries) - 1, snap.origin)
            self.memory[seq] = snap

    def goto(self, rng: random.Random, from_file: bool) -> None:
        own = [s for s in (self.expected if from_file else self.memory)
               if self.saver.ckpt.find(s) is not None]
        if not own:
            return
        seq = rng.choice(own)
        snap = FileStates(self.saver.ckpt)[seq] if from_file else self.memory[seq]
        self.state = snap.resume()
        if from_file:
            self.memory = {seq: snap}
        self.saver.adopt_ref(self.seq - 1, "null", 0, self.saver.ckpt.find(seq), self.state,
                             snap.origin)
        assert probe(self.state) == self.expected[seq]

    def load(self, other: "Session", rng: random.Random) -> None:
        seq = rng.choice(list(other.expected))
        snap = FileStates(CheckpointFile.open(other.path))[seq]
        self.state, self.memory = snap.resume(), {}
        assert probe(self.state) == other.expected[seq]
        if snap.origin.stands_for(self.state):
            self.saver.adopt_copy(self.seq - 1, "null", 0, self.state, snap.origin)
        else:
            self.saver.save(self.state, "null", self.seq - 1, 0, adopted=True)

    def reset(self) -> None:
        self.state, self.memory = ReplState(), {}
        self.saver.save(self.state, "null", self.seq - 1, 0, adopted=True)

    def check(self) -> None:
        files = FileStates(CheckpointFile.open(self.path))
        for seq, expected in self.expected.items():
            assert probe(files[seq].resume()) == expected, seq


@pytest.mark.parametrize("seed", range(6))
def test_every_input_comes_back_whatever_happened_to_the_session(tmp_path, seed):
    rng = random.Random(seed)
    other = Session(tmp_path / "other.ckpt")
    for text in SETUP + [rng.choice(INPUTS) for _ in range(40)]:
        other.input(text)
    other.saver.ckpt.close()
    s = Session(tmp_path / "s.ckpt")
    for text in SETUP:
        s.input(text)
    for _ in range(120):
        op = rng.random()
        if op < 0.70:
            s.input(rng.choice(INPUTS))
        elif op < 0.78:
            s.reopen()
        elif op < 0.84:
            s.goto(rng, from_file=False)
        elif op < 0.90:
            s.goto(rng, from_file=True)
        elif op < 0.96:
            s.load(other, rng)
        else:
            s.reset()
            for text in SETUP[: rng.randrange(len(SETUP))]:
                s.input(text)
    s.check()
    s.reopen()
    s.input("(set! n (+ n 100))")
    s.check()
