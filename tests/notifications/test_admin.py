"""The webhooks admin and its delivery log: a creator's own shows only, others' answer 404."""

from __future__ import annotations

import pytest
from django.contrib.admin.models import LogEntry
from django.urls import reverse

from episodes import notifications
from episodes.models import EpisodeEvent, Webhook, WebhookDelivery
from episodes.roles import create_creator
from tests.servers import recording_server


@pytest.fixture(autouse=True)
def local_receivers_allowed(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True


@pytest.fixture
def two_shows(db, make_podcast, make_episode):
    alice, bob = (create_creator(n, f"{n}@example.com", None) for n in ("alice", "bob"))
    alices = make_podcast(members=[alice], title="Alice's show")
    bobs = make_podcast(members=[bob], title="Bob's show")
    alices_hook = Webhook.objects.create(podcast=alices, url="http://127.0.0.1:9/alice")
    event = notifications.record_event(
        EpisodeEvent.Kind.READY, alices, episode=make_episode(alices)
    )
    return {
        "alice": alice,
        "bob": bob,
        "alices": alices,
        "bobs": bobs,
        "alices_hook": alices_hook,
        "alices_delivery": event.deliveries.get(),
    }


def test_a_creator_adds_a_webhook_and_sees_its_secret(client, two_shows):
    client.force_login(two_shows["bob"])
    response = client.post(
        reverse("admin:episodes_webhook_add"),
        {"podcast": two_shows["bobs"].pk, "url": "http://127.0.0.1:8123/in", "active": "on"},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    hook = Webhook.objects.get(podcast=two_shows["bobs"])

    page = client.get(reverse("admin:episodes_webhook_change", args=[hook.pk]))

    assert page.status_code == 200
    assert f"<code>{hook.secret}</code>" in page.text
    # The history records that it was added, never the secret.
    assert not LogEntry.objects.filter(change_message__contains=hook.secret).exists()
    listing = client.get(reverse("admin:episodes_webhook_changelist"))
    assert hook.secret not in listing.text


def test_a_webhook_for_another_creators_show_is_refused(client, two_shows):
    client.force_login(two_shows["bob"])
    response = client.post(
        reverse("admin:episodes_webhook_add"),
        {"podcast": two_shows["alices"].pk, "url": "http://127.0.0.1:8123/in"},
    )

    assert response.status_code == 200
    assert "Select a valid choice" in response.text
    assert not Webhook.objects.filter(url="http://127.0.0.1:8123/in").exists()


@pytest.mark.parametrize("url", ["not a url", "ftp://127.0.0.1/x", "http://" + "a" * 3000])
def test_a_bad_url_is_a_form_error(client, two_shows, url):
    client.force_login(two_shows["bob"])
    response = client.post(
        reverse("admin:episodes_webhook_add"), {"podcast": two_shows["bobs"].pk, "url": url}
    )

    assert response.status_code == 200
    assert "errornote" in response.text
    assert not Webhook.objects.filter(podcast=two_shows["bobs"]).exists()


def test_a_private_address_is_a_form_error_in_production(client, two_shows, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False
    client.force_login(two_shows["bob"])
    response = client.post(
        reverse("admin:episodes_webhook_add"),
        {"podcast": two_shows["bobs"].pk, "url": "http://169.254.169.254/latest/"},
    )

    assert response.status_code == 200
    assert "private or local address" in response.text


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("episodes_webhook_change", "alices_hook"),
        ("episodes_webhook_delete", "alices_hook"),
        ("episodes_webhook_history", "alices_hook"),
        ("episodes_webhookdelivery_change", "alices_delivery"),
    ],
)
def test_another_creators_webhooks_and_deliveries_answer_404(client, two_shows, name, key):
    client.force_login(two_shows["bob"])

    response = client.get(reverse(f"admin:{name}", args=[two_shows[key].pk]))

    assert response.status_code == 404
    assert two_shows["alices_hook"].secret not in response.text


def test_lists_show_only_own_webhooks_and_deliveries(client, two_shows):
    client.force_login(two_shows["bob"])
    hooks = client.get(reverse("admin:episodes_webhook_changelist"))
    deliveries = client.get(reverse("admin:episodes_webhookdelivery_changelist"))
    assert hooks.status_code == deliveries.status_code == 200
    assert "127.0.0.1:9/alice" not in hooks.text
    assert "127.0.0.1:9/alice" not in deliveries.text

    client.force_login(two_shows["alice"])
    deliveries = client.get(reverse("admin:episodes_webhookdelivery_changelist"))
    assert "127.0.0.1:9/alice" in deliveries.text
    detail = client.get(
        reverse("admin:episodes_webhookdelivery_change", args=[two_shows["alices_delivery"].pk])
    )
    assert "episode.ready" in detail.text  # the payload as sent


def test_anonymous_users_are_sent_to_the_login(client, two_shows):
    for name in ("episodes_webhook_changelist", "episodes_webhookdelivery_changelist"):
        response = client.get(reverse(f"admin:{name}"))
        assert response.status_code == 302
        assert "/admin/login/" in response["Location"]


def test_deliver_again_resends_a_failed_delivery(
    client, two_shows, django_capture_on_commit_callbacks
):
    delivery = two_shows["alices_delivery"]
    WebhookDelivery.objects.filter(pk=delivery.pk).update(status="failed", error="Gave up")
    client.force_login(two_shows["alice"])
    with recording_server([200]) as receiver:
        Webhook.objects.filter(pk=two_shows["alices_hook"].pk).update(url=receiver.url)
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(
                reverse("admin:episodes_webhookdelivery_changelist"),
                {"action": "deliver_again", "_selected_action": [delivery.pk]},
            )

    assert response.status_code == 302
    assert len(receiver.received) == 1
    delivery.refresh_from_db()
    assert delivery.status == "delivered"


def test_deliver_again_cannot_reach_another_creators_delivery(
    client, two_shows, django_capture_on_commit_callbacks
):
    delivery = two_shows["alices_delivery"]
    WebhookDelivery.objects.filter(pk=delivery.pk).update(status="failed")
    client.force_login(two_shows["bob"])
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("admin:episodes_webhookdelivery_changelist"),
            {"action": "deliver_again", "_selected_action": [delivery.pk]},
        )

    delivery.refresh_from_db()
    assert delivery.status == "failed"


def test_rotating_changes_the_secret(client, two_shows):
    hook = two_shows["alices_hook"]
    client.force_login(two_shows["alice"])
    response = client.post(
        reverse("admin:episodes_webhook_changelist"),
        {"action": "rotate_secrets", "_selected_action": [hook.pk]},
    )

    assert response.status_code == 302
    assert Webhook.objects.get(pk=hook.pk).secret != hook.secret


def test_send_a_test_event_reaches_only_that_webhook(
    client, two_shows, django_capture_on_commit_callbacks
):
    from django.core import mail

    from tests.notifications.test_webhooks import _verify

    hook = two_shows["alices_hook"]
    client.force_login(two_shows["alice"])
    with recording_server([200]) as receiver:
        Webhook.objects.filter(pk=hook.pk).update(url=receiver.url)
        other = Webhook.objects.create(podcast=two_shows["alices"], url=f"{receiver.url}/other")
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(
                reverse("admin:episodes_webhook_changelist"),
                {"action": "send_test_event", "_selected_action": [hook.pk]},
            )

    assert response.status_code == 302
    (post,) = receiver.received
    assert post.path == "/"
    assert _verify(post, hook.secret)["event"] == "webhook.test"
    assert not other.deliveries.exists()
    assert mail.outbox == []


def test_send_a_test_event_cannot_reach_another_creators_webhook(client, two_shows):
    client.force_login(two_shows["bob"])
    client.post(
        reverse("admin:episodes_webhook_changelist"),
        {"action": "send_test_event", "_selected_action": [two_shows["alices_hook"].pk]},
    )

    assert not WebhookDelivery.objects.filter(event__kind="webhook.test").exists()
