"""The two flows as data: which steps prepare the replacement stack and which retire the old one.

:func:`prepare_steps` (BeforeAllowTraffic) and :func:`retire_steps` (AfterAllowTraffic) turn a plan
into :class:`~bluegreen.engine.Step` lists. Nothing here calls AWS when the steps are built; the
engine runs them, or the dry run prints them. Step ids are stable (``"ecs[0].enable"``), so a
re-invocation can carry the ids of finished steps and resume.

Prepare (on the replacement R):
  DynamoDB tables checked → Aurora clusters started and awaited → reader min capacity := the live
  cluster's reader count; once every cluster is available: R's queues purged of what its last
  retirement left (the live stack processed those messages), then SNS subscriptions, event-source
  mappings, EventBridge rules, worker services, alarm actions on; Kinesis consumers registered (and
  the function each one feeds mapped to it). Every step's undo puts R back to retired, at once.
Retire (on the old stack O, after the flip):
  with SNS entries, a settle window (``settle_minutes``: SNS filter changes take up to 15 minutes to
  apply) until R's subscriptions have been on that long → O's subscriptions off → a second window in
  which O's consumers drain what still reaches them → the other reversible steps (mappings, rules,
  workers, alarm actions off) → irreversible steps
  (queues purged, fed mappings deleted and consumers deregistered) → the new live clusters' min
  capacity back to the plan's minimum → the old clusters stopped →
  last of all, deletions (tables and clusters with ``on_retire: delete``): nothing that can still
  fail and roll the deployment back runs after a deletion, and a failure never leaves the old stack
  without its database.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from bluegreen.datatypes import datatype
from bluegreen.engine import DONE, Step, StepOutcome, StepStatus, WaitFor
from bluegreen.refs import StackReference
from bluegreen.services import REGISTRY, Phased, Switch
from bluegreen.services._kit import PREPARE_PHASES, RETIRE_PHASES
from bluegreen.services.aurora import stop_step
from bluegreen.toolbox import Toolbox
from bluegreen.verdict.steps import VerdictContext, before_retire_step, before_traffic_at, before_traffic_step

if TYPE_CHECKING:
    from bluegreen.plan import Plan

__all__ = ["SettleWaits", "Switch", "cluster_stops", "prepare_steps", "retire_steps", "switches"]

logger = logging.getLogger(__name__)

#: The prepare's phases and the phases whose gating steps each one waits for: the stream consumers
#: are attached once the databases are ready, without waiting for the queues or the switches.
_PREPARE_AFTER: dict[str, tuple[str, ...]] = {
    "check": (),
    "ready": ("check",),
    "purge": ("check", "ready"),
    "enable": ("check", "ready", "purge"),
    "attach": ("check", "ready"),
}


def switches(plan: Plan, box: Toolbox, stack: StackReference) -> list[Switch]:
    """The reversible on/off parts of ``stack``: subscriptions, mappings, rules, workers, alarm actions."""
    return [switch for service in REGISTRY for index, entry in enumerate(getattr(plan, service.attribute))
            for switch in service.switches(entry, index, box, stack)]  # fmt: skip


def _phased(plan: Plan, box: Toolbox, stack: StackReference, *, retire: bool) -> list[Phased]:
    found: list[Phased] = []
    for service in REGISTRY:
        part = service.retire if retire else service.prepare
        for index, entry in enumerate(getattr(plan, service.attribute)):
            found.extend(part(entry, index, box, stack))
    return found


def _outcome(fn: Callable[[], object]) -> Callable[[], StepOutcome]:
    """A switch as a step action: what it answers when that is a step status (a wait), else done."""

    def action() -> StepOutcome:
        answer = fn()
        return answer if isinstance(answer, StepStatus | WaitFor) else DONE

    return action


def _after(step: Step, ids: Iterable[str]) -> Step:
    """``step`` also waiting for ``ids`` (before its own dependencies)."""
    return dataclasses.replace(step, depends_on=(*dict.fromkeys((*ids, *step.depends_on)),))


def _utc_now() -> datetime:
    return datetime.now(UTC)


@datatype(frozen=False)
class SettleWaits:
    """The times the retire's settle windows count from (SNS filter policy changes take time to apply).

    SNS says a change to a subscription's filter policy takes up to 15 minutes to fully take effect.
    So the retire turns the old stack's subscriptions off only once the new stack's have been on for
    ``minutes`` (counted from ``subscribed_at``: when the prepare enabled them), and turns the old
    consumers off only once the old subscriptions have been off for ``minutes`` (counted from
    ``mark_unsubscribed``, which records that moment once and returns it). Either callable may
    answer None (no record to read or write): the window then counts from the first time this
    process polled the wait, which is never earlier than the real moment.
    """

    minutes: float
    subscribed_at: Callable[[], datetime | None] = lambda: None
    mark_unsubscribed: Callable[[], datetime | None] = lambda: None
    now: Callable[[], datetime] = _utc_now
    _first_polls: dict[str, datetime] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def _since(self, key: str, known: datetime | None) -> datetime:
        if known is not None:
            return known
        with self._lock:
            return self._first_polls.setdefault(key, self.now())

    def _until(self, since: datetime) -> StepOutcome:
        left = (since + timedelta(minutes=self.minutes) - self.now()).total_seconds()
        return DONE if left <= 0 else WaitFor(left)

    def new_subscriptions_settled(self) -> StepOutcome:
        """Done once the new stack's subscriptions have been on for the window; else wait for the rest of it."""
        return self._until(self._since("subscribed", self.subscribed_at()))

    def old_consumers_drained(self) -> StepOutcome:
        """Record when the old subscriptions went off (once); done once they have been off for the window."""
        return self._until(self._since("unsubscribed", self.mark_unsubscribed()))


def prepare_steps(
    plan: Plan, box: Toolbox, replacement: StackReference, verdict: VerdictContext | None = None
) -> list[Step]:
    """The BeforeAllowTraffic steps that bring stack ``replacement`` up to take traffic.

    Each service adds its steps to the prepare's phases; its switches go on in the ``enable`` phase.
    A step waits for the gating steps of the phases :data:`_PREPARE_AFTER` names, and for its own
    dependencies (a reader minimum raised once its own cluster is ready). With a before-traffic
    verdict at the prepare (``at: prepare``), its step comes last, once every other step is done;
    ``verdict`` says where it keeps its judgement (nowhere by default).
    """
    r = replacement
    phased = _phased(plan, box, r, retire=False)
    for switch in switches(plan, box, r):
        phased.append(Phased("enable", Step(
            f"{switch.id}.enable", f"enable {switch.what}", switch.service, r, _outcome(switch.on),
            calls=switch.on_calls, undo=switch.off, undo_calls=switch.off_calls, bound=switch.bound,
        )))  # fmt: skip
    gates: dict[str, list[str]] = {phase: [] for phase in PREPARE_PHASES}
    steps: list[Step] = []
    for phase in PREPARE_PHASES:
        waits = [step_id for earlier in _PREPARE_AFTER[phase] for step_id in gates[earlier]]
        for item in (item for item in phased if item.phase == phase):
            steps.append(_after(item.step, waits))
            if item.gate:
                gates[phase].append(item.step.id)
    judge = (
        before_traffic_step(plan, box, r, verdict or VerdictContext()) if before_traffic_at(plan) == "prepare" else None
    )
    if judge is not None:
        steps.append(_after(judge, [step.id for step in steps]))
    return steps


def _settle_steps(plan: Plan, old: StackReference, waits: SettleWaits, settling: list[Switch]) -> tuple[Step, Step]:
    """The two settle windows of a retire: before the old subscriptions go off, and before the old consumers do."""
    minutes = f"{plan.settle_minutes:g} min"
    return (
        Step(
            "sns.settle", f"wait until stack {old.partner.value}'s subscriptions have been on for {minutes}",
            "sns", old.partner, waits.new_subscriptions_settled,
            calls=(f"(a wait: SNS filter changes take up to {minutes} to apply; counted from the prepare)",),
        ),
        Step(
            "sns.drain", f"let stack {old.value}'s consumers drain for {minutes} after its subscriptions went off",
            "sns", old, waits.old_consumers_drained,
            depends_on=tuple(f"{switch.id}.disable" for switch in settling),
            calls=("dynamodb:UpdateItem unsubscribed_at (once)", f"(a wait of {minutes})"),
        ),
    )  # fmt: skip


def retire_steps(
    plan: Plan,
    box: Toolbox,
    old: StackReference,
    waits: SettleWaits | None = None,
    verdict: VerdictContext | None = None,
) -> list[Step]:
    """The AfterAllowTraffic steps that retire stack ``old`` once the record says its partner is live.

    With a before-retire verdict, its step judges the new live stack first: every step that touches
    the old stack waits for it (the first settle window, a wait, runs beside it). Then the reversible
    switches go off. A switch that settles (an SNS subscription) goes off only
    once the new stack's have been on for ``settle_minutes``, and the others only once the settling
    ones have been off for another window (``waits`` gives the times; without it, windows count
    from the first poll in this process). Then each phase of :data:`RETIRE_PHASES` in turn, each
    step waiting for every step before its phase: irreversible steps, capacity given back, stops,
    deletions last of all.
    """
    o = old
    found = switches(plan, box, o)
    settle: tuple[Step, ...] = ()
    settling = [switch for switch in found if switch.settles]
    if settling and plan.settle_minutes > 0:
        settle = _settle_steps(plan, o, waits or SettleWaits(plan.settle_minutes), settling)
    steps = list(settle[:1])
    for switch in found:
        after = settle[:1] if switch.settles else settle[1:]
        steps.append(Step(
            f"{switch.id}.disable", f"disable {switch.what}", switch.service, o, _outcome(switch.off),
            depends_on=tuple(step.id for step in after), destructive=True,
            calls=switch.off_calls, undo=switch.on, undo_calls=switch.on_calls, bound=switch.bound,
        ))  # fmt: skip
    steps.extend(settle[1:])
    phased = _phased(plan, box, o, retire=True)
    for phase in RETIRE_PHASES:
        before = [step.id for step in steps]
        steps.extend(_after(item.step, before) for item in phased if item.phase == phase)
    judge = before_retire_step(plan, box, o.partner, verdict or VerdictContext())
    if judge is None:
        return steps
    waits_beside = {step.id for step in settle[:1]}  # the first settle window only waits: it runs beside the verdict
    return [judge, *(step if step.id in waits_beside else _after(step, [judge.id]) for step in steps)]


def cluster_stops(plan: Plan, box: Toolbox, stack: StackReference) -> list[Step]:
    """Stop ``stack``'s Aurora clusters whose plan entry says ``on_retire: stop`` (a settled replacement's).

    A cluster still starting or busy is waited for (pending), as the retire's own stop step does.
    """
    return [
        stop_step(entry, i, box, stack, undo=False) for i, entry in enumerate(plan.aurora) if entry.on_retire == "stop"
    ]
