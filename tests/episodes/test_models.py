"""Integrity of podcasts, episodes and renditions, enforced by the database, and the
episode's conditional writes of pipeline facts (a stale copy loses and writes nothing)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from episodes.guids import podcast_guid_for
from episodes.models import Episode, Podcast, Rendition


def _violates(fn) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        fn()


def test_podcast_slug_is_unique(make_podcast):
    make_podcast(slug="same")
    _violates(lambda: make_podcast(slug="same"))


def test_category_outside_apples_list_is_refused_by_the_database(make_podcast):
    podcast = make_podcast()
    _violates(lambda: Podcast.objects.filter(pk=podcast.pk).update(category="Podcasting"))
    _violates(lambda: Podcast.objects.filter(pk=podcast.pk).update(category="Arts > Drama"))


@pytest.mark.parametrize(
    ("value", "pair"),
    [
        ("Arts > Books", ("Arts", "Books")),
        ("Kids & Family > Pets & Animals", ("Kids & Family", "Pets & Animals")),
        ("History", ("History", None)),
        ("Comedy > Stand-Up", ("Comedy", "Stand-Up")),
    ],
)
def test_apple_categories_are_accepted(make_podcast, value, pair):
    podcast = make_podcast(category=value, second_category="Education > How To")
    podcast.full_clean()
    assert podcast.apple_categories()[0] == pair
    assert podcast.apple_categories()[1] == ("Education", "How To")


def test_category_form_validation_rejects_unknown_values(make_podcast):
    podcast = make_podcast()
    podcast.category = "Technology > Tech News"
    with pytest.raises(ValidationError) as info:
        podcast.full_clean()
    assert "category" in info.value.message_dict


@pytest.mark.parametrize("language", ["en", "en-US", "pt-BR", "zh-Hant", "fil"])
def test_language_tags_accepted(make_podcast, language):
    make_podcast(language=language).full_clean()


@pytest.mark.parametrize("language", ["english", "e", "en_US", "en-", ""])
def test_language_tags_rejected(make_podcast, language):
    podcast = make_podcast()
    podcast.language = language
    with pytest.raises(ValidationError) as info:
        podcast.full_clean()
    assert "language" in info.value.message_dict


def test_podcast_guid_is_the_uuid5_of_the_feed_url_and_never_changes(make_podcast, settings):
    podcast = make_podcast(slug="my-show")
    expected = podcast_guid_for(f"{settings.FEED_BASE_URL}/my-show/feed.xml")
    assert podcast.podcast_guid == expected

    podcast.title = "Renamed"
    podcast.save()
    podcast.refresh_from_db()
    assert podcast.podcast_guid == expected


def test_podcast_guid_matches_the_namespace_reference_values():
    # docs/tags/guid.md of Podcastindex-org/podcast-namespace
    assert podcast_guid_for("https://mp3s.nashownotes.com/pc20rss.xml") == uuid.UUID(
        "917393e3-1b1e-5cef-ace4-edaa54e1f810"
    )
    assert podcast_guid_for("podnews.net/rss/") == uuid.UUID("9b024349-ccf0-5f69-a609-6b82873eab3c")


def test_episode_slug_unique_within_podcast_only(make_podcast, make_episode):
    first, second = make_podcast(), make_podcast()
    make_episode(first, slug="pilot")
    make_episode(second, slug="pilot")
    _violates(lambda: make_episode(first, slug="pilot"))


@pytest.mark.parametrize("field", ["season", "number"])
def test_season_and_number_must_be_positive(make_episode, field):
    episode = make_episode()
    _violates(lambda: Episode.objects.filter(pk=episode.pk).update(**{field: 0}))
    Episode.objects.filter(pk=episode.pk).update(**{field: 1})


@pytest.mark.parametrize("value", [-1, 101])
def test_progress_must_be_a_percentage(make_episode, value):
    episode = make_episode()
    _violates(lambda: Episode.objects.filter(pk=episode.pk).update(progress_percent=value))


def test_unknown_status_is_refused_by_the_database(make_episode):
    episode = make_episode()
    _violates(lambda: Episode.objects.filter(pk=episode.pk).update(status="published"))


def test_episode_guid_assigned_at_creation_and_unique(make_episode, make_podcast):
    show = make_podcast()
    a, b = make_episode(show), make_episode(show)
    assert str(uuid.UUID(a.guid)) == a.guid  # a UUID, as its canonical string
    assert a.guid != b.guid
    _violates(lambda: Episode.objects.filter(pk=b.pk).update(guid=a.guid))


def test_episode_guid_holds_any_string_a_feed_carries_and_a_safe_storage_id(make_episode):
    guid = "https://example.com/?p=12 & <b>ep</b>"
    episode = make_episode(guid=guid)
    stored = Episode.objects.get(pk=episode.pk)
    assert stored.guid == guid
    assert stored.storage_id.isalnum() and guid not in stored.storage_id


def test_episode_guid_survives_edits(make_episode):
    episode = make_episode()
    guid = episode.guid
    episode.title, episode.slug = "New title", "new-slug"
    episode.save()
    assert Episode.objects.get(pk=episode.pk).guid == guid


def test_description_is_sanitised_on_save(make_episode):
    episode = make_episode(
        description='<p onclick="x()">Hi <script>alert(1)</script><a href="javascript:x">a</a>'
        '<a href="https://example.com">b</a></p>'
    )
    stored = Episode.objects.get(pk=episode.pk).description
    assert "<script" not in stored
    assert "onclick" not in stored
    assert "javascript:" not in stored
    assert 'href="https://example.com"' in stored


def test_rendition_once_per_preset_and_size_positive(make_episode):
    episode = make_episode()
    fields = {"key": "k.mp3", "mime_type": "audio/mpeg", "size_bytes": 10}
    Rendition.objects.create(episode=episode, preset="mp3", **fields)
    _violates(lambda: Rendition.objects.create(episode=episode, preset="mp3", **fields))
    _violates(
        lambda: Rendition.objects.create(
            episode=episode, preset="aac", key="k.m4a", mime_type="audio/mp4", size_bytes=0
        )
    )


def test_in_feed_needs_renditions_and_a_past_publish_date(make_episode, now):
    from datetime import timedelta

    published = make_episode(publish_at=now - timedelta(hours=1))
    scheduled = make_episode(publish_at=now + timedelta(hours=1))
    unpublished = make_episode(publish_at=None)
    unprocessed = make_episode(publish_at=now - timedelta(hours=1))
    for episode in (published, scheduled, unpublished):
        for preset in ("mp3", "aac"):
            Rendition.objects.create(
                episode=episode,
                preset=preset,
                key=f"{episode.pk}.{preset}",
                mime_type="audio/mpeg",
                size_bytes=1,
            )

    in_feed = set(Episode.objects.in_feed(now))

    assert in_feed == {published}
    assert unprocessed not in in_feed


@pytest.mark.parametrize("slug", ["admin", "media", "static", "uploads", "episodes"])
def test_slugs_the_site_uses_are_refused(make_podcast, slug):
    podcast = make_podcast()
    podcast.slug = slug
    with pytest.raises(ValidationError) as info:
        podcast.full_clean()
    assert "used by the site itself" in info.value.message_dict["slug"][0]


# --- pipeline facts: each write is a conditional UPDATE that tells whether it won ---

S = Episode.Status

FACTS = {
    "duration_seconds": 61.5,
    "container": "wav",
    "codec": "pcm_s16le",
    "sample_rate": 44100,
    "channels": 2,
    "loudness_lufs": -19.25,
}


def _processing(make_episode, **fields) -> Episode:
    episode = make_episode()
    Episode.objects.filter(pk=episode.pk).update(status=S.PROCESSING, attempt=3, **fields)
    episode.refresh_from_db()
    return episode


def test_record_probe_stores_the_facts_of_the_current_run(make_episode):
    episode = _processing(make_episode)

    assert episode.record_probe(attempt=3, **FACTS) is True

    fresh = Episode.objects.get(pk=episode.pk)
    assert {name: getattr(fresh, name) for name in FACTS} == FACTS


def test_record_probe_of_a_superseded_run_writes_nothing(make_episode):
    episode = _processing(make_episode)

    assert episode.record_probe(attempt=2, **FACTS) is False

    fresh = Episode.objects.get(pk=episode.pk)
    assert (fresh.duration_seconds, fresh.codec, fresh.channels) == (None, "", None)


def test_record_job_wins_once_and_stamps_the_submission(make_episode, now):
    episode = _processing(make_episode)
    other_worker = Episode.objects.get(pk=episode.pk)

    assert episode.record_job("job-1", attempt=3, now=now) is True
    assert other_worker.record_job("job-2", attempt=3, now=now) is False

    fresh = Episode.objects.get(pk=episode.pk)
    assert fresh.transcode_job_id == "job-1"
    assert fresh.submitted_at == fresh.progress_at == fresh.updated_at == now


@pytest.mark.parametrize(("status", "attempt"), [(S.PROCESSING, 2), (S.UPLOADED, 3), (S.FAILED, 3)])
def test_record_job_of_a_stale_run_writes_nothing(make_episode, now, status, attempt):
    episode = _processing(make_episode)
    Episode.objects.filter(pk=episode.pk).update(status=status)

    assert episode.record_job("job-1", attempt=attempt, now=now) is False

    fresh = Episode.objects.get(pk=episode.pk)
    assert (fresh.transcode_job_id, fresh.submitted_at) == ("", None)


def test_record_progress_checks_the_run_and_the_job_it_reports_on(make_episode, now):
    episode = _processing(make_episode, transcode_job_id="job-1")

    assert episode.record_progress(150, attempt=3, job_id="job-1", now=now) is True
    assert Episode.objects.get(pk=episode.pk).progress_percent == 100
    assert episode.record_progress(10, attempt=2, now=now) is False
    assert episode.record_progress(20, attempt=3, job_id="job-0", now=now) is False

    fresh = Episode.objects.get(pk=episode.pk)
    assert (fresh.progress_percent, fresh.progress_at) == (100, now)


def test_every_run_starts_without_the_last_runs_job_progress_or_error(make_episode, now):
    """retry, requeue and a new claim all clear what the previous run left behind."""
    leftovers = {"transcode_job_id": "old-job", "progress_percent": 60, "error_message": "boom"}
    episode = _processing(make_episode, **leftovers)
    later = now + timedelta(minutes=1)

    assert episode.requeue(now=later)
    requeued = Episode.objects.get(pk=episode.pk)
    Episode.objects.filter(pk=episode.pk).update(status=S.FAILED, **leftovers)
    episode.refresh_from_db()
    assert episode.retry(now=later)
    retried = Episode.objects.get(pk=episode.pk)
    Episode.objects.filter(pk=episode.pk).update(**leftovers)
    episode.refresh_from_db()
    assert episode.start_processing(now=later)
    claimed = Episode.objects.get(pk=episode.pk)

    for fresh in (requeued, retried, claimed):
        assert (
            fresh.transcode_job_id,
            fresh.progress_percent,
            fresh.progress_at,
            fresh.error_message,
        ) == ("", 0, later, "")
    assert (requeued.status, retried.status, claimed.status) == (
        S.UPLOADED,
        S.UPLOADED,
        S.PROCESSING,
    )


def test_requeue_of_a_stale_copy_writes_nothing(make_episode):
    episode = _processing(make_episode)
    stale = Episode.objects.get(pk=episode.pk)
    assert episode.mark_failed("gave up")

    assert stale.requeue() is False

    assert Episode.objects.get(pk=episode.pk).status == S.FAILED


def test_touch_if_unchanged_wins_once_among_copies_that_saw_the_same_row(make_episode, now):
    episode = make_episode()
    Episode.objects.filter(pk=episode.pk).update(status=S.UPLOADED)
    first, second = Episode.objects.get(pk=episode.pk), Episode.objects.get(pk=episode.pk)
    later = now + timedelta(hours=1)

    assert first.touch_if_unchanged(now=later) is True
    assert second.touch_if_unchanged(now=later + timedelta(seconds=1)) is False

    assert Episode.objects.get(pk=episode.pk).updated_at == later


def test_touch_if_unchanged_loses_once_the_status_moved(make_episode, now):
    episode = make_episode()
    Episode.objects.filter(pk=episode.pk).update(status=S.UPLOADED)
    seen = Episode.objects.get(pk=episode.pk)
    episode.refresh_from_db()
    assert episode.start_processing(now=now)
    Episode.objects.filter(pk=episode.pk).update(updated_at=seen.updated_at)

    assert seen.touch_if_unchanged(now=now + timedelta(hours=1)) is False

    fresh = Episode.objects.get(pk=episode.pk)
    assert (fresh.status, fresh.updated_at) == (S.PROCESSING, seen.updated_at)
