"""The rules oracle: a JSON file of prompt-substring rules -> answers, offline.

File format (either shape):
    {"rules": [{"when": ["complaint", "frustrat"], "answer": "yes"}, ...], "default": "no"}
    [{"when": "sentiment", "answer": "positive"}, ...]
A rule matches when every one of its substrings occurs in the lowercased prompt; the first match
wins. As in the reference's demo harness, a JSON string answer is a Lisp string, a JSON number a
number, a boolean a boolean, null the empty list and an array a list. `parse_answer` converts a
model's text answer as the reference's real adapters do (for the provider adapters)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from omegad.lang.effects import OracleRequest, OracleResponse, Sample

_NUM = re.compile(r"-?\d+(\.\d+)?\Z")


def parse_answer(text: str) -> object:
    """An answer text -> an encoded value (see omegad.lang.effects.encode_value)."""
    t = text.strip()
    if t in ("#t", "true"):
        return True
    if t in ("#f", "false"):
        return False
    if t in ("()", "unit", "null"):
        return None
    if _NUM.match(t):
        return float(t)
    if len(t) >= 2 and t.startswith('"') and t.endswith('"'):
        return t[1:-1]
    if t.startswith("'") and len(t) > 1:
        return {"sym": t[1:]}
    return text


class RulesOracle:
    name = "rules"

    def __init__(self, rules: list[tuple[list[str], object]], default: object = None) -> None:
        self.rules = [([w.lower() for w in when], answer) for when, answer in rules]
        self.default = default

    @classmethod
    def from_file(cls, path: str | Path) -> RulesOracle:
        return cls.from_json(json.loads(Path(path).read_text(encoding="utf-8")))

    @classmethod
    def from_json(cls, data) -> RulesOracle:
        default = None
        if isinstance(data, dict) and "rules" in data:
            default = data.get("default")
            data = data["rules"]
        elif isinstance(data, dict):
            data = [{"when": k, "answer": v} for k, v in data.items()]
        rules = []
        for r in data:
            when = r.get("when", r.get("match", []))
            rules.append(([when] if isinstance(when, str) else list(when), r["answer"]))
        return cls(rules, default)

    def answer_for(self, prompt: str) -> object:
        p = prompt.lower()
        for when, answer in self.rules:
            if all(w in p for w in when):
                return answer
        return self.default

    async def call(self, request: OracleRequest, host=None) -> OracleResponse:
        prompt = request.prompt
        if request.op == "oracle.apply.op":
            prompt = prompt + " " + " ".join(json.dumps(a) for a in request.args)
        answer = self.answer_for(prompt)
        value = _json_to_encoded(answer)
        conf = 1.0 if answer is not None else 0.0
        if request.op == "search.op":
            s = Sample(denotation=value, confidence=conf)
            return OracleResponse(denotation=value, confidence=conf, samples=[s] * request.n)
        return OracleResponse(denotation=value, confidence=conf)


def _json_to_encoded(x) -> object:
    """A JSON answer -> the encoded Lisp value (see omegad.lang.effects.encode_value)."""
    if isinstance(x, bool) or x is None or isinstance(x, str):
        return x
    if isinstance(x, (int, float)):
        return float(x)
    if isinstance(x, list):
        return {"list": [_json_to_encoded(i) for i in x]}
    return str(x)
