from __future__ import annotations

import boto3
import pytest

from bluegreen import StackReference
from bluegreen.tools.ecs import EcsConfig, EcsTools
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
