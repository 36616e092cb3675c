"""Signal receivers of the processing pipeline.

Imported from ``EpisodesConfig.ready()`` so they are connected in every process
(web, worker, beat) before any episode moves.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from kombu.exceptions import OperationalError

from episodes import notifications, transcription
from episodes.models import Chapter, Episode, Podcast, Transcript
from episodes.signals import (
    chapters_changed,
    delivery_requested,
    episode_transitioned,
    event_recorded,
    processing_requested,
    transcription_requested,
)

log = logging.getLogger(__name__)


@receiver(episode_transitioned, dispatch_uid="episodes.receivers.enqueue_processing")
def enqueue_processing(sender, episode: Episode, source: str, target: str, **kwargs) -> None:
    """Work entered the pipeline: process it once the transaction commits.

    Two entries: ``→ uploaded`` (new audio, a retry), and ``ready → processing``
    (new audio or a re-transcode claimed with a fresh attempt and no job yet).
    """
    if target == Episode.Status.UPLOADED:
        _enqueue_after_commit({"episode_id": episode.pk})
    elif (source, target) == (Episode.Status.READY, Episode.Status.PROCESSING):
        _enqueue_after_commit({"episode_id": episode.pk, "attempt": episode.attempt})


@receiver(processing_requested, dispatch_uid="episodes.receivers.enqueue_requested")
def enqueue_requested(sender, episode_id: int, **kwargs) -> None:
    """Reconcile found an upload nobody processed: process it once the transaction commits."""
    _enqueue_after_commit({"episode_id": episode_id})


_collecting = threading.local()


@contextlib.contextmanager
def processing_in_one_message() -> Iterator[None]:
    """Processing enqueued inside the block goes out as one broker message after commit.

    For code that moves many episodes at once (an import records hundreds):
    a message per episode costs more than the database writes. The message
    is sent when the block ends, after the surrounding transaction commits.
    A block that raises sends nothing; the periodic reconcile submits any
    upload it committed all the same.
    """
    outer = getattr(_collecting, "runs", None)
    _collecting.runs = runs = [] if outer is None else outer
    try:
        yield
    finally:
        _collecting.runs = outer
    if outer is None:
        # Runs after every run's own on_commit below, which has added it to ``runs``.
        transaction.on_commit(lambda: runs and _enqueue(runs))


def _enqueue_after_commit(kwargs: dict) -> None:
    runs = getattr(_collecting, "runs", None)
    if runs is not None:
        # Collected at commit, not now: a run of a savepoint rolled back is never sent.
        transaction.on_commit(lambda: runs.append(kwargs))
    else:
        transaction.on_commit(lambda: _enqueue([kwargs]))


def _enqueue(runs: list[dict]) -> None:
    # Tasks are imported here, at the edge: domain modules never import them.
    from episodes.tasks import process_episode, process_episodes

    try:
        if len(runs) == 1:
            process_episode.delay(**runs[0])
        else:
            process_episodes.delay(runs=runs)
    except OperationalError:
        # The broker is down: what the creator did is stored, and the
        # periodic reconcile submits episodes that nobody picked up.
        which = "episodes" if len(runs) > 1 else "episode"
        ids = ", ".join(str(run["episode_id"]) for run in runs)
        log.exception("%s %s: could not enqueue processing", which, ids)


@receiver(episode_transitioned, dispatch_uid="episodes.receivers.announce_outcome")
def announce_outcome(sender, episode: Episode, source: str, target: str, **kwargs) -> None:
    """An episode became ready or failed: its creators are told (recorded in this transaction)."""
    if target in (Episode.Status.READY, Episode.Status.FAILED):
        notifications.announce_outcome(episode)


@receiver(event_recorded, dispatch_uid="episodes.receivers.send_event")
def send_event(sender, event_id: int | None, delivery_ids: list[int], **kwargs) -> None:
    """Queue the e-mail/SNS task and one task per webhook delivery once the event is stored."""
    from episodes.tasks import deliver_webhook, send_event_notifications

    def enqueue() -> None:
        try:
            if event_id is not None:
                send_event_notifications.delay(event_id=event_id)
            for delivery_id in delivery_ids:
                deliver_webhook.delay(delivery_id=delivery_id)
        except OperationalError:
            # The event and its deliveries are stored: resend_lost queues them later.
            log.exception("event %s: could not queue its notifications", event_id)

    transaction.on_commit(enqueue)


@receiver(delivery_requested, dispatch_uid="episodes.receivers.redeliver")
def redeliver(sender, delivery_id: int, **kwargs) -> None:
    """The admin asked for a failed delivery again: queue it once the transaction commits."""
    from episodes.tasks import deliver_webhook

    def enqueue() -> None:
        try:
            deliver_webhook.delay(delivery_id=delivery_id)
        except OperationalError:
            log.exception("delivery %s: could not queue it", delivery_id)

    transaction.on_commit(enqueue)


@receiver(post_delete, sender=Transcript, dispatch_uid="episodes.receivers.transcript_deleted")
def transcript_deleted(sender, instance: Transcript, origin=None, **kwargs) -> None:
    """A transcript was deleted (the admin): its episode's item and page lose it."""
    if getattr(origin, "model", type(origin)) in (Episode, Podcast):
        return  # deleted with its episode or show: nothing left to touch
    episode = Episode.objects.filter(pk=instance.episode_id).only("pk", "podcast_id").first()
    if episode is not None:
        episode.touch()


@receiver(episode_transitioned, dispatch_uid="episodes.receivers.request_transcript")
def request_transcript(sender, episode: Episode, source: str, target: str, **kwargs) -> None:
    """An episode became ready: its show may want a draft transcript (recorded in this
    transaction, queued after it commits)."""
    if target == Episode.Status.READY:
        transcription.request_draft(episode)


@receiver(transcription_requested, dispatch_uid="episodes.receivers.enqueue_transcription")
def enqueue_transcription(sender, transcript_id: int, **kwargs) -> None:
    """Queue the transcription task once the transaction commits."""
    from episodes.tasks import transcribe_episode

    def enqueue() -> None:
        try:
            transcribe_episode.delay(transcript_id=transcript_id)
        except OperationalError:
            # The pending row is stored: reconcile_transcriptions queues it later.
            log.exception("transcript %s: could not queue the transcription", transcript_id)

    transaction.on_commit(enqueue)


def _deleted_with_its_episode(origin) -> bool:
    model = getattr(origin, "model", type(origin))
    return model in (Episode, Podcast)


@receiver(post_save, sender=Chapter, dispatch_uid="episodes.receivers.chapter_saved")
def chapter_saved(sender, instance: Chapter, raw=False, **kwargs) -> None:
    """A chapter row changed: its episode's feed item and page have a new revision."""
    if not raw:
        instance.touch_episode()


@receiver(post_delete, sender=Chapter, dispatch_uid="episodes.receivers.chapter_deleted")
def chapter_deleted(sender, instance: Chapter, origin=None, **kwargs) -> None:
    if not _deleted_with_its_episode(origin):
        instance.touch_episode()


@receiver(chapters_changed, dispatch_uid="episodes.receivers.retag_on_change")
def retag_on_change(sender, episode_id: int, **kwargs) -> None:
    """New chapters: write them into the renditions once the transaction commits."""
    _enqueue_chapters_after_commit(episode_id)


@receiver(episode_transitioned, dispatch_uid="episodes.receivers.retag_after_transcode")
def retag_after_transcode(sender, episode: Episode, source: str, target: str, **kwargs) -> None:
    """Fresh renditions carry no chapters: tag them when the episode has some."""
    if target == Episode.Status.READY and Chapter.objects.filter(episode=episode).exists():
        _enqueue_chapters_after_commit(episode.pk)


def _enqueue_chapters_after_commit(episode_id: int) -> None:
    from episodes.tasks import apply_chapters

    def enqueue() -> None:
        try:
            apply_chapters.delay(episode_id=episode_id)
        except OperationalError:
            # The chapters are stored and served as JSON; the files keep their
            # old tags until the next change re-queues the work.
            log.exception("episode %s: could not queue the chapter tags", episode_id)

    transaction.on_commit(enqueue)
