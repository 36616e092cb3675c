"""Write an episode's chapters into its renditions: tag copies, then swap the rows.

:func:`apply_chapters` runs in a Celery task (``episodes.tasks.apply_chapters``)
after the chapters change on a ready episode and after each transcode of an
episode that has chapters. It is idempotent: each tagged file's key is
derived from the untagged one and what was written
(:func:`episodes.chapters.files.tagged_key`), so a rendition that already
carries these chapters is left alone, and a redelivery finds the file written
and only swaps the rows. Slow I/O (downloads, ffmpeg, uploads) runs outside
any transaction; the swap is a compare-and-swap: it happens only if the
episode is still ``ready`` on the same processing ``attempt``, with the same
renditions and the same chapters as when the work started. Otherwise the new
file is left unused (old files are never deleted, as with transcodes) and the
run that changed things has queued its own.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from botocore.exceptions import BotoCoreError, ClientError
from django.db import transaction
from django.utils import timezone

from episodes.chapters.entries import ChapterEntry, within
from episodes.chapters.files import Writer, base_key_of, tagged_key, writer_for
from episodes.integrity import sri_sha384
from episodes.models import Chapter, Episode, Rendition
from episodes.presets import get_preset
from episodes.probe import ffmpeg_binary
from podcasthost.storage import get_storage

log = logging.getLogger(__name__)

#: Storage faults worth a retry: the network, throttling (not a missing file).
TRANSIENT: tuple[type[BaseException], ...] = (
    BotoCoreError,
    ClientError,
    ConnectionError,
    TimeoutError,
)


@dataclass(frozen=True)
class _Plan:
    rendition: Rendition
    writer: Writer
    base_key: str
    target_key: str
    chapters: list[ChapterEntry]
    duration_seconds: float


def chapter_entries(episode_id: int) -> list[ChapterEntry]:
    """The episode's chapters in time order, as the writers take them."""
    return [c.as_entry() for c in Chapter.objects.of(episode_id)]


def _plans(episode: Episode, renditions: list[Rendition], entries, binary: str) -> list[_Plan]:
    plans = []
    for rendition in renditions:
        try:
            container = get_preset(rendition.preset).container
        except KeyError:
            continue  # a preset of an older deploy: leave its file as it is
        writer = writer_for(container, binary)
        duration = rendition.duration_seconds or episode.duration_seconds
        if writer is None or not duration:
            continue
        chosen = within(entries, duration)
        base = base_key_of(rendition.key)
        target = tagged_key(base, chosen, duration) if chosen else base
        if target != rendition.key:
            plans.append(_Plan(rendition, writer, base, target, chosen, duration))
    return plans


def apply_chapters(episode_id: int, *, binary: str | None = None) -> str:
    """Make the episode's MP3 and M4A renditions carry its current chapters. Returns what it did.

    Only a ``ready`` episode is tagged (a transcode's end queues this again).
    No chapters left: the renditions go back to the untagged files. Raises
    ``FileNotFoundError`` when an untagged file is gone from the media storage,
    :class:`~episodes.chapters.files.ChapterWriteError` when ffmpeg refuses a
    file, and the storage's errors (retried by the task) on a network fault.
    """
    episode = Episode.objects.filter(pk=episode_id).first()
    if episode is None:
        return "gone"
    if episode.status != Episode.Status.READY:
        return f"skipped ({episode.status})"
    attempt = episode.attempt
    entries = chapter_entries(episode_id)
    renditions = list(Rendition.objects.filter(episode_id=episode_id).order_by("pk"))
    plans = _plans(episode, renditions, entries, binary or ffmpeg_binary())
    if not plans:
        return "up to date"
    media = get_storage("media")
    written: list[tuple[_Plan, int, str]] = []
    with media.scratch_dir() as tmp:
        for n, plan in enumerate(plans):
            if plan.target_key != plan.base_key and not media.exists(plan.target_key):
                ext = Path(plan.base_key).suffix
                out = Path(tmp) / f"tagged-{n}{ext}"
                with media.local_copy(plan.base_key, suffix=ext) as source:
                    plan.writer(Path(source), out, plan.chapters, plan.duration_seconds)
                media.put_file(out, plan.target_key, content_type=plan.rendition.mime_type)
            # Measured in storage: the enclosure length and podcast:integrity must be
            # the file's; hashed here, outside the swap's transaction.
            written.append((plan, media.size(plan.target_key), sri_sha384(media, plan.target_key)))
    outcome = _swap(episode_id, attempt, entries, renditions, written)
    # A stale run leaves its new files unused; the newer work queued its own run.
    log.info("episode %s: chapters: %s", episode_id, outcome)
    return outcome


def _swap(
    episode_id: int,
    attempt: int,
    entries: list[ChapterEntry],
    renditions: list[Rendition],
    written: list[tuple[_Plan, int, str]],
) -> str:
    with transaction.atomic():
        locked = (
            Episode.objects.select_for_update()
            .filter(pk=episode_id, status=Episode.Status.READY, attempt=attempt)
            .first()
        )
        if locked is None:
            return "stale run (re-processed meanwhile)"
        if chapter_entries(episode_id) != entries:
            return "stale run (chapters changed meanwhile)"
        current = set(Rendition.objects.filter(episode_id=episode_id).values_list("pk", flat=True))
        if current != {r.pk for r in renditions}:
            return "stale run (renditions changed meanwhile)"
        for plan, size, integrity in written:
            plan.rendition.delete()
            record_tagged_rendition(
                plan.rendition, key=plan.target_key, size_bytes=size, integrity=integrity
            )
        # The renditions' new keys are the item's new revision (a new highest pk), and the
        # site's pages show the files: move the episode's version too.
        Episode.objects.filter(pk=episode_id).update(updated_at=timezone.now())
    return f"tagged {len(written)} rendition(s)"


def record_tagged_rendition(
    old: Rendition, *, key: str, size_bytes: int, integrity: str
) -> Rendition:
    """The one place a re-tagged file is recorded: ``old``'s facts with its new key, size
    and SRI hash (:func:`episodes.integrity.sri_sha384`).

    The audio is the same (copied, not re-encoded): bitrate and duration carry over.
    """
    return Rendition.objects.create(
        episode_id=old.episode_id,
        preset=old.preset,
        key=key,
        mime_type=old.mime_type,
        size_bytes=size_bytes,
        integrity=integrity,
        bitrate=old.bitrate,
        duration_seconds=old.duration_seconds,
    )
