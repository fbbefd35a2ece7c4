"""The tool-calling loop and the reference's value rendering, with a host standing in for the
session (no HTTP): what the model is told for each tool, and how its answers become values."""

import json

import pytest

from omegad.lang.effects import OracleRequest, encode_value
from omegad.lang.values import Pair, Sym
from omegad.oracle.base import OracleError
from omegad.oracle.openai import OpenAIOracle
from omegad.oracle.provider import (
    MAX_TURNS,
    ProviderConfig,
    ToolError,
    format_anthropic,
    format_openai,
)
from tests.oracle.fakes import openai_text, openai_tool_call


def lisp_list(*items):
    out = None
    for item in reversed(items):
        out = Pair(item, out)
    return out


def test_values_render_as_the_reference_renders_prompts():
    assert format_openai(lisp_list("Sentiment of: ", "good")) == "Sentiment of: good"
    assert format_openai(lisp_list(1.0, Sym("x"), True)) == "(1 x #t)"
    assert format_openai(Pair(1.0, 2.0)) == "[1 2]"
    assert format_openai(None) == "()"
    assert format_anthropic(lisp_list("a", "b")) == "[a [b ()]]"
    assert format_anthropic(False) == "#f"


class Host:
    """Answers `eval` from a table, records every request, replies from a script."""

    def __init__(self, answers, values=None):
        self.answers = list(answers)
        self.values = values or {}
        self.sent = []

    async def exchange(self, exchange):
        self.sent.append(exchange.request["body"])
        return self.answers.pop(0).body

    async def eval(self, code):
        if code not in self.values:
            raise ToolError(f"unbound var {code}")
        return self.values[code]

    def observe(self, what):
        return {"defs": ["(define x 1)"]}


def oracle():
    return OpenAIOracle(ProviderConfig("openai", "m", base_url="http://unused"))


def infer(prompt):
    return OracleRequest(op="infer.op", prompt=prompt, payload=encode_value(prompt))


async def test_every_tool_is_answered_as_the_reference_answers_it():
    host = Host([openai_tool_call("apply", {"fn": "f", "args": ["1", "2"]}, "a"),
                 openai_tool_call("observe", {"what": "defs"}, "o"),
                 openai_tool_call("match", {"expr": "(+ 1 2)", "pattern": "(?op ?a ?b)"}, "m"),
                 openai_tool_call("assert", {"predicate": "ok", "msg": "no"}, "s"),
                 openai_tool_call("assert", {"predicate": "bad", "msg": "it is bad"}, "s2"),
                 openai_tool_call("eval", {"expr": "nope"}, "e"),
                 openai_tool_call("dance", {}, "d"),
                 openai_tool_call("return", {"value": "#t", "confidence": 0.3}, "r")],
                {"(f 1 2)": 3.0, "ok": True, "bad": False})
    r = await oracle().call(infer("go"), host)
    assert (r.denotation, r.confidence, r.trace) == (True, 0.3, "adapter=openai model=m turns=8")
    told = [host.sent[i + 1]["messages"][-1]["content"] for i in range(7)]
    assert told[0] == "3"
    assert json.loads(told[1]) == {"defs": ["(define x 1)"]}
    assert json.loads(told[2]) == {"matched": True,
                                   "bindings": {"?op": "+", "?a": "1", "?b": "2"}}
    assert told[3:] == ["Assertion passed", "Assertion failed: it is bad",
                        "Error: unbound var nope", "Unknown tool: dance"]


@pytest.mark.parametrize("answer, value", [
    ("42", 42.0), ("-1.5", -1.5), ("#f", False), ("null", None), ('"quoted"', "quoted"),
    ("'low", {"sym": "low"}), ("(list 1 2)", "(list 1 2)"), ("  spaced  ", "spaced")])
async def test_return_values_are_parsed_as_the_reference_parses_them(answer, value):
    host = Host([openai_tool_call("return", {"value": answer})])
    assert (await oracle().call(infer("q"), host)).denotation == value


async def test_a_text_answer_is_a_string_with_half_confidence():
    r = await oracle().call(infer("q"), Host([openai_text("just text")]))
    assert (r.denotation, r.confidence) == ("just text", 0.5)


async def test_a_model_that_never_returns_is_an_error_after_twenty_turns():
    host = Host([openai_tool_call("eval", {"expr": "x"})] * MAX_TURNS, {"x": 1.0})
    with pytest.raises(OracleError, match="no answer after 20 turns"):
        await oracle().call(infer("q"), host)
    assert len(host.sent) == MAX_TURNS


async def test_each_turn_is_sent_as_it_was_then():
    host = Host([openai_tool_call("eval", {"expr": "x"}, "c1"),
                 openai_tool_call("return", {"value": "1"}, "c2")], {"x": 1.0})
    await oracle().call(infer("q"), host)
    assert [len(b["messages"]) for b in host.sent] == [2, 4]
