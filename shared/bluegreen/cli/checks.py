"""What ``bluegreen validate`` checks beyond the plan reader: where the plan will live, and what the install allows.

Three checks, each a list of ``(path, message)`` problems as :class:`~bluegreen.plan.PlanError` has them:

- **Size** (:func:`size_findings`): the template hands the plan to the hooks in an SSM parameter. A
  Standard parameter holds 4 KB (PutParameter refuses a longer value: "Standard tier parameters support
  a maximum parameter value of 4096 characters"), an Advanced one 8 KB (Systems Manager user guide,
  "Managing parameter tiers"). The plan's text is measured as it would be put there — comments
  included — in UTF-8 bytes (never fewer than its characters): above 4,096 a warning (the parameter
  needs the Advanced tier, which is charged), above 8,192 an error.
- **Region** (:func:`region_problem`): the plan's ``region`` must be one that botocore's own endpoint
  data lists for Lambda in some partition (no network call). An unknown one is an error naming
  ``plan.region`` with the closest known region. This is a check of ``validate`` only, not of the plan
  reader, on purpose: a hook always runs in a real region, and a plan naming a region newer than the
  botocore of the Lambda runtime (or of this command) must not make every hook refuse it — the
  reader checks only the form (``eu-central-1``), and ``validate`` says which regions this botocore
  knows, so that an upgrade of boto3 is the fix when the region is real.
- **Managed prefix** (:func:`prefix_problems`): the template's ``HookToolsPolicy`` grants the
  destructive actions only on resources named ``${ManagedNamePrefix}*``. Every name of the plan of a
  kind it scopes so (:data:`SCOPES`) must start with the prefix, or the hooks would be denied at the
  first call; each problem names the plan path and the statement that would deny it. SNS
  subscriptions are excepted (``Get/SetSubscriptionAttributes`` take no resource scope: ``"*"``), and
  the names the plan does not hold — the EventBridge rules that target a function, the instances of an
  Aurora cluster — are found at run time and cannot be checked here (:data:`NOT_IN_PLAN`). The prefix
  comes from ``--managed-prefix`` or from the deployed stack's ``ManagedNamePrefix`` parameter
  (:func:`stack_prefix`, one CloudFormation ``DescribeStacks``).
"""

from __future__ import annotations

import difflib
import functools
from collections.abc import Callable
from typing import Any

import boto3
import botocore
import botocore.session
from botocore.exceptions import ClientError

from bluegreen.aws import error_code, error_message, make_client
from bluegreen.cli.errors import EXIT_NOT_FOUND, CliError
from bluegreen.datatypes import datatype
from bluegreen.plan import Plan

#: The most an SSM parameter value holds, in bytes, in the Standard and the Advanced tier.
SSM_STANDARD_LIMIT = 4096
SSM_ADVANCED_LIMIT = 8192
#: The template parameter that holds the prefix of every name the hooks may change.
PREFIX_PARAMETER = "ManagedNamePrefix"

Problem = tuple[str, str]


def plan_size(text: str) -> int:
    """The plan's size as an SSM parameter value would hold it: its UTF-8 bytes."""
    return len(text.encode("utf-8"))


def ssm_tier(size: int) -> str | None:
    """The SSM tier a plan of ``size`` bytes needs: ``"Standard"``, ``"Advanced"``, or None (too big for either)."""
    if size <= SSM_STANDARD_LIMIT:
        return "Standard"
    return "Advanced" if size <= SSM_ADVANCED_LIMIT else None


def size_findings(text: str) -> tuple[list[Problem], list[Problem]]:
    """``(errors, warnings)`` about the plan's size as an SSM parameter value."""
    size = plan_size(text)
    if size > SSM_ADVANCED_LIMIT:
        message = (
            f"{size:,} bytes: more than an SSM parameter holds ({SSM_ADVANCED_LIMIT:,} bytes in the Advanced tier, "
            f"{SSM_STANDARD_LIMIT:,} in Standard); shorten it (comments count too)"
        )
        return [("plan", message)], []
    if size > SSM_STANDARD_LIMIT:
        message = (
            f"{size:,} bytes: more than an SSM Standard parameter holds ({SSM_STANDARD_LIMIT:,}); put it with "
            "--tier Advanced (charged), or shorten it (comments count too)"
        )
        return [], [("plan", message)]
    return [], []


@functools.cache
def known_regions() -> frozenset[str]:
    """Every region botocore's endpoint data lists for Lambda, in every partition (no network call)."""
    session = botocore.session.Session()
    return frozenset(
        region
        for partition in session.get_available_partitions()
        for region in session.get_available_regions("lambda", partition_name=partition)
    )


def region_problem(region: str | None) -> Problem | None:
    """The problem with the plan's ``region`` (None: not set, or a region botocore knows)."""
    known = known_regions()
    if region is None or region in known:
        return None
    close = difflib.get_close_matches(region, sorted(known), n=1)
    hint = f" (did you mean {close[0]}?)" if close else ""
    return (
        "plan.region",
        f"{region!r} is not a region this botocore ({botocore.__version__}) knows{hint}; a region newer than "
        "it needs a newer boto3",
    )


# --------------------------------------------------------------------------- the managed prefix


@datatype
class Scope:
    """Names of one kind in a plan section that one ``HookToolsPolicy`` statement scopes by the prefix.

    ``names`` gives each ``(path under the entry, name)`` of an entry; ``sids`` are the statements
    (by ``Sid`` in template.yaml) and ``actions`` what they would deny on a name without the prefix.
    """

    section: str
    what: str
    sids: tuple[str, ...]
    actions: str
    names: Callable[[Any], list[tuple[str, str]]]
    ignore_case: bool = False


def _name(value: str) -> str:
    """The bare name in a name or an ARN (``service/cluster/name``, ``function:name``, ``table/name``)."""
    if not value.startswith("arn:"):
        return value
    resource = value.split(":", 5)[-1]
    if resource.startswith("function:"):
        return resource.split(":")[1]
    return resource.rsplit("/", 1)[-1]


def _pair(entry: Any) -> list[tuple[str, str]]:
    return [("a", _name(entry.a)), ("b", _name(entry.b))]


def _queues(entry: Any) -> list[tuple[str, str]]:
    found = []
    for ref in ("a", "b"):
        queues = getattr(entry, ref)
        found.append((f"{ref}.queue", queues.queue))
        if queues.dlq:
            found.append((f"{ref}.dlq", queues.dlq))
    return found


def _alarm_prefixes(entry: Any) -> list[tuple[str, str]]:
    return [("a.alarm_prefix", entry.a.alarm_prefix), ("b.alarm_prefix", entry.b.alarm_prefix)]


def _fed(entry: Any) -> list[tuple[str, str]]:
    return [] if entry.feeds is None else [("feeds.a", _name(entry.feeds.a)), ("feeds.b", _name(entry.feeds.b))]


_FUNCTION_SIDS = ("LambdaFunctions", "LambdaEventSourceMappings", "LambdaCreateEventSourceMapping")

#: Every kind of plan name the template's IAM scopes by ``${ManagedNamePrefix}*`` (tests/cli checks
#: this list against template.yaml's statements).
SCOPES: tuple[Scope, ...] = (
    Scope("ecs", "ECS service", ("EcsWorkerServices",), "ecs:UpdateService", _pair),
    Scope("sqs", "SQS queue", ("SqsQueues",), "sqs:PurgeQueue", _queues),
    Scope("lambda", "Lambda function", _FUNCTION_SIDS, "lambda:GetFunction and its event-source mappings", _pair),
    Scope(
        "cloudwatch",
        "alarm prefix",
        ("CloudWatchAlarms",),
        "cloudwatch:EnableAlarmActions/DisableAlarmActions on alarms named so",
        _alarm_prefixes,
    ),
    Scope("kinesis", "Kinesis consumer", ("KinesisConsumers",), "kinesis:DeregisterStreamConsumer", _pair),
    Scope("kinesis", "Lambda function fed", _FUNCTION_SIDS, "lambda:CreateEventSourceMapping", _fed),
    Scope("dynamodb", "DynamoDB table", ("DynamoDbTables",), "dynamodb:DeleteTable", _pair),
    Scope(
        "aurora",
        "Aurora cluster",
        ("AuroraClusters", "AuroraReaderScalingPermissionProbe"),
        "rds:StartDBCluster/StopDBCluster",
        _pair,
        ignore_case=True,  # RDS keeps identifiers in lower case, and so are their ARNs
    ),
)
#: The verdict's smoke functions: the hooks invoke them (statement VerdictSmokeFunctions).
VERDICT_SCOPE = Scope(
    "verdict", "smoke function", ("VerdictSmokeFunctions",), "lambda:InvokeFunction (the smoke test)",
    lambda smoke: [("a", _name(smoke.a)), ("b", _name(smoke.b))],
)  # fmt: skip
#: Plan sections with no name scoped by the prefix, and why.
EXCEPTED = {"sns": "Get/SetSubscriptionAttributes take no resource scope: the statement is on '*'"}
#: Statements scoped by the prefix on names the plan does not hold (found at run time), and what they are.
NOT_IN_PLAN = {
    "EventBridgeRules": "the rules that target a plan's function (found with ListRuleNamesByTarget)",
    "AuroraInstances": "the named instances of a plan's Aurora cluster (its members)",
}


def prefix_problems(plan: Plan, prefix: str) -> list[Problem]:
    """Every name of ``plan`` that the hooks' IAM would not let them touch with ``ManagedNamePrefix=prefix``.

    In document order: by section, entry, then the entry's names.
    """
    sections = plan.sections()
    problems: list[Problem] = []
    for section in dict.fromkeys(scope.section for scope in SCOPES):
        scopes = [scope for scope in SCOPES if scope.section == section]
        for index, entry in enumerate(sections[section]):
            for scope in scopes:
                for where, name in scope.names(entry):
                    if not (name.lower() if scope.ignore_case else name).startswith(prefix):
                        problems.append(
                            (
                                f"plan.{section}[{index}].{where}",
                                f"{scope.what} {name!r} does not start with the managed prefix {prefix!r}: the hooks' "
                                f"IAM would deny {scope.actions} (HookToolsPolicy, statement {scope.sids[0]})",
                            )
                        )
    traffic = plan.verdict.before_traffic if plan.verdict is not None else None
    if traffic is not None and traffic.smoke is not None:
        for where, name in VERDICT_SCOPE.names(traffic.smoke):
            if not name.startswith(prefix):
                problems.append(
                    (
                        f"plan.verdict.before_traffic.smoke.function.{where}",
                        f"smoke function {name!r} does not start with the managed prefix {prefix!r}: the hooks' IAM "
                        f"would deny {VERDICT_SCOPE.actions} (HookToolsPolicy, statement {VERDICT_SCOPE.sids[0]})",
                    )
                )
    return problems


def stack_prefix(stack: str, *, region: str | None, session: boto3.Session | None) -> str:
    """The ``ManagedNamePrefix`` parameter of the deployed bluegreen stack ``stack`` (one ``DescribeStacks``)."""
    client = make_client("cloudformation", region=region, session=session)
    try:
        found = client.describe_stacks(StackName=stack)["Stacks"]
    except ClientError as exc:
        if error_code(exc) == "ValidationError" and "does not exist" in error_message(exc):
            raise CliError(EXIT_NOT_FOUND, f"stack {stack!r} not found in {client.meta.region_name}") from None
        raise
    parameters = {p["ParameterKey"]: p.get("ParameterValue", "") for p in (found[0].get("Parameters") or [])}
    if PREFIX_PARAMETER not in parameters:
        raise CliError(
            EXIT_NOT_FOUND,
            f"stack {stack!r} has no {PREFIX_PARAMETER} parameter: is it a bluegreen stack? (pass --managed-prefix)",
        )
    return str(parameters[PREFIX_PARAMETER])
