"""A fault at an AWS call of AfterAllowTraffic: Failed, the new stack untouched, the old stack back, the record on it.

Faults are injected below the code under test: a botocore ``before-call`` hook on the session that
every bluegreen client is made from answers the chosen call with AccessDenied.
"""

from __future__ import annotations

import pytest

from bluegreen.hooks import Flow
from bluegreen.refs import StackReference
from bluegreen.state import Phase
from tests.hooks.conftest import Harness
from tests.support.world import view

# Every kind of call AfterAllowTraffic makes after its first read, in flow order.
RETIRE_CALLS = [
    "UpdateItem",  # the flip
    "SetSubscriptionAttributes",
    "UpdateEventSourceMapping",
    "ListRuleNamesByTarget",
    "DisableRule",
    "UpdateService",
    "DescribeAlarms",
    "DisableAlarmActions",
    "GetQueueUrl",
    "PurgeQueue",
    "DeleteEventSourceMapping",
    "DeregisterStreamConsumer",
    "RegisterScalableTarget",
    "StopDBCluster",
]


@pytest.mark.parametrize("operation", RETIRE_CALLS)
def test_a_fault_in_retire_puts_the_old_stack_back(harness: Harness, operation: str) -> None:
    prepared = harness.run(Flow.PREPARE, "d-1")
    assert prepared.status is not None and prepared.status.value == "Succeeded", prepared.message
    new_before = view(harness.world, "b")
    harness.faults.arm(operation)

    result = harness.run(Flow.RETIRE, "d-1")

    assert harness.faults.fired == 1, f"{operation} was never called"
    assert result.status is not None and result.status.value == "Failed", result.message
    assert harness.ledger.statuses["d-1-after-allow-traffic"] == "Failed"
    old = view(harness.world, "a")
    assert old.working, (operation, old)
    new = view(harness.world, "b")
    assert new == new_before, operation
    record = harness.store.get("orders")
    assert record is not None
    assert record.live is StackReference.A
    assert record.phase is Phase.ROLLED_BACK


def test_a_fault_in_the_report_itself_raises_so_lambda_retries(harness: Harness) -> None:
    harness.run(Flow.PREPARE, "d-1")
    harness.faults.arm("PutLifecycleEventHookExecutionStatus")
    with pytest.raises(Exception, match="injected fault"):
        harness.run(Flow.RETIRE, "d-1")
    harness.faults.disarm()
    assert "d-1-after-allow-traffic" not in harness.ledger.statuses
    # the retry (a redelivery of the same event) sends the status recorded for the execution
    again = harness.run(Flow.RETIRE, "d-1")
    assert again.status is not None and again.status.value == "Succeeded"
    assert harness.ledger.statuses["d-1-after-allow-traffic"] == "Succeeded"
