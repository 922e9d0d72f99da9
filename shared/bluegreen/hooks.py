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
record writes, no report, waits polled in process. The runs themselves, their fencing and what each
failure puts back, are in :mod:`bluegreen.runs`.
"""

from __future__ import annotations

import json
import logging
import math
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import boto3

from bluegreen.aws import make_client
from bluegreen.engine import LiveStackError, RunResult, RunStatus, StepEvent
from bluegreen.plan import Plan, PlanError, load_plan_from_env
from bluegreen.runs import Clock, MustRetry, run_prepare, run_retire
from bluegreen.state import StateConflict, StateStore
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
    started: tuple[str, ...] = ()
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
        started = progress.get("started") or []
        first = progress.get("first_started")
        return cls(
            deployment_id=event["DeploymentId"],
            execution_id=event["LifecycleEventHookExecutionId"],
            done=tuple(str(d) for d in done) if isinstance(done, list) else (),
            started=tuple(str(d) for d in started) if isinstance(started, list) else (),
            first_started=_seconds(first),
            invocation=int(progress.get("invocation", 1)) if isinstance(progress.get("invocation", 1), int) else 1,
            event=event,
        )

    def continuation(self, done: list[str], started: list[str], first_started: float) -> dict[str, Any]:
        """The event for the next invocation: the same event, plus the finished and started steps and the first start.

        ``started`` (every step begun so far, finished or not) lets a later failure undo a step that an
        earlier invocation left waiting.
        """
        event = {k: v for k, v in self.event.items() if k != PROGRESS_KEY}
        event[PROGRESS_KEY] = {
            "done": done,
            "started": sorted(set(started)),
            "first_started": first_started,
            "invocation": self.invocation + 1,
        }
        return event


def _seconds(value: object) -> float | None:
    """A finite epoch time from a continuation's progress, or None.

    Junk there (a number too large for a float, NaN, infinity) must neither crash the hook before it
    can report nor switch its deadline off.
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        seconds = float(value)
    except OverflowError:
        return None
    return seconds if math.isfinite(seconds) else None


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
        # CodeDeploy calls the hook in the Lambda's own region, which may differ from the plan's.
        self.reporter = CodeDeployReporter(region=os.environ.get("AWS_REGION") or region, session=session)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, *, plan: Plan | None = None) -> Runtime:
        """Load the plan (``BLUEGREEN_PLAN_*``, unless given) and the record table (``BLUEGREEN_STATE_TABLE``)."""
        env = os.environ if environ is None else environ
        plan = plan if plan is not None else load_plan_from_env(env)
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

    The same :func:`~bluegreen.runs.run_prepare` / :func:`~bluegreen.runs.run_retire` the hooks run, with
    the same record writes, fencing and undo on failure, but outside CodeDeploy: no status is reported
    and nothing is re-invoked. Waits (an Aurora cluster starting) are polled here until done, bounded by
    the plan's ``deadline_minutes`` counted from now. ``execution_id`` only labels the request. Raises
    what the record raises (:class:`StateConflict`, a missing table) and :class:`MustRetry`.
    """
    request = HookRequest(deployment_id=deployment_id, execution_id=execution_id)
    clock = Clock(
        first_started=now(), deadline_minutes=runtime.deadline_minutes, time_left=lambda: float("inf"), now=now
    )
    run = run_prepare if flow is Flow.PREPARE else run_retire
    return run(runtime, request, clock, on_event, None, **engine_kw)


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

    ``runtime`` makes (or returns the cached) :class:`Runtime`; on a first invocation, a failure there
    that retrying cannot mend — a bad plan, a missing variable or table — is reported as Failed; any
    other (an AWS error reading the plan, or any failure in a continuation, which has work half done)
    raises so that Lambda retries. An event without the CodeDeploy ids raises ``ValueError``: there
    is no one to report to.
    """
    request = HookRequest.from_event(event)
    try:
        rt = runtime()
    except Exception as exc:
        logger.exception("cannot set up the %s hook", flow.value)
        if request.invocation > 1 or not isinstance(exc, PlanError | LookupError | ValueError):
            # A continuation has work half done, and a transient error may pass: Lambda retries.
            raise
        fallback = reporter or CodeDeployReporter(region=os.environ.get("AWS_REGION"))
        message = f"{type(exc).__name__}: {exc}"
        sent = fallback.report(request.deployment_id, request.execution_id, HookStatus.FAILED)
        return HookResult(HookStatus.FAILED, message, reported=sent)
    send = reporter or rt.reporter
    app = rt.plan.application
    try:
        first, prior = rt.store.claim(app, request.execution_id, request.deployment_id, now())
    except Exception:  # unknown is treated as not reported; CodeDeploy keeps the first status anyway
        logger.exception("could not read the first start and report of %s", request.execution_id)
        first, prior = now(), None
    if prior is not None:
        logger.info("hook execution %s was already reported %s; sending the same status", request.execution_id, prior)
        sent = send.report(request.deployment_id, request.execution_id, prior)
        return HookResult(HookStatus(prior), "duplicate delivery", reported=sent)
    started = request.first_started or first
    clock = Clock(first_started=started, deadline_minutes=rt.deadline_minutes, time_left=time_left, now=now)
    handed: list[list[str]] = []

    def handover(done: list[str], begun: list[str]) -> None:
        if reinvoke is None:
            raise RuntimeError("work is still pending and this hook cannot re-invoke itself")
        reinvoke(request.continuation(done, begun, started))
        handed.append(done)

    run = run_prepare if flow is Flow.PREPARE else run_retire
    try:
        result, message = run(rt, request, clock, on_event, handover, **engine_kw)
    except MustRetry:
        raise
    except (StateConflict, LiveStackError) as exc:
        result, message = RunResult(RunStatus.FAILED), str(exc)
    except Exception as exc:
        logger.exception("the %s hook failed", flow.value)
        result, message = RunResult(RunStatus.FAILED), f"{type(exc).__name__}: {exc}"
    if result.status is RunStatus.CONTINUE and handed:
        logger.info("handed over to invocation %d after %s", request.invocation + 1, handed[0])
        return HookResult(None, "continued in a new invocation", handed[0])
    status = HookStatus.SUCCEEDED if result.status is RunStatus.SUCCEEDED else HookStatus.FAILED
    (logger.info if status is HookStatus.SUCCEEDED else logger.error)("%s: %s — %s", flow.value, status.value, message)
    # Recorded first: if that fails, raise (Lambda retries) rather than send a status nobody remembers.
    status = HookStatus(rt.store.record_report(app, request.execution_id, status.value, request.deployment_id))
    sent = send.report(request.deployment_id, request.execution_id, status)
    return HookResult(status, message, [*request.done, *result.done], reported=sent)
