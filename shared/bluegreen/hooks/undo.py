"""What each failure of a run puts back, and how the put-back is finished before Failed is reported.

- **A failed prepare** first records ``prepare-failed`` (a conditional write from ``preparing``
  only, so a run that lost the race — another delivery already prepared — undoes nothing), then
  undoes every step it *started*, finished or not: the replacement is back to retired. Any error
  after the record says ``preparing`` takes this path, including the final ``set_phase``.
- **A failed retire** first flips the record back (``unflip``: a conditional write from ``flipped``
  only), then undoes every step it started on the old stack (re-enable, re-register, restart), then
  records ``rolled-back``. If the record cannot be flipped back for an AWS error, it raises
  :class:`~bluegreen.hooks.clock.MustRetry`: reporting Failed while the record still names the new
  stack would send CodeDeploy's rollback to a stack the record no longer protects; Lambda's retry
  resumes the retire.
- **A put-back is finished before Failed is reported.** When its undo runs out of time (a cluster
  still stopping before it can start again), it hands over too; and any delivery that finds the
  deployment ``prepare-failed`` / ``rolled-back`` with no status reported yet runs the whole
  (idempotent) undo again before it reports — so a Lambda timeout in the middle of a put-back
  cannot end in a Failed report over a half-restored stack.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from bluegreen.engine import Engine, RunResult, RunStatus, Step, reversed_steps
from bluegreen.hooks.clock import Clock, EventSink, Handover, MustRetry, hand_over
from bluegreen.hooks.fencing import fence
from bluegreen.state import Phase, StateConflict, StateStore

logger = logging.getLogger(__name__)

#: Time an undo needs at the least before the invocation ends (its steps are single calls).
UNDO_HANDOVER_SECONDS = 5.0


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


def finish_undo(
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
            hand_over(handover, [], started)
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


def prepare_failed(
    store: StateStore,
    app: str,
    deployment: str,
    steps: list[Step],
    *,
    message: str,
    clock: Clock,
    on_event: EventSink,
    handover: Handover | None,
) -> tuple[RunResult, str]:
    """After a failed prepare: the record says ``prepare-failed`` first, then the replacement goes back to retired."""
    superseded_by: str | None = None
    try:
        store.finish(app, deployment, Phase.PREPARE_FAILED, reason=message)
    except StateConflict as conflict:
        held = conflict.record
        if held is None or held.deployment_id in (None, deployment) or held.phase is not Phase.PREPARE_FAILED:
            return RunResult(RunStatus.FAILED), f"{message}; nothing undone, the record moved on: {conflict}"
        # A later deployment superseded this one, and its prepare failed and put the replacement back
        # while this run was still enabling it: put back, fenced on that deployment staying failed.
        superseded_by = held.deployment_id
    except Exception:
        logger.exception("could not record %s as prepare-failed", deployment)
    # Every step, not only those this run started: an earlier delivery, or a superseded deployment's
    # run, may have enabled what this one never reached; undoing is idempotent.
    return undo_prepare(
        store,
        app,
        deployment,
        steps,
        message=message,
        clock=clock,
        on_event=on_event,
        handover=handover,
        superseded_by=superseded_by,
    )


def undo_prepare(
    store: StateStore,
    app: str,
    deployment: str,
    steps: list[Step],
    *,
    message: str,
    clock: Clock,
    on_event: EventSink,
    handover: Handover | None,
    superseded_by: str | None = None,
) -> tuple[RunResult, str]:
    """Put the replacement back to retired: undo every prepare step, then mark the deployment settled.

    Fenced on the deployment being ``prepare-failed`` (or ``preparing``); when ``superseded_by`` names a
    later deployment whose failed prepare put the replacement back already, on that one staying failed.
    """
    if superseded_by is None:
        guard = fence(store, app, deployment, {Phase.PREPARE_FAILED, Phase.PREPARING})
    else:
        guard = fence(store, app, superseded_by, {Phase.PREPARE_FAILED})

    def settled() -> None:
        store.mark_settled(app, deployment)

    return finish_undo(
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


def put_back(
    store: StateStore,
    app: str,
    deployment: str,
    steps: list[Step],
    *,
    started: list[str],
    reason: str,
    clock: Clock,
    on_event: EventSink,
    handover: Handover | None,
) -> tuple[RunResult, str]:
    """After a failed retire: the record back on the old stack first, then the old stack back in service."""
    message = f"retire failed: {reason}"
    try:
        record = store.unflip(app, deployment)
    except StateConflict as conflict:
        return RunResult(RunStatus.FAILED), f"{message}; nothing undone, the record moved on: {conflict}"
    except Exception as exc:
        # Re-enabling the old stack changes nothing that is live: do it, then let Lambda retry the unflip.
        run_undo(steps, started, clock, None, on_event, destructive=False)
        raise MustRetry(f"{message}; the record could not be flipped back ({exc}): retry") from exc
    return restore_old(
        store,
        app,
        deployment,
        steps,
        started,
        message=f"{message}; stack {record.live.value} is live again",
        clock=clock,
        on_event=on_event,
        handover=handover,
    )


def restore_old(
    store: StateStore,
    app: str,
    deployment: str,
    steps: list[Step],
    started: list[str],
    *,
    message: str,
    clock: Clock,
    on_event: EventSink,
    handover: Handover | None,
) -> tuple[RunResult, str]:
    """Undo the retire steps ``started`` on the old stack, the record already back on it; then ``rolled-back``.

    Unfenced: re-enabling, re-registering and restarting the old stack change nothing that is live.
    The deployment is recorded ``rolled-back`` once the undo has finished (not when it was handed over).
    """
    outcome = finish_undo(
        steps,
        started,
        clock=clock,
        guard=None,
        on_event=on_event,
        handover=handover,
        destructive=False,
        message=message,
        undoing="restoring it",
    )
    if outcome[0].status is RunStatus.FAILED:
        _record_rolled_back(store, app, deployment, message)
    return outcome


def _record_rolled_back(store: StateStore, app: str, deployment: str, reason: str) -> None:
    try:
        store.finish(app, deployment, Phase.ROLLED_BACK, reason=reason)
    except Exception:  # the record already names the old stack as live
        logger.exception("could not record %s as rolled-back", deployment)
