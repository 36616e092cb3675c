"""The transcriber interface every backend implements: submit a job, read its status.

Mirrors :mod:`episodes.transcoders.base`: a backend turns one episode's source
audio (in the ``uploads`` storage) into timed cues
(:class:`episodes.transcripts.cues.Cue`). An in-process backend runs the
job inside :meth:`Transcriber.submit`; a service backend starts it there and
:meth:`Transcriber.status` follows it. Backends never touch the database:
:mod:`episodes.transcription` records what they report.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from episodes.transcoders.base import JobState
from episodes.transcripts.cues import Cue

__all__ = [
    "JobState",
    "ProgressCallback",
    "TranscribeRequest",
    "Transcriber",
    "TranscriptionError",
    "TranscriptionStatus",
    "TransientTranscriberError",
    "result_key_for",
]


class TranscriptionError(Exception):
    """A permanent failure; ``str(exc)`` becomes the transcript's error message."""


class TransientTranscriberError(Exception):
    """Throttling, a network fault or a 5xx: the same call may succeed later."""


def result_key_for(job_name: str) -> str:
    """Where a run's result is kept in the ``uploads`` storage: derived from its name alone,
    so ``status(job_id)`` finds it."""
    return f"transcripts/{job_name}.json"


@dataclass(frozen=True)
class TranscribeRequest:
    """One transcription run of one episode's audio in one language."""

    transcript_id: int
    episode_id: int
    #: The transcript's run counter (``Transcript.attempt``): one job name per run.
    attempt: int
    language: str
    source_key: str  # in the ``uploads`` storage
    duration_seconds: float | None = None
    #: A local copy of the source, if the caller already has one.
    source_path: Path | None = field(default=None, compare=False)

    @property
    def job_name(self) -> str:
        """Same episode, transcript and run, same name: a redelivery cannot start a second job."""
        return (
            f"podcasthost-episode-{self.episode_id}-transcript-{self.transcript_id}"
            f"-attempt-{self.attempt}"
        )

    @property
    def result_key(self) -> str:
        """Where the run's result is written in the ``uploads`` storage (private, not served)."""
        return result_key_for(self.job_name)


@dataclass(frozen=True)
class TranscriptionStatus:
    state: JobState
    percent: int = 0
    error: str = ""
    #: Once COMPLETE: the cues, in time order.
    cues: tuple[Cue, ...] = ()


ProgressCallback = Callable[[int], None]


class Transcriber:
    """Base class: a backend named by ``settings.TRANSCRIBER["BACKEND"]``.

    ``OPTIONS`` from the setting are passed as keyword arguments; the names a
    backend accepts are listed in :attr:`options` and anything else is
    rejected by :func:`episodes.transcribers.get_transcriber`.
    """

    options: frozenset[str] = frozenset()

    def __init__(self, **options) -> None:
        self.config = options

    def unsupported_language(self, language: str) -> str | None:
        """Why ``language`` (a BCP 47 tag) cannot be transcribed, or ``None`` if it can."""
        return None

    def submit(
        self, request: TranscribeRequest, *, on_progress: ProgressCallback | None = None
    ) -> str:
        """Start (or, in process, run) the job; return its id.

        Idempotent per :attr:`TranscribeRequest.job_name`. Raises
        :class:`TranscriptionError` (permanent) or :class:`TransientTranscriberError`.
        """
        raise NotImplementedError

    def status(self, job_id: str) -> TranscriptionStatus:
        """The job's state and, once COMPLETE, its cues.

        Raises :class:`TransientTranscriberError` when the backend cannot be
        reached, :class:`TranscriptionError` when a finished job's output is unreadable.
        """
        raise NotImplementedError

    def discard(self, job_id: str) -> None:
        """Delete what a recorded job left in storage; nothing by default."""
