"""gensym, eval, error, hash tables, distributions and the language-building stubs."""

from __future__ import annotations

from ..printer import write_str
from ..values import (
    Dist,
    HashTable,
    LispError,
    Opaque,
    Pair,
    Sym,
    Value,
    Vector,
)
from .lists import list_
from .registry import cprim, prim


@cprim("gensym")
def gensym(m: Value, args: Value) -> Value:
    st = m.state
    m.state.undo.append((st, "gensym_counter", st.gensym_counter))
    st.gensym_counter += 1
    prefix = "g"
    if args:
        p = args[0]
        prefix = p.name if type(p) is Sym else p if type(p) is str else "g"
    return Sym(f"{prefix}{st.gensym_counter}")


def _vectors_to_lists(d: Value) -> Value:
    if type(d) is Vector:
        out = None
        for x in reversed(d.items):
            out = Pair(_vectors_to_lists(x), out)
        return out
    return d


@cprim("eval", control=True)
def eval_(m: Value, args: Value) -> Value:
    if not args:
        raise LispError("eval: expected at least 1 argument")
    ex = m.state.compiler.compile_top(_vectors_to_lists(args[0]))
    return (ex, None)


@cprim("eval-in", control=True)
def eval_in(m: Value, args: Value) -> Value:
    if not args or not evaluator_p(args[0]):
        raise LispError("eval-in: expected Evaluator")
    if len(args) < 2:
        raise LispError("eval-in: expected an evaluator and a datum")
    return eval_(m, [args[1]])


@prim("error")
def error(*args: Value) -> None:
    if not args:
        raise LispError("error")
    first = args[0]
    if type(first) is Sym:
        msg = args[1] if len(args) > 1 else ""
        msg = msg if type(msg) is str else write_str(msg)
        raise LispError(f"Unhandled condition: {first.name} - {msg}")
    parts = [first if type(first) is str else write_str(first)]
    parts += [write_str(a) for a in args[1:]]
    raise LispError(" ".join(parts))


# ---- hash tables (keys compared with equal?) -------------------------------------------------
def hkey(v: Value) -> Value:
    t = type(v)
    if t is float:
        return ("n", v)
    if t is str:
        return ("s", v)
    if t is bool:
        return ("b", v)
    if v is None:
        return ("nil",)
    if t is Pair:
        items = []
        while type(v) is Pair:
            items.append(hkey(v.car))
            v = v.cdr
        return ("p", tuple(items), hkey(v))
    return v


def _table(who: Value, h: Value) -> dict[Value, Value]:
    if type(h) is not HashTable:
        raise LispError(f"{who}: expected hash table")
    return h.table


for _name in ("make-hash-table", "make-hash", "make-equal-hash-table",
              "make-strong-eqv-hash-table"):
    prim(_name)(lambda *a: HashTable())


@prim("hash-table?")
def hash_table_p(x: Value) -> Value:
    return type(x) is HashTable


@prim("hash-ref")
def hash_ref(h: Value, k: Value, *default: Value) -> Value:
    e = _table("hash-ref", h).get(hkey(k))
    if e is not None:
        return e[1]
    if default:
        return default[0]
    return False


@cprim("hash-set!")
def hash_set(m: Value, args: Value) -> None:
    h, k, v = args
    t = _table("hash-set!", h)
    key = hkey(k)
    from ..compile import UNDEF
    m.state.undo.append((t, key, t.get(key, UNDEF)))
    t[key] = (k, v)
    return None


@cprim("hash-remove!")
def hash_remove(m: Value, args: Value) -> None:
    h, k = args
    t = _table("hash-remove!", h)
    key = hkey(k)
    if key in t:
        m.state.undo.append((t, key, t[key]))
        del t[key]
    return None


@prim("hash-has-key?")
def hash_has_key(h: Value, k: Value) -> Value:
    return hkey(k) in _table("hash-has-key?", h)


@prim("hash-count")
def hash_count(h: Value) -> Value:
    return float(len(_table("hash-count", h)))


@prim("hash-keys")
def hash_keys(h: Value) -> Value:
    return list_(*[k for k, _ in _table("hash-keys", h).values()])


@prim("hash-values")
def hash_values(h: Value) -> Value:
    return list_(*[v for _, v in _table("hash-values", h).values()])


@prim("hash->alist")
def hash_to_alist(h: Value) -> Value:
    return list_(*[Pair(k, v) for k, v in _table("hash->alist", h).values()])


for _a, _b in (("hash-table-ref/default", hash_ref), ("hash-table/get", hash_ref),
               ("hash-table-count", hash_count), ("hash-table-keys", hash_keys),
               ("hash-table-values", hash_values), ("hash-table->alist", hash_to_alist)):
    prim(_a)(_b)


@cprim("hash-table-set!")
def hash_table_set(m: Value, args: Value) -> Value:
    return hash_set(m, args)


# ---- distributions (search.op results) -------------------------------------------------------
@prim("dist-count")
def dist_count(d: Value) -> Value:
    if type(d) is not Dist:
        raise LispError("dist-count: expected Dist")
    return float(len(d.items))


@prim("dist-to-list")
def dist_to_list(d: Value) -> Value:
    if type(d) is not Dist:
        raise LispError("dist-to-list: expected Dist")
    return list_(*[v for v, _ in d.items])


@prim("dist-value-at")
def dist_value_at(d: Value, i: Value) -> Value:
    if type(d) is not Dist:
        raise LispError("dist-value-at: expected Dist")
    if type(i) is not float or not 0 <= i < len(d.items):
        raise LispError("dist-value-at: index out of bounds")
    return d.items[int(i)][0]


# ---- language building: the reference's names --------------------------------------------------
_PROCS_T = ("Closure", "Prim", "CPrim", "Continuation", "OracleProc")


def _callable(v: Value) -> bool:
    return type(v).__name__ in _PROCS_T


@cprim("register-macro")
def register_macro(m: Value, args: Value) -> Value:
    name = args[0] if args else None
    if type(name) is not Sym:
        raise LispError("register-macro: name must be a symbol")
    if len(args) < 2 or not _callable(args[1]):
        raise LispError("register-macro: transformer must be a procedure")
    macros = m.state.macros
    from ..values import UNDEF
    m.state.undo.append((macros, name.name, macros.get(name.name, UNDEF)))
    macros[name.name] = args[1]
    return name


@cprim("expand-macro", control=True)
def expand_macro(m: Value, args: Value) -> Value:
    """Apply a registered transformer procedure to a form (a form without one is returned)."""
    form = args[0] if args else None
    if type(form) is not Pair or type(form.car) is not Sym:
        return form
    transformer = m.state.macros.get(form.car.name)
    if transformer is None or not _callable(transformer):
        return form
    from ..machine import apply_proc
    return apply_proc(m, transformer, [form])


@cprim("macro?")
def macro_p(m: Value, args: Value) -> Value:
    return type(args[0]) is Sym and args[0].name in m.state.macros


@cprim("list-macros")
def list_macros(m: Value, args: Value) -> Value:
    return list_(*[Sym(n) for n in reversed(list(m.state.macros))])


prim("syntax->datum")(lambda x: x)
prim("datum->syntax")(lambda *a: a[-1] if a else None)


@prim("make-transformer")
def make_transformer(proc: Value) -> Value:
    if not _callable(proc):
        raise LispError("make-transformer: expected procedure")
    return Opaque("MacroTransformer", proc)


@prim("make-evaluator")
def make_evaluator(*args: Value) -> Value:
    return Opaque("Evaluator")


@prim("evaluator?")
def evaluator_p(x: Value) -> Value:
    return type(x) is Opaque and x.kind == "Evaluator"


@prim("extend-evaluator")
def extend_evaluator(ev: Value, extensions: Value = None) -> Value:
    if not evaluator_p(ev):
        raise LispError("extend-evaluator: expected Evaluator")
    return Opaque("Evaluator")


# ---- reified machines ------------------------------------------------------------------------
# The reference's `machine-new` puts its argument in the control as a value, so a reified
# machine finishes in one step with that value; these follow that model exactly.
def _machine(who: str, x: Value) -> list[Value]:
    if type(x) is not Opaque or x.kind != "Machine":
        raise LispError(f"{who}: expected Machine")
    items: list[Value] = x.data.items  # [value, steps, done, label]
    return items


def _new_machine(value: Value, steps: float, done: bool, label: Value) -> Opaque:
    return Opaque("Machine", Vector([value, steps, done, label]))


@prim("machine-new")
def machine_new(*args: Value) -> Value:
    if not args:
        raise LispError("machine-new: expected at least 1 argument")
    label = args[1] if len(args) > 1 and type(args[1]) is str else None
    return _new_machine(args[0], 0.0, False, label)


@prim("machine?")
def machine_p(x: Value) -> Value:
    return type(x) is Opaque and x.kind == "Machine"


@prim("machine-step")
def machine_step(mach: Value) -> Value:
    value, steps, done, label = _machine("machine-step", mach)
    return mach if done else _new_machine(value, steps + 1, True, label)


@prim("machine-run")
def machine_run(mach: Value, *limit: Value) -> Value:
    value, steps, done, label = _machine("machine-run", mach)
    if done or (limit and type(limit[0]) is float and limit[0] < 1):
        return mach
    return _new_machine(value, steps + 1, True, label)


@prim("machine-stack")
def machine_stack(mach: Value) -> None:
    _machine("machine-stack", mach)
    return None


@prim("machine-control")
def machine_control(mach: Value) -> Value:
    return _machine("machine-control", mach)[0]


@prim("machine-done?")
def machine_done(mach: Value) -> Value:
    return _machine("machine-done?", mach)[2]


@prim("machine-value")
def machine_value(mach: Value) -> Value:
    value, _steps, done, _label = _machine("machine-value", mach)
    if not done:
        raise LispError("machine-value: machine not done")
    return value


@prim("machine-fork")
def machine_fork(mach: Value, *label: Value) -> Value:
    value, steps, done, old = _machine("machine-fork", mach)
    return _new_machine(value, steps, done, label[0] if label and type(label[0]) is str else old)


@prim("machine-resume")
def machine_resume(mach: Value, value: Value) -> Value:
    _v, steps, done, label = _machine("machine-resume", mach)
    return _new_machine(value, steps, done, label)


@prim("machine-add-breakpoint")
def machine_add_breakpoint(mach: Value, op: Value) -> Value:
    _machine("machine-add-breakpoint", mach)
    if type(op) not in (str, Sym):
        raise LispError("machine-add-breakpoint: op-name must be string or symbol")
    return mach


@prim("machine-step-count")
def machine_step_count(mach: Value) -> Value:
    return _machine("machine-step-count", mach)[1]


@prim("machine-last-op")
def machine_last_op(mach: Value) -> Value:
    _machine("machine-last-op", mach)
    return False
