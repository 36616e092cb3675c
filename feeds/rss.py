"""Podcast RSS rendering: RSS 2.0 with the itunes:, podcast:, content: and atom: namespaces.

Written by Django's ``feedgenerator`` (a SAX XML writer that escapes every text
and attribute), never by string concatenation. One request-free entry point,
:func:`build_feed`, serves the public view, the publisher and ``validate_feed``.

Incremental: each ``<item>`` is written once per revision of its episode
(:func:`item_revision`) into a per-process :class:`ItemCache`; a render then
writes the channel and splices the cached items in. A one-episode change
re-renders the channel and that item only, and the bytes are those of a full
render (the same writer produced each fragment).

Standards: RSS 2.0 https://www.rssboard.org/rss-specification, Apple's tags
https://podcasters.apple.com/support/823-podcast-requirements, Podcasting 2.0
https://github.com/Podcastindex-org/podcast-namespace/blob/main/docs/1.0.md
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from io import BytesIO, StringIO

from django.conf import settings
from django.core.files.storage import storages
from django.db.models import Count, Exists, Max, OuterRef, Prefetch, QuerySet
from django.utils.feedgenerator import Enclosure, Rss201rev2Feed
from django.utils.xmlutils import SimplerXMLGenerator

from episodes.chapters.json_format import CONTENT_TYPE as CHAPTERS_TYPE
from episodes.models import Chapter, Episode, Podcast, Rendition, measured_url
from episodes.presets import PRESETS
from episodes.sanitize import sanitize_html
from feeds import transcripts
from feeds.namespace import (
    PERSONS_PREFETCH,
    channel_namespace,
    item_namespace,
    write_channel_namespace,
    write_item_namespace,
)

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
        if f["hub_url"]:
            # WebSub discovery: https://www.w3.org/TR/websub/#discovery (with rel="self" above).
            handler.addQuickElement("atom:link", None, {"rel": "hub", "href": f["hub_url"]})
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
        write_channel_namespace(handler, f["namespace"])

    def write_items(self, handler) -> None:
        if self.item_xml is None:
            super().write_items(handler)
            return
        for fragment in self.item_xml:
            # ignorableWhitespace writes its text unescaped: the fragment is
            # XML this same writer produced (render_item), so the bytes are
            # those write_items would have written.
            handler.ignorableWhitespace(fragment)

    #: Pre-rendered ``<item>`` elements, in feed order; ``None``: write ``self.items``.
    item_xml: Sequence[str] | None = None

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
        if item.get("image_url"):
            handler.addQuickElement("itunes:image", None, {"href": item["image_url"]})
        write_alternates(handler, item["alternates"])
        write_item_namespace(handler, item["namespace"])
        transcripts.write_tags(handler, item["transcripts"])
        add_chapters_element(handler, item)


def add_chapters_element(handler: SimplerXMLGenerator, item: dict) -> None:
    """``<podcast:chapters url type>`` when the episode has chapters.

    https://github.com/Podcastindex-org/podcast-namespace/blob/main/docs/tags/chapters.md
    """
    if item.get("chapters_url"):
        handler.addQuickElement(
            "podcast:chapters", None, {"url": item["chapters_url"], "type": CHAPTERS_TYPE}
        )


def with_has_chapters(episodes: QuerySet[Episode]) -> QuerySet[Episode]:
    """``episodes`` annotated with ``has_chapters`` (a subquery: no extra query per render)."""
    return episodes.annotate(has_chapters=Exists(Chapter.objects.filter(episode=OuterRef("pk"))))


def _chapters_kwargs(episode: Episode, context: ItemContext) -> dict:
    has = getattr(episode, "has_chapters", None)
    if has is None:
        has = episode.chapters.exists()
    # The episode page's chapters.json (feeds.views.chapters_json), built without a query.
    return {"chapters_url": f"{context.page_url}{episode.slug}/chapters.json" if has else ""}


def feed_episodes(podcast: Podcast, now: datetime) -> list[Episode]:
    """The episodes of ``podcast``'s feed at ``now``, newest first, renditions prefetched.

    Three queries whatever the number of episodes (episodes, renditions, transcripts).
    """
    return list(
        with_has_chapters(Episode.objects.in_feed(now).filter(podcast=podcast))
        .order_by("-publish_at", "-pk")
        .prefetch_related(
            Prefetch("renditions", queryset=Rendition.objects.order_by("pk")),
            transcripts.published_prefetch(),
            PERSONS_PREFETCH,
        )
    )


def split_renditions(renditions: Iterable[Rendition]) -> tuple[Rendition, list[Rendition]]:
    """(enclosure, alternates): the primary preset's file, else the first in preset order."""
    ordered = sorted(
        renditions, key=lambda r: (r.preset != _PRIMARY, _PRESET_ORDER.get(r.preset, 99))
    )
    return ordered[0], ordered[1:]


def show_page_url(podcast: Podcast) -> str:
    return f"{settings.PUBLIC_BASE_URL}{podcast.get_absolute_url()}"


@dataclass(frozen=True)
class ItemContext:
    """Everything outside the episode and its renditions that an ``<item>`` contains.

    Part of every item's cache key: a change here (the show's page URL, the
    media storage's public URL, the show's measurement prefix) re-renders
    every item. A new show-level or site-level value that items start to carry
    belongs here.
    """

    page_url: str
    media_url_probe: str
    measurement_prefix: str = ""

    @classmethod
    def of(cls, podcast: Podcast) -> ItemContext:
        return cls(
            show_page_url(podcast), storages["media"].url("probe"), podcast.measurement_prefix
        )

    def enclosure_url(self, url: str) -> str:
        """A media URL as the feed lists it: behind the show's measurement prefix, if any."""
        return measured_url(self.measurement_prefix, url)


def item_revision(episode_id: int, updated_at: datetime, rendition_max_pk, rendition_count):
    """The revision of one episode's item: changes whenever what the item shows can change.

    Every write of an episode's feed fields moves ``updated_at`` (``save`` and
    every transition); renditions are replaced, never edited in place, so a
    new set has a new highest primary key or another count.
    """
    return (episode_id, updated_at, rendition_max_pk, rendition_count)


class ItemCache:
    """Rendered ``<item>`` XML by (context, revision), least recently used out first.

    Bounded by ``FEED_ITEM_CACHE_MAX_BYTES`` (read at each store, so tests can
    change it); safe to share between threads. Per process: a fresh worker
    renders each item once, then only what changed.
    """

    def __init__(self) -> None:
        self._items: OrderedDict[tuple, str] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: tuple) -> str | None:
        with self._lock:
            xml = self._items.get(key)
            if xml is not None:
                self._items.move_to_end(key)
            return xml

    def put(self, key: tuple, xml: str) -> None:
        limit = settings.FEED_ITEM_CACHE_MAX_BYTES
        with self._lock:
            if key in self._items:
                return
            self._items[key] = xml
            self._bytes += len(xml)
            while self._bytes > limit and self._items:
                _old, dropped = self._items.popitem(last=False)
                self._bytes -= len(dropped)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._bytes = 0

    def __len__(self) -> int:
        return len(self._items)


#: The item cache of this process.
ITEM_CACHE = ItemCache()


def item_guid(episode: Episode) -> str:
    """The text of ``episode``'s ``<guid>``: what apps identify the episode by, forever."""
    return episode.guid


def _item_kwargs(episode: Episode, renditions: list[Rendition], context: ItemContext) -> dict:
    media = storages["media"]
    enclosure, alternates = split_renditions(renditions)
    duration = enclosure.duration_seconds or episode.duration_seconds
    html = xml_text(sanitize_html(xml_text(episode.description)))
    return {
        "title": _one_line(episode.title),
        # The episode's own public page (/<show>/<episode>/), built without a query.
        "link": f"{context.page_url}{episode.slug}/",
        "description": html,
        "content_html": html,
        # Verbatim, as the show's earlier host had it for imported episodes.
        "unique_id": item_guid(episode),
        "unique_id_is_permalink": episode.guid_is_permalink,
        "pubdate": episode.publish_at,
        "enclosures": [
            Enclosure(
                # The show's measurement prefix (OP3, Podtrac), if it has one.
                context.enclosure_url(media.url(enclosure.key)),
                str(enclosure.size_bytes),
                enclosure.mime_type,
            )
        ],
        "duration_seconds": round(duration) if duration is not None else None,
        "episode_type": episode.episode_type,
        "season": episode.season,
        "number": episode.number,
        "explicit": episode.explicit,
        "image_url": episode.image.url if episode.image else "",
        # The enclosure's file too, marked default: it carries its integrity hash.
        "alternates": [
            _Alternate.of(r, context.enclosure_url(media.url(r.key)), default=r is enclosure)
            for r in (enclosure, *alternates)
        ],
        "transcripts": transcripts.links(
            f"{context.page_url}{episode.slug}/", episode.transcripts.all()
        ),
        **_chapters_kwargs(episode, context),
        "namespace": item_namespace(episode),
    }


def render_item(episode: Episode, context: ItemContext) -> str:
    """The ``<item>`` of ``episode`` (renditions prefetched), as the feed writer writes it."""
    feed = PodcastFeed(title="", link="", description="")
    feed.add_item(**_item_kwargs(episode, list(episode.renditions.all()), context))
    out = StringIO()
    # The same writer and options as Rss201rev2Feed.write, item by item.
    handler = SimplerXMLGenerator(out, "utf-8", short_empty_elements=True)
    feed.write_items(handler)
    return out.getvalue()


def _revision_of(episode: Episode) -> tuple:
    renditions = list(episode.renditions.all())
    return item_revision(
        episode.pk,
        episode.updated_at,
        max((r.pk for r in renditions), default=None),
        len(renditions),
    )


def feed_items(
    podcast: Podcast, now: datetime, *, cache: ItemCache | None = ITEM_CACHE
) -> list[str]:
    """The ``<item>`` XML of ``podcast``'s feed at ``now``, newest first.

    One query for the revisions; three more only when some item is not cached
    (``cache=None``: render every item). Items are rendered from the rows
    fetched, and cached under those rows' revisions, so an edit racing the
    render is never cached under an older revision.
    """
    context = ItemContext.of(podcast)
    index = list(
        Episode.objects.filter(podcast=podcast, publish_at__lte=now)
        .annotate(rendition_max_pk=Max("renditions__pk"), rendition_count=Count("renditions"))
        .filter(rendition_count__gt=0)
        .order_by("-publish_at", "-pk")
        .values_list("pk", "updated_at", "rendition_max_pk", "rendition_count")
    )
    found: dict[int, str] = {}
    if cache is not None:
        for row in index:
            xml = cache.get((context, item_revision(*row)))
            if xml is not None:
                found[row[0]] = xml
    missing = [row[0] for row in index if row[0] not in found]
    if missing:
        episodes = with_has_chapters(Episode.objects.filter(pk__in=missing)).prefetch_related(
            Prefetch("renditions", queryset=Rendition.objects.order_by("pk")),
            transcripts.published_prefetch(),
            PERSONS_PREFETCH,
        )
        for episode in episodes:
            if not episode.renditions.all():
                continue  # its renditions went away since the index was read
            xml = render_item(episode, context)
            found[episode.pk] = xml
            if cache is not None:
                cache.put((context, _revision_of(episode)), xml)
    return [found[row[0]] for row in index if row[0] in found]


def _feed(podcast: Podcast, *, built_at: datetime) -> PodcastFeed:
    owner_email = _one_line(podcast.owner_email)
    return PodcastFeed(
        title=_one_line(podcast.title),
        link=xml_text(podcast.link) or show_page_url(podcast),
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
        hub_url=settings.WEBSUB_HUB_URL,
        namespace=channel_namespace(podcast),
    )


def write_feed_xml(podcast: Podcast, items: Sequence[str], *, built_at: datetime) -> bytes:
    """The feed XML (UTF-8 bytes): ``podcast``'s channel around ``items`` (:func:`feed_items`)."""
    feed = _feed(podcast, built_at=built_at)
    feed.item_xml = items
    out = BytesIO()
    feed.write(out, "UTF-8")
    return out.getvalue()


def render_feed(podcast: Podcast, episodes: Sequence[Episode], *, built_at: datetime) -> bytes:
    """The feed XML (UTF-8 bytes) of ``podcast`` with ``episodes`` as items, in that order.

    A full render, every item written inline by ``feedgenerator`` (no cache):
    the reference the incremental render is byte-identical to. Pure: no query
    beyond the prefetched renditions and people and the show's Podcasting 2.0
    rows (:func:`feeds.namespace.channel_namespace`), same input → same bytes.
    """
    context = ItemContext.of(podcast)
    feed = _feed(podcast, built_at=built_at)
    for episode in episodes:
        renditions = list(episode.renditions.all())
        if renditions:
            feed.add_item(**_item_kwargs(episode, renditions, context))
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
    integrity: str = ""
    default: bool = False

    @classmethod
    def of(cls, r: Rendition, url: str, *, default: bool = False) -> _Alternate:
        return cls(r.preset, r.mime_type, r.size_bytes, r.bitrate, url, r.integrity, default)


def write_alternates(handler, alternates: Sequence[_Alternate]) -> None:
    """One ``podcast:alternateEnclosure`` per rendition, the enclosure's ``default="true"``.

    https://github.com/Podcastindex-org/podcast-namespace/blob/main/docs/tags/alternate-enclosure.md
    with ``podcast:source`` (source.md) and, for files hashed when recorded,
    ``podcast:integrity`` (integrity.md).
    """
    for alt in alternates:
        attrs = {"type": alt.mime_type, "length": str(alt.size_bytes), "title": alt.preset}
        if alt.bitrate:
            attrs["bitrate"] = str(alt.bitrate)
        if alt.default:
            attrs["default"] = "true"
        handler.startElement("podcast:alternateEnclosure", attrs)
        handler.addQuickElement("podcast:source", None, {"uri": alt.url})
        if alt.integrity:
            handler.addQuickElement(
                "podcast:integrity", None, {"type": "sri", "value": alt.integrity}
            )
        handler.endElement("podcast:alternateEnclosure")


def build_feed(
    podcast: Podcast, *, now: datetime, built_at: datetime | None = None
) -> RenderedFeed:
    """Render ``podcast``'s feed as listeners should see it at ``now``.

    ``built_at`` is written as ``lastBuildDate`` (default ``now``). A constant
    number of queries (at most four) whatever the number of episodes; items
    come from the item cache when their revision is unchanged.
    """
    items = feed_items(podcast, now)
    built_at = built_at or now
    body = write_feed_xml(podcast, items, built_at=built_at)
    return RenderedFeed(body=body, item_count=len(items), built_at=built_at)
