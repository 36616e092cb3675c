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
    assert client.get(f"/admin/feeds/feedpublication/{other.pk}/change/").status_code == 404
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


def test_other_shows_feed_records_answer_404(client, make_creator, make_podcast, make_published):
    creator = make_creator()
    theirs = make_podcast(title="Theirs")
    make_published(theirs)
    publish_feed(theirs.pk)
    publication = FeedPublication.objects.get(podcast=theirs)
    state = FeedState.objects.get(podcast=theirs)
    client.force_login(creator)

    for url in (
        f"/admin/feeds/feedpublication/{publication.pk}/change/",
        f"/admin/feeds/feedpublication/{publication.pk}/history/",
        f"/admin/feeds/feedstate/{state.pk}/change/",
        f"/admin/feeds/feedstate/{state.pk}/history/",
    ):
        assert client.get(url).status_code == 404, url


def test_view_on_site_shortcut_does_not_reveal_another_creators_show(
    client, make_creator, make_podcast
):
    from django.contrib.contenttypes.models import ContentType

    from episodes.models import Podcast

    alice, bob = make_creator(), make_creator()
    alices = make_podcast(members=[alice], slug="alices-secret-show")
    bobs = make_podcast(members=[bob], slug="bobs-show")
    ct = ContentType.objects.get_for_model(Podcast).pk
    client.force_login(bob)

    other = client.get(f"/admin/r/{ct}/{alices.pk}/")
    own = client.get(f"/admin/r/{ct}/{bobs.pk}/")
    missing = client.get(f"/admin/r/{ct}/999999/")

    assert other.status_code == 404
    assert "alices-secret-show" not in other.text
    assert own.status_code == 302 and own["Location"].endswith("/bobs-show/")
    assert missing.status_code == 404
