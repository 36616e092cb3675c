"""Apple Podcasts categories, loaded from the copy of Apple's list shipped in data/.

Values are stored as ``"Category"`` or ``"Category > Subcategory"`` so one
column holds a validated pair and the database can check it against the list.
Source: https://podcasters.apple.com/support/1691-apple-podcasts-categories
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

SEPARATOR = " > "
_DATA = Path(__file__).parent / "data" / "apple-categories.json"


@cache
def _categories() -> tuple[tuple[str, tuple[str, ...]], ...]:
    data = json.loads(_DATA.read_text(encoding="utf-8"))
    return tuple((c["name"], tuple(c["subcategories"])) for c in data["categories"])


def all_values() -> list[str]:
    """Every storable value: each category alone and each category > subcategory."""
    values = []
    for name, subs in _categories():
        values.append(name)
        values.extend(f"{name}{SEPARATOR}{sub}" for sub in subs)
    return values


def choices() -> list[tuple[str, list[tuple[str, str]]]]:
    """Grouped choices for a form select: one group per category."""
    return [
        (name, [(name, f"{name} (general)")] + [(f"{name}{SEPARATOR}{s}", s) for s in subs])
        for name, subs in _categories()
    ]


def split(value: str) -> tuple[str, str | None]:
    """``"Arts > Books"`` → ``("Arts", "Books")``; ``"History"`` → ``("History", None)``."""
    name, _, sub = value.partition(SEPARATOR)
    return name, (sub or None)
