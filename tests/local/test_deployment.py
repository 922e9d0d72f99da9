"""A whole deployment through the real Lambda handlers against the emulator, re-invocations included."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass

import boto3
import pytest
from moto.rds.models import rds_backends

import after_allow_traffic
import before_allow_traffic
from bluegreen.hooks import PROGRESS_KEY, entry
from bluegreen.local.emulator import Emulator
from bluegreen.local.seed import World, _zip, seed_world
from bluegreen.refs import StackReference
from tests.conftest import ACCOUNT_ID, REGION
from tests.support.world import view

PREPARE_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:CodeDeployHook_bluegreen_prepare"


@dataclass
class FakeContext:
    """The bits of a Lambda context the handlers and Powertools read."""

    remaining_ms: int = 900_000
    function_name: str = "CodeDeployHook_bluegreen_prepare"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = PREPARE_ARN
    aws_request_id: str = "req-1"

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


@pytest.fixture
def world(emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    seeded = seed_world(REGION)
    monkeypatch.setenv("BLUEGREEN_PLAN", json.dumps(seeded.plan))
    monkeypatch.setenv("BLUEGREEN_STATE_TABLE", seeded.state_table)
    for name in ("BLUEGREEN_PLAN_FILE", "BLUEGREEN_PLAN_PARAMETER", "BLUEGREEN_DEADLINE_MINUTES"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr("bluegreen.engine.POLL_INITIAL_SECONDS", 0.0)
    entry.reset_runtime()
    yield seeded
    entry.reset_runtime()


def test_a_whole_deployment_through_the_handlers_reports_succeeded_twice(emulator: Emulator, world: World) -> None:
    assert view(world, "a").working and not view(world, "b").working
    emulator.deployments.create("d-1")  # the deployment CodeDeploy runs
    prepare = {"DeploymentId": "d-1", "LifecycleEventHookExecutionId": "exec-prepare"}
    assert before_allow_traffic.handler(prepare, FakeContext())["status"] == "Succeeded"  # type: ignore[arg-type]
    assert view(world, "b").working
    retire = {"DeploymentId": "d-1", "LifecycleEventHookExecutionId": "exec-retire"}
    assert after_allow_traffic.handler(retire, FakeContext())["status"] == "Succeeded"  # type: ignore[arg-type]
    assert emulator.hook_statuses == {"exec-prepare": "Succeeded", "exec-retire": "Succeeded"}
    assert view(world, "b").working and view(world, "a").retired
    record = entry.runtime().store.get("orders")
    assert record is not None and record.live is StackReference.B


@pytest.mark.filterwarnings("ignore:No application metrics to publish")  # the hand-over counts no metric
def test_a_long_wait_is_handed_to_a_queued_invocation_that_the_caller_runs(emulator: Emulator, world: World) -> None:
    role = boto3.client("iam").get_role(RoleName="fn-role")["Role"]["Arn"]
    boto3.client("lambda").create_function(
        FunctionName="CodeDeployHook_bluegreen_prepare", Runtime="python3.13", Role=role, Handler="app.handler",
        Code={"ZipFile": _zip()},
    )  # fmt: skip
    # moto makes a started cluster available at once; a real one is "starting" for minutes.
    cluster = rds_backends[ACCOUNT_ID][REGION].clusters[world.names["b"]["cluster"]]
    cluster.status = "starting"
    emulator.deployments.create("d-1")
    event = {"DeploymentId": "d-1", "LifecycleEventHookExecutionId": "exec-prepare"}

    first = before_allow_traffic.handler(event, FakeContext(remaining_ms=30_000))  # type: ignore[arg-type]
    assert first["status"] == "Continued"
    assert emulator.hook_reports == []  # nothing reported while work is pending
    [queued] = emulator.take_invocations()
    assert queued.function_arn == PREPARE_ARN
    assert queued.event["DeploymentId"] == "d-1"
    progress = queued.event[PROGRESS_KEY]  # the same event, plus how far the first invocation got
    assert progress["invocation"] == 2 and progress["first_started"] > 0
    assert "aurora[0].ready" not in progress["done"]

    cluster.status = "available"
    second = before_allow_traffic.handler(queued.event, FakeContext())  # type: ignore[arg-type]
    assert second["status"] == "Succeeded", second["message"]
    assert emulator.take_invocations() == []
    assert emulator.hook_statuses == {"exec-prepare": "Succeeded"}
    assert view(world, "b").working
