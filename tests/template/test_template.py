"""The SAM application's template, its examples and sample events, checked without sam or AWS.

cfn-lint (a dev dependency) lints the templates through its Python API, SAM transform included, and
its YAML loader reads them with the short-form intrinsics (``!Sub``, ``!Ref``…) as plain dicts.
``sam validate --lint``, ``sam build`` and checkov run in ``scripts/template-check.sh`` instead:
they need venvs of their own.
"""

from __future__ import annotations

import fnmatch
import json
import re
import subprocess
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cfnlint.api import ManualArgs, lint
from cfnlint.decode import cfn_yaml

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
LAMBDA_APP = ROOT / "examples" / "lambda-app" / "template.yaml"
APPSPEC = ROOT / "examples" / "ecs-app" / "appspec.yaml"

HOOKS = {
    "BeforeAllowTrafficFunction": ("before_allow_traffic.handler", "_prepare"),
    "AfterAllowTrafficFunction": ("after_allow_traffic.handler", "_retire"),
    "AfterAllowTestTrafficFunction": ("after_allow_test_traffic.handler", "_verdict"),
}

#: Actions that change or destroy the managed resources: never granted on Resource "*".
DESTRUCTIVE_ACTIONS = frozenset(
    action.lower()
    for action in (
        "sqs:PurgeQueue",
        "dynamodb:DeleteTable",
        "rds:DeleteDBCluster",
        "rds:DeleteDBInstance",
        "rds:StopDBCluster",
        "kinesis:DeregisterStreamConsumer",
        "ecs:UpdateService",
        "events:DisableRule",
        "cloudwatch:DisableAlarmActions",
        "lambda:UpdateEventSourceMapping",
        "lambda:DeleteEventSourceMapping",
        "rds:ModifyDBInstance",
        "rds:AddTagsToResource",
        "rds:StartDBCluster",
    )
)

#: The only actions allowed on Resource "*": AWS offers no resource-level permission for them.
#: The write ones among them are only granted under a Condition (checked below).
UNSCOPABLE_ACTIONS = frozenset(
    action.lower()
    for action in (
        "lambda:ListEventSourceMappings",
        "lambda:CreateEventSourceMapping",
        "events:ListRuleNamesByTarget",
        "cloudwatch:DescribeAlarms",
        "cloudwatch:GetMetricData",
        "application-autoscaling:DescribeScalableTargets",
        "application-autoscaling:RegisterScalableTarget",
        # The Service Authorization Reference lists no resource type for these two.
        "codedeploy:GetDeploymentTarget",
        "codedeploy:ListDeploymentTargets",
        # Nor for these two (Amazon SNS): only "*" matches them (tests/template/test_iam.py proves the grant).
        "sns:GetSubscriptionAttributes",
        "sns:SetSubscriptionAttributes",
    )
)
CONDITIONED_ON_STAR = frozenset({"lambda:createeventsourcemapping", "application-autoscaling:registerscalabletarget"})

#: Hook function names are CodeDeployHook_<stack name>_<flow>; Lambda names are at most 64 characters.
MAX_STACK_NAME = 64 - len("CodeDeployHook_") - len("_prepare")

#: The RDS event functions: handler, and the name after the stack name.
RDS_FUNCTIONS = {
    "RdsApplyTagsFunction": ("rds_apply_tags.handler", "-rds-apply-tags"),
    "RdsPerformanceInsightsFunction": ("rds_enable_performance_insights.handler", "-rds-perf-insights"),
    "RdsKeepRetiredStoppedFunction": ("rds_keep_retired_stopped.handler", "-rds-keep-stopped"),
}
#: The function CodeDeploy's deployment state-change events invoke: handler, and the name after the stack name.
DEPLOYMENT_EVENTS = "DeploymentEventsFunction"
DEPLOYMENT_EVENTS_HANDLER, DEPLOYMENT_EVENTS_SUFFIX = "deployment_state_changed.handler", "-deployment-events"
#: The deployment group ARN pattern CodeDeploy authorizes GetDeployment (and the hook report) on.
DEPLOYMENT_GROUPS = "arn:${AWS::Partition}:codedeploy:${AWS::Region}:${AWS::AccountId}:deploymentgroup:*"
#: What the state-change sample events hold (EventBridge envelope, CodeDeploy detail).
EVENTBRIDGE_KEYS = {"version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail"}
CODEDEPLOY_DETAIL_KEYS = {"region", "application", "deploymentGroup", "deploymentId", "state", "instanceGroupId"}

#: The keys RDS writes into the JSON message of its SNS notifications.
RDS_MESSAGE_KEYS = {"Event Source", "Event Time", "Identifier Link", "Source ID", "Source ARN", "Event Message"}


def load(path: Path) -> dict[str, Any]:
    """A YAML template as plain dicts (CloudFormation short-form intrinsics become ``{"Fn::Sub": …}``)."""
    loaded: dict[str, Any] = cfn_yaml.load(str(path))
    return loaded


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load(TEMPLATE)


@pytest.fixture(scope="module")
def resources(template: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = template["Resources"]
    return found


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def iam_statements(resources: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every IAM policy statement the template writes: managed/inline policies, roles, SAM function policies."""
    for name, resource in resources.items():
        kind = resource["Type"]
        props = resource.get("Properties", {})
        documents: list[Any] = []
        if kind in ("AWS::IAM::ManagedPolicy", "AWS::IAM::Policy"):
            documents.append(props["PolicyDocument"])
        elif kind == "AWS::IAM::Role":
            documents.extend(policy["PolicyDocument"] for policy in props.get("Policies", []))
        elif kind == "AWS::Serverless::Function":
            # SAM accepts policy documents, managed policy ARNs/Refs and policy templates here.
            documents.extend(p for p in as_list(props.get("Policies", [])) if isinstance(p, dict) and "Statement" in p)
        for document in documents:
            for statement in as_list(document["Statement"]):
                yield name, statement


def grants(statement: dict[str, Any], action: str) -> bool:
    """Whether an Allow statement's Action (wildcards included) covers ``action``."""
    return statement.get("Effect") == "Allow" and any(
        fnmatch.fnmatchcase(action, pattern.lower()) for pattern in as_list(statement.get("Action", []))
    )


def resource_strings(statement: dict[str, Any]) -> list[str]:
    """The statement's resources as text (``!Sub`` patterns as written, ``!GetAtt``/``!Ref`` as their JSON)."""
    out = []
    for resource in as_list(statement.get("Resource", [])):
        if isinstance(resource, str):
            out.append(resource)
        elif isinstance(resource, dict) and "Fn::Sub" in resource and isinstance(resource["Fn::Sub"], str):
            out.append(resource["Fn::Sub"])
        else:
            out.append(json.dumps(resource))
    return out


# --- lint -------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", [TEMPLATE, LAMBDA_APP], ids=["template", "lambda-app"])
def test_cfn_lint_reports_no_error_or_warning(path: Path) -> None:
    matches = lint(path.read_text(), config=ManualArgs(regions=["us-east-1", "eu-central-1"]))
    problems = [f"{m.rule.id} line {m.linenumber}: {m.message}" for m in matches if m.rule.id[0] in "EW"]
    assert problems == []


def test_every_checkov_skip_is_justified(resources: dict[str, Any]) -> None:
    skips = [
        (name, skip)
        for name, resource in resources.items()
        for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", [])
    ]
    assert skips, "the template is expected to skip a few checks"
    for name, skip in skips:
        assert re.fullmatch(r"CKV2?_AWS_\d+", skip["id"]), (name, skip)
        assert len(skip.get("comment", "").strip()) > 20, f"{name} skips {skip['id']} without a justification"


# --- hook functions ---------------------------------------------------------------------------


@pytest.mark.parametrize("logical_id", list(HOOKS))
def test_hook_function_is_named_for_codedeploy_and_the_stack(resources: dict[str, Any], logical_id: str) -> None:
    props = resources[logical_id]["Properties"]
    handler, suffix = HOOKS[logical_id]
    name = props["FunctionName"]["Fn::Sub"]
    assert name.startswith("CodeDeployHook_")  # CodeDeploy's managed role may invoke those
    assert "${AWS::StackName}" in name  # several installs per account
    assert name == f"CodeDeployHook_${{AWS::StackName}}{suffix}"
    assert props["Handler"] == handler
    assert props["CodeUri"] == "handlers/"
    assert resources[logical_id]["Type"] == "AWS::Serverless::Function"


def test_a_41_character_stack_name_still_fits_lambdas_64_characters() -> None:
    assert MAX_STACK_NAME == 41
    assert len(f"CodeDeployHook_{'s' * MAX_STACK_NAME}_prepare") == 64


@pytest.mark.parametrize("logical_id", list(HOOKS))
def test_hook_reinvokes_itself_by_name_not_by_getatt(resources: dict[str, Any], logical_id: str) -> None:
    name = resources[logical_id]["Properties"]["FunctionName"]["Fn::Sub"]
    own = {
        resource
        for owner, statement in iam_statements(resources)
        if owner == logical_id and grants(statement, "lambda:invokefunction")
        for resource in resource_strings(statement)
    }
    arn = f"arn:${{AWS::Partition}}:lambda:${{AWS::Region}}:${{AWS::AccountId}}:function:{name}"
    assert own == {arn, f"{arn}:*"}  # the function itself, or the alias/version it was invoked by


def test_reading_an_event_source_mapping_is_not_behind_a_condition_it_cannot_carry(resources: dict[str, Any]) -> None:
    # lambda:FunctionArn exists only for Create/Update/DeleteEventSourceMapping: a Get under it is always denied.
    readers = [s for _, s in iam_statements(resources) if grants(s, "lambda:geteventsourcemapping")]
    assert readers and all("Condition" not in s for s in readers)


@pytest.mark.parametrize("logical_id", list(HOOKS))
def test_hook_may_report_read_the_plan_and_write_the_record(resources: dict[str, Any], logical_id: str) -> None:
    mine = [statement for owner, statement in iam_statements(resources) if owner == logical_id]
    report = [s for s in mine if grants(s, "codedeploy:putlifecycleeventhookexecutionstatus")]
    assert report and all(r.startswith("arn:") for s in report for r in resource_strings(s))
    plan = [r for s in mine if grants(s, "ssm:getparameter") for r in resource_strings(s)]
    assert plan == ["arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter${PlanParameterName}"]
    record = [s for s in mine if grants(s, "dynamodb:updateitem")]
    assert record and all(s["Resource"] == {"Fn::GetAtt": ["StateTable", "Arn"]} for s in record)
    assert all(grants(record[0], f"dynamodb:{a}") for a in ("getitem", "putitem", "updateitem"))
    # The per-service tools come from the shared managed policy.
    assert {"Ref": "HookToolsPolicy"} in resources[logical_id]["Properties"]["Policies"]


@pytest.mark.parametrize("logical_id", list(HOOKS))
def test_hook_may_read_its_deployment_and_targets_as_codedeploy_authorizes_them(
    resources: dict[str, Any], logical_id: str
) -> None:
    mine = [statement for owner, statement in iam_statements(resources) if owner == logical_id]
    scopes = {
        # Service Authorization Reference: GetDeployment has resource type deploymentgroup; the
        # two target actions list none, so only "*" can match them.
        "codedeploy:getdeployment": [DEPLOYMENT_GROUPS],
        "codedeploy:getdeploymenttarget": ["*"],
        "codedeploy:listdeploymenttargets": ["*"],
    }
    for action, expected in scopes.items():
        granted = [resource for s in mine if grants(s, action) for resource in resource_strings(s)]
        assert granted == expected, (action, granted)
        assert all("Condition" not in s for s in mine if grants(s, action)), action
    # "*" carries the two target reads only, never GetDeployment or anything that writes.
    for statement in mine:
        if "*" in resource_strings(statement):
            assert {a.lower() for a in as_list(statement["Action"])} == {
                "codedeploy:getdeploymenttarget",
                "codedeploy:listdeploymenttargets",
            }


@pytest.mark.parametrize("logical_id", list(HOOKS))
def test_failed_async_invocations_go_to_the_on_failure_queue(resources: dict[str, Any], logical_id: str) -> None:
    config = resources[logical_id]["Properties"]["EventInvokeConfig"]
    assert config["DestinationConfig"]["OnFailure"] == {
        "Type": "SQS",
        "Destination": {"Fn::GetAtt": ["OnFailureQueue", "Arn"]},
    }
    assert config["MaximumRetryAttempts"] == 2
    assert config["MaximumEventAgeInSeconds"] == {
        "Fn::FindInMap": ["DeadlineSeconds", {"Ref": "DeadlineMinutes"}, "Seconds"]
    }


def test_event_age_limit_is_the_deadline_and_within_the_hook_timeout(template: dict[str, Any]) -> None:
    deadline = template["Parameters"]["DeadlineMinutes"]
    seconds = template["Mappings"]["DeadlineSeconds"]
    assert deadline["Default"] == "50"
    assert set(deadline["AllowedValues"]) == set(seconds)
    for minutes, entry in seconds.items():
        assert entry["Seconds"] == int(minutes) * 60
        assert entry["Seconds"] < 3600  # CodeDeploy gives a hook one hour


def test_on_failure_queue_is_encrypted_and_keeps_messages_14_days(resources: dict[str, Any]) -> None:
    queue = resources["OnFailureQueue"]
    assert queue["Type"] == "AWS::SQS::Queue"
    assert queue["Properties"]["SqsManagedSseEnabled"] is True
    assert queue["Properties"]["MessageRetentionPeriod"] == 14 * 24 * 3600
    assert "FifoQueue" not in queue["Properties"]  # Lambda destinations cannot be FIFO queues


def test_globals_set_runtime_architecture_tracing_and_environment(template: dict[str, Any]) -> None:
    function = template["Globals"]["Function"]
    assert function["Runtime"] == "python3.13"
    assert function["Architectures"] == [{"Ref": "Architecture"}]
    assert template["Parameters"]["Architecture"]["Default"] == "arm64"
    assert set(template["Parameters"]["Architecture"]["AllowedValues"]) == {"arm64", "x86_64"}
    assert function["Timeout"] == 900
    assert function["Tracing"] == "Active"
    assert function["Layers"][0] == {"Ref": "BlueGreenLayer"}
    powertools = function["Layers"][1]["Fn::If"]
    assert powertools[0] == "UsePublicPowertoolsLayer"
    assert "AWSLambdaPowertoolsPythonV3-python313-${Architecture}" in powertools[1]["Fn::Sub"]
    assert powertools[2] == {"Ref": "PowertoolsLayerArn"}
    variables = function["Environment"]["Variables"]
    assert variables["BLUEGREEN_PLAN_PARAMETER"] == {"Ref": "PlanParameterName"}
    assert variables["BLUEGREEN_STATE_TABLE"] == {"Ref": "StateTable"}
    assert variables["POWERTOOLS_SERVICE_NAME"] == "bluegreen"
    assert variables["POWERTOOLS_METRICS_NAMESPACE"] == "bluegreen"
    assert variables["LOG_LEVEL"] == {"Ref": "LogLevel"}


# --- layer and table --------------------------------------------------------------------------


def test_layer_is_built_from_shared_by_its_makefile(resources: dict[str, Any]) -> None:
    layer = resources["BlueGreenLayer"]
    assert layer["Type"] == "AWS::Serverless::LayerVersion"
    assert layer["Properties"]["ContentUri"] == "shared/"
    assert layer["Properties"]["CompatibleRuntimes"] == ["python3.13"]
    # sam build runs `make build-BlueGreenLayer` of ContentUri's Makefile (what it builds: test_layer.py).
    assert layer["Metadata"]["BuildMethod"] == "makefile"
    assert re.search(r"^build-BlueGreenLayer:", (ROOT / "shared" / "Makefile").read_text(), re.MULTILINE)
    assert set(layer["Properties"]["CompatibleArchitectures"]) == {"arm64", "x86_64"}


def test_state_table_is_recoverable_encrypted_and_expires_items(resources: dict[str, Any]) -> None:
    table = resources["StateTable"]
    props = table["Properties"]
    assert table["Type"] == "AWS::DynamoDB::Table"
    assert props["KeySchema"] == [{"AttributeName": "application", "KeyType": "HASH"}]
    assert props["AttributeDefinitions"] == [{"AttributeName": "application", "AttributeType": "S"}]
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert props["SSESpecification"] == {"SSEEnabled": True, "SSEType": "KMS"}
    assert props["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert table["DeletionPolicy"] == "Retain"
    assert table["UpdateReplacePolicy"] == "Retain"


# --- least privilege --------------------------------------------------------------------------


def test_no_statement_uses_not_action_or_not_resource(resources: dict[str, Any]) -> None:
    for name, statement in iam_statements(resources):
        assert not {"NotAction", "NotResource", "NotPrincipal"} & set(statement), name


@pytest.mark.parametrize("action", sorted(DESTRUCTIVE_ACTIONS))
def test_destructive_action_is_never_granted_on_every_resource(resources: dict[str, Any], action: str) -> None:
    granting = [(name, s) for name, s in iam_statements(resources) if grants(s, action)]
    assert granting, f"{action} is expected to be granted (on the managed resources)"
    for name, statement in granting:
        assert "*" not in resource_strings(statement), f"{name} grants {action} on Resource '*'"
    # At least one grant names the managed resources by the prefix parameter (resource or condition).
    assert any("${ManagedNamePrefix}" in json.dumps(s) for _, s in granting), action


@pytest.mark.parametrize("action", sorted(DESTRUCTIVE_ACTIONS))
def test_destructive_action_targets_managed_names_or_is_conditioned(resources: dict[str, Any], action: str) -> None:
    for name, statement in iam_statements(resources):
        if not grants(statement, action) or "Condition" in statement:
            continue
        for resource in resource_strings(statement):
            managed = resource.endswith("${ManagedNamePrefix}*")
            # Aurora auto-scaling readers have generated names that cannot carry the prefix.
            autoscaled_reader = resource.endswith(":db:application-autoscaling-*")
            assert managed or autoscaled_reader, f"{name}: {action} on {resource}"


def test_resource_star_only_for_actions_aws_cannot_scope(resources: dict[str, Any]) -> None:
    for name, statement in iam_statements(resources):
        if "*" not in resource_strings(statement):
            continue
        actions = {a.lower() for a in as_list(statement["Action"])}
        assert actions <= UNSCOPABLE_ACTIONS, f"{name}: {actions - UNSCOPABLE_ACTIONS} on Resource '*'"
        if actions & CONDITIONED_ON_STAR:
            assert statement.get("Condition"), f"{name}: {actions & CONDITIONED_ON_STAR} needs a Condition"


def test_event_source_mapping_changes_are_limited_to_managed_functions(resources: dict[str, Any]) -> None:
    for action in (
        "lambda:updateeventsourcemapping",
        "lambda:deleteeventsourcemapping",
        "lambda:createeventsourcemapping",
    ):
        for name, statement in iam_statements(resources):
            if grants(statement, action):
                condition = statement["Condition"]["ArnLike"]["lambda:FunctionArn"]["Fn::Sub"]
                assert condition.endswith(":function:${ManagedNamePrefix}*"), name


def test_managed_name_prefix_cannot_be_empty_or_a_wildcard(template: dict[str, Any]) -> None:
    prefix = template["Parameters"]["ManagedNamePrefix"]
    assert "Default" not in prefix  # each install names what it manages
    assert prefix["MinLength"] >= 2
    pattern = re.compile(prefix["AllowedPattern"])
    assert pattern.fullmatch("orders-")
    for bad in ("", "*", "orders*", "a:b", "a/b", "-x"):
        assert not pattern.fullmatch(bad), bad


# --- RDS event handlers -----------------------------------------------------------------------


@pytest.mark.parametrize("logical_id", list(RDS_FUNCTIONS))
def test_rds_function_is_named_for_the_stack_and_fits_lambdas_limit(resources: dict[str, Any], logical_id: str) -> None:
    resource = resources[logical_id]
    props = resource["Properties"]
    handler, suffix = RDS_FUNCTIONS[logical_id]
    assert resource["Type"] == "AWS::Serverless::Function"
    assert props["FunctionName"] == {"Fn::Sub": f"${{AWS::StackName}}{suffix}"}  # not CodeDeployHook_…
    assert len(f"{'s' * MAX_STACK_NAME}{suffix}") <= 64
    assert props["Handler"] == handler
    assert props["CodeUri"] == "handlers/"
    assert (ROOT / "handlers" / f"{handler.split('.')[0]}.py").is_file()
    log_groups = [r for r in resources.values() if r["Type"] == "AWS::Logs::LogGroup"]
    assert any(
        g["Properties"]["LogGroupName"] == {"Fn::Sub": f"/aws/lambda/${{AWS::StackName}}{suffix}"} for g in log_groups
    )


@pytest.mark.parametrize("logical_id", list(RDS_FUNCTIONS))
def test_rds_function_is_subscribed_to_the_topic_and_fails_to_the_on_failure_queue(
    resources: dict[str, Any], logical_id: str
) -> None:
    props = resources[logical_id]["Properties"]
    (event,) = props["Events"].values()
    assert event["Type"] == "SNS"
    assert event["Properties"]["Topic"] == {"Ref": "RdsEventsTopic"}
    # What each filter policy lets through: tests/template/test_options.py.
    assert set(event["Properties"]) == {"Topic", "FilterPolicyScope", "FilterPolicy"}
    config = props["EventInvokeConfig"]
    assert config["DestinationConfig"]["OnFailure"] == {
        "Type": "SQS",
        "Destination": {"Fn::GetAtt": ["OnFailureQueue", "Arn"]},
    }
    assert config["MaximumRetryAttempts"] == 2


def test_the_rds_events_topic_is_encrypted_with_a_customer_managed_key_rds_may_use(resources: dict[str, Any]) -> None:
    topic = resources["RdsEventsTopic"]["Properties"]
    # RDS cannot use the AWS managed key (alias/aws/sns): its policy cannot name events.rds.amazonaws.com.
    assert topic["KmsMasterKeyId"] == {"Fn::GetAtt": ["RdsEventsKey", "Arn"]}
    key = resources["RdsEventsKey"]
    assert key["Type"] == "AWS::KMS::Key"
    assert key["Properties"]["EnableKeyRotation"] is True
    statements = key["Properties"]["KeyPolicy"]["Statement"]
    for statement in statements:
        principal = statement["Principal"]
        assert principal != "*" and principal.get("AWS") != "*", statement["Sid"]
    rds = [s for s in statements if s["Principal"] == {"Service": "events.rds.amazonaws.com"}]
    assert len(rds) == 1
    assert set(as_list(rds[0]["Action"])) == {"kms:GenerateDataKey*", "kms:Decrypt"}
    assert rds[0]["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}
    admin = [s for s in statements if s["Action"] == "kms:*"]
    assert [s["Principal"] for s in admin] == [
        {"AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}}
    ]


def test_only_rds_events_of_this_account_may_publish_to_the_topic(resources: dict[str, Any]) -> None:
    policy = resources["RdsEventsTopicPolicy"]["Properties"]
    assert policy["Topics"] == [{"Ref": "RdsEventsTopic"}]
    (statement,) = policy["PolicyDocument"]["Statement"]
    assert statement["Effect"] == "Allow"
    assert statement["Principal"] == {"Service": "events.rds.amazonaws.com"}
    assert statement["Action"] == "sns:Publish"
    assert statement["Resource"] == {"Ref": "RdsEventsTopic"}
    assert statement["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}


def test_rds_event_subscriptions_cover_every_instance_and_cluster_notifications(resources: dict[str, Any]) -> None:
    subscriptions = {
        r["Properties"]["SourceType"]: r for r in resources.values() if r["Type"] == "AWS::RDS::EventSubscription"
    }
    assert set(subscriptions) == {"db-instance", "db-cluster"}  # one source type per subscription
    for subscription in subscriptions.values():
        props = subscription["Properties"]
        assert props["SnsTopicArn"] == {"Ref": "RdsEventsTopic"}
        assert props["Enabled"] is True
        assert "SourceIds" not in props  # auto-scaled readers get generated names: filtered in code
        assert subscription["DependsOn"] == "RdsEventsTopicPolicy"  # RDS may publish once it exists
    # "Performance Insights has been disabled" has no category: every instance event is subscribed.
    assert "EventCategories" not in subscriptions["db-instance"]["Properties"]
    # RDS-EVENT-0153 (started after seven days stopped) is a cluster "notification".
    assert subscriptions["db-cluster"]["Properties"]["EventCategories"] == ["notification"]


def test_rds_functions_may_change_auto_scaled_readers_and_managed_clusters_only(resources: dict[str, Any]) -> None:
    rds_names = {
        "rds:modifydbinstance": ":db:application-autoscaling-*",
        "rds:addtagstoresource": ":db:application-autoscaling-*",
        "rds:stopdbcluster": ":cluster:${ManagedNamePrefix}*",
        "rds:startdbcluster": ":cluster:${ManagedNamePrefix}*",
    }
    for action, suffix in rds_names.items():
        granted = [
            resource
            for owner, statement in iam_statements(resources)
            if owner in RDS_FUNCTIONS and grants(statement, action)
            for resource in resource_strings(statement)
        ]
        assert granted, action
        assert all(resource.endswith(suffix) for resource in granted), (action, granted)
    for owner, statement in iam_statements(resources):
        if owner in RDS_FUNCTIONS:
            for action in ("dynamodb:putitem", "dynamodb:updateitem", "rds:deletedbcluster", "rds:deletedbinstance"):
                assert not grants(statement, action), (owner, action)
            assert "*" not in resource_strings(statement), owner


def test_only_the_keep_stopped_function_reads_the_record_and_reinvokes_itself(resources: dict[str, Any]) -> None:
    readers = {
        owner for owner, s in iam_statements(resources) if owner in RDS_FUNCTIONS and grants(s, "dynamodb:getitem")
    }
    assert readers == {"RdsKeepRetiredStoppedFunction"}
    invoke = [
        resource
        for owner, statement in iam_statements(resources)
        if owner in RDS_FUNCTIONS and grants(statement, "lambda:invokefunction")
        for resource in resource_strings(statement)
    ]
    name = resources["RdsKeepRetiredStoppedFunction"]["Properties"]["FunctionName"]["Fn::Sub"]
    assert invoke == [f"arn:${{AWS::Partition}}:lambda:${{AWS::Region}}:${{AWS::AccountId}}:function:{name}"]


def test_only_the_keep_stopped_function_may_start_a_cluster_and_only_a_managed_one(resources: dict[str, Any]) -> None:
    # It starts back a cluster it was stopping when a deployment began that needs it.
    starting = {
        owner: resource_strings(statement)
        for owner, statement in iam_statements(resources)
        if owner in RDS_FUNCTIONS and grants(statement, "rds:startdbcluster")
    }
    assert starting == {
        "RdsKeepRetiredStoppedFunction": [
            "arn:${AWS::Partition}:rds:${AWS::Region}:${AWS::AccountId}:cluster:${ManagedNamePrefix}*"
        ]
    }


@pytest.mark.parametrize(
    "name",
    [
        "rds_instance_created",
        "rds_performance_insights_disabled",
        "rds_instance_deleted",
        "rds_cluster_auto_started",
        "sns_subscription_confirmation",
    ],
)
def test_sample_event_is_an_sns_event_as_lambda_receives_it(name: str) -> None:
    event = json.loads((ROOT / "events" / f"{name}.json").read_text())
    (record,) = event["Records"]
    assert record["EventSource"] == "aws:sns"
    assert record["EventVersion"] == "1.0"
    sns = record["Sns"]
    assert {"Type", "MessageId", "TopicArn", "Message", "Timestamp", "Signature", "SigningCertUrl"} <= set(sns)
    assert record["EventSubscriptionArn"].startswith(sns["TopicArn"] + ":")
    if name.startswith("rds_"):
        assert sns["Type"] == "Notification"
        message = json.loads(sns["Message"])
        assert RDS_MESSAGE_KEYS <= set(message) <= RDS_MESSAGE_KEYS | {"Event ID"}
        assert message["Source ARN"].endswith(f":{message['Source ID']}")
        if "Event ID" in message:
            assert re.search(r"#RDS-EVENT-\d{4}$", message["Event ID"])
    else:
        with pytest.raises(json.JSONDecodeError):
            json.loads(sns["Message"])


# --- deployment events ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def state_rule(resources: dict[str, Any]) -> dict[str, Any]:
    """The properties of the deployment-events function's one event: the EventBridge rule."""
    events = resources[DEPLOYMENT_EVENTS]["Properties"]["Events"]
    assert len(events) == 1
    (event,) = events.values()
    assert event["Type"] == "EventBridgeRule"  # SAM makes the rule, its target and the invoke permission
    found: dict[str, Any] = event["Properties"]
    return found


def test_deployment_events_function_is_named_for_the_stack_and_has_its_log_group(resources: dict[str, Any]) -> None:
    resource = resources[DEPLOYMENT_EVENTS]
    props = resource["Properties"]
    assert resource["Type"] == "AWS::Serverless::Function"
    assert props["FunctionName"] == {"Fn::Sub": f"${{AWS::StackName}}{DEPLOYMENT_EVENTS_SUFFIX}"}
    assert len(f"{'s' * MAX_STACK_NAME}{DEPLOYMENT_EVENTS_SUFFIX}") <= 64
    assert props["Handler"] == DEPLOYMENT_EVENTS_HANDLER
    assert props["CodeUri"] == "handlers/"
    assert props["Timeout"] == 900
    handler_file = ROOT / "handlers" / f"{DEPLOYMENT_EVENTS_HANDLER.removesuffix('.handler')}.py"
    assert "from bluegreen.hooks.entry import deployment_events_handler" in handler_file.read_text()
    groups = [r for r in resources.values() if r["Type"] == "AWS::Logs::LogGroup"]
    assert [g["Properties"]["LogGroupName"] for g in groups].count(
        {"Fn::Sub": f"/aws/lambda/${{AWS::StackName}}{DEPLOYMENT_EVENTS_SUFFIX}"}
    ) == 1


def test_every_function_has_a_log_group_with_the_retention(resources: dict[str, Any]) -> None:
    groups = {
        json.dumps(r["Properties"]["LogGroupName"]): r for r in resources.values() if r["Type"] == "AWS::Logs::LogGroup"
    }
    functions = [r for r in resources.values() if r["Type"] == "AWS::Serverless::Function"]
    assert len(groups) == len(functions) == len(HOOKS) + len(RDS_FUNCTIONS) + 1
    for function in functions:
        name = function["Properties"]["FunctionName"]["Fn::Sub"]
        group = groups[json.dumps({"Fn::Sub": f"/aws/lambda/{name}"})]
        assert group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
        assert group["DeletionPolicy"] == "Delete"


def test_the_rule_matches_codedeploys_deployment_ends_only(state_rule: dict[str, Any]) -> None:
    pattern = state_rule["Pattern"]
    assert pattern["source"] == ["aws.codedeploy"]
    assert pattern["detail-type"] == ["CodeDeploy Deployment State-change Notification"]
    assert set(pattern["detail"]) == {"state"}
    assert sorted(pattern["detail"]["state"]) == ["FAILURE", "STOP", "SUCCESS"]  # not START nor READY
    assert "EventBusName" not in state_rule  # CodeDeploy sends to the default bus
    # No Input/InputPath/InputTransformer: the function gets the event as EventBridge has it.
    assert not {"Input", "InputPath", "InputTransformer"} & set(state_rule)


def test_the_rule_is_named_as_the_on_failure_queue_policy_names_it(
    resources: dict[str, Any], state_rule: dict[str, Any]
) -> None:
    name = state_rule["RuleName"]["Fn::Sub"]
    assert name == "${AWS::StackName}-deployment-state"
    assert len(name.replace("${AWS::StackName}", "s" * MAX_STACK_NAME)) <= 64
    statements = resources["OnFailureQueuePolicy"]["Properties"]["PolicyDocument"]["Statement"]
    (events,) = [s for s in statements if s.get("Principal") == {"Service": "events.amazonaws.com"}]
    assert events["Effect"] == "Allow"
    assert events["Action"] == "sqs:SendMessage"
    assert events["Resource"] == {"Fn::GetAtt": ["OnFailureQueue", "Arn"]}
    assert events["Condition"] == {
        "ArnEquals": {
            "aws:SourceArn": {
                "Fn::Sub": f"arn:${{AWS::Partition}}:events:${{AWS::Region}}:${{AWS::AccountId}}:rule/{name}"
            }
        }
    }
    # Nobody else is let in: the secure-transport deny and this one statement.
    assert len(statements) == 2
    assert [s["Effect"] for s in statements if s is not events] == ["Deny"]


def test_undeliverable_events_are_retried_then_go_to_the_on_failure_queue(state_rule: dict[str, Any]) -> None:
    assert state_rule["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": ["OnFailureQueue", "Arn"]}}
    retry = state_rule["RetryPolicy"]
    assert 0 < retry["MaximumRetryAttempts"] <= 185  # EventBridge's limits
    assert 60 <= retry["MaximumEventAgeInSeconds"] <= 86400


def test_deployment_events_failed_async_invocations_go_to_the_on_failure_queue(resources: dict[str, Any]) -> None:
    config = resources[DEPLOYMENT_EVENTS]["Properties"]["EventInvokeConfig"]
    assert config["DestinationConfig"]["OnFailure"] == {
        "Type": "SQS",
        "Destination": {"Fn::GetAtt": ["OnFailureQueue", "Arn"]},
    }
    assert config["MaximumRetryAttempts"] == 2
    assert 3600 <= config["MaximumEventAgeInSeconds"] <= 21600  # Lambda's maximum


def test_deployment_events_function_may_undo_read_the_plan_deployment_and_record(resources: dict[str, Any]) -> None:
    props = resources[DEPLOYMENT_EVENTS]["Properties"]
    # It undoes a prepare and puts back a retired stack: the hooks' per-service tools.
    assert {"Ref": "HookToolsPolicy"} in props["Policies"]
    mine = [statement for owner, statement in iam_statements(resources) if owner == DEPLOYMENT_EVENTS]
    plan = [r for s in mine if grants(s, "ssm:getparameter") for r in resource_strings(s)]
    assert plan == ["arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter${PlanParameterName}"]
    record = [s for s in mine if grants(s, "dynamodb:updateitem")]
    assert record and all(s["Resource"] == {"Fn::GetAtt": ["StateTable", "Arn"]} for s in record)
    assert all(grants(record[0], f"dynamodb:{a}") for a in ("getitem", "putitem", "updateitem"))
    deployment = [r for s in mine if grants(s, "codedeploy:getdeployment") for r in resource_strings(s)]
    assert deployment == [DEPLOYMENT_GROUPS]
    # Nothing on "*", and no hook report: the deployment is over when the function runs.
    assert all("*" not in resource_strings(s) for s in mine)
    assert not any(grants(s, "codedeploy:putlifecycleeventhookexecutionstatus") for s in mine)


def test_deployment_events_function_reinvokes_itself_by_name(resources: dict[str, Any]) -> None:
    name = resources[DEPLOYMENT_EVENTS]["Properties"]["FunctionName"]["Fn::Sub"]
    invoke = [
        resource
        for owner, statement in iam_statements(resources)
        if owner == DEPLOYMENT_EVENTS and grants(statement, "lambda:invokefunction")
        for resource in resource_strings(statement)
    ]
    assert invoke == [f"arn:${{AWS::Partition}}:lambda:${{AWS::Region}}:${{AWS::AccountId}}:function:{name}"]


@pytest.mark.parametrize("state", ["FAILURE", "STOP", "SUCCESS"])
def test_sample_event_is_a_codedeploy_state_change_as_eventbridge_sends_it(
    state: str, state_rule: dict[str, Any]
) -> None:
    event = json.loads((ROOT / "events" / f"codedeploy_state_change_{state.lower()}.json").read_text())
    assert set(event) == EVENTBRIDGE_KEYS
    assert event["version"] == "0"
    assert event["source"] in state_rule["Pattern"]["source"]
    assert event["detail-type"] in state_rule["Pattern"]["detail-type"]
    detail = event["detail"]
    assert set(detail) == CODEDEPLOY_DETAIL_KEYS
    assert detail["state"] == state
    assert re.fullmatch(r"d-[A-Z0-9]{9}", detail["deploymentId"])
    assert detail["region"] == event["region"]
    prefix = f"arn:aws:codedeploy:{event['region']}:{event['account']}"
    assert event["resources"] == [
        f"{prefix}:application:{detail['application']}",
        f"{prefix}:deploymentgroup:{detail['application']}/{detail['deploymentGroup']}",
    ]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", event["time"])
    for uuid in (event["id"], detail["instanceGroupId"]):
        assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", uuid)


# --- outputs ----------------------------------------------------------------------------------


def test_outputs_export_the_hooks_by_stack_name(template: dict[str, Any]) -> None:
    outputs = template["Outputs"]
    for output, value in {
        "PrepareFunctionArn": {"Fn::GetAtt": ["BeforeAllowTrafficFunction", "Arn"]},
        "RetireFunctionArn": {"Fn::GetAtt": ["AfterAllowTrafficFunction", "Arn"]},
        "PrepareFunctionName": {"Ref": "BeforeAllowTrafficFunction"},
        "RetireFunctionName": {"Ref": "AfterAllowTrafficFunction"},
    }.items():
        assert outputs[output]["Value"] == value
        assert outputs[output]["Export"]["Name"] == {"Fn::Sub": f"${{AWS::StackName}}-{output}"}
    assert outputs["StateTableName"]["Value"] == {"Ref": "StateTable"}
    assert outputs["OnFailureQueueUrl"]["Value"] == {"Ref": "OnFailureQueue"}
    assert outputs["OnFailureQueueArn"]["Value"] == {"Fn::GetAtt": ["OnFailureQueue", "Arn"]}
    assert outputs["LayerArn"]["Value"] == {"Ref": "BlueGreenLayer"}
    assert outputs["RdsEventsTopicArn"]["Value"] == {"Ref": "RdsEventsTopic"}
    assert outputs["DeploymentEventsFunctionName"]["Value"] == {"Ref": DEPLOYMENT_EVENTS}
    assert outputs["DeploymentEventsFunctionArn"]["Value"] == {"Fn::GetAtt": [DEPLOYMENT_EVENTS, "Arn"]}


# --- samconfig, examples, events ------------------------------------------------------------------


def test_samconfig_builds_lints_and_deploys_with_the_templates_parameters(template: dict[str, Any]) -> None:
    config = tomllib.loads((ROOT / "samconfig.toml").read_text())
    assert config["version"] == 0.1
    default = config["default"]
    assert default["build"]["parameters"]["cached"] is True
    assert default["build"]["parameters"]["parallel"] is True
    assert default["validate"]["parameters"]["lint"] is True
    deploy = default["deploy"]["parameters"]
    assert set(deploy["capabilities"].split()) == {"CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"}
    assert deploy["confirm_changeset"] is True
    assert deploy["resolve_s3"] is True
    overrides = dict(item.split("=", 1) for item in deploy["parameter_overrides"])
    parameters = template["Parameters"]
    assert set(overrides) <= set(parameters)
    assert {name for name, spec in parameters.items() if "Default" not in spec} <= set(overrides)
    assert len(default["global"]["parameters"]["stack_name"]) <= MAX_STACK_NAME


def test_lambda_app_imports_what_the_template_exports(template: dict[str, Any]) -> None:
    app = load(LAMBDA_APP)
    exports = {o["Export"]["Name"]["Fn::Sub"] for o in template["Outputs"].values() if "Export" in o}
    hooks = app["Resources"]["OrdersApiFunction"]["Properties"]["DeploymentPreference"]["Hooks"]
    assert set(hooks) == {"PreTraffic", "PostTraffic"}
    imported = {
        hook: value["Fn::ImportValue"]["Fn::Sub"].replace("${BlueGreenStackName}", "${AWS::StackName}")
        for hook, value in hooks.items()
    }
    assert imported == {
        "PreTraffic": "${AWS::StackName}-PrepareFunctionName",
        "PostTraffic": "${AWS::StackName}-RetireFunctionName",
    }
    assert set(imported.values()) <= exports


def test_ecs_appspec_prepares_before_install_and_retires_after_allow_traffic(resources: dict[str, Any]) -> None:
    appspec = load(APPSPEC)
    hooks = {name: function for entry in appspec["Hooks"] for name, function in entry.items()}
    stack = "bluegreen-orders"
    named = {
        logical_id: resources[logical_id]["Properties"]["FunctionName"]["Fn::Sub"].replace("${AWS::StackName}", stack)
        for logical_id in HOOKS
    }
    assert hooks == {
        "BeforeInstall": named["BeforeAllowTrafficFunction"],
        "AfterAllowTraffic": named["AfterAllowTrafficFunction"],
    }
    assert appspec["Resources"][0]["TargetService"]["Type"] == "AWS::ECS::Service"


@pytest.mark.parametrize("name", ["before_allow_traffic", "after_allow_traffic"])
def test_sample_event_is_a_codedeploy_lifecycle_hook_event(name: str) -> None:
    event = json.loads((ROOT / "events" / f"{name}.json").read_text())
    assert set(event) == {"DeploymentId", "LifecycleEventHookExecutionId"}
    assert re.fullmatch(r"d-[A-Z0-9]{9}", event["DeploymentId"])
    assert isinstance(event["LifecycleEventHookExecutionId"], str)
    assert event["LifecycleEventHookExecutionId"]


def test_template_check_script_is_valid_bash() -> None:
    script = ROOT / "scripts" / "template-check.sh"
    subprocess.run(["bash", "-n", str(script)], check=True)
