"""Layering rules for omegad/sessions, read from the source with `ast` (nothing is imported): no
module touches another's underscored members, and no import cycle between its modules, counting
function-local and type-only (`if TYPE_CHECKING:`) imports. (The actor's interface is declared in
omegad/sessions/interface.py; modules that need an actor import that, not actor.py.)"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SESSIONS = ROOT / "omegad" / "sessions"


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules(package: Path) -> dict[str, ast.Module]:
    return {_module_name(p): ast.parse(p.read_text(), str(p))
            for p in sorted(package.rglob("*.py"))}


def _imported(name: str, tree: ast.Module, known: set[str]) -> set[str]:
    """Every module of `known` that `name` imports, anywhere in its text."""
    package = name if name.endswith("__init__") else name.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1]
                                + ([base] if base else []))
            targets = [base] + [f"{base}.{a.name}" for a in node.names]
        else:
            continue
        found |= {t for t in targets if t in known}
    found.discard(name)
    return found


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_import_cycles_inside_omegad_sessions():
    modules = _modules(SESSIONS)
    graph = {name: _imported(name, tree, set(modules)) for name, tree in modules.items()}
    graph = {k: {d for d in v if d != "omegad.sessions"} for k, v in graph.items()}
    assert _cycles(graph) == []


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def test_no_module_of_omegad_sessions_touches_another_modules_private_members():
    """`obj._name` only on `self` / `cls`; no `from x import _name` (dunders are not private)."""
    offences = []
    for path in sorted(SESSIONS.rglob("*.py")):
        where = path.relative_to(ROOT)
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom):
                offences += [f"{where}:{node.lineno}: imports {node.module}.{a.name}"
                             for a in node.names if _private(a.name)]
            elif isinstance(node, ast.Attribute) and _private(node.attr) and not (
                    isinstance(node.value, ast.Name) and node.value.id in ("self", "cls")):
                offences.append(f"{where}:{node.lineno}: {ast.unparse(node)}")
    assert offences == []


def test_the_rules_see_what_they_are_meant_to_see():
    """The checkers themselves: a cycle through a function-local import, a private access."""
    a = ast.parse("def f():\n    from pkg import b\n")
    b = ast.parse("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg.a import x\n")
    known = {"pkg.a", "pkg.b"}
    graph = {"pkg.a": _imported("pkg.a", a, known), "pkg.b": _imported("pkg.b", b, known)}
    assert _cycles(graph) == [["pkg.a", "pkg.b"]]
    assert _private("_x") and not _private("__init__") and not _private("x")


def test_a_job_takes_no_field_it_does_not_declare():
    """What a command leaves for an RPC method is a declared field (job.data), not an attribute
    added on the fly (as job.trace_entries and job.debug_view were)."""
    from omegad.sessions.mailbox import Job
    from omegad.sessions.operations import Input

    job = Job(Input("(+ 1 2)"), "(+ 1 2)", None, piped=False)
    job.data = {"step": 1}
    with pytest.raises(AttributeError):
        job.debug_view = {}  # type: ignore[attr-defined]
