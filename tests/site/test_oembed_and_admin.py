"""oEmbed answers for published pages only; the admin offers the embed code to a show's creators."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest

from tests.site.conftest import give_cover

PASSWORD = "correct horse battery"


@pytest.fixture
def show(make_podcast):
    return make_podcast(slug="night-shift", title="Night Shift", author="Nadia")


def oembed(client, url: str, **params):
    return client.get("/oembed", {"url": url, "format": "json", **params})


def test_oembed_of_an_episode_page_gives_the_player_iframe(client, show, publish, settings):
    give_cover(show)
    publish(show, title="Pilot", slug="pilot")
    base = settings.PUBLIC_BASE_URL
    response = oembed(client, f"{base}/night-shift/pilot/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    data = response.json()
    assert data["version"] == "1.0"
    assert data["type"] == "rich"
    assert data["title"] == "Pilot"
    assert data["author_name"] == "Nadia"
    assert data["provider_url"] == f"{base}/night-shift/"
    assert (data["width"], data["height"]) == (600, 200)
    assert data["thumbnail_url"] == show.cover.url
    assert data["thumbnail_width"] == data["thumbnail_height"] == 1400
    src = re.search(r'<iframe src="([^"]+)"', data["html"])[1]
    assert src == f"{base}/night-shift/pilot/embed"
    # The embed it points to really is framable.
    assert client.get("/night-shift/pilot/embed").status_code == 200


def test_oembed_of_a_show_page_embeds_its_latest_episode(client, show, publish, settings):
    publish(show, slug="pilot")
    data = oembed(client, f"{settings.PUBLIC_BASE_URL}/night-shift/").json()
    assert f'src="{settings.PUBLIC_BASE_URL}/night-shift/embed"' in data["html"]
    assert data["title"] == "Night Shift"


def test_oembed_honours_maxwidth_and_refuses_a_too_small_height(client, show, publish, settings):
    publish(show, slug="pilot")
    url = f"{settings.PUBLIC_BASE_URL}/night-shift/pilot/"
    data = oembed(client, url, maxwidth="400").json()
    assert data["width"] == 400 and 'width="400"' in data["html"]
    assert oembed(client, url, maxwidth="10").json()["width"] == 240  # the player's minimum
    assert oembed(client, url, maxheight="100").status_code == 404
    for bad in ("abc", "-5", "1e9", "9" * 20):
        response = oembed(client, url, maxwidth=bad)
        assert response.status_code == 400, bad
        assert "maxwidth" in response.json()["error"]


def test_oembed_never_describes_what_is_not_published_or_not_ours(
    client, show, publish, make_episode, now, settings
):
    base = settings.PUBLIC_BASE_URL
    publish(show, slug="later", publish_at=now + timedelta(days=1))
    make_episode(show, slug="draft")
    for url in (
        f"{base}/night-shift/later/",
        f"{base}/night-shift/draft/",
        f"{base}/nope/",
        "https://evil.example/night-shift/",
        f"{base}/admin/",
        f"{base}/night-shift/feed.xml",
        "javascript:alert(1)",
        "",
        "x" * 100_000,
    ):
        assert oembed(client, url).status_code == 404, url[:80]


def test_oembed_offers_json_only(client, show, publish, settings):
    publish(show, slug="pilot")
    response = oembed(client, f"{settings.PUBLIC_BASE_URL}/night-shift/pilot/", format="xml")
    assert response.status_code == 501


def test_oembed_escapes_hostile_titles_in_its_html(client, show, publish, settings):
    publish(show, slug="evil", title='"><script>alert(1)</script>')
    data = oembed(client, f"{settings.PUBLIC_BASE_URL}/night-shift/evil/").json()
    assert "<script>" not in data["html"]
    assert 'title="Podcast player: &quot;&gt;&lt;script&gt;' in data["html"]


def test_admin_shows_the_embed_code_to_the_show_creator(
    client, make_creator, make_podcast, publish, settings
):
    carol = make_creator("carol", password=PASSWORD)
    show = make_podcast(slug="carols", title='Carol "C" <Show>', members=[carol])
    episode = publish(show, slug="pilot", title="Pilot <b>")
    client.force_login(carol)

    page = client.get(f"/admin/episodes/episode/{episode.pk}/change/").content.decode()
    box = re.search(
        r'<textarea class="vLargeTextField embed-code"[^>]*>(.*?)</textarea>', page, re.S
    )
    code = html.unescape(box[1])  # what the creator copies
    assert code.startswith(f'<iframe src="{settings.PUBLIC_BASE_URL}/carols/pilot/embed"')
    assert 'title="Podcast player: Pilot &lt;b&gt;"' in code
    assert f"{settings.PUBLIC_BASE_URL}/carols/pilot/" in page  # the public page link

    page = client.get(f"/admin/episodes/podcast/{show.pk}/change/").content.decode()
    box = re.search(
        r'<textarea class="vLargeTextField embed-code"[^>]*>(.*?)</textarea>', page, re.S
    )
    assert html.unescape(box[1]).startswith(
        f'<iframe src="{settings.PUBLIC_BASE_URL}/carols/embed"'
    )
    assert 'name="spotify_url"' in page and 'name="apple_podcasts_url"' in page


def test_admin_refuses_a_directory_link_on_the_wrong_host(client, make_creator, make_podcast):
    carol = make_creator("carol", password=PASSWORD)
    show = make_podcast(slug="carols", members=[carol])
    client.force_login(carol)
    form = {
        "title": show.title,
        "description": show.description,
        "author": show.author,
        "language": "en",
        "category": "Technology",
        "show_type": "episodic",
        "owner_email": "carol@example.com",
        "spotify_url": "https://spotify.evil.example/show/1",
    }
    response = client.post(f"/admin/episodes/podcast/{show.pk}/change/", form)
    assert response.status_code == 200  # the form again, with the error
    assert "Use the show&#x27;s https link on open.spotify.com" in response.content.decode()
    show.refresh_from_db()
    assert show.spotify_url == ""


def test_another_creators_episode_embed_box_is_404(client, make_creator, make_podcast, publish):
    carol = make_creator("carol", password=PASSWORD)
    dave = make_creator("dave", password=PASSWORD)
    episode = publish(make_podcast(slug="carols", members=[carol]), slug="pilot")
    client.force_login(dave)
    assert client.get(f"/admin/episodes/episode/{episode.pk}/change/").status_code == 404
