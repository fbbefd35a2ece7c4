import pytest
from hypothesis import given
from hypothesis import strategies as st

from omegad.lang.reader import plain_tokens, read_all, tokenize
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


@given(st.text(alphabet="()' \t\r\nab1-.#é\f+", max_size=40))
def test_a_plain_source_is_tokenized_in_one_match_as_by_the_stepped_tokenizer(src):
    assert list(plain_tokens(src)) == tokenize(src)
