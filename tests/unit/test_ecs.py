from __future__ import annotations

import logging
from typing import Any

import boto3
import pytest

from bluegreen import StackReference
from bluegreen.tools.ecs import ECS_DESIRED_COUNT, EcsConfig, EcsTools
from tests.conftest import REGION


@pytest.fixture
def ecs_tools(aws: None) -> EcsTools:
    ecs = boto3.client("ecs", region_name=REGION)
    ecs.create_cluster(clusterName="deep-sea-fargate")
    ecs.register_task_definition(family="runner", containerDefinitions=[{"name": "c", "image": "img", "memory": 128}])
    for name in ("thing-runner-a-prod", "thing-runner-b-prod"):
        ecs.create_service(cluster="deep-sea-fargate", serviceName=name, taskDefinition="runner", desiredCount=0)
    config = EcsConfig(
        region=REGION,
        cluster="deep-sea-fargate",
        service_name_a="thing-runner-a-prod",
        service_name_b="thing-runner-b-prod",
        desired_tasks=3,
    )
    return EcsTools(config)


def desired(name: str) -> int:
    ecs = boto3.client("ecs", region_name=REGION)
    return ecs.describe_services(cluster="deep-sea-fargate", services=[name])["services"][0]["desiredCount"]


def test_enable_service_sets_desired_tasks_on_that_stack_only(ecs_tools: EcsTools) -> None:
    ecs_tools.enable_service(StackReference.B)
    assert desired("thing-runner-b-prod") == 3
    assert desired("thing-runner-a-prod") == 0
    assert ecs_tools.get_desired_count("b") == 3


def test_disable_service_scales_to_zero_and_is_idempotent(ecs_tools: EcsTools) -> None:
    ecs_tools.enable_service("a")
    ecs_tools.disable_service("a")
    ecs_tools.disable_service("a")
    assert desired("thing-runner-a-prod") == 0


def test_invalid_reference_is_an_error(ecs_tools: EcsTools) -> None:
    with pytest.raises(ValueError, match="expected 'a' or 'b'"):
        ecs_tools.enable_service("c")
    assert desired("thing-runner-b-prod") == 0


def test_missing_service_is_reported_by_name(ecs_tools: EcsTools) -> None:
    ecs_tools.config.service_name_b = "gone"
    with pytest.raises(LookupError, match="gone"):
        ecs_tools.get_desired_count("b")


# --- Application Auto Scaling: a retired worker stays retired ----------------------------------------

RESOURCE_A = "service/deep-sea-fargate/thing-runner-a-prod"
RESOURCE_B = "service/deep-sea-fargate/thing-runner-b-prod"
ALL_SUSPENDED = {
    "DynamicScalingInSuspended": True,
    "DynamicScalingOutSuspended": True,
    "ScheduledScalingSuspended": True,
}
ALL_RESUMED = {key: False for key in ALL_SUSPENDED}


def aas() -> Any:
    return boto3.client("application-autoscaling", region_name=REGION)


def register_target(resource: str, min_capacity: int = 1, max_capacity: int = 4) -> None:
    aas().register_scalable_target(
        ServiceNamespace="ecs",
        ResourceId=resource,
        ScalableDimension=ECS_DESIRED_COUNT,
        MinCapacity=min_capacity,
        MaxCapacity=max_capacity,
    )


def target(resource: str) -> dict[str, Any]:
    found = aas().describe_scalable_targets(
        ServiceNamespace="ecs", ResourceIds=[resource], ScalableDimension=ECS_DESIRED_COUNT
    )["ScalableTargets"]
    assert len(found) == 1
    return dict(found[0])


def registrations(tools: EcsTools) -> list[dict[str, Any]]:
    """Record the parameters of every RegisterScalableTarget call the tool's client makes."""
    seen: list[dict[str, Any]] = []
    client = tools._client("application-autoscaling")
    client.meta.events.register(
        "provide-client-params.application-auto-scaling.RegisterScalableTarget",
        lambda params, **_: seen.append(dict(params)),
    )
    return seen


def call_order(ecs_tools: EcsTools) -> list[str]:
    """The RegisterScalableTarget and UpdateService calls of the tools, in the order they are made from now on."""
    order: list[str] = []
    for service, operation in (("application-autoscaling", "RegisterScalableTarget"), ("ecs", "UpdateService")):
        client = ecs_tools._client(service)
        client.meta.events.register(
            f"before-call.{client.meta.service_model.service_id.hyphenize()}.{operation}",
            lambda operation=operation, **_: order.append(operation),
        )
    return order


def test_disable_service_suspends_scaling_then_scales_to_zero(ecs_tools: EcsTools) -> None:
    register_target(RESOURCE_A)
    ecs_tools.enable_service("a")
    order = call_order(ecs_tools)
    ecs_tools.disable_service("a")
    assert order == ["RegisterScalableTarget", "UpdateService"]
    held = target(RESOURCE_A)
    assert held["SuspendedState"] == ALL_SUSPENDED
    assert (held["MinCapacity"], held["MaxCapacity"]) == (1, 4)  # the range is kept
    assert desired("thing-runner-a-prod") == 0
    assert ecs_tools.scaling_suspended("a") is True


def test_disable_service_sends_no_capacity_only_the_suspended_state(ecs_tools: EcsTools) -> None:
    register_target(RESOURCE_A)
    sent = registrations(ecs_tools)
    ecs_tools.disable_service("a")
    assert sent == [
        {
            "ServiceNamespace": "ecs",
            "ResourceId": RESOURCE_A,
            "ScalableDimension": ECS_DESIRED_COUNT,
            "SuspendedState": ALL_SUSPENDED,
        }
    ]


def test_disable_service_twice_suspends_once(ecs_tools: EcsTools) -> None:
    register_target(RESOURCE_A)
    sent = registrations(ecs_tools)
    ecs_tools.disable_service("a")
    ecs_tools.disable_service("a")
    assert len(sent) == 1
    assert target(RESOURCE_A)["SuspendedState"] == ALL_SUSPENDED
    assert desired("thing-runner-a-prod") == 0


def test_enable_service_sets_the_count_then_resumes_scaling(ecs_tools: EcsTools) -> None:
    register_target(RESOURCE_B)
    ecs_tools.disable_service("b")
    order = call_order(ecs_tools)
    ecs_tools.enable_service("b")
    assert order == ["UpdateService", "RegisterScalableTarget"]
    held = target(RESOURCE_B)
    assert held["SuspendedState"] == ALL_RESUMED
    assert (held["MinCapacity"], held["MaxCapacity"]) == (1, 4)
    assert desired("thing-runner-b-prod") == 3
    assert ecs_tools.scaling_suspended("b") is False


def test_enable_service_twice_resumes_once(ecs_tools: EcsTools) -> None:
    register_target(RESOURCE_B)
    ecs_tools.disable_service("b")
    sent = registrations(ecs_tools)
    ecs_tools.enable_service("b")
    ecs_tools.enable_service("b")
    assert [p["SuspendedState"] for p in sent] == [ALL_RESUMED]
    assert desired("thing-runner-b-prod") == 3


def test_enable_service_of_a_never_suspended_target_registers_nothing(ecs_tools: EcsTools) -> None:
    register_target(RESOURCE_B)
    sent = registrations(ecs_tools)
    ecs_tools.enable_service("b")
    assert sent == []
    assert desired("thing-runner-b-prod") == 3


def test_enable_service_resumes_a_partly_suspended_target_fully(ecs_tools: EcsTools) -> None:
    register_target(RESOURCE_B)
    aas().register_scalable_target(
        ServiceNamespace="ecs",
        ResourceId=RESOURCE_B,
        ScalableDimension=ECS_DESIRED_COUNT,
        SuspendedState={"DynamicScalingInSuspended": True},
    )
    assert ecs_tools.scaling_suspended("b") is False  # partly suspended is not suspended
    ecs_tools.enable_service("b")
    assert target(RESOURCE_B)["SuspendedState"] == ALL_RESUMED


def test_enable_service_outside_the_range_warns(ecs_tools: EcsTools, caplog: pytest.LogCaptureFixture) -> None:
    register_target(RESOURCE_B, min_capacity=1, max_capacity=2)  # desired_tasks is 3
    ecs_tools.disable_service("b")
    with caplog.at_level(logging.WARNING, logger="bluegreen.tools.ecs"):
        ecs_tools.enable_service("b")
    assert "thing-runner-b-prod" in caplog.text
    assert "outside its auto scaling range 1-2" in caplog.text
    assert target(RESOURCE_B)["SuspendedState"] == ALL_RESUMED


def test_a_service_without_a_scalable_target_is_only_scaled(ecs_tools: EcsTools) -> None:
    register_target(RESOURCE_B)  # the other stack's target is not the service's
    sent = registrations(ecs_tools)
    updates: list[dict[str, Any]] = []
    ecs_tools._client("ecs").meta.events.register(
        "provide-client-params.ecs.UpdateService", lambda params, **_: updates.append(dict(params))
    )
    ecs_tools.enable_service("a")
    ecs_tools.disable_service("a")
    assert sent == []
    assert updates == [
        {"cluster": "deep-sea-fargate", "service": "thing-runner-a-prod", "desiredCount": 3},
        {"cluster": "deep-sea-fargate", "service": "thing-runner-a-prod", "desiredCount": 0},
    ]
    assert ecs_tools.scaling_suspended("a") is None
    assert ecs_tools.scalable_target("a") is None
    assert "SuspendedState" not in target(RESOURCE_B)


def test_scalable_target_and_resource_id(ecs_tools: EcsTools) -> None:
    register_target(RESOURCE_A, min_capacity=2, max_capacity=5)
    assert ecs_tools.resource_id("a") == RESOURCE_A
    found = ecs_tools.scalable_target("a")
    assert found is not None
    assert (found["ResourceId"], found["MinCapacity"], found["MaxCapacity"]) == (RESOURCE_A, 2, 5)


def test_scaling_policies_and_their_alarms_are_left_alone(ecs_tools: EcsTools) -> None:
    register_target(RESOURCE_A)
    policy = aas().put_scaling_policy(
        PolicyName="cpu",
        ServiceNamespace="ecs",
        ResourceId=RESOURCE_A,
        ScalableDimension=ECS_DESIRED_COUNT,
        PolicyType="TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration={
            "TargetValue": 60.0,
            "PredefinedMetricSpecification": {"PredefinedMetricType": "ECSServiceAverageCPUUtilization"},
        },
    )
    alarms = sorted(a["AlarmName"] for a in policy["Alarms"])
    assert alarms  # the target tracking alarms AWS (and moto) make for the policy
    cloudwatch = boto3.client("cloudwatch", region_name=REGION)
    before = {a["AlarmName"]: a["ActionsEnabled"] for a in cloudwatch.describe_alarms()["MetricAlarms"]}
    ecs_tools.disable_service("a")
    ecs_tools.enable_service("a")
    policies = aas().describe_scaling_policies(ServiceNamespace="ecs", ResourceId=RESOURCE_A)["ScalingPolicies"]
    assert [p["PolicyName"] for p in policies] == ["cpu"]
    assert sorted(a["AlarmName"] for a in policies[0]["Alarms"]) == alarms
    assert {a["AlarmName"]: a["ActionsEnabled"] for a in cloudwatch.describe_alarms()["MetricAlarms"]} == before
