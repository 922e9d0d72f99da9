from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse, HTTPHeaders

from bluegreen import StackReference
from bluegreen.tools.kinesis import KinesisConfig, KinesisTools
from tests.conftest import REGION

STREAM = "my-stream-dev"


@pytest.fixture
def stream_arn(aws: None) -> str:
    kinesis = boto3.client("kinesis", region_name=REGION)
    kinesis.create_stream(StreamName=STREAM, ShardCount=1)
    return kinesis.describe_stream_summary(StreamName=STREAM)["StreamDescriptionSummary"]["StreamARN"]


@pytest.fixture
def tools(stream_arn: str) -> KinesisTools:
    return KinesisTools(
        KinesisConfig(region=REGION, stream_arn=stream_arn, consumer_name_a="con1A", consumer_name_b="con1B")
    )


def consumers(stream_arn: str) -> dict[str, str]:
    """Every consumer moto holds for the stream (every page), name -> ARN; a duplicate name would show as a clash."""
    kinesis = boto3.client("kinesis", region_name=REGION)
    found: list[Any] = []
    for page in kinesis.get_paginator("list_stream_consumers").paginate(StreamARN=stream_arn):
        found.extend(page["Consumers"])
    names = [c["ConsumerName"] for c in found]
    assert len(names) == len(set(names)), f"duplicate consumers: {names}"
    return {c["ConsumerName"]: c["ConsumerARN"] for c in found}


def error_response(code: str, message: str) -> tuple[AWSResponse, dict[str, Any]]:
    return AWSResponse("https://kinesis", 400, HTTPHeaders(), None), {
        "Error": {"Code": code, "Message": message},
        "ResponseMetadata": {"HTTPStatusCode": 400},
    }


def test_register_consumer_registers_and_returns_its_description(tools: KinesisTools, stream_arn: str) -> None:
    made = tools.register_consumer(StackReference.A)

    assert made["ConsumerName"] == "con1A"
    assert consumers(stream_arn) == {"con1A": made["ConsumerARN"]}
    assert tools.consumer_status("a") in ("CREATING", "ACTIVE")


def test_register_twice_returns_the_same_consumer(tools: KinesisTools, stream_arn: str) -> None:
    first = tools.register_consumer("b")
    second = tools.register_consumer("b")

    assert second["ConsumerARN"] == first["ConsumerARN"]
    # moto 5.x appends a duplicate consumer when RegisterStreamConsumer is called for a registered
    # name (AWS raises ResourceInUseException): describing first means the second call never registers.
    assert consumers(stream_arn) == {"con1B": first["ConsumerARN"]}


def test_register_treats_resource_in_use_as_already_registered(tools: KinesisTools, stream_arn: str) -> None:
    # A race AWS can produce and moto cannot: another run registers the consumer between our
    # DescribeStreamConsumer and our RegisterStreamConsumer, and AWS answers ResourceInUseException.
    other_run = boto3.client("kinesis", region_name=REGION)

    def race(**_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        other_run.register_stream_consumer(StreamARN=stream_arn, ConsumerName="con1A")
        return error_response("ResourceInUseException", "Consumer con1A already exists")

    tools._client("kinesis").meta.events.register("before-call.kinesis.RegisterStreamConsumer", race)

    got = tools.register_consumer("a")

    assert got["ConsumerARN"] == consumers(stream_arn)["con1A"]
    assert got["StreamARN"] == stream_arn


def test_register_reports_a_stream_that_is_not_active(tools: KinesisTools, stream_arn: str) -> None:
    # moto never reports a stream as busy: inject the ResourceInUseException AWS gives for one.
    tools._client("kinesis").meta.events.register(
        "before-call.kinesis.RegisterStreamConsumer",
        lambda **_: error_response("ResourceInUseException", "Stream my-stream-dev is UPDATING"),
    )

    with pytest.raises(RuntimeError, match=r"stack b: Kinesis consumer 'con1B' cannot be registered.*UPDATING"):
        tools.register_consumer("b")
    assert consumers(stream_arn) == {}


def test_deregister_consumer_removes_only_that_stacks_consumer(tools: KinesisTools, stream_arn: str) -> None:
    a = tools.register_consumer("a")
    tools.register_consumer("b")

    tools.deregister_consumer("b")

    # The check that catches the moto 5.x bug: a DeregisterStreamConsumer request that carries
    # StreamARN drops every consumer of the stream in moto, so stack a's consumer would be gone too.
    assert consumers(stream_arn) == {"con1A": a["ConsumerARN"]}
    assert tools.consumer_status("b") is None
    assert tools.consumer_status("a") is not None


def test_deregister_sends_the_consumer_arn_only(tools: KinesisTools) -> None:
    made = tools.register_consumer("a")
    sent: list[dict[str, Any]] = []
    tools._client("kinesis").meta.events.register(
        "provide-client-params.kinesis.DeregisterStreamConsumer", lambda params, **_: sent.append(dict(params))
    )

    tools.deregister_consumer("a")

    assert sent == [{"ConsumerARN": made["ConsumerARN"]}]


def test_deregister_twice_and_deregister_missing_are_fine(tools: KinesisTools, stream_arn: str) -> None:
    tools.register_consumer("a")
    tools.deregister_consumer("a")
    tools.deregister_consumer("a")
    tools.deregister_consumer("b")

    assert consumers(stream_arn) == {}


def test_describe_consumer_returns_the_consumer_description(tools: KinesisTools, stream_arn: str) -> None:
    made = tools.register_consumer("b")

    described = tools.describe_consumer("b")

    assert described["ConsumerARN"] == made["ConsumerARN"]
    assert described["ConsumerName"] == "con1B"
    assert described["StreamARN"] == stream_arn


def test_describe_missing_consumer_is_a_clear_error(tools: KinesisTools, stream_arn: str) -> None:
    tools.register_consumer("a")

    with pytest.raises(LookupError, match=f"stack b: Kinesis consumer 'con1B' is not registered on {stream_arn}"):
        tools.describe_consumer("b")
    assert tools.consumer_status("b") is None


def test_invalid_reference_is_an_error(tools: KinesisTools, stream_arn: str) -> None:
    tools.register_consumer("a")

    with pytest.raises(ValueError, match="expected 'a' or 'b'"):
        tools.deregister_consumer("x")
    assert list(consumers(stream_arn)) == ["con1A"]


def test_calls_go_to_the_streams_region(aws: None) -> None:
    west = boto3.client("kinesis", region_name="us-west-2")
    west.create_stream(StreamName=STREAM, ShardCount=1)
    arn = west.describe_stream_summary(StreamName=STREAM)["StreamDescriptionSummary"]["StreamARN"]
    tools = KinesisTools(KinesisConfig(region=REGION, stream_arn=arn, consumer_name_a="con1A", consumer_name_b="con1B"))

    tools.register_consumer("a")

    assert [c["ConsumerName"] for c in west.list_stream_consumers(StreamARN=arn)["Consumers"]] == ["con1A"]
    assert [key for key in tools._clients if key[0] == "kinesis"] == [("kinesis", "us-west-2")]


def test_not_a_stream_arn_is_an_error(tools: KinesisTools) -> None:
    tools.config.stream_arn = "my-stream-dev"

    with pytest.raises(ValueError, match="'my-stream-dev' is not a Kinesis stream ARN"):
        tools.register_consumer("a")
