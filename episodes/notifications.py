"""Telling a show's creators what happened: e-mail, an SNS message, their webhooks.

An event (episode ready, failed, published; a feed publish blocked by the gate)
is recorded once as an :class:`~episodes.models.EpisodeEvent` with its e-mail
text and its JSON payload, together with one pending
:class:`~episodes.models.WebhookDelivery` per active webhook of the show. The
``event_recorded`` signal then queues, after commit, one task for e-mail + SNS
(:func:`send_event`) and one per delivery (:mod:`episodes.webhooks`), each
retried with backoff on its own.

E-mail goes through Django's ``EMAIL_BACKEND`` to every member of the show
with an address; SNS to ``EPISODE_EVENTS_TOPIC_ARN`` when set (the topic of
``deploy/template.yaml``), with the event's kind and show as message attributes.
"""

from __future__ import annotations

import json
import logging
import smtplib
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from episodes.models import Episode, EpisodeEvent, Podcast, WebhookDelivery
from episodes.signals import event_recorded

logger = logging.getLogger(__name__)

Kind = EpisodeEvent.Kind

#: At most this many "published" events per publish; a show that appears with
#: its whole back catalogue (an import) is announced by the newest ones only.
MAX_ANNOUNCED_PER_PUBLISH = 10


class NotificationError(Exception):
    """Sending an e-mail or an SNS message failed on something temporary: retry."""


# --- what the creators read ---


def _admin_url(name: str, pk: int) -> str:
    return f"{settings.PUBLIC_BASE_URL}{reverse(name, args=[pk])}"


def _when(moment: datetime | None) -> str:
    return timezone.localtime(moment).strftime("%d %b %Y, %H:%M %Z") if moment else ""


def _publication_line(episode: Episode, now: datetime) -> str:
    if episode.publish_at is None:
        return "It is not published: give it a publish date to put it in the feed."
    if episode.publish_at > now:
        return f"It is scheduled: it appears in the feed at {_when(episode.publish_at)}."
    return "It is in the public feed."


def _episode_text(kind: str, episode: Episode, now: datetime) -> tuple[str, str]:
    show = episode.podcast.title
    title = episode.title
    link = _admin_url("admin:episodes_episode_change", episode.pk)
    if kind == Kind.READY:
        subject = f"[{show}] “{title}” is ready"
        lines = [
            f"The audio of “{title}” was processed and its files are ready.",
            _publication_line(episode, now),
        ]
        if episode.missing_renditions:
            lines.append(
                "Some formats could not be made (the feed uses the MP3): "
                + "; ".join(episode.missing_renditions.splitlines())
            )
    elif kind == Kind.FAILED:
        subject = f"[{show}] “{title}” could not be processed"
        lines = [
            f"Processing the audio of “{title}” failed:",
            "",
            f"    {episode.error_message or 'no reason was recorded'}",
            "",
            "What to do: if the reason is about the file (not audio, silent, damaged, too "
            "long), upload another file on the episode's page. If it was a temporary "
            "problem, select the episode in the episode list and choose the action "
            "“Retry processing”.",
        ]
    else:
        subject = f"[{show}] “{title}” is published"
        lines = [
            f"“{title}” is now in the public feed {episode.podcast.feed_url}.",
            "Podcast apps show it at their next refresh.",
        ]
    lines += ["", f"Open the episode: {link}"]
    return subject, "\n".join(lines)


def _blocked_text(podcast: Podcast, findings: Sequence[str]) -> tuple[str, str]:
    count = len(findings)
    subject = f"[{podcast.title}] Feed not published: {count} problem{'s' if count != 1 else ''}"
    lines = [
        f"The feed of “{podcast.title}” was not published, so listeners still get the "
        "previous version. The checks found:",
        "",
        *(f"  - {finding}" for finding in findings),
        "",
        "What to do: fix these on the show's page (each finding says how), or publish "
        "anyway from there; publishing anyway is logged.",
        "",
        f"Open the show: {_admin_url('admin:episodes_podcast_change', podcast.pk)}",
    ]
    return subject, "\n".join(lines)


def _payload(
    kind: str,
    podcast: Podcast,
    episode: Episode | None,
    now: datetime,
    findings: Sequence[str] = (),
) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "event": kind,
        "occurred_at": now.isoformat(),
        "show": {"slug": podcast.slug, "title": podcast.title, "feed_url": podcast.feed_url},
    }
    if episode is not None:
        payload["episode"] = {
            "guid": str(episode.guid),
            "slug": episode.slug,
            "title": episode.title,
            "status": episode.status,
            "publish_at": episode.publish_at.isoformat() if episode.publish_at else None,
        }
        if kind == Kind.FAILED:
            payload["episode"]["error"] = episode.error_message
    if kind == Kind.PUBLISH_BLOCKED:
        payload["findings"] = list(findings)
    return payload


# --- recording ---


def record_event(
    kind: str,
    podcast: Podcast,
    *,
    episode: Episode | None = None,
    findings: Sequence[str] = (),
    now: datetime | None = None,
) -> EpisodeEvent:
    """Record one event and its pending webhook deliveries; the senders run after commit."""
    now = now or timezone.now()
    if kind == Kind.PUBLISH_BLOCKED:
        subject, message = _blocked_text(podcast, findings)
    else:
        subject, message = _episode_text(kind, episode, now)
    payload = _payload(kind, podcast, episode, now, findings)
    with transaction.atomic():
        event = EpisodeEvent.objects.create(
            podcast=podcast,
            episode=episode,
            kind=kind,
            subject=subject[:255],
            message=message,
            payload=payload,
            created_at=now,
        )
        deliveries = WebhookDelivery.objects.bulk_create(
            WebhookDelivery(webhook=webhook, event=event, created_at=now)
            for webhook in podcast.webhooks.filter(active=True)
        )
        event_recorded.send(
            sender=EpisodeEvent, event_id=event.pk, delivery_ids=[d.pk for d in deliveries]
        )
    return event


def announce_outcome(episode: Episode, *, now: datetime | None = None) -> EpisodeEvent | None:
    """An episode became ready or failed: record the event (``None`` for other statuses)."""
    kinds = {Episode.Status.READY: Kind.READY, Episode.Status.FAILED: Kind.FAILED}
    kind = kinds.get(episode.status)
    if kind is None:
        return None
    return record_event(kind, episode.podcast, episode=episode, now=now)


def announce_published(
    podcast_id: int, *, at: datetime, now: datetime | None = None
) -> list[EpisodeEvent]:
    """Announce the episodes that a feed rendered at ``at`` holds for the first time.

    Each episode is announced once ever (``Episode.mark_announced``). Only the
    newest :data:`MAX_ANNOUNCED_PER_PUBLISH` get an event; older ones appearing
    in the same publish (a back catalogue) are marked without one.
    """
    now = now or timezone.now()
    fresh = (
        Episode.objects.in_feed(at)
        .filter(podcast_id=podcast_id, announced_at__isnull=True)
        .select_related("podcast")
        .order_by("-publish_at", "-pk")
    )
    events = []
    for episode in fresh[:MAX_ANNOUNCED_PER_PUBLISH]:
        if episode.mark_announced(now=now):
            events.append(record_event(Kind.PUBLISHED, episode.podcast, episode=episode, now=now))
    silent = Episode.objects.filter(pk__in=fresh.values("pk"), announced_at__isnull=True).update(
        announced_at=now
    )
    if silent:
        logger.info(
            "podcast %s: %d older episodes entered the feed unannounced", podcast_id, silent
        )
    return events


def announce_blocked(
    podcast_id: int, findings: Sequence[str], *, now: datetime | None = None
) -> EpisodeEvent | None:
    """The publish gate kept the old feed: record the event with its findings."""
    podcast = Podcast.objects.filter(pk=podcast_id).first()
    if podcast is None:
        return None
    return record_event(Kind.PUBLISH_BLOCKED, podcast, findings=list(findings), now=now)


# --- sending ---


def recipients(podcast: Podcast) -> list[str]:
    """E-mail addresses of the show's active members, each once, in a stable order."""
    emails = (
        podcast.members.filter(is_active=True)
        .exclude(email="")
        .order_by("email")
        .values_list("email", flat=True)
    )
    return list(dict.fromkeys(emails))


def send_email(event: EpisodeEvent, *, now: datetime) -> int:
    """Mail the event to each member (one message each, no one sees the others); sent count.

    Raises :class:`NotificationError` on a temporary SMTP or network failure.
    """
    if event.emailed_at is not None:
        return 0
    addresses = recipients(event.podcast)
    messages = [
        EmailMessage(event.subject, event.message, settings.DEFAULT_FROM_EMAIL, [address])
        for address in addresses
    ]
    try:
        sent = get_connection().send_messages(messages) if messages else 0
    except (smtplib.SMTPException, OSError) as exc:
        raise NotificationError(f"E-mail of event {event.uuid} failed: {exc}") from exc
    event.mark_emailed(now=now)
    return sent or 0


def _sns_subject(subject: str) -> str:
    # SNS: at most 100 characters, no line breaks or control characters.
    return " ".join(subject.split())[:100]


def publish_sns(event: EpisodeEvent, *, now: datetime) -> str:
    """Publish the event's JSON to ``EPISODE_EVENTS_TOPIC_ARN``; the message id ("" when off).

    Raises :class:`NotificationError` when SNS throttles, errs on its side or
    cannot be reached; other errors (no permission, no such topic) propagate.
    """
    topic = settings.EPISODE_EVENTS_TOPIC_ARN
    if not topic or event.sns_published_at is not None:
        return ""
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    client = boto3.client("sns", region_name=settings.AWS_REGION)
    try:
        answer = client.publish(
            TopicArn=topic,
            Subject=_sns_subject(event.subject),
            Message=json.dumps({**event.payload, "id": str(event.uuid), "text": event.message}),
            MessageAttributes={
                "event": {"DataType": "String", "StringValue": event.kind},
                "show": {"DataType": "String", "StringValue": event.podcast.slug},
            },
        )
    except ClientError as exc:
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        if status >= 500 or exc.response.get("Error", {}).get("Code") == "Throttling":
            raise NotificationError(f"SNS publish of event {event.uuid} failed: {exc}") from exc
        raise
    except BotoCoreError as exc:
        raise NotificationError(f"SNS publish of event {event.uuid} failed: {exc}") from exc
    event.mark_sns_published(now=now)
    return answer["MessageId"]


def send_event(event_id: int, *, now: datetime | None = None) -> str:
    """Send one event by e-mail and SNS, each at most once. Idempotent; what was done."""
    now = now or timezone.now()
    event = EpisodeEvent.objects.select_related("podcast").filter(pk=event_id).first()
    if event is None:
        return "gone"
    mailed = send_email(event, now=now)
    message_id = publish_sns(event, now=now)
    return f"{mailed} e-mail(s)" + (f", SNS {message_id}" if message_id else "")


# --- the safety net ---

#: Longer than the longest gap between two retries (``retry_backoff_max``
#: plus jitter): a send with no attempt for this long was lost, not waiting.
LOST_AFTER = timedelta(minutes=20)
#: Older events are not sent any more: the news is stale.
GIVE_UP_AFTER = timedelta(days=1)


def resend_lost(*, now: datetime | None = None) -> tuple[list[int], list[int]]:
    """Queue again what a lost task message or a broker outage left unsent. Idempotent.

    Returns (event ids, delivery ids) sent to the ``event_recorded`` receivers
    again: events not yet e-mailed (or not on SNS while a topic is set), and
    pending deliveries with no attempt for :data:`LOST_AFTER`, both younger
    than :data:`GIVE_UP_AFTER`.
    """
    now = now or timezone.now()
    window = {"created_at__gte": now - GIVE_UP_AFTER, "created_at__lt": now - LOST_AFTER}
    unsent = Q(emailed_at__isnull=True)
    if settings.EPISODE_EVENTS_TOPIC_ARN:
        unsent |= Q(sns_published_at__isnull=True)
    event_ids = list(EpisodeEvent.objects.filter(unsent, **window).values_list("pk", flat=True))
    delivery_ids = list(
        WebhookDelivery.objects.filter(status=WebhookDelivery.Status.PENDING, **window)
        .filter(Q(last_attempt_at__isnull=True) | Q(last_attempt_at__lt=now - LOST_AFTER))
        .values_list("pk", flat=True)
    )
    for event_id in event_ids:
        event_recorded.send(sender=EpisodeEvent, event_id=event_id, delivery_ids=[])
    if delivery_ids:
        event_recorded.send(sender=EpisodeEvent, event_id=None, delivery_ids=delivery_ids)
    return event_ids, delivery_ids
