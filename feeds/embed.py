"""The iframe code of the embeddable player, shared by the admin's "Embed" box and oEmbed."""

from __future__ import annotations

from django.utils.html import format_html
from django.utils.safestring import SafeString

#: Height of the player in CSS pixels: title and controls ...
EMBED_HEIGHT = 200
#: ... and with a chapter list (three lines shown, the rest scroll).
EMBED_HEIGHT_WITH_CHAPTERS = 330
#: Width oEmbed answers when the consumer does not ask for less.
EMBED_WIDTH = 600
EMBED_MIN_WIDTH = 240


def embed_height(has_chapters: bool) -> int:
    """The iframe height that shows the whole player."""
    return EMBED_HEIGHT_WITH_CHAPTERS if has_chapters else EMBED_HEIGHT


def embed_html(
    src: str, title: str, *, width: int | None = None, height: int = EMBED_HEIGHT
) -> SafeString:
    """``<iframe>`` code for ``src`` (an absolute embed URL); full width unless ``width`` is given.

    Every value is escaped; the player needs no permissions beyond autoplay
    after a click, so the frame is sandboxed to scripts and same-origin fetches.
    """
    return format_html(
        '<iframe src="{}" title="{}" width="{}" height="{}" loading="lazy" '
        'style="border:0;max-width:100%" '
        'sandbox="allow-scripts allow-same-origin allow-popups" allow="autoplay"></iframe>',
        src,
        f"Podcast player: {title}",
        width or "100%",
        height,
    )
