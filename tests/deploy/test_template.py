"""deploy/template.yaml: linted, scanned, and its resolved policies checked as AWS sees them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from episodes.stack_env import APP_ENV_VARS, env_name

from .cfn import APP_ORIGIN, TEMPLATE_PATH, Stack, as_list, statements

BIN = Path(sys.executable).parent

# Actions the app needs that AWS authorizes only on "*": none. MediaConvert's
# ListJobs and DescribeEndpoints are such actions, and the app needs neither
# (regional endpoints; jobs followed by id); preflight uses GetQueue on the queue.
# https://docs.aws.amazon.com/service-authorization/latest/reference/list_awselementalmediaconvert.html
STAR_ONLY_ACTIONS: set[str] = set()
# MediaConvert assigns job ids at run time, so jobs/* is the narrowest job ARN.
# Transcription jobs are named per run at run time (podcasthost-episode-…).
RUNTIME_ARN_PREFIXES = (
    "arn:aws:mediaconvert:eu-west-1:123456789012:jobs/",
    "arn:aws:transcribe:eu-west-1:123456789012:transcription-job/podcasthost-",
)
CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"
BUCKETS = ("UploadsBucket", "MediaBucket", "FeedsBucket")


def _run(args: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, check=False, timeout=300)


def test_cfn_lint_reports_nothing():
    result = _run([str(BIN / "cfn-lint"), str(TEMPLATE_PATH)])
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == "", result.stdout


@pytest.fixture(scope="module")
def checkov_report() -> dict[str, Any]:
    """One checkov run per session: it takes seconds to start."""
    result = _run(
        [
            str(BIN / "checkov"),
            "--file",
            str(TEMPLATE_PATH),
            "--framework",
            "cloudformation",
            "--skip-download",  # offline: no guideline download
            "--output",
            "json",
        ]
    )
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-5000:]
    return json.loads(result.stdout)


def test_checkov_has_no_failed_check(checkov_report):
    failed = [
        f"{c['check_id']} {c['resource']}: {c['check_name']}"
        for c in checkov_report["results"]["failed_checks"]
    ]
    assert checkov_report["summary"]["parsing_errors"] == 0
    assert not failed, "\n".join(failed)
    assert checkov_report["summary"]["passed"] > 30


def test_every_checkov_skip_is_justified_and_used(template, checkov_report):
    skipped = {(c["check_id"], c["resource"]) for c in checkov_report["results"]["skipped_checks"]}
    for lid, res in template["Resources"].items():
        for skip in res.get("Metadata", {}).get("checkov", {}).get("skip", []):
            assert len(skip.get("comment", "").split()) >= 5, f"{lid} {skip['id']}: say why"
            # A skip of a check that never runs here is dead configuration.
            assert (skip["id"], f"{res['Type']}.{lid}") in skipped, f"{lid} {skip['id']} unused"


# ----------------------------------------------------------------- policies
def _policy_arns(stack: Stack) -> list[tuple[str, str]]:
    """Every ARN named in a policy's Resource or Condition, with its holder."""
    found = []

    def walk(node: Any, holder: str) -> None:
        if isinstance(node, str) and node.startswith("arn:"):
            found.append((holder, node))
        elif isinstance(node, list):
            for n in node:
                walk(n, holder)
        elif isinstance(node, dict):
            for n in node.values():
                walk(n, holder)

    for holder, doc in stack.policy_documents():
        for st in statements(doc):
            walk(st.get("Resource"), holder)
            walk(st.get("Condition"), holder)
    return found


def test_every_policy_arn_names_a_resource_of_this_stack(stack):
    own = stack.resource_arns()
    arns = _policy_arns(stack)
    assert len(arns) > 20
    for holder, arn in arns:
        if arn.startswith(RUNTIME_ARN_PREFIXES):
            continue
        base = arn.split("/", 1)[0] if arn.startswith("arn:aws:s3:::") else arn
        assert base in own, f"{holder} names {arn}, which is no resource of this stack"


def test_uploads_bucket_arn_follows_random_id(stack):
    """The seed's defect: ARNs re-typed with the account id even when RandomId is set."""
    name = stack.ref("UploadsBucket")
    random_id = stack.parameters["RandomId"]
    assert name.endswith(random_id or "123456789012")
    policy = stack.props("IngestQueuePolicy")["PolicyDocument"]
    (st,) = statements(policy)
    assert st["Condition"]["ArnEquals"]["aws:SourceArn"] == stack.arn("UploadsBucket")


def test_no_allow_on_star_except_where_aws_has_no_narrower_resource(stack):
    for holder, doc in stack.policy_documents():
        for st in statements(doc):
            if st["Effect"] != "Allow":
                continue
            assert st.get("Principal") != "*", f"{holder}: Allow to anyone"
            actions = set(as_list(st["Action"]))
            assert not any("*" in a for a in actions), f"{holder}: wildcard action {actions}"
            if "*" in as_list(st.get("Resource", [])):
                assert actions <= STAR_ONLY_ACTIONS, f"{holder}: {actions} on *"


def test_pass_role_is_only_for_the_mediaconvert_role_and_service(stack):
    grants = [
        st
        for _, doc in stack.policy_documents()
        for st in statements(doc)
        if "iam:PassRole" in as_list(st["Action"])
    ]
    assert len(grants) == 1
    (st,) = grants
    assert as_list(st["Resource"]) == [stack.arn("MediaConvertRole")]
    assert st["Condition"] == {
        "StringEquals": {"iam:PassedToService": "mediaconvert.amazonaws.com"}
    }


def _allowed(stack: Stack, holder: str, action: str) -> set[str]:
    doc = dict(stack.policy_documents())[holder]
    return {
        r
        for st in statements(doc)
        if st["Effect"] == "Allow" and action in as_list(st["Action"])
        for r in as_list(st["Resource"])
    }


def test_app_policy_grants_what_the_app_does_and_no_more(stack):
    uploads, media, feeds = (stack.arn(b) for b in BUCKETS)
    assert _allowed(stack, "AppPolicy", "s3:PutObject") == {
        f"{uploads}/uploads/*",
        f"{uploads}/inbox/*",
        f"{uploads}/transcripts/*",
        f"{media}/*",
        f"{feeds}/*",
    }
    # Ingest reads a drop, copies it under uploads/ (multipart when large), deletes it.
    for action in ("s3:GetObject", "s3:DeleteObject"):
        assert f"{uploads}/inbox/*" in _allowed(stack, "AppPolicy", action)
    assert _allowed(stack, "AppPolicy", "s3:AbortMultipartUpload") == {
        f"{uploads}/uploads/*",
        f"{uploads}/inbox/*",
    }
    assert _allowed(stack, "AppPolicy", "cloudfront:CreateInvalidation") == {
        stack.arn("Distribution")
    }
    queues = {stack.arn("IngestQueue"), stack.arn("JobEventsQueue"), stack.arn("CdnLogsQueue")}
    assert _allowed(stack, "AppPolicy", "sqs:ReceiveMessage") == queues
    assert _allowed(stack, "AppPolicy", "sqs:DeleteMessage") == queues
    for action in ("mediaconvert:CreateJob", "mediaconvert:GetJob", "mediaconvert:CancelJob"):
        assert _allowed(stack, "AppPolicy", action)
    assert stack.arn("TranscodeQueue") in _allowed(stack, "AppPolicy", "mediaconvert:CreateJob")
    assert _allowed(stack, "AppPolicy", "mediaconvert:GetQueue") == {stack.arn("TranscodeQueue")}
    # Download analytics reads CloudFront's logs and nothing else of their bucket.
    logs = stack.arn("CdnLogsBucket")
    assert _allowed(stack, "AppPolicy", "s3:GetObject") & {logs, f"{logs}/*", f"{logs}/cdn/*"} == {
        f"{logs}/cdn/*"
    }
    for action in ("s3:PutObject", "s3:DeleteObject"):
        assert not any(r.startswith(logs) for r in _allowed(stack, "AppPolicy", action))


def test_app_starts_and_follows_only_its_own_transcription_jobs(stack):
    uploads = stack.arn("UploadsBucket")
    jobs = {"arn:aws:transcribe:eu-west-1:123456789012:transcription-job/podcasthost-*"}
    assert _allowed(stack, "AppPolicy", "transcribe:StartTranscriptionJob") == jobs
    assert _allowed(stack, "AppPolicy", "transcribe:GetTranscriptionJob") == jobs
    # Transcribe reads the source with the app's rights and writes its output under transcripts/.
    assert f"{uploads}/uploads/*" in _allowed(stack, "AppPolicy", "s3:GetObject")
    for action in ("s3:PutObject", "s3:GetObject", "s3:DeleteObject"):
        assert f"{uploads}/transcripts/*" in _allowed(stack, "AppPolicy", action)
    for holder, _ in stack.policy_documents():
        for action in (
            "transcribe:ListTranscriptionJobs",
            "transcribe:DeleteTranscriptionJob",
            "transcribe:StartMedicalTranscriptionJob",
        ):
            assert not _allowed(stack, holder, action), f"{holder} grants {action}"


def test_app_publishes_only_to_the_episode_events_topic(stack):
    assert _allowed(stack, "AppPolicy", "sns:Publish") == {stack.ref("EpisodeEventsTopic")}
    props = stack.props("EpisodeEventsTopic")
    assert props["KmsMasterKeyId"] == "alias/aws/sns"
    for holder, _ in stack.policy_documents():
        for action in ("sns:Subscribe", "sns:SetTopicAttributes", "sns:DeleteTopic"):
            assert not _allowed(stack, holder, action), f"{holder} grants {action}"


def test_no_policy_grants_mediaconvert_listing_or_endpoint_discovery(stack):
    for holder, _ in stack.policy_documents():
        for action in ("mediaconvert:ListJobs", "mediaconvert:DescribeEndpoints"):
            assert not _allowed(stack, holder, action), f"{holder} grants {action}"


def test_mediaconvert_role_reads_originals_and_writes_renditions_only(stack):
    uploads, media, _ = (stack.arn(b) for b in BUCKETS)
    assert _allowed(stack, "MediaConvertRole", "s3:GetObject") == {
        f"{uploads}/uploads/*",
        f"{uploads}/inbox/*",
    }
    assert _allowed(stack, "MediaConvertRole", "s3:PutObject") == {f"{media}/*"}
    trust = stack.props("MediaConvertRole")["AssumeRolePolicyDocument"]
    (st,) = statements(trust)
    assert st["Principal"] == {"Service": "mediaconvert.amazonaws.com"}


def test_optional_app_role_carries_the_app_policy(stack):
    if not stack.conditions["HasAppRole"]:
        assert "AppRole" not in stack.resources
        return
    props = stack.props("AppRole")
    assert props["ManagedPolicyArns"] == [stack.ref("AppPolicy")]
    (st,) = statements(props["AssumeRolePolicyDocument"])
    assert st["Principal"] == {"Service": stack.parameters["AppRoleService"]}


# ------------------------------------------------------------------ buckets
@pytest.mark.parametrize("bucket", BUCKETS)
def test_every_bucket_is_hardened(stack, bucket):
    res = stack.resources[bucket]
    props = stack.props(bucket)
    assert res["DeletionPolicy"] == "Retain"
    assert res["UpdateReplacePolicy"] == "Retain"
    assert props["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    (rule,) = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in ("AES256", "aws:kms")
    assert props["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    lifecycle = props["LifecycleConfiguration"]["Rules"]
    assert any(
        r["Status"] == "Enabled" and r["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"]
        for r in lifecycle
        if "AbortIncompleteMultipartUpload" in r
    )
    # TLS only: a Deny on aws:SecureTransport=false covering the bucket and its objects.
    arn = stack.arn(bucket)
    policies = [
        stack.props(lid)["PolicyDocument"]
        for lid in stack.of_type("AWS::S3::BucketPolicy")
        if stack.props(lid)["Bucket"] == stack.ref(bucket)
    ]
    assert len(policies) == 1
    denies = [
        st
        for st in statements(policies[0])
        if st["Effect"] == "Deny"
        and st["Principal"] == "*"
        and st["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    ]
    assert len(denies) == 1
    assert set(as_list(denies[0]["Resource"])) == {arn, f"{arn}/*"}
    assert as_list(denies[0]["Action"]) == ["s3:*"]


def test_the_cdn_log_bucket_is_private_encrypted_expiring_and_writable_by_cloudfront(stack):
    props = stack.props("CdnLogsBucket")
    assert stack.resources["CdnLogsBucket"]["DeletionPolicy"] == "Retain"
    assert props["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    (rule,) = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    # CloudFront standard logging cannot write to SSE-KMS buckets.
    assert rule["ServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}
    # Standard logging writes with ACLs: enabled here, owned by the bucket owner.
    assert props["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerPreferred"}]
    expiry = [r for r in props["LifecycleConfiguration"]["Rules"] if "ExpirationInDays" in r]
    assert [r["ExpirationInDays"] for r in expiry] == [stack.ref("CdnLogExpirationDays")]
    logging = stack.props("Distribution")["DistributionConfig"]["Logging"]
    assert logging["Bucket"] == stack.getatt("CdnLogsBucket", "DomainName")
    assert logging["Prefix"] == "cdn/"
    assert logging["IncludeCookies"] is False
    (policy,) = [
        stack.props(p)["PolicyDocument"]
        for p in stack.of_type("AWS::S3::BucketPolicy")
        if stack.props(p)["Bucket"] == stack.ref("CdnLogsBucket")
    ]
    (deny,) = statements(policy)
    assert deny["Effect"] == "Deny" and deny["Condition"] == {
        "Bool": {"aws:SecureTransport": "false"}
    }
    # Never public: no statement of any bucket policy allows anyone in.
    assert not [st for st in statements(policy) if st["Effect"] == "Allow"]


@pytest.mark.parametrize("bucket", ["MediaBucket", "FeedsBucket"])
def test_renditions_and_feeds_are_versioned(stack, bucket):
    props = stack.props(bucket)
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    assert any("NoncurrentVersionExpiration" in r for r in props["LifecycleConfiguration"]["Rules"])


def test_bucket_names_are_unique_per_environment(stack):
    names = {stack.ref(b) for b in BUCKETS}
    assert len(names) == 3
    for name in names:
        assert 3 <= len(name) <= 63
        assert stack.parameters["EnvironmentSuffix"] in name


def test_uploads_cors_admits_only_the_app_origin_and_presigned_post(stack):
    (rule,) = stack.props("UploadsBucket")["CorsConfiguration"]["CorsRules"]
    assert rule["AllowedOrigins"] == [APP_ORIGIN]
    assert rule["AllowedMethods"] == ["POST"]
    assert "ETag" in rule["ExposedHeaders"]
    for bucket in ("MediaBucket", "FeedsBucket"):
        assert "CorsConfiguration" not in stack.props(bucket)


# --------------------------------------------------------------- CloudFront
def test_no_origin_access_identity_anywhere(template):
    types = {r["Type"] for r in template["Resources"].values()}
    assert "AWS::CloudFront::CloudFrontOriginAccessIdentity" not in types
    assert "origin-access-identity" not in TEMPLATE_PATH.read_text()


def test_every_s3_origin_uses_origin_access_control(stack):
    config = stack.props("Distribution")["DistributionConfig"]
    oacs = {
        stack.getatt(lid, "Id") for lid in stack.of_type("AWS::CloudFront::OriginAccessControl")
    }
    domains = {stack.getatt(b, "RegionalDomainName"): b for b in BUCKETS}
    origins = {o["Id"]: o for o in config["Origins"]}
    assert {domains[o["DomainName"]] for o in origins.values()} == {"MediaBucket", "FeedsBucket"}
    for origin in origins.values():
        assert origin["S3OriginConfig"] == {"OriginAccessIdentity": ""}
        assert origin["OriginAccessControlId"] in oacs
    for lid in stack.of_type("AWS::CloudFront::OriginAccessControl"):
        oac = stack.props(lid)["OriginAccessControlConfig"]
        assert (oac["SigningBehavior"], oac["SigningProtocol"]) == ("always", "sigv4")


@pytest.mark.parametrize("bucket", ["MediaBucket", "FeedsBucket"])
def test_origin_buckets_admit_only_this_distribution(stack, bucket):
    (policy_id,) = [
        lid
        for lid in stack.of_type("AWS::S3::BucketPolicy")
        if stack.props(lid)["Bucket"] == stack.ref(bucket)
    ]
    allows = [
        st for st in statements(stack.props(policy_id)["PolicyDocument"]) if st["Effect"] == "Allow"
    ]
    assert allows == [
        {
            "Sid": "AllowThisDistributionOnly",
            "Effect": "Allow",
            "Principal": {"Service": "cloudfront.amazonaws.com"},
            "Action": "s3:GetObject",
            "Resource": f"{stack.arn(bucket)}/*",
            "Condition": {"StringEquals": {"AWS:SourceArn": stack.arn("Distribution")}},
        }
    ]


def test_cache_behaviours_short_ttl_feeds_long_ttl_audio_https_only(stack):
    config = stack.props("Distribution")["DistributionConfig"]
    default = config["DefaultCacheBehavior"]
    (feeds,) = config["CacheBehaviors"]
    assert (default["TargetOriginId"], default["CachePolicyId"]) == ("media", CACHING_OPTIMIZED)
    assert (feeds["PathPattern"], feeds["TargetOriginId"]) == ("*/feed.xml", "feeds")
    (policy_id,) = stack.of_type("AWS::CloudFront::CachePolicy")
    assert feeds["CachePolicyId"] == stack.ref(policy_id)
    policy = stack.props(policy_id)["CachePolicyConfig"]
    assert policy["DefaultTTL"] <= 300
    assert policy["MaxTTL"] <= 3600
    assert policy["ParametersInCacheKeyAndForwardedToOrigin"]["EnableAcceptEncodingGzip"]
    for behaviour in (default, feeds):
        assert behaviour["ViewerProtocolPolicy"] in ("https-only", "redirect-to-https")
        assert behaviour["Compress"] is True
        assert "ForwardedValues" not in behaviour
        assert set(behaviour["AllowedMethods"]) == {"GET", "HEAD"}


# ---------------------------------------------------- event sources and targets
def _queue_policy_for(stack: Stack, queue_id: str) -> dict[str, Any]:
    (policy,) = [
        stack.props(lid)["PolicyDocument"]
        for lid in stack.of_type("AWS::SQS::QueuePolicy")
        if stack.ref(queue_id) in stack.props(lid)["Queues"]
    ]
    return policy


def _only_source(policy: dict[str, Any]) -> tuple[str, str, str]:
    """(service, action, source ARN) of the policy's one Allow statement."""
    (allow,) = [st for st in statements(policy) if st["Effect"] == "Allow"]
    (service,) = as_list(allow["Principal"]["Service"])
    (action,) = as_list(allow["Action"])
    return service, action, allow["Condition"]["ArnEquals"]["aws:SourceArn"]


def test_s3_notification_queues_admit_exactly_their_bucket(stack):
    targets = []
    for bucket in (*BUCKETS, "CdnLogsBucket"):
        props = stack.props(bucket)
        notifications = props.get("NotificationConfiguration", {})
        assert not notifications.get("TopicConfigurations")
        assert not notifications.get("LambdaConfigurations")
        for config in notifications.get("QueueConfigurations", []):
            queue_id = next(
                q for q in stack.of_type("AWS::SQS::Queue") if stack.arn(q) == config["Queue"]
            )
            policy = _queue_policy_for(stack, queue_id)
            assert _only_source(policy) == (
                "s3.amazonaws.com",
                "sqs:SendMessage",
                stack.arn(bucket),
            )
            # S3 checks the destination when the configuration is saved.
            assert f"{queue_id}Policy" in as_list(stack.resources[bucket]["DependsOn"])
            targets.append((bucket, queue_id, config))
    assert [(b, q) for b, q, _ in targets] == [
        ("UploadsBucket", "IngestQueue"),
        ("CdnLogsBucket", "CdnLogsQueue"),
    ]
    prefixes = [config["Filter"]["S3Key"]["Rules"] for _, _, config in targets]
    assert prefixes == [
        [{"Name": "prefix", "Value": "inbox/"}],
        [{"Name": "prefix", "Value": "cdn/"}],
    ]


def test_eventbridge_targets_admit_exactly_their_rule(stack):
    rules = stack.of_type("AWS::Events::Rule")
    assert rules
    for rule_id in rules:
        for target in stack.props(rule_id)["Targets"]:
            (queue_id,) = [
                q for q in stack.of_type("AWS::SQS::Queue") if stack.arn(q) == target["Arn"]
            ]
            policy = _queue_policy_for(stack, queue_id)
            assert _only_source(policy) == (
                "events.amazonaws.com",
                "sqs:SendMessage",
                stack.arn(rule_id),
            )


def _leaves(pattern: Any, path: str = "") -> list[tuple[str, Any]]:
    if isinstance(pattern, dict):
        return [leaf for k, v in pattern.items() for leaf in _leaves(v, f"{path}.{k}")]
    return [(path, pattern)]


def test_every_event_pattern_leaf_is_an_array(stack):
    """EventBridge rejects scalar leaves at deploy time; cfn-lint does not notice."""
    for rule_id in stack.of_type("AWS::Events::Rule"):
        for path, leaf in _leaves(stack.props(rule_id)["EventPattern"]):
            assert isinstance(leaf, list) and leaf, f"{rule_id}{path} must be a non-empty array"


def test_job_state_rule_matches_this_stacks_mediaconvert_queue(stack):
    pattern = stack.props("JobStateRule")["EventPattern"]
    assert pattern["source"] == ["aws.mediaconvert"]
    assert pattern["detail-type"] == ["MediaConvert Job State Change"]
    assert pattern["detail"]["queue"] == [stack.arn("TranscodeQueue")]
    assert {"COMPLETE", "ERROR"} <= set(pattern["detail"]["status"])


@pytest.mark.parametrize("queue", ["IngestQueue", "JobEventsQueue", "CdnLogsQueue"])
def test_work_queues_have_dead_letter_queues(stack, queue):
    props = stack.props(queue)
    dlq = props["RedrivePolicy"]["deadLetterTargetArn"]
    assert dlq in {stack.arn(q) for q in stack.of_type("AWS::SQS::Queue")} - {stack.arn(queue)}
    assert props["RedrivePolicy"]["maxReceiveCount"] >= 3
    assert props["SqsManagedSseEnabled"] is True


# ------------------------------------------------------------------- alarms
def test_alarms_watch_dead_letters_queue_age_and_transcode_errors(stack):
    topic = stack.ref("AlertsTopic")
    watched = set()
    for lid in stack.of_type("AWS::CloudWatch::Alarm"):
        props = stack.props(lid)
        assert topic in props["AlarmActions"]
        assert props["TreatMissingData"] == "notBreaching"
        (dim,) = props["Dimensions"]
        watched.add((props["MetricName"], dim["Value"]))
    name = lambda q: stack.getatt(q, "QueueName")  # noqa: E731
    assert watched == {
        ("ApproximateNumberOfMessagesVisible", name("IngestDeadLetterQueue")),
        ("ApproximateNumberOfMessagesVisible", name("JobEventsDeadLetterQueue")),
        ("ApproximateNumberOfMessagesVisible", name("CdnLogsDeadLetterQueue")),
        ("ApproximateAgeOfOldestMessage", name("IngestQueue")),
        ("ApproximateAgeOfOldestMessage", name("JobEventsQueue")),
        ("JobsErroredCount", stack.arn("TranscodeQueue")),
    }


def test_alert_email_subscription_is_optional(stack):
    email = stack.parameters["AlertEmail"]
    subs = stack.of_type("AWS::SNS::Subscription")
    if not email:
        assert not subs
        return
    (sub,) = subs
    assert stack.props(sub) == {
        "TopicArn": stack.ref("AlertsTopic"),
        "Protocol": "email",
        "Endpoint": email,
    }


# ------------------------------------------------------------------ outputs
def test_outputs_map_onto_the_apps_environment(stack, template):
    outputs = {
        k: v
        for k, v in template["Outputs"].items()
        if stack.conditions.get(v.get("Condition"), True)
    }
    env = {env_name(k) for k in outputs} & APP_ENV_VARS
    assert env == APP_ENV_VARS - {"MEDIACONVERT_ENDPOINT_URL"}
    informational = {k for k in outputs if env_name(k) not in APP_ENV_VARS}
    for key in informational:
        assert "(informational)" in outputs[key]["Description"]
    values = {env_name(k): stack.resolve(v["Value"]) for k, v in outputs.items()}
    assert values["UPLOADS_BUCKET"] == stack.ref("UploadsBucket")
    assert values["MEDIACONVERT_ROLE_ARN"] == stack.arn("MediaConvertRole")
    assert values["MEDIACONVERT_QUEUE_ARN"] == stack.arn("TranscodeQueue")
    assert values["INGEST_QUEUE_URL"] == stack.ref("IngestQueue")
    assert values["JOB_EVENTS_QUEUE_URL"] == stack.ref("JobEventsQueue")
    assert values["EPISODE_EVENTS_TOPIC_ARN"] == stack.ref("EpisodeEventsTopic")
    assert values["CDN_LOGS_QUEUE_URL"] == stack.ref("CdnLogsQueue")
    assert (
        values["TRANSCODER_BACKEND"] == "episodes.transcoders.mediaconvert.MediaConvertTranscoder"
    )


def test_no_lambda_and_no_dynamodb(template):
    """The Celery workers do the seed's Lambda work; the Django database replaces DynamoDB."""
    types = {r["Type"] for r in template["Resources"].values()}
    assert not {t for t in types if t.startswith(("AWS::Lambda::", "AWS::DynamoDB::"))}
