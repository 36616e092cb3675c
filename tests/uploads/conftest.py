"""Fixtures for upload and ingest tests: creators, moto's S3 server, gunicorn, WAV files."""

from __future__ import annotations

import io
import json
import math
import os
import struct
import subprocess
import sys
import time
import uuid
import wave
from pathlib import Path

import boto3
import pytest
import requests

from podcasthost.services import free_port

REPO_ROOT = Path(__file__).resolve().parents[2]


def make_wav(seconds: float, *, rate: int = 44100, channels: int = 2) -> bytes:
    """A real 16-bit PCM WAV: a 441 Hz tone."""
    period = [int(8000 * math.sin(2 * math.pi * n / 100)) for n in range(100)]
    block = b"".join(struct.pack("<h", v) * channels for v in period)
    size = int(seconds * rate) * 2 * channels
    samples = (block * (size // len(block) + 1))[:size]
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(samples)
    return buf.getvalue()


@pytest.fixture
def creator(make_creator):
    return make_creator("carol")


@pytest.fixture
def podcast(make_podcast, creator):
    return make_podcast(members=[creator], slug="carols-show", title="Carol's show")


@pytest.fixture
def episode(make_episode, podcast):
    return make_episode(podcast, title="Pilot", slug="pilot")


@pytest.fixture
def creator_client(client, creator):
    client.force_login(creator)
    return client


@pytest.fixture(scope="session")
def moto_endpoint():
    """moto's S3/SQS HTTP server on 127.0.0.1 and a free port."""
    from moto.server import ThreadedMotoServer

    port = free_port(0)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture
def s3_uploads(settings, moto_endpoint, aws_credentials):
    """The ``uploads`` storage as our S3 backend on moto's server; returns a client."""
    bucket = f"uploads-{uuid.uuid4().hex[:12]}"
    client = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1")
    client.create_bucket(Bucket=bucket)
    storages = dict(settings.STORAGES)
    storages["uploads"] = {
        "BACKEND": "podcasthost.storage.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": bucket,
            "region_name": "us-east-1",
            "endpoint_url": moto_endpoint,
            "signature_version": "s3v4",
            "addressing_style": "path",
            "file_overwrite": True,
            "default_acl": None,
        },
    }
    settings.STORAGES = storages
    client.bucket = bucket
    return client


@pytest.fixture
def gunicorn_uploads(tmp_path, settings):
    """The app under gunicorn (real HTTP, streamed request bodies) with a 1 MiB upload limit.

    Returns ``(base_url, uploads_root)``; the test process signs policies with
    the same SECRET_KEY and points its uploads storage at the same folder.
    """
    var_dir = tmp_path / "var"
    port = free_port(0)
    secret = "gunicorn-test-" + uuid.uuid4().hex * 2
    env = {
        **os.environ,
        "VAR_DIR": str(var_dir),
        "SECRET_KEY": secret,
        "UPLOAD_MAX_BYTES": str(1024 * 1024),
        "DEBUG": "1",
        "LOG_LEVEL": "WARNING",
    }
    env.pop("UPLOADS_BUCKET", None)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
            "podcasthost.wsgi:application",
        ],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            requests.get(f"{base}/uploads/local", timeout=10)
            break
        except requests.RequestException:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError(proc.stderr.read().decode()) from None
            time.sleep(0.2)
    settings.SECRET_KEY = secret
    settings.UPLOAD_MAX_BYTES = 1024 * 1024
    storages = dict(settings.STORAGES)
    storages["uploads"] = {
        "BACKEND": "podcasthost.storage.filesystem.FileSystemStorage",
        "OPTIONS": {"location": str(var_dir / "uploads")},
    }
    settings.STORAGES = storages
    try:
        yield base, var_dir / "uploads"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def make_tagged_audio(path: Path, *, title: str | None = None, seconds: float = 1.0) -> Path:
    """A real audio file made by ffmpeg (format from the suffix), with an optional title tag."""
    from episodes.ingest import ffmpeg_binary

    command = [ffmpeg_binary(), "-v", "error", "-y", "-f", "lavfi", "-i", f"sine=d={seconds}"]
    if title is not None:
        command += ["-metadata", f"title={title}"]
    subprocess.run([*command, str(path)], check=True)
    return path


@pytest.fixture
def sqs_ingest(settings, aws_credentials):
    """In-process moto: an S3 uploads bucket notifying an SQS queue (with a DLQ) of inbox/ drops.

    The queue's visibility timeout is 0 so a kept message is received again at once;
    its redrive policy moves a message to the DLQ after 2 receives.
    """
    from moto import mock_aws

    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        sqs = boto3.client("sqs", region_name="us-east-1")
        s3.create_bucket(Bucket="input-bucket")
        dlq = sqs.create_queue(QueueName="ingest-dlq")["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])
        redrive = {
            "deadLetterTargetArn": dlq_arn["Attributes"]["QueueArn"],
            "maxReceiveCount": "2",
        }
        queue = sqs.create_queue(
            QueueName="ingest",
            Attributes={"VisibilityTimeout": "0", "RedrivePolicy": json.dumps(redrive)},
        )["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])
        s3.put_bucket_notification_configuration(
            Bucket="input-bucket",
            NotificationConfiguration={
                "QueueConfigurations": [
                    {
                        "QueueArn": queue_arn["Attributes"]["QueueArn"],
                        "Events": ["s3:ObjectCreated:*"],
                        # As deploy/template.yaml: only drops, not the copies under uploads/.
                        "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "inbox/"}]}},
                    }
                ]
            },
        )
        storages = dict(settings.STORAGES)
        storages["uploads"] = {
            "BACKEND": "podcasthost.storage.s3.S3Storage",
            # endpoint_url None: the default (settings.AWS_S3_ENDPOINT_URL) is "" here.
            "OPTIONS": {
                "bucket_name": "input-bucket",
                "region_name": "us-east-1",
                "endpoint_url": None,
            },
        }
        settings.STORAGES = storages
        settings.INGEST_QUEUE_URL = queue
        yield {"s3": s3, "sqs": sqs, "queue": queue, "dlq": dlq, "bucket": "input-bucket"}
