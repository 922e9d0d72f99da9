"""IAM proven, not assumed: the template's policies allow every AWS call the functions make.

moto authorizes everything, so the flows are run in process under a :class:`CallRecorder` through
the real Lambda handlers (plan read from SSM as installed), each call attributed to the function
whose handler made it; every call is mapped to what IAM authorizes (action, resource ARNs, condition
keys, and the checks ``RegisterScalableTarget`` makes Application Auto Scaling run with the caller's
permissions), then evaluated against the statements of that function's role in template.yaml.

The seeded world's names share no one prefix (``thing-runner-…``, ``fn-…``, ``table-…``, ``con1…``,
``mock service - dev…``): ``ManagedNamePrefix`` is resolved to each of those (an install would name
them all with one prefix; the statements that use it are then evaluated as for any of them).

The flows run once for the module (about 5 s); the tests evaluate what they recorded.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from moto import mock_aws

import after_allow_test_traffic
import after_allow_traffic
import before_allow_traffic
import bluegreen.aws
import deployment_state_changed
import rds_apply_tags
import rds_enable_performance_insights
import rds_keep_retired_stopped
from bluegreen.hooks import entry
from bluegreen.local.seed import seed_world
from bluegreen.plan.load import clear_plan_cache
from bluegreen.rds import entry as rds_entry
from tests.conftest import ACCOUNT_ID, REGION
from tests.rds.conftest import READER, RETIRED_CLUSTER, load_event
from tests.support import kinesis_consumers
from tests.support.codedeploy import install_answers, install_shim
from tests.support.faults import Faults
from tests.support.iam import (
    AAS_DUMMY_DB,
    VIA_SERVICE,
    Account,
    ApiCall,
    AuthzRequest,
    CallRecorder,
    Template,
    UnmappedCall,
    Values,
    authorizations,
    decide,
    denied,
    evaluate,
)

STACK = "bluegreen"
PLAN_PARAMETER = "/bluegreen/plan"
#: The prefixes the seeded world's managed names start with (see the module docstring).
WORLD_PREFIXES = ("fn-", "thing-runner-", "table-", "con1", "mock service - dev")
STATE_TABLE = "bluegreen-state"

#: Template logical id -> the function name Lambda would invoke it as (template FunctionName).
FUNCTION_NAMES = {
    "BeforeAllowTrafficFunction": f"CodeDeployHook_{STACK}_prepare",
    "AfterAllowTrafficFunction": f"CodeDeployHook_{STACK}_retire",
    "AfterAllowTestTrafficFunction": f"CodeDeployHook_{STACK}_verdict",
    "DeploymentEventsFunction": f"{STACK}-deployment-events",
    "RdsApplyTagsFunction": f"{STACK}-rds-apply-tags",
    "RdsPerformanceInsightsFunction": f"{STACK}-rds-perf-insights",
    "RdsKeepRetiredStoppedFunction": f"{STACK}-rds-keep-stopped",
}


@dataclass
class FakeContext:
    function_name: str
    memory_limit_in_mb: int = 512
    aws_request_id: str = "req-iam"

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return 900_000


def test_values() -> Values:
    """The values template.yaml is resolved with for the seeded world (the module docstring)."""
    table_arn = f"arn:aws:dynamodb:{REGION}:{ACCOUNT_ID}:table/{STATE_TABLE}"
    return Values(
        region=REGION,
        account=ACCOUNT_ID,
        stack=STACK,
        parameters={"PlanParameterName": (PLAN_PARAMETER,), "ManagedNamePrefix": WORLD_PREFIXES},
        refs={"StateTable": STATE_TABLE},
        attributes={
            ("StateTable", "Arn"): table_arn,
            ("OnFailureQueue", "Arn"): f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:{STACK}-OnFailureQueue-X",
        },
    )


test_values.__test__ = False  # type: ignore[attr-defined]  # a helper, not a test


# --- the flows, once for the module ---------------------------------------------------------------


class Flows:
    """Runs the real handlers against the seeded world, each under its function's name."""

    def __init__(self, recorder: CallRecorder, shim: Any, faults: Faults) -> None:
        self.recorder, self.shim, self.faults = recorder, shim, faults
        self.ssm = boto3.client("ssm", region_name=REGION)
        self.statuses: dict[str, str] = {}

    def put_plan(self, plan: dict[str, Any]) -> None:
        self.ssm.put_parameter(Name=PLAN_PARAMETER, Value=json.dumps(plan), Type="String", Overwrite=True)
        clear_plan_cache()

    def hook(self, function: str, handler: Any, deployment: str, execution: str) -> str:
        self.shim.deployments.ensure(deployment)
        event = {"DeploymentId": deployment, "LifecycleEventHookExecutionId": execution}
        clear_plan_cache()  # each function is a process of its own: it reads the plan itself
        with self.recorder.acting_as(function):
            result = handler(event, FakeContext(FUNCTION_NAMES[function]))
        self.statuses[execution] = str(result["status"])
        return str(result["status"])

    def prepare(self, deployment: str) -> str:
        return self.hook("BeforeAllowTrafficFunction", before_allow_traffic.handler, deployment, f"{deployment}-p")

    def retire(self, deployment: str) -> str:
        return self.hook("AfterAllowTrafficFunction", after_allow_traffic.handler, deployment, f"{deployment}-r")

    def test_traffic(self, deployment: str) -> str:
        handler = after_allow_test_traffic.handler
        return self.hook("AfterAllowTestTrafficFunction", handler, deployment, f"{deployment}-t")

    def settle(self, deployment: str, state: str) -> str:
        event = self.shim.deployments.state_change_event(deployment, state)
        clear_plan_cache()
        with self.recorder.acting_as("DeploymentEventsFunction"):
            context = FakeContext(FUNCTION_NAMES["DeploymentEventsFunction"])
            result = deployment_state_changed.handler(event, context)  # type: ignore[arg-type]
        return str(result["outcome"])

    def rds(self, function: str, handler: Any, event: dict[str, Any]) -> dict[str, Any]:
        clear_plan_cache()
        with self.recorder.acting_as(function):
            summary: dict[str, Any] = handler(event, FakeContext(FUNCTION_NAMES[function]))
        return summary


@dataclass
class Recorded:
    calls: list[ApiCall]
    statuses: dict[str, str]
    outcomes: dict[str, Any]


def _run_every_flow(mp: pytest.MonkeyPatch) -> Recorded:
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN", "BLUEGREEN_PLAN", "BLUEGREEN_PLAN_FILE"):
        mp.delenv(name, raising=False)
    env = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "BLUEGREEN_PLAN_PARAMETER": PLAN_PARAMETER,
        "BLUEGREEN_STATE_TABLE": STATE_TABLE,
        "POWERTOOLS_METRICS_NAMESPACE": "bluegreen",
    }
    for name, value in env.items():
        mp.setenv(name, value)
    mp.setattr(bluegreen.aws, "_default_session", None)
    mp.setattr("bluegreen.engine.POLL_INITIAL_SECONDS", 0.0)
    mp.setattr(logging.getLogger("bluegreen"), "propagate", True)
    shim = install_shim(mp)
    install_answers(mp, shim)  # the verdict's smoke invocations answer as the emulator answers them
    kinesis_consumers.install(mp)
    faults = Faults()
    faults.register(bluegreen.aws.default_session())  # before any client of the code under test
    world = seed_world(REGION, state_table=STATE_TABLE, verdict=True)
    verdict = world.plan.pop("verdict")  # the first deployments judge nothing; d-6 and d-7 do
    rds = boto3.client("rds", region_name=REGION)  # the seeded workers are auto-scaled: their scaling calls run
    recorder = CallRecorder()
    flows = Flows(recorder, shim, faults)
    flows.put_plan(world.plan)
    outcomes: dict[str, Any] = {}
    with recorder:
        # The RDS event functions, with a as live: a reader Aurora auto scaling added to a's cluster,
        # and b's cluster started by AWS after seven days.
        boto3.client("dynamodb", region_name=REGION)  # (a client made outside the functions records nothing)
        from bluegreen.state import StateStore  # noqa: PLC0415 - the record, as the first deployment would leave it

        StateStore(STATE_TABLE, region=REGION).ensure("orders", "a")
        rds.create_db_instance(
            DBInstanceIdentifier=READER,
            DBClusterIdentifier="fn-db-a-dev",
            Engine="aurora-postgresql",
            DBInstanceClass="db.r6g.large",
            Tags=[{"Key": "application-autoscaling:resourceId", "Value": "cluster:fn-db-a-dev"}],
        )
        rds.start_db_cluster(DBClusterIdentifier=RETIRED_CLUSTER)
        created = load_event("rds_instance_created")
        outcomes["tags"] = flows.rds("RdsApplyTagsFunction", rds_apply_tags.handler, created)
        outcomes["insights"] = flows.rds(
            "RdsPerformanceInsightsFunction", rds_enable_performance_insights.handler, created
        )
        outcomes["stopped"] = flows.rds(
            "RdsKeepRetiredStoppedFunction", rds_keep_retired_stopped.handler, load_event("rds_cluster_auto_started")
        )
        rds.delete_db_instance(DBInstanceIdentifier=READER, SkipFinalSnapshot=True)

        # d-1: a whole deployment, a -> b.
        flows.prepare("d-1")
        flows.retire("d-1")
        # d-2: a prepare that fails part-way is undone (b stays live).
        faults.arm("EnableRule")
        flows.prepare("d-2")
        faults.disarm()
        # d-3: a retire that fails part-way puts the old stack back.
        flows.prepare("d-3")
        faults.arm("PurgeQueue")
        flows.retire("d-3")
        faults.disarm()
        shim.deployments.fail("d-3")
        outcomes["settle-d-3"] = flows.settle("d-3", "FAILURE")
        # d-4: prepared, then stopped by CodeDeploy: the deployment-events function settles it.
        flows.prepare("d-4")
        shim.deployments.stop("d-4")
        outcomes["settle-d-4"] = flows.settle("d-4", "STOP")
        # d-6: a verdict before traffic (alarms, the smoke function) and before the retire (metrics).
        judged = json.loads(json.dumps(world.plan)) | {"verdict": verdict}
        flows.put_plan(judged)
        flows.prepare("d-6")
        flows.retire("d-6")
        # d-7: an ECS-style verdict under test traffic, by the third hook.
        judged["verdict"]["before_traffic"]["at"] = "test-traffic"
        flows.put_plan(judged)
        shim.deployments.create("d-7", compute_platform="ECS")  # only ECS has AfterAllowTestTraffic
        flows.prepare("d-7")
        flows.test_traffic("d-7")
        flows.retire("d-7")
        # d-5: a plan that deletes the retired stack's table and Aurora cluster.
        plan = json.loads(json.dumps(world.plan))
        plan["dynamodb"][0]["on_retire"] = "delete"
        plan["aurora"][0]["on_retire"] = "delete"
        flows.put_plan(plan)
        flows.prepare("d-5")
        flows.retire("d-5")
    return Recorded(recorder.calls, flows.statuses, outcomes)


@pytest.fixture(scope="module")
def recorded() -> Iterator[Recorded]:
    with pytest.MonkeyPatch.context() as mp, mock_aws():
        entry.reset_runtime()
        rds_entry.reset_runtime()
        clear_plan_cache()
        try:
            yield _run_every_flow(mp)
        finally:
            entry.reset_runtime()
            rds_entry.reset_runtime()
            clear_plan_cache()


@pytest.fixture(scope="module")
def template() -> Template:
    return Template.load(test_values())


def function_calls(recorded: Recorded) -> list[ApiCall]:
    return [call for call in recorded.calls if call.function is not None]


@pytest.fixture(scope="module")
def requests(recorded: Recorded) -> list[AuthzRequest]:
    """What IAM evaluates for every call the functions made, implied checks included."""
    return authorizations(function_calls(recorded))


# --- the flows did what they are meant to ---------------------------------------------------------


def test_the_flows_ran_as_intended(recorded: Recorded) -> None:
    assert recorded.statuses == {
        "d-1-p": "Succeeded",
        "d-1-r": "Succeeded",
        "d-2-p": "Failed",
        "d-3-p": "Succeeded",
        "d-3-r": "Failed",
        "d-4-p": "Succeeded",
        "d-5-p": "Succeeded",
        "d-5-r": "Succeeded",
        "d-6-p": "Succeeded",
        "d-6-r": "Succeeded",
        "d-7-p": "Succeeded",
        "d-7-t": "Succeeded",
        "d-7-r": "Succeeded",
    }, recorded.statuses
    assert recorded.outcomes["tags"]["outcome"] == "done"
    assert recorded.outcomes["insights"]["outcome"] == "done"
    assert recorded.outcomes["stopped"]["outcome"] == "done"
    functions = {call.function for call in function_calls(recorded)}
    assert functions == set(FUNCTION_NAMES), functions


def test_the_calls_that_matter_were_made(recorded: Recorded) -> None:
    made = {(c.function, c.operation) for c in function_calls(recorded)}
    for expected in [
        ("BeforeAllowTrafficFunction", "GetParameter"),
        ("BeforeAllowTrafficFunction", "PutLifecycleEventHookExecutionStatus"),
        ("BeforeAllowTrafficFunction", "RegisterScalableTarget"),
        ("BeforeAllowTrafficFunction", "SetSubscriptionAttributes"),
        ("AfterAllowTrafficFunction", "PurgeQueue"),
        ("AfterAllowTrafficFunction", "StopDBCluster"),
        ("AfterAllowTrafficFunction", "DeleteDBCluster"),
        ("AfterAllowTrafficFunction", "DeleteTable"),
        ("DeploymentEventsFunction", "GetParameter"),
        ("DeploymentEventsFunction", "UpdateService"),
        ("RdsKeepRetiredStoppedFunction", "GetParameter"),
        ("RdsApplyTagsFunction", "AddTagsToResource"),
        ("RdsPerformanceInsightsFunction", "ModifyDBInstance"),
        ("RdsKeepRetiredStoppedFunction", "StopDBCluster"),
        ("BeforeAllowTrafficFunction", "Invoke"),
        ("BeforeAllowTrafficFunction", "DescribeAlarms"),
        ("AfterAllowTrafficFunction", "GetMetricData"),
        ("AfterAllowTestTrafficFunction", "Invoke"),
        ("AfterAllowTestTrafficFunction", "UpdateItem"),
    ]:
        assert expected in made, expected


# --- the template allows every call -----------------------------------------------------------------


def test_every_call_of_every_function_is_allowed_by_its_role(requests: list[AuthzRequest], template: Template) -> None:
    decisions = evaluate(template, requests)
    problems = denied(decisions)
    assert not problems, "IAM would deny:\n" + "\n".join(problems)
    assert len(decisions) > 200


def test_register_scalable_target_on_aurora_brings_its_permission_checks(requests: list[AuthzRequest]) -> None:
    implied = {
        (r.action, r.resources) for r in requests if r.implied_by == "application-autoscaling:RegisterScalableTarget"
    }
    assert ("rds:AddTagsToResource", (AAS_DUMMY_DB,)) in implied
    actions = {action for action, _ in implied}
    assert {
        "rds:CreateDBInstance",
        "rds:DeleteDBInstance",
        "rds:DescribeDBClusters",
        "rds:DescribeDBInstances",
        "cloudwatch:PutMetricAlarm",
        "cloudwatch:DescribeAlarms",
        "cloudwatch:DeleteAlarms",
        "ecs:DescribeServices",
        "ecs:UpdateService",
    } <= actions


@pytest.mark.parametrize(
    ("sid", "action"),
    [
        ("SqsQueues", "sqs:PurgeQueue"),
        ("AuroraReaderScalingTagProbe", "rds:AddTagsToResource"),
        ("ScalingAlarmsPermissionProbe", "cloudwatch:PutMetricAlarm"),
        ("AuroraScalableTargetDeregister", "application-autoscaling:DeregisterScalableTarget"),
        ("SnsSubscriptions", "sns:SetSubscriptionAttributes"),
        ("ReportHookStatus", "codedeploy:PutLifecycleEventHookExecutionStatus"),
        ("StopRetiredClusters", "rds:StopDBCluster"),
    ],
)
def test_the_iam_test_fails_when_one_statement_of_the_template_is_removed(
    requests: list[AuthzRequest], template: Template, sid: str, action: str
) -> None:
    assert not denied(evaluate(template, requests))
    problems = denied(evaluate(template.without(sid), requests))
    assert any(f": {action} on " in line for line in problems), problems


def test_an_unknown_call_fails_loudly_instead_of_being_skipped() -> None:
    call = ApiCall("sqs", "DeleteQueue", {"QueueUrl": "https://sqs/1/q"}, REGION, "AfterAllowTrafficFunction")
    with pytest.raises(UnmappedCall, match="sqs:DeleteQueue"):
        authorizations([call])
    with pytest.raises(UnmappedCall, match="s3:ListBuckets"):
        authorizations([ApiCall("s3", "ListBuckets", {}, REGION, "AfterAllowTrafficFunction")])


def test_the_recorder_sees_calls_to_a_moto_server_through_aws_endpoint_url(monkeypatch: pytest.MonkeyPatch) -> None:
    from moto.server import ThreadedMotoServer  # noqa: PLC0415

    server = ThreadedMotoServer(port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://{host}:{port}")
        client = boto3.client("sqs", region_name=REGION)
        with CallRecorder() as recorder, recorder.acting_as("AfterAllowTrafficFunction"):
            url = client.create_queue(QueueName="fn-queue-x")["QueueUrl"]
            client.purge_queue(QueueUrl=url)
    finally:
        server.stop()
    assert [(c.service, c.operation, c.function) for c in recorder.calls] == [
        ("sqs", "CreateQueue", "AfterAllowTrafficFunction"),
        ("sqs", "PurgeQueue", "AfterAllowTrafficFunction"),
    ]
    assert recorder.calls[1].params == {"QueueUrl": url}


# --- the evaluator itself -------------------------------------------------------------------------


def _request(action: str, resource: str, context: dict[str, tuple[str, ...]] | None = None) -> AuthzRequest:
    call = ApiCall("x", "X", {}, REGION, "AfterAllowTrafficFunction")
    return AuthzRequest(action, (resource,), context or {"aws:viaawsservice": ("false",)}, call)


def _allowed(statements: list[dict[str, Any]], request: AuthzRequest) -> bool:
    return all(d.allowed for d in decide(statements, request))


QUEUE = f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:orders-queue-a"


@pytest.mark.parametrize(
    ("statement", "request_", "allowed"),
    [
        ({"Effect": "Allow", "Action": "sqs:PurgeQueue", "Resource": QUEUE}, _request("sqs:PurgeQueue", QUEUE), True),
        # Actions match case-insensitively, with * and ?.
        ({"Effect": "Allow", "Action": "SQS:purge*", "Resource": QUEUE}, _request("sqs:PurgeQueue", QUEUE), True),
        ({"Effect": "Allow", "Action": "sqs:Purge?ueue", "Resource": "*"}, _request("sqs:PurgeQueue", QUEUE), True),
        ({"Effect": "Allow", "Action": "sqs:Get*", "Resource": "*"}, _request("sqs:PurgeQueue", QUEUE), False),
        # Resources match case-sensitively, wildcards within an ARN component (the last spans the rest).
        (
            {"Effect": "Allow", "Action": "sqs:*", "Resource": f"arn:aws:sqs:*:{ACCOUNT_ID}:orders-*"},
            _request("sqs:PurgeQueue", QUEUE),
            True,
        ),
        (
            {"Effect": "Allow", "Action": "sqs:*", "Resource": f"arn:aws:sqs:*:{ACCOUNT_ID}:Orders-*"},
            _request("sqs:PurgeQueue", QUEUE),
            False,
        ),
        (
            {"Effect": "Allow", "Action": "rds:*", "Resource": f"arn:aws:rds:{REGION}:*:db:*"},
            _request("rds:AddTagsToResource", AAS_DUMMY_DB),
            False,  # another region
        ),
        (
            {"Effect": "Allow", "Action": "rds:*", "Resource": "arn:aws:rds:*:*:db:*"},
            _request("rds:AddTagsToResource", AAS_DUMMY_DB),
            True,
        ),
        # An action with no resource type is requested on "*": only "*" matches it.
        (
            {"Effect": "Allow", "Action": "sns:SetSubscriptionAttributes", "Resource": "arn:aws:sns:*:*:fn-*"},
            _request("sns:SetSubscriptionAttributes", "*"),
            False,
        ),
        (
            {"Effect": "Allow", "Action": "sns:SetSubscriptionAttributes", "Resource": "*"},
            _request("sns:SetSubscriptionAttributes", "*"),
            True,
        ),
        # Conditions: a key the request does not carry fails a positive operator.
        (
            {"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"StringEquals": {"kms:ViaService": "x"}}},
            _request("kms:Decrypt", "*"),
            False,
        ),
        (
            {"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"Bool": {"aws:ViaAWSService": "true"}}},
            _request("rds:DeleteDBInstance", "*", dict(VIA_SERVICE)),
            True,
        ),
        (
            {"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"Bool": {"aws:ViaAWSService": "true"}}},
            _request("rds:DeleteDBInstance", "*"),
            False,
        ),
        (
            {
                "Effect": "Allow",
                "Action": "lambda:UpdateEventSourceMapping",
                "Resource": "*",
                "Condition": {"ArnLike": {"lambda:FunctionArn": f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:fn-*"}},
            },
            _request(
                "lambda:UpdateEventSourceMapping",
                "arn:aws:lambda:x",
                {"lambda:functionarn": (f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:fn-a-dev:live",)},
            ),
            True,
        ),
        (
            {
                "Effect": "Allow",
                "Action": "lambda:UpdateEventSourceMapping",
                "Resource": "*",
                "Condition": {"ArnLike": {"lambda:FunctionArn": f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:fn-*"}},
            },
            _request(
                "lambda:UpdateEventSourceMapping",
                "arn:aws:lambda:x",
                {"lambda:functionarn": (f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:other",)},
            ),
            False,
        ),
        (
            {
                "Effect": "Allow",
                "Action": "application-autoscaling:RegisterScalableTarget",
                "Resource": "*",
                "Condition": {"StringEquals": {"application-autoscaling:service-namespace": ["rds", "ecs"]}},
            },
            _request(
                "application-autoscaling:RegisterScalableTarget",
                "*",
                {"application-autoscaling:service-namespace": ("dynamodb",)},
            ),
            False,
        ),
        (
            {
                "Effect": "Allow",
                "Action": "*",
                "Resource": "*",
                "Condition": {"StringNotEquals": {"aws:SourceVpc": "vpc-1"}},
            },
            _request("sqs:PurgeQueue", QUEUE),
            True,  # a negated operator on a key the request does not carry holds
        ),
    ],
)
def test_the_evaluator_allows_and_denies_as_iam_does(
    statement: dict[str, Any], request_: AuthzRequest, allowed: bool
) -> None:
    assert _allowed([statement], request_) is allowed


def test_an_explicit_deny_wins_over_any_allow() -> None:
    allow = {"Sid": "All", "Effect": "Allow", "Action": "*", "Resource": "*"}
    deny = {"Sid": "NoPurge", "Effect": "Deny", "Action": "sqs:PurgeQueue", "Resource": QUEUE}
    [decision] = decide([allow, deny], _request("sqs:PurgeQueue", QUEUE))
    assert not decision.allowed and "NoPurge" in decision.reason
    assert _allowed([allow, deny], _request("sqs:GetQueueUrl", QUEUE))


def test_every_resource_of_a_request_must_be_allowed() -> None:
    cluster = f"arn:aws:rds:{REGION}:{ACCOUNT_ID}:cluster:fn-db-a-dev"
    snapshot = f"arn:aws:rds:{REGION}:{ACCOUNT_ID}:cluster-snapshot:fn-db-a-dev-final"
    call = ApiCall("rds", "DeleteDBCluster", {}, REGION, "AfterAllowTrafficFunction")
    request = AuthzRequest("rds:DeleteDBCluster", (cluster, snapshot), {}, call)
    only_clusters = [{"Effect": "Allow", "Action": "rds:DeleteDBCluster", "Resource": cluster}]
    assert [d.allowed for d in decide(only_clusters, request)] == [True, False]


def test_the_template_is_resolved_with_the_test_values(template: Template) -> None:
    statements = {s["Sid"]: s for s in template.statements("BeforeAllowTrafficFunction")}
    assert statements["ReadPlan"]["Resource"] == f"arn:aws:ssm:{REGION}:{ACCOUNT_ID}:parameter/bluegreen/plan"
    assert statements["LiveStackRecord"]["Resource"] == f"arn:aws:dynamodb:{REGION}:{ACCOUNT_ID}:table/{STATE_TABLE}"
    # ManagedNamePrefix stands for each of the world's prefixes: one resource pattern each.
    assert statements["SqsQueues"]["Resource"] == [f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:{p}*" for p in WORLD_PREFIXES]
    key = template.document["Resources"]["RdsEventsKey"]["Properties"]["KeyPolicy"]["Statement"]
    via = next(s for s in key if s["Sid"] == "AccountUsesThroughSns")["Condition"]["StringEquals"]["kms:ViaService"]
    assert via == {"Fn::Sub": "sns.${AWS::Region}.${AWS::URLSuffix}"}


def test_calls_are_mapped_to_the_resources_the_sar_names() -> None:
    acct = Account()
    deployment = ApiCall(
        "codedeploy",
        "GetDeployment",
        {"deploymentId": "d-1"},
        REGION,
        "BeforeAllowTrafficFunction",
        response={"deploymentInfo": {"deploymentId": "d-1", "applicationName": "app", "deploymentGroupName": "dg"}},
    )
    report = ApiCall("codedeploy", "PutLifecycleEventHookExecutionStatus", {"deploymentId": "d-1"}, REGION, "X")
    purge = ApiCall(
        "sqs", "PurgeQueue", {"QueueUrl": f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT_ID}/q"}, REGION, "X"
    )
    update = ApiCall("ecs", "UpdateService", {"cluster": "c", "service": "s"}, REGION, "X")
    esm = ApiCall("lambda", "UpdateEventSourceMapping", {"UUID": "u-1", "Enabled": False}, REGION, "X")
    listed = ApiCall(
        "lambda",
        "ListEventSourceMappings",
        {},
        REGION,
        "X",
        response={"EventSourceMappings": [{"UUID": "u-1", "FunctionArn": "arn:aws:lambda:r:1:function:fn"}]},
    )
    requests = authorizations([deployment, report, purge, listed, esm, update], acct)
    got = {r.action: r for r in requests}
    group = f"arn:aws:codedeploy:{REGION}:{ACCOUNT_ID}:deploymentgroup:app/dg"
    assert got["codedeploy:PutLifecycleEventHookExecutionStatus"].resources == (group,)
    assert got["sqs:PurgeQueue"].resources == (f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:q",)
    assert got["ecs:UpdateService"].resources == (f"arn:aws:ecs:{REGION}:{ACCOUNT_ID}:service/c/s",)
    assert got["lambda:UpdateEventSourceMapping"].resources == (
        f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:event-source-mapping:u-1",
    )
    assert got["lambda:UpdateEventSourceMapping"].context["lambda:functionarn"] == ("arn:aws:lambda:r:1:function:fn",)
