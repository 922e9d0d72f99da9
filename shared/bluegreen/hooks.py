"""The two CodeDeploy hooks: prepare (BeforeAllowTraffic) and retire (AfterAllowTraffic).

:func:`handle` is what the Lambda handlers call. It parses the CodeDeploy event, runs the flow
against the live-stack record, and reports exactly one status for the hook execution:

- Succeeded only when every step finished; Failed on any error, a bad plan, a deployment that was
  never prepared, or a deadline that would be missed.
- A duplicate delivery of an execution already reported re-sends the status recorded for it.
- When work is still pending (an Aurora cluster starting) and the invocation's time runs low, it
  re-invokes its own function asynchronously with the same event plus its progress and returns
  without reporting; past the plan's deadline (counted from the first start) it reports Failed.
- A failed prepare puts the replacement back to retired; a failed retire undoes what it did to the
  old stack and flips the record back, so CodeDeploy's rollback finds the old stack serving.

:func:`run_flow` runs either flow by hand, outside CodeDeploy (``bluegreen run``): the same steps and
record writes, no report, waits polled in process.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import boto3

from bluegreen.aws import make_client
from bluegreen.engine import Engine, LiveStackError, RunResult, RunStatus, Step, StepEvent, reversed_steps
from bluegreen.flows import prepare_steps, retire_steps
from bluegreen.plan import Plan, load_plan_from_env
from bluegreen.refs import StackReference
from bluegreen.state import LiveRecord, Phase, StateConflict, StateStore
from bluegreen.toolbox import Toolbox
from bluegreen.tools.codedeploy import CodeDeployReporter, HookStatus

logger = logging.getLogger(__name__)

PROGRESS_KEY = "bluegreen"
#: The template's cap on a hook's deadline, in minutes (it also bounds the re-invocation events' age).
DEADLINE_ENV = "BLUEGREEN_DEADLINE_MINUTES"


class Flow(StrEnum):
    """Which hook: prepare the replacement (BeforeAllowTraffic) or retire the old stack (AfterAllowTraffic)."""

    PREPARE = "before-allow-traffic"
    RETIRE = "after-allow-traffic"


@dataclass(frozen=True)
class HookRequest:
    """A CodeDeploy lifecycle hook event, plus the progress a re-invocation carries."""

    deployment_id: str
    execution_id: str
    done: tuple[str, ...] = ()
    first_started: float | None = None
    invocation: int = 1
    event: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_event(cls, event: Mapping[str, Any]) -> HookRequest:
        """Read ``DeploymentId`` and ``LifecycleEventHookExecutionId``; raise ``ValueError`` naming a missing one."""
        if not isinstance(event, Mapping):
            raise ValueError(f"a CodeDeploy hook event must be a JSON object, got {type(event).__name__}")
        missing = [k for k in ("DeploymentId", "LifecycleEventHookExecutionId") if not event.get(k)]
        if missing:
            raise ValueError(f"not a CodeDeploy lifecycle hook event: missing {' and '.join(missing)}")
        for key in ("DeploymentId", "LifecycleEventHookExecutionId"):
            if not isinstance(event[key], str):
                raise ValueError(f"{key} must be a string, got {type(event[key]).__name__}")
        progress = event.get(PROGRESS_KEY) or {}
        if not isinstance(progress, Mapping):
            progress = {}
        done = progress.get("done") or []
        first = progress.get("first_started")
        return cls(
            deployment_id=event["DeploymentId"],
            execution_id=event["LifecycleEventHookExecutionId"],
            done=tuple(str(d) for d in done) if isinstance(done, list) else (),
            first_started=float(first) if isinstance(first, int | float) else None,
            invocation=int(progress.get("invocation", 1)) if isinstance(progress.get("invocation", 1), int) else 1,
            event=event,
        )

    def continuation(self, done: list[str], first_started: float) -> dict[str, Any]:
        """The event for the next invocation: the same event, plus the finished steps and the first start."""
        event = {k: v for k, v in self.event.items() if k != PROGRESS_KEY}
        event[PROGRESS_KEY] = {"done": done, "first_started": first_started, "invocation": self.invocation + 1}
        return event


@dataclass
class HookResult:
    """What a hook invocation did: the status it reported (None when it handed over), and why."""

    status: HookStatus | None
    message: str = ""
    done: list[str] = field(default_factory=list)
    reported: bool = False


class Runtime:
    """What a warm Lambda keeps between invocations: the plan, its tools, the record, the reporter."""

    def __init__(
        self,
        plan: Plan,
        *,
        store: StateStore,
        region: str,
        session: boto3.Session | None = None,
        deadline_minutes: int | None = None,
    ) -> None:
        """Hold the plan and make its toolbox (no client is made until a tool is first used).

        ``deadline_minutes`` (the template's ``BLUEGREEN_DEADLINE_MINUTES``, which also bounds the age
        of the re-invocation events) caps the plan's ``deadline_minutes``: the smaller one applies.
        """
        self.plan = plan
        self.deadline_minutes = min(plan.deadline_minutes, deadline_minutes or plan.deadline_minutes)
        self.store = store
        self.region = region
        self.toolbox = Toolbox(plan, region=region, account_id=plan.account_id, session=session)
        self.reporter = CodeDeployReporter(region=region, session=session)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Runtime:
        """Load the plan (``BLUEGREEN_PLAN_*``) and the record table (``BLUEGREEN_STATE_TABLE``) from the env."""
        env = os.environ if environ is None else environ
        plan = load_plan_from_env(env)
        region = plan.region or env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION")
        if not region:
            raise ValueError("no region: set plan.region, or AWS_REGION in the environment")
        raw_deadline = env.get(DEADLINE_ENV, "")
        deadline = int(raw_deadline) if raw_deadline.isdigit() and int(raw_deadline) > 0 else None
        return cls(plan, store=StateStore.from_env(env), region=region, deadline_minutes=deadline)


Reinvoker = Callable[[dict[str, Any]], None]


def lambda_reinvoker(function_arn: str, *, region: str | None = None) -> Reinvoker:
    """A re-invoker that sends the continuation event to ``function_arn`` asynchronously (``InvocationType=Event``)."""

    def reinvoke(event: dict[str, Any]) -> None:
        client = make_client("lambda", region=region)
        client.invoke(FunctionName=function_arn, InvocationType="Event", Payload=json.dumps(event).encode())

    return reinvoke


def _guard(store: StateStore, application: str) -> Callable[[Step], None]:
    """Refuse destructive steps on the stack the record says is live (read once per run, consistently)."""
    cache: dict[str, StackReference] = {}

    def guard(step: Step) -> None:
        if "live" not in cache:
            record = store.get(application)
            if record is None:
                raise LiveStackError(f"no live-stack record for {application!r}: refusing {step.id}")
            cache["live"] = record.live
        if step.stack is cache["live"]:
            raise LiveStackError(f"refusing {step.id}: stack {step.stack.value} is live")

    return guard


@dataclass
class _Clock:
    first_started: float
    deadline_minutes: int
    time_left: Callable[[], float]
    now: Callable[[], float] = time.time

    def deadline_left(self) -> float:
        return self.first_started + self.deadline_minutes * 60 - self.now()


def _engine(
    steps: list[Step],
    clock: _Clock,
    guard: Callable[[Step], None],
    on_event: Callable[[StepEvent], None] | None,
    **kw: Any,
) -> Engine:
    return Engine(
        steps, time_left=clock.time_left, deadline_left=clock.deadline_left, guard=guard, on_event=on_event, **kw
    )


def _undo(
    steps: list[Step],
    done: list[str],
    clock: _Clock,
    guard: Callable[[Step], None],
    on_event: Callable[[StepEvent], None] | None,
    *,
    destructive: bool,
) -> RunResult:
    undo_steps = reversed_steps(steps, done, destructive=destructive)
    return Engine(undo_steps, guard=guard, on_event=on_event, keep_going=True).run()


def _close(store: StateStore, application: str, deployment_id: str, phase: Phase) -> None:
    """Record the deployment's final phase; a failure here is logged (the report still goes out)."""
    try:
        store.finish(application, deployment_id, phase)
    except Exception:
        logger.exception("could not record %s as %s", deployment_id, phase.value)


def run_prepare(
    runtime: Runtime,
    request: HookRequest,
    clock: _Clock,
    on_event: Callable[[StepEvent], None] | None = None,
    **engine_kw: Any,
) -> tuple[RunResult, str]:
    """Prepare the replacement stack for deployment ``request.deployment_id``; returns the run and a message."""
    plan, store = runtime.plan, runtime.store
    record = store.begin(plan.application, request.deployment_id, plan.initial_live)
    if record.phase in (Phase.PREPARED,):
        return RunResult(RunStatus.SUCCEEDED), f"stack {record.replacement_stack.value} already prepared"
    if record.phase is not Phase.PREPARING:
        return RunResult(RunStatus.FAILED), f"deployment {request.deployment_id} is {record.phase}: nothing done"
    replacement = record.replacement_stack
    steps = prepare_steps(plan, runtime.toolbox, replacement)
    guard = _guard(store, plan.application)
    result = _engine(steps, clock, guard, on_event, **engine_kw).run(request.done)
    if result.status is RunStatus.SUCCEEDED:
        store.set_phase(plan.application, request.deployment_id, Phase.PREPARED, expected={Phase.PREPARING})
        return result, f"stack {replacement.value} prepared"
    if result.status is RunStatus.FAILED:
        done = [*request.done, *result.done]
        undo = _undo(steps, done, clock, guard, on_event, destructive=True)
        store.finish(plan.application, request.deployment_id, Phase.PREPARE_FAILED)
        message = f"prepare of stack {replacement.value} failed: {result.message}"
        if undo.errors:
            message += f"; putting it back to retired also failed: {undo.message}"
        return result, message
    return result, "waiting"


def run_retire(  # noqa: PLR0911 - one return per phase the record can be in
    runtime: Runtime,
    request: HookRequest,
    clock: _Clock,
    on_event: Callable[[StepEvent], None] | None = None,
    **engine_kw: Any,
) -> tuple[RunResult, str]:
    """Flip the record to the prepared stack and retire the old one; on failure put the old stack back."""
    plan, store = runtime.plan, runtime.store
    app, deployment = plan.application, request.deployment_id
    record: LiveRecord | None = store.get(app)
    if record is None or record.deployment_id != deployment:
        holding = "no record" if record is None else f"deployment {record.deployment_id} ({record.phase})"
        return RunResult(RunStatus.FAILED), f"deployment {deployment} was never prepared (the record holds {holding})"
    if record.phase is Phase.RETIRED:
        return RunResult(
            RunStatus.SUCCEEDED
        ), f"deployment {deployment} already retired stack {record.live.partner.value}"
    if record.phase is Phase.PREPARED:
        try:
            record = store.flip(app, deployment)
        except Exception as exc:
            logger.exception("the flip of %s failed", deployment)
            _close(store, app, deployment, Phase.ROLLED_BACK)
            return RunResult(RunStatus.FAILED), f"the flip failed, nothing was retired: {type(exc).__name__}: {exc}"
    elif record.phase is not Phase.FLIPPED:
        return RunResult(RunStatus.FAILED), f"deployment {deployment} is {record.phase}, not prepared: nothing done"
    old = record.live.partner
    steps = retire_steps(plan, runtime.toolbox, old)
    guard = _guard(store, app)
    result = _engine(steps, clock, guard, on_event, **engine_kw).run(request.done)
    if result.status is RunStatus.SUCCEEDED:
        store.finish(app, deployment, Phase.RETIRED)
        return result, f"stack {record.live.value} is live; stack {old.value} retired"
    if result.status is RunStatus.FAILED:
        done = [*request.done, *result.done]
        undo = _undo(steps, done, clock, lambda step: None, on_event, destructive=False)
        store.unflip(app, deployment)
        store.finish(app, deployment, Phase.ROLLED_BACK)
        message = f"retire of stack {old.value} failed: {result.message}; stack {old.value} is live again"
        if undo.errors:
            message += f"; restoring it also failed: {undo.message}"
        return result, message
    return result, "waiting"


def run_flow(
    runtime: Runtime,
    flow: Flow,
    deployment_id: str,
    *,
    on_event: Callable[[StepEvent], None] | None = None,
    execution_id: str = "manual",
    now: Callable[[], float] = time.time,
    **engine_kw: Any,
) -> tuple[RunResult, str]:
    """Run ``flow`` for ``deployment_id`` in this process, to the end: a flow run by hand (``bluegreen run``).

    The same :func:`run_prepare` / :func:`run_retire` the hooks run, with the same record writes,
    live-stack guard and undo on failure, but outside CodeDeploy: no status is reported and nothing is
    re-invoked. Waits (an Aurora cluster starting) are polled here until done, bounded by the plan's
    ``deadline_minutes`` counted from now. ``execution_id`` only labels the request (no report is
    recorded for it). Raises what the record raises (:class:`StateConflict`, a missing table).
    """
    request = HookRequest(deployment_id=deployment_id, execution_id=execution_id)
    clock = _Clock(
        first_started=now(), deadline_minutes=runtime.deadline_minutes, time_left=lambda: float("inf"), now=now
    )
    run = run_prepare if flow is Flow.PREPARE else run_retire
    return run(runtime, request, clock, on_event, **engine_kw)


def handle(
    flow: Flow,
    event: Mapping[str, Any],
    *,
    runtime: Callable[[], Runtime],
    time_left: Callable[[], float],
    reinvoke: Reinvoker | None,
    on_event: Callable[[StepEvent], None] | None = None,
    now: Callable[[], float] = time.time,
    reporter: CodeDeployReporter | None = None,
    **engine_kw: Any,
) -> HookResult:
    """Run ``flow`` for one CodeDeploy event and report its status exactly once (see the module docstring).

    ``runtime`` makes (or returns the cached) :class:`Runtime`; a failure there — a bad plan, a missing
    variable — is reported as Failed. An event without the CodeDeploy ids raises ``ValueError``:
    there is no one to report to.
    """
    request = HookRequest.from_event(event)
    started = request.first_started or now()
    try:
        rt = runtime()
    except Exception as exc:
        logger.exception("cannot set up the %s hook", flow.value)
        fallback = reporter or CodeDeployReporter(region=os.environ.get("AWS_REGION"))
        message = f"{type(exc).__name__}: {exc}"
        sent = fallback.report(request.deployment_id, request.execution_id, HookStatus.FAILED)
        return HookResult(HookStatus.FAILED, message, reported=sent)
    send = reporter or rt.reporter
    app = rt.plan.application
    try:
        prior = rt.store.reported_status(app, request.execution_id)
    except Exception:
        logger.exception("could not read whether %s was already reported", request.execution_id)
        prior = None
    if prior is not None:
        logger.info("hook execution %s was already reported %s; sending the same status", request.execution_id, prior)
        sent = send.report(request.deployment_id, request.execution_id, prior)
        return HookResult(HookStatus(prior), "duplicate delivery", reported=sent)
    clock = _Clock(first_started=started, deadline_minutes=rt.deadline_minutes, time_left=time_left, now=now)
    run = run_prepare if flow is Flow.PREPARE else run_retire
    try:
        result, message = run(rt, request, clock, on_event, **engine_kw)
    except (StateConflict, LiveStackError) as exc:
        result, message = RunResult(RunStatus.FAILED), str(exc)
    except Exception as exc:
        logger.exception("the %s hook failed", flow.value)
        result, message = RunResult(RunStatus.FAILED), f"{type(exc).__name__}: {exc}"
    if result.status is RunStatus.CONTINUE:
        if reinvoke is None:
            result, message = RunResult(RunStatus.FAILED), "work is still pending and this hook cannot re-invoke itself"
        else:
            reinvoke(request.continuation([*request.done, *result.done], started))
            logger.info("handed over to invocation %d after %s", request.invocation + 1, result.done)
            return HookResult(None, "continued in a new invocation", [*request.done, *result.done])
    status = HookStatus.SUCCEEDED if result.status is RunStatus.SUCCEEDED else HookStatus.FAILED
    (logger.info if status is HookStatus.SUCCEEDED else logger.error)("%s: %s — %s", flow.value, status.value, message)
    try:
        status = HookStatus(rt.store.record_report(app, request.execution_id, status.value, request.deployment_id))
    except Exception:
        logger.exception("could not record the report of %s; reporting anyway", request.execution_id)
    sent = send.report(request.deployment_id, request.execution_id, status)
    return HookResult(status, message, [*request.done, *result.done], reported=sent)
