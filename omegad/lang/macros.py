"""`define-syntax` with `syntax-rules`: pattern-matching macros, expanded at compile time.

Unlike the reference (whose macros are hygienic but forgotten at the next input), a macro here
lives in the session state like a global definition, so it persists, is captured in revisions and
serializes; and it is not hygienic (a template's free names mean what they mean where the
macro is used). Patterns support literals, `_`, nested lists and `...` after any element."""

from __future__ import annotations

from .values import LispError, Opaque, Pair, Sym, Value

ELLIPSIS = Sym("...")
UNDERSCORE = Sym("_")
KIND = "SyntaxRules"


class _Seq:
    """The matches of a pattern variable under an ellipsis."""

    __slots__ = ("items",)

    def __init__(self, items: list[Value]) -> None:
        self.items = items


def _items(x: Value) -> tuple[list[Value], object]:
    out = []
    while type(x) is Pair:
        out.append(x.car)
        x = x.cdr
    return out, x


def _mklist(items: Value, tail: Value = None) -> Value:
    out = tail
    for x in reversed(items):
        out = Pair(x, out)
    return out


def make_syntax_rules(name: str, spec: Value) -> Opaque:
    """Validate `(syntax-rules (literal ...) (pattern template) ...)` and wrap it."""
    items, _ = _items(spec)
    if len(items) < 2 or items[0] is not Sym("syntax-rules"):
        raise LispError("define-syntax: only syntax-rules supported")
    for rule in items[2:]:
        parts, _ = _items(rule)
        if len(parts) != 2:
            raise LispError("syntax-rules: each rule must be (pat tmpl)")
    return Opaque(KIND, spec)


def is_syntax_rules(v: Value) -> bool:
    return type(v) is Opaque and v.kind == KIND


def expand(macro: Opaque, form: Value) -> Value:
    items, _ = _items(macro.data)
    literals = {s for s in _items(items[1])[0] if type(s) is Sym}
    for rule in items[2:]:
        (pattern, template), _ = _items(rule)
        binds: dict[Value, Value] = {}
        # the keyword position matches anything
        if type(pattern) is Pair and _match(pattern.cdr, form.cdr, literals, binds):
            return _expand(template, binds)
    head = form.car.name if type(form.car) is Sym else "macro"
    raise LispError(f"{head}: no syntax rule matches")


def _match(pat: Value, form: Value, literals: set[Value], binds: dict[Value, Value]) -> bool:
    t = type(pat)
    if t is Sym:
        if pat is UNDERSCORE:
            return True
        if pat in literals:
            return form is pat
        binds[pat] = form
        return True
    if t is Pair:
        pats, ptail = _items(pat)
        forms, ftail = _items(form)
        if ELLIPSIS in pats:
            i = pats.index(ELLIPSIS)
            before, rep, after = pats[:i - 1], pats[i - 1], pats[i + 1:]
            if len(forms) < len(before) + len(after):
                return False
            for p, f in zip(before, forms, strict=False):
                if not _match(p, f, literals, binds):
                    return False
            middle = forms[len(before):len(forms) - len(after)]
            subs = []
            for f in middle:
                b: dict[Value, Value] = {}
                if not _match(rep, f, literals, b):
                    return False
                subs.append(b)
            for v in _pattern_vars(rep, literals):
                binds[v] = _Seq([b[v] for b in subs])
            rest = forms[len(forms) - len(after):]
            for p, f in zip(after, rest, strict=True):
                if not _match(p, f, literals, binds):
                    return False
            return _match(ptail, ftail, literals, binds) if ptail is not None else ftail is None
        if len(pats) > len(forms) or (ptail is None and len(pats) != len(forms)):
            return False
        for p, f in zip(pats, forms, strict=False):
            if not _match(p, f, literals, binds):
                return False
        if ptail is None:
            return True
        return _match(ptail, _mklist(forms[len(pats):], ftail), literals, binds)
    if pat is None:
        return form is None
    return type(form) is t and form == pat


def _pattern_vars(pat: Value, literals: set[Value]) -> list[Value]:
    out = []
    todo = [pat]
    while todo:
        p = todo.pop()
        if type(p) is Sym:
            if p not in literals and p is not ELLIPSIS and p is not UNDERSCORE:
                out.append(p)
        elif type(p) is Pair:
            todo.append(p.car)
            todo.append(p.cdr)
    return out


def _expand(tmpl: Value, binds: dict[Value, Value]) -> Value:
    t = type(tmpl)
    if t is Sym:
        v = binds.get(tmpl, tmpl)
        if type(v) is _Seq:
            raise LispError(f"syntax-rules: {tmpl.name} used without ...")
        return v
    if t is not Pair:
        return tmpl
    items, tail = _items(tmpl)
    out = []
    i = 0
    while i < len(items):
        x = items[i]
        if i + 1 < len(items) and items[i + 1] is ELLIPSIS:
            seqs = {v: binds[v] for v in _pattern_vars(x, set())
                    if type(binds.get(v)) is _Seq}
            if not seqs:
                raise LispError("syntax-rules: ... after a template without pattern variables")
            n = min(len(s.items) for s in seqs.values())
            for k in range(n):
                sub = dict(binds)
                for v, s in seqs.items():
                    sub[v] = s.items[k]
                out.append(_expand(x, sub))
            i += 2
        else:
            out.append(_expand(x, binds))
            i += 1
    return _mklist(out, _expand(tail, binds) if tail is not None else None)
