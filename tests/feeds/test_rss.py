"""The rendered feed as real podcast clients (feedparser, gPodder's podcastparser) read it."""

from __future__ import annotations

import calendar
import re
import uuid
import xml.etree.ElementTree as ET
from datetime import timedelta

import pytest
from django.core.files.storage import storages

from episodes.guids import podcast_guid_for
from episodes.models import Episode
from feeds.rss import NAMESPACES, build_feed
from tests.feeds.conftest import parse_both, write_rendition

NS = NAMESPACES


def q(tag: str) -> str:
    prefix, name = tag.split(":")
    return f"{{{NS[prefix]}}}{name}"


def channel_of(body: bytes):
    return ET.fromstring(body).find("channel")  # noqa: S314 (our own output)


@pytest.fixture
def show(make_podcast):
    return make_podcast(
        title="Testing & Friends",
        category="Arts > Books",
        second_category="Technology",
        copyright="© 2026 Test",
        link="https://example.org/show",
        explicit=True,
    )


def test_both_clients_see_every_published_episode_and_nothing_else(
    show, make_published, make_episode, make_podcast, now
):
    old = make_published(show, title="Old one", publish_at=now - timedelta(days=3))
    new = make_published(show, title="New one", publish_at=now - timedelta(hours=2))
    # Not in the feed: scheduled, unpublished, unready (no renditions), another show's.
    make_published(show, title="Scheduled", publish_at=now + timedelta(hours=1))
    unpublished = make_published(show, title="Unpublished")
    Episode.objects.filter(pk=unpublished.pk).update(publish_at=None)
    make_episode(show, title="Unready", publish_at=now - timedelta(hours=1))
    make_published(make_podcast(), title="Elsewhere")

    body = build_feed(show, now=now).body
    fp, pp = parse_both(body)

    assert not fp.bozo, fp.get("bozo_exception")
    assert [e.title for e in fp.entries] == ["New one", "Old one"]
    assert [e["title"] for e in pp["episodes"]] == ["New one", "Old one"]
    media = storages["media"]
    for episode, fp_entry, pp_entry in zip((new, old), fp.entries, pp["episodes"], strict=True):
        mp3 = episode.renditions.get(preset="mp3")
        assert fp_entry.id == str(episode.guid) == pp_entry["guid"]
        assert fp_entry.guidislink is False
        assert fp_entry.enclosures == [
            {"href": media.url(mp3.key), "length": str(media.size(mp3.key)), "type": "audio/mpeg"}
        ]
        assert pp_entry["enclosures"] == [
            {"url": media.url(mp3.key), "file_size": media.size(mp3.key), "mime_type": "audio/mpeg"}
        ]
        expected_ts = int(episode.publish_at.timestamp())
        assert calendar.timegm(fp_entry.published_parsed) == expected_ts
        assert pp_entry["published"] == expected_ts
        assert pp_entry["total_time"] == 62


def test_channel_carries_apple_and_podcasting20_tags(show, make_published, now, settings):
    make_published(show)
    body = build_feed(show, now=now).body
    assert body.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    channel = channel_of(body)
    assert channel.findtext("title") == "Testing & Friends"
    assert channel.findtext("link") == "https://example.org/show"
    assert channel.findtext("language") == "en"
    assert channel.findtext("copyright") == "© 2026 Test"
    assert channel.findtext("generator")
    assert channel.findtext("lastBuildDate").endswith("+0000")
    self_link = channel.find(q("atom:link"))
    assert (self_link.get("rel"), self_link.get("href")) == ("self", show.feed_url)
    cats = channel.findall(q("itunes:category"))
    assert [c.get("text") for c in cats] == ["Arts", "Technology"]
    assert [s.get("text") for s in cats[0].findall(q("itunes:category"))] == ["Books"]
    assert cats[1].findall(q("itunes:category")) == []
    assert channel.findtext(q("itunes:explicit")) == "true"
    assert channel.findtext(q("itunes:author")) == "Test Author"
    owner = channel.find(q("itunes:owner"))
    assert owner.findtext(q("itunes:name")) == "Owner"
    assert owner.findtext(q("itunes:email")) == "owner@example.com"
    assert channel.findtext(q("itunes:type")) == "episodic"
    assert channel.findtext(q("podcast:guid")) == str(podcast_guid_for(show.feed_url))
    locked = channel.find(q("podcast:locked"))
    assert (locked.text, locked.get("owner")) == ("yes", "owner@example.com")
    assert channel.find(q("itunes:new-feed-url")) is None


def test_item_carries_enclosure_alternates_and_numbers(show, make_published, now):
    episode = make_published(
        show, season=2, number=7, episode_type="bonus", explicit=True, description="<p>Hi</p>"
    )
    item = channel_of(build_feed(show, now=now).body).find("item")
    guid = item.find("guid")
    assert (guid.text, guid.get("isPermaLink")) == (str(episode.guid), "false")
    assert item.findtext("description") == "<p>Hi</p>"
    assert item.findtext(q("content:encoded")) == "<p>Hi</p>"
    assert item.findtext(q("itunes:duration")) == "62"
    assert item.findtext(q("itunes:episodeType")) == "bonus"
    assert item.findtext(q("itunes:season")) == item.findtext(q("podcast:season")) == "2"
    assert item.findtext(q("itunes:episode")) == item.findtext(q("podcast:episode")) == "7"
    assert item.findtext(q("itunes:explicit")) == "true"
    media = storages["media"]
    alternates = item.findall(q("podcast:alternateEnclosure"))
    by_type = {a.get("type"): a for a in alternates}
    # The enclosure's MP3 is listed too, as the default (alternate-enclosure.md).
    assert set(by_type) == {"audio/mpeg", "audio/x-m4a", "audio/ogg"}
    assert [a.get("default") for a in alternates] == ["true", None, None]
    for preset, mime, bitrate in (
        ("mp3", "audio/mpeg", "192000"),
        ("aac", "audio/x-m4a", "160000"),
        ("opus", "audio/ogg", "64000"),
    ):
        rendition = episode.renditions.get(preset=preset)
        alt = by_type[mime]
        assert alt.get("length") == str(media.size(rendition.key))
        assert alt.get("bitrate") == bitrate
        assert alt.find(q("podcast:source")).get("uri") == media.url(rendition.key)


def test_cover_moved_show_and_serial_type(make_podcast, make_published, now):
    from tests.feeds.test_artwork import image_file

    podcast = make_podcast(show_type="serial", new_feed_url="https://new.example.com/feed.xml")
    podcast.cover.save("cover.jpg", image_file(1400, 1400, "JPEG"))
    make_published(podcast)
    channel = channel_of(build_feed(podcast, now=now).body)
    assert channel.find(q("itunes:image")).get("href") == podcast.cover.url
    assert channel.findtext(q("itunes:type")) == "serial"
    assert channel.findtext(q("itunes:new-feed-url")) == "https://new.example.com/feed.xml"


def test_new_cover_gets_a_new_url(make_podcast, now):
    from tests.feeds.test_artwork import image_file

    podcast = make_podcast()
    podcast.cover.save("cover.jpg", image_file(1400, 1400, "JPEG"))
    first = channel_of(build_feed(podcast, now=now).body).find(q("itunes:image")).get("href")
    podcast.cover.save("cover.jpg", image_file(1500, 1500, "JPEG"))
    second = channel_of(build_feed(podcast, now=now).body).find(q("itunes:image")).get("href")
    assert first != second


def test_primary_enclosure_is_the_mp3_whatever_the_insert_order(show, make_published, now):
    episode = make_published(show, presets=("opus", "aac", "mp3"))
    item = channel_of(build_feed(show, now=now).body).find("item")
    assert item.find("enclosure").get("type") == "audio/mpeg"
    assert item.find("enclosure").get("url").endswith(episode.renditions.get(preset="mp3").key)


def test_guid_never_changes_when_title_slug_audio_or_date_change(show, make_published, now):
    episode = make_published(show, title="First title")
    before = build_feed(show, now=now)
    guid = channel_of(before.body).find("item").findtext("guid")

    episode.title = "A new title"
    episode.slug = "renamed"
    episode.publish_at = now - timedelta(days=10)
    episode.save()
    episode.renditions.all().delete()
    write_rendition(episode, "mp3", b"new audio" * 500)

    after = build_feed(show, now=now)
    item = channel_of(after.body).find("item")
    assert item.findtext("title") == "A new title"
    assert item.find("enclosure").get("length") == str(len(b"new audio" * 500))
    assert item.findtext("guid") == guid == str(episode.guid)


def spec_podcast_guid(feed_url: str) -> str:
    """The Podcasting 2.0 reference algorithm, copied from docs/tags/guid.md."""
    seed = re.sub(r"^[A-Za-z][A-Za-z0-9+.-]*://", "", feed_url.strip()).rstrip("/")
    return str(uuid.uuid5(uuid.UUID("ead4c236-bf58-58c6-a2c6-a6b28d128cb6"), seed))


@pytest.mark.parametrize(
    ("feed_url", "expected"),
    [
        # The two reference values given by the spec (docs/tags/guid.md).
        ("https://mp3s.nashownotes.com/pc20rss.xml", "917393e3-1b1e-5cef-ace4-edaa54e1f810"),
        ("https://podnews.net/rss", "9b024349-ccf0-5f69-a609-6b82873eab3c"),
    ],
)
def test_podcast_guid_rule_gives_the_spec_reference_values(feed_url, expected):
    assert spec_podcast_guid(feed_url) == expected
    assert str(podcast_guid_for(feed_url)) == expected


@pytest.mark.parametrize("base", ["https://feeds.example.com", "http://127.0.0.1:8000"])
def test_feed_podcast_guid_is_the_spec_value_of_its_feed_url(make_podcast, now, settings, base):
    settings.FEED_BASE_URL = base
    podcast = make_podcast()
    channel = channel_of(build_feed(podcast, now=now).body)
    assert channel.findtext(q("podcast:guid")) == spec_podcast_guid(
        f"{base}/{podcast.slug}/feed.xml"
    )


def test_newest_first_for_serial_shows_too(make_podcast, make_published, now):
    podcast = make_podcast(show_type="serial")
    for days in (5, 1, 3):
        make_published(podcast, title=f"{days} days ago", publish_at=now - timedelta(days=days))
    items = channel_of(build_feed(podcast, now=now).body).findall("item")
    assert [i.findtext("title") for i in items] == ["1 days ago", "3 days ago", "5 days ago"]


def test_reprocessing_episode_keeps_its_old_renditions_in_the_feed(show, make_published, now):
    episode = make_published(show)
    Episode.objects.filter(pk=episode.pk).update(status=Episode.Status.PROCESSING)
    fp, pp = parse_both(build_feed(show, now=now).body)
    assert [e.id for e in fp.entries] == [str(episode.guid)]
    assert [e["guid"] for e in pp["episodes"]] == [str(episode.guid)]


@pytest.mark.parametrize("count", [5, 50])
def test_query_count_is_constant(show, make_published, now, count, django_assert_max_num_queries):
    for i in range(count):
        make_published(show, publish_at=now - timedelta(minutes=i + 1))
    show.refresh_from_db()
    # The revisions, then (items not cached yet) the episodes, their renditions,
    # their published transcripts and their people; and the channel's people,
    # funding, trailers, txt and podroll.
    with django_assert_max_num_queries(10):
        rendered = build_feed(show, now=now)
    assert rendered.item_count == count
