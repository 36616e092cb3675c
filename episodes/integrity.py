"""Subresource Integrity hashes of stored files, for ``podcast:integrity``.

https://github.com/Podcastindex-org/podcast-namespace/blob/main/docs/tags/integrity.md
asks for an SRI string (https://www.w3.org/TR/SRI/): the algorithm, a dash,
and the base64 (not hex) digest of the file's bytes.
"""

from __future__ import annotations

import base64
import hashlib

from django.core.files.storage import Storage

_CHUNK_BYTES = 1024 * 1024


def sri_sha384(storage: Storage, key: str) -> str:
    """``sha384-<base64>`` of the object at ``key``, read in 1 MiB chunks (bounded memory).

    Raises ``FileNotFoundError`` when ``key`` does not exist. On S3 the object is
    streamed through django-storages' file (spooled to disk past a few MB).
    """
    digest = hashlib.sha384()
    with storage.open(key, "rb") as f:
        while chunk := f.read(_CHUNK_BYTES):
            digest.update(chunk)
    return "sha384-" + base64.b64encode(digest.digest()).decode("ascii")
