"""Chapters written into renditions kept in S3 (moto): fetched, tagged, stored under new keys."""

from __future__ import annotations

import io

import pytest
from mutagen.id3 import ID3

from episodes import pipeline
from episodes.chapters import retag
from episodes.chapters.entries import ChapterEntry
from episodes.models import Chapter, Episode
from tests.transcoding.conftest import generate_audio
from tests.transcoding.conftest import s3 as s3  # the fixture

pytestmark = pytest.mark.slow


def test_renditions_in_s3_are_tagged_under_new_keys(s3, make_episode, tmp_path):
    episode = make_episode()
    source = generate_audio(tmp_path / "talk.wav", content="tone", seconds=4.0)
    key = f"uploads/{episode.podcast.slug}/{episode.guid}/talk.wav"
    s3.put_object(Bucket="show-uploads", Key=key, Body=source.read_bytes())
    episode.mark_uploaded(source_key=key, source_bytes=source.stat().st_size)
    pipeline.process_episode(episode.pk)
    episode.refresh_from_db()
    assert episode.status == Episode.Status.READY, episode.error_message
    untagged = {r.preset: r.key for r in episode.renditions.all()}
    Chapter.objects.replace_for(episode, [ChapterEntry(0, "Intro"), ChapterEntry(2, "Two")])

    assert retag.apply_chapters(episode.pk) == "tagged 2 rendition(s)"

    for rendition in episode.renditions.filter(preset__in=["mp3", "aac"]):
        assert rendition.key != untagged[rendition.preset]
        head = s3.head_object(Bucket="show-media", Key=rendition.key)
        assert head["ContentType"] == rendition.mime_type
        assert head["ContentLength"] == rendition.size_bytes
    mp3 = episode.renditions.get(preset="mp3")
    body = s3.get_object(Bucket="show-media", Key=mp3.key)["Body"].read()
    chaps = ID3(io.BytesIO(body)).getall("CHAP")
    assert sorted((c.start_time, c.sub_frames["TIT2"].text[0]) for c in chaps) == [
        (0, "Intro"),
        (2000, "Two"),
    ]
    # The untagged objects are still there, unchanged.
    for key in untagged.values():
        s3.head_object(Bucket="show-media", Key=key)
