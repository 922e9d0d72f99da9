"""One run of a flow against the live-stack record: prepare or retire, and their record writes.

:func:`run_prepare` records the deployment ``preparing``, runs the prepare steps on the replacement
and records it ``prepared``; :func:`run_test_traffic` judges a prepared replacement (an ECS
deployment's AfterAllowTestTraffic); :func:`run_retire` flips the record to the prepared stack, runs the retire
steps on the old one and records it ``retired``. Each resumes a put-back cut short, answers a record
already past its phase, and hands over when only waiting is left and time runs short
(:mod:`bluegreen.hooks.clock`). The rules they keep are in their rooms:

- fencing — every destructive step first reads the record (:mod:`bluegreen.hooks.fencing`);
- what each failure puts back, finished before Failed is reported (:mod:`bluegreen.hooks.undo`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

from bluegreen.engine import Engine, RunResult, RunStatus
from bluegreen.flows import prepare_steps, retire_steps
from bluegreen.hooks.clock import Clock, EventSink, Handover, MustRetry, hand_over
from bluegreen.hooks.fencing import Fence, fence
from bluegreen.hooks.undo import prepare_failed, put_back, restore_old, undo_prepare
from bluegreen.hooks.windows import settle_waits, verdict_context
from bluegreen.refs import StackReference
from bluegreen.services import REGISTRY
from bluegreen.state import LiveRecord, Phase, StateConflict, StateStore
from bluegreen.verdict.steps import before_traffic_at, before_traffic_step, missing_verdict_hook

if TYPE_CHECKING:
    from bluegreen.runtime import HookRequest, Runtime, Scope

logger = logging.getLogger(__name__)


def _confirm_ready(scope: Scope, stack: StackReference) -> None:
    """Raise unless every service still finds ``stack`` ready (a cluster stop may have landed after the wait)."""
    for service in REGISTRY:
        if service.confirm is not None:
            for index, entry in enumerate(getattr(scope.plan, service.attribute)):
                service.confirm(entry, index, scope.box, stack)


def run_prepare(
    runtime: Runtime,
    request: HookRequest,
    clock: Clock,
    on_event: EventSink = None,
    handover: Handover | None = None,
    *,
    codedeploy: tuple[str, str] | None = None,
    platform: str | None = None,
    known: LiveRecord | Literal["read"] | None = "read",
    **engine_kw: Any,
) -> tuple[RunResult, str]:
    """Prepare the replacement stack for deployment ``request.deployment_id``; returns the run and a message.

    ``codedeploy`` is the deployment's CodeDeploy ``(application, group)``, kept with the record (None for
    a deployment run by hand); ``platform`` its ``computePlatform`` (a plan whose before-traffic verdict
    this deployment has no hook for fails the prepare, before anything is enabled). The plan kept with
    the record (:meth:`Runtime.scope_for`) is the one prepared: the plan in force when the deployment
    begins, or the one it began with when resumed.
    """
    store = runtime.store
    app, deployment = runtime.plan.application, request.deployment_id
    record = store.begin(
        app, deployment, runtime.plan.initial_live, plan=runtime.snapshot, codedeploy=codedeploy, known=known
    )
    if record.phase is Phase.PREPARED:
        return RunResult(RunStatus.SUCCEEDED), f"stack {record.replacement_stack.value} already prepared"
    scope = runtime.scope_for(record)
    replacement = record.replacement_stack
    steps = prepare_steps(scope.plan, scope.box, replacement, verdict_context(store, record))
    if record.phase is Phase.PREPARE_FAILED:  # a put-back that was cut short: finish it, then report
        return undo_prepare(
            store,
            app,
            deployment,
            steps,
            message=f"prepare of stack {replacement.value} failed",
            clock=clock,
            on_event=on_event,
            handover=handover,
        )
    if record.phase is not Phase.PREPARING:
        return RunResult(RunStatus.FAILED), f"deployment {deployment} is {record.phase}: nothing done"
    started = [*request.started, *request.done]
    reason = missing_verdict_hook(scope.plan, deployment, platform)  # refused before anything is enabled
    if reason is None:
        try:
            engine = Engine(
                steps,
                time_left=clock.time_left,
                deadline_left=clock.deadline_left,
                guard=fence(store, app, deployment, {Phase.PREPARING}),  # the purges: never the live stack's queues
                on_event=on_event,
                **engine_kw,
            )
            result = engine.run(request.done)
            started += result.started
            if result.status is RunStatus.SUCCEEDED:
                _confirm_ready(scope, replacement)
                _set_prepared(store, app, deployment)
                return result, f"stack {replacement.value} prepared"
            if result.status is RunStatus.CONTINUE:
                hand_over(handover, [*request.done, *result.done], started)
                return result, "waiting"
            reason = result.message
        except Exception as exc:
            logger.exception("prepare of %s failed", deployment)
            reason = f"{type(exc).__name__}: {exc}"
    message = f"prepare of stack {replacement.value} failed: {reason}"
    return prepare_failed(
        store, app, deployment, steps, message=message, clock=clock, on_event=on_event, handover=handover
    )


def _set_prepared(store: StateStore, app: str, deployment: str) -> None:
    """Record the deployment prepared; when the write errors, read it back: it may have landed before the error."""
    try:
        store.set_phase(app, deployment, Phase.PREPARED, expected={Phase.PREPARING})
    except StateConflict:
        raise
    except Exception:
        logger.exception("the prepared write of %s failed; reading the record back", deployment)
        record = store.get(app)
        if record is None or record.deployment_id != deployment or record.phase is not Phase.PREPARED:
            raise
        logger.info("the prepared write of %s had landed", deployment)


def _flip(store: StateStore, app: str, deployment: str) -> tuple[LiveRecord | None, str]:
    """Flip the record; on an error, find out whether the write landed (then go on) or not (then close)."""
    try:
        return store.flip(app, deployment), ""
    except StateConflict as exc:
        return None, f"the flip was refused, nothing was retired: {exc}"
    except Exception as exc:
        logger.exception("the flip of %s failed", deployment)
        try:
            record = store.get(app)
        except Exception as again:  # noqa: BLE001 - raised again as MustRetry
            raise MustRetry(f"the flip of {deployment} failed and the record cannot be read: {again}") from exc
        if record is not None and record.deployment_id == deployment and record.phase is Phase.FLIPPED:
            return record, ""  # the write landed before the error: carry on retiring
        why = f"the flip failed, nothing was retired: {type(exc).__name__}: {exc}"
        try:
            store.finish(app, deployment, Phase.ROLLED_BACK, reason=why)
        except Exception:
            logger.exception("could not record %s as rolled-back", deployment)
        return None, why


def run_retire(  # noqa: PLR0911 - one return per phase the record can be in
    runtime: Runtime,
    request: HookRequest,
    clock: Clock,
    on_event: EventSink = None,
    handover: Handover | None = None,
    *,
    ended: Callable[[], str | None] | None = None,
    known: LiveRecord | Literal["read"] | None = "read",
    **engine_kw: Any,
) -> tuple[RunResult, str]:
    """Flip the record to the prepared stack and retire the old one; on failure put the old stack back.

    ``ended`` asks CodeDeploy whether the deployment has ended (a description when it has, else None):
    it is asked once, just before the first step past the reversible ones (purges, deregistrations,
    stops, deletions); a deployment stopped or failed meanwhile gets the old stack put back, and Failed.
    The plan is the one kept with the record (:meth:`Runtime.scope_for`), never one edited since.
    """
    store = runtime.store
    app, deployment = runtime.plan.application, request.deployment_id
    record = store.get(app) if known == "read" else known
    if record is None or record.deployment_id != deployment:
        holding = "no record" if record is None else f"deployment {record.deployment_id} ({record.phase})"
        return RunResult(RunStatus.FAILED), f"deployment {deployment} was never prepared (the record holds {holding})"
    if record.phase is Phase.RETIRED:
        return RunResult(RunStatus.SUCCEEDED), f"{deployment} already retired stack {record.live.partner.value}"
    scope = runtime.scope_for(record)
    if record.phase is Phase.ROLLED_BACK:  # a put-back that was cut short (or a late delivery): finish it
        steps = retire_steps(scope.plan, scope.box, record.live)
        message = f"retire failed; stack {record.live.value} is live again"
        return restore_old(
            store,
            app,
            deployment,
            steps,
            [s.id for s in steps],
            message=message,
            clock=clock,
            on_event=on_event,
            handover=handover,
        )
    if record.phase is Phase.PREPARED:
        flipped, why = _flip(store, app, deployment)
        if flipped is None:
            return RunResult(RunStatus.FAILED), why
        record = flipped
    elif record.phase is not Phase.FLIPPED:
        return RunResult(RunStatus.FAILED), f"deployment {deployment} is {record.phase}, not prepared: nothing done"
    old = record.live.partner
    steps = retire_steps(
        scope.plan, scope.box, old, settle_waits(store, record, scope.plan), verdict_context(store, record)
    )
    started = [*request.started, *request.done]
    try:
        guard = Fence(store, app, deployment, {Phase.FLIPPED}, ended=ended)
        engine = Engine(
            steps,
            time_left=clock.time_left,
            deadline_left=clock.deadline_left,
            guard=guard,
            on_event=on_event,
            **engine_kw,
        )
        result = engine.run(request.done)
        started += result.started
        if result.status is RunStatus.SUCCEEDED:
            moved_on = _finish_retired(store, app, deployment, old)
            if moved_on is None:
                return result, f"stack {record.live.value} is live; stack {old.value} retired"
            # Another run of this execution failed and put the old stack back: it undid what *it* had
            # started, not what this run did, so this run puts its own steps back too (below).
            reason = f"every step finished, but the record moved on: {moved_on}"
        elif result.status is RunStatus.CONTINUE:
            hand_over(handover, [*request.done, *result.done], started)
            return result, "waiting"
        else:
            reason = result.message
    except MustRetry:
        raise
    except Exception as exc:
        logger.exception("retire of %s failed", deployment)
        reason = f"{type(exc).__name__}: {exc}"
    return put_back(
        store, app, deployment, steps, started=started, reason=reason, clock=clock, on_event=on_event, handover=handover
    )


def _finish_retired(store: StateStore, app: str, deployment: str, old: StackReference) -> StateConflict | None:
    """Record the deployment retired; the conflict when the record moved on (rolled back by another run).

    Succeeded is reported only once the record says retired: when the write fails for another reason
    (throttled past the retries), :class:`MustRetry` makes the hook raise; Lambda's retry repeats the
    (idempotent) retire and writes it again.
    """
    try:
        store.finish(app, deployment, Phase.RETIRED)
    except StateConflict as conflict:
        return conflict
    except Exception as exc:
        logger.exception("%s retired stack %s but the record still says flipped", deployment, old.value)
        raise MustRetry(f"{deployment} retired stack {old.value} but could not record it: {exc}") from exc
    return None


def run_test_traffic(
    runtime: Runtime,
    request: HookRequest,
    clock: Clock,
    on_event: EventSink = None,
    handover: Handover | None = None,
    **engine_kw: Any,
) -> tuple[RunResult, str]:
    """Judge the prepared replacement of ``request.deployment_id`` under test traffic; change nothing.

    The record must hold this deployment, prepared. With the plan's before-traffic verdict at
    ``test-traffic``, its step runs (the judgement is kept in the record); with none there, the hook
    succeeds saying so. A failed verdict fails the hook: CodeDeploy rolls the deployment back, and
    the deployment-events function puts the replacement back to retired.
    """
    store, app, deployment = runtime.store, runtime.plan.application, request.deployment_id
    record = store.get(app)
    if record is None or record.deployment_id != deployment:
        holding = "no record" if record is None else f"deployment {record.deployment_id} ({record.phase})"
        return RunResult(RunStatus.FAILED), f"deployment {deployment} was never prepared (the record holds {holding})"
    if record.phase is not Phase.PREPARED:
        return RunResult(RunStatus.FAILED), f"deployment {deployment} is {record.phase}, not prepared: nothing judged"
    scope = runtime.scope_for(record)
    replacement = record.replacement_stack
    if before_traffic_at(scope.plan) != "test-traffic":
        return RunResult(
            RunStatus.SUCCEEDED
        ), "the plan judges nothing at test traffic (no verdict with at: test-traffic)"
    step = before_traffic_step(scope.plan, scope.box, replacement, verdict_context(store, record))
    steps = [step] if step is not None else []
    engine = Engine(steps, time_left=clock.time_left, deadline_left=clock.deadline_left, on_event=on_event, **engine_kw)
    result = engine.run(request.done)
    if result.status is RunStatus.CONTINUE:
        hand_over(handover, [*request.done, *result.done], [*request.started, *result.started])
        return result, "waiting"
    if result.status is RunStatus.SUCCEEDED:
        return result, f"stack {replacement.value} passed its verdict under test traffic"
    return result, f"stack {replacement.value} failed its verdict under test traffic: {result.message}"
