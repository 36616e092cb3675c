"""manage.py preflight: one line per check, non-zero exit with the fix when one fails."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
from botocore.stub import Stubber
from django.core.management import call_command
from django.core.management.base import CommandError

from episodes.preflight import check_transcoder
from podcasthost.services import free_port
from tests.servers import web_server

from .cfn import REGION

MANAGE_PY = Path(__file__).resolve().parents[2] / "manage.py"
S3_BACKEND = "podcasthost.storage.s3.S3Storage"
QUEUE_ARN = f"arn:aws:mediaconvert:{REGION}:123456789012:queues/podcasthost-prod"
ROLE_ARN = "arn:aws:iam::123456789012:role/podcasthost-MediaConvertRole-X"


def _preflight() -> tuple[list[str], CommandError | None]:
    """Run the command; its lines and the CommandError it raised, if any."""
    out = io.StringIO()
    try:
        call_command("preflight", stdout=out)
    except CommandError as exc:
        return out.getvalue().splitlines(), exc
    return out.getvalue().splitlines(), None


def _line(lines: list[str], name: str) -> str:
    (line,) = [line for line in lines if line[5:].startswith(f"{name}:")]  # after "FAIL "
    return line


@pytest.fixture
def local_defaults(settings, redis_url, live_server):
    """The one-machine configuration: folders (from tests/conftest.py), imageio ffmpeg, Redis,
    and this instance's web server at PUBLIC_BASE_URL."""
    settings.PUBLIC_BASE_URL = live_server.url
    settings.TRANSCODER = {"BACKEND": "episodes.transcoders.ffmpeg.FFmpegTranscoder", "OPTIONS": {}}
    settings.FFMPEG_BINARY = ""
    settings.CLOUDFRONT_DOMAIN = ""
    settings.CLOUDFRONT_DISTRIBUTION_ID = ""
    settings.CELERY_BROKER_URL = redis_url
    return settings


@pytest.fixture
def s3_storages(aws, local_defaults):
    """uploads/media/feeds on moto S3 buckets, as on a deployed stack."""
    s3 = boto3.client("s3", region_name=REGION)
    # django-storages takes AWS_S3_ENDPOINT_URL as the default endpoint: "" (unset
    # in settings.py) is an invalid endpoint, None means AWS's.
    local_defaults.AWS_S3_ENDPOINT_URL = None
    storages = dict(local_defaults.STORAGES)
    for alias in ("uploads", "media", "feeds"):
        bucket = f"pod-{alias}-test"
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
        storages[alias] = {
            "BACKEND": S3_BACKEND,
            "OPTIONS": {"bucket_name": bucket, "region_name": REGION, "file_overwrite": True},
        }
    local_defaults.STORAGES = storages
    return s3


def test_local_defaults_pass_every_check(local_defaults, isolated_storages):
    lines, error = _preflight()
    assert error is None, "\n".join(lines)
    assert [line.split(":")[0] for line in lines] == [
        "ok   storage uploads",
        "ok   storage media",
        "ok   storage feeds",
        "ok   transcoder ffmpeg",
        "skip cloudfront",
        "ok   broker",
        "ok   public base URL",
    ]
    assert "libmp3lame, aac, libopus, loudnorm, ebur128" in _line(lines, "transcoder ffmpeg")
    # The probes were deleted again.
    assert not [p for p in isolated_storages.rglob("*") if p.is_file()]


def test_s3_storages_and_cloudfront_pass(s3_storages, local_defaults):
    cloudfront = boto3.client("cloudfront")
    dist = cloudfront.create_distribution(
        DistributionConfig={
            "CallerReference": "preflight-test",
            "Comment": "",
            "Enabled": True,
            "Origins": {
                "Quantity": 1,
                "Items": [
                    {
                        "Id": "media",
                        "DomainName": "pod-media-test.s3.amazonaws.com",
                        "S3OriginConfig": {"OriginAccessIdentity": ""},
                    }
                ],
            },
            "DefaultCacheBehavior": {
                "TargetOriginId": "media",
                "ViewerProtocolPolicy": "redirect-to-https",
                "CachePolicyId": "658327ea-f89d-4fab-a63d-7e88639e58f6",
            },
        }
    )["Distribution"]
    local_defaults.CLOUDFRONT_DISTRIBUTION_ID = dist["Id"]
    local_defaults.CLOUDFRONT_DOMAIN = dist["DomainName"]

    lines, error = _preflight()

    assert error is None, "\n".join(lines)
    assert "S3 bucket pod-uploads-test: wrote, read back and deleted uploads/preflight/" in (
        _line(lines, "storage uploads")
    )
    assert _line(lines, "cloudfront").startswith(f"ok   cloudfront: distribution {dist['Id']}")
    for alias in ("uploads", "media", "feeds"):
        assert s3_storages.list_objects_v2(Bucket=f"pod-{alias}-test")["KeyCount"] == 0


def test_missing_bucket_fails_naming_the_variable(s3_storages, local_defaults):
    s3_storages.delete_bucket(Bucket="pod-feeds-test")

    lines, error = _preflight()

    assert error is not None
    assert "storage feeds" in str(error)
    line = _line(lines, "storage feeds")
    assert line.startswith("FAIL storage feeds: cannot write a probe object in S3 bucket pod-feeds")
    assert "NoSuchBucket" in line
    assert "set FEEDS_BUCKET to the stack's bucket" in line
    assert _line(lines, "storage uploads").startswith("ok ")


def test_missing_ffmpeg_fails_with_the_fix(local_defaults, tmp_path):
    missing = tmp_path / "no-such-ffmpeg"
    local_defaults.FFMPEG_BINARY = str(missing)

    lines, error = _preflight()

    assert error is not None
    line = _line(lines, "transcoder ffmpeg")
    assert line.startswith(f"FAIL transcoder ffmpeg: cannot run {missing}")
    assert "set FFMPEG_BINARY to an ffmpeg built with libmp3lame" in line


def test_unreachable_broker_fails_with_the_fix(local_defaults):
    local_defaults.CELERY_BROKER_URL = "redis://127.0.0.1:9/0"  # discard port: nothing listens

    lines, error = _preflight()

    assert error is not None
    line = _line(lines, "broker")
    assert line.startswith("FAIL broker: redis://127.0.0.1:9/0 does not answer")
    assert "CELERY_BROKER_URL" in line


def test_cloudfront_domain_without_distribution_id_fails(local_defaults):
    local_defaults.CLOUDFRONT_DOMAIN = "d111111abcdef8.cloudfront.net"

    lines, error = _preflight()

    assert error is not None
    assert "CLOUDFRONT_DISTRIBUTION_ID is not" in _line(lines, "cloudfront")


def test_unknown_distribution_fails(aws, local_defaults):
    local_defaults.CLOUDFRONT_DISTRIBUTION_ID = "E000000000000"

    lines, error = _preflight()

    assert error is not None
    assert _line(lines, "cloudfront").startswith("FAIL cloudfront: distribution E000000000000")


# MediaConvert is not modelled by moto: botocore's Stubber answers instead.
@pytest.fixture
def mediaconvert(settings):
    settings.TRANSCODER = {
        "BACKEND": "episodes.transcoders.mediaconvert.MediaConvertTranscoder",
        "OPTIONS": {},
    }
    settings.MEDIACONVERT_ROLE_ARN = ROLE_ARN
    settings.MEDIACONVERT_QUEUE_ARN = QUEUE_ARN
    client = boto3.client(
        "mediaconvert",
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    with Stubber(client) as stubber:
        yield client, stubber


def _queue(status: str) -> dict:
    return {"Queue": {"Name": "podcasthost-prod", "Arn": QUEUE_ARN, "Status": status}}


def test_mediaconvert_passes_when_get_queue_answers_for_the_stacks_queue(mediaconvert):
    client, stubber = mediaconvert
    # Only GetQueue on the queue named by MEDIACONVERT_QUEUE_ARN: the action the
    # stack's AppPolicy grants on that ARN (nothing on "*").
    stubber.add_response("get_queue", _queue("ACTIVE"), {"Name": "podcasthost-prod"})
    check = check_transcoder(lambda service: {"mediaconvert": client}[service])
    assert check.ok, check.line()
    assert check.line().startswith(
        "ok   transcoder mediaconvert: GetQueue answers for queue podcasthost-prod (ACTIVE)"
    )
    stubber.assert_no_pending_responses()


def test_mediaconvert_paused_queue_fails_with_the_fix(mediaconvert):
    client, stubber = mediaconvert
    stubber.add_response("get_queue", _queue("PAUSED"), {"Name": "podcasthost-prod"})
    check = check_transcoder(lambda service: client)
    assert check.failed
    assert check.message.startswith("queue podcasthost-prod is PAUSED; fix: resume it")


def test_mediaconvert_access_denied_points_at_the_app_policy(mediaconvert):
    client, stubber = mediaconvert
    stubber.add_client_error("get_queue", "AccessDeniedException", "not authorized")
    check = check_transcoder(lambda service: client)
    assert check.failed
    assert "AccessDeniedException" in check.message
    assert "AppPolicyArn" in check.message


def test_mediaconvert_without_role_fails_before_calling_aws(mediaconvert, settings):
    client, _ = mediaconvert
    settings.MEDIACONVERT_ROLE_ARN = ""
    check = check_transcoder(lambda service: client)
    assert check.failed
    assert check.message.startswith("MEDIACONVERT_ROLE_ARN not set; fix: run `manage.py stack_env")


def _manage_py(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "DJANGO_"))}
    return subprocess.run(
        [sys.executable, str(MANAGE_PY), "preflight"],
        env={**clean, "DJANGO_SETTINGS_MODULE": "podcasthost.settings", **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_exit_status_is_zero_when_all_pass_and_one_on_failure(tmp_path, redis_url):
    port = free_port(0)
    env = {"VAR_DIR": str(tmp_path / "var"), "CELERY_BROKER_URL": redis_url, "PORT": str(port)}

    with web_server(env, port):  # the instance's own web server, at PUBLIC_BASE_URL
        passed = _manage_py(env)
        failed = _manage_py({**env, "FFMPEG_BINARY": str(tmp_path / "missing-ffmpeg")})

    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "FAIL" not in passed.stdout
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "FAIL transcoder ffmpeg" in failed.stdout
    assert "1 check(s) failed: transcoder ffmpeg" in failed.stderr
