"""Signal receivers: every change that can alter a feed requests a (debounced) publish.

Status changes are conditional UPDATEs that ``post_save`` never sees, so the
``episode_transitioned`` signal covers "an episode became ready"; ``post_save``
and ``post_delete`` cover admin edits of shows, episodes and renditions. A won
request (``feed_publish_requested``) queues the publish task after commit.

After a publish (``feed_published``) a changed feed is pinged to the WebSub hub
and podping, and its newly visible episodes are announced to the creators; a
publish the gate blocked (``feed_publish_blocked``) is announced with its findings.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.utils import timezone
from kombu.exceptions import OperationalError

from episodes import notifications
from episodes.models import (
    Chapter,
    Episode,
    EpisodePerson,
    Podcast,
    PodcastFunding,
    PodcastPerson,
    PodcastTrailer,
    PodcastTxt,
    PodrollItem,
    Rendition,
)
from episodes.signals import episode_content_changed, episode_transitioned
from feeds.models import FeedState, PlannedPublish
from feeds.publishing import plan_scheduled, request_publish
from feeds.signals import (
    feed_publish_blocked,
    feed_publish_planned,
    feed_publish_requested,
    feed_published,
)

logger = logging.getLogger(__name__)


@receiver(feed_publish_requested, dispatch_uid="feeds.receivers.enqueue_publish")
def enqueue_publish(sender, podcast_id: int, **kwargs) -> None:
    """Queue the publish task once the transaction commits, ``FEED_PUBLISH_DELAY_SECONDS`` later."""
    transaction.on_commit(lambda: _enqueue_publish(podcast_id))


def _enqueue_publish(podcast_id: int) -> None:
    # Tasks are imported here, at the edge: domain modules never import them.
    from feeds.tasks import publish_feed_task

    delay = settings.FEED_PUBLISH_DELAY_SECONDS
    try:
        publish_feed_task.apply_async(kwargs={"podcast_id": podcast_id}, countdown=delay)
    except OperationalError:
        # The broker is down: the creator's save must not fail for it. The
        # marker stays set, so publish_due re-queues once it is stale.
        logger.warning("Could not queue the feed publish of podcast %s", podcast_id, exc_info=True)


@receiver(feed_publish_planned, dispatch_uid="feeds.receivers.enqueue_planned_publish")
def enqueue_planned_publish(sender, podcast_id: int, publish_at, **kwargs) -> None:
    """Queue the publish task with ``eta=publish_at`` once the transaction commits."""
    transaction.on_commit(lambda: _enqueue_planned(podcast_id, publish_at))


def _enqueue_planned(podcast_id: int, publish_at) -> None:
    from feeds.tasks import publish_feed_task

    try:
        publish_feed_task.apply_async(kwargs={"podcast_id": podcast_id}, eta=publish_at)
    except OperationalError:
        # The sweep publishes it within 30 s anyway, and plans it again.
        PlannedPublish.objects.forget(podcast_id, publish_at)
        logger.warning("Could not plan the publish of podcast %s", podcast_id, exc_info=True)


@receiver(episode_transitioned, dispatch_uid="feeds_episode_transitioned")
def episode_transitioned_publish(sender, episode, source, target, **kwargs) -> None:
    # Only "ready" changes what listeners see: a re-transcode keeps the old
    # renditions in the feed, and a failure removes nothing.
    if target == Episode.Status.READY:
        request_publish(episode.podcast_id)


@receiver(post_save, sender=Podcast, dispatch_uid="feeds_podcast_saved")
def podcast_saved(sender, instance, raw=False, **kwargs) -> None:
    if not raw:
        request_publish(instance.pk)


def _being_deleted_with_podcast(origin) -> bool:
    # A show deleted with its episodes: there is no feed left to publish.
    model = getattr(origin, "model", type(origin))
    return model is Podcast


@receiver(post_save, sender=Episode, dispatch_uid="feeds_episode_saved")
def episode_saved(sender, instance, raw=False, **kwargs) -> None:
    if not raw:
        request_publish(instance.podcast_id)
        # Scheduled (or rescheduled): publish at that very time, not at the next sweep.
        plan_scheduled(instance.podcast_id, instance.publish_at, now=timezone.now())


@receiver(post_delete, sender=Episode, dispatch_uid="feeds_episode_deleted")
def episode_deleted(sender, instance, origin=None, **kwargs) -> None:
    if not _being_deleted_with_podcast(origin):
        request_publish(instance.podcast_id)


@receiver(post_save, sender=Rendition, dispatch_uid="feeds_rendition_saved")
def rendition_saved(sender, instance, raw=False, **kwargs) -> None:
    if not raw:
        request_publish(instance.episode.podcast_id)


@receiver(post_delete, sender=Rendition, dispatch_uid="feeds_rendition_deleted")
def rendition_deleted(sender, instance, origin=None, **kwargs) -> None:
    if _being_deleted_with_podcast(origin):
        return
    podcast_id = (
        Episode.objects.filter(pk=instance.episode_id).values_list("podcast_id", flat=True).first()
    )
    if podcast_id is not None:
        request_publish(podcast_id)


@receiver(post_save, sender=Chapter, dispatch_uid="feeds_chapter_saved")
def chapter_saved(sender, instance, raw=False, **kwargs) -> None:
    # The item's <podcast:chapters> and the chapters JSON may have changed.
    if not raw:
        _publish_episode_show(instance.episode_id)


@receiver(post_delete, sender=Chapter, dispatch_uid="feeds_chapter_deleted")
def chapter_deleted(sender, instance, origin=None, **kwargs) -> None:
    model = getattr(origin, "model", type(origin))
    if model not in (Episode, Podcast):  # the episode's own deletion publishes
        _publish_episode_show(instance.episode_id)


def _publish_episode_show(episode_id: int) -> None:
    podcast_id = Episode.objects.filter(pk=episode_id).values_list("podcast_id", flat=True).first()
    if podcast_id is not None:
        request_publish(podcast_id)


# The show's Podcasting 2.0 rows (people, funding, trailers, txt, podroll): the
# channel is rendered at every publish, so a request is all a change needs.
_CHANNEL_ROWS = (PodcastPerson, PodcastFunding, PodcastTrailer, PodcastTxt, PodrollItem)


def channel_row_changed(sender, instance, raw=False, origin=None, **kwargs) -> None:
    if not raw and not _being_deleted_with_podcast(origin):
        request_publish(instance.podcast_id)


for _model in _CHANNEL_ROWS:
    post_save.connect(channel_row_changed, sender=_model, dispatch_uid=f"feeds_{_model.__name__}")
    post_delete.connect(
        channel_row_changed, sender=_model, dispatch_uid=f"feeds_{_model.__name__}_deleted"
    )


@receiver(post_save, sender=EpisodePerson, dispatch_uid="feeds_episode_person_saved")
@receiver(post_delete, sender=EpisodePerson, dispatch_uid="feeds_episode_person_deleted")
def episode_person_changed(sender, instance, raw=False, origin=None, **kwargs) -> None:
    """An episode's person was edited (its ``save``/``delete`` moved the episode's revision)."""
    if raw or _being_deleted_with_podcast(origin):
        return
    podcast_id = (
        Episode.objects.filter(pk=instance.episode_id).values_list("podcast_id", flat=True).first()
    )
    if podcast_id is not None:
        request_publish(podcast_id)


@receiver(feed_published, dispatch_uid="feeds.receivers.tell_the_world")
def tell_the_world(sender, podcast_id: int, changed: bool, **kwargs) -> None:
    """A changed feed was written: ping the WebSub hub and podping (each only when set)."""
    if changed and (settings.WEBSUB_HUB_URL or settings.PODPING_URL):
        transaction.on_commit(lambda: _enqueue_pings(podcast_id))


def _enqueue_pings(podcast_id: int) -> None:
    from feeds.tasks import ping_podping, ping_websub

    for setting, ping in (("WEBSUB_HUB_URL", ping_websub), ("PODPING_URL", ping_podping)):
        if not getattr(settings, setting):
            continue
        try:
            ping.delay(podcast_id=podcast_id)
        except OperationalError:
            # The feed is published; a lost ping only delays a directory's next fetch.
            logger.warning("Could not queue %s of podcast %s", ping.name, podcast_id, exc_info=True)


@receiver(feed_published, dispatch_uid="feeds.receivers.announce_published")
def announce_published(sender, podcast_id: int, changed: bool, **kwargs) -> None:
    """Episodes that just appeared in a published feed are announced to the creators, once."""
    if not changed:
        return
    rendered_at = (
        FeedState.objects.filter(podcast_id=podcast_id)
        .values_list("rendered_at", flat=True)
        .first()
    )
    if rendered_at is not None:
        notifications.announce_published(podcast_id, at=rendered_at)


@receiver(feed_publish_blocked, dispatch_uid="feeds.receivers.announce_blocked")
def announce_blocked(sender, podcast_id: int, findings: list[str], **kwargs) -> None:
    """The gate kept the old feed: tell the creators what to fix."""
    notifications.announce_blocked(podcast_id, findings)


@receiver(episode_content_changed, dispatch_uid="feeds_episode_content_changed")
def episode_content_changed_publish(sender, podcast_id: int, **kwargs) -> None:
    # A transcript (or another row an item carries) changed: Episode.touch
    # already moved the item's revision; the feed needs publishing.
    request_publish(podcast_id)
