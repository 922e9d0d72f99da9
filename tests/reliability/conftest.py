"""What the reliability tests share: fresh seeded worlds, injection below the code, no real retry sleeps, figures."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from botocore.retries import standard
from moto import mock_aws
from moto.awslambda.exceptions import LambdaClientError
from moto.awslambda.models import EventSourceMapping, LambdaBackend

import bluegreen.aws
from bluegreen.hooks import Runtime
from bluegreen.local.seed import seed_world
from bluegreen.plan import parse_plan
from bluegreen.state import LiveRecord, StateStore
from tests.conftest import REGION
from tests.hooks.conftest import Harness
from tests.reliability import figures
from tests.reliability.injection import Injector
from tests.support import kinesis_consumers
from tests.support.codedeploy import install_shim
from tests.support.world import StackView, Viewer


@dataclass
class Backoffs:
    """Every delay botocore's standard retry mode computed (seconds); none was slept."""

    delays: list[float] = field(default_factory=list)


@pytest.fixture(autouse=True)
def backoffs(monkeypatch: pytest.MonkeyPatch) -> Backoffs:
    """botocore computes its backoff as usual, and the tests keep it; the sleep itself is 0 s."""
    seen = Backoffs()
    compute = standard.ExponentialBackoff.delay_amount

    def delay_amount(self: standard.ExponentialBackoff, context: Any) -> float:
        seen.delays.append(compute(self, context))
        return 0.0

    monkeypatch.setattr(standard.ExponentialBackoff, "delay_amount", delay_amount)
    return seen


@dataclass
class Fresh:
    """A freshly seeded world (stack a live and working, b retired), a harness on it, an injector below it."""

    harness: Harness
    injector: Injector
    viewer: Viewer
    observer: StateStore  # the record read with a plain session: the tests' reads are never injected

    def views(self) -> tuple[StackView, StackView]:
        return self.viewer("a"), self.viewer("b")

    def record(self) -> LiveRecord | None:
        return self.observer.get("orders")

    def reports(self, execution_id: str) -> list[str]:
        """Every status sent to CodeDeploy for ``execution_id`` (accepted or refused)."""
        return [call.status for call in self.harness.ledger.calls if call.execution_id == execution_id]


class _Conflict(LambdaClientError):
    code = 409


def refuse_duplicate_mappings(patch: pytest.MonkeyPatch) -> None:
    """moto (and the shim's consumer-ARN mapping) creates a second mapping of the same function and source;
    AWS refuses it with ResourceConflictException, which bluegreen's tools expect from concurrent creates.
    """
    create = LambdaBackend.create_event_source_mapping
    lock = threading.Lock()

    def refusing(backend: LambdaBackend, spec: dict[str, Any]) -> EventSourceMapping:
        with lock:
            function = backend._lambdas.get_function_by_name_or_arn_with_qualifier(spec.get("FunctionName", ""))
            for mapping in backend._event_source_mappings.values():
                same = mapping.event_source_arn == spec.get("EventSourceArn")
                if same and mapping.function_arn == function.function_arn:
                    raise _Conflict(
                        "ResourceConflictException",
                        f"The event source arn ({mapping.event_source_arn}) and function ({function.function_name}) "
                        f"provided mapping already exists. Please update or delete the existing mapping with UUID "
                        f"{mapping.uuid}",
                    )
            return create(backend, spec)

    patch.setattr(LambdaBackend, "create_event_source_mapping", refusing)


#: The settle window of the reliability worlds (see :func:`fresh_world`).
RELIABILITY_SETTLE_MINUTES = 0.0005

#: The viewers' plain boto3 clients, shared by every world (making them costs more than a view).
_VIEW_CLIENTS: dict[str, Any] = {}


@contextmanager
def fresh_world(**injector: Any) -> Iterator[Fresh]:
    """A new moto, a newly seeded world and a new session whose clients all pass through an :class:`Injector`."""
    with pytest.MonkeyPatch.context() as patch, mock_aws():
        patch.setattr(bluegreen.aws, "_default_session", None)
        shim = install_shim(patch)
        kinesis_consumers.install(patch)
        refuse_duplicate_mappings(patch)
        # In process, moto applies filter policies at once: a settle window of 30 ms keeps the waits
        # (and their fault points: the drain's record write) in every run without slowing the sweeps.
        world = seed_world(REGION, settle_minutes=RELIABILITY_SETTLE_MINUTES)
        injected = Injector(**injector)
        injected.register(bluegreen.aws.default_session())  # before the runtime makes any client
        runtime = Runtime(parse_plan(world.plan), store=StateStore(world.state_table, region=REGION), region=REGION)
        observer = StateStore(world.state_table, region=REGION, session=boto3.Session())
        harness = Harness(world=world, ledger=shim.hooks, runtime=runtime, deployments=shim.deployments)
        yield Fresh(harness, injected, Viewer(world, _VIEW_CLIENTS), observer)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when == "call" or (report.when == "setup" and not report.passed):
        figures.count_test("skipped" if report.skipped else report.outcome)
    figures.add_seconds(report.duration)


def pytest_sessionfinish(session: pytest.Session) -> None:
    written = figures.write()
    if written is not None:
        session.config.stash[_WRITTEN] = str(written)


_WRITTEN = pytest.StashKey[str]()


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    written = config.stash.get(_WRITTEN, None)
    if written is not None:
        terminalreporter.write_line(f"reliability figures: {written} (scripts/reliability_figures.py: into the docs)")
