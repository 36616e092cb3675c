"""Per-show webhooks: HMAC-SHA256-signed JSON to a real local HTTP server, retries, the log."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging

import pytest
from celery.exceptions import Retry
from django.core.exceptions import ValidationError

from episodes import notifications
from episodes.models import EpisodeEvent, Webhook, WebhookDelivery
from episodes.tasks import deliver_webhook
from podcasthost.tasks import MAX_RETRIES
from tests.servers import recording_server


@pytest.fixture(autouse=True)
def local_receivers_allowed(settings):
    """The receivers in these tests listen on 127.0.0.1, which production refuses."""
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True


def _verify(received, secret: str) -> dict:
    """What a receiver does: recompute the signature over timestamp + body, then parse."""
    timestamp = received.headers["X-Podcasthost-Timestamp"]
    expected = hmac.new(
        secret.encode(), f"{timestamp}.".encode() + received.body, hashlib.sha256
    ).hexdigest()
    assert hmac.compare_digest(received.headers["X-Podcasthost-Signature"], f"sha256={expected}")
    return json.loads(received.body)


def _ready(episode):
    assert episode.mark_uploaded(source_key="uploads/x.wav", source_bytes=10)
    assert episode.start_processing()
    assert episode.mark_ready()


def test_an_event_reaches_the_webhook_signed(
    team, make_episode, django_capture_on_commit_callbacks
):
    episode = make_episode(team["show"], title="Pilot")
    with recording_server([200]) as receiver:
        hook = Webhook.objects.create(podcast=team["show"], url=f"{receiver.url}/hooks/pod")
        with django_capture_on_commit_callbacks(execute=True):
            _ready(episode)

    (post,) = receiver.received
    assert (post.method, post.path) == ("POST", "/hooks/pod")
    assert post.headers["Content-Type"] == "application/json"
    assert post.headers["X-Podcasthost-Event"] == "episode.ready"
    payload = _verify(post, hook.secret)
    assert payload["event"] == "episode.ready"
    assert payload["show"] == {
        "slug": "team-show",
        "title": "Team Show",
        "feed_url": team["show"].feed_url,
    }
    assert payload["episode"]["guid"] == str(episode.guid)
    assert payload["episode"]["status"] == "ready"
    delivery = WebhookDelivery.objects.get(webhook=hook)
    assert post.headers["X-Podcasthost-Delivery"] == str(delivery.pk)
    assert (delivery.status, delivery.attempts, delivery.response_status) == ("delivered", 1, 200)


def test_a_signature_made_with_another_secret_does_not_verify(team, make_episode):
    episode = make_episode(team["show"])
    with recording_server([200]) as receiver:
        Webhook.objects.create(podcast=team["show"], url=receiver.url)
        other = Webhook.objects.create(podcast=team["show"], url=receiver.url)
        event = notifications.record_event(EpisodeEvent.Kind.READY, team["show"], episode=episode)
        for delivery in event.deliveries.order_by("pk"):
            deliver_webhook.apply(kwargs={"delivery_id": delivery.pk}).get()

    first, _second = receiver.received
    assert first.body == _second.body
    with pytest.raises(AssertionError):
        _verify(first, other.secret)


def test_a_failing_receiver_is_retried_with_backoff_and_logged(team, make_episode):
    with recording_server([500, 503, 200]) as receiver:
        hook = Webhook.objects.create(podcast=team["show"], url=receiver.url)
        event = notifications.record_event(
            EpisodeEvent.Kind.READY, team["show"], episode=make_episode(team["show"])
        )
        delivery = event.deliveries.get()
        for retries in (0, 1):
            with pytest.raises(Retry) as retry:
                deliver_webhook.apply(kwargs={"delivery_id": delivery.pk}, retries=retries)
            assert 0 <= retry.value.when <= deliver_webhook.retry_backoff_max
            delivery.refresh_from_db()
            assert delivery.status == "pending"
            assert delivery.attempts == retries + 1
        assert delivery.response_status == 503
        assert "answered 503" in delivery.error

        outcome = deliver_webhook.apply(kwargs={"delivery_id": delivery.pk}, retries=2).get()
        # Delivered: a redelivered task message sends nothing again.
        again = deliver_webhook.apply(kwargs={"delivery_id": delivery.pk}).get()

    assert (outcome, again) == ("delivered", "delivered")
    assert len(receiver.received) == 3
    assert len({r.headers["X-Podcasthost-Delivery"] for r in receiver.received}) == 1
    for received in receiver.received:
        _verify(received, hook.secret)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.error) == ("delivered", 3, "")


def test_exhausted_retries_fail_the_delivery_visibly(team, make_episode):
    with recording_server([502]) as receiver:
        Webhook.objects.create(podcast=team["show"], url=receiver.url)
        event = notifications.record_event(
            EpisodeEvent.Kind.FAILED, team["show"], episode=make_episode(team["show"])
        )
        delivery = event.deliveries.get()
        outcome = deliver_webhook.apply(
            kwargs={"delivery_id": delivery.pk}, retries=MAX_RETRIES
        ).get()

    assert outcome == "gave up"
    delivery.refresh_from_db()
    assert delivery.status == "failed"
    assert delivery.error.startswith("Gave up after 1 attempt: ")


def test_a_refusing_receiver_is_not_retried(team, make_episode):
    with recording_server([401]) as receiver:
        Webhook.objects.create(podcast=team["show"], url=receiver.url)
        event = notifications.record_event(
            EpisodeEvent.Kind.READY, team["show"], episode=make_episode(team["show"])
        )
        delivery = event.deliveries.get()
        outcome = deliver_webhook.apply(kwargs={"delivery_id": delivery.pk}).get()

    assert outcome == "refused"
    assert len(receiver.received) == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.response_status) == ("failed", 401)


def test_inactive_webhooks_and_other_shows_get_nothing(team, make_podcast, make_episode):
    with recording_server([200]) as receiver:
        Webhook.objects.create(podcast=team["show"], url=receiver.url, active=False)
        Webhook.objects.create(podcast=make_podcast(), url=receiver.url)
        event = notifications.record_event(
            EpisodeEvent.Kind.READY, team["show"], episode=make_episode(team["show"])
        )

    assert not event.deliveries.exists()
    assert receiver.received == []


def test_the_secret_is_never_logged(team, make_episode, caplog):
    with caplog.at_level(logging.DEBUG), recording_server([500]) as receiver:
        hook = Webhook.objects.create(podcast=team["show"], url=receiver.url)
        event = notifications.record_event(
            EpisodeEvent.Kind.READY, team["show"], episode=make_episode(team["show"])
        )
        with pytest.raises(Retry):
            deliver_webhook.apply(kwargs={"delivery_id": event.deliveries.get().pk})

    assert caplog.records
    assert hook.secret not in caplog.text
    assert hook.secret not in str(hook)


def test_secrets_are_random_and_rotate(team):
    a = Webhook.objects.create(podcast=team["show"], url="http://127.0.0.1:9/a")
    b = Webhook.objects.create(podcast=team["show"], url="http://127.0.0.1:9/b")
    assert a.secret != b.secret
    assert len(a.secret) >= 43  # 256 bits, URL-safe base64

    old = a.secret
    new = a.rotate_secret()

    assert new != old
    assert Webhook.objects.get(pk=a.pk).secret == new


# --- SSRF guard ---


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hook",
        "http://localhost:8000/hook",
        "http://10.1.2.3/hook",
        "http://192.168.0.10/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://100.64.0.1/hook",
        "http://0.0.0.0/hook",
    ],
)
def test_private_and_loopback_addresses_are_refused_in_production(team, settings, url):
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False
    hook = Webhook(podcast=team["show"], url=url)

    with pytest.raises(ValidationError) as refused:
        hook.full_clean()

    assert "private or local address" in str(refused.value)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://93.184.215.14/hook", "http"),
        ("javascript:alert(1)", "http"),
        ("http://user:pw@93.184.215.14/hook", "user name or password"),
        ("http://no-such-host.invalid/hook", "does not resolve"),
    ],
)
def test_unusable_urls_are_refused_with_the_reason(team, settings, url, reason):
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False
    with pytest.raises(ValidationError) as refused:
        Webhook(podcast=team["show"], url=url).full_clean()
    assert reason in str(refused.value)


def test_a_public_address_is_accepted(team, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False
    Webhook(podcast=team["show"], url="https://93.184.215.14/hook").full_clean()


def test_a_stored_url_now_private_is_refused_at_delivery(team, make_episode, settings):
    with recording_server([200]) as receiver:
        Webhook.objects.create(podcast=team["show"], url=receiver.url)
        event = notifications.record_event(
            EpisodeEvent.Kind.READY, team["show"], episode=make_episode(team["show"])
        )
        settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False
        outcome = deliver_webhook.apply(kwargs={"delivery_id": event.deliveries.get().pk}).get()

    assert outcome == "refused"
    assert receiver.received == []
    delivery = event.deliveries.get()
    assert delivery.status == "failed"
    assert "private or local address" in delivery.error


def test_deliveries_and_events_left_unsent_are_queued_again(
    team, make_episode, now, django_capture_on_commit_callbacks
):
    from datetime import timedelta

    from django.core import mail

    with recording_server([200]) as receiver:
        Webhook.objects.create(podcast=team["show"], url=receiver.url)
        # Recorded while the broker was down: nothing was queued, nothing sent.
        event = notifications.record_event(
            EpisodeEvent.Kind.READY, team["show"], episode=make_episode(team["show"]), now=now
        )
        soon = now + timedelta(minutes=5)
        with django_capture_on_commit_callbacks(execute=True):
            assert notifications.resend_lost(now=soon) == ([], [])  # may still be on its way
        assert receiver.received == [] and mail.outbox == []

        later = now + notifications.LOST_AFTER + timedelta(seconds=1)
        with django_capture_on_commit_callbacks(execute=True):
            events, deliveries = notifications.resend_lost(now=later)
        with django_capture_on_commit_callbacks(execute=True):
            again = notifications.resend_lost(now=later)

    assert (events, deliveries) == ([event.pk], [event.deliveries.get().pk])
    assert len(receiver.received) == 1
    assert len(mail.outbox) == 2
    assert again == ([], [])
