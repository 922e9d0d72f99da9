"""One run of a flow against the live-stack record: prepare or retire, and what each failure puts back.

The rules (docs/design.md, "Hooks: rules that are never broken") as they are kept here:

- **Fencing.** Every destructive step — and every undo of a prepare, which disables — first reads
  the record (one read per step, never reused: a duplicate delivery of the same execution, running at
  the same time, may have put the old stack back since any earlier read): the deployment must still
  be the one in flight, in the phase this run expects, and the step's stack must not be live. A
  superseded, duplicated or rolled-back run is refused before it touches anything.
- **A failed prepare** first records ``prepare-failed`` (a conditional write from ``preparing``
  only, so a run that lost the race — another delivery already prepared — undoes nothing), then
  undoes every step it *started*, finished or not: the replacement is back to retired. Any error
  after the record says ``preparing`` takes this path, including the final ``set_phase``.
- **A failed retire** first flips the record back (``unflip``: a conditional write from ``flipped``
  only), then undoes every step it started on the old stack (re-enable, re-register, restart), then
  records ``rolled-back``. If the record cannot be flipped back for an AWS error, it raises
  :class:`MustRetry`: reporting Failed while the record still names the new stack would send
  CodeDeploy's rollback to a stack the record no longer protects; Lambda's retry resumes the retire.
- **Hand-over.** When only waiting is left and time runs short, the caller's ``handover`` sends the
  continuation; if it cannot (no re-invoker, or the invoke fails), the run fails as above.
- **A put-back is finished before Failed is reported.** When its undo runs out of time (a cluster
  still stopping before it can start again), it hands over too; and any delivery that finds the
  deployment ``prepare-failed`` / ``rolled-back`` with no status reported yet runs the whole
  (idempotent) undo again before it reports — so a Lambda timeout in the middle of a put-back
  cannot end in a Failed report over a half-restored stack.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from bluegreen.engine import Engine, LiveStackError, RunResult, RunStatus, Step, StepEvent, reversed_steps
from bluegreen.flows import SettleWaits, prepare_steps, retire_steps
from bluegreen.refs import StackReference
from bluegreen.services import REGISTRY
from bluegreen.state import LiveRecord, Phase, StateConflict, StateStore

if TYPE_CHECKING:
    from bluegreen.plan import Plan
    from bluegreen.runtime import HookRequest, Runtime, Scope

logger = logging.getLogger(__name__)

#: Time an undo needs at the least before the invocation ends (its steps are single calls).
UNDO_HANDOVER_SECONDS = 5.0
#: Time kept before the plan's deadline for what follows a failure — the put-back and the report —
#: so that Failed is reported before the deadline, not when the last wait runs into it.
DEADLINE_RESERVE_SECONDS = 60.0

#: Sends the continuation: the finished step ids, and every step id started so far (for a later undo).
Handover = Callable[[list[str], list[str]], None]
EventSink = Callable[[StepEvent], None] | None


class MustRetry(RuntimeError):
    """The run cannot end safely now (the record could not be flipped back): raise, so that Lambda retries."""


class DeploymentEndedError(LiveStackError):
    """CodeDeploy ended the deployment (stopped or failed it) while its retire ran: nothing irreversible is done."""


@dataclass
class Clock:
    """Time for one invocation: when the hook execution first started, its deadline, the time left."""

    first_started: float
    deadline_minutes: int
    time_left: Callable[[], float]
    now: Callable[[], float] = time.time

    def deadline_left(self) -> float:
        """Seconds of work left: to the deadline (counted from the first start), less the reserve for the report."""
        return self.first_started + self.deadline_minutes * 60 - DEADLINE_RESERVE_SECONDS - self.now()


class Fence:
    """The guard of destructive steps: deployment D in flight in one of ``phases``, the step's stack not live.

    The runner holds the application's lease (:mod:`bluegreen.hooks.lease`), so no other runner changes the
    record meanwhile: the engine calls :meth:`wave` once for each batch of destructive steps it starts
    together, which reads the record once (a strongly consistent ``GetItem``) and checks every step
    of the batch; each step's own call (:meth:`__call__`) then checks against that read. Called for a
    step outside a wave, it reads the record itself.

    ``ended`` (the retire's) asks CodeDeploy whether the deployment has ended: asked once, before the
    first step past the reversible ones (a ``.disable`` step is reversible); a description refuses it.
    """

    def __init__(
        self,
        store: StateStore,
        application: str,
        deployment_id: str,
        phases: set[Phase],
        *,
        ended: Callable[[], str | None] | None = None,
    ) -> None:
        """Nothing is read until a step is checked."""
        self.store, self.application, self.deployment_id, self.phases = store, application, deployment_id, phases
        self.ended = ended
        self._lock = threading.Lock()
        self._read: LiveRecord | None = None
        self._answer: list[str | None] = []

    def wave(self, steps: list[Step]) -> None:
        """Read the record once and check every step of a batch about to start (raise to refuse them all)."""
        record = self.store.get(self.application)
        with self._lock:
            self._read = record
        for step in steps:
            self._check(step, record)

    def __call__(self, step: Step) -> None:
        """Check one step (against the wave's read, or a fresh one), then, past the reversible ones, CodeDeploy."""
        with self._lock:
            record = self._read
        self._check(step, record if record is not None else self.store.get(self.application))
        if self.ended is None or step.id.endswith(".disable"):
            return
        with self._lock:
            if not self._answer:
                self._answer.append(self.ended())
            answer = self._answer[0]
        if answer:
            raise DeploymentEndedError(f"refusing {step.id}: {answer}")

    def _check(self, step: Step, record: LiveRecord | None) -> None:
        if record is None:
            raise LiveStackError(f"no live-stack record for {self.application!r}: refusing {step.id}")
        if record.deployment_id != self.deployment_id or record.phase not in self.phases:
            raise LiveStackError(
                f"refusing {step.id}: the record now holds deployment {record.deployment_id} ({record.phase}), "
                f"not {self.deployment_id} ({' or '.join(sorted(self.phases))})"
            )
        if step.stack is record.live:
            raise LiveStackError(f"refusing {step.id}: stack {step.stack.value} is live")


def settle_waits(store: StateStore, record: LiveRecord, plan: Plan) -> SettleWaits:
    """The retire's settle windows of the deployment on ``record`` (a flipped one), counted from the record.

    The new stack's subscriptions count as on since the deployment was recorded ``prepared`` (after
    every prepare step, so never earlier than the real moment; a record without that time counts from
    its last write). The old ones count as off since ``unsubscribed_at``, written once by the first
    poll of the drain window and read back from the write.
    """
    application, deployment_id = record.application, record.deployment_id or ""
    noted: list[datetime] = []

    def subscribed_at() -> datetime | None:
        return _moment(record.prepared_at or record.updated_at)

    def mark_unsubscribed() -> datetime | None:
        if not noted:
            found = _moment(store.mark_unsubscribed(application, deployment_id).unsubscribed_at)
            if found is None:
                return None
            noted.append(found)
        return noted[0]

    return SettleWaits(plan.settle_minutes, subscribed_at, mark_unsubscribed)


def _moment(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def fence(store: StateStore, application: str, deployment_id: str, phases: set[Phase]) -> Fence:
    """The :class:`Fence` of deployment ``deployment_id`` in ``phases``."""
    return Fence(store, application, deployment_id, phases)


def _hand_over(handover: Handover | None, done: list[str], started: list[str]) -> None:
    if handover is None:
        raise RuntimeError("work is still pending and this run cannot re-invoke itself")
    handover(done, started)


def run_undo(
    steps: list[Step],
    started: list[str],
    clock: Clock,
    guard: Callable[[Step], None] | None,
    on_event: EventSink,
    *,
    destructive: bool,
) -> tuple[bool, str]:
    """Undo the started steps (reverse order, every one tried): (finished, the problems or "")."""
    undo = Engine(
        reversed_steps(steps, started, destructive=destructive),
        guard=guard,
        on_event=on_event,
        keep_going=True,
        time_left=clock.time_left,
        handover_seconds=UNDO_HANDOVER_SECONDS,
    ).run()
    if undo.status is RunStatus.CONTINUE:
        return False, "time ran out before every undo finished"
    return True, undo.message if undo.errors else ""


def _finish_undo(
    steps: list[Step],
    started: list[str],
    *,
    clock: Clock,
    guard: Callable[[Step], None] | None,
    on_event: EventSink,
    handover: Handover | None,
    destructive: bool,
    message: str,
    undoing: str,
    on_finished: Callable[[], None] | None = None,
) -> tuple[RunResult, str]:
    """Run the undo; hand it over when time runs out (Failed is reported only once it has finished).

    ``on_finished`` runs once every undo finished without a problem (it marks the deployment settled).
    """
    finished, problems = run_undo(steps, started, clock, guard, on_event, destructive=destructive)
    if not finished:
        try:
            _hand_over(handover, [], started)
        except Exception as exc:  # noqa: BLE001 - report what could not be put back
            return RunResult(RunStatus.FAILED), f"{message}; {undoing} did not finish: {exc}"
        return RunResult(RunStatus.CONTINUE), f"{message}; {undoing} continues in a new invocation"
    if problems:
        message += f"; {undoing} also failed: {problems}"
    elif on_finished is not None:
        try:
            on_finished()
        except Exception:  # the next runner settles it again (idempotent)
            logger.exception("could not record the put-back as settled")
    return RunResult(RunStatus.FAILED), message


def _confirm_ready(scope: Scope, stack: StackReference) -> None:
    """Raise unless every service still finds ``stack`` ready (a cluster stop may have landed after the wait)."""
    for service in REGISTRY:
        if service.confirm is not None:
            for index, entry in enumerate(getattr(scope.plan, service.attribute)):
                service.confirm(entry, index, scope.box, stack)


def run_prepare(  # noqa: PLR0911 - one return per phase the record can be in
    runtime: Runtime,
    request: HookRequest,
    clock: Clock,
    on_event: EventSink = None,
    handover: Handover | None = None,
    *,
    codedeploy: tuple[str, str] | None = None,
    known: LiveRecord | Literal["read"] | None = "read",
    **engine_kw: Any,
) -> tuple[RunResult, str]:
    """Prepare the replacement stack for deployment ``request.deployment_id``; returns the run and a message.

    ``codedeploy`` is the deployment's CodeDeploy ``(application, group)``, kept with the record (None for
    a deployment run by hand). The plan kept with the record (:meth:`Runtime.scope_for`) is the one
    prepared: the plan in force when the deployment begins, or the one it began with when resumed.
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
    steps = prepare_steps(scope.plan, scope.box, replacement)
    guard = fence(store, app, deployment, {Phase.PREPARE_FAILED, Phase.PREPARING})

    def settled() -> None:
        store.mark_settled(app, deployment)

    if record.phase is Phase.PREPARE_FAILED:  # a put-back that was cut short: finish it, then report
        return _finish_undo(
            steps,
            [s.id for s in steps],
            clock=clock,
            guard=guard,
            on_event=on_event,
            handover=handover,
            destructive=True,
            message=f"prepare of stack {replacement.value} failed",
            undoing="putting it back to retired",
            on_finished=settled,
        )
    if record.phase is not Phase.PREPARING:
        return RunResult(RunStatus.FAILED), f"deployment {deployment} is {record.phase}: nothing done"
    started = [*request.started, *request.done]
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
            _hand_over(handover, [*request.done, *result.done], started)
            return result, "waiting"
        reason = result.message
    except Exception as exc:
        logger.exception("prepare of %s failed", deployment)
        reason = f"{type(exc).__name__}: {exc}"
    message = f"prepare of stack {replacement.value} failed: {reason}"
    try:
        store.finish(app, deployment, Phase.PREPARE_FAILED)
    except StateConflict as conflict:
        held = conflict.record
        if held is None or held.deployment_id in (None, deployment) or held.phase is not Phase.PREPARE_FAILED:
            return RunResult(RunStatus.FAILED), f"{message}; nothing undone, the record moved on: {conflict}"
        # A later deployment superseded this one, and its prepare failed and put the replacement back
        # while this run was still enabling it: put back, fenced on that deployment staying failed.
        guard = fence(store, app, held.deployment_id, {Phase.PREPARE_FAILED})
    except Exception:
        logger.exception("could not record %s as prepare-failed", deployment)
    # Every step, not only those this run started: an earlier delivery, or a superseded deployment's
    # run, may have enabled what this one never reached; undoing is idempotent.
    return _finish_undo(
        steps,
        [step.id for step in steps],
        clock=clock,
        guard=guard,
        on_event=on_event,
        handover=handover,
        destructive=True,
        message=message,
        undoing="putting it back to retired",
        on_finished=settled,
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
        try:
            store.finish(app, deployment, Phase.ROLLED_BACK)
        except Exception:
            logger.exception("could not record %s as rolled-back", deployment)
        return None, f"the flip failed, nothing was retired: {type(exc).__name__}: {exc}"


def run_retire(  # noqa: PLR0911, PLR0912 - one return per phase the record can be in
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
        outcome = _finish_undo(
            steps,
            [s.id for s in steps],
            clock=clock,
            guard=None,
            on_event=on_event,
            handover=handover,
            destructive=False,
            message=f"retire failed; stack {record.live.value} is live again",
            undoing="restoring it",
        )
        if outcome[0].status is RunStatus.FAILED:
            _record_rolled_back(store, app, deployment)
        return outcome
    if record.phase is Phase.PREPARED:
        flipped, why = _flip(store, app, deployment)
        if flipped is None:
            return RunResult(RunStatus.FAILED), why
        record = flipped
    elif record.phase is not Phase.FLIPPED:
        return RunResult(RunStatus.FAILED), f"deployment {deployment} is {record.phase}, not prepared: nothing done"
    old = record.live.partner
    steps = retire_steps(scope.plan, scope.box, old, settle_waits(store, record, scope.plan))
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
            _hand_over(handover, [*request.done, *result.done], started)
            return result, "waiting"
        else:
            reason = result.message
    except MustRetry:
        raise
    except Exception as exc:
        logger.exception("retire of %s failed", deployment)
        reason = f"{type(exc).__name__}: {exc}"
    return _put_back(
        runtime, request, steps, started=started, reason=reason, clock=clock, on_event=on_event, handover=handover
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


def _put_back(
    runtime: Runtime,
    request: HookRequest,
    steps: list[Step],
    *,
    started: list[str],
    reason: str,
    clock: Clock,
    on_event: EventSink,
    handover: Handover | None,
) -> tuple[RunResult, str]:
    """After a failed retire: the record back on the old stack first, then the old stack back in service."""
    store, app, deployment = runtime.store, runtime.plan.application, request.deployment_id
    message = f"retire failed: {reason}"
    try:
        record = store.unflip(app, deployment)
    except StateConflict as conflict:
        return RunResult(RunStatus.FAILED), f"{message}; nothing undone, the record moved on: {conflict}"
    except Exception as exc:
        # Re-enabling the old stack changes nothing that is live: do it, then let Lambda retry the unflip.
        run_undo(steps, started, clock, None, on_event, destructive=False)
        raise MustRetry(f"{message}; the record could not be flipped back ({exc}): retry") from exc
    outcome = _finish_undo(
        steps,
        started,
        clock=clock,
        guard=None,
        on_event=on_event,
        handover=handover,
        destructive=False,
        message=f"{message}; stack {record.live.value} is live again",
        undoing="restoring it",
    )
    if outcome[0].status is RunStatus.FAILED:
        _record_rolled_back(store, app, deployment)
    return outcome


def _record_rolled_back(store: StateStore, app: str, deployment: str) -> None:
    try:
        store.finish(app, deployment, Phase.ROLLED_BACK)
    except Exception:  # the record already names the old stack as live
        logger.exception("could not record %s as rolled-back", deployment)
