"""Publishing feeds: render from the database, write to the feeds storage, purge the CDN.

The use-cases, each one call for a task, command or view:

* :func:`request_publish` — a feed may have changed: mark it and queue ONE
  debounced publish for a burst of changes.
* :func:`publish_feed` — render now; run the publish gate (:mod:`feeds.gate`);
  when the content hash changed and the gate found no error, write
  ``<slug>/feed.xml`` to the ``feeds`` storage (S3 with ``Content-Type`` and
  ``Cache-Control``), create a CloudFront invalidation for exactly that path,
  then record the publication. Renders from the database at run time, so a
  late or repeated run is always correct (idempotent).
* :func:`plan_scheduled` — an episode was scheduled: queue a publish at its
  ``publish_at`` (Celery ``eta``), so it appears at that second.
* :func:`publish_due` — the periodic sweep (the safety net): scheduled episodes
  whose time has come, plans for those entering the horizon, queued publishes
  that were lost, feeds whose last publish failed or was blocked.
* :func:`ensure_rendered` — first request for a feed nobody published yet.

A render or upload error never replaces the last good feed: ``FeedState`` (what
the public view serves) is only updated after the storage write and the
invalidation succeeded; the failure is recorded and :class:`PublishError` is
raised so the Celery task retries. A gate error blocks the same way, without a
retry (the creator's next change, or "publish anyway", publishes again): the
findings are stored on ``FeedState`` and ``feed_publish_blocked`` is sent.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import DateTimeField, F, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from episodes.models import Episode, Podcast
from feeds import gate
from feeds.models import FeedPublication, FeedState, PlannedPublish
from feeds.rss import CONTENT_TYPE, RenderedFeed, feed_items, write_feed_xml
from feeds.signals import feed_publish_blocked, feed_published
from podcasthost.storage import get_storage

logger = logging.getLogger(__name__)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class PublishError(Exception):
    """Rendering, writing or invalidating a feed failed; the last good feed is still served."""


class PublishBusy(PublishError):
    """Another publish of this feed holds the lease; try again shortly."""


# Longer than any render + upload + invalidation; a crashed publisher's lease
# expires after it.
PUBLISH_LEASE = timedelta(minutes=5)
# A feed never published because of gate errors is rendered for the public view
# at most this often (its show's next change publishes it anyway).
_RECHECK_AFTER = timedelta(seconds=60)


@dataclass(frozen=True)
class PublishResult:
    podcast_id: int
    content_hash: str
    item_count: int
    changed: bool
    invalidation_id: str = ""
    #: The gate's errors kept the last good feed in place (nothing was written).
    blocked: bool = False
    findings: tuple[gate.Finding, ...] = ()


def feed_key(slug: str) -> str:
    """Key of a show's feed in the ``feeds`` storage: the public path the seed used."""
    return f"{slug}/feed.xml"


def cache_control() -> str:
    """``Cache-Control`` of published feeds: short, so apps see new episodes within minutes."""
    return f"public, max-age={settings.FEED_CACHE_MAX_AGE}"


# --- requesting (debounce) ---


def request_publish(podcast_id: int, *, now: datetime | None = None) -> bool:
    """Note that ``podcast_id``'s feed may have changed and queue one debounced publish.

    The first call of a burst sets the per-podcast ``publish_requested_at``
    marker (a conditional UPDATE); its ``feed_publish_requested`` receiver
    queues the task after the transaction commits, ``FEED_PUBLISH_DELAY_SECONDS``
    later. Later calls see the marker and do nothing. The task clears the
    marker before it renders, so a change made while it runs queues a new
    publish. Returns True if a publish was queued.
    """
    return FeedState.objects.request_publish(podcast_id, now=now or timezone.now())


def plan_scheduled(podcast_id: int, publish_at: datetime | None, *, now: datetime) -> bool:
    """Plan a publish of ``podcast_id``'s feed at ``publish_at`` if that is soon enough.

    Only times within ``FEED_SCHEDULE_HORIZON_SECONDS`` of ``now`` are planned:
    Redis redelivers a message unacknowledged for longer than its visibility
    timeout, so a far ``eta`` would pile up copies; the sweep plans it once it
    comes within the horizon. A changed time is a new plan; the task planned
    for the old time renders the feed as it is then, which does no harm.
    ``True`` if a new publish was planned.
    """
    horizon = now + timedelta(seconds=settings.FEED_SCHEDULE_HORIZON_SECONDS)
    if publish_at is None or not now < publish_at <= horizon:
        return False
    return PlannedPublish.objects.plan(podcast_id, publish_at)


def plan_upcoming(*, now: datetime) -> int:
    """Plan a publish for every episode due within the horizon; forget past plans. Idempotent."""
    horizon = now + timedelta(seconds=settings.FEED_SCHEDULE_HORIZON_SECONDS)
    upcoming = (
        Episode.objects.filter(publish_at__gt=now, publish_at__lte=horizon)
        .values_list("podcast_id", "publish_at")
        .distinct()
    )
    planned = sum(plan_scheduled(pid, at, now=now) for pid, at in upcoming)
    PlannedPublish.objects.filter(publish_at__lt=now - timedelta(days=1)).delete()
    return planned


def publish_due(*, now: datetime | None = None) -> list[int]:
    """Queue a publish for every feed that is due; returns the podcast ids. Idempotent.

    Due: an episode with renditions whose ``publish_at`` passed after the last
    render looked (scheduled episodes appear within one sweep); a queued
    publish older than ``FEED_STALE_REQUEST_SECONDS`` (its task was lost); a
    rendering never written to storage or a last publish that failed for good;
    a feed the gate blocked, checked again after the same delay (an enclosure
    that did not answer may answer now; the same errors are not reported twice).
    """
    now = now or timezone.now()
    plan_upcoming(now=now)
    last_render = Coalesce(
        F("feed_state__rendered_at"), Value(_EPOCH, output_field=DateTimeField())
    )
    scheduled = (
        Podcast.objects.alias(last_render=last_render)
        .filter(
            episodes__publish_at__lte=now,
            episodes__publish_at__gt=F("last_render"),
            episodes__renditions__isnull=False,
        )
        .values_list("pk", flat=True)
    )
    stale_before = now - timedelta(seconds=settings.FEED_STALE_REQUEST_SECONDS)
    # A lost task left its marker set: clear it so request_publish queues again.
    stale_ids = FeedState.objects.clear_stale_requests(before=stale_before)
    # A failed publish retries with backoff on its own; the sweep takes it
    # over only once that chain has had time to end, so chains never pile up.
    failed = FeedState.objects.failed_quietly(since=stale_before).values_list(
        "podcast_id", flat=True
    )
    blocked = FeedState.objects.filter(
        blocked_at__isnull=False, checked_at__lt=stale_before, publish_requested_at__isnull=True
    ).values_list("podcast_id", flat=True)
    due = sorted(set(scheduled) | set(stale_ids) | set(failed) | set(blocked))
    for podcast_id in due:
        request_publish(podcast_id, now=now)
    return due


# --- rendering ---


def render_current(podcast: Podcast, state: FeedState, now: datetime) -> RenderedFeed:
    """Render ``podcast``'s feed at ``now``, keeping ``lastBuildDate`` while content is unchanged.

    The items are rendered once (incrementally, :func:`~feeds.rss.feed_items`);
    the channel is written with the stored ``built_at``: same hash → nothing
    changed; otherwise written again with ``built_at = now``.
    """
    items = feed_items(podcast, now)
    if state.built_at is not None:
        same = RenderedFeed(
            write_feed_xml(podcast, items, built_at=state.built_at), len(items), state.built_at
        )
        if same.content_hash == state.content_hash:
            return same
    return RenderedFeed(write_feed_xml(podcast, items, built_at=now), len(items), now)


def ensure_rendered(podcast_id: int, *, now: datetime | None = None) -> None:
    """Render a feed that has no stored rendering yet, without publishing it.

    Used by the public view the first time a feed is asked for before any
    publish ran; ``publish_due`` later writes it to the feeds storage. A
    rendering with gate errors (those that need neither history nor network)
    is not stored: the view answers 404 until the show can be published.
    """
    now = now or timezone.now()
    podcast = Podcast.objects.get(pk=podcast_id)
    state, _ = FeedState.objects.get_or_create(podcast=podcast)
    if state.content_hash:
        return
    if state.blocked_at and state.checked_at and now - state.checked_at < _RECHECK_AFTER:
        return  # checked a moment ago: requests for it must not each render the feed
    rendered = render_current(podcast, state, now)
    findings = gate.check_offline(podcast, rendered.body, now=now)
    if gate.errors_of(findings):
        state.record_check([f.as_dict() for f in findings], now=now, blocked=True)
        return
    state.store_rendering(rendered, now=now)


# --- writing ---


def write_feed(key: str, body: bytes) -> None:
    """Write ``body`` at ``key`` in the ``feeds`` storage, replacing it atomically.

    Stored with explicit ``Content-Type`` and ``Cache-Control`` where the
    storage keeps headers; a reader never sees half a feed. Raises the storage's error.
    """
    get_storage("feeds").put_bytes(
        key, body, content_type=CONTENT_TYPE, cache_control=cache_control()
    )


def invalidate_cdn(key: str, *, reference: str) -> str:
    """Create a CloudFront invalidation of ``/<key>``; returns its id ("" when no CDN is set).

    ``reference`` (the CallerReference) makes a retried call for the same
    publication idempotent. https://docs.aws.amazon.com/cloudfront/latest/APIReference/API_CreateInvalidation.html
    """
    distribution_id = settings.CLOUDFRONT_DISTRIBUTION_ID
    if not distribution_id:
        return ""
    import boto3

    client = boto3.client("cloudfront", region_name=settings.AWS_REGION)
    answer = client.create_invalidation(
        DistributionId=distribution_id,
        InvalidationBatch={
            "Paths": {"Quantity": 1, "Items": [f"/{key}"]},
            "CallerReference": reference,
        },
    )
    return answer["Invalidation"]["Id"]


def _record_failure(
    podcast: Podcast, state: FeedState, now: datetime, rendered, exc: Exception
) -> None:
    message = f"{type(exc).__name__}: {exc}"[:2000]
    state.record_failure(message, now=now)
    FeedPublication.objects.create(
        podcast=podcast,
        created_at=now,
        status=FeedPublication.Status.FAILED,
        content_hash=rendered.content_hash if rendered else "",
        item_count=rendered.item_count if rendered else 0,
        size_bytes=len(rendered.body) if rendered else 0,
        storage_key=feed_key(podcast.slug),
        error=message,
    )


def publish_feed(
    podcast_id: int,
    *,
    now: datetime | None = None,
    dry_run: bool = False,
    force: bool = False,
    override_by: str = "",
) -> PublishResult | None:
    """Render ``podcast_id``'s feed, check it (the gate) and publish it if its content changed.

    Returns ``None`` when the podcast no longer exists. Idempotent: an
    unchanged feed is neither re-uploaded nor invalidated (unless ``force``).
    ``dry_run`` renders and reports without writing anything. Gate errors
    block: nothing is written and the result says ``blocked``, unless
    ``override_by`` (who chose "publish anyway") is given. After a real
    run, sends ``feed_published`` (pings, announcements). Raises
    :class:`PublishError` (after recording the failure) when rendering,
    checking, writing or invalidating fails; the last good feed stays in place.
    """
    now = now or timezone.now()
    podcast = Podcast.objects.filter(pk=podcast_id).first()
    if podcast is None:
        return None
    state, _ = FeedState.objects.get_or_create(podcast=podcast)
    if dry_run:
        return _publish(podcast, state, now, dry_run=True, force=force)
    # One publish per feed at a time: two overlapping runs could otherwise write
    # an older rendering after a newer one and drop an episode from the feed.
    if not state.take_lease(now, PUBLISH_LEASE):
        raise PublishBusy(f"The feed of {podcast.slug} is being published by another worker.")
    try:
        state.refresh_from_db()
        # Changes after this point set the marker again and queue a new publish.
        state.clear_request()
        result = _publish(podcast, state, now, dry_run=False, force=force, override_by=override_by)
    finally:
        state.release()
    feed_published.send(sender=FeedState, podcast_id=podcast.pk, changed=result.changed)
    return result


def last_published_body(state: FeedState) -> bytes | None:
    """The bytes of the feed in the feeds storage now, if this app wrote it; else ``None``."""
    if state.published_hash and state.published_hash == state.content_hash:
        return bytes(state.body)
    return None


def _block(podcast: Podcast, state: FeedState, now: datetime, rendered, findings) -> None:
    errors = gate.errors_of(findings)
    already = {f["message"] for f in state.findings if f.get("severity") == gate.ERROR}
    news = state.blocked_at is None or already != {f.message for f in errors}
    state.record_check([f.as_dict() for f in findings], now=now, blocked=True)
    messages = [f.message for f in errors]
    logger.warning(
        "The publish gate kept the last feed of %s: %d errors, first: %s",
        podcast.slug,
        len(messages),
        messages[:3],
    )
    if not news:
        return  # the same errors as the last blocked publish: told already
    FeedPublication.objects.create(
        podcast=podcast,
        created_at=now,
        status=FeedPublication.Status.BLOCKED,
        content_hash=rendered.content_hash,
        item_count=rendered.item_count,
        size_bytes=len(rendered.body),
        storage_key=feed_key(podcast.slug),
        error="\n".join(messages)[:10000],
    )
    feed_publish_blocked.send(sender=FeedState, podcast_id=podcast.pk, findings=messages)


def _publish(
    podcast: Podcast,
    state: FeedState,
    now: datetime,
    *,
    dry_run: bool,
    force: bool,
    override_by: str = "",
) -> PublishResult:
    rendered = None
    note = ""
    try:
        rendered = render_current(podcast, state, now)
        changed = force or rendered.content_hash != state.published_hash
        if dry_run:
            return PublishResult(podcast.pk, rendered.content_hash, rendered.item_count, changed)
        previous = last_published_body(state)
        findings = tuple(gate.check_publish(podcast, rendered.body, previous=previous, now=now))
        errors = gate.errors_of(findings)
        if errors and override_by:
            note = f"Published anyway by {override_by} despite: " + " ".join(
                f.message for f in errors
            )
            logger.warning("%s (feed of %s)", note, podcast.slug)
        elif errors and changed:
            _block(podcast, state, now, rendered, findings)
            return PublishResult(
                podcast.pk,
                rendered.content_hash,
                rendered.item_count,
                False,
                blocked=True,
                findings=findings,
            )
        if not changed:
            state.record_check([f.as_dict() for f in findings], now=now, blocked=False)
            state.store_rendering(rendered, now=now, clear_error=True)
            return PublishResult(
                podcast.pk, rendered.content_hash, rendered.item_count, False, findings=findings
            )
        key = feed_key(podcast.slug)
        write_feed(key, rendered.body)
        invalidation_id = invalidate_cdn(
            key, reference=f"{key}@{rendered.content_hash[:16]}@{now.timestamp():.0f}"
        )
    except Exception as exc:
        logger.exception("Publishing the feed of %s failed", podcast.slug)
        _record_failure(podcast, state, now, rendered, exc)
        raise PublishError(f"Publishing the feed of {podcast.slug} failed: {exc}") from exc
    with transaction.atomic():
        state.store_rendering(rendered, now=now, published=True, clear_error=True)
        state.record_check([f.as_dict() for f in findings], now=now, blocked=False)
        FeedPublication.objects.create(
            podcast=podcast,
            created_at=now,
            status=FeedPublication.Status.PUBLISHED,
            content_hash=rendered.content_hash,
            item_count=rendered.item_count,
            size_bytes=len(rendered.body),
            storage_key=key,
            invalidation_id=invalidation_id,
            note=note[:10000],
        )
    return PublishResult(
        podcast.pk,
        rendered.content_hash,
        rendered.item_count,
        True,
        invalidation_id,
        findings=findings,
    )
