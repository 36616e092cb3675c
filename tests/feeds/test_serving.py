"""The public feed URL and local media over HTTP: conditional GET, gzip, HEAD, ranges, redirects."""

from __future__ import annotations

import gzip
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.utils.http import http_date

from feeds.models import FeedState
from tests.feeds.conftest import parse_both

FAST_PATH = "feeds.middleware.FeedFastPathMiddleware"


@pytest.fixture(params=["urlconf", "fast-path"])
def client_variant(request, settings, client):
    """Every feed test runs through the URLconf and through the fast-path middleware."""
    if request.param == "fast-path":
        settings.MIDDLEWARE = [FAST_PATH, *settings.MIDDLEWARE]
    return client


@pytest.fixture
def show(make_podcast, make_published, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        podcast = make_podcast()
        make_published(podcast, title="Episode one")
    return podcast


def feed_path(podcast) -> str:
    return f"/{podcast.slug}/feed.xml"


def test_200_with_validators_then_304_for_each(client_variant, show):
    first = client_variant.get(feed_path(show))
    assert first.status_code == 200
    assert first["Content-Type"] == "application/rss+xml; charset=utf-8"
    etag, last_modified = first["ETag"], first["Last-Modified"]
    assert etag.startswith('"') and not etag.startswith("W/")
    assert first["Cache-Control"].startswith("public, max-age=")
    assert int(first["Content-Length"]) == len(first.content)
    fp, pp = parse_both(first.content)
    assert [e.title for e in fp.entries] == ["Episode one"]
    assert [e["title"] for e in pp["episodes"]] == ["Episode one"]

    by_etag = client_variant.get(feed_path(show), HTTP_IF_NONE_MATCH=etag)
    assert by_etag.status_code == 304
    assert by_etag.content == b""
    assert by_etag["ETag"] == etag

    by_date = client_variant.get(feed_path(show), HTTP_IF_MODIFIED_SINCE=last_modified)
    assert by_date.status_code == 304

    stale = client_variant.get(feed_path(show), HTTP_IF_NONE_MATCH='"something-else"')
    assert stale.status_code == 200
    older = http_date(0)
    assert client_variant.get(feed_path(show), HTTP_IF_MODIFIED_SINCE=older).status_code == 200


def test_a_change_gives_a_new_etag(
    client_variant, show, make_published, django_capture_on_commit_callbacks
):
    before = client_variant.get(feed_path(show))
    with django_capture_on_commit_callbacks(execute=True):
        episode = show.episodes.get()
        episode.title = "Renamed"
        episode.save()
    after = client_variant.get(feed_path(show), HTTP_IF_NONE_MATCH=before["ETag"])
    assert after.status_code == 200
    assert after["ETag"] != before["ETag"]
    fp, _ = parse_both(after.content)
    assert [e.title for e in fp.entries] == ["Renamed"]


def test_gzip_when_asked(client_variant, show):
    plain = client_variant.get(feed_path(show))
    zipped = client_variant.get(feed_path(show), HTTP_ACCEPT_ENCODING="gzip, deflate, br")
    assert zipped.status_code == 200
    assert zipped["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in zipped["Vary"]
    assert gzip.decompress(zipped.content) == plain.content
    assert int(zipped["Content-Length"]) == len(zipped.content)
    assert zipped["ETag"] != plain["ETag"]
    # A client that refuses gzip gets plain bytes.
    refused = client_variant.get(feed_path(show), HTTP_ACCEPT_ENCODING="gzip;q=0")
    assert "Content-Encoding" not in refused
    again = client_variant.get(
        feed_path(show), HTTP_ACCEPT_ENCODING="gzip", HTTP_IF_NONE_MATCH=zipped["ETag"]
    )
    assert again.status_code == 304


def test_head(client_variant, show):
    get = client_variant.get(feed_path(show))
    head = client_variant.head(feed_path(show))
    assert head.status_code == 200
    assert head.content == b""
    assert head["ETag"] == get["ETag"]
    assert head["Content-Length"] == get["Content-Length"]
    assert head["Content-Type"] == get["Content-Type"]


def test_post_is_not_allowed(client_variant, show):
    assert client_variant.post(feed_path(show)).status_code == 405


def test_moved_show_answers_301_to_its_new_feed(client_variant, make_podcast):
    podcast = make_podcast(new_feed_url="https://elsewhere.example.com/feed.rss")
    response = client_variant.get(feed_path(podcast))
    assert response.status_code == 301
    assert response["Location"] == "https://elsewhere.example.com/feed.rss"


def test_unknown_slug_is_404(client_variant, db):
    assert client_variant.get("/no-such-show/feed.xml").status_code == 404


def test_feed_host_is_checked_against_allowed_hosts(client_variant, show, settings):
    # As in production (DEBUG=0): only the listed host is served.
    settings.DEBUG = False
    settings.ALLOWED_HOSTS = ["podcasts.example.com"]
    assert "feeds.middleware.FeedFastPathMiddleware" in settings.MIDDLEWARE

    evil = client_variant.get(feed_path(show), HTTP_HOST="evil.example")
    evil_unknown = client_variant.get("/no-such-show/feed.xml", HTTP_HOST="evil.example")
    allowed = client_variant.get(feed_path(show), HTTP_HOST="podcasts.example.com")

    assert evil.status_code == 400
    assert b"<rss" not in evil.content
    assert evil_unknown.status_code == 400
    assert allowed.status_code == 200


def test_feed_nobody_published_yet_is_rendered_on_first_request(client_variant, make_podcast):
    podcast = make_podcast(title="Brand new")
    response = client_variant.get(feed_path(podcast))
    assert response.status_code == 200
    fp, _ = parse_both(response.content)
    assert fp.feed.title == "Brand new"
    assert FeedState.objects.get(podcast=podcast).content_hash in response["ETag"]


def test_scheduled_episode_appears_after_the_periodic_sweep(
    client, make_podcast, make_published, now, django_capture_on_commit_callbacks
):
    import time_machine

    from feeds.publishing import publish_due

    with django_capture_on_commit_callbacks(execute=True):
        podcast = make_podcast()
        make_published(podcast, title="Later", publish_at=now + timedelta(minutes=10))
    fp, _ = parse_both(client.get(feed_path(podcast)).content)
    assert fp.entries == []
    with time_machine.travel(now + timedelta(minutes=11), tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            assert publish_due() == [podcast.pk]
        fp, _ = parse_both(client.get(feed_path(podcast)).content)
    assert [e.title for e in fp.entries] == ["Later"]


def test_show_page_lists_published_episodes_linking_to_their_player(
    client, show, make_published, now
):
    make_published(show, title="Future", publish_at=now + timedelta(days=1))
    response = client.get(f"/{show.slug}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Episode one" in html and "Future" not in html
    assert show.feed_url in html
    episode = show.episodes.get(title="Episode one")
    assert f'<a href="/{show.slug}/{episode.slug}/">Episode one</a>' in html
    mp3 = episode.renditions.get(preset="mp3")
    page = client.get(f"/{show.slug}/{episode.slug}/").content.decode()
    assert f'<audio controls preload="metadata" src="{storages["media"].url(mp3.key)}"' in page


# --- local media ---


@pytest.fixture
def audio_file(db):
    payload = bytes(range(256)) * 40  # 10240 bytes
    key = storages["media"].save("show/abc/mp3.mp3", ContentFile(payload))
    return f"/media/{key}", payload


def test_media_full_get_and_head(client, audio_file):
    url, payload = audio_file
    full = client.get(url)
    assert full.status_code == 200
    assert full["Content-Type"] == "audio/mpeg"
    assert full["Accept-Ranges"] == "bytes"
    assert b"".join(full.streaming_content) == payload
    head = client.head(url)
    assert head.status_code == 200
    assert head["Content-Length"] == str(len(payload))
    assert head["Content-Type"] == "audio/mpeg"
    assert head.content == b""


@pytest.mark.parametrize(
    ("header", "first", "last"),
    [
        ("bytes=0-99", 0, 99),
        ("bytes=10000-", 10000, 10239),
        ("bytes=-40", 10200, 10239),
        ("bytes=10200-99999", 10200, 10239),
    ],
)
def test_media_range_gives_206(client, audio_file, header, first, last):
    url, payload = audio_file
    response = client.get(url, HTTP_RANGE=header)
    assert response.status_code == 206
    assert response["Content-Range"] == f"bytes {first}-{last}/{len(payload)}"
    assert response["Content-Type"] == "audio/mpeg"
    body = b"".join(response.streaming_content)
    assert body == payload[first : last + 1]
    assert response["Content-Length"] == str(len(body))


def test_media_unsatisfiable_range_is_416(client, audio_file):
    url, payload = audio_file
    response = client.get(url, HTTP_RANGE="bytes=20000-")
    assert response.status_code == 416
    assert response["Content-Range"] == f"bytes */{len(payload)}"


HUGE = "9" * 5000  # past Python's 4300-digit limit on int(str)


@pytest.mark.parametrize(
    ("header", "status", "content_range"),
    [
        # A first byte past the end: unsatisfiable.
        (f"bytes={HUGE}-", 416, "bytes */10240"),
        (f"bytes={HUGE}-{HUGE}", 416, "bytes */10240"),
        # A suffix longer than the file is the whole file (RFC 9110 §14.1.2).
        (f"bytes=-{HUGE}", 206, "bytes 0-10239/10240"),
        # A last byte past the end stops at the end.
        (f"bytes=0-{HUGE}", 206, "bytes 0-10239/10240"),
        # Leading zeros do not make a number big.
        (f"bytes={'0' * 5000}5-9", 206, "bytes 5-9/10240"),
    ],
    ids=["huge-first", "huge-first-and-last", "huge-suffix", "huge-last", "leading-zeros"],
)
def test_media_range_with_thousands_of_digits_is_answered_not_a_crash(
    client, audio_file, header, status, content_range
):
    url, payload = audio_file  # no login: anyone can send this
    response = client.get(url, HTTP_RANGE=header)
    assert response.status_code == status
    assert response["Content-Range"] == content_range
    if status == 206:
        first, last = (int(n) for n in content_range.split()[1].split("/")[0].split("-"))
        assert b"".join(response.streaming_content) == payload[first : last + 1]


@pytest.mark.parametrize(
    ("name", "mime"),
    [
        ("a.m4a", "audio/x-m4a"),
        ("a.ogg", "audio/ogg"),
        ("c.png", "image/png"),
        ("c.jpg", "image/jpeg"),
    ],
)
def test_media_types_match_the_feed(client, db, name, mime):
    key = storages["media"].save(f"x/{name}", ContentFile(b"data"))
    assert client.head(f"/media/{key}")["Content-Type"] == mime


def test_media_missing_or_outside_is_404(client, db):
    assert client.get("/media/nothing/here.mp3").status_code == 404
    assert client.get("/media/../../etc/passwd").status_code == 404


def test_media_is_not_served_when_media_is_not_local(client, audio_file, settings):
    url, _ = audio_file
    storages_setting = dict(settings.STORAGES)
    storages_setting["media"] = {
        "BACKEND": "podcasthost.storage.s3.S3Storage",
        "OPTIONS": {"bucket_name": "media"},
    }
    settings.STORAGES = storages_setting
    assert client.get(url).status_code == 404


def test_media_dot_folders_are_never_served(client, db):
    storages["media"].save("show/.tmp/job-1/mp3.mp3", ContentFile(b"half-written"))

    assert client.get("/media/show/.tmp/job-1/mp3.mp3").status_code == 404


def test_media_conditional_get_answers_304(client, audio_file):
    url, _ = audio_file
    first = client.get(url)

    by_etag = client.get(url, HTTP_IF_NONE_MATCH=first["ETag"])
    by_date = client.get(url, HTTP_IF_MODIFIED_SINCE=first["Last-Modified"])

    assert (by_etag.status_code, by_date.status_code) == (304, 304)
    assert by_etag["ETag"] == first["ETag"]
    assert client.get(url, HTTP_IF_NONE_MATCH='"other"').status_code == 200


def test_media_head_ignores_range(client, audio_file):
    url, payload = audio_file

    response = client.head(url, HTTP_RANGE="bytes=999999-")

    assert response.status_code == 200
    assert response["Content-Length"] == str(len(payload))
