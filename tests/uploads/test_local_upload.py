"""The one-machine POST target: the same form as S3, checked against a signed policy."""

from __future__ import annotations

import io
import json
import socket
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from django.core import signing
from django.urls import reverse
from django.utils import timezone

from episodes import uploads
from episodes.models import Episode
from podcasthost.storage import local_post
from tests.uploads.conftest import make_wav


def presign(client, episode, *, filename="pilot.wav", content_type="audio/wav", size=None):
    response = client.post(
        reverse("episodes:upload_presign", args=[episode.pk]),
        json.dumps({"filename": filename, "content_type": content_type, "size": size}),
        content_type="application/json",
    )
    return response


def post_form(url, fields, data: bytes, *, filename="pilot.wav", content_type="audio/wav"):
    return requests.post(
        url,
        data=fields,
        files={"file": (filename, io.BytesIO(data), content_type)},
        timeout=30,
    )


def files_under(root):
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


@pytest.mark.django_db(transaction=True)
def test_presigned_form_uploads_then_completion_marks_uploaded(
    live_server, creator_client, episode
):
    data = make_wav(2)
    answer = presign(creator_client, episode, size=len(data)).json()
    assert answer["key"].startswith(f"uploads/carols-show/{episode.guid}/")
    assert answer["key"].endswith("-pilot.wav")
    url = live_server.url + reverse("episodes:upload_local")
    assert answer["url"].endswith("/uploads/local")

    response = post_form(url, answer["fields"], data)

    assert response.status_code == 204, response.text
    stored = uploads.uploads_storage()
    with stored.open(answer["key"]) as f:
        assert f.read() == data

    done = creator_client.post(
        reverse("episodes:upload_complete", args=[episode.pk]),
        json.dumps({"key": answer["key"], "filename": "pilot.wav"}),
        content_type="application/json",
    )
    assert done.status_code == 200
    assert done.json()["status"] == "uploaded"
    episode.refresh_from_db()
    # Celery runs eagerly here, so the commit of "uploaded" ran the whole pipeline.
    assert episode.status == Episode.Status.READY
    assert episode.renditions.count() == 3
    assert episode.source_key == answer["key"]
    assert episode.source_bytes == len(data)
    assert episode.source_filename == "pilot.wav"


@pytest.mark.django_db(transaction=True)
def test_expired_policy_is_refused_and_writes_nothing(live_server, episode):
    url = live_server.url + reverse("episodes:upload_local")
    signed_at = timezone.now() - uploads.PRESIGN_EXPIRY - timedelta(seconds=5)
    post = uploads.presign_upload(
        episode,
        filename="pilot.wav",
        content_type="audio/wav",
        size_bytes=None,
        local_url=url,
        now=signed_at,
    )

    response = post_form(post.url, post.fields, make_wav(0.5))

    assert response.status_code == 403
    assert "expired" in response.json()["error"]
    assert files_under(Path(uploads.uploads_storage().path(""))) == []


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda f: {**f, "policy": f["policy"][:-2] + "xx"}, id="bad-signature"),
        pytest.param(lambda f: {**f, "key": f["key"].replace("pilot", "other")}, id="other-key"),
        pytest.param(lambda f: {**f, "Content-Type": "text/html"}, id="other-type"),
        pytest.param(lambda f: {k: v for k, v in f.items() if k != "policy"}, id="no-policy"),
        pytest.param(
            lambda f: {
                **f,
                "policy": signing.dumps(
                    {"key": f["key"], "type": "audio/wav", "max": 10**12, "exp": 2**40},
                    salt="another-salt",
                ),
            },
            id="policy-signed-for-something-else",
        ),
    ],
)
def test_tampered_form_is_refused(live_server, creator_client, episode, tamper):
    answer = presign(creator_client, episode).json()
    url = live_server.url + reverse("episodes:upload_local")

    response = post_form(url, tamper(answer["fields"]), make_wav(0.5))

    assert response.status_code == 403
    assert response.json()["error"]
    assert files_under(Path(uploads.uploads_storage().path(""))) == []


def test_presign_refuses_non_audio_and_oversize(creator_client, episode, settings):
    settings.UPLOAD_MAX_BYTES = 1000

    not_audio = presign(
        creator_client, episode, filename="notes.pdf", content_type="application/pdf"
    )
    too_big = presign(creator_client, episode, size=1001)

    assert not_audio.status_code == 400
    assert "does not look like audio" in not_audio.json()["error"]
    assert too_big.status_code == 413


def test_presign_refuses_a_size_that_is_not_a_number_of_bytes(creator_client, episode):
    # JSON true is an int to Python: it would pin the upload to exactly 1 byte.
    for size in (True, "1000", 10.5):
        answer = presign(creator_client, episode, size=size)

        assert answer.status_code == 400
        assert "size must be an integer" in answer.json()["error"]


def test_presign_guesses_audio_type_from_extension(creator_client, episode):
    answer = presign(creator_client, episode, filename="Ep 1 — Intro.m4a", content_type="").json()

    assert answer["fields"]["Content-Type"] == "audio/mp4"
    assert answer["key"].endswith("-Ep-1-Intro.m4a")


def test_each_presign_gets_a_new_key(creator_client, episode):
    keys = {presign(creator_client, episode).json()["key"] for _ in range(3)}

    assert len(keys) == 3


# --- streaming under gunicorn: the limit is enforced while the body arrives ---


class CountingBody:
    """A request body produced on demand, counting how much the client really sent."""

    def __init__(self, head: bytes, file_bytes: int, tail: bytes) -> None:
        self.parts = [head, None, tail]
        self.remaining_file = file_bytes
        self.total = len(head) + file_bytes + len(tail)
        self.sent = 0

    def __len__(self) -> int:
        return self.total

    def read(self, n: int = -1) -> bytes:
        n = 65536 if n is None or n < 0 else n
        while self.parts:
            part = self.parts[0]
            if part is None:
                if self.remaining_file:
                    chunk = b"\x01" * min(n, self.remaining_file)
                    self.remaining_file -= len(chunk)
                    self.sent += len(chunk)
                    return chunk
                self.parts.pop(0)
                continue
            if part:
                chunk, self.parts[0] = part[:n], part[n:]
                self.sent += len(chunk)
                return chunk
            self.parts.pop(0)
        return b""


def multipart(fields: dict, file_bytes: int, boundary: str = "xYzBoundary123"):
    head = b"".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
        for k, v in fields.items()
    )
    head += (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.wav"\r\n'
        "Content-Type: audio/wav\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    return CountingBody(head, file_bytes, tail), f"multipart/form-data; boundary={boundary}"


def send(url: str, body: CountingBody, content_type: str):
    try:
        return requests.post(
            url,
            data=body,
            headers={"Content-Type": content_type, "Content-Length": str(len(body))},
            timeout=60,
        )
    except requests.ConnectionError:
        return None  # the server closed the connection before the body was sent


@pytest.mark.django_db
def test_streamed_upload_within_limit_is_stored(gunicorn_uploads, episode):
    base, root = gunicorn_uploads
    post = uploads.presign_upload(
        episode, filename="big.wav", content_type="audio/wav", size_bytes=None, local_url=""
    )
    body, ctype = multipart(post.fields, 1024 * 1024)

    response = send(base + "/uploads/local", body, ctype)

    assert response is not None and response.status_code == 204, (response.headers, response.text)
    stored = root / post.key
    assert stored.stat().st_size == 1024 * 1024
    assert files_under(root) == [stored]


@pytest.mark.django_db
def test_over_limit_file_part_is_cut_off_while_streaming(gunicorn_uploads, episode):
    # Within the body allowance (so not refused up front by Content-Length),
    # but the file part is over the 1 MiB limit: caught while streaming.
    base, root = gunicorn_uploads
    post = uploads.presign_upload(
        episode, filename="big.wav", content_type="audio/wav", size_bytes=None, local_url=""
    )
    body, ctype = multipart(post.fields, 1024 * 1024 + 32 * 1024)

    response = send(base + "/uploads/local", body, ctype)

    if response is not None:
        assert response.status_code == 413
        assert "larger than the limit" in response.json()["error"]
    assert files_under(root) == []


@pytest.mark.django_db
def test_huge_upload_stops_early_and_leaves_no_file(gunicorn_uploads, episode):
    base, root = gunicorn_uploads
    post = uploads.presign_upload(
        episode, filename="big.wav", content_type="audio/wav", size_bytes=None, local_url=""
    )
    body, ctype = multipart(post.fields, 256 * 1024 * 1024)

    response = send(base + "/uploads/local", body, ctype)

    if response is not None:
        assert response.status_code == 413
    # The server answered and hung up long before 256 MiB went through.
    assert body.sent < body.total // 4
    assert files_under(root) == []


@pytest.mark.django_db
def test_a_client_that_hangs_up_mid_upload_leaves_no_file(gunicorn_uploads, episode):
    base, root = gunicorn_uploads
    post = uploads.presign_upload(
        episode, filename="big.wav", content_type="audio/wav", size_bytes=None, local_url=""
    )
    body, ctype = multipart(post.fields, 900 * 1024)
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port))) as sock:
        sock.sendall(
            (
                f"POST /uploads/local HTTP/1.1\r\nHost: {host}\r\nContent-Type: {ctype}\r\n"
                f"Content-Length: {len(body)}\r\n\r\n"
            ).encode()
        )
        sock.sendall(body.read(600 * 1024))  # then hang up, body incomplete

    # gunicorn's single sync worker answers this only after it has dealt with the upload.
    assert requests.get(base + "/uploads/local", timeout=30).status_code == 405
    assert files_under(root) == []


def test_a_body_that_ends_early_is_not_stored(episode, isolated_storages):
    # A WSGI server may hand the app a short body when the client hangs up
    # (the multipart still parses): only a body received in full is stored.
    post = uploads.presign_upload(
        episode, filename="a.wav", content_type="audio/wav", size_bytes=None, local_url=""
    )
    body, ctype = multipart(post.fields, 900 * 1024)
    data = b"".join(iter(lambda: body.read(65536), b""))
    meta = {"CONTENT_TYPE": ctype, "CONTENT_LENGTH": str(len(data))}

    with pytest.raises(uploads.UploadError, match="interrupted"):
        local_post.receive_local_upload(meta, io.BytesIO(data[: 600 * 1024]))

    assert files_under(isolated_storages / "uploads") == []
    key, size = local_post.receive_local_upload(meta, io.BytesIO(data))
    assert (key, size) == (post.key, 900 * 1024)


@pytest.mark.parametrize(
    "content_type",
    ["application/json", "multipart/form-data", "multipart/form-data; boundary=caf\u00e9"],
)
def test_a_body_that_is_not_a_multipart_form_is_refused(episode, content_type):
    meta = {"CONTENT_TYPE": content_type, "CONTENT_LENGTH": "10"}

    with pytest.raises(uploads.UploadError, match="multipart/form-data"):
        local_post.receive_local_upload(meta, io.BytesIO(b"0123456789"))


@pytest.mark.django_db(transaction=True)
def test_a_form_posted_twice_never_replaces_the_first_file(live_server, creator_client, episode):
    first = make_wav(1)
    # The same size (the form pins it), other audio: silence after the same header.
    second = first[:44] + bytes(len(first) - 44)
    answer = presign(creator_client, episode, size=len(first)).json()
    url = live_server.url + reverse("episodes:upload_local")

    assert post_form(url, answer["fields"], first).status_code == 204
    again = post_form(url, answer["fields"], second)

    assert again.status_code == 409
    with uploads.uploads_storage().open(answer["key"]) as f:
        assert f.read() == first


# --- issue 10, item 13: nothing before the policy check grows with the body ---


class FieldsBody:
    """A body of ``count`` form fields of ``field_bytes`` each (then nothing), made on demand.

    Counts the bytes the server really read; never holds more than one field.
    """

    def __init__(self, fields: dict, count: int, field_bytes: int, boundary: str) -> None:
        self.head = b"".join(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
            for k, v in fields.items()
        )
        self.boundary = boundary
        self.count = count
        self.field_bytes = field_bytes
        self.total = len(self.head) + sum(len(self._field(i)) for i in range(count))
        self.sent = 0
        self._buffer = self.head
        self._next = 0

    def _field(self, i: int) -> bytes:
        framing = f'--{self.boundary}\r\nContent-Disposition: form-data; name="x{i}"\r\n\r\n'
        return framing.encode() + b"a" * self.field_bytes + b"\r\n"

    def __len__(self) -> int:
        return self.total

    def read(self, n: int = -1) -> bytes:
        n = 65536 if n is None or n < 0 else n
        while len(self._buffer) < n and self._next < self.count:
            self._buffer += self._field(self._next)
            self._next += 1
        chunk, self._buffer = self._buffer[:n], self._buffer[n:]
        self.sent += len(chunk)
        return chunk


@pytest.mark.parametrize(
    ("count", "field_bytes", "reason"),
    [
        pytest.param(40_000, 8 * 1024 - 10, "bytes in all", id="302MB-of-8KB-fields"),
        pytest.param(100_000, 10, "more than 20 fields", id="many-tiny-fields"),
    ],
)
def test_a_body_of_many_fields_is_refused_after_reading_about_the_caps(
    episode, isolated_storages, count, field_bytes, reason
):
    boundary = "fieldsBoundary"
    body = FieldsBody({}, count, field_bytes, boundary)
    meta = {
        "CONTENT_TYPE": f"multipart/form-data; boundary={boundary}",
        "CONTENT_LENGTH": str(len(body)),
    }

    with pytest.raises(uploads.UploadError, match=reason) as refused:
        local_post.receive_local_upload(meta, body)

    assert refused.value.status == 400
    # The caps plus one read chunk and one part's framing, whatever the body's size.
    assert body.sent <= local_post.MAX_FORM_BYTES + local_post.FORM_CHUNK_BYTES + 8 * 1024
    assert files_under(isolated_storages / "uploads") == []


@pytest.mark.parametrize("fault", ["forged", "expired"])
def test_a_bad_policy_is_refused_as_soon_as_it_arrives(episode, isolated_storages, fault):
    signed_at = timezone.now()
    if fault == "expired":
        signed_at -= uploads.PRESIGN_EXPIRY + timedelta(seconds=5)
    post = uploads.presign_upload(
        episode,
        filename="a.wav",
        content_type="audio/wav",
        size_bytes=None,
        local_url="",
        now=signed_at,
    )
    fields = dict(post.fields)
    if fault == "forged":
        fields["policy"] = fields["policy"][:-2] + "xx"
    # Fields the caps allow follow the policy; the file never comes.
    body = FieldsBody(fields, 7, 7 * 1024, "policyBoundary")
    meta = {
        "CONTENT_TYPE": "multipart/form-data; boundary=policyBoundary",
        "CONTENT_LENGTH": str(len(body)),
    }

    with pytest.raises(uploads.UploadError) as refused:
        local_post.receive_local_upload(meta, body)

    assert refused.value.status == 403
    # Refused from the first chunk, not after the fields that follow.
    assert body.sent < body.total // 2
    assert files_under(isolated_storages / "uploads") == []


# --- issue 10, item 17: only a body that reaches its closing boundary is stored ---


@pytest.mark.parametrize(
    "cut",
    [
        pytest.param(lambda head, n: head + 979, id="inside-the-file"),
        pytest.param(lambda head, n: head + n, id="right-after-the-file"),
        pytest.param(lambda head, n: head + n + len("\r\n--xYzBo"), id="inside-the-boundary"),
        pytest.param(
            lambda head, n: head + n + len("\r\n--xYzBoundary123"), id="before-the-final-dashes"
        ),
    ],
)
def test_a_body_cut_before_its_closing_boundary_is_refused(episode, isolated_storages, cut):
    post = uploads.presign_upload(
        episode, filename="a.wav", content_type="audio/wav", size_bytes=None, local_url=""
    )
    body, ctype = multipart(post.fields, 1000)
    head = len(body.parts[0])
    data = b"".join(iter(lambda: body.read(65536), b""))
    truncated = data[: cut(head, 1000)]
    # Content-Length says what was sent, so the byte count cannot tell.
    meta = {"CONTENT_TYPE": ctype, "CONTENT_LENGTH": str(len(truncated))}

    with pytest.raises(uploads.UploadError, match="closing boundary") as refused:
        local_post.receive_local_upload(meta, io.BytesIO(truncated))

    assert refused.value.status == 400
    assert files_under(isolated_storages / "uploads") == []
    # The whole body is stored, exactly the file's bytes.
    meta["CONTENT_LENGTH"] = str(len(data))
    assert local_post.receive_local_upload(meta, io.BytesIO(data)) == (post.key, 1000)
    assert (isolated_storages / "uploads" / post.key).read_bytes() == b"\x01" * 1000


# --- issue 10, item 18: the declared size is the only size accepted ---


@pytest.mark.django_db(transaction=True)
def test_a_file_of_another_size_than_declared_is_refused(live_server, creator_client, episode):
    answer = presign(creator_client, episode, size=1000).json()
    assert answer["max_bytes"] == 1000
    policy = signing.loads(answer["fields"]["policy"], salt=local_post.POLICY_SALT)
    assert (policy["min"], policy["max"]) == (1000, 1000)
    url = live_server.url + reverse("episodes:upload_local")
    root = Path(uploads.uploads_storage().path(""))

    too_big = post_form(url, answer["fields"], b"x" * (3 * 1024 * 1024))
    too_small = post_form(url, answer["fields"], b"x" * 999)

    assert too_big.status_code == 413, too_big.text
    assert too_small.status_code == 400, too_small.text
    assert "1,000 bytes" in too_small.json()["error"]
    assert files_under(root) == []
    exact = post_form(url, answer["fields"], b"x" * 1000)
    assert exact.status_code == 204, exact.text
    assert files_under(root) == [root / answer["key"]]


def test_a_body_too_big_for_the_declared_size_is_refused_before_the_file_is_read(
    episode, isolated_storages
):
    post = uploads.presign_upload(
        episode, filename="a.wav", content_type="audio/wav", size_bytes=1000, local_url=""
    )
    body, ctype = multipart(post.fields, 3 * 1024 * 1024)
    meta = {"CONTENT_TYPE": ctype, "CONTENT_LENGTH": str(len(body))}

    with pytest.raises(uploads.UploadError, match="1,000 bytes") as refused:
        local_post.receive_local_upload(meta, body)

    assert refused.value.status == 413
    assert body.sent <= local_post.FORM_CHUNK_BYTES
    assert files_under(isolated_storages / "uploads") == []
