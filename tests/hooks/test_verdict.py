"""The verdict in the hooks: the replacement proves itself, and a bad release never touches the old stack.

The seeded world with a verdict (``seed_world(verdict=True)``): before traffic, the replacement's
alarms (the plan's cloudwatch alarm sets) and its smoke function; before the retire, its Lambda
errors, throttles and invocations, its DLQ growth and its iterator age (thresholds of
:func:`bluegreen.local.seed.verdict_section`). moto keeps metric data and alarm states, so each check
is made to pass and fail with what CloudWatch holds; the smoke function answers as the shim is told
(moto runs no function without Docker).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

import bluegreen.aws
from bluegreen.hooks import Flow, Runtime
from bluegreen.local.seed import seed_world, smoke_function
from bluegreen.plan import parse_plan
from bluegreen.state import Phase, StateStore
from tests.conftest import REGION
from tests.hooks.conftest import Harness
from tests.support import kinesis_consumers
from tests.support.codedeploy import Shim, install_answers, install_shim
from tests.support.world import view


@pytest.fixture
def shim(aws: None, monkeypatch: pytest.MonkeyPatch) -> Shim:
    made = install_shim(monkeypatch)
    install_answers(monkeypatch, made)
    kinesis_consumers.install(monkeypatch)
    return made


@pytest.fixture
def judged(shim: Shim) -> Iterator[Harness]:
    """A harness whose plan has the seeded verdict (no observed window)."""
    world = seed_world(REGION, verdict=True)
    runtime = Runtime(parse_plan(world.plan), store=StateStore(world.state_table, region=REGION), region=REGION)
    harness = Harness(world=world, ledger=shim.hooks, runtime=runtime, deployments=shim.deployments)
    harness.faults.register(bluegreen.aws.default_session())
    yield harness


def _put(
    metric: str, function: str, value: float, namespace: str = "AWS/Lambda", dimension: str = "FunctionName"
) -> None:
    boto3.client("cloudwatch", region_name=REGION).put_metric_data(
        Namespace=namespace,
        MetricData=[
            {
                "MetricName": metric,
                "Dimensions": [{"Name": dimension, "Value": function}],
                "Timestamp": datetime.now(UTC),
                "Value": value,
            }
        ],
    )


def _switched_off(harness: Harness, stack: str) -> bool:
    """A failed prepare's put-back: every switch of the stack off (its cluster stops when CodeDeploy ends it)."""
    side = view(harness.world, stack)
    return (
        side.desired_tasks == 0
        and not side.subscription_enabled
        and set(side.mappings) == {"Disabled"}
        and set(side.rules) == {"DISABLED"}
        and not any(side.alarm_actions)
        and side.consumer is None
        and side.kinesis_mappings == 0
    )


# --- before traffic --------------------------------------------------------------------------------


def test_a_passing_verdict_is_kept_in_the_record_and_the_history(judged: Harness, shim: Shim) -> None:
    prepare, retire = judged.deploy("d-1")
    assert (prepare.status, retire.status) == ("Succeeded", "Succeeded")
    # The smoke function of the replacement (b) got the plan's payload, once.
    assert shim.answers.calls == [(smoke_function("b"), {"check": "orders-health"})]
    record = judged.store.get("orders")
    assert record is not None and record.phase is Phase.RETIRED
    traffic = dict(record.verdicts)["before-traffic"]
    assert traffic["passed"] is True and traffic["stack"] == "b"
    assert {c["what"] for c in traffic["checks"]} == {f"smoke {smoke_function('b')}", "alarms of stack b"}
    retire_verdict = dict(record.verdicts)["before-retire"]
    assert retire_verdict["passed"] is True and retire_verdict["window"]
    measured = {c["what"] for c in retire_verdict["checks"]}
    assert {"lambda fn-b-dev errors/invocations", "lambda fn-b-dev throttles", "dlq fn-dlq-b-dev growth"} <= measured
    assert "kinesis fn-b-dev iterator age" in measured
    assert "before-traffic verdict on stack b passed" in record.history[-1]["verdict"]
    assert "before-retire verdict on stack b passed" in record.history[-1]["verdict"]
    # what was measured and the thresholds, passed or not, stay in the history
    assert "lambda fn-b-dev throttles 0 (limit ≤ 0)" in record.history[-1]["verdict"]
    assert view(judged.world, "b").working and view(judged.world, "a").retired


@pytest.mark.parametrize(
    ("outcome", "details", "said"),
    [
        ("error", {"error_type": "ValueError", "error_message": "orders table unreachable"}, "function error"),
        ("timeout", {"timeout_seconds": 3.0}, "timed out"),
    ],
)
def test_a_smoke_function_that_fails_fails_the_prepare_and_puts_the_replacement_back(
    judged: Harness, shim: Shim, outcome: str, details: dict[str, Any], said: str
) -> None:
    shim.answers.set(smoke_function("b"), outcome, **details)
    result = judged.run(Flow.PREPARE, "d-1")
    assert result.status == "Failed"
    assert said in result.message and f"smoke {smoke_function('b')}" in result.message
    if outcome == "error":
        assert "ValueError: orders table unreachable" in result.message
    record = judged.store.get("orders")
    assert record is not None and record.phase is Phase.PREPARE_FAILED and str(record.live) == "a"
    assert dict(record.verdicts)["before-traffic"]["passed"] is False
    assert view(judged.world, "a").working and _switched_off(judged, "b")


def test_a_missing_smoke_function_is_named(judged: Harness) -> None:
    boto3.client("lambda", region_name=REGION).delete_function(FunctionName=smoke_function("b"))
    result = judged.run(Flow.PREPARE, "d-1")
    assert result.status == "Failed"
    assert "no such function" in result.message and smoke_function("b") in result.message
    assert view(judged.world, "a").working and _switched_off(judged, "b")


def test_an_alarm_of_the_replacement_in_alarm_fails_the_prepare(judged: Harness) -> None:
    alarm = "mock service - dev errors - B"
    boto3.client("cloudwatch", region_name=REGION).set_alarm_state(
        AlarmName=alarm, StateValue="ALARM", StateReason="Threshold Crossed: 7 errors"
    )
    result = judged.run(Flow.PREPARE, "d-1")
    assert result.status == "Failed"
    assert f"alarm {alarm}: ALARM (Threshold Crossed: 7 errors)" in result.message
    assert view(judged.world, "a").working and _switched_off(judged, "b")


def test_an_alarm_of_the_live_stack_in_alarm_judges_nothing_of_the_replacement(judged: Harness) -> None:
    boto3.client("cloudwatch", region_name=REGION).set_alarm_state(
        AlarmName="mock service - dev errors - A", StateValue="ALARM", StateReason="the live stack's own trouble"
    )
    assert judged.run(Flow.PREPARE, "d-1").status == "Succeeded"


# --- before the retire -----------------------------------------------------------------------------


def test_errors_of_the_new_live_stack_fail_the_retire_before_the_old_stack_is_touched(judged: Harness) -> None:
    assert judged.run(Flow.PREPARE, "d-1").status == "Succeeded"
    before = view(judged.world, "a")
    _put("Invocations", "fn-b-dev", 20)
    _put("Errors", "fn-b-dev", 10)
    result = judged.run(Flow.RETIRE, "d-1")
    assert result.status == "Failed"
    assert "lambda fn-b-dev errors/invocations: 0.5 (10 of 20) (limit ≤ 0.05)" in result.message
    assert "the old stack was not touched" in result.message
    # Nothing of the old stack ran: no step but the verdict was started.
    assert result.done == []
    assert view(judged.world, "a") == before and before.working
    record = judged.store.get("orders")
    assert record is not None and record.phase is Phase.ROLLED_BACK and str(record.live) == "a"
    verdict = dict(record.verdicts)["before-retire"]
    assert verdict["passed"] is False
    failed = [c for c in verdict["checks"] if not c["passed"]]
    assert failed == [
        {
            "what": "lambda fn-b-dev errors/invocations",
            "measured": "0.5 (10 of 20)",
            "limit": "≤ 0.05",
            "passed": False,
        }
    ]
    kept = record.history[-1]["verdict"]
    assert "before-retire verdict on stack b failed: " in kept
    assert "lambda fn-b-dev errors/invocations 0.5 (10 of 20) (limit ≤ 0.05) ✗" in kept


def test_a_growing_dead_letter_queue_fails_the_retire(judged: Harness) -> None:
    assert judged.run(Flow.PREPARE, "d-1").status == "Succeeded"
    cloudwatch = boto3.client("cloudwatch", region_name=REGION)
    now = datetime.now(UTC).replace(microsecond=0)
    start = now.replace(second=0)
    points = [(start, 0.0), (now, 4.0)] if now > start else [(now, 0.0)]
    for stamp, value in points:
        cloudwatch.put_metric_data(
            Namespace="AWS/SQS",
            MetricData=[
                {
                    "MetricName": "ApproximateNumberOfMessagesVisible",
                    "Dimensions": [{"Name": "QueueName", "Value": "fn-dlq-b-dev"}],
                    "Timestamp": stamp,
                    "Value": value,
                }
            ],
        )
    result = judged.run(Flow.RETIRE, "d-1")
    if len(points) == 1:  # the flip and the points fell in one second at a minute's start: nothing grew
        assert result.status == "Succeeded"
        return
    # Both points may fall in one 60 s period; then CloudWatch's Maximum gives one value: no growth seen.
    record = judged.store.get("orders")
    assert record is not None
    check = next(c for c in dict(record.verdicts)["before-retire"]["checks"] if c["what"] == "dlq fn-dlq-b-dev growth")
    assert check["limit"] == "≤ 0"
    assert check["passed"] is (result.status == "Succeeded")


def test_a_late_stream_consumer_fails_the_retire(judged: Harness) -> None:
    assert judged.run(Flow.PREPARE, "d-1").status == "Succeeded"
    _put("IteratorAge", "fn-b-dev", 120_000)
    result = judged.run(Flow.RETIRE, "d-1")
    assert result.status == "Failed"
    assert "kinesis fn-b-dev iterator age: 120 s (limit ≤ 60 s)" in result.message
    assert view(judged.world, "a").working


def test_metrics_of_the_old_stack_judge_nothing(judged: Harness) -> None:
    assert judged.run(Flow.PREPARE, "d-1").status == "Succeeded"
    _put("Invocations", "fn-a-dev", 20)
    _put("Errors", "fn-a-dev", 20)
    _put("Throttles", "fn-a-dev", 5)
    assert judged.run(Flow.RETIRE, "d-1").status == "Succeeded"
    assert view(judged.world, "a").retired


def test_a_failed_verdict_after_the_flip_is_settled_as_any_failed_retire(judged: Harness) -> None:
    assert judged.run(Flow.PREPARE, "d-1").status == "Succeeded"
    _put("Throttles", "fn-b-dev", 3)
    assert judged.run(Flow.RETIRE, "d-1").status == "Failed"
    judged.deployments.fail("d-1")
    assert judged.event("d-1", "FAILURE").outcome == "settled"
    record = judged.store.get("orders")
    assert record is not None and record.settled and str(record.live) == "a"
    assert view(judged.world, "a").working and view(judged.world, "b").retired


# --- the observed window and the test-traffic hook -------------------------------------------------


def test_the_retire_waits_out_the_observed_window_before_judging(judged: Harness) -> None:
    plan = dict(judged.world.plan)
    plan["verdict"] = {**plan["verdict"], "before_retire": {**plan["verdict"]["before_retire"], "observe_minutes": 20}}
    judged.with_plan(plan)
    assert judged.run(Flow.PREPARE, "d-1").status == "Succeeded"
    judged.time_left = lambda: 30.0  # (the harness does not sleep: an invocation short of time hands the wait over)
    result = judged.run(Flow.RETIRE, "d-1")
    assert result.status is None  # handed over: the window is still open
    assert judged.reinvoked and "verdict.before-retire" not in judged.reinvoked[-1]["bluegreen"]["done"]
    # The old stack is whole while the new one is watched.
    assert view(judged.world, "a").working
    record = judged.store.get("orders")
    assert record is not None and record.phase is Phase.FLIPPED and record.flipped_at
    assert "before-retire" not in dict(record.verdicts)


def _at_test_traffic(judged: Harness) -> None:
    plan = dict(judged.world.plan)
    plan["verdict"] = {**plan["verdict"], "before_traffic": {**plan["verdict"]["before_traffic"], "at": "test-traffic"}}
    judged.with_plan(plan)


def test_the_test_traffic_hook_judges_the_prepared_replacement(judged: Harness, shim: Shim) -> None:
    _at_test_traffic(judged)
    judged.deployments.create("d-1", compute_platform="ECS")  # only ECS has AfterAllowTestTraffic
    assert judged.run(Flow.PREPARE, "d-1").status == "Succeeded"
    assert shim.answers.calls == []  # the prepare judged nothing: the test-traffic hook does
    shim.answers.set(smoke_function("b"), "error", error_type="HttpError", error_message="502 from /health")
    result = judged.run(Flow.TEST_TRAFFIC, "d-1")
    assert result.status == "Failed" and "HttpError: 502 from /health" in result.message
    assert shim.answers.calls == [(smoke_function("b"), {"check": "orders-health"})]
    record = judged.store.get("orders")
    assert record is not None and record.phase is Phase.PREPARED  # changed nothing: CodeDeploy rolls back
    assert dict(record.verdicts)["before-traffic"]["passed"] is False
    judged.deployments.fail("d-1")
    assert judged.event("d-1", "FAILURE").outcome == "settled"
    assert view(judged.world, "a").working and view(judged.world, "b").retired


def test_a_lambda_deployment_with_the_verdict_at_test_traffic_is_refused_before_anything_is_enabled(
    judged: Harness, shim: Shim
) -> None:
    """A Lambda deployment has no AfterAllowTestTraffic hook: the verdict would never run, so the prepare fails."""
    _at_test_traffic(judged)
    before = view(judged.world, "b")
    assert not before.working and before.queue_depth > 0  # its queues hold messages a prepare would purge
    result = judged.run(Flow.PREPARE, "d-1")  # the harness's deployments are Lambda deployments unless told
    assert result.status == "Failed"
    assert "plan.verdict.before_traffic.at is test-traffic, but d-1 is a Lambda deployment" in result.message
    assert "use at: prepare" in result.message
    assert view(judged.world, "b") == before and view(judged.world, "a").working  # nothing enabled, nothing purged
    assert shim.answers.calls == []
    record = judged.store.get("orders")
    assert record is not None and record.phase is Phase.PREPARE_FAILED and str(record.live) == "a"
    assert "before_traffic.at is test-traffic" in (record.failure or "")


def test_the_test_traffic_hook_without_such_a_verdict_succeeds_and_says_so(judged: Harness) -> None:
    assert judged.run(Flow.PREPARE, "d-1").status == "Succeeded"
    result = judged.run(Flow.TEST_TRAFFIC, "d-1")
    assert result.status == "Succeeded" and "judges nothing at test traffic" in result.message


def test_the_test_traffic_hook_refuses_a_deployment_that_is_not_prepared(judged: Harness) -> None:
    result = judged.run(Flow.TEST_TRAFFIC, "d-9")
    assert result.status == "Failed" and "never prepared" in result.message


def test_no_verdict_in_the_plan_changes_nothing(judged: Harness, shim: Shim) -> None:
    plan = {key: value for key, value in judged.world.plan.items() if key != "verdict"}
    judged.with_plan(plan)
    _put("Errors", "fn-b-dev", 100)
    assert [r.status for r in judged.deploy("d-1")] == ["Succeeded", "Succeeded"]
    assert shim.answers.calls == []
    record = judged.store.get("orders")
    assert record is not None and record.verdicts == () and "verdict" not in record.history[-1]


def test_a_smoke_invocation_lambda_refuses_is_named_as_such(judged: Harness) -> None:
    judged.faults.arm("Invoke")  # AccessDenied, as IAM answers a smoke function outside the managed prefix
    result = judged.run(Flow.PREPARE, "d-1")
    assert result.status == "Failed"
    assert f"smoke {smoke_function('b')}: Lambda did not run it — AccessDenied" in result.message
    assert _switched_off(judged, "b")


def test_named_alarms_are_judged_even_without_the_plans_alarm_sets(judged: Harness) -> None:
    plan = dict(judged.world.plan)
    named = {"alarms": False, "alarm_names": {"a": [], "b": ["mock service - dev latency - B"]}}
    plan["verdict"] = {**plan["verdict"], "before_traffic": named}
    judged.with_plan(plan)
    cloudwatch = boto3.client("cloudwatch", region_name=REGION)
    cloudwatch.set_alarm_state(AlarmName="mock service - dev errors - B", StateValue="ALARM", StateReason="not named")
    assert judged.run(Flow.PREPARE, "d-1").status == "Succeeded"  # the sets are off: errors - B is not judged
    judged.deployments.fail("d-1")
    assert judged.event("d-1", "FAILURE").outcome == "settled"
    cloudwatch.set_alarm_state(AlarmName="mock service - dev latency - B", StateValue="ALARM", StateReason="named")
    result = judged.run(Flow.PREPARE, "d-2")
    assert result.status == "Failed" and "alarm mock service - dev latency - B: ALARM (named)" in result.message
