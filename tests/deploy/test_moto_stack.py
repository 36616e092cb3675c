"""The template deploys (what moto models of it), and stack_env turns the stack into env lines."""

from __future__ import annotations

import io
import json

import boto3
import pytest
from django.core.management import call_command

from .cfn import REGION
from .conftest import PARAMETER_SETS, deploy_to_moto


def _stack_env(stack_name: str) -> dict[str, str]:
    out = io.StringIO()
    call_command("stack_env", stack_name, region=REGION, stdout=out)
    lines = out.getvalue().splitlines()
    assert lines, "stack_env printed nothing"
    env = {}
    for line in lines:
        if line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        assert sep and key == key.upper() and value, line
        env[key] = value
    return env


@pytest.mark.parametrize("parameters", sorted(PARAMETER_SETS))
def test_template_creates_in_moto(aws, template, parameters):
    stack = deploy_to_moto(template, "podcasthost", PARAMETER_SETS[parameters])
    assert stack["StackStatus"] == "CREATE_COMPLETE", stack.get("StackStatusReason")
    resources = boto3.client("cloudformation", region_name=REGION).list_stack_resources(
        StackName="podcasthost"
    )["StackResourceSummaries"]
    assert {r["ResourceStatus"] for r in resources} == {"CREATE_COMPLETE"}
    suffix = PARAMETER_SETS[parameters].get("RandomId") or "123456789012"
    buckets = {b["Name"] for b in boto3.client("s3").list_buckets()["Buckets"]}
    assert {name.rsplit("-", 1)[1] for name in buckets} == {suffix}
    assert len(buckets) == 4  # uploads, media, feeds, CDN logs


def test_queues_are_wired_to_their_dead_letter_queues(aws, template):
    deploy_to_moto(template, "podcasthost", PARAMETER_SETS["defaults"])
    env = _stack_env("podcasthost")
    sqs = boto3.client("sqs")
    for url in (env["INGEST_QUEUE_URL"], env["JOB_EVENTS_QUEUE_URL"], env["CDN_LOGS_QUEUE_URL"]):
        attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        redrive = json.loads(attrs["RedrivePolicy"])
        assert "DeadLetterQueue" in redrive["deadLetterTargetArn"]
        assert int(redrive["maxReceiveCount"]) == 5


def test_job_state_rule_targets_the_job_events_queue(aws, template):
    deploy_to_moto(template, "podcasthost", PARAMETER_SETS["defaults"])
    env = _stack_env("podcasthost")
    events = boto3.client("events")
    (rule,) = events.list_rules()["Rules"]
    pattern = json.loads(rule["EventPattern"])
    assert pattern["detail-type"] == ["MediaConvert Job State Change"]
    (target,) = events.list_targets_by_rule(Rule=rule["Name"])["Targets"]
    queue_arn = boto3.client("sqs").get_queue_attributes(
        QueueUrl=env["JOB_EVENTS_QUEUE_URL"], AttributeNames=["QueueArn"]
    )["Attributes"]["QueueArn"]
    assert target["Arn"] == queue_arn


def test_stack_env_prints_the_apps_environment(aws, template):
    deploy_to_moto(template, "podcasthost", PARAMETER_SETS["random-id"])
    env = _stack_env("podcasthost")

    role_arn = boto3.client("iam").list_roles()["Roles"][0]["Arn"]
    sqs = boto3.client("sqs")
    assert env == {
        "AWS_REGION": REGION,
        "UPLOADS_BUCKET": "pod-in-prod-x7k2q9",
        "MEDIA_BUCKET": "pod-out-prod-x7k2q9",
        "FEEDS_BUCKET": "pod-feeds-prod-x7k2q9",
        "TRANSCODER_BACKEND": "episodes.transcoders.mediaconvert.MediaConvertTranscoder",
        "MEDIACONVERT_ROLE_ARN": role_arn,
        "INGEST_QUEUE_URL": env["INGEST_QUEUE_URL"],
        "JOB_EVENTS_QUEUE_URL": env["JOB_EVENTS_QUEUE_URL"],
        "EPISODE_EVENTS_TOPIC_ARN": env["EPISODE_EVENTS_TOPIC_ARN"],
        "CDN_LOGS_QUEUE_URL": env["CDN_LOGS_QUEUE_URL"],
        # What moto does not model shows its placeholder, passed through untouched.
        "MEDIACONVERT_QUEUE_ARN": f"arn:aws:removed:{REGION}:123456789012:TranscodeQueue",
        "CLOUDFRONT_DOMAIN": "removed-Distribution",
        "CLOUDFRONT_DISTRIBUTION_ID": "removed-Distribution",
    }
    assert env["INGEST_QUEUE_URL"] in sqs.list_queues()["QueueUrls"]
    assert env["JOB_EVENTS_QUEUE_URL"] in sqs.list_queues()["QueueUrls"]
    assert "IngestQueue" in env["INGEST_QUEUE_URL"]
    assert "JobEventsQueue" in env["JOB_EVENTS_QUEUE_URL"]
    topics = {t["TopicArn"] for t in boto3.client("sns").list_topics()["Topics"]}
    assert env["EPISODE_EVENTS_TOPIC_ARN"] in topics
    assert "CdnLogsQueue" in env["CDN_LOGS_QUEUE_URL"]


def test_stack_env_lists_informational_outputs_as_comments(aws, template):
    deploy_to_moto(template, "podcasthost", PARAMETER_SETS["defaults"])
    out = io.StringIO()
    call_command("stack_env", "podcasthost", region=REGION, stdout=out)
    comments = [line for line in out.getvalue().splitlines() if line.startswith("#")]
    (policy_line,) = [c for c in comments if c.startswith("# AppPolicyArn: ")]
    policy_arn = policy_line.split(": ", 1)[1]
    assert boto3.client("iam").get_policy(PolicyArn=policy_arn)["Policy"]["Arn"] == policy_arn
    assert any(c.startswith("# AlertsTopicArn: arn:aws:sns:") for c in comments)
