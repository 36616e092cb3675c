"""Presigned POST against a real HTTP S3 endpoint (moto's server)."""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta

import pytest
import requests
from django.urls import reverse
from django.utils import timezone

from episodes.models import Episode
from tests.uploads.conftest import make_wav


def presign(client, episode, **body):
    body = {"filename": "pilot.wav", "content_type": "audio/wav", **body}
    return client.post(
        reverse("episodes:upload_presign", args=[episode.pk]),
        json.dumps(body),
        content_type="application/json",
    )


def complete(client, episode, key, filename="pilot.wav"):
    return client.post(
        reverse("episodes:upload_complete", args=[episode.pk]),
        json.dumps({"key": key, "filename": filename}),
        content_type="application/json",
    )


def test_browser_form_posts_to_s3_and_completion_records_it(
    creator_client, episode, s3_uploads, moto_endpoint
):
    data = make_wav(1)
    answer = presign(creator_client, episode, size=len(data)).json()
    assert answer["url"].startswith(moto_endpoint)

    # Exactly what upload.js sends: the fields in order, then the file last.
    response = requests.post(
        answer["url"],
        data=answer["fields"],
        files={"file": ("pilot.wav", data, "audio/wav")},
        timeout=30,
    )

    assert response.status_code in (200, 201, 204), response.text
    stored = s3_uploads.get_object(Bucket=s3_uploads.bucket, Key=answer["key"])
    assert stored["Body"].read() == data
    assert stored["ContentType"] == "audio/wav"

    done = complete(creator_client, episode, answer["key"])

    assert done.status_code == 200, done.content
    episode.refresh_from_db()
    assert episode.status == Episode.Status.UPLOADED
    assert (episode.source_key, episode.source_bytes) == (answer["key"], len(data))


def test_policy_document_pins_key_size_type_and_expiry(
    creator_client, episode, s3_uploads, settings
):
    settings.UPLOAD_MAX_BYTES = 123_456_789
    before = timezone.now()

    answer = presign(creator_client, episode).json()

    fields = answer["fields"]
    assert fields["x-amz-algorithm"] == "AWS4-HMAC-SHA256"  # SigV4
    policy = json.loads(base64.b64decode(fields["policy"]))
    conditions = policy["conditions"]
    assert {"key": answer["key"]} in conditions
    assert {"Content-Type": "audio/wav"} in conditions
    assert ["content-length-range", 1, 123_456_789] in conditions
    assert {"bucket": s3_uploads.bucket} in conditions
    # No condition loosens the key (e.g. a starts-with on $key).
    assert not [c for c in conditions if isinstance(c, list) and c[0] == "starts-with"]
    expiry = datetime.fromisoformat(policy["expiration"].replace("Z", "+00:00"))
    assert timedelta(minutes=59) <= expiry - before <= timedelta(minutes=61)


def test_completion_refuses_a_missing_object(creator_client, episode, s3_uploads):
    answer = presign(creator_client, episode).json()

    done = complete(creator_client, episode, answer["key"])

    assert done.status_code == 409
    assert "not in storage" in done.json()["error"]
    episode.refresh_from_db()
    assert episode.status == Episode.Status.DRAFT


def test_completion_refuses_an_empty_object(creator_client, episode, s3_uploads):
    answer = presign(creator_client, episode).json()
    s3_uploads.put_object(Bucket=s3_uploads.bucket, Key=answer["key"], Body=b"")

    done = complete(creator_client, episode, answer["key"])

    assert done.status_code == 409
    assert "empty" in done.json()["error"]
    episode.refresh_from_db()
    assert episode.status == Episode.Status.DRAFT


def test_completion_refuses_an_object_over_the_limit(creator_client, episode, s3_uploads, settings):
    answer = presign(creator_client, episode).json()
    s3_uploads.put_object(Bucket=s3_uploads.bucket, Key=answer["key"], Body=b"x" * 2000)
    settings.UPLOAD_MAX_BYTES = 1000

    done = complete(creator_client, episode, answer["key"])

    assert done.status_code == 413
    episode.refresh_from_db()
    assert episode.status == Episode.Status.DRAFT


@pytest.mark.parametrize(
    "key",
    ["uploads/carols-show/other-guid/x.wav", "inbox/carols-show/x.wav", "../etc/passwd", ""],
)
def test_completion_refuses_keys_outside_the_episode(creator_client, episode, s3_uploads, key):
    s3_uploads.put_object(Bucket=s3_uploads.bucket, Key="inbox/carols-show/x.wav", Body=b"x")

    done = complete(creator_client, episode, key)

    assert done.status_code == 403
    episode.refresh_from_db()
    assert episode.status == Episode.Status.DRAFT


@pytest.mark.parametrize("name", ["", ".", "..", ".pilot.wav.1a2b.part", "pilot.wav", "abc-x.wav"])
def test_completion_refuses_names_no_upload_gets(creator_client, episode, s3_uploads, name):
    key = f"uploads/{episode.podcast.slug}/{episode.guid}/{name}"
    if name:
        s3_uploads.put_object(Bucket=s3_uploads.bucket, Key=key, Body=b"x" * 100)

    done = complete(creator_client, episode, key)

    assert done.status_code == 403
    episode.refresh_from_db()
    assert episode.status == Episode.Status.DRAFT


def test_a_declared_size_is_pinned_in_the_s3_policy(
    creator_client, episode, s3_uploads, moto_endpoint
):
    # S3 refuses a POST outside content-length-range with EntityTooLarge/EntityTooSmall
    # (https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-HTTPPOSTConstructPolicy.html).
    # moto (5.2.5) does not evaluate POST policy conditions, so this checks the signed
    # policy itself, and that a form pinned this way still uploads the announced file.
    answer = presign(creator_client, episode, size=1000).json()

    conditions = json.loads(base64.b64decode(answer["fields"]["policy"]))["conditions"]
    assert ["content-length-range", 1000, 1000] in conditions
    assert not [
        c
        for c in conditions
        if c != ["content-length-range", 1000, 1000]
        and isinstance(c, list)
        and c[0] == "content-length-range"
    ]
    assert answer["max_bytes"] == 1000
    exact = requests.post(
        answer["url"],
        data=answer["fields"],
        files={"file": ("pilot.wav", b"x" * 1000, "audio/wav")},
        timeout=30,
    )
    assert exact.status_code in (200, 201, 204), exact.text
    stored = s3_uploads.head_object(Bucket=s3_uploads.bucket, Key=answer["key"])
    assert stored["ContentLength"] == 1000
