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
record writes, no report, waits polled in process. The runs themselves are in :mod:`bluegreen.hooks.runs`,
their fencing in :mod:`bluegreen.hooks.fencing`, what each failure puts back in :mod:`bluegreen.hooks.undo`,
and how a hook takes the application's lease in :func:`bluegreen.hooks.lease.take_for_hook`.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Mapping
from typing import Any, Literal

from bluegreen.engine import LiveStackError, RunResult, RunStatus, StepEvent
from bluegreen.hooks.clock import HANDOVER_GRACE_SECONDS, HANDOVER_SECONDS, Clock, Handover, MustRetry
from bluegreen.hooks.decide import Act, Decision, Intent, decide, status_needed
from bluegreen.hooks.lease import LEASE_POLL_SECONDS, LEASE_WAIT_SECONDS, Lease, new_token, take_for_hook
from bluegreen.hooks.runs import run_prepare, run_retire, run_test_traffic
from bluegreen.hooks.settle import run_settle
from bluegreen.plan import PlanError
from bluegreen.runtime import (
    DEADLINE_ENV,
    PROGRESS_KEY,
    Flow,
    HookRequest,
    HookResult,
    Reinvoker,
    Runtime,
    Scope,
    lambda_reinvoker,
)
from bluegreen.state import LiveRecord, StateConflict
from bluegreen.tools.codedeploy import (
    PREPARE_EVENTS,
    RETIRE_EVENTS,
    TEST_TRAFFIC_EVENTS,
    CodeDeployReporter,
    DeploymentInfo,
    HookStatus,
)

logger = logging.getLogger(__name__)


#: What the hook functions, the command line and the tests take from here; the runtime's types are
#: :mod:`bluegreen.runtime`'s, named here too so that ``bluegreen.hooks`` stays the one entry point.
__all__ = [
    "DEADLINE_ENV",
    "HANDOVER_GRACE_SECONDS",
    "HANDOVER_SECONDS",
    "LEASE_POLL_SECONDS",
    "LEASE_WAIT_SECONDS",
    "PROGRESS_KEY",
    "Flow",
    "HookRequest",
    "HookResult",
    "Reinvoker",
    "Runtime",
    "Scope",
    "decide_for",
    "handle",
    "lambda_reinvoker",
]


def decide_for(
    runtime: Runtime,
    flow: Flow,
    deployment_id: str,
    info: DeploymentInfo | None,
    *,
    record: LiveRecord | Literal["read"] | None = "read",
    ask: Callable[[str], DeploymentInfo | None] | None = None,
) -> tuple[Decision, LiveRecord | None]:
    """Read the record (and, when needed, CodeDeploy's view of the other deployment on it) and decide.

    What the hooks, ``bluegreen run`` and the dry run call: the same reads, the same pure
    :func:`~bluegreen.hooks.decide.decide`. ``record`` is the record when the caller has read it already;
    ``ask`` asks CodeDeploy about another deployment (default: ``GetDeployment``). Returns the decision
    and the record it was taken on.
    """
    intent = Intent.PREPARE if flow is Flow.PREPARE else Intent.RETIRE
    held = runtime.store.get(runtime.plan.application) if record == "read" else record
    other = status_needed(held, deployment_id) if intent is Intent.PREPARE else None
    current = (ask or runtime.deployments.get)(other) if other else None
    return decide(intent, deployment_id, held, info, current=current), held


def _ended_check(runtime: Runtime, deployment_id: str, info: DeploymentInfo | None) -> Callable[[], str | None] | None:
    """Asks CodeDeploy whether the deployment has ended (for the retire, just before its irreversible steps)."""
    if info is None:
        return None

    def ended() -> str | None:
        found = runtime.deployments.get(deployment_id)
        return f"CodeDeploy ended deployment {found.describe()}" if found is not None and found.ended else None

    return ended


def _decide_and_run(
    runtime: Runtime,
    flow: Flow,
    request: HookRequest,
    *,
    info: DeploymentInfo | None,
    clock: Clock,
    on_event: Callable[[StepEvent], None] | None,
    handover: Handover | None,
    **engine_kw: Any,
) -> tuple[RunResult, str]:
    """Decide (:func:`decide_for`), settle what must be settled first, then run the flow or answer.

    The test-traffic hook decides nothing: it judges the deployment on record when that is this one, prepared.
    """
    if flow is Flow.TEST_TRAFFIC:
        return run_test_traffic(runtime, request, clock, on_event, handover, **engine_kw)
    deployment = request.deployment_id
    decision, record = decide_for(runtime, flow, deployment, info)
    logger.info("%s %s: %s — %s", flow.value, deployment, decision.act.value, decision.reason)
    note = ""
    known: LiveRecord | Literal["read"] | None = record
    if decision.settle is not None and record is not None:
        known = "read"  # the settle changes it
        settled, note = run_settle(
            runtime, record, decision.settle, clock, on_event=on_event, handover=handover, **engine_kw
        )
        if settled.status is not RunStatus.SUCCEEDED:
            return settled, f"{decision.settle.reason}; {note}"
    codedeploy = (info.application, info.group) if info is not None else None
    if decision.act is Act.PREPARE or (decision.act is Act.RESUME_PUT_BACK and flow is Flow.PREPARE):
        platform = info.compute_platform if info is not None else None
        result, message = run_prepare(
            runtime, request, clock, on_event, handover, codedeploy=codedeploy, platform=platform, known=known,
            **engine_kw,
        )  # fmt: skip
    elif decision.act in (Act.RETIRE, Act.RESUME_PUT_BACK):
        ended = _ended_check(runtime, deployment, info)
        result, message = run_retire(runtime, request, clock, on_event, handover, ended=ended, known=known, **engine_kw)
    elif decision.act is Act.SUCCEED:
        result, message = RunResult(RunStatus.SUCCEEDED), decision.reason
    else:
        result, message = RunResult(RunStatus.FAILED), decision.reason
    return result, f"{note}; {message}" if note else message


def _report(
    runtime: Runtime,
    send: CodeDeployReporter,
    request: HookRequest,
    status: HookStatus,
    message: str,
    *,
    done: list[str],
) -> HookResult:
    """Record the status first (if that fails, raise: Lambda retries), then send the recorded one."""
    (logger.info if status is HookStatus.SUCCEEDED else logger.error)("%s — %s", status.value, message)
    app = runtime.plan.application
    status = HookStatus(runtime.store.record_report(app, request.execution_id, status.value, request.deployment_id))
    sent = send.report(request.deployment_id, request.execution_id, status)
    return HookResult(status, message, done, reported=sent)


def handle(  # noqa: PLR0911 - one return per way a hook invocation ends
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

    Then, in order: the execution's first start and any status already reported (a duplicate
    re-sends it); ``GetDeployment`` (a deployment CodeDeploy does not know, or that cannot be read,
    is reported Failed, changing nothing); the application's lease (a claim or lease that cannot be
    written raises); the decision, the settle and the run; one report, recorded before it is sent.
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
    try:
        info = rt.deployments.get(request.deployment_id)
    except Exception as exc:
        logger.exception("could not ask CodeDeploy about %s", request.deployment_id)
        if request.invocation > 1:
            raise
        return _report(
            rt, send, request, HookStatus.FAILED, f"cannot read deployment {request.deployment_id}: {exc}", done=[]
        )
    if info is None:
        message = (
            f"CodeDeploy does not know deployment {request.deployment_id} in {rt.deployments.region}: nothing done"
        )
        return _report(rt, send, request, HookStatus.FAILED, message, done=[])
    started = request.first_started
    if started is None:
        names = {Flow.PREPARE: PREPARE_EVENTS, Flow.TEST_TRAFFIC: TEST_TRAFFIC_EVENTS}.get(flow, RETIRE_EVENTS)
        by_codedeploy = rt.deployments.lifecycle_started(request.deployment_id, names)
        started = min(first, by_codedeploy) if by_codedeploy is not None else first
    clock = Clock(first_started=started, deadline_minutes=rt.deadline_minutes, time_left=time_left, now=now)
    lease = Lease(
        rt.store,
        app,
        owner=request.token or new_token(),
        holder=f"{flow.value} hook execution {request.execution_id} of {request.deployment_id}",
        execution=request.execution_id,
        clock=now,
    )
    taken = take_for_hook(lease, request, clock, reinvoke, engine_kw.get("sleep", time.sleep))
    if isinstance(taken, HookResult):
        logger.info("%s: %s", flow.value, taken.message)
        return taken
    if taken is not None:
        return _report(
            rt, send, request, HookStatus.FAILED, f"the deadline passed while {taken.holder} held it", done=[]
        )
    return _run_leased(
        rt,
        flow,
        request,
        info=info,
        clock=clock,
        lease=lease,
        send=send,
        reinvoke=reinvoke,
        on_event=on_event,
        **engine_kw,
    )


def _run_leased(
    rt: Runtime,
    flow: Flow,
    request: HookRequest,
    *,
    info: DeploymentInfo,
    clock: Clock,
    lease: Lease,
    send: CodeDeployReporter,
    reinvoke: Reinvoker | None,
    on_event: Callable[[StepEvent], None] | None,
    **engine_kw: Any,
) -> HookResult:
    """With the lease taken: decide, run, report; release the lease, or keep it for a continuation."""
    started, now, time_left = clock.first_started, clock.now, clock.time_left
    handed: list[list[str]] = []

    def handover(done: list[str], begun: list[str]) -> None:
        if reinvoke is None:
            raise RuntimeError("work is still pending and this hook cannot re-invoke itself")
        reinvoke(request.continuation(done, begun, started, lease.owner))
        handed.append(done)

    try:
        try:
            result, message = _decide_and_run(
                rt, flow, request, info=info, clock=clock, on_event=on_event, handover=handover, **engine_kw
            )
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
        return _report(rt, send, request, status, f"{flow.value}: {message}", done=[*request.done, *result.done])
    finally:
        if handed:
            lease.keep_for_continuation(now() + max(0.0, time_left()) + HANDOVER_GRACE_SECONDS)
        else:
            lease.release()
