"""Tags and Performance Insights for the readers Aurora Auto Scaling adds, driven by real-format RDS-in-SNS events."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse

import bluegreen.aws
from bluegreen.rds.readers import apply_tags, bounded_retries, enable_performance_insights
from bluegreen.rds.records import Outcome, RdsRecordError
from bluegreen.rds.runtime import find_target
from bluegreen.refs import StackReference
from bluegreen.tools.aurora import AUTOSCALING_RESOURCE_TAG
from tests.rds.conftest import LIVE_CLUSTER, READER, RETIRED_CLUSTER, RdsWorld, batch, load_event, record_of
from tests.unit.rds_events import instance_created, rds_event, sns_record

PI_REQUEST = {"DBInstanceIdentifier": READER, "EnablePerformanceInsights": True, "ApplyImmediately": True}


def plenty() -> float:
    return 900.0


# --- apply_tags ----------------------------------------------------------------------------------


def test_a_created_reader_of_a_managed_cluster_gets_the_plans_tags_and_role_reader(rds_world: RdsWorld) -> None:
    rds_world.add_autoscaled_reader()
    result = apply_tags(rds_world.runtime, load_event("rds_instance_created"))
    assert result.outcome is Outcome.DONE
    assert rds_world.instance_tags() == {
        AUTOSCALING_RESOURCE_TAG: f"cluster:{LIVE_CLUSTER}",
        "team": "orders",  # plan.aurora[0].tags
        "Role": "Reader",
    }


def test_without_plan_tags_the_reader_gets_its_clusters_own_tags(rds_world: RdsWorld) -> None:
    runtime = rds_world.runtime_with(tags={})
    arn = rds_world.rds.describe_db_clusters(DBClusterIdentifier=RETIRED_CLUSTER)["DBClusters"][0]["DBClusterArn"]
    rds_world.rds.add_tags_to_resource(ResourceName=arn, Tags=[{"Key": "cost-centre", "Value": "42"}])
    rds_world.add_autoscaled_reader(RETIRED_CLUSTER)
    result = apply_tags(runtime, load_event("rds_instance_created"))
    assert result.outcome is Outcome.DONE
    assert rds_world.instance_tags() == {
        AUTOSCALING_RESOURCE_TAG: f"cluster:{RETIRED_CLUSTER}",
        "team": "orders",
        "cost-centre": "42",
        "Role": "Reader",
    }


def test_the_same_event_twice_writes_the_tags_once(rds_world: RdsWorld) -> None:
    rds_world.add_autoscaled_reader()
    apply_tags(rds_world.runtime, load_event("rds_instance_created"))
    apply_tags(rds_world.runtime, load_event("rds_instance_created"))
    assert rds_world.faults.calls.count("AddTagsToResource") == 1


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("sns_subscription_confirmation", "not an RDS event"),
        ("rds_instance_deleted", 'not "DB instance created"'),
        ("rds_performance_insights_disabled", 'not "DB instance created"'),
        ("rds_cluster_auto_started", "not of a DB instance"),
    ],
)
def test_other_messages_are_skipped_with_a_log_line_and_no_change(
    rds_world: RdsWorld, name: str, why: str, caplog: pytest.LogCaptureFixture
) -> None:
    rds_world.add_autoscaled_reader()
    with caplog.at_level(logging.INFO, logger="bluegreen"):
        result = apply_tags(rds_world.runtime, load_event(name))
    assert result.outcome is Outcome.SKIPPED
    assert why in result.detail
    assert "AddTagsToResource" not in rds_world.faults.calls
    assert "Role" not in rds_world.instance_tags()
    assert any("rds_apply_tags: SNS message" in line and "skipped" in line for line in caplog.messages)


@pytest.mark.parametrize(
    ("instance", "why"),
    [
        ("application-autoscaling-foreign", "'payments-db', which the plan does not manage"),  # another cluster's
        (f"{LIVE_CLUSTER}-reader-0", "no Aurora auto-scaling reader"),  # a named reader: no auto-scaling tag
        ("application-autoscaling-gone", "not found"),  # deleted since
    ],
)
def test_instances_of_clusters_the_plan_does_not_manage_are_skipped(
    rds_world: RdsWorld, instance: str, why: str
) -> None:
    rds_world.rds.create_db_cluster(
        DBClusterIdentifier="payments-db", Engine="aurora-postgresql", MasterUsername="p", MasterUserPassword="x" * 12
    )
    rds_world.add_autoscaled_reader("payments-db", "application-autoscaling-foreign")
    result = apply_tags(rds_world.runtime, batch(instance_created(instance)))
    assert result.outcome is Outcome.SKIPPED
    assert why in result.detail
    assert "AddTagsToResource" not in rds_world.faults.calls


def test_a_reader_outside_the_entrys_namespace_is_skipped(rds_world: RdsWorld) -> None:
    runtime = rds_world.runtime_with(namespace="payments")
    rds_world.add_autoscaled_reader()
    result = apply_tags(runtime, load_event("rds_instance_created"))
    assert result.outcome is Outcome.SKIPPED
    assert "namespace" in result.detail
    assert "Role" not in rds_world.instance_tags()


@pytest.mark.parametrize(
    "record", [sns_record("not json at all"), {"unexpected": "shape"}, "not a record"], ids=["text", "shape", "str"]
)
def test_a_record_that_carries_no_rds_event_is_skipped(rds_world: RdsWorld, record: Any) -> None:
    rds_world.add_autoscaled_reader()
    result = apply_tags(rds_world.runtime, batch(record))
    assert result.outcome is Outcome.SKIPPED
    assert "AddTagsToResource" not in rds_world.faults.calls


def test_a_failed_record_raises_naming_it(rds_world: RdsWorld) -> None:
    rds_world.add_autoscaled_reader()
    rds_world.faults.arm("AddTagsToResource", nth=1)  # the tagging is refused (AccessDenied)
    result = apply_tags(rds_world.runtime, load_event("rds_instance_created"))
    assert result.outcome is Outcome.FAILED
    with pytest.raises(RdsRecordError) as raised:
        result.raise_for_failure()
    message = str(raised.value)
    assert "rds_apply_tags: the record failed" in message
    assert "SNS message 95df01b4-ee98-5cb9-9903-4c221d41eb5e" in message
    assert READER in message and "AccessDenied" in message


@pytest.mark.parametrize("records", [0, 2, 5])
def test_an_event_without_exactly_one_record_is_refused_before_anything_is_read(
    rds_world: RdsWorld, records: int
) -> None:
    rds_world.add_autoscaled_reader()
    event = batch(*[record_of("rds_instance_created") for _ in range(records)])
    calls_before = len(rds_world.faults.calls)
    for function in (
        lambda: apply_tags(rds_world.runtime, event),
        lambda: enable_performance_insights(rds_world.runtime, event, time_left=plenty),
    ):
        with pytest.raises(ValueError, match=f"not an SNS event of one record: it has {records} records"):
            function()
    assert rds_world.faults.calls[calls_before:] == []
    assert "Role" not in rds_world.instance_tags()


def test_an_event_that_is_no_sns_event_is_an_error_naming_what_was_expected(rds_world: RdsWorld) -> None:
    with pytest.raises(ValueError, match="'Records' list"):
        apply_tags(rds_world.runtime, {"DeploymentId": "d-1"})


# --- Performance Insights ------------------------------------------------------------------------
# moto keeps no Performance Insights setting (it ignores EnablePerformanceInsights), so these tests
# check the ModifyDBInstance request the function sent.


def test_a_created_reader_gets_performance_insights(rds_world: RdsWorld) -> None:
    rds_world.add_autoscaled_reader()
    result = enable_performance_insights(rds_world.runtime, load_event("rds_instance_created"), time_left=plenty)
    assert result.outcome is Outcome.DONE
    assert rds_world.modified.requests == [PI_REQUEST]


def test_performance_insights_is_turned_back_on_after_it_was_disabled(rds_world: RdsWorld) -> None:
    rds_world.add_autoscaled_reader()
    event = load_event("rds_performance_insights_disabled")
    result = enable_performance_insights(rds_world.runtime, event, time_left=plenty)
    assert result.outcome is Outcome.DONE
    assert rds_world.modified.requests == [PI_REQUEST]


@pytest.mark.parametrize("name", ["sns_subscription_confirmation", "rds_instance_deleted", "rds_cluster_auto_started"])
def test_performance_insights_skips_other_messages(rds_world: RdsWorld, name: str) -> None:
    rds_world.add_autoscaled_reader()
    result = enable_performance_insights(rds_world.runtime, load_event(name), time_left=plenty)
    assert result.outcome is Outcome.SKIPPED
    assert rds_world.modified.requests == []


def test_performance_insights_leaves_readers_of_unmanaged_clusters_alone(rds_world: RdsWorld) -> None:
    rds_world.rds.create_db_cluster(
        DBClusterIdentifier="payments-db", Engine="aurora-postgresql", MasterUsername="p", MasterUserPassword="x" * 12
    )
    rds_world.add_autoscaled_reader("payments-db")
    result = enable_performance_insights(rds_world.runtime, load_event("rds_instance_created"), time_left=plenty)
    assert result.outcome is Outcome.SKIPPED
    assert rds_world.modified.requests == []


def _refuse_modify(times: int | None) -> list[int]:
    """ModifyDBInstance answers InvalidDBInstanceState (instance not ready) the first ``times`` times (all: None)."""
    tries: list[int] = []

    def respond(**_: Any) -> Any:
        tries.append(len(tries) + 1)
        if times is not None and len(tries) > times:
            return None
        error = {"Code": "InvalidDBInstanceState", "Message": "Instance is not in available state."}
        return AWSResponse("https://rds", 400, {}, None), {"Error": error, "ResponseMetadata": {"HTTPStatusCode": 400}}

    bluegreen.aws.default_session().events.register("before-call.rds.ModifyDBInstance", respond)
    return tries


def test_performance_insights_retries_while_the_reader_is_not_ready(
    rds_world: RdsWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    slept: list[float] = []
    monkeypatch.setattr("bluegreen.tools._aurora_instances.time.sleep", slept.append)
    rds_world.add_autoscaled_reader()
    tries = _refuse_modify(times=2)
    result = enable_performance_insights(rds_world.runtime, load_event("rds_instance_created"), time_left=plenty)
    assert result.outcome is Outcome.DONE
    assert tries == [1, 2, 3]
    assert slept == [60.0, 60.0]


def test_performance_insights_retries_fit_the_remaining_time_and_then_fail_naming_the_reader(
    rds_world: RdsWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    slept: list[float] = []
    monkeypatch.setattr("bluegreen.tools._aurora_instances.time.sleep", slept.append)
    rds_world.add_autoscaled_reader()
    tries = _refuse_modify(times=None)
    # 200 s left, 30 s kept free: 170 s hold two waits of 60 s, so three tries.
    result = enable_performance_insights(rds_world.runtime, load_event("rds_instance_created"), time_left=lambda: 200.0)
    assert result.outcome is Outcome.FAILED
    assert tries == [1, 2, 3]
    assert sum(slept) <= 200.0 - 30.0
    assert "PerformanceInsightsError" in result.detail and READER in result.detail
    with pytest.raises(RdsRecordError, match=READER):
        result.raise_for_failure()


@pytest.mark.parametrize(
    ("time_left", "tries"),
    [(900.0, 10), (200.0, 3), (91.0, 2), (89.0, 1), (30.0, 1), (0.0, 1), (-5.0, 1)],
)
def test_bounded_retries_never_sleeps_into_the_margin(time_left: float, tries: int) -> None:
    assert bounded_retries(time_left) == tries
    assert (tries - 1) * 60.0 <= max(time_left - 30.0, 0.0)


def test_bounded_retries_with_no_delay_keeps_every_attempt() -> None:
    assert bounded_retries(100.0, delay=0.0, attempts=4) == 4


# --- routing -------------------------------------------------------------------------------------


def test_find_target_names_the_entry_and_stack_ignoring_case(rds_world: RdsWorld) -> None:
    plan = rds_world.runtime.plan
    found = find_target(plan, "FN-DB-B-DEV")
    assert found is not None
    assert (found.index, found.ref, found.cluster, found.path) == (
        0,
        StackReference.B,
        RETIRED_CLUSTER,
        "plan.aurora[0].b",
    )
    assert find_target(plan, "fn-db-c-dev") is None


def test_an_rds_event_from_the_unit_helpers_is_read_the_same_as_a_sample(rds_world: RdsWorld) -> None:
    rds_world.add_autoscaled_reader()
    helper = apply_tags(rds_world.runtime, batch(sns_record(rds_event(READER))))
    assert helper.outcome is Outcome.DONE
