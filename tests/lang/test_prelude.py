"""The prelude's procedures are compiled once per process and bound in every session; each
session's calls still see that session's own globals, and write only to its own undo log."""

from omegad.lang import ReplState, start


def run(state: ReplState, text: str) -> str:
    return start(state, text).run(1_000_000).printed


def test_a_prelude_procedure_sees_the_redefinitions_of_the_session_running_it():
    mine, other = ReplState(), ReplState()
    both = "((pipe (lambda (x) (* x 2)) (lambda (x) (+ x 1))) 5)"  # pipe calls reverse
    assert run(mine, "(define (reverse l) l)") == "=> reverse"
    assert run(mine, both) == "=> 12"   # composed the other way round: reverse is the session's
    assert run(other, both) == "=> 11"
    assert run(ReplState(), both) == "=> 11"


def test_redefining_a_prelude_name_in_one_session_leaves_the_others_alone():
    mine, other = ReplState(), ReplState()
    assert run(mine, "(define (any p lst) 'mine)") == "=> any"
    assert run(mine, "(any odd? '(1 2))") == "=> mine"
    assert run(other, "(any odd? '(1 2))") == "=> #t"
    assert "any" in mine.user_names() and "any" not in other.user_names()


def test_a_prelude_procedures_writes_go_to_the_undo_log_of_the_session_running_it():
    mine, other = ReplState(), ReplState()
    running = start(mine, "(sort '(3 1 2 9 8 7 6 5 4) <)")  # sort defines helpers inside
    running.run(20)                                          # mid-way through
    assert mine.undo and all(type(target) is list for target, _, _ in mine.undo)
    assert other.undo == []
    assert running.run(1_000_000).printed == "=> (1 2 3 4 5 6 7 8 9)"
    assert run(mine, "(sort '(3 1 2) (lambda (a b) (car a)))").startswith("error:")
    assert run(mine, "(sort '(5 4) <)") == "=> (4 5)"
    assert run(other, "(sort '(5 4) <)") == "=> (4 5)"
