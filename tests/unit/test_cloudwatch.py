from __future__ import annotations

import copy
import logging
from typing import Any

import boto3
import botocore.loaders
import pytest
from botocore.awsrequest import AWSResponse
from moto.cloudwatch.models import cloudwatch_backends

import bluegreen.tools.cloudwatch
from bluegreen import StackReference
from bluegreen.tools.cloudwatch import AlarmStack, CloudWatchConfig, CloudWatchTools
from tests.conftest import ACCOUNT_ID, REGION

PREFIX = "mock service - dev"
B_METRIC = [f"{PREFIX} queue depth {i:03} - B" for i in range(130)]
B_COMPOSITE = [f"{PREFIX} composite {i} - B" for i in range(3)]
A_ALARMS = [f"{PREFIX} queue depth {i:03} - A" for i in range(5)] + [f"{PREFIX} composite 0 - A"]
UNRELATED = ["other service - dev queue depth - B", f"{PREFIX} queue depth - B (old)", f"x {PREFIX} - B"]


def cloudwatch() -> Any:
    return boto3.client("cloudwatch", region_name=REGION)


def put_metric_alarm(client: Any, name: str) -> None:
    client.put_metric_alarm(
        AlarmName=name,
        MetricName="ApproximateNumberOfMessagesVisible",
        Namespace="AWS/SQS",
        Statistic="Maximum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=100,
        ComparisonOperator="GreaterThanThreshold",
        ActionsEnabled=False,
    )


def put_composite_alarm(name: str, rule: str) -> None:
    # moto 5.2.5 does not implement PutCompositeAlarm; its backend stores a composite alarm as an
    # alarm with a rule, which DescribeAlarms then returns under CompositeAlarms.
    cloudwatch_backends[ACCOUNT_ID][REGION].put_metric_alarm(
        name=name,
        namespace=None,
        metric_name=None,
        comparison_operator=None,
        evaluation_periods=None,
        period=None,
        threshold=None,
        statistic=None,
        description=None,
        dimensions=[],
        alarm_actions=[],
        actions_enabled=False,
        rule=rule,
    )


def actions_enabled(client: Any = None) -> dict[str, bool]:
    """Every alarm in moto and whether its actions are enabled, read back with a plain client."""
    found = (client or cloudwatch()).describe_alarms(AlarmTypes=["MetricAlarm", "CompositeAlarm"])
    return {a["AlarmName"]: a["ActionsEnabled"] for a in [*found["MetricAlarms"], *found["CompositeAlarms"]]}


def capture(tools: CloudWatchTools, operation: str) -> list[dict[str, Any]]:
    """Record the parameters of every ``operation`` call the tool's client makes."""
    seen: list[dict[str, Any]] = []

    def record(params: dict[str, Any], **_: Any) -> None:
        seen.append(dict(params))

    tools._client("cloudwatch").meta.events.register(f"provide-client-params.monitoring.{operation}", record)
    return seen


@pytest.fixture
def cw_tools(aws: None) -> CloudWatchTools:
    client = cloudwatch()
    for name in [*B_METRIC, *A_ALARMS[:-1], *UNRELATED]:
        put_metric_alarm(client, name)
    for name in B_COMPOSITE:
        put_composite_alarm(name, f'ALARM("{B_METRIC[0]}")')
    put_composite_alarm(A_ALARMS[-1], f'ALARM("{A_ALARMS[0]}")')
    config = CloudWatchConfig(
        region=REGION,
        alarm_stack_a=AlarmStack(PREFIX, "- A"),
        alarm_stack_b=AlarmStack(alarm_prefix=PREFIX, alarm_suffix="- B"),
    )
    return CloudWatchTools(config)


def test_enable_alarms_actions_enables_every_alarm_of_that_stack_only(cw_tools: CloudWatchTools) -> None:
    enabled = capture(cw_tools, "EnableAlarmActions")
    cw_tools.enable_alarms_actions(StackReference.B)
    state = actions_enabled()
    assert all(state[name] for name in [*B_METRIC, *B_COMPOSITE])
    assert not any(state[name] for name in [*A_ALARMS, *UNRELATED])
    # moto does not enforce the 100-names limit of EnableAlarmActions, so check the requests themselves.
    sizes = [len(call["AlarmNames"]) for call in enabled]
    assert max(sizes) <= 100
    assert sorted(n for call in enabled for n in call["AlarmNames"]) == sorted([*B_METRIC, *B_COMPOSITE])


def test_disable_alarms_actions_in_batches_and_idempotent(cw_tools: CloudWatchTools) -> None:
    cw_tools.enable_alarms_actions("a")
    cw_tools.enable_alarms_actions("b")
    disabled = capture(cw_tools, "DisableAlarmActions")
    cw_tools.disable_alarms_actions("b")
    cw_tools.disable_alarms_actions("b")
    state = actions_enabled()
    assert not any(state[name] for name in [*B_METRIC, *B_COMPOSITE])
    assert all(state[name] for name in A_ALARMS)
    # moto does not enforce the 100-names limit of DisableAlarmActions, so check the requests themselves.
    assert [len(call["AlarmNames"]) for call in disabled] == [100, 33, 100, 33]


def test_describe_asks_for_every_alarm_type_by_prefix(cw_tools: CloudWatchTools) -> None:
    # moto ignores AlarmTypes (it always returns both kinds), so check the request.
    described = capture(cw_tools, "DescribeAlarms")
    cw_tools.enable_alarms_actions("a")
    assert described[0]["AlarmNamePrefix"] == PREFIX
    assert {"MetricAlarm", "CompositeAlarm"} <= set(described[0]["AlarmTypes"])
    assert all(actions_enabled()[name] for name in A_ALARMS)


def test_every_page_of_alarms_is_used(cw_tools: CloudWatchTools) -> None:
    # moto never paginates DescribeAlarms: answer it with two pages of real alarm names, the second
    # only for a request that carries the first page's NextToken.
    described = capture(cw_tools, "DescribeAlarms")
    pages = {
        None: {"MetricAlarms": [{"AlarmName": A_ALARMS[0], "ActionsEnabled": False}], "NextToken": "page-2"},
        "page-2": {"CompositeAlarms": [{"AlarmName": A_ALARMS[-1], "ActionsEnabled": False}]},
    }

    def respond(**_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        page = pages[described[-1].get("NextToken")]
        return AWSResponse("https://monitoring", 200, {}, None), {**page, "ResponseMetadata": {"HTTPStatusCode": 200}}

    cw_tools._client("cloudwatch").meta.events.register("before-call.monitoring.DescribeAlarms", respond)
    cw_tools.enable_alarms_actions("a")
    assert [call.get("NextToken") for call in described] == [None, "page-2"]
    state = actions_enabled()
    assert state[A_ALARMS[0]] and state[A_ALARMS[-1]]
    assert not any(state[name] for name in A_ALARMS[1:-1])


def test_no_call_when_no_alarm_matches(cw_tools: CloudWatchTools) -> None:
    cw_tools.config.alarm_stack_a = AlarmStack("nothing like it")
    enabled = capture(cw_tools, "EnableAlarmActions")
    disabled = capture(cw_tools, "DisableAlarmActions")
    cw_tools.enable_alarms_actions("a")
    cw_tools.disable_alarms_actions("a")
    assert enabled == [] and disabled == []
    assert not any(actions_enabled().values())


def test_without_suffix_every_alarm_with_the_prefix_matches(cw_tools: CloudWatchTools) -> None:
    cw_tools.config.alarm_stack_a = AlarmStack(f"{PREFIX} queue depth 00")
    cw_tools.enable_alarms_actions("a")
    state = actions_enabled()
    expected = {name for name in state if name.startswith(f"{PREFIX} queue depth 00")}
    assert len(expected) == 10 + 5  # B's 000-009 and A's 000-004
    assert {name for name, on in state.items() if on} == expected


def test_alarm_actions_enabled_reports_each_alarm(cw_tools: CloudWatchTools) -> None:
    cw_tools.enable_alarms_actions("a")
    assert cw_tools.alarm_actions_enabled("a") == dict.fromkeys(A_ALARMS, True)
    assert cw_tools.alarm_actions_enabled("b") == dict.fromkeys([*B_METRIC, *B_COMPOSITE], False)
    assert cw_tools.alarm_names("a") == sorted(A_ALARMS)


def test_empty_prefix_is_refused() -> None:
    with pytest.raises(ValueError, match="alarm_prefix is empty"):
        AlarmStack("")


def test_invalid_reference_is_an_error(cw_tools: CloudWatchTools) -> None:
    with pytest.raises(ValueError, match="expected 'a' or 'b'"):
        cw_tools.enable_alarms_actions("live")
    assert not any(actions_enabled().values())


# -- log alarms, and alarm types an older botocore cannot return ----------------------------------

LOG_ALARM_A = f"{PREFIX} error lines - A"


def test_log_alarms_are_switched_with_the_others(cw_tools: CloudWatchTools) -> None:
    # moto has no PutLogAlarm: add a log alarm to moto's DescribeAlarms answer, under LogAlarms as AWS sends it.
    described = capture(cw_tools, "DescribeAlarms")

    def with_log_alarm(parsed: dict[str, Any], **_: Any) -> None:
        parsed["LogAlarms"] = [{"AlarmName": LOG_ALARM_A, "ActionsEnabled": False}]

    cw_tools._client("cloudwatch").meta.events.register("after-call.monitoring.DescribeAlarms", with_log_alarm)
    enabled = capture(cw_tools, "EnableAlarmActions")
    assert cw_tools.readable_alarm_types() == ("MetricAlarm", "CompositeAlarm", "LogAlarm")
    assert cw_tools.alarm_types_warning() is None
    cw_tools.enable_alarms_actions("a")
    assert described[0]["AlarmTypes"] == ["MetricAlarm", "CompositeAlarm", "LogAlarm"]
    assert sorted(enabled[0]["AlarmNames"]) == sorted([*A_ALARMS, LOG_ALARM_A])
    assert LOG_ALARM_A not in cw_tools.alarm_actions_enabled("b")


def older_botocore(monkeypatch: pytest.MonkeyPatch, version: str, *, drop: tuple[str, ...]) -> None:
    """Make new sessions load a CloudWatch model as an older botocore had it: without the members of ``drop``
    (``LogAlarms``; ``CompositeAlarms`` and the ``AlarmTypes`` parameter for one older still), as ``version``."""
    original = botocore.loaders.Loader.load_service_model

    def load_service_model(loader: Any, service_name: str, type_name: str, api_version: str | None = None) -> Any:
        model = original(loader, service_name, type_name, api_version)
        if service_name != "cloudwatch" or type_name != "service-2":
            return model
        model = copy.deepcopy(model)
        shapes = model["shapes"]
        for member in drop:
            shapes["DescribeAlarmsOutput"]["members"].pop(member, None)
            shapes["DescribeAlarmsInput"]["members"].pop(member, None)
        shapes["AlarmType"]["enum"] = [kind for kind in shapes["AlarmType"]["enum"] if f"{kind}s" not in drop]
        return model

    monkeypatch.setattr(botocore.loaders.Loader, "load_service_model", load_service_model)
    monkeypatch.setattr(botocore, "__version__", version)
    monkeypatch.setattr(bluegreen.tools.cloudwatch, "_warned", set())  # a fresh process


def test_an_older_botocore_says_once_which_alarm_types_it_leaves_out(
    cw_tools: CloudWatchTools, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    reader = cloudwatch()  # made before: it reads with today's model
    older_botocore(monkeypatch, "1.35.99", drop=("LogAlarms",))
    tools = CloudWatchTools(cw_tools.config, session=boto3.Session(region_name=REGION))
    described = capture(tools, "DescribeAlarms")
    with caplog.at_level(logging.WARNING, logger="bluegreen.tools.cloudwatch"):
        tools.enable_alarms_actions("a")
        tools.disable_alarms_actions("a")
        CloudWatchTools(cw_tools.config, session=boto3.Session(region_name=REGION)).enable_alarms_actions("b")
    assert tools.readable_alarm_types() == ("MetricAlarm", "CompositeAlarm")
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [tools.alarm_types_warning()]  # once per process, however many tools and calls
    assert warnings[0].startswith("botocore 1.35.99 cannot return CloudWatch alarms of type LogAlarm (its ")
    assert "not switched" in warnings[0]
    assert described[0]["AlarmTypes"] == ["MetricAlarm", "CompositeAlarm"]  # only what it can read
    state = actions_enabled(reader)
    assert all(state[name] for name in [*B_METRIC, *B_COMPOSITE])  # the rest is still switched


def test_a_botocore_without_alarm_types_reads_metric_alarms_alone_and_says_so(
    cw_tools: CloudWatchTools, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    reader = cloudwatch()  # made before: it reads with today's model
    older_botocore(monkeypatch, "1.15.0", drop=("LogAlarms", "CompositeAlarms", "AlarmTypes"))
    tools = CloudWatchTools(cw_tools.config, session=boto3.Session(region_name=REGION))
    described = capture(tools, "DescribeAlarms")
    with caplog.at_level(logging.WARNING, logger="bluegreen.tools.cloudwatch"):
        tools.enable_alarms_actions("a")
    assert "AlarmTypes" not in described[0]  # that botocore would refuse the parameter
    assert "of type CompositeAlarm, LogAlarm (its DescribeAlarms has no CompositeAlarms, LogAlarms)" in caplog.text
    state = actions_enabled(reader)
    assert all(state[name] for name in A_ALARMS[:-1]) and not state[A_ALARMS[-1]]  # the composite one left out
