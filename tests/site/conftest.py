"""Fixtures of the public-site tests: published episodes, real audio and covers, fresh caches."""

from __future__ import annotations

import io
import subprocess
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from PIL import Image

from episodes.models import Episode, Rendition
from episodes.presets import get_preset
from episodes.probe import ffmpeg_binary
from feeds import pages, serving
from tests.feeds.conftest import write_rendition


@pytest.fixture(autouse=True)
def fresh_site_caches(settings):
    """No cached page or feed leaks between tests; revalidate on every request."""
    settings.FEED_SERVE_CACHE_SECONDS = 0
    pages.clear_cache()
    serving.clear_cache()
    yield
    pages.clear_cache()
    serving.clear_cache()


@pytest.fixture
def publish(make_episode, now):
    """``publish(podcast, **fields)``: an episode published an hour ago with small renditions."""

    def make(podcast=None, *, publish_at=None, presets=("mp3", "aac"), **fields) -> Episode:
        episode = make_episode(podcast, publish_at=publish_at or now - timedelta(hours=1), **fields)
        for i, name in enumerate(presets):
            write_rendition(episode, name, bytes(range(256)) * (40 + i) + name.encode())
        return episode

    return make


def cover_png(side: int = 1400, color=(40, 90, 200)) -> bytes:
    """A real square RGB PNG, as the admin accepts for cover art."""
    image = Image.new("RGB", (side, side), color)
    for x in range(0, side, side // 7):
        for y in range(0, side, side // 7):
            image.paste((240, 200, 60), (x, y, x + side // 14, y + side // 14))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def give_cover(podcast) -> None:
    podcast.cover.save("cover.png", ContentFile(cover_png()), save=True)


def real_mp3(seconds: int = 30) -> bytes:
    """A real MP3 made by ffmpeg: a tone whose pitch changes every 10 s (easy to seek and hear)."""
    result = subprocess.run(
        [
            ffmpeg_binary(),
            "-v",
            "error",
            "-nostdin",
            "-f",
            "lavfi",
            "-i",
            f"sine=frequency=440:duration={seconds}:sample_rate=44100",
            "-c:a",
            "libmp3lame",
            "-b:a",
            "64k",
            "-f",
            "mp3",
            "-",
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return result.stdout


def attach_real_audio(episode: Episode, seconds: int = 30) -> Rendition:
    """Give ``episode`` a real, playable MP3 rendition in the media storage."""
    preset = get_preset("mp3")
    media = storages["media"]
    key = media.save(
        preset.key_for(episode.podcast.slug, str(episode.guid)), ContentFile(real_mp3(seconds))
    )
    return Rendition.objects.create(
        episode=episode,
        preset="mp3",
        key=key,
        mime_type=preset.mime_type,
        size_bytes=media.size(key),
        bitrate=64_000,
        duration_seconds=float(seconds),
    )
