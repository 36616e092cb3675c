"""Our own feed validator: the rules of the issue and of feed-standards.md §8, checked by parsing.

:func:`validate_podcast_feed` renders a show's feed as it would be published
and returns every problem found (an empty list means none). Checks that need
the files (cover art, enclosure sizes) read them from the media storage.
"""

from __future__ import annotations

import email.utils
import re
import uuid

# ElementTree parses only the feed we rendered ourselves, never outside input.
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta
from io import BytesIO
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.core.files.storage import storages
from django.utils import timezone

from episodes import categories
from episodes.artwork import validate_cover_art
from episodes.chapters.entries import format_timestamp
from episodes.chapters.json_format import CONTENT_TYPE as CHAPTERS_TYPE
from episodes.guids import podcast_guid_for
from episodes.models import Podcast, language_validator
from episodes.presets import PRESETS
from feeds.rss import NAMESPACES, build_feed
from feeds.validation_namespace import check_channel_namespace, check_item_namespace

NS = NAMESPACES
_TYPES = {p.extension: p.mime_type for p in PRESETS}
_PRIMARY = next(p.name for p in PRESETS if p.primary)
_ASCII_URL = re.compile(r"^https?://[\x21-\x7e]+$")


def _q(tag: str) -> str:
    prefix, _, name = tag.partition(":")
    return f"{{{NS[prefix]}}}{name}" if name else tag


def _date(value: str | None) -> datetime | None:
    try:
        return email.utils.parsedate_to_datetime(value or "")
    except (TypeError, ValueError):
        return None


def _declared_namespaces(body: bytes) -> dict[str, str]:
    declared = {}
    for _event, (prefix, uri) in ET.iterparse(BytesIO(body), events=("start-ns",)):  # noqa: S314
        declared[prefix] = uri
    return declared


def check_feed_xml(body: bytes, *, feed_url: str, now: datetime) -> list[str]:
    """Problems in a rendered feed (XML bytes), without looking at any file."""
    problems: list[str] = []
    if not body.startswith(b'<?xml version="1.0" encoding="UTF-8"?>'):
        problems.append('The feed does not start with <?xml version="1.0" encoding="UTF-8"?>.')
    try:
        declared = _declared_namespaces(body)
        root = ET.fromstring(body)  # noqa: S314
    except ET.ParseError as exc:
        return [*problems, f"The feed is not well-formed XML: {exc}."]
    for prefix, uri in NS.items():
        if declared.get(prefix) != uri:
            problems.append(f"Namespace {prefix}: is not declared as {uri}.")
    if root.tag != "rss" or root.get("version") != "2.0":
        problems.append('The root element is not <rss version="2.0">.')
    channels = root.findall("channel")
    if len(channels) != 1:
        return [*problems, "The feed must have exactly one <channel>."]
    channel = channels[0]

    def text(parent, tag: str) -> str | None:
        el = parent.find(_q(tag))
        return None if el is None else (el.text or "")

    for tag in ("title", "link", "description", "language", "lastBuildDate", "generator"):
        if not (text(channel, tag) or "").strip():
            problems.append(f"Channel: <{tag}> is missing or empty.")
    title = text(channel, "title") or ""
    if len(title) > 255 or title != title.strip():
        problems.append("Channel: <title> is longer than 255 characters or has outer spaces.")
    if len((text(channel, "description") or "").encode()) > 4000:
        problems.append("Channel: <description> is longer than 4000 bytes (Apple's limit).")
    language = text(channel, "language") or ""
    try:
        language_validator(language)
    except ValidationError:
        problems.append(f"Channel: <language> “{language}” is not a language tag.")
    if _date(text(channel, "lastBuildDate")) is None:
        problems.append("Channel: <lastBuildDate> is not an RFC 2822 date.")
    selves = [el for el in channel.findall(_q("atom:link")) if el.get("rel") == "self"]
    if not selves or selves[0].get("href") != feed_url:
        problems.append(f'Channel: <atom:link rel="self"> must point to {feed_url}.')
    image = channel.find(_q("itunes:image"))
    if image is None or not image.get("href"):
        problems.append("Channel: <itunes:image> is missing (upload cover art).")
    cats = channel.findall(_q("itunes:category"))
    if not cats:
        problems.append("Channel: <itunes:category> is missing.")
    valid = set(categories.all_values())
    for cat in cats:
        subs = cat.findall(_q("itunes:category"))
        value = cat.get("text", "")
        if subs:
            value += categories.SEPARATOR + (subs[0].get("text") or "")
        if value not in valid:
            problems.append(f"Channel: itunes:category “{value}” is not in Apple's list.")
    if text(channel, "itunes:explicit") not in ("true", "false"):
        problems.append("Channel: <itunes:explicit> must be true or false.")
    if not (text(channel, "itunes:author") or "").strip():
        problems.append("Channel: <itunes:author> is missing.")
    owner = channel.find(_q("itunes:owner"))
    if owner is None or not (text(owner, "itunes:email") or "").strip():
        problems.append("Channel: <itunes:owner> with <itunes:email> is missing.")
    if text(channel, "itunes:type") not in ("episodic", "serial"):
        problems.append("Channel: <itunes:type> must be episodic or serial.")
    guid = text(channel, "podcast:guid") or ""
    try:
        if uuid.UUID(guid) != podcast_guid_for(feed_url):
            problems.append(
                "Channel: <podcast:guid> is not the UUIDv5 of the feed URL "
                "(legitimate only for a show imported from another host)."
            )
    except ValueError:
        problems.append("Channel: <podcast:guid> is missing or not a UUID.")
    locked = channel.find(_q("podcast:locked"))
    if locked is None or locked.text not in ("yes", "no"):
        problems.append("Channel: <podcast:locked> must be yes or no.")

    problems.extend(check_channel_namespace(channel, item_count=len(channel.findall("item"))))
    serial = channel.findtext(_q("itunes:type")) == "serial"
    problems.extend(_check_items(channel, now, serial=serial))
    return problems


def _check_items(channel, now: datetime, *, serial: bool = False) -> list[str]:
    problems: list[str] = []
    guids: set[str] = set()
    urls: set[str] = set()
    previous: datetime | None = None
    for n, item in enumerate(channel.findall("item"), 1):
        where = f"Item {n}"
        title = item.findtext("title") or ""
        if not title.strip():
            problems.append(f"{where}: <title> is missing.")
        where = f"Item {n} “{title[:40]}”"
        guid = item.find("guid")
        if guid is None or not (guid.text or "").strip():
            problems.append(f"{where}: <guid> is missing.")
        else:
            if guid.get("isPermaLink") != "false":
                problems.append(f'{where}: <guid> needs isPermaLink="false" (it is not a URL).')
            if guid.text in guids:
                problems.append(f"{where}: duplicate <guid> {guid.text}.")
            guids.add(guid.text)
        published = _date(item.findtext("pubDate"))
        if published is None:
            problems.append(f"{where}: <pubDate> is missing or not an RFC 2822 date.")
        else:
            if published > now + timedelta(days=1):
                problems.append(f"{where}: <pubDate> is more than a day in the future.")
            if previous is not None and published > previous:
                problems.append(f"{where}: items are not newest first.")
            previous = published
        enclosures = item.findall("enclosure")
        if len(enclosures) != 1:
            problems.append(f"{where}: needs exactly one <enclosure>.")
        for enc in enclosures:
            url, length, mime = enc.get("url", ""), enc.get("length", ""), enc.get("type", "")
            if not _ASCII_URL.match(url):
                problems.append(f"{where}: enclosure URL is not an ASCII http(s) URL.")
            ext = urlsplit(url).path.rsplit(".", 1)[-1].lower() if "." in url else ""
            if ext not in _TYPES:
                problems.append(f"{where}: enclosure URL has no audio file extension.")
            elif _TYPES[ext] != mime:
                problems.append(f"{where}: enclosure type {mime} does not match .{ext}.")
            if not length.isdigit() or int(length) <= 0:
                problems.append(f"{where}: enclosure length must be the size in bytes (> 0).")
            if url in urls:
                problems.append(f"{where}: duplicate enclosure URL (Apple ignores it).")
            urls.add(url)
        duration = item.findtext(_q("itunes:duration"))
        if duration is None or not duration.isdigit():
            problems.append(f"{where}: <itunes:duration> must be whole seconds.")
        if item.findtext(_q("itunes:episodeType")) not in ("full", "trailer", "bonus"):
            problems.append(f"{where}: <itunes:episodeType> must be full, trailer or bonus.")
        if item.findtext(_q("itunes:explicit")) not in ("true", "false"):
            problems.append(f"{where}: <itunes:explicit> must be true or false.")
        if serial and item.findtext(_q("itunes:episode")) is None:
            # Apple: a serial show needs <itunes:episode> on every episode.
            problems.append(f"{where}: a serial show needs <itunes:episode> (set its number).")
        for tag in ("itunes:season", "itunes:episode"):
            value = item.findtext(_q(tag))
            if value is not None and (not value.isdigit() or int(value) < 1):
                problems.append(f"{where}: <{tag}> must be a positive integer.")
        for alt in item.findall(_q("podcast:alternateEnclosure")):
            if not alt.get("type") or alt.find(_q("podcast:source")) is None:
                problems.append(f"{where}: podcast:alternateEnclosure needs a type and a source.")
        problems.extend(_check_transcripts(item, where))
        problems.extend(_check_chapters_tag(item, where))
        problems.extend(check_item_namespace(item, where))
    return problems


# The types the tag's documentation lists:
# https://github.com/Podcastindex-org/podcast-namespace/blob/main/docs/tags/transcript.md
TRANSCRIPT_TYPES = frozenset(
    {"text/plain", "text/html", "text/vtt", "application/json", "application/x-subrip"}
)


def _check_transcripts(item, where: str) -> list[str]:
    """``<podcast:transcript url type [language] [rel]>`` as the namespace documents it."""
    problems: list[str] = []
    seen: set[str] = set()
    for tag in item.findall(_q("podcast:transcript")):
        url, mime = tag.get("url", ""), tag.get("type", "")
        if not _ASCII_URL.match(url):
            problems.append(f"{where}: podcast:transcript url is not an ASCII http(s) URL.")
        elif url in seen:
            problems.append(f"{where}: podcast:transcript {url} is listed twice.")
        seen.add(url)
        if mime not in TRANSCRIPT_TYPES:
            problems.append(
                f"{where}: podcast:transcript type “{mime}” is not one of "
                f"{', '.join(sorted(TRANSCRIPT_TYPES))}."
            )
        language = tag.get("language")
        if language is not None:
            try:
                language_validator(language)
            except ValidationError:
                problems.append(
                    f"{where}: podcast:transcript language “{language}” is not a language tag."
                )
        rel = tag.get("rel")
        if rel is not None and rel != "captions":
            problems.append(f'{where}: podcast:transcript rel must be "captions" or absent.')
        if rel == "captions" and mime in ("text/plain", "text/html"):
            problems.append(
                f'{where}: podcast:transcript rel="captions" needs a timed type (VTT, SRT, JSON).'
            )
    return problems


def _check_chapters_tag(item, where: str) -> list[str]:
    """``<podcast:chapters>``: at most one, with an http(s) ``url`` and the JSON chapters type.

    https://github.com/Podcastindex-org/podcast-namespace/blob/main/docs/tags/chapters.md
    """
    tags = item.findall(_q("podcast:chapters"))
    problems = []
    if len(tags) > 1:
        problems.append(f"{where}: more than one <podcast:chapters>.")
    for tag in tags:
        if not _ASCII_URL.match(tag.get("url", "")):
            problems.append(f"{where}: <podcast:chapters> url is not an ASCII http(s) URL.")
        if tag.get("type") != CHAPTERS_TYPE:
            problems.append(f"{where}: <podcast:chapters> type must be {CHAPTERS_TYPE}.")
    return problems


def check_chapter_times(podcast: Podcast, *, now: datetime) -> list[str]:
    """Published episodes with chapters that start after the end of their (new) audio.

    Such chapters stay stored but are served nowhere; the creator should move
    or delete them. Three queries whatever the number of episodes.
    """
    from episodes.models import Episode

    episodes = (
        Episode.objects.in_feed(now)
        .filter(podcast=podcast, chapters__isnull=False)
        .distinct()
        .order_by("-publish_at", "-pk")
        .prefetch_related("renditions", "chapters")
    )
    problems = []
    for episode in episodes:
        renditions = sorted(episode.renditions.all(), key=lambda r: r.preset != _PRIMARY)
        duration = (renditions[0].duration_seconds if renditions else None) or (
            episode.duration_seconds
        )
        if duration is None:
            continue
        late = [c for c in episode.chapters.all() if c.start_seconds >= duration]
        if late:
            names = ", ".join(
                f"“{c.title[:40]}” at {format_timestamp(c.start_seconds)}"
                for c in sorted(late, key=lambda c: c.start_seconds)
            )
            problems.append(
                f"Item “{episode.title[:40]}”: {len(late)} chapter(s) start after the end of "
                f"the audio ({format_timestamp(duration)}) and are left out: {names}."
            )
    return problems


def check_cover_art(podcast: Podcast) -> list[str]:
    """Problems with the show's cover art file (Apple's size, shape and format rules)."""
    if not podcast.cover:
        return []
    try:
        with podcast.cover.open("rb") as f:
            validate_cover_art(f)
    except FileNotFoundError:
        return ["Cover art: the file is missing from the media storage."]
    except ValidationError as exc:
        return [f"Cover art: {m}" for m in exc.messages]
    return []


def check_files(podcast: Podcast, body: bytes) -> list[str]:
    """Problems with the files the feed points at: cover art and enclosure sizes."""
    problems: list[str] = check_cover_art(podcast)
    media = storages["media"]
    by_url = {}
    for rendition in _renditions(podcast):
        by_url[media.url(rendition.key)] = rendition
    root = ET.fromstring(body)  # noqa: S314
    for enc in root.iter("enclosure"):
        rendition = by_url.get(enc.get("url"))
        if rendition is None:
            continue
        try:
            real = media.size(rendition.key)
        except (FileNotFoundError, OSError):
            problems.append(
                f"Enclosure {rendition.key}: the file is missing from the media storage."
            )
            continue
        if str(real) != enc.get("length"):
            problems.append(
                f"Enclosure {rendition.key}: length {enc.get('length')} "
                f"but the file has {real} bytes."
            )
    return problems


def _renditions(podcast: Podcast):
    from episodes.models import Rendition

    return Rendition.objects.filter(episode__podcast=podcast)


def validate_podcast_feed(podcast: Podcast, *, now: datetime | None = None) -> list[str]:
    """Every problem of ``podcast``'s feed as it would be published at ``now``."""
    now = now or timezone.now()
    rendered = build_feed(podcast, now=now)
    problems = check_feed_xml(rendered.body, feed_url=podcast.feed_url, now=now)
    if not problems or "well-formed" not in problems[-1]:
        problems.extend(check_files(podcast, rendered.body))
    problems.extend(check_chapter_times(podcast, now=now))
    return problems


def links_use_public_base_url() -> bool:
    """Whether feeds link to ``PUBLIC_BASE_URL`` (media or feed URLs served by this app)."""
    from django.conf import settings

    base = f"{settings.PUBLIC_BASE_URL}/"
    media = storages["media"].url("x")
    return media.startswith(base) or f"{settings.FEED_BASE_URL}/".startswith(base)
