"""Signal receivers of the processing pipeline.

Imported from ``EpisodesConfig.ready()`` so they are connected in every process
(web, worker, beat) before any episode moves.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.dispatch import receiver
from kombu.exceptions import OperationalError

from episodes.models import Episode
from episodes.signals import episode_transitioned

log = logging.getLogger(__name__)


@receiver(episode_transitioned, dispatch_uid="episodes.receivers.enqueue_processing")
def enqueue_processing(sender, episode: Episode, source: str, target: str, **kwargs) -> None:
    """Work entered the pipeline: process it once the transaction commits.

    Two entries: ``→ uploaded`` (new audio, a retry), and ``ready → processing``
    (new audio or a re-transcode claimed with a fresh attempt and no job yet).
    """
    from episodes.tasks import process_episode

    if target == Episode.Status.UPLOADED:
        kwargs = {"episode_id": episode.pk}
    elif (source, target) == (Episode.Status.READY, Episode.Status.PROCESSING):
        kwargs = {"episode_id": episode.pk, "attempt": episode.attempt}
    else:
        return

    def enqueue() -> None:
        try:
            process_episode.delay(**kwargs)
        except OperationalError:
            # The broker is down: what the creator did is stored, and the
            # periodic reconcile submits episodes that nobody picked up.
            log.exception("episode %s: could not enqueue processing", kwargs["episode_id"])

    transaction.on_commit(enqueue)
