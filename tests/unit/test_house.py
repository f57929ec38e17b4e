"""The house rules that reading alone would let drift: the import graph has no cycle, between
modules or between folders; the domain (web/services/, db/) imports nothing of HTTP; no function
over 40 lines and no module over 300 lines in the app (docs/architecture.md)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
APP = ("web", "db")
DOMAIN = ("web.services", "db")
HTTP = ("litestar", "jinja2", "uvicorn", "web.routes", "web.plumbing", "web.overrides", "web.live")
HTTP += ("web.api", "web.app", "web.errors", "web.cli", "web.caches")
MAX_FUNCTION_LINES = 40
MAX_MODULE_LINES = 300


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def modules() -> dict[str, Path]:
    found = {}
    for top in APP:
        for path in sorted((ROOT / top).rglob("*.py")):
            if "migrations" not in path.parts:
                found[module_name(path)] = path
    return found


def imported(path: Path) -> Iterator[str]:
    """Every module the file imports, at its top or inside a function (a lazy import is still
    an arrow): `from a.b import c` is a.b.c when that is a module, else a.b."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                yield full if full in modules() else node.module


@cache
def graph() -> dict[str, set[str]]:
    return {
        name: {other for other in imported(path) if other in modules() and other != name}
        for name, path in modules().items()
    }


def folder(name: str) -> str:
    """The room a module lives in: a folder of web/ (web.routes, web.live, ...) or of the domain
    (web.services.pictures, ...), a folder inside one being part of it. A module at the top of
    web/ or db/ (the app factory, the settings) stands for itself."""
    parts = name.split(".")
    depth = 3 if name.startswith("web.services.") else 2
    return ".".join(parts[:depth]) if len(parts) > depth else name


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected parts of more than one node (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in sorted(edges.get(node, ())):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            part = []
            while (top := stack.pop()) != node:
                part.append(top)
            part.append(node)
            if len(part) > 1:
                found.append(sorted(part))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_no_module_imports_itself_round_a_loop() -> None:
    assert cycles(graph()) == []


def test_no_folder_imports_itself_round_a_loop() -> None:
    folders: dict[str, set[str]] = {}
    for name, others in graph().items():
        mine = folders.setdefault(folder(name), set())
        mine.update(folder(other) for other in others if folder(other) != folder(name))
    assert cycles(folders) == []


def test_the_domain_imports_nothing_of_http() -> None:
    leaks = [
        f"{name} imports {other}"
        for name, path in modules().items()
        if name.startswith(DOMAIN)
        for other in imported(path)
        if other == "web" or other.startswith(tuple(f"{h}" for h in HTTP))
    ]
    assert leaks == []


@pytest.mark.parametrize("name", sorted(modules()))
def test_functions_and_modules_stay_short(name: str) -> None:
    source = modules()[name].read_text()
    assert len(source.splitlines()) <= MAX_MODULE_LINES, f"{name}: over {MAX_MODULE_LINES} lines"
    long = [
        f"{node.name} ({node.end_lineno - node.lineno + 1} lines)"
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno is not None
        and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES
    ]
    assert long == [], f"{name}: over {MAX_FUNCTION_LINES} lines"
