"""The rooms of DESIGN.md, checked on the source: who may import whom, and no import circles.

Modules are parsed with `ast`, never imported, so a broken module cannot hide a wrong arrow.
Every import counts, at module level or inside a function; an import under
`if TYPE_CHECKING:` counts for the room rules (a type is a dependency too) but not for
circles (it never runs). Each failure lists every offending import with its file and line.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("backoffice", "channels", "ocr", "xiaobao")
CYCLE_PACKAGES = ("backoffice", "channels")

# package → the imports it must not make, and why (DESIGN.md, "Rooms").
RULES: dict[str, tuple[tuple[str, ...], str]] = {
    "backoffice.domain": (
        ("backoffice.store", "backoffice.services", "backoffice.api", "backoffice.desk",
         "backoffice.scheduler", "backoffice.notifications", "sqlalchemy", "aiohttp"),
        "pure rules: the standard library and small pure libs only"),
    "backoffice.store": (
        ("backoffice.services", "backoffice.api", "backoffice.desk", "backoffice.scheduler",
         "backoffice.notifications"),
        "the store sits below the use cases"),
    "backoffice.services": (
        ("backoffice.api", "backoffice.desk", "backoffice.scheduler", "xiaobao", "channels"),
        "use cases are called by the front doors, never call them"),
    "backoffice.notifications": (
        ("backoffice.services", "backoffice.api", "backoffice.desk", "backoffice.scheduler"),
        "senders are adapters below the use cases"),
    "backoffice.api": (
        ("backoffice.store", "backoffice.desk", "backoffice.scheduler"),
        "handlers get the unit of work from the composition root (xiaobao/platform.py)"),
    "backoffice.desk": (
        ("backoffice.api", "backoffice.scheduler"),
        "the desk is a front door beside the API: both call the use cases"),
    "backoffice.scheduler": (
        ("backoffice.api", "backoffice.desk"),
        "jobs call the use cases, not the front doors"),
    "backoffice": (
        ("xiaobao", "channels"),
        "the back office knows neither the CLI/composition root nor the channels"),
    "ocr": (
        ("backoffice", "channels", "xiaobao"),
        "OCR is a library: nothing of the back office"),
    "channels": (
        ("backoffice.store", "backoffice.domain.errors"),
        "channels reach the back office through a narrow interface"),
}


@dataclass(frozen=True)
class Import:
    source: str  # importing module
    target: str  # imported module (or package attribute), absolute
    path: Path
    line: int
    type_only: bool

    def where(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def source_files() -> list[Path]:
    return sorted(p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py"))


MODULES = {module_name(p): p for p in source_files()}


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _absolute(node: ast.ImportFrom, source: str, path: Path) -> str:
    if not node.level:
        return node.module or ""
    package = source if path.name == "__init__.py" else source.rpartition(".")[0]
    base = package.split(".")[: len(package.split(".")) - node.level + 1]
    return ".".join([*base, node.module] if node.module else base)


def _targets(node: ast.Import | ast.ImportFrom, source: str, path: Path) -> Iterator[str]:
    if isinstance(node, ast.Import):
        yield from (alias.name for alias in node.names)
        return
    base = _absolute(node, source, path)
    for alias in node.names:
        # `from pkg import mod` imports the module pkg.mod; `from pkg import name`, pkg itself
        yield f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base


def imports_of(path: Path) -> list[Import]:
    return imports_in(path.read_text(encoding="utf-8"), module_name(path), path)


def imports_in(text: str, source: str, path: Path) -> list[Import]:
    found: list[Import] = []

    def visit(node: ast.AST, type_only: bool) -> None:
        if isinstance(node, ast.Import | ast.ImportFrom):
            found.extend(Import(source, t, path, node.lineno, type_only)
                         for t in _targets(node, source, path))
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.body:
                visit(child, True)
            for child in node.orelse:
                visit(child, type_only)
            return
        for child in ast.iter_child_nodes(node):
            visit(child, type_only)

    visit(ast.parse(text, str(path)), False)
    return found


# one entry per import line and target (`from m import a, b` names m once)
ALL_IMPORTS = list(dict.fromkeys(imp for p in source_files() for imp in imports_of(p)))


def within(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


@pytest.mark.parametrize("package", list(RULES))
def test_room_rules(package: str) -> None:
    forbidden, why = RULES[package]
    wrong = [f"{imp.where()}: {imp.source} imports {imp.target}"
             for imp in ALL_IMPORTS
             if within(imp.source, package) and any(within(imp.target, f) for f in forbidden)]
    if wrong:
        pytest.fail(f"{package} ({why}) must not import {', '.join(forbidden)}:\n"
                    + "\n".join(wrong), pytrace=False)


def _graph() -> dict[str, dict[str, list[Import]]]:
    """module → imported module → the imports making that edge (runtime imports only)."""
    graph: dict[str, dict[str, list[Import]]] = {}
    for imp in ALL_IMPORTS:
        inside = all(any(within(m, p) for p in CYCLE_PACKAGES) for m in (imp.source, imp.target))
        if inside and not imp.type_only and imp.target in MODULES and imp.target != imp.source:
            graph.setdefault(imp.source, {}).setdefault(imp.target, []).append(imp)
    return graph


def strongly_connected(graph: dict[str, dict[str, list[Import]]]) -> list[list[str]]:
    """Tarjan's components with more than one module, each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, {}):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def test_no_import_cycles() -> None:
    graph = _graph()
    report = []
    for component in strongly_connected(graph):
        members = set(component)
        edges = [f"  {imp.where()}: {imp.source} imports {imp.target}"
                 for src in component for dst, imps in sorted(graph.get(src, {}).items())
                 if dst in members for imp in imps]
        report.append(f"circle among {', '.join(component)}:\n" + "\n".join(edges))
    if report:
        pytest.fail("\n".join(report), pytrace=False)


def test_the_scan_sees_the_tree() -> None:
    """Guards the checker itself: it finds modules and their imports, relative ones included."""
    assert "backoffice.domain.claim" in MODULES and "channels.router" in MODULES
    assert all(package in MODULES for package in RULES), "a rule names no package"
    assert any(imp.source.startswith("backoffice.services") and
               within(imp.target, "backoffice.domain") for imp in ALL_IMPORTS)
    text = ("from typing import TYPE_CHECKING\nfrom ..store import db\n"
            "if TYPE_CHECKING:\n    from backoffice.api import app\n"
            "def f():\n    from backoffice.services import claims\n")
    path = ROOT / "backoffice" / "services" / "x.py"
    found = {(i.target, i.type_only) for i in imports_in(text, "backoffice.services.x", path)}
    assert found == {("typing", False), ("backoffice.store.db", False),
                     ("backoffice.api.app", True), ("backoffice.services.claims", False)}
    assert strongly_connected({"a": {"b": []}, "b": {"a": []}, "c": {"a": []}}) == [["a", "b"]]
