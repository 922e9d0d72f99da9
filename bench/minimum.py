"""The minimum-call model: the AWS calls a flow cannot avoid, per hook and per plan entry.

Counted for the seeded world, where every resource needs a change and every list fits one page:
each function has one event-source mapping and one EventBridge rule to switch, each stack three
alarms (one batch), each queue a DLQ, each worker service an Application Auto Scaling scalable target
(suspended while its stack is retired, so both hooks must register it), the plan's ``settle_minutes``
is above 0 (the seeded 0.005), and the emulator's clusters and consumers are ready at the first look.
What counts as unavoidable:

- every write that makes a change, once (``UpdateService``, ``SetSubscriptionAttributes``,
  ``PurgeQueue``, the worker's ``RegisterScalableTarget`` that resumes or suspends its scaling, …);
- every read whose answer the flow acts on and cannot know otherwise, once per hook: the list that
  finds the mappings or rules or alarms to switch, the cluster state before a start or stop and the
  one poll after it, the live cluster's reader count, the consumer's state (and, in retire, its ARN),
  prepare's last look that the replacement's clusters are still available (one filtered read), and
  the worker service's ``DescribeScalableTargets``: whether the service has a scalable target at all
  is known only from that read (the plan does not say), so it is counted, unlike the reads below;
- one ``ListEventSourceMappings`` per function whose mappings are switched, created or deleted.
  :class:`~bluegreen.tools.lambda_.LambdaTools` lists each function's mappings twice (by ARN and by
  name, merged by ``UUID``) because moto matches only the string a mapping was created with and SAM
  creates them by name; on AWS either listing returns every mapping, so one is the minimum and the
  second shows as measured overhead;
- the names the design requires to be looked up rather than built, once per resource per process:
  a function's ARN (``GetFunction``), a queue's URL (``GetQueueUrl``, prepare's purges and retire's);
- the record: each hook reads it once to decide (:func:`bluegreen.hooks.decide_for`); prepare writes it
  three times (the hook's first start, the deployment in flight, prepared) plus the report's record;
  retire writes the first start, the flip, the finish and the report's record (every write is
  conditional and returns the item it was refused on), and, with SNS entries and a settle window,
  ``unsubscribed_at`` once (``StateStore.mark_unsubscribed``: when the drain window starts; the first
  window, ``sns.settle``, counts from the record's ``prepared_at`` and calls nothing); one
  ``PutLifecycleEventHookExecutionStatus`` per hook;
- following the deployment: the application's lease, taken and released (two ``UpdateItem``); CodeDeploy
  asked about the deployment at the start of the hook (``GetDeployment``) and, in retire, once more
  before the first irreversible step; the lifecycle event's start time for the deadline
  (``ListDeploymentTargets`` and ``GetDeploymentTarget``);
- the fence: with the lease, one read of the record (``GetItem``) per wave of destructive steps that
  the flow's dependencies start together (:meth:`bluegreen.hooks.fencing.Fence.wave`). Prepare: the purges of
  the replacement's queues, before anything is enabled. Retire, with a settle window: the SNS
  disables; the other reversible disables, after the drain window; the purges and unmaps; the
  deregistrations (after their unmaps); the stops; the deletions (without a window the two disable
  waves are one).

Not in the minimum: a read that only decides whether an idempotent write is needed (``DescribeRule``
before ``EnableRule``; the Aurora reader target's ``DescribeScalableTargets`` before its
``RegisterScalableTarget``, whose target the plan implies), the same read twice (the second mapping
listing included), and the fence's reads beyond one per wave (a wave the engine starts in batches).

The benchmark's process keeps its clients, and with them the function ARNs, from one run to the
next: a ``GetFunction`` counted here may not be made in a measured run (a function a warm-up or a
smaller run looked up), so the measured ``lambda`` count can fall below the model's.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

from bluegreen.hooks import Flow
from bluegreen.plan import Plan
from bluegreen.refs import StackReference


@dataclass(frozen=True)
class SeededFacts:
    """What the seeded world holds that the model needs (see :mod:`bluegreen.local.seed`)."""

    mappings_per_function: int = 1
    rules_per_function: int = 1
    alarms_per_stack: int = 3
    #: The old stack's function has one mapping on its Kinesis consumer (deleted by retire).
    consumer_mappings: int = 1
    #: Every worker service has a scalable target: suspended in the retired stack, not in the live one,
    #: so prepare resumes the replacement's and retire suspends the old one's (one write each).
    worker_targets: bool = True


def minimum_calls(flow: Flow, plan: Plan, facts: SeededFacts | None = None) -> Counter[str]:
    """The calls (``endpoint-prefix:Operation``) the flow cannot avoid for ``plan``'s first deployment (a → b)."""
    seen = facts or SeededFacts()
    if flow is Flow.PREPARE:
        return _prepare(plan, StackReference.B, seen)
    return _retire(plan, StackReference.A, seen)


def _pick(ref: StackReference, a: str, b: str) -> str:
    return a if ref is StackReference.A else b


def _functions(plan: Plan, ref: StackReference) -> set[str]:
    """The distinct functions whose ARN a flow on stack ``ref`` looks up."""
    names = {_pick(ref, entry.a, entry.b) for entry in plan.lambda_}
    names |= {_pick(ref, entry.feeds.a, entry.feeds.b) for entry in plan.kinesis if entry.feeds is not None}
    return names


def _settles(plan: Plan) -> bool:
    """Whether the retire has the two settle windows (``sns.settle``, ``sns.drain``)."""
    return bool(plan.sns) and plan.settle_minutes > 0


def _purges(plan: Plan, ref: StackReference) -> Counter[str]:
    """Purge stack ``ref``'s queues and DLQs: each queue's URL looked up, then ``PurgeQueue``."""
    calls: Counter[str] = Counter()
    for sqs_entry in plan.sqs:
        queues = sqs_entry.a if ref is StackReference.A else sqs_entry.b
        count = 2 if queues.dlq else 1
        calls.update({"sqs:GetQueueUrl": count, "sqs:PurgeQueue": count})
    return calls


def _workers(plan: Plan, seen: SeededFacts) -> Counter[str]:
    """Scale the worker services and resume or suspend their scaling: the same calls either way."""
    calls: Counter[str] = Counter({"ecs:UpdateService": len(plan.ecs)})
    # whether a service has a scalable target is known only from this read: counted (module docstring)
    calls["application-autoscaling:DescribeScalableTargets"] += len(plan.ecs)
    if seen.worker_targets:
        calls["application-autoscaling:RegisterScalableTarget"] += len(plan.ecs)
    return calls


def _prepare(plan: Plan, r: StackReference, seen: SeededFacts) -> Counter[str]:
    calls: Counter[str] = Counter()
    # the record: first start, begin (read, write), prepared, the report's record; the report
    calls.update({"dynamodb:UpdateItem": 3, "dynamodb:GetItem": 1, "dynamodb:PutItem": 1})
    calls["codedeploy:PutLifecycleEventHookExecutionStatus"] += 1
    calls.update(_following(Flow.PREPARE))
    # the fence: one read for the one wave of destructive steps, the purges
    calls["dynamodb:GetItem"] += 1 if plan.sqs else 0
    calls["dynamodb:DescribeTable"] += len(plan.dynamodb)
    for _ in plan.aurora:
        # state, start, one poll; the live cluster's reader count; the replacement's min capacity
        calls.update({"rds:DescribeDBClusters": 3, "rds:StartDBCluster": 1})
        calls["application-autoscaling:RegisterScalableTarget"] += 1
    if plan.aurora:
        # the last look before `prepared`: every replacement cluster still available — one filtered read
        calls["rds:DescribeDBClusters"] += 1
    calls.update(_purges(plan, r))
    calls["sns:SetSubscriptionAttributes"] += len(plan.sns)
    calls["lambda:GetFunction"] += len(_functions(plan, r))
    for lambda_entry in plan.lambda_:
        calls["lambda:ListEventSourceMappings"] += 1  # one listing: on AWS it finds every mapping
        calls["lambda:UpdateEventSourceMapping"] += seen.mappings_per_function
        calls["events:ListRuleNamesByTarget"] += len(lambda_entry.event_buses)
        calls["events:EnableRule"] += seen.rules_per_function
    calls.update(_workers(plan, seen))
    for _ in plan.cloudwatch:
        calls["monitoring:DescribeAlarms"] += 1
        calls["monitoring:EnableAlarmActions"] += math.ceil(seen.alarms_per_stack / 100)
    for kinesis_entry in plan.kinesis:
        calls.update({"kinesis:DescribeStreamConsumer": 1, "kinesis:RegisterStreamConsumer": 1})
        if kinesis_entry.feeds is not None:
            calls.update({"lambda:ListEventSourceMappings": 1, "lambda:CreateEventSourceMapping": 1})
    return calls


def _retire(plan: Plan, o: StackReference, seen: SeededFacts) -> Counter[str]:
    calls: Counter[str] = Counter()
    # the record: the decision's read; first start, flip, finish, the report's record; the report
    calls.update({"dynamodb:UpdateItem": 4, "dynamodb:GetItem": 1})
    calls["codedeploy:PutLifecycleEventHookExecutionStatus"] += 1
    calls.update(_following(Flow.RETIRE))
    # the drain window's start, written once (`sns.settle` counts from the record's `prepared_at`)
    calls["dynamodb:UpdateItem"] += 1 if _settles(plan) else 0
    # the fence: one read per wave of destructive steps
    calls["dynamodb:GetItem"] += _retire_waves(plan)
    calls["sns:SetSubscriptionAttributes"] += len(plan.sns)
    calls["lambda:GetFunction"] += len(_functions(plan, o))
    for lambda_entry in plan.lambda_:
        calls["lambda:ListEventSourceMappings"] += 1  # one listing: on AWS it finds every mapping
        calls["lambda:UpdateEventSourceMapping"] += seen.mappings_per_function
        calls["events:ListRuleNamesByTarget"] += len(lambda_entry.event_buses)
        calls["events:DisableRule"] += seen.rules_per_function
    calls.update(_workers(plan, seen))
    for _ in plan.cloudwatch:
        calls["monitoring:DescribeAlarms"] += 1
        calls["monitoring:DisableAlarmActions"] += math.ceil(seen.alarms_per_stack / 100)
    calls.update(_purges(plan, o))
    for kinesis_entry in plan.kinesis:
        if kinesis_entry.feeds is not None:
            calls["lambda:ListEventSourceMappings"] += 1
            calls["lambda:DeleteEventSourceMapping"] += seen.consumer_mappings
        calls.update({"kinesis:DescribeStreamConsumer": 1, "kinesis:DeregisterStreamConsumer": 1})
    for table_entry in plan.dynamodb:
        if table_entry.on_retire == "delete":
            calls["dynamodb:DeleteTable"] += 1
            calls["dynamodb:DescribeTable"] += 1 if table_entry.wait_for_delete else 0
    for db_entry in plan.aurora:
        calls["application-autoscaling:RegisterScalableTarget"] += 1
        if db_entry.on_retire == "stop":
            calls.update({"rds:DescribeDBClusters": 1, "rds:StopDBCluster": 1})
        elif db_entry.on_retire == "delete":
            raise NotImplementedError("the model counts the seeded plan's on_retire: stop only")
    return calls


def _following(flow: Flow) -> Counter[str]:
    """The calls that follow the deployment: the lease, CodeDeploy's view, the lifecycle start."""
    return Counter(
        {
            "dynamodb:UpdateItem": 2,  # the lease: taken, released
            "codedeploy:GetDeployment": 2 if flow is Flow.RETIRE else 1,
            "codedeploy:ListDeploymentTargets": 1,
            "codedeploy:GetDeploymentTarget": 1,
        }
    )


def _retire_waves(plan: Plan) -> int:
    """The waves of destructive steps a retire of ``plan`` starts, each fenced by one record read.

    As :func:`bluegreen.flows.retire_steps` orders them: the reversible disables (with a settle window,
    the SNS ones first and the others after the drain window: two waves); the purges and the unmaps
    (with the deregistrations of consumers that feed no function); the other deregistrations, after
    their unmaps; the stops, after the new live clusters' min capacity; the deletions, last.
    """
    disables = (bool(plan.sns), bool(plan.lambda_ or plan.ecs or plan.cloudwatch))
    waves = sum(disables) if _settles(plan) else int(any(disables))  # a settle window splits them in two
    fed = any(k.feeds is not None for k in plan.kinesis)
    waves += 1 if (plan.sqs or plan.kinesis) else 0
    waves += 1 if fed else 0
    waves += 1 if any(db.on_retire == "stop" for db in plan.aurora) else 0
    waves += 1 if any(t.on_retire == "delete" for t in plan.dynamodb) else 0
    return waves


#: Why a call is made more often than the minimum, and the fix suggested — by flow and operation.
REDUNDANT: dict[tuple[Flow, str], str] = {
    (Flow.PREPARE, "dynamodb:GetItem"): (
        "`handle` reads the report item (`StateStore.reported_status`) just before `first_started` "
        "writes the same item. Fix: one `UpdateItem` — `first_started` already returns the item "
        "(`ReturnValues=ALL_NEW`), with the recorded `status` when there is one."
    ),
    (Flow.RETIRE, "dynamodb:GetItem"): (
        "`finish` reads the record before its conditional write (to decide the history entry), and a wave "
        "the engine starts in two batches (a step that became ready a moment later) is fenced twice. Fix: "
        "finish from the record the flip returned, with the history appended by the conditional write."
    ),
    (Flow.PREPARE, "rds:DescribeDBClusters"): (
        "`AuroraTools.start_database` reads the state that `_aurora_ready` has just read; and the last look "
        "before `prepared` (`runs._clusters_available`) reads every replacement cluster one after another, "
        "after the engine has finished (N \u00d7 the latency, outside the thread pool). Fix: the step calls "
        "`StartDBCluster` itself when it saw `stopped` (or passes the state it read), keeping the re-read "
        "after `InvalidDBClusterStateFault`; the last look is one `DescribeDBClusters` with a "
        "`db-cluster-id` filter naming every cluster (up to 100 a call)."
    ),
    (Flow.RETIRE, "rds:DescribeDBClusters"): (
        "`AuroraTools.stop_database` reads the state that `_aurora_stop` has just read. Fix: as for the "
        "start — `StopDBCluster` from the step when it saw `available`."
    ),
    (Flow.PREPARE, "application-autoscaling:DescribeScalableTargets"): (
        "`AuroraTools.set_min_capacity` reads the reader target before every `RegisterScalableTarget` (to "
        "skip an equal min, and to raise the max); the worker services' read (`EcsTools.scalable_target`) "
        "is in the minimum. Fix: send `MinCapacity` alone; read only after a `ValidationException` (min "
        "above max, or no target), then send again with `MaxCapacity`."
    ),
    (Flow.PREPARE, "lambda:GetFunction"): (
        "`LambdaTools.function_arn` caches ARNs on the shared client, under one lock: a second lookup of "
        "the same function would mean that cache was missed (another client or region). Fix: build the "
        "ARN from the plan's `account_id` (or one STS call) and the region's partition, which saves the "
        "remaining call per function too."
    ),
    (Flow.PREPARE, "lambda:ListEventSourceMappings"): (
        "Every listing is made twice (`LambdaTools._mappings_of`: by ARN and by name, merged by UUID, "
        "because moto matches only the string a mapping was created with; on AWS one finds them all), "
        "and `_remap` lists the fed function's mappings, then `create_event_source_mapping` lists them "
        "again (`_mapping_for_source`) to stay idempotent: 4 listings per fed function, 2 per switch. "
        "Fix: one listing by ARN on AWS (the name only against an emulator); pass `_remap`'s list to the "
        "create, or create and treat `ResourceConflictException` as \u201calready there\u201d (the tool "
        "already does on a race)."
    ),
    (Flow.PREPARE, "kinesis:DescribeStreamConsumer"): (
        "`register_consumer` describes the consumer that `_consumer_active` has just described, and "
        "`_remap` describes it once more for the ARN that the register step's answer carried. Fix: "
        "register directly when the status said \u201cnot registered\u201d; keep the description the "
        "register step got (in the Kinesis tool, per stack) for the map step."
    ),
    (Flow.PREPARE, "events:DescribeRule"): (
        "`_switch_rules` describes every rule before `EnableRule` to skip enabled ones — and to keep a "
        "rule in `ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS`, which `EnableRule` would turn into "
        "`ENABLED`. Fix: drop it when disabling (retire); when enabling, keep it only if that state matters."
    ),
}
REDUNDANT[(Flow.RETIRE, "application-autoscaling:DescribeScalableTargets")] = REDUNDANT[
    (Flow.PREPARE, "application-autoscaling:DescribeScalableTargets")
]
REDUNDANT[(Flow.RETIRE, "lambda:GetFunction")] = REDUNDANT[(Flow.PREPARE, "lambda:GetFunction")]
REDUNDANT[(Flow.RETIRE, "events:DescribeRule")] = (
    "`_switch_rules` describes every rule before `DisableRule` to skip disabled ones; disabling a "
    "disabled rule changes nothing. Fix: call `DisableRule` directly (`ResourceNotFoundException`: skip)."
)
REDUNDANT[(Flow.RETIRE, "lambda:ListEventSourceMappings")] = (
    "Every listing is made twice (`LambdaTools._mappings_of`: by ARN and by name, merged by UUID, because "
    "moto matches only the string a mapping was created with; on AWS one finds them all): the mappings "
    "switch and `_unmap` list 2 times each. Fix: one listing by ARN on AWS (the name only against an emulator)."
)
