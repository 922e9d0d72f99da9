"""Seed a realistic two-stack application into an AWS endpoint (the emulator, or moto in tests).

Stack ``a`` is live and working; stack ``b`` is retired the way a retire leaves it: workers at 0,
subscription filtered off, mappings and rules disabled, alarm actions off, no Kinesis consumer,
Aurora cluster stopped. :func:`seed_world` creates it all with plain boto3 calls (so it works
against any endpoint) and returns the matching plan document.
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass, field
from typing import Any

import boto3

from bluegreen.aws import make_client

APP = "orders"
CLUSTER = "deep-sea-fargate"
STREAM = "my-stream-dev"
TOPIC = "fn-updates-dev"
ALARM_PREFIX = "mock service - dev"
DISABLED_FILTER = {"bluegreen-subscription-disabled": [{"exists": True}]}
STACKS = ("a", "b")


def _names(stack: str) -> dict[str, str]:
    return {
        "service": f"thing-runner-{stack}-prod",
        "queue": f"fn-queue-{stack}-dev",
        "dlq": f"fn-dlq-{stack}-dev",
        "fn": f"fn-{stack}-dev",
        "alarm_suffix": f"- {stack.upper()}",
        "consumer": f"con1{stack.upper()}",
        "table": f"table-{stack}-dev",
        "cluster": f"fn-db-{stack}-dev",
    }


@dataclass
class World:
    """What :func:`seed_world` made: the plan document and the names and ARNs a test or the demo needs."""

    region: str
    state_table: str
    names: dict[str, dict[str, str]] = field(default_factory=lambda: {s: _names(s) for s in STACKS})
    topic_arn: str = ""
    stream_arn: str = ""
    subscriptions: dict[str, str] = field(default_factory=dict)
    plan: dict[str, Any] = field(default_factory=dict)


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", "def handler(event, context):\n    return event\n")
    return buffer.getvalue()


class _Seeder:
    def __init__(self, world: World, session: boto3.Session | None, messages: int, readers: int) -> None:
        self.world = world
        self.session = session
        self.messages = messages
        self.readers = readers

    def client(self, service: str) -> Any:
        return make_client(service, region=self.world.region, session=self.session)

    def name(self, stack: str, kind: str) -> str:
        return self.world.names[stack][kind]

    def state_table(self) -> None:
        self.client("dynamodb").create_table(
            TableName=self.world.state_table,
            KeySchema=[{"AttributeName": "application", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "application", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )

    def workers(self) -> None:
        ecs = self.client("ecs")
        ecs.create_cluster(clusterName=CLUSTER)
        ecs.register_task_definition(
            family="thing-runner", containerDefinitions=[{"name": "runner", "image": "runner:1", "memory": 256}]
        )
        for stack, desired in (("a", 2), ("b", 0)):
            ecs.create_service(
                cluster=CLUSTER,
                serviceName=self.name(stack, "service"),
                taskDefinition="thing-runner",
                desiredCount=desired,
            )

    def queues(self) -> dict[str, str]:
        """Each stack's queue (with a DLQ, both holding messages) subscribed to one topic; b's filtered off."""
        sqs, sns = self.client("sqs"), self.client("sns")
        self.world.topic_arn = sns.create_topic(Name=TOPIC)["TopicArn"]
        queue_arns: dict[str, str] = {}
        for stack in STACKS:
            dlq_url = sqs.create_queue(QueueName=self.name(stack, "dlq"))["QueueUrl"]
            dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
            redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "5"})
            url = sqs.create_queue(QueueName=self.name(stack, "queue"), Attributes={"RedrivePolicy": redrive})[
                "QueueUrl"
            ]
            queue_arns[stack] = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
                "QueueArn"
            ]
            for n in range(self.messages):
                sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"order": n, "stack": stack}))
                sqs.send_message(QueueUrl=dlq_url, MessageBody=json.dumps({"poison": n, "stack": stack}))
            attributes = {"RawMessageDelivery": "true"}
            if stack == "b":
                attributes["FilterPolicy"] = json.dumps(DISABLED_FILTER)
            self.world.subscriptions[stack] = sns.subscribe(
                TopicArn=self.world.topic_arn,
                Protocol="sqs",
                Endpoint=queue_arns[stack],
                Attributes=attributes,
                ReturnSubscriptionArn=True,
            )["SubscriptionArn"]
        return queue_arns

    def functions(self, queue_arns: dict[str, str]) -> None:
        """Each stack's function with alias ``live``, its queue mapping and a schedule rule; a's Kinesis consumer."""
        role = self.client("iam").create_role(
            RoleName="fn-role",
            AssumeRolePolicyDocument=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "lambda.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                }
            ),
        )["Role"]["Arn"]
        lam, events, kinesis = self.client("lambda"), self.client("events"), self.client("kinesis")
        kinesis.create_stream(StreamName=STREAM, ShardCount=1)
        self.world.stream_arn = kinesis.describe_stream_summary(StreamName=STREAM)["StreamDescriptionSummary"][
            "StreamARN"
        ]
        function_arns: dict[str, str] = {}
        for stack in STACKS:
            fn, live = self.name(stack, "fn"), stack == "a"
            function_arns[stack] = lam.create_function(
                FunctionName=fn, Runtime="python3.13", Role=role, Handler="app.handler", Code={"ZipFile": _zip()}
            )["FunctionArn"]
            version = lam.publish_version(FunctionName=fn)["Version"]
            alias_arn = lam.create_alias(FunctionName=fn, Name="live", FunctionVersion=version)["AliasArn"]
            lam.create_event_source_mapping(
                EventSourceArn=queue_arns[stack], FunctionName=alias_arn, Enabled=live, BatchSize=10
            )
            rule = f"{fn}-every-5-minutes"
            events.put_rule(Name=rule, ScheduleExpression="rate(5 minutes)", State="ENABLED" if live else "DISABLED")
            events.put_targets(Rule=rule, Targets=[{"Id": "fn", "Arn": alias_arn}])
        consumer = kinesis.register_stream_consumer(
            StreamARN=self.world.stream_arn, ConsumerName=self.name("a", "consumer")
        )["Consumer"]
        lam.create_event_source_mapping(
            EventSourceArn=consumer["ConsumerARN"], FunctionName=function_arns["a"], StartingPosition="LATEST"
        )

    def alarms(self) -> None:
        cloudwatch = self.client("cloudwatch")
        for stack in STACKS:
            for metric in ("errors", "latency", "queue depth"):
                cloudwatch.put_metric_alarm(
                    AlarmName=f"{ALARM_PREFIX} {metric} {self.name(stack, 'alarm_suffix')}",
                    MetricName="Errors",
                    Namespace="AWS/Lambda",
                    Statistic="Sum",
                    Period=60,
                    EvaluationPeriods=1,
                    Threshold=1,
                    ComparisonOperator="GreaterThanOrEqualToThreshold",
                    ActionsEnabled=stack == "a",
                    AlarmActions=[self.world.topic_arn],
                )

    def tables(self) -> None:
        ddb = self.client("dynamodb")
        for stack in STACKS:
            ddb.create_table(
                TableName=self.name(stack, "table"),
                KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                BillingMode="PAY_PER_REQUEST",
            )

    def databases(self) -> None:
        """Aurora: a's cluster available with a writer and readers, b's stopped; both auto-scaled (min 1)."""
        rds, aas = self.client("rds"), self.client("application-autoscaling")
        for stack, reader_count in (("a", self.readers), ("b", 0)):
            cluster = self.name(stack, "cluster")
            rds.create_db_cluster(
                DBClusterIdentifier=cluster,
                Engine="aurora-postgresql",
                MasterUsername="fn",
                MasterUserPassword="not-a-real-password",
                Tags=[{"Key": "team", "Value": "orders"}],
            )
            members = [f"{cluster}-writer", *(f"{cluster}-reader-{n}" for n in range(reader_count))]
            for member in members:
                rds.create_db_instance(
                    DBInstanceIdentifier=member,
                    DBClusterIdentifier=cluster,
                    Engine="aurora-postgresql",
                    DBInstanceClass="db.r6g.large",
                )
            aas.register_scalable_target(
                ServiceNamespace="rds",
                ResourceId=f"cluster:{cluster}",
                ScalableDimension="rds:cluster:ReadReplicaCount",
                MinCapacity=1,
                MaxCapacity=8,
            )
            if stack == "b":
                rds.stop_db_cluster(DBClusterIdentifier=cluster)

    def plan(self) -> dict[str, Any]:
        n = self.world.names
        return {
            "application": APP,
            "region": self.world.region,
            "initial_live": "a",
            "deadline_minutes": 50,
            "ecs": [{"cluster": CLUSTER, "a": n["a"]["service"], "b": n["b"]["service"], "desired_tasks": 2}],
            "sqs": [{s: {"queue": n[s]["queue"], "dlq": n[s]["dlq"]} for s in STACKS}],
            "sns": [dict(self.world.subscriptions)],
            "lambda": [{"a": n["a"]["fn"], "b": n["b"]["fn"], "alias": "live"}],
            "cloudwatch": [{s: {"alarm_prefix": ALARM_PREFIX, "alarm_suffix": n[s]["alarm_suffix"]} for s in STACKS}],
            "kinesis": [
                {
                    "stream_arn": self.world.stream_arn,
                    "a": n["a"]["consumer"],
                    "b": n["b"]["consumer"],
                    "feeds": {"a": n["a"]["fn"], "b": n["b"]["fn"]},
                }
            ],
            "dynamodb": [{"a": n["a"]["table"], "b": n["b"]["table"], "on_retire": "keep"}],
            "aurora": [
                {
                    "a": n["a"]["cluster"],
                    "b": n["b"]["cluster"],
                    "minimum_cluster_size": 1,
                    "on_retire": "stop",
                    "tags": {"team": "orders"},
                }
            ],
        }


def seed_world(
    region: str,
    *,
    state_table: str = "bluegreen-state",
    readers: int = 2,
    session: boto3.Session | None = None,
    messages: int = 3,
) -> World:
    """Create stack a (live) and stack b (retired) of the ``orders`` application, and the record table.

    ``readers`` is the number of Aurora readers in a's cluster; ``messages`` how many messages each
    queue and DLQ holds.
    """
    world = World(region=region, state_table=state_table)
    seeder = _Seeder(world, session, messages, readers)
    seeder.state_table()
    seeder.workers()
    seeder.functions(seeder.queues())
    seeder.alarms()
    seeder.tables()
    seeder.databases()
    world.plan = seeder.plan()
    return world
