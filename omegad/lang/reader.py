"""The reader: text -> data (Pair chains, Sym, float, str, bool, NIL).

It follows the reference's minimal reader: `;` comments, `'x`, strings with `\\n`/`\\t` and
`\\X` -> X, `#t`/`#f`, `null`, numbers `-?\\d+(\\.\\d+)?`; everything else is a symbol."""

from __future__ import annotations

import re

from .values import NIL, LispError, Pair, Sym, Value

_NUMBER = re.compile(r"-?\d+(\.\d+)?\Z")
_WS = " \t\r\n"
QUOTE = Sym("quote")


class Token:
    __slots__ = ("kind", "text", "start", "end")

    def __init__(self, kind: str, text: Value, start: int, end: int) -> None:
        self.kind = kind    # "(" ")" "'" "str" "atom"
        self.text = text
        self.start = start
        self.end = end


def tokenize(src: str) -> list[Token]:
    toks: list[Token] = []
    i, n = 0, len(src)
    while i < n:
        c = src[i]
        if c in _WS:
            i += 1
        elif c == ";":
            while i < n and src[i] != "\n":
                i += 1
        elif c in "()'":
            toks.append(Token(c, c, i, i + 1))
            i += 1
        elif c == '"':
            start = i
            i += 1
            buf = []
            while True:
                if i >= n:
                    break
                c = src[i]
                if c == '"':
                    i += 1
                    break
                if c == "\\":
                    e = src[i + 1] if i + 1 < n else ""
                    buf.append("\n" if e == "n" else "\t" if e == "t" else e)
                    i += 2
                else:
                    buf.append(c)
                    i += 1
            toks.append(Token("str", "".join(buf), start, i))
        else:
            start = i
            while i < n and src[i] not in _WS and src[i] not in "()';":
                i += 1
            toks.append(Token("atom", src[start:i], start, i))
    return toks


def atom(text: str) -> Value:
    if text == "#t":
        return True
    if text == "#f":
        return False
    if text == "null":
        return NIL
    if _NUMBER.match(text):
        return float(text)
    return Sym(text)


class _Parser:
    def __init__(self, toks: list[Token]) -> None:
        self.toks = toks
        self.i = 0

    def datum(self) -> Value:
        """One datum, read iteratively (deep nesting cannot exhaust the Python stack)."""
        toks = self.toks
        stack: list[list[Value]] = []      # open lists: [items, quote_count_before_it]
        quotes = 0
        while True:
            if self.i >= len(toks):
                raise LispError("parse: missing ')'" if stack and not quotes
                               else "parse: unexpected EOF")
            t = toks[self.i]
            self.i += 1
            if t.kind == "'":
                quotes += 1
                continue
            if t.kind == "(":
                stack.append([[], quotes])
                quotes = 0
                continue
            if t.kind == ")":
                if not stack or quotes:
                    raise LispError("parse: unexpected ')'")
                items, quotes = stack.pop()
                value = NIL
                for x in reversed(items):
                    value = Pair(x, value)
            elif t.kind == "str":
                value = t.text
            else:
                value = atom(t.text)
            for _ in range(quotes):
                value = Pair(QUOTE, Pair(value, NIL))
            quotes = 0
            if not stack:
                return value
            stack[-1][0].append(value)


def read_all(src: str) -> list[Value]:
    """All top-level data of `src` (raises LispError with the reference's parse messages)."""
    p = _Parser(tokenize(src))
    out = []
    while p.i < len(p.toks):
        out.append(p.datum())
    return out


def split_forms(src: str) -> list[tuple[str, object]]:
    """Split `src` into its top-level forms: (source text of the form, datum) pairs."""
    toks = tokenize(src)
    p = _Parser(toks)
    out = []
    while p.i < len(toks):
        start = toks[p.i].start
        d = p.datum()
        out.append((src[start:toks[p.i - 1].end], d))
    return out
