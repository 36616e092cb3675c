"""The processing use-cases: probe, claim, submit, poll, finish, fail, reconcile, retranscode.

Idempotency comes from the database, not from the transcoder: every step
re-reads the episode and acts only if it is still in the state (and the
processing *attempt*) the step expects; status changes are the model's
compare-and-swap transitions. Slow I/O (ffmpeg, S3, MediaConvert) runs
outside database transactions.

Renditions are replaced atomically for listeners: a job writes to staging
keys; only once the whole new set exists are the files copied over the
published keys (each replacement is atomic: POSIX rename / S3 PUT-copy, and a
download already in flight keeps the file it started on), and the Rendition
rows are swapped in one transaction with ``processing → ready``. Until then
the feed keeps serving the old set.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.db import DatabaseError, transaction
from django.db.models import Q
from django.utils import timezone

from episodes.integrity import sri_sha384
from episodes.models import Episode, Rendition
from episodes.presets import PRESETS, get_preset
from episodes.probe import ProbeError, ProbeResult, probe
from episodes.signals import processing_requested
from episodes.transcoders import (
    JobState,
    JobStatus,
    TranscodeError,
    Transcoder,
    TranscodeRequest,
    TransientTranscoderError,
    get_transcoder,
)
from podcasthost.storage import get_storage

log = logging.getLogger(__name__)

Status = Episode.Status


def stall_seconds() -> float:
    """``TRANSCODE_STALL_SECONDS``: no progress for this long means the run died."""
    return float(settings.TRANSCODE_STALL_SECONDS)


def deadline_seconds() -> float:
    """``TRANSCODE_DEADLINE_SECONDS``: a job still running this long after submission fails."""
    return float(settings.TRANSCODE_DEADLINE_SECONDS)


def _current(episode_id: int, attempt: int, job_id: str | None = None) -> Episode | None:
    """The episode if it is still processing ``attempt`` (and ``job_id``), locked for update."""
    q = Episode.objects.select_for_update().filter(
        pk=episode_id, status=Status.PROCESSING, attempt=attempt
    )
    if job_id is not None:
        q = q.filter(transcode_job_id=job_id)
    return q.first()


def fail(episode_id: int, attempt: int, message: str, *, now: datetime | None = None) -> bool:
    """processing (this attempt) → failed with ``message``; ``False`` if the run is stale."""
    with transaction.atomic():
        episode = _current(episode_id, attempt)
        return bool(episode and episode.mark_failed(message, now=now))


def give_up(
    episode_id: int, attempt: int | None, reason: str, *, now: datetime | None = None
) -> bool:
    """A transient error outlived every retry: fail the episode, visibly, with ``reason``.

    ``attempt`` is the claimed run (``processing``), or ``None`` for an episode
    still ``uploaded``. Without this, reconcile would re-run it forever while
    the creator sees nothing but "Processing". ``False`` if the run is stale.
    """
    message = f"Processing kept failing on a temporary error: {reason}. Use “Retry processing”."
    if attempt is not None:
        return fail(episode_id, attempt, message, now=now)
    episode = Episode.objects.filter(pk=episode_id, status=Status.UPLOADED).first()
    return bool(episode and episode.mark_failed(message, now=now))


def requeue(episode_id: int, attempt: int, *, now: datetime | None = None) -> bool:
    """processing (this attempt) → uploaded, so the pipeline runs it again from the start.

    Used when a run died (worker killed, job lost). The ``uploaded`` receiver enqueues
    :func:`process_episode` after commit. ``False`` if the run is stale.
    """
    with transaction.atomic():
        episode = _current(episode_id, attempt)
        return bool(episode and episode.requeue(now=now))


def _probe_facts(result: ProbeResult) -> dict:
    return {
        "duration_seconds": result.duration_seconds,
        "container": result.container,
        "codec": result.codec,
        "sample_rate": result.sample_rate,
        "channels": result.channels,
        "loudness_lufs": result.loudness_lufs,
    }


def process_episode(
    episode_id: int,
    *,
    attempt: int | None = None,
    transcoder: Transcoder | None = None,
    now: datetime | None = None,
) -> str:
    """Probe → claim → submit → record the job id, then poll once. Returns what it did.

    Acts on an ``uploaded`` episode, or on a ``processing`` one whose claimed
    ``attempt`` has no job yet (a re-transcode, or a retry after a transient
    error). Anything else is a duplicate delivery and is ignored. A file that
    is not decodable audio moves the episode to ``failed``. Raises
    :class:`TransientTranscoderError` (with ``.attempt`` set) for the caller to retry.
    """
    episode = Episode.objects.select_related("podcast").filter(pk=episode_id).first()
    if episode is None:
        return "gone"
    claimed = (
        episode.status == Status.PROCESSING
        and attempt is not None
        and episode.attempt == attempt
        and not episode.transcode_job_id
    )
    if episode.status != Status.UPLOADED and not claimed:
        return f"skipped ({episode.status})"
    if not episode.source_key:
        episode.mark_failed("No audio file was uploaded for this episode.", now=now)
        return "failed"
    uploads = get_storage("uploads")
    suffix = Path(episode.source_key).suffix
    with contextlib.ExitStack() as stack:
        try:
            source = stack.enter_context(uploads.local_copy(episode.source_key, suffix=suffix))
        except (OSError, BotoCoreError, ClientError) as exc:
            if not _is_missing(exc):
                # A network hiccup, throttling or a full temp disk: not the
                # creator's fault and not final. Retry the task.
                error = TransientTranscoderError(f"Reading the source failed: {exc}")
                error.attempt = episode.attempt if claimed else None
                raise error from exc
            log.warning("episode %s: source %s is missing: %s", episode_id, episode.source_key, exc)
            _reject(episode, claimed, "The uploaded file could not be found; upload it again.", now)
            return "failed"
        return _probe_claim_submit(episode, source, claimed, transcoder, now)


def _is_missing(exc: Exception) -> bool:
    """Whether a storage error says the object does not exist (as opposed to a transient fault)."""
    if isinstance(exc, FileNotFoundError):
        return True
    if isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code", "")
        return code in ("404", "NoSuchKey", "NotFound")
    return False


def _reject(episode: Episode, claimed: bool, message: str, now) -> bool:
    """Fail the run this worker looked at, and only that one.

    Unclaimed, the episode must still hold the source this worker read: new
    audio uploaded meanwhile (``uploaded → uploaded``) is not failed for the
    old file's faults; its own delivery processes it.
    """
    if claimed:
        return fail(episode.pk, episode.attempt, message, now=now)
    return episode.mark_failed(message, now=now, expect={"source_key": episode.source_key})


def _probe_claim_submit(
    episode: Episode, source: Path, claimed: bool, transcoder: Transcoder | None, now
) -> str:
    try:
        result = probe(source)
    except ProbeError as exc:
        _reject(episode, claimed, str(exc), now)
        return "rejected"
    # The claim also checks the source this worker probed: new audio uploaded
    # during the probe makes this run lose, and the newer delivery does the work.
    if not claimed and not episode.start_processing(
        now=now, expect={"source_key": episode.source_key}
    ):
        return "lost the claim"
    attempt = episode.attempt
    try:
        return _submit(episode, attempt, result, source, transcoder, now)
    except DatabaseError as exc:
        # Keep the claimed attempt: the retry must resume this run, not skip it.
        exc.attempt = attempt
        raise


def _submit(
    episode: Episode,
    attempt: int,
    result: ProbeResult,
    source: Path,
    transcoder: Transcoder | None,
    now: datetime | None,
) -> str:
    """Record the probe, submit the job and record its id (this attempt only)."""
    episode.record_probe(attempt=attempt, **_probe_facts(result))
    request = TranscodeRequest(
        episode_id=episode.pk,
        attempt=attempt,
        podcast_slug=episode.podcast.slug,
        episode_guid=episode.storage_id,
        source_key=episode.source_key,
        probe=result,
        presets=PRESETS,
        loudness_target_lufs=settings.LOUDNESS_TARGET_LUFS,
        true_peak_dbtp=settings.TRUE_PEAK_DBTP,
        source_path=source,
    )
    transcoder = transcoder or get_transcoder()

    def on_progress(percent: int) -> None:
        try:
            # Below 100 while running: only finish() marks the episode done.
            episode.record_progress(min(99, percent), attempt=attempt, now=timezone.now())
        except DatabaseError as exc:  # a busy database must not abort the encode
            log.warning("episode %s: progress not recorded: %s", episode.pk, exc)

    try:
        job_id = transcoder.submit(request, on_progress=on_progress)
    except TranscodeError as exc:
        fail(episode.pk, attempt, str(exc), now=now)
        return "failed"
    except TransientTranscoderError as exc:
        exc.attempt = attempt
        raise
    except Exception as exc:
        # Not the creator's fault, but re-running it blindly could loop forever:
        # fail with the reason; "Retry processing" starts again.
        log.exception("episode %s: transcoding crashed", episode.pk)
        fail(
            episode.pk,
            attempt,
            f"Processing failed unexpectedly ({type(exc).__name__}: {exc}). "
            "Use “Retry processing” to try again.",
            now=now,
        )
        return "failed"
    if not episode.record_job(job_id, attempt=attempt, now=now or timezone.now()):
        return "stale run"
    return "submitted; " + poll_episode(episode.pk, transcoder=transcoder)


def poll_episode(
    episode_id: int, *, transcoder: Transcoder | None = None, now: datetime | None = None
) -> str:
    """Ask the transcoder about a processing episode's job and act on the answer.

    Running: record progress (or fail past ``TRANSCODE_DEADLINE_SECONDS``).
    COMPLETE: :func:`finish`. ERROR/CANCELED: ``failed`` with the backend's
    reason. LOST: :func:`requeue`. Idempotent. Raises
    :class:`TransientTranscoderError` when the backend cannot be reached.
    """
    episode = Episode.objects.filter(pk=episode_id).first()
    if episode is None or episode.status != Status.PROCESSING or not episode.transcode_job_id:
        return "not polling"
    now = now or timezone.now()
    transcoder = transcoder or get_transcoder()
    job_id, attempt = episode.transcode_job_id, episode.attempt
    try:
        status = transcoder.status(job_id)
    except TranscodeError as exc:
        # The backend refuses to report on this job (e.g. access denied, or a
        # job id of another backend after a switch): it will never finish.
        fail(episode.pk, attempt, f"The transcoding job cannot be followed: {exc}", now=now)
        return "failed"
    if status.state.running:
        submitted = episode.submitted_at or now
        if now - submitted > timedelta(seconds=deadline_seconds()):
            fail(episode.pk, attempt, "Transcoding took too long and was abandoned.", now=now)
            return "deadline"
        episode.record_progress(min(99, status.percent), attempt=attempt, job_id=job_id, now=now)
        return f"running {status.percent}%"
    if status.state is JobState.COMPLETE:
        return finish(episode.pk, attempt, job_id, status, transcoder=transcoder, now=now)
    if status.state is JobState.LOST:
        requeue(episode.pk, attempt, now=now)
        return "requeued"
    fail(episode.pk, attempt, status.error or f"Transcoding {status.state.lower()}.", now=now)
    return "failed"


def finish(
    episode_id: int,
    attempt: int,
    job_id: str,
    status: JobStatus,
    *,
    transcoder: Transcoder | None = None,
    now: datetime | None = None,
) -> str:
    """Publish a complete job: copy its files over the published keys, swap the rows, ready.

    Only presets the job really produced get a Rendition; the others are named,
    with the backend's reason, in ``Episode.missing_renditions``. Idempotent: a
    second caller finds the run no longer processing and does nothing. Fails
    the episode if the primary preset (the MP3 enclosure) is missing.
    """
    episode = Episode.objects.select_related("podcast").get(pk=episode_id)
    if (episode.status, episode.attempt, episode.transcode_job_id) != (
        Status.PROCESSING,
        attempt,
        job_id,
    ):
        # Superseded (new audio uploaded, or finished by another poller): never
        # copy a stale run's files over the published ones; drop them.
        if episode.transcode_job_id != job_id:
            (transcoder or get_transcoder()).discard(job_id, status)
        return "stale run"
    media = get_storage("media")
    produced = []
    try:
        for output in status.outputs:
            try:
                preset = get_preset(output.preset)
            except KeyError:
                # Presets changed since the job was submitted: keep what we know.
                log.warning("episode %s: output of unknown preset %s", episode_id, output.preset)
                continue
            key = preset.key_for(episode.podcast.slug, episode.storage_id, attempt)
            media.replace_with_copy(output.key, key, content_type=preset.mime_type)
            size = media.size(key)
            if size > 0:
                # Hashed here, outside the transaction below: it reads the whole file.
                produced.append((preset, key, size, output, sri_sha384(media, key)))
    except FileNotFoundError:
        # Another poller finished (and cleaned up) this job first.
        episode.refresh_from_db()
        if episode.status != Status.PROCESSING or episode.transcode_job_id != job_id:
            return "already finished"
        fail(episode_id, attempt, "The transcoder reported files that do not exist.", now=now)
        return "failed"
    missing = _missing_renditions(produced, status)
    if not any(preset.primary for preset, *_ in produced):
        reason = next((why for name, why in missing if get_preset(name).primary), "")
        fail(
            episode_id,
            attempt,
            "The transcoder produced no MP3 rendition" + (f": {reason}" if reason else "."),
            now=now,
        )
        return "failed"
    with transaction.atomic():
        locked = _current(episode_id, attempt, job_id)
        if locked is None:
            return "stale run"
        locked.record_missing_renditions(
            "\n".join(f"{name} ({why})" for name, why in missing), attempt=attempt, job_id=job_id
        )
        Rendition.objects.filter(episode_id=episode_id).delete()
        Rendition.objects.bulk_create(
            Rendition(
                episode_id=episode_id,
                preset=preset.name,
                key=key,
                mime_type=preset.mime_type,
                size_bytes=size,
                bitrate=output.bitrate or preset.bitrate,
                duration_seconds=output.duration_seconds or locked.duration_seconds,
                integrity=integrity,
            )
            for preset, key, size, output, integrity in produced
        )
        if not locked.mark_ready(now=now):
            transaction.set_rollback(True)
            return "stale run"
    (transcoder or get_transcoder()).discard(job_id, status)
    return "ready"


def _missing_renditions(produced: list, status: JobStatus) -> list[tuple[str, str]]:
    """``(preset, reason)`` of each preset in :data:`PRESETS` the job did not produce."""
    made = {preset.name for preset, *_ in produced}
    reasons = dict(status.skipped)
    return [
        (p.name, reasons.get(p.name, "the transcoder produced no file for it"))
        for p in PRESETS
        if p.name not in made
    ]


def poll_transcodes(*, transcoder: Transcoder | None = None, now: datetime | None = None) -> dict:
    """One pass over every processing episode with a job: poll each. Returns outcome counts.

    A transient error on one episode is logged and skipped; the next pass retries it.
    """
    outcomes: dict[str, int] = {}
    transcoder = transcoder or get_transcoder()
    ids = Episode.objects.filter(status=Status.PROCESSING).exclude(transcode_job_id="")
    # Oldest first, and the same order on every database.
    for episode_id in ids.order_by("pk").values_list("pk", flat=True):
        try:
            outcome = poll_episode(episode_id, transcoder=transcoder, now=now)
        except TransientTranscoderError as exc:
            log.warning("episode %s: poll failed, will retry: %s", episode_id, exc)
            outcome = "transient error"
        except Exception:
            # One bad episode must not stop the pass for every other one.
            log.exception("episode %s: poll failed", episode_id)
            outcome = "error"
        key = outcome.split(" ")[0]
        outcomes[key] = outcomes.get(key, 0) + 1
    return outcomes


@dataclass
class ReconcileReport:
    submitted: list[int] = field(default_factory=list)  # uploaded, never picked up
    requeued: list[int] = field(default_factory=list)  # processing, the run died
    polled: dict[int, str] = field(default_factory=dict)  # processing with a job, re-polled

    def __str__(self) -> str:
        return (
            f"submitted {len(self.submitted)} stuck upload(s), "
            f"re-ran {len(self.requeued)} dead run(s), re-polled {len(self.polled)} job(s)"
        )


def reconcile(
    *,
    now: datetime | None = None,
    stalled_after_seconds: float | None = None,
    transcoder: Transcoder | None = None,
    enqueue: Callable[[int], None] | None = None,
) -> ReconcileReport:
    """Repair work a crash left behind; safe to run at any time and concurrently.

    * ``uploaded`` for longer than the stall time: enqueue processing again.
    * ``processing`` with no job id and no progress for the stall time (a
      claim or an in-worker encode that died): back to ``uploaded`` (re-run).
    * ``processing`` with a job and no progress for the stall time: poll it now.

    ``enqueue(episode_id)`` queues the processing of a stuck upload; by default
    it sends :data:`~episodes.signals.processing_requested`, whose receiver
    enqueues the task after commit.
    """
    now = now or timezone.now()
    if stalled_after_seconds is None:
        stalled_after_seconds = stall_seconds()
    stalled = now - timedelta(seconds=stalled_after_seconds)
    if enqueue is None:

        def enqueue(episode_id: int) -> None:
            processing_requested.send(sender=Episode, episode_id=episode_id)

    report = ReconcileReport()
    for episode in Episode.objects.filter(status=Status.UPLOADED, updated_at__lte=stalled):
        # Touch it first: an episode waiting behind long encodes is enqueued
        # once per stall period, not once more on every pass.
        if episode.touch_if_unchanged(now=now):
            enqueue(episode.pk)
            report.submitted.append(episode.pk)
    dead = Episode.objects.filter(status=Status.PROCESSING, transcode_job_id="").filter(
        Q(progress_at__lte=stalled) | Q(progress_at__isnull=True)
    )
    for episode_id, attempt in dead.values_list("pk", "attempt"):
        if requeue(episode_id, attempt, now=now):
            report.requeued.append(episode_id)
    quiet = (
        Episode.objects.filter(status=Status.PROCESSING, progress_at__lte=stalled)
        .exclude(transcode_job_id="")
        .values_list("pk", flat=True)
    )
    for episode_id in quiet:
        try:
            report.polled[episode_id] = poll_episode(episode_id, transcoder=transcoder, now=now)
        except TransientTranscoderError as exc:
            report.polled[episode_id] = f"transient error: {exc}"
        except Exception as exc:
            log.exception("episode %s: poll failed", episode_id)
            report.polled[episode_id] = f"error: {exc}"
    (transcoder or get_transcoder()).cleanup(now=now)  # scratch space of dead runs
    return report


def retranscode(episode: Episode, *, now: datetime | None = None) -> bool:
    """Process an episode again (e.g. after the presets changed). ``True`` if started.

    ``ready`` → ``processing`` keeps the old renditions in the feed until the new
    set is ready; ``failed`` → ``uploaded`` (a retry). An episode already in
    the pipeline, or never uploaded, is left alone.
    """
    if episode.status == Status.FAILED:
        return episode.retry(now=now)
    if episode.status != Status.READY:
        return False
    # The receiver on episode_transitioned enqueues the claimed attempt.
    return episode.start_processing(now=now)


def retry_processing(episode: Episode, *, now: datetime | None = None) -> bool:
    """The admin's "Retry processing": failed → uploaded (the receiver enqueues the work)."""
    if episode.status != Status.FAILED:
        return False
    return episode.retry(now=now)
