"""The compiler: a datum -> a Python closure `ex(m, env)` (an analyzing evaluator).

Protocol of a compiled node: `ex(m, env)` returns either the value of the expression, or a tail
tuple `(ex2, data)` meaning "the value is that of running ex2 on data" -- a closure call returns
its body that way, so calls never recurse in Python and tail calls are proper. A node evaluates
its children inline (plain Python calls: constants, variables and primitive applications cost no
machine step); when a child returns a tail tuple, the node saves what it still has to do as a
resume frame `(resume(m, frame, value), ...)` on `m.stack` and returns the tuple.

Frames saved while unwinding inline calls are inserted at `m.mark` (the stack height when the
machine called the outermost node), so the innermost pending node ends up on top. Operations
that capture or replace the continuation (effects, handle, call/cc, amb, continuation calls,
oracle calls, control primitives) never run inline: they return a tail tuple to a *_go function
(machine.py), which the machine calls with the whole continuation on the stack.

Environments: the global environment is the session's dict; a local frame is a list
`[parent, slot1, slot2, ...]`, addressed by (depth, index) resolved at compile time.
"""

from __future__ import annotations

from .macros import expand, is_syntax_rules, make_syntax_rules
from .values import (
    NIL,
    UNDEF,
    Closure,
    CPrim,
    Lambda,
    LispError,
    OracleProc,
    Pair,
    Prim,
    Promise,
    Sym,
    Value,
    Vector,
    is_true,
    list_to_py,
)


class Scope:
    __slots__ = ("names", "parent")

    def __init__(self, names: list[str], parent: Scope | None) -> None:
        self.names = names
        self.parent = parent

    def lookup(self, name: str) -> Value:
        depth = 0
        s: Scope | None = self
        while s is not None:
            try:
                return depth, s.names.index(name) + 1
            except ValueError:
                pass
            s = s.parent
            depth += 1
        return None

    def chain(self) -> tuple[Value, ...]:
        out = []
        s: Scope | None = self
        while s is not None:
            out.append(tuple(s.names))
            s = s.parent
        return tuple(out)


def scope_from_chain(chain: tuple[Value, ...]) -> Scope | None:
    s = None
    for names in reversed(chain):
        s = Scope(list(names), s)
    return s


def _pure(fn: Value) -> Value:
    fn.pure = True
    return fn


def _shows(resume: Value, node: Value) -> Value:
    """The frames `node` pushes (with `resume`) show its form in a backtrace (backtrace.py)."""
    resume.node = node
    return node


S = Sym
_SPECIAL = {
    "define", "lambda", "let", "let*", "letrec", "if", "cond", "begin", "quote", "set!",
    "effect", "handle", "match", "amb", "require", "oracle-lambda", "delay", "cons-stream",
    "when", "unless", "case", "and", "or", "do", "define-syntax",
}
# Our additions to the reference's forms give way to a global the user defines with that name.
_SOFT = {"when", "unless", "case", "do"}
ELSE = S("else")
DOT = S(".")


def _write_global(table: dict[Value, Value], undo: list[Value], name: str, v: Value,
                  define: bool) -> None:
    old = table.get(name, UNDEF)
    if old is UNDEF and not define:
        raise LispError("set! target did not resolve")
    undo.append((table, name, old))
    table[name] = v


def _write_local(undo: list[Value], env: Value, depth: int, i: int, v: Value) -> None:
    for _ in range(depth):
        env = env[0]
    undo.append((env, i, env[i]))
    env[i] = v


def syms(lst: Value) -> list[Value]:
    return list_to_py(lst)


def _is_list(x: Value) -> bool:
    while type(x) is Pair:
        x = x.cdr
    return x is None


class Compiler:
    """Compiles data against one session's global dict and undo log."""

    def __init__(
        self,
        globals_: dict[Value, Value],
        undo: list[Value],
        macros: dict[Value, Value] | None = None,
    ) -> None:
        self.G = globals_
        self.undo = undo
        self.macros = macros if macros is not None else {}
        self.pending: dict[Value, Value] = {}   # macros defined earlier in the form being compiled

    # ---- entry points -------------------------------------------------------------------
    def compile_top(self, x: Value) -> Value:
        self.pending = {}
        try:
            return self.comp(x, None)
        except RecursionError:
            raise LispError("expression nested too deeply") from None
        finally:
            self.pending = {}

    def comp(self, x: Value, scope: Scope | None) -> Value:
        ex = self._comp(x, scope)
        try:
            ex.src = x   # for the debugger's view of the control (Run.inspect)
        except AttributeError:
            pass
        return ex

    def _comp(self, x: Value, scope: Scope | None) -> Value:
        t = type(x)
        if t is Sym:
            return self.comp_var(x.name, scope)
        if t is Pair:
            head = x.car
            if type(head) is Sym and (scope is None or scope.lookup(head.name) is None):
                name = head.name
                macro = self.pending.get(name) or self.macros.get(name)
                if macro is not None and is_syntax_rules(macro):
                    return self.comp(expand(macro, x), scope)
                if name in _SPECIAL and not (name in _SOFT and name in self.G):
                    return getattr(self, "c_" + _method(name))(x, scope)
            return self.comp_app(x, scope)
        if x is None:
            return _pure(lambda m, env: None)
        v = x
        return _pure(lambda m, env: v)

    # ---- variables --------------------------------------------------------------------
    def comp_var(self, name: str, scope: Value) -> Value:
        loc = scope.lookup(name) if scope is not None else None
        if loc is None:
            return _pure(self.global_ref(name))
        depth, i = loc

        def check(v: Value) -> Value:
            if v is UNDEF:
                raise LispError(f"unbound var {name}")
            return v
        if depth == 0:
            def lvar0(m: Value, env: Value) -> Value:
                v = env[i]
                return check(v) if v is UNDEF else v
            return _pure(lvar0)
        if depth == 1:
            def lvar1(m: Value, env: Value) -> Value:
                v = env[0][i]
                return check(v) if v is UNDEF else v
            return _pure(lvar1)
        if depth == 2:
            def lvar2(m: Value, env: Value) -> Value:
                v = env[0][0][i]
                return check(v) if v is UNDEF else v
            return _pure(lvar2)

        def lvarn(m: Value, env: Value) -> Value:
            for _ in range(depth):
                env = env[0]
            v = env[i]
            return check(v) if v is UNDEF else v
        return _pure(lvarn)

    def global_ref(self, name: str) -> Value:
        G = self.G

        def gvar(m: Value, env: Value) -> Value:
            try:
                return G[name]
            except KeyError:
                raise LispError(f"unbound var {name}") from None
        return gvar

    # ---- sequencing helper ---------------------------------------------------------------
    def seq(self, exs: list[Value]) -> Value:
        """A node evaluating `exs` in order, value of the last (empty -> NIL)."""
        if not exs:
            return _pure(lambda m, env: None)
        if len(exs) == 1:
            return exs[0]
        first = tuple(exs[:-1])
        last = exs[-1]
        n = len(first)

        def resume(m: Value, fr: Value, val: Value) -> Value:
            env, i = fr[1], fr[2]
            for j in range(i, n):
                r = first[j](m, env)
                if type(r) is tuple:
                    m.stack.insert(m.mark, (resume, env, j + 1))
                    return r
            return last(m, env)

        def begin(m: Value, env: Value) -> Value:
            for j in range(n):
                r = first[j](m, env)
                if type(r) is tuple:
                    m.stack.insert(m.mark, (resume, env, j + 1))
                    return r
            return last(m, env)
        return _shows(resume, begin)

    def body(self, forms: list[Value], scope: Value) -> Value:
        return self.seq([self.comp(f, scope) for f in forms])

    # ---- application -------------------------------------------------------------------
    def comp_app(self, x: Value, scope: Value) -> Value:
        if not _is_list(x):
            raise LispError("application: improper list")
        parts = [self.comp(p, scope) for p in syms(x)]
        return make_app(parts)

    # ---- special forms -----------------------------------------------------------------
    def c_quote(self, x: Value, scope: Value) -> Value:
        items = syms(x)
        if len(items) != 2:
            raise LispError("quote: expected (quote datum)")
        v = items[1]
        return _pure(lambda m, env: v)

    def c_if(self, x: Value, scope: Value) -> Value:
        items = syms(x)
        if len(items) not in (3, 4):
            raise LispError("if: expected (if test conseq) or (if test conseq alt)")
        test = self.comp(items[1], scope)
        then = self.comp(items[2], scope)
        alt = self.comp(items[3], scope) if len(items) == 4 else _pure(lambda m, env: False)
        return make_if(test, then, alt)

    def c_cond(self, x: Value, scope: Value) -> Value:
        clauses = syms(x)[1:]
        node = _pure(lambda m, env: False)
        for cl in reversed(clauses):
            if type(cl) is not Pair:
                raise LispError("cond: empty clause")
            parts = syms(cl)
            if parts[0] is ELSE:
                node = self.body(parts[1:], scope)
                continue
            test = self.comp(parts[0], scope)
            if len(parts) == 1:
                node = make_if(test, _pure(lambda m, env: True), node)
            else:
                node = make_if(test, self.body(parts[1:], scope), node)
        return node

    def c_case(self, x: Value, scope: Value) -> Value:
        items = syms(x)
        if len(items) < 2:
            raise LispError("case: expected (case key clauses...)")
        key = self.comp(items[1], scope)
        clauses = []
        for cl in items[2:]:
            parts = syms(cl)
            if not parts:
                raise LispError("case: empty clause")
            data = None if parts[0] is ELSE else syms(parts[0])
            clauses.append((data, self.body(parts[1:], scope)))
        from .primitives.equality import eqv

        def pick(m: Value, env: Value, k: Value) -> Value:
            for data, body in clauses:
                if data is None or any(eqv(k, d) for d in data):
                    return body(m, env)
            return False

        def resume(m: Value, fr: Value, val: Value) -> Value:
            return pick(m, fr[1], val)

        def case(m: Value, env: Value) -> Value:
            k = key(m, env)
            if type(k) is tuple:
                m.stack.insert(m.mark, (resume, env))
                return k
            return pick(m, env, k)
        return _shows(resume, case)

    def c_begin(self, x: Value, scope: Value) -> Value:
        return self.body(syms(x)[1:], scope)

    def c_when(self, x: Value, scope: Value) -> Value:
        items = syms(x)
        if len(items) < 2:
            raise LispError("when: expected (when test body...)")
        return make_truthy_if(self.comp(items[1], scope), self.body(items[2:], scope),
                              _pure(lambda m, env: None))

    def c_unless(self, x: Value, scope: Value) -> Value:
        items = syms(x)
        if len(items) < 2:
            raise LispError("unless: expected (unless test body...)")
        return make_truthy_if(self.comp(items[1], scope), _pure(lambda m, env: None),
                              self.body(items[2:], scope))

    def c_and(self, x: Value, scope: Value) -> Value:
        parts = [self.comp(p, scope) for p in syms(x)[1:]]
        if not parts:
            return _pure(lambda m, env: True)
        return make_andor(parts, is_and=True)

    def c_or(self, x: Value, scope: Value) -> Value:
        parts = [self.comp(p, scope) for p in syms(x)[1:]]
        if not parts:
            return _pure(lambda m, env: False)
        return make_andor(parts, is_and=False)

    # lambda and friends
    def parse_params(self, plist: Value, who: str) -> Value:
        if plist is not None and type(plist) is not Pair:
            raise LispError(f"{who}: params must be list")
        names = []
        for p in syms(plist):
            if type(p) is not Sym:
                raise LispError(f"{who}: params must be list")
            names.append(p.name)
        rest = False
        if "." in names:
            i = names.index(".")
            if i == len(names) - 2:
                names = names[:i] + names[i + 1:]
                rest = True
        return tuple(names), rest

    def make_lambda(
        self,
        params: tuple[Value, ...],
        rest: bool,
        body_forms: list[Value],
        scope: Value,
        name: str,
        src: Value,
    ) -> Value:
        hoisted = [n for n in scan_defines(body_forms) if n not in params]
        names = list(params) + hoisted
        inner = Scope(names, scope)
        body = self.body(body_forms, inner)
        return Lambda(params, rest, body_forms, body, scope.chain() if scope else (),
                      len(names), name, src)

    def c_lambda(self, x: Value, scope: Value, name: str = "lambda") -> Value:
        items = syms(x)
        if len(items) < 3:
            if len(items) == 2 and type(items[1]) is not Pair and items[1] is not None:
                raise LispError("lambda: params must be list")
            raise LispError("lambda: expected (lambda (params) body...)")
        params, rest = self.parse_params(items[1], "lambda")
        lam = self.make_lambda(params, rest, items[2:], scope, name, x)
        return _pure(lambda m, env: Closure(lam, env))

    def c_oracle_lambda(self, x: Value, scope: Value) -> Value:
        items = syms(x)
        if len(items) != 3:
            raise LispError("oracle-lambda: expected (oracle-lambda (params) spec)")
        params, _ = self.parse_params(items[1], "oracle-lambda")
        spec = self.comp(items[2], scope)

        def resume(m: Value, fr: Value, val: Value) -> Value:
            return OracleProc(params, val, fr[1])

        def olam(m: Value, env: Value) -> Value:
            v = spec(m, env)
            if type(v) is tuple:
                m.stack.insert(m.mark, (resume, env))
                return v
            return OracleProc(params, v, env)
        return _shows(resume, olam)

    def c_define(self, x: Value, scope: Value) -> Value:
        items = syms(x)
        if len(items) < 3:
            raise LispError("define: expected (define x rhs) or (define (f ...) ...)")
        target = items[1]
        if type(target) is Pair:
            fname = target.car
            if type(fname) is not Sym:
                raise LispError("define: bad function signature")
            params, rest = self.parse_params(target.cdr, "lambda")
            lam = self.make_lambda(params, rest, items[2:], scope, fname.name,
                                   Pair(S("lambda"), Pair(target.cdr, x.cdr.cdr)))
            value = _pure(lambda m, env: Closure(lam, env))
            name = fname.name
        elif type(target) is Sym:
            if len(items) != 3:
                raise LispError("define: expected (define x rhs) or (define (f ...) ...)")
            name = target.name
            rhs = items[2]
            if type(rhs) is Pair and rhs.car is S("lambda") and (
                    scope is None or scope.lookup("lambda") is None):
                value = self.c_lambda(rhs, scope, name=name)
            else:
                value = self.comp(rhs, scope)
        else:
            raise LispError("define: expected (define x rhs) or (define (f ...) ...)")
        if scope is None:
            return self.global_write(name, value, define=True)
        if name not in scope.names:
            raise LispError("define binder did not resolve")
        return self.local_write(0, scope.names.index(name) + 1, value)

    def c_set(self, x: Value, scope: Value) -> Value:
        items = syms(x)
        if len(items) != 3 or type(items[1]) is not Sym:
            raise LispError("set!: expected (set! x rhs)")
        name = items[1].name
        value = self.comp(items[2], scope)
        loc = scope.lookup(name) if scope is not None else None
        if loc is None:
            return self.global_write(name, value, define=False)
        return self.local_write(loc[0], loc[1], value)

    def global_write(self, name: str, value: Value, define: bool) -> Value:
        write = self.global_writer(name, define)

        def resume(m: Value, fr: Value, val: Value) -> Value:
            return write(m, val)

        def gwrite(m: Value, env: Value) -> Value:
            v = value(m, env)
            if type(v) is tuple:
                m.stack.insert(m.mark, (resume,))
                return v
            return write(m, v)
        return _shows(resume, gwrite)

    def global_writer(self, name: str, define: bool) -> Value:
        G = self.G
        undo = self.undo

        def write(m: Value, v: Value) -> None:
            _write_global(G, undo, name, v, define)
        return write

    def local_write(self, depth: int, i: int, value: Value) -> Value:
        write = self.local_writer(depth, i)

        def resume(m: Value, fr: Value, val: Value) -> Value:
            return write(m, fr[1], val)

        def lwrite(m: Value, env: Value) -> Value:
            v = value(m, env)
            if type(v) is tuple:
                m.stack.insert(m.mark, (resume, env))
                return v
            return write(m, env, v)
        return _shows(resume, lwrite)

    def local_writer(self, depth: int, i: int) -> Value:
        undo = self.undo

        def write(m: Value, env: Value, v: Value) -> None:
            _write_local(undo, env, depth, i, v)
        return write

    def c_let(self, x: Value, scope: Value) -> Value:
        items = syms(x)
        if len(items) >= 2 and type(items[1]) is Sym:
            return self.named_let(x, items, scope)
        if len(items) < 3:
            raise LispError("let: expected (let ((x e) ...) body...)")
        names, inits = self.bindings(items[1], "let")
        init_ex = [self.comp(e, scope) for e in inits]
        hoisted = [n for n in scan_defines(items[2:]) if n not in names]
        inner = Scope(names + hoisted, scope)
        body = self.body(items[2:], inner)
        pad = [UNDEF] * len(hoisted)
        return make_frame_call(init_ex, body, pad)

    def named_let(self, x: Value, items: Value, scope: Value) -> Value:
        if len(items) < 3:
            raise LispError("let: expected (let ((x e) ...) body...)")
        if len(items) < 4:
            raise LispError("named let: expected (let name ((x e) ...) body...)")
        name = items[1]
        names, inits = self.bindings(items[2], "named let")
        lam = Pair(S("lambda"), Pair(_mklist([S(n) for n in names]), _mklist(items[3:])))
        rec = _mklist([S("letrec"), _mklist([_mklist([name, lam])]), name])
        return self.comp(Pair(rec, _mklist(inits)), scope)

    def c_do(self, x: Value, scope: Value) -> Value:
        """(do ((var init step)...) (test result...) body...) as a named let."""
        items = syms(x)
        if len(items) < 3 or type(items[2]) is not Pair:
            raise LispError("do: expected (do ((var init step) ...) (test expr ...) body ...)")
        names, inits, steps = [], [], []
        for spec in syms(items[1]):
            parts = syms(spec) if type(spec) is Pair else []
            if len(parts) not in (2, 3) or type(parts[0]) is not Sym:
                raise LispError("do: binding must be (var init) or (var init step)")
            names.append(parts[0])
            inits.append(parts[1])
            steps.append(parts[2] if len(parts) == 3 else parts[0])
        test, *result = syms(items[2])
        loop = S(" do-loop")
        again = Pair(loop, _mklist(steps))
        body = _mklist([S("begin"), *items[3:], again])
        done = _mklist([S("begin"), *result]) if result else None
        form = _mklist([S("let"), loop, _mklist([_mklist([n, i]) for n, i in zip(names, inits,
                                                                               strict=True)]),
                        _mklist([S("if"), test, done, body])])
        return self.comp(form, scope)

    def c_define_syntax(self, x: Value, scope: Value) -> Value:
        items = syms(x)
        if len(items) != 3 or type(items[1]) is not Sym:
            raise LispError("define-syntax: expected (define-syntax name transformer)")
        name = items[1].name
        macro = make_syntax_rules(name, items[2])
        self.pending[name] = macro
        return self.macro_writer(name, macro)

    def macro_writer(self, name: str, macro: Value) -> Value:
        macros = self.macros
        undo = self.undo

        def define_syntax(m: Value, env: Value) -> None:
            _write_global(macros, undo, name, macro, True)
        return define_syntax

    def c_let_star(self, x: Value, scope: Value) -> Value:
        items = syms(x)
        if len(items) < 3:
            raise LispError("let*: expected (let* ((x e) ...) body...)")
        binds = syms(items[1])
        if not binds:
            return self.comp(Pair(S("let"), Pair(None, _mklist(items[2:]))), scope)
        for b in binds:
            if len(syms(b)) != 2:
                raise LispError("let*: binding must be (x init)")
        out: Value = Pair(S("let"), Pair(_mklist([binds[-1]]), _mklist(items[2:])))
        for b in reversed(binds[:-1]):
            out = _mklist([S("let"), _mklist([b]), out])
        return self.comp(out, scope)

    def c_letrec(self, x: Value, scope: Value) -> Value:
        items = syms(x)
        if len(items) < 3:
            raise LispError("letrec: expected (letrec ((x e) ...) body...)")
        names, inits = self.bindings(items[1], "letrec")
        hoisted = [n for n in scan_defines(items[2:]) if n not in names]
        inner = Scope(names + hoisted, scope)
        sets = [self.local_write(0, i + 1, self.init_comp(e, inner, names[i]))
                for i, e in enumerate(inits)]
        body = self.seq(sets + [self.body(items[2:], inner)])
        pad = [UNDEF] * (len(names) + len(hoisted))
        return make_frame_call([], body, pad)

    def init_comp(self, e: Value, scope: Value, name: Value) -> Value:
        if type(e) is Pair and e.car is S("lambda") and scope.lookup("lambda") is None:
            return self.c_lambda(e, scope, name=name)
        return self.comp(e, scope)

    def bindings(self, blist: Value, who: str) -> Value:
        if blist is not None and type(blist) is not Pair:
            raise LispError(f"{who}: expected ({who} ((x e) ...) body...)")
        names, inits = [], []
        for b in syms(blist):
            parts = syms(b) if type(b) is Pair else []
            if len(parts) != 2 or type(parts[0]) is not Sym:
                raise LispError(f"{who}: binding must be (x init)")
            names.append(parts[0].name)
            inits.append(parts[1])
        return names, inits

    # promises and streams
    def c_delay(self, x: Value, scope: Value) -> Value:
        items = syms(x)
        if len(items) != 2:
            raise LispError("delay: expected (delay expr)")
        lam = self.make_lambda((), False, [items[1]], scope, "delay",
                               _mklist([S("lambda"), None, items[1]]))
        return _pure(lambda m, env: Promise(Closure(lam, env)))

    def c_cons_stream(self, x: Value, scope: Value) -> Value:
        items = syms(x)
        if len(items) != 3:
            raise LispError("cons-stream: expected (cons-stream head tail)")
        head = self.comp(items[1], scope)
        lam = self.make_lambda((), False, [items[2]], scope, "cons-stream",
                               _mklist([S("lambda"), None, items[2]]))

        def resume(m: Value, fr: Value, val: Value) -> Value:
            return Pair(val, Promise(Closure(lam, fr[1])))

        def cstream(m: Value, env: Value) -> Value:
            h = head(m, env)
            if type(h) is tuple:
                m.stack.insert(m.mark, (resume, env))
                return h
            return Pair(h, Promise(Closure(lam, env)))
        return _shows(resume, cstream)

    # effects, handlers, nondeterminism
    def c_effect(self, x: Value, scope: Value) -> Value:
        items = syms(x)
        if len(items) < 2:
            raise LispError("effect: expected (effect op arg...)")
        op = items[1]
        opname = op.name if type(op) is Sym else str(op)
        args = [self.comp(a, scope) for a in items[2:]]
        from .machine import perform_go
        return make_collect(args, lambda m, vals: (perform_go, (opname, vals)))

    def c_handle(self, x: Value, scope: Value) -> Value:
        items = syms(x)
        if len(items) < 2:
            raise LispError("handle: expected (handle body ...clauses)")
        body = self.comp(items[1], scope)
        on: dict[str, object] = {}
        ret = None
        fin = None
        for cl in items[2:]:
            parts = syms(cl) if type(cl) is Pair else []
            if len(parts) < 2:
                raise LispError("handle clause too short")
            kind = parts[0].name if type(parts[0]) is Sym else str(parts[0])
            if kind == "on":
                if len(parts) < 4:
                    raise LispError("on: expected (on op (x k) body)")
                op = parts[1].name if type(parts[1]) is Sym else str(parts[1])
                if type(parts[2]) is not Pair and parts[2] is not None:
                    raise LispError("on: (x k) must be list")
                ps = syms(parts[2])
                if len(ps) != 2:
                    raise LispError("on: expected (x k)")
                if type(ps[0]) is not Sym:
                    raise LispError("on: x must be ident")
                if type(ps[1]) is not Sym:
                    raise LispError("on: k must be ident")
                on[op] = self.body(parts[3:], Scope([ps[0].name, ps[1].name], scope))
            elif kind == "return":
                if len(parts) < 3:
                    raise LispError("return: expected (return (v) body)")
                if type(parts[1]) is not Pair and parts[1] is not None:
                    raise LispError("return: (v) must be list")
                ps = syms(parts[1])
                if len(ps) != 1:
                    raise LispError("return: expected one var")
                if type(ps[0]) is not Sym:
                    raise LispError("return var must be ident")
                ret = self.body(parts[2:], Scope([ps[0].name], scope))
            elif kind == "finally":
                fin = self.body(parts[1:], scope)
            else:
                raise LispError(f"unknown handle clause: {kind}")
        from .machine import make_handle
        return make_handle(body, on, ret, fin)

    def c_amb(self, x: Value, scope: Value) -> Value:
        alts = [self.comp(a, scope) for a in syms(x)[1:]]
        from .machine import make_amb
        return make_amb(alts)

    def c_require(self, x: Value, scope: Value) -> Value:
        items = syms(x)
        if len(items) != 2:
            raise LispError("require: expected (require pred)")
        test = self.comp(items[1], scope)
        from .machine import fail_go

        def fail(m: Value, env: Value) -> Value:
            return (fail_go, None)
        return make_if(test, _pure(lambda m, env: None), fail)

    def c_match(self, x: Value, scope: Value) -> Value:
        items = syms(x)
        if len(items) < 2:
            raise LispError("match: expected (match scrutinee clauses...)")
        scrut = self.comp(items[1], scope)
        clauses = []
        for cl in items[2:]:
            parts = syms(cl) if type(cl) is Pair else []
            if len(parts) < 2:
                raise LispError("match clause must have pattern and body")
            names: list[str] = []
            pat = compile_pattern(parts[0], names)
            body = self.body(parts[1:], Scope(names, scope))
            clauses.append((pat, len(names), body))

        def pick(m: Value, env: Value, v: Value) -> Value:
            for pat, _n, body in clauses:
                out: list[Value] = []
                if pat(v, out):
                    return body(m, [env, *out])
            raise LispError("match: no clause matched")

        def resume(m: Value, fr: Value, val: Value) -> Value:
            return pick(m, fr[1], val)

        def match(m: Value, env: Value) -> Value:
            v = scrut(m, env)
            if type(v) is tuple:
                m.stack.insert(m.mark, (resume, env))
                return v
            return pick(m, env, v)
        return _shows(resume, match)


def _method(name: str) -> str:
    return {"set!": "set", "let*": "let_star", "oracle-lambda": "oracle_lambda",
            "cons-stream": "cons_stream", "define-syntax": "define_syntax"}.get(name, name)


def _mklist(items: Value) -> object:
    out = None
    for x in reversed(items):
        out = Pair(x, out)
    return out


def scan_defines(forms: Value) -> list[str]:
    """Names defined at body level (also inside nested `begin`s): hoisted into the frame."""
    out: list[str] = []
    for f in forms:
        if type(f) is Pair and type(f.car) is Sym:
            h = f.car.name
            if h == "define" and type(f.cdr) is Pair:
                t = f.cdr.car
                if type(t) is Pair and type(t.car) is Sym:
                    t = t.car
                if type(t) is Sym and t.name not in out:
                    out.append(t.name)
            elif h == "begin":
                for n in scan_defines(syms(f.cdr)):
                    if n not in out:
                        out.append(n)
    return out


# ---- patterns --------------------------------------------------------------------------------
def compile_pattern(p: Value, names: list[str]) -> Value:
    """A matcher `(value, out) -> bool` appending bound values to `out` in `names` order."""
    from .primitives.equality import equal_now as equal

    t = type(p)
    if t is Sym:
        n = p.name
        if n in ("_", "else"):
            return lambda v, out: True
        if n.startswith("?") and len(n) > 1:
            var = n[1:]
            if var in names:  # bound twice: both places must hold equal values
                i = names.index(var)
                return lambda v, out: equal(out[i], v)
            names.append(var)

            def bind(v: Value, out: Value) -> Value:
                out.append(v)
                return True
            return bind
        return _literal_pattern(p)
    if t is Pair:
        if p.car is S("quote") and type(p.cdr) is Pair:
            return _datum_pattern(p.cdr.car)
        return _list_pattern([compile_pattern(q, names) for q in syms(p)])
    return _literal_pattern(p)


def _literal_pattern(p: Value) -> Value:
    """Literals as the reference matches them: a symbol or string matches either kind."""
    t = type(p)
    if t is Sym or t is str:
        text = p.name if t is Sym else p

        def name_eq(v: Value, out: Value) -> Value:
            tv = type(v)
            return (tv is Sym and v.name == text) or (tv is str and v == text)
        return name_eq
    if p is None:
        return lambda v, out: v is None
    return lambda v, out: type(v) is t and v == p


def _datum_pattern(d: Value) -> Value:
    if type(d) is Pair:
        return _list_pattern([_datum_pattern(q) for q in syms(d)])
    return _literal_pattern(d)


def _list_pattern(subs: list[Value]) -> Value:
    n = len(subs)

    def plist(v: Value, out: Value) -> Value:
        if type(v) is Vector:
            items = v.items
            if len(items) != n:
                return False
            for i in range(n):
                if not subs[i](items[i], out):
                    return False
            return True
        for i in range(n):
            if type(v) is not Pair:
                return False
            if not subs[i](v.car, out):
                return False
            v = v.cdr
        return v is None
    return plist


# ---- node builders ---------------------------------------------------------------------------
def make_if(test: Value, then: Value, alt: Value) -> Value:
    def decide(m: Value, env: Value, t: Value) -> Value:
        if t is True:
            return then(m, env)
        if t is False:
            return alt(m, env)
        raise LispError("if test must be boolean")

    def resume(m: Value, fr: Value, val: Value) -> Value:
        return decide(m, fr[1], val)

    if getattr(test, "pure", False):
        def if_pure(m: Value, env: Value) -> Value:
            t = test(m, env)
            if t is True:
                return then(m, env)
            if t is False:
                return alt(m, env)
            raise LispError("if test must be boolean")
        return if_pure

    def if_(m: Value, env: Value) -> Value:
        t = test(m, env)
        if t is True:
            return then(m, env)
        if t is False:
            return alt(m, env)
        if type(t) is tuple:
            m.stack.insert(m.mark, (resume, env))
            return t
        raise LispError("if test must be boolean")
    return _shows(resume, if_)


def make_truthy_if(test: Value, then: Value, alt: Value) -> Value:
    def resume(m: Value, fr: Value, val: Value) -> Value:
        env = fr[1]
        return then(m, env) if is_true(val) else alt(m, env)

    def tif(m: Value, env: Value) -> Value:
        t = test(m, env)
        if type(t) is tuple:
            m.stack.insert(m.mark, (resume, env))
            return t
        return then(m, env) if is_true(t) else alt(m, env)
    return _shows(resume, tif)


def make_andor(parts: list[Value], is_and: bool) -> Value:
    n = len(parts)

    def resume(m: Value, fr: Value, val: Value) -> Value:
        env, i = fr[1], fr[2]
        if is_and:
            if not is_true(val) or i >= n:
                return val
        else:
            if is_true(val):
                return val
            if i >= n:
                return False
        return run_tail(m, env, i)

    def run_tail(m: Value, env: Value, i: Value) -> Value:
        while i < n:
            v = parts[i](m, env)
            if type(v) is tuple:
                m.stack.insert(m.mark, (resume, env, i + 1))
                return v
            if is_and:
                if not is_true(v) or i == n - 1:
                    return v
            else:
                if is_true(v):
                    return v
                if i == n - 1:
                    return False
            i += 1
        return True if is_and else False

    def andor(m: Value, env: Value) -> Value:
        return run_tail(m, env, 0)
    return _shows(resume, andor)


def make_collect(parts: list[Value], finish: Value) -> Value:
    """Evaluate `parts` left to right, then `finish(m, values)`."""
    n = len(parts)
    parts_t = tuple(parts)

    def cont(m: Value, env: Value, vals: Value, i: Value) -> Value:
        while i < n:
            v = parts_t[i](m, env)
            if type(v) is tuple:
                m.stack.insert(m.mark, (resume, env, tuple(vals)))
                return v
            vals.append(v)
            i += 1
        return finish(m, vals)

    def resume(m: Value, fr: Value, val: Value) -> Value:
        vals = list(fr[2])
        vals.append(val)
        return cont(m, fr[1], vals, len(vals))

    def collect(m: Value, env: Value) -> Value:
        return cont(m, env, [], 0)
    return _shows(resume, collect)


def make_frame_call(init_ex: list[Value], body: Value, pad: list[Value]) -> Value:
    """let: evaluate inits in the current env, then the body in a new frame."""
    pad_t = list(pad)

    def enter(m: Value, vals: Value, env: Value) -> Value:
        frame = [env]
        frame.extend(vals)
        if pad_t:
            frame.extend(pad_t)
        return body(m, frame)

    n = len(init_ex)
    parts = tuple(init_ex)

    def resume(m: Value, fr: Value, val: Value) -> Value:
        env = fr[1]
        vals = list(fr[2])
        vals.append(val)
        return cont(m, env, vals, len(vals))

    def cont(m: Value, env: Value, vals: Value, i: Value) -> Value:
        while i < n:
            v = parts[i](m, env)
            if type(v) is tuple:
                m.stack.insert(m.mark, (resume, env, tuple(vals)))
                return v
            vals.append(v)
            i += 1
        return enter(m, vals, env)

    def let(m: Value, env: Value) -> Value:
        return cont(m, env, [], 0)
    return _shows(resume, let)


def make_app(parts: list[Value]) -> Value:
    from .machine import apply_proc

    f_ex = parts[0]
    args = parts[1:]
    n = len(args)
    all_pure = all(getattr(p, "pure", False) for p in parts)
    if all_pure and n == 1:
        a0 = args[0]

        def app1(m: Value, env: Value) -> Value:
            f = f_ex(m, env)
            x = a0(m, env)
            if type(f) is Prim:
                return f.fn(x)
            return apply_proc(m, f, [x])
        return app1
    if all_pure and n == 2:
        a0, a1 = args

        def app2(m: Value, env: Value) -> Value:
            f = f_ex(m, env)
            x = a0(m, env)
            y = a1(m, env)
            if type(f) is Prim:
                return f.fn(x, y)
            return apply_proc(m, f, [x, y])
        return app2
    if all_pure:
        def appn(m: Value, env: Value) -> Value:
            f = f_ex(m, env)
            vals = [a(m, env) for a in args]
            if type(f) is Prim:
                return f.fn(*vals)
            return apply_proc(m, f, vals)
        return appn

    def finish(m: Value, vals: Value) -> Value:
        f = vals[0]
        if type(f) is Prim:
            return f.fn(*vals[1:])
        return apply_proc(m, f, vals[1:])
    return make_collect(parts, finish)


__all__ = ["Compiler", "Scope", "UNDEF", "scope_from_chain", "CPrim", "NIL"]


class SharedCompiler(Compiler):
    """Compiles code that every session shares (the prelude, compiled once per process): its
    nodes reach the globals, undo log and macros of the state that runs them (`m.state`), never
    those of the state they were compiled in."""

    def global_ref(self, name: str) -> Value:
        def gvar(m: Value, env: Value) -> Value:
            try:
                return m.state.globals[name]
            except KeyError:
                raise LispError(f"unbound var {name}") from None
        return gvar

    def global_writer(self, name: str, define: bool) -> Value:
        def write(m: Value, v: Value) -> None:
            _write_global(m.state.globals, m.state.undo, name, v, define)
        return write

    def local_writer(self, depth: int, i: int) -> Value:
        def write(m: Value, env: Value, v: Value) -> None:
            _write_local(m.state.undo, env, depth, i, v)
        return write

    def macro_writer(self, name: str, macro: Value) -> Value:
        def define_syntax(m: Value, env: Value) -> None:
            _write_global(m.state.macros, m.state.undo, name, macro, True)
        return define_syntax
