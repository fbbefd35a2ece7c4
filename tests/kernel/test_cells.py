"""Which session a notebook picks, `%session`, and how a command's notices become a cell's
outputs: pure functions, no daemon."""

from __future__ import annotations

from omegacli.kernel.cells import Cell
from omegacli.kernel.choice import choose, name_from, session_magic


def test_session_choice_order():
    env = {"OMEGA_SESSION": "from-env", "JPY_SESSION_NAME": "/home/u/Analysis 2.ipynb"}
    assert choose("spec", env) == "spec"
    assert choose(None, env) == "from-env"
    assert choose(None, {"JPY_SESSION_NAME": "/home/u/Analysis 2.ipynb"}) == "Analysis-2"
    assert choose(None, {"JPY_SESSION_NAME": "Untitled.ipynb"}) == "Untitled"
    assert choose(None, {"JPY_SESSION_NAME": "/x/..ipynb"}) == "notebook"
    assert choose(None, {}) == "notebook"


def test_names_made_of_file_names_are_valid_session_names():
    assert name_from("  résumé (final) ") == "r-sum-final"
    assert name_from("_.hidden") == "hidden"
    assert name_from("x" * 100) == "x" * 64
    assert name_from("日本") == ""


def test_session_magic_takes_the_first_line_only():
    assert session_magic("%session work\n(+ 1 2)") == (True, "work", "(+ 1 2)")
    assert session_magic("  %session\n") == (True, None, "")
    assert session_magic("%session work") == (True, "work", "")
    assert session_magic("(+ 1 2)\n%session work") == (False, None, "(+ 1 2)\n%session work")
    assert session_magic("%sessions x") == (False, None, "%sessions x")


def run(notices: list[tuple[str, str]], result: dict, command: bool = False):
    published: list[tuple[str, str]] = []
    cell = Cell(lambda name, text: published.append((name, text)), command)
    for kind, text in notices:
        (cell.display if kind == "display" else cell.result)(text)
    return published, cell.finish(result)


def test_the_last_value_is_the_result_and_earlier_lines_stream_in_order():
    published, ending = run([("result", "=> x\n"), ("display", "hi"), ("result", "=> null\n"),
                             ("result", "=> 3\n")], {"value": "3", "ok": True})
    assert published == [("stdout", "=> x\n"), ("stdout", "hi"), ("stdout", "=> null\n")]
    assert (ending.value, ending.errors) == ("3", [])


def test_every_error_line_counts_and_the_last_one_is_not_streamed():
    published, ending = run([("result", "error: car: expected pair\n"), ("result", "=> 2\n")],
                            {"value": "2", "ok": True})
    assert published == [("stderr", "error: car: expected pair\n")]
    assert (ending.value, ending.errors) == ("2", ["car: expected pair"])
    published, ending = run([("result", "=> 1\n"), ("result", "error: unbound var y\n")],
                            {"value": None, "ok": False})
    assert published == [("stdout", "=> 1\n")]
    assert (ending.value, ending.errors) == (None, ["unbound var y"])


def test_a_command_prints_its_text_and_has_no_value():
    published, ending = run([("result", "=> looks like a value\n")], {"value": None},
                            command=True)
    assert published == [("stdout", "=> looks like a value\n")]
    assert ending.value is None and ending.errors == []


def test_a_display_that_looks_like_an_error_is_output():
    published, ending = run([("display", "error: not really"), ("result", "=> null\n")],
                            {"value": "null", "ok": True})
    assert published == [("stdout", "error: not really")]
    assert ending.errors == []


def test_inspect_looks_at_the_name_under_the_cursor_then_the_forms_operator():
    from omegacli.kernel.kernel import _names_at

    assert _names_at("(area 2 3)", 3) == ["area"]
    assert _names_at("(area 2 3)", 8) == ["3", "area"]
    assert _names_at("(f (g 1) 2)", 10) == ["2", "f"]
    assert _names_at("(f (g 1) 2)", 6) == ["1", "g"]
    assert _names_at('(f "a(" ', 8) == ["f"]  # a parenthesis in a string opens nothing
    assert _names_at("(f ; (g\n 1)", 10) == ["1", "f"]  # nor one in a comment
    assert _names_at("", 0) == [] and _names_at("(area 2 3)", 0) == []
