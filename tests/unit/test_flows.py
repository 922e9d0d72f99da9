"""The flows' settle windows and purges, as data and as waits — no AWS is called to build or check them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from bluegreen import StackReference
from bluegreen.engine import DONE, PENDING, Engine, RunStatus, Step, WaitFor, waves
from bluegreen.flows import SettleWaits, prepare_steps, retire_steps
from bluegreen.plan import PlanError, parse_plan
from bluegreen.refs import ClusterState
from bluegreen.services.aurora import cluster_stopped
from bluegreen.toolbox import Toolbox
from bluegreen.tools.aurora import ClusterBusyError, ClusterStateError
from tests.conftest import REGION

A, B = StackReference.A, StackReference.B
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "plan.yaml"
T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def _plan(**changes: Any) -> Any:
    document = yaml.safe_load(EXAMPLE.read_text())
    document.update(changes)
    return parse_plan({k: v for k, v in document.items() if v is not None})


def _ids(steps: list[Step]) -> list[list[str]]:
    return [[step.id for step in wave] for wave in waves(steps)]


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


# ------------------------------------------------------------------------------------- the steps


def test_the_retire_turns_the_old_subscription_off_after_the_window_and_the_rest_after_the_drain() -> None:
    plan = _plan(settle_minutes=15)
    steps = retire_steps(plan, Toolbox(plan, region=REGION), A)
    layout = _ids(steps)
    assert layout[:3] == [["sns.settle"], ["sns[0].disable"], ["sns.drain"]]
    assert set(layout[3]) == {
        "lambda[0].mappings.disable", "lambda[0].rules.disable", "ecs[0].disable", "cloudwatch[0].disable",
    }  # fmt: skip
    by_id = {step.id: step for step in steps}
    purge_after = set(by_id["sqs[0].purge"].depends_on)
    assert {"sns.drain", "sns[0].disable", "ecs[0].disable"} <= purge_after
    assert not by_id["sns.settle"].destructive and by_id["sns.settle"].stack is B
    assert by_id["sns.drain"].stack is A and by_id["sns.drain"].undo is None


def test_without_sns_entries_or_with_settle_minutes_0_there_is_no_wait() -> None:
    for plan in (_plan(settle_minutes=0), _plan(sns=None)):
        steps = retire_steps(plan, Toolbox(plan, region=REGION), A)
        ids = {step.id for step in steps}
        assert not ids & {"sns.settle", "sns.drain"}
        assert all(not step.depends_on for step in steps if step.id.endswith(".disable"))


def test_the_prepare_purges_the_replacement_queues_before_anything_of_it_goes_on() -> None:
    plan = _plan()
    steps = prepare_steps(plan, Toolbox(plan, region=REGION), B)
    by_id = {step.id: step for step in steps}
    purge = by_id["sqs[0].purge"]
    assert purge.stack is B and purge.destructive and purge.irreversible and purge.undo is None
    assert "leftovers of its last retirement" in purge.title
    for step in steps:
        if step.id.endswith(".enable"):
            assert "sqs[0].purge" in step.depends_on, step.id


# ------------------------------------------------------------------------------------- the waits


def test_the_first_window_counts_from_when_the_subscriptions_went_on() -> None:
    clock = Clock()
    waits = SettleWaits(15, subscribed_at=lambda: T0 - timedelta(minutes=10), now=clock)
    outcome = waits.new_subscriptions_settled()
    assert isinstance(outcome, WaitFor) and outcome.seconds == pytest.approx(300)
    clock.now = T0 + timedelta(minutes=5)
    assert waits.new_subscriptions_settled() is DONE


def test_the_drain_window_is_recorded_once_and_counts_from_then() -> None:
    clock, marks = Clock(), []

    def mark() -> datetime:
        marks.append(clock.now)
        return marks[0]

    waits = SettleWaits(0.5, mark_unsubscribed=mark, now=clock)
    assert waits.old_consumers_drained() == WaitFor(30.0)
    clock.now = T0 + timedelta(seconds=20)
    assert waits.old_consumers_drained() == WaitFor(10.0)  # still from the first mark, not from now
    clock.now = T0 + timedelta(seconds=31)
    assert waits.old_consumers_drained() is DONE


def test_without_a_recorded_time_a_window_counts_from_the_first_poll_never_earlier() -> None:
    clock = Clock()
    waits = SettleWaits(1, now=clock)
    assert waits.new_subscriptions_settled() == WaitFor(60.0)
    clock.now = T0 + timedelta(seconds=59)
    assert waits.new_subscriptions_settled() == WaitFor(1.0)
    clock.now = T0 + timedelta(seconds=60)
    assert waits.new_subscriptions_settled() is DONE


def test_the_engine_polls_a_wait_when_it_ends_not_on_its_backoff() -> None:
    now = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    polls = iter([WaitFor(7.0), WaitFor(3.0), DONE])
    step = Step("sns.settle", "wait", "sns", B, lambda: next(polls))
    result = Engine([step], sleep=sleep, clock=lambda: now[0], poll_initial=1.0, poll_max=30.0).run()
    assert result.status is RunStatus.SUCCEEDED
    assert slept == [7.0, 3.0]


def test_a_long_wait_hands_over_when_the_invocation_runs_short() -> None:
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    step = Step("sns.drain", "wait", "sns", A, lambda: WaitFor(600.0))
    engine = Engine(
        [step], clock=lambda: now[0], sleep=sleep, time_left=lambda: 120.0 - now[0], handover_seconds=60.0,
        poll_max=30.0,
    )  # fmt: skip
    assert engine.run().status is RunStatus.CONTINUE
    assert now[0] == 60.0  # polled every poll_max seconds until the hand-over


# ------------------------------------------------------------------------------ busy clusters


class _Busy:
    def __init__(self) -> None:
        self.stopped = 0

    def get_cluster_state(self, ref: StackReference) -> ClusterState:
        return ClusterState.AVAILABLE

    def stop_database(self, ref: StackReference) -> None:
        self.stopped += 1
        if self.stopped == 1:
            raise ClusterBusyError(
                "busy", cluster="fn-db-a-dev", state=ClusterState.AVAILABLE, busy={"fn-db-a-dev-writer": "modifying"}
            )

    def cluster_name(self, ref: StackReference) -> str:
        return "fn-db-a-dev"


def test_a_cluster_with_a_busy_instance_is_a_wait_then_a_stop() -> None:
    tools = _Busy()
    stop = cluster_stopped(tools, A)  # type: ignore[arg-type]
    assert stop() is PENDING
    assert stop() is DONE and tools.stopped == 2


class _Raced(_Busy):
    """Read as available, then found stopping by the stop itself (someone else stopped it in between)."""

    def __init__(self) -> None:
        super().__init__()
        self.states = iter([ClusterState.AVAILABLE, ClusterState.STOPPING])

    def get_cluster_state(self, ref: StackReference) -> ClusterState:
        return next(self.states)

    def stop_database(self, ref: StackReference) -> None:
        self.stopped += 1
        raise ClusterStateError("not available", cluster="fn-db-a-dev", state=ClusterState.STOPPING)


def test_a_status_that_changed_between_the_read_and_the_stop_is_read_again() -> None:
    tools = _Raced()
    stop = cluster_stopped(tools, A)  # type: ignore[arg-type]
    assert stop() is PENDING  # not a failure that would put the whole retire back
    assert stop() is DONE and tools.stopped == 1  # stopping: done, without a second stop


# ------------------------------------------------------------------------------------- the plan


def test_settle_minutes_default_fractions_and_round_trip() -> None:
    assert _plan(settle_minutes=None).settle_minutes == 15
    plan = _plan(settle_minutes=2.5)
    assert plan.settle_minutes == 2.5 and parse_plan(plan.to_document()) == plan
    assert _plan(settle_minutes=0).to_document()["settle_minutes"] == 0


@pytest.mark.parametrize("value", [-1, "15", True, float("nan"), 56])
def test_a_bad_settle_minutes_names_the_path(value: object) -> None:
    with pytest.raises(PlanError) as caught:
        _plan(settle_minutes=value)
    assert [path for path, _ in caught.value.problems] == ["plan.settle_minutes"]


def test_the_two_windows_must_fit_in_the_deadline_when_there_are_subscriptions() -> None:
    with pytest.raises(PlanError) as caught:
        _plan(settle_minutes=25, deadline_minutes=50)
    [(path, message)] = caught.value.problems
    assert path == "plan.settle_minutes" and "twice settle_minutes" in message
    with pytest.raises(PlanError) as caught:
        _plan(deadline_minutes=20, settle_minutes=None)  # the default 15 does not fit
    assert [path for path, _ in caught.value.problems] == ["plan.deadline_minutes"]
    assert _plan(deadline_minutes=20, sns=None).deadline_minutes == 20  # no subscriptions, no windows
    assert _plan(deadline_minutes=20, settle_minutes=9.4).settle_minutes == 9.4
    with pytest.raises(PlanError, match="twice settle_minutes"):  # 19 minutes of waits, and the minute to report
        _plan(deadline_minutes=20, settle_minutes=9.5)


# ------------------------------------------------------------------------------ waits of the engine


def test_mapping_steps_are_bounded_waits_and_nothing_else_is() -> None:
    """A mapping in transition is a pending step with its own bound (MAPPING_BOUND_SECONDS), not a tool's sleep."""
    from bluegreen.services.lambda_ import MAPPING_BOUND_SECONDS  # noqa: PLC0415

    plan = _plan()
    box = Toolbox(plan, region=REGION)
    steps = [*prepare_steps(plan, box, B), *retire_steps(plan, box, A)]
    bounded = {step.id for step in steps if step.bound is not None}
    assert bounded == {
        "lambda[0].mappings.enable",
        "lambda[0].mappings.disable",
        "kinesis[0].map",
        "kinesis[0].unmap",
    }
    assert {step.bound for step in steps if step.bound is not None} == {MAPPING_BOUND_SECONDS}
