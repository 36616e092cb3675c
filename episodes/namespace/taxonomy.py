"""The roles and groups ``podcast:person`` may name: the Podcast Taxonomy Project's list.

Loaded from the copy in ``data/taxonomy.json`` (CC0, see ``data/README.md``).
Values are stored and written lower-case and trimmed; the namespace compares
them case-insensitively (https://github.com/Podcastindex-org/podcast-namespace/blob/main/docs/tags/person.md).
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from django.core.exceptions import ValidationError

_DATA = Path(__file__).parent / "data" / "taxonomy.json"

#: What apps assume when ``role`` / ``group`` are absent.
DEFAULT_ROLE = "host"
DEFAULT_GROUP = "cast"


def normalize(value: str) -> str:
    """A role or group as the feed writes it: trimmed, lower-case."""
    return " ".join(value.split()).lower()


@cache
def _pairs() -> tuple[tuple[str, str, str, str], ...]:
    """(group, role, group label, role label) of every entry, in the list's order."""
    rows = json.loads(_DATA.read_text(encoding="utf-8"))
    return tuple(
        (normalize(r["group"]), normalize(r["role"]), r["group"].strip(), r["role"].strip())
        for r in rows
    )


def groups() -> list[str]:
    """Every group, in the list's order."""
    return list(dict.fromkeys(g for g, *_ in _pairs()))


def groups_of(role: str) -> set[str]:
    """The groups ``role`` belongs to (a role such as "editor" is in more than one)."""
    role = normalize(role)
    return {g for g, r, *_ in _pairs() if r == role}


def is_known(role: str, group: str) -> bool:
    return normalize(group) in groups_of(role)


def role_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    """Grouped choices for a form select: one optgroup per group."""
    out: dict[str, tuple[str, list[tuple[str, str]]]] = {}
    for group, role, group_label, role_label in _pairs():
        out.setdefault(group, (group_label, []))[1].append((role, role_label))
    return list(out.values())


def group_choices() -> list[tuple[str, str]]:
    labels = {g: label for g, _r, label, _l in _pairs()}
    return [(g, labels[g]) for g in groups()]


def validate_role_group(role: str, group: str) -> None:
    """Refuse a role or group outside the list, or a role paired with another group."""
    role, group = normalize(role), normalize(group)
    owners = groups_of(role)
    if not owners:
        raise ValidationError(
            {"role": f"“{role}” is not a role of the Podcast Taxonomy Project's list."}
        )
    if group not in groups():
        raise ValidationError(
            {"group": f"“{group}” is not a group of the Podcast Taxonomy Project's list."}
        )
    if group not in owners:
        listed = " or ".join(f"“{g}”" for g in sorted(owners))
        raise ValidationError(
            {"group": f"The role “{role}” belongs to the group {listed}, not “{group}”."}
        )
