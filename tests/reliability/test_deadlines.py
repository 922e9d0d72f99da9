"""Deadlines: a wait that never ends is handed over while time remains, and ends Failed — never Succeeded — in time.

Time is a fake clock: every AWS call costs 0.2 seconds of it, the engine's waits between polls
(5 s, doubling up to 30 s) pass on it, a Lambda invocation has 15 minutes of it, and an asynchronous
re-invocation starts a second after the hand-over. A cluster is held in a state it never leaves
(an after-call hook on ``DescribeDBClusters``, below the code under test). The hook must re-invoke
itself while its invocation still has time, and report Failed before the plan's deadline (50
minutes from the first start) — with the stack it was working on put back, and the live stack as
it was.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

import bluegreen.aws
from bluegreen.hooks import Flow, HookResult
from bluegreen.refs import StackReference
from bluegreen.state import Phase
from tests.reliability import figures
from tests.reliability.conftest import Fresh, fresh_world

INVOCATION_SECONDS = 900.0  # the hooks' Lambda timeout (template.yaml)
CALL_SECONDS = 0.2
DEADLINE_MINUTES = 50  # the seeded plan's


class FakeTime:
    """Epoch seconds that move only when the code under test waits or calls AWS."""

    def __init__(self) -> None:
        self.seconds = 1_800_000_000.0

    def now(self) -> float:
        return self.seconds

    def advance(self, seconds: float) -> None:
        self.seconds += max(0.0, seconds)

    def call(self, **_: Any) -> None:
        self.advance(CALL_SECONDS)


class Hold:
    """Once ``held``, ``DescribeDBClusters`` answers ``status`` for ``cluster``, forever."""

    def __init__(self, cluster: str, status: str) -> None:
        self.cluster, self.status = cluster, status
        self.held = False
        self.polls = 0

    def __call__(self, parsed: dict[str, Any], **_: Any) -> None:
        for cluster in parsed.get("DBClusters", []):
            if self.held and cluster["DBClusterIdentifier"] == self.cluster:
                cluster["Status"] = self.status
                self.polls += 1


def hold(cluster: str, status: str, time: FakeTime) -> Hold:
    """Registered before any client is made (clients copy the session's handlers when they are made)."""
    holder = Hold(cluster, status)
    events = bluegreen.aws.default_session().events
    events.register("after-call.rds.DescribeDBClusters", holder)
    events.register("before-call.*.*", time.call)
    return holder


def run_until_reported(fresh: Fresh, flow: Flow, time: FakeTime) -> tuple[HookResult, list[float]]:
    """Deliver the hook, then each re-invocation it sends, until one reports; the time left at each hand-over."""
    event: dict[str, Any] = {"DeploymentId": "d-1", "LifecycleEventHookExecutionId": f"exec-{flow.value}"}
    left_at_handover: list[float] = []
    for _ in range(20):
        ends = time.now() + INVOCATION_SECONDS
        fresh.harness.time_left = lambda ends=ends: ends - time.now()  # type: ignore[misc]
        handed = len(fresh.harness.reinvoked)
        result = fresh.harness.deliver(flow, event, now=time.now, sleep=time.advance, poll_initial=5.0)
        if result.status is not None:
            return result, left_at_handover
        assert len(fresh.harness.reinvoked) == handed + 1, "returned without reporting and without a hand-over"
        left_at_handover.append(ends - time.now())
        assert fresh.harness.ledger.calls == [], "reported and handed over"
        event = fresh.harness.reinvoked[-1]
        time.advance(1.0)  # the asynchronous invocation starts a moment later
    raise AssertionError("still running after 20 invocations")


@pytest.mark.slow
def test_a_replacement_cluster_that_never_becomes_available() -> None:
    with fresh_world() as fresh:
        time = FakeTime()
        held = hold(fresh.harness.world.names["b"]["cluster"], "starting", time)
        held.held = True
        a_before, b_before = fresh.views()
        first_started = time.now()

        result, left = run_until_reported(fresh, Flow.PREPARE, time)

        assert result.status is not None and result.status.value == "Failed", result.message
        assert "deadline" in result.message
        assert time.now() <= first_started + DEADLINE_MINUTES * 60, "reported after the deadline"
        assert len(left) >= 3 and min(left) > 0, left  # handed over while each invocation still had time
        assert fresh.harness.ledger.calls and {c.status for c in fresh.harness.ledger.calls} == {"Failed"}
        assert len(fresh.harness.ledger.calls) == 1
        a, b = fresh.views()
        assert a == a_before
        # b back to retired (the cluster it started is left running, as documented)
        assert dataclasses.replace(b, cluster_status=b_before.cluster_status) == b_before, b
        record = fresh.record()
        assert record is not None and record.phase is Phase.PREPARE_FAILED and record.live is StackReference.A
        figures.record(
            "deadlines.prepare",
            invocations=len(left) + 1,
            minutes_to_the_report=round((time.now() - first_started) / 60, 1),
            least_seconds_left_at_a_handover=round(min(left)),
            reported="Failed",
        )


@pytest.mark.slow
def test_an_old_cluster_that_never_stops_waiting_ends_with_the_old_stack_back() -> None:
    with fresh_world() as fresh:
        time = FakeTime()
        # a's cluster is busy (a backup) for ever: the retire waits to stop it, last of all
        held = hold(fresh.harness.world.names["a"]["cluster"], "backing-up", time)
        prepared = fresh.harness.run(Flow.PREPARE, "d-1")
        assert prepared.status is not None and prepared.status.value == "Succeeded", prepared.message
        held.held = True
        fresh.harness.ledger.calls.clear()
        a_before, b_before = fresh.views()
        first_started = time.now()

        result, left = run_until_reported(fresh, Flow.RETIRE, time)

        assert result.status is not None and result.status.value == "Failed", result.message
        assert "deadline" in result.message
        assert time.now() <= first_started + DEADLINE_MINUTES * 60, "reported after the deadline"
        assert len(left) >= 3 and min(left) > 0, left
        assert [c.status for c in fresh.harness.ledger.calls] == ["Failed"]
        a, b = fresh.views()
        # a back in service, as it was but for its purged queues (irreversible, and run before the stop)
        assert a.working and dataclasses.replace(a, queue_depth=a_before.queue_depth) == a_before, a
        assert b == b_before
        record = fresh.record()
        assert record is not None and record.live is StackReference.A and record.phase is Phase.ROLLED_BACK
        figures.record(
            "deadlines.retire",
            invocations=len(left) + 1,
            minutes_to_the_report=round((time.now() - first_started) / 60, 1),
            least_seconds_left_at_a_handover=round(min(left)),
            reported="Failed",
        )
