from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import boto3
import pytest

from bluegreen import StackReference
from bluegreen.tools.sns import DISABLED_FILTER, SnsConfig, SnsTools, TopicData
from tests.conftest import REGION

OTHER_REGION = "us-west-2"

# moto 5.x applies subscription filter policies when it delivers a published message to an SQS
# subscription (moto.sns.models.Subscription.publish runs its FilterPolicyMatcher first), and it
# validates policies as SNS does (values must be arrays or objects). So these tests check delivery
# itself, not only the FilterPolicy attribute.


@dataclass
class Wiring:
    topic_arn: str
    subscription_a: str
    subscription_b: str
    queue_a: str
    queue_b: str
    region: str


def wire(region: str, suffix: str = "dev") -> Wiring:
    """One topic with an SQS queue subscribed for each stack, all in ``region``."""
    sns = boto3.client("sns", region_name=region)
    sqs = boto3.client("sqs", region_name=region)
    topic_arn = sns.create_topic(Name=f"fn-updates-{suffix}")["TopicArn"]
    urls, subs = [], []
    for stack in ("a", "b"):
        url = sqs.create_queue(QueueName=f"fn-queue-{stack}-{suffix}")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sub = sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn, ReturnSubscriptionArn=True)
        urls.append(url)
        subs.append(sub["SubscriptionArn"])
    return Wiring(topic_arn, subs[0], subs[1], urls[0], urls[1], region)


@pytest.fixture
def wiring(aws: None) -> Wiring:
    return wire(REGION)


@pytest.fixture
def tools(wiring: Wiring) -> SnsTools:
    config = SnsConfig(
        region=REGION, topic_a=TopicData(wiring.subscription_a), topic_b=TopicData(wiring.subscription_b)
    )
    return SnsTools(config)


def attributes(arn: str, region: str = REGION) -> dict[str, str]:
    return boto3.client("sns", region_name=region).get_subscription_attributes(SubscriptionArn=arn)["Attributes"]


def held_policy(arn: str, region: str = REGION) -> Any:
    raw = attributes(arn, region).get("FilterPolicy")
    return None if raw is None else json.loads(raw)


def publish(wiring: Wiring, body: str = "hello", **attrs: str) -> None:
    boto3.client("sns", region_name=wiring.region).publish(
        TopicArn=wiring.topic_arn,
        Message=body,
        MessageAttributes={k: {"DataType": "String", "StringValue": v} for k, v in attrs.items()},
    )


def drain(url: str, region: str = REGION) -> list[str]:
    sqs = boto3.client("sqs", region_name=region)
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
    return [json.loads(m["Body"])["Message"] for m in got]


def test_disable_subscription_sets_the_disabled_policy_and_stops_delivery_to_that_stack_only(
    tools: SnsTools, wiring: Wiring
) -> None:
    tools.disable_subscription(StackReference.B)

    assert held_policy(wiring.subscription_b) == DISABLED_FILTER
    assert held_policy(wiring.subscription_a) is None
    publish(wiring, "order 1", event="order_placed")
    assert drain(wiring.queue_b) == []
    assert drain(wiring.queue_a) == ["order 1"]


def test_enable_subscription_removes_the_filter_and_delivery_resumes(tools: SnsTools, wiring: Wiring) -> None:
    tools.disable_subscription("b")
    tools.enable_subscription("b")

    assert held_policy(wiring.subscription_b) == {}
    publish(wiring, "order 2")
    assert drain(wiring.queue_b) == ["order 2"]
    assert drain(wiring.queue_a) == ["order 2"]


def test_enable_and_disable_are_idempotent(tools: SnsTools, wiring: Wiring) -> None:
    tools.disable_subscription("a")
    tools.disable_subscription("a")
    assert held_policy(wiring.subscription_a) == DISABLED_FILTER
    assert not tools.is_enabled("a")

    tools.enable_subscription("a")
    tools.enable_subscription("a")
    assert held_policy(wiring.subscription_a) == {}
    assert tools.is_enabled("a")


def test_disabled_policy_is_valid_and_blocks_delivery_with_message_body_scope(tools: SnsTools, wiring: Wiring) -> None:
    sns = boto3.client("sns", region_name=REGION)
    sns.set_subscription_attributes(
        SubscriptionArn=wiring.subscription_b, AttributeName="FilterPolicyScope", AttributeValue="MessageBody"
    )

    tools.disable_subscription("b")

    assert held_policy(wiring.subscription_b) == DISABLED_FILTER
    assert attributes(wiring.subscription_b)["FilterPolicyScope"] == "MessageBody"
    publish(wiring, json.dumps({"event": "order_placed", "store": "example_corp"}), event="order_placed")
    publish(wiring, "not json at all")
    assert drain(wiring.queue_b) == []

    tools.enable_subscription("b")
    publish(wiring, json.dumps({"event": "order_placed"}))
    assert len(drain(wiring.queue_b)) == 1


def test_custom_filters_from_topic_data_win(tools: SnsTools, wiring: Wiring) -> None:
    tools.config.topic_b.enabled_filter = {"env": ["prod"]}
    tools.config.topic_b.disabled_filter = {"env": ["nowhere"]}

    tools.disable_subscription("b")
    assert held_policy(wiring.subscription_b) == {"env": ["nowhere"]}
    assert not tools.is_enabled("b")

    tools.enable_subscription("b")
    assert held_policy(wiring.subscription_b) == {"env": ["prod"]}
    assert tools.get_filter_policy("b") == {"env": ["prod"]}
    publish(wiring, "prod message", env="prod")
    publish(wiring, "test message", env="test")
    assert drain(wiring.queue_b) == ["prod message"]


def test_the_original_libraries_disabled_filter_is_rejected_with_a_clear_error(tools: SnsTools, wiring: Wiring) -> None:
    tools.config.topic_b.disabled_filter = {"bypassBlacklist": True}

    with pytest.raises(ValueError, match=r"stack b: SNS rejected the filter policy \{\"bypassBlacklist\": true\}"):
        tools.disable_subscription("b")
    assert held_policy(wiring.subscription_b) is None


def test_status_helpers_read_what_sns_holds(tools: SnsTools, wiring: Wiring) -> None:
    assert tools.get_filter_policy("a") == {}
    assert tools.is_enabled("a")

    tools.disable_subscription("a")
    assert tools.get_filter_policy("a") == DISABLED_FILTER
    assert not tools.is_enabled("a")
    assert tools.is_enabled("b")


def test_calls_go_to_the_subscription_region_with_one_client_per_region(aws: None) -> None:
    home = wire(REGION)
    away = wire(OTHER_REGION)
    tools = SnsTools(
        SnsConfig(region=REGION, topic_a=TopicData(home.subscription_a), topic_b=TopicData(away.subscription_b))
    )

    tools.disable_subscription("b")
    tools.enable_subscription("a")
    tools.disable_subscription("a")

    assert held_policy(away.subscription_b, OTHER_REGION) == DISABLED_FILTER
    assert held_policy(home.subscription_a) == DISABLED_FILTER
    assert held_policy(away.subscription_a, OTHER_REGION) is None
    publish(away, "west")
    assert drain(away.queue_b, OTHER_REGION) == []
    assert drain(away.queue_a, OTHER_REGION) == ["west"]
    assert sorted(key for key in tools._clients if key[0] == "sns") == [("sns", REGION), ("sns", OTHER_REGION)]
    assert tools._client("sns", OTHER_REGION) is tools._client("sns", OTHER_REGION)


def test_topic_data_region_wins_over_the_arn_region(aws: None) -> None:
    away = wire(OTHER_REGION)
    tools = SnsTools(
        SnsConfig(
            region=REGION,
            topic_a=TopicData(away.subscription_a, region=OTHER_REGION),
            topic_b=TopicData(away.subscription_b.replace(OTHER_REGION, REGION), region=OTHER_REGION),
        )
    )
    assert tools.subscription_region("b") == OTHER_REGION
    tools.disable_subscription("a")
    assert held_policy(away.subscription_a, OTHER_REGION) == DISABLED_FILTER
    assert [key for key in tools._clients if key[0] == "sns"] == [("sns", OTHER_REGION)]


def test_missing_subscription_is_reported_by_arn(tools: SnsTools, wiring: Wiring) -> None:
    boto3.client("sns", region_name=REGION).unsubscribe(SubscriptionArn=wiring.subscription_b)

    with pytest.raises(LookupError, match=f"stack b: SNS subscription '{wiring.subscription_b}' not found"):
        tools.disable_subscription("b")
    with pytest.raises(LookupError, match="not found"):
        tools.is_enabled("b")


def test_not_an_arn_is_an_error_before_any_call(tools: SnsTools, wiring: Wiring) -> None:
    tools.config.topic_a.subscription_arn = "PendingConfirmation"

    with pytest.raises(ValueError, match="stack a: 'PendingConfirmation' is not an SNS subscription ARN"):
        tools.enable_subscription("a")
    assert not [key for key in tools._clients if key[0] == "sns"]


def test_invalid_reference_is_an_error(tools: SnsTools, wiring: Wiring) -> None:
    with pytest.raises(ValueError, match="expected 'a' or 'b'"):
        tools.disable_subscription("c")
    assert held_policy(wiring.subscription_b) is None
    assert held_policy(wiring.subscription_a) is None
