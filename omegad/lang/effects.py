"""Oracle requests and responses as plain, journalable values (msgspec Structs).

The machine suspends on an oracle operation with an `OracleRequest`; whoever drives it asks an
oracle adapter (or a journal of receipts) for an `OracleResponse` and resumes the run with it.
Lisp values cross this boundary in a small JSON-able encoding (`encode_value`/`decode_value`)."""

from __future__ import annotations

import hashlib
import math

import msgspec

from .printer import write_str
from .values import NIL, Dist, Meaning, OracleProc, Pair, Sym, Value

ORACLE_OPS = ("infer.op", "int.op", "search.op", "rewrite.op", "oracle.apply.op")
SEARCH_SAMPLES = 8


class OracleRequest(msgspec.Struct, frozen=True, omit_defaults=True):
    op: str                      # infer.op | int.op | search.op | rewrite.op | oracle.apply.op
    prompt: str = ""             # the payload rendered as the reference renders prompts
    payload: object = None       # encoded payload value
    spec: object = None          # oracle.apply.op: encoded spec of the oracle-lambda
    params: list[str] = []       # oracle.apply.op: its parameter names
    args: list[object] = []      # oracle.apply.op: encoded arguments
    n: int = 1                   # search.op: number of samples wanted

    def key(self) -> str:
        """Receipt key: SHA-256 of the compact JSON of the request."""
        return hashlib.sha256(msgspec.json.encode(self)).hexdigest()


class Sample(msgspec.Struct, frozen=True, omit_defaults=True):
    denotation: object = None    # encoded value
    confidence: float | None = None
    trace: str | None = None


class OracleResponse(msgspec.Struct, frozen=True, omit_defaults=True):
    denotation: object = None    # encoded value
    confidence: float | None = None
    trace: str | None = None
    samples: list[Sample] = []   # search.op


# ---- value encoding ----------------------------------------------------------------------------
def encode_value(v: Value) -> object:
    t = type(v)
    if v is None or t is bool or t is str:
        return v
    if t is float:
        if math.isfinite(v):
            return v
        return {"num": "NaN" if v != v else ("Infinity" if v > 0 else "-Infinity")}
    if t is Sym:
        return {"sym": v.name}
    if t is Pair:
        items = []
        seen = set()
        while type(v) is Pair and id(v) not in seen:
            seen.add(id(v))
            items.append(encode_value(v.car))
            v = v.cdr
        out: dict[Value, Value] = {"list": items}
        if v is not None:
            out["tail"] = encode_value(v) if type(v) is not Pair else {"text": "#cycle#"}
        return out
    if t is Meaning:
        return {"meaning": {"denotation": encode_value(v.denotation),
                            "confidence": v.confidence,
                            "trace": encode_value(v.trace)}}
    return {"text": write_str(v)}


def decode_value(x: Value) -> object:
    if x is None or isinstance(x, (bool, str)):
        return x
    if isinstance(x, (int, float)):
        return float(x)
    if isinstance(x, dict):
        if "num" in x:
            return float(x["num"].replace("Infinity", "inf").replace("NaN", "nan"))
        if "sym" in x:
            return Sym(x["sym"])
        if "list" in x:
            out = decode_value(x.get("tail"))
            for item in reversed(x["list"]):
                out = Pair(decode_value(item), out)
            return out
        if "meaning" in x:
            mm = x["meaning"]
            return Meaning(decode_value(mm.get("denotation")), mm.get("confidence"),
                           decode_value(mm.get("trace")))
        if "text" in x:
            return x["text"]
    if isinstance(x, list):
        out = NIL
        for item in reversed(x):
            out = Pair(decode_value(item), out)
        return out
    return str(x)


def render_prompt(v: Value) -> str:
    """The prompt text for a payload: strings raw, a list of strings concatenated."""
    if type(v) is str:
        return v
    if type(v) is Pair:
        items = []
        cur = v
        while type(cur) is Pair:
            items.append(cur.car)
            cur = cur.cdr
        if cur is None and all(type(i) is str for i in items):
            return "".join(items)
        return "(" + " ".join(render_prompt(i) for i in items) + ")"
    if v is None:
        return "()"
    return write_str(v)


def request_for(call: Value) -> OracleRequest:
    """The wire request for a machine OracleCall."""
    if call.op == "oracle.apply.op":
        proc: OracleProc = call.proc
        return OracleRequest(op=call.op, prompt=render_prompt(proc.spec),
                             spec=encode_value(proc.spec), params=list(proc.params),
                             args=[encode_value(a) for a in call.args])
    return OracleRequest(op=call.op, prompt=render_prompt(call.payload),
                         payload=encode_value(call.payload),
                         n=SEARCH_SAMPLES if call.op == "search.op" else 1)


def _meaning(r: Value) -> Meaning:
    return Meaning(decode_value(r.denotation), r.confidence,
                   None if r.trace is None else r.trace)


def response_value(op: str, resp: OracleResponse) -> Value:
    """The Lisp value an operation returns for a response."""
    if op in ("infer.op", "oracle.apply.op"):
        return decode_value(resp.denotation)
    if op == "search.op":
        samples = resp.samples or [Sample(resp.denotation, resp.confidence, resp.trace)]
        return Dist([(_meaning(s), 1.0) for s in samples])
    return _meaning(resp)
