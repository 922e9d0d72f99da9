from __future__ import annotations

import logging
import re
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse, HTTPHeaders
from botocore.exceptions import ClientError
from hypothesis import given
from hypothesis import strategies as st
from moto.rds.models import RDSBackend

from bluegreen import ClusterState, StackReference
from bluegreen.local.busy import BusyInstances
from bluegreen.tools.aurora import (
    AUTOSCALING_RESOURCE_TAG,
    READ_REPLICA_COUNT,
    AuroraConfig,
    AuroraTools,
    ClusterBusyError,
    ClusterDeletionProtectedError,
    ClusterStateError,
    PerformanceInsightsError,
    RdsEvent,
    final_snapshot_identifier,
)
from tests.conftest import REGION
from tests.unit.rds_events import instance_created, performance_insights_disabled, rds_event, sns_record

CLUSTER_A = "fn-db-a-dev"
CLUSTER_B = "fn-db-b-dev"
AUTOSCALED = "application-autoscaling-d1583f39-ab0b-4d73-87e4-4db2d83476b3"
CLUSTER_TAGS = [
    {"Key": "team", "Value": "orders"},
    {"Key": "cost-centre", "Value": "42"},
    {"Key": "aws:cloudformation:stack-name", "Value": "fn-dev"},  # reserved: AddTagsToResource rejects aws: keys
]
#: AWS's rules for a DB cluster snapshot identifier.
SNAPSHOT_ID = re.compile(r"^[a-zA-Z](?:-?[a-zA-Z0-9])*$")


_clients: dict[str, Any] = {}


@pytest.fixture(autouse=True)
def _fresh_clients() -> None:
    _clients.clear()


def rds() -> Any:
    """A plain boto3 RDS client (made once per test: making clients is the slow part of these tests)."""
    if "rds" not in _clients:
        _clients["rds"] = boto3.client("rds", region_name=REGION)
    return _clients["rds"]


def aas() -> Any:
    """A plain boto3 Application Auto Scaling client (made once per test)."""
    if "aas" not in _clients:
        _clients["aas"] = boto3.client("application-autoscaling", region_name=REGION)
    return _clients["aas"]


def create_instance(identifier: str, cluster: str, tags: list[dict[str, str]] | None = None) -> None:
    rds().create_db_instance(
        DBInstanceIdentifier=identifier,
        DBClusterIdentifier=cluster,
        Engine="aurora-postgresql",
        DBInstanceClass="db.r6g.large",
        Tags=tags or [],
    )


def create_autoscaled_reader(cluster: str, identifier: str = AUTOSCALED, resource: str | None = None) -> None:
    """A reader as Aurora Auto Scaling adds it: application-autoscaling-…, tagged with its cluster."""
    create_instance(identifier, cluster, [{"Key": AUTOSCALING_RESOURCE_TAG, "Value": resource or f"cluster:{cluster}"}])


def create_cluster(name: str, readers: int, **extra: Any) -> None:
    rds().create_db_cluster(
        DBClusterIdentifier=name,
        Engine="aurora-postgresql",
        MasterUsername="fn",
        MasterUserPassword="not-a-secret-1",
        **extra,
    )
    create_instance(f"{name}-writer", name)
    for i in range(readers):
        create_instance(f"{name}-reader-{i}", name)


def register_target(cluster: str, min_capacity: int = 1, max_capacity: int = 4) -> None:
    aas().register_scalable_target(
        ServiceNamespace="rds",
        ResourceId=f"cluster:{cluster}",
        ScalableDimension=READ_REPLICA_COUNT,
        MinCapacity=min_capacity,
        MaxCapacity=max_capacity,
    )


def target(cluster: str) -> dict[str, Any]:
    found = aas().describe_scalable_targets(
        ServiceNamespace="rds", ResourceIds=[f"cluster:{cluster}"], ScalableDimension=READ_REPLICA_COUNT
    )["ScalableTargets"]
    assert len(found) == 1
    return dict(found[0])


def status(cluster: str) -> str:
    return str(rds().describe_db_clusters(DBClusterIdentifier=cluster)["DBClusters"][0]["Status"])


def cluster_ids() -> set[str]:
    return {c["DBClusterIdentifier"] for c in rds().describe_db_clusters()["DBClusters"]}


def instance_ids() -> set[str]:
    return {i["DBInstanceIdentifier"] for i in rds().describe_db_instances()["DBInstances"]}


def instance_tags(identifier: str) -> dict[str, str]:
    arn = rds().describe_db_instances(DBInstanceIdentifier=identifier)["DBInstances"][0]["DBInstanceArn"]
    return {t["Key"]: t["Value"] for t in rds().list_tags_for_resource(ResourceName=arn)["TagList"]}


def manual_snapshots() -> list[dict[str, Any]]:
    return list(rds().describe_db_cluster_snapshots(SnapshotType="manual")["DBClusterSnapshots"])


def make_tools(**overrides: Any) -> AuroraTools:
    settings: dict[str, Any] = {
        "region": REGION,
        "cluster_name_a": CLUSTER_A,
        "cluster_name_b": CLUSTER_B,
        "minimum_cluster_size": 1,
    }
    return AuroraTools(AuroraConfig(**(settings | overrides)))


@pytest.fixture
def tools(aws: None) -> AuroraTools:
    """Cluster a: writer, one reader and one auto-scaled reader; cluster b: writer and one reader."""
    create_cluster(CLUSTER_A, readers=1, Tags=CLUSTER_TAGS)
    create_autoscaled_reader(CLUSTER_A)
    create_cluster(CLUSTER_B, readers=1, Tags=[{"Key": "team", "Value": "orders-b"}])
    register_target(CLUSTER_A)
    register_target(CLUSTER_B)
    return make_tools()


def error_response(error: dict[str, str]) -> tuple[AWSResponse, dict[str, Any]]:
    """What a before-call hook returns to answer a call with an HTTP 400 error instead of moto."""
    return AWSResponse("https://rds", 400, HTTPHeaders(), None), {
        "Error": error,
        "ResponseMetadata": {"HTTPStatusCode": 400},
    }


def capture(tools: AuroraTools, service: str, operation: str) -> list[dict[str, Any]]:
    """Record the parameters of every ``operation`` call the tool's client makes."""
    seen: list[dict[str, Any]] = []

    def record(params: dict[str, Any], **_: Any) -> None:
        seen.append(dict(params))

    client = tools._client(service)
    client.meta.events.register(
        f"provide-client-params.{client.meta.service_model.service_id.hyphenize()}.{operation}", record
    )
    return seen


def refuse(tools: AuroraTools, operation: str, code: str, times: int | None = None) -> list[int]:
    """Make the first ``times`` (all, when None) ``operation`` calls fail with ``code`` before moto sees them."""
    tries: list[int] = []

    def respond(**_: Any) -> tuple[AWSResponse, dict[str, Any]] | None:
        tries.append(len(tries) + 1)
        if times is not None and len(tries) > times:
            return None
        error = {"Code": code, "Message": f"injected {code}"}
        return error_response(error)

    tools._client("rds").meta.events.register(f"before-call.rds.{operation}", respond)
    return tries


def report_status(tools: AuroraTools, *statuses: str) -> None:
    """The next DescribeDBClusters answers report these statuses, one per call (moto cannot reach them)."""
    pending = list(statuses)

    def rewrite(parsed: dict[str, Any], **_: Any) -> None:
        if pending and parsed.get("DBClusters"):
            parsed["DBClusters"][0]["Status"] = pending.pop(0)

    tools._client("rds").meta.events.register("after-call.rds.DescribeDBClusters", rewrite)


# --- config and references -----------------------------------------------------------------------


def test_config_is_keyword_only_with_the_documented_defaults() -> None:
    config = AuroraConfig(region=REGION, cluster_name_a="x", cluster_name_b="y", minimum_cluster_size=2)
    assert (config.account_id, config.skip_delete_snapshots, config.namespace, config.tags) == (None, False, "*", {})
    other = AuroraConfig(region=REGION, cluster_name_a="x", cluster_name_b="y", minimum_cluster_size=2)
    assert other.tags is not config.tags  # no shared mutable default
    with pytest.raises(TypeError):
        AuroraConfig(REGION, None, "x", "y", 2)  # type: ignore[call-arg]


def test_invalid_reference_is_an_error(tools: AuroraTools) -> None:
    with pytest.raises(ValueError, match="expected 'a' or 'b'"):
        tools.stop_database("c")
    assert status(CLUSTER_B) == "available"


# --- state and readers ---------------------------------------------------------------------------


def test_get_cluster_state_reads_each_clusters_status(tools: AuroraTools) -> None:
    rds().stop_db_cluster(DBClusterIdentifier=CLUSTER_B)
    assert tools.get_cluster_state(StackReference.A) is ClusterState.AVAILABLE
    assert tools.get_cluster_state("b") is ClusterState.STOPPED


def test_get_cluster_state_maps_a_status_it_does_not_know_to_unknown(tools: AuroraTools) -> None:
    report_status(tools, "hibernating-in-2031")
    assert tools.get_cluster_state("a") is ClusterState.UNKNOWN


def test_missing_cluster_is_reported_by_name(tools: AuroraTools) -> None:
    tools.config.cluster_name_b = "fn-db-gone"
    with pytest.raises(LookupError, match="fn-db-gone"):
        tools.get_cluster_state("b")
    with pytest.raises(LookupError, match="fn-db-gone"):
        tools.get_reader_count("b")


def test_get_reader_count_counts_members_that_are_not_the_writer(tools: AuroraTools) -> None:
    assert tools.get_reader_count("a") == 2
    assert tools.get_reader_count("b") == 1
    create_cluster("fn-db-writer-only", readers=0)
    assert make_tools(cluster_name_a="fn-db-writer-only").get_reader_count("a") == 0


# --- scaling -------------------------------------------------------------------------------------


def test_scale_out_sets_min_capacity_to_the_partners_reader_count(tools: AuroraTools) -> None:
    assert tools.scale_out(StackReference.B) == 2
    assert target(CLUSTER_B)["MinCapacity"] == 2
    assert target(CLUSTER_B)["MaxCapacity"] == 4
    assert target(CLUSTER_A)["MinCapacity"] == 1
    assert tools.get_min_capacity("b") == 2


def test_scale_out_twice_registers_once(tools: AuroraTools) -> None:
    registered = capture(tools, "application-autoscaling", "RegisterScalableTarget")
    tools.scale_out("b")
    tools.scale_out("b")
    assert registered == [
        {
            "ServiceNamespace": "rds",
            "ResourceId": f"cluster:{CLUSTER_B}",
            "ScalableDimension": READ_REPLICA_COUNT,
            "MinCapacity": 2,
        }
    ]


def test_scale_out_looks_the_target_up_by_dimension(tools: AuroraTools) -> None:
    asked = capture(tools, "application-autoscaling", "DescribeScalableTargets")
    tools.get_min_capacity("a")
    assert asked == [
        {"ServiceNamespace": "rds", "ResourceIds": [f"cluster:{CLUSTER_A}"], "ScalableDimension": READ_REPLICA_COUNT}
    ]


def test_scale_out_above_the_max_raises_the_max_too(tools: AuroraTools, caplog: pytest.LogCaptureFixture) -> None:
    register_target(CLUSTER_B, min_capacity=0, max_capacity=1)
    with caplog.at_level(logging.WARNING):
        tools.scale_out("b")
    # moto accepts MinCapacity > MaxCapacity, AWS does not: the tool raises the max itself.
    assert (target(CLUSTER_B)["MinCapacity"], target(CLUSTER_B)["MaxCapacity"]) == (2, 2)
    assert "max reader capacity raised from 1 to 2" in caplog.text


def test_scale_in_restores_the_minimum_cluster_size(tools: AuroraTools) -> None:
    register_target(CLUSTER_A, min_capacity=3, max_capacity=5)
    assert tools.scale_in("a") == 1
    assert target(CLUSTER_A)["MinCapacity"] == 1
    assert target(CLUSTER_A)["MaxCapacity"] == 5
    tools.scale_in("a")
    assert target(CLUSTER_A)["MinCapacity"] == 1


def test_scaling_a_cluster_without_a_scalable_target_names_it(tools: AuroraTools) -> None:
    create_cluster("fn-db-unscaled", readers=1)
    unscaled = make_tools(cluster_name_b="fn-db-unscaled")
    assert unscaled.get_min_capacity("b") is None
    with pytest.raises(LookupError, match="fn-db-unscaled"):
        unscaled.scale_out("b")
    with pytest.raises(LookupError, match="fn-db-unscaled"):
        unscaled.scale_in("b")


def test_negative_capacity_is_refused(tools: AuroraTools) -> None:
    with pytest.raises(ValueError, match="-1"):
        tools.set_min_capacity("a", -1)


# --- start and stop ------------------------------------------------------------------------------


def test_stop_database_stops_that_cluster_only_and_is_idempotent(tools: AuroraTools) -> None:
    tools.stop_database("b")
    tools.stop_database("b")
    assert status(CLUSTER_B) == "stopped"
    assert status(CLUSTER_A) == "available"


def test_start_database_starts_a_stopped_cluster_and_is_idempotent(tools: AuroraTools) -> None:
    rds().stop_db_cluster(DBClusterIdentifier=CLUSTER_A)
    started = capture(tools, "rds", "StartDBCluster")
    tools.start_database("a")
    tools.start_database("a")
    assert status(CLUSTER_A) == "available"
    assert started == [{"DBClusterIdentifier": CLUSTER_A}]


@pytest.mark.parametrize("state", ["starting", "modifying", "backing-up"])
def test_start_database_on_a_running_cluster_is_done(tools: AuroraTools, state: str) -> None:
    started = capture(tools, "rds", "StartDBCluster")
    report_status(tools, state)
    tools.start_database("a")
    assert started == []


def test_start_database_while_stopping_says_to_wait(tools: AuroraTools) -> None:
    report_status(tools, "stopping")
    with pytest.raises(ClusterStateError, match=r"fn-db-a-dev.*stopping.*wait until it is stopped"):
        tools.start_database("a")


def test_start_refused_because_the_cluster_started_meanwhile_is_done(tools: AuroraTools) -> None:
    report_status(tools, "stopped")  # read as stopped, but available by the time StartDBCluster arrives
    tools.start_database("a")  # moto refuses with InvalidDBClusterStateFault; re-read: available
    assert status(CLUSTER_A) == "available"


def test_start_refused_for_another_reason_propagates(tools: AuroraTools) -> None:
    rds().stop_db_cluster(DBClusterIdentifier=CLUSTER_A)
    refuse(tools, "StartDBCluster", "InvalidDBClusterStateFault")
    with pytest.raises(ClientError, match="InvalidDBClusterStateFault"):
        tools.start_database("a")


@pytest.mark.parametrize("state", ["stopping", "stopped"])
def test_stop_database_on_a_stopping_or_stopped_cluster_is_done(tools: AuroraTools, state: str) -> None:
    stopped = capture(tools, "rds", "StopDBCluster")
    report_status(tools, state)
    tools.stop_database("a")
    assert stopped == []


@pytest.mark.parametrize("state", ["starting", "modifying", "deleting"])
def test_stop_database_refuses_a_cluster_that_is_not_available(tools: AuroraTools, state: str) -> None:
    report_status(tools, state)
    with pytest.raises(ClusterStateError, match=f"fn-db-a-dev.*{state}") as raised:
        tools.stop_database("a")
    assert (raised.value.cluster, raised.value.state) == (CLUSTER_A, ClusterState(state))
    assert status(CLUSTER_A) == "available"


def test_stop_refused_because_the_cluster_stopped_meanwhile_is_done(tools: AuroraTools) -> None:
    rds().stop_db_cluster(DBClusterIdentifier=CLUSTER_A)
    report_status(tools, "available")  # read as available, but stopped when StopDBCluster arrives
    tools.stop_database("a")
    assert status(CLUSTER_A) == "stopped"


def busy_model(monkeypatch: pytest.MonkeyPatch) -> BusyInstances:
    """The emulator's model of busy instances, applied to moto for this test: StopDBCluster refuses while one is."""
    busy = BusyInstances()
    monkeypatch.setattr(RDSBackend, "stop_db_cluster", busy.stop_db_cluster(RDSBackend.stop_db_cluster))
    return busy


def test_stop_of_a_cluster_with_a_busy_instance_raises_cluster_busy(
    tools: AuroraTools, monkeypatch: pytest.MonkeyPatch
) -> None:
    busy_model(monkeypatch).mark(AUTOSCALED, region=REGION, status="creating")  # Auto Scaling is still adding it
    with pytest.raises(
        ClusterBusyError, match=f"fn-db-a-dev.*InvalidDBInstanceState.*{AUTOSCALED} is creating"
    ) as raised:
        tools.stop_database("a")
    assert isinstance(raised.value, ClusterStateError)  # callers that wait on ClusterStateError wait on it too
    assert (raised.value.cluster, raised.value.state) == (CLUSTER_A, ClusterState.AVAILABLE)
    assert isinstance(raised.value.__cause__, ClientError)
    assert status(CLUSTER_A) == "available"


def test_stop_names_the_instances_that_are_not_available(tools: AuroraTools, monkeypatch: pytest.MonkeyPatch) -> None:
    busy_model(monkeypatch).mark(f"{CLUSTER_B}-reader-0", region=REGION)  # modifying: Performance Insights
    with pytest.raises(ClusterBusyError) as raised:
        tools.stop_database("b")
    assert raised.value.busy == {f"{CLUSTER_B}-reader-0": "modifying"}
    assert status(CLUSTER_B) == "available"


def test_stop_waits_while_busy_and_stops_once_the_instance_is_available(
    tools: AuroraTools, monkeypatch: pytest.MonkeyPatch
) -> None:
    busy = busy_model(monkeypatch)
    busy.mark(f"{CLUSTER_B}-reader-0", region=REGION)
    with pytest.raises(ClusterBusyError):
        tools.stop_database("b")
    busy.release(f"{CLUSTER_B}-reader-0", region=REGION)
    tools.stop_database("b")
    assert status(CLUSTER_B) == "stopped"


def test_stop_refused_by_the_cluster_while_it_is_still_available_is_busy(tools: AuroraTools) -> None:
    tries = refuse(tools, "StopDBCluster", "InvalidDBClusterStateFault")
    with pytest.raises(ClusterBusyError, match="InvalidDBClusterStateFault") as raised:
        tools.stop_database("a")
    assert raised.value.busy == {}
    assert tries == [1]


def test_stop_refused_for_a_cluster_being_deleted_meanwhile_propagates(tools: AuroraTools) -> None:
    refuse(tools, "StopDBCluster", "InvalidDBInstanceState")
    report_status(tools, "available", "deleting")
    with pytest.raises(ClientError, match="InvalidDBInstanceState") as raised:
        tools.stop_database("a")
    assert not isinstance(raised.value, ClusterBusyError)


def test_stop_refused_for_another_reason_propagates(tools: AuroraTools) -> None:
    refuse(tools, "StopDBCluster", "InvalidParameterCombination")
    with pytest.raises(ClientError, match="InvalidParameterCombination"):
        tools.stop_database("a")


def test_start_and_stop_of_a_missing_cluster_name_it(tools: AuroraTools) -> None:
    missing = make_tools(cluster_name_a="fn-db-nowhere")
    with pytest.raises(LookupError, match="fn-db-nowhere"):
        missing.start_database("a")
    with pytest.raises(LookupError, match="fn-db-nowhere"):
        missing.stop_database("a")


# --- delete --------------------------------------------------------------------------------------


def test_delete_database_deletes_members_then_the_cluster_with_a_final_snapshot(tools: AuroraTools) -> None:
    snapshot = tools.delete_database("b")
    assert snapshot is not None
    assert CLUSTER_B not in cluster_ids()
    assert instance_ids() == {f"{CLUSTER_A}-writer", f"{CLUSTER_A}-reader-0", AUTOSCALED}
    held = manual_snapshots()
    assert [(s["DBClusterSnapshotIdentifier"], s["DBClusterIdentifier"]) for s in held] == [(snapshot, CLUSTER_B)]
    assert SNAPSHOT_ID.match(snapshot)
    assert snapshot.startswith(f"{CLUSTER_B}-final-")


def test_delete_database_sends_aurora_instances_no_snapshot_parameters_and_the_writer_last(
    tools: AuroraTools,
) -> None:
    deleted = capture(tools, "rds", "DeleteDBInstance")
    clusters = capture(tools, "rds", "DeleteDBCluster")
    snapshot = tools.delete_database("a")
    assert deleted[-1] == {"DBInstanceIdentifier": f"{CLUSTER_A}-writer"}
    assert sorted(p["DBInstanceIdentifier"] for p in deleted[:-1]) == sorted([f"{CLUSTER_A}-reader-0", AUTOSCALED])
    assert all(set(p) == {"DBInstanceIdentifier"} for p in deleted)
    assert clusters == [
        {"DBClusterIdentifier": CLUSTER_A, "SkipFinalSnapshot": False, "FinalDBSnapshotIdentifier": snapshot}
    ]


def test_delete_database_twice_is_done(tools: AuroraTools) -> None:
    tools.delete_database("b")
    clusters = capture(tools, "rds", "DeleteDBCluster")
    assert tools.delete_database("b") is None
    assert clusters == []
    assert len(manual_snapshots()) == 1


def test_delete_database_skips_the_snapshot_when_configured(tools: AuroraTools) -> None:
    skipping = make_tools(skip_delete_snapshots=True)
    clusters = capture(skipping, "rds", "DeleteDBCluster")
    assert skipping.delete_database("a") is None
    assert CLUSTER_A not in cluster_ids()
    assert manual_snapshots() == []
    assert clusters == [{"DBClusterIdentifier": CLUSTER_A, "SkipFinalSnapshot": True}]


def test_delete_database_of_a_deleting_cluster_is_done(tools: AuroraTools) -> None:
    deleted = capture(tools, "rds", "DeleteDBInstance")
    report_status(tools, "deleting")
    assert tools.delete_database("a") is None
    assert deleted == []


def test_delete_database_refuses_a_protected_cluster_before_deleting_anything(aws: None) -> None:
    create_cluster(CLUSTER_A, readers=1, DeletionProtection=True)
    create_cluster(CLUSTER_B, readers=1)
    with pytest.raises(ClusterDeletionProtectedError, match=r"fn-db-a-dev.*deletion protection"):
        make_tools().delete_database("a")
    assert CLUSTER_A in cluster_ids()
    assert {f"{CLUSTER_A}-writer", f"{CLUSTER_A}-reader-0"} <= instance_ids()


def test_delete_database_refuses_a_stopped_cluster_before_deleting_anything(tools: AuroraTools) -> None:
    rds().stop_db_cluster(DBClusterIdentifier=CLUSTER_B)
    with pytest.raises(ClusterStateError, match=r"fn-db-b-dev.*stopped.*start it"):
        tools.delete_database("b")
    assert CLUSTER_B in cluster_ids()
    assert f"{CLUSTER_B}-writer" in instance_ids()


def test_delete_database_counts_a_member_already_deleting_as_deleted(tools: AuroraTools) -> None:
    """Auto Scaling began deleting a reader just before us: AWS refuses, and lists it as deleting."""
    reader = f"{CLUSTER_B}-reader-0"

    def already_deleting(params: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]] | None:
        if params["body"]["DBInstanceIdentifier"] != reader:
            return None
        rds().delete_db_instance(DBInstanceIdentifier=reader)  # moto drops it at once; AWS would list it a while
        error = {"Code": "InvalidDBInstanceState", "Message": "Instance is already being deleted."}
        return error_response(error)

    def listed_as_deleting(parsed: dict[str, Any], **_: Any) -> None:
        if not parsed.get("DBInstances"):
            parsed["DBInstances"] = [{"DBInstanceIdentifier": reader, "DBInstanceStatus": "deleting"}]

    tools._client("rds").meta.events.register("before-call.rds.DeleteDBInstance", already_deleting)
    tools._client("rds").meta.events.register("after-call.rds.DescribeDBInstances", listed_as_deleting)
    tools.delete_database("b")
    assert CLUSTER_B not in cluster_ids()
    assert not {i for i in instance_ids() if i.startswith(CLUSTER_B)}


def test_delete_database_counts_a_member_already_gone_as_deleted(tools: AuroraTools) -> None:
    def phantom(parsed: dict[str, Any], **_: Any) -> None:
        for cluster in parsed.get("DBClusters", []):
            cluster["DBClusterMembers"].append({"DBInstanceIdentifier": "gone-reader", "IsClusterWriter": False})

    tools._client("rds").meta.events.register("after-call.rds.DescribeDBClusters", phantom)
    tools.delete_database("b")  # DeleteDBInstance on gone-reader: DBInstanceNotFound from moto
    assert CLUSTER_B not in cluster_ids()


def test_delete_database_propagates_a_member_that_cannot_be_deleted(tools: AuroraTools) -> None:
    refuse(tools, "DeleteDBInstance", "InvalidDBInstanceState")
    with pytest.raises(ClientError, match="InvalidDBInstanceState"):
        tools.delete_database("b")
    assert CLUSTER_B in cluster_ids()


def test_delete_database_of_a_cluster_deleted_meanwhile_is_done(tools: AuroraTools) -> None:
    refuse(tools, "DeleteDBCluster", "DBClusterNotFoundFault")
    report_status(tools, "available", "deleting")
    assert tools.delete_database("a") is None


def test_delete_database_deregisters_the_auto_scaling_target_first(tools: AuroraTools) -> None:
    order: list[str] = []
    for service, operation in (
        ("application-autoscaling", "DeregisterScalableTarget"),
        ("rds", "DeleteDBInstance"),
        ("rds", "DeleteDBCluster"),
    ):
        client = tools._client(service)
        client.meta.events.register(
            f"before-call.{client.meta.service_model.service_id.hyphenize()}.{operation}",
            lambda operation=operation, **_: order.append(operation),
        )
    deregistered = capture(tools, "application-autoscaling", "DeregisterScalableTarget")
    tools.delete_database("b")
    assert order == ["DeregisterScalableTarget", "DeleteDBInstance", "DeleteDBInstance", "DeleteDBCluster"]
    assert deregistered == [
        {"ServiceNamespace": "rds", "ResourceId": f"cluster:{CLUSTER_B}", "ScalableDimension": READ_REPLICA_COUNT}
    ]
    left = aas().describe_scalable_targets(ServiceNamespace="rds")["ScalableTargets"]
    assert [t["ResourceId"] for t in left] == [f"cluster:{CLUSTER_A}"]


def test_delete_database_without_an_auto_scaling_target_deletes_all_the_same(aws: None) -> None:
    create_cluster(CLUSTER_A, readers=1)
    create_cluster(CLUSTER_B, readers=1)
    tools = make_tools()
    deregistered = capture(tools, "application-autoscaling", "DeregisterScalableTarget")
    tools.delete_database("a")
    assert deregistered == []
    assert CLUSTER_A not in cluster_ids()


def test_delete_database_counts_a_target_deregistered_meanwhile_as_deregistered(tools: AuroraTools) -> None:
    def gone(**_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        return error_response({"Code": "ObjectNotFoundException", "Message": "No scalable target found"})

    tools._client("application-autoscaling").meta.events.register(
        "before-call.application-auto-scaling.DeregisterScalableTarget", gone
    )
    tools.delete_database("b")
    assert CLUSTER_B not in cluster_ids()


def test_delete_database_propagates_other_deregistration_errors_before_deleting_anything(tools: AuroraTools) -> None:
    def refused(**_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        return error_response({"Code": "ConcurrentUpdateException", "Message": "pending update"})

    tools._client("application-autoscaling").meta.events.register(
        "before-call.application-auto-scaling.DeregisterScalableTarget", refused
    )
    with pytest.raises(ClientError, match="ConcurrentUpdateException"):
        tools.delete_database("b")
    assert CLUSTER_B in cluster_ids()
    assert f"{CLUSTER_B}-reader-0" in instance_ids()


def test_delete_database_twice_deregisters_once(tools: AuroraTools) -> None:
    deregistered = capture(tools, "application-autoscaling", "DeregisterScalableTarget")
    tools.delete_database("b")
    tools.delete_database("b")
    assert len(deregistered) == 1


def test_delete_database_refused_before_anything_keeps_the_target(tools: AuroraTools) -> None:
    rds().stop_db_cluster(DBClusterIdentifier=CLUSTER_B)
    with pytest.raises(ClusterStateError):
        tools.delete_database("b")
    assert target(CLUSTER_B)["MinCapacity"] == 1


@given(st.text(max_size=300))
def test_final_snapshot_identifier_is_valid_for_any_cluster_name(name: str) -> None:
    identifier = final_snapshot_identifier(name, now=datetime(2026, 11, 27, 8, 40, 1, tzinfo=UTC))
    assert 1 <= len(identifier) <= 255
    assert SNAPSHOT_ID.match(identifier), identifier
    assert identifier.endswith("-final-20261127-084001")


def test_final_snapshot_identifier_keeps_a_valid_name_and_fixes_odd_ones() -> None:
    when = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert final_snapshot_identifier("fn-db-a-dev", now=when) == "fn-db-a-dev-final-20260102-030405"
    assert final_snapshot_identifier("9 Lives__DB--", now=when) == "cluster-9-lives-db-final-20260102-030405"
    assert final_snapshot_identifier("", now=when) == "cluster-final-20260102-030405"
    assert len(final_snapshot_identifier("a" * 300, now=when)) == 255


# --- RDS events ----------------------------------------------------------------------------------


def test_rds_event_is_parsed_from_an_sns_record() -> None:
    event = RdsEvent.from_sns_record(instance_created(AUTOSCALED))
    assert event == RdsEvent(AUTOSCALED, "DB instance created", "RDS-EVENT-0005", "db-instance")
    assert event.is_instance_created
    assert not event.is_performance_insights_disabled


def test_instance_created_is_recognised_by_its_event_id_alone() -> None:
    event = RdsEvent.from_sns_record(instance_created(AUTOSCALED, message="DB instance created."))
    assert event is not None and event.is_instance_created
    deleted = RdsEvent.from_sns_record(
        instance_created(AUTOSCALED, message="DB instance deleted", event_id="RDS-EVENT-0003")
    )
    assert deleted is not None and not deleted.is_instance_created


@pytest.mark.parametrize(
    "record",
    [
        sns_record("You have chosen to subscribe to the topic arn:aws:sns:eu-central-1:123456789012:rds-events."),
        sns_record('["not", "an", "object"]'),
        sns_record({"Event Message": "DB instance created"}),
        {"EventSource": "aws:sns"},
    ],
)
def test_a_record_that_is_no_rds_event_is_ignored_without_error(
    tools: AuroraTools, record: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    tagged = capture(tools, "rds", "AddTagsToResource")
    modified = capture(tools, "rds", "ModifyDBInstance")
    with caplog.at_level(logging.INFO):
        assert tools.apply_tags(record) is False
        assert tools.enable_performance_insights(record, retry_delay=0) is False
    assert tagged == modified == []
    assert "not an RDS event" in caplog.text


# --- apply_tags ----------------------------------------------------------------------------------


def test_apply_tags_adds_the_config_tags_and_role_reader(tools: AuroraTools) -> None:
    tagging = make_tools(tags={"foo": "bar"}, namespace="fn")
    assert tagging.apply_tags(instance_created(AUTOSCALED)) is True
    assert instance_tags(AUTOSCALED) == {
        AUTOSCALING_RESOURCE_TAG: f"cluster:{CLUSTER_A}",
        "foo": "bar",
        "Role": "Reader",
    }


def test_apply_tags_without_config_tags_copies_the_clusters_tags_but_not_aws_ones(tools: AuroraTools) -> None:
    assert tools.apply_tags(instance_created(AUTOSCALED)) is True
    assert instance_tags(AUTOSCALED) == {
        AUTOSCALING_RESOURCE_TAG: f"cluster:{CLUSTER_A}",
        "team": "orders",
        "cost-centre": "42",
        "Role": "Reader",
    }


def test_apply_tags_takes_the_arn_from_rds_not_from_the_event(tools: AuroraTools) -> None:
    tagged = capture(tools, "rds", "AddTagsToResource")
    odd_arn = f"arn:aws:rds:us-east-1:000000000000:db:{AUTOSCALED}"
    tools.apply_tags(instance_created(AUTOSCALED, source_arn=odd_arn))
    arn = rds().describe_db_instances(DBInstanceIdentifier=AUTOSCALED)["DBInstances"][0]["DBInstanceArn"]
    assert [p["ResourceName"] for p in tagged] == [arn]


def test_apply_tags_twice_writes_once(tools: AuroraTools) -> None:
    tagged = capture(tools, "rds", "AddTagsToResource")
    assert tools.apply_tags(instance_created(AUTOSCALED)) is True
    assert tools.apply_tags(instance_created(AUTOSCALED)) is True
    assert len(tagged) == 1
    assert instance_tags(AUTOSCALED)["Role"] == "Reader"


def test_apply_tags_acts_on_the_other_clusters_readers_too(tools: AuroraTools) -> None:
    create_autoscaled_reader(CLUSTER_B, "application-autoscaling-b1")
    assert tools.apply_tags(instance_created("application-autoscaling-b1")) is True
    assert instance_tags("application-autoscaling-b1")["team"] == "orders-b"


def test_apply_tags_leaves_instances_that_are_not_auto_scaled_readers_of_these_clusters_alone(
    tools: AuroraTools,
) -> None:
    create_cluster("other-db", readers=0)
    create_autoscaled_reader("other-db", "application-autoscaling-other")
    create_autoscaled_reader(CLUSTER_B, "application-autoscaling-prefixed", resource=f"cluster:{CLUSTER_B}-old")
    tagged = capture(tools, "rds", "AddTagsToResource")
    for instance in (f"{CLUSTER_A}-reader-0", "application-autoscaling-other", "application-autoscaling-prefixed"):
        assert tools.apply_tags(instance_created(instance)) is False
    assert tools.apply_tags(instance_created("application-autoscaling-never-existed")) is False
    assert tagged == []


def test_apply_tags_honours_the_namespace(tools: AuroraTools) -> None:
    tagged = capture(tools, "rds", "AddTagsToResource")
    assert make_tools(namespace="payments").apply_tags(instance_created(AUTOSCALED)) is False
    assert tagged == []
    assert make_tools(namespace="db-a").apply_tags(instance_created(AUTOSCALED)) is True


def test_apply_tags_ignores_other_events(tools: AuroraTools) -> None:
    tagged = capture(tools, "rds", "AddTagsToResource")
    for record in (
        sns_record(rds_event(AUTOSCALED, "The DB instance has been deleted", "RDS-EVENT-0003")),
        performance_insights_disabled(AUTOSCALED),
        sns_record(rds_event(CLUSTER_A, "DB cluster created", "RDS-EVENT-0170", source_type="db-cluster")),
    ):
        assert tools.apply_tags(record) is False
    assert tagged == []


def test_get_tags_for_cluster_returns_the_tags_of_the_instances_cluster(tools: AuroraTools) -> None:
    arn = rds().describe_db_instances(DBInstanceIdentifier=AUTOSCALED)["DBInstances"][0]["DBInstanceArn"]
    assert tools.get_tags_for_cluster(arn) == CLUSTER_TAGS
    with pytest.raises(LookupError, match="application-autoscaling-gone"):
        tools.get_tags_for_cluster(arn.replace(AUTOSCALED, "application-autoscaling-gone"))


# --- enable_performance_insights -----------------------------------------------------------------
# moto keeps no Performance Insights setting (ModifyDBInstance ignores it, DescribeDBInstances never
# reports it), so these tests check the ModifyDBInstance request instead of what AWS holds.


def test_enable_performance_insights_on_a_created_reader(tools: AuroraTools) -> None:
    modified = capture(tools, "rds", "ModifyDBInstance")
    assert tools.enable_performance_insights(instance_created(AUTOSCALED), retry_delay=0) is True
    assert modified == [
        {"DBInstanceIdentifier": AUTOSCALED, "EnablePerformanceInsights": True, "ApplyImmediately": True}
    ]


def test_enable_performance_insights_again_when_it_was_disabled(tools: AuroraTools) -> None:
    modified = capture(tools, "rds", "ModifyDBInstance")
    assert tools.enable_performance_insights(performance_insights_disabled(AUTOSCALED), retry_delay=0) is True
    assert tools.enable_performance_insights(performance_insights_disabled(AUTOSCALED), False, retry_delay=0) is False
    assert len(modified) == 1


def test_enable_performance_insights_leaves_other_instances_and_events_alone(tools: AuroraTools) -> None:
    modified = capture(tools, "rds", "ModifyDBInstance")
    assert tools.enable_performance_insights(instance_created(f"{CLUSTER_B}-writer"), retry_delay=0) is False
    assert make_tools(namespace="payments").enable_performance_insights(instance_created(AUTOSCALED)) is False
    deleted = sns_record(rds_event(AUTOSCALED, "The DB instance has been deleted", "RDS-EVENT-0003"))
    assert tools.enable_performance_insights(deleted, retry_delay=0) is False
    assert modified == []


def test_enable_performance_insights_when_already_enabled_is_done(tools: AuroraTools) -> None:
    def enabled(parsed: dict[str, Any], **_: Any) -> None:
        for instance in parsed.get("DBInstances", []):
            instance["PerformanceInsightsEnabled"] = True

    tools._client("rds").meta.events.register("after-call.rds.DescribeDBInstances", enabled)
    modified = capture(tools, "rds", "ModifyDBInstance")
    assert tools.enable_performance_insights(instance_created(AUTOSCALED), retry_delay=0) is True
    assert modified == []


def test_enable_performance_insights_retries_while_the_instance_is_not_ready(
    tools: AuroraTools, monkeypatch: pytest.MonkeyPatch
) -> None:
    slept: list[float] = []
    monkeypatch.setattr("bluegreen.tools._aurora_instances.time.sleep", slept.append)
    tries = refuse(tools, "ModifyDBInstance", "InvalidDBInstanceState", times=2)
    assert tools.enable_performance_insights(instance_created(AUTOSCALED), retry_delay=7.5, retry_attempts=3) is True
    assert tries == [1, 2, 3]
    assert slept == [7.5, 7.5]


def test_enable_performance_insights_raises_naming_the_instance_when_tries_are_spent(tools: AuroraTools) -> None:
    tries = refuse(tools, "ModifyDBInstance", "InvalidDBInstanceState")
    with pytest.raises(PerformanceInsightsError, match=f"{AUTOSCALED}.*5 tries"):
        tools.enable_performance_insights(instance_created(AUTOSCALED), retry_delay=0)
    assert len(tries) == 5


def test_enable_performance_insights_counts_the_first_try(tools: AuroraTools) -> None:
    tries = refuse(tools, "ModifyDBInstance", "InvalidDBClusterStateFault")
    with pytest.raises(PerformanceInsightsError):
        tools.enable_performance_insights(instance_created(AUTOSCALED), retry_delay=0, retry_attempts=1)
    assert tries == [1]


def test_enable_performance_insights_does_not_retry_other_errors(tools: AuroraTools) -> None:
    tries = refuse(tools, "ModifyDBInstance", "InvalidParameterCombination")
    with pytest.raises(ClientError, match="InvalidParameterCombination"):
        tools.enable_performance_insights(instance_created(AUTOSCALED), retry_delay=0)
    assert tries == [1]


def test_enable_performance_insights_checks_its_retry_settings(tools: AuroraTools) -> None:
    with pytest.raises(ValueError, match="retry_attempts"):
        tools.enable_performance_insights(instance_created(AUTOSCALED), retry_attempts=0)
    with pytest.raises(ValueError, match="retry_delay"):
        tools.enable_performance_insights(instance_created(AUTOSCALED), retry_delay=-1)
