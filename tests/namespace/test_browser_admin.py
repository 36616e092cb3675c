"""The show's and the episode's admin pages with the Podcasting 2.0 parts open, in a real
Chromium: they fit 1280 px, and a person added there reaches the feed."""

from __future__ import annotations

import os

import pytest

from episodes.models import PodcastPerson
from tests.uploads.test_browser_live_status import PASSWORD, log_in, page_at  # noqa: F401

SHOTS = "var/test-artifacts/namespace"


@pytest.fixture(autouse=True)
def async_unsafe_allowed(monkeypatch):
    """Playwright's sync API runs an event loop in this thread (see test_browser_upload)."""
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_show_page_with_podcasting_20_open_fits_and_saves_a_person(
    live_server,
    page_at,  # noqa: F811
    make_creator,
    make_podcast,
    make_episode,
):
    creator = make_creator("ida", password=PASSWORD)
    show = make_podcast(members=[creator], slug="idas-show")
    page = page_at(1280, 1000)
    log_in(page, live_server.url, "ida")
    page.goto(f"{live_server.url}/admin/episodes/podcast/{show.pk}/change/")
    # Open every collapsed part (Django's <details> fieldsets and inlines).
    page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
    for group in ("persons", "funding", "trailers", "txt_records", "podroll"):
        page.click(f"#{group}-group .add-row a")
    page.fill("#id_persons-0-name", "Ida Host")
    page.fill("#id_persons-0-href", "https://example.com/ida")
    os.makedirs(SHOTS, exist_ok=True)
    page.screenshot(path=f"{SHOTS}/show-1280.png", full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
    page.click("input[name=_continue]")
    page.wait_for_selector(".messagelist .success")
    person = PodcastPerson.objects.get(podcast=show)
    assert (person.name, person.role, person.group) == ("Ida Host", "host", "cast")

    episode = make_episode(show, slug="pilot")
    page.goto(f"{live_server.url}/admin/episodes/episode/{episode.pk}/change/")
    page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
    page.click("#persons-group .add-row a")
    page.fill("#id_persons-0-name", "Remote Recording Engineer Extraordinaire")
    page.select_option("#id_persons-0-role", "remote recording engineer")
    page.select_option("#id_persons-0-group", "audio production")
    page.screenshot(path=f"{SHOTS}/episode-1280.png", full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
    page.click("input[name=_continue]")
    page.wait_for_selector(".messagelist .success")
    assert episode.persons.get().role == "remote recording engineer"
