"""The gate in the admin: feed health on the show page, warnings while editing, publish anyway."""

from __future__ import annotations

from django.contrib.admin.models import LogEntry

from feeds.models import FeedPublication
from feeds.publishing import publish_feed


def change_url(podcast) -> str:
    return f"/admin/episodes/podcast/{podcast.pk}/change/"


def anyway_url(podcast) -> str:
    return f"/admin/episodes/podcast/{podcast.pk}/publish-anyway/"


def blocked_show(make_podcast, make_published, members=()):
    podcast = make_podcast(members=members)
    make_published(podcast, title="First")
    assert publish_feed(podcast.pk).changed
    podcast.owner_email = ""
    podcast.save()
    assert publish_feed(podcast.pk).blocked
    return podcast


def test_show_page_shows_the_feed_health_with_each_fix(
    client, make_creator, make_podcast, make_published
):
    creator = make_creator()
    podcast = blocked_show(make_podcast, make_published, members=[creator])
    client.force_login(creator)

    html = client.get(change_url(podcast)).content.decode()

    assert "Feed health" in html
    assert "Last published" in html and "Blocked since" in html
    assert "&lt;itunes:owner&gt; with &lt;itunes:email&gt; is missing" in html
    assert "How to fix: Enter the owner e-mail" in html
    assert anyway_url(podcast) in html


def test_editing_a_saved_show_warns_before_any_publish(client, make_creator, make_podcast):
    creator = make_creator()
    podcast = make_podcast(members=[creator], owner_email="", author="", cover=None)
    client.force_login(creator)

    html = client.get(change_url(podcast)).content.decode()

    assert "Feed error: Channel: &lt;itunes:owner&gt;" in html
    assert "Feed error: Channel: &lt;itunes:image&gt; is missing" in html
    assert "Feed warning: Channel: &lt;itunes:author&gt; is missing" in html
    assert not FeedPublication.objects.filter(podcast=podcast).exists()


def test_publish_anyway_asks_first_then_publishes_and_logs(
    client, make_creator, make_podcast, make_published
):
    creator = make_creator()
    podcast = blocked_show(make_podcast, make_published, members=[creator])
    client.force_login(creator)

    confirm = client.get(anyway_url(podcast))
    assert confirm.status_code == 200
    assert "Publish anyway" in confirm.text and "itunes:email" in confirm.text
    assert not FeedPublication.objects.filter(
        podcast=podcast, note__startswith="Published"
    ).exists()

    done = client.post(anyway_url(podcast))

    assert done.status_code == 302 and done["Location"] == change_url(podcast)
    publication = FeedPublication.objects.filter(podcast=podcast).latest("created_at")
    assert publication.status == "published"
    assert publication.note.startswith(f"Published anyway by {creator.username} despite:")
    entry = LogEntry.objects.get(object_id=str(podcast.pk), user=creator)
    assert (
        "Published the feed anyway despite: Channel: <itunes:owner>" in entry.get_change_message()
    )


def test_publish_anyway_of_another_creators_show_is_404(
    client, make_creator, make_podcast, make_published
):
    owner, stranger = make_creator(), make_creator()
    podcast = blocked_show(make_podcast, make_published, members=[owner])
    client.force_login(stranger)

    assert client.get(anyway_url(podcast)).status_code == 404
    assert client.post(anyway_url(podcast)).status_code == 404
    assert client.get(change_url(podcast)).status_code == 404
    assert not FeedPublication.objects.filter(podcast=podcast, note__contains="anyway").exists()


def test_publish_anyway_needs_a_login_and_a_post_with_csrf(make_podcast, make_published, client):
    from django.test import Client

    podcast = blocked_show(make_podcast, make_published)
    anonymous = client.post(anyway_url(podcast))
    assert anonymous.status_code == 302 and "/admin/login/" in anonymous["Location"]

    from django.contrib.auth import get_user_model

    admin = get_user_model().objects.create_superuser("root", "root@example.com", "pw-123456789")
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(admin)
    assert strict.post(anyway_url(podcast)).status_code == 403
    assert not FeedPublication.objects.filter(podcast=podcast, note__contains="anyway").exists()


def test_a_missing_show_is_404(admin_client):
    assert admin_client.get("/admin/episodes/podcast/999999/publish-anyway/").status_code == 404
    assert admin_client.get("/admin/episodes/podcast/x%00y/publish-anyway/").status_code == 404
