"""No message lost to SNS's filter propagation delay: every message published at any moment is processed.

SNS takes up to 15 minutes to apply a filter policy change, and promises no order between two
subscriptions: the new stack's subscription may be slow to turn on while the old one's turns off at
once. The emulator models that (``Shim.filters``): here the replacement's subscription takes
``SLOW`` seconds to start receiving, the old one stops at once. A publisher sends a numbered
message every few milliseconds through a whole deployment — before the prepare, between the hooks,
through the retire's settle windows, after it — and each stack's function processes what moto's
SQS event-source mapping hands it while that mapping is enabled (what Lambda would do). Every message must be
processed by at least one stack; a stack prepared again must not process what it was left with.

With ``settle_minutes: 0`` the same run (with a delay the retire cannot outrun) loses messages: that
is what the settle windows are for (and what the README says ``settle_minutes: 0`` risks).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from moto.awslambda.models import LambdaBackend

import after_allow_traffic
import before_allow_traffic
from bluegreen.hooks import entry
from bluegreen.local.emulator import Emulator
from bluegreen.local.seed import World, seed_world
from tests.conftest import REGION
from tests.local.test_deployment import FakeContext

#: How long the replacement's subscription takes to start receiving after it is enabled.
SLOW = 0.6
#: The plan's settle window: it covers SLOW (as 15 minutes cover AWS's "up to 15 minutes").
SETTLE_MINUTES = 0.8 / 60
#: Without settle windows, a delay the retire cannot outrun on a loaded machine: the loss is certain.
SLOWER = 3.0
#: How long the test waits between the hooks: shorter than SLOW, as a quick canary may be.
BETWEEN = 0.2


@dataclass
class Traffic:
    """A publisher thread, and the consumers moto's SQS event-source mappings run; what was sent and processed."""

    world: World
    published: dict[int, str] = field(default_factory=dict)  # sequence -> the phase it was sent in
    processed: dict[str, dict[int, float]] = field(default_factory=lambda: {"a": {}, "b": {}})  # stack -> seq -> at
    phase: str = "before"
    _stop: threading.Event = field(default_factory=threading.Event)
    _stop_publishing: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> None:
        self._threads = [threading.Thread(target=self._publish, daemon=True)]
        for thread in self._threads:
            thread.start()

    def running_for(self, seconds: float) -> None:
        """Wait until the publisher has sent its first message, then ``seconds`` more."""
        deadline = time.monotonic() + 10
        while not self.published and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(seconds)

    def stop_publishing(self) -> None:
        self._stop_publishing.set()

    def stop(self) -> None:
        self._stop.set()
        self._stop_publishing.set()
        for thread in self._threads:
            thread.join(timeout=10)

    def lost(self) -> dict[int, str]:
        """The messages no stack processed, with the phase each was published in."""
        with self._lock:
            seen = set(self.processed["a"]) | set(self.processed["b"])
            return {seq: phase for seq, phase in self.published.items() if seq not in seen}

    def _publish(self) -> None:
        sns = boto3.client("sns", region_name=REGION)
        seq = 0
        while not self._stop_publishing.is_set():
            with self._lock:
                self.published[seq] = self.phase
            sns.publish(TopicArn=self.world.topic_arn, Message=json.dumps({"seq": seq}))
            seq += 1
            time.sleep(0.01)

    def consume(self, function_arn: str, messages: Any, queue_arn: str) -> bool:
        """What moto's SQS event-source mapping hands the function (moto would run it in Docker): processed."""
        stack = "a" if ":fn-a-dev" in function_arn else "b"
        with self._lock:
            for message in messages:
                body: Any = json.loads(message.body)  # raw message delivery: the message as published
                if isinstance(body, dict) and "seq" in body:  # the seeded messages are not the publisher's
                    self.processed[stack].setdefault(int(body["seq"]), time.monotonic())
        return True  # moto then deletes the batch from the queue, as Lambda does after a successful batch


@pytest.fixture
def traffic(emulator: Emulator, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[Traffic]:
    settle_minutes, slow = request.param
    world = seed_world(REGION, settle_minutes=settle_minutes)
    filters = emulator.shim.filters
    filters.delays[world.subscriptions["b"]] = slow  # b, the replacement, turns on slowly
    filters.delays[world.subscriptions["a"]] = 0.0  # a, the old stack, turns off at once
    monkeypatch.setenv("BLUEGREEN_PLAN", json.dumps(world.plan))
    monkeypatch.setenv("BLUEGREEN_STATE_TABLE", world.state_table)
    for name in ("BLUEGREEN_PLAN_FILE", "BLUEGREEN_PLAN_PARAMETER", "BLUEGREEN_DEADLINE_MINUTES"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr("bluegreen.engine.POLL_INITIAL_SECONDS", 0.0)
    entry.reset_runtime()
    running = Traffic(world)
    # moto's SQS mappings receive a batch on each message sent while they are enabled, and hand it to
    # the function: the test's consumer takes the function's place (no Docker here).
    monkeypatch.setattr(LambdaBackend, "send_sqs_batch", lambda _backend, *args: running.consume(*args))
    running.start()
    yield running
    running.stop()
    entry.reset_runtime()


def _hook(module: Any, deployment: str, execution: str) -> str:
    event = {"DeploymentId": deployment, "LifecycleEventHookExecutionId": execution}
    return str(module.handler(event, FakeContext())["status"])


def _deploy(emulator: Emulator, traffic: Traffic, deployment: str) -> None:
    emulator.deployments.create(deployment)
    traffic.phase = f"{deployment}: prepare"
    assert _hook(before_allow_traffic, deployment, f"{deployment}-prepare") == "Succeeded"
    traffic.phase = f"{deployment}: between the hooks"
    time.sleep(BETWEEN)
    traffic.phase = f"{deployment}: retire"
    assert _hook(after_allow_traffic, deployment, f"{deployment}-retire") == "Succeeded"
    traffic.phase = f"{deployment}: after"


def _quiet(traffic: Traffic) -> None:
    """Stop publishing and give the working consumers time to empty their queues."""
    traffic.stop_publishing()
    time.sleep(0.5)


@pytest.mark.parametrize("traffic", [(SETTLE_MINUTES, SLOW)], indirect=True)
def test_every_message_is_processed_through_two_deployments_and_none_is_replayed(
    emulator: Emulator, traffic: Traffic
) -> None:
    traffic.running_for(0.2)
    _deploy(emulator, traffic, "d-1")  # a -> b
    time.sleep(0.3)
    prepared_again = time.monotonic()
    first_round = max(traffic.published)
    _deploy(emulator, traffic, "d-2")  # b -> a: a's queue held what its retirement left
    time.sleep(0.3)
    _quiet(traffic)
    phases = set(traffic.published.values())
    assert {"before", "d-1: between the hooks", "d-1: retire", "d-1: after", "d-2: retire"} <= phases
    assert len(traffic.published) > 100
    assert traffic.lost() == {}
    # Nothing a processed in the second deployment had been published before it was retired and prepared again.
    replayed = [seq for seq, at in traffic.processed["a"].items() if at >= prepared_again and seq <= first_round]
    assert replayed == []


@pytest.mark.parametrize("traffic", [(0.0, SLOWER)], indirect=True)
def test_with_settle_minutes_0_a_slow_subscription_loses_what_is_published_once_the_old_one_is_off(
    emulator: Emulator, traffic: Traffic
) -> None:
    traffic.running_for(0.2)
    _deploy(emulator, traffic, "d-1")
    time.sleep(0.3)
    _quiet(traffic)
    lost = traffic.lost()
    assert lost, "without a settle window, the old subscription went off before the new one received"
    # Until then a received everything; from then on, nobody did until b's filter change arrived.
    assert set(lost.values()) <= {"d-1: retire", "d-1: after"}
