"""Tasks import the domain, never the other way round; no module-level import circles.

Read from the source with :mod:`ast`, so a late import inside a function
counts too (it is not executed by importing the module, but it still points
the dependency the wrong way).
"""

from __future__ import annotations

import ast
from pathlib import Path

from tests.podcasthost.test_settings import ROOT, _run

PACKAGES = ("episodes", "feeds", "podcasthost")
# May import task modules: task modules themselves and the edges that start work.
# podcasthost.broker: the commands' "is the broker reachable" check.
EDGES = (".tasks", ".celery", ".receivers", ".management.", ".admin", ".views", ".urls", ".broker")
# Task modules: Celery's app and the modules that define tasks.
TASK_MODULES = ("podcasthost.celery", "podcasthost.tasks", "episodes.tasks", "feeds.tasks")
# Known late imports (inside a function, so no circle): none left.
KNOWN_LATE: set[tuple[str, str]] = set()


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            if "migrations" in parts:
                continue
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


def _is_type_checking_block(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and ast.unparse(node.test) in (
        "TYPE_CHECKING",
        "typing.TYPE_CHECKING",
    )


def _imports(name: str, path: Path) -> list[tuple[str, bool]]:
    """(imported module, executed when ``name`` is imported) for each import in ``path``."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: list[tuple[str, bool]] = []

    def visit(node: ast.AST, top: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import):
                found.extend((alias.name, top) for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    anchor = package.rsplit(".", child.level - 1)[0] if child.level > 1 else package
                    base = f"{anchor}.{base}" if base else anchor
                found.append((base, top))
                found.extend((f"{base}.{alias.name}", top) for alias in child.names)
            if _is_type_checking_block(child):
                continue  # annotations only: never executed, so no circle
            visit(child, top and not isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef))

    visit(tree, True)
    return found


def _is_edge(name: str) -> bool:
    return name in ("podcasthost",) or any(edge in f"{name}." for edge in EDGES)


def test_no_domain_module_imports_a_task_module():
    modules = _modules()
    wrong, late = set(), set()
    for name, path in modules.items():
        if _is_edge(name):
            continue
        for imported, top in _imports(name, path):
            if imported in TASK_MODULES:
                (wrong if top or (name, imported) not in KNOWN_LATE else late).add((name, imported))

    assert wrong == set()
    assert late <= KNOWN_LATE


def _decorator_name(node: ast.expr) -> str:
    """``task`` for ``@task(...)``, ``@app.task`` or ``@shared_task``-like decorators."""
    if isinstance(node, ast.Call):
        node = node.func
    if isinstance(node, ast.Attribute):
        return node.attr
    return node.id if isinstance(node, ast.Name) else ""


def test_tasks_live_only_in_tasks_modules():
    defining = set()
    for name, path in _modules().items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and any(
                _decorator_name(d) in ("task", "shared_task") for d in node.decorator_list
            ):
                defining.add(name)

    assert defining == {"episodes.tasks", "feeds.tasks"}


def test_module_level_imports_form_no_circle():
    modules = _modules()
    graph = {
        name: {imported for imported, top in _imports(name, path) if top and imported in modules}
        for name, path in modules.items()
    }
    circles = []
    state: dict[str, str] = {}

    def walk(name: str, trail: list[str]) -> None:
        state[name] = "open"
        for imported in sorted(graph[name]):
            if state.get(imported) == "open":
                circles.append([*trail[trail.index(imported) :], imported])
            elif imported not in state:
                walk(imported, [*trail, imported])
        state[name] = "done"

    for name in sorted(graph):
        if name not in state:
            walk(name, [name])

    assert circles == []


def test_every_module_imports_in_a_fresh_interpreter(tmp_path):
    names = sorted(_modules())
    code = f"import importlib; [importlib.import_module(n) for n in {names!r}]; print('ok')"

    result = _run(["shell", "--no-imports", "-c", code], {}, tmp_path)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
