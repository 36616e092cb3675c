"""Podcast RSS rendering: RSS 2.0 with the itunes:, podcast:, content: and atom: namespaces.

Written by Django's ``feedgenerator`` (a SAX XML writer that escapes every text
and attribute), never by string concatenation. One request-free entry point,
:func:`build_feed`, serves the public view, the publisher and ``validate_feed``.

Standards: RSS 2.0 https://www.rssboard.org/rss-specification, Apple's tags
https://podcasters.apple.com/support/823-podcast-requirements, Podcasting 2.0
https://github.com/Podcastindex-org/podcast-namespace/blob/main/docs/1.0.md
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from io import BytesIO

from django.conf import settings
from django.core.files.storage import storages
from django.db.models import Prefetch
from django.utils.feedgenerator import Enclosure, Rss201rev2Feed

from episodes.models import Episode, Podcast, Rendition
from episodes.presets import PRESETS
from episodes.sanitize import sanitize_html

NAMESPACES = {
    "atom": "http://www.w3.org/2005/Atom",
    "itunes": "http://www.itunes.com/dtds/podcast-1.0.dtd",
    "content": "http://purl.org/rss/1.0/modules/content/",
    "podcast": "https://podcastindex.org/namespace/1.0",
}
GENERATOR = "podcasthost"
CONTENT_TYPE = "application/rss+xml; charset=utf-8"

# Characters XML 1.0 forbids (https://www.w3.org/TR/xml/#charsets): C0 controls
# except tab, LF and CR; lone surrogates; U+FFFE and U+FFFF.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_PRESET_ORDER = {p.name: i for i, p in enumerate(PRESETS)}
_PRIMARY = next(p.name for p in PRESETS if p.primary)


def xml_text(value: object) -> str:
    """``value`` as a string with every character XML 1.0 cannot carry removed."""
    return _NOT_XML.sub("", str(value)) if value is not None else ""


def _one_line(value: object, limit: int = 255) -> str:
    # Apple: tag values ≤ 255 characters, no leading/trailing spaces.
    return " ".join(xml_text(value).split())[:limit].strip()


@dataclass(frozen=True)
class RenderedFeed:
    """The bytes of one rendering and what the publisher records about it."""

    body: bytes
    item_count: int
    built_at: datetime

    @property
    def content_hash(self) -> str:
        return hashlib.sha256(self.body).hexdigest()


class PodcastFeed(Rss201rev2Feed):
    """Django's RSS 2.0 writer with the podcast namespaces declared on ``<rss>``."""

    def rss_attributes(self) -> dict[str, str]:
        attrs = {"version": self._version}
        attrs.update({f"xmlns:{prefix}": uri for prefix, uri in NAMESPACES.items()})
        return attrs

    def latest_post_date(self) -> datetime:
        # lastBuildDate = when the content last changed (decided by the
        # publisher), not "now": an unchanged feed must render to the same bytes.
        return self.feed["built_at"]

    def add_root_elements(self, handler) -> None:
        super().add_root_elements(handler)
        f = self.feed
        handler.addQuickElement("generator", GENERATOR)
        if f["cover_url"]:
            handler.startElement("image", {})
            handler.addQuickElement("url", f["cover_url"])
            handler.addQuickElement("title", f["title"])
            handler.addQuickElement("link", f["link"])
            handler.endElement("image")
            handler.addQuickElement("itunes:image", None, {"href": f["cover_url"]})
        for category, sub in f["apple_categories"]:
            handler.startElement("itunes:category", {"text": category})
            if sub:
                handler.addQuickElement("itunes:category", None, {"text": sub})
            handler.endElement("itunes:category")
        handler.addQuickElement("itunes:explicit", "true" if f["explicit"] else "false")
        if f["itunes_author"]:
            handler.addQuickElement("itunes:author", f["itunes_author"])
        if f["owner_name"] or f["owner_email"]:
            handler.startElement("itunes:owner", {})
            if f["owner_name"]:
                handler.addQuickElement("itunes:name", f["owner_name"])
            if f["owner_email"]:
                handler.addQuickElement("itunes:email", f["owner_email"])
            handler.endElement("itunes:owner")
        handler.addQuickElement("itunes:type", f["show_type"])
        if f["new_feed_url"]:
            handler.addQuickElement("itunes:new-feed-url", f["new_feed_url"])
        handler.addQuickElement("podcast:guid", f["podcast_guid"])
        locked_attrs = {"owner": f["owner_email"]} if f["owner_email"] else {}
        handler.addQuickElement("podcast:locked", "yes" if f["locked"] else "no", locked_attrs)

    def add_item_elements(self, handler, item) -> None:
        super().add_item_elements(handler, item)
        handler.addQuickElement("content:encoded", item["content_html"])
        if item["duration_seconds"] is not None:
            handler.addQuickElement("itunes:duration", str(item["duration_seconds"]))
        handler.addQuickElement("itunes:episodeType", item["episode_type"])
        if item["season"]:
            handler.addQuickElement("itunes:season", str(item["season"]))
            handler.addQuickElement("podcast:season", str(item["season"]))
        if item["number"]:
            handler.addQuickElement("itunes:episode", str(item["number"]))
            handler.addQuickElement("podcast:episode", str(item["number"]))
        handler.addQuickElement("itunes:explicit", "true" if item["explicit"] else "false")
        # https://github.com/Podcastindex-org/podcast-namespace/blob/main/docs/tags/alternate-enclosure.md
        for alt in item["alternates"]:
            attrs = {"type": alt.mime_type, "length": str(alt.size_bytes), "title": alt.preset}
            if alt.bitrate:
                attrs["bitrate"] = str(alt.bitrate)
            handler.startElement("podcast:alternateEnclosure", attrs)
            handler.addQuickElement("podcast:source", None, {"uri": alt.url})
            handler.endElement("podcast:alternateEnclosure")


def feed_episodes(podcast: Podcast, now: datetime) -> list[Episode]:
    """The episodes of ``podcast``'s feed at ``now``, newest first, renditions prefetched.

    Two queries whatever the number of episodes.
    """
    return list(
        Episode.objects.in_feed(now)
        .filter(podcast=podcast)
        .order_by("-publish_at", "-pk")
        .prefetch_related(Prefetch("renditions", queryset=Rendition.objects.order_by("pk")))
    )


def split_renditions(renditions: Iterable[Rendition]) -> tuple[Rendition, list[Rendition]]:
    """(enclosure, alternates): the primary preset's file, else the first in preset order."""
    ordered = sorted(
        renditions, key=lambda r: (r.preset != _PRIMARY, _PRESET_ORDER.get(r.preset, 99))
    )
    return ordered[0], ordered[1:]


def show_page_url(podcast: Podcast) -> str:
    return f"{settings.PUBLIC_BASE_URL}{podcast.get_absolute_url()}"


def render_feed(podcast: Podcast, episodes: Sequence[Episode], *, built_at: datetime) -> bytes:
    """The feed XML (UTF-8 bytes) of ``podcast`` with ``episodes`` as items, in that order.

    Pure: no query beyond the prefetched renditions, same input → same bytes.
    """
    media = storages["media"]
    page = show_page_url(podcast)
    owner_email = _one_line(podcast.owner_email)
    feed = PodcastFeed(
        title=_one_line(podcast.title),
        link=xml_text(podcast.link) or page,
        description=xml_text(sanitize_html(xml_text(podcast.description))),
        language=xml_text(podcast.language),
        feed_url=podcast.feed_url,
        feed_copyright=_one_line(podcast.copyright) or None,
        built_at=built_at,
        cover_url=podcast.cover.url if podcast.cover else "",
        apple_categories=podcast.apple_categories(),
        explicit=podcast.explicit,
        itunes_author=_one_line(podcast.author),
        owner_name=_one_line(podcast.owner_name),
        owner_email=owner_email,
        show_type=podcast.show_type,
        new_feed_url=xml_text(podcast.new_feed_url),
        podcast_guid=str(podcast.podcast_guid),
        locked=podcast.locked,
    )
    for episode in episodes:
        renditions = list(episode.renditions.all())
        if not renditions:
            continue
        enclosure, alternates = split_renditions(renditions)
        duration = enclosure.duration_seconds or episode.duration_seconds
        html = xml_text(sanitize_html(xml_text(episode.description)))
        feed.add_item(
            title=_one_line(episode.title),
            link=f"{page}#episode-{episode.guid}",
            description=html,
            content_html=html,
            unique_id=str(episode.guid),
            unique_id_is_permalink=False,
            pubdate=episode.publish_at,
            enclosures=[
                Enclosure(
                    # The show's measurement prefix (OP3, Podtrac), if it has one.
                    podcast.measured_url(media.url(enclosure.key)),
                    str(enclosure.size_bytes),
                    enclosure.mime_type,
                )
            ],
            duration_seconds=round(duration) if duration is not None else None,
            episode_type=episode.episode_type,
            season=episode.season,
            number=episode.number,
            explicit=episode.explicit,
            alternates=[
                _Alternate.of(r, podcast.measured_url(media.url(r.key))) for r in alternates
            ],
        )
    out = BytesIO()
    feed.write(out, "UTF-8")
    return out.getvalue()


@dataclass(frozen=True)
class _Alternate:
    preset: str
    mime_type: str
    size_bytes: int
    bitrate: int | None
    url: str

    @classmethod
    def of(cls, r: Rendition, url: str) -> _Alternate:
        return cls(r.preset, r.mime_type, r.size_bytes, r.bitrate, url)


def build_feed(
    podcast: Podcast, *, now: datetime, built_at: datetime | None = None
) -> RenderedFeed:
    """Render ``podcast``'s feed as listeners should see it at ``now``.

    ``built_at`` is written as ``lastBuildDate`` (default ``now``). A constant
    number of queries (two) whatever the number of episodes.
    """
    episodes = feed_episodes(podcast, now)
    built_at = built_at or now
    body = render_feed(podcast, episodes, built_at=built_at)
    return RenderedFeed(body=body, item_count=len(episodes), built_at=built_at)
