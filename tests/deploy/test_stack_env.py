"""The output-to-variable rule and stack_env's behaviour without a stack."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from episodes.stack_env import MEDIACONVERT_BACKEND, env_lines, env_name

from .cfn import REGION


@pytest.mark.parametrize(
    ("output_key", "variable"),
    [
        ("UploadsBucket", "UPLOADS_BUCKET"),
        ("MediaconvertRoleArn", "MEDIACONVERT_ROLE_ARN"),
        ("CloudfrontDistributionId", "CLOUDFRONT_DISTRIBUTION_ID"),
        ("JobEventsQueueUrl", "JOB_EVENTS_QUEUE_URL"),
        ("AwsRegion", "AWS_REGION"),
        ("S3Bucket", "S3_BUCKET"),
    ],
)
def test_output_ids_map_to_upper_snake_case(output_key, variable):
    assert env_name(output_key) == variable


def test_env_lines_sorted_with_unknown_outputs_as_comments():
    lines = env_lines(
        {"UploadsBucket": "pod-in-dev-1", "AppPolicyArn": "arn:aws:iam::1:policy/p"},
        region="eu-central-1",
    )
    assert lines == [
        "AWS_REGION=eu-central-1",
        f"TRANSCODER_BACKEND={MEDIACONVERT_BACKEND}",
        "UPLOADS_BUCKET=pod-in-dev-1",
        "# AppPolicyArn: arn:aws:iam::1:policy/p",
    ]


def test_stack_outputs_override_the_fallbacks():
    lines = env_lines(
        {"AwsRegion": "ap-south-1", "TranscoderBackend": "x.Y"},
        region="eu-central-1",
    )
    assert lines == ["AWS_REGION=ap-south-1", "TRANSCODER_BACKEND=x.Y"]


def test_missing_stack_is_a_command_error_that_says_what_to_do(aws):
    with pytest.raises(CommandError, match="'nope' not found in eu-west-1: deploy"):
        call_command("stack_env", "nope", region=REGION)
