"""What the shim adds to moto, seen through the emulator as a client sees it, and the latency it injects."""

from __future__ import annotations

import io
import json
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto.awslambda.models import LambdaBackend
from moto.awslambda.responses import LambdaResponse
from moto.codedeploy.responses import CodeDeployResponse
from moto.moto_server.werkzeug_app import DomainDispatcherApplication
from moto.rds.models import DBInstance, RDSBackend

from bluegreen.local import shim
from bluegreen.local.emulator import Emulator
from bluegreen.local.shim import HookReport


def zipped() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", "def handler(event, context):\n    return event\n")
    return buffer.getvalue()


def make_function(name: str) -> str:
    role = boto3.client("iam").create_role(RoleName=f"{name}-role", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    return str(
        boto3.client("lambda").create_function(
            FunctionName=name, Runtime="python3.13", Role=role, Handler="app.handler", Code={"ZipFile": zipped()}
        )["FunctionArn"]
    )


def test_a_hook_execution_keeps_its_first_status_and_refuses_later_ones(emulator: Emulator) -> None:
    codedeploy = boto3.client("codedeploy")
    codedeploy.put_lifecycle_event_hook_execution_status(
        deploymentId="d-1", lifecycleEventHookExecutionId="exec-1", status="Succeeded"
    )
    with pytest.raises(ClientError) as refused:
        codedeploy.put_lifecycle_event_hook_execution_status(
            deploymentId="d-1", lifecycleEventHookExecutionId="exec-1", status="Failed"
        )
    assert refused.value.response["Error"]["Code"] == "LifecycleEventAlreadyCompletedException"
    with pytest.raises(ClientError, match="InvalidLifecycleEventHookExecutionStatusException"):
        codedeploy.put_lifecycle_event_hook_execution_status(
            deploymentId="d-1", lifecycleEventHookExecutionId="exec-2", status="InProgress"
        )
    assert emulator.hook_statuses == {"exec-1": "Succeeded"}
    assert emulator.hook_reports == [
        HookReport("d-1", "exec-1", "Succeeded"),
        HookReport("d-1", "exec-1", "Failed"),
        HookReport("d-1", "exec-2", "InProgress"),
    ]


def test_performance_insights_state_round_trips(emulator: Emulator) -> None:
    rds = boto3.client("rds")
    rds.create_db_cluster(
        DBClusterIdentifier="db", Engine="aurora-postgresql", MasterUsername="u", MasterUserPassword="p" * 12
    )
    for name in ("db-writer", "application-autoscaling-1"):
        rds.create_db_instance(
            DBInstanceIdentifier=name,
            DBClusterIdentifier="db",
            Engine="aurora-postgresql",
            DBInstanceClass="db.r6g.large",
        )

    def described(name: str) -> Any:
        return rds.describe_db_instances(DBInstanceIdentifier=name)["DBInstances"][0]["PerformanceInsightsEnabled"]

    assert described("application-autoscaling-1") is False
    modified = rds.modify_db_instance(
        DBInstanceIdentifier="application-autoscaling-1", EnablePerformanceInsights=True, ApplyImmediately=True
    )
    assert modified["DBInstance"]["PerformanceInsightsEnabled"] is True
    assert described("application-autoscaling-1") is True and described("db-writer") is False
    assert emulator.performance_insights("application-autoscaling-1")
    rds.modify_db_instance(DBInstanceIdentifier="application-autoscaling-1", EnablePerformanceInsights=False)
    assert described("application-autoscaling-1") is False
    assert not emulator.performance_insights("application-autoscaling-1")
    rds.modify_db_instance(DBInstanceIdentifier="application-autoscaling-1", DBInstanceClass="db.r6g.xlarge")
    assert described("application-autoscaling-1") is False  # a modification without the flag leaves it


def test_an_asynchronous_invoke_is_queued_not_dropped(emulator: Emulator) -> None:
    arn = make_function("CodeDeployHook_bluegreen_prepare")
    lam = boto3.client("lambda")
    response = lam.invoke(FunctionName=arn, InvocationType="Event", Payload=json.dumps({"DeploymentId": "d-1"}))
    assert response["StatusCode"] == 202
    lam.invoke(FunctionName="CodeDeployHook_bluegreen_prepare", InvocationType="Event", Payload=b"{}")
    queued = emulator.take_invocations()
    assert [(i.function, i.function_arn, i.event) for i in queued] == [
        (arn, arn, {"DeploymentId": "d-1"}),
        ("CodeDeployHook_bluegreen_prepare", arn, {}),
    ]
    assert emulator.take_invocations() == []
    with pytest.raises(ClientError) as missing:
        lam.invoke(FunctionName="no-such-function", InvocationType="Event", Payload=b"{}")
    assert missing.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert emulator.take_invocations() == []


def test_a_function_can_be_mapped_to_a_kinesis_stream_consumer(emulator: Emulator) -> None:
    arn = make_function("fn-a-dev")
    kinesis = boto3.client("kinesis")
    kinesis.create_stream(StreamName="s", ShardCount=1)
    stream = kinesis.describe_stream_summary(StreamName="s")["StreamDescriptionSummary"]["StreamARN"]
    consumer = kinesis.register_stream_consumer(StreamARN=stream, ConsumerName="con1A")["Consumer"]["ConsumerARN"]
    lam = boto3.client("lambda")
    lam.create_event_source_mapping(EventSourceArn=consumer, FunctionName="fn-a-dev", StartingPosition="LATEST")
    mappings = lam.list_event_source_mappings(FunctionName="fn-a-dev")["EventSourceMappings"]
    assert [(m["EventSourceArn"], m["FunctionArn"]) for m in mappings] == [(consumer, arn)]
    with pytest.raises(ClientError):  # a consumer that is not registered is still refused
        lam.create_event_source_mapping(
            EventSourceArn=f"{stream}/consumer/ghost:1", FunctionName="fn-a-dev", StartingPosition="LATEST"
        )


def timed(call: Any, parallel: int = 1) -> float:
    started = time.perf_counter()
    with ThreadPoolExecutor(parallel) as pool:
        list(pool.map(lambda _: call(), range(parallel)))
    return time.perf_counter() - started


def test_latency_is_added_to_each_request_and_concurrent_requests_overlap(emulator: Emulator) -> None:
    sqs = boto3.client("sqs")
    sqs.list_queues()  # the first request builds moto's SQS app: keep it out of the timings
    fast = timed(sqs.list_queues)
    emulator.set_latency(200)
    one = timed(sqs.list_queues)
    four = timed(sqs.list_queues, parallel=4)
    emulator.set_latency(0)
    assert one >= 0.2 > fast
    assert four < 2 * one, (one, four)  # four serial calls would take 4x
    print(f"latency 0: {fast * 1000:.0f} ms; 200 ms: one call {one * 1000:.0f} ms, 4 parallel {four * 1000:.0f} ms")


def test_latency_given_at_construction_applies_from_the_first_request() -> None:
    with Emulator(latency_ms=150):
        assert timed(boto3.client("sts").get_caller_identity) >= 0.15


def test_install_and_uninstall_are_idempotent_and_put_moto_back() -> None:
    before = {
        (owner, name): owner.__dict__.get(name)
        for owner, name in [
            (CodeDeployResponse, "put_lifecycle_event_hook_execution_status"),
            (LambdaBackend, "create_event_source_mapping"),
            (LambdaResponse, "invoke"),
            (RDSBackend, "modify_db_instance"),
            (DBInstance, "performance_insights_enabled"),
            (DomainDispatcherApplication, "__call__"),
        ]
    }
    assert shim.installed() is None
    first = shim.install()
    assert shim.install() is first and shim.installed() is first
    assert all(owner.__dict__.get(name) is not value for (owner, name), value in before.items())
    shim.uninstall()
    shim.uninstall()
    assert shim.installed() is None
    assert {(owner, name): owner.__dict__.get(name) for owner, name in before} == before


def test_a_kinesis_consumer_deregistered_by_arn_alone_leaves_the_others(emulator: Emulator) -> None:
    # Not patched: moto is right by ConsumerARN alone (how bluegreen calls it), wrong with StreamARN (see the shim).
    kinesis = boto3.client("kinesis")
    kinesis.create_stream(StreamName="s", ShardCount=1)
    stream = kinesis.describe_stream_summary(StreamName="s")["StreamDescriptionSummary"]["StreamARN"]
    a, _ = (kinesis.register_stream_consumer(StreamARN=stream, ConsumerName=n)["Consumer"] for n in ("con1A", "con1B"))
    kinesis.deregister_stream_consumer(ConsumerARN=a["ConsumerARN"])
    assert [c["ConsumerName"] for c in kinesis.list_stream_consumers(StreamARN=stream)["Consumers"]] == ["con1B"]
