"""The transcoder interface every backend implements: submit a job, read its status.

A backend turns one probed source into one file per preset, written to
*staging* keys in the ``media`` storage; the pipeline moves complete sets
into place (:mod:`episodes.pipeline`). Backends never touch the database.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from episodes.presets import Preset
from podcasthost.storage import get_storage

if TYPE_CHECKING:  # episodes.probe raises TransientTranscoderError: no import cycle
    from episodes.probe import ProbeResult


class JobState(enum.StrEnum):
    SUBMITTED = "SUBMITTED"
    PROGRESSING = "PROGRESSING"
    COMPLETE = "COMPLETE"
    ERROR = "ERROR"
    CANCELED = "CANCELED"
    #: The backend knows no such job any more (e.g. the worker running it died).
    LOST = "LOST"

    @property
    def running(self) -> bool:
        return self in (JobState.SUBMITTED, JobState.PROGRESSING)


class TranscodeError(Exception):
    """A permanent failure; ``str(exc)`` becomes the episode's error message."""


class TransientTranscoderError(Exception):
    """Throttling, a network fault or a 5xx: the same call may succeed later."""


@dataclass(frozen=True)
class RenditionOutput:
    """One file a job produced, at ``key`` in the ``media`` storage."""

    preset: str
    key: str
    duration_seconds: float | None = None
    bitrate: int | None = None


@dataclass(frozen=True)
class JobStatus:
    state: JobState
    percent: int = 0
    error: str = ""
    outputs: tuple[RenditionOutput, ...] = ()
    #: ``(preset, reason)`` of each preset the backend left out of the job
    #: because it cannot produce it; the episode is ready without them.
    skipped: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class TranscodeRequest:
    """Everything a backend needs to encode one processing attempt of an episode."""

    episode_id: int
    attempt: int
    podcast_slug: str
    episode_guid: str
    source_key: str  # in the ``uploads`` storage
    probe: ProbeResult
    presets: tuple[Preset, ...]
    loudness_target_lufs: float
    true_peak_dbtp: float
    #: A local copy of the source, if the pipeline already has one (probing made it).
    source_path: Path | None = field(default=None, compare=False)

    @property
    def channels(self) -> int:
        """Output channels follow the source (mono stays mono), at most 2."""
        return max(1, min(2, self.probe.channels))

    @property
    def staging_prefix(self) -> str:
        """Where this attempt's files go before they replace the published set."""
        return f"{self.podcast_slug}/{self.episode_guid}/.staging/{self.attempt}/"

    @property
    def gain_db(self) -> float:
        """Gain that brings the measured integrated loudness to the target."""
        return self.loudness_target_lufs - self.probe.loudness_lufs


ProgressCallback = Callable[[int], None]


class Transcoder:
    """Base class: a backend named by ``settings.TRANSCODER["BACKEND"]``.

    ``OPTIONS`` from the setting are passed as keyword arguments; the names a
    backend accepts are listed in :attr:`options` and anything else is
    rejected by :func:`episodes.transcoders.get_transcoder`.
    """

    options: frozenset[str] = frozenset()

    def __init__(self, **options) -> None:
        self.config = options

    def submit(
        self, request: TranscodeRequest, *, on_progress: ProgressCallback | None = None
    ) -> str:
        """Start (or, for an in-process backend, run) the job; return its id.

        Idempotent per (episode, attempt) where the backend allows it. Raises
        :class:`TranscodeError` (permanent) or :class:`TransientTranscoderError`.
        """
        raise NotImplementedError

    def status(self, job_id: str) -> JobStatus:
        """The job's state, percent, error and, once COMPLETE, its outputs.

        Raises :class:`TransientTranscoderError` when the backend cannot be reached.
        """
        raise NotImplementedError

    def cleanup(self, *, now: datetime) -> list[Path]:
        """Remove local leftovers of runs that died (reconcile calls it); none by default."""
        return []

    def discard(self, job_id: str, status: JobStatus) -> None:
        """Delete a finished job's staging files once the pipeline has published them."""

        for output in status.outputs:
            get_storage("media").delete_quietly(output.key)
