"""What listeners' apps get: ``<podcast:transcript>`` tags and the files behind them."""

from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from episodes.models import Episode, Transcript
from episodes.transcripts.cues import Cue
from episodes.transcripts.formats import parse_transcript
from feeds import site
from feeds.models import FeedState
from feeds.publishing import publish_feed
from feeds.rss import NAMESPACES, build_feed
from feeds.transcripts import FileCache, TranscriptFile
from feeds.validation import check_feed_xml
from tests.feeds.conftest import parse_both

P = f"{{{NAMESPACES['podcast']}}}"


@pytest.fixture
def show(make_podcast):
    return make_podcast(slug="lights", language="en")


@pytest.fixture
def episode(show, make_published):
    published = make_published(show, slug="keepers", title="The keepers")
    # Creating the rows requested a publish no test ran: start from a clear marker.
    FeedState.objects.filter(podcast=show).update(publish_requested_at=None)
    return published


def tags_of(body: bytes) -> list[dict]:
    item = ET.fromstring(body).find("channel/item")  # noqa: S314 (our own feed)
    return [dict(t.attrib) for t in item.findall(f"{P}transcript")]


def base(settings) -> str:
    return f"{settings.PUBLIC_BASE_URL}/lights/keepers/"


def test_the_item_lists_every_served_format_as_the_namespace_documents(
    show, episode, attach, now, settings
):
    attach(episode, "lighthouse.vtt", language="en")
    attach(episode, "lighthouse-windows.srt", language="fr")

    body = build_feed(show, now=now).body

    url = base(settings)
    assert tags_of(body) == [
        {"url": f"{url}transcript.en.vtt", "type": "text/vtt", "language": "en", "rel": "captions"},
        {
            "url": f"{url}transcript.en.srt",
            "type": "application/x-subrip",
            "language": "en",
            "rel": "captions",
        },
        {
            "url": f"{url}transcript.en.json",
            "type": "application/json",
            "language": "en",
            "rel": "captions",
        },
        {"url": f"{url}transcript.en.txt", "type": "text/plain", "language": "en"},
        {"url": f"{url}transcript.fr.vtt", "type": "text/vtt", "language": "fr", "rel": "captions"},
        {
            "url": f"{url}transcript.fr.srt",
            "type": "application/x-subrip",
            "language": "fr",
            "rel": "captions",
        },
        {
            "url": f"{url}transcript.fr.json",
            "type": "application/json",
            "language": "fr",
            "rel": "captions",
        },
        {"url": f"{url}transcript.fr.txt", "type": "text/plain", "language": "fr"},
    ]
    assert [
        p for p in check_feed_xml(body, feed_url=show.feed_url, now=now) if "ranscript" in p
    ] == []


def test_podcast_apps_read_the_transcript_urls(show, episode, attach, now, client):
    attach(episode)
    body = build_feed(show, now=now).body
    fp, pp = parse_both(body)
    assert "transcript_url" not in pp["episodes"][0]
    # podcastparser 0.6.11 knows the namespace only by its first URI, which the
    # namespace declares identical to https://podcastindex.org/namespace/1.0
    # (https://github.com/Podcastindex-org/podcast-namespace/blob/main/docs/1.0.md):
    # under that name it reads our tags.
    legacy = body.replace(
        NAMESPACES["podcast"].encode(),
        b"https://github.com/Podcastindex-org/podcast-namespace/blob/main/docs/1.0.md",
    )
    _fp, pp = parse_both(legacy)
    # gPodder's podcastparser keeps one transcript URL per episode; it must be one we serve.
    transcript_url = pp["episodes"][0]["transcript_url"]
    assert transcript_url.rsplit("/", 1)[-1] in {
        "transcript.en.vtt",
        "transcript.en.srt",
        "transcript.en.json",
        "transcript.en.txt",
    }
    response = client.get(transcript_url)
    assert response.status_code == 200
    # feedparser exposes the podcast: namespace's attributes as they are.
    entry = fp.entries[0]
    assert entry["podcast_transcript"]["url"].startswith("http")
    assert fp.bozo == 0


def test_an_untimed_transcript_is_listed_and_served_as_plain_text_only(
    show, episode, attach, now, client, settings
):
    parsed = parse_transcript(b"First paragraph.\r\n\r\nSecond\r\nparagraph.", "notes.txt")
    Transcript.objects.attach(episode, language="en", cues=parsed.cues, timed=parsed.timed)

    assert tags_of(build_feed(show, now=now).body) == [
        {"url": f"{base(settings)}transcript.en.txt", "type": "text/plain", "language": "en"}
    ]
    assert client.get("/lights/keepers/transcript.en.txt").content == (
        b"First paragraph.\n\nSecond paragraph.\n"
    )
    assert client.get("/lights/keepers/transcript.en.vtt").status_code == 404
    # The page's player follows timed transcripts only.
    assert site.transcript_for(episode) == []


def test_each_file_is_served_with_its_type_cors_and_etag(episode, attach, client):
    attach(episode)
    cues = Transcript.objects.get(episode=episode).cue_list()

    expected = {
        "vtt": "text/vtt; charset=utf-8",
        "srt": "application/x-subrip; charset=utf-8",
        "json": "application/json",
        "txt": "text/plain; charset=utf-8",
    }
    for ext, content_type in expected.items():
        response = client.get(f"/lights/keepers/transcript.en.{ext}")
        assert response.status_code == 200, ext
        assert response["Content-Type"] == content_type
        assert response["Access-Control-Allow-Origin"] == "*"
        assert response["Content-Length"] == str(len(response.content))
        if ext != "txt":
            assert parse_transcript(response.content, f"x.{ext}").cues == (
                cues
                if ext != "srt"
                else [
                    Cue(c.start, c.end, f"{c.speaker}: {c.text}" if c.speaker else c.text)
                    for c in cues
                ]
            )
        again = client.get(
            f"/lights/keepers/transcript.en.{ext}", HTTP_IF_NONE_MATCH=response["ETag"]
        )
        assert again.status_code == 304
        assert again["Access-Control-Allow-Origin"] == "*"
        head = client.head(f"/lights/keepers/transcript.en.{ext}")
        assert head.status_code == 200 and head.content == b""

    vtt = client.get("/lights/keepers/transcript.en.vtt").content.decode()
    assert vtt.startswith("WEBVTT\n\n00:00:00.500 --> 00:00:03.200\n<v Ana>Welcome to the")
    data = json.loads(client.get("/lights/keepers/transcript.en.json").content)
    assert data["version"] == "1.0.0"
    assert data["segments"][1]["speaker"] == "Ben Okafor"


def test_only_published_transcripts_of_published_episodes_are_served(
    show, episode, attach, draft, make_published, make_episode, now, client
):
    draft(episode, [Cue(0.0, 1.0, "not accepted yet")], language="de")
    attach(episode, language="en")
    scheduled = make_published(show, slug="soon", publish_at=now + timedelta(days=1))
    attach(scheduled)
    unpublished = make_episode(show, slug="draft-episode")
    attach(unpublished)

    assert client.get("/lights/keepers/transcript.en.vtt").status_code == 200
    for path in (
        "/lights/keepers/transcript.de.vtt",  # a draft
        "/lights/keepers/transcript.es.vtt",  # no such language
        "/lights/soon/transcript.en.vtt",  # scheduled
        "/lights/draft-episode/transcript.en.vtt",  # never published
        "/other-show/keepers/transcript.en.vtt",
        "/lights/keepers/transcript.en.html",
        "/lights/keepers/transcript..vtt",
        "/lights/keepers/transcript.en.vtt/",
    ):
        assert client.get(path).status_code == 404, path
    assert client.post("/lights/keepers/transcript.en.vtt").status_code == 405
    assert [t["language"] for t in tags_of(build_feed(show, now=now).body)] == ["en"] * 4


def test_accepting_a_draft_publishes_it_and_the_served_feed_changes(
    show, episode, draft, now, client, django_capture_on_commit_callbacks
):
    transcript = draft(episode, [Cue(0.0, 2.0, "Hello from the lighthouse.")])
    publish_feed(show.pk)
    assert tags_of(client.get("/lights/feed.xml").content) == []
    assert client.get("/lights/keepers/transcript.en.vtt").status_code == 404

    with django_capture_on_commit_callbacks(execute=True):
        assert transcript.accept()

    served = client.get("/lights/feed.xml").content
    assert [t["type"] for t in tags_of(served)] == [
        "text/vtt",
        "application/x-subrip",
        "application/json",
        "text/plain",
    ]
    assert b"Hello from the lighthouse." in client.get("/lights/keepers/transcript.en.vtt").content
    # Accepted once: a second accept (a double click) wins nothing.
    assert not transcript.accept()


def test_editing_and_deleting_a_published_transcript_reach_the_feed_and_the_files(
    show, episode, attach, client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        transcript = attach(episode)
    first = client.get("/lights/feed.xml")
    assert len(tags_of(first.content)) == 4
    revision = Episode.objects.get(pk=episode.pk).updated_at

    with django_capture_on_commit_callbacks(execute=True):
        assert transcript.revise([Cue(0.0, 1.0, "Corrected words.")], timed=True)
    assert Episode.objects.get(pk=episode.pk).updated_at > revision
    assert client.get("/lights/keepers/transcript.en.txt").content == b"Corrected words.\n"

    with django_capture_on_commit_callbacks(execute=True):
        transcript.delete()
    served = client.get("/lights/feed.xml", HTTP_IF_NONE_MATCH=first["ETag"])
    assert served.status_code == 200
    assert tags_of(served.content) == []
    assert client.get("/lights/keepers/transcript.en.txt").status_code == 404


def test_an_upload_replaces_a_pending_automatic_transcript(episode, attach):
    pending = Transcript.objects.create(
        episode=episode,
        language="en",
        origin=Transcript.Origin.AUTOMATIC,
        status=Transcript.Status.PENDING,
        job_id="job-1",
        progress_percent=40,
    )
    attach(episode)
    pending.refresh_from_db()
    assert (pending.origin, pending.status, pending.job_id) == ("uploaded", "published", "")
    assert len(pending.cues) == 5
    # What the transcriber's compare-and-swap would look for is gone.
    assert not Transcript.objects.filter(pk=pending.pk, status="pending", job_id="job-1").exists()


@pytest.mark.parametrize("count", [3, 30])
def test_the_feed_query_count_stays_constant_with_transcripts(
    show, make_published, attach, now, count, django_assert_max_num_queries
):
    for i in range(count):
        attach(make_published(show, publish_at=now - timedelta(minutes=i + 1)))
    # Index, episodes, renditions, published transcripts, episode people (chapters
    # are a subquery of the episodes); the channel's five Podcasting 2.0 lists.
    with django_assert_max_num_queries(10):
        rendered = build_feed(show, now=now)
    assert rendered.item_count == count
    assert len(tags_of(rendered.body)) == 4


def test_the_episode_page_shows_the_transcript_in_the_shows_language(show, episode, attach, client):
    attach(episode, "lighthouse-windows.srt", language="fr")
    attach(episode, "lighthouse.vtt", language="en")

    cues = site.transcript_for(Episode.objects.get(pk=episode.pk))
    assert [c.text for c in cues][:2] == [
        "Welcome to the Lighthouse hour.",
        "Tonight & every night: the keepers <and> their lamps.",
    ]
    assert cues[0] == site.Cue(0.5, 3.2, "Welcome to the Lighthouse hour.", "Ana")
    page = client.get("/lights/keepers/").content.decode()
    assert 'data-start="0.500" data-end="3.200"' in page
    assert "<strong>Ana:</strong>" in page
    assert "Tonight &amp; every night: the keepers &lt;and&gt; their lamps." in page


def test_validate_feed_finds_malformed_transcript_tags(show, episode, attach, now):
    attach(episode)
    root = ET.fromstring(build_feed(show, now=now).body)  # noqa: S314
    item = root.find("channel/item")
    for attrs in (
        {"url": "ftp://example.com/t.vtt", "type": "text/vtt"},
        {"url": "https://example.com/t.doc", "type": "application/msword"},
        {"url": "https://example.com/t.txt", "type": "text/plain", "rel": "captions"},
        {"url": "https://example.com/t.srt", "type": "application/x-subrip", "language": "x"},
        {"url": "https://example.com/t.json", "type": "application/json", "rel": "subtitles"},
    ):
        ET.SubElement(item, f"{P}transcript", attrs)
    ET.register_namespace("podcast", NAMESPACES["podcast"])
    out = io.BytesIO()
    ET.ElementTree(root).write(out, encoding="UTF-8", xml_declaration=True)
    body = out.getvalue().replace(
        b"<?xml version='1.0' encoding='UTF-8'?>", b'<?xml version="1.0" encoding="UTF-8"?>'
    )

    problems = [
        p for p in check_feed_xml(body, feed_url=show.feed_url, now=now) if "transcript" in p
    ]

    assert len(problems) == 5
    assert "url is not an ASCII http(s) URL" in problems[0]
    assert "“application/msword” is not one of" in problems[1]
    assert 'rel="captions" needs a timed type' in problems[2]
    assert "language “x” is not a language tag" in problems[3]
    assert 'rel must be "captions" or absent' in problems[4]


def test_deleting_an_episode_or_a_show_takes_its_transcripts_along(
    show, episode, attach, make_published, django_capture_on_commit_callbacks
):
    attach(episode)
    other = make_published(show, slug="other")
    attach(other)
    with django_capture_on_commit_callbacks(execute=True):
        episode.delete()
    assert list(Transcript.objects.values_list("episode__slug", flat=True)) == ["other"]
    with django_capture_on_commit_callbacks(execute=True):
        show.delete()
    assert not Transcript.objects.exists()


def test_a_file_is_written_once_per_change_and_an_edit_is_served_at_once(episode, attach, client):
    transcript = attach(episode)
    first = client.get("/lights/keepers/transcript.en.vtt")
    with CaptureQueriesContext(connection) as queries:
        again = client.get("/lights/keepers/transcript.en.vtt")
    assert again.content == first.content and again["ETag"] == first["ETag"]
    # Served from this process's cache: the cues are not even loaded.
    assert not [q for q in queries.captured_queries if '"cues"' in q["sql"]]

    assert transcript.revise([Cue(1.0, 2.0, "Edited.")], timed=True)
    edited = client.get("/lights/keepers/transcript.en.vtt")
    assert edited["ETag"] != first["ETag"]
    assert edited.content == b"WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nEdited.\n"
    assert (
        client.get(
            "/lights/keepers/transcript.en.vtt", HTTP_IF_NONE_MATCH=first["ETag"]
        ).status_code
        == 200
    )


def test_the_file_cache_stays_within_its_bytes():
    cache = FileCache(max_bytes=10)
    for n in range(4):
        cache.put((n,), TranscriptFile(b"x" * 4, "text/plain", f'"{n}"'))
    assert [cache.get((n,)) is not None for n in range(4)] == [False, False, True, True]
    cache.put(("huge",), TranscriptFile(b"x" * 11, "text/plain", '"h"'))
    assert cache.get(("huge",)) is None
