"""Fixtures of the transcription tests: an episode whose upload is real synthetic speech."""

from __future__ import annotations

from pathlib import Path

import pytest

from episodes.models import Episode
from tests.transcoding.conftest import put_upload, s3  # noqa: F401  (moto S3 as the storages)
from tests.transcription.speech import speak

# A few sentences of a show's opening: ordinary words, each spoken once or twice.
SPOKEN = (
    "Welcome to the show. Today we talk about gardening in small city apartments. "
    "Tomatoes need plenty of sunlight and regular water. Basil grows well next to them. "
    "Next week we will visit a farmer who grows apples in the mountains."
)


@pytest.fixture(scope="session")
def spoken_wav(tmp_path_factory) -> Path:
    """:data:`SPOKEN` as a WAV file (espeak-ng), made once per session."""
    return speak(SPOKEN, tmp_path_factory.mktemp("speech") / "opening.wav")


@pytest.fixture
def spoken_episode(make_episode, make_podcast, spoken_wav):
    """An ``uploaded`` episode of a show with ``auto_transcribe`` as asked, sourced from speech."""

    def make(*, auto_transcribe: bool = True, language: str = "en", path: Path | None = None):
        podcast = make_podcast(auto_transcribe=auto_transcribe, language=language)
        episode = make_episode(podcast=podcast)
        source = path or spoken_wav
        key = put_upload(episode, source)
        assert episode.mark_uploaded(
            source_key=key, source_bytes=source.stat().st_size, filename=source.name
        )
        return Episode.objects.select_related("podcast").get(pk=episode.pk)

    return make
