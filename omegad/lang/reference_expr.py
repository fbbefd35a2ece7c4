"""The reference compiler's expression trees (`Expr` in its serialized closures) as omega source.

The reference compiles a closure's body to a tree of tagged nodes (`Lit`, `Var`, `Lambda`, `If`,
`Begin`, `Define`, `Set`, `App`, `Quote`, `Let`, `Letrec`, `Effect`, `Handle`, `Match`,
`OracleLambda`) whose identifiers are renamed per binding site (`x` bound by a define or a
lambda becomes `x$bid#7`). Omega recompiles a closure from its source, so this module turns such
a tree back into a datum, naming each identifier through a function the caller gives (the
caller knows which names are free and what they refer to).

Shapes the reference's lowering produces and that are turned back into their source form:
`(let ((x e)) b)` arrives as `((lambda (x) b) e)` (kept as is: omega runs that the same), and
`(letrec ((f e)) b)` as `((lambda (f) (set! f e) b) (*uninit*))`, which becomes a `letrec` again.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from .values import Pair, Sym, Value, make_list

RENAMED = re.compile(r"\$bid#\d+$")
UNINIT = "*uninit*"

Namer = Callable[[str], str]


class UnconvertibleState(ValueError):
    """A reference state holds something omega cannot rebuild (named in the message)."""


def source_name(name: str) -> str:
    """`x$bid#7` -> `x`: the identifier as the user wrote it."""
    return RENAMED.sub("", name)


def _sym(name: str) -> Sym:
    return Sym(name)


def _lst(*items: Any) -> Any:
    return make_list(list(items))


def literal(value: Any) -> Any:
    """A `Lit` value (JSON number, string, boolean or null) as an omega datum."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, float)):
        return float(value)
    raise UnconvertibleState(f"literal {value!r}")


def quoted(datum: Any) -> Any:
    """A `Quote` datum: atoms as they are, `{"sym": name}` for symbols, arrays for lists."""
    if isinstance(datum, list):
        return make_list([quoted(d) for d in datum])
    if isinstance(datum, dict):
        if set(datum) == {"sym"}:
            return Sym(datum["sym"])
        raise UnconvertibleState(f"quoted datum {datum!r}")
    return literal(datum)


def body_exprs(expr: dict[Value, Value]) -> list[dict[Value, Value]]:
    """A body as its forms: a `Begin` body is spliced (so internal defines stay at body level)."""
    if expr.get("tag") == "Begin":
        return list(expr["exprs"])
    return [expr]


class ToDatum:
    """Turns one closure's expression tree into source, naming identifiers with `name`."""

    def __init__(self, name: Namer) -> None:
        self.name = name

    def body(self, expr: dict[Value, Value]) -> list[Any]:
        return [self.expr(e) for e in body_exprs(expr)]

    def params(self, names: list[str]) -> Any:
        return make_list([_sym(self.name(n)) for n in names])

    def expr(self, e: dict[Value, Value]) -> Any:
        tag = e.get("tag") if isinstance(e, dict) else None
        method = getattr(self, f"e_{tag}", None)
        if method is None:
            raise UnconvertibleState(f"expression {tag or type(e).__name__}")
        return method(e)

    def e_Lit(self, e: dict[Value, Value]) -> Any:  # noqa: N802 - named after the reference's tags
        return literal(e.get("value"))

    def e_Var(self, e: dict[Value, Value]) -> Any:  # noqa: N802
        return _sym(self.name(e["name"]))

    def e_Quote(self, e: dict[Value, Value]) -> Any:  # noqa: N802
        return _lst(_sym("quote"), quoted(e.get("datum")))

    def e_Lambda(self, e: dict[Value, Value]) -> Any:  # noqa: N802
        return Pair(_sym("lambda"), Pair(self.params(e["params"]), make_list(self.body(e["body"]))))

    def e_OracleLambda(self, e: dict[Value, Value]) -> Any:  # noqa: N802
        return _lst(_sym("oracle-lambda"), self.params(e["params"]), self.expr(e["spec"]))

    def e_If(self, e: dict[Value, Value]) -> Any:  # noqa: N802
        return _lst(_sym("if"), self.expr(e["test"]), self.expr(e["conseq"]), self.expr(e["alt"]))

    def e_Begin(self, e: dict[Value, Value]) -> Any:  # noqa: N802
        return Pair(_sym("begin"), make_list([self.expr(x) for x in e["exprs"]]))

    def e_Define(self, e: dict[Value, Value]) -> Any:  # noqa: N802
        return _lst(_sym("define"), _sym(self.name(e["name"])), self.expr(e["rhs"]))

    def e_Set(self, e: dict[Value, Value]) -> Any:  # noqa: N802
        return _lst(_sym("set!"), _sym(self.name(e["name"])), self.expr(e["rhs"]))

    def e_App(self, e: dict[Value, Value]) -> Any:  # noqa: N802
        letrec = self._letrec(e)
        if letrec is not None:
            return letrec
        return Pair(self.expr(e["fn"]), make_list([self.expr(a) for a in e["args"]]))

    def _letrec(self, e: dict[Value, Value]) -> Any:
        """`((lambda (f…) (set! f init)… body…) (*uninit*)…)` -> `(letrec ((f init)…) body…)`."""
        fn, args = e["fn"], e["args"]
        if not (isinstance(fn, dict) and fn.get("tag") == "Lambda" and args
                and len(args) == len(fn["params"]) and all(_is_uninit(a) for a in args)):
            return None
        forms = body_exprs(fn["body"])
        n = len(fn["params"])
        sets = forms[:n]
        if len(forms) <= n or any(s.get("tag") != "Set" or s["name"] != p
                                  for s, p in zip(sets, fn["params"], strict=True)):
            return None
        binds = make_list([_lst(_sym(self.name(s["name"])), self.expr(s["rhs"])) for s in sets])
        return Pair(_sym("letrec"), Pair(binds, make_list([self.expr(f) for f in forms[n:]])))

    def _bindings(self, kind: str, e: dict[Value, Value]) -> Any:
        binds = make_list([_lst(_sym(self.name(b["name"])), self.expr(b["init"]))
                           for b in e["bindings"]])
        return Pair(_sym(kind), Pair(binds, make_list(self.body(e["body"]))))

    def e_Let(self, e: dict[Value, Value]) -> Any:  # noqa: N802
        return self._bindings("let", e)

    def e_Letrec(self, e: dict[Value, Value]) -> Any:  # noqa: N802
        return self._bindings("letrec", e)

    def e_Effect(self, e: dict[Value, Value]) -> Any:  # noqa: N802
        return Pair(_sym("effect"), Pair(_sym(e["op"]), make_list([self.expr(a)
                                                                    for a in e["args"]])))

    def e_Handle(self, e: dict[Value, Value]) -> Any:  # noqa: N802
        handler = e.get("handler") or {}
        clauses = [_lst(_sym("on"), _sym(c["op"]),
                        _lst(*[_sym(self.name(p)) for p in c["params"]], _sym(self.name(c["k"]))),
                        self.expr(c["body"]))
                   for c in handler.get("on", [])]
        if handler.get("ret"):
            ret = handler["ret"]
            clauses.append(_lst(_sym("return"), _lst(_sym(self.name(ret["v"]))),
                                self.expr(ret["body"])))
        if handler.get("fin"):
            clauses.append(_lst(_sym("finally"), self.expr(handler["fin"]["body"])))
        return Pair(_sym("handle"), Pair(self.expr(e["body"]), make_list(clauses)))

    def e_Match(self, e: dict[Value, Value]) -> Any:  # noqa: N802
        clauses = [Pair(self.pattern(c["pat"]), make_list(self.body(c["body"])))
                   for c in e["clauses"]]
        return Pair(_sym("match"), Pair(self.expr(e["scrutinee"]), make_list(clauses)))

    def pattern(self, p: dict[Value, Value]) -> Any:
        tag = p.get("tag") if isinstance(p, dict) else None
        if tag == "PWild":
            return _sym("_")
        if tag == "PVar":
            return _sym("?" + self.name(p["name"]))
        if tag == "PLit":
            return literal(p.get("value"))
        if tag == "PVector":
            return make_list([self.pattern(q) for q in p["items"]])
        raise UnconvertibleState(f"match pattern {tag or type(p).__name__}")


def _is_uninit(e: Any) -> bool:
    return (isinstance(e, dict) and e.get("tag") == "App" and not e.get("args")
            and e.get("fn", {}).get("tag") == "Var" and e["fn"].get("name") == UNINIT)


# ---- free identifiers --------------------------------------------------------------------------
def free_names(e: Any, bound: frozenset[str] = frozenset()) -> set[str]:
    """The identifiers an expression refers to (reads or `set!`s) that it does not bind."""
    out: set[str] = set()
    _free(e, bound, out)
    return out


def _free(e: Any, bound: frozenset[str], out: set[str]) -> None:  # noqa: C901 - one case per tag
    if not isinstance(e, dict):
        return
    tag = e.get("tag")
    if tag == "Var":
        if e["name"] not in bound:
            out.add(e["name"])
    elif tag == "Set":
        if e["name"] not in bound:
            out.add(e["name"])
        _free(e["rhs"], bound, out)
    elif tag in ("Lambda", "OracleLambda"):
        inner = bound | set(e["params"])
        if tag == "Lambda":
            inner |= set(defined_names(e["body"]))
            _free(e["body"], inner, out)
        else:
            _free(e["spec"], inner, out)
    elif tag in ("Let", "Letrec"):
        names = {b["name"] for b in e["bindings"]}
        for b in e["bindings"]:
            _free(b["init"], bound | names if tag == "Letrec" else bound, out)
        _free(e["body"], bound | names | set(defined_names(e["body"])), out)
    elif tag == "Handle":
        _free(e["body"], bound, out)
        handler = e.get("handler") or {}
        for c in handler.get("on", []):
            _free(c["body"], bound | set(c["params"]) | {c["k"]}, out)
        if handler.get("ret"):
            _free(handler["ret"]["body"], bound | {handler["ret"]["v"]}, out)
        if handler.get("fin"):
            _free(handler["fin"]["body"], bound, out)
    elif tag == "Match":
        _free(e["scrutinee"], bound, out)
        for c in e["clauses"]:
            _free(c["body"], bound | set(pattern_names(c["pat"])), out)
    else:
        for key, value in e.items():
            if key == "tag" or tag == "Quote":
                continue
            for item in value if isinstance(value, list) else [value]:
                _free(item, bound, out)


def defined_names(body: Any) -> list[str]:
    """Names an internal `define` binds at a body's level (nested `begin`s included)."""
    out: list[str] = []
    for f in body_exprs(body) if isinstance(body, dict) else []:
        if f.get("tag") == "Define":
            out.append(f["name"])
        elif f.get("tag") == "Begin":
            out += defined_names(f)
    return out


def pattern_names(p: Any) -> list[str]:
    if not isinstance(p, dict):
        return []
    if p.get("tag") == "PVar":
        return [p["name"]]
    if p.get("tag") == "PVector":
        return [n for q in p["items"] for n in pattern_names(q)]
    return []

