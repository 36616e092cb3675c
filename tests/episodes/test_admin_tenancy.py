"""A creator sees and changes only the shows they are a member of, in every admin view."""

from __future__ import annotations

import pytest
from django.urls import reverse

from episodes.models import Episode, Podcast
from tests.admin_forms import EPISODE_INLINES, PODCAST_INLINES, empty_inlines


@pytest.fixture
def two_creators(make_creator, make_podcast, make_episode):
    alice, bob = make_creator("alice"), make_creator("bob")
    alices_show = make_podcast(members=[alice], slug="alices-show", title="Alice's show")
    bobs_show = make_podcast(members=[bob], slug="bobs-show", title="Bob's show")
    return {
        "alice": alice,
        "bob": bob,
        "alices_show": alices_show,
        "bobs_show": bobs_show,
        "alices_episode": make_episode(alices_show, title="Alice's pilot"),
        "bobs_episode": make_episode(bobs_show, title="Bob's pilot"),
    }


def test_changelists_list_only_own_objects(client, two_creators):
    client.force_login(two_creators["bob"])

    podcasts = client.get(reverse("admin:episodes_podcast_changelist"))
    episodes = client.get(reverse("admin:episodes_episode_changelist"))

    assert podcasts.status_code == 200
    assert "Bob&#x27;s show" in podcasts.text
    assert "Alice" not in podcasts.text
    assert "Bob&#x27;s pilot" in episodes.text
    assert "Alice" not in episodes.text


@pytest.mark.parametrize("view", ["change", "delete", "history"])
@pytest.mark.parametrize("model", ["podcast", "episode"])
def test_other_creators_objects_answer_404_by_url(client, two_creators, view, model):
    obj = two_creators[f"alices_{'show' if model == 'podcast' else 'episode'}"]
    client.force_login(two_creators["bob"])

    response = client.get(reverse(f"admin:episodes_{model}_{view}", args=[obj.pk]))

    assert response.status_code == 404


def test_other_creators_podcast_cannot_be_changed_by_post(client, two_creators):
    show = two_creators["alices_show"]
    client.force_login(two_creators["bob"])

    response = client.post(
        reverse("admin:episodes_podcast_change", args=[show.pk]),
        {
            "title": "Hijacked",
            "slug": show.slug,
            "description": "x",
            "language": "en",
            "category": "Technology",
            "show_type": "episodic",
        },
    )

    assert response.status_code == 404
    assert Podcast.objects.get(pk=show.pk).title == "Alice's show"


def test_other_creators_objects_cannot_be_deleted_by_post(client, two_creators):
    client.force_login(two_creators["bob"])
    for model, key in (("episode", "alices_episode"), ("podcast", "alices_show")):
        obj = two_creators[key]
        response = client.post(
            reverse(f"admin:episodes_{model}_delete", args=[obj.pk]), {"post": "yes"}
        )
        assert response.status_code == 404
    assert Podcast.objects.filter(pk=two_creators["alices_show"].pk).exists()
    assert Episode.objects.filter(pk=two_creators["alices_episode"].pk).exists()


def test_bulk_delete_action_ignores_other_creators_objects(client, two_creators):
    client.force_login(two_creators["bob"])
    ids = [two_creators["alices_episode"].pk, two_creators["bobs_episode"].pk]

    client.post(
        reverse("admin:episodes_episode_changelist"),
        {"action": "delete_selected", "_selected_action": ids, "post": "yes"},
    )

    assert Episode.objects.filter(pk=two_creators["alices_episode"].pk).exists()
    assert not Episode.objects.filter(pk=two_creators["bobs_episode"].pk).exists()


def test_episode_form_offers_only_own_podcasts(client, two_creators):
    client.force_login(two_creators["bob"])

    page = client.get(reverse("admin:episodes_episode_add"))

    choices = page.context["adminform"].form.fields["podcast"].queryset
    assert list(choices) == [two_creators["bobs_show"]]


def test_episode_cannot_be_added_to_another_creators_podcast(client, two_creators):
    client.force_login(two_creators["bob"])

    response = client.post(
        reverse("admin:episodes_episode_add"),
        {
            "podcast": two_creators["alices_show"].pk,
            "title": "Sneaky",
            "slug": "sneaky",
            "episode_type": "full",
            "renditions-TOTAL_FORMS": "0",
            "renditions-INITIAL_FORMS": "0",
            **empty_inlines(EPISODE_INLINES),
        },
    )

    assert response.status_code == 200  # the form is shown again with an error
    assert "Select a valid choice" in response.text
    assert not Episode.objects.filter(slug="sneaky").exists()


def test_podcast_filter_lists_only_own_podcasts(client, two_creators):
    client.force_login(two_creators["bob"])

    page = client.get(reverse("admin:episodes_episode_changelist"))

    assert "Alice&#x27;s show" not in page.text


def test_creator_who_adds_a_podcast_becomes_its_member(client, make_creator):
    carol = make_creator("carol")
    client.force_login(carol)

    response = client.post(
        reverse("admin:episodes_podcast_add"),
        {
            "title": "Carol's show",
            "slug": "carols-show",
            "description": "About things.",
            "owner_email": "carol@example.com",
            "language": "en",
            "category": "Arts > Books",
            "show_type": "episodic",
            "locked": "on",
            **empty_inlines(PODCAST_INLINES),
        },
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    podcast = Podcast.objects.get(slug="carols-show")
    assert list(podcast.members.all()) == [carol]


def test_podcast_page_shows_the_public_feed_url(client, two_creators, settings):
    client.force_login(two_creators["alice"])

    page = client.get(
        reverse("admin:episodes_podcast_change", args=[two_creators["alices_show"].pk])
    )

    assert f"{settings.FEED_BASE_URL}/alices-show/feed.xml" in page.text


def test_superuser_sees_everything(admin_client, two_creators):
    page = admin_client.get(reverse("admin:episodes_podcast_changelist"))
    assert "Alice&#x27;s show" in page.text
    assert "Bob&#x27;s show" in page.text
    page = admin_client.get(
        reverse("admin:episodes_episode_change", args=[two_creators["alices_episode"].pk])
    )
    assert page.status_code == 200


def test_status_cannot_be_set_through_the_admin(client, two_creators):
    episode = two_creators["bobs_episode"]
    client.force_login(two_creators["bob"])

    client.post(
        reverse("admin:episodes_episode_change", args=[episode.pk]),
        {
            "podcast": episode.podcast.pk,
            "title": "Edited",
            "slug": episode.slug,
            "episode_type": "full",
            "status": "ready",
            "progress_percent": "100",
            "renditions-TOTAL_FORMS": "0",
            "renditions-INITIAL_FORMS": "0",
            **empty_inlines(EPISODE_INLINES),
        },
    )

    fresh = Episode.objects.get(pk=episode.pk)
    assert fresh.title == "Edited"
    assert fresh.status == Episode.Status.DRAFT


def test_podcast_slug_cannot_change_after_creation(client, two_creators):
    show = two_creators["bobs_show"]
    client.force_login(two_creators["bob"])

    response = client.post(
        reverse("admin:episodes_podcast_change", args=[show.pk]),
        {
            "title": "Bob's show",
            "slug": "renamed",
            "description": "x",
            "owner_email": "bob@example.com",
            "language": "en",
            "category": "Technology",
            "show_type": "episodic",
            **empty_inlines(PODCAST_INLINES),
        },
    )

    assert response.status_code == 302
    assert Podcast.objects.get(pk=show.pk).slug == "bobs-show"
