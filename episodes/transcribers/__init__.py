"""Pluggable transcribers, resolved from ``settings.TRANSCRIBER`` at call time.

``TRANSCRIBER = {"BACKEND": "<dotted path>", "OPTIONS": {...}}`` (the backend
from ``TRANSCRIBER_BACKEND``), resolved like ``TRANSCODER``: on every call, so
``override_settings`` switches backends in tests.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from episodes.transcribers.base import (
    JobState,
    Transcriber,
    TranscribeRequest,
    TranscriptionError,
    TranscriptionStatus,
    TransientTranscriberError,
)

DEFAULT_BACKEND = "episodes.transcribers.pocketsphinx.PocketSphinxTranscriber"

__all__ = [
    "DEFAULT_BACKEND",
    "JobState",
    "TranscribeRequest",
    "Transcriber",
    "TranscriptionError",
    "TranscriptionStatus",
    "TransientTranscriberError",
    "get_transcriber",
]


def get_transcriber() -> Transcriber:
    """A new instance of the configured backend.

    Raises ``ImproperlyConfigured`` if the backend cannot be imported, is not
    a :class:`Transcriber`, or is given an option it does not know.
    """
    config = settings.TRANSCRIBER
    path = config.get("BACKEND") or DEFAULT_BACKEND
    options = dict(config.get("OPTIONS") or {})
    try:
        klass = import_string(path)
    except ImportError as exc:
        raise ImproperlyConfigured(
            f"TRANSCRIBER_BACKEND {path!r} cannot be imported: {exc}"
        ) from exc
    if not (isinstance(klass, type) and issubclass(klass, Transcriber)):
        raise ImproperlyConfigured(f"TRANSCRIBER_BACKEND {path!r} is not a Transcriber.")
    unknown = sorted(set(options) - set(klass.options))
    if unknown:
        raise ImproperlyConfigured(
            f"Unknown TRANSCRIBER OPTIONS for {path}: {', '.join(unknown)} "
            f"(accepted: {', '.join(sorted(klass.options)) or 'none'})."
        )
    return klass(**options)
