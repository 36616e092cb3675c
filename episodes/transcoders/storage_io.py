"""File moves between local disk and a Django storage that never expose half a file.

Local ``FileSystemStorage``: paths are used directly and files appear by
``os.replace`` (atomic on POSIX; a reader with the old file open keeps reading
the old inode). S3: an object becomes visible only once its upload or copy
completes (https://docs.aws.amazon.com/AmazonS3/latest/userguide/Welcome.html#ConsistencyModel),
and an in-flight GET keeps streaming the object it started on.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

from django.core.files.storage import Storage


def local_path(storage: Storage, key: str) -> Path | None:
    """The file's path when the storage is a local folder, else ``None``."""
    try:
        return Path(storage.path(key))
    except NotImplementedError:
        return None


def _s3_key(storage: Storage, key: str) -> str:
    from storages.utils import clean_name

    return storage._normalize_name(clean_name(key))


@contextlib.contextmanager
def local_copy(storage: Storage, key: str, *, suffix: str = "") -> Iterator[Path]:
    """A local path holding the object ``key``: the file itself, or a temporary download."""
    path = local_path(storage, key)
    if path is not None:
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="podcasthost-src-") as tmp:
        dest = Path(tmp) / ("source" + suffix)
        storage.bucket.download_file(_s3_key(storage, key), str(dest))
        yield dest


def scratch_dir(storage: Storage) -> tempfile.TemporaryDirectory:
    """A temporary folder from which files can be moved into ``storage`` cheaply.

    For a local storage it sits inside the storage's folder (same file system,
    so ``os.replace`` is atomic) under a dot-folder nobody serves.
    """
    root = local_path(storage, ".tmp")
    if root is not None:
        root.mkdir(parents=True, exist_ok=True)
        return tempfile.TemporaryDirectory(prefix="job-", dir=root)
    return tempfile.TemporaryDirectory(prefix="podcasthost-job-")


def put_file(storage: Storage, path: Path, key: str, *, content_type: str) -> None:
    """Publish the complete local file ``path`` at ``key``, all at once."""
    dest = local_path(storage, key)
    if dest is not None:
        dest.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.replace(path, dest)
        except OSError:
            # Another file system: copy beside the target, then rename.
            tmp = dest.with_name(f".{dest.name}.part")
            shutil.copyfile(path, tmp)
            os.replace(tmp, dest)
        return
    storage.bucket.upload_file(
        str(path), _s3_key(storage, key), ExtraArgs={"ContentType": content_type}
    )


def replace_with_copy(storage: Storage, src_key: str, dst_key: str, *, content_type: str) -> None:
    """Make ``dst_key`` a copy of ``src_key`` in one step for readers; ``src_key`` stays.

    Raises ``FileNotFoundError`` when ``src_key`` does not exist. Safe to repeat.
    """
    src = local_path(storage, src_key)
    if src is not None:
        dst = local_path(storage, dst_key)
        dst.parent.mkdir(parents=True, exist_ok=True)
        part = dst.with_name(f".{dst.name}.{uuid.uuid4().hex}.part")
        try:
            os.link(src, part)  # instant, same file system
        except OSError as exc:
            if not src.exists():
                raise FileNotFoundError(src_key) from exc
            shutil.copyfile(src, part)
        os.replace(part, dst)
        return
    from botocore.exceptions import ClientError

    bucket = storage.bucket
    try:
        bucket.meta.client.copy(
            {"Bucket": bucket.name, "Key": _s3_key(storage, src_key)},
            bucket.name,
            _s3_key(storage, dst_key),
            ExtraArgs={"ContentType": content_type, "MetadataDirective": "REPLACE"},
        )
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            raise FileNotFoundError(src_key) from exc
        raise


def delete_quietly(storage: Storage, key: str) -> None:
    """Delete ``key`` if it exists, and its local folder if that is left empty."""
    with contextlib.suppress(FileNotFoundError):
        storage.delete(key)
    path = local_path(storage, key)
    if path is not None:
        with contextlib.suppress(OSError):
            path.parent.rmdir()


def s3_uri(storage: Storage, key: str) -> str:
    """``s3://bucket/key`` of an object in an S3 storage (MediaConvert's addressing)."""
    return f"s3://{storage.bucket_name}/{_s3_key(storage, key)}"
