"""The offline oracle adapters (scripted, rules) through the language."""

import json
from pathlib import Path

from omegad.lang.effects import OracleRequest
from omegad.oracle.base import call_sync
from omegad.oracle.rules import RulesOracle, parse_answer
from omegad.oracle.scripted import ScriptedOracle

from .conftest import Repl


def test_scripted_infer_int_search_apply():
    r = Repl(ScriptedOracle())
    assert r("(effect infer.op \"What is 2+2?\")") == "=> 42"
    assert r("(effect int.op \"q\")") == \
        "=> (meaning (denotation 42) (confidence 1) (trace \"stackDepth=0\"))"
    assert r("(dist-count (effect search.op \"q\"))") == "=> 8"
    assert r("((oracle-lambda (x) \"apply-add1\") 41)") == "=> 42"
    assert r("((oracle-lambda (a b) \"apply-add\") 2 3)") == "=> 5"
    assert r("((oracle-lambda (a b c) \"anything\") 1 2 3)") == "=> 6"
    assert r("((oracle-lambda (a) \"anything\") \"x\")") == "=> NaN"


RULES = {"rules": [
    {"when": ["sentiment"], "answer": "positive"},
    {"when": ["complaint", "frustrat"], "answer": "yes"},
    {"when": "complaint", "answer": "no"},
    {"when": "number please", "answer": "7"},
    {"when": "a real number", "answer": 7},
], "default": "unknown"}


def test_rules_oracle_matches_substrings_in_order(tmp_path):
    path = tmp_path / "rules.json"
    path.write_text(json.dumps(RULES))
    r = Repl(RulesOracle.from_file(path))
    assert r("(effect infer.op (list \"What is the Sentiment of: \" \"great\"))") == \
        "=> \"positive\""
    assert r("(effect infer.op \"Is this complaint? I'm frustrated\")") == "=> \"yes\""
    assert r("(effect infer.op \"Is this a complaint? fine\")") == "=> \"no\""
    assert r("(effect infer.op \"a number please\")") == "=> \"7\""
    assert r("(+ 1 (effect infer.op \"a real number\"))") == "=> 8"
    assert r("(effect infer.op \"nothing matches\")") == "=> \"unknown\""


def test_rules_file_shapes_and_answer_conversion():
    o = RulesOracle.from_json({"hello": "world"})
    resp = call_sync(o, OracleRequest(op="infer.op", prompt="say hello"))
    assert resp.denotation == "world"
    assert parse_answer("#t") is True and parse_answer("null") is None
    assert parse_answer("\"quoted\"") == "quoted" and parse_answer("3.5") == 3.5


def test_scripted_canned_apply_specs():
    r = Repl(ScriptedOracle())
    assert r("((oracle-lambda (t) \"classify-sentiment\") \"I love it\")") == "=> positive"
    assert r("((oracle-lambda (t) \"classify-ticket\") \"my invoice\")") == "=> billing"
    assert r("((oracle-lambda (t) \"safe?\") \"malicious\")") == "=> #f"
    assert r("((oracle-lambda (a b) \"suggest-number\") 1 10)") == "=> 5"


DATA = Path(__file__).parent / "data"


def test_rules_oracle_reproduces_the_reference_rules_runs():
    r = Repl(RulesOracle.from_file(DATA / "rules.json"))
    r.lines("(define (analyze-sentiment text) (effect infer.op (list \"What is the sentiment "
            "(positive/negative/neutral) of: \" text)))")
    assert r("(analyze-sentiment \"I love it\")") == "=> \"positive\""
    r.lines("(define (is-complaint? text) (equal? \"yes\" (effect infer.op (list \"Is this "
            "customer note a complaint? yes/no: \" text))))")
    assert r("(filter is-complaint? (list \"fine\" \"I'm getting frustrated.\" "
             "\"feels unfair.\"))") == "=> (\"I'm getting frustrated.\" \"feels unfair.\")"
    assert r("((oracle-lambda (q) \"agentic-query\") 1)") == "=> \"4\""
