"""Fixtures of the transcript tests: published episodes with real files, fresh caches."""

from __future__ import annotations

from pathlib import Path

import pytest

from episodes.models import Transcript
from episodes.transcripts.formats import parse_transcript
from feeds import pages
from feeds.transcripts import FILE_CACHE
from tests.feeds.conftest import (  # noqa: F401  (fixtures, re-used as they are)
    app_server,
    cover_png,
    fresh_feed_cache,
    make_podcast,
    make_published,
    media_served_live,
)

FILES = Path(__file__).parent / "files"


@pytest.fixture(autouse=True)
def fresh_page_cache():
    pages.clear_cache()
    FILE_CACHE.clear()
    yield
    pages.clear_cache()
    FILE_CACHE.clear()


@pytest.fixture
def attach():
    """``attach(episode, name, language)``: a published upload of a file in ``files/``."""

    def make(episode, name: str = "lighthouse.vtt", language: str = "en") -> Transcript:
        parsed = parse_transcript((FILES / name).read_bytes(), name)
        return Transcript.objects.attach(
            episode, language=language, cues=parsed.cues, timed=parsed.timed, source_filename=name
        )

    return make


@pytest.fixture
def draft():
    """``draft(episode, cues)``: an automatic transcript as the transcriber leaves it."""

    def make(episode, cues, language: str = "en") -> Transcript:
        from episodes.transcripts.cues import cues_to_json

        return Transcript.objects.create(
            episode=episode,
            language=language,
            origin=Transcript.Origin.AUTOMATIC,
            status=Transcript.Status.DRAFT,
            cues=cues_to_json(cues),
        )

    return make
