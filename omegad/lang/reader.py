"""The reader: text -> data (Pair chains, Sym, float, str, bool, NIL).

It follows the reference's minimal reader: `;` comments, `'x`, strings with `\\n`/`\\t` and
`\\X` -> X, `#t`/`#f`, `null`, numbers `-?\\d+(\\.\\d+)?`; everything else is a symbol."""

from __future__ import annotations

import re
from collections.abc import Generator

from .steps import finish
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


STEP = 4096  # tokens between two yields of the stepped reader (steps.py)
_STR_RUN = re.compile(r'[^"\\]*')          # a string's characters up to a quote or backslash
_ATOM_RUN = re.compile(r"[^ \t\r\n()';]*")
_SPACE_RUN = re.compile(r"[ \t\r\n]*")


def _run_end(run: re.Pattern[str], src: str, i: int) -> int:
    m = run.match(src, i)
    return i if m is None else m.end()


def tokenize(src: str) -> list[Token]:
    return finish(tokenize_steps(src))


def tokenize_steps(src: str) -> Generator[None, None, list[Token]]:
    """The tokens of `src`, yielding after every STEP of them (runs of characters are matched
    by regular expressions, so a long string or atom costs one match, not a Python loop)."""
    toks: list[Token] = []
    i, n = 0, len(src)
    pause = STEP
    while i < n:
        pause -= 1
        if not pause:
            pause = STEP
            yield
        c = src[i]
        if c in _WS:
            i = _run_end(_SPACE_RUN, src, i)
        elif c == ";":
            j = src.find("\n", i)
            i = n if j < 0 else j
        elif c in "()'":
            toks.append(Token(c, c, i, i + 1))
            i += 1
        elif c == '"':
            start = i
            i += 1
            buf = []
            while i < n:
                j = _run_end(_STR_RUN, src, i)
                if j > i:
                    buf.append(src[i:j])
                    i = j
                if i >= n:
                    break
                if src[i] == '"':
                    i += 1
                    break
                e = src[i + 1] if i + 1 < n else ""          # a backslash
                buf.append("\n" if e == "n" else "\t" if e == "t" else e)
                i += 2
            toks.append(Token("str", "".join(buf), start, i))
        else:
            start = i
            i = _run_end(_ATOM_RUN, src, i)
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
        return finish(self.datum_steps())

    def datum_steps(self) -> Generator[None, None, object]:
        """One datum, read iteratively (deep nesting cannot exhaust the Python stack), yielding
        after every STEP tokens."""
        toks = self.toks
        stack: list[list[Value]] = []      # open lists: [items, quote_count_before_it]
        quotes = 0
        pause = STEP
        while True:
            pause -= 1
            if not pause:
                pause = STEP
                yield
            if self.i >= len(toks):
                missing = bool(stack) and not quotes
                yield from drain(stack)
                raise LispError("parse: missing ')'" if missing else "parse: unexpected EOF")
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
                    pause -= 1
                    if not pause:
                        pause = STEP
                        yield
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
    return finish(split_forms_steps(src))


def split_forms_steps(src: str) -> Generator[None, None, list[tuple[str, object]]]:
    """`split_forms` in steps: a caller may let others run between them."""
    toks = yield from tokenize_steps(src)
    p = _Parser(toks)
    out = []
    try:
        while p.i < len(toks):
            start = toks[p.i].start
            d = yield from p.datum_steps()
            out.append((src[start:toks[p.i - 1].end], d))
    except LispError:
        yield from drain(toks)
        raise
    yield from drain(toks)
    return out


def drain(items: list[Value]) -> Generator[None, None, None]:
    """Empty a big list a STEP at a time: freeing a million objects at once is a long pause."""
    while items:
        del items[-STEP:]
        if items:
            yield
