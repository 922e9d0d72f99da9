"""Settling a deployment that CodeDeploy ended: its replacement put back, or its retire finished.

:func:`run_settle` carries out a :class:`~bluegreen.hooks.decide.Settle` (see :mod:`bluegreen.hooks.decide` for
when one is decided), on the plan kept with the deployment's record:

- **undo-prepare** (the deployment ended ``preparing``/``prepared``, or its prepare failed): the
  record says ``rolled-back`` (a conditional write; ``live`` never changes), then every prepare step's
  undo runs on the replacement — fenced: the record must still hold that deployment ended, and the
  replacement must not be live — then its Aurora clusters (``on_retire: stop``) are stopped as a
  retire stops them (a cluster still starting is waited for), and the deployment is marked settled.
- **put-back** (it ended ``flipped``, or its retire failed): the record is flipped back first (live :=
  the old stack; a write that fails raises :class:`~bluegreen.hooks.clock.MustRetry`), then every retire
  step's undo runs on the old stack (re-enabled, consumers re-registered, clusters started again),
  the deployment ends ``rolled-back``, and then its replacement is retired as above.
- **complete** (it succeeded while the record says ``flipped``: a retire whose last write was lost):
  the retire steps run to the end on the old stack, fenced as the retire hook fences them, and the
  deployment is recorded ``retired``. Nothing is put back: CodeDeploy's traffic is on the new stack.

Every part is idempotent, so a settle cut short (time ran out, a Lambda crash) is simply decided and
run again by the next runner. When only waiting is left and time runs short, ``handover`` is called
and the result is ``continue``.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import TYPE_CHECKING, Any

from bluegreen.engine import Engine, RunResult, RunStatus, Step, reversed_steps
from bluegreen.flows import cluster_stops, prepare_steps, retire_steps
from bluegreen.hooks.clock import Clock, EventSink, Handover, MustRetry
from bluegreen.hooks.decide import Settle, SettleHow
from bluegreen.hooks.fencing import fence
from bluegreen.hooks.undo import run_undo
from bluegreen.hooks.windows import settle_waits
from bluegreen.state import LiveRecord, Phase, StateConflict

if TYPE_CHECKING:
    from bluegreen.runtime import Runtime

logger = logging.getLogger(__name__)


def run_settle(
    runtime: Runtime,
    record: LiveRecord,
    settle: Settle,
    clock: Clock,
    *,
    on_event: EventSink = None,
    handover: Handover | None = None,
    **engine_kw: Any,
) -> tuple[RunResult, str]:
    """Settle ``settle.deployment_id``, the deployment ``record`` holds (module docstring); the run and a message."""
    if record.deployment_id != settle.deployment_id:
        return RunResult(RunStatus.FAILED), f"the record no longer holds {settle.deployment_id}: nothing settled"
    logger.warning("settling deployment %s (%s): %s", settle.deployment_id, settle.how.value, settle.reason)
    if settle.how is SettleHow.COMPLETE:
        return _complete(runtime, record, clock, on_event, handover, **engine_kw)
    if settle.how is SettleHow.PUT_BACK:
        outcome = _put_back_old(runtime, record, clock, on_event, handover, why=settle.reason)
        if isinstance(outcome, tuple):
            return outcome
        record = outcome
    return _retire_replacement(runtime, record, clock, on_event, handover, why=settle.reason)


def settle_steps(runtime: Runtime, record: LiveRecord, settle: Settle) -> list[Step]:
    """The steps :func:`run_settle` runs for ``settle``, for the dry run (the same builders, nothing called)."""
    scope = runtime.scope_for(record)
    replacement = record.replacement or record.live.partner
    if settle.how is SettleHow.COMPLETE:
        return retire_steps(scope.plan, scope.box, record.live.partner)
    steps: list[Step] = []
    if settle.how is SettleHow.PUT_BACK:
        old = replacement.partner
        retired = retire_steps(scope.plan, scope.box, old)
        steps += reversed_steps(retired, [s.id for s in retired])
    prepared = prepare_steps(scope.plan, scope.box, replacement)
    undo = reversed_steps(prepared, [s.id for s in prepared], destructive=True)
    stops = cluster_stops(scope.plan, scope.box, replacement)
    last = tuple(step.id for step in undo)
    return [*steps, *undo, *(dataclasses.replace(stop, depends_on=last) for stop in stops)]


def _wait(handover: Handover | None, what: str) -> tuple[RunResult, str]:
    if handover is None:
        return RunResult(RunStatus.FAILED), f"{what}: time ran out before it finished, and this run cannot continue"
    handover([], [])
    return RunResult(RunStatus.CONTINUE), f"{what} continues in a new invocation"


def _put_back_old(
    runtime: Runtime, record: LiveRecord, clock: Clock, on_event: EventSink, handover: Handover | None, *, why: str
) -> LiveRecord | tuple[RunResult, str]:
    """The old stack live and working again; the record ``rolled-back`` (``why`` kept). The record, or the outcome."""
    store, app, d = runtime.store, runtime.plan.application, record.deployment_id or ""
    if record.phase is Phase.FLIPPED:
        try:
            record = store.unflip(app, d)
        except StateConflict as conflict:
            return RunResult(RunStatus.FAILED), f"the record could not be flipped back: {conflict}"
        except Exception as exc:
            raise MustRetry(f"deployment {d}: the record could not be flipped back ({exc}): retry") from exc
    scope = runtime.scope_for(record)
    old = record.live
    steps = retire_steps(scope.plan, scope.box, old)
    finished, problems = run_undo(steps, [s.id for s in steps], clock, None, on_event, destructive=False)
    if not finished:
        return _wait(handover, f"putting stack {old.value} back")
    if problems:
        return RunResult(RunStatus.FAILED), f"stack {old.value} is live again but not every part came back: {problems}"
    if record.finished_at is None:
        record = store.finish(app, d, Phase.ROLLED_BACK, reason=why)
    return record


def _retire_replacement(
    runtime: Runtime, record: LiveRecord, clock: Clock, on_event: EventSink, handover: Handover | None, *, why: str
) -> tuple[RunResult, str]:
    """The ended deployment's replacement back to retired (fenced), then the deployment marked settled."""
    store, app, d = runtime.store, runtime.plan.application, record.deployment_id or ""
    if record.finished_at is None:
        record = store.finish(app, d, Phase.ROLLED_BACK, reason=why)
    replacement = record.replacement or record.live.partner
    if replacement is record.live:
        return RunResult(RunStatus.FAILED), f"stack {replacement.value} is live: it is not put back"
    scope = runtime.scope_for(record)
    steps = prepare_steps(scope.plan, scope.box, replacement)
    guard = fence(store, app, d, {Phase.PREPARE_FAILED, Phase.ROLLED_BACK})
    finished, problems = run_undo(steps, [s.id for s in steps], clock, guard, on_event, destructive=True)
    if not finished:
        return _wait(handover, f"putting stack {replacement.value} back to retired")
    if problems:
        return RunResult(RunStatus.FAILED), f"stack {replacement.value} was not wholly put back: {problems}"
    # The prepare started the replacement's clusters; nobody will use them now: stopped, as a retire would.
    stops = Engine(
        cluster_stops(scope.plan, scope.box, replacement),
        time_left=clock.time_left,
        deadline_left=clock.deadline_left,
        guard=guard,
        on_event=on_event,
    ).run()
    if stops.status is RunStatus.CONTINUE:
        return _wait(handover, f"stopping the clusters of stack {replacement.value}")
    if stops.status is RunStatus.FAILED:
        return stops, f"stack {replacement.value} is put back but its clusters did not stop: {stops.message}"
    store.mark_settled(app, d)
    return (
        RunResult(RunStatus.SUCCEEDED),
        f"deployment {d} settled: stack {record.live.value} live, stack {replacement.value} back to retired",
    )


def _complete(
    runtime: Runtime,
    record: LiveRecord,
    clock: Clock,
    on_event: EventSink,
    handover: Handover | None,
    **engine_kw: Any,
) -> tuple[RunResult, str]:
    """Finish the retire of a deployment that succeeded while the record says flipped."""
    store, app, d = runtime.store, runtime.plan.application, record.deployment_id or ""
    scope = runtime.scope_for(record)
    old = record.live.partner
    steps = retire_steps(scope.plan, scope.box, old, settle_waits(store, record, scope.plan))
    result = Engine(
        steps,
        time_left=clock.time_left,
        deadline_left=clock.deadline_left,
        guard=fence(store, app, d, {Phase.FLIPPED}),
        on_event=on_event,
        **engine_kw,
    ).run()
    if result.status is RunStatus.CONTINUE:
        return _wait(handover, f"retiring stack {old.value}")
    if result.status is RunStatus.FAILED:
        return result, f"deployment {d} succeeded but the retire of stack {old.value} failed: {result.message}"
    store.finish(app, d, Phase.RETIRED)
    return result, f"deployment {d} finished: stack {record.live.value} live, stack {old.value} retired"
