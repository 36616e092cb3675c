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
    first, second = make_wav(1), make_wav(1, rate=8000)
    answer = presign(creator_client, episode, size=len(first)).json()
    url = live_server.url + reverse("episodes:upload_local")

    assert post_form(url, answer["fields"], first).status_code == 204
    again = post_form(url, answer["fields"], second)

    assert again.status_code == 409
    with uploads.uploads_storage().open(answer["key"]) as f:
        assert f.read() == first
