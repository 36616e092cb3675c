"""Signal receivers and periodic-task registration of the processing pipeline.

Imported from ``EpisodesConfig.ready()`` so they are connected in every process
(web, worker, beat) before any episode moves.
"""

from __future__ import annotations

from django.db import transaction
from django.dispatch import receiver

from episodes.models import Episode
from episodes.signals import episode_transitioned
from podcasthost.celery import app

POLL_INTERVAL_SECONDS = 30.0
RECONCILE_INTERVAL_SECONDS = 300.0


@receiver(episode_transitioned, dispatch_uid="episodes.receivers.enqueue_processing")
def enqueue_processing(sender, episode: Episode, source: str, target: str, **kwargs) -> None:
    """An episode entered ``uploaded``: process it once the transaction commits."""
    if target != Episode.Status.UPLOADED:
        return
    from episodes.tasks import process_episode

    episode_id = episode.pk
    transaction.on_commit(lambda: process_episode.delay(episode_id=episode_id))


@app.on_after_finalize.connect
def register_periodic_tasks(sender, **kwargs) -> None:
    # One pass over all running jobs is sturdier than self-rescheduling
    # countdowns, which Redis redelivers after its visibility timeout.
    sender.add_periodic_task(
        POLL_INTERVAL_SECONDS,
        sender.signature("episodes.tasks.poll_transcodes"),
        name="episodes: poll transcodes",
    )
    sender.add_periodic_task(
        RECONCILE_INTERVAL_SECONDS,
        sender.signature("episodes.tasks.reconcile"),
        name="episodes: reconcile",
    )
