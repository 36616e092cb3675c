"""Chapters written into real renditions: ID3 CHAP/CTOC in the MP3, chapter track in the M4A.

The renditions are the real ffmpeg transcoder's; the tags are read back with
mutagen and ffmpeg. The audio is copied, never re-encoded: its packets hash
the same before and after. Each change stores a new file under a new key.
"""

from __future__ import annotations

import io
from pathlib import Path

import feedparser
import pytest
from django.core.files.storage import storages
from mutagen.id3 import ID3
from mutagen.mp3 import MP3

from episodes.chapters import retag
from episodes.chapters.entries import ChapterEntry
from episodes.chapters.files import base_key_of
from episodes.models import Chapter, Episode
from feeds.models import FeedState
from feeds.publishing import publish_feed
from feeds.rss import build_feed
from tests.chapters.conftest import (
    AUDIO_SECONDS,
    THREE,
    audio_packets_md5,
    container_duration,
    ffmpeg_chapters,
    rendition_path,
)

pytestmark = pytest.mark.slow

ENTRIES = [
    ChapterEntry(0, "Intro"),
    ChapterEntry(2.5, "The interview", url="https://example.com/guest"),
    ChapterEntry(4, "Sponsor artwork", image_url="https://example.com/a.jpg", toc=False),
    ChapterEntry(5, "Listener mail — ünïcode; #1 = best"),
]


def attach(episode: Episode, entries, capture) -> None:
    """Store ``entries`` and run what the commit queues (the re-tag task, eagerly)."""
    with capture(execute=True):
        Chapter.objects.replace_for(episode, entries)


def test_mp3_carries_chap_and_ctoc_frames(ready_episode, django_capture_on_commit_callbacks):
    episode = ready_episode()
    before = rendition_path(episode, "mp3")

    attach(episode, ENTRIES, django_capture_on_commit_callbacks)

    after = rendition_path(episode, "mp3")
    assert after != before
    tags = ID3(after)
    chaps = sorted(tags.getall("CHAP"), key=lambda f: f.start_time)
    assert [(c.start_time, c.end_time) for c in chaps] == [
        (0, 2500),
        (2500, 4000),
        (4000, 5000),
        (5000, round(episode.renditions.get(preset="mp3").duration_seconds * 1000)),
    ]
    assert [c.sub_frames["TIT2"].text[0] for c in chaps] == [e.title for e in ENTRIES]
    assert chaps[1].sub_frames.getall("WXXX")[0].url == "https://example.com/guest"
    (toc,) = tags.getall("CTOC")
    by_id = {c.element_id: c for c in chaps}
    # The table of contents lists the chapters in order, without the silent one.
    assert [by_id[i].sub_frames["TIT2"].text[0] for i in toc.child_element_ids] == [
        "Intro",
        "The interview",
        "Listener mail — ünïcode; #1 = best",
    ]
    assert MP3(after).info.length == pytest.approx(MP3(before).info.length, abs=0.01)


def test_m4a_carries_chapters_ffmpeg_reads(ready_episode, django_capture_on_commit_callbacks):
    episode = ready_episode()
    before = rendition_path(episode, "aac")

    attach(episode, ENTRIES, django_capture_on_commit_callbacks)

    after = rendition_path(episode, "aac")
    assert after != before and after.suffix == ".m4a"
    chapters = ffmpeg_chapters(after)
    # MP4 has no silent chapters: the one before runs on to the next listed one.
    assert [c.title for c in chapters] == ["Intro", "The interview", ENTRIES[3].title]
    assert [round(c.start_seconds, 2) for c in chapters] == [0, 2.5, 5]
    assert [round(c.end_seconds, 2) for c in chapters[:-1]] == [2.5, 5]
    assert chapters[-1].end_seconds == pytest.approx(container_duration(before), abs=0.05)
    assert ffmpeg_chapters(before) == []


@pytest.mark.parametrize("preset", ["mp3", "aac"])
def test_audio_is_copied_not_re_encoded(ready_episode, preset, django_capture_on_commit_callbacks):
    episode = ready_episode()
    before = rendition_path(episode, preset)
    old = episode.renditions.get(preset=preset)

    attach(episode, ENTRIES, django_capture_on_commit_callbacks)

    after = rendition_path(episode, preset)
    assert audio_packets_md5(after) == audio_packets_md5(before)
    assert container_duration(after) == pytest.approx(container_duration(before), abs=0.03)
    new = episode.renditions.get(preset=preset)
    assert (new.bitrate, new.duration_seconds) == (old.bitrate, old.duration_seconds)


def test_each_change_gets_a_new_url_and_the_feed_follows(
    ready_episode, django_capture_on_commit_callbacks, now
):
    episode = ready_episode()
    media = storages["media"]
    untagged = {r.preset: (r.key, media.size(r.key)) for r in episode.renditions.all()}

    attach(episode, ENTRIES[:2], django_capture_on_commit_callbacks)
    first = {r.preset: r for r in episode.renditions.all()}
    attach(episode, ENTRIES, django_capture_on_commit_callbacks)
    second = {r.preset: r for r in episode.renditions.all()}

    for preset in ("mp3", "aac"):
        keys = {untagged[preset][0], first[preset].key, second[preset].key}
        assert len(keys) == 3  # a new URL for every change
        assert base_key_of(second[preset].key) == untagged[preset][0]
        for rendition in (first[preset], second[preset]):
            # Recorded with the size measured in storage.
            assert rendition.size_bytes == media.size(rendition.key)
        # The untagged file is left as it was (a CDN may still serve it).
        assert media.size(untagged[preset][0]) == untagged[preset][1]
        assert len(ffmpeg_chapters(Path(media.path(first[preset].key)))) == 2
    # Opus in Ogg is not tagged: its row and file are untouched.
    assert second["opus"].key == untagged["opus"][0]

    import podcastparser

    body = build_feed(episode.podcast, now=now).body
    item = podcastparser.parse("https://example.com/feed.xml", io.BytesIO(body))["episodes"][0]
    (enclosure,) = [e for e in item["enclosures"] if e["mime_type"] == "audio/mpeg"]
    assert enclosure["url"] == media.url(second["mp3"].key)
    assert enclosure["file_size"] == media.size(second["mp3"].key)


def test_removing_every_chapter_goes_back_to_the_untagged_files(
    ready_episode, django_capture_on_commit_callbacks
):
    episode = ready_episode()
    untagged = {r.preset: r.key for r in episode.renditions.all()}
    attach(episode, ENTRIES, django_capture_on_commit_callbacks)

    attach(episode, [], django_capture_on_commit_callbacks)

    assert {r.preset: r.key for r in episode.renditions.all()} == untagged
    assert ID3(rendition_path(episode, "mp3")).getall("CHAP") == []


def test_a_redelivered_task_does_nothing_twice(ready_episode, django_capture_on_commit_callbacks):
    episode = ready_episode()
    attach(episode, ENTRIES, django_capture_on_commit_callbacks)
    rows = sorted(episode.renditions.values_list("pk", "key"))

    assert retag.apply_chapters(episode.pk) == "up to date"
    assert sorted(episode.renditions.values_list("pk", "key")) == rows


def test_a_racing_re_transcode_wins_over_the_tagging(ready_episode, monkeypatch):
    episode = ready_episode()
    Chapter.objects.replace_for(episode, ENTRIES)  # the queued run is not executed
    rows = sorted(episode.renditions.values_list("pk", "key"))
    real_writer_for = retag.writer_for
    raced: list[bool] = []

    def writer_for(container, binary):
        write = real_writer_for(container, binary)

        def racing(*args):
            if not raced:  # new audio arrives while the first file is being tagged
                raced.append(Episode.objects.get(pk=episode.pk).start_processing())
            write(*args)

        return racing if write else None

    monkeypatch.setattr(retag, "writer_for", writer_for)

    assert retag.apply_chapters(episode.pk) == "stale run (re-processed meanwhile)"
    assert raced == [True]
    assert sorted(episode.renditions.values_list("pk", "key")) == rows


def test_chapters_edited_during_the_run_are_left_to_the_next_run(ready_episode, monkeypatch):
    episode = ready_episode()
    Chapter.objects.replace_for(episode, ENTRIES)
    rows = sorted(episode.renditions.values_list("pk", "key"))
    real_writer_for = retag.writer_for

    def writer_for(container, binary):
        write = real_writer_for(container, binary)

        def editing(*args):
            Chapter.objects.filter(episode=episode, start_seconds=0).update(title="Renamed")
            write(*args)

        return editing if write else None

    monkeypatch.setattr(retag, "writer_for", writer_for)

    assert retag.apply_chapters(episode.pk) == "stale run (chapters changed meanwhile)"
    assert sorted(episode.renditions.values_list("pk", "key")) == rows


def test_a_finished_transcode_is_tagged_when_the_episode_has_chapters(
    ready_episode, django_capture_on_commit_callbacks, settings
):
    episode = ready_episode()
    Chapter.objects.replace_for(episode, ENTRIES)  # not applied: its run never executes
    settings.LOUDNESS_TARGET_LUFS = -20.0

    with django_capture_on_commit_callbacks(execute=True):
        from episodes import pipeline

        assert pipeline.retranscode(episode)

    episode.refresh_from_db()
    assert episode.status == Episode.Status.READY and episode.attempt == 2
    mp3 = episode.renditions.get(preset="mp3")
    assert base_key_of(mp3.key).endswith("/mp3-2.mp3") and mp3.key != base_key_of(mp3.key)
    assert len(ID3(rendition_path(episode, "mp3")).getall("CHAP")) == 4
    assert ffmpeg_chapters(rendition_path(episode, "aac"))[0].title == "Intro"


def test_shorter_new_audio_leaves_late_chapters_out_of_the_files(
    ready_episode, django_capture_on_commit_callbacks, tmp_path
):
    from tests.transcoding.conftest import generate_audio, put_upload

    episode = ready_episode()
    attach(episode, ENTRIES, django_capture_on_commit_callbacks)
    short = generate_audio(tmp_path / "short.wav", seconds=4.5)
    assert AUDIO_SECONDS > 5 > 4.5

    # The creator replaces the audio: the chapter at 5 s now starts after its end.
    with django_capture_on_commit_callbacks(execute=True):
        key = put_upload(episode, short)
        assert episode.replace_source(source_key=key, source_bytes=short.stat().st_size)

    episode.refresh_from_db()
    assert episode.status == Episode.Status.READY and episode.attempt == 2
    chaps = ID3(rendition_path(episode, "mp3")).getall("CHAP")
    assert sorted(c.start_time for c in chaps) == [0, 2500, 4000]
    assert [c.title for c in ffmpeg_chapters(rendition_path(episode, "aac"))] == [
        "Intro",
        "The interview",
    ]
    # Stored still: the creator decides where they go (the admin and the gate say so).
    assert Chapter.objects.filter(episode=episode).count() == 4


def test_tagging_waits_for_a_ready_episode(make_episode):
    episode = make_episode()
    Chapter.objects.replace_for(episode, ENTRIES)
    assert retag.apply_chapters(episode.pk) == "skipped (draft)"


def test_the_attach_command_tags_the_files(
    ready_episode, tmp_path, django_capture_on_commit_callbacks
):
    from django.core.management import call_command

    episode = ready_episode()
    path = tmp_path / "chapters.json"
    path.write_bytes(THREE)

    with django_capture_on_commit_callbacks(execute=True):
        call_command("attach_chapters", episode.podcast.slug, episode.slug, str(path))

    assert [c.title for c in ffmpeg_chapters(rendition_path(episode, "aac"))] == [
        "Intro",
        "The interview",
        "Listener mail",
    ]


def test_the_published_feed_serves_the_tagged_files(
    client, ready_episode, django_capture_on_commit_callbacks
):
    episode = ready_episode()
    assert publish_feed(episode.podcast_id).changed

    # Chapters change → the feed is published (the gate HEADs each new file) → tagged.
    with django_capture_on_commit_callbacks(execute=True):
        Chapter.objects.replace_for(episode, ENTRIES)

    served = client.get(f"/{episode.podcast.slug}/feed.xml")
    (entry,) = feedparser.parse(served.content).entries
    mp3 = episode.renditions.get(preset="mp3")
    media = storages["media"]
    (enclosure,) = entry.enclosures
    assert enclosure.href == media.url(mp3.key) and mp3.key != base_key_of(mp3.key)
    assert int(enclosure.length) == media.size(mp3.key)
    assert entry.podcast_chapters["type"] == "application/json+chapters"
    assert FeedState.objects.get(podcast=episode.podcast).blocked_at is None
