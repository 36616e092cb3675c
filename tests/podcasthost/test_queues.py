"""The one SQS consumer loop (moto's SQS in-process): what a handler's answer does to a message."""

from __future__ import annotations

import boto3
import pytest
from moto import mock_aws

from podcasthost import queues


@pytest.fixture
def sqs(aws_credentials):
    with mock_aws():
        client = boto3.client("sqs", region_name="us-east-1")
        # Visibility 0: a kept message can be received again at once.
        client.url = client.create_queue(QueueName="q", Attributes={"VisibilityTimeout": "0"})[
            "QueueUrl"
        ]
        yield client


def left_on(sqs) -> list[str]:
    messages = sqs.receive_message(QueueUrl=sqs.url, MaxNumberOfMessages=10).get("Messages", [])
    return sorted(m["Body"] for m in messages)


def handle(body: str):
    if body == "garbage":
        raise queues.Discard("not a message of ours", outcome="ignored")
    if body == "later":
        raise queues.Keep("the service is busy", until="for the dead-letter queue")
    if body == "bug":
        raise RuntimeError("a bug")
    if body == "many":
        return {"done": 1, "items": 3}
    return "done"


def test_each_answer_of_the_handler_decides_whether_the_message_stays(sqs, caplog):
    for body in ("fine", "many", "garbage", "later", "bug"):
        sqs.send_message(QueueUrl=sqs.url, MessageBody=body)

    counts = queues.consume_queue(
        sqs.url,
        handle,
        label="Test message",
        outcomes=("done", "ignored"),
        sqs=sqs,
        max_batches=1,
        wait_seconds=0,
    )

    assert counts == {"done": 2, "items": 3, "ignored": 1, "kept": 2}
    assert left_on(sqs) == ["bug", "later"]
    assert "deleted: not a message of ours" in caplog.text
    assert "kept for the dead-letter queue (receive 1): the service is busy" in caplog.text
    assert "failed (receive 1); kept for a retry" in caplog.text
    assert "RuntimeError: a bug" in caplog.text


def test_batches_stop_when_the_queue_is_empty_and_on_batch_runs_before_each(sqs):
    for n in range(12):
        sqs.send_message(QueueUrl=sqs.url, MessageBody=f"m{n}")
    batches: list[int] = []
    seen: list[str] = []

    def record(body: str) -> str:
        seen.append(body)
        return "done"

    counts = queues.consume_queue(
        sqs.url,
        record,
        label="Test message",
        outcomes=("done",),
        sqs=sqs,
        max_batches=5,
        wait_seconds=0,
        on_batch=lambda: batches.append(len(seen)),
    )

    assert counts == {"done": 12, "kept": 0}
    assert sorted(seen) == sorted(f"m{n}" for n in range(12))
    assert batches[0] == 0 and len(batches) >= 2  # at most 10 messages per receive
    assert left_on(sqs) == []
