"""Automatic draft transcripts: request, claim → submit → record the job, poll, reconcile.

Mirrors :mod:`episodes.pipeline` for transcripts. When an episode becomes
ready and its show makes draft transcripts (``Podcast.auto_transcribe``), a
``pending`` automatic :class:`~episodes.models.Transcript` in the show's
language is created and the transcription queued. The transcriber backend
(``TRANSCRIBER_BACKEND``) runs or starts the job; its result becomes a
``draft`` that listeners never see until the creator accepts it, or
``failed`` with the reason.

Idempotency comes from the row: a run is claimed (``Transcript.claim``: a
conditional UPDATE that bumps ``attempt``), its job id is recorded only by
the claim's holder, and the draft is written only for the recorded job. A
retried episode, a redelivered task or two racing workers therefore do the
work once. Slow work (decoding, S3, Transcribe) runs outside transactions.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import DatabaseError, IntegrityError, transaction
from django.utils import timezone

from episodes.models import Episode, Transcript
from episodes.signals import transcription_requested
from episodes.transcribers import (
    JobState,
    Transcriber,
    TranscribeRequest,
    TranscriptionError,
    TransientTranscriberError,
    get_transcriber,
)

log = logging.getLogger(__name__)

Status = Transcript.Status


def stall_seconds() -> float:
    """``TRANSCODE_STALL_SECONDS``: a run that shows no progress for this long has died."""
    return float(settings.TRANSCODE_STALL_SECONDS)


def request_draft(episode: Episode, *, now: datetime | None = None) -> Transcript | None:
    """Queue an automatic draft of ``episode`` in its show's language, if the show wants one.

    Only when ``auto_transcribe`` is on and the episode has no transcript in
    that language yet (an uploaded, draft or published one is never
    replaced); a failed automatic one is tried again. Returns the pending
    transcript, or ``None`` when nothing is to be done. The task is queued
    after the caller's transaction commits.
    """
    podcast = episode.podcast
    if not podcast.auto_transcribe:
        return None
    language = podcast.language
    existing = Transcript.objects.filter(episode=episode, language__iexact=language).first()
    if existing is None:
        try:
            with transaction.atomic():
                transcript = Transcript.objects.create(
                    episode=episode,
                    language=language,
                    origin=Transcript.Origin.AUTOMATIC,
                    status=Status.PENDING,
                )
        except IntegrityError:
            return None  # created meanwhile by another process, which queued it
    elif existing.status == Status.FAILED and existing.origin == Transcript.Origin.AUTOMATIC:
        if not existing.restart(now=now):
            return None
        transcript = existing
    else:
        return None
    transcription_requested.send(sender=Transcript, transcript_id=transcript.pk)
    return transcript


def transcribe(
    transcript_id: int, *, transcriber: Transcriber | None = None, now: datetime | None = None
) -> str:
    """Claim → submit → record the job id → poll once. Returns what it did.

    Acts on a pending transcript: with a job, it polls; without one, it
    claims a run (a live run elsewhere makes this a no-op). Permanent errors
    fail the transcript with their reason. Raises
    :class:`TransientTranscriberError` (the claim released) for the caller to retry.
    """
    transcript = Transcript.objects.select_related("episode").filter(pk=transcript_id).first()
    if transcript is None:
        return "gone"
    if transcript.status != Status.PENDING:
        return f"skipped ({transcript.status})"
    if transcript.job_id:
        return poll(transcript_id, transcriber=transcriber, now=now)
    now = now or timezone.now()
    if not transcript.claim(now=now, stalled_before=now - timedelta(seconds=stall_seconds())):
        return "running elsewhere"
    attempt = transcript.attempt
    episode = transcript.episode
    transcriber = transcriber or get_transcriber()
    reason = transcriber.unsupported_language(transcript.language)
    if reason is None and not episode.source_key:
        reason = "The episode has no audio to transcribe."
    if reason is not None:
        transcript.record_failure(reason, attempt=attempt)
        return "failed"
    request = TranscribeRequest(
        transcript_id=transcript.pk,
        episode_id=episode.pk,
        attempt=attempt,
        language=transcript.language,
        source_key=episode.source_key,
        duration_seconds=episode.duration_seconds,
    )

    def on_progress(percent: int) -> None:
        try:
            transcript.record_progress(percent, attempt=attempt)
        except DatabaseError as exc:  # a busy database must not abort the decoding
            log.warning("transcript %s: progress not recorded: %s", transcript.pk, exc)

    try:
        job_id = transcriber.submit(request, on_progress=on_progress)
    except TranscriptionError as exc:
        transcript.record_failure(str(exc), attempt=attempt)
        return "failed"
    except TransientTranscriberError:
        transcript.release(attempt=attempt)
        raise
    except Exception as exc:
        # Not the creator's fault, but re-running it blindly could loop forever.
        log.exception("transcript %s: transcription crashed", transcript.pk)
        transcript.record_failure(
            f"Transcription failed unexpectedly ({type(exc).__name__}: {exc}).", attempt=attempt
        )
        return "failed"
    if not transcript.record_job(job_id, attempt=attempt):
        # Superseded (the episode deleted, or a newer run): drop this run's output.
        transcriber.discard(job_id)
        return "stale run"
    return "submitted; " + poll(transcript.pk, transcriber=transcriber, now=now)


def poll(
    transcript_id: int, *, transcriber: Transcriber | None = None, now: datetime | None = None
) -> str:
    """Ask the backend about a pending transcript's job and record the answer. Idempotent.

    COMPLETE → ``draft`` with the cues (never published); ERROR → ``failed``
    with the backend's reason; LOST → run again; running → progress. Raises
    :class:`TransientTranscriberError` when the backend cannot be reached.
    """
    transcript = Transcript.objects.filter(pk=transcript_id).first()
    if transcript is None or transcript.status != Status.PENDING or not transcript.job_id:
        return "not polling"
    transcriber = transcriber or get_transcriber()
    job_id, attempt = transcript.job_id, transcript.attempt
    try:
        status = transcriber.status(job_id)
    except TranscriptionError as exc:
        transcript.record_failure(str(exc), attempt=attempt, now=now)
        return "failed"
    if status.state.running:
        transcript.record_progress(status.percent, attempt=attempt, now=now)
        return f"running {status.percent}%"
    if status.state is JobState.LOST:
        if transcript.forget_job(job_id, now=now):
            transcription_requested.send(sender=Transcript, transcript_id=transcript.pk)
        return "requeued"
    if status.state is JobState.COMPLETE:
        if not status.cues:
            transcript.record_failure(
                "No speech was recognised in the episode's audio.", attempt=attempt, now=now
            )
            transcriber.discard(job_id)
            return "failed"
        if not transcript.record_draft(list(status.cues), job_id=job_id, now=now):
            return "stale run"
        transcriber.discard(job_id)
        return "draft"
    transcript.record_failure(
        status.error or f"Transcription {status.state.lower()}.", attempt=attempt, now=now
    )
    return "failed"


def give_up(transcript_id: int, reason: str) -> bool:
    """A transient error outlived every retry: fail the transcript, visibly, with ``reason``."""
    transcript = Transcript.objects.filter(pk=transcript_id).first()
    message = f"Transcription kept failing on a temporary error: {reason}"
    return bool(transcript and transcript.record_failure(message))


def poll_transcriptions(*, transcriber: Transcriber | None = None) -> dict[str, int]:
    """One pass over every pending transcript with a job: poll each. Returns outcome counts."""
    outcomes: dict[str, int] = {}
    pending = Transcript.objects.filter(status=Status.PENDING).exclude(job_id="")
    ids = list(pending.values_list("pk", flat=True))
    if ids and transcriber is None:
        transcriber = get_transcriber()
    for transcript_id in ids:
        try:
            outcome = poll(transcript_id, transcriber=transcriber)
        except TransientTranscriberError as exc:
            log.warning("transcript %s: poll failed, will retry: %s", transcript_id, exc)
            outcome = "transient error"
        except Exception:
            # One bad transcript must not stop the pass for every other one.
            log.exception("transcript %s: poll failed", transcript_id)
            outcome = "error"
        key = outcome.split(" ")[0]
        outcomes[key] = outcomes.get(key, 0) + 1
    return outcomes


@dataclass
class TranscriptReconcileReport:
    requeued: list[int] = field(default_factory=list)

    def __str__(self) -> str:
        return f"re-queued {len(self.requeued)} stuck transcription(s)"


def reconcile(
    *, now: datetime | None = None, stalled_after_seconds: float | None = None
) -> TranscriptReconcileReport:
    """Queue again pending transcripts with no job and no sign of life for the stall time.

    That is a lost queue message or a worker that died mid-run. Safe to run
    concurrently: each one is re-queued by one reconciler per stall period.
    """
    now = now or timezone.now()
    if stalled_after_seconds is None:
        stalled_after_seconds = stall_seconds()
    stalled = now - timedelta(seconds=stalled_after_seconds)
    report = TranscriptReconcileReport()
    stuck = Transcript.objects.filter(status=Status.PENDING, job_id="", updated_at__lte=stalled)
    for transcript in stuck:
        if transcript.abandon_stale_claim(now=now):
            transcription_requested.send(sender=Transcript, transcript_id=transcript.pk)
            report.requeued.append(transcript.pk)
    return report
