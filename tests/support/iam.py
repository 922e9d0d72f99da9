"""IAM proven, not assumed: record every AWS call, map it to what IAM authorizes, evaluate the template.

moto authorizes every call, so a passing test says nothing about the template's policies. This
module closes that gap in three parts:

1. :class:`CallRecorder` records every API call made through botocore in this process while it is
   active (service, operation, request parameters, region, response or error code), by wrapping
   ``botocore.client.BaseClient._make_api_call``: it sees in-process ``mock_aws`` calls and calls to
   a moto server (``AWS_ENDPOINT_URL``) alike, and costs one list append per call. Each call is
   attributed to the function the test says is running (:meth:`CallRecorder.acting_as`).
2. :func:`authorizations` maps each call to the IAM requests AWS makes for it: action
   ``<prefix>:<Operation>``, the resource ARNs the Service Authorization Reference (SAR) names for it,
   and the condition keys it carries. It includes the *implied* requests: ``RegisterScalableTarget``
   makes Application Auto Scaling check the caller's permissions on the target (Application Auto
   Scaling user guide, "Permissions validation for API calls on target resources",
   https://docs.aws.amazon.com/autoscaling/application/userguide/security_iam_permission_validation.html).
   An operation without a mapping raises :class:`UnmappedCall`: a new call must be mapped, never skipped.
3. :class:`Template` reads template.yaml and resolves each function's policy statements with test
   values; :func:`evaluate` is a small IAM evaluator (explicit Deny wins, then any Allow; ``*``/``?``
   wildcards; ARN components matched one by one; the condition operators below). A request for a
   resource is allowed only when every one of its resources is.

What it does not model: SCPs, permission boundaries, resource policies (none of the managed
resources has one the hooks rely on), session policies, and condition keys other than those listed
in :data:`CONDITION_OPERATORS`' use.
"""

from __future__ import annotations

import copy
import functools
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import botocore.client
import botocore.exceptions
import yaml

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"

#: The IAM service prefix of each botocore service the code calls (most are the same name).
IAM_PREFIX = {
    "application-autoscaling": "application-autoscaling",
    "cloudwatch": "cloudwatch",
    "codedeploy": "codedeploy",
    "dynamodb": "dynamodb",
    "ecs": "ecs",
    "events": "events",
    "kinesis": "kinesis",
    "lambda": "lambda",
    "rds": "rds",
    "sns": "sns",
    "sqs": "sqs",
    "ssm": "ssm",
    "sts": "sts",
}

#: Calls IAM never denies: STS GetCallerIdentity needs no permission (STS API reference).
ALWAYS_ALLOWED = frozenset({("sts", "GetCallerIdentity")})

#: The service principal that makes the implied permission checks of RegisterScalableTarget.
AAS_PRINCIPAL = "application-autoscaling.amazonaws.com"
#: The resource Application Auto Scaling names in its rds:AddTagsToResource check (literally, per its guide).
AAS_DUMMY_DB = "arn:aws:rds:us-east-1:12345:db:non-existing-db"


# --- 1. recording -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ApiCall:
    """One API call as the code under test made it (one per call; botocore's retries are inside it)."""

    service: str
    operation: str
    params: Mapping[str, Any]
    region: str
    function: str | None
    response: Mapping[str, Any] | None = None
    error: str | None = None


class CallRecorder:
    """Records every botocore API call of the process while active (a context manager).

    ``function`` is the template logical id of the Lambda function whose handler is running
    (:meth:`acting_as`); calls made outside any are recorded with ``None`` (test set-up, reads).
    """

    def __init__(self) -> None:
        self.calls: list[ApiCall] = []
        self.function: str | None = None
        self._original: Callable[..., Any] | None = None
        self._lock = threading.Lock()

    def __enter__(self) -> CallRecorder:
        original: Callable[..., Any] = getattr(botocore.client.BaseClient, "_make_api_call")  # noqa: B009
        self._original = original
        recorder = self

        def make_api_call(client: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
            service = client.meta.service_model.service_name
            region = client.meta.region_name or ""
            params = copy.deepcopy(api_params)
            try:
                response = original(client, operation_name, api_params)
            except botocore.exceptions.ClientError as err:
                code = str(err.response.get("Error", {}).get("Code", "ClientError"))
                recorder.calls.append(ApiCall(service, operation_name, params, region, recorder.function, None, code))
                raise
            recorder.calls.append(ApiCall(service, operation_name, params, region, recorder.function, response))
            return response

        setattr(botocore.client.BaseClient, "_make_api_call", make_api_call)  # noqa: B010
        return self

    def __exit__(self, *exc: object) -> None:
        if self._original is not None:
            setattr(botocore.client.BaseClient, "_make_api_call", self._original)  # noqa: B010
            self._original = None

    @contextmanager
    def acting_as(self, function: str) -> Iterator[None]:
        """Attribute the calls made inside to ``function`` (a template logical id)."""
        with self._lock:
            previous, self.function = self.function, function
        try:
            yield
        finally:
            with self._lock:
                self.function = previous

    def of(self, function: str | None = None) -> list[ApiCall]:
        """The calls attributed to ``function`` (every function's when None; never the unattributed ones)."""
        return [c for c in self.calls if c.function is not None and (function is None or c.function == function)]


# --- 2. calls -> IAM requests --------------------------------------------------------------------


class UnmappedCall(LookupError):
    """A call no mapping covers: add one to :data:`MAPPINGS` (from the SAR), do not skip it."""


@dataclass(frozen=True)
class AuthzRequest:
    """What IAM evaluates for (part of) a call: an action on resources, with condition keys."""

    action: str
    resources: tuple[str, ...]
    context: Mapping[str, tuple[str, ...]]
    call: ApiCall
    implied_by: str | None = None

    def describe(self) -> str:
        via = f" (checked by {self.implied_by})" if self.implied_by else ""
        return f"{self.call.function}: {self.action} on {', '.join(self.resources)}{via}"


@dataclass
class Account:
    """The partition and account the ARNs are built in, and what earlier responses taught."""

    account: str = "123456789012"
    partition: str = "aws"
    #: deployment id -> (application, deployment group), from GetDeployment responses.
    deployment_groups: dict[str, tuple[str, str]] = field(default_factory=dict)
    #: event-source mapping UUID -> function ARN, from the mapping responses.
    mapping_functions: dict[str, str] = field(default_factory=dict)

    def arn(self, service: str, region: str, resource: str, account: str | None = None) -> str:
        return f"arn:{self.partition}:{service}:{region}:{self.account if account is None else account}:{resource}"

    def learn(self, call: ApiCall) -> None:
        response = call.response or {}
        if call.operation == "GetDeployment" and "deploymentInfo" in response:
            info = response["deploymentInfo"]
            self.deployment_groups[info["deploymentId"]] = (info["applicationName"], info["deploymentGroupName"])
        mappings = response.get("EventSourceMappings") or ([response] if "UUID" in response else [])
        for mapping in mappings:
            if "UUID" in mapping and "FunctionArn" in mapping:
                self.mapping_functions[mapping["UUID"]] = mapping["FunctionArn"]


Mapper = Callable[[ApiCall, Account], list[tuple[str, ...]]]


def _one(*resources: str) -> list[tuple[str, ...]]:
    return [tuple(resources)]


def _star(call: ApiCall, acct: Account) -> list[tuple[str, ...]]:
    """The SAR lists no resource type for the action: IAM matches only ``*``."""
    return _one("*")


def _function_arn(acct: Account, region: str, name: str, qualifier: str | None = None) -> str:
    """A Lambda function ARN from a name, partial ARN (account:function:name) or ARN, with its qualifier."""
    if name.startswith("arn:"):
        arn = name
    else:
        parts = name.split(":")
        if len(parts) >= 3 and parts[1] == "function":  # 123456789012:function:name[:qualifier]
            arn = acct.arn("lambda", region, ":".join(parts[1:]), account=parts[0])
        else:
            arn = acct.arn("lambda", region, f"function:{name}")
    return f"{arn}:{qualifier}" if qualifier and arn.count(":") == 6 else arn


def _lambda_function(call: ApiCall, acct: Account) -> list[tuple[str, ...]]:
    p = call.params
    qualifier = p.get("Qualifier") or p.get("Name")  # GetAlias: Name is the alias
    return _one(_function_arn(acct, call.region, p["FunctionName"], qualifier))


def _mapping_arn(call: ApiCall, acct: Account) -> list[tuple[str, ...]]:
    return _one(acct.arn("lambda", call.region, f"event-source-mapping:{call.params['UUID']}"))


def _queue_from_url(call: ApiCall, acct: Account) -> list[tuple[str, ...]]:
    path = urlparse(call.params["QueueUrl"]).path.strip("/").split("/")
    return _one(acct.arn("sqs", call.region, path[-1], account=path[-2]))


def _ecs_services(call: ApiCall, acct: Account) -> list[tuple[str, ...]]:
    cluster = call.params.get("cluster", "default").split("/")[-1]
    names = call.params.get("services") or [call.params["service"]]
    return _one(*(n if n.startswith("arn:") else acct.arn("ecs", call.region, f"service/{cluster}/{n}") for n in names))


def _rule(call: ApiCall, acct: Account) -> list[tuple[str, ...]]:
    bus = call.params.get("EventBusName")
    name = call.params["Name"]
    if bus and bus != "default" and not bus.startswith("arn:"):
        return _one(acct.arn("events", call.region, f"rule/{bus}/{name}"))
    return _one(acct.arn("events", call.region, f"rule/{name}"))


def _alarms(call: ApiCall, acct: Account) -> list[tuple[str, ...]]:
    return _one(*(acct.arn("cloudwatch", call.region, f"alarm:{n}") for n in call.params["AlarmNames"]))


def _stream(call: ApiCall, acct: Account) -> list[tuple[str, ...]]:
    return _one(call.params["StreamARN"])


def _consumer(call: ApiCall, acct: Account) -> list[tuple[str, ...]]:
    p = call.params
    if "ConsumerARN" in p:
        return _one(p["ConsumerARN"])
    return _one(f"{p['StreamARN']}/consumer/{p['ConsumerName']}")


def _table(call: ApiCall, acct: Account) -> list[tuple[str, ...]]:
    name = call.params["TableName"]
    return _one(name if name.startswith("arn:") else acct.arn("dynamodb", call.region, f"table/{name}"))


def _rds_cluster_arn(acct: Account, region: str, identifier: str) -> str:
    return identifier if identifier.startswith("arn:") else acct.arn("rds", region, f"cluster:{identifier}")


def _rds_db_arn(acct: Account, region: str, identifier: str) -> str:
    return identifier if identifier.startswith("arn:") else acct.arn("rds", region, f"db:{identifier}")


def _rds_cluster(call: ApiCall, acct: Account) -> list[tuple[str, ...]]:
    # Without an identifier (filters only) RDS authorizes the describe against every cluster.
    return _one(_rds_cluster_arn(acct, call.region, call.params.get("DBClusterIdentifier", "*")))


def _rds_db(call: ApiCall, acct: Account) -> list[tuple[str, ...]]:
    return _one(_rds_db_arn(acct, call.region, call.params.get("DBInstanceIdentifier", "*")))


def _rds_resource_name(call: ApiCall, acct: Account) -> list[tuple[str, ...]]:
    return _one(call.params["ResourceName"])


def _rds_delete_cluster(call: ApiCall, acct: Account) -> list[tuple[str, ...]]:
    cluster = _rds_cluster_arn(acct, call.region, call.params["DBClusterIdentifier"])
    final = call.params.get("FinalDBSnapshotIdentifier")
    if final and not call.params.get("SkipFinalSnapshot"):
        return _one(cluster, acct.arn("rds", call.region, f"cluster-snapshot:{final}"))
    return _one(cluster)


def _rds_cluster_snapshot(call: ApiCall, acct: Account) -> list[tuple[str, ...]]:
    p = call.params
    return _one(
        acct.arn("rds", call.region, f"cluster-snapshot:{p['DBClusterSnapshotIdentifier']}"),
        _rds_cluster_arn(acct, call.region, p["DBClusterIdentifier"]),
    )


def _scalable_target(call: ApiCall, acct: Account) -> list[tuple[str, ...]]:
    """SAR: the ScalableTarget resource type, whose id AWS generates: no request can name it in advance."""
    return _one(acct.arn("application-autoscaling", call.region, "scalable-target/generated-id-unknown-to-iam"))


def _ssm_parameter(call: ApiCall, acct: Account) -> list[tuple[str, ...]]:
    name = call.params["Name"]
    if name.startswith("arn:"):
        return _one(name)
    return _one(acct.arn("ssm", call.region, f"parameter/{name.lstrip('/')}"))


def _deployment_group(call: ApiCall, acct: Account) -> list[tuple[str, ...]]:
    deployment = call.params["deploymentId"]
    if deployment not in acct.deployment_groups:
        raise UnmappedCall(f"{call.operation}: deployment {deployment} was never read (GetDeployment)")
    application, group = acct.deployment_groups[deployment]
    return _one(acct.arn("codedeploy", call.region, f"deploymentgroup:{application}/{group}"))


#: (botocore service, operation) -> the resources IAM authorizes the call on (SAR, "Resource types").
MAPPINGS: dict[tuple[str, str], Mapper] = {
    ("application-autoscaling", "DescribeScalableTargets"): _star,
    ("application-autoscaling", "RegisterScalableTarget"): _scalable_target,
    ("application-autoscaling", "DeregisterScalableTarget"): _scalable_target,
    ("cloudwatch", "DescribeAlarms"): _star,
    ("cloudwatch", "GetMetricData"): _star,
    ("cloudwatch", "EnableAlarmActions"): _alarms,
    ("cloudwatch", "DisableAlarmActions"): _alarms,
    ("codedeploy", "GetDeployment"): _deployment_group,
    ("codedeploy", "PutLifecycleEventHookExecutionStatus"): _deployment_group,
    ("codedeploy", "GetDeploymentTarget"): _star,
    ("codedeploy", "ListDeploymentTargets"): _star,
    ("dynamodb", "DescribeTable"): _table,
    ("dynamodb", "DeleteTable"): _table,
    ("dynamodb", "GetItem"): _table,
    ("dynamodb", "PutItem"): _table,
    ("dynamodb", "UpdateItem"): _table,
    ("ecs", "DescribeServices"): _ecs_services,
    ("ecs", "UpdateService"): _ecs_services,
    ("events", "ListRuleNamesByTarget"): _star,
    ("events", "DescribeRule"): _rule,
    ("events", "EnableRule"): _rule,
    ("events", "DisableRule"): _rule,
    ("kinesis", "RegisterStreamConsumer"): _stream,
    ("kinesis", "ListStreamConsumers"): _stream,
    ("kinesis", "DescribeStreamConsumer"): _consumer,
    ("kinesis", "DeregisterStreamConsumer"): _consumer,
    ("lambda", "GetFunction"): _lambda_function,
    ("lambda", "GetAlias"): _lambda_function,
    ("lambda", "ListVersionsByFunction"): _lambda_function,
    ("lambda", "Invoke"): _lambda_function,
    ("lambda", "ListEventSourceMappings"): _star,
    ("lambda", "CreateEventSourceMapping"): _star,
    ("lambda", "GetEventSourceMapping"): _mapping_arn,
    ("lambda", "UpdateEventSourceMapping"): _mapping_arn,
    ("lambda", "DeleteEventSourceMapping"): _mapping_arn,
    ("rds", "DescribeDBClusters"): _rds_cluster,
    ("rds", "StartDBCluster"): _rds_cluster,
    ("rds", "StopDBCluster"): _rds_cluster,
    ("rds", "DeleteDBCluster"): _rds_delete_cluster,
    ("rds", "CreateDBClusterSnapshot"): _rds_cluster_snapshot,
    ("rds", "DescribeDBInstances"): _rds_db,
    ("rds", "DeleteDBInstance"): _rds_db,
    ("rds", "ModifyDBInstance"): _rds_db,
    ("rds", "ListTagsForResource"): _rds_resource_name,
    ("rds", "AddTagsToResource"): _rds_resource_name,
    # SNS: the SAR lists no resource type for the subscription attribute actions.
    ("sns", "GetSubscriptionAttributes"): _star,
    ("sns", "SetSubscriptionAttributes"): _star,
    ("sqs", "GetQueueUrl"): lambda call, acct: _one(acct.arn("sqs", call.region, call.params["QueueName"])),
    ("sqs", "GetQueueAttributes"): _queue_from_url,
    ("sqs", "PurgeQueue"): _queue_from_url,
    ("ssm", "GetParameter"): _ssm_parameter,
}

#: botocore operation name -> IAM action name, where they differ.
ACTION_NAMES = {("lambda", "Invoke"): "InvokeFunction"}


def _lambda_function_arn_key(call: ApiCall, acct: Account) -> dict[str, tuple[str, ...]]:
    """lambda:FunctionArn: the function a mapping is (or will be) for (Lambda developer guide, ESM actions)."""
    if call.operation == "CreateEventSourceMapping":
        return {"lambda:functionarn": (_function_arn(acct, call.region, call.params["FunctionName"]),)}
    function = call.params.get("FunctionName")
    known = acct.mapping_functions.get(call.params["UUID"])
    arn = _function_arn(acct, call.region, function) if function else known
    return {"lambda:functionarn": (arn,)} if arn else {}


def _aas_keys(call: ApiCall, acct: Account) -> dict[str, tuple[str, ...]]:
    keys: dict[str, tuple[str, ...]] = {"application-autoscaling:service-namespace": (call.params["ServiceNamespace"],)}
    if "ScalableDimension" in call.params:
        keys["application-autoscaling:scalable-dimension"] = (call.params["ScalableDimension"],)
    return keys


#: Service condition keys a call carries, by (service, operation).
CONTEXT_KEYS: dict[tuple[str, str], Callable[[ApiCall, Account], dict[str, tuple[str, ...]]]] = {
    ("lambda", "CreateEventSourceMapping"): _lambda_function_arn_key,
    ("lambda", "UpdateEventSourceMapping"): _lambda_function_arn_key,
    ("lambda", "DeleteEventSourceMapping"): _lambda_function_arn_key,
    ("application-autoscaling", "RegisterScalableTarget"): _aas_keys,
    ("application-autoscaling", "DeregisterScalableTarget"): _aas_keys,
    ("application-autoscaling", "DescribeScalableTargets"): _aas_keys,
}


def _cloudwatch_checks(call: ApiCall, acct: Account) -> list[tuple[str, tuple[str, ...]]]:
    """The CloudWatch checks: PutMetricAlarm and DeleteAlarms without an alarm name, DescribeAlarms MaxRecords=1."""
    unnamed = acct.arn("cloudwatch", call.region, "alarm:")
    return [
        ("cloudwatch:PutMetricAlarm", (unnamed,)),
        ("cloudwatch:DescribeAlarms", ("*",)),
        ("cloudwatch:DeleteAlarms", (unnamed,)),
    ]


def _register_checks(call: ApiCall, acct: Account) -> list[tuple[str, tuple[str, ...]]]:
    """What RegisterScalableTarget makes Application Auto Scaling check with the caller's permissions.

    Aurora (the guide's own example, every check listed): rds:CreateDBInstance with an empty instance
    id in the cluster, rds:DeleteDBInstance with an empty id, rds:AddTagsToResource on a dummy instance
    of account 12345 in us-east-1, rds:DescribeDBClusters on the cluster, rds:DescribeDBInstances
    filtered on the cluster, and the three CloudWatch checks. ECS: the guide says the target service
    and CloudWatch permissions are validated and lists, for ECS services, ecs:DescribeServices,
    ecs:UpdateService and the same CloudWatch actions ("Example policies for working with the AWS CLI
    or an SDK", target services and CloudWatch).
    """
    namespace, resource, region = call.params["ServiceNamespace"], call.params["ResourceId"], call.region
    if namespace == "rds":
        cluster = acct.arn("rds", region, resource)  # ResourceId is cluster:<name>
        empty_db = acct.arn("rds", region, "db:")
        return [
            ("rds:CreateDBInstance", (empty_db, cluster)),
            ("rds:DeleteDBInstance", (empty_db,)),
            ("rds:AddTagsToResource", (AAS_DUMMY_DB,)),
            ("rds:DescribeDBClusters", (cluster,)),
            ("rds:DescribeDBInstances", (acct.arn("rds", region, "db:*"),)),
            *_cloudwatch_checks(call, acct),
        ]
    if namespace == "ecs":
        service = acct.arn("ecs", region, resource)  # ResourceId is service/<cluster>/<service>
        return [
            ("ecs:DescribeServices", (service,)),
            ("ecs:UpdateService", (service,)),
            *_cloudwatch_checks(call, acct),
        ]
    raise UnmappedCall(f"RegisterScalableTarget in namespace {namespace!r}: its permission checks are not modelled")


#: Calls that make AWS check further permissions of the caller, by (service, operation).
IMPLIED: dict[tuple[str, str], Callable[[ApiCall, Account], list[tuple[str, tuple[str, ...]]]]] = {
    ("application-autoscaling", "RegisterScalableTarget"): _register_checks,
}

#: The checks an implied request carries: made by an AWS service with the caller's credentials.
VIA_SERVICE = {"aws:viaawsservice": ("true",), "aws:calledvia": (AAS_PRINCIPAL,)}
DIRECT = {"aws:viaawsservice": ("false",)}


def authorizations(calls: Iterable[ApiCall], acct: Account | None = None) -> list[AuthzRequest]:
    """Every IAM request the calls make, implied ones included; :class:`UnmappedCall` for an unknown call."""
    acct = acct or Account()
    out: list[AuthzRequest] = []
    for call in calls:
        acct.learn(call)
        key = (call.service, call.operation)
        if key in ALWAYS_ALLOWED:
            continue
        if call.service not in IAM_PREFIX or key not in MAPPINGS:
            raise UnmappedCall(
                f"{call.service}:{call.operation} (by {call.function}) has no IAM mapping: add it to "
                "tests/support/iam.py from the Service Authorization Reference"
            )
        action = f"{IAM_PREFIX[call.service]}:{ACTION_NAMES.get(key, call.operation)}"
        context = {**DIRECT, **(CONTEXT_KEYS[key](call, acct) if key in CONTEXT_KEYS else {})}
        for resources in MAPPINGS[key](call, acct):
            out.append(AuthzRequest(action, resources, context, call))
        if key in IMPLIED:
            for implied_action, resources in IMPLIED[key](call, acct):
                out.append(AuthzRequest(implied_action, resources, VIA_SERVICE, call, implied_by=action))
    return out


# --- 3. the template and the evaluator ------------------------------------------------------------


class _CfnLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short-form intrinsics (``!Sub x`` -> ``{"Fn::Sub": x}``)."""


def _intrinsic(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = str(value).split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {"Ref" if suffix == "Ref" else f"Fn::{suffix}": value}


_CfnLoader.add_multi_constructor("!", _intrinsic)

#: The logical ids of the Lambda functions, and the statements of their roles.
FUNCTIONS = (
    "BeforeAllowTrafficFunction",
    "AfterAllowTrafficFunction",
    "DeploymentEventsFunction",
    "RdsApplyTagsFunction",
    "RdsPerformanceInsightsFunction",
    "RdsKeepRetiredStoppedFunction",
)


def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.load(path.read_text(encoding="utf-8"), Loader=_CfnLoader)
    return loaded


@dataclass
class Values:
    """The values the template is resolved with: pseudo parameters, parameters and resource names.

    A parameter may have several values (``ManagedNamePrefix`` when the test world's names share no
    one prefix): a string that uses it then stands for each value, which is exactly what IAM does with
    a list of resources or of condition values (any one matches).
    """

    region: str
    account: str = "123456789012"
    partition: str = "aws"
    url_suffix: str = "amazonaws.com"
    stack: str = "bluegreen"
    parameters: dict[str, tuple[str, ...]] = field(default_factory=dict)
    #: Ref of a resource (its name or ARN as CloudFormation returns it).
    refs: dict[str, str] = field(default_factory=dict)
    #: GetAtt of a resource: (logical id, attribute) -> value.
    attributes: dict[tuple[str, str], str] = field(default_factory=dict)

    def variable(self, name: str) -> tuple[str, ...]:
        pseudo = {
            "AWS::Partition": self.partition,
            "AWS::Region": self.region,
            "AWS::AccountId": self.account,
            "AWS::URLSuffix": self.url_suffix,
            "AWS::StackName": self.stack,
        }
        if name in pseudo:
            return (pseudo[name],)
        if name in self.parameters:
            return self.parameters[name]
        if name in self.refs:
            return (self.refs[name],)
        if "." in name:
            resource, attribute = name.split(".", 1)
            if (resource, attribute) in self.attributes:
                return (self.attributes[(resource, attribute)],)
        raise KeyError(f"no test value for ${{{name}}}")


def resolve(value: Any, values: Values) -> Any:
    """The value with every intrinsic resolved; a string of a multi-valued parameter becomes a list."""
    if isinstance(value, list):
        return [resolve(v, values) for v in value]
    if not isinstance(value, dict):
        return value
    if set(value) == {"Fn::Sub"}:
        text, local = (value["Fn::Sub"], {}) if isinstance(value["Fn::Sub"], str) else value["Fn::Sub"]
        results = [""]
        for literal, name in re.findall(r"([^$]*)(?:\$\{([^}]+)\})?", text):
            options = (
                (str(resolve(local[name], values)),) if name in local else values.variable(name) if name else ("",)
            )
            results = [r + literal + o for r in results for o in options]
        return results[0] if len(results) == 1 else results
    if set(value) == {"Ref"}:
        found = values.variable(value["Ref"])
        return found[0] if len(found) == 1 else list(found)
    if set(value) == {"Fn::GetAtt"}:
        resource, attribute = value["Fn::GetAtt"]
        return values.variable(f"{resource}.{attribute}")[0]
    return {k: resolve(v, values) for k, v in value.items()}


def _flat(value: Any) -> list[str]:
    if isinstance(value, list):
        return [s for v in value for s in _flat(v)]
    return [str(value)]


@dataclass
class Template:
    """The template's function roles, resolved: ``statements[logical id]`` is that role's statement list."""

    document: dict[str, Any]
    values: Values

    @classmethod
    def load(cls, values: Values, path: Path = TEMPLATE) -> Template:
        return cls(load_template(path), values)

    def raw_statements(self, function: str) -> list[dict[str, Any]]:
        """The function's statements as written: its inline policies, and the managed policies it Refs."""
        resources = self.document["Resources"]
        out: list[dict[str, Any]] = []
        for policy in resources[function]["Properties"].get("Policies", []):
            if isinstance(policy, dict) and "Statement" in policy:
                out.extend(policy["Statement"])
            elif isinstance(policy, dict) and set(policy) == {"Ref"}:
                managed = resources[policy["Ref"]]
                if managed["Type"] != "AWS::IAM::ManagedPolicy":
                    raise ValueError(f"{function}: policy {policy} is not a managed policy of the template")
                out.extend(managed["Properties"]["PolicyDocument"]["Statement"])
            else:
                raise ValueError(f"{function}: policy {policy!r} is not modelled (a SAM policy template?)")
        return out

    def statements(self, function: str) -> list[dict[str, Any]]:
        resolved: list[dict[str, Any]] = resolve(self.raw_statements(function), self.values)
        return resolved

    def without(self, sid: str) -> Template:
        """A copy with the statement ``sid`` removed wherever it is (to show the evaluation then fails)."""
        document = copy.deepcopy(self.document)
        removed = 0
        for resource in document["Resources"].values():
            props = resource.get("Properties", {})
            documents = [props["PolicyDocument"]] if "PolicyDocument" in props else []
            documents += [p for p in props.get("Policies", []) if isinstance(p, dict) and "Statement" in p]
            for doc in documents:
                kept = [s for s in doc["Statement"] if s.get("Sid") != sid]
                removed += len(doc["Statement"]) - len(kept)
                doc["Statement"] = kept
        if not removed:
            raise KeyError(f"no statement {sid!r} in the template")
        return Template(document, self.values)


@functools.lru_cache(maxsize=4096)
def _wildcard(pattern: str, *, ignore_case: bool = False) -> re.Pattern[str]:
    body = "".join(".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in pattern)
    return re.compile(body, re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def like(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    """IAM's wildcard match: ``*`` any run of characters, ``?`` one character, nothing else special."""
    return _wildcard(pattern, ignore_case=ignore_case).fullmatch(value) is not None


def arn_like(pattern: str, value: str) -> bool:
    """ArnLike (and Resource matching): the six colon-separated parts compared one by one."""
    if pattern == "*":
        return True
    p, v = pattern.split(":", 5), value.split(":", 5)
    if len(p) != 6 or len(v) != 6:
        return like(pattern, value)
    return all(like(a, b) for a, b in zip(p, v, strict=True))


def _bool(pattern: str, value: str) -> bool:
    return pattern.lower() == value.lower()


#: Condition operators -> (matcher, negated). "IfExists" suffix is handled by :func:`conditions_hold`.
CONDITION_OPERATORS: dict[str, tuple[Callable[[str, str], bool], bool]] = {
    "StringEquals": (lambda p, v: p == v, False),
    "StringNotEquals": (lambda p, v: p == v, True),
    "StringEqualsIgnoreCase": (lambda p, v: p.lower() == v.lower(), False),
    "StringLike": (like, False),
    "StringNotLike": (like, True),
    "ArnEquals": (lambda p, v: p == v, False),
    "ArnLike": (arn_like, False),
    "ArnNotEquals": (lambda p, v: p == v, True),
    "ArnNotLike": (arn_like, True),
    "Bool": (_bool, False),
}


def conditions_hold(condition: Mapping[str, Any], context: Mapping[str, Sequence[str]]) -> bool:
    """Every operator and key of the block holds (values of one key: any matches; keys: case-insensitive).

    A key the request does not carry fails a positive operator and satisfies a negated one; with
    ``IfExists`` it is ignored.
    """
    for operator, keys in condition.items():
        name, if_exists = (operator[: -len("IfExists")], True) if operator.endswith("IfExists") else (operator, False)
        if name not in CONDITION_OPERATORS:
            raise NotImplementedError(f"condition operator {operator} is not modelled")
        match, negated = CONDITION_OPERATORS[name]
        for key, wanted in keys.items():
            present = context.get(key.lower())
            if present is None:
                if if_exists or negated:
                    continue
                return False
            hit = any(match(str(w), v) for w in _flat(wanted) for v in present)
            if hit == negated:
                return False
    return True


def _statement_matches(statement: Mapping[str, Any], action: str, resource: str, context: Mapping[str, Any]) -> bool:
    if "NotAction" in statement or "NotResource" in statement:
        raise NotImplementedError("NotAction/NotResource are not modelled")
    if not any(like(a, action, ignore_case=True) for a in _flat(statement.get("Action", []))):
        return False
    if not any(arn_like(r, resource) for r in _flat(statement.get("Resource", []))):
        return False
    return conditions_hold(statement.get("Condition", {}), context)


@dataclass(frozen=True)
class Decision:
    request: AuthzRequest
    resource: str
    allowed: bool
    reason: str

    def describe(self) -> str:
        via = f" (checked by {self.request.implied_by})" if self.request.implied_by else ""
        return f"{self.request.call.function}: {self.request.action} on {self.resource}{via}: {self.reason}"


def decide(statements: Sequence[Mapping[str, Any]], request: AuthzRequest) -> list[Decision]:
    """IAM's decision for each resource of the request: an explicit Deny wins, else an Allow, else implicit deny."""
    out = []
    for resource in request.resources:
        matching = [s for s in statements if _statement_matches(s, request.action, resource, request.context)]
        denied = [s.get("Sid", "?") for s in matching if s.get("Effect") == "Deny"]
        allowed = [s.get("Sid", "?") for s in matching if s.get("Effect") == "Allow"]
        if denied:
            out.append(Decision(request, resource, False, f"explicitly denied by {', '.join(denied)}"))
        elif allowed:
            out.append(Decision(request, resource, True, f"allowed by {', '.join(allowed)}"))
        else:
            out.append(Decision(request, resource, False, "no statement allows it (implicit deny)"))
    return out


def evaluate(template: Template, requests: Iterable[AuthzRequest]) -> list[Decision]:
    """Every request decided against the statements of the role of the function that made it."""
    cache: dict[str, list[dict[str, Any]]] = {}
    out: list[Decision] = []
    for request in requests:
        function = request.call.function
        if function is None:
            raise ValueError(f"{request.action} was made outside any function: attribute it (acting_as)")
        if function not in cache:
            cache[function] = template.statements(function)
        out.extend(decide(cache[function], request))
    return out


def denied(decisions: Iterable[Decision]) -> list[str]:
    """The denied decisions, one line each, without repeats (for an assertion message)."""
    return sorted({d.describe() for d in decisions if not d.allowed})
