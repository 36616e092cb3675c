"""Over-long input is refused with the limit named, never cut; Apple's required owner e-mail."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from episodes.models import Episode, Podcast
from tests.admin_forms import PODCAST_INLINES, empty_inlines


@pytest.fixture
def creator(make_creator):
    return make_creator("eve")


@pytest.fixture
def show(make_podcast, creator):
    return make_podcast(members=[creator], slug="eves-show", title="Eve's show")


def show_form(**overrides) -> dict:
    data = {
        "title": "Eve's second show",
        "slug": "eves-second-show",
        "description": "About things.",
        "owner_email": "eve@example.com",
        "language": "en",
        "category": "Technology",
        "show_type": "episodic",
        **empty_inlines(PODCAST_INLINES),
    }
    data.update(overrides)
    return data


def errors(response) -> dict:
    assert response.status_code == 200, "expected the form back with errors"
    return response.context["adminform"].form.errors


def test_long_title_is_refused_by_the_form_not_cut_by_the_browser(client, creator, show):
    client.force_login(creator)
    add = reverse("admin:episodes_episode_add")

    page = client.get(add).text
    refused = client.post(add, {"podcast": show.pk, "title": "t" * 360, "slug": "long"})

    title_input = re.search(r"<input[^>]*id=\"id_title\"[^>]*>", page).group(0)
    assert "maxlength" not in title_input  # a browser would silently cut pasted text there
    assert errors(refused)["title"] == [
        "Ensure this value has at most 255 characters (it has 360)."
    ]
    assert not Episode.objects.filter(slug="long").exists()


def test_show_description_over_4000_bytes_is_refused_naming_the_limit(client, creator):
    client.force_login(creator)

    refused = client.post(
        reverse("admin:episodes_podcast_add"), show_form(description="x" * 100_000)
    )

    (message,) = errors(refused)["description"]
    assert "4,000 bytes" in message and "100,000 bytes" in message
    assert not Podcast.objects.filter(slug="eves-second-show").exists()


def test_description_limit_counts_what_is_kept_after_cleaning(client, creator):
    client.force_login(creator)
    # 6,000 bytes as typed; the sanitiser drops the <span> wrappers, leaving about 1,000.
    typed = "<span>x</span>" * 450 + "é" * 100

    add = reverse("admin:episodes_podcast_add")

    too_long = client.post(add, show_form(description=typed + "<b>" + "y" * 3500 + "</b>"))
    saved = client.post(add, show_form(description=typed))

    assert "4,000 bytes" in errors(too_long)["description"][0]
    assert len(typed.encode()) > 4000
    assert saved.status_code == 302
    assert Podcast.objects.get(slug="eves-second-show").description == "x" * 450 + "é" * 100


def test_episode_description_over_4000_bytes_is_refused(client, creator, show):
    client.force_login(creator)

    refused = client.post(
        reverse("admin:episodes_episode_add"),
        {
            "podcast": show.pk,
            "title": "Pilot",
            "slug": "pilot",
            "episode_type": "full",
            "description": "<p>" + "é" * 2001 + "</p>",  # 4,009 bytes
        },
    )

    (message,) = errors(refused)["description"]
    assert "4,000 bytes" in message and "4,009 bytes" in message


def test_owner_email_is_required_in_the_show_form_with_apples_reason(client, creator):
    client.force_login(creator)
    add = reverse("admin:episodes_podcast_add")

    page = client.get(add).text
    refused = client.post(add, show_form(owner_email=""))

    assert "Required by Apple Podcasts" in page
    (message,) = errors(refused)["owner_email"]
    assert "Apple Podcasts refuses a feed without an owner e-mail" in message
    assert not Podcast.objects.filter(slug="eves-second-show").exists()
