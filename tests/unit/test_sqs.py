from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ClientError

from bluegreen import StackReference
from bluegreen.tools.sqs import QueuePair, SqsConfig, SqsTools
from tests.conftest import ACCOUNT_ID, REGION

QUEUES = ("fn-queue-a-dev", "fn-dlq-a-dev", "fn-queue-b-dev", "fn-dlq-b-dev")


def sqs() -> Any:
    return boto3.client("sqs", region_name=REGION)


def depth(name: str) -> int:
    url = sqs().get_queue_url(QueueName=name)["QueueUrl"]
    attributes = sqs().get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])


@pytest.fixture
def sqs_tools(aws: None) -> SqsTools:
    for name in QUEUES:
        url = sqs().create_queue(QueueName=name)["QueueUrl"]
        for i in range(3):
            sqs().send_message(QueueUrl=url, MessageBody=f"{name} {i}")
    config = SqsConfig(
        region=REGION,
        queue_a=QueuePair("fn-queue-a-dev", "fn-dlq-a-dev"),
        queue_b=QueuePair(queue_name="fn-queue-b-dev", dlq_name="fn-dlq-b-dev"),
    )
    return SqsTools(config)


def capture(tools: SqsTools, operation: str) -> list[dict[str, Any]]:
    """Record the parameters of every ``operation`` call the tool's client makes."""
    seen: list[dict[str, Any]] = []

    def record(params: dict[str, Any], **_: Any) -> None:
        seen.append(dict(params))

    tools._client("sqs").meta.events.register(f"provide-client-params.sqs.{operation}", record)
    return seen


def refuse_purge(tools: SqsTools, error: dict[str, str]) -> list[str]:
    """Make every PurgeQueue fail with ``error`` before it reaches moto; returns the queue URLs refused."""
    refused: list[str] = []

    def respond(params: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        refused.append(json.loads(params["body"])["QueueUrl"])  # the serialized JSON request
        return AWSResponse("https://sqs", 400, {}, None), {"Error": error, "ResponseMetadata": {"HTTPStatusCode": 400}}

    tools._client("sqs").meta.events.register("before-call.sqs.PurgeQueue", respond)
    return refused


def test_purge_queues_empties_that_stacks_queue_and_dlq_only(sqs_tools: SqsTools) -> None:
    sqs().receive_message(QueueUrl=sqs().get_queue_url(QueueName="fn-queue-b-dev")["QueueUrl"])  # one in flight
    sqs_tools.purge_queues(StackReference.B)
    assert depth("fn-queue-b-dev") == 0
    assert depth("fn-dlq-b-dev") == 0
    assert depth("fn-queue-a-dev") == 3
    assert depth("fn-dlq-a-dev") == 3


def test_queue_urls_come_from_get_queue_url(sqs_tools: SqsTools) -> None:
    asked = capture(sqs_tools, "GetQueueUrl")
    sqs_tools.purge_queues("a")
    assert asked == [{"QueueName": "fn-queue-a-dev"}, {"QueueName": "fn-dlq-a-dev"}]
    assert depth("fn-queue-a-dev") == 0


def test_account_id_is_passed_as_queue_owner(sqs_tools: SqsTools) -> None:
    # moto ignores QueueOwnerAWSAccountId (it answers from the caller's account), so check the request.
    sqs_tools.config.account_id = ACCOUNT_ID
    asked = capture(sqs_tools, "GetQueueUrl")
    sqs_tools.purge_queues("b")
    assert [p.get("QueueOwnerAWSAccountId") for p in asked] == [ACCOUNT_ID, ACCOUNT_ID]
    assert depth("fn-queue-b-dev") == 0


def test_purging_twice_within_a_minute_counts_as_done(sqs_tools: SqsTools) -> None:
    # moto 5.2.5 enforces the 60 s rule by default (MOTO_SQS_ENFORCE_STRICT_QUEUE_PURGE_BEHAVIOUR), so the
    # second purge really gets PurgeQueueInProgress from moto.
    sqs_tools.purge_queues("b")
    sqs().send_message(QueueUrl=sqs().get_queue_url(QueueName="fn-queue-b-dev")["QueueUrl"], MessageBody="late")
    sqs_tools.purge_queues("b")
    assert depth("fn-dlq-b-dev") == 0
    assert depth("fn-queue-a-dev") == 3


@pytest.mark.parametrize(
    "error",
    [
        # what botocore makes of SQS's JSON error with the x-amzn-query-error header
        {"Code": "AWS.SimpleQueueService.PurgeQueueInProgress", "QueryErrorCode": "PurgeQueueInProgress"},
        # and without it
        {"Code": "PurgeQueueInProgress"},
    ],
)
def test_purge_in_progress_counts_as_done(sqs_tools: SqsTools, error: dict[str, str]) -> None:
    refused = refuse_purge(sqs_tools, {**error, "Message": "Only one PurgeQueue operation is allowed every 60 s"})
    sqs_tools.purge_queues("b")
    assert [url.rsplit("/", 1)[-1] for url in refused] == ["fn-queue-b-dev", "fn-dlq-b-dev"]


def test_other_purge_errors_are_raised(sqs_tools: SqsTools) -> None:
    refuse_purge(sqs_tools, {"Code": "AccessDenied", "Message": "no"})
    with pytest.raises(ClientError, match="AccessDenied"):
        sqs_tools.purge_queues("b")


def test_queue_without_dlq_purges_the_queue_only(sqs_tools: SqsTools) -> None:
    sqs_tools.config.queue_b = QueuePair("fn-queue-b-dev")
    asked = capture(sqs_tools, "GetQueueUrl")
    sqs_tools.purge_queues("b")
    assert asked == [{"QueueName": "fn-queue-b-dev"}]
    assert depth("fn-queue-b-dev") == 0
    assert depth("fn-dlq-b-dev") == 3


def test_missing_queue_is_reported_by_name(sqs_tools: SqsTools) -> None:
    sqs_tools.config.queue_b = QueuePair("fn-queue-b-dev", "fn-dlq-gone")
    with pytest.raises(LookupError, match="'fn-dlq-gone' does not exist"):
        sqs_tools.purge_queues("b")
    with pytest.raises(LookupError, match="fn-dlq-gone"):
        sqs_tools.queue_depth("b")


def test_invalid_reference_is_an_error(sqs_tools: SqsTools) -> None:
    with pytest.raises(ValueError, match="expected 'a' or 'b'"):
        sqs_tools.purge_queues("c")
    assert depth("fn-queue-b-dev") == 3


def test_queue_depth_counts_waiting_and_in_flight_messages(sqs_tools: SqsTools) -> None:
    sqs().receive_message(QueueUrl=sqs().get_queue_url(QueueName="fn-queue-a-dev")["QueueUrl"], MaxNumberOfMessages=2)
    assert sqs_tools.queue_depth("a") == {"fn-queue-a-dev": 3, "fn-dlq-a-dev": 3}
    sqs_tools.purge_queues("a")
    assert sqs_tools.queue_depth("a") == {"fn-queue-a-dev": 0, "fn-dlq-a-dev": 0}
    assert sqs_tools.queue_depth(StackReference.B) == {"fn-queue-b-dev": 3, "fn-dlq-b-dev": 3}
