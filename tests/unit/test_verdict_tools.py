"""VerdictTools against moto: alarm states, the smoke invocation (answered by the shim), metrics over a window."""

from __future__ import annotations

import io
import json
import time
import zipfile
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from functools import cache
from typing import Any

import boto3
import pytest

import bluegreen.aws
import bluegreen.tools.verdict
from bluegreen.local.emulator import Emulator
from bluegreen.tools.cloudwatch import AlarmStack
from bluegreen.tools.verdict import AlarmState, SmokeAnswer, VerdictConfig, VerdictTools, window_bounds
from tests.conftest import REGION
from tests.support.codedeploy import Shim, install_answers, install_shim

PREFIX = "orders service "
SMOKE = "orders-smoke-b"
#: One session for the module, with moto's fake credentials: its clients (the tests' and, as the default
#: session, the tools') are made once, and moto serves them in every test.
SESSION = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION)


@cache
def client(service: str) -> Any:
    """A plain client to put and read back what moto holds."""
    return SESSION.client(service, region_name=REGION)  # type: ignore[call-overload]


def cloudwatch() -> Any:
    return client("cloudwatch")


def put_alarm(cw: Any, name: str) -> None:
    cw.put_metric_alarm(
        AlarmName=name,
        MetricName="Errors",
        Namespace="AWS/Lambda",
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=1,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
        ActionsEnabled=False,
    )


def put_point(
    cw: Any,
    metric: str,
    resource: str,
    value: float,
    at: datetime,
    *,
    namespace: str = "AWS/Lambda",
    dimension: str = "FunctionName",
) -> None:
    cw.put_metric_data(
        Namespace=namespace,
        MetricData=[
            {
                "MetricName": metric,
                "Dimensions": [{"Name": dimension, "Value": resource}],
                "Timestamp": at,
                "Value": value,
            }
        ],
    )


def create_function(name: str, make: Callable[[str], Any] = client) -> str:
    """A Lambda function (moto runs no code: the shim answers its synchronous invocations); its ARN.

    ``make`` makes the clients (the module's, for moto in-process; fresh ones for the emulator).
    """
    role = make("iam").create_role(
        RoleName=f"{name}-role",
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
                ],
            }
        ),
    )["Role"]["Arn"]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", "def handler(event, context):\n    return event\n")
    created = make("lambda").create_function(
        FunctionName=name, Runtime="python3.13", Role=role, Handler="app.handler", Code={"ZipFile": buffer.getvalue()}
    )
    return str(created["FunctionArn"])


@pytest.fixture
def tools(aws: None, monkeypatch: pytest.MonkeyPatch) -> VerdictTools:
    monkeypatch.setattr(bluegreen.aws, "_default_session", SESSION)  # the tools' clients, made once
    return VerdictTools(VerdictConfig(region=REGION))


@pytest.fixture
def shim(aws: None, monkeypatch: pytest.MonkeyPatch) -> Shim:
    made = install_shim(monkeypatch)
    install_answers(monkeypatch, made)
    return made


@pytest.fixture
def smoke(shim: Shim) -> Shim:
    """The shim, and the smoke function it answers for."""
    create_function(SMOKE)
    return shim


# --------------------------------------------------------------------------- alarm_states


@pytest.fixture
def alarms(aws: None) -> Any:
    cw = cloudwatch()
    for name in (
        f"{PREFIX}errors - B",
        f"{PREFIX}latency - B",
        f"{PREFIX}errors - A",
        f"{PREFIX}latency - B (old)",
        "other service errors - B",
        "orders canary - B",
    ):
        put_alarm(cw, name)
    return cw


def test_alarm_states_finds_the_alarms_of_a_set_by_prefix_and_suffix(tools: VerdictTools, alarms: Any) -> None:
    states = tools.alarm_states([AlarmStack(PREFIX, "- B")])

    assert [state.name for state in states] == [f"{PREFIX}errors - B", f"{PREFIX}latency - B"]
    assert {state.state for state in states} == {"OK"}  # moto's state of a new alarm


def test_alarm_states_of_a_set_without_suffix_takes_every_alarm_of_the_prefix(tools: VerdictTools, alarms: Any) -> None:
    states = tools.alarm_states([AlarmStack(PREFIX)])
    assert [state.name for state in states] == sorted(
        [f"{PREFIX}errors - A", f"{PREFIX}errors - B", f"{PREFIX}latency - B", f"{PREFIX}latency - B (old)"]
    )


def test_alarm_states_finds_named_alarms_and_reports_a_missing_one(tools: VerdictTools, alarms: Any) -> None:
    states = tools.alarm_states([], ["orders canary - B", "no such alarm", "orders canary - B"])

    assert [(s.name, s.state) for s in states] == [("no such alarm", "MISSING"), ("orders canary - B", "OK")]
    assert states[0] == AlarmState("no such alarm", "MISSING", "no alarm of this name in the region")


def test_alarm_states_joins_sets_and_names_once_each(tools: VerdictTools, alarms: Any) -> None:
    states = tools.alarm_states([AlarmStack(PREFIX, "- B")], [f"{PREFIX}errors - B", "orders canary - B"])
    assert [s.name for s in states] == sorted([f"{PREFIX}errors - B", f"{PREFIX}latency - B", "orders canary - B"])


def test_alarm_states_reports_the_state_and_reason_cloudwatch_holds(tools: VerdictTools, alarms: Any) -> None:
    alarms.set_alarm_state(AlarmName=f"{PREFIX}errors - B", StateValue="ALARM", StateReason="5 errors in 1 minute")
    alarms.set_alarm_state(AlarmName=f"{PREFIX}latency - B", StateValue="INSUFFICIENT_DATA", StateReason="no data yet")
    alarms.set_alarm_state(AlarmName="orders canary - B", StateValue="ALARM", StateReason="canary failed")

    states = tools.alarm_states([AlarmStack(PREFIX, "- B")], ["orders canary - B"])

    assert states == [  # by name
        AlarmState("orders canary - B", "ALARM", "canary failed"),
        AlarmState(f"{PREFIX}errors - B", "ALARM", "5 errors in 1 minute"),
        AlarmState(f"{PREFIX}latency - B", "INSUFFICIENT_DATA", "no data yet"),
    ]


def test_alarm_states_with_nothing_found_is_empty(tools: VerdictTools, alarms: Any) -> None:
    assert tools.alarm_states([AlarmStack("nothing here ", "- B")]) == []
    assert tools.alarm_states([]) == []


def test_alarm_states_reads_more_than_a_hundred_named_alarms(tools: VerdictTools, aws: None) -> None:
    cw = cloudwatch()
    names = [f"named {i:03} - B" for i in range(130)]
    for name in names:
        put_alarm(cw, name)
    cw.set_alarm_state(AlarmName=names[129], StateValue="ALARM", StateReason="last one")

    states = tools.alarm_states([], [*names, "gone - B"])

    assert len(states) == 131
    assert {s.name: s.state for s in states}["gone - B"] == "MISSING"
    assert {s.name: s.state for s in states}[names[129]] == "ALARM"


# --------------------------------------------------------------------------- window_metrics


@pytest.fixture
def window(aws: None) -> tuple[datetime, datetime]:
    """A ten-minute window ending at the last whole minute, with metric data inside and around it."""
    end = datetime.now(UTC).replace(second=0, microsecond=0)
    start = end - timedelta(minutes=10)
    cw = cloudwatch()
    fn, other = "orders-fn-b", "orders-fn-a"
    for metric, values in (("Errors", (2, 3, 4)), ("Throttles", (1, 0, 5)), ("Invocations", (100, 50, 25))):
        for minute, value in zip((1, 3, 6), values, strict=True):
            put_point(cw, metric, fn, value, start + timedelta(minutes=minute, seconds=10))
        put_point(cw, metric, fn, 1000, start - timedelta(minutes=5))  # before the window
        put_point(cw, metric, fn, 1000, end + timedelta(minutes=5))  # after it
        put_point(cw, metric, other, 1000, start + timedelta(minutes=2))  # another function
    for minute, age in ((2, 1500.0), (4, 61_000.0), (8, 900.0)):
        put_point(cw, "IteratorAge", fn, age, start + timedelta(minutes=minute))
    put_point(cw, "IteratorAge", fn, 999_999.0, start - timedelta(minutes=3))
    put_point(cw, "IteratorAge", other, 999_999.0, start + timedelta(minutes=3))
    # out of order on purpose: the depths come back oldest first
    for minute, depth in ((7, 6.0), (1, 5.0), (4, 9.0)):
        put_point(
            cw,
            "ApproximateNumberOfMessagesVisible",
            "orders-dlq-b",
            depth,
            start + timedelta(minutes=minute),
            namespace="AWS/SQS",
            dimension="QueueName",
        )
    put_point(
        cw, "ApproximateNumberOfMessagesVisible", "orders-dlq-a", 77.0, start + timedelta(minutes=2),
        namespace="AWS/SQS", dimension="QueueName",
    )  # fmt: skip
    return start, end


def test_window_metrics_sums_the_lambda_metrics_inside_the_window(
    tools: VerdictTools, window: tuple[datetime, datetime]
) -> None:
    start, end = window
    found = tools.window_metrics(start, end, functions=["orders-fn-b"])

    assert (found.start, found.end) == (start, end)
    assert found.sums == {
        ("Errors", "orders-fn-b"): 9.0,
        ("Throttles", "orders-fn-b"): 6.0,
        ("Invocations", "orders-fn-b"): 175.0,
    }
    assert found.iterator_age_ms == {}
    assert found.depths == {}


def test_window_metrics_gives_zero_sums_for_a_function_without_data(
    tools: VerdictTools, window: tuple[datetime, datetime]
) -> None:
    found = tools.window_metrics(*window, functions=["quiet-fn", "quiet-fn"])
    assert found.sums == {("Errors", "quiet-fn"): 0.0, ("Throttles", "quiet-fn"): 0.0, ("Invocations", "quiet-fn"): 0.0}


def test_window_metrics_takes_the_highest_iterator_age(tools: VerdictTools, window: tuple[datetime, datetime]) -> None:
    found = tools.window_metrics(*window, stream_functions=["orders-fn-b", "quiet-fn"])
    assert found.iterator_age_ms == {"orders-fn-b": 61_000.0, "quiet-fn": None}
    assert found.sums == {}


def test_window_metrics_gives_the_dlq_depths_oldest_first(
    tools: VerdictTools, window: tuple[datetime, datetime]
) -> None:
    found = tools.window_metrics(*window, queues=["orders-dlq-b", "empty-dlq"])
    assert found.depths == {"orders-dlq-b": [5.0, 9.0, 6.0], "empty-dlq": []}


def test_window_metrics_reads_every_kind_in_one_go(tools: VerdictTools, window: tuple[datetime, datetime]) -> None:
    start, end = window
    found = tools.window_metrics(
        start + timedelta(seconds=30),
        end - timedelta(seconds=30),
        functions=["orders-fn-b", "orders-fn-a"],
        stream_functions=["orders-fn-b"],
        queues=["orders-dlq-b", "orders-dlq-a"],
    )
    assert (found.start, found.end) == (start, end)  # aligned to whole minutes
    assert found.sums[("Errors", "orders-fn-b")] == 9.0
    assert found.sums[("Invocations", "orders-fn-a")] == 1000.0
    assert found.iterator_age_ms == {"orders-fn-b": 61_000.0}
    assert found.depths == {"orders-dlq-b": [5.0, 9.0, 6.0], "orders-dlq-a": [77.0]}


def test_a_window_that_misses_the_data_finds_none(tools: VerdictTools, window: tuple[datetime, datetime]) -> None:
    start, _ = window
    found = tools.window_metrics(
        start + timedelta(minutes=9, seconds=10), start + timedelta(minutes=9, seconds=50), functions=["orders-fn-b"],
        stream_functions=["orders-fn-b"], queues=["orders-dlq-b"],
    )  # fmt: skip
    assert found.sums[("Errors", "orders-fn-b")] == 0.0
    assert found.iterator_age_ms == {"orders-fn-b": None}
    assert found.depths == {"orders-dlq-b": []}


# --------------------------------------------------------------------------- window_bounds


def test_window_bounds_floors_the_start_and_ceils_the_end() -> None:
    start = datetime(2025, 3, 4, 10, 15, 42, 123, tzinfo=UTC)
    end = datetime(2025, 3, 4, 10, 25, 0, 1, tzinfo=UTC)
    assert window_bounds(start, end) == (
        datetime(2025, 3, 4, 10, 15, tzinfo=UTC),
        datetime(2025, 3, 4, 10, 26, tzinfo=UTC),
    )


def test_window_bounds_keeps_whole_minutes() -> None:
    start = datetime(2025, 3, 4, 10, 15, tzinfo=UTC)
    end = datetime(2025, 3, 4, 10, 25, tzinfo=UTC)
    assert window_bounds(start, end) == (start, end)


def test_window_bounds_is_at_least_one_minute() -> None:
    at = datetime(2025, 3, 4, 10, 15, tzinfo=UTC)
    assert window_bounds(at, at) == (at, at + timedelta(minutes=1))
    assert window_bounds(at + timedelta(seconds=20), at + timedelta(seconds=10)) == (at, at + timedelta(minutes=1))


def test_window_bounds_answers_in_utc() -> None:
    plus_two = timezone(timedelta(hours=2))
    start = datetime(2025, 3, 4, 12, 15, 30, tzinfo=plus_two)
    end = datetime(2025, 3, 4, 12, 20, 30, tzinfo=plus_two)
    begin, finish = window_bounds(start, end)
    assert (begin, finish) == (datetime(2025, 3, 4, 10, 15, tzinfo=UTC), datetime(2025, 3, 4, 10, 21, tzinfo=UTC))
    assert begin.utcoffset() == finish.utcoffset() == timedelta(0)


# --------------------------------------------------------------------------- invoke_smoke


def test_a_smoke_function_that_answers_is_ok_and_gets_the_payload(tools: VerdictTools, smoke: Shim) -> None:
    smoke.answers.set(SMOKE, "ok", payload={"healthy": True})

    answer = tools.invoke_smoke(SMOKE, {"check": "orders-health", "n": [1, 2]}, 10)

    assert answer == SmokeAnswer("ok", '{"healthy": true}')
    assert smoke.answers.calls == [(SMOKE, {"check": "orders-health", "n": [1, 2]})]


def test_a_smoke_function_without_a_payload_gets_an_empty_object(tools: VerdictTools, smoke: Shim) -> None:
    answer = tools.invoke_smoke(SMOKE, None, 10)

    assert answer == SmokeAnswer("ok", "null")  # the function returned nothing
    assert smoke.answers.calls == [(SMOKE, {})]


def test_a_smoke_function_is_invoked_once_by_arn_too(tools: VerdictTools, smoke: Shim) -> None:
    arn = client("lambda").get_function(FunctionName=SMOKE)["Configuration"]["FunctionArn"]
    assert tools.invoke_smoke(arn, "ping", 10).outcome == "ok"
    assert smoke.answers.calls == [(SMOKE, "ping")]


def test_a_function_error_is_an_error_naming_its_type_and_message(tools: VerdictTools, smoke: Shim) -> None:
    smoke.answers.set(SMOKE, "error", error_type="ValueError", error_message="boom")

    answer = tools.invoke_smoke(SMOKE, {"check": 1}, 10)

    assert answer.outcome == "error"
    assert "ValueError" in answer.detail
    assert "boom" in answer.detail
    assert answer.detail == "Handled function error: ValueError: boom"
    assert len(smoke.answers.calls) == 1  # never retried


def test_a_function_that_timed_out_is_a_timeout(tools: VerdictTools, smoke: Shim) -> None:
    smoke.answers.set(SMOKE, "timeout", timeout_seconds=3.0)

    answer = tools.invoke_smoke(SMOKE, {}, 10)

    assert answer.outcome == "timeout"
    assert "timed out" in answer.detail
    assert "Task timed out after 3.00 seconds" in answer.detail
    assert len(smoke.answers.calls) == 1


def test_a_function_that_does_not_exist_is_missing(tools: VerdictTools, smoke: Shim) -> None:
    answer = tools.invoke_smoke("no-such-smoke", {}, 10)

    assert answer.outcome == "missing"
    assert answer.detail
    assert smoke.answers.calls == []


def test_a_late_answer_within_the_timeout_is_ok(tools: VerdictTools, smoke: Shim) -> None:
    smoke.answers.set(SMOKE, "hang", delay_seconds=0.05, payload="late")
    assert tools.invoke_smoke(SMOKE, {}, 10) == SmokeAnswer("ok", '"late"')


def test_an_answer_later_than_the_read_timeout_is_a_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    """Over HTTP (the emulator's real server): the client gives up after timeout_seconds plus the margin.

    mock_aws has no HTTP, so no read timeout: the emulator serves this one. 1 s of timeout_seconds less
    0.8 s of margin: the client waits 0.2 s for an answer that comes after 0.6 s (the emulator's stop
    waits for that request to end).
    """
    monkeypatch.setattr(bluegreen.tools.verdict, "SMOKE_READ_MARGIN_SECONDS", -0.8)
    with Emulator(region=REGION) as emu:
        create_function(SMOKE, lambda service: boto3.client(service, region_name=REGION))  # type: ignore[call-overload]
        tools = VerdictTools(VerdictConfig(region=REGION))
        # The same timeout, the same client: made here, so that only the wait is timed below.
        assert tools.invoke_smoke(SMOKE, {"check": "fast"}, 1) == SmokeAnswer("ok", "null")
        emu.shim.answers.set(SMOKE, "hang", delay_seconds=0.6)
        started = time.perf_counter()
        answer = tools.invoke_smoke(SMOKE, {"check": "slow"}, 1)
        waited = time.perf_counter() - started
        # one attempt each, never retried
        assert emu.shim.answers.calls == [(SMOKE, {"check": "fast"}), (SMOKE, {"check": "slow"})]
    assert answer == SmokeAnswer("timeout", "no answer within 1 s (the plan's timeout_seconds)")
    assert 0.15 <= waited < 0.5  # the read timeout, not the answer
