"""The admin's "Import a show": the form, the Celery task, the live progress and result page."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from episodes.models import ImportRun, Podcast

pytestmark = pytest.mark.django_db(transaction=True)

FORM = reverse("admin:episodes_podcast_import")


def _run_page(run: ImportRun) -> str:
    return reverse("admin:episodes_podcast_import_run", args=[run.pk])


def _status(run: ImportRun) -> str:
    return reverse("admin:episodes_podcast_import_status", args=[run.pk])


@pytest.fixture
def creator_client(client, make_creator):
    user = make_creator("importer")
    client.force_login(user)
    client.user = user
    return client


def test_a_creator_imports_a_show_and_sees_progress_and_the_parity_report(creator_client, old_host):
    page = creator_client.get(reverse("admin:episodes_podcast_changelist"))
    assert FORM in page.content.decode()  # the "Import a show" button
    assert creator_client.get(FORM).status_code == 200

    response = creator_client.post(
        FORM, {"feed_url": old_host.url("/feeds/libsyn.xml"), "slug": "lounge"}
    )

    run = ImportRun.objects.get()
    assert response.status_code == 302 and response["Location"] == _run_page(run)
    status = creator_client.get(_status(run)).json()
    assert status["status"] == "done"
    assert (status["items_found"], status["media_downloaded"], status["processed"]) == (2, 2, 2)
    assert status["clean"] is True
    assert "parity: clean" in status["report"]
    page = creator_client.get(_run_page(run)).content.decode()
    assert "parity: clean" in page and "Media downloaded" in page
    podcast = Podcast.objects.get(slug="lounge")
    assert list(podcast.members.all()) == [creator_client.user]


def test_another_creators_import_answers_404(creator_client, old_host, make_creator, client):
    creator_client.post(FORM, {"feed_url": old_host.url("/feeds/buzzsprout.xml")})
    run = ImportRun.objects.get()
    other = make_creator("someone-else")
    creator_client.force_login(other)

    assert creator_client.get(_run_page(run)).status_code == 404
    assert creator_client.get(_status(run)).status_code == 404
    assert (
        creator_client.get(reverse("admin:episodes_podcast_import_run", args=[99999])).status_code
        == 404
    )


def test_only_users_who_may_create_shows_may_import(client, db):
    staff = get_user_model().objects.create_user("staffer", "s@example.com", "pw", is_staff=True)
    client.force_login(staff)
    assert client.get(FORM).status_code == 403
    assert client.post(FORM, {"feed_url": "https://example.com/feed.xml"}).status_code == 403
    assert ImportRun.objects.count() == 0


def test_anonymous_users_are_sent_to_the_login(client, db):
    response = client.get(FORM)
    assert response.status_code == 302 and "/login/" in response["Location"]


@pytest.mark.parametrize(
    "url", ["file:///etc/passwd", "javascript:alert(1)", "https://example.com/" + "a" * 5000, ""]
)
def test_bad_feed_urls_are_refused_by_the_form(creator_client, url):
    response = creator_client.post(FORM, {"feed_url": url})
    assert response.status_code == 200
    assert "errorlist" in response.content.decode()
    assert ImportRun.objects.count() == 0


def test_a_locked_feed_fails_the_run_with_the_reason_unless_confirmed(creator_client, old_host):
    creator_client.post(FORM, {"feed_url": old_host.url("/feeds/castopod.xml")})
    run = ImportRun.objects.get()
    assert run.status == "failed" and "locked" in run.error_message
    assert "locked" in creator_client.get(_run_page(run)).content.decode()
    assert Podcast.objects.count() == 0

    creator_client.post(
        FORM, {"feed_url": old_host.url("/feeds/castopod.xml"), "owner_confirmed": "on"}
    )
    assert ImportRun.objects.latest("pk").status == "done"
    assert Podcast.objects.get().podcast_guid.hex == "0e7c3a1b2d4f5a6b9c8d1e2f3a4b5c6d"


def test_a_private_address_is_refused_when_not_allowed(creator_client, old_host, settings):
    settings.IMPORT_ALLOW_PRIVATE_HOSTS = False
    creator_client.post(FORM, {"feed_url": old_host.url("/feeds/libsyn.xml")})
    run = ImportRun.objects.get()
    assert run.status == "failed" and "private or loopback" in run.error_message
    assert old_host.requests == {}


def test_the_task_redelivered_after_a_worker_died_resumes_the_run(old_host, make_creator):
    from episodes.tasks import import_show

    user = make_creator("resumer")
    url = old_host.url("/feeds/libsyn.xml")
    run = ImportRun.objects.create(source=url, slug="lounge", requested_by=user)
    old_host.extra["/audio/libsyn-1.mp3"] = (503, "text/plain", b"busy")
    assert import_show(run_id=run.pk) == "imported"
    # A worker died mid-run: the row still says running, and acks_late redelivers.
    ImportRun.objects.filter(pk=run.pk).update(status=ImportRun.Status.RUNNING)
    del old_host.extra["/audio/libsyn-1.mp3"]

    assert import_show(run_id=run.pk) == "imported"
    assert old_host.requests["/audio/libsyn-2.mp3"] == 1
    assert Podcast.objects.get().episodes.filter(status="ready").count() == 2
    assert import_show(run_id=run.pk) == "nothing to do"  # finished runs are not repeated
