"""Chapters for listeners: ``<podcast:chapters>`` in the feed, ``chapters.json``, the player."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.urls import reverse

from episodes.chapters.entries import ChapterEntry
from episodes.models import Chapter, Episode
from feeds import gate, pages, site
from feeds.publishing import publish_feed
from feeds.rss import build_feed
from feeds.validation import check_feed_xml, validate_podcast_feed
from tests.feeds.conftest import parse_both

# podcastparser 0.6.11 maps only the namespace's legacy URI to ``podcast:``;
# the namespace says clients must treat the two as identical:
# https://github.com/Podcastindex-org/podcast-namespace/blob/main/docs/1.0.md
OFFICIAL = b"https://podcastindex.org/namespace/1.0"
LEGACY = b"https://github.com/Podcastindex-org/podcast-namespace/blob/main/docs/1.0.md"


def podcastparser_view(body: bytes) -> dict:
    """The feed as gPodder's podcastparser reads it, with the namespace URI it knows."""
    import io

    import podcastparser

    return podcastparser.parse(
        "https://example.com/feed.xml", io.BytesIO(body.replace(OFFICIAL, LEGACY))
    )


ENTRIES = [
    ChapterEntry(0, "Intro"),
    ChapterEntry(20, "Silent art", image_url="https://example.com/a.jpg", toc=False),
    ChapterEntry(30, "Interview", url="https://example.com/guest"),
]


@pytest.fixture(autouse=True)
def fresh_pages():
    pages.clear_cache()
    yield
    pages.clear_cache()


@pytest.fixture
def show(make_podcast):
    return make_podcast(slug="night-radio", title="Night Radio")


def chapters_path(episode: Episode) -> str:
    return reverse("feeds:chapters", args=[episode.podcast.slug, episode.slug])


def test_the_item_links_its_chapters_as_apps_read_them(show, make_published, now, settings):
    with_chapters = make_published(show, slug="with", title="With chapters")
    make_published(show, slug="without", title="Without", publish_at=now - timedelta(hours=2))
    Chapter.objects.replace_for(with_chapters, ENTRIES)

    body = build_feed(show, now=now).body
    fp, _ = parse_both(body)
    pp = podcastparser_view(body)

    url = f"{settings.PUBLIC_BASE_URL}/night-radio/with/chapters.json"
    assert not fp.bozo
    assert fp.entries[0].podcast_chapters == {"url": url, "type": "application/json+chapters"}
    assert "podcast_chapters" not in fp.entries[1]
    assert pp["episodes"][0]["chapters_json_url"] == url
    assert "chapters_json_url" not in pp["episodes"][1]
    assert check_feed_xml(body, feed_url=show.feed_url, now=now) == []


def test_validate_feed_checks_the_tag(show, now):
    good = b'<podcast:chapters url="https://e.com/c.json" type="application/json+chapters"/>'
    bad = b'<podcast:chapters url="/c.json" type="application/json"/>'

    def feed(tags: bytes) -> bytes:
        return (
            b'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0" '
            b'xmlns:podcast="https://podcastindex.org/namespace/1.0"><channel><item>'
            b"<title>t</title>" + tags + b"</item></channel></rss>"
        )

    def chapter_problems(tags: bytes) -> list[str]:
        found = check_feed_xml(feed(tags), feed_url=show.feed_url, now=now)
        return [p for p in found if "podcast:chapters" in p]

    assert chapter_problems(good) == []
    assert chapter_problems(bad) == [
        "Item 1 “t”: <podcast:chapters> url is not an ASCII http(s) URL.",
        "Item 1 “t”: <podcast:chapters> type must be application/json+chapters.",
    ]
    assert chapter_problems(good + good) == ["Item 1 “t”: more than one <podcast:chapters>."]


@pytest.mark.parametrize("count", [5, 30])
def test_query_count_stays_constant(
    show, make_published, now, count, django_assert_max_num_queries
):
    for i in range(count):
        episode = make_published(show, publish_at=now - timedelta(minutes=i + 1))
        if i % 2:
            Chapter.objects.replace_for(episode, ENTRIES)
    # Index, episodes, renditions, published transcripts, episode people (chapters
    # are a subquery of the episodes); the channel's five Podcasting 2.0 lists.
    with django_assert_max_num_queries(10):
        body = build_feed(show, now=now).body
    assert body.count(b"<podcast:chapters ") == count // 2


def test_a_chapter_edit_changes_the_served_feed(
    client, show, make_published, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        episode = make_published(show, slug="pilot")
    assert publish_feed(show.pk).changed
    before = client.get(f"/{show.slug}/feed.xml")
    assert b"podcast:chapters" not in before.content

    with django_capture_on_commit_callbacks(execute=True):
        Chapter.objects.replace_for(episode, ENTRIES)

    after = client.get(f"/{show.slug}/feed.xml", HTTP_IF_NONE_MATCH=before["ETag"])
    assert after.status_code == 200
    fp, _ = parse_both(after.content)
    assert fp.entries[0].podcast_chapters["url"].endswith("/night-radio/pilot/chapters.json")

    # Deleting the last chapter is a change too: the tag goes.
    with django_capture_on_commit_callbacks(execute=True):
        Chapter.objects.replace_for(episode, [])
    gone = client.get(f"/{show.slug}/feed.xml")
    assert b"podcast:chapters" not in gone.content


def test_chapters_json_is_served_as_the_namespace_says(client, show, make_published):
    episode = make_published(show, slug="pilot", title="Pilot")
    Chapter.objects.replace_for(episode, ENTRIES)

    response = client.get(chapters_path(episode))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json+chapters"
    assert response["Access-Control-Allow-Origin"] == "*"
    assert json.loads(response.content) == {
        "version": "1.2.0",
        "title": "Pilot",
        "podcastName": "Night Radio",
        "chapters": [
            {"startTime": 0, "title": "Intro"},
            {
                "startTime": 20,
                "title": "Silent art",
                "img": "https://example.com/a.jpg",
                "toc": False,
            },
            {"startTime": 30, "title": "Interview", "url": "https://example.com/guest"},
        ],
    }
    again = client.get(chapters_path(episode), HTTP_IF_NONE_MATCH=response["ETag"])
    assert again.status_code == 304
    head = client.head(chapters_path(episode))
    assert head.status_code == 200 and head.content == b""


def test_chapters_json_follows_an_edit(client, show, make_published):
    episode = make_published(show, slug="pilot")
    Chapter.objects.replace_for(episode, ENTRIES)
    first = client.get(chapters_path(episode))

    chapter = Chapter.objects.get(episode=episode, start_seconds=30)
    chapter.title = "The interview, renamed"
    chapter.save()

    second = client.get(chapters_path(episode), HTTP_IF_NONE_MATCH=first["ETag"])
    assert second.status_code == 200
    assert json.loads(second.content)["chapters"][2]["title"] == "The interview, renamed"


def test_chapters_json_is_404_until_published(client, show, make_published, now):
    scheduled = make_published(show, slug="later", publish_at=now + timedelta(days=1))
    draft = make_published(show, slug="draft")
    Episode.objects.filter(pk=draft.pk).update(publish_at=None)
    no_chapters = make_published(show, slug="plain")
    for episode in (scheduled, draft):
        Chapter.objects.replace_for(episode, ENTRIES)

    for path in (
        chapters_path(scheduled),
        chapters_path(draft),
        chapters_path(no_chapters),
        "/night-radio/nope/chapters.json",
        "/no-such-show/pilot/chapters.json",
    ):
        assert client.get(path).status_code == 404, path
    assert client.post(chapters_path(no_chapters)).status_code in (404, 405)


def test_the_player_lists_the_chapters(client, show, make_published):
    episode = make_published(show, slug="pilot")
    Chapter.objects.replace_for(episode, ENTRIES)

    assert site.chapters_for(Episode.objects.get(pk=episode.pk)) == [
        site.Chapter(0, "Intro"),
        site.Chapter(30, "Interview"),
    ]
    page = client.get(episode.get_absolute_url()).text
    assert 'data-seek="30.000"' in page and "Interview" in page
    assert "Silent art" not in page


def test_chapters_past_the_end_of_new_audio_are_left_out_and_flagged(
    show, make_published, now, client
):
    # The fixture's renditions last 61.6 s.
    episode = make_published(show, slug="pilot", title="Pilot")
    Chapter.objects.replace_for(episode, [*ENTRIES, ChapterEntry(70, "After the end")])

    served = json.loads(client.get(chapters_path(episode)).content)
    assert [c["title"] for c in served["chapters"]] == ["Intro", "Silent art", "Interview"]
    assert "After the end" not in client.get(episode.get_absolute_url()).text

    message = (
        "Item “Pilot”: 1 chapter(s) start after the end of the audio (1:01.6) and are left "
        "out: “After the end” at 1:10."
    )
    assert message in validate_podcast_feed(show, now=now)
    findings = gate.check_saved_show(show, now=now)
    assert (
        gate.Finding(gate.WARNING, message, "Correct it on that episode's page in the admin.")
        in findings
    )
    published = publish_feed(show.pk)
    assert published.changed  # a warning does not block
    assert any(f.message == message and not f.blocking for f in published.findings)


def test_an_episode_or_show_with_chapters_can_be_deleted(
    show, make_published, make_podcast, django_capture_on_commit_callbacks
):
    episode = make_published(show, slug="pilot")
    Chapter.objects.replace_for(episode, ENTRIES)
    other = make_podcast(slug="other")
    Chapter.objects.replace_for(make_published(other, slug="x"), ENTRIES)

    with django_capture_on_commit_callbacks(execute=True):
        episode.delete()
        other.delete()

    assert not Chapter.objects.exists()
