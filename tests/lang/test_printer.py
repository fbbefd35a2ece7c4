import math

import pytest

from omegad.lang import printer
from omegad.lang.printer import display_str, js_number, write_str
from omegad.lang.values import Pair, Sym, make_list


@pytest.mark.parametrize("x,text", [
    (3.0, "3"), (3.5, "3.5"), (0.1 + 0.2, "0.30000000000000004"), (-0.5, "-0.5"),
    (1e21, "1e+21"), (1e-7, "1e-7"), (1e-6, "0.000001"), (math.inf, "Infinity"),
    (-math.inf, "-Infinity"), (math.nan, "NaN"), (-0.0, "0"), (2432902008176640000.0,
    "2432902008176640000"), (1.5511210043330986e25, "1.5511210043330986e+25"),
    (123456789012345680000.0, "123456789012345680000"), (3.3333333333333335e-07,
    "3.3333333333333335e-7")])
def test_numbers_print_like_javascript(x, text):
    assert js_number(x) == text


def test_write_forms():
    assert write_str(make_list([1.0, "a\"b", Sym("c"), True, None])) == '(1 "a\\"b" c #t null)'
    assert write_str(Pair(1.0, 2.0)) == "(1 . 2)"
    assert write_str(None) == "null"


def test_display_forms():
    assert display_str("raw") == "raw"
    assert display_str(make_list(["a", None])) == '("a" ())'


def test_cyclic_list_terminates_with_marker():
    p = make_list([1.0, 2.0])
    p.cdr.cdr = p
    assert write_str(p) == "(1 2 . #cycle#)"
    q = make_list([1.0])
    q.car = q
    assert "#cycle#" in write_str(q)


def test_huge_value_is_capped_with_the_size_of_what_is_left_out(monkeypatch):
    monkeypatch.setattr(printer, "TEXT_CAP", 1000)   # (the rule is the same at 1 MiB)
    whole = "(" + " ".join(str(i) for i in range(4000)) + ")"
    text = write_str(make_list([float(i) for i in range(4000)]))
    assert text == whole[:1000] + f" … [{len(whole) - 1000} more bytes]"
    whole = "(" + " ".join(['"' + "é" * 10 + '"'] * 2000) + ")"
    left_out = len(whole[1000:].encode())
    assert display_str(make_list(["é" * 10] * 2000)) == \
        whole[:1000] + f" … [{left_out} more bytes]"
    assert write_str(make_list([1.0] * 10)) == "(1 1 1 1 1 1 1 1 1 1)"   # under the cap: whole


def test_a_value_that_prints_far_longer_than_it_is_big_stops_counting(monkeypatch):
    monkeypatch.setattr(printer, "TEXT_CAP", 1000)
    monkeypatch.setattr(printer, "COUNT_LIMIT", 100_000)
    x = make_list([1.0])
    for _ in range(40):       # 2**40 leaves from 80 pairs
        x = make_list([x, x])
    text = write_str(x)
    assert text.startswith("((((") and len(text) < 1100
    assert text.endswith(" more bytes]") and " … [at least " in text


def test_cycles_made_in_lisp(repl):
    repl("(define c (list 1 2 3))")
    repl("(set-cdr! (cddr c) c)")
    assert repl("c") == "=> (1 2 3 . #cycle#)"
    repl("(define v (list 'a))")
    repl("(set-car! v v)")
    assert repl("v") == "=> (#cycle#)"


def test_deeply_nested_data_prints_in_full():
    v = None
    for _ in range(50_000):
        v = make_list([v])
    text = write_str(v)
    assert text.startswith("((((") and text.endswith("))))") and len(text) == 2 * 50_000 + 4


@pytest.mark.parametrize("text", ["abc" * 50, "é€😀\ud800x" * 30, "x" * 90 + "é"])
def test_utf8_size_measures_a_range_in_place_a_piece_at_a_time(monkeypatch, text):
    monkeypatch.setattr(printer, "MEASURE_PIECE", 7)
    for start, end in [(0, None), (5, None), (3, 50), (len(text), None), (10, 11)]:
        want = len(text[start:end].encode("utf-8", "surrogatepass"))
        assert printer.utf8_size(text, start, end) == want


def test_the_output_cap_counts_what_it_leaves_out_without_the_marker(monkeypatch):
    from omegad.sessions.engine import OutputCap

    shown: list[str] = []
    cap = OutputCap(shown.append, limit=10)
    cap("abcdefgh")
    cap("ijklé€😀" * 3)                       # 2 shown, the rest left out
    cap("xyz … [1000 more bytes]")           # a value the printer cut: its marker counts
    cap.close()
    left = len(("klé€😀" + "ijklé€😀" * 2).encode()) + 3 + 1000
    assert shown == ["abcdefgh", "ij", f"\n… [{left} more bytes]\n"]


def _reference_write(v, path=()) -> str:
    """The printer's rule, written the plain recursive way: a pair met again on the path from
    the root (the cells of every list still open) prints as #cycle#."""
    if type(v) is not Pair:
        return write_str(v)
    if id(v) in path:
        return "#cycle#"
    out, cur, first = [], v, True
    while type(cur) is Pair:
        if id(cur) in path:
            out.append("#cycle#" if first else ". #cycle#")
            return "(" + " ".join(out) + ")"
        path = (*path, id(cur))
        out.append(_reference_write(cur.car, path))
        first = False
        cur = cur.cdr
    if cur is not None:
        out += [".", write_str(cur)]
    return "(" + " ".join(out) + ")"


@pytest.mark.parametrize("piece", [1, 2, 7, 1024])
def test_runs_of_atoms_print_as_the_recursive_rule_says_at_any_pause(monkeypatch, piece):
    monkeypatch.setattr(printer, "PRINT_PIECE", piece)
    inner = make_list([1.5, "s\"", Sym("q")])
    items = [float(i) if i % 7 else (inner if i % 2 else make_list([float(i), None]))
             for i in range(300)]
    x = make_list(items + [True, -0.0, 2.0 ** 60, math.nan])
    assert write_str(x) == _reference_write(x)
    tail = x
    while tail.cdr is not None:
        tail = tail.cdr
    tail.cdr = x.cdr.cdr.cdr                    # a cycle back into the spine
    x.cdr.car = x.cdr.cdr                       # an element that is a later part of the spine
    inner.cdr.cdr.car = x                       # an element pointing back at the root
    assert write_str(x) == _reference_write(x)
    assert "#cycle#" in write_str(x)


def test_a_cycle_back_to_the_start_of_a_long_list_is_found_whatever_memory_it_spans():
    """The path is kept in one set per region of memory (_Path): a list of 200 000 pairs spans
    many, and its last cdr, pointing back at its second pair, still meets it."""
    x = make_list([float(i) for i in range(200_000)])
    tail = x
    while tail.cdr is not None:
        tail = tail.cdr
    tail.cdr = x.cdr
    whole = "(" + " ".join(str(i) for i in range(200_000)) + " . #cycle#)"
    text = write_str(x)
    assert text == whole[:printer.TEXT_CAP] + f" … [{len(whole) - printer.TEXT_CAP} more bytes]"
    assert len({id(p) >> printer._REGION for p in (x, tail)}) == 2
