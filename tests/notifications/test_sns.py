"""On AWS every event is also an SNS message to EPISODE_EVENTS_TOPIC_ARN (moto, read via SQS)."""

from __future__ import annotations

import json

import boto3
import pytest
from moto import mock_aws

from episodes import notifications
from episodes.models import EpisodeEvent
from episodes.tasks import send_event_notifications


@pytest.fixture
def topic(settings, aws_credentials):
    """A moto SNS topic with an SQS queue subscribed to it; yields a reader of that queue."""
    with mock_aws():
        sns = boto3.client("sns", region_name="us-east-1")
        sqs = boto3.client("sqs", region_name="us-east-1")
        topic_arn = sns.create_topic(Name="episode-events")["TopicArn"]
        queue_url = sqs.create_queue(QueueName="events-reader")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)
        settings.AWS_REGION = "us-east-1"
        settings.EPISODE_EVENTS_TOPIC_ARN = topic_arn

        def read() -> list[dict]:
            answer = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)
            return [json.loads(m["Body"]) for m in answer.get("Messages", [])]

        yield read


def test_a_ready_episode_is_published_to_the_topic(
    team, make_episode, topic, django_capture_on_commit_callbacks
):
    episode = make_episode(team["show"], title="Pilot")
    with django_capture_on_commit_callbacks(execute=True):
        assert episode.mark_uploaded(source_key="uploads/x.wav", source_bytes=10)
        assert episode.start_processing()
        assert episode.mark_ready()

    (envelope,) = topic()
    assert envelope["Subject"] == "[Team Show] “Pilot” is ready"
    assert envelope["MessageAttributes"]["event"]["Value"] == "episode.ready"
    assert envelope["MessageAttributes"]["show"]["Value"] == "team-show"
    message = json.loads(envelope["Message"])
    event = EpisodeEvent.objects.get(kind="episode.ready")
    assert message["id"] == str(event.uuid)
    assert message["event"] == "episode.ready"
    assert message["episode"]["guid"] == str(episode.guid)
    assert "was processed and its files are ready" in message["text"]
    assert event.sns_published_at is not None


def test_a_redelivered_task_publishes_once(team, make_episode, topic):
    event = notifications.record_event(
        EpisodeEvent.Kind.FAILED, team["show"], episode=make_episode(team["show"])
    )
    send_event_notifications.apply(kwargs={"event_id": event.pk}).get()
    send_event_notifications.apply(kwargs={"event_id": event.pk}).get()

    assert len(topic()) == 1


def test_no_topic_no_message(team, make_episode, settings, django_capture_on_commit_callbacks):
    settings.EPISODE_EVENTS_TOPIC_ARN = ""
    episode = make_episode(team["show"])
    with django_capture_on_commit_callbacks(execute=True):
        episode.mark_uploaded(source_key="uploads/x.wav", source_bytes=10)
        episode.start_processing()
        episode.mark_ready()

    event = EpisodeEvent.objects.get(kind="episode.ready")
    assert event.sns_published_at is None
    assert event.emailed_at is not None
