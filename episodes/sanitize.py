"""HTML sanitising for show notes, with nh3 (the Ammonia sanitiser).

The allowed tags are those podcast apps render (Apple lists p, ol, ul, li, a;
the Podcast Index adds br and basic emphasis):
https://podcasters.apple.com/support/823-podcast-requirements
"""

from __future__ import annotations

import nh3

ALLOWED_TAGS = {"p", "br", "a", "ul", "ol", "li", "strong", "b", "em", "i", "blockquote", "code"}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}}


def sanitize_html(html: str) -> str:
    """Return ``html`` with every tag, attribute and URL scheme outside the allow-list removed."""
    return nh3.clean(
        html or "",
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener nofollow",
    ).strip()
