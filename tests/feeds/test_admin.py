"""Publications in the admin, scoped to a creator's shows; deleting a show publishes nothing."""

from __future__ import annotations

from feeds.models import FeedPublication, FeedState
from feeds.publishing import publish_feed


def test_creator_sees_only_publications_of_their_shows(
    client, make_creator, make_podcast, make_published
):
    creator = make_creator()
    mine = make_podcast(title="Mine", members=[creator])
    theirs = make_podcast(title="Theirs")
    for podcast in (mine, theirs):
        make_published(podcast)
        publish_feed(podcast.pk)
    client.force_login(creator)
    page = client.get("/admin/feeds/feedpublication/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Mine (show-" in html and "Theirs (show-" not in html
    other = FeedPublication.objects.get(podcast=theirs)
    assert client.get(f"/admin/feeds/feedpublication/{other.pk}/change/").status_code in (
        302,
        403,
        404,
    )
    states = client.get("/admin/feeds/feedstate/")
    assert states.status_code == 200
    assert "Theirs (show-" not in states.content.decode()


def test_failed_publication_is_visible_in_the_admin(admin_client, make_podcast):
    podcast = make_podcast()
    FeedPublication.objects.create(
        podcast=podcast,
        created_at=podcast.created_at,
        status="failed",
        content_hash="ab" * 32,
        storage_key=f"{podcast.slug}/feed.xml",
        error="ClientError: InternalError",
    )
    html = admin_client.get("/admin/feeds/feedpublication/?status__exact=failed").content.decode()
    assert "ClientError: InternalError" in html


def test_deleting_a_show_with_episodes_is_clean(
    make_podcast, make_published, django_capture_on_commit_callbacks
):
    podcast = make_podcast()
    make_published(podcast)
    with django_capture_on_commit_callbacks(execute=True):
        podcast.delete()
    assert not FeedState.objects.exists()
