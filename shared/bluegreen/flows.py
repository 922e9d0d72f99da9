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

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, TypeVar

from bluegreen.engine import DONE, PENDING, Step, StepOutcome, StepStatus, WaitFor
from bluegreen.refs import ClusterState, StackReference
from bluegreen.toolbox import Toolbox

if TYPE_CHECKING:
    from bluegreen.plan import Plan
    from bluegreen.tools.aurora import AuroraTools
    from bluegreen.tools.dynamodb import DynamoTools
    from bluegreen.tools.kinesis import KinesisTools

T = TypeVar("T")
logger = logging.getLogger(__name__)

#: Cluster states that will not become available (or stoppable) by waiting.
_BROKEN = {
    ClusterState.DELETING,
    ClusterState.CLONING_FAILED,
    ClusterState.MIGRATION_FAILED,
    ClusterState.INACCESSIBLE_ENCRYPTION_CREDENTIALS,
    ClusterState.LIMITLESS_DATA_MIGRATION_FAILED,
}


def _pick(stack: StackReference, a: T, b: T) -> T:
    return a if stack is StackReference.A else b


def _done(fn: Callable[[], object]) -> Callable[[], StepStatus]:
    def action() -> StepStatus:
        fn()
        return DONE

    return action


@dataclass(frozen=True)
class Switch:
    """Something of one stack that is on while the stack works and off while it is retired."""

    id: str
    service: str
    what: str
    on: Callable[[], object]
    off: Callable[[], object]
    on_calls: tuple[str, ...]
    off_calls: tuple[str, ...]


def switches(plan: Plan, box: Toolbox, stack: StackReference) -> list[Switch]:
    """The reversible on/off parts of ``stack``: subscriptions, mappings, rules, workers, alarm actions."""
    s = stack
    found: list[Switch] = []
    for i, sns_entry in enumerate(plan.sns):
        sns, arn = box.sns(i), _pick(s, sns_entry.a, sns_entry.b)
        found.append(Switch(
            f"sns[{i}]", "sns", f"subscription {arn}",
            partial(sns.enable_subscription, s), partial(sns.disable_subscription, s),
            (f"sns:SetSubscriptionAttributes FilterPolicy=enabled {arn}",),
            (f"sns:SetSubscriptionAttributes FilterPolicy=disabled {arn}",),
        ))  # fmt: skip
    for i, lambda_entry in enumerate(plan.lambda_):
        lam, fn = box.lambda_(i), _pick(s, lambda_entry.a, lambda_entry.b)
        found.append(Switch(
            f"lambda[{i}].mappings", "lambda", f"event-source mappings of {fn}",
            partial(lam.enable_event_mapping, s), partial(lam.disable_event_mapping, s),
            (f"lambda:ListEventSourceMappings {fn}", "lambda:UpdateEventSourceMapping Enabled=true (each)"),
            (f"lambda:ListEventSourceMappings {fn}", "lambda:UpdateEventSourceMapping Enabled=false (each)"),
        ))  # fmt: skip
        found.append(Switch(
            f"lambda[{i}].rules", "lambda", f"EventBridge rules targeting {fn}",
            partial(lam.enable_rule, s), partial(lam.disable_rule, s),
            (f"events:ListRuleNamesByTarget {fn}", "events:EnableRule (each)"),
            (f"events:ListRuleNamesByTarget {fn}", "events:DisableRule (each)"),
        ))  # fmt: skip
    for i, ecs_entry in enumerate(plan.ecs):
        ecs, service = box.ecs(i), _pick(s, ecs_entry.a, ecs_entry.b)
        found.append(Switch(
            f"ecs[{i}]", "ecs", f"worker service {ecs_entry.cluster}/{service}",
            partial(ecs.enable_service, s), partial(ecs.disable_service, s),
            (
                f"ecs:UpdateService {ecs_entry.cluster}/{service} desiredCount={ecs_entry.desired_tasks}",
                "application-autoscaling:RegisterScalableTarget (scaling resumed, when it has a target)",
            ),
            (
                "application-autoscaling:RegisterScalableTarget (scaling suspended, when it has a target)",
                f"ecs:UpdateService {ecs_entry.cluster}/{service} desiredCount=0",
            ),
        ))  # fmt: skip
    for i, cw_entry in enumerate(plan.cloudwatch):
        cw, alarms = box.cloudwatch(i), _pick(s, cw_entry.a, cw_entry.b)
        pattern = f"{alarms.alarm_prefix}*{alarms.alarm_suffix or ''}"
        describe = f"cloudwatch:DescribeAlarms prefix={alarms.alarm_prefix!r}"
        found.append(Switch(
            f"cloudwatch[{i}]", "cloudwatch", f"actions of alarms {pattern!r}",
            partial(cw.enable_alarms_actions, s), partial(cw.disable_alarms_actions, s),
            (describe, "cloudwatch:EnableAlarmActions (batches of 100)"),
            (describe, "cloudwatch:DisableAlarmActions (batches of 100)"),
        ))  # fmt: skip
    return found


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
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


def _aurora_ready(tools: AuroraTools, ref: StackReference) -> Callable[[], StepStatus]:
    """Start the cluster when stopped; done once it is available (a stopping cluster is waited for first)."""

    def action() -> StepStatus:
        state = tools.get_cluster_state(ref)
        if state is ClusterState.AVAILABLE:
            return DONE
        if state is ClusterState.STOPPED:
            tools.start_database(ref)
            return PENDING
        if state in _BROKEN:
            raise RuntimeError(f"cluster {tools.cluster_name(ref)} is {state.value}: it will not become available")
        return PENDING

    return action


def _aurora_stop(tools: AuroraTools, ref: StackReference) -> Callable[[], StepStatus]:
    """Stop the cluster once it can be stopped; a cluster busy modifying or backing up is waited for.

    RDS refuses ``StopDBCluster`` (``InvalidDBInstanceState``) while one of the cluster's instances is
    busy — a reader auto scaling adds or removes, Performance Insights being turned on: that is a
    wait too (``ClusterBusyError``), not a failure that would put the whole retire back.
    """

    def action() -> StepStatus:
        state = tools.get_cluster_state(ref)
        if state in (ClusterState.STOPPED, ClusterState.STOPPING):
            return DONE
        if state is ClusterState.AVAILABLE:
            # Imported here: a handler imports no tool module before it needs one (its cold start).
            from bluegreen.tools.aurora import ClusterBusyError  # noqa: PLC0415

            try:
                tools.stop_database(ref)
            except ClusterBusyError as busy:  # a reader being added, removed or modified: RDS refuses for now
                logger.info("cluster %s cannot stop yet: %s", tools.cluster_name(ref), busy)
                return PENDING
            return DONE
        if state in _BROKEN:
            raise RuntimeError(f"cluster {tools.cluster_name(ref)} is {state.value}: it cannot be stopped")
        return PENDING

    return action


def _consumer_active(tools: KinesisTools, ref: StackReference) -> Callable[[], StepStatus]:
    """Register the consumer; done once it is ACTIVE (one still DELETING from a retire is waited for first)."""

    def action() -> StepStatus:
        status = tools.consumer_status(ref)
        if status == "ACTIVE":
            return DONE
        if status is None:
            status = tools.register_consumer(ref).get("ConsumerStatus")
        return DONE if status == "ACTIVE" else PENDING

    return action


def _aurora_restart(tools: AuroraTools, ref: StackReference) -> Callable[[], StepStatus]:
    """Undo of a stop: start the cluster again as soon as it has stopped (a stopping cluster cannot start)."""

    def action() -> StepStatus:
        state = tools.get_cluster_state(ref)
        if state is ClusterState.STOPPED:
            tools.start_database(ref)
            return DONE
        if state is ClusterState.STOPPING:
            return PENDING
        if state in _BROKEN:
            raise RuntimeError(f"cluster {tools.cluster_name(ref)} is {state.value}: it cannot be started")
        return DONE

    return action


def _table_deleted(tools: DynamoTools, ref: StackReference, wait: bool) -> Callable[[], StepStatus]:
    """Delete the table; with ``wait``, done only once it is gone (polled, not slept on)."""

    def action() -> StepStatus:
        status = tools.table_status(ref)
        if status is None:
            return DONE
        if status != "DELETING":
            tools.delete_table(ref)
        return PENDING if wait else DONE

    return action


def _remap(box: Toolbox, index: int, ref: StackReference) -> None:
    """Map the function that stack ``ref``'s consumer feeds to that consumer; drop its mappings on stale consumers."""
    entry = box.plan.kinesis[index]
    consumer_arn = box.kinesis(index).describe_consumer(ref)["ConsumerARN"]
    fed = box.fed_lambda(index)
    mappings = fed.list_event_source_mappings(ref)
    for mapping in mappings:
        source = mapping.get("EventSourceArn", "")
        if source.startswith(f"{entry.stream_arn}/consumer/") and source != consumer_arn:
            fed.delete_event_mapping(mapping["UUID"])
    if not any(m.get("EventSourceArn") == consumer_arn for m in mappings):
        fed.create_event_source_mapping(ref, consumer_arn, **entry.mapping_params())


def _unmap(box: Toolbox, index: int, ref: StackReference) -> None:
    """Delete the fed function's mappings on this stream's consumers (before its consumer is deregistered)."""
    entry = box.plan.kinesis[index]
    fed = box.fed_lambda(index)
    for mapping in fed.list_event_source_mappings(ref):
        if mapping.get("EventSourceArn", "").startswith(f"{entry.stream_arn}/consumer/"):
            fed.delete_event_mapping(mapping["UUID"])


def prepare_steps(plan: Plan, box: Toolbox, replacement: StackReference) -> list[Step]:
    """The BeforeAllowTraffic steps that bring stack ``replacement`` up to take traffic."""
    r = replacement
    steps: list[Step] = []
    for i, table_entry in enumerate(plan.dynamodb):
        table = _pick(r, table_entry.a, table_entry.b)
        steps.append(Step(
            f"dynamodb[{i}].check", f"check table {table} exists", "dynamodb", r,
            _done(partial(box.require_table, i, r)), calls=(f"dynamodb:DescribeTable {table}",),
        ))  # fmt: skip
    checks = tuple(step.id for step in steps)
    for i, db_entry in enumerate(plan.aurora):
        aurora, name, live = box.aurora(i), _pick(r, db_entry.a, db_entry.b), _pick(r, db_entry.b, db_entry.a)
        steps.append(Step(
            f"aurora[{i}].ready", f"start cluster {name} and wait until available", "aurora", r,
            _aurora_ready(aurora, r), depends_on=checks,
            calls=(f"rds:DescribeDBClusters {name}", f"rds:StartDBCluster {name} (when stopped)"),
        ))  # fmt: skip
        steps.append(Step(
            f"aurora[{i}].scale-out", f"min readers of {name} := the reader count of {live}", "aurora", r,
            _done(partial(aurora.scale_out, r)), depends_on=(f"aurora[{i}].ready",),
            calls=(f"rds:DescribeDBClusters {live}", f"application-autoscaling:RegisterScalableTarget cluster:{name}"),
            undo=partial(aurora.scale_in, r),
            undo_calls=(f"application-autoscaling:RegisterScalableTarget cluster:{name}",),
        ))  # fmt: skip
    ready = (*checks, *(f"aurora[{i}].ready" for i in range(len(plan.aurora))))
    # What the replacement's last retirement left in its queues (messages the live stack processed too)
    # is purged before its subscriptions go on, so that it is never processed a second time.
    for i in range(len(plan.sqs)):
        steps.append(_purge_step(box, i, r, depends_on=ready, why="leftovers of its last retirement"))
    purged = (*ready, *(f"sqs[{i}].purge" for i in range(len(plan.sqs))))
    for switch in switches(plan, box, r):
        steps.append(Step(
            f"{switch.id}.enable", f"enable {switch.what}", switch.service, r, _done(switch.on),
            depends_on=purged, calls=switch.on_calls, undo=switch.off, undo_calls=switch.off_calls,
        ))  # fmt: skip
    for i, stream_entry in enumerate(plan.kinesis):
        kinesis, consumer = box.kinesis(i), _pick(r, stream_entry.a, stream_entry.b)
        steps.append(Step(
            f"kinesis[{i}].register", f"register consumer {consumer} and wait until active", "kinesis", r,
            _consumer_active(kinesis, r), depends_on=ready,
            calls=(f"kinesis:DescribeStreamConsumer {consumer}", f"kinesis:RegisterStreamConsumer {consumer}"),
            undo=partial(kinesis.deregister_consumer, r),
            undo_calls=(f"kinesis:DeregisterStreamConsumer {consumer}",),
        ))  # fmt: skip
        if stream_entry.feeds is not None:
            fn = _pick(r, stream_entry.feeds.a, stream_entry.feeds.b)
            steps.append(Step(
                f"kinesis[{i}].map", f"map {fn} to consumer {consumer}", "kinesis", r,
                _done(partial(_remap, box, i, r)), depends_on=(f"kinesis[{i}].register",),
                calls=(f"lambda:ListEventSourceMappings {fn}", f"lambda:CreateEventSourceMapping {fn} <- {consumer}"),
                undo=partial(_unmap, box, i, r), undo_calls=(f"lambda:DeleteEventSourceMapping {fn}",),
            ))  # fmt: skip
    return steps


def _purge_step(box: Toolbox, index: int, stack: StackReference, *, depends_on: tuple[str, ...], why: str) -> Step:
    queues = _pick(stack, box.plan.sqs[index].a, box.plan.sqs[index].b)
    return Step(
        f"sqs[{index}].purge",
        f"purge queue {queues.queue}" + (f" and DLQ {queues.dlq}" if queues.dlq else "") + f" ({why})",
        "sqs", stack, _done(partial(box.sqs(index).purge_queues, stack)), depends_on=depends_on,
        destructive=True, irreversible=True, calls=(f"sqs:GetQueueUrl {queues.queue}", "sqs:PurgeQueue"),
    )  # fmt: skip


def _settle_steps(plan: Plan, old: StackReference, waits: SettleWaits) -> tuple[Step, Step]:
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
            depends_on=tuple(f"sns[{i}].disable" for i in range(len(plan.sns))),
            calls=("dynamodb:UpdateItem unsubscribed_at (once)", f"(a wait of {minutes})"),
        ),
    )  # fmt: skip


def retire_steps(plan: Plan, box: Toolbox, old: StackReference, waits: SettleWaits | None = None) -> list[Step]:
    """The AfterAllowTraffic steps that retire stack ``old`` once the record says its partner is live.

    With SNS entries and ``settle_minutes`` above 0, the old subscriptions go off only once the new
    ones have been on for the settle window, and everything else of the old stack only once its
    subscriptions have been off for another window (``waits`` gives the times; without it, windows
    count from the first poll in this process).
    """
    o, new = old, old.partner
    settle: tuple[Step, ...] = ()
    if plan.sns and plan.settle_minutes > 0:
        settle = _settle_steps(plan, o, waits or SettleWaits(plan.settle_minutes))
    steps = list(settle[:1])
    for switch in switches(plan, box, o):
        after = settle[:1] if switch.service == "sns" else settle[1:]
        steps.append(Step(
            f"{switch.id}.disable", f"disable {switch.what}", switch.service, o, _done(switch.off),
            depends_on=tuple(step.id for step in after), destructive=True,
            calls=switch.off_calls, undo=switch.on, undo_calls=switch.on_calls,
        ))  # fmt: skip
    steps.extend(settle[1:])
    reversible = tuple(step.id for step in steps)
    for i in range(len(plan.sqs)):
        steps.append(_purge_step(box, i, o, depends_on=reversible, why="what is left also reached the new stack"))
    for i, stream_entry in enumerate(plan.kinesis):
        kinesis, consumer = box.kinesis(i), _pick(o, stream_entry.a, stream_entry.b)
        before_deregister = reversible
        if stream_entry.feeds is not None:
            fn = _pick(o, stream_entry.feeds.a, stream_entry.feeds.b)
            steps.append(Step(
                f"kinesis[{i}].unmap", f"delete the mapping of {fn} on consumer {consumer}", "kinesis", o,
                _done(partial(_unmap, box, i, o)), depends_on=reversible, destructive=True,
                calls=(f"lambda:ListEventSourceMappings {fn}", "lambda:DeleteEventSourceMapping"),
                undo=partial(_remap, box, i, o), undo_calls=(f"lambda:CreateEventSourceMapping {fn} <- {consumer}",),
            ))  # fmt: skip
            before_deregister = (*reversible, f"kinesis[{i}].unmap")
        steps.append(Step(
            f"kinesis[{i}].deregister", f"deregister consumer {consumer}", "kinesis", o,
            _done(partial(kinesis.deregister_consumer, o)), depends_on=before_deregister, destructive=True,
            irreversible=True, calls=(f"kinesis:DeregisterStreamConsumer {consumer} (by ConsumerARN)",),
            undo=_consumer_active(kinesis, o), undo_calls=(f"kinesis:RegisterStreamConsumer {consumer}",),
        ))  # fmt: skip
    before_last = tuple(step.id for step in steps)
    scaled_in = tuple(f"aurora[{i}].scale-in" for i in range(len(plan.aurora)))
    stops: list[str] = []
    for i, db_entry in enumerate(plan.aurora):
        aurora, name, live = box.aurora(i), _pick(o, db_entry.a, db_entry.b), _pick(new, db_entry.a, db_entry.b)
        steps.append(Step(
            f"aurora[{i}].scale-in", f"min readers of {live} := {db_entry.minimum_cluster_size}", "aurora", new,
            _done(partial(aurora.scale_in, new)), depends_on=before_last,
            calls=(f"application-autoscaling:RegisterScalableTarget cluster:{live}",),
            undo=partial(aurora.scale_out, new),
            undo_calls=(f"application-autoscaling:RegisterScalableTarget cluster:{live}",),
        ))  # fmt: skip
        if db_entry.on_retire == "stop":
            stops.append(f"aurora[{i}].stop")
            steps.append(Step(
                f"aurora[{i}].stop", f"stop cluster {name}", "aurora", o, _aurora_stop(aurora, o),
                depends_on=(*before_last, *scaled_in), destructive=True, calls=(f"rds:StopDBCluster {name}",),
                undo=_aurora_restart(aurora, o), undo_calls=(f"rds:StartDBCluster {name}",),
            ))  # fmt: skip
    # Deletions last of all: nothing that can still fail (and roll the deployment back) runs after them.
    deletions_after = (*before_last, *scaled_in, *stops)
    for i, table_entry in enumerate(plan.dynamodb):
        if table_entry.on_retire == "delete":
            table = _pick(o, table_entry.a, table_entry.b)
            steps.append(Step(
                f"dynamodb[{i}].delete", f"delete table {table}", "dynamodb", o,
                _table_deleted(box.dynamodb(i), o, table_entry.wait_for_delete), depends_on=deletions_after,
                destructive=True, irreversible=True, calls=(f"dynamodb:DeleteTable {table}",),
            ))  # fmt: skip
    for i, db_entry in enumerate(plan.aurora):
        if db_entry.on_retire == "delete":
            aurora, name = box.aurora(i), _pick(o, db_entry.a, db_entry.b)
            snapshot = "no final snapshot" if db_entry.skip_delete_snapshots else "with a final snapshot"
            steps.append(Step(
                f"aurora[{i}].delete", f"delete cluster {name} ({snapshot})", "aurora", o,
                _done(partial(aurora.delete_database, o)), depends_on=deletions_after, destructive=True,
                irreversible=True, calls=(f"rds:DeleteDBInstance (members of {name})", f"rds:DeleteDBCluster {name}"),
            ))  # fmt: skip
    return steps


def cluster_stops(plan: Plan, box: Toolbox, stack: StackReference) -> list[Step]:
    """Stop ``stack``'s Aurora clusters whose plan entry says ``on_retire: stop`` (a settled replacement's).

    A cluster still starting or busy is waited for (pending), as the retire's own stop step does.
    """
    steps: list[Step] = []
    for i, db_entry in enumerate(plan.aurora):
        if db_entry.on_retire == "stop":
            name = _pick(stack, db_entry.a, db_entry.b)
            steps.append(Step(
                f"aurora[{i}].stop", f"stop cluster {name}", "aurora", stack, _aurora_stop(box.aurora(i), stack),
                destructive=True, calls=(f"rds:StopDBCluster {name}",),
            ))  # fmt: skip
    return steps
