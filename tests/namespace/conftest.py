"""Fixtures of the namespace tests: the feeds tests' shows (cover art, media served live)
and a show that carries every Podcasting 2.0 tag this project writes."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from episodes.models import (
    EpisodePerson,
    PodcastFunding,
    PodcastPerson,
    PodcastTrailer,
    PodcastTxt,
    PodrollItem,
)
from tests.feeds.conftest import (  # noqa: F401  (fixtures)
    app_server,
    cover_png,
    fresh_feed_cache,
    make_podcast,
    make_published,
    media_served_live,
)

RECOMMENDED_GUID = uuid.UUID("917393e3-1b1e-5cef-ace4-edaa54e1f810")


@pytest.fixture
def full_show(make_podcast, make_published, now):  # noqa: F811  (the fixtures above)
    """A show and one published episode with every namespace tag filled in."""
    podcast = make_podcast(
        title="Full Show",
        medium="music",
        license="my-show-licence-v1",
        license_url="https://example.com/licence.html",
        location="Austin, TX",
        location_rel="creator",
        location_geo="geo:30.2672,-97.7431",
        location_osm="R113314",
        location_country="US",
        update_frequency="Every Monday",
        update_rrule="FREQ=WEEKLY;BYDAY=MO;COUNT=10",
        update_dtstart=datetime(2026, 8, 31, tzinfo=UTC),
    )
    PodcastPerson.objects.create(
        podcast=podcast,
        name="Jane Host",
        role="host",
        group="cast",
        img="https://example.com/jane.jpg",
        href="https://example.com/jane",
    )
    PodcastPerson.objects.create(
        podcast=podcast, name="Pat Producer", role="producer", group="creative direction"
    )
    PodcastFunding.objects.create(
        podcast=podcast, url="https://example.com/donate", text="Support the show!"
    )
    PodcastTrailer.objects.create(
        podcast=podcast,
        title="Season 2: the sequel",
        url="https://example.com/trailer.mp3",
        pubdate=datetime(2026, 4, 1, 8, 0, tzinfo=UTC),
        length_bytes=12345678,
        mime_type="audio/mpeg",
        season=2,
    )
    PodcastTxt.objects.create(podcast=podcast, purpose="verify", text="S6lpp-7ZCn8-dZfGc")
    PodrollItem.objects.create(
        podcast=podcast,
        feed_guid=RECOMMENDED_GUID,
        feed_url="https://feeds.podcastindex.org/pc20.xml",
        title="Podcasting 2.0",
    )
    PodrollItem.objects.create(
        podcast=podcast, feed_guid=uuid.UUID("29cdca4a-32d8-56ba-b48b-09a011c5daa9"), position=1
    )
    episode = make_published(
        podcast,
        title="With a guest",
        publish_at=now - timedelta(hours=2),
        license="CC-BY-4.0",
        location="Eiffel Tower, Paris",
        location_rel="subject",
        location_geo="geo:48.858093,2.294694",
        location_osm="W5013364",
        location_country="FR",
    )
    EpisodePerson.objects.create(episode=episode, name="Jane Host", position=0)
    EpisodePerson.objects.create(
        episode=episode,
        name="Sam Guest",
        role="guest",
        group="cast",
        href="https://example.com/sam",
        position=1,
    )
    return podcast
