"""The reference's scripted oracle (OMEGA_SCRIPTED_ORACLE=1), offline and deterministic.

`infer.op` answers 42; `int.op`/`rewrite.op` answer the meaning
(denotation 42, confidence 1, trace "stackDepth=0"); `search.op` eight such meanings. Applying an
oracle-lambda dispatches on its spec: "apply-add1" -> x + 1, "apply-add" -> x + y, a few of the
reference's canned specs (classify-sentiment, extract-named-entity, suggest-number,
check-safety, safe?, classify-ticket), any other spec -> the sum of the arguments (NaN if one
is not a number)."""

from __future__ import annotations

import math

from omegad.lang.effects import OracleRequest, OracleResponse, Sample, encode_value

_TRACE = "stackDepth=0"


def _num(x) -> float | None:
    return float(x) if isinstance(x, (int, float)) and not isinstance(x, bool) else None


def _spec_key(spec) -> str:
    if isinstance(spec, str):
        return spec
    if isinstance(spec, dict):
        if "sym" in spec:
            return spec["sym"]
        if spec.get("list") and isinstance(spec["list"][0], dict) and "sym" in spec["list"][0]:
            return spec["list"][0]["sym"]
    return "default"


class ScriptedOracle:
    name = "scripted"

    async def call(self, request: OracleRequest, host=None) -> OracleResponse:
        if request.op == "oracle.apply.op":
            return OracleResponse(denotation=_encoded(self._apply(request)), confidence=1.0)
        if request.op == "search.op":
            s = Sample(denotation=42.0, confidence=1.0, trace=_TRACE)
            return OracleResponse(denotation=42.0, confidence=1.0, trace=_TRACE,
                                  samples=[s] * request.n)
        return OracleResponse(denotation=42.0, confidence=1.0, trace=_TRACE)

    def _apply(self, request: OracleRequest):
        key = _spec_key(request.spec)
        canned = _CANNED.get(key)
        if canned is not None:
            return canned(request.args)
        args = [_num(a) for a in request.args]
        if key == "apply-add1":
            return (args[0] if args and args[0] is not None else 0.0) + 1
        if key == "apply-add":
            x = args[0] if args and args[0] is not None else 0.0
            y = args[1] if len(args) > 1 and args[1] is not None else 0.0
            return x + y
        numbers = [a for a in args if a is not None]
        if len(numbers) < len(args):
            return math.nan
        return float(sum(numbers))


def _text(args, i=0) -> str:
    return args[i] if len(args) > i and isinstance(args[i], str) else ""


def _classify_sentiment(args):
    t = _text(args).lower()
    pos = sum(w in t for w in ("good", "great", "excellent", "happy", "love", "wonderful",
                               "amazing", "best"))
    neg = sum(w in t for w in ("bad", "terrible", "awful", "sad", "hate", "horrible", "worst",
                               "poor"))
    return {"sym": "positive" if pos >= neg else "negative"}


def _extract_named_entity(args):
    for word in _text(args).split():
        if len(word) > 1 and word[0].isupper() and word not in (
                "The", "A", "An", "This", "That", "It", "I"):
            return "".join(c for c in word if c not in ".,!?;:")
    return "UNKNOWN"


def _suggest_number(args):
    lo = _num(args[0]) if args else None
    hi = _num(args[1]) if len(args) > 1 else None
    return float(math.floor(((0.0 if lo is None else lo) + (100.0 if hi is None else hi)) / 2))


def _safety(args, words, num_ok):
    x = args[0] if args else None
    if isinstance(x, str):
        return not any(w in x.lower() for w in words)
    if isinstance(x, dict) and "sym" in x:
        return "danger" not in x["sym"].lower()
    n = _num(x)
    return num_ok(n) if n is not None else True


def _classify_ticket(args):
    t = _text(args).lower()
    for dept, words in (("billing", ("bill", "payment", "invoice", "charge")),
                        ("technical", ("bug", "error", "crash", "not working")),
                        ("sales", ("buy", "price", "discount", "purchase"))):
        if any(w in t for w in words):
            return {"sym": dept}
    return {"sym": "general"}


_CANNED = {
    "classify-sentiment": _classify_sentiment,
    "extract-named-entity": _extract_named_entity,
    "suggest-number": _suggest_number,
    "check-safety": lambda a: _safety(a, ("danger",), lambda n: n > 0),
    "safe?": lambda a: _safety(a, ("danger", "unsafe", "malicious"), lambda n: 0 <= n < 1000),
    "safe-predicate": lambda a: _safety(a, ("danger", "unsafe", "malicious"),
                                        lambda n: 0 <= n < 1000),
    "classify-ticket": _classify_ticket,
}


def _encoded(v):
    """Canned answers are already encoded (dicts for symbols); numbers are encoded here."""
    return v if isinstance(v, (dict, str, bool)) else encode_value(float(v))
