"""What an import reads from the old host, whatever it was (an RSS feed, the seed's table)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass
class SourceMedia:
    """Where an episode's audio is: an http(s) URL, or an object in an S3 bucket."""

    url: str = ""
    bucket: str = ""
    key: str = ""
    region: str = ""
    declared_type: str = ""
    declared_bytes: int | None = None

    @property
    def filename(self) -> str:
        path = self.key or self.url.split("?", 1)[0].split("#", 1)[0]
        return path.rstrip("/").rsplit("/", 1)[-1] or "audio"


@dataclass
class SourceItem:
    """One episode as the old host published it."""

    guid: str
    guid_is_permalink: bool | None
    title: str
    published_at: datetime | None = None
    description_html: str = ""
    duration_seconds: float | None = None
    season: int | None = None
    number: int | None = None
    episode_type: str = "full"
    explicit: bool = False
    image_url: str = ""
    media: SourceMedia | None = None
    #: Why the item cannot be imported at all (then it is reported as dropped).
    unusable: str = ""

    def snapshot(self) -> dict:
        """What the parity report compares, as JSON."""
        return {
            "guid": self.guid,
            "title": self.title,
            "published_at": self.published_at.isoformat() if self.published_at else None,
            "number": self.number,
            "duration_seconds": self.duration_seconds,
        }


@dataclass
class SourceShow:
    """A show as the old host published it, with its items in feed order."""

    title: str
    description_html: str = ""
    link: str = ""
    language: str = ""
    author: str = ""
    owner_name: str = ""
    owner_email: str = ""
    copyright: str = ""
    image_url: str = ""
    categories: list[tuple[str, str | None]] = field(default_factory=list)
    explicit: bool = False
    show_type: str = "episodic"
    podcast_guid: str = ""
    locked: bool | None = None
    locked_owner: str = ""
    new_feed_url: str = ""
    items: list[SourceItem] = field(default_factory=list)
