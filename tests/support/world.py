"""Read back what AWS holds for each stack of the seeded world (what a test asserts on)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import boto3

from bluegreen.local.seed import CLUSTER, World


@dataclass(frozen=True)
class StackView:
    desired_tasks: int
    subscription_enabled: bool
    mappings: tuple[str, ...]
    rules: tuple[str, ...]
    alarm_actions: tuple[bool, ...]
    consumer: str | None
    kinesis_mappings: int
    table_exists: bool
    cluster_status: str | None
    min_capacity: int | None
    queue_depth: int

    @property
    def working(self) -> bool:
        """Everything a live stack has on: workers, subscription, triggers, alarms, consumer, database."""
        return (
            self.desired_tasks > 0
            and self.subscription_enabled
            and set(self.mappings) == {"Enabled"}
            and set(self.rules) == {"ENABLED"}
            and all(self.alarm_actions)
            and self.consumer == "ACTIVE"
            and self.kinesis_mappings == 1
            and self.cluster_status == "available"
        )

    @property
    def retired(self) -> bool:
        """Everything a retired stack has off: no workers or triggers, no consumer, queues empty, cluster stopped."""
        return (
            self.desired_tasks == 0
            and not self.subscription_enabled
            and set(self.mappings) == {"Disabled"}
            and set(self.rules) == {"DISABLED"}
            and not any(self.alarm_actions)
            and self.consumer is None
            and self.kinesis_mappings == 0
            and self.queue_depth == 0
            and self.cluster_status == "stopped"
        )


class Viewer:
    """Reads both stacks of one world with one set of plain boto3 clients (not the code under test's).

    Making a client costs more than the calls of a view, so a test that looks at the world after every
    step keeps one viewer; :func:`view` makes a fresh one each time.
    """

    def __init__(self, world: World, clients: dict[str, Any] | None = None) -> None:
        """``clients`` may be shared between viewers of worlds in the same region (moto's state is global)."""
        self.world = world
        self._clients: dict[str, Any] = {} if clients is None else clients

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = boto3.client(service, region_name=self.world.region)
        return self._clients[service]

    def __call__(self, stack: str) -> StackView:
        world, c = self.world, self.client
        names = world.names[stack]
        ecs = c("ecs").describe_services(cluster=CLUSTER, services=[names["service"]])["services"][0]
        sub_arn = world.plan["sns"][0][stack]
        attrs = c("sns").get_subscription_attributes(SubscriptionArn=sub_arn)["Attributes"]
        policy = json.loads(attrs.get("FilterPolicy") or "{}")
        lam = c("lambda")
        alias_arn = lam.get_alias(FunctionName=names["fn"], Name="live")["AliasArn"]
        mappings = lam.list_event_source_mappings(FunctionName=alias_arn)["EventSourceMappings"]
        fn_arn = lam.get_function(FunctionName=names["fn"])["Configuration"]["FunctionArn"]
        kinesis_mappings = lam.list_event_source_mappings(FunctionName=fn_arn)["EventSourceMappings"]
        events = c("events")
        rules = [
            events.describe_rule(Name=r)["State"]
            for r in events.list_rule_names_by_target(TargetArn=alias_arn)["RuleNames"]
        ]
        alarms = c("cloudwatch").describe_alarms(AlarmNamePrefix="mock service - dev")["MetricAlarms"]
        actions = [a["ActionsEnabled"] for a in alarms if a["AlarmName"].endswith(names["alarm_suffix"])]
        consumers = c("kinesis").list_stream_consumers(StreamARN=world.stream_arn)["Consumers"]
        consumer = next((x["ConsumerStatus"] for x in consumers if x["ConsumerName"] == names["consumer"]), None)
        tables = c("dynamodb").list_tables()["TableNames"]
        clusters = c("rds").describe_db_clusters()["DBClusters"]
        status = next((x["Status"] for x in clusters if x["DBClusterIdentifier"] == names["cluster"]), None)
        targets = c("application-autoscaling").describe_scalable_targets(
            ServiceNamespace="rds", ResourceIds=[f"cluster:{names['cluster']}"]
        )["ScalableTargets"]
        sqs = c("sqs")
        depth = 0
        for queue in (names["queue"], names["dlq"]):
            url = sqs.get_queue_url(QueueName=queue)["QueueUrl"]
            got: dict[str, Any] = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
            depth += int(got["ApproximateNumberOfMessages"]) + int(got["ApproximateNumberOfMessagesNotVisible"])
        return StackView(
            desired_tasks=ecs["desiredCount"],
            subscription_enabled=policy == {},
            mappings=tuple(sorted(m["State"] for m in mappings)),
            rules=tuple(sorted(rules)),
            alarm_actions=tuple(actions),
            consumer=consumer,
            kinesis_mappings=sum(1 for m in kinesis_mappings if "/consumer/" in m["EventSourceArn"]),
            table_exists=names["table"] in tables,
            cluster_status=status,
            min_capacity=targets[0]["MinCapacity"] if targets else None,
            queue_depth=depth,
        )


def view(world: World, stack: str) -> StackView:
    """What AWS holds for ``stack`` of ``world`` (fresh clients; keep a :class:`Viewer` to look often)."""
    return Viewer(world)(stack)


def swapped_plan(plan: dict[str, Any]) -> dict[str, Any]:
    """``plan`` edited with a and b swapped in every entry (a plan edit between the hooks)."""
    edited: dict[str, Any] = json.loads(json.dumps(plan))
    for section in ("ecs", "sqs", "sns", "lambda", "cloudwatch", "kinesis", "dynamodb", "aurora"):
        for entry in edited.get(section, []):
            entry["a"], entry["b"] = entry["b"], entry["a"]
            if isinstance(entry.get("feeds"), dict):
                entry["feeds"] = {"a": entry["feeds"]["b"], "b": entry["feeds"]["a"]}
    return edited
