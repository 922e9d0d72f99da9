"""Whole deployments through the real hooks on moto: what both stacks, the record and CodeDeploy hold."""

from __future__ import annotations

from bluegreen.hooks import Flow, handle
from bluegreen.plan import PlanError
from bluegreen.refs import StackReference
from bluegreen.state import Phase
from tests.hooks.conftest import Harness
from tests.support.world import view


def test_the_seeded_world_starts_with_a_working_and_b_retired(harness: Harness) -> None:
    assert view(harness.world, "a").working
    b = view(harness.world, "b")
    assert b.desired_tasks == 0 and b.cluster_status == "stopped" and not b.subscription_enabled


def test_prepare_brings_the_replacement_up_and_leaves_the_live_stack_alone(harness: Harness) -> None:
    before_a = view(harness.world, "a")
    result = harness.run(Flow.PREPARE, "d-1")
    assert result.status is not None and result.status.value == "Succeeded", result.message
    assert harness.ledger.statuses == {"d-1-before-allow-traffic": "Succeeded"}
    b = view(harness.world, "b")
    assert b.working
    assert b.desired_tasks == 2
    assert b.min_capacity == 2  # the live cluster's reader count
    assert view(harness.world, "a") == before_a
    record = harness.store.get("orders")
    assert record is not None
    assert (record.live, record.phase, record.replacement) == (StackReference.A, Phase.PREPARED, StackReference.B)


def test_a_whole_deployment_flips_the_record_and_retires_the_old_stack(harness: Harness) -> None:
    prepare, retire = harness.deploy("d-1")
    assert (prepare.status and prepare.status.value, retire.status and retire.status.value) == (
        "Succeeded",
        "Succeeded",
    ), (prepare.message, retire.message)
    assert harness.ledger.statuses == {
        "d-1-before-allow-traffic": "Succeeded",
        "d-1-after-allow-traffic": "Succeeded",
    }
    a, b = view(harness.world, "a"), view(harness.world, "b")
    assert a.retired, a
    assert a.table_exists  # on_retire: keep
    assert b.working, b
    assert b.min_capacity == 1  # back to the plan's minimum_cluster_size
    record = harness.store.get("orders")
    assert record is not None
    assert (record.live, record.phase) == (StackReference.B, Phase.RETIRED)
    assert record.history[-1]["deployment_id"] == "d-1"


def test_a_second_deployment_goes_back_to_a(harness: Harness) -> None:
    harness.deploy("d-1")
    prepare, retire = harness.deploy("d-2")
    assert (prepare.status and prepare.status.value, retire.status and retire.status.value) == (
        "Succeeded",
        "Succeeded",
    ), (prepare.message, retire.message)
    a, b = view(harness.world, "a"), view(harness.world, "b")
    assert a.working, a
    assert b.retired, b
    record = harness.store.get("orders")
    assert record is not None and record.live is StackReference.A
    assert [h["deployment_id"] for h in record.history] == ["d-1", "d-2"]


def test_a_duplicate_after_allow_traffic_never_flips_back(harness: Harness) -> None:
    harness.deploy("d-1")
    calls_before = len(harness.ledger.calls)
    again = harness.run(Flow.RETIRE, "d-1")  # the very same execution delivered twice
    assert again.status is not None and again.status.value == "Succeeded"
    other = harness.run(Flow.RETIRE, "d-1", execution="another-execution")
    assert other.status is not None and other.status.value == "Succeeded"
    record = harness.store.get("orders")
    assert record is not None and record.live is StackReference.B
    assert view(harness.world, "b").working
    # the duplicate re-sent the same status (refused by CodeDeploy as already completed), nothing new
    assert harness.ledger.calls[calls_before] == ("d-1", "d-1-after-allow-traffic", "Succeeded")
    assert harness.ledger.statuses["d-1-after-allow-traffic"] == "Succeeded"


def test_after_allow_traffic_for_a_deployment_never_prepared_fails_and_touches_nothing(harness: Harness) -> None:
    before = (view(harness.world, "a"), view(harness.world, "b"))
    result = harness.run(Flow.RETIRE, "d-unknown")
    assert result.status is not None and result.status.value == "Failed"
    assert "never prepared" in result.message
    assert harness.ledger.statuses == {"d-unknown-after-allow-traffic": "Failed"}
    assert (view(harness.world, "a"), view(harness.world, "b")) == before
    assert harness.store.get("orders") is None or harness.store.get("orders").live is StackReference.A  # type: ignore[union-attr]


def test_a_bad_plan_reports_failed_and_touches_nothing(harness: Harness) -> None:
    def bad_runtime() -> object:
        raise PlanError([("plan.aurora[0].b", "required — name stack b's cluster")])

    before = (view(harness.world, "a"), view(harness.world, "b"))
    result = handle(
        Flow.PREPARE,
        {"DeploymentId": "d-1", "LifecycleEventHookExecutionId": "e-1"},
        runtime=bad_runtime,  # type: ignore[arg-type]
        time_left=lambda: 900.0,
        reinvoke=None,
        reporter=harness.runtime.reporter,
    )
    assert result.status is not None and result.status.value == "Failed"
    assert "plan.aurora[0].b: required" in result.message
    assert harness.ledger.statuses == {"e-1": "Failed"}
    assert (view(harness.world, "a"), view(harness.world, "b")) == before
