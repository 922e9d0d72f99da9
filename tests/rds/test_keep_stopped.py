"""Keep retired clusters stopped: the automatic start after seven days, and nothing else, on moto.

moto starts a cluster at once, while AWS takes minutes: :class:`Starting` makes DescribeDBClusters
report a cluster as "starting" for a given number of reads, and a fake clock stands in for the waits.
moto also stops a cluster at once, while AWS leaves it "stopping" for minutes: :func:`set_status`
puts moto's own cluster in that status (StartDBCluster then fails, as on AWS).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import pytest
from moto.rds.models import rds_backends

import bluegreen.aws
from bluegreen.hooks import HookRequest
from bluegreen.plan import parse_plan
from bluegreen.rds.keep_stopped import (
    AUTO_STARTED_EVENT,
    MAX_WAIT_MINUTES,
    Progress,
    is_auto_start,
    keep_retired_stopped,
    restart_id,
    stop_id,
)
from bluegreen.rds.records import Outcome, RdsRecordError, RecordResult
from bluegreen.rds.runtime import RdsRuntime
from bluegreen.refs import StackReference
from bluegreen.runtime import PROGRESS_KEY
from bluegreen.state import Phase
from bluegreen.tools.rds_events import RdsEvent
from tests.conftest import ACCOUNT_ID, REGION
from tests.rds.conftest import LIVE_CLUSTER, RETIRED_CLUSTER, Captured, RdsWorld, batch, load_event, record_of
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


def set_status(cluster: str, status: str) -> None:
    """Put moto's cluster in ``status`` (moto never shows "stopping": it stops a cluster at once)."""
    rds_backends[ACCOUNT_ID][REGION].clusters[cluster].status = status


def with_initial_live(rds_world: RdsWorld, initial_live: str) -> RdsRuntime:
    """A runtime whose plan has this ``initial_live`` (the same table)."""
    plan = parse_plan({**rds_world.world.plan, "initial_live": initial_live})
    return RdsRuntime(plan, region=rds_world.runtime.region, store=rds_world.runtime.store)


def deployment_begins_at_the_stop(
    rds_world: RdsWorld, monkeypatch: pytest.MonkeyPatch, *, stopping: bool = False
) -> None:
    """Deployment d-2 begins between the function's read of the record and its StopDBCluster.

    It begins with the plan's initial_live (a) when there is no record yet, so its replacement is b, the
    cluster being stopped. With ``stopping`` the cluster is left "stopping", as AWS leaves it for minutes.
    """
    tool = rds_world.runtime.aurora(0)
    stop = tool.stop_database

    def begin_then_stop(ref: StackReference | str) -> None:
        rds_world.store.begin("orders", "d-2", "a")  # its prepare will need cluster b
        stop(ref)
        if stopping:
            set_status(RETIRED_CLUSTER, "stopping")

    monkeypatch.setattr(tool, "stop_database", begin_then_stop)


@pytest.fixture
def started() -> Captured:
    """Every StartDBCluster the code under test sends (registered before its clients are made)."""
    captured = Captured()
    bluegreen.aws.default_session().events.register("provide-client-params.rds.StartDBCluster", captured)
    return captured


def run(
    rds_world: RdsWorld, event: dict[str, Any], clock: Clock, reinvoked: list[dict[str, Any]] | None = None
) -> RecordResult:
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
    assert result.outcome is Outcome.DONE
    assert a_is_live.status(RETIRED_CLUSTER) == "stopped"
    assert a_is_live.status(LIVE_CLUSTER) == "available"
    assert a_is_live.stopped.requests == [{"DBClusterIdentifier": RETIRED_CLUSTER}]


def test_the_same_event_for_the_live_stacks_cluster_changes_nothing(
    a_is_live: RdsWorld, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="bluegreen"):
        result = run(a_is_live, event_for(LIVE_CLUSTER), clock)
    assert result.outcome is Outcome.SKIPPED
    assert "stack a is live" in result.detail
    assert a_is_live.status(LIVE_CLUSTER) == "available"
    assert a_is_live.stopped.requests == []
    assert any("left running: stack a is live" in line for line in caplog.messages)
    assert not [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]  # a skip is no error


def test_after_a_flip_the_other_cluster_is_the_retired_one(a_is_live: RdsWorld, clock: Clock) -> None:
    a_is_live.store.begin("orders", "d-1", "a")
    a_is_live.store.set_phase("orders", "d-1", Phase.PREPARED, expected={Phase.PREPARING})
    a_is_live.store.flip("orders", "d-1")
    a_is_live.store.finish("orders", "d-1", Phase.RETIRED)  # b is live, a retired
    a_is_live.rds.stop_db_cluster(DBClusterIdentifier=LIVE_CLUSTER)
    auto_start(a_is_live, LIVE_CLUSTER)
    assert run(a_is_live, event_for(RETIRED_CLUSTER), clock).outcome is Outcome.SKIPPED
    assert run(a_is_live, event_for(LIVE_CLUSTER), clock).outcome is Outcome.DONE
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
        assert result.outcome is Outcome.SKIPPED
        assert "deployment d-1 is in flight" in result.detail
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
    for message in (started, stopped, wrong_id):
        result = run(a_is_live, batch(sns_record(message)), clock)
        assert result.outcome is Outcome.SKIPPED
        assert "not the automatic start" in result.detail
    assert a_is_live.status(RETIRED_CLUSTER) == "available"
    assert a_is_live.stopped.requests == []


@pytest.mark.parametrize("name", ["sns_subscription_confirmation", "rds_instance_created", "rds_instance_deleted"])
def test_junk_and_instance_events_are_skipped(a_is_live: RdsWorld, clock: Clock, name: str) -> None:
    result = run(a_is_live, load_event(name), clock)
    assert result.outcome is Outcome.SKIPPED
    assert a_is_live.stopped.requests == []


def test_clusters_the_plan_does_not_manage_are_skipped(a_is_live: RdsWorld, clock: Clock) -> None:
    result = run(a_is_live, event_for("payments-db"), clock)
    assert result.outcome is Outcome.SKIPPED
    assert "not managed by the plan" in result.detail


@pytest.mark.parametrize("on_retire", ["keep", "delete"])
def test_a_cluster_the_plan_does_not_stop_on_retire_is_left_running(
    a_is_live: RdsWorld, clock: Clock, on_retire: str
) -> None:
    auto_start(a_is_live)
    a_is_live.runtime = a_is_live.runtime_with(on_retire=on_retire)
    result = run(a_is_live, load_event("rds_cluster_auto_started"), clock)
    assert result.outcome is Outcome.SKIPPED
    assert f"on_retire: {on_retire}" in result.detail
    assert a_is_live.status(RETIRED_CLUSTER) == "available"


@pytest.mark.parametrize(("initial_live", "retired"), [("a", RETIRED_CLUSTER), ("b", LIVE_CLUSTER)])
def test_before_the_first_deployment_the_cluster_that_is_not_initial_live_is_stopped_again(
    rds_world: RdsWorld, clock: Clock, initial_live: str, retired: str
) -> None:
    rds_world.runtime = with_initial_live(rds_world, initial_live)
    auto_start(rds_world, retired)  # a is available already; b was stopped, AWS starts it
    result = run(rds_world, event_for(retired), clock)
    assert result.outcome is Outcome.DONE
    assert rds_world.status(retired) == "stopped"
    assert rds_world.stopped.requests == [{"DBClusterIdentifier": retired}]
    assert rds_world.store.get("orders") is None  # nothing is written: the record is the deployments' own


@pytest.mark.parametrize(("initial_live", "live"), [("a", LIVE_CLUSTER), ("b", RETIRED_CLUSTER)])
def test_before_the_first_deployment_the_initial_live_stacks_cluster_is_never_stopped(
    rds_world: RdsWorld, clock: Clock, initial_live: str, live: str
) -> None:
    rds_world.runtime = with_initial_live(rds_world, initial_live)
    auto_start(rds_world, live)
    result = run(rds_world, event_for(live), clock)
    assert result.outcome is Outcome.SKIPPED
    assert f"stack {initial_live} is live (the plan's initial_live" in result.detail
    assert rds_world.status(live) == "available"
    assert rds_world.stopped.requests == []
    assert rds_world.store.get("orders") is None


def test_a_starting_cluster_is_checked_every_minute_until_available_then_stopped(
    a_is_live: RdsWorld, clock: Clock
) -> None:
    auto_start(a_is_live)
    starting = Starting(RETIRED_CLUSTER, reads=3)
    bluegreen.aws.default_session().events.register("after-call.rds.DescribeDBClusters", starting)
    reinvoked: list[dict[str, Any]] = []
    result = run(a_is_live, load_event("rds_cluster_auto_started"), clock, reinvoked)
    assert result.outcome is Outcome.DONE
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
    assert first.outcome is Outcome.PENDING
    assert "is starting" in first.detail and "handed over to invocation 2" in first.detail
    assert len(reinvoked) == 1
    handed = reinvoked[0]
    assert handed["Records"] == load_event("rds_cluster_auto_started")["Records"]
    # the hooks' continuation format: the stop step begun, not done; when the event was first seen
    assert handed[PROGRESS_KEY] == {
        "done": [],
        "started": [stop_id(0)],
        "first_started": 1_000_000.0,
        "invocation": 2,
    }
    assert a_is_live.status(RETIRED_CLUSTER) == "available"

    while reinvoked:
        clock.new_invocation()
        event = reinvoked.pop()
        result = run(a_is_live, event, clock, reinvoked)
    assert result.outcome is Outcome.DONE
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
    assert result.outcome is Outcome.SKIPPED
    assert "deployment d-2 is in flight" in result.detail
    assert a_is_live.status(RETIRED_CLUSTER) == "available"
    assert a_is_live.stopped.requests == []


def test_a_cluster_still_starting_after_every_check_fails_naming_it(a_is_live: RdsWorld, clock: Clock) -> None:
    auto_start(a_is_live)
    starting = Starting(RETIRED_CLUSTER, reads=10_000)
    bluegreen.aws.default_session().events.register("after-call.rds.DescribeDBClusters", starting)
    reinvoked: list[dict[str, Any]] = []
    result = run(a_is_live, load_event("rds_cluster_auto_started"), clock, reinvoked)
    invocations = 1
    while reinvoked:
        invocations += 1
        clock.new_invocation()
        result = run(a_is_live, reinvoked.pop(), clock, reinvoked)
    assert result.outcome is Outcome.FAILED
    detail = result.detail
    assert RETIRED_CLUSTER in detail and "starting" in detail and f"at most {MAX_WAIT_MINUTES} min" in detail
    assert "stop it by hand" in detail
    # checked every minute, handed over as each 15-minute invocation ran low, given up within the bound
    assert invocations == 3
    assert set(clock.slept) == {60.0}
    assert (MAX_WAIT_MINUTES - 1) * 60 <= clock.now - 1_000_000.0 <= MAX_WAIT_MINUTES * 60
    assert a_is_live.stopped.requests == []
    with pytest.raises(RdsRecordError, match=RETIRED_CLUSTER):
        result.raise_for_failure()


def test_without_a_way_to_reinvoke_a_long_wait_fails(a_is_live: RdsWorld, clock: Clock) -> None:
    auto_start(a_is_live)
    bluegreen.aws.default_session().events.register(
        "after-call.rds.DescribeDBClusters", Starting(RETIRED_CLUSTER, reads=10_000)
    )
    clock.timeout = 100.0
    result = run(a_is_live, load_event("rds_cluster_auto_started"), clock, reinvoked=None)
    assert result.outcome is Outcome.FAILED
    assert "cannot re-invoke itself" in result.detail


def test_a_cluster_already_stopped_again_is_done(a_is_live: RdsWorld, clock: Clock) -> None:
    result = run(a_is_live, load_event("rds_cluster_auto_started"), clock)  # b is still stopped
    assert result.outcome is Outcome.DONE
    assert "already stopped" in result.detail
    assert a_is_live.stopped.requests == []


def test_a_record_that_cannot_be_read_fails_the_record_and_leaves_the_cluster_running(
    a_is_live: RdsWorld, clock: Clock
) -> None:
    auto_start(a_is_live)
    a_is_live.faults.arm("GetItem")
    result = run(a_is_live, load_event("rds_cluster_auto_started"), clock)
    assert result.outcome is Outcome.FAILED
    assert "AccessDenied" in result.detail and stop_id(0) in result.detail
    assert a_is_live.stopped.requests == []
    assert a_is_live.status(RETIRED_CLUSTER) == "available"


def test_a_record_that_cannot_be_read_after_the_stop_says_to_start_the_cluster_by_hand(
    a_is_live: RdsWorld, clock: Clock, started: Captured
) -> None:
    auto_start(a_is_live)
    a_is_live.faults.arm("GetItem", nth=2)  # the read right after StopDBCluster
    result = run(a_is_live, load_event("rds_cluster_auto_started"), clock)
    assert result.outcome is Outcome.FAILED
    assert "RestartError" in result.detail and "start the cluster by hand" in result.detail
    assert RETIRED_CLUSTER in result.detail
    assert a_is_live.stopped.requests == [{"DBClusterIdentifier": RETIRED_CLUSTER}]
    assert started.requests == []


# --- a deployment that begins while the cluster is being stopped --------------------------------------


@pytest.mark.parametrize("recorded", [True, False], ids=["record", "no-record"])
def test_a_deployment_that_begins_at_the_stop_gets_its_cluster_started_again(
    rds_world: RdsWorld, clock: Clock, monkeypatch: pytest.MonkeyPatch, started: Captured, recorded: bool
) -> None:
    if recorded:
        rds_world.store.ensure("orders", "a")
    auto_start(rds_world)
    deployment_begins_at_the_stop(rds_world, monkeypatch)
    result = run(rds_world, load_event("rds_cluster_auto_started"), clock)
    assert result.outcome is Outcome.DONE
    detail = result.detail
    assert "started again" in detail and "deployment d-2 is in flight" in detail
    assert rds_world.stopped.requests == [{"DBClusterIdentifier": RETIRED_CLUSTER}]
    assert started.requests == [{"DBClusterIdentifier": RETIRED_CLUSTER}]
    assert rds_world.status(RETIRED_CLUSTER) == "available"  # the replacement runs, as its prepare needs
    assert rds_world.status(LIVE_CLUSTER) == "available"
    record = rds_world.store.get("orders")
    assert record is not None and record.in_flight
    assert (record.deployment_id, record.phase, record.replacement, record.live) == (
        "d-2",
        Phase.PREPARING,
        StackReference.B,
        StackReference.A,
    )
    assert clock.slept == []


def test_a_stopping_cluster_is_started_again_at_the_first_check_that_finds_it_stopped(
    a_is_live: RdsWorld, clock: Clock, monkeypatch: pytest.MonkeyPatch, started: Captured
) -> None:
    auto_start(a_is_live)
    deployment_begins_at_the_stop(a_is_live, monkeypatch, stopping=True)
    statuses: list[str] = []

    def sleep(seconds: float) -> None:  # AWS finishes the stop after the second minute
        clock.sleep(seconds)
        statuses.append(a_is_live.status(RETIRED_CLUSTER))
        if len(clock.slept) == 2:
            set_status(RETIRED_CLUSTER, "stopped")

    result = keep_retired_stopped(
        a_is_live.runtime,
        load_event("rds_cluster_auto_started"),
        time_left=clock.time_left,
        reinvoke=None,
        sleep=sleep,
        now=lambda: clock.now,
    )
    assert result.outcome is Outcome.DONE
    assert "started again" in result.detail
    assert statuses == ["stopping", "stopping"]
    assert clock.slept == [60.0, 60.0]
    assert started.requests == [{"DBClusterIdentifier": RETIRED_CLUSTER}]  # once, and only once it was stopped
    assert a_is_live.status(RETIRED_CLUSTER) == "available"
    record = a_is_live.store.get("orders")
    assert record is not None and record.deployment_id == "d-2" and record.in_flight


def test_the_restart_survives_a_hand_over_to_a_new_invocation(
    a_is_live: RdsWorld, clock: Clock, monkeypatch: pytest.MonkeyPatch, started: Captured
) -> None:
    auto_start(a_is_live)
    deployment_begins_at_the_stop(a_is_live, monkeypatch, stopping=True)
    clock.timeout = 80.0  # no time to wait even once: the first invocation hands over at once
    reinvoked: list[dict[str, Any]] = []
    event = event_for(RETIRED_CLUSTER)
    first = run(a_is_live, event, clock, reinvoked)
    assert first.outcome is Outcome.PENDING
    assert "started again once stopped" in first.detail
    [handed] = reinvoked
    assert handed["Records"] == event["Records"]
    # the restart step begun and not done: the intent to start the cluster again
    assert handed[PROGRESS_KEY] == {
        "done": [stop_id(0)],
        "started": sorted([stop_id(0), restart_id(0)]),
        "first_started": 1_000_000.0,
        "invocation": 2,
    }
    assert a_is_live.status(RETIRED_CLUSTER) == "stopping"
    assert started.requests == []

    set_status(RETIRED_CLUSTER, "stopped")  # the stop ends before the next invocation runs
    clock.new_invocation()
    clock.timeout = 900.0
    second = run(a_is_live, reinvoked.pop(), clock, reinvoked)
    assert second.outcome is Outcome.DONE
    assert "started again" in second.detail
    assert reinvoked == []
    assert a_is_live.stopped.requests == [{"DBClusterIdentifier": RETIRED_CLUSTER}]  # not stopped a second time
    assert started.requests == [{"DBClusterIdentifier": RETIRED_CLUSTER}]
    assert a_is_live.status(RETIRED_CLUSTER) == "available"


def test_a_cluster_stopping_through_every_check_fails_saying_to_start_it_by_hand(
    a_is_live: RdsWorld, clock: Clock, monkeypatch: pytest.MonkeyPatch, started: Captured
) -> None:
    auto_start(a_is_live)
    deployment_begins_at_the_stop(a_is_live, monkeypatch, stopping=True)
    clock.timeout = 300.0  # hand-overs on the way: the restart intent must survive each
    reinvoked: list[dict[str, Any]] = []
    result = run(a_is_live, load_event("rds_cluster_auto_started"), clock, reinvoked)
    handed = 0
    while reinvoked:
        handed += 1
        event = reinvoked.pop()
        progress = Progress.from_event(event)  # the restart step carried over, begun and not done
        assert restart_id(0) in progress.started and restart_id(0) not in progress.done
        clock.new_invocation()
        result = run(a_is_live, event, clock, reinvoked)
    assert handed > 1
    assert result.outcome is Outcome.FAILED
    detail = result.detail
    assert RETIRED_CLUSTER in detail and "stopping" in detail and f"at most {MAX_WAIT_MINUTES} min" in detail
    assert "start it by hand once it is stopped" in detail and "stop it by hand" not in detail
    assert (MAX_WAIT_MINUTES - 1) * 60 <= clock.now - 1_000_000.0 <= MAX_WAIT_MINUTES * 60
    assert started.requests == []
    assert a_is_live.stopped.requests == [{"DBClusterIdentifier": RETIRED_CLUSTER}]
    assert a_is_live.status(RETIRED_CLUSTER) == "stopping"
    with pytest.raises(RdsRecordError, match="start it by hand"):
        result.raise_for_failure()


def test_the_restart_is_dropped_when_the_deployment_ends_before_the_cluster_has_stopped(
    a_is_live: RdsWorld, clock: Clock, monkeypatch: pytest.MonkeyPatch, started: Captured
) -> None:
    auto_start(a_is_live)
    deployment_begins_at_the_stop(a_is_live, monkeypatch, stopping=True)

    def sleep(seconds: float) -> None:  # the deployment fails its prepare; b is retired again, and stops
        clock.sleep(seconds)
        a_is_live.store.finish("orders", "d-2", Phase.PREPARE_FAILED)
        set_status(RETIRED_CLUSTER, "stopped")

    result = keep_retired_stopped(
        a_is_live.runtime,
        load_event("rds_cluster_auto_started"),
        time_left=clock.time_left,
        reinvoke=None,
        sleep=sleep,
        now=lambda: clock.now,
    )
    assert result.outcome is Outcome.DONE
    assert "already stopped" in result.detail
    assert started.requests == []
    assert a_is_live.status(RETIRED_CLUSTER) == "stopped"


def test_a_cluster_the_prepare_started_first_is_not_started_twice(
    a_is_live: RdsWorld, clock: Clock, monkeypatch: pytest.MonkeyPatch, started: Captured
) -> None:
    auto_start(a_is_live)
    deployment_begins_at_the_stop(a_is_live, monkeypatch, stopping=True)

    def sleep(seconds: float) -> None:  # the stop ends, and the prepare's own step starts the cluster first
        clock.sleep(seconds)
        set_status(RETIRED_CLUSTER, "stopped")
        a_is_live.rds.start_db_cluster(DBClusterIdentifier=RETIRED_CLUSTER)

    result = keep_retired_stopped(
        a_is_live.runtime,
        load_event("rds_cluster_auto_started"),
        time_left=clock.time_left,
        reinvoke=None,
        sleep=sleep,
        now=lambda: clock.now,
    )
    assert result.outcome is Outcome.DONE
    assert "is available, as it must be" in result.detail
    assert started.requests == []  # the start the prepare made is enough
    assert a_is_live.status(RETIRED_CLUSTER) == "available"
    a_is_live.runtime.aurora(0).start_database(StackReference.B)  # and the prepare's next start is harmless too
    assert started.requests == []
    assert a_is_live.status(RETIRED_CLUSTER) == "available"


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
        (
            {PROGRESS_KEY: {"done": ["aurora[0].stop"], "started": ["aurora[0].stop"], "first_started": 12.5}},
            Progress(("aurora[0].stop",), ("aurora[0].stop",), 12.5),
        ),
        ({PROGRESS_KEY: {"done": [], "started": [], "first_started": 1, "invocation": 3}}, Progress((), (), 1.0, 3)),
        (
            {PROGRESS_KEY: {"done": "x", "started": [1, None, "a"], "first_started": "x", "invocation": 0}},
            Progress((), ("a",)),
        ),
        ({PROGRESS_KEY: {"first_started": float("nan"), "invocation": True}}, Progress()),
        ({PROGRESS_KEY: {"first_started": 10**400}}, Progress()),
        ({PROGRESS_KEY: "junk"}, Progress()),
        ({"bluegreen_keep_stopped": {"checks": 4, "first_seen": 12.5}}, Progress()),  # the old format: a fresh start
        ([], Progress()),
    ],
)
def test_progress_is_read_leniently(event: Any, expected: Progress) -> None:
    assert Progress.from_event(event) == expected


def test_the_continuation_has_the_hooks_format() -> None:
    event = {**batch(record_of("rds_cluster_auto_started")), PROGRESS_KEY: {"invocation": 2}}
    carried = Progress.from_event(event).continuation(event, ["aurora[0].stop"], ["x", "aurora[0].stop", "x"], 5.0)
    assert carried["Records"] == event["Records"]
    hooks = HookRequest("d-1", "e-1", invocation=2, event={"DeploymentId": "d-1"}).continuation(
        ["aurora[0].stop"], ["x", "aurora[0].stop", "x"], 5.0
    )
    assert (
        carried[PROGRESS_KEY]
        == hooks[PROGRESS_KEY]
        == {
            "done": ["aurora[0].stop"],
            "started": ["aurora[0].stop", "x"],
            "first_started": 5.0,
            "invocation": 3,
        }
    )
