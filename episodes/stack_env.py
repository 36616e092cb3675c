"""Turn a deployed ``deploy/template.yaml`` stack's outputs into the app's environment.

The rule, documented in ``deploy/README.md``: an output id is PascalCase words and
maps to the same words upper-cased and joined with ``_``
(``UploadsBucket`` -> ``UPLOADS_BUCKET``, ``MediaconvertRoleArn`` ->
``MEDIACONVERT_ROLE_ARN``). Outputs that map to no variable the app reads are
printed as comments, so the whole output is still a valid env file.

No Django import here: the functions take a boto3 client and return plain data.
"""

from __future__ import annotations

import re
from typing import Any

# The variables the app reads (podcasthost/settings.py) that a stack can provide.
APP_ENV_VARS = frozenset(
    {
        "UPLOADS_BUCKET",
        "MEDIA_BUCKET",
        "FEEDS_BUCKET",
        "AWS_REGION",
        "CLOUDFRONT_DOMAIN",
        "CLOUDFRONT_DISTRIBUTION_ID",
        "TRANSCODER_BACKEND",
        "MEDIACONVERT_ROLE_ARN",
        "MEDIACONVERT_QUEUE_ARN",
        "MEDIACONVERT_ENDPOINT_URL",
        "INGEST_QUEUE_URL",
        "JOB_EVENTS_QUEUE_URL",
        "EPISODE_EVENTS_TOPIC_ARN",
        "CDN_LOGS_QUEUE_URL",
    }
)
MEDIACONVERT_BACKEND = "episodes.transcoders.mediaconvert.MediaConvertTranscoder"

_WORD = re.compile(r"[A-Z][a-z0-9]*|[a-z0-9]+")


class StackNotFound(LookupError):
    """The stack does not exist (or the credentials cannot see it)."""


def env_name(output_key: str) -> str:
    """The environment variable an output id maps to: PascalCase -> UPPER_SNAKE_CASE.

    >>> env_name("JobEventsQueueUrl")
    'JOB_EVENTS_QUEUE_URL'
    """
    return "_".join(word.upper() for word in _WORD.findall(output_key))


def stack_outputs(cloudformation: Any, stack_name: str) -> dict[str, str]:
    """The stack's outputs as ``{OutputKey: OutputValue}``.

    Raises ``StackNotFound`` when CloudFormation does not know the stack.
    """
    from botocore.exceptions import ClientError

    try:
        response = cloudformation.describe_stacks(StackName=stack_name)
    except ClientError as exc:
        if "does not exist" in str(exc):
            raise StackNotFound(stack_name) from exc
        raise
    (stack,) = response["Stacks"]
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def env_lines(outputs: dict[str, str], *, region: str) -> list[str]:
    """``KEY=value`` lines for the app, sorted; other outputs as ``# Key: value`` comments.

    ``AWS_REGION`` falls back to ``region`` and ``TRANSCODER_BACKEND`` to the
    MediaConvert backend when the stack does not output them (older stacks).
    """
    env = {"AWS_REGION": region, "TRANSCODER_BACKEND": MEDIACONVERT_BACKEND}
    comments = []
    for key, value in outputs.items():
        name = env_name(key)
        if name in APP_ENV_VARS:
            env[name] = value
        else:
            comments.append(f"# {key}: {value}")
    return [f"{k}={v}" for k, v in sorted(env.items())] + sorted(comments)
