"""Long strings are made in pieces a slice can end between (string_pieces.py), with the same
result as Python's own join or slice: equal, same hash, same canonical width."""

from __future__ import annotations

import sys

import pytest

from omegad.lang import api
from omegad.lang.steps import advance
from omegad.lang.string_pieces import LAYOUT_KNOWN, PIECE_BYTES, join_steps

from .test_limits import run

pytestmark = pytest.mark.skipif(not LAYOUT_KNOWN, reason="str layout unknown")

SEEDS = {"ascii": "ab", "latin1": "é!", "ucs2": "Ωx", "ucs4": "😀y"}
DOUBLINGS = 20                                   # 2 Mi characters from a 2-character seed
PART_SEED = "word|wörd|é|word|"                  # 2^16 copies: 262 145 parts, 1.1 M characters


@pytest.fixture(scope="module")
def state():
    st = api.ReplState()
    for name, seed in SEEDS.items():
        run(st, f'(define {name} (let loop ((s "{seed}") (n 0)) '
                f'(if (= n {DOUBLINGS}) s (loop (string-append s s) (+ n 1)))))')
    run(st, f'(define parts (string-split (let loop ((s "{PART_SEED}") (n 0)) '
            f'(if (= n 16) s (loop (string-append s s) (+ n 1)))) "|"))')
    return st


def value(state, name):
    return state.globals[name]


def same(made: str, expected: str) -> None:
    assert made == expected
    assert hash(made) == hash(expected)
    assert sys.getsizeof(made) == sys.getsizeof(expected)     # the same (narrowest) width


@pytest.mark.parametrize("left", SEEDS)
@pytest.mark.parametrize("right", SEEDS)
def test_a_long_append_is_made_in_pieces_whatever_the_widths(state, left, right):
    printed, slices = run(state, f'(define r (string-append {left} "-" {right}))',
                          should_yield=lambda: True)
    assert printed == "=> r"
    a, b = value(state, left), value(state, right)
    same(value(state, "r"), a + "-" + b)
    assert slices >= (len(a) + len(b)) // PIECE_BYTES


@pytest.mark.parametrize("name", SEEDS)
def test_a_long_substring_is_made_in_pieces_and_as_narrow_as_its_characters(state, name):
    run(state, f'(define w (string-append ascii {name}))')
    w = value(state, "w")
    for start, end in ((3, len(w) - 5), (0, len(w) // 2), (len(w) // 2 - 7, len(w))):
        printed, slices = run(state, f"(define r (substring w {start} {end}))",
                              should_yield=lambda: True)
        assert printed == "=> r"
        same(value(state, "r"), w[start:end])
        assert slices >= (end - start) // PIECE_BYTES


@pytest.mark.parametrize("sep", ["", ", ", "é", "Ω", "😀"])
def test_a_long_join_of_many_short_strings_is_made_in_pieces(state, sep):
    printed, slices = run(state, f'(define r (string-join parts "{sep}"))',
                          should_yield=lambda: True)
    assert printed == "=> r"
    items = (PART_SEED * (1 << 16)).split("|")
    same(value(state, "r"), sep.join(items))
    assert slices > 3
    run(state, "(define r (list->string parts))")
    same(value(state, "r"), "".join(items))


def steps_of(steps):
    n = 0
    while True:
        done, value = advance(steps)
        if done:
            return value, n
        n += 1


def test_a_join_outside_the_machine_is_made_in_steps():
    parts = ["a" * (1 << 20), "é" * (1 << 20), "Ω" + "b" * (1 << 20)]
    made, steps = steps_of(join_steps(parts))
    same(made, "".join(parts))
    assert steps >= 3


def test_a_long_string_literal_read_in_steps_is_the_same_string():
    body = ("é" * 1000 + "\\n") * 3000                    # 3 M characters, in 6 000 runs
    forms, steps = steps_of(api.parse_inputs_steps(f'(f "{body}")'))
    same(forms[0].datum.cdr.car, body.replace("\\n", "\n"))
    assert steps > 3
