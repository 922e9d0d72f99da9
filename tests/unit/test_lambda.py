from __future__ import annotations

import io
import json
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.compat import HTTPHeaders

from bluegreen import StackReference
from bluegreen.local.shim import Shim
from bluegreen.tools.lambda_ import LambdaConfig, LambdaTools, LatestMetric, RuleRef
from tests.conftest import ACCOUNT_ID, REGION

FN_A = "fn-a-dev"
FN_B = "fn-b-dev"
ALIAS = "live"

# One session for every tool in this module: its loaded service models are reused, which keeps the
# suite fast (each client still gets its own event hooks, so hooks never leak between tests).
SESSION = boto3.Session(region_name=REGION)


# -- the world: functions, queues, rules ---------------------------------------------------------


def _zipped_handler() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("index.py", "def handler(event, context):\n    return event\n")
    return buffer.getvalue()


@cache
def client(service: str) -> Any:
    """A plain boto3 client to read back what moto holds, made once for the module (moto serves it in every test)."""
    return SESSION.client(service, region_name=REGION)  # type: ignore[call-overload]


@dataclass
class World:
    """Two functions in moto (each with a published version 1 and an alias ``live`` on it)."""

    arns: dict[str, str] = field(default_factory=dict)
    lam: Any = field(default_factory=lambda: client("lambda"))
    events: Any = field(default_factory=lambda: client("events"))
    sqs: Any = field(default_factory=lambda: client("sqs"))

    def alias_arn(self, function: str) -> str:
        return f"{self.arns[function]}:{ALIAS}"

    def queue_arn(self, name: str) -> str:
        url = self.sqs.create_queue(QueueName=name)["QueueUrl"]
        return str(self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"])

    def publish_new_version(self, function: str) -> str:
        # Lambda (and moto) publish nothing new while code and configuration are unchanged.
        self.lam.update_function_configuration(FunctionName=function, Description="next release")
        return str(self.lam.publish_version(FunctionName=function)["Version"])

    def mapping(self, target_arn: str, queue: str, *, enabled: bool = True) -> str:
        # Mappings made by name, or by partial ARN, are tested apart (see "mappings however made").
        created = self.lam.create_event_source_mapping(
            FunctionName=target_arn, EventSourceArn=self.queue_arn(queue), Enabled=enabled
        )
        return str(created["UUID"])

    def mapping_state(self, uuid: str) -> str:
        return str(self.lam.get_event_source_mapping(UUID=uuid)["State"])

    def rule(self, name: str, target_arn: str, *, bus: str = "default", enabled: bool = True) -> None:
        self.events.put_rule(
            Name=name,
            EventBusName=bus,
            EventPattern=json.dumps({"source": ["orders"]}),
            State="ENABLED" if enabled else "DISABLED",
        )
        self.events.put_targets(Rule=name, EventBusName=bus, Targets=[{"Id": "fn", "Arn": target_arn}])

    def rule_state(self, name: str, *, bus: str = "default") -> str:
        return str(self.events.describe_rule(Name=name, EventBusName=bus)["State"])


@pytest.fixture
def world(aws: None) -> World:
    role = client("iam").create_role(
        RoleName="fn-role",
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
                ],
            }
        ),
    )["Role"]["Arn"]
    made = World()
    for name in (FN_A, FN_B):
        created = made.lam.create_function(
            FunctionName=name,
            Runtime="python3.13",
            Role=role,
            Handler="index.handler",
            Code={"ZipFile": _zipped_handler()},
            Publish=True,
        )
        made.arns[name] = created["FunctionArn"]
        made.lam.create_alias(FunctionName=name, Name=ALIAS, FunctionVersion="1")
    return made


def make_tools(*, alias: str | None = None, name_b: str = FN_B, **extra: Any) -> LambdaTools:
    config = LambdaConfig(region=REGION, lambda_name_a=FN_A, lambda_name_b=name_b, alias=alias, **extra)
    return LambdaTools(config, session=SESSION)


@pytest.fixture
def tools(world: World) -> LambdaTools:
    return make_tools()


@pytest.fixture
def alias_tools(world: World) -> LambdaTools:
    return make_tools(alias=ALIAS)


# -- botocore hooks: count requests, inject errors, page results moto does not page -----------


def count_calls(tools: LambdaTools, service: str, operation: str) -> list[dict[str, Any]]:
    """Record the request of every ``operation`` call the tool's client makes (the call still goes to moto)."""
    seen: list[dict[str, Any]] = []
    client = tools._client(service)
    event = f"before-call.{client.meta.service_model.service_id.hyphenize()}.{operation}"

    def record(params: dict[str, Any], **_: Any) -> None:
        seen.append(params)

    client.meta.events.register(event, record)
    return seen


def inject_error(
    tools: LambdaTools, service: str, operation: str, code: str, *, times: int | None = None, status: int = 409
) -> list[int]:
    """Make the next ``times`` calls (every call when None) of ``operation`` fail with ``code``; returns a counter."""
    calls: list[int] = []
    client = tools._client(service)
    event = f"before-call.{client.meta.service_model.service_id.hyphenize()}.{operation}"

    def fail(**_: Any) -> tuple[AWSResponse, dict[str, Any]] | None:
        calls.append(1)
        if times is not None and len(calls) > times:
            return None
        parsed = {
            "Error": {"Code": code, "Message": f"injected {code}"},
            "ResponseMetadata": {"HTTPStatusCode": status},
        }
        return AWSResponse("https://injected", status, HTTPHeaders(), None), parsed

    client.meta.events.register(event, fail)
    return calls


def page_results(
    tools: LambdaTools, service: str, operation: str, result_key: str, token_key: str, page_size: int
) -> list[int]:
    """Serve moto's full (unpaged) answer ``page_size`` items per call, with a next token while more remain."""
    calls: list[int] = []
    client = tools._client(service)
    event = f"after-call.{client.meta.service_model.service_id.hyphenize()}.{operation}"

    def slice_page(parsed: dict[str, Any], **_: Any) -> None:
        start = len(calls) * page_size
        calls.append(1)
        items = parsed.get(result_key, [])
        parsed[result_key] = items[start : start + page_size]
        if start + page_size < len(items):
            parsed[token_key] = f"page-{len(calls)}"
        else:
            parsed.pop(token_key, None)

    client.meta.events.register(event, slice_page)
    return calls


# -- function ARN --------------------------------------------------------------------------------


def test_function_arn_comes_from_lambda_not_from_the_config_account(world: World) -> None:
    tools = make_tools(account_id="999999999999")  # the original built the ARN from this and missed
    gets = count_calls(tools, "lambda", "GetFunction")
    assert tools.function_arn("a") == world.arns[FN_A]
    assert tools.function_arn(StackReference.A) == world.arns[FN_A]
    assert tools.target_arn("b") == f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{FN_B}"
    assert len(gets) == 2  # once per stack, then cached


def test_target_arn_with_alias_is_qualified(alias_tools: LambdaTools, world: World) -> None:
    assert alias_tools.target_arn("a") == world.alias_arn(FN_A)


def test_missing_function_is_reported_by_name(world: World) -> None:
    tools = make_tools(name_b="gone-fn")
    with pytest.raises(LookupError, match="'gone-fn' of stack b"):
        tools.disable_event_mapping("b")


def test_invalid_reference_is_an_error(tools: LambdaTools, world: World) -> None:
    uuid = world.mapping(world.arns[FN_B], "q-b")
    with pytest.raises(ValueError, match="expected 'a' or 'b'"):
        tools.disable_event_mapping("c")
    assert world.mapping_state(uuid) == "Enabled"


# -- event-source mappings -----------------------------------------------------------------------


def test_list_event_source_mappings_returns_only_that_stacks_mappings(tools: LambdaTools, world: World) -> None:
    a1 = world.mapping(world.arns[FN_A], "q-a-1")
    a2 = world.mapping(world.arns[FN_A], "q-a-2")
    world.mapping(world.arns[FN_B], "q-b")
    found = tools.list_event_source_mappings("a")
    assert {m["UUID"] for m in found} == {a1, a2}
    assert all("ResponseMetadata" not in m for m in found)


def test_list_event_source_mappings_follows_every_page(tools: LambdaTools, world: World) -> None:
    uuids = {world.mapping(world.arns[FN_A], f"q-a-{i}") for i in range(5)}
    # moto answers ListEventSourceMappings in one page whatever MaxItems says: serve it 2 at a time.
    calls = page_results(tools, "lambda", "ListEventSourceMappings", "EventSourceMappings", "NextMarker", 2)
    requests = count_calls(tools, "lambda", "ListEventSourceMappings")
    assert {m["UUID"] for m in tools.list_event_source_mappings("a")} == uuids
    assert len(calls) == 4
    # By ARN (every page), then by name: one page, as the slicer is past the end (and moto lists none by name).
    assert [(r["query_string"]["FunctionName"], r["query_string"].get("Marker")) for r in requests] == [
        (world.arns[FN_A], None),
        (world.arns[FN_A], "page-1"),
        (world.arns[FN_A], "page-2"),
        (FN_A, None),
    ]


def test_disable_event_mapping_disables_that_stack_only(tools: LambdaTools, world: World) -> None:
    a1 = world.mapping(world.arns[FN_A], "q-a-1")
    a2 = world.mapping(world.arns[FN_A], "q-a-2")
    b1 = world.mapping(world.arns[FN_B], "q-b")
    tools.disable_event_mapping("a")
    assert world.mapping_state(a1) == world.mapping_state(a2) == "Disabled"
    assert world.mapping_state(b1) == "Enabled"


def test_enable_event_mapping_enables_that_stack_only(tools: LambdaTools, world: World) -> None:
    a1 = world.mapping(world.arns[FN_A], "q-a", enabled=False)
    b1 = world.mapping(world.arns[FN_B], "q-b", enabled=False)
    tools.enable_event_mapping(StackReference.B)
    assert world.mapping_state(b1) == "Enabled"
    assert world.mapping_state(a1) == "Disabled"


def test_switching_mappings_twice_sends_no_second_update(tools: LambdaTools, world: World) -> None:
    a1 = world.mapping(world.arns[FN_A], "q-a-1")
    world.mapping(world.arns[FN_A], "q-a-2", enabled=False)
    updates = count_calls(tools, "lambda", "UpdateEventSourceMapping")
    tools.disable_event_mapping("a")
    assert len(updates) == 1  # only the mapping that was still enabled
    tools.disable_event_mapping("a")
    assert len(updates) == 1
    assert world.mapping_state(a1) == "Disabled"


def test_mapping_already_in_transition_to_the_wanted_state_is_left_alone(tools: LambdaTools, world: World) -> None:
    world.mapping(world.arns[FN_A], "q-a")
    # moto switches state at once and never reports Enabling/Disabling: show the tool a mapping mid-way.
    client = tools._client("lambda")

    def disabling(parsed: dict[str, Any], **_: Any) -> None:
        for mapping in parsed.get("EventSourceMappings", []):
            mapping["State"] = "Disabling"

    client.meta.events.register("after-call.lambda.ListEventSourceMappings", disabling)
    updates = count_calls(tools, "lambda", "UpdateEventSourceMapping")
    tools.disable_event_mapping("a")
    assert updates == []


def test_alias_config_switches_the_alias_mappings_only(alias_tools: LambdaTools, world: World) -> None:
    on_alias = world.mapping(world.alias_arn(FN_A), "q-a-alias")
    unqualified = world.mapping(world.arns[FN_A], "q-a-plain")
    other_alias = world.mapping(world.alias_arn(FN_B), "q-b-alias")
    assert [m["UUID"] for m in alias_tools.list_event_source_mappings("a")] == [on_alias]
    alias_tools.disable_event_mapping("a")
    assert world.mapping_state(on_alias) == "Disabled"
    assert world.mapping_state(unqualified) == "Enabled"
    assert world.mapping_state(other_alias) == "Enabled"


def test_mapping_in_use_is_retried_until_it_takes(
    tools: LambdaTools, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    uuid = world.mapping(world.arns[FN_A], "q-a")
    delays: list[float] = []
    monkeypatch.setattr(time, "sleep", delays.append)  # the retry delay, not slept
    # moto has no Updating/Creating states: inject AWS's answer for a mapping in transition, twice.
    calls = inject_error(tools, "lambda", "UpdateEventSourceMapping", "ResourceInUseException", times=2)
    tools.disable_event_mapping("a", retry_delay=7.5, retry_attempts=3)
    assert len(calls) == 3
    assert delays == [7.5, 7.5]
    assert world.mapping_state(uuid) == "Disabled"


def test_mapping_still_in_use_after_every_attempt_raises_naming_it(tools: LambdaTools, world: World) -> None:
    uuid = world.mapping(world.arns[FN_A], "q-a")
    calls = inject_error(tools, "lambda", "UpdateEventSourceMapping", "ResourceInUseException")
    with pytest.raises(RuntimeError, match=f"{uuid} of Lambda function '{FN_A}'.*after 4 attempts"):
        tools.disable_event_mapping("a", retry_delay=0, retry_attempts=4)
    assert len(calls) == 4
    assert world.mapping_state(uuid) == "Enabled"


def test_other_mapping_errors_are_not_retried(tools: LambdaTools, world: World) -> None:
    world.mapping(world.arns[FN_A], "q-a")
    calls = inject_error(tools, "lambda", "UpdateEventSourceMapping", "InvalidParameterValueException", status=400)
    with pytest.raises(tools._lambda.exceptions.InvalidParameterValueException):
        tools.disable_event_mapping("a", retry_delay=0)
    assert len(calls) == 1


def test_retry_attempts_must_be_positive(tools: LambdaTools) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        tools.enable_event_mapping("a", retry_attempts=0)


# -- create / delete mappings --------------------------------------------------------------------


def test_create_event_source_mapping_targets_the_function_arn_and_passes_params(
    tools: LambdaTools, world: World
) -> None:
    queue = world.queue_arn("q-new")
    created = tools.create_event_source_mapping("b", queue, BatchSize=5, Enabled=False)
    held = world.lam.get_event_source_mapping(UUID=created["UUID"])
    assert held["EventSourceArn"] == queue
    assert held["FunctionArn"] == world.arns[FN_B]
    assert held["BatchSize"] == 5
    assert held["State"] == "Disabled"
    assert "ResponseMetadata" not in created
    assert tools.list_event_source_mappings("a") == []


def test_create_event_source_mapping_twice_returns_the_existing_one(tools: LambdaTools, world: World) -> None:
    queue = world.queue_arn("q-new")
    first = tools.create_event_source_mapping("a", queue)
    second = tools.create_event_source_mapping("a", queue, BatchSize=7)
    assert second["UUID"] == first["UUID"]
    assert len(world.lam.list_event_source_mappings(EventSourceArn=queue)["EventSourceMappings"]) == 1


def test_create_event_source_mapping_on_the_alias(alias_tools: LambdaTools, world: World) -> None:
    queue = world.queue_arn("q-new")
    created = alias_tools.create_event_source_mapping("a", queue)
    assert [m["UUID"] for m in alias_tools.list_event_source_mappings("a")] == [created["UUID"]]
    found = world.lam.list_event_source_mappings(FunctionName=world.alias_arn(FN_A))["EventSourceMappings"]
    assert [m["UUID"] for m in found] == [created["UUID"]]


def test_create_event_source_mapping_conflict_returns_the_concurrent_one(tools: LambdaTools, world: World) -> None:
    queue = world.queue_arn("q-new")
    # moto never raises ResourceConflictException for a duplicate mapping (AWS does): simulate a concurrent
    # creator that wins the race between the tool's listing and its create.
    client = tools._client("lambda")
    winner: list[str] = []

    def race(**_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        winner.append(world.mapping(world.arns[FN_A], "q-new"))
        parsed = {"Error": {"Code": "ResourceConflictException", "Message": "exists"}, "ResponseMetadata": {}}
        return AWSResponse("https://injected", 409, HTTPHeaders(), None), parsed

    client.meta.events.register("before-call.lambda.CreateEventSourceMapping", race)
    created = tools.create_event_source_mapping("a", queue)
    assert created["UUID"] == winner[0]
    assert len(world.lam.list_event_source_mappings(EventSourceArn=queue)["EventSourceMappings"]) == 1


def test_create_event_source_mapping_rejects_function_name_in_params(tools: LambdaTools, world: World) -> None:
    with pytest.raises(ValueError, match="FunctionName"):
        tools.create_event_source_mapping("a", world.queue_arn("q"), FunctionName="other")


def test_delete_event_mapping_deletes_and_a_gone_mapping_is_done(tools: LambdaTools, world: World) -> None:
    gone = world.mapping(world.arns[FN_A], "q-a")
    kept = world.mapping(world.arns[FN_A], "q-a-2")
    tools.delete_event_mapping(gone)
    assert [m["UUID"] for m in tools.list_event_source_mappings("a")] == [kept]
    # moto answers a delete of a missing mapping with success; AWS says ResourceNotFoundException.
    inject_error(tools, "lambda", "DeleteEventSourceMapping", "ResourceNotFoundException", status=404)
    tools.delete_event_mapping(gone)
    assert [m["UUID"] for m in tools.list_event_source_mappings("a")] == [kept]


def test_delete_event_mapping_retries_a_mapping_in_transition(tools: LambdaTools, world: World) -> None:
    uuid = world.mapping(world.arns[FN_A], "q-a")
    calls = inject_error(tools, "lambda", "DeleteEventSourceMapping", "ResourceInUseException", times=1)
    tools.delete_event_mapping(uuid, retry_delay=0)
    assert len(calls) == 2
    assert tools.list_event_source_mappings("a") == []


# -- EventBridge rules ---------------------------------------------------------------------------


def test_disable_rule_disables_rules_targeting_that_stack_only(tools: LambdaTools, world: World) -> None:
    world.events.create_event_bus(Name="orders-bus")
    world.rule("a-default", world.arns[FN_A])
    world.rule("a-custom", world.arns[FN_A], bus="orders-bus")
    world.rule("b-default", world.arns[FN_B])
    tools.config.event_bus_names = ("default", "orders-bus")
    tools.disable_rule("a")
    assert world.rule_state("a-default") == "DISABLED"
    assert world.rule_state("a-custom", bus="orders-bus") == "DISABLED"
    assert world.rule_state("b-default") == "ENABLED"


def test_enable_rule_enables_that_stack_only_and_twice_sends_nothing(tools: LambdaTools, world: World) -> None:
    world.rule("a-rule", world.arns[FN_A], enabled=False)
    world.rule("b-rule", world.arns[FN_B], enabled=False)
    enables = count_calls(tools, "events", "EnableRule")
    tools.enable_rule("b")
    tools.enable_rule("b")
    assert world.rule_state("b-rule") == "ENABLED"
    assert world.rule_state("a-rule") == "DISABLED"
    assert len(enables) == 1


def test_default_config_looks_at_the_default_bus_only(tools: LambdaTools, world: World) -> None:
    world.events.create_event_bus(Name="orders-bus")
    world.rule("a-custom", world.arns[FN_A], bus="orders-bus")
    tools.disable_rule("a")
    assert world.rule_state("a-custom", bus="orders-bus") == "ENABLED"


def test_rules_are_found_on_every_page(tools: LambdaTools, world: World) -> None:
    # moto pages ListRuleNamesByTarget 50 names at a time, like AWS's default: 55 rules need two pages.
    for i in range(55):
        world.rule(f"a-rule-{i:02}", world.arns[FN_A])
    listings = count_calls(tools, "events", "ListRuleNamesByTarget")
    tools.disable_rule("a")
    assert len(listings) == 2
    assert {world.rule_state(f"a-rule-{i:02}") for i in range(55)} == {"DISABLED"}
    assert len(tools.list_rules("a")) == 55


def test_alias_rules_are_those_targeting_the_alias(alias_tools: LambdaTools, world: World) -> None:
    world.rule("a-alias", world.alias_arn(FN_A))
    world.rule("a-plain", world.arns[FN_A])
    assert alias_tools.list_rules("a") == [RuleRef("a-alias")]
    alias_tools.disable_rule("a")
    assert world.rule_state("a-alias") == "DISABLED"
    assert world.rule_state("a-plain") == "ENABLED"


def test_describe_rules_shows_their_state(tools: LambdaTools, world: World) -> None:
    world.rule("a-rule", world.arns[FN_A], enabled=False)
    described = tools.describe_rules("a")
    assert [(r["Name"], r["State"]) for r in described] == [("a-rule", "DISABLED")]


def test_missing_event_bus_is_reported_by_name(tools: LambdaTools, world: World) -> None:
    tools.config.event_bus_names = ("default", "no-such-bus")
    with pytest.raises(LookupError, match="'no-such-bus'"):
        tools.disable_rule("a")


# -- alias and version ---------------------------------------------------------------------------


def test_get_alias_returns_what_lambda_holds(tools: LambdaTools, world: World) -> None:
    alias = tools.get_alias("a", ALIAS)
    assert alias["AliasArn"] == world.alias_arn(FN_A)
    assert alias["FunctionVersion"] == "1"
    assert "ResponseMetadata" not in alias


def test_get_alias_missing_is_reported_by_name(tools: LambdaTools) -> None:
    with pytest.raises(LookupError, match=f"alias 'nope' of Lambda function '{FN_B}'"):
        tools.get_alias("b", "nope")


def test_get_version_with_alias_is_the_aliased_version(alias_tools: LambdaTools, world: World) -> None:
    assert world.publish_new_version(FN_A) == "2"
    world.lam.update_alias(FunctionName=FN_A, Name=ALIAS, FunctionVersion="2")
    assert alias_tools.get_version("a") == "2"
    assert alias_tools.get_version("b") == "1"


def test_get_version_without_alias_is_what_the_unqualified_arn_runs(tools: LambdaTools, world: World) -> None:
    assert world.publish_new_version(FN_A) == "2"
    assert tools.get_version("a") == "$LATEST"
    assert tools.get_latest_published_version("a") == "2"
    assert tools.get_latest_published_version("b") == "1"


# -- metrics -------------------------------------------------------------------------------------


@pytest.fixture
def metrics(world: World) -> Callable[..., None]:
    """Put one AWS/Lambda data point: ``metrics(name, value, how_long_ago, dimensions)``."""

    def put_metric(name: str, value: float, ago: timedelta, dimensions: dict[str, str]) -> None:
        client("cloudwatch").put_metric_data(
            Namespace="AWS/Lambda",
            MetricData=[
                {
                    "MetricName": name,
                    "Value": value,
                    "Timestamp": datetime.now(UTC) - ago,
                    "Dimensions": [{"Name": k, "Value": v} for k, v in dimensions.items()],
                }
            ],
        )

    return put_metric


def test_get_latest_metrics_gives_the_latest_point_of_each_metric_with_data(
    tools: LambdaTools, metrics: Callable[..., None]
) -> None:
    fn_a = {"FunctionName": FN_A}
    metrics("Invocations", 3, timedelta(seconds=150), fn_a)
    metrics("Invocations", 4, timedelta(seconds=20), fn_a)
    metrics("Invocations", 6, timedelta(seconds=20), fn_a)
    metrics("Duration", 100, timedelta(seconds=20), fn_a)
    metrics("Duration", 300, timedelta(seconds=20), fn_a)
    metrics("Errors", 1, timedelta(seconds=140), fn_a)
    metrics("Errors", 9, timedelta(minutes=20), fn_a)  # outside the five-minute window
    metrics("Throttles", 5, timedelta(seconds=20), {"FunctionName": FN_B})  # the other stack
    before = datetime.now(UTC)
    latest = tools.get_latest_metrics("a")
    assert set(latest) == {"Invocations", "Duration", "Errors"}  # no data: left out
    assert latest["Invocations"].latest_metric_value == 10.0  # Sum of the newest minute
    assert latest["Invocations"].stat == "Sum"
    assert latest["Duration"] == LatestMetric(latest["Duration"].latest_metric_timestamp, 200.0, "Average")
    assert latest["Errors"].latest_metric_value == 1.0
    assert latest["Errors"].latest_metric_timestamp < latest["Invocations"].latest_metric_timestamp
    assert before - timedelta(minutes=5, seconds=1) <= latest["Errors"].latest_metric_timestamp <= before
    assert set(tools.get_latest_metrics("b")) == {"Throttles"}


def test_get_latest_metrics_with_alias_uses_the_resource_dimension(
    alias_tools: LambdaTools, metrics: Callable[..., None]
) -> None:
    metrics("IteratorAge", 1200, timedelta(seconds=30), {"FunctionName": FN_A, "Resource": f"{FN_A}:{ALIAS}"})
    metrics("Errors", 2, timedelta(seconds=30), {"FunctionName": FN_A})  # the whole function, not the alias
    latest = alias_tools.get_latest_metrics("a")
    assert set(latest) == {"IteratorAge"}
    assert latest["IteratorAge"].latest_metric_value == 1200.0
    assert latest["IteratorAge"].stat == "Maximum"


def test_get_latest_metrics_asks_for_the_six_metrics_newest_first(tools: LambdaTools, world: World) -> None:
    requests: list[dict[str, Any]] = []
    client = tools._client("cloudwatch")
    # cloudwatch speaks CBOR: look at the parameters before they are serialised.
    client.meta.events.register(
        "provide-client-params.cloudwatch.GetMetricData", lambda params, **_: requests.append(dict(params))
    )
    assert tools.get_latest_metrics("a") == {}
    (request,) = requests
    assert request["ScanBy"] == "TimestampDescending"
    assert request["EndTime"] - request["StartTime"] == timedelta(minutes=5)
    stats = {q["MetricStat"]["Metric"]["MetricName"]: q["MetricStat"]["Stat"] for q in request["MetricDataQueries"]}
    assert stats == {
        "IteratorAge": "Maximum",
        "Errors": "Sum",
        "ConcurrentExecutions": "Maximum",
        "Invocations": "Sum",
        "Duration": "Average",
        "Throttles": "Sum",
    }
    assert {q["MetricStat"]["Period"] for q in request["MetricDataQueries"]} == {60}
    assert {q["MetricStat"]["Metric"]["Namespace"] for q in request["MetricDataQueries"]} == {"AWS/Lambda"}


def test_get_latest_metrics_reads_every_page(tools: LambdaTools, metrics: Callable[..., None]) -> None:
    fn_a = {"FunctionName": FN_A}
    metrics("Invocations", 4, timedelta(seconds=20), fn_a)
    metrics("Throttles", 2, timedelta(seconds=20), fn_a)
    # moto answers GetMetricData in one page: serve one query result per page, with NextToken between.
    calls = page_results(tools, "cloudwatch", "GetMetricData", "MetricDataResults", "NextToken", 1)
    latest = tools.get_latest_metrics("a")
    assert len(calls) == 6
    assert {name: m.latest_metric_value for name, m in latest.items()} == {"Invocations": 4.0, "Throttles": 2.0}


# -- mappings however made: by name (as SAM makes them), by ARN, by partial ARN --------------------


def apply_shim(monkeypatch: pytest.MonkeyPatch) -> None:
    """The emulator's mapping patches: names and ARNs resolve as in AWS; a duplicate mapping is refused."""
    for patch in [*Shim.kinesis_consumer_patches(), *Shim.event_source_mapping_patches()]:
        monkeypatch.setattr(patch.owner, patch.name, patch.value)


@pytest.fixture(params=["moto", "shim"])
def lookup(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, world: World) -> str:
    """Plain moto (it lists by the exact string a mapping was made with), then the emulator's shim (as AWS)."""
    if request.param == "shim":
        apply_shim(monkeypatch)
    return str(request.param)


@pytest.fixture
def shim(monkeypatch: pytest.MonkeyPatch, world: World) -> None:
    apply_shim(monkeypatch)


def made_by(world: World, function: str, queue: str, *, enabled: bool = True) -> str:
    created = world.lam.create_event_source_mapping(
        FunctionName=function, EventSourceArn=world.queue_arn(queue), Enabled=enabled
    )
    return str(created["UUID"])


def test_mappings_made_by_name_and_by_arn_are_both_switched(lookup: str, world: World) -> None:
    tools = make_tools()  # configured by name
    by_name = made_by(world, FN_A, "q-by-name")
    by_arn = made_by(world, world.arns[FN_A], "q-by-arn")
    other = made_by(world, FN_B, "q-b")
    listed = [m["UUID"] for m in tools.list_event_source_mappings("a")]
    assert sorted(listed) == sorted([by_name, by_arn])  # each once: merged by UUID where both listings find it
    tools.disable_event_mapping("a")
    assert world.mapping_state(by_name) == world.mapping_state(by_arn) == "Disabled"
    assert world.mapping_state(other) == "Enabled"
    tools.enable_event_mapping("a")
    assert world.mapping_state(by_name) == world.mapping_state(by_arn) == "Enabled"


def test_tools_configured_by_arn_switch_a_mapping_made_by_name(lookup: str, world: World) -> None:
    tools = make_tools(name_b=world.arns[FN_B])
    by_name = made_by(world, FN_B, "q-b")
    assert tools.target_name("b") == FN_B
    tools.disable_event_mapping("b")
    assert world.mapping_state(by_name) == "Disabled"


def test_alias_mappings_made_by_qualified_name_are_the_alias_s_only(lookup: str, world: World) -> None:
    tools = make_tools(alias=ALIAS)
    on_alias = made_by(world, f"{FN_A}:{ALIAS}", "q-alias")
    plain = made_by(world, FN_A, "q-plain")
    assert [m["UUID"] for m in tools.list_event_source_mappings("a")] == [on_alias]
    tools.disable_event_mapping("a")
    assert world.mapping_state(on_alias) == "Disabled"
    assert world.mapping_state(plain) == "Enabled"


def test_a_mapping_made_by_partial_arn_is_found_where_names_resolve(shim: None, world: World) -> None:
    partial = made_by(world, f"{ACCOUNT_ID}:function:{FN_A}", "q-partial")
    make_tools().disable_event_mapping("a")
    assert world.mapping_state(partial) == "Disabled"


def test_create_finds_the_mapping_sam_made_by_name(lookup: str, world: World) -> None:
    tools = make_tools()
    by_name = made_by(world, FN_A, "q-sam")
    created = tools.create_event_source_mapping("a", world.queue_arn("q-sam"), BatchSize=7)
    assert created["UUID"] == by_name
    assert (
        len(world.lam.list_event_source_mappings(EventSourceArn=world.queue_arn("q-sam"))["EventSourceMappings"]) == 1
    )


def test_a_concurrent_create_by_name_is_refused_and_its_mapping_returned(shim: None, world: World) -> None:
    # AWS (and the shim; moto would make a duplicate) refuses the tool's create: the winner's mapping is returned.
    tools = make_tools()
    queue = world.queue_arn("q-race")
    winner: list[str] = []

    def race(**_: Any) -> None:  # another creator (SAM, by name) wins between the tool's listing and its create
        if not winner:
            winner.append(made_by(world, FN_A, "q-race"))

    refusals: list[str] = []

    def answered(parsed: dict[str, Any], **_: Any) -> None:
        refusals.append(str(parsed.get("Error", {}).get("Code", "")))

    client = tools._client("lambda")
    client.meta.events.register("before-call.lambda.CreateEventSourceMapping", race)
    client.meta.events.register("after-call.lambda.CreateEventSourceMapping", answered)
    created = tools.create_event_source_mapping("a", queue)
    assert refusals == ["ResourceConflictException"]
    assert created["UUID"] == winner[0]
    assert [m["UUID"] for m in world.lam.list_event_source_mappings(EventSourceArn=queue)["EventSourceMappings"]] == [
        winner[0]
    ]
