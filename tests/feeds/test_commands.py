"""manage.py publish_feeds and validate_feed."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.files.storage import storages
from django.core.management import CommandError, call_command

from episodes.models import Rendition
from feeds.models import FeedPublication
from tests.feeds.test_artwork import image_file


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


@pytest.fixture
def good_show(make_podcast, make_published):
    podcast = make_podcast(slug="good")
    podcast.cover.save("cover.png", image_file(1400, 1400, "PNG"))
    make_published(podcast, title="One")
    return podcast


def test_publish_feeds_dry_run_writes_nothing(good_show):
    out = run("publish_feeds", "good", "--dry-run")
    assert "good: would publish (1 episode," in out
    assert not storages["feeds"].exists("good/feed.xml")
    assert not FeedPublication.objects.exists()


def test_publish_feeds_publishes_then_reports_unchanged(good_show, make_podcast):
    make_podcast(slug="other")
    out = run("publish_feeds", "--all")
    assert "good: published (1 episode," in out and "other: published (0 episodes" in out
    assert storages["feeds"].exists("good/feed.xml")
    assert "good: unchanged" in run("publish_feeds", "good")


def test_publish_feeds_needs_slugs_or_all(db):
    with pytest.raises(CommandError, match="slugs, or --all"):
        run("publish_feeds")
    with pytest.raises(CommandError, match="No show with slug: nope"):
        run("publish_feeds", "nope")


@pytest.fixture
def served_here(settings, live_server):
    """PUBLIC_BASE_URL (and so the feed's links) on a live server of this instance."""
    settings.PUBLIC_BASE_URL = settings.FEED_BASE_URL = live_server.url
    configured = dict(settings.STORAGES)
    media = configured["media"]
    options = {**media["OPTIONS"], "base_url": f"{live_server.url}/media/"}
    configured["media"] = {**media, "OPTIONS": options}
    settings.STORAGES = configured


def test_validate_feed_passes_a_good_show(served_here, good_show):
    assert "good: no problems found" in run("validate_feed", "good")


def test_validate_feed_lists_every_problem_and_fails(make_podcast, make_published):
    podcast = make_podcast(slug="bad", author="", owner_email="", cover=None)
    episode = make_published(podcast, title="Liar")
    Rendition.objects.filter(episode=episode, preset="mp3").update(size_bytes=1)
    out = StringIO()
    with pytest.raises(CommandError, match="problem"):
        call_command("validate_feed", "bad", stdout=out, stderr=StringIO())
    text = out.getvalue()
    assert "<itunes:image> is missing" in text
    assert "<itunes:author> is missing" in text
    assert "<itunes:owner> with <itunes:email> is missing" in text
    assert "length 1 but the file has" in text


def test_validate_feed_unknown_slug(db):
    with pytest.raises(CommandError, match="No show with slug: nope"):
        run("validate_feed", "nope")


def test_validate_feed_wants_episode_numbers_in_a_serial_show(make_podcast, make_published):
    podcast = make_podcast(slug="serial", show_type="serial")
    make_published(podcast, title="Chapter one", number=1)
    make_published(podcast, title="Unnumbered")
    out = StringIO()

    with pytest.raises(CommandError, match="problem"):
        call_command("validate_feed", "serial", stdout=out, stderr=StringIO())

    lines = [line for line in out.getvalue().splitlines() if "serial show needs" in line]
    assert len(lines) == 1


def test_publish_feeds_reports_a_blocked_feed_with_its_fix_and_fails(
    good_show, make_podcast, make_published
):
    bad = make_podcast(slug="no-owner", owner_email="")
    make_published(bad)
    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError, match="failed or was blocked for: no-owner"):
        call_command("publish_feeds", "--all", stdout=out, stderr=err)
    assert "good: published (1 episode," in out.getvalue()
    assert "no-owner: blocked by the publish gate (the last good feed stays):" in err.getvalue()
    assert "How to fix: Enter the owner e-mail" in err.getvalue()
    assert not storages["feeds"].exists("no-owner/feed.xml")
