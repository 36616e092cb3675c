"""An optional per-show measurement prefix (OP3, Podtrac) in front of every enclosure URL."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from feeds.rss import build_feed

PODCAST_NS = "{https://podcastindex.org/namespace/1.0}"


def enclosure_urls(podcast, now) -> tuple[list[str], list[str]]:
    root = ET.fromstring(build_feed(podcast, now=now).body)  # noqa: S314 (our own feed)
    enclosures = [e.get("url") for e in root.iter("enclosure")]
    sources = [s.get("uri") for s in root.iter(f"{PODCAST_NS}source")]
    return enclosures, sources


def test_without_a_prefix_enclosures_point_at_the_media(make_podcast, make_published, now):
    podcast = make_podcast()
    make_published(podcast)

    enclosures, _ = enclosure_urls(podcast, now)

    assert enclosures[0].startswith("http://") and "op3" not in enclosures[0]


@pytest.mark.parametrize("prefix", ["https://op3.dev/e/", "https://dts.podtrac.com/redirect.mp3/"])
def test_the_prefix_goes_before_every_enclosure_url(make_podcast, make_published, now, prefix):
    podcast = make_podcast(measurement_prefix=prefix)
    episode = make_published(podcast)
    direct = episode.renditions.get(preset="mp3").url

    enclosures, sources = enclosure_urls(podcast, now)

    assert enclosures == [prefix + direct.split("://", 1)[1]]
    assert sources and all(uri.startswith(prefix) for uri in sources)


@pytest.mark.parametrize(
    "bad",
    [
        "http://op3.dev/e/",
        "https://op3.dev/e",
        "javascript:alert(1)//",
        "op3.dev/e/",
        # The media's host and path would land in a fragment or a query: no app reaches it.
        "https://op3.dev/e/#/",
        "https://op3.dev/e/?to=/",
        "https://user@op3.dev/e/",
        "https://op3.dev/e /",
        # Not even URLs (urlsplit raises): refused, not a 500.
        "https://[::1/e/",
        "https://op3.dev]/e/",
    ],
)
def test_a_prefix_that_is_not_an_https_redirect_prefix_is_refused(make_podcast, bad):
    podcast = make_podcast()
    podcast.measurement_prefix = bad

    with pytest.raises(ValidationError) as refused:
        podcast.full_clean()

    assert "measurement_prefix" in refused.value.message_dict


def test_creators_set_the_prefix_in_the_show_admin(client, make_creator, make_podcast):
    creator = make_creator()
    podcast = make_podcast(members=[creator])
    client.force_login(creator)

    page = client.get(reverse("admin:episodes_podcast_change", args=[podcast.pk])).text

    assert 'name="measurement_prefix"' in page
