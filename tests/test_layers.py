"""Layering rules, read from the source with `ast` (nothing is imported).

omegad/sessions: no module touches another module's underscored names, and no import cycle
between its modules, counting function-local and type-only (`if TYPE_CHECKING:`) imports."""

import ast
from pathlib import Path

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


def _private_names(tree: ast.Module) -> set[str]:
    """Underscored names a module defines: functions, classes, attributes it assigns."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            names.add(node.attr)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.ClassDef):
            names.add(node.name)
    for node in ast.walk(tree):  # slots and dataclass fields
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return {n for n in names if n.startswith("_") and not n.startswith("__")}


def test_no_module_of_omegad_sessions_touches_another_modules_private_names():
    offences = []
    for path in sorted(SESSIONS.rglob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        own = _private_names(tree)
        where = path.relative_to(ROOT)
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                offences += [f"{where}:{node.lineno}: imports {node.module}.{a.name}"
                             for a in node.names
                             if a.name.startswith("_") and not a.name.startswith("__")]
            elif (isinstance(node, ast.Attribute) and node.attr.startswith("_")
                  and not node.attr.startswith("__") and node.attr not in own):
                offences.append(f"{where}:{node.lineno}: {ast.unparse(node)}")
    assert offences == []


def test_the_rules_see_what_they_are_meant_to_see():
    """The checkers themselves: a cycle through a function-local import, a private access."""
    a = ast.parse("def f():\n    from pkg import b\n")
    b = ast.parse("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg.a import x\n")
    known = {"pkg.a", "pkg.b"}
    graph = {"pkg.a": _imported("pkg.a", a, known), "pkg.b": _imported("pkg.b", b, known)}
    assert _cycles(graph) == [["pkg.a", "pkg.b"]]
    assert _private_names(ast.parse("class A:\n    def _f(self): self._g = 1\n")) == {"_f", "_g"}
