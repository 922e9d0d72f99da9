"""What the shim adds to moto, seen through the emulator as a client sees it, and the latency it injects."""

from __future__ import annotations

import io
import json
import time
import uuid
import zipfile
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
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
from tests.support.codedeploy import install_shim


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


def _cluster_with_a_reader() -> Any:
    """Aurora cluster ``db`` with a writer and an auto-scaled reader; the RDS client."""
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
    return rds


def test_performance_insights_state_round_trips(emulator: Emulator) -> None:
    rds = _cluster_with_a_reader()

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
            (CodeDeployResponse, "get_deployment"),
            (CodeDeployResponse, "batch_get_deployments"),
            (CodeDeployResponse, "stop_deployment"),
            (CodeDeployResponse, "list_deployment_targets"),
            (CodeDeployResponse, "get_deployment_target"),
            (LambdaBackend, "create_event_source_mapping"),
            (LambdaBackend, "list_event_source_mappings"),
            (LambdaResponse, "invoke"),
            (RDSBackend, "modify_db_instance"),
            (RDSBackend, "stop_db_cluster"),
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


def error_code(refused: pytest.ExceptionInfo[ClientError]) -> str:
    return str(refused.value.response["Error"]["Code"])


def test_get_deployment_answers_for_the_book_and_links_a_rollback_both_ways(emulator: Emulator) -> None:
    codedeploy = boto3.client("codedeploy")
    emulator.deployments.create("d-1")
    info = codedeploy.get_deployment(deploymentId="d-1")["deploymentInfo"]
    assert (info["deploymentId"], info["applicationName"], info["deploymentGroupName"]) == (
        "d-1",
        "orders",
        "orders-dg",
    )
    assert (info["status"], info["creator"], info["computePlatform"]) == ("InProgress", "user", "Lambda")
    assert info["rollbackInfo"] == {} and "completeTime" not in info
    assert info["deploymentStyle"] == {"deploymentType": "BLUE_GREEN", "deploymentOption": "WITH_TRAFFIC_CONTROL"}
    assert isinstance(info["createTime"], datetime) and info["createTime"].tzinfo is not None

    rollback = emulator.deployments.roll_back("d-1", "d-2")
    assert rollback.deployment_id == "d-2"
    failed = codedeploy.get_deployment(deploymentId="d-1")["deploymentInfo"]
    assert failed["status"] == "Failed" and failed["rollbackInfo"] == {"rollbackDeploymentId": "d-2"}
    assert failed["completeTime"] >= failed["createTime"]
    undoing = codedeploy.get_deployment(deploymentId="d-2")["deploymentInfo"]
    assert (undoing["status"], undoing["creator"]) == ("InProgress", "codeDeployRollback")
    assert undoing["rollbackInfo"] == {"rollbackTriggeringDeploymentId": "d-1"}
    assert (undoing["applicationName"], undoing["deploymentGroupName"]) == ("orders", "orders-dg")

    batch = codedeploy.batch_get_deployments(deploymentIds=["d-2", "d-nope", "d-1"])["deploymentsInfo"]
    assert [(d["deploymentId"], d["status"]) for d in batch] == [("d-2", "InProgress"), ("d-1", "Failed")]


def test_an_unknown_deployment_is_still_moto_s_and_moto_s_own_still_answer(emulator: Emulator) -> None:
    codedeploy = boto3.client("codedeploy")
    for call in (
        lambda: codedeploy.get_deployment(deploymentId="d-NOPE"),
        lambda: codedeploy.stop_deployment(deploymentId="d-NOPE"),
        lambda: codedeploy.list_deployment_targets(deploymentId="d-NOPE"),
        lambda: codedeploy.get_deployment_target(deploymentId="d-NOPE", targetId="orders:live"),
    ):
        with pytest.raises(ClientError) as refused:
            call()
        assert error_code(refused) == "DeploymentDoesNotExistException"
    codedeploy.create_application(applicationName="app", computePlatform="Lambda")
    codedeploy.create_deployment_group(
        applicationName="app", deploymentGroupName="dg", serviceRoleArn="arn:aws:iam::123456789012:role/r"
    )
    created = codedeploy.create_deployment(applicationName="app", deploymentGroupName="dg")["deploymentId"]
    assert codedeploy.get_deployment(deploymentId=created)["deploymentInfo"]["deploymentId"] == created
    assert [
        d["deploymentId"] for d in codedeploy.batch_get_deployments(deploymentIds=[created])["deploymentsInfo"]
    ] == [created]
    assert codedeploy.list_deployment_targets(deploymentId=created)["targetIds"] == []
    codedeploy.stop_deployment(deploymentId=created)
    assert codedeploy.get_deployment(deploymentId=created)["deploymentInfo"]["status"] == "Stopped"


def test_stop_deployment_stops_once_and_rolls_back_when_asked(emulator: Emulator) -> None:
    codedeploy = boto3.client("codedeploy")
    book = emulator.deployments
    book.create("d-1")
    stopped = codedeploy.stop_deployment(deploymentId="d-1")
    assert stopped["status"] == "Succeeded" and stopped["statusMessage"]
    assert codedeploy.get_deployment(deploymentId="d-1")["deploymentInfo"]["status"] == "Stopped"
    assert len(book) == 1  # no rollback without autoRollbackEnabled
    with pytest.raises(ClientError) as refused:
        codedeploy.stop_deployment(deploymentId="d-1")
    assert error_code(refused) == "DeploymentAlreadyCompletedException"

    book.create("d-3", compute_platform="ECS")
    codedeploy.stop_deployment(deploymentId="d-3", autoRollbackEnabled=True)
    info = codedeploy.get_deployment(deploymentId="d-3")["deploymentInfo"]
    assert info["status"] == "Stopped"  # a stopped deployment stays Stopped when rolled back
    rollback_id = info["rollbackInfo"]["rollbackDeploymentId"]
    rollback = codedeploy.get_deployment(deploymentId=rollback_id)["deploymentInfo"]
    assert (rollback["creator"], rollback["status"], rollback["computePlatform"]) == (
        "codeDeployRollback",
        "InProgress",
        "ECS",
    )
    assert rollback["rollbackInfo"] == {"rollbackTriggeringDeploymentId": "d-3"}
    assert rollback_id.startswith("d-") and len(rollback_id) == 11

    book.create("d-4")
    book.succeed("d-4")
    with pytest.raises(ClientError) as refused:
        codedeploy.stop_deployment(deploymentId="d-4", autoRollbackEnabled=True)
    assert error_code(refused) == "DeploymentAlreadyCompletedException"
    succeeded = book.get("d-4")
    assert succeeded is not None and succeeded.status == "Succeeded" and succeeded.rollback_deployment_id is None


def test_deployment_targets_report_the_lifecycle_events_and_their_times(emulator: Emulator) -> None:
    codedeploy = boto3.client("codedeploy")
    book = emulator.deployments
    book.create("d-1")
    started = datetime(2026, 12, 6, 10, 0, 0, tzinfo=UTC)
    book.start_lifecycle_event("d-1", "BeforeAllowTraffic", at=started)
    book.end_lifecycle_event("d-1", "BeforeAllowTraffic")
    book.start_lifecycle_event("d-1", "AfterAllowTraffic", at=started.replace(minute=5))
    (target_id,) = codedeploy.list_deployment_targets(deploymentId="d-1")["targetIds"]
    target = codedeploy.get_deployment_target(deploymentId="d-1", targetId=target_id)["deploymentTarget"]
    assert target["deploymentTargetType"] == "LambdaTarget"
    lam = target["lambdaTarget"]
    assert (lam["deploymentId"], lam["targetId"], lam["status"]) == ("d-1", target_id, "InProgress")
    assert lam["targetArn"] == f"arn:aws:lambda:{emulator.region}:123456789012:function:{target_id}"
    before, after = lam["lifecycleEvents"]
    assert (before["lifecycleEventName"], before["status"], before["startTime"]) == (
        "BeforeAllowTraffic",
        "Succeeded",
        started,
    )
    assert before["endTime"] > started
    assert (after["lifecycleEventName"], after["status"], after["startTime"]) == (
        "AfterAllowTraffic",
        "InProgress",
        started.replace(minute=5),
    )
    assert "endTime" not in after
    assert lam["lastUpdatedAt"] >= before["endTime"]

    with pytest.raises(ClientError) as refused:
        codedeploy.get_deployment_target(deploymentId="d-1", targetId="other:live")
    assert error_code(refused) == "DeploymentTargetDoesNotExistException"

    book.create("d-2", compute_platform="ECS")
    (ecs_target,) = codedeploy.list_deployment_targets(deploymentId="d-2")["targetIds"]
    cluster, service = ecs_target.split(":")
    described = codedeploy.get_deployment_target(deploymentId="d-2", targetId=ecs_target)["deploymentTarget"]
    assert described["deploymentTargetType"] == "ECSTarget"
    assert (
        described["ecsTarget"]["targetArn"] == f"arn:aws:ecs:{emulator.region}:123456789012:service/{cluster}/{service}"
    )
    assert described["ecsTarget"]["lifecycleEvents"] == []


def test_a_hook_report_on_an_ended_deployment_is_recorded_but_refused(emulator: Emulator) -> None:
    codedeploy = boto3.client("codedeploy")
    emulator.deployments.create("d-1")
    emulator.deployments.stop("d-1")
    with pytest.raises(ClientError) as refused:
        codedeploy.put_lifecycle_event_hook_execution_status(
            deploymentId="d-1", lifecycleEventHookExecutionId="exec-1", status="Succeeded"
        )
    assert error_code(refused) == "LifecycleEventAlreadyCompletedException"
    emulator.deployments.create("d-2")  # in progress: accepted as before
    codedeploy.put_lifecycle_event_hook_execution_status(
        deploymentId="d-2", lifecycleEventHookExecutionId="exec-2", status="Failed"
    )
    assert emulator.hook_statuses == {"exec-2": "Failed"}
    assert emulator.hook_reports == [HookReport("d-1", "exec-1", "Succeeded"), HookReport("d-2", "exec-2", "Failed")]
    emulator.reset()
    assert emulator.deployments.get("d-1") is None and len(emulator.deployments) == 0


def test_the_book_refuses_a_taken_id_and_ensure_keeps_the_existing_one() -> None:
    book = shim.DeploymentBook()
    first = book.create("d-1", application="billing", group="billing-dg")
    with pytest.raises(ValueError, match="d-1"):
        book.create("d-1")
    assert book.ensure("d-1") is first
    assert book.ensure("d-9", status="Queued").status == "Queued"
    assert first.target_id == "billing:live" and first.complete_time is None
    book.fail("d-1")
    assert first.status == "Failed" and first.complete_time is not None
    book.set_status("d-1", "InProgress")
    assert first.complete_time is None
    with pytest.raises(KeyError):
        book.stop("d-missing")
    book.clear()
    assert book.get("d-1") is None


def test_state_change_event_is_the_eventbridge_notification() -> None:
    book = shim.DeploymentBook()
    book.create("d-1")
    event = book.state_change_event("d-1", "FAILURE")
    uuid.UUID(event["id"])
    uuid.UUID(event["detail"]["instanceGroupId"])
    datetime.strptime(event["time"], "%Y-%m-%dT%H:%M:%SZ")
    assert event == {
        "version": "0",
        "id": event["id"],
        "source": "aws.codedeploy",
        "detail-type": "CodeDeploy Deployment State-change Notification",
        "region": "eu-central-1",
        "account": "123456789012",
        "time": event["time"],
        "resources": [
            "arn:aws:codedeploy:eu-central-1:123456789012:application:orders",
            "arn:aws:codedeploy:eu-central-1:123456789012:deploymentgroup:orders/orders-dg",
        ],
        "detail": {
            "region": "eu-central-1",
            "application": "orders",
            "deploymentGroup": "orders-dg",
            "deploymentId": "d-1",
            "state": "FAILURE",
            "instanceGroupId": event["detail"]["instanceGroupId"],
        },
    }
    other = book.state_change_event("d-1", "STOP", region="us-east-1", account="111122223333")
    assert other["id"] != event["id"] and other["detail"]["instanceGroupId"] == event["detail"]["instanceGroupId"]
    assert other["resources"][0] == "arn:aws:codedeploy:us-east-1:111122223333:application:orders"


def test_install_shim_applies_the_deployments_for_one_mock_aws_test(aws: None, monkeypatch: pytest.MonkeyPatch) -> None:
    patched = install_shim(monkeypatch)
    patched.deployments.create("d-1", creator="CloudFormation")
    patched.deployments.roll_back("d-1", "d-2")
    codedeploy = boto3.client("codedeploy")
    assert codedeploy.get_deployment(deploymentId="d-2")["deploymentInfo"]["creator"] == "codeDeployRollback"
    with pytest.raises(ClientError) as refused:
        codedeploy.put_lifecycle_event_hook_execution_status(
            deploymentId="d-1", lifecycleEventHookExecutionId="e", status="Succeeded"
        )
    assert error_code(refused) == "LifecycleEventAlreadyCompletedException"
    assert patched.hooks.calls == [HookReport("d-1", "e", "Succeeded")] and patched.hooks.statuses == {}


def queue_arn(name: str) -> str:
    sqs = boto3.client("sqs")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    return str(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"])


def test_mappings_are_listed_by_name_arn_or_partial_arn_however_they_were_made(emulator: Emulator) -> None:
    arn = make_function("fn-a-dev")
    make_function("fn-b-dev")
    lam = boto3.client("lambda")
    lam.create_alias(FunctionName="fn-a-dev", Name="live", FunctionVersion="$LATEST")
    partial = ":".join(arn.split(":")[4:])  # 123456789012:function:fn-a-dev
    made = {
        how: lam.create_event_source_mapping(FunctionName=function, EventSourceArn=queue_arn(f"q-{how}"))["UUID"]
        for how, function in [("name", "fn-a-dev"), ("arn", arn), ("partial", partial), ("alias", "fn-a-dev:live")]
    }
    lam.create_event_source_mapping(FunctionName="fn-b-dev", EventSourceArn=queue_arn("q-name"))

    def listed(function: str, **filters: Any) -> set[str]:
        found = lam.list_event_source_mappings(FunctionName=function, **filters)["EventSourceMappings"]
        return {m["UUID"] for m in found}

    unqualified = {made["name"], made["arn"], made["partial"]}
    assert listed("fn-a-dev") == listed(arn) == listed(partial) == unqualified
    assert listed(f"{arn}:live") == listed("fn-a-dev:live") == {made["alias"]}  # an alias is a function of its own
    assert listed(arn, EventSourceArn=queue_arn("q-name")) == {made["name"]}
    assert len(lam.list_event_source_mappings()["EventSourceMappings"]) == 5


def test_a_second_mapping_of_the_same_function_and_source_is_refused(emulator: Emulator) -> None:
    arn = make_function("fn-a-dev")
    lam = boto3.client("lambda")
    lam.create_alias(FunctionName="fn-a-dev", Name="live", FunctionVersion="$LATEST")
    queue = queue_arn("q")
    first = lam.create_event_source_mapping(FunctionName="fn-a-dev", EventSourceArn=queue)["UUID"]
    with pytest.raises(ClientError) as refused:  # made by name, refused by ARN: the same function
        lam.create_event_source_mapping(FunctionName=arn, EventSourceArn=queue)
    assert error_code(refused) == "ResourceConflictException"
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 409
    assert refused.value.response["Error"]["Message"] == (
        f'An event source mapping with SQS arn (" {queue} ") and function (" {arn} ") already exists. '
        f"Please update or delete the existing mapping with UUID {first}"
    )
    lam.create_event_source_mapping(FunctionName=f"{arn}:live", EventSourceArn=queue)  # the alias: another function
    lam.delete_event_source_mapping(UUID=first)
    lam.create_event_source_mapping(FunctionName=arn, EventSourceArn=queue)  # gone: it can be made again
    kinesis = boto3.client("kinesis")
    kinesis.create_stream(StreamName="s", ShardCount=1)
    stream = kinesis.describe_stream_summary(StreamName="s")["StreamDescriptionSummary"]["StreamARN"]
    consumer = kinesis.register_stream_consumer(StreamARN=stream, ConsumerName="con1A")["Consumer"]["ConsumerARN"]
    for source in (stream, consumer):
        made = lam.create_event_source_mapping(FunctionName=arn, EventSourceArn=source, StartingPosition="LATEST")
        with pytest.raises(ClientError) as refused:
            lam.create_event_source_mapping(FunctionName="fn-a-dev", EventSourceArn=source, StartingPosition="LATEST")
        assert refused.value.response["Error"]["Message"] == (
            f'The event source arn (" {source} ") and function (" fn-a-dev ") provided mapping already exists. '
            f"Please update or delete the existing mapping with UUID {made['UUID']}"
        )


def test_stop_db_cluster_is_refused_while_an_instance_is_busy(emulator: Emulator) -> None:
    rds = _cluster_with_a_reader()

    def cluster_status() -> str:
        return str(rds.describe_db_clusters(DBClusterIdentifier="db")["DBClusters"][0]["Status"])

    busy = emulator.shim.busy
    busy.mark("application-autoscaling-1", region=emulator.region, status="creating")  # Auto Scaling adds it
    described = rds.describe_db_instances(DBInstanceIdentifier="application-autoscaling-1")["DBInstances"][0]
    assert described["DBInstanceStatus"] == "creating"
    with pytest.raises(ClientError) as refused:
        rds.stop_db_cluster(DBClusterIdentifier="db")
    assert error_code(refused) == "InvalidDBInstanceState"
    assert "application-autoscaling-1 is creating" in refused.value.response["Error"]["Message"]
    assert cluster_status() == "available"
    busy.enabled = False  # the model switched off: moto's own answer, which stops it anyway
    try:
        rds.stop_db_cluster(DBClusterIdentifier="db")
        assert cluster_status() == "stopped"
        rds.start_db_cluster(DBClusterIdentifier="db")
    finally:
        busy.enabled = True
    busy.release("application-autoscaling-1", region=emulator.region)
    assert busy.marked == frozenset()
    rds.stop_db_cluster(DBClusterIdentifier="db")  # every instance available: stopped
    assert cluster_status() == "stopped"
    with pytest.raises(ClientError) as refused:  # and a stopped cluster is refused as moto refuses it
        rds.stop_db_cluster(DBClusterIdentifier="db")
    assert error_code(refused) == "InvalidDBClusterStateFault"
