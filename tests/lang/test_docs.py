"""Every builtin documents itself (`:doc NAME`), and the documentation agrees with the code."""

import inspect
import math

import pytest

from omegad.lang import api, docs
from omegad.lang.compile import _SPECIAL
from omegad.lang.primitives import load_all
from omegad.lang.primitives.registry import DOCS
from omegad.lang.values import Prim


@pytest.fixture(scope="module")
def state():
    return api.ReplState()


def test_every_primitive_has_a_doc_line_and_its_arity(state):
    for name in load_all():
        d = docs.describe(state, name)
        assert d.kind in ("primitive", "special form"), name
        assert d.doc and d.doc.strip(), f"{name} has no doc line"
        assert "\n" not in d.doc, f"{name}: one line"
        if d.kind == "primitive":
            assert d.arity and d.usage and d.usage.startswith(f"({name}"), name
            assert docs.render(d)[0].startswith(f"{name}: primitive, "), name


def _python_range(fn) -> tuple[float, float]:
    params = inspect.signature(fn).parameters.values()
    positional = [p for p in params if p.kind is p.POSITIONAL_OR_KEYWORD]
    required = sum(1 for p in positional if p.default is p.empty)
    rest = any(p.kind is p.VAR_POSITIONAL for p in params)
    return required, math.inf if rest else len(positional)


def _documented_range(arity: str) -> tuple[float, float]:
    if arity.endswith("+"):
        return int(arity[:-1]), math.inf
    low, _, high = arity.partition("-")
    return int(low), int(high or low)


def test_a_pure_primitive_documents_an_arity_its_function_accepts():
    for name, value in load_all().items():
        if type(value) is Prim:
            low, high = _documented_range(DOCS[name].arity)
            py_low, py_high = _python_range(value.fn)
            assert py_low <= low and high <= py_high, (name, DOCS[name].args)


def test_every_prelude_procedure_and_special_form_has_a_doc_line(state):
    for name in docs.prelude_names():
        d = docs.describe(state, name)
        assert d.kind == "procedure" and d.builtin and d.doc, name
    for name in _SPECIAL:
        d = docs.describe(state, name)
        assert d.kind == "special form" and d.doc and d.usage, name


def test_arity_from_the_documented_parameters():
    from omegad.lang.primitives.registry import Doc

    assert Doc("list k", "").arity == "2"
    assert Doc("s start [end]", "").arity == "2-3"
    assert Doc("n n...", "").arity == "1+"
    assert Doc("", "").arity == "0"


def test_a_user_procedure_shows_its_parameters(state):
    s = api.ReplState()
    for text in ["(define (area w h) (* w h))", "(define (log-all . xs) xs)", "(define n 5)"]:
        run = api.start(s, text)
        assert isinstance(run.run(), api.Done)
    area = docs.describe(s, "area")
    assert (area.kind, area.params, area.arity, area.builtin) == ("procedure", ["w", "h"], "2",
                                                                   False)
    assert docs.describe(s, "log-all").params == [". xs"]
    assert docs.describe(s, "log-all").arity == "0+"
    n = docs.describe(s, "n")
    assert (n.kind, n.value) == ("value", "5")
    assert docs.describe(s, "nope").kind == "unbound"
    assert docs.render(docs.describe(s, "nope")) == ["nope: not bound (:env lists the names you "
                                                     "defined)"]


def test_a_user_binding_hides_the_builtin_doc():
    s = api.ReplState()
    assert isinstance(api.start(s, "(define (car x) 1)").run(), api.Done)
    d = docs.describe(s, "car")
    assert (d.kind, d.builtin, d.doc) == ("procedure", False, None)
