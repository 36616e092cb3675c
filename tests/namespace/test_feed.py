"""Every new Podcasting 2.0 tag in the rendered feed, as the namespace documents it and as
podcast clients (podcastparser, feedparser) read it; validate_feed's checks of them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from lxml import etree

from episodes.models import EpisodePerson, PodcastPerson
from feeds.rss import NAMESPACES, build_feed
from feeds.validation import check_feed_xml, validate_podcast_feed
from tests.feeds.conftest import parse_both
from tests.namespace.conftest import RECOMMENDED_GUID

P = NAMESPACES["podcast"]


def p(name: str) -> str:
    return f"{{{P}}}{name}"


def channel_of(body: bytes):
    return etree.fromstring(body).find("channel")


def attrs(el) -> dict[str, str]:
    return dict(el.attrib)


def test_channel_carries_every_tag_with_the_documented_attributes(full_show, now):
    channel = channel_of(build_feed(full_show, now=now).body)

    assert channel.findtext(p("medium")) == "music"
    persons = channel.findall(p("person"))
    assert [(e.text, attrs(e)) for e in persons] == [
        (
            "Jane Host",
            {
                "role": "host",
                "group": "cast",
                "img": "https://example.com/jane.jpg",
                "href": "https://example.com/jane",
            },
        ),
        ("Pat Producer", {"role": "producer", "group": "creative direction"}),
    ]
    funding = channel.find(p("funding"))
    assert (funding.text, attrs(funding)) == (
        "Support the show!",
        {"url": "https://example.com/donate"},
    )
    trailer = channel.find(p("trailer"))
    assert trailer.text == "Season 2: the sequel"
    assert attrs(trailer) == {
        "pubdate": "Wed, 01 Apr 2026 08:00:00 +0000",
        "url": "https://example.com/trailer.mp3",
        "length": "12345678",
        "type": "audio/mpeg",
        "season": "2",
    }
    license_ = channel.find(p("license"))
    assert (license_.text, attrs(license_)) == (
        "my-show-licence-v1",
        {"url": "https://example.com/licence.html"},
    )
    location = channel.find(p("location"))
    assert (location.text, attrs(location)) == (
        "Austin, TX",
        {"rel": "creator", "geo": "geo:30.2672,-97.7431", "osm": "R113314", "country": "US"},
    )
    txt = channel.find(p("txt"))
    assert (txt.text, attrs(txt)) == ("S6lpp-7ZCn8-dZfGc", {"purpose": "verify"})
    update = channel.find(p("updateFrequency"))
    assert (update.text, attrs(update)) == (
        "Every Monday",
        {"dtstart": "2026-08-31T00:00:00Z", "rrule": "FREQ=WEEKLY;BYDAY=MO;COUNT=10"},
    )
    podroll = channel.findall(p("podroll"))
    assert len(podroll) == 1
    assert [attrs(e) for e in podroll[0]] == [
        {
            "feedGuid": str(RECOMMENDED_GUID),
            "feedUrl": "https://feeds.podcastindex.org/pc20.xml",
            "title": "Podcasting 2.0",
        },
        {"feedGuid": "29cdca4a-32d8-56ba-b48b-09a011c5daa9"},
    ]
    assert all(e.tag == p("remoteItem") for e in podroll[0])


def test_item_carries_its_people_licence_location_and_default_alternate(full_show, now):
    item = channel_of(build_feed(full_show, now=now).body).find("item")
    assert [(e.text, attrs(e)) for e in item.findall(p("person"))] == [
        ("Jane Host", {"role": "host", "group": "cast"}),
        ("Sam Guest", {"role": "guest", "group": "cast", "href": "https://example.com/sam"}),
    ]
    # A well-known licence identifier, lower-cased as license.md asks; no url needed.
    license_ = item.find(p("license"))
    assert (license_.text, attrs(license_)) == ("cc-by-4.0", {})
    location = item.find(p("location"))
    assert (location.text, location.get("rel"), location.get("country")) == (
        "Eiffel Tower, Paris",
        "subject",
        "FR",
    )
    enclosure = item.find("enclosure")
    (default,) = [a for a in item.findall(p("alternateEnclosure")) if a.get("default") == "true"]
    assert default.get("type") == enclosure.get("type") == "audio/mpeg"
    assert default.get("length") == enclosure.get("length")
    assert [s.get("uri") for s in default.findall(p("source"))] == [enclosure.get("url")]


def test_episode_without_people_leaves_the_shows_to_apply(full_show, make_published, now):
    make_published(full_show, title="Regular")
    items = channel_of(build_feed(full_show, now=now).body).findall("item")
    regular = next(i for i in items if i.findtext("title") == "Regular")
    assert regular.findall(p("person")) == []
    assert regular.find(p("license")) is None and regular.find(p("location")) is None


# docs/1.0.md: "Clients which recognize this namespace must also recognize
# https://github.com/Podcastindex-org/podcast-namespace/blob/main/docs/1.0.md as
# equivalent." podcastparser 0.6.11 (the latest) knows only that second URI.
GITHUB_URI = b"https://github.com/Podcastindex-org/podcast-namespace/blob/main/docs/1.0.md"


def test_podcast_clients_read_the_feed(full_show, now):
    body = build_feed(full_show, now=now).body
    fp, pp = parse_both(body)
    # Under the official URI podcastparser reads the feed but skips podcast: tags.
    assert "funding_url" not in pp and "persons" not in pp["episodes"][0]
    assert pp["episodes"][0]["enclosures"][0]["mime_type"] == "audio/mpeg"

    # The same document under the equivalent URI: it reads the funding and the people.
    _fp, pp = parse_both(body.replace(P.encode(), GITHUB_URI, 1))
    assert pp["funding_url"] == "https://example.com/donate"
    (episode,) = pp["episodes"]
    assert episode["persons"] == [
        {"name": "Jane Host", "role": "host", "group": "cast", "href": None, "img": None},
        {
            "name": "Sam Guest",
            "role": "guest",
            "group": "cast",
            "href": "https://example.com/sam",
            "img": None,
        },
    ]
    # feedparser keeps reading it as a well-formed podcast feed.
    assert not fp.bozo, fp.get("bozo_exception")
    assert fp.feed.title == "Full Show"
    assert [e.title for e in fp.entries] == ["With a guest"]
    assert fp.entries[0].enclosures[0].type == "audio/mpeg"


def test_validate_feed_finds_no_problem_in_every_tag(full_show, now):
    assert validate_podcast_feed(full_show, now=now) == []


def _edited(body: bytes, edit) -> bytes:
    root = etree.fromstring(body)
    edit(root.find("channel"))
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8").replace(
        b"<?xml version='1.0' encoding='UTF-8'?>", b'<?xml version="1.0" encoding="UTF-8"?>'
    )


def _set(tag: str, **values):
    def edit(channel):
        el = channel.find(f".//{tag}")
        for name, value in values.items():
            el.set(name, value)

    return edit


def _second_default(channel):
    alternates = channel.find("item").findall(p("alternateEnclosure"))
    alternates[1].set("default", "true")


def _duplicate_medium(channel):
    channel.append(etree.fromstring(f'<podcast:medium xmlns:podcast="{P}">film</podcast:medium>'))


@pytest.mark.parametrize(
    "edit, message",
    [
        (_set(p("person"), role="wizard"), "role “wizard” is not in the taxonomy"),
        (_set(p("person"), role="guest", group="visuals"), "is not a role of the group"),
        (_set(p("medium")), None),  # unchanged control: no problem
        (_duplicate_medium, "podcast:medium may appear only once"),
        (_set(p("location"), geo="geo:95,10"), "location geo “geo:95,10” is not valid"),
        (_set(p("location"), osm="X12"), "location osm “X12” is not valid"),
        (_set(p("updateFrequency"), rrule="FREQ=SOMETIMES"), "rrule “FREQ=SOMETIMES”"),
        (_set(p("trailer"), pubdate="yesterday"), "trailer pubdate is not an RFC 2822 date"),
        (_set(p("funding"), url="ftp://example.com/"), "podcast:funding needs an http(s) url"),
        (_set(p("remoteItem"), feedGuid="not-a-guid"), "remoteItem needs the feedGuid"),
        (_second_default, 'exactly one podcast:alternateEnclosure must be default="true"'),
    ],
)
def test_validate_feed_names_each_broken_tag(full_show, now, edit, message):
    body = build_feed(full_show, now=now).body
    problems = check_feed_xml(_edited(body, edit), feed_url=full_show.feed_url, now=now)
    if message is None:
        assert problems == []
    else:
        assert any(message in problem for problem in problems), problems


def test_validate_feed_refuses_a_malformed_integrity(full_show, now):
    full_show.episodes.get().renditions.filter(preset="mp3").update(integrity="sha384-short")
    problems = validate_podcast_feed(full_show, now=now)
    assert any("podcast:integrity value “sha384-short” is not SRI" in m for m in problems)


def test_a_list_medium_is_refused_for_a_feed_with_items(full_show, now):
    body = build_feed(full_show, now=now).body
    edited = _edited(body, lambda c: setattr(c.find(p("medium")), "text", "musicL"))
    problems = check_feed_xml(edited, feed_url=full_show.feed_url, now=now)
    assert any("“musicL” is for feeds without items" in m for m in problems)


def test_editing_an_episode_person_changes_the_served_feed(
    client, full_show, django_capture_on_commit_callbacks
):
    from feeds.publishing import publish_feed

    publish_feed(full_show.pk)
    before = client.get(f"/{full_show.slug}/feed.xml").content
    assert b"Sam Guest" in before
    guest = EpisodePerson.objects.get(name="Sam Guest")
    with django_capture_on_commit_callbacks(execute=True):
        guest.name = "Sam Renamed"
        guest.save()
    after = client.get(f"/{full_show.slug}/feed.xml").content
    assert b"Sam Renamed" in after and b"Sam Guest" not in after

    with django_capture_on_commit_callbacks(execute=True):
        guest.delete()
    names = [
        e.text
        for e in channel_of(client.get(f"/{full_show.slug}/feed.xml").content)
        .find("item")
        .findall(p("person"))
    ]
    assert names == ["Jane Host"]


def test_editing_a_show_person_changes_the_served_feed(
    client, full_show, django_capture_on_commit_callbacks
):
    from feeds.publishing import publish_feed

    publish_feed(full_show.pk)
    with django_capture_on_commit_callbacks(execute=True):
        PodcastPerson.objects.create(podcast=full_show, name="New Cohost", role="co-host")
    channel = channel_of(client.get(f"/{full_show.slug}/feed.xml").content)
    assert "New Cohost" in [e.text for e in channel.findall(p("person"))]


@pytest.mark.parametrize("count", [3, 30])
def test_query_count_is_constant_with_many_people(
    make_podcast, make_published, now, count, django_assert_max_num_queries
):
    podcast = make_podcast()
    for n in range(count):
        PodcastPerson.objects.create(podcast=podcast, name=f"Host {n}")
        episode = make_published(podcast, publish_at=now - timedelta(minutes=n + 1))
        for k in range(4):
            EpisodePerson.objects.create(episode=episode, name=f"Guest {n}.{k}", role="guest")
    podcast.refresh_from_db()
    # Index, episodes, renditions, published transcripts, episode people; the channel's five.
    with django_assert_max_num_queries(10):
        rendered = build_feed(podcast, now=now)
    channel = channel_of(rendered.body)
    assert len(channel.findall(p("person"))) == count
    assert sum(len(i.findall(p("person"))) for i in channel.findall("item")) == 4 * count


def test_the_publish_gate_reports_a_namespace_problem_without_blocking(full_show, now):
    from feeds import gate
    from feeds.publishing import publish_feed

    # Written past the form's validation (a script, an old row): the feed still says it.
    PodcastPerson.objects.create(podcast=full_show, name="Merlin", role="wizard", group="cast")
    (finding,) = [f for f in gate.check_saved_show(full_show, now=now) if "wizard" in f.message]
    assert finding.severity == gate.WARNING
    assert "show's page in the admin" in finding.fix
    result = publish_feed(full_show.pk, now=now)
    assert not result.blocked
    assert any("wizard" in f.message for f in result.findings)


def test_the_incremental_render_after_a_person_edit_is_the_full_render(full_show, now):
    from feeds.rss import feed_episodes, render_feed

    build_feed(full_show, now=now)  # every item cached
    guest = EpisodePerson.objects.get(name="Sam Guest")
    guest.role = "guest host"
    guest.save()
    body = build_feed(full_show, now=now, built_at=now).body
    assert b'role="guest host"' in body
    assert body == render_feed(full_show, feed_episodes(full_show, now), built_at=now)
