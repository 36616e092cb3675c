"""One storage layer: every file operation the app needs, for a folder and for S3.

``STORAGES`` names the backend of each alias (``uploads``, ``media``,
``feeds``), as Django does; ``podcasthost/settings.py`` picks
:class:`podcasthost.storage.filesystem.FileSystemStorage` (a folder under
``VAR_DIR``) or :class:`podcasthost.storage.s3.S3Storage` (a bucket). Both are
the Django storages they subclass plus the operations of
:class:`~podcasthost.storage.base.AppStorage` (presigned POST forms, HEAD,
atomic writes and copies, local copies for ffmpeg, URIs for MediaConvert).
Code outside this package asks the storage, never checks which one it is.

The one-machine stand-in for S3's POST upload endpoint is
:mod:`podcasthost.storage.local_post`.
"""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured
from django.core.files.storage import storages

from podcasthost.storage.base import AppStorage, ObjectHead, PresignedForm, UploadError

__all__ = ["AppStorage", "ObjectHead", "PresignedForm", "UploadError", "get_storage"]


def get_storage(alias: str) -> AppStorage:
    """The ``alias`` storage, looked up at call time (so ``override_settings`` works).

    Raises ``ImproperlyConfigured`` when its backend is not one of this package's.
    """
    storage = storages[alias]
    if not isinstance(storage, AppStorage):
        raise ImproperlyConfigured(
            f"STORAGES[{alias!r}] is a {type(storage).__name__}; use "
            "podcasthost.storage.filesystem.FileSystemStorage or podcasthost.storage.s3.S3Storage."
        )
    return storage
