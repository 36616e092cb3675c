"""What a browser posts for the admin's inlines when none is filled in: their management forms."""

from __future__ import annotations

#: Inline prefixes of the show's page (episodes/admin_namespace.py).
PODCAST_INLINES = ("persons", "funding", "trailers", "txt_records", "podroll")
#: Inline prefixes of the episode's page (chapters: episodes/admin_chapters.py).
EPISODE_INLINES = ("chapters", "persons")


def empty_inlines(prefixes: tuple[str, ...]) -> dict[str, str]:
    """The management-form fields of ``prefixes`` with no row, as the admin page submits them."""
    data = {}
    for prefix in prefixes:
        data[f"{prefix}-TOTAL_FORMS"] = "0"
        data[f"{prefix}-INITIAL_FORMS"] = "0"
    return data
