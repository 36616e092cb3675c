"""Incremental rendering: a change re-renders its own item; the bytes equal a full render."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from episodes.models import Episode
from feeds.rss import ITEM_CACHE, build_feed, feed_episodes, render_feed
from tests.feeds.conftest import write_rendition


def full_render(podcast, now, built_at):
    """The reference: every item written inline by feedgenerator, no cache involved."""
    podcast.refresh_from_db()
    return render_feed(podcast, feed_episodes(podcast, now), built_at=built_at)


@pytest.fixture
def show(make_podcast, make_published, now):
    podcast = make_podcast()
    for i in range(4):
        make_published(podcast, title=f"Ep {i}", publish_at=now - timedelta(hours=i + 1))
    return podcast


def incremental(podcast, now):
    podcast.refresh_from_db()
    return build_feed(podcast, now=now, built_at=now).body


def test_cold_render_is_the_full_render(show, now):
    assert incremental(show, now) == full_render(show, now, now)
    assert len(ITEM_CACHE) == 4


def test_an_unchanged_feed_renders_from_the_cache_in_one_query_plus_the_channel(
    show, now, django_assert_num_queries
):
    first = incremental(show, now)
    # The revisions; then the channel's people, funding, trailers, txt and podroll
    # (the channel is rendered every time).
    with django_assert_num_queries(6):
        again = build_feed(show, now=now, built_at=now).body
    assert again == first


def test_one_episode_edit_re_renders_that_item_only(show, now):
    incremental(show, now)
    episode = show.episodes.get(title="Ep 2")
    episode.title = "Ep 2, retitled"
    episode.description = "<p>New notes &amp; more</p>"
    episode.save()

    body = incremental(show, now)

    assert b"Ep 2, retitled" in body
    assert body == full_render(show, now, now)
    # Four cached items plus the one new revision: the other three were reused.
    assert len(ITEM_CACHE) == 5


@pytest.mark.parametrize(
    "change",
    [
        "publish_at_earlier",
        "unpublish",
        "replace_renditions",
        "delete",
        "status_transition",
        "probe_duration",
    ],
)
def test_every_kind_of_change_stays_byte_identical(show, make_published, now, change):
    incremental(show, now)
    episode = show.episodes.get(title="Ep 3")
    if change == "publish_at_earlier":
        episode.publish_at = now - timedelta(minutes=1)
        episode.save()
    elif change == "unpublish":
        episode.publish_at = None
        episode.save()
    elif change == "replace_renditions":
        # The pipeline's finish: the set is replaced (new rows), then the episode is ready.
        episode.renditions.all().delete()
        write_rendition(episode, "mp3", b"new audio" * 500)
    elif change == "delete":
        episode.delete()
    elif change == "status_transition":
        Episode.objects.filter(pk=episode.pk).update(status=Episode.Status.PROCESSING)
        episode.refresh_from_db()
        episode.renditions.update(duration_seconds=None)  # the fallback shows the episode's own
        episode.mark_ready(now=timezone.now())
    elif change == "probe_duration":
        episode.renditions.update(duration_seconds=None)
        Episode.objects.filter(pk=episode.pk).update(status=Episode.Status.PROCESSING, attempt=1)
        episode.refresh_from_db()
        episode.record_probe(
            attempt=1,
            duration_seconds=4321.0,
            container="mp3",
            codec="mp3",
            sample_rate=44100,
            channels=2,
            loudness_lufs=-16.0,
        )
    make_published(show, title="Brand new", publish_at=now - timedelta(minutes=2))

    assert incremental(show, now) == full_render(show, now, now)


def test_show_level_values_inside_items_re_render_every_item(show, now, settings):
    before = incremental(show, now)
    settings.PUBLIC_BASE_URL = "https://shows.example.org"  # the item <link>s
    stores = dict(settings.STORAGES)
    stores["media"] = {
        **stores["media"],
        "OPTIONS": {**stores["media"]["OPTIONS"], "base_url": "https://cdn.example.org/m/"},
    }
    settings.STORAGES = stores  # the enclosure URLs

    after = incremental(show, now)

    assert after != before
    assert b"https://cdn.example.org/m/" in after and b"https://shows.example.org/" in after
    assert after == full_render(show, now, now)


def test_show_fields_outside_items_leave_the_items_cached(show, now):
    incremental(show, now)
    show.title = "A new show title"
    show.owner_email = "new-owner@example.com"
    show.save()

    body = incremental(show, now)

    assert body == full_render(show, now, now)
    assert b"A new show title" in body
    assert len(ITEM_CACHE) == 4


def test_a_full_cache_drops_the_least_recently_used_items(show, now, settings):
    settings.FEED_ITEM_CACHE_MAX_BYTES = 1
    assert incremental(show, now) == full_render(show, now, now)
    assert len(ITEM_CACHE) <= 1
    assert incremental(show, now) == full_render(show, now, now)
