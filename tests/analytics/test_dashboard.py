"""The per-show downloads dashboard: real charts, CSV, totals in the episode list, tenancy."""

from __future__ import annotations

import csv
import io
import os
import xml.etree.ElementTree as ET
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from feeds.analytics.charts import nice_ticks
from feeds.analytics.models import AppDownloadDay, DeviceDownloadDay, EpisodeDownloadDay
from tests.uploads.test_browser_upload import CHROMIUM_ARGS

PASSWORD = "correct horse battery"
SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture
def creator(make_creator):
    return make_creator("erin", password=PASSWORD)


@pytest.fixture
def show(make_podcast, make_episode, creator):
    """A show with two episodes and known aggregates over the last weeks."""
    today = timezone.localdate()
    podcast = make_podcast(members=[creator], slug="erins-show", title="Erin's show")
    start = timezone.now() - timedelta(days=40)
    pilot = make_episode(podcast, title="Pilot", slug="pilot", publish_at=start)
    second = make_episode(
        podcast, title="Second <b>", slug="second", publish_at=start + timedelta(days=20)
    )
    for i in range(40):
        day = today - timedelta(days=39 - i)
        EpisodeDownloadDay.objects.create(episode=pilot, day=day, downloads=i + 1)
    EpisodeDownloadDay.objects.create(episode=second, day=today - timedelta(days=19), downloads=7)
    AppDownloadDay.objects.create(podcast=podcast, day=today, app="Overcast", downloads=30)
    AppDownloadDay.objects.create(podcast=podcast, day=today, app="Apple Podcasts", downloads=50)
    DeviceDownloadDay.objects.create(
        podcast=podcast, day=today, device="Apple iPhone", os="iOS", downloads=60
    )
    return podcast


def dashboard_url(podcast) -> str:
    return reverse("admin:episodes_podcast_downloads", args=[podcast.pk])


def svg(html: str, chart_id: str) -> ET.Element:
    start = html.index(f'<svg xmlns="http://www.w3.org/2000/svg" id="{chart_id}"')
    end = html.index("</svg>", start) + len("</svg>")
    return ET.fromstring(html[start:end])  # noqa: S314 (our own output)


def test_dashboard_draws_90_daily_bars_with_axes_and_accessible_titles(client, creator, show):
    client.force_login(creator)

    page = client.get(dashboard_url(show))

    assert page.status_code == 200
    daily = svg(page.text, "downloads-per-day")
    assert daily.get("role") == "img"
    assert daily.find(f"{SVG}title").text == "Downloads per day, last 90 days"
    bars = daily.findall(f".//{SVG}rect[@class='bar']")
    assert len(bars) == 90
    assert sum(int(b.get("data-value")) for b in bars) == sum(range(1, 41)) + 7
    ticks = [t.text for t in daily.iter(f"{SVG}text") if t.get("class") == "y-tick"]
    assert ticks[0] == "0" and int(ticks[-1].replace(",", "")) >= 40
    assert "827 downloads in the last 90 days" in page.text


def test_dashboard_compares_first_days_and_ranks_apps_and_devices(client, creator, show):
    client.force_login(creator)

    page = client.get(dashboard_url(show)).text

    launch = svg(page, "first-days")
    labels = [t.text for t in launch.iter(f"{SVG}text") if t.get("class") == "label"]
    assert labels == ["Second <b>", "Pilot"]  # newest first, the title escaped, not markup
    values = [int(b.get("data-value")) for b in launch.iter(f"{SVG}rect") if b.get("class")]
    # Second: 7 on its publication day, in both windows. Pilot's downloads start the day
    # after its publication at 1 and grow by one a day: 1..6 in 7 days, 1..29 in 30.
    assert values == [7, 7, sum(range(1, 7)), sum(range(1, 30))]
    apps = svg(page, "top-apps")
    assert [t.text for t in apps.iter(f"{SVG}text") if t.get("class") == "label"] == [
        "Apple Podcasts",
        "Overcast",
    ]
    devices = svg(page, "top-devices")
    assert "Apple iPhone (iOS): 60" in devices.find(f"{SVG}desc").text


def test_csv_export_has_the_per_episode_totals(client, creator, show):
    client.force_login(creator)

    response = client.get(reverse("admin:episodes_podcast_downloads_csv", args=[show.pk]))

    assert response["Content-Type"].startswith("text/csv")
    assert 'filename="erins-show-downloads.csv"' in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[1][:4] == ["Second <b>", "second", rows[1][2], "7"]
    assert rows[2][3] == str(sum(range(1, 41)))


def test_episode_list_shows_each_episodes_total_in_constant_queries(
    client, creator, show, make_episode
):
    client.force_login(creator)
    url = reverse("admin:episodes_episode_changelist")
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        page = client.get(url).text
    for i in range(5):
        make_episode(show, title=f"More {i}", slug=f"more-{i}")
    with CaptureQueriesContext(connection) as more:
        client.get(url)

    # Under each published episode's date, as the 1280 px list has no room for a column.
    assert f'<span class="downloads">{sum(range(1, 41))} downloads</span>' in page
    assert '<span class="downloads">7 downloads</span>' in page
    assert len(more) == len(few)


def test_the_show_page_links_to_its_dashboard(client, creator, show):
    client.force_login(creator)

    page = client.get(reverse("admin:episodes_podcast_change", args=[show.pk])).text

    assert dashboard_url(show) in page


@pytest.mark.parametrize("name", ["episodes_podcast_downloads", "episodes_podcast_downloads_csv"])
def test_another_creators_show_answers_404(client, make_creator, show, name):
    client.force_login(make_creator("mallory"))

    assert client.get(reverse(f"admin:{name}", args=[show.pk])).status_code == 404
    assert client.get(reverse(f"admin:{name}", args=["9999999"])).status_code == 404
    assert client.get(reverse(f"admin:{name}", args=["not-a-number"])).status_code == 404


def test_without_login_the_dashboard_asks_to_log_in(client, show):
    response = client.get(dashboard_url(show))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_an_empty_show_gets_empty_charts_not_an_error(client, creator, make_podcast):
    empty = make_podcast(members=[creator], slug="empty")
    client.force_login(creator)

    page = client.get(dashboard_url(empty))

    assert page.status_code == 200
    assert "No downloads yet." in page.text
    assert len(svg(page.text, "downloads-per-day").findall(f".//{SVG}rect[@class='bar']")) == 90


@pytest.mark.parametrize(
    ("maximum", "ticks"), [(0, [0, 1]), (7, [0, 2, 4, 6, 8]), (827, [0, 200, 400, 600, 800, 1000])]
)
def test_axis_ticks_are_round_numbers_covering_the_maximum(maximum, ticks):
    assert nice_ticks(maximum) == ticks


@pytest.fixture(autouse=True)
def async_unsafe_allowed(monkeypatch):
    """Playwright's sync API runs an event loop in this thread (see test_browser_upload)."""
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_dashboard_in_chromium_shows_the_charts(live_server, creator, show, tmp_path):
    """What a creator sees: four charts, 90 day bars, the labels; screenshot kept as artefact."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=os.environ.get("CHROMIUM_BINARY", "/usr/bin/chromium"),
            args=CHROMIUM_ARGS,
        )
        try:
            page = browser.new_context(viewport={"width": 1280, "height": 1000}).new_page()
            page.goto(f"{live_server.url}/admin/login/")
            page.fill("#id_username", "erin")
            page.fill("#id_password", PASSWORD)
            page.click("input[type=submit]")
            page.goto(f"{live_server.url}{dashboard_url(show)}")
            shot = tmp_path / "downloads-dashboard.png"
            page.screenshot(path=str(shot), full_page=True)

            assert page.locator("svg.chart").count() == 4
            assert page.locator("#downloads-per-day rect.bar").count() == 90
            daily = page.locator("#downloads-per-day").bounding_box()
            assert daily["width"] > 600 and daily["height"] > 150  # drawn, not collapsed
            tallest = page.locator("#downloads-per-day rect.bar").nth(89).bounding_box()
            assert tallest["height"] > 100  # the busiest day fills most of the plot
            assert page.locator("#top-apps text.label").all_text_contents() == [
                "Apple Podcasts",
                "Overcast",
            ]
            assert page.get_by_text("827 downloads in the last 90 days").is_visible()
            assert shot.stat().st_size > 10_000
        finally:
            browser.close()
