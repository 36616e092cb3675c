"""Delivering events to creators' webhooks: HMAC-SHA256-signed JSON, retried with backoff.

Each delivery is one POST of the event's payload (UTF-8 JSON, sorted keys)
with these headers:

* ``X-Podcasthost-Event``: the kind, e.g. ``episode.ready``;
* ``X-Podcasthost-Delivery``: the delivery's id (the same on every retry);
* ``X-Podcasthost-Timestamp``: Unix seconds of this attempt;
* ``X-Podcasthost-Signature``: ``sha256=`` + hex HMAC-SHA256, keyed with the
  webhook's secret, of ``<timestamp>.<body>``. A receiver recomputes it,
  compares in constant time, and refuses old timestamps (replays).

A 2xx answer delivers. No answer, 408, 429 or 5xx is retried with backoff by
the task; another answer (the receiver refuses us, e.g. 401 on a bad
signature check) fails the delivery at once, as does a URL that now points at
a private address. Every attempt is recorded on the delivery: the admin's log.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from episodes.models import EpisodeEvent, Webhook, WebhookDelivery
from episodes.signals import delivery_requested
from podcasthost import outbound

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Podcasthost-Signature"
TIMESTAMP_HEADER = "X-Podcasthost-Timestamp"
Status = WebhookDelivery.Status


class DeliveryFailed(Exception):
    """The receiver gave no answer or a temporary error: retry later."""


def body_of(payload: dict[str, Any]) -> bytes:
    """The exact bytes posted for ``payload``: compact JSON with sorted keys, UTF-8."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """``sha256=<hex>``: HMAC-SHA256 of ``<timestamp>.<body>`` keyed with ``secret``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


def _retryable(status: int) -> bool:
    return status in (408, 429) or status >= 500


def deliver(delivery_id: int, *, now: datetime | None = None) -> str:
    """Attempt one delivery and record it; what happened, in words.

    Idempotent for a delivered one (nothing is sent again). Raises
    :class:`DeliveryFailed` when the attempt is worth retrying.
    """
    now = now or timezone.now()
    delivery = (
        WebhookDelivery.objects.select_related("webhook", "event").filter(pk=delivery_id).first()
    )
    if delivery is None:
        return "gone"
    if delivery.status != Status.PENDING:
        return delivery.status
    webhook = delivery.webhook
    if not webhook.active:
        delivery.record_attempt(now=now, status=Status.FAILED, error="The webhook is switched off.")
        return "inactive"
    body = body_of(delivery.event.payload)
    timestamp = int(now.timestamp())
    headers = {
        "Content-Type": "application/json",
        "X-Podcasthost-Event": delivery.event.kind,
        "X-Podcasthost-Delivery": str(delivery.pk),
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: signature(webhook.secret, timestamp, body),
    }
    try:
        answer = outbound.send(
            "POST",
            webhook.url,
            body=body,
            headers=headers,
            timeout=settings.OUTBOUND_TIMEOUT_SECONDS,
            public_only=not settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES,
        )
    except outbound.RefusedURL as exc:
        delivery.record_attempt(now=now, status=Status.FAILED, error=str(exc))
        return "refused"
    except outbound.OutboundError as exc:
        delivery.record_attempt(now=now, status=Status.PENDING, error=str(exc))
        logger.info("delivery %s: no answer from webhook #%s, retrying", delivery.pk, webhook.pk)
        raise DeliveryFailed(str(exc)) from exc
    excerpt = answer.body[:1000].decode("utf-8", "replace")
    if answer.ok:
        delivery.record_attempt(
            now=now, status=Status.DELIVERED, response_status=answer.status, excerpt=excerpt
        )
        return "delivered"
    retry = _retryable(answer.status)
    delivery.record_attempt(
        now=now,
        status=Status.PENDING if retry else Status.FAILED,
        response_status=answer.status,
        excerpt=excerpt,
        error=f"The receiver answered {answer.status}.",
    )
    if retry:
        logger.info(
            "delivery %s: webhook #%s answered %s, retrying", delivery.pk, webhook.pk, answer.status
        )
        raise DeliveryFailed(f"webhook #{webhook.pk} answered {answer.status}")
    logger.warning(
        "delivery %s: webhook #%s refused it (%s)", delivery.pk, webhook.pk, answer.status
    )
    return "refused"


def give_up(delivery_id: int, reason: str, *, now: datetime | None = None) -> bool:
    """Retries are used up: the delivery fails, keeping the last reason."""
    delivery = WebhookDelivery.objects.filter(pk=delivery_id).first()
    if delivery is None:
        return False
    n = delivery.attempts
    return delivery.give_up(
        f"Gave up after {n} attempt{'' if n == 1 else 's'}: {reason}", now=now or timezone.now()
    )


def redeliver(delivery: WebhookDelivery) -> bool:
    """The admin's "Deliver again": failed → pending, queued after commit; ``True`` if it was."""
    if not delivery.requeue():
        return False
    delivery_requested.send(sender=WebhookDelivery, delivery_id=delivery.pk)
    return True


def send_test(webhook: Webhook, *, now: datetime | None = None) -> WebhookDelivery:
    """The admin's "Send a test event": one ``webhook.test`` delivery to this webhook only.

    Nobody is mailed and nothing goes to SNS: the event is born sent on those channels.
    """
    now = now or timezone.now()
    podcast = webhook.podcast
    with transaction.atomic():
        event = EpisodeEvent.objects.create(
            podcast=podcast,
            kind=EpisodeEvent.Kind.TEST,
            subject=f"[{podcast.title}] Webhook test",
            message="A test event sent from the admin.",
            payload={
                "event": EpisodeEvent.Kind.TEST.value,
                "occurred_at": now.isoformat(),
                "show": {
                    "slug": podcast.slug,
                    "title": podcast.title,
                    "feed_url": podcast.feed_url,
                },
            },
            created_at=now,
            emailed_at=now,
            sns_published_at=now,
        )
        delivery = WebhookDelivery.objects.create(webhook=webhook, event=event, created_at=now)
        delivery_requested.send(sender=WebhookDelivery, delivery_id=delivery.pk)
    return delivery
