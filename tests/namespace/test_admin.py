"""The admin's Podcasting 2.0 fields and inlines: saved and published when valid, refused
with a clear message (and nothing saved) when not, scoped to the creator's own shows."""

from __future__ import annotations

import lxml.html
import pytest
from django.urls import reverse
from lxml import etree

from episodes.models import EpisodePerson, Podcast, PodcastPerson
from feeds.rss import NAMESPACES, build_feed

P = NAMESPACES["podcast"]


def form_of(page) -> dict:
    """What a browser would submit from the admin page ``page`` unchanged."""
    assert page.status_code == 200
    (form,) = [
        f for f in lxml.html.fromstring(page.content).forms if f.get("id", "").endswith("_form")
    ]
    data: dict = {}
    for name, value in form.form_values():
        if "__prefix__" not in name:
            data.setdefault(name, value)
    return data


def row(prefix: str, n: int, **fields) -> dict:
    return {f"{prefix}-{n}-{k}": v for k, v in fields.items()}


def total(prefix: str, n: int) -> dict:
    return {f"{prefix}-TOTAL_FORMS": str(n)}


@pytest.fixture
def creator(make_creator):
    return make_creator("nina")


@pytest.fixture
def show(make_podcast, make_published, creator):
    podcast = make_podcast(title="Nina's show", members=[creator])
    make_published(podcast, title="First")
    return podcast


def change_url(obj) -> str:
    return reverse(f"admin:episodes_{obj._meta.model_name}_change", args=[obj.pk])


def test_a_creator_fills_in_the_podcasting_20_fields_and_they_reach_the_feed(
    client, creator, show, now
):
    client.force_login(creator)
    data = form_of(client.get(change_url(show)))
    data.update(
        medium="audiobook",
        license="CC-BY-NC-4.0",
        location="Marlow",
        location_rel="creator",
        location_geo="geo:51.5718706,-0.7769654",
        location_osm="R3727240",
        location_country="gb",
        update_frequency="Every other Monday",
        update_rrule="FREQ=WEEKLY;INTERVAL=2;BYDAY=MO",
        **total("persons", 1),
        **row("persons", 0, name="Nina", role="host", group="cast", position="0"),
        **total("funding", 1),
        **row("funding", 0, url="https://example.com/tip", text="Tip jar", position="0"),
        **total("podroll", 1),
        **row("podroll", 0, feed_guid="917393e3-1b1e-5cef-ace4-edaa54e1f810", position="0"),
    )
    response = client.post(change_url(show), data)
    assert response.status_code == 302, response.context["adminform"].form.errors

    show.refresh_from_db()
    channel = etree.fromstring(build_feed(show, now=now).body)[0]
    assert channel.findtext(f"{{{P}}}medium") == "audiobook"
    assert channel.find(f"{{{P}}}location").get("country") == "GB"
    assert [e.text for e in channel.findall(f"{{{P}}}person")] == ["Nina"]
    assert channel.find(f"{{{P}}}funding").get("url") == "https://example.com/tip"
    assert channel.find(f"{{{P}}}podroll/{{{P}}}remoteItem") is not None


@pytest.mark.parametrize(
    "changes, field, message",
    [
        ({"location": "North Pole", "location_geo": "geo:91,0"}, "location_geo", "outside"),
        (
            {"location": "Paris", "location_osm": "Paris"},
            "location_osm",
            "N node, W way, R relation",
        ),
        ({"location_country": "FR"}, "location", "Name the place"),
        ({"license": "my-licence"}, "license_url", "give the URL of its full text"),
        ({"update_frequency": "Often", "update_rrule": "FREQ=OFTEN"}, "update_rrule", "RFC 5545"),
        ({"update_rrule": "FREQ=WEEKLY"}, "update_frequency", "Describe the schedule"),
        (
            {"update_frequency": "Ten", "update_rrule": "FREQ=WEEKLY;COUNT=10"},
            "update_dtstart",
            "COUNT needs the date",
        ),
        ({"license_url": "ftp://example.com/l.txt", "license": "x"}, "license_url", "URL"),
    ],
)
def test_invalid_show_fields_are_refused_with_the_reason(
    client, creator, show, changes, field, message
):
    client.force_login(creator)
    data = form_of(client.get(change_url(show)))
    data.update(changes)
    response = client.post(change_url(show), data)
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert message in " ".join(errors[field]), errors
    fresh = Podcast.objects.get(pk=show.pk)
    assert (fresh.location, fresh.license, fresh.update_rrule) == ("", "", "")


@pytest.mark.parametrize(
    "prefix, fields, message",
    [
        ("persons", {"name": "Al", "role": "guest", "group": "visuals"}, "belongs to the group"),
        ("persons", {"name": "Al", "role": "wizard", "group": "cast"}, "Select a valid choice"),
        ("persons", {"name": "A" * 500, "role": "host", "group": "cast"}, "at most 128"),
        (
            "persons",
            {"name": "   ", "role": "host", "group": "cast", "href": "https://example.com/"},
            "required",
        ),
        ("funding", {"url": "javascript:alert(1)", "text": "Hi"}, "valid URL"),
        (
            "trailers",
            {
                "title": "T",
                "url": "ftp://example.com/t.mp3",
                "pubdate_0": "2026-01-01",
                "pubdate_1": "10:00",
            },
            "is not an http(s) URL",
        ),
        (
            "trailers",
            {
                "title": "T",
                "url": "https://example.com/t.pdf",
                "pubdate_0": "2026-01-01",
                "pubdate_1": "10:00",
                "mime_type": "application/pdf",
            },
            "audio/… or video/…",
        ),
        ("txt_records", {"text": "x" * 5000}, "at most 4000"),
        ("podroll", {"feed_guid": "not-a-guid"}, "valid UUID"),
    ],
)
def test_invalid_inline_rows_are_refused_and_nothing_is_saved(
    client, creator, show, prefix, fields, message
):
    client.force_login(creator)
    data = form_of(client.get(change_url(show)))
    data.update(total(prefix, 1), **row(prefix, 0, **fields))
    response = client.post(change_url(show), data)
    assert response.status_code == 200
    formset = next(
        f for f in response.context["inline_admin_formsets"] if f.formset.prefix == prefix
    )
    text = " ".join(str(e) for e in formset.formset.errors) + str(formset.formset.non_form_errors())
    assert message in text, text
    assert not show.persons.exists() and not show.funding.exists() and not show.podroll.exists()


def test_an_episode_person_added_in_the_admin_reaches_the_item(client, creator, show, now):
    client.force_login(creator)
    episode = show.episodes.get()
    build_feed(show, now=now)  # the item is now cached under its revision
    data = form_of(client.get(change_url(episode)))
    data.update(
        total("persons", 2),
        **row("persons", 0, name="Nina", role="host", group="cast", position="0"),
        **row("persons", 1, name="Omar", role="guest", group="cast", position="1"),
    )
    response = client.post(change_url(episode), data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    item = (
        __import__("lxml.etree")
        .etree.fromstring(build_feed(show, now=now).body)
        .find("channel/item")
    )
    assert [(e.text, e.get("role")) for e in item.findall(f"{{{P}}}person")] == [
        ("Nina", "host"),
        ("Omar", "guest"),
    ]


def test_another_creators_person_cannot_be_edited_through_my_episode(
    client, creator, show, make_podcast, make_published
):
    theirs = make_published(make_podcast(title="Not Nina's"))
    victim = EpisodePerson.objects.create(episode=theirs, name="Their guest", role="guest")
    client.force_login(creator)
    mine = show.episodes.get()
    data = form_of(client.get(change_url(mine)))
    data.update(
        {"persons-INITIAL_FORMS": "1"},
        **total("persons", 1),
        **row("persons", 0, id=str(victim.pk), name="Hijacked", role="host", group="cast"),
    )
    response = client.post(change_url(mine), data)
    # Django's formset drops a row whose id is not one of this episode's people.
    assert response.status_code in (200, 302)
    victim.refresh_from_db()
    assert (victim.name, victim.episode_id) == ("Their guest", theirs.pk)
    assert not mine.persons.exists()
    # And their show's page is not reachable at all.
    assert client.get(change_url(theirs.podcast)).status_code == 404


def test_without_login_nothing_is_saved(client, show):
    response = client.post(
        change_url(show), {"medium": "music", **total("persons", 1), **row("persons", 0, name="X")}
    )
    assert response.status_code == 302 and "/login/" in response["Location"]
    assert Podcast.objects.get(pk=show.pk).medium == "podcast"
    assert not PodcastPerson.objects.exists()
