"""Pluggable transcoders, resolved from ``settings.TRANSCODER`` at call time.

``TRANSCODER = {"BACKEND": "<dotted path>", "OPTIONS": {...}}``, the way Django
resolves ``EMAIL_BACKEND``: looking it up on every call lets
``override_settings`` switch backends in tests.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from episodes.transcoders.base import (
    JobState,
    JobStatus,
    RenditionOutput,
    TranscodeError,
    Transcoder,
    TranscodeRequest,
    TransientTranscoderError,
)

__all__ = [
    "JobState",
    "JobStatus",
    "RenditionOutput",
    "TranscodeError",
    "TranscodeRequest",
    "Transcoder",
    "TransientTranscoderError",
    "get_transcoder",
]


def get_transcoder() -> Transcoder:
    """A new instance of the configured backend.

    Raises ``ImproperlyConfigured`` if the backend cannot be imported, is not
    a :class:`Transcoder`, or is given an option it does not know.
    """
    config = settings.TRANSCODER
    path = config.get("BACKEND") or "episodes.transcoders.ffmpeg.FFmpegTranscoder"
    options = dict(config.get("OPTIONS") or {})
    try:
        klass = import_string(path)
    except ImportError as exc:
        raise ImproperlyConfigured(
            f"TRANSCODER BACKEND {path!r} cannot be imported: {exc}"
        ) from exc
    if not (isinstance(klass, type) and issubclass(klass, Transcoder)):
        raise ImproperlyConfigured(f"TRANSCODER BACKEND {path!r} is not a Transcoder.")
    unknown = sorted(set(options) - set(klass.options))
    if unknown:
        raise ImproperlyConfigured(
            f"Unknown TRANSCODER OPTIONS for {path}: {', '.join(unknown)} "
            f"(accepted: {', '.join(sorted(klass.options)) or 'none'})."
        )
    return klass(**options)
