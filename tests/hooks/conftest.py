"""A seeded two-stack world on moto, a runtime for it, and a way to run a hook as CodeDeploy would."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

import bluegreen.aws
from bluegreen.hooks import Flow, HookResult, Runtime, handle
from bluegreen.local.seed import World, seed_world
from bluegreen.plan import parse_plan
from bluegreen.state import StateStore
from tests.conftest import REGION
from tests.support import kinesis_consumers
from tests.support.codedeploy import HookLedger, install
from tests.support.faults import Faults


@dataclass
class Harness:
    """Runs hooks against the seeded world; records re-invocations instead of sending them."""

    world: World
    ledger: HookLedger
    runtime: Runtime
    faults: Faults = field(default_factory=Faults)
    reinvoked: list[dict[str, Any]] = field(default_factory=list)
    time_left: Callable[[], float] = lambda: 900.0

    def run(self, flow: Flow, deployment: str, execution: str | None = None, **kw: Any) -> HookResult:
        event = {"DeploymentId": deployment, "LifecycleEventHookExecutionId": execution or f"{deployment}-{flow}"}
        return self.deliver(flow, event, **kw)

    def deliver(self, flow: Flow, event: dict[str, Any], **kw: Any) -> HookResult:
        kw.setdefault("poll_initial", 0.0)
        kw.setdefault("sleep", lambda seconds: None)
        kw.setdefault("reinvoke", self.reinvoked.append)
        return handle(flow, event, runtime=lambda: self.runtime, time_left=self.time_left, **kw)

    def deploy(self, deployment: str) -> tuple[HookResult, HookResult]:
        return self.run(Flow.PREPARE, deployment), self.run(Flow.RETIRE, deployment)

    @property
    def store(self) -> StateStore:
        return self.runtime.store


@pytest.fixture
def harness(aws: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[Harness]:
    ledger = install(monkeypatch)
    kinesis_consumers.install(monkeypatch)
    world = seed_world(REGION)
    runtime = Runtime(parse_plan(world.plan), store=StateStore(world.state_table, region=REGION), region=REGION)
    harness = Harness(world=world, ledger=ledger, runtime=runtime)
    harness.faults.register(bluegreen.aws.default_session())
    yield harness
