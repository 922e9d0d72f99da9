"""A fault at an AWS call of AfterAllowTraffic: Failed, the new stack untouched, the old stack back, the record on it.

Faults are injected below the code under test: a botocore ``before-call`` hook on the session that
every bluegreen client is made from answers the chosen call with AccessDenied.
"""

from __future__ import annotations

import pytest

from bluegreen.hooks import Flow, Runtime
from bluegreen.hooks.clock import MustRetry
from bluegreen.plan import parse_plan
from bluegreen.refs import StackReference
from bluegreen.state import Phase
from tests.conftest import REGION
from tests.hooks.conftest import Harness
from tests.support.world import view

# Every kind of call AfterAllowTraffic makes after its first read, in flow order.
RETIRE_CALLS = [
    "UpdateItem",  # the flip (the record writes are told apart by what they write, below)
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
    if operation == "UpdateItem":
        harness.faults.arm(operation, when=lambda body: b"flipped" in body)
    else:
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
    # why: the failing call's error, kept with the deployment (status shows it) and in its history entry
    assert record.failure is not None and "AccessDenied" in record.failure and operation in record.failure
    assert record.history[-1]["reason"] == record.failure


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


def test_a_fault_recording_the_first_start_does_not_stop_the_retire(harness: Harness) -> None:
    harness.run(Flow.PREPARE, "d-1")
    harness.faults.arm("UpdateItem", when=lambda body: b"started_at" in body)
    result = harness.run(Flow.RETIRE, "d-1")
    assert harness.faults.fired == 1
    assert result.status is not None and result.status.value == "Succeeded", result.message


def test_succeeded_is_sent_only_after_the_record_says_retired(harness: Harness) -> None:
    harness.run(Flow.PREPARE, "d-1")
    harness.faults.arm("UpdateItem", when=lambda body: b'"retired"' in body)
    with pytest.raises(MustRetry, match="could not record it"):
        harness.run(Flow.RETIRE, "d-1")
    assert harness.faults.fired == 1
    # no status yet: a Succeeded over a record still saying flipped would leave every later deployment to guess
    assert "d-1-after-allow-traffic" not in harness.ledger.statuses
    assert view(harness.world, "a").retired and view(harness.world, "b").working
    record = harness.store.get("orders")
    assert record is not None and record.live is StackReference.B and record.phase is Phase.FLIPPED
    # Lambda's retry of the same event repeats the (idempotent) retire, records it, then reports Succeeded
    harness.faults.disarm()
    again = harness.run(Flow.RETIRE, "d-1")
    assert again.status is not None and again.status.value == "Succeeded", again.message
    assert harness.ledger.statuses["d-1-after-allow-traffic"] == "Succeeded"
    record = harness.store.get("orders")
    assert record is not None and record.phase is Phase.RETIRED
    assert view(harness.world, "a").retired and view(harness.world, "b").working


def test_when_the_record_cannot_be_flipped_back_it_raises_instead_of_reporting(harness: Harness) -> None:
    harness.run(Flow.PREPARE, "d-1")
    harness.faults.arm("PurgeQueue")
    harness.faults.arm("UpdateItem", when=lambda body: b"rolled-back" in body)
    with pytest.raises(MustRetry, match="could not be flipped back"):
        harness.run(Flow.RETIRE, "d-1")
    assert harness.faults.fired == 2
    assert "d-1-after-allow-traffic" not in harness.ledger.statuses
    record = harness.store.get("orders")
    assert record is not None and record.live is StackReference.B and record.phase is Phase.FLIPPED
    # Lambda's retry of the same event resumes the retire and reports once
    harness.faults.disarm()
    retried = harness.run(Flow.RETIRE, "d-1")
    assert retried.status is not None and retried.status.value == "Succeeded", retried.message
    assert view(harness.world, "a").retired and view(harness.world, "b").working


def test_when_the_report_cannot_be_recorded_it_raises_and_a_retry_reports(harness: Harness) -> None:
    harness.run(Flow.PREPARE, "d-1")
    harness.faults.arm("UpdateItem", when=lambda body: b"#status" in body)
    with pytest.raises(Exception, match="injected fault"):
        harness.run(Flow.RETIRE, "d-1")
    assert "d-1-after-allow-traffic" not in harness.ledger.statuses  # nothing sent that is not remembered
    harness.faults.disarm()
    retried = harness.run(Flow.RETIRE, "d-1")
    assert retried.status is not None and retried.status.value == "Succeeded"
    assert harness.ledger.statuses["d-1-after-allow-traffic"] == "Succeeded"


def test_deletions_come_last_so_a_late_failure_rolls_back_onto_a_whole_stack(harness: Harness) -> None:
    document = dict(harness.world.plan)
    document["dynamodb"] = [dict(document["dynamodb"][0], on_retire="delete")]
    harness.runtime = Runtime(parse_plan(document), store=harness.store, region=REGION)
    harness.run(Flow.PREPARE, "d-1")
    harness.faults.arm("StopDBCluster")
    result = harness.run(Flow.RETIRE, "d-1")
    assert result.status is not None and result.status.value == "Failed"
    old = view(harness.world, "a")
    assert old.working and old.table_exists  # the table of the stack CodeDeploy rolls back to is still there
    harness.faults.disarm()
    second = harness.run(Flow.PREPARE, "d-2"), harness.run(Flow.RETIRE, "d-2")
    assert [r.status.value for r in second if r.status] == ["Succeeded", "Succeeded"]
    assert not view(harness.world, "a").table_exists  # deleted once nothing else could fail


def test_a_put_back_cut_short_is_finished_by_the_next_delivery_before_it_reports(harness: Harness) -> None:
    harness.run(Flow.PREPARE, "d-1")
    # As if the retire had flipped, switched stack a's workers off, failed, flipped back — and then the
    # Lambda had timed out in the middle of putting stack a back: no status reported yet.
    harness.store.flip("orders", "d-1")
    harness.runtime.toolbox.ecs(0).disable_service(StackReference.A)
    harness.runtime.toolbox.sns(0).disable_subscription(StackReference.A)
    harness.store.unflip("orders", "d-1")
    assert not view(harness.world, "a").working
    result = harness.run(Flow.RETIRE, "d-1")  # Lambda's retry of the same event
    assert result.status is not None and result.status.value == "Failed"
    assert view(harness.world, "a").working
    record = harness.store.get("orders")
    assert record is not None and record.live is StackReference.A and record.phase is Phase.ROLLED_BACK
