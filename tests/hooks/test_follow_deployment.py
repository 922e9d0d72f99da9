"""The whole deployment, not only its two hooks: stops, failures, rollbacks, overlaps and plan edits.

Each test is a situation real CodeDeploy and Lambda produce, run through the real hooks and the
deployment-events handler on moto (CodeDeploy's deployments are the emulator's shim: moto has no
statuses, rollback deployments or lifecycle events). Each asserts what AWS holds afterwards.
"""

from __future__ import annotations

import copy
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from bluegreen.hooks import Flow
from bluegreen.hooks.events import LeaseBusy, NeedsAttention
from bluegreen.hooks.lease import Lease
from bluegreen.local.seed import CLUSTER
from bluegreen.refs import StackReference
from bluegreen.state import Phase, StateStore
from tests.conftest import REGION
from tests.hooks.conftest import Harness
from tests.support.world import swapped_plan, view

A, B = StackReference.A, StackReference.B


def status(result: Any) -> str | None:
    return result.status.value if result.status is not None else None


def record(harness: Harness) -> Any:
    found = harness.store.get("orders")
    assert found is not None
    return found


# ---------------------------------------------------------------------------------------------- 1. canary stop


def test_a_canary_stop_after_before_allow_traffic_puts_the_replacement_back(harness: Harness) -> None:
    prepare = harness.run(Flow.PREPARE, "d-1")
    assert status(prepare) == "Succeeded", prepare.message
    assert view(harness.world, "b").working
    live_before = view(harness.world, "a")
    harness.deployments.stop("d-1")  # the canary alarm: traffic goes back, AfterAllowTraffic never comes

    result = harness.event("d-1", "STOP")

    assert result.outcome == "settled", result.message
    b = view(harness.world, "b")
    assert b.desired_tasks == 0 and not b.subscription_enabled and set(b.mappings) == {"Disabled"}
    assert set(b.rules) == {"DISABLED"} and not any(b.alarm_actions) and b.consumer is None
    assert b.cluster_status == "stopped" and b.kinesis_mappings == 0 and b.min_capacity == 1
    assert view(harness.world, "a") == live_before  # the live stack never moved
    held = record(harness)
    assert (held.live, held.phase) == (A, Phase.ROLLED_BACK) and held.settled
    assert held.history[-1]["outcome"] == "rolled-back"
    # the same event again, or late, changes nothing
    assert harness.event("d-1", "STOP").outcome == "nothing"
    assert harness.event("d-1", "FAILURE").outcome == "nothing"


def test_a_lost_stop_event_is_settled_by_the_next_prepare(harness: Harness) -> None:
    harness.run(Flow.PREPARE, "d-1")
    harness.deployments.stop("d-1")  # ... and its event never arrives
    prepare = harness.run(Flow.PREPARE, "d-2")
    assert status(prepare) == "Succeeded", prepare.message
    assert "settled" in prepare.message
    held = record(harness)
    assert (held.deployment_id, held.phase, held.live) == ("d-2", Phase.PREPARED, A)
    assert [h["deployment_id"] for h in held.history] == ["d-1"]
    assert view(harness.world, "a").working and view(harness.world, "b").working
    retire = harness.run(Flow.RETIRE, "d-2")
    assert status(retire) == "Succeeded", retire.message
    assert view(harness.world, "a").retired and view(harness.world, "b").working


# ---------------------------------------------------------------------------------------------- 2. stop during retire


def test_a_deployment_stopped_while_its_retire_runs_gets_the_old_stack_back(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    harness.run(Flow.PREPARE, "d-1")
    # CodeDeploy stops the deployment while the reversible steps run: the check before the first
    # irreversible step (the purge) sees it, and nothing irreversible happens.
    original = harness.runtime.deployments.get
    asked: list[str] = []

    def stopping(deployment_id: str) -> Any:
        asked.append(deployment_id)
        if len(asked) == 2:  # the start of the hook asks first; the second question is before the purge
            harness.deployments.stop("d-1")
        return original(deployment_id)

    monkeypatch.setattr(harness.runtime.deployments, "get", stopping)
    before = len(harness.faults.calls)  # the prepare purged b's queues (its leftovers): not the retire's
    retire = harness.run(Flow.RETIRE, "d-1")

    assert status(retire) in ("Failed", None), retire.message
    assert "PurgeQueue" not in harness.faults.calls[before:]
    a = view(harness.world, "a")
    assert a.working and a.queue_depth > 0  # nothing purged: the old stack serves again
    held = record(harness)
    assert (held.live, held.phase) == (A, Phase.ROLLED_BACK)
    # the STOP event then retires the replacement too
    assert harness.event("d-1", "STOP").outcome == "settled"
    assert view(harness.world, "a").working
    b = view(harness.world, "b")
    assert b.desired_tasks == 0 and not b.subscription_enabled and b.consumer is None
    assert record(harness).settled


def test_a_deployment_failed_while_flipped_is_put_back_by_its_event(harness: Harness) -> None:
    harness.run(Flow.PREPARE, "d-1")
    harness.runtime.store.flip("orders", "d-1")  # the retire flipped, then its Lambda died
    harness.deployments.fail("d-1")
    result = harness.event("d-1", "FAILURE")
    assert result.outcome == "settled", result.message
    held = record(harness)
    assert (held.live, held.phase) == (A, Phase.ROLLED_BACK) and held.settled
    assert view(harness.world, "a").working
    b = view(harness.world, "b")
    assert b.desired_tasks == 0 and b.consumer is None and not b.subscription_enabled


def test_a_retire_whose_finish_was_lost_is_completed_by_the_success_event(harness: Harness) -> None:
    harness.run(Flow.PREPARE, "d-1")
    harness.runtime.store.flip("orders", "d-1")
    harness.deployments.succeed("d-1")
    result = harness.event("d-1", "SUCCESS")
    assert result.outcome == "settled", result.message
    held = record(harness)
    assert (held.live, held.phase) == (B, Phase.RETIRED)
    assert view(harness.world, "a").retired and view(harness.world, "b").working


def test_a_failure_after_the_retire_finished_calls_for_a_person(harness: Harness) -> None:
    harness.deploy("d-1")
    with pytest.raises(NeedsAttention, match="cannot take the traffic back"):
        harness.event("d-1", "FAILURE")
    assert view(harness.world, "b").working  # nothing touched


# ---------------------------------------------------------------------------------------------- rollback deployments


def test_hooks_of_a_rollback_deployment_settle_what_it_undoes_and_prepare_nothing(harness: Harness) -> None:
    harness.run(Flow.PREPARE, "d-1")
    harness.deployments.roll_back("d-1", "d-rb")
    prepare = harness.run(Flow.PREPARE, "d-rb")
    assert status(prepare) == "Succeeded", prepare.message
    held = record(harness)
    assert (held.deployment_id, held.live, held.phase) == ("d-1", A, Phase.ROLLED_BACK) and held.settled
    assert view(harness.world, "b").desired_tasks == 0 and view(harness.world, "a").working
    retire = harness.run(Flow.RETIRE, "d-rb")
    assert status(retire) == "Succeeded", retire.message
    assert record(harness).live is A and view(harness.world, "a").working


# ---------------------------------------------------------------------------------------------- 3. plan edits


def test_a_plan_with_a_and_b_swapped_between_the_hooks_never_touches_the_live_stack(harness: Harness) -> None:
    harness.run(Flow.PREPARE, "d-1")
    harness.with_plan(swapped_plan(harness.world.plan))  # a cold retire Lambda reads the edited plan
    retire = harness.run(Flow.RETIRE, "d-1")
    assert status(retire) == "Succeeded", retire.message
    # the plan the deployment was prepared with is the one retired: stack a's resources retired, b's live
    assert view(harness.world, "a").retired
    assert view(harness.world, "b").working
    assert record(harness).live is B


def test_a_worker_pair_added_between_the_hooks_is_left_alone_until_the_next_prepare(harness: Harness) -> None:
    ecs = boto3.client("ecs", region_name=REGION)
    for name, desired in (("extra-worker-a", 1), ("extra-worker-b", 0)):
        ecs.create_service(cluster=CLUSTER, serviceName=name, taskDefinition="thing-runner", desiredCount=desired)
    harness.run(Flow.PREPARE, "d-1")
    edited = copy.deepcopy(harness.world.plan)
    edited["ecs"].append({"cluster": CLUSTER, "a": "extra-worker-a", "b": "extra-worker-b", "desired_tasks": 1})
    harness.with_plan(edited)
    retire = harness.run(Flow.RETIRE, "d-1")
    assert status(retire) == "Succeeded", retire.message
    counts = {
        s["serviceName"]: s["desiredCount"]
        for s in ecs.describe_services(cluster=CLUSTER, services=["extra-worker-a", "extra-worker-b"])["services"]
    }
    assert counts == {"extra-worker-a": 1, "extra-worker-b": 0}  # not both at 0: the work goes on
    # the next deployment (back to a) acts with the edited plan: the pair now swaps with the rest
    prepare, retire = harness.deploy("d-2")
    assert (status(prepare), status(retire)) == ("Succeeded", "Succeeded"), (prepare.message, retire.message)
    counts = {
        s["serviceName"]: s["desiredCount"]
        for s in ecs.describe_services(cluster=CLUSTER, services=["extra-worker-a", "extra-worker-b"])["services"]
    }
    assert counts == {"extra-worker-a": 1, "extra-worker-b": 0} and record(harness).live is A


def test_the_record_keeps_the_plan_it_prepared(harness: Harness) -> None:
    harness.run(Flow.PREPARE, "d-1")
    held = record(harness)
    assert held.plan_sha256 == harness.runtime.snapshot[1]
    assert '"application":"orders"' in (held.plan_json or "")
    assert (held.codedeploy_application, held.codedeploy_group) == ("orders", "orders-dg")


# ---------------------------------------------------------------------------------------------- 4. one in flight


def test_a_second_deployment_group_is_refused_while_the_first_is_in_flight(harness: Harness) -> None:
    assert status(harness.run(Flow.PREPARE, "d-1")) == "Succeeded"
    before = (view(harness.world, "a"), view(harness.world, "b"), record(harness))
    harness.deployments.create("d-other", group="orders-worker-dg")
    refused = harness.run(Flow.PREPARE, "d-other")
    assert status(refused) == "Failed"
    assert "d-1 of orders/orders-dg (InProgress)" in refused.message
    assert (view(harness.world, "a"), view(harness.world, "b"), record(harness)) == before
    # the first one goes on and finishes as if nothing happened
    assert status(harness.run(Flow.RETIRE, "d-1")) == "Succeeded"
    assert view(harness.world, "a").retired and view(harness.world, "b").working


# ---------------------------------------------------------------------------------------------- 5. the lease


def test_a_duplicate_delivery_beside_its_twin_at_work_returns_without_acting(harness: Harness) -> None:
    harness.run(Flow.PREPARE, "d-1")
    twin = Lease(harness.store, "orders", owner="twin", holder="the twin", execution="d-1-after-allow-traffic")
    assert twin.acquire(time.time() + 600) is None
    before = (view(harness.world, "a"), view(harness.world, "b"))
    result = harness.run(Flow.RETIRE, "d-1")
    assert result.status is None and "another delivery" in result.message
    assert (view(harness.world, "a"), view(harness.world, "b")) == before
    assert record(harness).phase is Phase.PREPARED and "d-1-after-allow-traffic" not in harness.ledger.statuses


def test_another_runner_holding_the_lease_is_waited_for_then_handed_over(harness: Harness) -> None:
    harness.run(Flow.PREPARE, "d-1")
    other = Lease(harness.store, "orders", owner="other", holder="`bluegreen run` by hand")
    assert other.acquire(time.time() + 3600) is None
    result = harness.run(Flow.RETIRE, "d-1")
    assert result.status is None and "handed over" in result.message
    assert record(harness).phase is Phase.PREPARED  # nothing done meanwhile
    continuation = harness.reinvoked[-1]
    token = continuation["bluegreen"]["token"]
    other.release()
    done = harness.deliver(Flow.RETIRE, continuation)
    assert status(done) == "Succeeded", done.message
    assert Lease(harness.store, "orders", owner=token, holder="x").current() is None  # released at the end


def test_the_events_handler_raises_while_a_hook_holds_the_lease(harness: Harness) -> None:
    harness.run(Flow.PREPARE, "d-1")
    harness.deployments.stop("d-1")
    hook = Lease(harness.store, "orders", owner="hook", holder="a hook", execution="x")
    assert hook.acquire(time.time() + 3600) is None
    with pytest.raises(LeaseBusy):
        harness.event("d-1", "STOP")
    assert view(harness.world, "b").working  # nothing done without the lease
    hook.release()
    assert harness.event("d-1", "STOP").outcome == "settled"


def test_a_lease_that_cannot_be_written_makes_the_hook_raise(harness: Harness) -> None:
    harness.faults.arm("UpdateItem", code="InternalServerError", status=500, when=lambda body: b"#lease" in body)
    with pytest.raises(ClientError):
        harness.run(Flow.PREPARE, "d-1")
    assert harness.ledger.statuses == {}
    assert view(harness.world, "b").desired_tasks == 0


# ---------------------------------------------------------------------------------------------- 6. ambiguous write


def test_a_prepared_write_that_landed_before_its_error_is_read_back(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = StateStore.set_phase

    def landed_then_failed(self: StateStore, *args: Any, **kw: Any) -> Any:
        original(self, *args, **kw)
        raise ClientError({"Error": {"Code": "InternalServerError", "Message": "lost reply"}}, "UpdateItem")

    monkeypatch.setattr(StateStore, "set_phase", landed_then_failed)
    result = harness.run(Flow.PREPARE, "d-1")
    assert status(result) == "Succeeded", result.message
    assert record(harness).phase is Phase.PREPARED and view(harness.world, "b").working


# ---------------------------------------------------------------------------------------------- 7. stuck flipped


def test_a_record_stuck_flipped_is_settled_by_the_next_deployment_not_a_wall(harness: Harness) -> None:
    harness.run(Flow.PREPARE, "d-1")
    harness.faults.arm("PurgeQueue")
    harness.faults.arm("UpdateItem", code="Throttling", status=400, when=lambda body: b"rolled-back" in body)
    with pytest.raises(Exception, match="flipped back"):
        harness.run(Flow.RETIRE, "d-1")
    assert record(harness).phase is Phase.FLIPPED
    harness.faults.disarm()
    harness.deployments.fail("d-1")  # CodeDeploy timed the hook out: the deployment failed, traffic went back to a
    prepare = harness.run(Flow.PREPARE, "d-2")
    assert status(prepare) == "Succeeded", prepare.message
    held = record(harness)
    assert (held.live, held.deployment_id, held.phase) == (A, "d-2", Phase.PREPARED)
    assert held.history[-1]["deployment_id"] == "d-1" and held.history[-1]["outcome"] == "rolled-back"
    assert view(harness.world, "a").working and view(harness.world, "b").working


# ---------------------------------------------------------------------------------------------- CodeDeploy's clock


def test_the_deadline_counts_from_codedeploys_start_of_the_lifecycle_event(harness: Harness) -> None:
    harness.deployments.create("d-1")
    started = datetime.now(UTC) - timedelta(minutes=49, seconds=30)
    harness.deployments.start_lifecycle_event("d-1", "BeforeAllowTraffic", at=started)
    result = harness.run(Flow.PREPARE, "d-1")  # the stopped cluster must start: no time left to wait for it
    assert status(result) == "Failed"
    assert "deadline" in result.message
    assert view(harness.world, "b").desired_tasks == 0 and record(harness).phase is Phase.PREPARE_FAILED


def test_a_deployment_codedeploy_does_not_know_is_failed_and_changes_nothing(harness: Harness) -> None:
    event = {"DeploymentId": "", "LifecycleEventHookExecutionId": "e-1"}
    with pytest.raises(ValueError, match="missing DeploymentId"):
        harness.deliver(Flow.PREPARE, event)
    from bluegreen.hooks import handle  # noqa: PLC0415

    result = handle(
        Flow.PREPARE,
        {"DeploymentId": "d-nobody", "LifecycleEventHookExecutionId": "e-2"},
        runtime=lambda: harness.runtime,
        time_left=lambda: 900.0,
        reinvoke=None,
    )
    assert status(result) == "Failed" and "does not know" in result.message
    assert harness.store.get("orders") is None
