"""Waits that outlive one invocation, the deadline, and a failed prepare putting the replacement back."""

from __future__ import annotations

import time
from typing import Any

import pytest

import bluegreen.aws
from bluegreen.hooks import PROGRESS_KEY, Flow
from bluegreen.refs import StackReference
from bluegreen.state import Phase
from tests.hooks.conftest import Harness
from tests.support.world import view


class HoldCluster:
    """Makes DescribeDBClusters report the replacement cluster as 'starting' while ``held``."""

    def __init__(self, cluster: str) -> None:
        self.cluster = cluster
        self.held = True

    def __call__(self, parsed: dict[str, Any], model: Any, **_: Any) -> None:
        if model.name == "DescribeDBClusters" and self.held:
            for cluster in parsed.get("DBClusters", []):
                if cluster["DBClusterIdentifier"] == self.cluster:
                    cluster["Status"] = "starting"


@pytest.fixture
def hold(harness: Harness) -> HoldCluster:
    # moto starts a cluster at once; a real one takes minutes. Registered before the hooks make their clients.
    holder = HoldCluster(harness.world.names["b"]["cluster"])
    bluegreen.aws.default_session().events.register("after-call.rds.DescribeDBClusters", holder)
    return holder


def test_a_long_wait_hands_over_to_a_reinvocation_and_resumes(harness: Harness, hold: HoldCluster) -> None:
    remaining = iter(range(90, 0, -1))  # seconds left fall with every look at the clock
    harness.time_left = lambda: float(next(remaining, 0))
    first = harness.run(Flow.PREPARE, "d-1")
    assert first.status is None
    assert harness.ledger.calls == []  # nothing reported while work is pending
    assert len(harness.reinvoked) == 1
    progress = harness.reinvoked[0][PROGRESS_KEY]
    assert progress["done"] == ["dynamodb[0].check"]
    assert progress["invocation"] == 2
    assert harness.reinvoked[0]["DeploymentId"] == "d-1"

    hold.held = False
    harness.time_left = lambda: 900.0
    checks_before = harness.faults.calls.count("DescribeTable")
    second = harness.deliver(Flow.PREPARE, harness.reinvoked[0])
    assert second.status is not None and second.status.value == "Succeeded", second.message
    assert harness.faults.calls.count("DescribeTable") == checks_before  # finished steps are not repeated
    assert harness.ledger.statuses == {"d-1-before-allow-traffic": "Succeeded"}
    assert view(harness.world, "b").working


def test_past_the_deadline_it_reports_failed_and_puts_the_replacement_back(harness: Harness, hold: HoldCluster) -> None:
    live_before = view(harness.world, "a")
    started_long_ago = time.time() - 51 * 60  # the plan's deadline is 50 minutes
    event = {
        "DeploymentId": "d-1",
        "LifecycleEventHookExecutionId": "exec-1",
        PROGRESS_KEY: {"done": ["dynamodb[0].check"], "first_started": started_long_ago, "invocation": 9},
    }
    result = harness.deliver(Flow.PREPARE, event)
    assert result.status is not None and result.status.value == "Failed"
    assert "deadline" in result.message
    assert harness.ledger.statuses == {"exec-1": "Failed"}
    assert harness.reinvoked == []
    b = view(harness.world, "b")
    assert b.desired_tasks == 0 and not b.subscription_enabled and b.consumer is None
    assert view(harness.world, "a") == live_before
    record = harness.store.get("orders")
    assert record is not None and record.phase is Phase.PREPARE_FAILED and record.live is StackReference.A


@pytest.mark.parametrize(
    "operation", ["UpdateService", "SetSubscriptionAttributes", "EnableAlarmActions", "RegisterStreamConsumer"]
)
def test_a_failed_prepare_puts_the_replacement_back_to_retired(harness: Harness, operation: str) -> None:
    live_before = view(harness.world, "a")
    harness.faults.arm(operation)
    result = harness.run(Flow.PREPARE, "d-1")
    assert harness.faults.fired == 1
    assert result.status is not None and result.status.value == "Failed"
    assert operation in result.message
    assert harness.ledger.statuses == {"d-1-before-allow-traffic": "Failed"}
    b = view(harness.world, "b")
    assert b.desired_tasks == 0
    assert not b.subscription_enabled
    assert set(b.mappings) == {"Disabled"} and set(b.rules) == {"DISABLED"}
    assert not any(b.alarm_actions)
    assert b.consumer is None and b.kinesis_mappings == 0
    assert b.min_capacity == 1  # the scale-out is undone too
    assert view(harness.world, "a") == live_before
    record = harness.store.get("orders")
    assert record is not None and record.phase is Phase.PREPARE_FAILED
    # why it failed is kept with the deployment and its history entry: the failing step and the error
    failing = {
        "UpdateService": "ecs[0].enable",
        "SetSubscriptionAttributes": "sns[0].enable",
        "EnableAlarmActions": "cloudwatch[0].enable",
        "RegisterStreamConsumer": "kinesis[0].register",
    }
    assert record.failure is not None and failing[operation] in record.failure
    assert "AccessDenied" in record.failure and operation in record.failure
    assert record.history[-1]["reason"] == record.failure
    # and that deployment can never be retired
    retire = harness.run(Flow.RETIRE, "d-1")
    assert retire.status is not None and retire.status.value == "Failed"
    assert view(harness.world, "a") == live_before


def test_a_fault_recording_prepared_puts_the_replacement_back(harness: Harness) -> None:
    live_before = view(harness.world, "a")
    harness.faults.arm("UpdateItem", when=lambda body: b'"prepared"' in body)
    result = harness.run(Flow.PREPARE, "d-1")
    assert harness.faults.fired == 1
    assert result.status is not None and result.status.value == "Failed"
    b = view(harness.world, "b")
    assert b.desired_tasks == 0 and not b.subscription_enabled and b.consumer is None
    assert set(b.mappings) == {"Disabled"}
    assert view(harness.world, "a") == live_before


def test_a_failed_reinvocation_reports_failed_and_puts_the_replacement_back(
    harness: Harness, hold: HoldCluster
) -> None:
    remaining = iter(range(90, 0, -1))
    harness.time_left = lambda: float(next(remaining, 0))

    def broken(event: dict[str, Any]) -> None:
        raise RuntimeError("AccessDeniedException: not allowed to invoke")

    result = harness.run(Flow.PREPARE, "d-1", reinvoke=broken)
    assert result.status is not None and result.status.value == "Failed"
    assert "not allowed to invoke" in result.message
    assert harness.ledger.statuses == {"d-1-before-allow-traffic": "Failed"}
    b = view(harness.world, "b")
    assert b.desired_tasks == 0 and not b.subscription_enabled


def test_the_deadline_counts_from_the_first_start_even_on_a_retry(harness: Harness, hold: HoldCluster) -> None:
    clock = {"now": 1_000_000.0}
    remaining = iter(range(90, 0, -1))
    harness.time_left = lambda: float(next(remaining, 0))
    first = harness.run(Flow.PREPARE, "d-1", now=lambda: clock["now"])
    assert first.status is None
    # the first invocation crashed before its hand-over was processed: Lambda retries the original event
    clock["now"] += 51 * 60
    harness.time_left = lambda: 900.0
    retry = harness.run(Flow.PREPARE, "d-1", now=lambda: clock["now"])
    assert retry.status is not None and retry.status.value == "Failed"
    assert "deadline" in retry.message


def test_a_mapping_in_transition_is_a_wait_of_the_engine_not_a_sleep_in_the_tool(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Lambda answers ResourceInUseException while a mapping is Creating/Updating: the step is polled again.

    moto has no mapping in transition: AWS's answer is injected on the first UpdateEventSourceMapping of
    each flow. The tool's own retry sleep must never run inside a flow (it would block an engine thread).
    """

    def no_sleep(seconds: float) -> None:
        raise AssertionError(f"a tool slept {seconds} s inside a flow")

    monkeypatch.setattr("bluegreen.tools._lambda_mappings.time.sleep", no_sleep)
    for flow in (Flow.PREPARE, Flow.RETIRE):
        rule = harness.faults.arm("UpdateEventSourceMapping", code="ResourceInUseException", status=400)
        result = harness.run(flow, "d-1")
        assert result.status is not None and result.status.value == "Succeeded", result.message
        assert rule.fired == 1  # refused once; the step was pending and polled again, and then it took
        harness.faults.disarm()
    assert view(harness.world, "b").working
    assert set(view(harness.world, "a").mappings) == {"Disabled"}
