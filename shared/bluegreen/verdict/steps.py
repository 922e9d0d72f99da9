"""The verdict as steps: one read-only step per moment, which measures, judges, records, and fails on a bad release.

:func:`before_traffic_step` (the prepare's last step, or the test-traffic hook's only one) and
:func:`before_retire_step` (the retire's first gate: every step that touches the old stack waits for
it) read what the plan's ``verdict`` asks for, judge it (:mod:`bluegreen.verdict.judge`), give the
:class:`~bluegreen.verdict.judge.Judgement` to :attr:`VerdictContext.record` (the hooks keep it in
the live-stack record), and raise :class:`~bluegreen.verdict.judge.VerdictFailed` when a check failed.
The before-retire step first waits out ``observe_minutes`` of live traffic (a :class:`WaitFor`, as
the settle windows wait), counted from :attr:`VerdictContext.observed_from` (the flip).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from bluegreen.datatypes import datatype
from bluegreen.services._kit import pick
from bluegreen.steps import DONE, Step, StepOutcome, WaitFor
from bluegreen.verdict.model import BEFORE_RETIRE_STEP, BEFORE_TRAFFIC_STEP

if TYPE_CHECKING:
    from bluegreen.plan import Plan
    from bluegreen.refs import StackReference
    from bluegreen.tools.cloudwatch import AlarmStack
    from bluegreen.tools.verdict import VerdictTools
    from bluegreen.verdict.judge import Check
    from bluegreen.verdict.model import BeforeRetire, BeforeTraffic

__all__ = [
    "BEFORE_RETIRE_STEP",
    "BEFORE_TRAFFIC_STEP",
    "VerdictContext",
    "before_retire_step",
    "before_traffic_step",
    "missing_verdict_hook",
]


def _utc_now() -> datetime:
    return datetime.now(UTC)


@datatype(frozen=False)
class VerdictContext:
    """What a verdict step needs from the run: where to keep its judgement, and when live traffic began.

    ``record(moment, judgement)`` keeps the judgement (the hooks: in the live-stack record; the dry
    run and direct callers: nowhere). ``observed_from()`` is when the replacement went live (the
    flip), or None: the window then counts from the first time this process polled the step.
    """

    record: Callable[[str, dict[str, Any]], None] = lambda moment, judgement: None
    observed_from: Callable[[], datetime | None] = lambda: None
    now: Callable[[], datetime] = _utc_now
    _first_poll: list[datetime] = field(default_factory=list, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def since(self) -> datetime:
        """When the observed window began: ``observed_from()``, else this process's first poll."""
        known = self.observed_from()
        if known is not None:
            return known
        with self._lock:
            if not self._first_poll:
                self._first_poll.append(self.now())
            return self._first_poll[0]


def _alarm_sets(plan: Plan, stack: StackReference) -> list[AlarmStack]:
    from bluegreen.tools.cloudwatch import AlarmStack  # noqa: PLC0415 - the tool loads when a verdict runs

    sets = [pick(stack, entry.a, entry.b) for entry in plan.cloudwatch]
    return [AlarmStack(s.alarm_prefix, s.alarm_suffix) for s in sets]


def functions(plan: Plan, stack: StackReference) -> tuple[list[str], list[str]]:
    """The replacement's functions the plan names (``lambda``, ``kinesis[].feeds``), and those reading a stream."""
    from bluegreen.reading.names import _base_name  # noqa: PLC0415

    named: Callable[[Any], str] = lambda pair: _base_name(pick(stack, pair.a, pair.b))  # noqa: E731
    fed = [named(entry.feeds) for entry in plan.kinesis if entry.feeds is not None]
    return list(dict.fromkeys([*(named(entry) for entry in plan.lambda_), *fed])), fed


def dead_letter_queues(plan: Plan, stack: StackReference) -> list[str]:
    """The replacement's dead-letter queues named in the plan's ``sqs`` entries."""
    found = [pick(stack, entry.a, entry.b).dlq for entry in plan.sqs]
    return [queue for queue in found if queue]


def _alarm_calls(plan: Plan, stack: StackReference, names: tuple[str, ...], sets_too: bool) -> list[str]:
    sets = [f"{s.alarm_prefix}*{s.alarm_suffix or ''}" for s in _alarm_sets(plan, stack)] if sets_too else []
    what = [*sets, *names]
    return [f"cloudwatch:DescribeAlarms ({', '.join(what)}): none may be in ALARM"] if what else []


def _alarm_checks(
    box: Any, plan: Plan, stack: StackReference, names: tuple[str, ...], *, sets_too: bool
) -> list[Check]:
    """The alarms named for ``stack``, and (``sets_too``: the moment's ``alarms``) its alarm sets of the plan."""
    from bluegreen.verdict.judge import alarm_checks  # noqa: PLC0415

    sets = _alarm_sets(plan, stack) if sets_too else []
    if not sets and not names:
        return []
    tools: VerdictTools = box.verdict()
    states = tools.alarm_states(sets, names)
    return alarm_checks(stack, [(s.name, s.state, s.reason) for s in states])


def before_traffic_at(plan: Plan) -> str | None:
    """Where the plan's before-traffic verdict runs (``prepare`` or ``test-traffic``); None without one."""
    checks = plan.verdict.before_traffic if plan.verdict is not None else None
    return checks.at if checks is not None else None


def missing_verdict_hook(plan: Plan, deployment: str, platform: str | None) -> str | None:
    """Why the plan's before-traffic verdict would never run in this deployment, or None.

    ``at: test-traffic`` runs in the hook at AfterAllowTestTraffic, which CodeDeploy has only for ECS
    deployments (``computePlatform``): a Lambda deployment would go through with nothing judged before
    traffic. None when the platform is not known (a flow run by hand).
    """
    if before_traffic_at(plan) != "test-traffic" or platform in (None, "ECS"):
        return None
    return (
        f"plan.verdict.before_traffic.at is test-traffic, but {deployment} is a {platform} deployment: only an "
        "ECS deployment has the AfterAllowTestTraffic hook that runs that verdict, so it would never run; "
        "use at: prepare"
    )


def before_traffic_step(plan: Plan, box: Any, stack: StackReference, context: VerdictContext) -> Step | None:
    """The read-only step that judges ``stack`` before traffic reaches it; None when the plan asks nothing then."""
    checks: BeforeTraffic | None = plan.verdict.before_traffic if plan.verdict is not None else None
    if checks is None:
        return None
    names = pick(stack, *checks.alarm_names)

    def action() -> StepOutcome:
        from bluegreen.verdict.judge import BEFORE_TRAFFIC, Judgement, VerdictFailed, smoke_check  # noqa: PLC0415

        found = _alarm_checks(box, plan, stack, names, sets_too=checks.alarms)
        if checks.smoke is not None:
            function = checks.smoke.function(stack)
            tools: VerdictTools = box.verdict()
            answer = tools.invoke_smoke(function, checks.smoke.payload, checks.smoke.timeout_seconds)
            found.append(smoke_check(function, answer.outcome, answer.detail, checks.smoke.timeout_seconds))
        judgement = Judgement(BEFORE_TRAFFIC, stack, tuple(found), at=context.now().isoformat())
        context.record(BEFORE_TRAFFIC, judgement.to_record())
        if not judgement.passed:
            raise VerdictFailed(judgement)
        return DONE

    calls = _alarm_calls(plan, stack, names, checks.alarms)
    if checks.smoke is not None:
        smoke = checks.smoke
        calls.append(f"lambda:Invoke {smoke.function(stack)} (RequestResponse, {smoke.timeout_seconds} s, no retry)")
    calls.append("dynamodb:UpdateItem deployment.verdict_before_traffic (the judgement)")
    return Step(
        BEFORE_TRAFFIC_STEP, f"judge stack {stack.value} before traffic", "verdict", stack, action, calls=tuple(calls)
    )


def _retire_calls(plan: Plan, stack: StackReference, checks: BeforeRetire) -> list[str]:
    calls = []
    if checks.observe_minutes > 0:
        calls.append(f"(a wait: {checks.observe_minutes:g} min of live traffic, counted from the flip)")
    calls += _alarm_calls(plan, stack, pick(stack, *checks.alarm_names), checks.alarms)
    measured, fed = functions(plan, stack)
    metrics = []
    if checks.lambda_limits and measured:
        limits = ", ".join(f"{key} {value:g}" for key, value in checks.lambda_limits)
        metrics.append(f"Errors, Throttles, Invocations of {', '.join(measured)} ({limits})")
    if checks.max_iterator_age_seconds is not None and fed:
        metrics.append(f"IteratorAge of {', '.join(fed)} (≤ {checks.max_iterator_age_seconds:g} s)")
    queues = dead_letter_queues(plan, stack)
    if checks.max_dlq_growth is not None and queues:
        metrics.append(f"depth of {', '.join(queues)} (growth ≤ {checks.max_dlq_growth})")
    if metrics:
        calls.append(f"cloudwatch:GetMetricData over the window: {'; '.join(metrics)}")
    calls.append("dynamodb:UpdateItem deployment.verdict_before_retire (the judgement)")
    return calls


def _metric_checks(
    box: Any, plan: Plan, stack: StackReference, checks: BeforeRetire, window: tuple[datetime, datetime]
) -> tuple[list[Check], str]:
    """The window's metrics against the ``lambda``, ``kinesis`` and ``dlq`` thresholds; and the window measured."""
    from bluegreen.verdict import judge  # noqa: PLC0415

    measured, fed = functions(plan, stack)
    limits = dict(checks.lambda_limits)
    measured = measured if limits else []
    age, growth = checks.max_iterator_age_seconds, checks.max_dlq_growth
    fed = fed if age is not None else []
    queues = dead_letter_queues(plan, stack) if growth is not None else []
    if not (measured or fed or queues):
        return [], ""
    tools: VerdictTools = box.verdict()
    data = tools.window_metrics(*window, functions=measured, stream_functions=fed, queues=queues)
    found: list[Check] = []
    for function in measured:
        sums = {metric: data.sums.get((metric, function), 0.0) for metric in ("Errors", "Throttles", "Invocations")}
        found += judge.lambda_checks(function, sums, limits)
    found += [judge.iterator_check(f, data.iterator_age_ms.get(f), age) for f in fed if age is not None]
    found += [judge.dlq_check(q, data.depths.get(q, []), growth) for q in queues if growth is not None]
    return found, f"{data.start.isoformat()}/{data.end.isoformat()}"


def before_retire_step(plan: Plan, box: Any, stack: StackReference, context: VerdictContext) -> Step | None:
    """The read-only step that judges the new live ``stack`` after its observed window (None: nothing to judge)."""
    checks: BeforeRetire | None = plan.verdict.before_retire if plan.verdict is not None else None
    if checks is None:
        return None
    names = pick(stack, *checks.alarm_names)

    def action() -> StepOutcome:
        from bluegreen.verdict import judge  # noqa: PLC0415

        since, now = context.since(), context.now()
        left = (since + timedelta(minutes=checks.observe_minutes) - now).total_seconds()
        if left > 0:
            return WaitFor(left)
        found = _alarm_checks(box, plan, stack, names, sets_too=checks.alarms)
        metrics, window = _metric_checks(box, plan, stack, checks, (since, now))
        judgement = judge.Judgement(
            judge.BEFORE_RETIRE, stack, tuple([*found, *metrics]), at=now.isoformat(), window=window
        )
        context.record(judge.BEFORE_RETIRE, judgement.to_record())
        if not judgement.passed:
            raise judge.VerdictFailed(judgement)
        return DONE

    observe = f" after {checks.observe_minutes:g} min of live traffic" if checks.observe_minutes > 0 else ""
    return Step(
        BEFORE_RETIRE_STEP, f"judge stack {stack.value}{observe}, before the old stack is touched", "verdict", stack,
        action, calls=tuple(_retire_calls(plan, stack, checks)),
    )  # fmt: skip
