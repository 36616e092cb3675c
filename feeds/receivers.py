"""Signal receivers: every change that can alter a feed requests a (debounced) publish.

Status changes are conditional UPDATEs that ``post_save`` never sees, so the
``episode_transitioned`` signal covers "an episode became ready"; ``post_save``
and ``post_delete`` cover admin edits of shows, episodes and renditions.
"""

from __future__ import annotations

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from episodes.models import Episode, Podcast, Rendition
from episodes.signals import episode_transitioned
from feeds.publishing import request_publish


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
