"""Checks that the configured pipeline can work, run before the first upload.

Each check returns a ``Check``: passed, failed (with the fix in the message) or
skipped (not configured). Settings are read when a check runs, never at import.
AWS clients come from ``client_factory`` so callers choose credentials and
endpoints; the default builds boto3 clients from the app's settings.
"""

from __future__ import annotations

import contextlib
import subprocess
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile

from episodes.probe import ffmpeg_binary
from podcasthost.storage import get_storage

# Each storage's settings variable, and where its probe object goes: under a
# prefix the stack's AppPolicy lets the app write (uploads/ in the uploads bucket).
STORAGE_VARIABLES = {"uploads": "UPLOADS_BUCKET", "media": "MEDIA_BUCKET", "feeds": "FEEDS_BUCKET"}
PROBE_PREFIXES = {"uploads": "uploads/preflight/", "media": "preflight/", "feeds": "preflight/"}
# What the presets need: MP3, AAC and Opus encoders, EBU R128 loudness filters.
FFMPEG_ENCODERS = ("libmp3lame", "aac", "libopus")
FFMPEG_FILTERS = ("loudnorm", "ebur128")
STACK_ENV_HINT = "run `manage.py stack_env <stack-name>` and use its lines"

ClientFactory = Callable[[str], Any]


@dataclass(frozen=True)
class Check:
    """One check's result. ``ok`` is None when the check does not apply."""

    name: str
    ok: bool | None
    message: str

    @property
    def failed(self) -> bool:
        return self.ok is False

    def line(self) -> str:
        status = {True: "ok  ", False: "FAIL", None: "skip"}[self.ok]
        return f"{status} {self.name}: {self.message}"


def boto3_client(service: str) -> Any:
    """A boto3 client for ``service`` in the app's region (and endpoint, for MediaConvert)."""
    import boto3

    kwargs: dict[str, Any] = {"region_name": settings.AWS_REGION}
    if service == "mediaconvert" and settings.MEDIACONVERT_ENDPOINT_URL:
        kwargs["endpoint_url"] = settings.MEDIACONVERT_ENDPOINT_URL
    return boto3.client(service, **kwargs)


def run_checks(client_factory: ClientFactory = boto3_client) -> list[Check]:
    """Every check, in the order a new deployment should fix them."""
    checks = [check_storage(alias) for alias in STORAGE_VARIABLES]
    checks.append(check_transcoder(client_factory))
    checks.append(check_cloudfront(client_factory))
    checks.append(check_broker(settings.CELERY_BROKER_URL))
    checks.append(check_public_base_url())
    return checks


# ------------------------------------------------------------------ storage
def _describe(storage: Any) -> str:
    return storage.describe()


def check_storage(alias: str) -> Check:
    """Write, read back and delete a probe object in the ``alias`` storage.

    Never raises: any error becomes a failed check naming the variable to fix.
    """
    name = f"storage {alias}"
    variable = STORAGE_VARIABLES[alias]
    try:
        storage = get_storage(alias)
    except Exception as exc:  # a broken STORAGES entry: report, don't crash
        return Check(name, False, f"cannot be built ({exc}); fix: check {variable}.")
    where = _describe(storage)
    if not storage.serves_locally:
        fix = (
            f"fix: create the bucket or set {variable} to the stack's bucket ({STACK_ENV_HINT}), "
            "check AWS_REGION, and give these credentials the stack's AppPolicyArn."
        )
    else:
        fix = f"fix: make the folder writable by this user, or set {variable} to an S3 bucket."
    payload = f"podcasthost preflight {uuid.uuid4().hex}\n".encode()
    key = f"{PROBE_PREFIXES[alias]}{uuid.uuid4().hex}.txt"
    step = "write"
    saved = None
    try:
        saved = storage.save(key, ContentFile(payload))
        step = "read back"
        with storage.open(saved, "rb") as f:
            if f.read() != payload:
                return Check(name, False, f"{where}: read back other bytes than written; {fix}")
        step = "delete"
        storage.delete(saved)
        saved = None
    except Exception as exc:
        return Check(name, False, f"cannot {step} a probe object in {where} ({exc}); {fix}")
    finally:
        if saved is not None:
            # Best effort: the failure that got us here is already reported.
            with contextlib.suppress(Exception):
                storage.delete(saved)
    return Check(name, True, f"{where}: wrote, read back and deleted {key}")


# --------------------------------------------------------------- transcoder
def uses_mediaconvert(backend: str) -> bool:
    """Whether the ``TRANSCODER["BACKEND"]`` dotted path names the MediaConvert backend."""
    return ".mediaconvert." in backend.lower()


def check_transcoder(client_factory: ClientFactory = boto3_client) -> Check:
    """The configured transcoder can run: ffmpeg with the encoders, or MediaConvert answers."""
    backend = settings.TRANSCODER["BACKEND"]
    if uses_mediaconvert(backend):
        return check_mediaconvert(
            client_factory("mediaconvert"),
            role_arn=settings.MEDIACONVERT_ROLE_ARN,
            queue_arn=settings.MEDIACONVERT_QUEUE_ARN,
        )
    return check_ffmpeg(ffmpeg_binary())


def _listed_names(binary: str, flag: str) -> set[str]:
    """Names in ``ffmpeg -encoders`` / ``-filters`` output (the second column)."""
    out = subprocess.run(
        [binary, "-hide_banner", flag], capture_output=True, text=True, check=True, timeout=30
    ).stdout
    return {parts[1] for parts in (line.split() for line in out.splitlines()) if len(parts) > 1}


def check_ffmpeg(binary: str) -> Check:
    """ffmpeg at ``binary`` runs and has the encoders and filters the presets use."""
    name = "transcoder ffmpeg"
    fix = (
        "fix: set FFMPEG_BINARY to an ffmpeg built with libmp3lame, aac, libopus, loudnorm "
        "and ebur128, or unset it to use the one from the imageio-ffmpeg package."
    )
    try:
        encoders = _listed_names(binary, "-encoders")
        filters = _listed_names(binary, "-filters")
    except (OSError, subprocess.SubprocessError) as exc:
        return Check(name, False, f"cannot run {binary} ({exc}); {fix}")
    missing = [e for e in FFMPEG_ENCODERS if e not in encoders]
    missing += [f for f in FFMPEG_FILTERS if f not in filters]
    if missing:
        return Check(name, False, f"{binary} lacks {', '.join(missing)}; {fix}")
    return Check(name, True, f"{binary} has {', '.join(FFMPEG_ENCODERS + FFMPEG_FILTERS)}")


def check_mediaconvert(client: Any, *, role_arn: str, queue_arn: str) -> Check:
    """The MediaConvert role and queue are set, ``GetQueue`` answers and the queue is active.

    GetQueue authorizes on the queue's ARN, so the stack's AppPolicy grants it
    on that queue only (https://docs.aws.amazon.com/service-authorization/latest/reference/list_awselementalmediaconvert.html).
    """
    name = "transcoder mediaconvert"
    unset = [
        var
        for var, value in (
            ("MEDIACONVERT_ROLE_ARN", role_arn),
            ("MEDIACONVERT_QUEUE_ARN", queue_arn),
        )
        if not value
    ]
    if unset:
        return Check(name, False, f"{' and '.join(unset)} not set; fix: {STACK_ENV_HINT}.")
    queue_name = queue_arn.rsplit("/", 1)[-1]
    try:
        queue = client.get_queue(Name=queue_name)["Queue"]
    except Exception as exc:
        return Check(
            name,
            False,
            f"GetQueue on queue {queue_name} failed ({exc}); fix: check AWS_REGION and "
            "MEDIACONVERT_QUEUE_ARN, and give these credentials the stack's AppPolicyArn.",
        )
    status = queue.get("Status", "ACTIVE")
    if status != "ACTIVE":
        # A paused queue accepts jobs and never runs them: episodes would stall.
        return Check(
            name,
            False,
            f"queue {queue_name} is {status}; fix: resume it (MediaConvert console, or "
            f"`aws mediaconvert update-queue --name {queue_name} --status ACTIVE`).",
        )
    return Check(name, True, f"GetQueue answers for queue {queue_name} (ACTIVE); role {role_arn}")


# ---------------------------------------------------------------- CloudFront
def check_cloudfront(client_factory: ClientFactory = boto3_client) -> Check:
    """When configured, the distribution exists and serves ``CLOUDFRONT_DOMAIN``."""
    name = "cloudfront"
    distribution_id = settings.CLOUDFRONT_DISTRIBUTION_ID
    domain = settings.CLOUDFRONT_DOMAIN
    if not distribution_id:
        if domain:
            return Check(
                name,
                False,
                "CLOUDFRONT_DOMAIN is set but CLOUDFRONT_DISTRIBUTION_ID is not, so published "
                f"feeds are never invalidated; fix: {STACK_ENV_HINT}.",
            )
        return Check(name, None, "not configured; public URLs use PUBLIC_BASE_URL")
    try:
        response = client_factory("cloudfront").get_distribution(Id=distribution_id)
    except Exception as exc:
        return Check(
            name,
            False,
            f"distribution {distribution_id} not found ({exc}); fix: set "
            f"CLOUDFRONT_DISTRIBUTION_ID ({STACK_ENV_HINT}) and allow cloudfront:GetDistribution.",
        )
    dist = response["Distribution"]
    served = {dist["DomainName"], *dist["DistributionConfig"].get("Aliases", {}).get("Items", [])}
    if domain and domain not in served:
        return Check(
            name,
            False,
            f"distribution {distribution_id} serves {', '.join(sorted(served))}, not "
            f"CLOUDFRONT_DOMAIN={domain}; fix: {STACK_ENV_HINT}.",
        )
    return Check(name, True, f"distribution {distribution_id} serves {dist['DomainName']}")


# -------------------------------------------------------------------- broker
def check_broker(url: str) -> Check:
    """The Celery broker at ``url`` accepts a connection (one retry)."""
    from podcasthost.broker import broker_problem

    name = "broker"
    shown, exc = broker_problem(url, timeout_seconds=10)
    if exc is not None:
        return Check(
            name,
            False,
            f"{shown} does not answer ({exc}); fix: start Redis (`make run` starts one) or "
            "point CELERY_BROKER_URL / REDIS_URL at a running broker.",
        )
    return Check(name, True, f"{shown} answers")


# ---------------------------------------------------------- public base URL
def check_public_base_url() -> Check:
    """``PUBLIC_BASE_URL`` answers as this instance (its ``/healthz`` names our instance id)."""
    from podcasthost.instance import public_base_url_problem

    problem = public_base_url_problem()
    if problem:
        return Check("public base URL", False, problem)
    return Check("public base URL", True, f"{settings.PUBLIC_BASE_URL} answers as this instance")
