"""The storage layer: every operation on both backends (a tmp folder, and S3 on moto in-process)."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import json
import os
import resource
import signal
import stat
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from botocore.exceptions import ClientError
from django.core import signing
from django.core.exceptions import ImproperlyConfigured
from django.core.files.base import ContentFile
from moto import mock_aws

from podcasthost import subprocesses
from podcasthost.storage import UploadError, get_storage, local_post
from podcasthost.storage.filesystem import FileSystemStorage
from podcasthost.storage.s3 import S3Storage

BUCKET = "storage-layer-test"
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def folder(tmp_path) -> FileSystemStorage:
    return FileSystemStorage(location=str(tmp_path / "store"), base_url="http://files.test/")


@pytest.fixture
def bucket(aws_credentials) -> S3Storage:
    with mock_aws():
        boto3.client("s3", region_name="us-east-1").create_bucket(Bucket=BUCKET)
        yield S3Storage(
            bucket_name=BUCKET,
            region_name="us-east-1",
            endpoint_url=None,
            file_overwrite=True,
            default_acl=None,
        )


@pytest.fixture(params=["folder", "s3"])
def storage(request):
    return request.getfixturevalue("folder" if request.param == "folder" else "bucket")


def s3_client(storage: S3Storage):
    return storage.connection.meta.client


def read(storage, key: str) -> bytes:
    with storage.open(key, "rb") as f:
        return f.read()


def leftovers(storage) -> list[str]:
    """Files other than the stored objects: temporary or partial files left behind."""
    if isinstance(storage, S3Storage):
        return []
    return sorted(
        os.path.relpath(os.path.join(root, name), storage.location)
        for root, _, names in os.walk(storage.location)
        for name in names
        if name.startswith(".")
    )


# ------------------------------------------------------------------ lookup
def test_get_storage_returns_the_configured_backend(settings, tmp_path):
    settings.STORAGES = {
        **settings.STORAGES,
        "media": {
            "BACKEND": "podcasthost.storage.filesystem.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path)},
        },
    }
    storage = get_storage("media")
    assert isinstance(storage, FileSystemStorage)
    assert storage.serves_locally


def test_get_storage_refuses_a_backend_without_the_operations(settings, tmp_path):
    settings.STORAGES = {
        **settings.STORAGES,
        "media": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path)},
        },
    }
    with pytest.raises(ImproperlyConfigured, match=r"STORAGES\['media'\]"):
        get_storage("media")


def test_capabilities_and_descriptions(folder, bucket):
    assert folder.serves_locally and not bucket.serves_locally
    assert folder.local_path("a/b.mp3") == folder.local_path("") / "a" / "b.mp3"
    assert bucket.local_path("a/b.mp3") is None
    assert folder.describe() == f"folder {folder.location}"
    assert bucket.describe() == f"S3 bucket {BUCKET}"


def test_uri_addresses_s3_objects_and_a_folder_has_none(folder, bucket):
    assert bucket.uri("uploads/show/x.wav") == f"s3://{BUCKET}/uploads/show/x.wav"
    with pytest.raises(NotImplementedError):
        folder.uri("uploads/show/x.wav")


# ------------------------------------------------------------------ head / read_start
def test_head_of_a_missing_key_is_none(storage):
    assert storage.head("nothing/here.wav") is None


def test_head_reports_size_etag_type_and_time(storage):
    before = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=1)
    storage.put_bytes(
        "show/feed.xml", b"<rss/>", content_type="application/rss+xml", cache_control=""
    )

    head = storage.head("show/feed.xml")

    assert head.size_bytes == 6
    assert head.modified_at >= before and head.modified_at.tzinfo is not None
    if isinstance(storage, S3Storage):
        assert head.etag == hashlib.md5(b"<rss/>", usedforsecurity=False).hexdigest()
        assert head.content_type == "application/rss+xml"
    else:
        assert head.etag == ""
        assert head.content_type == "application/xml"


def test_read_start_gives_the_first_bytes(storage):
    storage.save("uploads/a.wav", ContentFile(b"0123456789"))

    assert storage.read_start("uploads/a.wav", 4) == b"0123"
    assert storage.read_start("uploads/a.wav", 100) == b"0123456789"


def test_read_start_of_a_missing_key_raises(storage):
    with pytest.raises(FileNotFoundError):
        storage.read_start("uploads/none.wav", 4)


# ------------------------------------------------------------------ put_bytes
def test_put_bytes_replaces_the_object(storage):
    storage.put_bytes("show/feed.xml", b"old", content_type="application/rss+xml", cache_control="")
    storage.put_bytes("show/feed.xml", b"new", content_type="application/rss+xml", cache_control="")

    assert read(storage, "show/feed.xml") == b"new"
    assert leftovers(storage) == []


def test_put_bytes_on_s3_is_one_put_with_type_and_cache_control(bucket):
    calls = []
    events = s3_client(bucket).meta.events
    events.register("before-call.s3", lambda event_name, **kw: calls.append(event_name))

    bucket.put_bytes(
        "show/feed.xml",
        b"<rss/>",
        content_type="application/rss+xml; charset=utf-8",
        cache_control="public, max-age=300",
    )

    assert calls == ["before-call.s3.PutObject"]
    head = s3_client(bucket).head_object(Bucket=BUCKET, Key="show/feed.xml")
    assert head["ContentType"] == "application/rss+xml; charset=utf-8"
    assert head["CacheControl"] == "public, max-age=300"


def test_put_bytes_locally_is_world_readable(folder):
    folder.put_bytes("show/feed.xml", b"<rss/>", content_type="", cache_control="")

    mode = stat.S_IMODE(os.stat(folder.path("show/feed.xml")).st_mode)
    assert mode == 0o644


def test_put_bytes_locally_swaps_the_file_in_one_step(folder):
    folder.put_bytes("show/feed.xml", b"A" * 100_000, content_type="", cache_control="")
    with open(folder.path("show/feed.xml"), "rb") as reader:  # a listener's download
        first = reader.read(10)

        folder.put_bytes("show/feed.xml", b"B" * 100_000, content_type="", cache_control="")

        # The reader finishes the file it started on; a new reader sees the new one whole.
        assert first + reader.read() == b"A" * 100_000
    assert read(folder, "show/feed.xml") == b"B" * 100_000


@contextlib.contextmanager
def file_size_limit(n_bytes: int):
    """The OS refuses writes past ``n_bytes`` in any file (RLIMIT_FSIZE), as a full disk would."""
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    previous = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of a kill
    resource.setrlimit(resource.RLIMIT_FSIZE, (n_bytes, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, previous)


def test_a_failed_local_put_bytes_keeps_the_old_file_and_leaves_nothing(folder):
    folder.put_bytes("show/feed.xml", b"good", content_type="", cache_control="")

    with file_size_limit(16), pytest.raises(OSError, match="too large"):
        folder.put_bytes("show/feed.xml", b"x" * 1000, content_type="", cache_control="")

    assert read(folder, "show/feed.xml") == b"good"
    assert leftovers(folder) == []


# ------------------------------------------------------------------ put_file / replace_with_copy
def test_put_file_publishes_a_local_file(storage, tmp_path):
    path = tmp_path / "mp3.mp3"
    path.write_bytes(b"ID3 audio")

    storage.put_file(path, "show/ep/staging/mp3.mp3", content_type="audio/mpeg")

    assert read(storage, "show/ep/staging/mp3.mp3") == b"ID3 audio"
    assert storage.head("show/ep/staging/mp3.mp3").content_type == "audio/mpeg"
    assert leftovers(storage) == []


def test_put_file_from_a_scratch_dir_replaces_the_object(storage):
    storage.put_bytes("show/a.mp3", b"old", content_type="audio/mpeg", cache_control="")
    with storage.scratch_dir() as tmp:
        path = os.path.join(tmp, "a.mp3")
        with open(path, "wb") as f:
            f.write(b"new")
        storage.put_file(path, "show/a.mp3", content_type="audio/mpeg")

    assert read(storage, "show/a.mp3") == b"new"


def test_scratch_dir_is_a_hidden_folder_in_a_local_storage(folder, bucket):
    with folder.scratch_dir() as tmp:
        assert os.path.commonpath([tmp, folder.location]) == folder.location
        assert "/.tmp/" in tmp
    with bucket.scratch_dir() as tmp:
        assert os.path.isdir(tmp)
    assert not os.path.exists(tmp)


def test_replace_with_copy_makes_dst_a_copy_and_keeps_src(storage):
    storage.put_bytes("staging/mp3.mp3", b"take 2", content_type="audio/mpeg", cache_control="")
    storage.put_bytes("show/ep.mp3", b"take 1", content_type="audio/mpeg", cache_control="")

    storage.replace_with_copy("staging/mp3.mp3", "show/ep.mp3", content_type="audio/mpeg")
    storage.replace_with_copy("staging/mp3.mp3", "show/ep.mp3", content_type="audio/mpeg")

    assert read(storage, "show/ep.mp3") == b"take 2"
    assert read(storage, "staging/mp3.mp3") == b"take 2"
    assert storage.head("show/ep.mp3").content_type == "audio/mpeg"
    assert leftovers(storage) == []


def test_replace_with_copy_of_a_missing_source_raises_and_keeps_dst(storage):
    storage.put_bytes("show/ep.mp3", b"take 1", content_type="audio/mpeg", cache_control="")

    with pytest.raises(FileNotFoundError):
        storage.replace_with_copy("staging/gone.mp3", "show/ep.mp3", content_type="audio/mpeg")

    assert read(storage, "show/ep.mp3") == b"take 1"
    assert leftovers(storage) == []


# ------------------------------------------------------------------ server_copy
def copy(storage, src, dst, **kwargs) -> bool:
    kwargs.setdefault("multipart_threshold_bytes", 4 * 1024**3)
    kwargs.setdefault("part_bytes", 256 * 1024**2)
    return storage.server_copy(src, dst, **kwargs)


def test_server_copy_copies(storage):
    storage.save("inbox/show/a.wav", ContentFile(b"RIFF audio"))
    etag = storage.head("inbox/show/a.wav").etag

    assert copy(storage, "inbox/show/a.wav", "uploads/show/g/a.wav", if_etag=etag) is True

    assert read(storage, "uploads/show/g/a.wav") == b"RIFF audio"
    assert read(storage, "inbox/show/a.wav") == b"RIFF audio"
    assert leftovers(storage) == []


def test_server_copy_of_a_missing_source_raises_file_not_found(storage):
    with pytest.raises(FileNotFoundError):
        copy(storage, "inbox/show/gone.wav", "uploads/show/g/gone.wav", if_etag="abc")

    assert storage.head("uploads/show/g/gone.wav") is None
    assert leftovers(storage) == []


def test_server_copy_pins_the_version_and_a_412_copies_nothing(bucket):
    bucket.save("inbox/show/a.wav", ContentFile(b"RIFF take 1"))
    etag = bucket.head("inbox/show/a.wav").etag
    sent = []

    def replaced_meanwhile(params, **kwargs):
        sent.append(params["headers"]["x-amz-copy-source-if-match"])
        # What S3 answers to a CopySourceIfMatch that no longer matches
        # (moto 5.2 does not evaluate that header).
        raise ClientError(
            {
                "Error": {"Code": "PreconditionFailed", "Message": "At least one failed"},
                "ResponseMetadata": {"HTTPStatusCode": 412},
            },
            "CopyObject",
        )

    s3_client(bucket).meta.events.register("before-call.s3.CopyObject", replaced_meanwhile)

    assert copy(bucket, "inbox/show/a.wav", "uploads/show/g/a.wav", if_etag=etag) is False
    assert sent == [f'"{etag}"']
    assert bucket.head("uploads/show/g/a.wav") is None


def test_server_copy_above_the_threshold_is_multipart(bucket):
    data = os.urandom(7 * 1024**2)
    bucket.save("inbox/show/long.wav", ContentFile(data))
    parts = []
    s3_client(bucket).meta.events.register(
        "before-call.s3.UploadPartCopy", lambda **kwargs: parts.append(kwargs)
    )

    copied = copy(
        bucket,
        "inbox/show/long.wav",
        "uploads/show/g/long.wav",
        if_etag=bucket.head("inbox/show/long.wav").etag,
        multipart_threshold_bytes=5 * 1024**2,
        part_bytes=5 * 1024**2,
    )

    assert copied is True
    assert len(parts) == 2
    assert read(bucket, "uploads/show/g/long.wav") == data


# ------------------------------------------------------------------ local_copy / delete_quietly
def test_local_copy_of_a_local_file_is_the_file_itself(folder):
    folder.save("uploads/a.wav", ContentFile(b"RIFF"))

    with folder.local_copy("uploads/a.wav", suffix=".wav") as path:
        assert path == folder.local_path("uploads/a.wav")


def test_local_copy_from_s3_is_a_temporary_download(bucket):
    bucket.save("uploads/a.wav", ContentFile(b"RIFF audio"))

    with bucket.local_copy("uploads/a.wav", suffix=".wav") as path:
        assert path.suffix == ".wav"
        assert path.read_bytes() == b"RIFF audio"
        # Owned by this process: a cleanup after a crash can tell it is a dead run's.
        assert subprocesses.owner_alive(path.parent)

    assert not path.exists()


def test_local_copy_of_a_missing_object_raises_file_not_found(bucket):
    with pytest.raises(FileNotFoundError), bucket.local_copy("uploads/gone.wav"):
        pass


def test_delete_quietly_deletes_and_tolerates_a_missing_key(storage):
    storage.save("media/show/ep/staging/mp3.mp3", ContentFile(b"x"))

    storage.delete_quietly("media/show/ep/staging/mp3.mp3")
    storage.delete_quietly("media/show/ep/staging/mp3.mp3")

    assert storage.head("media/show/ep/staging/mp3.mp3") is None


def test_delete_quietly_removes_the_emptied_local_folder(folder):
    folder.save("show/ep/staging/mp3.mp3", ContentFile(b"x"))
    folder.save("show/ep/kept.mp3", ContentFile(b"x"))

    folder.delete_quietly("show/ep/staging/mp3.mp3")

    assert not folder.local_path("show/ep/staging").exists()
    assert folder.local_path("show/ep/kept.mp3").exists()


# ------------------------------------------------------------------ presign_post
def presign(storage, key="uploads/show/g/1234abcd-a.wav", **kwargs):
    kwargs = {
        "content_type": "audio/wav",
        "min_bytes": 1,
        "max_bytes": 1000,
        "expires_in": timedelta(hours=1),
        "now": NOW,
        "local_url": "http://testserver/uploads/local",
        **kwargs,
    }
    return storage.presign_post(key, **kwargs)


def test_s3_presign_post_pins_key_type_and_size_range(bucket):
    form = presign(bucket, min_bytes=10, max_bytes=1000)

    assert BUCKET in form.url
    assert form.fields["key"] == "uploads/show/g/1234abcd-a.wav"
    assert form.fields["Content-Type"] == "audio/wav"
    policy = json.loads(base64.b64decode(form.fields["policy"]))
    assert {"key": "uploads/show/g/1234abcd-a.wav"} in policy["conditions"]
    assert {"Content-Type": "audio/wav"} in policy["conditions"]
    assert ["content-length-range", 10, 1000] in policy["conditions"]
    expires = datetime.fromisoformat(policy["expiration"].replace("Z", "+00:00"))
    assert timedelta(minutes=59) < expires - datetime.now(UTC) <= timedelta(hours=1)


def test_folder_presign_post_signs_a_policy_for_the_local_endpoint(folder):
    form = presign(folder, min_bytes=10, max_bytes=1000)

    assert form.url == "http://testserver/uploads/local"
    assert form.fields["key"] == "uploads/show/g/1234abcd-a.wav"
    assert form.fields["Content-Type"] == "audio/wav"
    policy = signing.loads(form.fields["policy"], salt=local_post.POLICY_SALT)
    assert policy == {
        "key": "uploads/show/g/1234abcd-a.wav",
        "type": "audio/wav",
        "min": 10,
        "max": 1000,
        "exp": int((NOW + timedelta(hours=1)).timestamp()),
    }


def multipart(fields: dict[str, str], data: bytes) -> tuple[dict, io.BytesIO]:
    boundary = "storage-test-boundary"
    body = b"".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    )
    body += (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.wav"\r\n'
        "Content-Type: audio/wav\r\n\r\n"
    ).encode()
    body += data + f"\r\n--{boundary}--\r\n".encode()
    meta = {
        "CONTENT_TYPE": f"multipart/form-data; boundary={boundary}",
        "CONTENT_LENGTH": str(len(body)),
    }
    return meta, io.BytesIO(body)


def test_the_local_endpoint_takes_the_folder_form(folder):
    form = presign(folder)
    meta, body = multipart(form.fields, b"RIFF audio")

    key, size = local_post.receive_local_upload(meta, body, storage=folder, now=NOW)

    assert (key, size) == ("uploads/show/g/1234abcd-a.wav", 10)
    assert read(folder, key) == b"RIFF audio"
    assert leftovers(folder) == []


def test_the_local_endpoint_enforces_the_policy_size_range(folder):
    form = presign(folder, min_bytes=11, max_bytes=20)

    for data, status in ((b"RIFF audio", 400), (b"x" * 21, 413)):
        meta, body = multipart(form.fields, data)
        with pytest.raises(UploadError) as refused:
            local_post.receive_local_upload(meta, body, storage=folder, now=NOW)
        assert refused.value.status == status

    assert folder.head("uploads/show/g/1234abcd-a.wav") is None
    assert leftovers(folder) == []


def test_the_local_endpoint_is_off_when_uploads_go_to_s3(bucket):
    meta, body = multipart({}, b"x")

    with pytest.raises(UploadError) as refused:
        local_post.receive_local_upload(meta, body, storage=bucket, now=NOW)

    assert refused.value.status == 404
