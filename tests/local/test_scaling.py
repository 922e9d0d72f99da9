"""Application Auto Scaling against the emulator: retired workers stay at 0, busy clusters are waited for."""

from __future__ import annotations

import boto3
import pytest

from bluegreen.local.emulator import Emulator
from bluegreen.local.scaling import ScalingActivity, run_scaling_activity
from bluegreen.tools.aurora import AuroraConfig, AuroraTools, ClusterBusyError
from bluegreen.tools.ecs import ECS_DESIRED_COUNT, EcsConfig, EcsTools
from tests.conftest import REGION

CLUSTER = "deep-sea-fargate"
WORKER_A, WORKER_B = "thing-runner-a-prod", "thing-runner-b-prod"
RESOURCE_A = f"service/{CLUSTER}/{WORKER_A}"


def seed_workers(min_capacity: int = 1, max_capacity: int = 4) -> EcsTools:
    """Two worker services at 2 tasks; stack a's has a scalable target (min 1, max 4 by default)."""
    ecs = boto3.client("ecs")
    ecs.create_cluster(clusterName=CLUSTER)
    ecs.register_task_definition(family="runner", containerDefinitions=[{"name": "c", "image": "img", "memory": 128}])
    for name in (WORKER_A, WORKER_B):
        ecs.create_service(cluster=CLUSTER, serviceName=name, taskDefinition="runner", desiredCount=2)
    boto3.client("application-autoscaling").register_scalable_target(
        ServiceNamespace="ecs",
        ResourceId=RESOURCE_A,
        ScalableDimension=ECS_DESIRED_COUNT,
        MinCapacity=min_capacity,
        MaxCapacity=max_capacity,
    )
    config = EcsConfig(
        region=REGION, cluster=CLUSTER, service_name_a=WORKER_A, service_name_b=WORKER_B, desired_tasks=2
    )
    return EcsTools(config)


def desired(name: str) -> int:
    found = boto3.client("ecs").describe_services(cluster=CLUSTER, services=[name])["services"]
    return int(found[0]["desiredCount"])


def test_retired_workers_stay_at_zero_through_a_scaling_activity(emulator: Emulator) -> None:
    tools = seed_workers()
    tools.disable_service("a")
    assert desired(WORKER_A) == 0
    assert run_scaling_activity(region=emulator.region) == [
        ScalingActivity(RESOURCE_A, 0, 0, suspended="DynamicScalingOutSuspended")
    ]
    assert run_scaling_activity(region=emulator.region, cause="scheduled") == [
        ScalingActivity(RESOURCE_A, 0, 0, suspended="ScheduledScalingSuspended")
    ]
    assert desired(WORKER_A) == 0
    assert tools.scaling_suspended("a") is True


def test_without_the_suspension_a_scaling_activity_starts_a_retired_worker_again(emulator: Emulator) -> None:
    seed_workers()
    boto3.client("ecs").update_service(cluster=CLUSTER, service=WORKER_A, desiredCount=0)  # desired count 0 alone
    (activity,) = run_scaling_activity(region=emulator.region)
    assert activity == ScalingActivity(RESOURCE_A, 0, 1) and activity.changed
    assert desired(WORKER_A) == 1  # back to the target's min: the worker consumes again


def test_a_prepared_worker_scales_again(emulator: Emulator) -> None:
    tools = seed_workers()
    tools.disable_service("a")
    tools.enable_service("a")
    assert tools.scaling_suspended("a") is False
    assert desired(WORKER_A) == 2
    assert run_scaling_activity(region=emulator.region) == []  # 2 is within 1-4: nothing to do
    boto3.client("ecs").update_service(cluster=CLUSTER, service=WORKER_A, desiredCount=9)
    assert run_scaling_activity(region=emulator.region) == [ScalingActivity(RESOURCE_A, 9, 4)]  # scaled in to max


def test_desired_tasks_outside_the_range_is_put_back_into_it_once_resumed(emulator: Emulator) -> None:
    tools = seed_workers(min_capacity=3, max_capacity=4)  # desired_tasks 2 is below the min
    tools.disable_service("a")
    tools.enable_service("a")
    assert desired(WORKER_A) == 2
    run_scaling_activity(region=emulator.region)
    assert desired(WORKER_A) == 3


def test_the_activity_leaves_services_without_a_target_and_other_targets_alone(emulator: Emulator) -> None:
    tools = seed_workers()
    tools.disable_service("b")  # no target: desired count 0, nothing to suspend
    boto3.client("ecs").update_service(cluster=CLUSTER, service=WORKER_A, desiredCount=0)
    assert run_scaling_activity(region=emulator.region, resource_ids=["service/other/x"]) == []
    assert desired(WORKER_A) == 0
    run_scaling_activity(region=emulator.region)
    assert (desired(WORKER_A), desired(WORKER_B)) == (1, 0)


def test_a_cluster_with_a_busy_instance_is_stopped_once_it_is_available(emulator: Emulator) -> None:
    rds = boto3.client("rds")
    for name in ("fn-db-a-dev", "fn-db-b-dev"):
        rds.create_db_cluster(
            DBClusterIdentifier=name, Engine="aurora-postgresql", MasterUsername="fn", MasterUserPassword="p" * 12
        )
        for member in (f"{name}-writer", f"{name}-reader-0"):
            rds.create_db_instance(
                DBInstanceIdentifier=member,
                DBClusterIdentifier=name,
                Engine="aurora-postgresql",
                DBInstanceClass="db.r6g.large",
            )
    tools = AuroraTools(
        AuroraConfig(region=REGION, cluster_name_a="fn-db-a-dev", cluster_name_b="fn-db-b-dev", minimum_cluster_size=1)
    )
    emulator.shim.busy.mark("fn-db-a-dev-reader-0", region=emulator.region)  # Performance Insights being turned on
    with pytest.raises(ClusterBusyError) as raised:
        tools.stop_database("a")
    assert raised.value.busy == {"fn-db-a-dev-reader-0": "modifying"}
    assert tools.get_cluster_state("a").value == "available"  # not failed, not stopped: wait and try again
    emulator.shim.busy.release("fn-db-a-dev-reader-0", region=emulator.region)
    tools.stop_database("a")
    assert tools.get_cluster_state("a").value == "stopped"
