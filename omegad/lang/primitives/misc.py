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
from .registry import cprim, prim, synonym


@cprim("gensym", "[prefix]", "A fresh symbol, named prefix (g) followed by a counter.")
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


@cprim("eval", "datum", "Evaluate a datum as code in the global environment.", control=True)
def eval_(m: Value, args: Value) -> Value:
    if not args:
        raise LispError("eval: expected at least 1 argument")
    ex = m.state.compiler.compile_top(_vectors_to_lists(args[0]))
    return (ex, None)


@cprim("eval-in", "evaluator datum",
       "Evaluate a datum with an evaluator (the global environment's).", control=True)
def eval_in(m: Value, args: Value) -> Value:
    if not args or not evaluator_p(args[0]):
        raise LispError("eval-in: expected Evaluator")
    if len(args) < 2:
        raise LispError("eval-in: expected an evaluator and a datum")
    return eval_(m, [args[1]])


@prim("error", "message irritant...",
      "Fail with an error: message and the irritants (a symbol first: a condition).")
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
    prim(_name, "[equivalence]", "A new empty hash table (keys compared with equal?).")(
        lambda *a: HashTable())


@prim("hash-table?", "x", "Whether x is a hash table.")
def hash_table_p(x: Value) -> Value:
    return type(x) is HashTable


@prim("hash-ref", "table key [default]", "The value stored under key, else default (or #f).")
def hash_ref(h: Value, k: Value, *default: Value) -> Value:
    e = _table("hash-ref", h).get(hkey(k))
    if e is not None:
        return e[1]
    if default:
        return default[0]
    return False


@cprim("hash-set!", "table key value", "Store value under key.")
def hash_set(m: Value, args: Value) -> None:
    h, k, v = args
    t = _table("hash-set!", h)
    key = hkey(k)
    from ..compile import UNDEF
    m.state.undo.append((t, key, t.get(key, UNDEF)))
    t[key] = (k, v)
    return None


@cprim("hash-remove!", "table key", "Remove key and its value.")
def hash_remove(m: Value, args: Value) -> None:
    h, k = args
    t = _table("hash-remove!", h)
    key = hkey(k)
    if key in t:
        m.state.undo.append((t, key, t[key]))
        del t[key]
    return None


@prim("hash-has-key?", "table key", "Whether the table has key.")
def hash_has_key(h: Value, k: Value) -> Value:
    return hkey(k) in _table("hash-has-key?", h)


@prim("hash-count", "table", "The number of keys in the table.")
def hash_count(h: Value) -> Value:
    return float(len(_table("hash-count", h)))


@prim("hash-keys", "table", "A list of the table's keys.")
def hash_keys(h: Value) -> Value:
    return list_(*[k for k, _ in _table("hash-keys", h).values()])


@prim("hash-values", "table", "A list of the table's values.")
def hash_values(h: Value) -> Value:
    return list_(*[v for _, v in _table("hash-values", h).values()])


@prim("hash->alist", "table", "A list of (key . value) pairs of the table.")
def hash_to_alist(h: Value) -> Value:
    return list_(*[Pair(k, v) for k, v in _table("hash->alist", h).values()])


synonym("hash-table-ref/default", "hash-ref")
synonym("hash-table/get", "hash-ref")
synonym("hash-table-count", "hash-count")
synonym("hash-table-keys", "hash-keys")
synonym("hash-table-values", "hash-values")
synonym("hash-table->alist", "hash->alist")


@cprim("hash-table-set!", "table key value", "Store value under key (as hash-set!).")
def hash_table_set(m: Value, args: Value) -> Value:
    return hash_set(m, args)


# ---- distributions (search.op results) -------------------------------------------------------
@prim("dist-count", "dist", "The number of outcomes of a distribution (search.op's result).")
def dist_count(d: Value) -> Value:
    if type(d) is not Dist:
        raise LispError("dist-count: expected Dist")
    return float(len(d.items))


@prim("dist-to-list", "dist", "The values of a distribution's outcomes, as a list.")
def dist_to_list(d: Value) -> Value:
    if type(d) is not Dist:
        raise LispError("dist-to-list: expected Dist")
    return list_(*[v for v, _ in d.items])


@prim("dist-value-at", "dist i", "The value of a distribution's outcome i (from 0).")
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


@cprim("register-macro", "name transformer",
       "Register a procedure that rewrites forms whose head is name.")
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


@cprim("expand-macro", "form",
       "Apply the transformer registered for the form's head (else the form).", control=True)
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


@cprim("macro?", "symbol", "Whether a macro is registered under symbol.")
def macro_p(m: Value, args: Value) -> Value:
    return type(args[0]) is Sym and args[0].name in m.state.macros


@cprim("list-macros", "", "The names of the registered macros, as a list of symbols.")
def list_macros(m: Value, args: Value) -> Value:
    return list_(*[Sym(n) for n in reversed(list(m.state.macros))])


prim("syntax->datum", "syntax",
     "The datum of a syntax object (syntax objects are plain data here).")(lambda x: x)
prim("datum->syntax", "context datum",
     "datum as a syntax object (syntax objects are plain data here).")(
    lambda *a: a[-1] if a else None)


@prim("make-transformer", "procedure", "Wrap a procedure as a macro transformer.")
def make_transformer(proc: Value) -> Value:
    if not _callable(proc):
        raise LispError("make-transformer: expected procedure")
    return Opaque("MacroTransformer", proc)


@prim("make-evaluator", "x...", "A new evaluator (the reference's language-building stub).")
def make_evaluator(*args: Value) -> Value:
    return Opaque("Evaluator")


@prim("evaluator?", "x", "Whether x is an evaluator.")
def evaluator_p(x: Value) -> Value:
    return type(x) is Opaque and x.kind == "Evaluator"


@prim("extend-evaluator", "evaluator [extensions]",
      "An evaluator extended with extensions (the reference's stub).")
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


@prim("machine-new", "value [label]", "A reified machine whose control is value.")
def machine_new(*args: Value) -> Value:
    if not args:
        raise LispError("machine-new: expected at least 1 argument")
    label = args[1] if len(args) > 1 and type(args[1]) is str else None
    return _new_machine(args[0], 0.0, False, label)


@prim("machine?", "x", "Whether x is a reified machine.")
def machine_p(x: Value) -> Value:
    return type(x) is Opaque and x.kind == "Machine"


@prim("machine-step", "machine", "The machine after one step.")
def machine_step(mach: Value) -> Value:
    value, steps, done, label = _machine("machine-step", mach)
    return mach if done else _new_machine(value, steps + 1, True, label)


@prim("machine-run", "machine [limit]", "The machine run to its end (or limit steps).")
def machine_run(mach: Value, *limit: Value) -> Value:
    value, steps, done, label = _machine("machine-run", mach)
    if done or (limit and type(limit[0]) is float and limit[0] < 1):
        return mach
    return _new_machine(value, steps + 1, True, label)


@prim("machine-stack", "machine", "The machine's continuation stack, as a list.")
def machine_stack(mach: Value) -> None:
    _machine("machine-stack", mach)
    return None


@prim("machine-control", "machine", "The machine's control (its current value).")
def machine_control(mach: Value) -> Value:
    return _machine("machine-control", mach)[0]


@prim("machine-done?", "machine", "Whether the machine has finished.")
def machine_done(mach: Value) -> Value:
    return _machine("machine-done?", mach)[2]


@prim("machine-value", "machine", "The value a finished machine computed.")
def machine_value(mach: Value) -> Value:
    value, _steps, done, _label = _machine("machine-value", mach)
    if not done:
        raise LispError("machine-value: machine not done")
    return value


@prim("machine-fork", "machine [label]", "A copy of the machine (with a new label).")
def machine_fork(mach: Value, *label: Value) -> Value:
    value, steps, done, old = _machine("machine-fork", mach)
    return _new_machine(value, steps, done, label[0] if label and type(label[0]) is str else old)


@prim("machine-resume", "machine value", "The machine resumed with value.")
def machine_resume(mach: Value, value: Value) -> Value:
    _v, steps, done, label = _machine("machine-resume", mach)
    return _new_machine(value, steps, done, label)


@prim("machine-add-breakpoint", "machine op", "The machine with a breakpoint on the operation op.")
def machine_add_breakpoint(mach: Value, op: Value) -> Value:
    _machine("machine-add-breakpoint", mach)
    if type(op) not in (str, Sym):
        raise LispError("machine-add-breakpoint: op-name must be string or symbol")
    return mach


@prim("machine-step-count", "machine", "The number of steps the machine has taken.")
def machine_step_count(mach: Value) -> Value:
    return _machine("machine-step-count", mach)[1]


@prim("machine-last-op", "machine", "The last operation the machine performed (#f: none).")
def machine_last_op(mach: Value) -> Value:
    _machine("machine-last-op", mach)
    return False
