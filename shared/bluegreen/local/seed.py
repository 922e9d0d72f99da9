"""Seed a realistic two-stack application into an AWS endpoint (the emulator, or moto in tests).

Stack ``a`` is live and working; stack ``b`` is retired the way a retire leaves it: workers at 0,
subscription filtered off, mappings and rules disabled, alarm actions off, no Kinesis consumer,
Aurora cluster stopped. :func:`seed_world` creates it all with plain boto3 calls (so it works
against any endpoint) and returns the matching plan document.

``pairs=N`` (the benchmark's larger plans) makes N copies of every resource pair, each with a plan
entry of its own. Copy 0 has the names below; copy k > 0 adds ``-k`` to every name (its own topic,
stream, functions, queues, tables, clusters…; the ECS cluster and the IAM role are shared) and its
alarms have the prefix ``mock service k - dev``, so that no two copies' alarm sets overlap.
"""

from __future__ import annotations

import io
import itertools
import json
import zipfile
from dataclasses import field
from typing import Any

import boto3

from bluegreen.aws import make_client
from bluegreen.datatypes import datatype
from bluegreen.plan import SERVICES

APP = "orders"
CLUSTER = "deep-sea-fargate"
STREAM = "my-stream-dev"
TOPIC = "fn-updates-dev"
ALARM_PREFIX = "mock service - dev"
DISABLED_FILTER = {"bluegreen-subscription-disabled": [{"exists": True}]}
STACKS = ("a", "b")
#: The seeded plan's ``settle_minutes`` (0.12 s): longer than the filter delay the emulator's tests and
#: demo give SNS (:data:`FILTER_DELAY_SECONDS`), as AWS's 15 minutes are to the default of 15.
SETTLE_MINUTES = 0.002
#: A filter delay for the emulator that the seeded plan's settle window covers.
FILTER_DELAY_SECONDS = 0.05


def _suffix(copy: int) -> str:
    """What copy ``copy`` of a resource pair adds to its names: nothing for copy 0, ``-k`` after."""
    return f"-{copy}" if copy else ""


def _names(stack: str, copy: int = 0) -> dict[str, str]:
    x = _suffix(copy)
    return {
        "service": f"thing-runner-{stack}-prod{x}",
        "queue": f"fn-queue-{stack}-dev{x}",
        "dlq": f"fn-dlq-{stack}-dev{x}",
        "fn": f"fn-{stack}-dev{x}",
        "alarm_suffix": f"- {stack.upper()}",
        "consumer": f"con1{stack.upper()}{x}",
        "table": f"table-{stack}-dev{x}",
        "cluster": f"fn-db-{stack}-dev{x}",
    }


def _alarm_prefix(copy: int) -> str:
    """Copy k's alarm prefix: no copy's prefix starts with another's, so their alarm sets never overlap."""
    return f"mock service {copy} - dev" if copy else ALARM_PREFIX


@datatype(frozen=False)
class World:
    """What :func:`seed_world` made: the plan document and the names and ARNs a test or the demo needs."""

    region: str
    state_table: str
    names: dict[str, dict[str, str]] = field(default_factory=lambda: {s: _names(s) for s in STACKS})
    topic_arn: str = ""
    stream_arn: str = ""
    subscriptions: dict[str, str] = field(default_factory=dict)
    plan: dict[str, Any] = field(default_factory=dict)
    #: How many copies of every resource pair were made; ``names``, ``topic_arn``… are copy 0's.
    pairs: int = 1
    #: Every copy's topic ARN, stream ARN and subscription ARNs (by stack), copy 0 first.
    topic_arns: list[str] = field(default_factory=list)
    stream_arns: list[str] = field(default_factory=list)
    subscription_arns: list[dict[str, str]] = field(default_factory=list)

    def names_of(self, copy: int) -> dict[str, dict[str, str]]:
        """The names of copy ``copy`` of the resource pairs, by stack (copy 0's are :attr:`names`)."""
        return self.names if copy == 0 else {stack: _names(stack, copy) for stack in STACKS}


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

    def name(self, stack: str, kind: str, copy: int = 0) -> str:
        return self.world.names_of(copy)[stack][kind]

    @property
    def copies(self) -> range:
        return range(self.world.pairs)

    def state_table(self) -> None:
        self.client("dynamodb").create_table(
            TableName=self.world.state_table,
            KeySchema=[{"AttributeName": "application", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "application", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )

    def workers(self) -> None:
        """Each stack's worker service, auto-scaled (1-4 tasks); b's at 0 with its scaling suspended, as retired."""
        ecs, aas = self.client("ecs"), self.client("application-autoscaling")
        ecs.create_cluster(clusterName=CLUSTER)
        ecs.register_task_definition(
            family="thing-runner", containerDefinitions=[{"name": "runner", "image": "runner:1", "memory": 256}]
        )
        suspended = dict.fromkeys(
            ("DynamicScalingInSuspended", "DynamicScalingOutSuspended", "ScheduledScalingSuspended"), True
        )
        for copy in self.copies:
            for stack, desired in (("a", 2), ("b", 0)):
                service = self.name(stack, "service", copy)
                ecs.create_service(
                    cluster=CLUSTER, serviceName=service, taskDefinition="thing-runner", desiredCount=desired
                )
                aas.register_scalable_target(
                    ServiceNamespace="ecs",
                    ResourceId=f"service/{CLUSTER}/{service}",
                    ScalableDimension="ecs:service:DesiredCount",
                    MinCapacity=1,
                    MaxCapacity=4,
                    **({"SuspendedState": suspended} if stack == "b" else {}),
                )

    def queues(self) -> list[dict[str, str]]:
        """Each stack's queue (with a DLQ, both holding messages) subscribed to one topic; b's filtered off.

        Returns the queue ARNs by stack, for every copy.
        """
        every_copy = [self.copy_queues(copy) for copy in self.copies]
        self.world.topic_arn = self.world.topic_arns[0]
        self.world.subscriptions = dict(self.world.subscription_arns[0])
        return every_copy

    def copy_queues(self, copy: int) -> dict[str, str]:
        sqs, sns = self.client("sqs"), self.client("sns")
        topic_arn = sns.create_topic(Name=f"{TOPIC}{_suffix(copy)}")["TopicArn"]
        queue_arns: dict[str, str] = {}
        subscriptions: dict[str, str] = {}
        for stack in STACKS:
            dlq_url = sqs.create_queue(QueueName=self.name(stack, "dlq", copy))["QueueUrl"]
            dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
            redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "5"})
            url = sqs.create_queue(QueueName=self.name(stack, "queue", copy), Attributes={"RedrivePolicy": redrive})[
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
            subscriptions[stack] = sns.subscribe(
                TopicArn=topic_arn,
                Protocol="sqs",
                Endpoint=queue_arns[stack],
                Attributes=attributes,
                ReturnSubscriptionArn=True,
            )["SubscriptionArn"]
        self.world.topic_arns.append(topic_arn)
        self.world.subscription_arns.append(subscriptions)
        return queue_arns

    def functions(self, every_copy: list[dict[str, str]]) -> None:
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
        for copy, queue_arns in zip(self.copies, every_copy, strict=True):
            self.copy_functions(copy, role, queue_arns)
        self.world.stream_arn = self.world.stream_arns[0]

    def copy_functions(self, copy: int, role: str, queue_arns: dict[str, str]) -> None:
        lam, events, kinesis = self.client("lambda"), self.client("events"), self.client("kinesis")
        stream = f"{STREAM}{_suffix(copy)}"
        kinesis.create_stream(StreamName=stream, ShardCount=1)
        stream_arn = kinesis.describe_stream_summary(StreamName=stream)["StreamDescriptionSummary"]["StreamARN"]
        self.world.stream_arns.append(stream_arn)
        function_arns: dict[str, str] = {}
        for stack in STACKS:
            fn, live = self.name(stack, "fn", copy), stack == "a"
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
            StreamARN=stream_arn, ConsumerName=self.name("a", "consumer", copy)
        )["Consumer"]
        lam.create_event_source_mapping(
            EventSourceArn=consumer["ConsumerARN"], FunctionName=function_arns["a"], StartingPosition="LATEST"
        )

    def smoke_functions(self) -> None:
        """Each stack's smoke function (the emulator answers its invocations: ``Shim.answers``)."""
        lam = self.client("lambda")
        role = self.client("iam").get_role(RoleName="fn-role")["Role"]["Arn"]
        for stack in STACKS:
            lam.create_function(
                FunctionName=smoke_function(stack), Runtime="python3.13", Role=role, Handler="app.handler",
                Code={"ZipFile": _zip()},
            )  # fmt: skip

    def alarms(self) -> None:
        cloudwatch = self.client("cloudwatch")
        for copy in self.copies:
            for stack in STACKS:
                for metric in ("errors", "latency", "queue depth"):
                    cloudwatch.put_metric_alarm(
                        AlarmName=f"{_alarm_prefix(copy)} {metric} {self.name(stack, 'alarm_suffix', copy)}",
                        MetricName="Errors",
                        Namespace="AWS/Lambda",
                        Statistic="Sum",
                        Period=60,
                        EvaluationPeriods=1,
                        Threshold=1,
                        ComparisonOperator="GreaterThanOrEqualToThreshold",
                        ActionsEnabled=stack == "a",
                        AlarmActions=[self.world.topic_arns[copy]],
                    )

    def tables(self) -> None:
        ddb = self.client("dynamodb")
        for copy in self.copies:
            for stack in STACKS:
                ddb.create_table(
                    TableName=self.name(stack, "table", copy),
                    KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                    AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                    BillingMode="PAY_PER_REQUEST",
                )

    def databases(self) -> None:
        """Aurora: a's cluster available with a writer and readers, b's stopped; both auto-scaled (min 1)."""
        rds, aas = self.client("rds"), self.client("application-autoscaling")
        for copy, (stack, reader_count) in itertools.product(self.copies, (("a", self.readers), ("b", 0))):
            cluster = self.name(stack, "cluster", copy)
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
        entries: dict[str, list[dict[str, Any]]] = {service: [] for service in SERVICES}
        for copy in self.copies:
            for service, entry in self.entries(copy).items():
                entries[service].append(entry)
        return {"application": APP, "region": self.world.region, "initial_live": "a", "deadline_minutes": 50, **entries}

    def entries(self, copy: int) -> dict[str, dict[str, Any]]:
        """Copy ``copy``'s plan entry of every section."""
        n = self.world.names_of(copy)
        prefix = _alarm_prefix(copy)
        return {
            "ecs": {"cluster": CLUSTER, "a": n["a"]["service"], "b": n["b"]["service"], "desired_tasks": 2},
            "sqs": {s: {"queue": n[s]["queue"], "dlq": n[s]["dlq"]} for s in STACKS},
            "sns": dict(self.world.subscription_arns[copy]),
            "lambda": {"a": n["a"]["fn"], "b": n["b"]["fn"], "alias": "live"},
            "cloudwatch": {s: {"alarm_prefix": prefix, "alarm_suffix": n[s]["alarm_suffix"]} for s in STACKS},
            "kinesis": {
                "stream_arn": self.world.stream_arns[copy],
                "a": n["a"]["consumer"],
                "b": n["b"]["consumer"],
                "feeds": {"a": n["a"]["fn"], "b": n["b"]["fn"]},
            },
            "dynamodb": {"a": n["a"]["table"], "b": n["b"]["table"], "on_retire": "keep"},
            "aurora": {
                "a": n["a"]["cluster"],
                "b": n["b"]["cluster"],
                "minimum_cluster_size": 1,
                "on_retire": "stop",
                "tags": {"team": "orders"},
            },
        }


def smoke_function(stack: str) -> str:
    """The name of stack ``stack``'s smoke function (made with a verdict)."""
    return f"fn-smoke-{stack}-dev"


def verdict_section(observe_minutes: float = 0.0) -> dict[str, Any]:
    """The seeded plan's ``verdict``: a smoke test before traffic; errors, throttles, DLQs and iterator age after."""
    return {
        "before_traffic": {
            "smoke": {
                "function": {stack: smoke_function(stack) for stack in STACKS},
                "payload": {"check": "orders-health"},
                "timeout_seconds": 10,
            }
        },
        "before_retire": {
            "observe_minutes": observe_minutes,
            "lambda": {"max_error_rate": 0.05, "max_throttles": 0},
            "dlq": {"max_growth": 0},
            "kinesis": {"max_iterator_age_seconds": 60},
        },
    }


def seed_world(
    region: str,
    *,
    state_table: str = "bluegreen-state",
    readers: int = 2,
    session: boto3.Session | None = None,
    messages: int = 3,
    pairs: int = 1,
    settle_minutes: float = SETTLE_MINUTES,
    verdict: bool = False,
    observe_minutes: float = 0.0,
) -> World:
    """Create stack a (live) and stack b (retired) of the ``orders`` application, and the record table.

    ``readers`` is the number of Aurora readers in a's cluster; ``messages`` how many messages each
    queue and DLQ holds; ``pairs`` how many copies of every resource pair (and plan entries) to make
    (see the module docstring for their names); ``settle_minutes`` the plan's SNS settle window
    (short by default: the emulator's filter changes take effect within :data:`FILTER_DELAY_SECONDS`).
    ``verdict``: also a smoke function per stack and the plan's ``verdict`` (:func:`verdict_section`,
    watching ``observe_minutes`` of live traffic).
    """
    if pairs < 1:
        raise ValueError(f"pairs must be at least 1, not {pairs}")
    world = World(region=region, state_table=state_table, pairs=pairs)
    seeder = _Seeder(world, session, messages, readers)
    seeder.state_table()
    seeder.workers()
    seeder.functions(seeder.queues())
    seeder.alarms()
    seeder.tables()
    seeder.databases()
    plan = seeder.plan()
    world.plan = {key: plan[key] for key in ("application", "region", "initial_live", "deadline_minutes")}
    world.plan["settle_minutes"] = settle_minutes
    world.plan |= plan
    if verdict:
        seeder.smoke_functions()
        world.plan["verdict"] = verdict_section(observe_minutes)
    return world
