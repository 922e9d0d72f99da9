from __future__ import annotations

import copy
import json
import pickle
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import bluegreen.aws
from bluegreen import StackReference
from bluegreen.plan import (
    AlarmSet,
    AuroraEntry,
    CloudWatchEntry,
    DynamoEntry,
    EcsEntry,
    KinesisEntry,
    LambdaEntry,
    Plan,
    PlanError,
    SnsEntry,
    SqsEntry,
    SqsQueues,
    StackPair,
    clear_plan_cache,
    load_plan_from_env,
    load_plan_text,
    parse_plan,
)
from bluegreen.tools.aurora import AuroraConfig
from bluegreen.tools.cloudwatch import AlarmStack, CloudWatchConfig
from bluegreen.tools.dynamodb import DynamoConfig
from bluegreen.tools.ecs import EcsConfig
from bluegreen.tools.kinesis import KinesisConfig
from bluegreen.tools.lambda_ import LambdaConfig
from bluegreen.tools.sns import SnsConfig, TopicData
from bluegreen.tools.sqs import QueuePair, SqsConfig
from tests.conftest import REGION

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "plan.yaml"
ACCOUNT = "123456789012"
SUB_A = f"arn:aws:sns:eu-central-1:{ACCOUNT}:orders-updates-a:1f2e3d4c-5b6a-4789-8abc-def012345678"
SUB_B = f"arn:aws:sns:eu-central-1:{ACCOUNT}:orders-updates-b:9a8b7c6d-5e4f-4321-9fed-cba987654321"
STREAM = f"arn:aws:kinesis:eu-central-1:{ACCOUNT}:stream/orders-stream"


def example() -> dict[str, Any]:
    """The example plan as a fresh document (dicts and lists)."""
    document = yaml.safe_load(EXAMPLE.read_text())
    assert isinstance(document, dict)
    return document


def problems_of(document: object) -> list[tuple[str, str]]:
    with pytest.raises(PlanError) as caught:
        parse_plan(document)
    return caught.value.problems


@pytest.fixture(autouse=True)
def _fresh_plan_cache() -> Iterator[None]:
    clear_plan_cache()
    yield
    clear_plan_cache()


# --------------------------------------------------------------------------- the example


def test_the_design_example_parses_into_every_entry() -> None:
    plan = load_plan_text(EXAMPLE.read_text(), source=str(EXAMPLE))

    assert plan.application == "orders"
    assert plan.region == "eu-central-1"
    assert plan.account_id == ACCOUNT
    assert plan.initial_live is StackReference.A
    assert plan.deadline_minutes == 50
    assert plan.ecs == (EcsEntry(cluster="orders-cluster", a="orders-worker-a", b="orders-worker-b", desired_tasks=1),)
    assert plan.sqs == (
        SqsEntry(
            a=SqsQueues(queue="orders-queue-a", dlq="orders-dlq-a"),
            b=SqsQueues(queue="orders-queue-b", dlq="orders-dlq-b"),
        ),
    )
    assert plan.sns == (SnsEntry(a=SUB_A, b=SUB_B),)
    assert plan.lambda_ == (LambdaEntry(a="orders-fn-a", b="orders-fn-b", alias="live"),)
    assert plan.cloudwatch == (
        CloudWatchEntry(
            a=AlarmSet(alarm_prefix="orders-service ", alarm_suffix="- A"),
            b=AlarmSet(alarm_prefix="orders-service ", alarm_suffix="- B"),
        ),
    )
    assert plan.kinesis == (
        KinesisEntry(
            stream_arn=STREAM,
            a="orders-consumer-a",
            b="orders-consumer-b",
            feeds=StackPair(a="orders-fn-a", b="orders-fn-b"),
            mapping={"starting_position": "LATEST", "batch_size": 100},
        ),
    )
    assert plan.dynamodb == (DynamoEntry(a="orders-table-a", b="orders-table-b", on_retire="keep"),)
    assert plan.aurora == (
        AuroraEntry(
            a="orders-db-a",
            b="orders-db-b",
            minimum_cluster_size=1,
            on_retire="stop",
            namespace="orders",
            tags={"team": "orders"},
        ),
    )
    assert plan.services() == {"ecs", "sqs", "sns", "lambda", "cloudwatch", "kinesis", "dynamodb", "aurora"}


def test_to_document_round_trips_through_yaml_and_json() -> None:
    plan = parse_plan(example())
    document = plan.to_document()

    assert parse_plan(document) == plan
    assert load_plan_text(json.dumps(document), source="json") == plan
    assert load_plan_text(yaml.safe_dump(document), source="yaml") == plan


def test_defaults_of_a_minimal_plan() -> None:
    plan = parse_plan({"application": "orders", "dynamodb": [{"a": "table-a", "b": "table-b"}]})

    assert plan.region is None
    assert plan.account_id is None
    assert plan.initial_live is StackReference.A
    assert plan.deadline_minutes == 50
    assert plan.dynamodb == (DynamoEntry(a="table-a", b="table-b", on_retire="keep", wait_for_delete=False),)
    assert plan.services() == {"dynamodb"}
    assert parse_plan({"application": "orders"}).services() == set()


def test_shorthands_and_nulls() -> None:
    plan = parse_plan(
        {
            "application": "orders",
            "initial_live": "B",
            "region": None,
            "ecs": None,
            "sqs": [{"a": "q-a", "b": {"queue": "q-b", "dlq": None}}],
            "cloudwatch": [{"a": "svc - A ", "b": {"alarm_prefix": "svc - B "}}],
            "aurora": [{"a": "db-a", "b": "db-b", "on_retire": None, "tags": None}],
        }
    )

    assert plan.initial_live is StackReference.B
    assert plan.region is None
    assert plan.ecs == ()
    assert plan.sqs == (SqsEntry(a=SqsQueues(queue="q-a"), b=SqsQueues(queue="q-b")),)
    assert plan.cloudwatch[0].a == AlarmSet(alarm_prefix="svc - A ")
    assert plan.aurora == (AuroraEntry(a="db-a", b="db-b"),)
    assert plan.to_document()["sqs"] == [{"a": {"queue": "q-a"}, "b": {"queue": "q-b"}}]


def test_resolved_region() -> None:
    assert (
        parse_plan({"application": "x", "region": "us-east-1"}).resolved_region({"AWS_REGION": "eu-west-1"})
        == "us-east-1"
    )
    plan = parse_plan({"application": "x"})
    assert plan.resolved_region({"AWS_REGION": "eu-west-1", "AWS_DEFAULT_REGION": "eu-north-1"}) == "eu-west-1"
    assert plan.resolved_region({"AWS_DEFAULT_REGION": "eu-north-1"}) == "eu-north-1"
    assert plan.resolved_region() == REGION  # conftest sets AWS_DEFAULT_REGION
    with pytest.raises(PlanError, match=r"plan\.region: not set"):
        plan.resolved_region({})


# --------------------------------------------------------------------------- tool configs


def test_every_entry_builds_its_tool_config() -> None:
    document = example()
    document["sns"][0]["enabled_filter"] = {"event": ["order-created"]}
    document["sns"][0]["disabled_filter"] = {"event": ["never"]}
    document["dynamodb"][0] |= {"on_retire": "delete", "wait_for_delete": True}
    document["aurora"][0] |= {"on_retire": "delete", "skip_delete_snapshots": True}
    document["lambda"][0]["event_buses"] = ["default", "orders-bus"]
    plan = parse_plan(document)
    common: dict[str, Any] = {"region": REGION, "account_id": ACCOUNT}

    assert plan.ecs[0].config(REGION, ACCOUNT) == EcsConfig(
        **common,
        cluster="orders-cluster",
        service_name_a="orders-worker-a",
        service_name_b="orders-worker-b",
        desired_tasks=1,
    )
    assert plan.sqs[0].config(REGION, ACCOUNT) == SqsConfig(
        **common,
        queue_a=QueuePair("orders-queue-a", "orders-dlq-a"),
        queue_b=QueuePair("orders-queue-b", "orders-dlq-b"),
    )
    filters = {"enabled_filter": {"event": ["order-created"]}, "disabled_filter": {"event": ["never"]}}
    assert plan.sns[0].config(REGION, ACCOUNT) == SnsConfig(
        **common, topic_a=TopicData(SUB_A, None, **filters), topic_b=TopicData(SUB_B, None, **filters)
    )
    assert plan.lambda_[0].config(REGION, ACCOUNT) == LambdaConfig(
        **common,
        lambda_name_a="orders-fn-a",
        lambda_name_b="orders-fn-b",
        alias="live",
        event_bus_names=("default", "orders-bus"),
    )
    assert plan.cloudwatch[0].config(REGION, ACCOUNT) == CloudWatchConfig(
        **common,
        alarm_stack_a=AlarmStack("orders-service ", "- A"),
        alarm_stack_b=AlarmStack("orders-service ", "- B"),
    )
    assert plan.kinesis[0].config(REGION, ACCOUNT) == KinesisConfig(
        **common, stream_arn=STREAM, consumer_name_a="orders-consumer-a", consumer_name_b="orders-consumer-b"
    )
    assert plan.dynamodb[0].config(REGION, ACCOUNT) == DynamoConfig(
        **common, table_name_a="orders-table-a", table_name_b="orders-table-b", wait_for_table_delete=True
    )
    assert plan.aurora[0].config(REGION, None) == AuroraConfig(
        region=REGION,
        account_id=None,
        cluster_name_a="orders-db-a",
        cluster_name_b="orders-db-b",
        minimum_cluster_size=1,
        skip_delete_snapshots=True,
        namespace="orders",
        tags={"team": "orders"},
    )


def test_configs_are_copies_a_tool_cannot_change_the_plan() -> None:
    plan = parse_plan(example())
    plan.aurora[0].config(REGION).tags["team"] = "changed"
    plan.kinesis[0].mapping_params()["BatchSize"] = 1
    assert plan.aurora[0].tags == {"team": "orders"}
    assert plan.kinesis[0].mapping["batch_size"] == 100


def test_kinesis_mapping_params_translate_to_create_event_source_mapping() -> None:
    document = example()
    document["kinesis"][0]["mapping"] = {
        "batch_size": 500,
        "maximum_batching_window_in_seconds": 5,
        "parallelization_factor": 2,
        "maximum_record_age_in_seconds": -1,
        "maximum_retry_attempts": 3,
        "bisect_batch_on_function_error": True,
        "tumbling_window_in_seconds": 0,
        "function_response_types": ["ReportBatchItemFailures"],
        "on_failure_destination": f"arn:aws:sqs:eu-central-1:{ACCOUNT}:failed",
    }
    assert parse_plan(document).kinesis[0].mapping_params() == {
        "StartingPosition": "LATEST",
        "BatchSize": 500,
        "MaximumBatchingWindowInSeconds": 5,
        "ParallelizationFactor": 2,
        "MaximumRecordAgeInSeconds": -1,
        "MaximumRetryAttempts": 3,
        "BisectBatchOnFunctionError": True,
        "TumblingWindowInSeconds": 0,
        "FunctionResponseTypes": ["ReportBatchItemFailures"],
        "DestinationConfig": {"OnFailure": {"Destination": f"arn:aws:sqs:eu-central-1:{ACCOUNT}:failed"}},
    }
    document["kinesis"][0]["mapping"] = {"starting_position": "TRIM_HORIZON"}
    assert parse_plan(document).kinesis[0].mapping_params() == {"StartingPosition": "TRIM_HORIZON"}


# --------------------------------------------------------------------------- bad documents


def setting(path: tuple[str | int, ...], value: Any) -> Callable[[dict[str, Any]], None]:
    """A mutation of the example: set (or, with DROP, delete) the value at ``path``."""

    def mutate(document: dict[str, Any]) -> None:
        parent: Any = document
        for step in path[:-1]:
            parent = parent[step]
        if value is DROP:
            del parent[path[-1]]
        elif isinstance(parent, list) and path[-1] == len(parent):
            parent.append(value)
        else:
            parent[path[-1]] = value

    return mutate


DROP = object()
OTHER_SUB = f"arn:aws:sns:eu-central-1:{ACCOUNT}:other:0f2e3d4c-5b6a-4789-8abc-def012345678"

BAD: list[tuple[str, Callable[[dict[str, Any]], None], str, str]] = [
    ("missing b", setting(("aurora", 0, "b"), DROP), "plan.aurora[0].b", "required — name stack b's cluster"),
    ("null required", setting(("ecs", 0, "a"), None), "plan.ecs[0].a", "required — name stack a's ECS service"),
    (
        "typo",
        setting(("ecs", 0, "desierd_tasks"), 2),
        "plan.ecs[0].desierd_tasks",
        "unknown key (did you mean desired_tasks?)",
    ),
    ("top-level typo", setting(("lambda_",), []), "plan.lambda_", "unknown key (did you mean lambda?)"),
    ("no near key", setting(("zzz",), 1), "plan.zzz", "unknown key (expected one of: application,"),
    ("hash in application", setting(("application",), "orders#1"), "plan.application", "must not contain '#'"),
    (
        "deadline 56",
        setting(("deadline_minutes",), 56),
        "plan.deadline_minutes",
        "must be an integer from 1 to 55 (CodeDeploy fails a hook after 60 minutes: report before it)",
    ),
    ("deadline 0", setting(("deadline_minutes",), 0), "plan.deadline_minutes", "from 1 to 55"),
    ("deadline string", setting(("deadline_minutes",), "50"), "plan.deadline_minutes", "from 1 to 55"),
    ("deadline float", setting(("deadline_minutes",), 50.0), "plan.deadline_minutes", "from 1 to 55"),
    ("deadline bool", setting(("deadline_minutes",), True), "plan.deadline_minutes", "from 1 to 55"),
    (
        "account as number",
        setting(("account_id",), 555),
        "plan.account_id",
        'must be a string — quote it ("555"), or YAML reads it as a number and drops leading zeros',
    ),
    ("account too short", setting(("account_id",), "555"), "plan.account_id", "not an AWS account id (12 digits)"),
    ("region", setting(("region",), "Frankfurt"), "plan.region", "not a region name like eu-central-1"),
    (
        "application missing",
        setting(("application",), DROP),
        "plan.application",
        "required — the key of the live-stack record",
    ),
    ("application empty", setting(("application",), "  "), "plan.application", "must not be empty"),
    ("application number", setting(("application",), 7), "plan.application", "must be a string"),
    (
        "application padded",
        setting(("application",), " orders"),
        "plan.application",
        "must not start or end with whitespace",
    ),
    ("application control", setting(("application",), "or\x00ders"), "plan.application", "control characters"),
    ("application too long", setting(("application",), "é" * 1025), "plan.application", "at most 2048 bytes"),
    ("initial_live", setting(("initial_live",), "c"), "plan.initial_live", "must be a or b"),
    (
        "section not a list",
        setting(("ecs",), {"cluster": "c", "a": "x", "b": "y", "desired_tasks": 1}),
        "plan.ecs",
        "must be a list of entries, got a mapping — start each entry with '- '",
    ),
    (
        "entry not a mapping",
        setting(("dynamodb", 0), "table-a"),
        "plan.dynamodb[0]",
        "must be a mapping (a DynamoDB entry), got a string",
    ),
    (
        "a equals b",
        setting(("aurora", 0, "b"), "orders-db-a"),
        "plan.aurora[0].b",
        "the same Aurora cluster as plan.aurora[0].a — blue/green needs two copies",
    ),
    ("a equals b, case", setting(("aurora", 0, "b"), "ORDERS-DB-A"), "plan.aurora[0].b", "the same Aurora cluster"),
    (
        "two entries",
        setting(("dynamodb", 1), {"a": "table-c", "b": "orders-table-b"}),
        "plan.dynamodb[1].b",
        "the same table as plan.dynamodb[0].b: a resource belongs to one entry only",
    ),
    (
        "dlq is the other queue",
        setting(("sqs", 0, "b", "dlq"), "orders-queue-a"),
        "plan.sqs[0].b.dlq",
        "the same SQS queue as plan.sqs[0].a.queue",
    ),
    (
        "queue url",
        setting(("sqs", 0, "a", "queue"), "https://sqs.eu-central-1.amazonaws.com/1/q"),
        "plan.sqs[0].a.queue",
        "not its URL",
    ),
    (
        "queue shorthand url",
        setting(("sqs", 0, "a"), "https://sqs.eu-central-1.amazonaws.com/1/q"),
        "plan.sqs[0].a",
        "not its URL",
    ),
    (
        "ecs arn of the other service",
        setting(("ecs", 0, "b"), f"arn:aws:ecs:eu-central-1:{ACCOUNT}:service/orders-cluster/orders-worker-a"),
        "plan.ecs[0].b",
        "the same ECS service as plan.ecs[0].a",
    ),
    ("desired_tasks 0", setting(("ecs", 0, "desired_tasks"), 0), "plan.ecs[0].desired_tasks", "at least 1"),
    (
        "desired_tasks missing",
        setting(("ecs", 0, "desired_tasks"), DROP),
        "plan.ecs[0].desired_tasks",
        "required — the task count of a working service",
    ),
    (
        "alarms overlap",
        setting(("cloudwatch", 0, "a"), {"alarm_prefix": "orders-serv"}),
        "plan.cloudwatch[0].b",
        "overlap those of plan.cloudwatch[0].a",
    ),
    (
        "alarm prefix empty",
        setting(("cloudwatch", 0, "b", "alarm_prefix"), ""),
        "plan.cloudwatch[0].b.alarm_prefix",
        "must not be empty",
    ),
    (
        "sns topic arn",
        setting(("sns", 0, "a"), f"arn:aws:sns:eu-central-1:{ACCOUNT}:orders-updates-a"),
        "plan.sns[0].a",
        "is a topic ARN",
    ),
    (
        "sns pending",
        setting(("sns", 0, "a"), "PendingConfirmation"),
        "plan.sns[0].a",
        "PendingConfirmation: confirm the subscription",
    ),
    (
        "sns wrong service",
        setting(("sns", 0, "b"), f"arn:aws:sqs:eu-central-1:{ACCOUNT}:q"),
        "plan.sns[0].b",
        "must be an SNS subscription ARN",
    ),
    (
        "sns bad id",
        setting(("sns", 0, "b"), f"arn:aws:sns:eu-central-1:{ACCOUNT}:t:1f2e"),
        "plan.sns[0].b",
        "the id a UUID",
    ),
    (
        "sns bad region",
        setting(("sns", 0, "b"), SUB_B.replace("eu-central-1", "…")),
        "plan.sns[0].b",
        "is not a region name",
    ),
    (
        "sns empty disabled filter",
        setting(("sns", 0, "disabled_filter"), {}),
        "plan.sns[0].disabled_filter",
        "matches every message",
    ),
    (
        "sns filters equal",
        lambda d: d["sns"][0].update(enabled_filter={"x": ["1"]}, disabled_filter={"x": ["1"]}),
        "plan.sns[0].disabled_filter",
        "the same as enabled_filter",
    ),
    (
        "sns filter rule",
        setting(("sns", 0, "enabled_filter"), {"event": "created"}),
        "plan.sns[0].enabled_filter.event",
        "must be a list of values or a nested mapping",
    ),
    (
        "stream arn service",
        setting(("kinesis", 0, "stream_arn"), SUB_A),
        "plan.kinesis[0].stream_arn",
        "arn:aws:kinesis:<region>:<account>:stream/<stream name>",
    ),
    (
        "consumer arn",
        setting(("kinesis", 0, "stream_arn"), STREAM + "/consumer/orders-consumer-a:1"),
        "plan.kinesis[0].stream_arn",
        "is a consumer ARN",
    ),
    ("consumer name", setting(("kinesis", 0, "a"), "con 1"), "plan.kinesis[0].a", "Kinesis consumer name"),
    (
        "feeds half",
        setting(("kinesis", 0, "feeds", "b"), DROP),
        "plan.kinesis[0].feeds.b",
        "required — name the function stack b's consumer feeds",
    ),
    (
        "feeds same",
        setting(("kinesis", 0, "feeds", "b"), "orders-fn-a"),
        "plan.kinesis[0].feeds.b",
        "the same function as a",
    ),
    (
        "mapping without feeds",
        setting(("kinesis", 0, "feeds"), DROP),
        "plan.kinesis[0].mapping",
        "add feeds or remove mapping",
    ),
    (
        "mapping typo",
        setting(("kinesis", 0, "mapping", "batchsize"), 10),
        "plan.kinesis[0].mapping.batchsize",
        "did you mean batch_size?",
    ),
    (
        "mapping camel",
        setting(("kinesis", 0, "mapping", "BatchSize"), 10),
        "plan.kinesis[0].mapping.BatchSize",
        "did you mean batch_size?",
    ),
    (
        "batch size",
        setting(("kinesis", 0, "mapping", "batch_size"), 0),
        "plan.kinesis[0].mapping.batch_size",
        "from 1 to 10000",
    ),
    (
        "record age",
        setting(("kinesis", 0, "mapping", "maximum_record_age_in_seconds"), 30),
        "plan.kinesis[0].mapping.maximum_record_age_in_seconds",
        "from 60 to 604800 or -1",
    ),
    (
        "at timestamp",
        setting(("kinesis", 0, "mapping", "starting_position"), "AT_TIMESTAMP"),
        "plan.kinesis[0].mapping.starting_position",
        "LATEST or TRIM_HORIZON",
    ),
    (
        "destination",
        setting(("kinesis", 0, "mapping", "on_failure_destination"), "arn:aws:s3:::bucket"),
        "plan.kinesis[0].mapping.on_failure_destination",
        "SQS queue or SNS topic",
    ),
    (
        "wait not bool",
        setting(("dynamodb", 0, "wait_for_delete"), "yes"),
        "plan.dynamodb[0].wait_for_delete",
        "must be true or false (a YAML/JSON boolean), not the string 'yes'",
    ),
    (
        "wait with keep",
        setting(("dynamodb", 0, "wait_for_delete"), True),
        "plan.dynamodb[0].wait_for_delete",
        "applies only with on_retire: delete",
    ),
    (
        "dynamo on_retire",
        setting(("dynamodb", 0, "on_retire"), "destroy"),
        "plan.dynamodb[0].on_retire",
        "must be one of keep | delete",
    ),
    ("table name", setting(("dynamodb", 0, "a"), "ab"), "plan.dynamodb[0].a", "a DynamoDB table name (3 to 255"),
    (
        "aurora on_retire",
        setting(("aurora", 0, "on_retire"), "Stop"),
        "plan.aurora[0].on_retire",
        "must be one of stop | delete | keep",
    ),
    (
        "aurora size -1",
        setting(("aurora", 0, "minimum_cluster_size"), -1),
        "plan.aurora[0].minimum_cluster_size",
        "from 0 to 15",
    ),
    (
        "aurora size 16",
        setting(("aurora", 0, "minimum_cluster_size"), 16),
        "plan.aurora[0].minimum_cluster_size",
        "from 0 to 15",
    ),
    (
        "aurora size bool",
        setting(("aurora", 0, "minimum_cluster_size"), False),
        "plan.aurora[0].minimum_cluster_size",
        "from 0 to 15",
    ),
    (
        "skip snapshots with stop",
        setting(("aurora", 0, "skip_delete_snapshots"), True),
        "plan.aurora[0].skip_delete_snapshots",
        "applies only with on_retire: delete",
    ),
    ("aurora identifier", setting(("aurora", 0, "a"), "1db"), "plan.aurora[0].a", "Aurora cluster identifier"),
    (
        "tag reserved",
        setting(("aurora", 0, "tags"), {"aws:team": "x"}),
        "plan.aurora[0].tags['aws:team']",
        "reserved for AWS",
    ),
    (
        "tag value number",
        setting(("aurora", 0, "tags"), {"cost-center": 42}),
        "plan.aurora[0].tags.cost-center",
        'quote it ("42")',
    ),
    ("alias digits", setting(("lambda", 0, "alias"), "123"), "plan.lambda[0].alias", "not only digits"),
    (
        "alias yaml bool",
        setting(("lambda", 0, "alias"), True),
        "plan.lambda[0].alias",
        "YAML reads an unquoted yes/no/on/off/true/false as a boolean",
    ),
    (
        "function qualified arn",
        setting(("lambda", 0, "a"), f"arn:aws:lambda:eu-central-1:{ACCOUNT}:function:orders-fn-a:live"),
        "plan.lambda[0].a",
        "no version or alias: set alias",
    ),
    (
        "function date",
        setting(("lambda", 0, "b"), datetime(2024, 1, 1).date()),
        "plan.lambda[0].b",
        "YAML reads it as a date",
    ),
    ("buses empty", setting(("lambda", 0, "event_buses"), []), "plan.lambda[0].event_buses", "non-empty list"),
    (
        "bus twice",
        setting(("lambda", 0, "event_buses"), ["default", "default"]),
        "plan.lambda[0].event_buses",
        "lists a bus twice",
    ),
    (
        "bus item",
        setting(("lambda", 0, "event_buses"), ["default", 3]),
        "plan.lambda[0].event_buses[1]",
        "must be a string",
    ),
    (
        "sns twice",
        setting(("sns", 1), {"a": OTHER_SUB, "b": SUB_A}),
        "plan.sns[1].b",
        "the same SNS subscription as plan.sns[0].a",
    ),
]


@pytest.mark.parametrize(("mutate", "path", "message"), [case[1:] for case in BAD], ids=[case[0] for case in BAD])
def test_a_bad_document_is_reported_at_its_path(
    mutate: Callable[[dict[str, Any]], None], path: str, message: str
) -> None:
    document = example()
    mutate(document)

    with pytest.raises(PlanError) as caught:
        parse_plan(document)

    assert [found for found in caught.value.problems if found[0] == path and message in found[1]], caught.value.problems
    assert f"{path}: " in str(caught.value)


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (None, "the document is empty"),
        ([], "must be a mapping (a plan document), got a list"),
        ("orders", "must be a mapping (a plan document), got a string"),
    ],
)
def test_a_document_that_is_not_a_mapping(document: object, message: str) -> None:
    problems = problems_of(document)
    assert len(problems) == 1
    assert problems[0][0] == "plan"
    assert message in problems[0][1]


def test_every_problem_is_collected_and_listed_one_per_line() -> None:
    document = example()
    document["account_id"] = 555
    document["ecs"][0]["desierd_tasks"] = document["ecs"][0].pop("desired_tasks")
    del document["aurora"][0]["b"]
    document["deadline_minutes"] = 90
    document["kinesis"][0]["mapping"]["batch_size"] = "big"

    with pytest.raises(PlanError) as caught:
        parse_plan(document, source="BLUEGREEN_PLAN_FILE=plan.yaml")

    paths = [path for path, _ in caught.value.problems]
    assert paths == [
        "plan.account_id",
        "plan.deadline_minutes",
        "plan.ecs[0].desierd_tasks",
        "plan.ecs[0].desired_tasks",
        "plan.kinesis[0].mapping.batch_size",
        "plan.aurora[0].b",
    ]
    lines = str(caught.value).splitlines()
    assert lines[0] == "invalid plan from BLUEGREEN_PLAN_FILE=plan.yaml (6 problems):"
    assert "  plan.aurora[0].b: required — name stack b's cluster" in lines
    assert "  plan.ecs[0].desierd_tasks: unknown key (did you mean desired_tasks?)" in lines
    deadline = "must be an integer from 1 to 55 (CodeDeploy fails a hook after 60 minutes: report before it)"
    assert f"  plan.deadline_minutes: {deadline}" in lines
    assert len(lines) == 7


def test_plan_error_is_a_value_error_and_pickles() -> None:
    error = PlanError([("plan.x", "bad")], "somewhere")
    assert isinstance(error, ValueError)
    again = pickle.loads(pickle.dumps(error))
    assert (again.problems, again.source, str(again)) == (error.problems, error.source, str(error))
    assert str(PlanError([("plan.x", "bad")])) == "invalid plan (1 problem):\n  plan.x: bad"


# --------------------------------------------------------------------------- text


def test_yaml_syntax_error_names_the_source_and_line() -> None:
    with pytest.raises(PlanError) as caught:
        load_plan_text("application: orders\necs:\n  - {cluster: c, a: x\n", source="plan.yaml")
    assert caught.value.problems[0][0] == "plan"
    assert "is not valid YAML: line 4" in str(caught.value)
    assert "from plan.yaml" in str(caught.value)


def test_json_syntax_error_names_the_line() -> None:
    with pytest.raises(PlanError, match=r"is not valid JSON: line 2, column 6: Expecting ':' delimiter"):
        load_plan_text('{"application": "orders",\n "x" 1}', source="BLUEGREEN_PLAN")


def test_a_yaml_flow_mapping_is_not_mistaken_for_json() -> None:
    assert load_plan_text("{application: orders}", source="inline").application == "orders"


def test_repeated_keys_are_errors() -> None:
    with pytest.raises(PlanError, match=r"duplicate key 'aurora' \(first at line 2\)"):
        load_plan_text("application: x\naurora: []\naurora: []\n", source="s")
    with pytest.raises(PlanError, match=r"the key 'application' appears twice"):
        load_plan_text('{"application": "x", "application": "y"}', source="s")


def test_yaml_merge_keys_may_override() -> None:
    text = """
application: orders
dynamodb:
  - &base {a: table-a, b: table-b, on_retire: keep}
  - <<: *base
    a: table-c
    b: table-d
"""
    plan = load_plan_text(text, source="s")
    assert plan.dynamodb[1] == DynamoEntry(a="table-c", b="table-d", on_retire="keep")


def test_unsafe_yaml_tags_are_refused() -> None:
    with pytest.raises(PlanError, match="is not valid YAML"):
        load_plan_text("application: !!python/object/apply:os.getcwd []\n", source="s")


def test_an_unquoted_account_id_in_yaml() -> None:
    with pytest.raises(PlanError, match=r'plan\.account_id: must be a string — quote it \("123456789012"\)'):
        load_plan_text("application: orders\naccount_id: 123456789012\n", source="s")


# --------------------------------------------------------------------------- random mutations


def _locations(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [path]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _locations(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _locations(item, (*path, index))
    return found


LOCATIONS = _locations(example())
junk = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8) | st.dates(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=6,
)


@pytest.mark.slow
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_random_mutations_raise_only_plan_errors_naming_a_plan_path(data: st.DataObject) -> None:
    document: Any = example()
    for _ in range(data.draw(st.integers(1, 3), label="mutations")):
        where = data.draw(st.sampled_from(LOCATIONS), label="where")
        kind = data.draw(st.sampled_from(["drop", "replace", "unknown key"]), label="kind")
        parent: Any = document
        try:
            for step in where[:-1]:
                parent = parent[step]
            target = parent[where[-1]] if where else document
        except (KeyError, IndexError, TypeError):
            continue  # an earlier mutation removed or replaced this place
        if kind == "drop" and where:
            del parent[where[-1]]
        elif kind == "replace":
            value = data.draw(junk, label="value")
            if where:
                parent[where[-1]] = value
            else:
                document = value
        elif isinstance(target, dict):
            target[data.draw(st.text(min_size=1, max_size=8), label="key")] = data.draw(junk, label="value")

    try:
        plan = parse_plan(copy.deepcopy(document))
    except PlanError as error:
        assert error.problems
        for path, message in error.problems:
            assert path == "plan" or path.startswith(("plan.", "plan[")), path
            assert message
            assert f"{path}: {message}" in str(error)
    else:
        assert parse_plan(plan.to_document()) == plan


# --------------------------------------------------------------------------- the environment


def test_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "plan.yaml"
    path.write_text(EXAMPLE.read_text())
    assert load_plan_from_env({"BLUEGREEN_PLAN_FILE": str(path)}) == parse_plan(example())


def test_a_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(PlanError, match=r"BLUEGREEN_PLAN_FILE: cannot read '.*nope\.yaml': No such file"):
        load_plan_from_env({"BLUEGREEN_PLAN_FILE": str(missing)})


def test_inline_json() -> None:
    env = {"BLUEGREEN_PLAN": json.dumps(example()), "BLUEGREEN_PLAN_FILE": "", "BLUEGREEN_PLAN_PARAMETER": "  "}
    assert load_plan_from_env(env) == parse_plan(example())


def test_errors_in_an_inline_plan_name_the_variable() -> None:
    with pytest.raises(PlanError, match=r"^invalid plan from BLUEGREEN_PLAN \(1 problem\):\n  plan.region"):
        load_plan_from_env({"BLUEGREEN_PLAN": "application: x\nregion: nowhere\n"})


def test_no_source_set_says_which_variables_to_set() -> None:
    with pytest.raises(PlanError) as caught:
        load_plan_from_env({"BLUEGREEN_PLAN_FILE": "", "AWS_REGION": REGION})
    message = str(caught.value)
    assert "no plan" in message
    for name in ("BLUEGREEN_PLAN_FILE", "BLUEGREEN_PLAN_PARAMETER", "BLUEGREEN_PLAN "):
        assert name in message


def test_more_than_one_source_is_ambiguous() -> None:
    with pytest.raises(PlanError) as caught:
        load_plan_from_env({"BLUEGREEN_PLAN_FILE": "plan.yaml", "BLUEGREEN_PLAN": "application: x"})
    assert "BLUEGREEN_PLAN_FILE and BLUEGREEN_PLAN are all set" in str(caught.value)
    assert "ambiguous" in str(caught.value)


def test_reads_os_environ_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BLUEGREEN_PLAN", "application: from-environ")
    monkeypatch.delenv("BLUEGREEN_PLAN_FILE", raising=False)
    monkeypatch.delenv("BLUEGREEN_PLAN_PARAMETER", raising=False)
    assert load_plan_from_env().application == "from-environ"


@pytest.fixture
def ssm_calls(aws: None) -> list[str]:
    """The names of the SSM GetParameter calls the plan loader makes (its clients come from bluegreen.aws)."""
    calls: list[str] = []

    def count(params: dict[str, Any], **_: Any) -> None:
        calls.append(params["Name"])

    bluegreen.aws.default_session().events.register("provide-client-params.ssm.GetParameter", count)
    return calls


def test_from_ssm_fetched_once_then_cached(ssm_calls: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    ssm = boto3.client("ssm", region_name=REGION)
    ssm.put_parameter(Name="/orders/plan", Value=EXAMPLE.read_text(), Type="String")
    env = {"BLUEGREEN_PLAN_PARAMETER": "/orders/plan", "AWS_REGION": REGION}

    first = load_plan_from_env(env)
    ssm.put_parameter(Name="/orders/plan", Value="application: changed\n", Type="String", Overwrite=True)
    second = load_plan_from_env(env)

    assert first == second == parse_plan(example())
    assert ssm_calls == ["/orders/plan"]  # the second load made no SSM call

    class Later(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> Any:
            return datetime.now(tz) + timedelta(seconds=301)

    monkeypatch.setattr("aws_lambda_powertools.utilities.parameters.base.datetime", Later)
    assert load_plan_from_env(env).application == "changed"  # 300 s later the cached plan has expired
    assert ssm_calls == ["/orders/plan"] * 2


def test_clear_plan_cache_and_max_age_zero(ssm_calls: list[str]) -> None:
    ssm = boto3.client("ssm", region_name=REGION)
    ssm.put_parameter(Name="/orders/plan", Value="application: one\n", Type="String")
    env = {"BLUEGREEN_PLAN_PARAMETER": "/orders/plan"}
    assert load_plan_from_env(env).application == "one"
    ssm.put_parameter(Name="/orders/plan", Value="application: two\n", Type="String", Overwrite=True)
    clear_plan_cache()
    assert load_plan_from_env(env, max_age=0).application == "two"
    assert load_plan_from_env(env, max_age=0).application == "two"
    assert ssm_calls == ["/orders/plan"] * 3  # max_age=0 keeps nothing


def test_from_a_secure_string_parameter(aws: None) -> None:
    ssm = boto3.client("ssm", region_name=REGION)
    ssm.put_parameter(Name="/orders/secret-plan", Value="application: secret\n", Type="SecureString")
    assert load_plan_from_env({"BLUEGREEN_PLAN_PARAMETER": "/orders/secret-plan"}).application == "secret"


def test_a_missing_parameter(aws: None) -> None:
    with pytest.raises(PlanError, match=r"BLUEGREEN_PLAN_PARAMETER: there is no SSM parameter '/nope' in eu-central-1"):
        load_plan_from_env({"BLUEGREEN_PLAN_PARAMETER": "/nope", "AWS_REGION": REGION})


def test_a_bad_plan_in_ssm_names_the_parameter(aws: None) -> None:
    boto3.client("ssm", region_name=REGION).put_parameter(Name="/p", Value="application: [x]\n", Type="String")
    with pytest.raises(PlanError, match=r"from SSM parameter /p \(BLUEGREEN_PLAN_PARAMETER\).*\n  plan.application"):
        load_plan_from_env({"BLUEGREEN_PLAN_PARAMETER": "/p"})


def test_importing_the_plan_module_loads_no_tool() -> None:
    code = (
        "import sys, bluegreen.plan; "
        "print(sorted(m for m in sys.modules if m.startswith(('bluegreen.tools', 'aws_lambda_powertools'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_a_json_plan_never_imports_pyyaml_and_a_yaml_plan_does() -> None:
    code = (
        "import sys; from bluegreen.plan import load_plan_text; "
        "load_plan_text('{\"application\": \"orders\"}', source='t'); print('yaml' in sys.modules); "
        "load_plan_text('application: orders', source='t'); print('yaml' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "True"]


def test_plan_is_frozen() -> None:
    plan = Plan(application="x")
    with pytest.raises(AttributeError):
        plan.application = "y"  # type: ignore[misc]
