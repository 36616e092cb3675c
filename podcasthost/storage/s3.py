"""Storage in an S3 bucket: django-storages' ``S3Storage`` plus :class:`AppStorage`.

An object becomes visible only once its upload or copy completes, and a GET
in flight keeps streaming the version it started on
(https://docs.aws.amazon.com/AmazonS3/latest/userguide/Welcome.html#ConsistencyModel).
Every call goes through the storage's own boto3 client (``connection.meta.client``),
so its endpoint, region and credentials options apply.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError
from storages.backends import s3 as django_storages_s3
from storages.utils import clean_name

from podcasthost import subprocesses
from podcasthost.storage.base import AppStorage, ObjectHead, PresignedForm

_MISSING = ("404", "NoSuchKey", "NotFound")
_PRECONDITION_FAILED = ("412", "PreconditionFailed")


def _error_code(exc: ClientError) -> str:
    return exc.response.get("Error", {}).get("Code", "")


class S3Storage(AppStorage, django_storages_s3.S3Storage):
    """One bucket (the AWS setting of every alias)."""

    def describe(self) -> str:
        return f"S3 bucket {self.bucket_name}"

    def _key(self, key: str) -> str:
        """The object key of a storage name (under ``location``, normalised)."""
        return self._normalize_name(clean_name(key))

    @property
    def _client(self):
        return self.connection.meta.client

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
        """boto3 ``generate_presigned_post`` with conditions pinning the key, the type and
        the size range.
        https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-HTTPPOSTConstructPolicy.html
        """
        post = self._client.generate_presigned_post(
            Bucket=self.bucket_name,
            Key=self._key(key),
            Fields={"Content-Type": content_type},
            Conditions=[
                {"key": self._key(key)},
                {"Content-Type": content_type},
                ["content-length-range", min_bytes, max_bytes],
            ],
            ExpiresIn=int(expires_in.total_seconds()),
        )
        return PresignedForm(post["url"], post["fields"])

    def head(self, key: str) -> ObjectHead | None:
        try:
            head = self._client.head_object(Bucket=self.bucket_name, Key=self._key(key))
        except ClientError as exc:
            if _error_code(exc) in _MISSING:
                return None
            raise
        return ObjectHead(
            size_bytes=head["ContentLength"],
            etag=head["ETag"].strip('"'),
            content_type=head.get("ContentType") or "",
            modified_at=head["LastModified"],
        )

    def read_start(self, key: str, n_bytes: int) -> bytes:
        """One ranged GET. https://www.rfc-editor.org/rfc/rfc9110#name-range"""
        try:
            answer = self._client.get_object(
                Bucket=self.bucket_name, Key=self._key(key), Range=f"bytes=0-{n_bytes - 1}"
            )
        except ClientError as exc:
            if _error_code(exc) in _MISSING:
                raise FileNotFoundError(key) from exc
            raise
        return answer["Body"].read()

    def put_bytes(self, key: str, data: bytes, *, content_type: str, cache_control: str) -> None:
        """One PutObject with explicit headers (``save()`` guesses the type from the name
        and sets no per-object ``Cache-Control``)."""
        self._client.put_object(
            Bucket=self.bucket_name,
            Key=self._key(key),
            Body=data,
            ContentType=content_type,
            CacheControl=cache_control,
        )

    def put_file(self, path: Path, key: str, *, content_type: str) -> None:
        self.bucket.upload_file(str(path), self._key(key), ExtraArgs={"ContentType": content_type})

    def replace_with_copy(self, src_key: str, dst_key: str, *, content_type: str) -> None:
        """A server-side copy (boto3's managed ``copy``) with ``content_type`` set on the copy."""
        try:
            self._client.copy(
                {"Bucket": self.bucket_name, "Key": self._key(src_key)},
                self.bucket_name,
                self._key(dst_key),
                ExtraArgs={"ContentType": content_type, "MetadataDirective": "REPLACE"},
            )
        except ClientError as exc:
            if _error_code(exc) in _MISSING:
                raise FileNotFoundError(src_key) from exc
            raise

    def server_copy(
        self,
        src_key: str,
        dst_key: str,
        *,
        if_etag: str = "",
        multipart_threshold_bytes: int,
        part_bytes: int,
    ) -> bool:
        """boto3's managed ``copy``: one ``CopyObject`` up to the threshold (it stops at
        5 GB: https://docs.aws.amazon.com/AmazonS3/latest/userguide/copy-object.html),
        ``UploadPartCopy`` beyond, each pinned by ``CopySourceIfMatch``."""
        extra = {"CopySourceIfMatch": f'"{if_etag}"'} if if_etag else {}
        try:
            self._client.copy(
                {"Bucket": self.bucket_name, "Key": self._key(src_key)},
                self.bucket_name,
                self._key(dst_key),
                ExtraArgs=extra,
                Config=TransferConfig(
                    multipart_threshold=multipart_threshold_bytes,
                    multipart_chunksize=part_bytes,
                ),
            )
        except ClientError as exc:
            code = _error_code(exc)
            if code in _PRECONDITION_FAILED:
                return False
            if code in _MISSING:
                raise FileNotFoundError(src_key) from exc
            raise
        return True

    @contextlib.contextmanager
    def local_copy(self, key: str, *, suffix: str = "") -> Iterator[Path]:
        """A download into a temporary folder, removed on exit."""
        with tempfile.TemporaryDirectory(prefix="podcasthost-src-") as tmp:
            # Owned, so the transcoder's cleanup removes it if this process dies.
            subprocesses.claim_folder(Path(tmp))
            dest = Path(tmp) / ("source" + suffix)
            try:
                self.bucket.download_file(self._key(key), str(dest))
            except ClientError as exc:
                if _error_code(exc) in _MISSING:
                    raise FileNotFoundError(key) from exc
                raise
            yield dest

    def uri(self, key: str) -> str:
        return f"s3://{self.bucket_name}/{self._key(key)}"
