"""The minimum-call model: the AWS calls a flow cannot avoid, per hook and per plan entry.

Counted for the seeded world, where every resource needs a change and every list fits one page:
each function has one event-source mapping and one EventBridge rule to switch, each stack three
alarms (one batch), each queue a DLQ, and the emulator's clusters and consumers are ready at the
first look. What counts as unavoidable:

- every write that makes a change, once (``UpdateService``, ``SetSubscriptionAttributes``, …);
- every read whose answer the flow acts on and cannot know otherwise, once per hook: the list that
  finds the mappings or rules or alarms to switch, the cluster state before a start or stop and the
  one poll after it, the live cluster's reader count, the consumer's state (and, in retire, its ARN),
  and prepare's last look that the replacement's clusters are still available (one filtered read);
- the names the design requires to be looked up rather than built, once per resource per process:
  a function's ARN (``GetFunction``), a queue's URL (``GetQueueUrl``);
- the record: each hook reads it once to decide (:func:`bluegreen.hooks.decide_for`); prepare writes it
  three times (the hook's first start, the deployment in flight, prepared) plus the report's record;
  retire writes the first start, the flip, the finish and the report's record (every write is
  conditional and returns the item it was refused on); one ``PutLifecycleEventHookExecutionStatus``
  per hook;
- following the deployment: the application's lease, taken and released (two ``UpdateItem``); CodeDeploy
  asked about the deployment at the start of the hook (``GetDeployment``) and, in retire, once more
  before the first irreversible step; the lifecycle event's start time for the deadline
  (``ListDeploymentTargets`` and ``GetDeploymentTarget``);
- the fence: with the lease, one read of the record per wave of destructive steps that starts together
  (retire: the reversible wave, the purges and unmaps, the deregistrations, the stops).

Not in the minimum: a read that only decides whether an idempotent write is needed (``DescribeRule``
before ``EnableRule``, ``DescribeScalableTargets`` before ``RegisterScalableTarget``), the same read
twice, and the fence's reads beyond the record the flip itself returned.
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


def _prepare(plan: Plan, r: StackReference, seen: SeededFacts) -> Counter[str]:
    calls: Counter[str] = Counter()
    # the record: first start, begin (read, write), prepared, the report's record; the report
    calls.update({"dynamodb:UpdateItem": 3, "dynamodb:GetItem": 1, "dynamodb:PutItem": 1})
    calls["codedeploy:PutLifecycleEventHookExecutionStatus"] += 1
    calls.update(_following(Flow.PREPARE))
    calls["dynamodb:DescribeTable"] += len(plan.dynamodb)
    for _ in plan.aurora:
        # state, start, one poll; the live cluster's reader count; the replacement's min capacity
        calls.update({"rds:DescribeDBClusters": 3, "rds:StartDBCluster": 1})
        calls["application-autoscaling:RegisterScalableTarget"] += 1
    if plan.aurora:
        # the last look before `prepared`: every replacement cluster still available — one filtered read
        calls["rds:DescribeDBClusters"] += 1
    calls["sns:SetSubscriptionAttributes"] += len(plan.sns)
    calls["lambda:GetFunction"] += len(_functions(plan, r))
    for lambda_entry in plan.lambda_:
        calls["lambda:ListEventSourceMappings"] += 1
        calls["lambda:UpdateEventSourceMapping"] += seen.mappings_per_function
        calls["events:ListRuleNamesByTarget"] += len(lambda_entry.event_buses)
        calls["events:EnableRule"] += seen.rules_per_function
    calls["ecs:UpdateService"] += len(plan.ecs)
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
    # the fence: one read per wave of destructive steps (reversible; purges and unmaps; deregistrations; stops)
    calls["dynamodb:GetItem"] += _retire_waves(plan)
    calls["sns:SetSubscriptionAttributes"] += len(plan.sns)
    calls["lambda:GetFunction"] += len(_functions(plan, o))
    for lambda_entry in plan.lambda_:
        calls["lambda:ListEventSourceMappings"] += 1
        calls["lambda:UpdateEventSourceMapping"] += seen.mappings_per_function
        calls["events:ListRuleNamesByTarget"] += len(lambda_entry.event_buses)
        calls["events:DisableRule"] += seen.rules_per_function
    calls["ecs:UpdateService"] += len(plan.ecs)
    for _ in plan.cloudwatch:
        calls["monitoring:DescribeAlarms"] += 1
        calls["monitoring:DisableAlarmActions"] += math.ceil(seen.alarms_per_stack / 100)
    for sqs_entry in plan.sqs:
        queues = sqs_entry.a if o is StackReference.A else sqs_entry.b
        count = 2 if queues.dlq else 1
        calls.update({"sqs:GetQueueUrl": count, "sqs:PurgeQueue": count})
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
    """The waves of destructive steps a retire of the seeded plan starts, each fenced by one record read."""
    waves = 1 if (plan.sns or plan.lambda_ or plan.ecs or plan.cloudwatch) else 0
    waves += 1 if (plan.sqs or any(k.feeds for k in plan.kinesis)) else 0
    waves += 1 if plan.kinesis else 0
    waves += 1 if any(db.on_retire == "stop" for db in plan.aurora) else 0
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
        "`set_min_capacity` reads the scalable target before every `RegisterScalableTarget` (to skip an "
        "equal min, and to raise the max). Fix: send `MinCapacity` alone; read only after a "
        "`ValidationException` (min above max, or no target), then send again with `MaxCapacity`."
    ),
    (Flow.PREPARE, "lambda:GetFunction"): (
        "The function ARN cache is per `LambdaTools` and unlocked: the mappings and the rules steps of one "
        "function run at once and both call `GetFunction`, and the Kinesis `fed` tool is a second tool for "
        "the same function. Fix: one ARN cache per process (or per `Toolbox`), keyed by region and "
        "function, filled under a lock; or build the ARN from the plan's `account_id` (or one STS call) "
        "and the region's partition, which saves the remaining call per function too."
    ),
    (Flow.PREPARE, "lambda:ListEventSourceMappings"): (
        "`_remap` lists the fed function's mappings, then `create_event_source_mapping` lists them again "
        "(`_mapping_for_source`) to stay idempotent. Fix: pass the list `_remap` already has, or create "
        "and treat `ResourceConflictException` as \u201calready there\u201d (the tool already does on a race)."
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
    "More lists than mappings to find: see the measured count against the model."
)
