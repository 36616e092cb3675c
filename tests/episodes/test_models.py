"""Integrity of podcasts, episodes and renditions, enforced by the database."""

from __future__ import annotations

import uuid

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


def test_episode_guid_assigned_at_creation_and_unique(make_episode):
    a, b = make_episode(), make_episode()
    assert isinstance(a.guid, uuid.UUID)
    assert a.guid != b.guid
    _violates(lambda: Episode.objects.filter(pk=b.pk).update(guid=a.guid))


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
