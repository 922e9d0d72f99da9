"""Keep retired clusters stopped: the automatic start after seven days, and nothing else, on moto.

moto starts a cluster at once, while AWS takes minutes: :class:`Starting` makes DescribeDBClusters
report a cluster as "starting" for a given number of reads, and a fake clock stands in for the waits.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import pytest

import bluegreen.aws
from bluegreen.keep_stopped import (
    AUTO_STARTED_EVENT,
    MAX_CHECKS,
    PROGRESS_KEY,
    Progress,
    is_auto_start,
    keep_retired_stopped,
)
from bluegreen.rds import BatchResult, Outcome, RdsBatchError
from bluegreen.state import Phase
from bluegreen.tools.rds_events import RdsEvent
from tests.rds.conftest import LIVE_CLUSTER, RETIRED_CLUSTER, RdsWorld, batch, load_event, record_of
from tests.unit.rds_events import rds_event, sns_record


@dataclass
class Clock:
    """A fake clock: ``sleep`` advances it; ``time_left`` is what a Lambda of ``timeout`` seconds has left."""

    timeout: float = 900.0
    now: float = 1_000_000.0
    started: float = 1_000_000.0
    slept: list[float] = field(default_factory=list)

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds

    def time_left(self) -> float:
        return self.timeout - (self.now - self.started)

    def new_invocation(self) -> None:
        self.started = self.now


class Starting:
    """DescribeDBClusters reports ``cluster`` as 'starting' for its next ``reads`` reads of it."""

    def __init__(self, cluster: str, reads: int) -> None:
        self.cluster = cluster
        self.reads = reads

    def __call__(self, parsed: dict[str, Any], model: Any, **_: Any) -> None:
        for found in parsed.get("DBClusters", []):
            if found["DBClusterIdentifier"] == self.cluster and self.reads > 0:
                self.reads -= 1
                found["Status"] = "starting"


@pytest.fixture
def clock() -> Clock:
    return Clock()


def auto_start(rds_world: RdsWorld, cluster: str = RETIRED_CLUSTER) -> None:
    """What AWS does on the seventh day: it starts the stopped cluster (moto: available at once)."""
    if rds_world.status(cluster) == "stopped":
        rds_world.rds.start_db_cluster(DBClusterIdentifier=cluster)


def event_for(cluster: str) -> dict[str, Any]:
    """The sample auto-start event (events/rds_cluster_auto_started.json), about ``cluster``."""
    record = record_of("rds_cluster_auto_started")
    record["Sns"]["Message"] = record["Sns"]["Message"].replace(RETIRED_CLUSTER, cluster)
    return batch(record)


def run(
    rds_world: RdsWorld, event: dict[str, Any], clock: Clock, reinvoked: list[dict[str, Any]] | None = None
) -> BatchResult:
    return keep_retired_stopped(
        rds_world.runtime,
        event,
        time_left=clock.time_left,
        reinvoke=None if reinvoked is None else reinvoked.append,
        sleep=clock.sleep,
        now=lambda: clock.now,
    )


@pytest.fixture
def a_is_live(rds_world: RdsWorld) -> RdsWorld:
    """The record after deployments have run: a is live, none in flight."""
    rds_world.store.ensure("orders", "a")
    return rds_world


def test_the_auto_start_of_the_retired_stacks_cluster_ends_with_it_stopped(a_is_live: RdsWorld, clock: Clock) -> None:
    auto_start(a_is_live)
    result = run(a_is_live, load_event("rds_cluster_auto_started"), clock)
    assert [r.outcome for r in result.results] == [Outcome.DONE]
    assert a_is_live.status(RETIRED_CLUSTER) == "stopped"
    assert a_is_live.status(LIVE_CLUSTER) == "available"
    assert a_is_live.stopped.requests == [{"DBClusterIdentifier": RETIRED_CLUSTER}]


def test_the_same_event_for_the_live_stacks_cluster_changes_nothing(
    a_is_live: RdsWorld, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="bluegreen"):
        result = run(a_is_live, event_for(LIVE_CLUSTER), clock)
    assert [r.outcome for r in result.results] == [Outcome.SKIPPED]
    assert "stack a is live" in result.results[0].detail
    assert a_is_live.status(LIVE_CLUSTER) == "available"
    assert a_is_live.stopped.requests == []
    assert any("left running: stack a is live" in line for line in caplog.messages)


def test_after_a_flip_the_other_cluster_is_the_retired_one(a_is_live: RdsWorld, clock: Clock) -> None:
    a_is_live.store.begin("orders", "d-1", "a")
    a_is_live.store.set_phase("orders", "d-1", Phase.PREPARED, expected={Phase.PREPARING})
    a_is_live.store.flip("orders", "d-1")
    a_is_live.store.finish("orders", "d-1", Phase.RETIRED)  # b is live, a retired
    a_is_live.rds.stop_db_cluster(DBClusterIdentifier=LIVE_CLUSTER)
    auto_start(a_is_live, LIVE_CLUSTER)
    assert run(a_is_live, event_for(RETIRED_CLUSTER), clock).results[0].outcome is Outcome.SKIPPED
    assert run(a_is_live, event_for(LIVE_CLUSTER), clock).results[0].outcome is Outcome.DONE
    assert a_is_live.status(LIVE_CLUSTER) == "stopped"


@pytest.mark.parametrize("phase", [Phase.PREPARING, Phase.PREPARED, Phase.FLIPPED])
def test_while_a_deployment_is_in_flight_neither_cluster_is_touched(
    a_is_live: RdsWorld, clock: Clock, phase: Phase
) -> None:
    store = a_is_live.store
    store.begin("orders", "d-1", "a")  # replacement b
    if phase is not Phase.PREPARING:
        store.set_phase("orders", "d-1", Phase.PREPARED, expected={Phase.PREPARING})
    if phase is Phase.FLIPPED:
        store.flip("orders", "d-1")
    auto_start(a_is_live)
    for cluster in (RETIRED_CLUSTER, LIVE_CLUSTER):
        result = run(a_is_live, event_for(cluster), clock)
        assert [r.outcome for r in result.results] == [Outcome.SKIPPED]
        assert "deployment d-1 is in flight" in result.results[0].detail
    assert a_is_live.status(RETIRED_CLUSTER) == "available"
    assert a_is_live.stopped.requests == []


def test_a_start_the_hooks_made_is_never_undone(a_is_live: RdsWorld, clock: Clock) -> None:
    auto_start(a_is_live)
    started = rds_event(RETIRED_CLUSTER, "DB cluster started", "RDS-EVENT-0151", source_type="db-cluster")
    stopped = rds_event(RETIRED_CLUSTER, "DB cluster stopped", "RDS-EVENT-0150", source_type="db-cluster")
    wrong_id = rds_event(
        RETIRED_CLUSTER,
        "DB cluster is being started due to it exceeding the maximum allowed time being stopped.",
        "RDS-EVENT-0151",
        source_type="db-cluster",
    )
    result = run(a_is_live, batch(sns_record(started), sns_record(stopped), sns_record(wrong_id)), clock)
    assert [r.outcome for r in result.results] == [Outcome.SKIPPED] * 3
    assert all("not the automatic start" in r.detail for r in result.results)
    assert a_is_live.status(RETIRED_CLUSTER) == "available"
    assert a_is_live.stopped.requests == []


@pytest.mark.parametrize("name", ["sns_subscription_confirmation", "rds_instance_created", "rds_instance_deleted"])
def test_junk_and_instance_events_are_skipped(a_is_live: RdsWorld, clock: Clock, name: str) -> None:
    result = run(a_is_live, load_event(name), clock)
    assert [r.outcome for r in result.results] == [Outcome.SKIPPED]
    assert a_is_live.stopped.requests == []


def test_clusters_the_plan_does_not_manage_are_skipped(a_is_live: RdsWorld, clock: Clock) -> None:
    result = run(a_is_live, event_for("payments-db"), clock)
    assert [r.outcome for r in result.results] == [Outcome.SKIPPED]
    assert "not managed by the plan" in result.results[0].detail


@pytest.mark.parametrize("on_retire", ["keep", "delete"])
def test_a_cluster_the_plan_does_not_stop_on_retire_is_left_running(
    a_is_live: RdsWorld, clock: Clock, on_retire: str
) -> None:
    auto_start(a_is_live)
    a_is_live.runtime = a_is_live.runtime_with(on_retire=on_retire)
    result = run(a_is_live, load_event("rds_cluster_auto_started"), clock)
    assert [r.outcome for r in result.results] == [Outcome.SKIPPED]
    assert f"on_retire: {on_retire}" in result.results[0].detail
    assert a_is_live.status(RETIRED_CLUSTER) == "available"


def test_without_a_live_stack_record_nothing_is_stopped_and_the_record_fails(rds_world: RdsWorld, clock: Clock) -> None:
    auto_start(rds_world)
    result = run(rds_world, load_event("rds_cluster_auto_started"), clock)
    assert [r.outcome for r in result.results] == [Outcome.FAILED]
    assert "no live-stack record for 'orders'" in result.results[0].detail
    assert rds_world.status(RETIRED_CLUSTER) == "available"
    with pytest.raises(RdsBatchError, match="stop it by hand"):
        result.raise_for_failures()


def test_a_starting_cluster_is_checked_every_minute_until_available_then_stopped(
    a_is_live: RdsWorld, clock: Clock
) -> None:
    auto_start(a_is_live)
    starting = Starting(RETIRED_CLUSTER, reads=3)
    bluegreen.aws.default_session().events.register("after-call.rds.DescribeDBClusters", starting)
    reinvoked: list[dict[str, Any]] = []
    result = run(a_is_live, load_event("rds_cluster_auto_started"), clock, reinvoked)
    assert [r.outcome for r in result.results] == [Outcome.DONE]
    assert clock.slept == [60.0, 60.0, 60.0]
    assert reinvoked == []
    assert a_is_live.status(RETIRED_CLUSTER) == "stopped"


def test_a_long_start_hands_over_to_a_reinvocation_that_stops_it(a_is_live: RdsWorld, clock: Clock) -> None:
    auto_start(a_is_live)
    starting = Starting(RETIRED_CLUSTER, reads=20)
    bluegreen.aws.default_session().events.register("after-call.rds.DescribeDBClusters", starting)
    reinvoked: list[dict[str, Any]] = []
    clock.timeout = 300.0  # 270 s usable: four waits of a minute, then a hand-over
    first = run(a_is_live, load_event("rds_cluster_auto_started"), clock, reinvoked)
    assert [r.outcome for r in first.results] == [Outcome.PENDING]
    assert "is starting" in first.results[0].detail and "handed over to invocation 2" in first.results[0].detail
    assert len(reinvoked) == 1
    handed = reinvoked[0]
    assert handed["Records"] == load_event("rds_cluster_auto_started")["Records"]
    assert handed[PROGRESS_KEY] == {"checks": 5, "first_seen": 1_000_000.0, "invocation": 2}
    assert a_is_live.status(RETIRED_CLUSTER) == "available"

    while reinvoked:
        clock.new_invocation()
        event = reinvoked.pop()
        result = run(a_is_live, event, clock, reinvoked)
    assert [r.outcome for r in result.results] == [Outcome.DONE]
    assert a_is_live.status(RETIRED_CLUSTER) == "stopped"
    assert all(seconds >= 60.0 for seconds in clock.slept)  # checks at least a minute apart, hand-overs included


def test_a_deployment_that_begins_while_waiting_takes_the_cluster_over(a_is_live: RdsWorld, clock: Clock) -> None:
    auto_start(a_is_live)
    starting = Starting(RETIRED_CLUSTER, reads=2)
    bluegreen.aws.default_session().events.register("after-call.rds.DescribeDBClusters", starting)

    def sleep_and_deploy(seconds: float) -> None:
        clock.sleep(seconds)
        if a_is_live.store.get("orders").deployment_id is None:  # type: ignore[union-attr]
            a_is_live.store.begin("orders", "d-2", "a")  # prepare starts while we wait

    result = keep_retired_stopped(
        a_is_live.runtime,
        load_event("rds_cluster_auto_started"),
        time_left=clock.time_left,
        reinvoke=None,
        sleep=sleep_and_deploy,
        now=lambda: clock.now,
    )
    assert [r.outcome for r in result.results] == [Outcome.SKIPPED]
    assert "deployment d-2 is in flight" in result.results[0].detail
    assert a_is_live.status(RETIRED_CLUSTER) == "available"
    assert a_is_live.stopped.requests == []


def test_a_cluster_still_starting_after_every_check_fails_naming_it(a_is_live: RdsWorld, clock: Clock) -> None:
    auto_start(a_is_live)
    starting = Starting(RETIRED_CLUSTER, reads=10_000)
    bluegreen.aws.default_session().events.register("after-call.rds.DescribeDBClusters", starting)
    reinvoked: list[dict[str, Any]] = []
    result = run(a_is_live, load_event("rds_cluster_auto_started"), clock, reinvoked)
    while reinvoked:
        clock.new_invocation()
        result = run(a_is_live, reinvoked.pop(), clock, reinvoked)
    assert [r.outcome for r in result.results] == [Outcome.FAILED]
    detail = result.results[0].detail
    assert RETIRED_CLUSTER in detail and "starting" in detail and f"after {MAX_CHECKS} checks" in detail
    assert "stop it by hand" in detail
    assert len(clock.slept) == MAX_CHECKS - 1
    with pytest.raises(RdsBatchError, match=RETIRED_CLUSTER):
        result.raise_for_failures()


def test_without_a_way_to_reinvoke_a_long_wait_fails(a_is_live: RdsWorld, clock: Clock) -> None:
    auto_start(a_is_live)
    bluegreen.aws.default_session().events.register(
        "after-call.rds.DescribeDBClusters", Starting(RETIRED_CLUSTER, reads=10_000)
    )
    clock.timeout = 100.0
    result = run(a_is_live, load_event("rds_cluster_auto_started"), clock, reinvoked=None)
    assert [r.outcome for r in result.results] == [Outcome.FAILED]
    assert "cannot re-invoke itself" in result.results[0].detail


def test_a_cluster_already_stopped_again_is_done(a_is_live: RdsWorld, clock: Clock) -> None:
    result = run(a_is_live, load_event("rds_cluster_auto_started"), clock)  # b is still stopped
    assert [r.outcome for r in result.results] == [Outcome.DONE]
    assert "already stopped" in result.results[0].detail
    assert a_is_live.stopped.requests == []


# --- the event and the progress ------------------------------------------------------------------


def test_the_sample_is_recognised_by_its_event_id() -> None:
    event = RdsEvent.from_sns_record(record_of("rds_cluster_auto_started"))
    assert event is not None
    assert event.event_id == AUTO_STARTED_EVENT == "RDS-EVENT-0153"
    assert event.source_type == "db-cluster"
    assert is_auto_start(event)


@pytest.mark.parametrize(
    ("message", "event_id", "source_type", "expected"),
    [
        (
            "The DB cluster is being started due to it exceeding the maximum allowed time being stopped.",
            None,
            "db-cluster",
            True,
        ),
        ("DB cluster is being started due to it exceeding the maximum allowed time being stopped", None, None, True),
        ("DB cluster started", None, "db-cluster", False),
        ("anything", "RDS-EVENT-0153", "db-cluster", True),
        (
            "DB cluster is being started due to it exceeding the maximum allowed time being stopped.",
            "RDS-EVENT-0151",
            "db-cluster",
            False,
        ),
        (
            "DB instance is being started due to it exceeding the maximum allowed time being stopped.",
            "RDS-EVENT-0154",
            "db-instance",
            False,
        ),
    ],
)
def test_is_auto_start(message: str, event_id: str | None, source_type: str | None, expected: bool) -> None:
    assert is_auto_start(RdsEvent("fn-db-b-dev", message, event_id, source_type)) is expected


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        ({"Records": []}, Progress()),
        ({PROGRESS_KEY: {"checks": 4, "first_seen": 12.5, "invocation": 3}}, Progress(4, 12.5, 3)),
        ({PROGRESS_KEY: {"checks": -1, "first_seen": "x", "invocation": 0}}, Progress()),
        ({PROGRESS_KEY: "junk"}, Progress()),
        ([], Progress()),
    ],
)
def test_progress_is_read_leniently(event: Any, expected: Progress) -> None:
    assert Progress.from_event(event) == expected
