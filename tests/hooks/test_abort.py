"""`bluegreen run abort`: a deployment given up by hand is stopped in CodeDeploy and its replacement put back.

The put-back is the deployment-events handler's (a STOP event's settle); CodeDeploy's StopDeployment
(with autoRollbackEnabled) is the emulator's model, which stops the deployment and starts its rollback.
"""

from __future__ import annotations

import pytest

from bluegreen.hooks import Flow, abort_by_hand
from bluegreen.refs import StackReference
from bluegreen.state import Phase, StateConflict
from tests.hooks.conftest import Harness
from tests.support.world import view

A, B = StackReference.A, StackReference.B


def _abort(harness: Harness, deployment: str) -> tuple[str, str]:
    result, message = abort_by_hand(harness.runtime, deployment, poll_initial=0.0, sleep=lambda _: None)
    return result.status.value, message


def test_a_prepared_deployment_is_stopped_and_its_replacement_put_back(harness: Harness) -> None:
    live_before = view(harness.world, "a")
    prepared = harness.run(Flow.PREPARE, "d-1")
    assert prepared.status is not None and prepared.status.value == "Succeeded", prepared.message
    assert view(harness.world, "b").working  # both stacks consume: the danger an abort ends

    status, message = _abort(harness, "d-1")

    assert status == "succeeded", message
    stopped = harness.deployments.get("d-1")
    assert stopped is not None and stopped.status == "Stopped"  # CodeDeploy stopped it, and rolls back
    assert "rollback deployment" in message
    b = view(harness.world, "b")
    assert b.desired_tasks == 0 and not b.subscription_enabled and set(b.mappings) == {"Disabled"}
    assert b.consumer is None and b.cluster_status == "stopped"
    assert view(harness.world, "a") == live_before
    record = harness.store.get("orders")
    assert record is not None and record.live is A and record.phase is Phase.ROLLED_BACK and record.settled
    assert record.failure is not None and record.failure.startswith("aborted by hand: deployment d-1 ended STOP")
    # the deployment's own AfterAllowTraffic, still on its way, finds it given up: Failed, nothing retired
    late = harness.run(Flow.RETIRE, "d-1")
    assert late.status is not None and late.status.value == "Failed"
    assert view(harness.world, "a") == live_before


def test_a_flipped_deployment_gets_its_old_stack_back_live(harness: Harness) -> None:
    live_before = view(harness.world, "a")
    assert harness.run(Flow.PREPARE, "d-1").status is not None
    harness.store.flip("orders", "d-1")  # the retire began and was cut short after the flip

    status, message = _abort(harness, "d-1")

    assert status == "succeeded", message
    record = harness.store.get("orders")
    assert record is not None and record.live is A and record.phase is Phase.ROLLED_BACK and record.settled
    assert view(harness.world, "a") == live_before
    assert view(harness.world, "b").desired_tasks == 0


def test_a_deployment_already_retired_is_refused_and_left_alone(harness: Harness) -> None:
    _, retire = harness.deploy("d-1")
    assert retire.status is not None and retire.status.value == "Succeeded", retire.message
    harness.deployments.succeed("d-1")
    new_live = view(harness.world, "b")

    with pytest.raises(StateConflict, match="already retired stack a: nothing to abort"):
        _abort(harness, "d-1")

    record = harness.store.get("orders")
    assert record is not None and record.live is B and record.phase is Phase.RETIRED
    assert view(harness.world, "b") == new_live


def test_a_deployment_the_record_does_not_hold_is_nothing_to_abort(harness: Harness) -> None:
    status, message = _abort(harness, "d-9")
    assert status == "succeeded" and "nothing to abort: the record holds no record" in message, message
    assert harness.store.get("orders") is None


def test_another_runner_at_work_is_a_conflict_and_nothing_is_done(harness: Harness) -> None:
    from bluegreen.hooks.lease import Lease  # noqa: PLC0415

    assert harness.run(Flow.PREPARE, "d-1").status is not None
    Lease(harness.store, "orders", owner="someone", holder="a hook at work").acquire(10**10)
    with pytest.raises(StateConflict, match="another runner is at work"):
        _abort(harness, "d-1")
    assert view(harness.world, "b").working  # untouched
