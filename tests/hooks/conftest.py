"""A seeded two-stack world on moto, a runtime for it, and a way to run a hook as CodeDeploy would."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

import bluegreen.aws
from bluegreen.hooks import Flow, HookResult, Runtime, handle
from bluegreen.hooks.events import EventResult, handle_state_change
from bluegreen.local.seed import World, seed_world
from bluegreen.plan import parse_plan
from bluegreen.state import StateStore
from tests.conftest import REGION
from tests.support import kinesis_consumers
from tests.support.codedeploy import DeploymentBook, HookLedger, install_shim
from tests.support.faults import Faults


@dataclass
class Harness:
    """Runs hooks against the seeded world; records re-invocations instead of sending them."""

    world: World
    ledger: HookLedger
    runtime: Runtime
    deployments: DeploymentBook
    faults: Faults = field(default_factory=Faults)
    reinvoked: list[dict[str, Any]] = field(default_factory=list)
    time_left: Callable[[], float] = lambda: 900.0

    def run(self, flow: Flow, deployment: str, execution: str | None = None, **kw: Any) -> HookResult:
        event = {"DeploymentId": deployment, "LifecycleEventHookExecutionId": execution or f"{deployment}-{flow}"}
        return self.deliver(flow, event, **kw)

    def deliver(self, flow: Flow, event: dict[str, Any], **kw: Any) -> HookResult:
        # CodeDeploy calls a hook only for a deployment it runs: one in progress unless the test set it up.
        if isinstance(event.get("DeploymentId"), str) and event["DeploymentId"]:
            self.deployments.ensure(event["DeploymentId"])
        kw.setdefault("poll_initial", 0.0)
        kw.setdefault("sleep", lambda seconds: None)
        kw.setdefault("reinvoke", self.reinvoked.append)
        return handle(flow, event, runtime=lambda: self.runtime, time_left=self.time_left, **kw)

    def event(self, deployment: str, state: str, **kw: Any) -> EventResult:
        """CodeDeploy's state-change event for ``deployment``, delivered to the deployment-events handler."""
        kw.setdefault("poll_initial", 0.0)
        kw.setdefault("sleep", lambda seconds: None)
        self.deployments.ensure(deployment)
        event = self.deployments.state_change_event(deployment, state)
        return handle_state_change(
            event, runtime=lambda: self.runtime, time_left=self.time_left, reinvoke=self.reinvoked.append, **kw
        )

    def with_plan(self, plan: dict[str, Any]) -> None:
        """The plan is edited: the hooks' runtime is made again from ``plan`` (the same record table)."""
        self.runtime = Runtime(parse_plan(plan), store=self.runtime.store, region=REGION)

    def deploy(self, deployment: str) -> tuple[HookResult, HookResult]:
        return self.run(Flow.PREPARE, deployment), self.run(Flow.RETIRE, deployment)

    @property
    def store(self) -> StateStore:
        return self.runtime.store


@pytest.fixture
def harness(aws: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[Harness]:
    shim = install_shim(monkeypatch)
    kinesis_consumers.install(monkeypatch)
    world = seed_world(REGION)
    runtime = Runtime(parse_plan(world.plan), store=StateStore(world.state_table, region=REGION), region=REGION)
    harness = Harness(world=world, ledger=shim.hooks, runtime=runtime, deployments=shim.deployments)
    harness.faults.register(bluegreen.aws.default_session())
    yield harness
