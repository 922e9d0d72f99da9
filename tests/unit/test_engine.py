from __future__ import annotations

import threading

import pytest

from bluegreen.engine import (
    DONE,
    PENDING,
    Engine,
    LiveStackError,
    RunStatus,
    Step,
    StepEvent,
    StepEventKind,
    StepStatus,
    reversed_steps,
    validate,
    waves,
)
from bluegreen.refs import StackReference

A, B = StackReference.A, StackReference.B


def step(id: str, action=lambda: DONE, deps: tuple[str, ...] = (), **kw) -> Step:  # type: ignore[no-untyped-def]
    return Step(id=id, title=id, service="test", stack=kw.pop("stack", B), action=action, depends_on=deps, **kw)


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_validate_rejects_duplicates_unknown_deps_and_cycles() -> None:
    with pytest.raises(ValueError, match="duplicate"):
        validate([step("x"), step("x")])
    with pytest.raises(ValueError, match="unknown"):
        validate([step("x", deps=("nope",))])
    with pytest.raises(ValueError, match="cycle"):
        validate([step("x", deps=("y",)), step("y", deps=("x",))])


def test_dependency_order_is_respected_and_independent_steps_overlap() -> None:
    order: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(3, timeout=5)

    def parallel(name: str):  # type: ignore[no-untyped-def]
        def run() -> StepStatus:
            barrier.wait()  # only passes if all three run at the same time
            with lock:
                order.append(name)
            return DONE

        return run

    def last() -> StepStatus:
        order.append("last")
        return DONE

    steps = [step("p1", parallel("p1")), step("p2", parallel("p2")), step("p3", parallel("p3"))]
    steps.append(step("last", last, deps=("p1", "p2", "p3")))
    result = Engine(steps).run()
    assert result.status is RunStatus.SUCCEEDED
    assert order[-1] == "last"
    assert set(order[:3]) == {"p1", "p2", "p3"}
    assert result.done[-1] == "last"


def test_waves_group_steps_by_dependency_depth() -> None:
    steps = [step("a"), step("b"), step("c", deps=("a",)), step("d", deps=("c", "b"))]
    assert [[s.id for s in wave] for wave in waves(steps)] == [["a", "b"], ["c"], ["d"]]


def test_a_failure_stops_new_steps_and_reports_the_error() -> None:
    ran: list[str] = []

    def boom() -> StepStatus:
        raise RuntimeError("AccessDenied")

    steps = [step("bad", boom), step("after", lambda: ran.append("after") or DONE, deps=("bad",))]
    result = Engine(steps).run()
    assert result.status is RunStatus.FAILED
    assert result.errors == {"bad": "RuntimeError: AccessDenied"}
    assert ran == []
    assert "AccessDenied" in result.message


def test_a_failed_step_reports_how_long_it_ran() -> None:
    clock = FakeClock()
    events: list[StepEvent] = []

    def slow_then_boom() -> StepStatus:
        clock.sleep(12.5)  # a call that hung, then failed
        raise RuntimeError("ReadTimeout")

    result = Engine([step("slow", slow_then_boom)], clock=clock, sleep=clock.sleep, on_event=events.append).run()
    assert result.errors == {"slow": "RuntimeError: ReadTimeout"}
    [failed] = [event for event in events if event.kind is StepEventKind.FAILED]
    assert (failed.seconds, failed.error) == (12.5, "RuntimeError: ReadTimeout")


def test_finished_steps_from_an_earlier_invocation_are_not_repeated() -> None:
    ran: list[str] = []
    steps = [step(i, lambda i=i: ran.append(i) or DONE) for i in ("x", "y")]
    steps.append(step("z", lambda: ran.append("z") or DONE, deps=("x", "y")))
    result = Engine(steps).run(done=["x"])
    assert result.status is RunStatus.SUCCEEDED
    assert sorted(ran) == ["y", "z"]


def test_pending_steps_are_polled_with_backoff_until_done() -> None:
    clock = FakeClock()
    answers = iter([PENDING, PENDING, PENDING, DONE])
    steps = [step("wait", lambda: next(answers))]
    result = Engine(steps, clock=clock, sleep=clock.sleep, poll_initial=5, poll_max=8).run()
    assert result.status is RunStatus.SUCCEEDED
    assert clock.now == 5 + 8 + 8  # 5, then doubled but capped at 8


def test_a_step_pending_past_its_own_bound_fails_naming_it_while_others_wait_on() -> None:
    clock = FakeClock()
    polls = {"bounded": 0, "free": 0}

    def pending(name: str):  # type: ignore[no-untyped-def]
        def run() -> StepStatus:
            polls[name] += 1
            return PENDING

        return run

    steps = [step("bounded", pending("bounded"), bound=20), step("free", pending("free"))]
    result = Engine(steps, clock=clock, sleep=clock.sleep, poll_initial=5, poll_max=8).run()
    assert result.status is RunStatus.FAILED
    assert result.errors == {"bounded": "still pending after 21 s: past its bound of 20 s"}
    assert clock.now == 21  # polled at 0, 5, 13, 21: the poll at 21 is past the bound
    assert polls["bounded"] == 4


def test_without_a_bound_only_the_deadline_ends_a_wait() -> None:
    clock = FakeClock()
    steps = [step("wait", lambda: PENDING)]
    engine = Engine(steps, clock=clock, sleep=clock.sleep, deadline_left=lambda: 500 - clock.now, poll_initial=5)
    result = engine.run()
    assert result.status is RunStatus.FAILED and result.errors == {}
    assert "deadline" in (result.reason or "") and clock.now > 100


def test_low_remaining_time_hands_over_to_a_reinvocation() -> None:
    clock = FakeClock()
    ran: list[str] = []
    steps = [step("quick", lambda: ran.append("quick") or DONE), step("wait", lambda: PENDING)]
    engine = Engine(
        steps, clock=clock, sleep=clock.sleep, time_left=lambda: 100 - clock.now, handover_seconds=60, poll_initial=10
    )
    result = engine.run()
    assert result.status is RunStatus.CONTINUE
    assert result.done == ["quick"]
    assert clock.now == 30  # polled at 10 and 30 (backoff 10, 20); the next poll (at 70) would cross the handover


def test_waiting_past_the_deadline_fails() -> None:
    clock = FakeClock()
    steps = [step("wait", lambda: PENDING)]
    engine = Engine(steps, clock=clock, sleep=clock.sleep, deadline_left=lambda: 50 - clock.now, poll_initial=20)
    result = engine.run()
    assert result.status is RunStatus.FAILED
    assert "deadline" in (result.reason or "")
    assert clock.now < 50


def test_nothing_starts_once_the_deadline_has_passed() -> None:
    ran: list[str] = []
    result = Engine([step("x", lambda: ran.append("x") or DONE)], deadline_left=lambda: 0).run()
    assert result.status is RunStatus.FAILED
    assert ran == []


def test_guard_refuses_destructive_steps_on_the_live_stack() -> None:
    ran: list[str] = []

    def guard(s: Step) -> None:
        if s.stack is A:
            raise LiveStackError(f"refusing {s.id}: stack a is live")

    steps = [
        step("purge-a", lambda: ran.append("a") or DONE, stack=A, destructive=True),
        step("enable-a", lambda: ran.append("enable") or DONE, stack=A),
    ]
    result = Engine(steps, guard=guard).run()
    assert result.status is RunStatus.FAILED
    assert "stack a is live" in result.errors["purge-a"]
    assert "a" not in ran


def test_events_report_every_step() -> None:
    events: list[StepEvent] = []
    Engine([step("x"), step("y", deps=("x",))], on_event=events.append).run()
    assert [(e.step.id, e.kind) for e in events] == [
        ("x", StepEventKind.START),
        ("x", StepEventKind.DONE),
        ("y", StepEventKind.START),
        ("y", StepEventKind.DONE),
    ]


def test_undo_runs_in_reverse_dependency_order_and_keeps_going() -> None:
    undone: list[str] = []

    def undo(name: str):  # type: ignore[no-untyped-def]
        def run() -> None:
            if name == "mid":
                raise RuntimeError("cannot")
            undone.append(name)

        return run

    steps = [
        step("first", undo=undo("first")),
        step("mid", deps=("first",), undo=undo("mid")),
        step("last", deps=("mid",), undo=undo("last")),
        step("never-ran", undo=undo("never-ran")),
    ]
    undo_steps = reversed_steps(steps, done=["first", "mid", "last"])
    result = Engine(undo_steps, keep_going=True).run()
    assert result.status is RunStatus.FAILED
    assert undone == ["last", "first"]
    assert list(result.errors) == ["undo:mid"]


def test_steps_really_run_concurrently_within_a_bounded_pool() -> None:
    active = 0
    peak = 0
    lock = threading.Lock()
    barrier = threading.Barrier(4, timeout=5)  # passes only when four steps run at once

    def step_body() -> StepStatus:
        nonlocal active, peak
        with lock:
            active += 1
            peak = max(peak, active)
        barrier.wait()
        with lock:
            active -= 1
        return DONE

    result = Engine([step(f"s{i}", step_body) for i in range(8)], max_workers=4).run()
    assert result.status is RunStatus.SUCCEEDED
    assert peak == 4


def test_a_failed_step_counts_as_started_so_its_undo_runs() -> None:
    def boom() -> StepStatus:
        raise RuntimeError("half done")

    result = Engine([step("ok"), step("bad", boom)]).run()
    assert result.status is RunStatus.FAILED
    assert sorted(result.started) == ["bad", "ok"]
    assert result.done == ["ok"]


def test_no_step_starts_when_time_is_short() -> None:
    ran: list[str] = []
    result = Engine([step("x", lambda: ran.append("x") or DONE)], time_left=lambda: 10, handover_seconds=60).run()
    assert result.status is RunStatus.CONTINUE
    assert ran == []


def test_a_due_poll_with_little_time_left_does_not_spin_while_another_step_runs() -> None:
    calls = 0
    release = threading.Event()

    def time_left() -> float:
        nonlocal calls
        calls += 1
        return 10.0 if started.is_set() else 900.0

    started = threading.Event()

    def slow() -> StepStatus:
        started.set()
        release.wait(5)
        return DONE

    def pending() -> StepStatus:
        return PENDING

    timer = threading.Timer(0.3, release.set)
    timer.start()
    result = Engine(
        [step("slow", slow), step("wait", pending)], time_left=time_left, handover_seconds=60, poll_initial=0.0
    ).run()
    timer.cancel()
    assert result.status is RunStatus.CONTINUE
    assert result.done == ["slow"]
    assert calls < 100  # a spinning loop would ask thousands of times in 0.3 s


def test_an_undo_may_wait_like_a_step() -> None:
    answers = iter([PENDING, DONE])
    undo_steps = reversed_steps([step("stop", undo=lambda: next(answers))], done=["stop"])
    result = Engine(undo_steps, poll_initial=0.0, keep_going=True).run()
    assert result.status is RunStatus.SUCCEEDED
    assert result.done == ["undo:stop"]
