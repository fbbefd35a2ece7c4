import pytest
from hypothesis import given
from hypothesis import strategies as st

from omegad.lang.reader import is_plain, plain_forms, read_all, stepped_forms
from omegad.lang.steps import finish
from omegad.lang.values import NIL, LispError, Pair, Sym


def test_atoms_numbers_booleans_null_symbols():
    assert read_all("42 -7 3.5 #t #f null foo 1e3 .5 +5") == [
        42.0, -7.0, 3.5, True, False, NIL, Sym("foo"), Sym("1e3"), Sym(".5"), Sym("+5")]


def test_comments_and_quote():
    [d] = read_all("; comment\n'x ; trailing")
    assert isinstance(d, Pair) and d.car is Sym("quote") and d.cdr.car is Sym("x")


def test_string_escapes_follow_the_reference():
    assert read_all(r'"a\nb\tc\"d\\e\rf"') == ['a\nb\tc"d\\erf']


def test_semicolon_and_parens_inside_strings():
    assert read_all('"a;b (c)"') == ["a;b (c)"]


@pytest.mark.parametrize("src,msg", [(")", "parse: unexpected ')'"),
                                     ("(+ 1", "parse: missing ')'"),
                                     ("'", "parse: unexpected EOF")])
def test_reader_errors(src, msg):
    with pytest.raises(LispError) as e:
        read_all(src)
    assert e.value.message == msg


def test_reader_errors_print_through_the_repl(repl):
    assert repl.lines("(+ 1 2))") == ["error: parse: unexpected ')'"]


def _shape(value):
    """A datum as nested tuples, comparable with ==."""
    if isinstance(value, Pair):
        return ("pair", _shape(value.car), _shape(value.cdr))
    if isinstance(value, Sym):
        return ("sym", value.name)
    return (type(value).__name__, value)


def _read(read):
    try:
        return [(text, _shape(d)) for text, d in read()]
    except LispError as e:
        return e.message


_ATOMS = st.sampled_from(["a", "b1", "-2", "3.5", "#t", "null", "é", "+"])
_FORMS = st.recursive(
    _ATOMS, lambda inner: st.lists(inner, max_size=4).map(lambda items: f"({' '.join(items)})"),
    max_leaves=12,
).flatmap(lambda form: st.sampled_from([form, "'" + form, "''" + form]))
_PLAIN = st.one_of(
    st.text(alphabet="()' \t\r\nab1-.#é\f+", max_size=40),  # mostly errors
    st.lists(_FORMS, max_size=4).map("\n".join),                   # well-formed forms
    st.tuples(st.lists(_FORMS, max_size=3).map(" ".join), st.sampled_from(["(", ")", "'"]))
    .map("".join),                                                   # well-formed, then not
)


@given(_PLAIN)
def test_a_plain_source_is_read_in_one_pass_as_by_the_stepped_reader(src):
    assert is_plain(src)
    assert _read(lambda: plain_forms(src)) == _read(lambda: finish(stepped_forms(src)))


def test_the_plain_reader_reads_quotes_nesting_and_errors():
    [(text, datum)] = plain_forms(" '(a 'b (c)) ")
    assert text == "'(a 'b (c))"
    assert _shape(datum) == _shape(read_all("(quote (a (quote b) (c)))")[0])
    for src, msg in [("(a '", "parse: unexpected EOF"), ("(a (b)", "parse: missing ')'"),
                     ("(a ')", "parse: unexpected ')'"), ("x)", "parse: unexpected ')'")]:
        with pytest.raises(LispError) as e:
            plain_forms(src)
        assert e.value.message == msg
