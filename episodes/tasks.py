"""Celery tasks of the processing pipeline: thin, keyword-only, ID-based, idempotent.

Each task makes one call into :mod:`episodes.pipeline`. ``acks_late``: a task
whose worker dies is redelivered, and the pipeline's compare-and-swap makes
the second delivery harmless. Only transient errors (throttling, network,
5xx) are retried, with exponential backoff kept well under the broker's
visibility timeout. Periodic tasks are registered in :mod:`episodes.receivers`.
"""

from __future__ import annotations

import logging
import random

from celery import shared_task
from django.db import OperationalError

from episodes import pipeline
from episodes.transcoders import TransientTranscoderError

log = logging.getLogger(__name__)

MAX_RETRIES = 8


def _backoff(retries: int) -> float:
    """5 s, 10 s, 20 s … capped at 10 minutes, with jitter."""
    return min(600.0, 5.0 * 2**retries) * random.uniform(0.8, 1.2)  # noqa: S311 (jitter)


def _ignored(kwargs: dict) -> None:
    if kwargs:
        # Messages from an older or newer deploy may carry more arguments.
        log.info("ignoring unknown task arguments: %s", sorted(kwargs))


@shared_task(bind=True, acks_late=True, max_retries=MAX_RETRIES)
def process_episode(self, *, episode_id: int, attempt: int | None = None, **kwargs) -> str:
    """Probe, claim, submit and (ffmpeg) finish one episode. Idempotent."""
    _ignored(kwargs)
    try:
        return pipeline.process_episode(episode_id, attempt=attempt)
    except (TransientTranscoderError, OperationalError) as exc:
        retry_attempt = getattr(exc, "attempt", None) or attempt
        if self.request.retries >= self.max_retries:
            pipeline.give_up(episode_id, retry_attempt, str(exc))
            return "gave up"
        raise self.retry(
            exc=exc,
            kwargs={"episode_id": episode_id, "attempt": retry_attempt},
            countdown=_backoff(self.request.retries),
        ) from exc


@shared_task(bind=True, acks_late=True, max_retries=MAX_RETRIES)
def poll_episode(self, *, episode_id: int, **kwargs) -> str:
    """Poll one episode's job and act on its state. Idempotent."""
    _ignored(kwargs)
    try:
        return pipeline.poll_episode(episode_id)
    except (TransientTranscoderError, OperationalError) as exc:
        raise self.retry(exc=exc, countdown=_backoff(self.request.retries)) from exc


@shared_task(acks_late=True, expires=60)
def poll_transcodes(**kwargs) -> dict:
    """Periodic: poll every running job once; transient errors wait for the next run."""
    _ignored(kwargs)
    return pipeline.poll_transcodes()


@shared_task(acks_late=True, expires=300)
def reconcile(**kwargs) -> str:
    """Periodic: repair work a crash left behind (see :func:`episodes.pipeline.reconcile`)."""
    _ignored(kwargs)
    return str(pipeline.reconcile())
