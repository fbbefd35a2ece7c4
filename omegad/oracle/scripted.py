"""The reference's scripted oracle (OMEGA_SCRIPTED_ORACLE=1), offline and deterministic.

`infer.op` answers 42; `int.op`/`rewrite.op` answer the meaning
(denotation 42, confidence 1, trace "stackDepth=0"); `search.op` eight such meanings. Applying an
oracle-lambda dispatches on its spec: "apply-add1" -> x + 1, "apply-add" -> x + y, any other
spec -> the sum of the arguments (NaN if one is not a number)."""

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

    async def call(self, request: OracleRequest) -> OracleResponse:
        if request.op == "oracle.apply.op":
            return OracleResponse(denotation=encode_value(self._apply(request)), confidence=1.0)
        if request.op == "search.op":
            s = Sample(denotation=42.0, confidence=1.0, trace=_TRACE)
            return OracleResponse(denotation=42.0, confidence=1.0, trace=_TRACE,
                                  samples=[s] * request.n)
        return OracleResponse(denotation=42.0, confidence=1.0, trace=_TRACE)

    def _apply(self, request: OracleRequest) -> float:
        args = [_num(a) for a in request.args]
        key = _spec_key(request.spec)
        if key == "apply-add1":
            return (args[0] if args and args[0] is not None else 0.0) + 1
        if key == "apply-add":
            x = args[0] if args and args[0] is not None else 0.0
            y = args[1] if len(args) > 1 and args[1] is not None else 0.0
            return x + y
        if any(a is None for a in args):
            return math.nan
        return float(sum(args))
