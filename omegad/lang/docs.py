"""What a name means in a state, for `:doc NAME` and `session.lookup`: pure, no I/O.

`describe(state, name)` says what kind of thing the name is bound to (a primitive, a procedure,
a macro, a value, a special form, or nothing) with its arity and documentation: primitives
carry theirs beside their registration (primitives/__init__.py), the prelude's procedures in a
`;;` comment before their definition, special forms in SPECIAL_FORMS below. Where a user's
definition was made (session, seq) and its source are the session's to add.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from .prelude import PRELUDE
from .primitives.registry import DOCS
from .printer import write_str
from .values import UNDEF, Closure, Continuation, CPrim, OracleProc, Prim

if TYPE_CHECKING:
    from .api import ReplState

Kind = Literal["primitive", "procedure", "macro", "value", "special form", "unbound"]

SPECIAL_FORMS: dict[str, tuple[str, str]] = {
    "define": ("(define name expr) | (define (name param...) body...)",
               "Bind name in the current scope (a procedure with the second form)."),
    "lambda": ("(lambda (param...) body...)", "A procedure of the parameters (`. rest` collects)."),
    "let": ("(let ((name expr)...) body...) | (let loop ((name expr)...) body...)",
            "Evaluate the body with the names bound (a named let can loop)."),
    "let*": ("(let* ((name expr)...) body...)", "As let, each binding seeing the ones before."),
    "letrec": ("(letrec ((name expr)...) body...)", "As let, the bindings seeing each other."),
    "if": ("(if test then [else])", "then when test is not #f, else else."),
    "cond": ("(cond (test expr...)... (else expr...))", "The exprs of the first true test."),
    "case": ("(case key ((datum...) expr...)... (else expr...))",
             "The exprs of the clause listing key."),
    "when": ("(when test body...)", "The body when test is not #f."),
    "unless": ("(unless test body...)", "The body when test is #f."),
    "begin": ("(begin expr...)", "Evaluate the exprs in order; the last one's value."),
    "quote": ("(quote datum) | 'datum", "datum itself, not evaluated."),
    "set!": ("(set! name expr)", "Change the value of a bound name."),
    "and": ("(and expr...)", "The first #f, else the last value (stops at the first #f)."),
    "or": ("(or expr...)", "The first value that is not #f (stops there), else #f."),
    "do": ("(do ((name init step)...) (test result...) body...)", "A loop."),
    "delay": ("(delay expr)", "A promise of expr's value (force computes it once)."),
    "cons-stream": ("(cons-stream head tail)", "A stream pair whose tail is delayed."),
    "effect": ("(effect op arg...)", "Perform an effect: infer.op asks the oracle, amb.op ..."),
    "handle": ("(handle body (on op (arg... k) expr...)...)",
               "Evaluate body with handlers for its effects (k resumes it)."),
    "match": ("(match expr (pattern body...)...)", "The body of the first pattern that matches."),
    "amb": ("(amb expr...)", "Choose among alternatives (backtracking on require failure)."),
    "require": ("(require test)", "Backtrack to the last amb choice unless test holds."),
    "oracle-lambda": ("(oracle-lambda (param...) spec)",
                      "A procedure whose body is answered by the oracle."),
    "define-syntax": ("(define-syntax name (syntax-rules (literal...) (pattern template)...))",
                      "Define a macro by pattern rewriting."),
}


@dataclass(frozen=True, slots=True)
class Description:
    name: str
    kind: Kind
    arity: str | None = None  # "1", "1-2", "2+"
    doc: str | None = None  # one line
    usage: str | None = None  # "(car pair)"
    params: list[str] | None = None  # a procedure's parameters (". rest" for a rest parameter)
    builtin: bool = False  # part of every session (a primitive, the prelude, a special form)
    value: str | None = None  # a value's printed form


def describe(state: ReplState, name: str) -> Description:
    """What `name` is in `state`'s global environment (a special form when not rebound)."""
    value = state.globals.get(name, UNDEF)
    builtin = value is not UNDEF and state.builtins.get(name, UNDEF) is value
    if value is UNDEF or (builtin and name in SPECIAL_FORMS):
        if name in SPECIAL_FORMS:
            usage, line = SPECIAL_FORMS[name]
            return Description(name, "special form", doc=line, usage=usage, builtin=True)
        if name in state.macros:
            return Description(name, "macro", doc="A macro (define-syntax or register-macro).")
        return Description(name, "unbound")
    if type(value) in (Prim, CPrim) and builtin and name in DOCS:
        registered = DOCS[name]
        return Description(name, "primitive", arity=registered.arity, doc=registered.line,
                           usage=registered.usage(name), builtin=True)
    if isinstance(value, Closure):
        params = _params(value.lam.params, value.lam.rest)
        return Description(name, "procedure", arity=_arity(value.lam.params, value.lam.rest),
                           doc=_prelude_docs().get(name) if builtin else None,
                           usage="(" + " ".join([name, *params]) + ")", params=params,
                           builtin=builtin)
    if isinstance(value, OracleProc):
        return Description(name, "procedure", params=list(value.params), builtin=builtin,
                           value=write_str(value))
    if isinstance(value, (Prim, CPrim, Continuation)):
        return Description(name, "procedure", builtin=builtin, value=write_str(value))
    return Description(name, "value", builtin=builtin, value=write_str(value))


def render(d: Description, defined: tuple[str, int] | None = None,
           source: str | None = None) -> list[str]:
    """The lines `:doc NAME` prints."""
    if d.kind == "unbound":
        return [f"{d.name}: not bound (:env lists the names you defined)"]
    head = f"{d.name}: {d.kind}"
    if d.arity is not None:
        head += f", {_arity_words(d.arity)}"
    if d.builtin and d.kind == "procedure":
        head += " (built in)"
    lines = [head]
    if d.usage:
        lines.append(f"  {d.usage}")
    if d.doc:
        lines.append(f"  {d.doc}")
    if d.value is not None and d.kind == "value":
        lines.append(f"  = {_cut(d.value)}")
    if defined is not None:
        lines.append(f"  defined in session {defined[0]} at seq {defined[1]}")
    if source:
        lines.extend("  " + line for line in source.splitlines())
    return lines


def _params(params: tuple[str, ...], rest: bool) -> list[str]:
    names = [_plain(p) for p in params]
    if rest and names:
        names[-1] = ". " + names[-1]
    return names


def _plain(name: str) -> str:
    """A parameter as the user wrote it (the expander's renaming suffix dropped)."""
    return name.split("$", 1)[0]


def _arity(params: tuple[str, ...], rest: bool) -> str:
    return f"{len(params) - 1}+" if rest else str(len(params))


def _arity_words(arity: str) -> str:
    if arity.endswith("+"):
        return f"{arity[:-1]} or more arguments"
    if "-" in arity:
        low, high = arity.split("-")
        return f"{low} to {high} arguments"
    return "1 argument" if arity == "1" else f"{arity} arguments"


def _cut(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[:limit] + " …"


@functools.cache
def _prelude_docs() -> dict[str, str]:
    """The `;; ` comment line just above each `(define (NAME …` of the prelude."""
    docs: dict[str, str] = {}
    comment = None
    for line in PRELUDE.splitlines():
        if line.startswith(";; "):
            comment = line[3:].strip()
            continue
        if line.startswith("(define (") and comment is not None:
            docs[line[len("(define ("):].split()[0].rstrip(")")] = comment
        comment = None
    return docs


def prelude_names() -> list[str]:
    """The procedures the prelude defines (every one must have its `;;` line)."""
    return [line[len("(define ("):].split()[0].rstrip(")")
            for line in PRELUDE.splitlines() if line.startswith("(define (")]
