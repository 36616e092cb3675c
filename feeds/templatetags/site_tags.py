"""Template filters of the public site."""

from __future__ import annotations

from django import template
from django.utils.safestring import SafeString, mark_safe

from episodes.sanitize import sanitize_html

register = template.Library()


@register.filter
def notes(html: str) -> SafeString:
    """Show notes as safe HTML: sanitised again on output, whatever the database holds."""
    return mark_safe(sanitize_html(html))  # noqa: S308 (nh3 has just cleaned it)
