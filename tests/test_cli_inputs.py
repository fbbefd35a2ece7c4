"""How `omegacli -f` cuts a file into forms and where it says a failed form is (inputs.py)."""

import pytest

from omegacli.inputs import Source, parse_error_offset
from omegad.lang.reader import read_all
from omegad.lang.values import LispError


def test_forms_keep_the_references_splitting_and_know_their_lines():
    text = "; head\n(define a 1)\n\n  x y (f\n ; inner\n  \"(\" 2)\n(g)"
    source = Source("t.omega", text)
    assert source.forms == ["(define a 1)", "x y", "(f\n  \"(\" 2)", "(g)"]
    assert [source.where(i) for i in range(4)] == ["t.omega:2:1", "t.omega:4:3", "t.omega:4:7",
                                                   "t.omega:7:1"]
    assert source.where(2, source.forms[2].index('"')) == "t.omega:6:3"  # past a dropped line


@pytest.mark.parametrize("form, at", [
    ("(a b))", 5),
    ("(a \")\" ; )\n b))", 14),          # parens in strings and comments do not count
    ("(a '", 3),                         # a quote with nothing after it
    ("(a (b c) (d", 9),                  # the innermost `(` left open
    ("(a 'b)c)", 7),
    ("')", 1),
])
def test_a_parse_error_points_where_the_reader_stopped(form, at):
    with pytest.raises(LispError) as e:
        read_all(form)
    assert parse_error_offset(form, str(e.value)) == at
