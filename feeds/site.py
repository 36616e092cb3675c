"""The public site's content, request-free: what of a show listeners may see, and its metadata.

Only what is published leaks: a show's episodes are those of its feed at
``now`` (renditions, ``publish_at`` passed); drafts, scheduled episodes and the
private fields (owner name and e-mail, processing details) never reach a page.
Views in :mod:`feeds.views` render these; :mod:`feeds.pages` caches them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from html import unescape
from urllib.parse import urlencode, urlsplit

import nh3
from django.conf import settings
from django.core.paginator import EmptyPage, Page, PageNotAnInteger, Paginator
from django.db.models import Count, Max, Prefetch, QuerySet
from django.urls import reverse

from episodes.chapters.entries import ChapterEntry, within
from episodes.chapters.json_format import chapters_document
from episodes.chapters.json_format import dumps as json_dumps
from episodes.models import Chapter as ChapterRow
from episodes.models import Episode, Podcast, Rendition
from feeds.rss import split_renditions
from feeds.transcripts import player_transcript


@dataclass(frozen=True)
class Chapter:
    """A chapter of an episode: where it starts and its title."""

    start_seconds: float
    title: str


@dataclass(frozen=True)
class Cue:
    """One timed line of a transcript."""

    start_seconds: float
    end_seconds: float
    text: str
    speaker: str = ""


def chapters_for(episode: Episode) -> list[Chapter]:
    """The episode's listed chapters in order, those that start within its audio.

    The player renders whatever this returns: the page's chapter list and
    the embed's chapter menu. Silent chapters (``toc`` off) are not listed.
    """
    return [Chapter(c.start_seconds, c.title) for c in public_chapters(episode) if c.toc]


def public_chapters(episode: Episode) -> list[ChapterEntry]:
    """The chapters listeners get (JSON, player): those that start before the audio ends.

    A chapter left past the end by shorter new audio stays stored (the admin
    warns about it) but is not served.
    """
    rows = [c.as_entry() for c in ChapterRow.objects.of(episode.pk)]
    if not rows:
        return []
    duration = duration_of(episode) if episode.renditions.all() else episode.duration_seconds
    return within(rows, duration)


def chapters_json(podcast: Podcast, episode: Episode) -> bytes:
    """The JSON chapters file of a published episode (``application/json+chapters``)."""
    document = chapters_document(
        public_chapters(episode), title=episode.title, podcast_name=podcast.title
    )
    return json_dumps(document)


def transcript_for(episode: Episode) -> list[Cue]:
    """The cues of the episode's published timed transcript, in order; ``[]`` if it has none.

    In the show's language when there are several; a plain-text transcript
    has no times to follow playback with, so the page shows none (apps get
    its text file from the feed).
    """
    transcript = player_transcript(episode)
    if transcript is None:
        return []
    return [
        Cue(start_seconds=c.start, end_seconds=c.end, text=c.text, speaker=c.speaker)
        for c in transcript.cue_list()
        if c.timed
    ]


def absolute_url(path: str) -> str:
    """``path`` on the site's public origin (``PUBLIC_BASE_URL``): canonical links, og:url."""
    return f"{settings.PUBLIC_BASE_URL}{path}"


def plain_text(html: str, limit: int | None = None) -> str:
    """Show notes as one line of text (social previews, JSON-LD), cut at a word near ``limit``."""
    text = " ".join(unescape(nh3.clean(html or "", tags=set())).split())
    if limit and len(text) > limit:
        text = text[: limit - 1].rsplit(" ", 1)[0] + "…"
    return text


def site_version(slug: str) -> tuple | None:
    """One indexed query telling whether anything a page shows may have changed; ``None``: no show.

    Every admin save bumps the show's or an episode's ``updated_at`` and every
    status change writes the episode's; a deletion changes the count.
    """
    return (
        Podcast.objects.filter(slug=slug)
        .annotate(latest=Max("episodes__updated_at"), total=Count("episodes"))
        .values_list("pk", "updated_at", "latest", "total")
        .first()
    )


def public_episodes(podcast: Podcast, now: datetime) -> QuerySet[Episode]:
    """The show's published episodes in its order: newest first, or oldest first when serial."""
    order = ("publish_at", "pk") if podcast.show_type == Podcast.ShowType.SERIAL else None
    return (
        Episode.objects.in_feed(now)
        .filter(podcast=podcast)
        .order_by(*(order or ("-publish_at", "-pk")))
        .prefetch_related(Prefetch("renditions", queryset=Rendition.objects.order_by("pk")))
    )


def episode_page(podcast: Podcast, number: str | int | None, now: datetime) -> Page | None:
    """Page ``number`` (1-based) of the episode list; ``None`` for a page that does not exist.

    Page 1 always exists, empty for a show with nothing published yet.
    """
    paginator = Paginator(
        public_episodes(podcast, now), settings.SITE_EPISODES_PER_PAGE, allow_empty_first_page=True
    )
    try:
        return paginator.page(number or 1)
    except (EmptyPage, PageNotAnInteger):
        return None


def public_episode(podcast: Podcast, episode_slug: str, now: datetime) -> Episode | None:
    """The published episode ``episode_slug`` of ``podcast``; ``None`` if unpublished or unknown."""
    return public_episodes(podcast, now).filter(slug=episode_slug).first()


def latest_episode(podcast: Podcast, now: datetime) -> Episode | None:
    """The most recently published episode, whatever the show's order."""
    return public_episodes(podcast, now).order_by("-publish_at", "-pk").first()


def next_publication_at(podcast: Podcast, now: datetime) -> datetime | None:
    """When the next scheduled episode appears (pages showing the list expire then)."""
    return (
        Episode.objects.filter(podcast=podcast, publish_at__gt=now, renditions__isnull=False)
        .order_by("publish_at")
        .values_list("publish_at", flat=True)
        .first()
    )


def enclosure_of(episode: Episode) -> Rendition:
    """The file the player plays: the primary rendition (MP3), else the first in preset order."""
    return split_renditions(episode.renditions.all())[0]


def duration_of(episode: Episode) -> float | None:
    rendition = enclosure_of(episode)
    return rendition.duration_seconds or episode.duration_seconds


def iso_duration(seconds: float | None) -> str:
    """``3725.4`` → ``"PT1H2M5S"`` (ISO 8601, as schema.org wants); ``None`` → ``""``."""
    if seconds is None:
        return ""
    hours, rest = divmod(round(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    return "PT" + (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes else "") + f"{secs}S"


def _series(podcast: Podcast) -> dict:
    data = {
        "@type": "PodcastSeries",
        "name": podcast.title,
        "url": absolute_url(podcast.get_absolute_url()),
        "webFeed": podcast.feed_url,
        "description": plain_text(podcast.description),
        "inLanguage": podcast.language,
    }
    if podcast.author:
        data["author"] = {"@type": "Person", "name": podcast.author}
    if podcast.cover:
        data["image"] = podcast.cover.url
    return data


def series_jsonld(podcast: Podcast) -> dict:
    """schema.org ``PodcastSeries`` of the show: https://schema.org/PodcastSeries"""
    return {"@context": "https://schema.org", **_series(podcast)}


def episode_jsonld(episode: Episode) -> dict:
    """schema.org ``PodcastEpisode``: https://schema.org/PodcastEpisode"""
    podcast = episode.podcast
    enclosure = enclosure_of(episode)
    data = {
        "@context": "https://schema.org",
        "@type": "PodcastEpisode",
        "name": episode.title,
        "url": absolute_url(episode.get_absolute_url()),
        "datePublished": episode.publish_at.isoformat(),
        "description": plain_text(episode.description),
        "associatedMedia": {
            "@type": "MediaObject",
            "contentUrl": enclosure.url,
            "encodingFormat": enclosure.mime_type,
            "contentSize": str(enclosure.size_bytes),
        },
        "partOfSeries": _series(podcast),
    }
    duration = iso_duration(duration_of(episode))
    if duration:
        data["timeRequired"] = duration
        data["associatedMedia"]["duration"] = duration
    if episode.number:
        data["episodeNumber"] = episode.number
    if episode.season:
        data["partOfSeason"] = {"@type": "PodcastSeason", "seasonNumber": episode.season}
    if podcast.cover:
        data["image"] = podcast.cover.url
    return data


# Inside <script>, "</script>" or "<!--" in a title would end or confuse the
# block: escape the characters HTML cares about, as Django's json_script does.
_SCRIPT_ESCAPES = {ord("<"): "\\u003C", ord(">"): "\\u003E", ord("&"): "\\u0026"}


def script_json(data: dict) -> str:
    """``data`` as JSON that is safe to place verbatim inside a ``<script>`` element."""
    return json.dumps(data, ensure_ascii=False, sort_keys=True).translate(_SCRIPT_ESCAPES)


def embed_path(podcast: Podcast, episode: Episode | None = None) -> str:
    """The player's path: one episode's, or the show's latest episode's."""
    if episode is None:
        return reverse("feeds:embed_latest", kwargs={"slug": podcast.slug})
    return reverse("feeds:embed", kwargs={"slug": podcast.slug, "episode_slug": episode.slug})


def oembed_discovery_url(page_url: str) -> str:
    """The oEmbed URL of a page, for ``<link rel="alternate" type="application/json+oembed">``."""
    query = urlencode({"url": page_url, "format": "json"})
    return f"{absolute_url(reverse('feeds:oembed'))}?{query}"


def clock(seconds: float | None) -> str:
    """``3725.4`` → ``"1:02:05"``, ``75`` → ``"1:15"``; ``None`` → ``""``."""
    if seconds is None:
        return ""
    hours, rest = divmod(round(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def open_in_app_url(podcast: Podcast) -> str:
    """The feed as a ``podcast://`` link, which podcast apps register to subscribe."""
    parts = urlsplit(podcast.feed_url)
    return f"podcast://{parts.netloc}{parts.path}"


@dataclass(frozen=True)
class EpisodeItem:
    """One row of a show's episode list."""

    episode: Episode
    url: str
    duration: str
    summary: str


def _head(podcast: Podcast, page_url: str, description: str) -> dict:
    return {
        "podcast": podcast,
        "canonical_url": page_url,
        "description": description,
        "feed_url": podcast.feed_url,
        "cover_url": podcast.cover.url if podcast.cover else "",
        "oembed_url": oembed_discovery_url(page_url),
    }


def show_context(podcast: Podcast, page: Page) -> dict:
    """Template context of ``feeds/show.html`` for one page of the episode list."""
    path = podcast.get_absolute_url()
    page_url = absolute_url(path if page.number == 1 else f"{path}?page={page.number}")
    items = [
        EpisodeItem(
            episode=e,
            url=e.get_absolute_url(),
            duration=clock(duration_of(e)),
            summary=plain_text(e.description, 240),
        )
        for e in page.object_list
    ]
    return {
        **_head(podcast, page_url, plain_text(podcast.description, 300)),
        "page": page,
        "items": items,
        "directory_links": podcast.directory_links(),
        "open_in_app_url": open_in_app_url(podcast),
        "jsonld": script_json(series_jsonld(podcast)),
        "embed_url": absolute_url(embed_path(podcast)),
    }


def episode_context(podcast: Podcast, episode: Episode) -> dict:
    """Template context of ``feeds/episode.html`` and ``feeds/embed.html``."""
    episode.podcast = podcast  # one show, already loaded
    page_url = absolute_url(episode.get_absolute_url())
    chapters = chapters_for(episode)
    transcript = transcript_for(episode)
    return {
        **_head(podcast, page_url, plain_text(episode.description, 300)),
        "episode": episode,
        "enclosure": enclosure_of(episode),
        "duration": clock(duration_of(episode)),
        "duration_iso": iso_duration(duration_of(episode)),
        "chapters": [(c, clock(c.start_seconds)) for c in chapters],
        "transcript": [(c, clock(c.start_seconds)) for c in transcript],
        "jsonld": script_json(episode_jsonld(episode)),
        "embed_url": absolute_url(embed_path(podcast, episode)),
    }
