"""The show's public website as a listener's browser (and a crawler) gets it, over real HTTP."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from html.parser import HTMLParser

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.urls import resolve

from episodes.models import Episode
from tests.site.conftest import give_cover


class Head(HTMLParser):
    """The parts of a page that machines read: meta/link tags, JSON-LD blocks, scripts, links."""

    def __init__(self) -> None:
        super().__init__()
        self.meta: dict[str, str] = {}
        self.links: list[dict[str, str]] = []
        self.jsonld: list[dict] = []
        self.inline_scripts: list[str] = []
        self.anchors: list[str] = []
        self.titles: list[str] = []
        self._script: dict | None = None
        self._h3 = False

    def handle_starttag(self, tag, attrs):
        a = {k: v or "" for k, v in attrs}
        if tag == "meta" and ("property" in a or "name" in a):
            self.meta[a.get("property") or a["name"]] = a.get("content", "")
        elif tag == "link":
            self.links.append(a)
        elif tag == "script":
            self._script = {"attrs": a, "text": ""}
        elif tag == "a":
            self.anchors.append(a.get("href", ""))
        elif tag == "h3":
            self._h3 = True
        for name in a:
            assert not name.startswith("on"), f"event handler attribute {name} in {tag}"
        assert "style" not in a, f"inline style on {tag}"

    def handle_data(self, data):
        if self._script is not None:
            self._script["text"] += data
        elif self._h3:
            self.titles.append(data.strip())

    def handle_endtag(self, tag):
        if tag == "script" and self._script is not None:
            script, self._script = self._script, None
            if script["attrs"].get("type") == "application/ld+json":
                self.jsonld.append(json.loads(script["text"]))
            elif "src" not in script["attrs"]:
                self.inline_scripts.append(script["text"])
        elif tag == "h3":
            self._h3 = False

    def link(self, rel: str, type_: str | None = None) -> dict[str, str]:
        found = [
            link
            for link in self.links
            if link.get("rel") == rel and (type_ is None or link.get("type") == type_)
        ]
        assert len(found) == 1, f"{rel} {type_}: {found}"
        return found[0]


def parse(response) -> Head:
    head = Head()
    head.feed(response.content.decode())
    return head


@pytest.fixture
def show(make_podcast):
    return make_podcast(
        slug="night-shift",
        title="Night Shift",
        author="Nadia Okafor",
        owner_name="Private Owner Name",
        owner_email="secret-owner@example.com",
        description="<p>Stories from <strong>after dark</strong>.</p>",
    )


# --- what is listed -----------------------------------------------------------------


def test_show_page_lists_published_episodes_newest_first_and_nothing_unpublished(
    client, show, publish, make_episode, now
):
    publish(show, title="Old one", publish_at=now - timedelta(days=3))
    publish(show, title="New one", publish_at=now - timedelta(days=1))
    publish(show, title="Scheduled one", publish_at=now + timedelta(days=1))
    make_episode(show, title="Draft one")  # no audio, no date
    make_episode(show, title="Processing one", publish_at=now - timedelta(days=2))  # no renditions

    response = client.get("/night-shift/")
    assert response.status_code == 200
    head = parse(response)
    assert head.titles == ["New one", "Old one"]
    body = response.content.decode()
    for hidden in (
        "Scheduled one",
        "Draft one",
        "Processing one",
        "secret-owner@",
        "Private Owner",
    ):
        assert hidden not in body


def test_serial_show_lists_oldest_first(client, make_podcast, publish, now):
    show = make_podcast(slug="saga", show_type="serial")
    publish(show, title="Chapter 1", publish_at=now - timedelta(days=3))
    publish(show, title="Chapter 2", publish_at=now - timedelta(days=2))
    assert parse(client.get("/saga/")).titles == ["Chapter 1", "Chapter 2"]


def test_episode_list_is_paginated_and_bad_pages_are_404(client, show, publish, now, settings):
    settings.SITE_EPISODES_PER_PAGE = 2
    for day in range(5):
        publish(show, title=f"Day {day}", publish_at=now - timedelta(days=day + 1))
    assert parse(client.get("/night-shift/")).titles == ["Day 0", "Day 1"]
    page3 = client.get("/night-shift/?page=3")
    assert parse(page3).titles == ["Day 4"]
    assert parse(page3).link("canonical")["href"].endswith("/night-shift/?page=3")
    assert 'rel="prev" href="?page=2"' in page3.content.decode()
    for bad in ("4", "0", "-1", "abc", "1" * 50, "2.5"):
        assert client.get("/night-shift/", {"page": bad}).status_code == 404, bad


def test_show_with_nothing_published_still_has_a_page(client, show):
    response = client.get("/night-shift/")
    assert response.status_code == 200
    assert "No episodes yet." in response.content.decode()


def test_unknown_show_and_episode_are_404(client, show, publish):
    publish(show, slug="one")
    for url in (
        "/nope/",
        "/nope/one/",
        "/night-shift/two/",
        "/night-shift/two/embed",
        "/nope/embed",
    ):
        assert client.get(url).status_code == 404, url


def test_scheduled_episode_is_404_until_its_time_then_appears(client, show, publish, now):
    publish(show, title="Earlier", slug="earlier", publish_at=now - timedelta(days=1))
    publish(show, title="Premiere", slug="premiere", publish_at=now + timedelta(hours=1))

    assert client.get("/night-shift/premiere/").status_code == 404
    assert client.get("/night-shift/premiere/embed").status_code == 404
    assert parse(client.get("/night-shift/")).titles == ["Earlier"]
    assert b"Earlier" in client.get("/night-shift/embed").content  # the latest *published* one

    with time_machine.travel(now + timedelta(hours=1, seconds=1), tick=False):
        # Nothing was edited: the cached pages expire at the episode's publish_at.
        assert parse(client.get("/night-shift/")).titles == ["Premiere", "Earlier"]
        assert client.get("/night-shift/premiere/").status_code == 200
        assert b"Premiere" in client.get("/night-shift/embed").content


def test_cache_control_never_outlives_the_next_publication(client, show, publish, now, settings):
    settings.SITE_PAGE_MAX_AGE = 600
    publish(show, publish_at=now - timedelta(days=1))
    publish(show, publish_at=now + timedelta(seconds=90))
    max_age = int(re.search(r"max-age=(\d+)", client.get("/night-shift/")["Cache-Control"])[1])
    assert 0 < max_age <= 90


def test_episode_page_shows_player_notes_numbering_date_and_duration(client, show, publish):
    episode = publish(
        show,
        title="The long night",
        slug="long-night",
        description='<p>Notes with <a href="https://example.com/x">a link</a>.</p>',
        season=2,
        number=7,
    )
    response = client.get("/night-shift/long-night/")
    assert response.status_code == 200
    body = response.content.decode()
    mp3 = episode.renditions.get(preset="mp3")
    assert f'<audio controls preload="metadata" src="{mp3.url}"' in body
    assert "Season 2" in body and "Episode 7" in body
    assert "1:02" in body  # 61.6 s of audio
    assert episode.publish_at.strftime("%Y-%m-%d") in body
    assert '<a href="https://example.com/x" rel="noopener nofollow">a link</a>' in body


def test_hostile_titles_and_notes_are_escaped_or_removed(client, show, publish):
    hostile = '"><script>window.pwned=1</script><img src=x onerror=alert(1)>'
    publish(
        show,
        slug="evil",
        title=hostile,
        description='<p>ok</p><script>alert(2)</script><a href="javascript:alert(3)">x</a>'
        + hostile,
    )
    for url in ("/night-shift/", "/night-shift/evil/", "/night-shift/evil/embed"):
        response = client.get(url)
        head = parse(response)  # asserts: no on* attribute, no inline style anywhere
        assert head.inline_scripts == [], url
        body = response.content.decode()
        assert "<script>window.pwned" not in body and "javascript:" not in body, url
        assert "&lt;script&gt;window.pwned=1&lt;/script&gt;" in body, url
    # In JSON-LD the title stays data: "</script>" cannot end the block.
    head = parse(client.get("/night-shift/evil/"))
    assert head.jsonld[0]["name"] == hostile


# --- metadata for the web ---------------------------------------------------------


def test_show_page_metadata_open_graph_canonical_feed_and_json_ld(client, show, settings):
    give_cover(show)
    head = parse(client.get("/night-shift/"))
    base = settings.PUBLIC_BASE_URL
    assert head.link("canonical")["href"] == f"{base}/night-shift/"
    assert head.link("alternate", "application/rss+xml")["href"] == f"{base}/night-shift/feed.xml"
    oembed = head.link("alternate", "application/json+oembed")["href"]
    assert oembed.startswith(f"{base}/oembed?url=")
    assert head.meta["og:title"] == "Night Shift"
    assert head.meta["og:image"] == show.cover.url
    assert head.meta["og:url"] == f"{base}/night-shift/"
    assert head.meta["og:description"] == "Stories from after dark."
    assert head.meta["twitter:card"] == "summary"
    assert head.meta["twitter:image"] == show.cover.url
    (series,) = head.jsonld
    assert series["@context"] == "https://schema.org"
    assert series["@type"] == "PodcastSeries"
    assert series["name"] == "Night Shift"
    assert series["url"] == f"{base}/night-shift/"
    assert series["webFeed"] == f"{base}/night-shift/feed.xml"
    assert series["image"] == show.cover.url
    assert series["author"] == {"@type": "Person", "name": "Nadia Okafor"}
    assert "secret-owner" not in json.dumps(series)


def test_episode_page_json_ld_is_a_podcast_episode_with_required_fields(client, show, publish):
    give_cover(show)
    episode = publish(show, title="Pilot", slug="pilot", season=1, number=1)
    head = parse(client.get("/night-shift/pilot/"))
    (data,) = head.jsonld
    assert data["@type"] == "PodcastEpisode"
    assert data["name"] == "Pilot"
    assert data["url"].endswith("/night-shift/pilot/")
    assert data["datePublished"] == episode.publish_at.isoformat()
    media = data["associatedMedia"]
    mp3 = episode.renditions.get(preset="mp3")
    assert media == {
        "@type": "MediaObject",
        "contentUrl": mp3.url,
        "encodingFormat": "audio/mpeg",
        "contentSize": str(mp3.size_bytes),
        "duration": "PT1M2S",
    }
    assert data["timeRequired"] == "PT1M2S"
    assert data["partOfSeries"]["@type"] == "PodcastSeries"
    assert data["partOfSeries"]["url"].endswith("/night-shift/")
    assert data["partOfSeason"] == {"@type": "PodcastSeason", "seasonNumber": 1}
    assert data["episodeNumber"] == 1
    assert head.meta["og:audio"] == mp3.url
    assert head.meta["twitter:card"] == "player"
    assert head.meta["twitter:player"].endswith("/night-shift/pilot/embed")
    assert head.link("canonical")["href"].endswith("/night-shift/pilot/")


def test_subscribe_buttons_copy_open_in_app_and_entered_directories(client, show):
    show.apple_podcasts_url = "https://podcasts.apple.com/us/podcast/night-shift/id123"
    show.overcast_url = "https://overcast.fm/itunes123"
    show.save()
    body = client.get("/night-shift/").content.decode()
    assert 'data-copy="#feed-url"' in body
    assert 'href="podcast://127.0.0.1:8000/night-shift/feed.xml">Open in your app' in body
    assert "Listen on Apple Podcasts" in body and "Listen on Overcast" in body
    assert "Listen on Spotify" not in body  # not entered
    assert ">Website</a>" not in body
    show.link = "https://nightshift.example/"
    show.save()
    assert (
        'href="https://nightshift.example/" rel="noopener">Website</a>'
        in client.get("/night-shift/").content.decode()
    )


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("spotify_url", "http://open.spotify.com/show/abc"),  # not https
        ("spotify_url", "https://open.spotify.com.evil.example/show/abc"),
        ("apple_podcasts_url", "https://evil.example/podcasts.apple.com"),
        ("overcast_url", "javascript:alert(1)"),
        ("pocket_casts_url", "https://pocketcasts.example.com/x"),
    ],
)
def test_directory_links_must_be_https_on_the_directory_host(show, field, value):
    setattr(show, field, value)
    with pytest.raises(ValidationError) as caught:
        show.full_clean()
    assert field in caught.value.message_dict


def test_directory_links_on_the_right_host_are_accepted(show):
    show.pocket_casts_url = "https://pca.st/podcast/abc"
    show.antennapod_url = "https://antennapod.org/deeplink/subscribe?url=x"
    show.full_clean()


def test_episode_slugs_that_would_collide_with_site_routes_are_refused(show, make_episode):
    for slug in ("embed", "feed"):
        episode = Episode(podcast=show, title="x", slug=slug)
        with pytest.raises(ValidationError) as caught:
            episode.full_clean()
        assert "slug" in caught.value.message_dict


def test_site_routes_shadow_nothing_else():
    assert resolve("/admin/").app_name == "admin"
    assert resolve("/healthz").url_name == "healthz"
    assert resolve("/night-shift/feed.xml").url_name == "feed"
    assert resolve("/media/x/y.mp3").url_name == "media"
    assert resolve("/uploads/local").url_name == "upload_local"
    assert resolve("/episodes/1/upload/presign").url_name == "upload_presign"
    assert resolve("/night-shift/embed").url_name == "embed_latest"
    assert resolve("/night-shift/pilot/embed").url_name == "embed"
    assert resolve("/oembed").url_name == "oembed"


def test_sitemap_lists_shows_and_published_episodes_on_the_public_origin(
    client, show, publish, now, settings
):
    import xml.etree.ElementTree as ET

    publish(show, slug="out")
    publish(show, slug="later", publish_at=now + timedelta(days=1))
    response = client.get("/sitemap.xml")
    assert response.status_code == 200
    ns = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}
    locs = [e.text for e in ET.fromstring(response.content).findall("s:url/s:loc", ns)]  # noqa: S314
    base = settings.PUBLIC_BASE_URL
    assert locs == [f"{base}/night-shift/", f"{base}/night-shift/out/"]


def test_robots_txt_allows_the_site_and_names_the_sitemap(client, settings):
    response = client.get("/robots.txt")
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    lines = response.content.decode().splitlines()
    assert "Disallow: /admin/" in lines
    assert f"Sitemap: {settings.PUBLIC_BASE_URL}/sitemap.xml" in lines


# --- caching, methods, headers ------------------------------------------------------


def test_pages_answer_304_to_their_etag_and_change_after_an_edit(client, show, publish):
    episode = publish(show, title="Before", slug="ep")
    for url in ("/night-shift/", "/night-shift/ep/", "/night-shift/ep/embed", "/night-shift/embed"):
        first = client.get(url)
        etag = first["ETag"]
        assert re.fullmatch(r'"[0-9a-f]{32}"', etag)
        again = client.get(url, headers={"if-none-match": etag})
        assert again.status_code == 304, url
        assert again.content == b""
        assert again["ETag"] == etag

    episode.title = "After"
    episode.save()
    for url in ("/night-shift/", "/night-shift/ep/"):
        response = client.get(url, headers={"if-none-match": etag})
        assert response.status_code == 200
        assert b"After" in response.content and b"Before" not in response.content


def test_a_deleted_episode_leaves_the_pages(client, show, publish):
    keep = publish(show, title="Keep", slug="keep")
    gone = publish(show, title="Gone", slug="gone")
    assert client.get("/night-shift/gone/").status_code == 200
    gone.delete()
    assert client.get("/night-shift/gone/").status_code == 404
    assert parse(client.get("/night-shift/")).titles == [keep.title]


def test_an_unpublished_episode_leaves_the_pages_at_once(client, show, publish, now):
    episode = publish(show, title="Oops", slug="oops")
    assert client.get("/night-shift/oops/").status_code == 200
    episode.publish_at = now + timedelta(days=7)
    episode.save()
    assert client.get("/night-shift/oops/").status_code == 404
    assert b"Oops" not in client.get("/night-shift/").content


def test_head_gives_headers_without_body_and_other_methods_are_refused(client, show, publish):
    publish(show, slug="ep")
    head = client.head("/night-shift/ep/")
    assert head.status_code == 200 and head.content == b""
    assert int(head["Content-Length"]) == len(client.get("/night-shift/ep/").content)
    for url in ("/night-shift/", "/night-shift/ep/", "/night-shift/ep/embed", "/sitemap.xml"):
        assert client.post(url).status_code in (403, 405), url
        assert client.put(url).status_code in (403, 405), url


def test_huge_and_malformed_headers_and_queries_never_500(client, show, publish):
    publish(show, slug="ep")
    for headers in (
        {"if-none-match": "x" * 20_000},
        {"if-none-match": '"unterminated, W/'},
        {"if-modified-since": "yesterday-ish"},
        {"accept-encoding": "gzip;q=" + "9" * 5000},
    ):
        assert client.get("/night-shift/ep/", headers=headers).status_code == 200, headers
    assert client.get("/night-shift/", {"page": "9" * 5000}).status_code == 404
    assert client.get("/night-shift/", {"page": "\x00"}).status_code == 404


def test_pages_carry_a_strict_csp_and_refuse_framing_except_embeds(client, show, publish):
    publish(show, slug="ep")
    for url in ("/night-shift/", "/night-shift/ep/", "/sitemap.xml", "/robots.txt"):
        response = client.get(url)
        csp = response["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in csp, url
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp, url
        assert "default-src 'none'" in csp, url
        assert response["X-Frame-Options"] == "DENY", url
    for url in ("/night-shift/ep/embed", "/night-shift/embed"):
        response = client.get(url)
        csp = response["Content-Security-Policy"]
        directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
        assert directives["frame-ancestors"] == "*", url
        assert "X-Frame-Options" not in response, url
        assert "script-src 'self'" in csp, url


def test_moved_and_other_shows_do_not_mix(client, make_podcast, publish):
    a = make_podcast(slug="alpha", title="Alpha")
    b = make_podcast(slug="beta", title="Beta")
    publish(a, title="Alpha ep", slug="same")
    publish(b, title="Beta ep", slug="same")
    assert b"Alpha ep" in client.get("/alpha/same/").content
    assert b"Beta ep" in client.get("/beta/same/").content
    assert b"Alpha ep" not in client.get("/beta/").content


def test_feed_items_link_to_their_episode_pages(client, show, publish, settings, now):
    from feeds.rss import build_feed
    from tests.feeds.conftest import parse_both

    publish(show, slug="pilot", title="Pilot")
    # The feed as rendered for publishing (the publish gate's own checks are tested in tests/feeds).
    fp, _ = parse_both(build_feed(show, now=now).body)
    (entry,) = fp.entries
    assert entry.link == f"{settings.PUBLIC_BASE_URL}/night-shift/pilot/"
    assert client.get("/night-shift/pilot/").status_code == 200
