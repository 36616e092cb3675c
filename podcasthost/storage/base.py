"""The operations podcasthost needs from a storage, beyond Django's ``Storage`` API.

Both backends (:mod:`podcasthost.storage.filesystem`, :mod:`podcasthost.storage.s3`)
mix this in. Keys are the storage's names (``uploads/<slug>/<guid>/…``); every
write here is all-or-nothing for readers: a local file appears by ``os.replace``
(atomic on POSIX; a reader with the old file open keeps reading the old inode),
an S3 object once its upload or copy completes
(https://docs.aws.amazon.com/AmazonS3/latest/userguide/Welcome.html#ConsistencyModel).
"""

from __future__ import annotations

import contextlib
import tempfile
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path


class UploadError(Exception):
    """A request about an upload that cannot be honoured; ``str()`` is safe to show a creator.

    ``status`` is the HTTP status a view answers with.
    """

    def __init__(self, message: str, *, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class ObjectHead:
    """What identifies one version of a stored object."""

    size_bytes: int
    etag: str  # without quotes; "" on a local disk
    content_type: str
    modified_at: datetime


@dataclass(frozen=True)
class PresignedForm:
    """The multipart form a browser posts straight to the storage: the fields, then the file."""

    url: str
    fields: dict[str, str]


class AppStorage:
    """The interface; each backend implements every method."""

    #: Whether keys are files on this machine (:meth:`local_path` answers).
    serves_locally: bool = False

    def describe(self) -> str:
        """Where the files are, for people: ``S3 bucket x`` or ``folder /srv/…``."""
        raise NotImplementedError

    def local_path(self, key: str) -> Path | None:
        """The file's path when the storage is a local folder, else ``None``."""
        return None

    def presign_post(
        self,
        key: str,
        *,
        content_type: str,
        min_bytes: int,
        max_bytes: int,
        expires_in: timedelta,
        now: datetime,
        local_url: str,
    ) -> PresignedForm:
        """A form that lets a browser store one file at ``key``, and nothing else.

        The file must be ``content_type`` and ``min_bytes``..``max_bytes`` long;
        the form expires ``expires_in`` after ``now``. ``local_url`` is the
        absolute URL of the one-machine POST target (used by the folder backend).
        Pure: writes nothing.
        """
        raise NotImplementedError

    def head(self, key: str) -> ObjectHead | None:
        """Size, ETag, type and modification time of ``key``; ``None`` if it does not exist."""
        raise NotImplementedError

    def read_start(self, key: str, n_bytes: int) -> bytes:
        """The first ``n_bytes`` of ``key`` (fewer if it is shorter).

        Raises ``FileNotFoundError`` if it does not exist.
        """
        raise NotImplementedError

    def put_bytes(self, key: str, data: bytes, *, content_type: str, cache_control: str) -> None:
        """Write ``data`` at ``key``, replacing any previous object in one step for readers.

        ``content_type`` and ``cache_control`` are stored with the object where
        the storage keeps headers (S3); a folder has none.
        """
        raise NotImplementedError

    def put_file(self, path: Path, key: str, *, content_type: str) -> None:
        """Publish the complete local file ``path`` at ``key``, all at once.

        ``path`` may be moved rather than copied: the caller no longer needs it.
        """
        raise NotImplementedError

    def replace_with_copy(self, src_key: str, dst_key: str, *, content_type: str) -> None:
        """Make ``dst_key`` a copy of ``src_key`` in one step for readers; ``src_key`` stays.

        Raises ``FileNotFoundError`` when ``src_key`` does not exist. Safe to repeat.
        """
        raise NotImplementedError

    def server_copy(
        self,
        src_key: str,
        dst_key: str,
        *,
        if_etag: str = "",
        multipart_threshold_bytes: int,
        part_bytes: int,
    ) -> bool:
        """Copy ``src_key`` to ``dst_key`` inside the storage (server-side on S3).

        One request up to ``multipart_threshold_bytes``, parts of ``part_bytes``
        above. ``dst_key`` appears whole or not at all. With ``if_etag``, only
        that version of ``src_key`` is copied: ``False`` (nothing copied) if it
        was replaced meanwhile. Raises ``FileNotFoundError`` if ``src_key`` is absent.
        """
        raise NotImplementedError

    def local_copy(self, key: str, *, suffix: str = "") -> AbstractContextManager[Path]:
        """A local path holding ``key``: the file itself, or a temporary download.

        A download raises ``FileNotFoundError`` when ``key`` does not exist; a
        folder yields the file's path unchecked (whoever opens it finds out).
        """
        raise NotImplementedError

    def scratch_dir(self) -> tempfile.TemporaryDirectory:
        """A temporary folder from which :meth:`put_file` moves files in cheaply."""
        return tempfile.TemporaryDirectory(prefix="podcasthost-job-")

    def delete_quietly(self, key: str) -> None:
        """Delete ``key`` if it exists (and its local folder if that is left empty)."""
        with contextlib.suppress(FileNotFoundError):
            self.delete(key)  # type: ignore[attr-defined]  # Django's Storage.delete
        path = self.local_path(key)
        if path is not None:
            with contextlib.suppress(OSError):
                path.parent.rmdir()

    def uri(self, key: str) -> str:
        """``s3://bucket/key`` of ``key``, how other AWS services (MediaConvert) address it.

        Raises ``NotImplementedError`` for a storage other services cannot read.
        """
        raise NotImplementedError(f"{type(self).__name__} has no URI other services can read.")
