"""What a creator reads in the admin: their shows first, titles, human units, clear states."""

from __future__ import annotations

from datetime import timedelta
from html.parser import HTMLParser

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from episodes.models import Rendition
from feeds.models import FeedPublication, FeedState


class _TextOf(HTMLParser):
    """The text content of the element with a given id, as a browser shows it."""

    def __init__(self, element_id: str) -> None:
        super().__init__()
        self.element_id, self.depth, self.parts = element_id, 0, []

    def handle_starttag(self, tag, attrs):
        if self.depth:
            self.depth += 1
        elif dict(attrs).get("id") == self.element_id:
            self.depth = 1

    def handle_endtag(self, tag):
        if self.depth:
            self.depth -= 1

    def handle_data(self, data):
        if self.depth:
            self.parts.append(data)


def text_of(html: str, element_id: str) -> str:
    parser = _TextOf(element_id)
    parser.feed(html)
    return " ".join("".join(parser.parts).split())


@pytest.fixture
def creator(make_creator):
    return make_creator("dana")


@pytest.fixture
def show(make_podcast, creator):
    return make_podcast(members=[creator], slug="danas-show", title="Dana's show")


def test_slug_help_shows_the_feed_path_as_text(client, creator):
    client.force_login(creator)

    page = client.get(reverse("admin:episodes_podcast_add"))

    help_text = text_of(page.text, "id_slug_helptext")
    assert "/my-show/feed.xml" in help_text, help_text


def test_a_creators_home_is_their_shows(client, creator, show):
    client.force_login(creator)

    home = client.get(reverse("admin:index"), follow=True)

    assert home.redirect_chain[-1][0] == reverse("admin:episodes_podcast_changelist")
    assert "Dana&#x27;s show" in home.text
    # The navigation offers shows and episodes, not accounts nor per-show feed records.
    assert "/admin/auth/" not in home.text
    assert "/admin/feeds/" not in home.text


def test_operators_index_lists_shows_first_and_feeds_only_per_show(admin_client, show):
    page = admin_client.get(reverse("admin:index")).text

    shows = page.index(reverse("admin:episodes_podcast_changelist"))
    assert shows < page.index(reverse("admin:episodes_episode_changelist"))
    assert shows < page.index(reverse("admin:auth_user_changelist"))
    assert reverse("admin:feeds_feedstate_changelist") not in page


def test_show_page_links_to_its_feed_records(client, creator, show, now):
    state, _ = FeedState.objects.update_or_create(podcast=show, defaults={"item_count": 1})
    FeedPublication.objects.create(
        podcast=show, created_at=now, status="published", content_hash="ab" * 32, item_count=1
    )
    client.force_login(creator)

    page = client.get(reverse("admin:episodes_podcast_change", args=[show.pk])).text

    assert reverse("admin:feeds_feedstate_change", args=[state.pk]) in page
    assert "Current feed (1 episode)" in page
    history = f"{reverse('admin:feeds_feedpublication_changelist')}?podcast__id__exact={show.pk}"
    assert history in page
    listed = client.get(history)
    assert listed.status_code == 200
    assert "1 episode<" in listed.text


def test_show_list_counts_episodes_in_words(client, creator, show, make_episode):
    make_episode(show)
    client.force_login(creator)

    page = client.get(reverse("admin:episodes_podcast_changelist")).text

    assert "1 episode<" in page
    assert "1 episodes" not in page


def test_episodes_are_named_by_title_and_stay_unique(make_episode, show):
    episode = make_episode(show, title="Speech", slug="speech")

    assert str(episode) == "Speech (danas-show/speech)"


def test_episode_list_shows_state_duration_and_titles_in_constant_queries(
    client, creator, show, make_episode, now
):
    make_episode(show, title="Out now", publish_at=now - timedelta(days=1))
    later = make_episode(show, title="Coming soon", publish_at=now + timedelta(days=3))
    draft = make_episode(show, title="Someday")
    draft.duration_seconds = 194.841
    draft.save(update_fields=["duration_seconds"])
    client.force_login(creator)
    url = reverse("admin:episodes_episode_changelist")

    with CaptureQueriesContext(connection) as three:
        page = client.get(url).text
    for i in range(5):
        make_episode(show, title=f"More {i}")
    with CaptureQueriesContext(connection) as eight:
        client.get(url)

    assert "Published " in page
    assert "Scheduled for " in page and f"{later.publish_at.day} " in page
    assert "Not published" in page
    assert "0:03:15" in page
    assert "194.841" not in page
    assert len(eight) == len(three)


def test_episode_page_shows_source_and_renditions_in_human_units(
    client, creator, show, make_episode
):
    episode = make_episode(show, title="Pilot", slug="pilot")
    episode.duration_seconds, episode.source_bytes = 194.841, 3118495
    episode.save(update_fields=["duration_seconds", "source_bytes"])
    Rendition.objects.create(
        episode=episode,
        preset="mp3",
        key="danas-show/pilot.mp3",
        mime_type="audio/mpeg",
        size_bytes=4_675_000,
        bitrate=192_000,
        duration_seconds=194.9,
    )
    client.force_login(creator)

    page = client.get(reverse("admin:episodes_episode_change", args=[episode.pk])).text

    assert "0:03:15" in page and "3.1 MB" in page
    assert "4.7 MB" in page and "192 kb/s" in page
    assert "3118495" not in page and "194.841" not in page
