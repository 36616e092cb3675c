"""Fixtures of the chapters tests: ready episodes with renditions the real transcoder made."""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.files.storage import storages

from episodes import pipeline
from episodes.models import Episode
from episodes.probe import ffmpeg_binary
from tests.feeds.conftest import (  # noqa: F401  (fixtures)
    app_server,
    cover_png,
    fresh_feed_cache,
    make_podcast,
    make_published,
    media_served_live,
)
from tests.transcoding.conftest import generate_audio, put_upload

COPY_TO_MD5 = ("-map", "0:a", "-c", "copy", "-f", "md5", "-")
#: Seconds of the tone every ready episode gets.
AUDIO_SECONDS = 8.0


def chapters_file(*chapters: dict, **extra) -> bytes:
    """A JSON chapters file (version 1.2.0) with ``chapters``."""
    return json.dumps({"version": "1.2.0", "chapters": list(chapters), **extra}).encode()


THREE = chapters_file(
    {"startTime": 0, "title": "Intro"},
    {"startTime": 2.5, "title": "The interview", "url": "https://example.com/guest"},
    {"startTime": 5, "title": "Listener mail", "img": "https://example.com/mail.jpg"},
)


@pytest.fixture(scope="session")
def tone_wav(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("tone")
    return generate_audio(folder / "tone.wav", content="tone", seconds=AUDIO_SECONDS)


@pytest.fixture
def ready_episode(make_podcast, make_episode, tone_wav, now):  # noqa: F811
    """A published episode processed by the real ffmpeg transcoder (MP3, M4A, Ogg)."""

    def make(podcast=None, *, audio: Path | None = None, **fields) -> Episode:
        fields.setdefault("publish_at", now - timedelta(hours=1))
        episode = make_episode(podcast or make_podcast(), **fields)
        source = audio or tone_wav
        key = put_upload(episode, source)
        assert episode.mark_uploaded(source_key=key, source_bytes=source.stat().st_size)
        assert pipeline.process_episode(episode.pk).endswith("ready")
        episode.refresh_from_db()
        return episode

    return make


def rendition_path(episode: Episode, preset: str) -> Path:
    return Path(storages["media"].path(episode.renditions.get(preset=preset).key))


@dataclass(frozen=True)
class FileChapter:
    start_seconds: float
    end_seconds: float
    title: str


def ffmpeg_chapters(path: Path) -> list[FileChapter]:
    """The chapters ffmpeg reads from ``path`` (its FFMETADATA dump's [CHAPTER] blocks)."""
    out = subprocess.run(
        [ffmpeg_binary(), "-v", "error", "-nostdin", "-i", str(path), "-f", "ffmetadata", "-"],
        capture_output=True,
        check=True,
        timeout=60,
    ).stdout.decode()
    chapters = []
    for block in out.split("[CHAPTER]")[1:]:
        fields = dict(line.split("=", 1) for line in block.strip().splitlines() if "=" in line)
        num, den = (int(x) for x in fields["TIMEBASE"].split("/"))
        title = re.sub(r"\\(.)", r"\1", fields.get("title", ""))
        chapters.append(
            FileChapter(int(fields["START"]) * num / den, int(fields["END"]) * num / den, title)
        )
    return chapters


def audio_packets_md5(path: Path) -> str:
    """MD5 of the file's encoded audio packets, copied out (no decoding, no tags)."""
    out = subprocess.run(
        [ffmpeg_binary(), "-v", "error", "-nostdin", "-i", str(path), *COPY_TO_MD5],
        capture_output=True,
        check=True,
        timeout=60,
    ).stdout.decode()
    return out.strip()


def container_duration(path: Path) -> float:
    err = subprocess.run(
        [ffmpeg_binary(), "-hide_banner", "-nostdin", "-i", str(path)],
        capture_output=True,
        check=False,
        timeout=60,
    ).stderr.decode()
    h, m, s = re.search(r"Duration: (\d+):(\d+):([\d.]+)", err).groups()
    return int(h) * 3600 + int(m) * 60 + float(s)
