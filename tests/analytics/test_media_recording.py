"""The one-machine /media/ view records each request; the same rules count them."""

from __future__ import annotations

import http.client
from urllib.parse import urlsplit

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.utils import timezone

from episodes.models import Rendition
from feeds.analytics.aggregate import aggregate_downloads
from feeds.analytics.models import DownloadEvent, EpisodeDownloadDay
from tests.analytics.conftest import BOT, OVERCAST, SIZE, SPOTIFY
from tests.servers import wait_until


@pytest.fixture
def served(rendition):
    """The rendition's file really in the media storage."""
    storages["media"].save(
        rendition.key, ContentFile(bytes(range(256)) * (SIZE // 256) + b"!" * (SIZE % 256))
    )
    return rendition


def fetch(client, rendition, *, agent=OVERCAST, range_header=None, address="192.0.2.1", **extra):
    headers = {"HTTP_USER_AGENT": agent, "REMOTE_ADDR": address, **extra}
    if range_header:
        headers["HTTP_RANGE"] = range_header
    response = client.get(f"/media/{rendition.key}", **headers)
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return response, body


def downloads() -> int:
    return sum(EpisodeDownloadDay.objects.values_list("downloads", flat=True))


def test_a_full_get_records_time_rendition_range_bytes_and_agent(client, served):
    before = timezone.now()
    response, body = fetch(client, served)

    assert response.status_code == 200 and len(body) == SIZE
    event = DownloadEvent.objects.get()
    assert event.rendition_id == served.pk
    [(at, first, last)] = event.request_list()
    assert (first, last) == (0, SIZE - 1)
    assert before <= at == event.at <= timezone.now()
    assert event.user_agent == OVERCAST and event.app == "Overcast"
    assert event.source == "media"
    assert abs((timezone.now() - event.at).total_seconds()) < 60
    assert "192.0.2.1" not in event.listener + event.listener_before
    aggregate_downloads(now=timezone.now())
    assert downloads() == 1


def test_twenty_ranges_from_one_listener_are_one_download(client, served):
    step = SIZE // 20
    for i in range(20):
        response, body = fetch(
            client, served, range_header=f"bytes={i * step}-{(i + 1) * step - 1}"
        )
        assert response.status_code == 206 and len(body) == step

    aggregate_downloads(now=timezone.now())

    assert DownloadEvent.objects.count() == 20
    assert downloads() == 1


def test_a_range_probe_and_a_bot_are_not_downloads(client, served):
    fetch(client, served, range_header="bytes=0-1")
    fetch(client, served, agent=BOT)

    aggregate_downloads(now=timezone.now())

    assert DownloadEvent.objects.count() == 0
    assert downloads() == 0


def test_two_apps_behind_one_address_are_two_listeners(client, served):
    fetch(client, served, agent=OVERCAST)
    fetch(client, served, agent=SPOTIFY)

    aggregate_downloads(now=timezone.now())

    assert downloads() == 2


def test_behind_a_trusted_proxy_listeners_are_told_apart_by_forwarded_address(
    client, served, settings
):
    settings.TRUSTED_PROXY_COUNT = 1
    for address in ("203.0.113.5", "203.0.113.6"):
        fetch(client, served, address="10.0.0.1", HTTP_X_FORWARDED_FOR=address)

    aggregate_downloads(now=timezone.now())

    assert downloads() == 2


def test_head_and_cover_art_are_not_recorded(client, served, rendition):
    storages["media"].save("covers/stats-show/c.jpg", ContentFile(b"\xff\xd8" + b"0" * 5000))
    client.head(f"/media/{served.key}", HTTP_USER_AGENT=OVERCAST)
    client.get("/media/covers/stats-show/c.jpg", HTTP_USER_AGENT=OVERCAST)

    assert DownloadEvent.objects.count() == 0


def test_a_client_that_hangs_up_early_is_counted_by_the_bytes_it_got(live_server, rendition):
    """Real HTTP: the app reads a little of a big file and closes the connection."""
    size = 48 * 1024 * 1024  # more than the sockets' buffers can hold
    storages["media"].save(rendition.key, ContentFile(b"\0" * size))
    # 4 Mb/s: a minute is 30 MB, far more than the buffers take before the hang-up shows.
    Rendition.objects.filter(pk=rendition.pk).update(size_bytes=size, bitrate=4_000_000)
    url = urlsplit(live_server.url)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    conn.request("GET", f"/media/{rendition.key}", headers={"User-Agent": OVERCAST})
    response = conn.getresponse()
    assert response.status == 200
    response.read(64 * 1024)
    conn.close()

    event = wait_until(
        lambda: DownloadEvent.objects.first(), timeout_seconds=20, what="the event to be recorded"
    )
    [(_at, first, last)] = event.request_list()
    assert first == 0 and 64 * 1024 <= last + 1 < size
    aggregate_downloads(now=timezone.now())
    assert downloads() == 0


def test_unknown_media_paths_still_404_and_record_nothing(client, db):
    response = client.get("/media/nothing/here.mp3", HTTP_USER_AGENT=OVERCAST)

    assert response.status_code == 404
    assert not DownloadEvent.objects.exists()
    assert Rendition.objects.count() == 0


def test_a_huge_user_agent_or_range_header_is_served_and_recorded_safely(client, served):
    response, body = fetch(client, served, agent="Overcast/3.0 " + "x" * 100_000)
    assert response.status_code == 200 and len(body) == SIZE
    response, _ = fetch(client, served, range_header="bytes=" + "9" * 5000 + "-")
    assert response.status_code == 416

    (event,) = DownloadEvent.objects.all()
    assert len(event.user_agent) == 512
