"""The reader: text -> data (Pair chains, Sym, float, str, bool, NIL).

It follows the reference's minimal reader: `;` comments, `'x`, strings with `\\n`/`\\t` and
`\\X` -> X, `#t`/`#f`, `null`, numbers `-?\\d+(\\.\\d+)?`; everything else is a symbol."""

from __future__ import annotations

import re
from array import array
from collections.abc import Generator, Iterator

from .steps import finish
from .string_pieces import join_steps
from .values import NIL, LispError, Pair, Sym, Value

_NUMBER = re.compile(r"-?\d+(\.\d+)?\Z")
_WS = " \t\r\n"
QUOTE = Sym("quote")


Token = tuple[str, Value, int, int]   # kind ("(" ")" "'" "str" "atom"), text, start, end
PAUSE = None    # what the token stream gives between two tokens when it has read for a while


STEP = 4096  # tokens (or loop turns) between two pauses of the stepped reader (steps.py)
_STR_RUN = re.compile(r'[^"\\]*')          # a string's characters up to a quote or backslash
_ATOM_RUN = re.compile(r"[^ \t\r\n()';]*")
_SPACE_RUN = re.compile(r"[ \t\r\n]*")
RUN = 1 << 16  # characters one match of a run reads; a longer run is read a RUN per pause


def _run_end(run: re.Pattern[str], src: str, i: int) -> int:
    m = run.match(src, i, i + RUN)
    return i if m is None else m.end()


def _long_run_end(run: re.Pattern[str], src: str, i: int) -> Generator[None, None, int]:
    """The end of the run starting at `i`, pausing after every RUN characters (a 15 MiB string
    is a few hundred pauses, not one match that holds the loop)."""
    while True:
        j = _run_end(run, src, i)
        if j - i < RUN:
            return j
        i = j
        yield PAUSE


def tokens(src: str) -> Iterator[Token | None]:
    """The tokens of `src`, one at a time, with a PAUSE after every STEP turns of its loop and
    every RUN characters of a long run (runs of characters are matched by regular expressions,
    so a long string or atom costs a match per RUN characters, not a Python loop). Nothing is
    kept: a reader takes the tokens as they come."""
    i, n = 0, len(src)
    pause = STEP
    while i < n:
        pause -= 1
        if not pause:
            pause = STEP
            yield PAUSE
        c = src[i]
        if c in _WS:
            i += 1
            if i < n and src[i] in _WS:     # (one blank, the common case, needs no match)
                j = _run_end(_SPACE_RUN, src, i)
                i = j if j - i < RUN else (yield from _long_run_end(_SPACE_RUN, src, j))
        elif c == ";":
            j = src.find("\n", i)
            i = n if j < 0 else j
        elif c in "()'":
            yield (c, c, i, i + 1)
            i += 1
        elif c == '"':
            start = i
            i += 1
            buf = []
            while i < n:
                j = _run_end(_STR_RUN, src, i)
                if j > i:
                    buf.append(src[i:j])
                    if j - i == RUN:    # (more of the run may follow)
                        i = j
                        yield PAUSE
                        continue
                    i = j
                if i >= n:
                    break
                if src[i] == '"':
                    i += 1
                    break
                e = src[i + 1] if i + 1 < n else ""          # a backslash
                buf.append("\n" if e == "n" else "\t" if e == "t" else e)
                i += 2
            text = "".join(buf) if len(buf) < 2 else (yield from join_steps(buf))  # (PAUSEs)
            yield ("str", text, start, i)
        else:
            start = i
            j = _ATOM_RUN.match(src, i, i + RUN).end()  # type: ignore[union-attr]  # (`*`)
            i = j if j - i < RUN else (yield from _long_run_end(_ATOM_RUN, src, j))
            yield ("atom", src[start:i], start, i)


def tokenize(src: str) -> list[Token]:
    return [t for t in tokens(src) if t is not PAUSE]


_PLAIN_TOKEN = re.compile(r"[()']|[^ \t\r\n()';]+")


def is_plain(src: str) -> bool:
    """A short source with no string and no comment: most inputs."""
    return len(src) <= STEP and '"' not in src and ";" not in src


_NUMBER_START = frozenset("-0123456789")


def atom(text: str) -> Value:
    if text[0] in _NUMBER_START:  # (a symbol, most atoms, needs no match)
        if _NUMBER.match(text):
            return float(text)
    elif text == "#t":
        return True
    elif text == "#f":
        return False
    elif text == "null":
        return NIL
    return Sym(text)


class _Parser:
    """Reads data off a token stream; `start` and `end` are where the last datum's first token
    began and its last token ended."""

    def __init__(self, src: str) -> None:
        self.toks = tokens(src)
        self.ahead: Token | None = None
        self.start = self.end = 0

    def more_steps(self) -> Generator[None, None, bool]:
        """Whether another datum follows (its first token is then read ahead)."""
        for t in self.toks:
            if t is PAUSE:
                yield
                continue
            self.ahead = t
            return True
        return False

    def datum_steps(self) -> Generator[None, None, object]:
        """The datum whose first token more_steps() read ahead. Iterative (deep nesting cannot
        exhaust the Python stack) and flat: the items of the lists still open are one list and
        where each begins one array, so a million open parentheses cost 16 MB, not a million
        lists. Pauses after every STEP tokens and pairs."""
        t = self.ahead
        assert t is not None
        self.ahead = None
        self.start = t[2]
        items: list[Value] = []            # the items of every open list, outermost first
        opened = array("q")                # per open list: where its items begin in `items`
        quoted = array("q")                # per open list: the quotes read before its "("
        quotes = 0
        pause = STEP
        toks = self.toks
        while True:
            self.end = t[3]
            kind = t[0]
            if kind == "'":
                quotes += 1
            elif kind == "(":
                opened.append(len(items))
                quoted.append(quotes)
                quotes = 0
            else:
                if kind == ")":
                    if not opened or quotes:
                        yield from drain(items)
                        raise LispError("parse: unexpected ')'")
                    first = opened.pop()
                    quotes = quoted.pop()
                    value = NIL
                    for k in range(len(items) - 1, first - 1, -1):
                        value = Pair(items[k], value)
                        pause -= 1
                        if not pause:
                            pause = STEP
                            yield
                    del items[first:]
                elif kind == "str":
                    value = t[1]
                else:
                    value = atom(t[1])
                if quotes:
                    for _ in range(quotes):
                        value = Pair(QUOTE, Pair(value, NIL))
                    quotes = 0
                if not opened:
                    return value
                items.append(value)
            pause -= 1
            if not pause:
                pause = STEP
                yield
            for t in toks:  # the next token (a PAUSE before it is a step)
                if t is not PAUSE:
                    break
                yield
            else:  # the token stream has ended
                missing = bool(opened) and not quotes
                yield from drain(items)
                raise LispError("parse: missing ')'" if missing else "parse: unexpected EOF")


def read_all(src: str) -> list[Value]:
    """All top-level data of `src` (raises LispError with the reference's parse messages)."""
    return [d for _, d in split_forms(src)]


def split_forms(src: str) -> list[tuple[str, object]]:
    """Split `src` into its top-level forms: (source text of the form, datum) pairs."""
    return finish(split_forms_steps(src))


def split_forms_steps(src: str) -> Generator[None, None, list[tuple[str, object]]]:
    """`split_forms` in steps: a caller may let others run between them."""
    if is_plain(src):
        return plain_forms(src)  # (at once: a short source is one step)
    return (yield from stepped_forms(src))


def stepped_forms(src: str) -> Generator[None, None, list[tuple[str, object]]]:
    """`split_forms` of any source, pausing every STEP tokens and pairs."""
    p = _Parser(src)
    out = []
    while (yield from p.more_steps()):
        d = yield from p.datum_steps()
        out.append((src[p.start:p.end], d))
    return out


def plain_forms(src: str) -> list[tuple[str, object]]:
    """`split_forms` of a plain source (is_plain), read in one pass of a regular expression's
    matches with no pause to count (a daemon's `(+ 1 2)` takes 18 000 fewer instructions, of
    ~630 000). The same data and errors (a property test holds it to stepped_forms)."""
    out: list[tuple[str, object]] = []
    opened: list[list[Value]] = []  # the items of each open list
    quoted: list[int] = []          # per open list: the quotes read before its "("
    quotes = start = 0
    for m in _PLAIN_TOKEN.finditer(src):
        t = m[0]
        if not opened and not quotes:
            start = m.start()
        if t == "'":
            quotes += 1
            continue
        if t == "(":
            opened.append([])
            quoted.append(quotes)
            quotes = 0
            continue
        if t == ")":
            if not opened or quotes:
                raise LispError("parse: unexpected ')'")
            value: Value = NIL
            for item in reversed(opened.pop()):
                value = Pair(item, value)
            quotes = quoted.pop()
        else:
            value = atom(t)
        for _ in range(quotes):
            value = Pair(QUOTE, Pair(value, NIL))
        quotes = 0
        if opened:
            opened[-1].append(value)
        else:
            out.append((src[start:m.end()], value))
    if opened or quotes:
        raise LispError("parse: missing ')'" if not quotes else "parse: unexpected EOF")
    return out


def drain(items: list[Value]) -> Generator[None, None, None]:
    """Empty a big list a STEP at a time: freeing a million objects at once is a long pause."""
    while items:
        del items[-STEP:]
        if items:
            yield
