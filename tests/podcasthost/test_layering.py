"""Domain code never imports Celery task modules: tasks call the domain, never the reverse.

Enqueueing happens at the edges (signal receivers, tasks, commands); a task
module imported by a model or pipeline would make an import circle.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TASK_MODULES = {"episodes.tasks", "feeds.tasks"}
# Modules allowed to import tasks: the tasks themselves and the edges that enqueue.
EDGES = {"tasks.py", "receivers.py"}


def _imported_modules(path: Path) -> set[str]:
    """Every module ``path`` imports, at the top or inside a function."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _domain_modules() -> list[Path]:
    return sorted(
        path
        for app in ("episodes", "feeds")
        for path in (ROOT / app).rglob("*.py")
        if path.name not in EDGES and "management" not in path.parts
    )


@pytest.mark.parametrize("path", _domain_modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_domain_module_imports_no_task_module(path):
    assert _imported_modules(path) & TASK_MODULES == set()


def test_the_pipeline_and_publishing_are_checked():
    checked = {str(p.relative_to(ROOT)) for p in _domain_modules()}
    assert {
        "episodes/pipeline.py",
        "episodes/models.py",
        "feeds/publishing.py",
        "feeds/models.py",
    } <= checked
