"""Storage in a local folder: Django's ``FileSystemStorage`` plus :class:`AppStorage`.

Keys are paths under ``location``. Files appear by ``os.replace`` from a
temporary name in the same folder (atomic on POSIX), so a reader sees the old
file or the new one, never half of one. Temporary names start with a dot:
:func:`feeds.media.serve_media` never serves dot-files.
"""

from __future__ import annotations

import contextlib
import mimetypes
import os
import secrets
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from django.core.files import storage as django_storage

from podcasthost.storage import local_post
from podcasthost.storage.base import AppStorage, ObjectHead, PresignedForm


class FileSystemStorage(AppStorage, django_storage.FileSystemStorage):
    """A folder on this machine (the one-machine default for every alias)."""

    serves_locally = True

    def describe(self) -> str:
        return f"folder {self.location}"

    def local_path(self, key: str) -> Path:
        """The file's path. Raises ``SuspiciousFileOperation`` for a key outside the folder."""
        return Path(self.path(key))

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
        """The form :func:`~podcasthost.storage.local_post.receive_local_upload` takes."""
        policy = local_post.sign_policy(
            key=key,
            content_type=content_type,
            min_bytes=min_bytes,
            max_bytes=max_bytes,
            expires_at=now + expires_in,
        )
        return PresignedForm(
            local_url, {"key": key, "Content-Type": content_type, "policy": policy}
        )

    def head(self, key: str) -> ObjectHead | None:
        try:
            stat = self.local_path(key).stat()
        except FileNotFoundError:
            return None
        return ObjectHead(
            size_bytes=stat.st_size,
            etag="",
            content_type=mimetypes.guess_type(key)[0] or "application/octet-stream",
            modified_at=datetime.fromtimestamp(stat.st_mtime, tz=UTC),
        )

    def read_start(self, key: str, n_bytes: int) -> bytes:
        with self.open(key, "rb") as f:
            return f.read(n_bytes)

    def put_bytes(self, key: str, data: bytes, *, content_type: str, cache_control: str) -> None:
        """A temporary file (mode 0644) renamed over the old one; a folder keeps no headers."""
        path = self.local_path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            # mkstemp makes 0600; the file is served as it is.
            os.chmod(tmp, 0o644)
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise

    def put_file(self, path: Path, key: str, *, content_type: str) -> None:
        dest = self.local_path(key)
        dest.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.replace(path, dest)
        except OSError:
            # Another file system: copy beside the target, then rename.
            tmp = dest.with_name(f".{dest.name}.part")
            shutil.copyfile(path, tmp)
            os.replace(tmp, dest)

    def replace_with_copy(self, src_key: str, dst_key: str, *, content_type: str) -> None:
        src, dst = self.local_path(src_key), self.local_path(dst_key)
        dst.parent.mkdir(parents=True, exist_ok=True)
        part = dst.with_name(f".{dst.name}.{uuid.uuid4().hex}.part")
        try:
            os.link(src, part)  # instant, same file system
        except OSError as exc:
            if not src.exists():
                raise FileNotFoundError(src_key) from exc
            shutil.copyfile(src, part)
        os.replace(part, dst)
        # A repeat links the inode dst already is: rename() then does nothing
        # and leaves ``part`` (https://pubs.opengroup.org/onlinepubs/9799919799/functions/rename.html).
        part.unlink(missing_ok=True)

    def server_copy(
        self,
        src_key: str,
        dst_key: str,
        *,
        if_etag: str = "",
        multipart_threshold_bytes: int,
        part_bytes: int,
    ) -> bool:
        """A copy to a dot-file beside ``dst_key``, then a rename. A folder has no ETags:
        ``if_etag`` is not checked."""
        src, dst = self.local_path(src_key), self.local_path(dst_key)
        dst.parent.mkdir(parents=True, exist_ok=True)
        part = dst.with_name(f".{dst.name}.{secrets.token_hex(4)}.part")
        try:
            shutil.copyfile(src, part)
            os.replace(part, dst)  # appears whole or not at all
        except FileNotFoundError:
            part.unlink(missing_ok=True)
            raise FileNotFoundError(src_key) from None
        return True

    @contextlib.contextmanager
    def local_copy(self, key: str, *, suffix: str = "") -> Iterator[Path]:
        """The file itself, not checked: a missing file is the reader's to report."""
        yield self.local_path(key)

    def scratch_dir(self) -> tempfile.TemporaryDirectory:
        """Inside the folder (same file system, so ``os.replace`` is atomic), under a
        dot-folder nobody serves."""
        root = self.local_path(".tmp")
        root.mkdir(parents=True, exist_ok=True)
        return tempfile.TemporaryDirectory(prefix="job-", dir=root)
