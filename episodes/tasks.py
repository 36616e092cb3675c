"""Celery tasks of the episodes app: thin, keyword-only, ID-based, idempotent.

Each task makes one call into the domain (:mod:`episodes.pipeline`, the
queue consumers) under the policy of :class:`podcasthost.tasks.PodcastTask`:
``acks_late`` (the pipeline's compare-and-swap makes a redelivery harmless),
retries with backoff for transient errors only (throttling, network, 5xx, a
busy database). Periodic tasks are scheduled in ``CELERY_BEAT_SCHEDULE``
(:mod:`podcasthost.settings`); their ``expires`` drops a run that waited past
its period, since the next one does the same work.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import OperationalError
from kombu.exceptions import OperationalError as BrokerError

from episodes import ingest_queue, job_events, notifications, pipeline, transcription, webhooks
from episodes.chapters import retag
from episodes.importers import shows
from episodes.transcoders import TransientTranscoderError
from episodes.transcribers import TransientTranscriberError
from podcasthost.tasks import MAX_RETRIES, PodcastTask, task

TRANSIENT = (TransientTranscoderError, OperationalError)
TRANSIENT_TRANSCRIPTION = (TransientTranscriberError, OperationalError)

__all__ = [
    "MAX_RETRIES",
    "apply_chapters",
    "consume_ingest",
    "consume_job_events",
    "deliver_webhook",
    "import_show",
    "poll_episode",
    "poll_transcodes",
    "poll_transcriptions",
    "process_episode",
    "process_episodes",
    "reconcile",
    "reconcile_transcriptions",
    "resend_lost_notifications",
    "send_event_notifications",
    "transcribe_episode",
]


class ProcessEpisodeTask(PodcastTask):
    """Retries resume the run the error names; exhausted retries fail the episode visibly."""

    def retry(
        self,
        args: tuple | None = None,
        kwargs: dict[str, Any] | None = None,
        exc: BaseException | None = None,
        **options: Any,
    ) -> Any:
        attempt = getattr(exc, "attempt", None)
        if kwargs is None and attempt is not None:
            # The claim was won before the error: the retry resumes that attempt.
            kwargs = {**self._known_kwargs(self.request.kwargs or {}), "attempt": attempt}
        return super().retry(args=args, kwargs=kwargs, exc=exc, **options)

    def retries_exhausted(self, exc: BaseException, kwargs: dict[str, Any]) -> str:
        attempt = getattr(exc, "attempt", None) or kwargs.get("attempt")
        pipeline.give_up(kwargs["episode_id"], attempt, str(exc))
        return "gave up"


@task(base=ProcessEpisodeTask, autoretry_for=TRANSIENT)
def process_episode(*, episode_id: int, attempt: int | None = None) -> str:
    """Probe, claim, submit and (ffmpeg) finish one episode. Idempotent."""
    return pipeline.process_episode(episode_id, attempt=attempt)


@task(autoretry_for=(BrokerError,))
def process_episodes(*, runs: list[dict[str, Any]]) -> int:
    """Fan one message out into a :func:`process_episode` task per run; their number.

    Many episodes recorded at once (an import) reach the broker as one
    message; the work is still spread over every worker.
    """
    for run in runs:
        process_episode.delay(episode_id=run["episode_id"], attempt=run.get("attempt"))
    return len(runs)


@task(autoretry_for=TRANSIENT)
def poll_episode(*, episode_id: int) -> str:
    """Poll one episode's job and act on its state. Idempotent."""
    return pipeline.poll_episode(episode_id)


@task(expires=60)
def poll_transcodes() -> dict:
    """Periodic: poll every running job once; transient errors wait for the next run."""
    return pipeline.poll_transcodes()


@task(expires=300)
def reconcile() -> str:
    """Periodic: repair work a crash left behind (see :func:`episodes.pipeline.reconcile`)."""
    return str(pipeline.reconcile())


@task(expires=60)
def consume_ingest() -> dict[str, int] | None:
    """Periodic: drain a few batches of ``INGEST_QUEUE_URL``. Idempotent; a no-op when unset."""
    queue_url = settings.INGEST_QUEUE_URL
    if not queue_url:
        return None
    return ingest_queue.consume_queue(queue_url)


@task(expires=60)
def consume_job_events() -> dict[str, int] | None:
    """Periodic: drain a few batches of ``JOB_EVENTS_QUEUE_URL``. Idempotent; a no-op when unset."""
    queue_url = settings.JOB_EVENTS_QUEUE_URL
    if not queue_url:
        return None
    return job_events.consume_queue(queue_url)


@task(autoretry_for=(notifications.NotificationError, OperationalError))
def send_event_notifications(*, event_id: int) -> str:
    """E-mail and SNS of one event, each once. Idempotent; retried with backoff."""
    return notifications.send_event(event_id)


class DeliverWebhookTask(PodcastTask):
    """Exhausted retries fail the delivery visibly in the admin's log."""

    def retries_exhausted(self, exc: BaseException, kwargs: dict[str, Any]) -> str:
        webhooks.give_up(kwargs["delivery_id"], str(exc))
        return "gave up"


@task(base=DeliverWebhookTask, autoretry_for=(webhooks.DeliveryFailed,))
def deliver_webhook(*, delivery_id: int) -> str:
    """POST one event to one webhook. Idempotent once delivered; retried with backoff."""
    return webhooks.deliver(delivery_id)


@task(expires=300)
def resend_lost_notifications() -> str:
    """Periodic: queue again e-mails, SNS messages and deliveries a lost message left unsent."""
    events, deliveries = notifications.resend_lost()
    return f"{len(events)} events, {len(deliveries)} deliveries"


class ImportShowTask(PodcastTask):
    """Exhausted retries fail the import visibly on its page, with the last error."""

    def retries_exhausted(self, exc: BaseException, kwargs: dict[str, Any]) -> str:
        shows.give_up(kwargs["run_id"], str(exc))
        return "gave up"


@task(base=ImportShowTask, autoretry_for=(OperationalError,))
def import_show(*, run_id: int) -> str:
    """Run or resume one import started in the admin (``shows.run_feed_import``).

    Idempotent: a redelivery after a worker died resumes the run, skipping
    what was already imported.
    """
    return shows.run_feed_import(run_id)


class TranscribeTask(PodcastTask):
    """Exhausted retries fail the transcript visibly, with the last error."""

    def retries_exhausted(self, exc: BaseException, kwargs: dict[str, Any]) -> str:
        transcription.give_up(kwargs["transcript_id"], str(exc))
        return "gave up"


@task(base=TranscribeTask, autoretry_for=TRANSIENT_TRANSCRIPTION)
def transcribe_episode(*, transcript_id: int) -> str:
    """Make (or follow) one automatic draft transcript. Idempotent."""
    return transcription.transcribe(transcript_id)


@task(expires=60)
def poll_transcriptions() -> dict:
    """Periodic: poll every running transcription job once; transient errors wait for the next."""
    return transcription.poll_transcriptions()


@task(expires=300)
def reconcile_transcriptions() -> str:
    """Periodic: queue again draft transcripts a crash or a lost message left pending."""
    return str(transcription.reconcile())


@task(autoretry_for=(OperationalError, *retag.TRANSIENT))
def apply_chapters(*, episode_id: int) -> str:
    """Write the episode's chapters into its MP3 and M4A renditions (new keys). Idempotent."""
    return retag.apply_chapters(episode_id)
