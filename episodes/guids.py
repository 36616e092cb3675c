"""Identifiers that must never change once published."""

from __future__ import annotations

import re
import uuid

# Podcasting 2.0 <podcast:guid>: UUIDv5 of the feed URL without scheme and
# trailing slashes, in this namespace.
# https://github.com/Podcastindex-org/podcast-namespace/blob/main/docs/tags/guid.md
PODCAST_GUID_NAMESPACE = uuid.UUID("ead4c236-bf58-58c6-a2c6-a6b28d128cb6")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def podcast_guid_for(feed_url: str) -> uuid.UUID:
    """The Podcasting 2.0 GUID of a feed URL, as the namespace spec computes it."""
    seed = _SCHEME.sub("", feed_url.strip()).rstrip("/")
    return uuid.uuid5(PODCAST_GUID_NAMESPACE, seed)
