"""Fixtures of the feeds tests: episodes with real rendition files in the media storage."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import storages

from episodes.models import Episode, Rendition
from episodes.presets import PRESETS
from feeds import serving
from feeds.rss import ITEM_CACHE
from tests.servers import app_in_thread


@pytest.fixture(scope="session")
def cover_png() -> bytes:
    """Cover art Apple accepts: a 1400 px square RGB PNG."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (1400, 1400), color=(30, 90, 160)).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture
def make_podcast(make_podcast, cover_png):
    """Shows as directories accept them, with cover art unless ``cover=None``.

    The publish gate refuses a feed without artwork, so every feed test starts
    from a show that could be published.
    """

    def make(*, cover=True, **fields):
        podcast = make_podcast(**fields)
        if cover is True:
            podcast.cover.save("cover.png", ContentFile(cover_png))
        return podcast

    return make


@pytest.fixture(scope="session")
def app_server() -> str:
    """This app, served over real HTTP from a thread for the whole session."""
    with app_in_thread() as url:
        yield url


@pytest.fixture(autouse=True)
def media_served_live(app_server, settings) -> str:
    """Media URLs point at this app's /media/ on a live local server, as on one machine.

    The publish gate sends HEAD to every new enclosure's public URL, so a feed
    test publishes only what a real app could fetch.
    """
    stores = dict(settings.STORAGES)
    stores["media"] = {
        **stores["media"],
        "OPTIONS": {**stores["media"]["OPTIONS"], "base_url": f"{app_server}/media/"},
    }
    settings.STORAGES = stores
    return app_server


@pytest.fixture(autouse=True)
def fresh_feed_cache(settings):
    """No cached feed or item leaks between tests; revalidate on every request."""
    settings.FEED_SERVE_CACHE_SECONDS = 0
    serving.clear_cache()
    ITEM_CACHE.clear()
    yield
    serving.clear_cache()
    ITEM_CACHE.clear()


def write_rendition(episode: Episode, preset_name: str, payload: bytes) -> Rendition:
    """Write ``payload`` into the media storage and record it as a rendition row."""
    preset = next(p for p in PRESETS if p.name == preset_name)
    key = preset.key_for(episode.podcast.slug, str(episode.guid))
    media = storages["media"]
    if media.exists(key):
        media.delete(key)
    saved = media.save(key, ContentFile(payload))
    return Rendition.objects.create(
        episode=episode,
        preset=preset.name,
        key=saved,
        mime_type=preset.mime_type,
        size_bytes=media.size(saved),
        bitrate=preset.bitrate,
        duration_seconds=61.6,
    )


@pytest.fixture
def make_published(make_episode, now):
    """An episode published an hour ago (or at ``publish_at``) with renditions on disk."""

    def make(podcast=None, *, presets=("mp3", "aac", "opus"), publish_at=None, **fields):
        episode = make_episode(podcast, publish_at=publish_at or now - timedelta(hours=1), **fields)
        for i, name in enumerate(presets):
            write_rendition(episode, name, bytes(range(256)) * (40 + i) + name.encode())
        return episode

    return make


def parse_both(body: bytes):
    """The feed as feedparser and gPodder's podcastparser read it."""
    import feedparser
    import podcastparser

    fp = feedparser.parse(body)
    pp = podcastparser.parse("https://example.com/feed.xml", io.BytesIO(body))
    return fp, pp
